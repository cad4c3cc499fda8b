"""Where a node finds its chain, IPFS, key and deployment: flags first, then environment
variables, then the endpoints the deployment record names (`pogo demo --keep` writes them),
then the local devnet's state, so that on a laptop everything just works."""

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
    p.add_argument("--deployment", type=Path, default=Path(os.environ.get("POGO_DEPLOYMENT", DEFAULT_DEPLOYMENT)),
                   help="the deployment record (or POGO_DEPLOYMENT; default .pogo/deployment.json)")
    p.add_argument("--devnet-dir", help="the devnet state dir to take default addresses from")


@dataclass
class Node:
    """A connected signer: chain client, IPFS, and (once deployed) the PoGO contract."""

    client: chain.Client
    ipfs: Ipfs
    deployment_path: Path

    def contract(self) -> PoGOContract:
        """The deployed contract, checked before anything is sent to it: the record's chain is
        the RPC's, and there is code at its address (a restarted local chain has none, and ETH
        sent there would be lost)."""
        deployment = chain.Deployment.load(self.deployment_path)
        check_deployment(self.client.w3, deployment, self.deployment_path)
        return PoGOContract.at(self.client, deployment)


def check_deployment(w3, deployment: chain.Deployment, path: Path) -> None:
    chain_id = w3.eth.chain_id
    if deployment.chain_id != chain_id:
        raise PogoError(f"{path} is for chain {deployment.chain_id}, the RPC serves {chain_id}: "
                        "pass the right --rpc, or --deployment for this chain")
    if not w3.eth.get_code(deployment.address):
        raise PogoError(f"{path} names {deployment.address} on chain {chain_id}, but there is no contract there "
                        "(was the chain restarted?): run `pogo deploy`")


def connect(args: argparse.Namespace, read_only: bool = False) -> Node:
    """Chain, IPFS and signer from the flags; ``read_only`` commands need no key (they sign nothing)."""
    rpc, ipfs_addr = args.rpc, args.ipfs
    if (not rpc or not ipfs_addr) and args.deployment.exists():
        record = chain.Deployment.load(args.deployment)  # e.g. `pogo demo --keep`'s, wherever its devnet lives
        if record.rpc_url and record.ipfs_api:
            rpc, ipfs_addr = rpc or record.rpc_url, ipfs_addr or record.ipfs_api
    if not rpc or not ipfs_addr:
        state = Devnet(args.devnet_dir).load()
        if state is None:
            missing = " and ".join(f for f, v in (("--rpc", rpc), ("--ipfs", ipfs_addr)) if not v)
            raise PogoError(f"no {missing} given and no devnet running here: run `pogo devnet up`, or pass {missing}")
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


_HELD_LOCKS: list = []  # open lock files, held until the process exits


def hold_role_lock(pogo: PoGOContract, role: str) -> Path:
    """Claim this machine's one ``role`` process for the signer on this chain and contract: a
    second miner or bot on the same key would race its twin for nonces and seats. The lock is an
    flock on a file under ~/.pogo/locks (POGO_LOCK_DIR), released by the kernel when the process
    ends, crash or not. Returns the lock file's path."""
    import fcntl
    import hashlib

    where = Path(os.environ.get("POGO_LOCK_DIR") or Path.home() / ".pogo" / "locks")
    where.mkdir(parents=True, exist_ok=True)
    w3 = pogo.client.w3
    network = f"{getattr(w3.provider, 'endpoint_uri', '')}|{w3.eth.chain_id}|{pogo.address}"
    address = pogo.client.address
    path = where / f"{role}-{address.lower()}-{hashlib.sha256(network.encode()).hexdigest()[:12]}.lock"
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise PogoError(f"a {role} for {address} already runs on this network ({holder}, lock {path}): "
                        f"stop it, or run this {role} with another key") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    _HELD_LOCKS.append(handle)
    return path


def parse_eth(text: str) -> int:
    """An amount in wei from '1.5' or '1.5eth' (ETH) or '1500000000000000000wei'."""
    from decimal import Decimal, InvalidOperation

    raw = text.strip().lower()
    unit = 10**18
    if raw.endswith("wei"):
        raw, unit = raw[:-3], 1
    elif raw.endswith("eth"):
        raw = raw[:-3]
    try:
        value = Decimal(raw.strip()) * unit
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount: write 1.5, 1.5eth or 1500000000000000000wei") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the amount must be positive")
    if value != value.to_integral_value():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of wei")
    return int(value)


