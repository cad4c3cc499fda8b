"""`pogo deploy`, `pogo task create|list|show` and `pogo demo`."""

from __future__ import annotations

import argparse
import json
import sys

from pogo.net import chain
from pogo.net.contract import PoGOContract, TaskParams
from pogo.node import add_node_options, connect, parse_eth, task_summary


def cmd_deploy(args: argparse.Namespace) -> int:
    from pogo.errors import PogoError

    node = connect(args)
    w3 = node.client.w3
    if args.deployment.exists() and not args.force:
        try:
            old = chain.Deployment.load(args.deployment)
        except PogoError as exc:
            raise PogoError(f"{exc}: pass --force to replace it") from None
        if old.chain_id != w3.eth.chain_id:
            raise PogoError(f"{args.deployment} records a deployment on chain {old.chain_id} (this RPC serves "
                            f"{w3.eth.chain_id}): pass --deployment for a new record, or --force to replace it")
        if w3.eth.get_code(old.address):
            raise PogoError(f"{args.deployment} already names a live contract, {old.address}: pass --force to "
                            "replace the record, or --deployment for a new one")
        # the same chain without code there (a restarted local chain): the record is stale
    pogo = PoGOContract.deploy(node.client, args.unbonding_blocks, args.min_verifier_stake)
    deployment = chain.Deployment(w3.eth.chain_id, pogo.address, w3.eth.block_number, args.rpc or "")
    deployment.save(args.deployment)
    print(json.dumps({"address": pogo.address, "chain_id": deployment.chain_id, "block": deployment.block,
                      "written": str(args.deployment)}, indent=2))
    return 0


def cmd_task_create(args: argparse.Namespace) -> int:
    from deploy.task import publish_task

    node = connect(args)
    params = TaskParams(round_blocks=args.round_blocks,
                        vote_blocks=args.vote_blocks, committee_size=args.committee_size,
                        miner_bond=args.miner_bond, round_reward=args.round_reward,
                        verifier_fee=args.verifier_fee)
    task_id = publish_task(node.contract(), node.ipfs, params, n_shards=args.shards, funding=args.funding,
                           progress=lambda m: print(f"pogo: {m}", file=sys.stderr))
    print(json.dumps({"task_id": task_id}))
    return 0


def cmd_task_list(args: argparse.Namespace) -> int:
    pogo = connect(args, read_only=True).contract()
    count = pogo.contract.functions.taskCount().call()
    rows = []
    for task_id in range(1, count + 1):
        t = task_summary(pogo, task_id)
        rows.append({k: t[k] for k in ("task", "owner", "pool_eth", "round", "open_submissions", "ended")})
    print(json.dumps(rows, indent=2))
    return 0


def cmd_task_show(args: argparse.Namespace) -> int:
    from pogo.errors import PogoError

    pogo = connect(args, read_only=True).contract()
    count = pogo.contract.functions.taskCount().call()
    if not 1 <= args.task <= count:
        raise PogoError(f"there is no task {args.task}: this deployment has {count} (see `pogo task list`)")
    summary = task_summary(pogo, args.task)
    summary["block"] = pogo.w3.eth.block_number
    print(json.dumps(summary, indent=2))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from deploy import demo  # torch and DeepSpeed load only for the commands that train

    return demo.cmd_demo(args)


def register(sub) -> None:
    d = sub.add_parser("deploy", help="deploy the PoGO contract and write the deployment record")
    add_node_options(d)
    d.add_argument("--unbonding-blocks", type=int, default=20, help="blocks from an unstake request to its withdrawal")
    d.add_argument("--min-verifier-stake", default="1", type=parse_eth, help="ETH a verifier stakes at least")
    d.add_argument("--force", action="store_true", help="replace a deployment record whose contract is live")
    d.set_defaults(func=cmd_deploy)

    t = sub.add_parser("task", help="training tasks")
    tsub = t.add_subparsers(dest="action", required=True, parser_class=sub._parser_class)
    c = tsub.add_parser("create", help="publish the Shakespeare GPT task and fund it")
    add_node_options(c)
    c.add_argument("--funding", default="50", type=parse_eth, help="ETH for the reward pool")
    c.add_argument("--shards", type=int, default=8, help="data shards; each miner trains on its own")
    c.add_argument("--round-blocks", type=int, default=40, help="blocks of a round's commit window")
    c.add_argument("--vote-blocks", type=int, default=80, help="blocks for each of a vote's commit and reveal")
    c.add_argument("--committee-size", type=int, default=4, help="verifiers seated per submission")
    c.add_argument("--miner-bond", default="1", type=parse_eth, help="ETH")
    c.add_argument("--round-reward", default="3", type=parse_eth, help="ETH")
    c.add_argument("--verifier-fee", default="0.01", type=parse_eth, help="ETH")
    c.set_defaults(func=cmd_task_create)
    ls = tsub.add_parser("list", help="every task of the deployment: owner, pool, round, open submissions")
    add_node_options(ls)
    ls.set_defaults(func=cmd_task_list)
    show = tsub.add_parser("show", help="one task's parameters (amounts in ETH), head and round")
    add_node_options(show)
    show.add_argument("task", type=int, help="the task id")
    show.set_defaults(func=cmd_task_show)

    p = sub.add_parser("demo", help="run a local network through real rounds and print the results")
    p.add_argument("--rounds", type=int, default=3, help="rounds to run")
    p.add_argument("--steps", type=int, default=30, help="training steps per miner per round")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--state-dir", default=".pogo/demo", help="the demo's chain, IPFS and role state (wiped first)")
    p.add_argument("--keep", action="store_true", help="leave the chain and IPFS running afterwards")
    p.add_argument("--chain", choices=["anvil", "ganache"], default="anvil", help="the local chain to run on")
    p.set_defaults(func=cmd_demo)
