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
from pogo.protocol import canonical, difffile, judgment, mxint4


@dataclass(frozen=True)
class Verification:
    """What a committee checks and the error rates it promises (PROTOCOL.md sections 4 and 6)."""

    catch_fraction: float = 0.01       # f: the smallest corrupted fraction of leaves to catch
    miss_probability: float = 0.05     # delta: the accepted miss probability per member
    min_improvement: int = 5_000       # micro-nats: the least gain worth a round (the threshold)
    max_validation_rise: int = 20_000  # micro-nats the validation loss may rise, beyond noise
    harm_margin: int = 100_000         # micro-nats: a loss rise beyond this and beyond noise is HARMFUL
    error_rate: float = 1e-3           # P(refuse a 2x-threshold gain), P(accept a zero gain)
    slash_rate: float = 1e-6           # P(HARMFUL on an update that did not harm)
    first_look: int = 64               # evaluation windows in the first look
    max_windows: int = 1024            # the cap: beyond it, INSUFFICIENT_EVIDENCE
    fetch_timeout_s: float = 20.0      # one IPFS read
    availability_blocks: int = 20      # after the draw: DATA_UNAVAILABLE only once this has passed

    def spot_checks(self) -> int:
        """m = ceil(ln(delta) / ln(1 - f)): 299 for f = 1 %, delta = 5 %."""
        return math.ceil(math.log(self.miss_probability) / math.log(1.0 - self.catch_fraction))

    def rules(self) -> judgment.Rules:
        return judgment.Rules(self.min_improvement, self.max_validation_rise, self.harm_margin, self.error_rate,
                              self.slash_rate, self.first_look, self.max_windows)

    def check(self) -> None:
        """Refuse a spec whose numbers cannot work, before anything is published."""
        if not (0 < self.error_rate < 0.5 and 0 < self.slash_rate <= 1e-6):
            raise FormatError("error_rate must be in (0, 0.5) and slash_rate in (0, 1e-6]")
        if not (2 <= self.first_look <= self.max_windows <= 1 << 16):
            raise FormatError("need 2 <= first_look <= max_windows <= 65536")
        if self.min_improvement <= 0 or self.harm_margin < 0 or self.max_validation_rise < 0:
            raise FormatError("min_improvement must be positive; harm_margin and max_validation_rise not negative")
        if not 0 < self.catch_fraction < 1 or not 0 < self.miss_probability < 1:
            raise FormatError("catch_fraction and miss_probability must lie in (0, 1)")


OPTIMIZERS = ("adam", "adamw", "sgd")
MAX_SEQ_LEN = 32_768   # a protocol-wide bound: every verifier scores windows this long at most
SCHEDULES = ("constant", "warmup", "warmup_cosine")


@dataclass(frozen=True)
class Recipe:
    """How miners train (the task's advice, not a rule anyone can check): the window length,
    the optimizer and its schedule, the batch and the steps of one round. A miner may
    override what only affects its own machine (batch size, ZeRO stage, offload, bf16)."""

    seq_len: int = 64                  # tokens per training and evaluation window
    steps: int = 30                    # optimizer steps a round
    batch_size: int = 16               # windows per step (per process)
    optimizer: str = "adam"            # adam | adamw | sgd
    lr: float = 2e-3
    weight_decay: float = 0.0
    schedule: str = "constant"         # constant | warmup | warmup_cosine (over the miner's own steps)
    warmup_steps: int = 0
    total_steps: int = 0               # warmup_cosine: steps to decay over (0: 100 rounds)

    def check(self) -> None:
        ints = ("seq_len", "steps", "batch_size", "warmup_steps", "total_steps")
        for name in ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise FormatError(f"recipe {name} must be an integer, not {value!r}")
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise FormatError(f"recipe {name} must be a number, not {value!r}")
        if not isinstance(self.optimizer, str) or not isinstance(self.schedule, str):
            raise FormatError("recipe optimizer and schedule must be strings")
        if self.seq_len > MAX_SEQ_LEN:
            raise FormatError(f"seq_len {self.seq_len} exceeds {MAX_SEQ_LEN:,}, the longest window a node scores")
        if self.seq_len < 1 or self.steps < 1 or self.batch_size < 1:
            raise FormatError("seq_len, steps and batch_size must be positive")
        if self.optimizer not in OPTIMIZERS:
            raise FormatError(f"optimizer {self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise FormatError(f"schedule {self.schedule!r}: choose one of {', '.join(SCHEDULES)}")
        if not (self.lr > 0 and math.isfinite(self.lr)) or self.weight_decay < 0:
            raise FormatError("lr must be positive and finite, weight_decay not negative")
        if self.warmup_steps < 0 or self.total_steps < 0:
            raise FormatError("warmup_steps and total_steps must not be negative")


@dataclass(frozen=True)
class TaskSpec:
    model: dict                       # pogo.model.causal_lm: {"arch", "config"}
    manifest_hash: str                # 0x SHA-256 of the model manifest's canonical JSON
    n_params: int
    leaf_size: int
    dataset_cid: str                  # the dataset manifest (shard CIDs, token counts, tokenizer)
    dataset_hash: str                 # 0x SHA-256 of the dataset manifest
    n_shards: int
    verification: Verification = field(default_factory=Verification)
    recipe: Recipe = field(default_factory=Recipe)
    sparse_groups: int = 0            # k: each diff record carries k of a leaf's L/32 groups (D13); 0: dense

    def canonical_json(self) -> bytes:
        body = asdict(self)
        if not self.sparse_groups:
            del body["sparse_groups"]  # a dense task's spec reads and hashes as before D13
        return canonical.dumps(body)

    @property
    def density(self) -> float:
        """The share of a leaf's elements a diff carries."""
        return self.sparse_groups * mxint4.GROUP_SIZE / self.leaf_size if self.sparse_groups else 1.0

    def hash(self) -> bytes:
        return hashlib.sha256(self.canonical_json()).digest()

    @classmethod
    def from_json(cls, raw: bytes, expected_hash: bytes | None = None) -> TaskSpec:
        if expected_hash is not None and hashlib.sha256(raw).digest() != expected_hash:
            raise FormatError("the task spec does not hash to the task's specHash")
        try:
            body = json.loads(raw)
            body["verification"] = Verification(**body.get("verification", {}))
            model = body.get("model", {})
            # a first-version spec has no recipe: its windows were the GPT's block
            default_len = model.get("block_size", Recipe.seq_len) if isinstance(model, dict) else Recipe.seq_len
            body["recipe"] = Recipe(**{"seq_len": default_len, **body.get("recipe", {})})
            spec = cls(**body)
            spec.verification.check()
            spec.recipe.check()
            difffile.check_groups(spec.sparse_groups, spec.leaf_size)
        except (ValueError, TypeError, AttributeError) as exc:
            raise FormatError(f"not a task spec: {exc}") from None
        return spec
