"""The task spec: everything about a task that lives off chain, committed by its SHA-256.

The spec is canonical JSON (sorted keys, no whitespace) stored in IPFS; ``specHash`` on chain
is its SHA-256, so a verifier that fetched the spec by CID checks it before trusting it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field

from pogo.errors import FormatError
from pogo.protocol import canonical


@dataclass(frozen=True)
class Verification:
    catch_fraction: float = 0.01      # f: the smallest corrupted fraction of leaves to catch
    miss_probability: float = 0.05    # delta: the accepted miss probability per member
    eval_windows: int = 16            # windows of the assigned and the validation shard
    min_improvement: int = 5_000      # micro-nats the loss on assigned windows must fall
    max_validation_rise: int = 20_000 # micro-nats the validation loss may rise
    loss_tolerance: int = 1_000       # micro-nats of float noise across hardware (< min_improvement)
    fetch_timeout_s: float = 20.0     # DATA_UNAVAILABLE after this

    def spot_checks(self) -> int:
        """m = ceil(ln(delta) / ln(1 - f)): 299 for f = 1 %, delta = 5 %."""
        return math.ceil(math.log(self.miss_probability) / math.log(1.0 - self.catch_fraction))


@dataclass(frozen=True)
class TaskSpec:
    model: dict                       # workers.model.GPTConfig fields
    manifest_hash: str                # 0x SHA-256 of the model manifest's canonical JSON
    n_params: int
    leaf_size: int
    dataset_cid: str                  # the dataset manifest (shard CIDs, token counts, tokenizer)
    dataset_hash: str                 # 0x SHA-256 of the dataset manifest
    n_shards: int
    verification: Verification = field(default_factory=Verification)

    def canonical_json(self) -> bytes:
        return canonical.dumps(asdict(self))

    def hash(self) -> bytes:
        return hashlib.sha256(self.canonical_json()).digest()

    @classmethod
    def from_json(cls, raw: bytes, expected_hash: bytes | None = None) -> "TaskSpec":
        if expected_hash is not None and hashlib.sha256(raw).digest() != expected_hash:
            raise FormatError("the task spec does not hash to the task's specHash")
        try:
            body = json.loads(raw)
            body["verification"] = Verification(**body.get("verification", {}))
            return cls(**body)
        except (ValueError, TypeError) as exc:
            raise FormatError(f"not a task spec: {exc}") from None
