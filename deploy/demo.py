"""`pogo demo` (and `make demo`): a whole network on this machine, through real rounds.

Anvil + js-ipfs come up, the contracts are deployed, a task is published with the
Shakespeare corpus; three honest miners train with DeepSpeed, a fourth submits noise far
larger than any training step (sabotage); four verifier bots check, vote, finalize and aggregate. A table per round shows the
losses, each submission's outcome, gas and seconds; ``--json PATH`` writes the same. The
cheater is slashed each round until its free stake no longer covers the bond; from then on
it is skipped, and the demo goes on.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from deploy import scenario
from deploy.scenario import ETH
from deploy.task import TaskDefinition, prepare, publish
from pogo.context import Context
from pogo.dev.devnet import Devnet
from pogo.errors import PogoError
from pogo.model import manifest
from pogo.model.loss import evaluate
from pogo.net import chain
from pogo.net.contract import PoGOContract, Status, TaskParams
from pogo.net.ipfs import Ipfs
from pogo.node import DEFAULT_DEPLOYMENT
from pogo.protocol.taskspec import Verification
from verifier.bot import VerifierBot
from workers import cheats
from workers.miner import Miner, build_honest
from workers.trainer import TrainConfig, Trainer

ROUND_BLOCKS = 40
VOTE_BLOCKS = 80


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def validation_windows(tokens: np.ndarray, block: int, windows: int = 64) -> list[int]:
    """Fixed window offsets in the validation shard: the same every round and every run."""
    return np.random.default_rng(1234).integers(0, len(tokens) - block - 1, windows).tolist()


def validation_loss(ctx: Context, windows: int = 64) -> float:
    """The head's loss on fixed windows of the validation shard (the same every round)."""
    net = ctx.build_model()
    manifest.load_into(net, ctx.head())  # rebuilt from the head's lineage: the demo's nodes hold no checkpoint
    tokens, block = ctx.validation_shard(), ctx.spec.recipe.seq_len
    return evaluate(net, tokens, validation_windows(tokens, block, windows), block)


def run(rounds: int = 3, state_dir: Path = Path(".pogo/demo"), steps: int | None = None, keep: bool = False,
        chain_name: str = "anvil", task: TaskDefinition | None = None) -> dict:
    """``task``: the task to train (default: the built-in GPT on the bundled Shakespeare);
    ``steps``: training steps per miner per round (default: the task's recipe)."""
    state_dir = state_dir.resolve()
    task = task or TaskDefinition()
    print("PoGO demo: checking the task", file=sys.stderr)
    prepared = prepare(task, Verification(), progress=_say)  # bad input fails here, before any node starts
    if state_dir.exists():
        Devnet(state_dir / "devnet").down()
        shutil.rmtree(state_dir)
    net = Devnet(state_dir / "devnet", progress=_say)
    print("PoGO demo: local chain + IPFS, 3 honest miners, 1 cheater, 4 verifiers", file=sys.stderr)
    state = net.up(chain=chain_name)
    try:
        report = _run(state, rounds, state_dir, steps, prepared)
        if keep:
            report["deployment_record"] = str(_keep_record(state, report["contract"], state_dir))
        return report
    finally:
        if not keep:
            net.down()


def _keep_record(state, address: str, state_dir: Path) -> Path:
    """Leave a deployment record where the other commands look by default, naming this chain and
    IPFS daemon, so that `pogo status`, `pogo task show 1` or `pogo explorer` run next, from the
    same folder, see the demo. A record of a real `pogo deploy` there is left alone."""
    w3 = chain.connect(state.rpc_url)
    record = chain.Deployment(w3.eth.chain_id, address, 0, state.rpc_url, state.ipfs_api, "pogo demo")
    path = DEFAULT_DEPLOYMENT
    if path.exists():
        try:
            mine = chain.Deployment.load(path).written_by == "pogo demo"
        except PogoError:
            mine = False
        if not mine:
            path = state_dir / "deployment.json"
            _say(f"{DEFAULT_DEPLOYMENT} is another deployment's: the demo's record is {path} (pass --deployment {path})")
    record.save(path)
    _say(f"the network stays up; {path} names it for the other commands (`pogo devnet down --state-dir "
         f"{state_dir / 'devnet'}` stops it)")
    return path


