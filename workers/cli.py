"""`pogo miner stake|unstake|withdraw|claim|run`."""

from __future__ import annotations

import argparse
import json
import sys

from pogo.errors import PogoError
from pogo.net.loop import poll_until
from pogo.node import (
    add_account_commands,
    add_node_options,
    add_stake_command,
    hold_role_lock,
    open_task,
)


def _say(message: str) -> None:
    print(f"pogo miner: {message}", file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    from pogo.protocol.taskspec import Recipe
    from workers.miner import Miner, follow
    from workers.trainer import TrainConfig, Trainer

    choices = {"steps": args.steps, "batch_size": args.batch_size, "zero_stage": args.zero_stage,
               "offload": args.offload, "bf16": args.bf16}
    try:  # TrainConfig holds the rules; checked before anything touches the network
        TrainConfig.from_recipe(Recipe(), **choices)
    except ValueError as exc:
        raise PogoError(f"{exc}") from None
    if not 0 <= args.residual_decay <= 1:
        raise PogoError(f"--residual-decay is a share from 0 to 1, not {args.residual_decay}")
    ctx = open_task(args, "miner")
    train = TrainConfig.from_recipe(ctx.spec.recipe, **choices)  # the task's recipe, this machine's choices
    _say(f"training {ctx.spec.n_params:,} parameters: {train.steps} {train.optimizer} steps of {train.batch_size} "
         f"windows of {train.seq_len} tokens a round (ZeRO {train.zero_stage}{', offload' if train.offload else ''}"
         f"{', bf16' if train.bf16 else ''}), carrying {args.residual_decay:g} of what its diffs leave out into its next round")
    trainer = Trainer(ctx.spec.model, train, ctx.spec.manifest_hash, ctx.spec.n_params)
    if trainer.rank != 0:
        follow(ctx, trainer)
        trainer.close()
        return 0
    try:
        hold_role_lock(ctx.pogo, "miner")  # rank 0 only: the other ranks of a data-parallel miner share its key
        return _lead(args, Miner(ctx, trainer, progress=_say, residual_decay=args.residual_decay))
    finally:
        trainer.share_job(None)  # release the other ranks
        trainer.close()


def _lead(args: argparse.Namespace, miner) -> int:
    done = 0

    def step() -> bool:
        nonlocal done
        report = miner.work()
        if report:
            done += 1
            print(json.dumps(report.__dict__), flush=True)
        claimed = miner.claim()
        if claimed:
            _say(f"claimed {claimed / 1e18:.4f} ETH of rewards")
        return bool(args.rounds) and done >= args.rounds

    poll_until(step, args.interval, _say, give_up_after=args.give_up_after)
    return 0


def cmd_claim(args: argparse.Namespace) -> int:
    """Claim the rewards of this key's accepted updates to a task whose rounds have closed (a
    running miner does this itself; this is for a miner that stopped)."""
    from pogo.node import eth
    from workers.miner import claim_rewards

    ctx = open_task(args, "miner")
    me = ctx.pogo.client.address
    claimed, waiting, total = [], [], 0
    for sid, amount in claim_rewards(ctx, me):
        if amount is None:
            waiting.append(sid)
        else:
            claimed.append(sid)
            total += amount
    print(json.dumps({"claimed_eth": eth(total), "submissions": claimed, "round_not_closed": waiting,
                      "withdrawable_eth": eth(ctx.pogo.withdrawable(me))}, indent=2))
    return 0


def register(sub) -> None:
    m = sub.add_parser("miner", help="stake, then train and submit updates")
    msub = m.add_subparsers(dest="action", required=True, parser_class=sub._parser_class)
    add_stake_command(msub, "miner")
    add_account_commands(msub, "miner")
    c = msub.add_parser("claim", help="claim the rewards of this key's accepted updates to a task (then withdraw)")
    add_node_options(c)
    c.add_argument("--task", type=int, required=True, help="the task id")
    c.add_argument("--workdir", help="cache (default .pogo/miner-ADDRESS)")
    c.set_defaults(func=cmd_claim)
    r = msub.add_parser("run", help="train and submit an update every round (resumes after a crash)")
    add_node_options(r)
    r.add_argument("--task", type=int, required=True, help="the task id")
    r.add_argument("--rounds", type=int, default=0, help="stop after this many updates (0: run on)")
    r.add_argument("--steps", type=int, help="training steps per round (default: the task's recipe)")
    r.add_argument("--batch-size", type=int, help="windows per step (default: the task's recipe); lower it on a small GPU")
    r.add_argument("--zero-stage", type=int, choices=[0, 1, 2, 3], default=0,
                   help="DeepSpeed ZeRO stage: 1-2 partition optimizer state and gradients, 3 also parameters")
    r.add_argument("--offload", action="store_true",
                   help="ZeRO-Offload: optimizer state (under ZeRO-3 also parameters) in CPU memory, for a GPU too "
                        "small for the model's training state (needs --zero-stage >= 1)")
    r.add_argument("--bf16", action="store_true",
                   help="bf16 mixed precision with fp32 master weights (a GPU's tensor cores; needs --zero-stage >= 1)")
    # workers.miner.RESIDUAL_DECAY, written out so that --help imports no torch (a test keeps the two in step)
    r.add_argument("--residual-decay", type=float, default=0.75,
                   help="error feedback: the share of what its diffs left out (unsent groups, rounding) that the "
                        "miner carries into its next round; 1 keeps all of it, 0 none (default 0.75, docs/DENSITY.md)")
    r.add_argument("--interval", type=float, default=2.0, help="seconds between polls of the chain")
    r.add_argument("--give-up-after", type=float, default=600.0,
                   help="exit non-zero after this many seconds with the chain or IPFS unreachable")
    r.add_argument("--workdir", help="state and artifacts (default .pogo/miner-ADDRESS)")
    r.set_defaults(func=cmd_run)
