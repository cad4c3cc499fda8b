"""The `pogo` command line: one subcommand per task, one-line errors, non-zero exits.

    pogo devnet up|status|down          the local chain + IPFS
    pogo compile                        compile contracts/ (cached by source hash)
    pogo deploy                         deploy the contracts to --rpc (default: the devnet)
    pogo inspect root|diff|apply|quantize   check published artifacts by hand
    pogo head fetch --task N            rebuild and verify a task's current head from its lineage
    pogo status [--address A]           an account's stake, bonds, unbonding and withdrawable ETH
    pogo prove-fraud SUBMISSION         reject a submission with a leaf fraud proof, for the bounty
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from pogo.errors import PogoError

EXIT_USER_ERROR = 2


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2))


def _progress(message: str) -> None:
    print(f"pogo: {message}", file=sys.stderr, flush=True)


# -- devnet ---------------------------------------------------------------------------

def cmd_devnet(args: argparse.Namespace) -> int:
    from pogo.dev.devnet import Devnet

    net = Devnet(args.state_dir, progress=_progress)
    if args.action == "up":
        state = net.up(args.anvil_port, args.ipfs_port, args.block_time, args.chain)
        _print_json({"rpc_url": state.rpc_url, "ipfs_api": state.ipfs_api, "state_dir": str(net.dir)})
    elif args.action == "status":
        status = net.status()
        _print_json(status)
        return 0 if status["running"] else 1
    else:
        stopped = net.down()
        _progress(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    return 0


# -- compile / deploy -----------------------------------------------------------------

def cmd_compile(args: argparse.Namespace) -> int:
    from pogo.dev import compiler

    artifacts = compiler.compile_contracts(force=args.force, progress=_progress)
    _print_json({name: {"bytecode_bytes": len(a.bytecode) // 2 - 1} for name, a in artifacts.items()})
    return 0


# -- inspect --------------------------------------------------------------------------

def cmd_inspect(args: argparse.Namespace) -> int:
    from pogo.protocol import checkpoint, difffile
    from pogo.protocol.source import FileSource

    if args.what == "root":
        print("0x" + checkpoint.root_of_file(args.checkpoint, args.leaf_size).hex())
    elif args.what == "diff":
        source = FileSource(args.diff)
        header = difffile.read_header(source)
        if args.check:
            difffile.read(source)
        _print_json(header.to_json())
    elif args.what == "apply":
        diff = difffile.read(FileSource(args.diff))
        h = diff.header
        prev = checkpoint.read(args.prev, h.leaf_size, h.n_params)
        if checkpoint.model_root(prev, h.leaf_size) != h.prev_root:
            raise PogoError(f"{args.prev} is not the diff's base: its root differs from prev_root 0x{h.prev_root.hex()}")
        theta_new = diff.apply(prev)
        root = checkpoint.model_root(theta_new, h.leaf_size)
        if root != h.new_root:
            raise PogoError(f"the rebuilt model's root 0x{root.hex()} is not the diff's new_root 0x{h.new_root.hex()}")
        checkpoint.write(args.out, theta_new, h.leaf_size)
        print("0x" + root.hex())
    else:  # quantize
        prev = checkpoint.read(args.prev, args.leaf_size)
        raw = checkpoint.read(args.raw, args.leaf_size)
        n_params = args.params or prev.size
        if prev.size != raw.size:
            raise PogoError(f"{args.prev} and {args.raw} differ in size ({prev.size} and {raw.size} floats)")
        result = difffile.make_diff(prev[:n_params], raw[:n_params], args.leaf_size, groups=args.groups)
        difffile.write(args.out, result.diff)
        _print_json(result.diff.header.to_json())
    return 0


# -- head -----------------------------------------------------------------------------

def cmd_head(args: argparse.Namespace) -> int:
    from pogo.node import open_task
    from pogo.protocol import checkpoint

    ctx = open_task(args, "head", read_only=True)
    task = ctx.pogo.task(ctx.task_id)
    _progress(f"rebuilding the head of task {ctx.task_id} (round {task.round}) from its lineage")
    theta = ctx.model(task.head_root)  # HeadUnavailable (a PogoError) names what is missing
    out = args.out or str(ctx.workdir / f"head-{task.head_root.hex()[:16]}.bin")
    checkpoint.write(out, theta, ctx.spec.leaf_size)
    _print_json({"task": ctx.task_id, "round": task.round, "root": "0x" + task.head_root.hex(),
                 "params": ctx.spec.n_params, "checkpoint": out})
    return 0


# -- cost -----------------------------------------------------------------------------

def cmd_cost(args: argparse.Namespace) -> int:
    from pogo import cost

    if args.mfu > 1:
        raise PogoError(f"--mfu must be in (0, 1], not {args.mfu}")
    inputs = cost.Inputs(cost.shape_of(args.model), cost.GPUS[args.gpu], args.round_hours, args.mfu,
                         args.gpus_per_miner, args.miners, args.committee, args.verifier_cores, args.bandwidth_gbit)
    _print_json(cost.estimate(inputs))
    return 0


# -- status ---------------------------------------------------------------------------

def cmd_status(args: argparse.Namespace) -> int:
    """An account's stake, bonds, unbonding and what it can withdraw, in ETH."""
    from web3 import Web3

    from pogo.node import account_status, connect

    node = connect(args, read_only=True)
    if args.address:
        if not Web3.is_address(args.address):
            raise PogoError(f"--address {args.address!r} is not an Ethereum address")
        address = Web3.to_checksum_address(args.address)
    elif args.key or args.dev_account is not None:
        address = node.client.address
    else:
        raise PogoError("whose status? pass --address 0x…, or the account's --key / --dev-account")
    _print_json(account_status(node.contract(), address))
    return 0


