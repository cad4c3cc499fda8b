"""The miner's commit arithmetic on the tensors where they live (a GPU when there is one):
MX-int4 quantization, the exact rebuild and nibble packing in torch, bit-identical to the numpy
reference in pogo/protocol/mxint4.py (tests/test_quantize_torch.py checks it on whatever
device torch finds). Hashing stays on the CPU, in threads (pogo.protocol.checkpoint).

Why it is exact on any device: float32 -> float64 is exact; dividing by a power of two and
multiplying q by one are exact in the ranges used (powers of two are built from their exponent
bits, never by a library pow); round() is half-to-even in torch as rint is
in numpy; the one float32 addition prev + step is correctly rounded IEEE binary32 on CPUs and
in CUDA's default (non fast-math) kernels. The log2 guess for e may differ in its last bit
between libraries, which the exact fix-ups below correct, as in the reference.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from pogo.errors import FormatError
from pogo.protocol import checkpoint, difffile, mxint4


def quantize(delta: torch.Tensor, group_size: int = mxint4.GROUP_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """(q int8 per element, scale bytes uint8 per group) of a float32 update: mxint4.quantize on ``delta.device``."""
    delta = delta.reshape(-1)
    if delta.dtype != torch.float32:
        raise FormatError(f"the update is {delta.dtype}, not float32")
    if delta.numel() % group_size:
        raise FormatError(f"{delta.numel()} values is not a whole number of {group_size}-value groups")
    if not bool(torch.isfinite(delta).all()):
        raise FormatError("the update holds NaN or infinite values; training diverged")
    groups = delta.reshape(-1, group_size).double()
    amax = groups.abs().amax(dim=1)

    e = torch.ceil(torch.log2(amax / 7.0))
    e = torch.where(amax > 0, e, torch.full_like(e, mxint4.E_MIN))
    e = e.clamp(mxint4.E_MIN - 1, mxint4.E_MAX + 1).to(torch.int64)
    e = e + (7.0 * _pow2_f64(e) < amax).to(torch.int64)
    e = e - ((7.0 * _pow2_f64(e - 1) >= amax) & (amax > 0)).to(torch.int64)
    e = e.clamp(mxint4.E_MIN, mxint4.E_MAX)

    q = torch.round(groups / _pow2_f64(e)[:, None])  # exact division; round is half-to-even
    q = q.clamp(mxint4.Q_MIN, mxint4.Q_MAX).to(torch.int8).reshape(-1)
    return q, (e + mxint4.E_BIAS).to(torch.uint8)


def _pow2_f64(e: torch.Tensor) -> torch.Tensor:
    """2.0^e as float64, built from its exponent bits: exact, unlike a library pow (e in [-1022, 1023])."""
    return ((e + 1023) << 52).view(torch.float64)


def dequantize(q: torch.Tensor, scales: torch.Tensor, group_size: int = mxint4.GROUP_SIZE) -> torch.Tensor:
    """float32(q * 2^e) for every element: exact."""
    factors = (scales.to(torch.int32) << 23).view(torch.float32)  # 2^(s - 127), the byte is the exponent
    return (q.reshape(-1, group_size).to(torch.float32) * factors[:, None]).reshape(-1)


def pack_nibbles(q: torch.Tensor) -> torch.Tensor:
    """Element 2k in the low nibble of byte k, 2k+1 in the high one, two's complement."""
    u = q.reshape(-1, 2).to(torch.int16) & 0x0F
    return (u[:, 0] | (u[:, 1] << 4)).to(torch.uint8)


def make_diff(theta_prev: np.ndarray | torch.Tensor, theta_raw: np.ndarray | torch.Tensor, leaf_size: int,
              prev_root: bytes | None = None, device: torch.device | str | None = None,
              groups: int = 0) -> difffile.Quantized:
    """difffile.make_diff with the arithmetic on ``device`` (default: theta_raw's, or the CPU for
    numpy input); the result, sparse (``groups`` = k) or dense, is byte for byte the reference's."""
    raw = torch.as_tensor(theta_raw, dtype=torch.float32, device=device).reshape(-1)
    prev = torch.as_tensor(theta_prev, dtype=torch.float32, device=raw.device).reshape(-1)
    if prev.numel() != raw.numel():
        raise FormatError(f"the models differ in size: {prev.numel()} and {raw.numel()} parameters")
    difffile.check_groups(groups, leaf_size)
    n = raw.numel()
    padded = checkpoint.n_leaves(n, leaf_size) * leaf_size
    prev_p = torch.nn.functional.pad(prev, (0, padded - n))
    delta = torch.nn.functional.pad(raw, (0, padded - n)) - prev_p
    n_scales = leaf_size // mxint4.GROUP_SIZE
    sent, selected = delta, None
    if groups:  # difffile.select_groups: the k groups of largest max|delta| a leaf, ties to the lower index
        by_group = delta.reshape(-1, n_scales, mxint4.GROUP_SIZE)
        amax = by_group.abs().amax(dim=2)
        if not bool(torch.isfinite(amax).all()):  # a group left out would hide the divergence
            raise FormatError("the update holds NaN or infinite values; training diverged")
        order = torch.sort(-amax, dim=1, stable=True).indices[:, :groups]
        selected = torch.sort(order, dim=1).values
        keep = torch.zeros(by_group.shape[:2], dtype=torch.bool, device=delta.device).scatter_(1, selected, True)
        sent = torch.where(keep[:, :, None], by_group, torch.zeros((), device=delta.device)).reshape(-1)
    q, scales = quantize(sent)
    step = dequantize(q, scales)
    records = torch.cat([scales.reshape(-1, n_scales), pack_nibbles(q).reshape(-1, leaf_size // 2)], dim=1)
    records = records.cpu().numpy()  # 0.53 bytes a parameter, as for a dense diff
    if groups:
        records = difffile.pack_sparse(records, selected.cpu().numpy(), leaf_size)
    theta_new = (prev_p + step).cpu().numpy().astype(checkpoint.FLOAT32_LE, copy=False)
    if prev_root is None:
        prev_root = checkpoint.model_root(prev_p.cpu().numpy().astype(checkpoint.FLOAT32_LE, copy=False), leaf_size)
    built = difffile.commit_built(np.ascontiguousarray(records), theta_new, prev_root, n, leaf_size, groups)
    return replace(built, residual=(delta - step).cpu().numpy())


def apply_diff(theta_prev: np.ndarray, diff: difffile.Diff, device: torch.device | str | None = None) -> np.ndarray:
    """difffile.Diff.apply with the dequantization and the float32 addition on ``device``: the
    verifier's full rebuild (the nibbles are unpacked by numpy, the bytes are small)."""
    h = diff.header
    q, scales = diff.q_and_scales()
    mxint4.check_scales(scales)
    prev = checkpoint.pad(np.asarray(theta_prev, dtype=np.float32).reshape(-1)[: h.n_params], h.leaf_size)
    step = dequantize(torch.from_numpy(q).to(device), torch.from_numpy(scales).to(device), h.group_size)
    return (torch.from_numpy(prev).to(device) + step).cpu().numpy().astype(checkpoint.FLOAT32_LE, copy=False)


def rebuild(theta_prev: np.ndarray, diff: difffile.Diff) -> np.ndarray:
    """theta_new from the head and a diff, on a GPU when there is one, else by the numpy reference."""
    device = accelerator()
    return diff.apply(theta_prev) if device is None else apply_diff(theta_prev, diff, device)


def accelerator() -> torch.device | None:
    """Where the commit arithmetic runs best: a GPU when torch finds one, else None (numpy)."""
    return torch.device("cuda") if torch.cuda.is_available() else None
