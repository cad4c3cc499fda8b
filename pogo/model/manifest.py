"""The model manifest: how a torch module becomes the flat vector theta (section 2).

theta is every parameter tensor in ``named_parameters()`` order, each flattened row-major,
as little-endian float32. The manifest lists ``(name, shape, offset)`` for each tensor; its
hash is SHA-256 over the canonical JSON: a JSON array of objects with the keys
``name``, ``offset``, ``shape`` (sorted keys, no whitespace, ASCII).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pogo.errors import FormatError
from pogo.protocol import canonical

if TYPE_CHECKING:  # torch is heavy; only the functions that take a module need it
    import torch


@dataclass(frozen=True)
class Entry:
    name: str
    shape: tuple[int, ...]
    offset: int

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True)
class Manifest:
    entries: tuple[Entry, ...]

    @property
    def n_params(self) -> int:
        last = self.entries[-1]
        return last.offset + last.size

    def canonical_json(self) -> bytes:
        rows = [{"name": e.name, "offset": e.offset, "shape": list(e.shape)} for e in self.entries]
        return canonical.dumps(rows)

    def hash(self) -> bytes:
        return hashlib.sha256(self.canonical_json()).digest()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Manifest:
        try:
            rows = json.loads(raw)
            entries = tuple(Entry(str(r["name"]), tuple(int(d) for d in r["shape"]), int(r["offset"])) for r in rows)
        except (ValueError, KeyError, TypeError) as exc:
            raise FormatError(f"not a model manifest: {exc}") from None
        manifest = cls(entries)
        manifest.check()
        return manifest

    def check(self) -> None:
        if not self.entries:
            raise FormatError("a manifest lists at least one tensor")
        offset = 0
        for e in self.entries:
            if e.offset != offset:
                raise FormatError(f"tensor {e.name} starts at {e.offset}, expected {offset}")
            offset += e.size


def of_module(module: torch.nn.Module) -> Manifest:
    entries, offset = [], 0
    for name, p in module.named_parameters():
        entries.append(Entry(name, tuple(p.shape), offset))
        offset += p.numel()
    manifest = Manifest(tuple(entries))
    manifest.check()
    return manifest


def flatten(module: torch.nn.Module) -> np.ndarray:
    """theta: a fresh float32 copy of every parameter, in manifest order, on the CPU."""
    import torch

    with torch.no_grad():
        parts = [p.detach().reshape(-1).to(device="cpu", dtype=torch.float32) for _, p in module.named_parameters()]
        return torch.cat(parts).numpy().astype("<f4", copy=False)


def as_tensor(theta: np.ndarray, n_params: int) -> torch.Tensor:
    """The first ``n_params`` values of theta as a float32 CPU tensor, sharing memory where it may."""
    import torch

    values = np.ascontiguousarray(theta[:n_params], dtype=np.float32)
    if not values.flags.writeable:  # a model read from bytes: torch wants memory it may write, even to read it
        values = values.copy()
    return torch.from_numpy(values)


def load_into(module: torch.nn.Module, theta: np.ndarray, manifest: Manifest | None = None) -> None:
    """Copy theta into the module's parameters, wherever they live (CPU or GPU)."""
    import torch

    manifest = manifest or of_module(module)
    if manifest != of_module(module):
        raise FormatError("the module's parameters do not match the manifest")
    if theta.size < manifest.n_params:
        raise FormatError(f"theta has {theta.size} values; the model needs {manifest.n_params}")
    flat = as_tensor(theta, manifest.n_params)
    params = dict(module.named_parameters())
    with torch.no_grad():
        for e in manifest.entries:
            p = params[e.name]
            p.copy_(flat[e.offset:e.offset + e.size].view(e.shape).to(device=p.device, dtype=p.dtype))