# -- prove-fraud ----------------------------------------------------------------------

def cmd_prove_fraud(args: argparse.Namespace) -> int:
    """Rebuild a submission's new model from the head and its diff(s), find a leaf its tree
    commits to wrongly (or check the one named), and prove it on chain (PROTOCOL.md D11)."""
    from pogo import fraudproof
    from pogo.net.contract import FraudKind
    from pogo.node import connect, open_task
    from pogo.protocol import aggregate

    s = connect(args).contract().submission(args.submission)  # UnknownSubmission: a one-line ChainError
    args.task = s.task_id
    ctx = open_task(args, "prover")
    p = ctx.log.submission(args.submission)
    head_root = ctx.head_root()
    if p.prev_root != head_root:
        raise PogoError(f"submission {args.submission} builds on 0x{p.prev_root.hex()[:16]}…, not the current head: "
                        "its round has closed, and with it the time for a fraud proof")
    if args.leaf is not None and not 0 <= args.leaf < ctx.n_leaves:
        raise PogoError(f"leaf {args.leaf} does not exist: task {ctx.task_id}'s model has {ctx.n_leaves} leaves")
    _progress(f"rebuilding submission {args.submission} from the head of task {ctx.task_id}")
    prev = ctx.model(head_root)
    tree = ctx.tree(p.tree_cid)
    if p.kind == 0:
        diffs, sources = [ctx.diff(p.diff_cid)], ()
        expected = diffs[0].apply(prev)
    else:
        accepted, diffs = ctx.round_updates(s.round)
        sources = tuple(a.submission_id for a in accepted)
        expected = aggregate.aggregate(prev, diffs)
    leaves = None if args.leaf is None else [args.leaf]
    proof = fraudproof.build(prev, expected, ctx.spec.leaf_size, tree, p.new_root, diffs, sources, leaves)
    if proof is None:
        where = f"leaf {args.leaf} is" if args.leaf is not None else "every leaf its tree proves is"
        raise PogoError(f"{where} exactly what submission {args.submission}'s diff makes of the head: "
                        "there is no fraud to prove")
    _progress(f"leaf {proof.leaf} differs from the exact rebuild: sending the proof")
    receipt = ctx.pogo.prove_leaf_fraud(args.submission, proof.encode())
    event = ctx.pogo.events(receipt, "LeafFraudProven")[0]
    _print_json({"submission": args.submission, "leaf": event["leaf"], "kind": FraudKind(event["kind"]).name,
                 "miner_slashed_eth": event["minerSlash"] / 10**18, "bounty_eth": event["bounty"] / 10**18,
                 "gas": receipt["gasUsed"], "tx": "0x" + bytes(receipt["transactionHash"]).hex()})
    return 0


# -- parser ---------------------------------------------------------------------------

