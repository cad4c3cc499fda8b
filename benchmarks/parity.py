"""The network against centralized training: validation loss after R rounds with M miners,
against one DeepSpeed run that spends the same total steps on the same data; prints JSON, one
object per M, and with --plot draws the loss curves.

    python -m benchmarks.parity [--miners 1,2,4,8] [--rounds 10] [--steps 30] [--decay D] [--plot docs/parity.png]
                                [--task examples/shakespeare-llama/task.toml]

Everything is real: a devnet (Anvil + js-ipfs), the contracts, the demo task (its GPT, corpus,
shards and validation windows) or the task of a task file (docs/TASKS.md), M DeepSpeed miners on their assigned shards, MX-int4 diffs, four
verifier bots that vote, finalize and aggregate (PROTOCOL.md section 7). The centralized run
starts from the same initial weights, trains M * R * K steps of the same batch size on every
training shard, and is measured on the same validation windows.

parity   (L0 - L_network) / (L0 - L_centralized): the share of the centralized loss reduction
         the network achieves (Proof of Training reports 85 %); docs/PARITY.md defines it.
accepted_per_round   how many of the M updates each round's committees accepted
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from deploy import scenario
from deploy.demo import ROUND_BLOCKS, VOTE_BLOCKS, validation_loss, validation_windows
from deploy.scenario import ETH
from deploy.task import TaskDefinition, prepare, publish
from pogo.context import Context
from pogo.dev.devnet import Devnet
from pogo.model import causal_lm, manifest
from pogo.model.loss import evaluate
from pogo.net import chain
from pogo.net.contract import PoGOContract, TaskParams
from pogo.net.ipfs import Ipfs
from pogo.protocol.taskspec import Recipe, Verification
from verifier.bot import VerifierBot
from workers.miner import RESIDUAL_DECAY, Miner
from workers.trainer import TrainConfig, Trainer

VALIDATION_WINDOWS = 64


def _say(message: str) -> None:
    print(f"benchmarks.parity: {message}", file=sys.stderr, flush=True)


def network(state, workdir: Path, n_miners: int, rounds: int, steps: int | None,
            task: TaskDefinition | None = None, decay: float = RESIDUAL_DECAY) -> tuple[Context, list[float], list[int]]:
    """The validation loss of the head before round 0 and after each round, and how many updates
    each round accepted."""
    w3 = chain.connect(state.rpc_url)
    ipfs = Ipfs(state.ipfs_api)
    sc = scenario.build(w3, n_miners=n_miners, n_verifiers=4, miner_stake=5 * ETH, verifier_stake=10 * ETH,
                        pogo=PoGOContract.deploy(chain.Client(w3, chain.dev_account(0))))
    params = TaskParams(round_blocks=ROUND_BLOCKS, vote_blocks=VOTE_BLOCKS, committee_size=4,
                        round_reward=3 * ETH, verifier_fee=ETH // 100)
    task = publish(sc.pogo, ipfs, prepare(task or TaskDefinition(), Verification()), params, funding=10 * rounds * ETH)
    ctx = Context.open(sc.pogo, ipfs, task, workdir / "owner")
    miners = [Miner(ctx.as_signer(sc.as_(sc.miners[i]), workdir / f"m{i}"),
                    Trainer(ctx.spec.model, TrainConfig.from_recipe(ctx.spec.recipe, steps=steps, seed=i)),
                    residual_decay=decay)
              for i in range(n_miners)]
    bots = [VerifierBot(ctx.as_signer(sc.as_(v), workdir / f"v{i}"), aggregator=(i == 0))
            for i, v in enumerate(sc.verifiers)]
    losses, accepted = [validation_loss(ctx, VALIDATION_WINDOWS)], []
    for r in range(rounds):
        started = time.perf_counter()
        round_ = sc.pogo.task(task).round
        sc.work(miners, task)
        sc.drive(bots, task, round_ + 1)
        losses.append(validation_loss(ctx, VALIDATION_WINDOWS))
        accepted.append(len(ctx.log.accepted_updates(task, round_)))
        _say(f"M={n_miners} round {r}: validation loss {losses[-1]:.4f}, {accepted[-1]} of {n_miners} updates "
             f"accepted ({time.perf_counter() - started:.1f} s)")
    return ctx, losses, accepted


def centralized(ctx: Context, total_steps: int, checkpoints: list[int]) -> list[float]:
    """One trainer from the task's initial weights over every training shard; the validation loss
    at each step count in ``checkpoints`` (the same windows as the network's)."""
    trainer = Trainer(ctx.spec.model, TrainConfig.from_recipe(ctx.spec.recipe, steps=total_steps, seed=0))
    trainer.load(ctx.model(ctx.pogo.task(ctx.task_id).params.initial_root))
    n_shards = ctx.spec.n_shards
    tokens = np.concatenate([ctx.shard(i) for i in range(n_shards - 1)])  # the last shard validates
    val = ctx.validation_shard()
    block = ctx.spec.recipe.seq_len
    offsets = validation_windows(val, block, VALIDATION_WINDOWS)
    net = causal_lm.build(ctx.spec.model)
    losses, done = [], 0
    for target in checkpoints:
        if target > done:
            trainer.train(tokens, steps=target - done)
            done = target
        manifest.load_into(net, trainer.theta())
        losses.append(evaluate(net, val, offsets, block))
    return losses


def parity(l0: float, net: float, central: float) -> float:
    return (l0 - net) / (l0 - central)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows), figsize=(4 * len(rows), 3.2), sharey=True, squeeze=False)
    for ax, row in zip(axes[0], rows):
        x = list(range(len(row["network_losses"])))
        ax.plot(x, row["network_losses"], marker="o", label=f"network, {row['miners']} miner(s)")
        ax.plot(x, row["centralized_losses"], marker="s", label="centralized, same steps")
        ax.set_title(f"M = {row['miners']}: parity {row['parity']:.2f}")
        ax.set_xlabel("round")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("validation loss (nats)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--miners", default="1,2,4,8", help="comma-separated miner counts")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per network run")
    parser.add_argument("--steps", type=int, help="training steps a round (default: the task's recipe)")
    parser.add_argument("--task", type=Path, help="a task file (docs/TASKS.md; default: the demo task)")
    parser.add_argument("--decay", type=float, default=RESIDUAL_DECAY,
                        help=f"the share of its residual a miner carries into its next round (default {RESIDUAL_DECAY}; "
                             "1: the runs before 2026-12-07's decay)")
    parser.add_argument("--plot", type=Path, help="write the loss curves here (PNG; needs matplotlib: .[bench])")
    args = parser.parse_args(argv)
    if not 0 <= args.decay <= 1:
        print(f"benchmarks.parity: --decay is a share from 0 to 1, not {args.decay}", file=sys.stderr)
        return 2
    try:
        counts = [int(m) for m in args.miners.split(",")]
    except ValueError:
        print(f"benchmarks.parity: --miners takes numbers like 1,2,4,8, not {args.miners!r}", file=sys.stderr)
        return 2
    task = TaskDefinition.from_file(args.task) if args.task else None
    steps = args.steps or (task.recipe if task and task.recipe else Recipe()).steps
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        devnet = Devnet(Path(tmp) / "devnet")
        state = devnet.up()
        try:
            for m in counts:
                ctx, net_losses, accepted = network(state, Path(tmp) / f"m{m}", m, args.rounds, steps, task,
                                                          args.decay)
                central = centralized(ctx, m * args.rounds * steps, [m * r * steps for r in range(args.rounds + 1)])
                row = {"task": str(args.task or "demo"), "model": ctx.spec.model.get("config", {}).get("model_type", "pogo-gpt"),
                       "n_params": ctx.spec.n_params, "miners": m, "rounds": args.rounds, "steps_per_round": steps,
                       "total_steps": m * args.rounds * steps,
                       "initial_loss": round(net_losses[0], 4), "network_loss": round(net_losses[-1], 4),
                       "centralized_loss": round(central[-1], 4),
                       "parity": round(parity(net_losses[0], net_losses[-1], central[-1]), 4),
                       "density": ctx.spec.density, "decay": args.decay, "accepted_per_round": accepted,
                       "network_losses": [round(x, 4) for x in net_losses],
                       "centralized_losses": [round(x, 4) for x in central]}
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            devnet.down()
    if args.plot:
        plot(rows, args.plot)
        _say(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
