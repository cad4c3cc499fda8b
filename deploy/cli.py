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


_RECIPE_FLAGS = ("seq_len", "steps", "batch_size", "optimizer", "lr", "weight_decay", "schedule", "warmup_steps",
                 "total_steps")


def task_definition(args: argparse.Namespace):
    """The task that `pogo task create` flags (or a --task file, which the flags then amend) name."""
    from dataclasses import replace
    from pathlib import Path

    from deploy.task import TaskDefinition

    d = TaskDefinition.from_file(Path(args.task)) if args.task else TaskDefinition()
    changes: dict = {}
    if args.model:
        changes["model"] = Path(args.model)
    if args.dataset:
        changes["dataset"] = tuple(args.dataset)
    if args.tokenizer:
        changes["tokenizer"] = Path(args.tokenizer)
    if args.init:
        changes["init"] = Path(args.init)
    for name in ("seed", "shards", "leaf_size", "density"):
        if getattr(args, name) is not None:
            changes["n_shards" if name == "shards" else name] = getattr(args, name)
    d = replace(d, **changes)
    recipe = {k: getattr(args, k) for k in _RECIPE_FLAGS if getattr(args, k) is not None}
    if recipe:
        base = d.recipe
        if base is None:  # the default recipe for this model, amended by the flags
            from deploy.task import default_recipe

            base = default_recipe(d.model_spec())
        d = replace(d, recipe=replace(base, **recipe))
    return d


def cmd_task_create(args: argparse.Namespace) -> int:
    from deploy.task import prepare, publish

    def say(m: str) -> None:
        print(f"pogo: {m}", file=sys.stderr, flush=True)

    prepared = prepare(task_definition(args), progress=say)  # every input checked before the chain is touched
    node = connect(args)
    params = TaskParams(round_blocks=args.round_blocks,
                        vote_blocks=args.vote_blocks, committee_size=args.committee_size,
                        miner_bond=args.miner_bond, round_reward=args.round_reward,
                        verifier_fee=args.verifier_fee)
    task_id = publish(node.contract(), node.ipfs, prepared, params, funding=args.funding, progress=say)
    print(json.dumps({"task_id": task_id, "n_params": prepared.spec.n_params, "density": prepared.spec.density,
                      "tokens": sum(len(s) for s in prepared.shards), "recipe": prepared.spec.recipe.__dict__}))
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


def cmd_task_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from deploy.export import export_head
    from pogo.errors import PogoError
    from pogo.node import open_task

    try:
        root = bytes.fromhex(args.root.removeprefix("0x")) if args.root else None
    except ValueError:
        root = b""
    if root is not None and len(root) != 32:
        raise PogoError(f"--root {args.root} is not a 32-byte hex root (see `pogo task show {args.task}`)")
    ctx = open_task(args, "export", read_only=True)
    print(json.dumps(export_head(ctx, Path(args.out), root), indent=2))
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
    c = tsub.add_parser("create", help="publish a training task (by default the built-in GPT on the bundled "
                                       "Shakespeare) and fund it; see docs/TASKS.md")
    add_node_options(c)
    c.add_argument("--funding", default="50", type=parse_eth, help="ETH for the reward pool")
    g = c.add_argument_group("the task (flags amend a --task file)")
    g.add_argument("--task", help="a task file (TOML: [model], [data], [init], [recipe]; docs/TASKS.md)")
    g.add_argument("--model", help="a transformers model directory or config.json (GPT-2, Llama, ...), or a JSON "
                                   "file of the built-in GPT's fields (default: the built-in 0.4M GPT)")
    g.add_argument("--dataset", nargs="+", help="text (.txt/.md), JSONL (`text` field) or Parquet (`text` column) "
                                                "files or directories, or `shakespeare` (the default)")
    g.add_argument("--tokenizer", help="a tokenizer.json, or `bytes` (default: the model directory's tokenizer.json, "
                                       "else bytes)")
    g.add_argument("--init", help="initial weights to fine-tune: a .safetensors file or a directory of them "
                                  "(default: random, from --seed)")
    g.add_argument("--seed", type=int, help="the random initialisation's seed (default 0)")
    g.add_argument("--shards", type=int, help="data shards, the last validates (default 8)")
    g.add_argument("--leaf-size", type=int, help="parameters per Merkle leaf (default 4096)")
    g.add_argument("--density", type=float, help="the share of each leaf's parameters a diff carries, in whole "
                                                 "32-parameter groups (sparse MX-int4, PROTOCOL.md D13; default 0.15625); 1 is dense")
    r = c.add_argument_group("the training recipe (advice to miners; defaults: the task file's, else 30 Adam "
                             "steps of 16 windows at lr 2e-3)")
    r.add_argument("--seq-len", type=int, help="tokens per window (default: the model's length)")
    r.add_argument("--steps", type=int, help="optimizer steps a round")
    r.add_argument("--batch-size", type=int, help="windows per step")
    r.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], help="the optimizer")
    r.add_argument("--lr", type=float, help="the learning rate")
    r.add_argument("--weight-decay", type=float, help="the weight decay")
    r.add_argument("--schedule", choices=["constant", "warmup", "warmup_cosine"], help="the learning-rate schedule")
    r.add_argument("--warmup-steps", type=int, help="linear warm-up steps")
    r.add_argument("--total-steps", type=int, help="warmup_cosine: steps to decay over")
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

    ex = tsub.add_parser("export", help="write a task's head as a model its library loads (transformers: "
                                         "from_pretrained(OUT)), with the task's tokenizer.json")
    add_node_options(ex)
    ex.add_argument("task", type=int, help="the task id")
    ex.add_argument("--out", required=True, help="the directory to write")
    ex.add_argument("--root", help="a past head's root (0x...; default: the current head)")
    ex.add_argument("--workdir", help="cache of fetched and rebuilt models (default .pogo/export)")
    ex.set_defaults(func=cmd_task_export)

    p = sub.add_parser("demo", help="run a local network through real rounds and print the results")
    p.add_argument("--rounds", type=int, default=3, help="rounds to run")
    p.add_argument("--task", help="a task file (TOML: your model, data, initial weights and recipe; docs/TASKS.md); "
                                  "default: the built-in GPT on the bundled Shakespeare")
    p.add_argument("--steps", type=int, help="training steps per miner per round (default: the task's recipe, 30)")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--state-dir", default=".pogo/demo", help="the demo's chain, IPFS and role state (wiped first)")
    p.add_argument("--keep", action="store_true", help="leave the chain and IPFS running afterwards")
    p.add_argument("--chain", choices=["anvil", "ganache"], default="anvil", help="the local chain to run on")
    p.set_defaults(func=cmd_demo)
