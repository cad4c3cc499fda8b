"""Convergence by diff density (issue 13, PROTOCOL.md D13): the validation loss after R rounds of
a task with M miners when each round's head is the plain fp32 average of the miners' models, the
exact average of dense MX-int4 diffs (section 7), or that of sparse MX-int4 diffs carrying k of
each leaf's groups, with error feedback; prints JSON, one object per configuration, then a summary
naming the sparsest density within 1 % of dense MX-int4.

    python -m benchmarks.density [--rounds 20] [--miners 4] [--configs fp32,dense,32,16,8,4,2,1] [--steps K]
                                 [--decay D] [--warm R] [--seed S] [--judge] [--task examples/shakespeare-llama/task.toml]
                                 [--plot docs/density.png]

Real parts: the task as `pogo task create` prepares it (model, tokens, shards, leaf size), M
DeepSpeed trainers with the task's recipe, and the protocol's own arithmetic: difffile.make_diff
(the honest miner's diff, numpy reference) and aggregate.aggregate (what every node rebuilds). The
chain, IPFS and the committee are left out: every update here is honest, and what they add to
a round (accept, pin, vote) does not change the head's bits. Shards rotate: miner i trains shard
(i + r) mod (S - 1) in round r; the loss is measured on 64 fixed windows of the validation shard.

upload_bytes    what a miner publishes a round: its diff file and its tree file
compression     the fp32 model's bytes (4 P) over upload_bytes
vs_dense        final loss / dense MX-int4's final loss - 1
verdicts        (--judge) every update's verdict as a committee would reach it (verifier.checks.measure
                against the head on the miner's shard), counted, and the least gain judged (micro-nats);
                every aggregate's verdict under its loss check (D15: aggregate_OK, aggregate_OVERFIT) and
                the largest validation rise an aggregate brought (micro-nats). All are averaged regardless.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from deploy.demo import validation_windows
from deploy.task import TaskDefinition, prepare
from pogo.model import causal_lm, manifest
from pogo.model.loss import evaluate
from pogo.protocol import aggregate, checkpoint, difffile, merkle, treefile
from pogo.protocol.taskspec import Verification
from verifier import checks
from workers.miner import RESIDUAL_DECAY
from workers.trainer import TrainConfig, Trainer

WINDOWS = 64
WITHIN = 0.01  # the default density: the sparsest whose final loss is within 1 % of dense MX-int4's


def _say(message: str) -> None:
    print(f"benchmarks.density: {message}", file=sys.stderr, flush=True)


def upload_bytes(n_params: int, leaf_size: int, groups: int) -> int:
    n = checkpoint.n_leaves(n_params, leaf_size)
    diff = difffile.HEADER_SIZE + n * difffile.record_size(leaf_size, groups=groups)
    tree = treefile.TreeHeader(leaf_size, n, merkle.depth_for(n)).file_size()
    return diff + tree


def run(task, groups: int | None, miners: int, rounds: int, steps: int, feedback: str = "start",
        head: np.ndarray | None = None, verdicts: Counter | None = None, seed: int = 0,
        decay: float = RESIDUAL_DECAY) -> tuple[list[float], np.ndarray]:
    """Validation losses of the head before round 0 and after each round, and the last head.
    ``groups``: None for plain fp32 averaging, 0 for dense MX-int4, k for sparse; ``head``: where
    to start (default: the task's initial weights); ``seed``: the trainers' (miner i samples with
    seed 1000 seed + i; 0 is the recorded runs'). With ``verdicts``, each MX-int4 update is also
    judged as a committee would (verifier.checks.measure against the head, on its shard) and the
    verdicts counted there: an honest miner must never be HARMFUL, the one verdict that slashes."""
    spec, leaf = task.spec, task.spec.leaf_size
    n_params = spec.n_params
    net = causal_lm.build(spec.model)
    val, block = task.shards[-1], spec.recipe.seq_len
    offsets = validation_windows(val, block, WINDOWS)

    def loss(theta: np.ndarray) -> float:
        manifest.load_into(net, theta[:n_params])
        return evaluate(net, val, offsets, block)

    rules = task.spec.verification.rules() if verdicts is not None else None
    trainers = [Trainer(spec.model, TrainConfig.from_recipe(spec.recipe, steps=steps, seed=1000 * seed + i), spec.manifest_hash,
                        n_params) for i in range(miners)]
    # Fresh trainers for each configuration: the same optimizer state at the start of each (the
    # process group stays: it is the process's, not a trainer's).
    head = checkpoint.pad((task.theta if head is None else head[:n_params]).astype(np.float32), leaf)
    residuals = [np.zeros(n_params, np.float32) for _ in range(miners)]
    losses = [loss(head)]
    for r in range(rounds):
        started = time.perf_counter()
        raws, shards = [], [task.shards[(i + r) % (len(task.shards) - 1)] for i in range(miners)]
        for i, trainer in enumerate(trainers):
            # Error feedback as workers.miner does it: train from the head plus what this miner's
            # earlier diffs left out, so the update re-learns none of it (--feedback add: add it after).
            start = head[:n_params] + residuals[i] if feedback == "start" else head[:n_params]
            trainer.load(start.astype(np.float32))
            trainer.train(shards[i])
            raws.append(trainer.theta() + (residuals[i] if feedback == "add" else 0))
        if groups is None:
            head = checkpoint.pad(np.mean(np.stack(raws).astype(np.float64), axis=0).astype(np.float32), leaf)
        else:
            diffs = []
            for i, raw in enumerate(raws):
                made = difffile.make_diff(head[:n_params], raw.astype(np.float32), leaf, groups=groups)
                residuals[i] = (decay * made.residual[:n_params]).astype(np.float32)
                diffs.append(made.diff)
                if verdicts is not None:
                    windows = hashlib.sha256(f"density {groups} {r} {i}".encode()).digest()  # the committee's seed
                    judged = checks.measure(spec.model, block, head, made.theta_new, shards[i], val, windows, rules,
                                            spec.manifest_hash, n_params)
                    verdicts[judged.reason] += 1
                    verdicts["least_gain"] = min(verdicts.get("least_gain", judged.improvement), judged.improvement)
            new_head = aggregate.aggregate(head, diffs)
            if verdicts is not None and len(diffs) > 1:  # the aggregate's own check (PROTOCOL.md D15)
                windows = hashlib.sha256(f"density {groups} {r} aggregate".encode()).digest()
                judged = checks.measure_aggregate(spec.model, block, head, new_head, val, windows, rules,
                                                  spec.manifest_hash, n_params)
                verdicts[f"aggregate_{judged.reason}"] += 1
                verdicts["largest_aggregate_rise"] = max(verdicts.get("largest_aggregate_rise", -judged.improvement),
                                                         -judged.improvement)
            head = new_head
        losses.append(loss(head))
        _say(f"{label(groups)} round {r}: {losses[-1]:.4f} ({time.perf_counter() - started:.1f} s)")
    return losses, head


def label(groups: int | None) -> str:
    return "fp32" if groups is None else "dense" if groups == 0 else f"k={groups}"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    for row in rows:
        name = "fp32 averaging" if row["groups"] is None else f"dense MX-int4 ({row['compression']:.1f}x)" \
            if row["groups"] == 0 else f"sparse {100 * row['density']:.3g}% ({row['compression']:.0f}x)"
        ax.plot(range(len(row["losses"])), row["losses"], label=name)
    ax.set_xlabel("round")
    ax.set_ylabel("validation loss (nats)")
    start = f"from the head after {rows[0]['warm_rounds']} dense rounds" if rows[0].get("warm_rounds") else "from scratch"
    ax.set_title(f"{rows[0]['miners']} miners, {rows[0]['steps_per_round']} steps a round, {start}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--miners", type=int, default=4)
    parser.add_argument("--configs", default="fp32,dense,32,16,8,4,2,1",
                        help="fp32 (plain averaging), dense (MX-int4) and sparse k values, groups of 32 a leaf "
                             "(at L = 4096: 32, 16, 8, 4, 2, 1 are 25%%, 12.5%%, 6.25%%, 3.1%%, 1.56%%, 0.78%%)")
    parser.add_argument("--steps", type=int, help="training steps a round (default: the task's recipe)")
    parser.add_argument("--task", type=Path, help="a task file (docs/TASKS.md; default: the demo task)")
    parser.add_argument("--leaf-size", type=int, help="the leaves' size (default: the task's)")
    parser.add_argument("--feedback", choices=["start", "add"], default="start",
                        help="error feedback: train from the head plus the remainder (start, what workers.miner "
                             "does) or add the remainder to the trained model (add)")
    parser.add_argument("--decay", type=float, default=RESIDUAL_DECAY,
                        help=f"the share of its residual a miner carries into its next round (default: workers.miner's, "
                             f"{RESIDUAL_DECAY}; 1: all of it, the runs before 2026-12-07's decay)")
    parser.add_argument("--warm", type=int, default=0,
                        help="start every configuration from the head after this many dense MX-int4 rounds")
    parser.add_argument("--seed", type=int, default=0,
                        help="the miners' sampling seeds (1000 S + i for miner i; 0: the recorded runs)")
    parser.add_argument("--judge", action="store_true",
                        help="judge every MX-int4 update as a committee would and count the verdicts (slow)")
    parser.add_argument("--plot", type=Path, help="write the loss curves here (PNG; needs matplotlib: .[bench])")
    args = parser.parse_args(argv)
    try:
        configs = [None if c == "fp32" else 0 if c == "dense" else int(c) for c in args.configs.split(",") if c]
    except ValueError:
        print(f"benchmarks.density: --configs takes fp32, dense and numbers, like fp32,dense,8,2; not "
              f"{args.configs!r}", file=sys.stderr)
        return 2
    if not 0 <= args.decay <= 1:
        print(f"benchmarks.density: --decay is a share from 0 to 1, not {args.decay}", file=sys.stderr)
        return 2
    definition = TaskDefinition.from_file(args.task) if args.task else TaskDefinition()
    if args.leaf_size:
        definition = TaskDefinition(**{**definition.__dict__, "leaf_size": args.leaf_size})
    try:
        task = prepare(definition, Verification())
        for k in configs:
            difffile.check_groups(k or 0, task.spec.leaf_size)
    except Exception as exc:  # noqa: BLE001 - one line for the operator, whatever was wrong with the input
        print(f"benchmarks.density: {exc}", file=sys.stderr)
        return 2
    steps = args.steps or task.spec.recipe.steps
    fp32_bytes = 4 * task.spec.n_params
    rows = []
    start = run(task, 0, args.miners, args.warm, steps, seed=args.seed, decay=args.decay)[1] if args.warm else None
    for groups in configs:
        verdicts = Counter() if args.judge and groups is not None else None
        losses, _ = run(task, groups, args.miners, args.rounds, steps, args.feedback, start, verdicts, args.seed,
                           args.decay)
        sent = fp32_bytes if groups is None else upload_bytes(task.spec.n_params, task.spec.leaf_size, groups)
        row = {"config": label(groups), "groups": groups, "leaf_size": task.spec.leaf_size,
               "density": 1.0 if not groups else groups * 32 / task.spec.leaf_size,
               "n_params": task.spec.n_params, "miners": args.miners, "rounds": args.rounds, "steps_per_round": steps,
               "warm_rounds": args.warm, "feedback": args.feedback, "seed": args.seed, "decay": args.decay,
               "upload_bytes": sent, "compression": round(fp32_bytes / sent, 1),
               "final_loss": round(losses[-1], 4), "losses": [round(x, 4) for x in losses]}
        if verdicts is not None:
            row["verdicts"] = dict(verdicts)  # OK, NO_PROGRESS, ..., and the least gain judged (micro-nats)
        rows.append(row)
    dense = next((r["final_loss"] for r in rows if r["groups"] == 0), None)
    for row in rows:
        row["vs_dense"] = dense and round(row["final_loss"] / dense - 1, 4)
        print(json.dumps(row), flush=True)
    within = [r for r in rows if r["groups"] and dense and r["vs_dense"] <= WITHIN]
    best = min(within, key=lambda r: r["density"]) if within else None
    print(json.dumps({"summary": True, "within": WITHIN, "sparsest_within": best and best["groups"],
                      "density": best and best["density"], "compression": best and best["compression"]}), flush=True)
    if args.plot:
        plot(rows, args.plot)
        _say(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
