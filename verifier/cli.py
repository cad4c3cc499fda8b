"""`pogo verifier stake|unstake|withdraw|claim|run`."""

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
    connect,
    eth,
    hold_role_lock,
    open_task,
)


def _say(message: str) -> None:
    print(f"pogo verifier: {message}", file=sys.stderr, flush=True)


def _check_pool(pogo) -> None:
    """A verifier outside the pool is never seated: say what to do instead of waiting silently."""
    address = pogo.client.address
    account = pogo.account(address)
    minimum = pogo.contract.functions.minVerifierStake().call()
    if account["slot"] == 0:
        short = max(minimum - account["stake"], 0)
        raise PogoError(f"{address} is not in the verifier pool (stake {eth(account['stake'])} ETH, the pool takes "
                        f"at least {eth(minimum)} ETH): run `pogo verifier stake --amount {eth(short) if short else '0.1'}`"
                        " with this key first")
    if account["stake"] < minimum:  # slashed below: draws skip it, but its open work still settles
        _say(f"stake {eth(account['stake'])} ETH is below the pool's minimum {eth(minimum)} ETH: no new seats "
             "until it stakes more (`pogo verifier stake`); finishing open work")


def cmd_run(args: argparse.Namespace) -> int:
    from verifier.bot import VerifierBot

    pogo = connect(args).contract()
    _check_pool(pogo)
    hold_role_lock(pogo, "verifier")
    if not 0 <= args.keeper_index < args.keepers:
        raise PogoError(f"--keeper-index must lie in 0..{args.keepers - 1}")
    bot = VerifierBot(open_task(args, "verifier"), _say, aggregator=not args.no_aggregate, keeper=not args.seats_only,
                      keeper_slot=(args.keeper_index, args.keepers))

    def step() -> bool:
        for vote in bot.poll():
            print(json.dumps({"submission": vote.submission_id, "seat": vote.seat, "reason": vote.verdict.reason.name,
                              "improvement": vote.verdict.improvement, "seconds": round(vote.seconds, 3)}), flush=True)
        return args.once

    if args.once:
        step()
    else:
        poll_until(step, args.interval, _say, give_up_after=args.give_up_after)
    return 0


def cmd_claim(args: argparse.Namespace) -> int:
    """Settle this key's seats on the task's finalized submissions that nobody settled yet: the
    fees and shares they earned become withdrawable (a running bot does this itself)."""
    from verifier.bot import settle_seats

    ctx = open_task(args, "verifier")
    me = ctx.pogo.client.address
    settled, paid, slashed = [], 0, 0
    for sid, p, s in settle_seats(ctx, me):
        settled.append(sid)
        paid, slashed = paid + p, slashed + s
        _say(f"settled seat of submission {sid}: paid {eth(p)} ETH, slashed {eth(s)} ETH")
    print(json.dumps({"settled": settled, "paid_eth": eth(paid), "slashed_eth": eth(slashed),
                      "withdrawable_eth": eth(ctx.pogo.withdrawable(me))}, indent=2))
    return 0


def register(sub) -> None:
    v = sub.add_parser("verifier", help="stake, then check submissions and vote")
    vsub = v.add_subparsers(dest="action", required=True, parser_class=sub._parser_class)
    add_stake_command(vsub, "verifier", join_verifier_pool=True)
    add_account_commands(vsub, "verifier")
    c = vsub.add_parser("claim", help="settle this key's seats on a task's finalized submissions (then withdraw)")
    add_node_options(c)
    c.add_argument("--task", type=int, required=True, help="the task id")
    c.add_argument("--workdir", help="cache (default .pogo/verifier-ADDRESS)")
    c.set_defaults(func=cmd_claim)
    r = vsub.add_parser("run", help="watch the task, vote on this verifier's seats, finalize, aggregate")
    add_node_options(r)
    r.add_argument("--task", type=int, required=True, help="the task id")
    r.add_argument("--once", action="store_true", help="one pass, then exit")
    r.add_argument("--interval", type=float, default=2.0, help="seconds between polls of the chain")
    r.add_argument("--give-up-after", type=float, default=600.0,
                   help="exit non-zero after this many seconds with the chain or IPFS unreachable")
    r.add_argument("--no-aggregate", action="store_true", help="never propose aggregates")
    r.add_argument("--seats-only", action="store_true",
                   help="follow only the submissions this key is seated on; leave drawing committees, expiring "
                        "and closing rounds to other bots (the keepers): for large networks")
    r.add_argument("--keepers", type=int, default=1, help="keepers that share the draws (submission id mod N)")
    r.add_argument("--keeper-index", type=int, default=0,
                   help="this keeper's share: ids equal to it mod --keepers (a draw its keeper leaves undrawn "
                        "passes on to the next)")
    r.add_argument("--workdir", help="state (default .pogo/verifier-ADDRESS)")
    r.set_defaults(func=cmd_run)
