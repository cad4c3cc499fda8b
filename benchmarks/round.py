"""Cost of one miner round and of verifying it, on a real devnet; prints JSON.

    python -m benchmarks.round [--steps 30]

train_seconds          K DeepSpeed steps of the demo's GPT on the assigned shard
overhead_seconds       quantize + hash + upload + submit transaction
overhead_ratio         overhead / train
verify_seconds         one committee seat: fetch, spot checks, full rebuild, both loss checks
verify_to_train_ratio  verify / train
aggregate_loss_seconds what an aggregate's seat adds to steps 1-4 (PROTOCOL.md D15): the paired
                       validation loss check, timed here on the update's model as the aggregate
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from deploy import scenario
from deploy.scenario import ETH
from deploy.task import TaskDefinition, publish_task
from pogo.context import Context
from pogo.dev.devnet import Devnet
from pogo.model.gpt import GPTConfig
from pogo.net import chain
from pogo.net.contract import PoGOContract, TaskParams
from pogo.net.ipfs import Ipfs
from pogo.protocol import aggregate
from verifier.checks import AggregateChecker, measure_aggregate
from workers.miner import Miner
from workers.trainer import TrainConfig, Trainer


def measure(state, workdir: Path, steps: int, model_cfg: GPTConfig | None = None,
            train: TrainConfig | None = None, density: float | None = None) -> dict:
    """One real round of one miner on a fresh deployment of the devnet ``state``, and one seat's
    check of it; ``density``: the task's (PROTOCOL.md D13; default: deploy.task's)."""
    w3 = chain.connect(state.rpc_url)
    ipfs = Ipfs(state.ipfs_api)
    sc = scenario.build(w3, n_miners=1, n_verifiers=4,
                        pogo=PoGOContract.deploy(chain.Client(w3, chain.dev_account(0))))
    definition = TaskDefinition(model=model_cfg or GPTConfig.small())
    if density is not None:
        definition = replace(definition, density=density)
    task = publish_task(sc.pogo, ipfs, TaskParams(), funding=10 * ETH, definition=definition)
    ctx = Context.open(sc.pogo, ipfs, task, workdir / "owner")
    cfg = ctx.spec.model
    train = train or TrainConfig(steps=steps)
    miner = Miner(ctx.as_signer(sc.as_(sc.miners[0]), workdir / "miner"), Trainer(cfg, train))
    miner.work()  # trains, publishes and commits
    sc.to_reveals(task)
    report = miner.work()  # reveals
    t = report.timings
    uploaded = sum((miner.ctx.workdir / f"round-{report.round}" / name).stat().st_size for name in ("diff", "tree"))
    overhead = t["quantize_hash_s"] + t["upload_s"] + t["submit_tx_s"]

    sc.draw(report.submission_id)
    verifier_ctx = ctx.as_signer(sc.as_(sc.verifiers[0]), workdir / "verifier")
    checker = AggregateChecker(verifier_ctx)
    sub = verifier_ctx.log.submission(report.submission_id)
    head_root = verifier_ctx.head_root()
    seed = sc.pogo.seed(report.submission_id)
    checker.check(sub, 0, seed, 0, head_root)  # warm: the head and the shards are fetched once a round
    start = time.perf_counter()
    verdict = checker.check(sub, 1, seed, 0, head_root)
    verify = time.perf_counter() - start
    # An aggregate seat's extra work (D15), on a model of the same size: the loss check of the
    # average of this one update (the update itself), head to it.
    spec, prev = verifier_ctx.spec, verifier_ctx.model(head_root)
    theta_new = aggregate.aggregate(prev, [verifier_ctx.diff(sub.diff_cid)])
    start = time.perf_counter()
    measure_aggregate(spec.model, spec.recipe.seq_len, prev, theta_new, verifier_ctx.validation_shard(), seed,
                      spec.verification.rules(), spec.manifest_hash, spec.n_params)
    aggregate_loss = time.perf_counter() - start
    return {
        "n_params": ctx.spec.n_params, "steps": train.steps, "verdict": verdict.reason.name,
        "tokens_per_step": train.batch_size * ctx.spec.recipe.seq_len, "upload_bytes": uploaded,
        "train_seconds": round(t["train_s"], 3),
        "quantize_hash_seconds": round(t["quantize_hash_s"], 3), "upload_seconds": round(t["upload_s"], 3),
        "submit_tx_seconds": round(t["submit_tx_s"], 3),
        "overhead_seconds": round(overhead, 3), "overhead_ratio": round(overhead / t["train_s"], 4),
        "verify_seconds": round(verify, 3), "verify_to_train_ratio": round(verify / t["train_s"], 4),
        "aggregate_loss_seconds": round(aggregate_loss, 3),
        "spot_checks": ctx.spec.verification.spot_checks(), "density": ctx.spec.density,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        net = Devnet(Path(tmp) / "devnet")
        state = net.up()
        try:
            print(json.dumps(measure(state, Path(tmp), args.steps), indent=2))
        finally:
            net.down()


if __name__ == "__main__":
    main()