def _run(state, rounds: int, state_dir: Path, steps: int | None, prepared) -> dict:
    w3 = chain.connect(state.rpc_url)
    ipfs = Ipfs(state.ipfs_api)
    sc = scenario.build(w3, n_miners=4, n_verifiers=4, miner_stake=5 * ETH, verifier_stake=10 * ETH,
                        pogo=PoGOContract.deploy(chain.Client(w3, chain.dev_account(0))))
    params = TaskParams(round_blocks=ROUND_BLOCKS,
                        vote_blocks=VOTE_BLOCKS, committee_size=4, round_reward=3 * ETH, verifier_fee=ETH // 100)
    task_id = publish(sc.pogo, ipfs, prepared, params, funding=50 * ETH, progress=_say)
    ctx = Context.open(sc.pogo, ipfs, task_id, state_dir / "owner")

    names = ["honest-1", "honest-2", "honest-3", "cheater"]
    builders = [build_honest, build_honest, build_honest, cheats.vandal]
    miners = []
    for i, (name, builder) in enumerate(zip(names, builders)):
        trainer = Trainer(ctx.spec.model, TrainConfig.from_recipe(ctx.spec.recipe, steps=steps, seed=i),
                          ctx.spec.manifest_hash, ctx.spec.n_params)
        miners.append(Miner(ctx.as_signer(sc.as_(sc.miners[i]), state_dir / name), trainer, builder,
                            progress=lambda m, n=name: _say(f"{n}: {m}")))
    bots = [VerifierBot(ctx.as_signer(sc.as_(v), state_dir / f"verifier-{i + 1}"), aggregator=(i == 0),
                        progress=lambda m, n=i + 1: _say(f"verifier-{n}: {m}")) for i, v in enumerate(sc.verifiers)]

    report = {"task_id": task_id, "contract": sc.pogo.address, "rounds": [],
              "initial_validation_loss": validation_loss(ctx)}
    for r in range(rounds):
        print(f"round {r}: training", file=sys.stderr, flush=True)
        started = time.perf_counter()
        block0 = w3.eth.block_number
        works = dict(zip(names, sc.work(miners, task_id)))
        train_s = time.perf_counter() - started
        votes = sc.drive(bots, task_id, sc.pogo.task(task_id).round + 1)
        rewards = {name: m.claim() for name, m in zip(names, miners)}
        rows = []
        for name, work in works.items():
            stake = sc.pogo.account(sc.miners[names.index(name)].address)["stake"]
            if work is None:  # nothing submitted: free stake below the bond
                rows.append({"miner": name, "submission": None, "shard": None, "train_loss": None,
                             "outcome": "SKIPPED", "reasons": [], "median_improvement": 0,
                             "reward_eth": rewards[name] / ETH, "stake_eth": stake / ETH, "train_s": 0.0})
                continue
            s = sc.pogo.submission(work.submission_id)
            reasons = sorted({v.verdict.reason.name for v in votes if v.submission_id == s.id})
            rows.append({"miner": name, "submission": s.id, "shard": work.shard,
                         "train_loss": [round(work.train_loss_first, 4), round(work.train_loss_last, 4)],
                         "outcome": s.status.name, "reasons": reasons, "median_improvement": s.improvement,
                         "reward_eth": rewards[name] / ETH, "stake_eth": stake / ETH,
                         "train_s": round(work.timings.get("train_s", 0.0), 2)})
        gas = sum(w3.eth.get_transaction_receipt(tx["hash"])["gasUsed"]
                  for b in range(block0 + 1, w3.eth.block_number + 1)
                  for tx in w3.eth.get_block(b, full_transactions=True)["transactions"])
        task = sc.pogo.task(task_id)
        report["rounds"].append({"round": r, "submissions": rows, "head": "0x" + task.head_root.hex(),
                                 "validation_loss": round(validation_loss(ctx), 4), "gas": gas,
                                 "seconds": round(time.perf_counter() - started, 2), "train_seconds": round(train_s, 2),
                                 "verify_seconds": round(sum(v.seconds for v in votes), 2)})
        _print_round(report["rounds"][-1])
    report["balance_accounted"] = sc.pogo.accounted_balance() == sc.pogo.balance()
    report["slashed_eth"] = _slashed(sc, names)
    report["bot_errors"] = sum(bot.errors for bot in bots)
    return report


def _slashed(sc, names: list[str]) -> dict[str, float]:
    """ETH slashed from each miner over the whole run, from the Slashed events."""
    logs = sc.pogo.contract.events.Slashed.get_logs(from_block=0)
    by_address = {sc.miners[i].address: name for i, name in enumerate(names)}
    out = dict.fromkeys(names, 0.0)
    for log in logs:
        name = by_address.get(log["args"]["account"])
        if name:
            out[name] += log["args"]["amount"] / ETH
    return out


def _print_round(row: dict) -> None:
    print(f"\nround {row['round']}  head {row['head'][:18]}…  validation loss {row['validation_loss']:.4f}  "
          f"gas {row['gas']:,}  {row['seconds']:.1f} s (train {row['train_seconds']:.1f} s, verify {row['verify_seconds']:.1f} s)")
    print(f"  {'miner':<10} {'sub':>4} {'shard':>5} {'train loss':>15} {'outcome':<12} {'reason':<14} "
          f"{'gain µnat':>10} {'reward':>7} {'stake':>6}")
    for s in row["submissions"]:
        if s["submission"] is None:
            print(f"  {s['miner']:<10} {'-':>4} {'-':>5} {'-':>15} {'SKIPPED':<12} {'stake < bond':<14} "
                  f"{0:>10} {s['reward_eth']:>7.3f} {s['stake_eth']:>6.2f}")
            continue
        loss = f"{s['train_loss'][0]:.3f}→{s['train_loss'][1]:.3f}"
        print(f"  {s['miner']:<10} {s['submission']:>4} {s['shard']:>5} {loss:>15} {s['outcome']:<12} "
              f"{','.join(s['reasons']):<14} {s['median_improvement']:>10} {s['reward_eth']:>7.3f} {s['stake_eth']:>6.2f}")
    sys.stdout.flush()


def verdict(report: dict) -> dict:
    """What the demo shows, as booleans: the exit code is 0 only when all hold."""
    rounds = report["rounds"]
    honest = [s for r in rounds for s in r["submissions"] if s["miner"] != "cheater"]
    cheater = [s for r in rounds for s in r["submissions"] if s["miner"] == "cheater"]
    return {
        "honest_never_rejected_or_slashed": all(s["outcome"] in (Status.ACCEPTED.name, Status.NOT_ACCEPTED.name)
                                                for s in honest)
                                            and all(v == 0 for k, v in report["slashed_eth"].items() if k != "cheater"),
        "honest_updates_accepted_in_round_0": all(s["outcome"] == Status.ACCEPTED.name
                                                  for s in rounds[0]["submissions"] if s["miner"] != "cheater"),
        "cheater_never_accepted_or_paid": all(s["outcome"] != Status.ACCEPTED.name and s["reward_eth"] == 0
                                              for s in cheater),
        "heads_load_every_round": all(r["validation_loss"] is not None for r in rounds),
        "validation_loss_fell": rounds[-1]["validation_loss"] < report["initial_validation_loss"],
        "bots_never_failed": report["bot_errors"] == 0,
        "books_balance": report["balance_accounted"],
    }


def cmd_demo(args: argparse.Namespace) -> int:
    task = TaskDefinition.from_file(Path(args.task)) if args.task else None
    report = run(args.rounds, Path(args.state_dir), args.steps, args.keep, args.chain, task)
    report["verdict"] = verdict(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    first, last = report["initial_validation_loss"], report["rounds"][-1]["validation_loss"]
    print(f"\nvalidation loss {first:.4f} -> {last:.4f}; " +
          "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in report["verdict"].items()))
    return 0 if all(report["verdict"].values()) else 1
