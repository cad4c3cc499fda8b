"""What every role of one task shares: the contract, IPFS, the event log, the task's spec,
and a local cache of the artifacts it has fetched (checkpoints by root, shards by index)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pogo.errors import FormatError, PogoError
from pogo.net.contract import PoGOContract
from pogo.net.events import EventLog
from pogo.net.ipfs import Ipfs
from pogo.protocol import checkpoint
from pogo.protocol.atomicfile import write_bytes_atomic
from pogo.protocol.taskspec import TaskSpec


@dataclass
class Context:
    pogo: PoGOContract
    ipfs: Ipfs
    log: EventLog
    task_id: int
    spec: TaskSpec
    workdir: Path

    @classmethod
    def open(cls, pogo: PoGOContract, ipfs: Ipfs, task_id: int, workdir: Path, from_block: int = 0) -> "Context":
        log = EventLog(pogo, from_block)
        created = log.task_created(task_id)
        raw = ipfs.cat(created["specCid"])
        spec = TaskSpec.from_json(raw, expected_hash=created["params"]["specHash"])
        workdir.mkdir(parents=True, exist_ok=True)
        return cls(pogo, ipfs, log, task_id, spec, workdir)

    def as_signer(self, pogo: PoGOContract, workdir: Path) -> "Context":
        """The same task seen by another signer with its own cache."""
        workdir.mkdir(parents=True, exist_ok=True)
        return Context(pogo, self.ipfs, self.log, self.task_id, self.spec, workdir)

    # -- cached artifacts -------------------------------------------------------------

    def checkpoint(self, root: bytes, cid: str) -> np.ndarray:
        """The padded model with ``root``, fetched once and checked against the root."""
        path = self.workdir / "checkpoints" / f"{root.hex()}.bin"
        if not path.exists():
            data = self.ipfs.cat(cid)
            theta = np.frombuffer(data, dtype="<f4")
            leaf = self.spec.leaf_size
            if theta.size != checkpoint.n_leaves(self.spec.n_params, leaf) * leaf:
                raise FormatError(f"checkpoint {cid} holds {theta.size} floats, not the task's padded model")
            if checkpoint.model_root(theta, leaf) != root:
                raise FormatError(f"checkpoint {cid} does not hash to 0x{root.hex()}")
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, data)
        return checkpoint.read(path, self.spec.leaf_size)

    def dataset(self) -> dict:
        path = self.workdir / "dataset.json"
        if not path.exists():
            raw = self.ipfs.cat(self.spec.dataset_cid)
            import hashlib
            if "0x" + hashlib.sha256(raw).hexdigest() != self.spec.dataset_hash:
                raise FormatError("the dataset manifest does not match the task's dataset hash")
            write_bytes_atomic(path, raw)
        return json.loads(path.read_text())

    def shard(self, index: int) -> np.ndarray:
        shards = self.dataset()["shards"]
        if not 0 <= index < len(shards):
            raise PogoError(f"shard {index} does not exist (the dataset has {len(shards)})")
        path = self.workdir / "shards" / f"{index}.bin"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, self.ipfs.cat(shards[index]["cid"]))
        tokens = np.fromfile(path, dtype=np.uint8)
        if tokens.size != shards[index]["tokens"]:
            raise FormatError(f"shard {index} has {tokens.size} tokens, the manifest says {shards[index]['tokens']}")
        return tokens

    def validation_shard(self) -> np.ndarray:
        return self.shard(self.dataset()["validation_shard"])

    def head(self) -> tuple[bytes, str, str]:
        return self.log.head_artifacts(self.task_id)
