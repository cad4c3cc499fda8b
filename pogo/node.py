"""Where a node finds its chain, IPFS, key and deployment: flags first, then environment
variables, then the local devnet's state, so that on a laptop everything just works."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account

from pogo.dev.devnet import Devnet
from pogo.errors import PogoError
from pogo.net import chain
from pogo.net.contract import PoGOContract
from pogo.net.ipfs import Ipfs

DEFAULT_DEPLOYMENT = Path(".pogo") / "deployment.json"


def add_node_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rpc", default=os.environ.get("POGO_RPC"), help="EVM JSON-RPC URL (default: the devnet's)")
    p.add_argument("--ipfs", default=os.environ.get("POGO_IPFS"),
                   help="IPFS RPC multiaddr, e.g. /ip4/127.0.0.1/tcp/5001/http (default: the devnet's)")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--key", default=os.environ.get("POGO_KEY"), help="hex private key (or POGO_KEY)")
    key.add_argument("--dev-account", type=int, help="use Anvil's development account N (local chains only)")
    p.add_argument("--deployment", type=Path, default=Path(os.environ.get("POGO_DEPLOYMENT", DEFAULT_DEPLOYMENT)))
    p.add_argument("--devnet-dir", help="the devnet state dir to take default addresses from")


@dataclass
class Node:
    """A connected signer: chain client, IPFS, and (once deployed) the PoGO contract."""

    client: chain.Client
    ipfs: Ipfs
    deployment_path: Path

    def contract(self) -> PoGOContract:
        deployment = chain.Deployment.load(self.deployment_path)
        chain_id = self.client.w3.eth.chain_id
        if deployment.chain_id != chain_id:
            raise PogoError(f"{self.deployment_path} is for chain {deployment.chain_id}, the RPC serves {chain_id}")
        return PoGOContract.at(self.client, deployment)


def connect(args: argparse.Namespace, read_only: bool = False) -> Node:
    """Chain, IPFS and signer from the flags; ``read_only`` commands need no key (they sign nothing)."""
    rpc, ipfs_addr = args.rpc, args.ipfs
    if not rpc or not ipfs_addr:
        state = Devnet(args.devnet_dir).load()
        if state is None:
            raise PogoError("no --rpc/--ipfs given and no devnet running here: run `pogo devnet up`, or pass them")
        rpc, ipfs_addr = rpc or state.rpc_url, ipfs_addr or state.ipfs_api
    w3 = chain.connect(rpc)
    if args.key:
        try:
            account = Account.from_key(args.key)
        except (ValueError, TypeError):
            raise PogoError("--key is not a valid hex private key") from None
    elif args.dev_account is not None:
        if not 0 <= args.dev_account < 20:
            raise PogoError("--dev-account must be 0..19")
        account = chain.dev_account(args.dev_account)
    elif read_only:
        account = Account.create()  # never funded, never used to sign
    else:
        raise PogoError("no signing key: pass --key (or set POGO_KEY), or --dev-account N on a local chain")
    ipfs = Ipfs(ipfs_addr)
    ipfs.version()
    return Node(chain.Client(w3, account), ipfs, args.deployment)


def open_task(args: argparse.Namespace, role: str, read_only: bool = False):
    """The Context of ``args.task`` for a role, with its state in --workdir or .pogo/ROLE-ADDRESS."""
    from pogo.context import Context

    node = connect(args, read_only)
    pogo = node.contract()
    deployment_block = chain.Deployment.load(args.deployment).block
    default = f".pogo/{role}" if read_only else f".pogo/{role}-{pogo.client.address[:10].lower()}"
    workdir = Path(args.workdir or default)
    return Context.open(pogo, node.ipfs, args.task, workdir, deployment_block)


def parse_eth(text: str) -> int:
    """'1.5' -> wei."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount of ETH") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the amount must be positive")
    return int(value * 10**18)


def add_stake_command(role_sub, role: str, join_verifier_pool: bool = False) -> None:
    """``pogo ROLE stake --amount ETH``: the same command for miners and verifiers; a verifier
    also joins the verifier pool (once)."""

    def cmd_stake(args: argparse.Namespace) -> int:
        pogo = connect(args).contract()
        pogo.stake(args.amount)
        if join_verifier_pool and pogo.account(pogo.client.address)["slot"] == 0:
            pogo.register_verifier()
        print(json.dumps(pogo.account(pogo.client.address), default=str))
        return 0

    what = "stake ETH and join the verifier pool" if join_verifier_pool else f"stake ETH as a {role}"
    s = role_sub.add_parser("stake", help=what)
    add_node_options(s)
    s.add_argument("--amount", required=True, type=parse_eth, help="ETH")
    s.set_defaults(func=cmd_stake)
