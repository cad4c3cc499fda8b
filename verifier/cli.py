"""`pogo verifier stake|run`."""

from __future__ import annotations

import argparse
import json
import sys

from pogo.config import add_node_options, connect, open_task, parse_eth
from pogo.loop import poll_until


def _say(message: str) -> None:
    print(f"pogo verifier: {message}", file=sys.stderr, flush=True)


def cmd_stake(args: argparse.Namespace) -> int:
    pogo = connect(args).contract()
    pogo.stake(args.amount)
    if pogo.account(pogo.client.address)["slot"] == 0:
        pogo.register_verifier()
    print(json.dumps(pogo.account(pogo.client.address), default=str))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from verifier.bot import VerifierBot

    bot = VerifierBot(open_task(args, "verifier"), _say, aggregator=not args.no_aggregate)

    def step() -> bool:
        for vote in bot.poll():
            print(json.dumps({"submission": vote.submission_id, "seat": vote.seat, "reason": vote.verdict.reason.name,
                              "improvement": vote.verdict.improvement, "seconds": round(vote.seconds, 3)}), flush=True)
        return args.once

    if args.once:
        step()
    else:
        poll_until(step, args.interval, _say)
    return 0


def register(sub) -> None:
    v = sub.add_parser("verifier", help="stake, then check submissions and vote")
    vsub = v.add_subparsers(dest="action", required=True, parser_class=sub._parser_class)
    s = vsub.add_parser("stake", help="stake ETH and join the verifier pool")
    add_node_options(s)
    s.add_argument("--amount", required=True, type=parse_eth, help="ETH")
    s.set_defaults(func=cmd_stake)
    r = vsub.add_parser("run", help="watch the task, vote on this verifier's seats, finalize, aggregate")
    add_node_options(r)
    r.add_argument("--task", type=int, required=True)
    r.add_argument("--once", action="store_true", help="one pass, then exit")
    r.add_argument("--interval", type=float, default=2.0)
    r.add_argument("--no-aggregate", action="store_true", help="never propose aggregates")
    r.add_argument("--workdir", help="state (default .pogo/verifier-ADDRESS)")
    r.set_defaults(func=cmd_run)