def eth(wei: int) -> str:
    """Wei as a decimal string of ETH, exact: 1500000000000000000 -> '1.5'."""
    from decimal import Decimal

    text = format(Decimal(wei) / Decimal(10**18), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def account_status(pogo: PoGOContract, address: str) -> dict:
    """One account's position in the contract, amounts in ETH."""
    a = pogo.account(address)
    block = pogo.client.w3.eth.block_number
    return {"address": address, "chain_id": pogo.client.w3.eth.chain_id, "contract": pogo.address,
            "balance_eth": eth(pogo.client.w3.eth.get_balance(address)),
            "stake_eth": eth(a["stake"]), "locked_eth": eth(a["locked"]), "free_eth": eth(a["free"]),
            "open_seats": a["open_seats"], "verifier_slot": a["slot"] or None,
            "unbonding_eth": eth(a["unbonding"]), "unbonding_ready_block": a["unbonding_ready"] or None,
            "unbonding_ready": bool(a["unbonding"]) and block >= a["unbonding_ready"],
            "withdrawable_eth": eth(pogo.withdrawable(address)), "block": block}


ETH_PARAMS = ("miner_bond", "round_reward", "verifier_fee", "eval_fee", "verifier_bond")


def task_summary(pogo: PoGOContract, task_id: int) -> dict:
    """A task as a person reads it: amounts in ETH, roots in hex, where its round stands."""
    from dataclasses import asdict

    t = pogo.task(task_id)
    params = {}
    for name, value in asdict(t.params).items():
        if isinstance(value, bytes):
            params[name] = "0x" + value.hex()
        elif name in ETH_PARAMS:
            params[f"{name}_eth"] = eth(value)
        else:
            params[name] = value
    return {"task": task_id, "owner": t.owner, "pool_eth": eth(t.pool), "ended": t.ended, "round": t.round,
            "round_start_block": t.round_start, "commit_window_ends_block": t.round_start + t.params.round_blocks,
            "open_submissions": t.open, "aggregating": t.aggregating, "head_root": "0x" + t.head_root.hex(),
            "params": params}


def add_stake_command(role_sub, role: str, join_verifier_pool: bool = False) -> None:
    """``pogo ROLE stake --amount ETH``: the same command for miners and verifiers; a verifier
    also joins the verifier pool (once)."""

    def cmd_stake(args: argparse.Namespace) -> int:
        pogo = connect(args).contract()
        pogo.stake(args.amount)
        if join_verifier_pool and pogo.account(pogo.client.address)["slot"] == 0:
            pogo.register_verifier()
        print(json.dumps(account_status(pogo, pogo.client.address), indent=2))
        return 0

    what = "stake ETH and join the verifier pool" if join_verifier_pool else f"stake ETH as a {role}"
    s = role_sub.add_parser("stake", help=what)
    add_node_options(s)
    s.add_argument("--amount", required=True, type=parse_eth, help="ETH (1.5, 1.5eth or 1500000000000000000wei)")
    s.set_defaults(func=cmd_stake)


def add_account_commands(role_sub, role: str) -> None:
    """``pogo ROLE unstake --amount ETH`` and ``pogo ROLE withdraw``: the way out of a stake,
    checked before anything is sent, with the account's position printed after."""

    def cmd_unstake(args: argparse.Namespace) -> int:
        pogo = connect(args).contract()
        a = pogo.account(pogo.client.address)
        free = a["free"]
        if args.amount > free:
            raise PogoError(f"only {eth(free)} ETH of {pogo.client.address}'s stake is free ({eth(a['stake'])} staked, "
                            f"{eth(a['locked'])} locked in bonds of open work): unstake at most that")
        pogo.request_unstake(args.amount)
        print(json.dumps(account_status(pogo, pogo.client.address), indent=2))
        return 0

    def cmd_withdraw(args: argparse.Namespace) -> int:
        pogo = connect(args).contract()
        a, block = pogo.account(pogo.client.address), pogo.client.w3.eth.block_number
        matures = a["unbonding"] and block >= a["unbonding_ready"] and a["open_seats"] == 0
        if pogo.withdrawable(pogo.client.address) == 0 and not matures:
            why = "nothing is owed"
            if a["unbonding"]:
                why = (f"{eth(a['unbonding'])} ETH is unbonding until block {a['unbonding_ready']}"
                       + (f" and {a['open_seats']} committee seat(s) are open" if a["open_seats"] else "")
                       + f" (now {block})")
            raise PogoError(f"nothing to withdraw for {pogo.client.address}: {why}")
        receipt = pogo.withdraw()
        paid = sum(e["amount"] for e in pogo.events(receipt, "Withdrawn"))
        print(json.dumps({"withdrawn_eth": eth(paid), **account_status(pogo, pogo.client.address)}, indent=2))
        return 0

    u = role_sub.add_parser("unstake", help=f"start unbonding free stake of this {role} (withdraw it later)")
    add_node_options(u)
    u.add_argument("--amount", required=True, type=parse_eth, help="ETH (1.5, 1.5eth or 1500000000000000000wei)")
    u.set_defaults(func=cmd_unstake)
    w = role_sub.add_parser("withdraw", help="take out rewards, refunds and matured unbonding stake")
    add_node_options(w)
    w.set_defaults(func=cmd_withdraw)
