"""Publish a training task: initial checkpoint, tree, dataset shards and spec to IPFS; then
createTask on chain with the roots and hashes that commit to them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch

from deploy import corpus as data
from pogo.model import manifest
from pogo.model.gpt import GPT, GPTConfig
from pogo.net.contract import PoGOContract, TaskParams
from pogo.net.ipfs import Ipfs
from pogo.protocol import dataset
from pogo.protocol.taskspec import TaskSpec, Verification


def publish_task(pogo: PoGOContract, ipfs: Ipfs, params: TaskParams | None = None, model_cfg: GPTConfig | None = None,
                 n_shards: int = 8, leaf_size: int = 4096, verification: Verification | None = None,
                 funding: int = 0, seed: int = 0, progress: Callable[[str], None] = lambda _: None) -> int:
    """Create a task whose head is a freshly initialised GPT; return its id."""
    cfg = model_cfg or GPTConfig.small()
    torch.manual_seed(seed)
    net = GPT(cfg)
    man = manifest.of_module(net)
    theta = manifest.flatten(net)

    progress(f"publishing {n_shards} dataset shards")
    corpus = data.load_corpus(n_shards)
    shards = data.shards(corpus.tokens, n_shards)
    shard_cids = [ipfs.add_bytes(s.tobytes()) for s in shards]
    dataset_json = dataset.manifest_json(shard_cids, [len(s) for s in shards])
    dataset_cid = ipfs.add_bytes(dataset_json)

    progress(f"publishing the initial checkpoint ({man.n_params:,} parameters)")
    initial = ipfs.add_model(theta, leaf_size)

    spec = TaskSpec(model=cfg.to_json(), manifest_hash="0x" + man.hash().hex(), n_params=man.n_params,
                    leaf_size=leaf_size, dataset_cid=dataset_cid,
                    dataset_hash="0x" + dataset.manifest_hash(dataset_json).hex(), n_shards=n_shards,
                    verification=verification or Verification())
    spec_cid = ipfs.add_bytes(spec.canonical_json())
    base = params or TaskParams()
    params = replace(base, spec_hash=spec.hash(), initial_root=initial.root, n_params=man.n_params,
                     leaf_size=leaf_size, n_shards=n_shards)
    task_id, _ = pogo.create_task(params, spec_cid, initial.checkpoint_cid, initial.tree_cid, funding=funding)
    progress(f"task {task_id} created: head 0x{initial.root.hex()[:16]}…")
    return task_id