def _positive_power_of_two(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 32 or value & (value - 1):
        raise argparse.ArgumentTypeError(f"{value} must be a power of two, at least 32")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other bad input
        self.exit(EXIT_USER_ERROR, f"pogo: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pogo", description="Proof of Gradient Optimization")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    devnet = sub.add_parser("devnet", help="the local chain and IPFS daemon")
    devnet.add_argument("action", choices=["up", "status", "down"], help="start, report or stop")
    devnet.add_argument("--state-dir", help="where pids, logs and chain state live (default ./.pogo/devnet)")
    devnet.add_argument("--chain", choices=["anvil", "ganache"], default="anvil",
                        help="the local chain: Anvil, or Ganache 7.9.2 (same accounts, chain id and gas limit)")
    devnet.add_argument("--anvil-port", type=int, default=0, help="the chain's port (default: a free port)")
    devnet.add_argument("--ipfs-port", type=int, default=0, help="default: a free port")
    devnet.add_argument("--block-time", type=int, default=2,
                        help="seconds between empty blocks, besides one per transaction (0: only on transactions)")
    devnet.set_defaults(func=cmd_devnet)

    comp = sub.add_parser("compile", help="compile contracts/ with solc 0.8.28")
    comp.add_argument("--force", action="store_true", help="ignore the artifact cache")
    comp.set_defaults(func=cmd_compile)

    inspect = sub.add_parser("inspect", help="check published checkpoints and diffs by hand")
    isub = inspect.add_subparsers(dest="what", required=True, parser_class=_Parser)
    root = isub.add_parser("root", help="print a checkpoint's model root")
    root.add_argument("checkpoint", help="a checkpoint file (little-endian float32)")
    root.add_argument("--leaf-size", type=_positive_power_of_two, default=4096, help="parameters per leaf")
    diff = isub.add_parser("diff", help="print a diff's header as JSON")
    diff.add_argument("diff", help="a diff file")
    diff.add_argument("--check", action="store_true", help="also check every record against diff_root")
    apply = isub.add_parser("apply", help="rebuild theta_new from theta_prev and a diff")
    apply.add_argument("prev", help="theta_prev, the diff's base checkpoint")
    apply.add_argument("diff", help="the diff file")
    apply.add_argument("out", help="where to write theta_new")
    quant = isub.add_parser("quantize", help="write the MX-int4 diff from theta_prev to theta_raw")
    quant.add_argument("prev", help="theta_prev, the base checkpoint")
    quant.add_argument("raw", help="theta_raw, the trained checkpoint")
    quant.add_argument("out", help="where to write the diff")
    quant.add_argument("--leaf-size", type=_positive_power_of_two, default=4096, help="parameters per leaf")
    quant.add_argument("--params", type=int, default=0, help="P, when the files carry leaf padding")
    quant.add_argument("--groups", type=int, default=0,
                       help="k: a sparse diff of each leaf's k largest 32-parameter groups (PROTOCOL.md D13; 0: dense)")
    inspect.set_defaults(func=cmd_inspect)

    from pogo.node import add_node_options

    head = sub.add_parser("head", help="a task's current head")
    hsub = head.add_subparsers(dest="what", required=True, parser_class=_Parser)
    fetch = hsub.add_parser("fetch", help="rebuild the head from the initial checkpoint, snapshots and accepted "
                                          "diffs, check every root, and write it as a checkpoint file")
    add_node_options(fetch)
    fetch.add_argument("--task", type=int, required=True, help="the task id")
    fetch.add_argument("--out", help="where to write the checkpoint (default: in the workdir)")
    fetch.add_argument("--workdir", help="cache of fetched diffs and models (default .pogo/head)")
    fetch.set_defaults(func=cmd_head)

    status = sub.add_parser("status", help="an account's stake, locked bonds, unbonding (with the block it is "
                                           "ready at) and withdrawable balance, in ETH")
    add_node_options(status)
    status.add_argument("--address", help="the account (default: the --key or --dev-account signer's)")
    status.set_defaults(func=cmd_status)

    c = sub.add_parser("cost", help="what a round costs a miner, a verifier and the chain at a model size "
                                    "(docs/COST.md)")
    c.add_argument("--model", required=True,
                   help="gpt3-175b, gemma3-27b, or a JSON file: a transformers config.json or a GPT config")
    c.add_argument("--gpu", default="h100", choices=["h100", "h200", "a100", "l40s", "rtx4090", "mi300x"],
                   help="the miners' and verifiers' GPU")
    c.add_argument("--round-hours", type=_positive_float, default=1.0, help="the training time of one round")
    c.add_argument("--mfu", type=_positive_float, default=0.40, help="model FLOP utilisation assumed (0-1]")
    c.add_argument("--gpus-per-miner", type=_nonnegative, default=0,
                   help="GPUs a miner trains on (0: the fewest whose memory holds the training state)")
    c.add_argument("--miners", type=_nonnegative, default=8, help="accepted updates a round")
    c.add_argument("--committee", type=_nonnegative, default=4, help="committee seats a submission")
    c.add_argument("--verifier-cores", type=_nonnegative, default=32, help="CPU cores a verifier hashes with")
    c.add_argument("--bandwidth-gbit", type=_positive_float, default=10.0, help="a verifier's download bandwidth, Gbit/s")
    c.set_defaults(func=cmd_cost)

    prove = sub.add_parser("prove-fraud", help="reject a submission whose committed model has a wrong leaf, with "
                                               "a proof the contract checks itself; the bounty is half the slash")
    add_node_options(prove)
    prove.add_argument("submission", type=int, help="the submission id")
    prove.add_argument("--leaf", type=int, help="the leaf to prove (default: the first wrong one found)")
    prove.add_argument("--workdir", help="cache of fetched diffs and models (default .pogo/prover)")
    prove.set_defaults(func=cmd_prove_fraud)

    _add_role_commands(sub)
    return parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be positive and finite")
    return value


def _nonnegative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


ROLE_COMMANDS = "pogo.commands"


def _add_role_commands(sub: argparse._SubParsersAction) -> None:
    """The roles' subcommands, declared as entry points in the ``pogo.commands`` group (see
    pyproject.toml), each registered by its own light module: heavy imports wait for the
    command that needs them. An entry point that fails to import fails loudly."""
    from importlib.metadata import entry_points

    found = sorted(entry_points(group=ROLE_COMMANDS), key=lambda ep: ep.name)
    if not found:
        raise PogoError("no role commands are installed (entry points `pogo.commands`): run `make setup`")
    for ep in found:
        ep.load()(sub)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
    except PogoError as exc:
        print(f"pogo: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except PogoError as exc:
        print(f"pogo: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("pogo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`pogo status | head`): the work is done, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
