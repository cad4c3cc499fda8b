"""What every role of one task shares: the contract, IPFS, the event log, the task's spec, and
a local cache of what it has fetched or rebuilt (models by root, diffs by CID, shards).

The head is defined by its lineage (PROTOCOL.md section 7): the task's initial checkpoint,
then each accepted update's diff or each accepted aggregate, in order. Updates publish no
checkpoint; aggregates publish a full snapshot that a newcomer may start from. ``model(root)``
rebuilds any head from the nearest point it has or can fetch, checking every root on the way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pogo.errors import FormatError, PogoError
from pogo.net.contract import PoGOContract
from pogo.net.events import EventLog, HeadStep, Published
from pogo.net.ipfs import DataUnavailable, Ipfs
from pogo.protocol import aggregate, checkpoint, difffile, treefile
from pogo.protocol.atomicfile import write_bytes_atomic
from pogo.protocol.source import BytesSource
from pogo.protocol.taskspec import TaskSpec

KEEP_MODELS = 4          # models kept on disk: the head, the previous ones a late vote may need
MAX_SPEC_BYTES = 1 << 20


class HeadUnavailable(PogoError):
    """A head cannot be rebuilt from anything this node has or can fetch."""


@dataclass
class Context:
    pogo: PoGOContract
    ipfs: Ipfs
    log: EventLog
    task_id: int
    spec: TaskSpec
    workdir: Path

    @classmethod
    def open(cls, pogo: PoGOContract, ipfs: Ipfs, task_id: int, workdir: Path, from_block: int = 0) -> Context:
        log = EventLog(pogo, from_block)
        created = log.task_created(task_id)
        raw = ipfs.cat(created["specCid"], max_bytes=MAX_SPEC_BYTES)
        spec = TaskSpec.from_json(raw, expected_hash=created["params"]["specHash"])
        from pogo.model import causal_lm  # torch: only once a task is opened

        causal_lm.check_recipe(spec.model, spec.recipe.seq_len)
        workdir.mkdir(parents=True, exist_ok=True)
        return cls(pogo, ipfs, log, task_id, spec, workdir)

    def as_signer(self, pogo: PoGOContract, workdir: Path) -> Context:
        """The same task seen by another signer with its own cache."""
        workdir.mkdir(parents=True, exist_ok=True)
        return Context(pogo, self.ipfs, self.log, self.task_id, self.spec, workdir)

    # -- sizes the task allows: nothing larger is ever read ------------------------------

    @property
    def n_leaves(self) -> int:
        return checkpoint.n_leaves(self.spec.n_params, self.spec.leaf_size)

    @property
    def checkpoint_bytes(self) -> int:
        return 4 * self.n_leaves * self.spec.leaf_size

    @property
    def diff_bytes(self) -> int:
        return difffile.HEADER_SIZE + self.n_leaves * difffile.record_size(self.spec.leaf_size,
                                                                         groups=self.spec.sparse_groups)

    @property
    def tree_bytes(self) -> tuple[int, ...]:
        """A tree file's sizes, one per version (D19: version 2's first)."""
        return treefile.file_sizes(self.spec.leaf_size, self.n_leaves)

    def fetch(self, cid: str, max_bytes: int) -> bytes:
        """One object, within the task's timeout and a byte cap; DataUnavailable otherwise."""
        return self.ipfs.cat(cid, timeout=self.spec.verification.fetch_timeout_s, max_bytes=max_bytes)

    def fetch_exact(self, cid: str, size: int | tuple[int, ...], what: str) -> bytes:
        """A submitted object that must be exactly ``size`` bytes (or one of several sizes, one
        per version of its format): its size is looked up first (FormatError if it differs:
        nothing larger is ever read), then it is pinned, which fetches every block and is safe
        to abort (an aborted read waiting on a missing inner block crashes js-ipfs 0.66), then
        read."""
        sizes = (size,) if isinstance(size, int) else size
        timeout = self.spec.verification.fetch_timeout_s
        found = self.ipfs.size(cid, timeout=timeout)
        if found not in sizes:
            allowed = " or ".join(str(s) for s in sizes)
            raise FormatError(f"{what} {cid} is {found} bytes; this task's is {allowed}")
        self.ipfs.pin(cid, timeout=timeout)
        return self.ipfs.cat(cid, timeout=timeout, max_bytes=found)

    def tree(self, cid: str) -> BytesSource:
        """A submission's tree file, fetched whole at one of the task's tree sizes (FormatError
        otherwise, DataUnavailable if it cannot be fetched in time)."""
        return BytesSource(self.fetch_exact(cid, self.tree_bytes, "tree file"), cid)

    # -- diffs -----------------------------------------------------------------------------

    def diff(self, cid: str) -> difffile.Diff:
        """A diff of this task, checked whole (its size, then its header against the task, then
        every record); cached by CID once it parsed. FormatError if it is not a valid diff of
        this task, DataUnavailable if it cannot be fetched in time."""
        path = self.workdir / "diffs" / cid
        cached = path.exists()
        if cached:  # the same checks as a fetched copy: a workdir may serve several tasks, whose sizes differ
            raw = path.read_bytes()
            if len(raw) != self.diff_bytes:
                raise FormatError(f"diff {cid} is {len(raw)} bytes; this task's is {self.diff_bytes}")
        else:
            raw = self.fetch_exact(cid, self.diff_bytes, "diff")
        header = difffile.decode_header(raw[:difffile.HEADER_SIZE])
        if (header.n_params, header.leaf_size, header.groups) != (self.spec.n_params, self.spec.leaf_size,
                                                                   self.spec.sparse_groups):
            raise FormatError(f"diff {cid} has P={header.n_params}, L={header.leaf_size}, k={header.groups}; "
                              f"the task has P={self.spec.n_params}, L={self.spec.leaf_size}, "
                              f"k={self.spec.sparse_groups}")
        diff = difffile.read(BytesSource(raw, cid))
        if not cached:
            self.remember_diff(cid, raw)
        return diff

    def round_updates(self, round_: int) -> tuple[list[Published], list[difffile.Diff]]:
        """A round's accepted updates in ascending submission id (an aggregate's sources, section
        7) and their diffs; FormatError or DataUnavailable as ``diff``."""
        sources = self.log.accepted_updates(self.task_id, round_)
        return sources, [self.diff(p.diff_cid) for p in sources]

    def remember_diff(self, cid: str, raw: bytes) -> None:
        path = self.workdir / "diffs" / cid
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, raw)

    # -- models by root --------------------------------------------------------------------

    def head_root(self) -> bytes:
        return self.pogo.task(self.task_id).head_root

    def head(self) -> np.ndarray:
        """The current head, padded to whole leaves."""
        return self.model(self.head_root())

    def model(self, root: bytes) -> np.ndarray:
        """The padded model of a head of this task (current or past), rebuilt from its lineage."""
        theta = self._cached(root)
        if theta is not None:
            return theta
        steps = self.log.heads(self.task_id)
        matches = [i for i, s in enumerate(steps) if s.root == root]
        if not matches:
            raise HeadUnavailable(f"0x{root.hex()} is not a head of task {self.task_id}")
        i, pending = matches[-1], []
        while True:  # walk back to something this node has or can fetch whole
            step = steps[i]
            theta = self._cached(step.root)
            if theta is not None:
                break
            if step.from_submission == 0:
                theta = self._initial(step)
                break
            p = self.log.submission(step.from_submission)
            if p.kind == 1:
                theta = self._snapshot(p)
                if theta is not None:
                    break
            pending.append((step, p))
            i -= 1
        for step, p in reversed(pending):  # then forward, checking every root
            theta = self._rebuild(theta, p)
            if checkpoint.model_root(theta, self.spec.leaf_size) != step.root:
                raise HeadUnavailable(f"rebuilding submission {p.submission_id} gave a root other than the head "
                                      f"0x{step.root.hex()[:16]}…")
            self.remember_model(step.root, theta)
        return theta

    def remember_model(self, root: bytes, theta: np.ndarray) -> None:
        """Keep a model whose root the caller has checked; only the newest few stay on disk."""
        d = self.workdir / "models"
        d.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(d / f"{root.hex()}.bin", checkpoint.pad(theta, self.spec.leaf_size).tobytes())
        for old in sorted(d.glob("*.bin"), key=lambda f: f.stat().st_mtime)[:-KEEP_MODELS]:
            old.unlink(missing_ok=True)

    def _cached(self, root: bytes) -> np.ndarray | None:
        path = self.workdir / "models" / f"{root.hex()}.bin"
        if not path.exists():
            return None
        return checkpoint.read(path, self.spec.leaf_size)

    def _initial(self, step: HeadStep) -> np.ndarray:
        cid = self.log.task_created(self.task_id)["checkpointCid"]
        theta = self._whole_checkpoint(cid, step.root, "the task's initial checkpoint")
        if theta is None:
            raise HeadUnavailable(f"the task's initial checkpoint {cid} does not hash to its initial root")
        return theta

    def _snapshot(self, p: Published) -> np.ndarray | None:
        """An aggregate's snapshot, or None (then the head is rebuilt from the diffs)."""
        try:
            return self._whole_checkpoint(p.checkpoint_cid, p.new_root, f"the snapshot of aggregate {p.submission_id}")
        except HeadUnavailable:
            return None

    def _whole_checkpoint(self, cid: str, root: bytes, what: str) -> np.ndarray | None:
        try:
            raw = self.fetch_exact(cid, self.checkpoint_bytes, "checkpoint")
        except (DataUnavailable, FormatError) as exc:
            raise HeadUnavailable(f"{what} ({cid}) cannot be fetched: {exc}") from None
        theta = np.frombuffer(raw, dtype="<f4")
        if theta.size * 4 != self.checkpoint_bytes or checkpoint.model_root(theta, self.spec.leaf_size) != root:
            return None
        self.remember_model(root, theta)
        return theta

    def _rebuild(self, prev: np.ndarray, p: Published) -> np.ndarray:
        # torch: imported by the commands that rebuild, not by every command
        from pogo.model import quantize

        try:
            if p.kind == 0:
                return quantize.rebuild(prev, self.diff(p.diff_cid))
            round_ = self.pogo.submission(p.submission_id).round
            return aggregate.aggregate(prev, self.round_updates(round_)[1])
        except (DataUnavailable, FormatError) as exc:
            raise HeadUnavailable(f"the head after submission {p.submission_id} cannot be rebuilt: {exc}") from None

    # -- the dataset -------------------------------------------------------------------------

    def dataset(self) -> dict:
        path = self.workdir / "dataset.json"
        if not path.exists():
            raw = self.fetch(self.spec.dataset_cid, MAX_SPEC_BYTES)
            if "0x" + hashlib.sha256(raw).hexdigest() != self.spec.dataset_hash:
                raise FormatError("the dataset manifest does not match the task's dataset hash")
            write_bytes_atomic(path, raw)
        return json.loads(path.read_text())

    def shard(self, index: int) -> np.ndarray:
        """Shard ``index``'s token ids, each checked to lie inside the model's vocabulary (a
        published id beyond it would crash every node's embedding lookup)."""
        from pogo.protocol import dataset

        manifest = self.dataset()
        shards = manifest["shards"]
        if not 0 <= index < len(shards):
            raise PogoError(f"shard {index} does not exist (the dataset has {len(shards)})")
        dtype = dataset.token_dtype(manifest.get("dtype", "uint8"))
        n = shards[index]["tokens"]
        path = self.workdir / "shards" / f"{index}.bin"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, self.fetch(shards[index]["cid"], n * dtype.itemsize))
        tokens = np.fromfile(path, dtype=dtype)
        if tokens.size != n:
            raise FormatError(f"shard {index} has {tokens.size} tokens, the manifest says {n}")
        if tokens.size < self.spec.recipe.seq_len + 2:
            raise FormatError(f"shard {index} has {tokens.size} tokens: fewer than one window of "
                              f"{self.spec.recipe.seq_len + 1}")
        if int(tokens.max()) >= self.vocab_size:
            raise FormatError(f"shard {index} holds token id {int(tokens.max())}; the model's vocabulary is "
                              f"{self.vocab_size}")
        return tokens

    def build_model(self):
        """A fresh module of the task's model, checked against the spec's parameter count (before
        any memory is spent) and manifest hash (PROTOCOL.md D12)."""
        from pogo.model import causal_lm

        return causal_lm.build(self.spec.model, self.spec.manifest_hash, self.spec.n_params)

    @property
    def vocab_size(self) -> int:
        from pogo.model import causal_lm

        return causal_lm.vocab_size(self.spec.model)

    def validation_shard(self) -> np.ndarray:
        return self.shard(self.dataset()["validation_shard"])
