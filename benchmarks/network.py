"""The network at scale: N staked miners and V registered verifiers through real rounds.

    python -m benchmarks.network [--miners 1000] [--verifiers 1000] [--rounds 3] [--stress]

Real: Anvil mining a block every ``--block-time`` seconds with a 30M gas limit (transactions
wait for the next block, as on a live chain), js-ipfs, the PoGO contract, the miners' own loop
(workers.miner.Miner: commit, reveal, claim) and the verifier bots (verifier.bot.VerifierBot:
draw, check, commit and reveal votes, finalize, settle, close, aggregate) in a few processes
(threads inside each). Cheap: the miners' training. Each round, one short training run per
shard from the head (a tiny GPT) is shared by the miners of that shard; each adds its own
one-weight nudge, so every update has its own roots. A few bots are keepers (they draw
committees and close rounds) and run in a process of their own; the rest follow only the
seats they are drawn for.

``--stress`` injects faults while the rounds run: a bot process killed and restarted (in the
first round), the IPFS daemon restarted (the second), the chain node stopped and restarted
from its state file (the third; with fewer rounds, the last round takes the rest, half a vote
window apart), and 10 % of the miners cheating throughout (``--cheat-fraction``). It reports whether
rounds kept closing, whether any honest party lost stake, and the share of rounds that closed
on time.

Prints one JSON object per round, then a summary: gas and blocks per round (and the blocks a
30M gas limit needs), transactions per second sustained, votes per verifier per round, how
long each step took (the slowest named), and the first limit the design hits as it grows.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import multiprocessing as mp
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from eth_account import Account

ETH = 10**18
BLOCK_GAS_LIMIT = 30_000_000
KEY_SEED = b"pogo benchmarks.network"
SLASH_REASONS = ("None", "MinerBond", "Minority", "Liveness")  # IStaking.SlashReason, by index
TINY = {"block_size": 32, "n_layer": 1, "n_head": 2, "n_embd": 32, "vocab_size": 256, "dropout": 0.0}


def _say(message: str) -> None:
    print(f"benchmarks.network: {message}", file=sys.stderr, flush=True)


def key(i: int):
    """Participant i's key: derived, so every process derives the same accounts."""
    return Account.from_key(hashlib.sha256(KEY_SEED + i.to_bytes(4, "big")).digest())


@dataclass
class Setup:
    rpc: str
    ipfs: str
    address: str
    block: int
    task: int
    miners: list[int]          # key indices
    verifiers: list[int]
    cheaters: list[int]
    rounds: int
    workdir: str
    n_shards: int
    steps: int
    poll_s: float = 5.0     # between passes of the miners and of the seats-only bots


# -- set-up: stakes, registrations and the task ----------------------------------------------


def _in_threads(fn, items, threads: int = 32) -> list:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, items))


def setup(state, args, workdir: Path) -> Setup:
    from deploy.task import TaskDefinition, prepare, publish
    from pogo.model.gpt import GPTConfig
    from pogo.net import chain
    from pogo.net.contract import PoGOContract, TaskParams
    from pogo.net.ipfs import Ipfs
    from pogo.protocol.taskspec import Recipe, Verification

    w3 = chain.connect(state.rpc_url)
    owner = chain.Client(w3, chain.dev_account(0))
    pogo = PoGOContract.deploy(owner, unbonding_blocks=20, min_verifier_stake=ETH)
    n, v = args.miners, args.verifiers
    miners, verifiers = list(range(n)), list(range(n, n + v))
    for i in miners + verifiers:  # a dev chain's faucet: the accounts need gas and stake
        w3.provider.make_request("anvil_setBalance", [key(i).address, hex(100 * ETH)])
    started = time.perf_counter()

    def stake(i: int) -> None:
        signer = pogo.as_signer(chain.Client(w3, key(i)))
        if i < n:
            signer.stake(5 * ETH)
        else:
            signer.stake(10 * ETH)
            signer.register_verifier()

    _in_threads(stake, miners + verifiers)
    _say(f"staked {n} miners and registered {v} verifiers in {time.perf_counter() - started:.0f} s")
    d = TaskDefinition(model=GPTConfig(**TINY), n_shards=args.shards, leaf_size=1024,
                       recipe=Recipe(seq_len=32, steps=args.steps, batch_size=8, lr=3e-3))
    params = TaskParams(round_blocks=args.round_blocks, vote_blocks=args.vote_blocks,
                        committee_size=args.committee, miner_bond=ETH, round_reward=3 * ETH, verifier_fee=ETH // 100)
    task = publish(pogo, Ipfs(state.ipfs_api), prepare(d, Verification(availability_blocks=10)), params,
                   funding=10 * ETH * (args.rounds + 2))
    rng = np.random.default_rng(7)
    cheaters = sorted(rng.choice(miners, round(args.cheat_fraction * n), replace=False).tolist())
    # draws read the stake of the epoch's start: let the registrations' epoch begin
    epoch = pogo.epoch_blocks()
    while w3.eth.block_number % epoch:
        time.sleep(args.block_time / 2)
    return Setup(state.rpc_url, state.ipfs_api, pogo.address, 0, task, miners, verifiers, cheaters, args.rounds,
                 str(workdir), args.shards, args.steps, args.poll_seconds)


# -- the miners: the real loop, with training shared per shard ---------------------------------


class SharedTraining:
    """One short training run per (head, shard), shared by the miners of that shard."""

    def __init__(self, steps: int):
        self.steps, self.lock, self.cache = steps, threading.Lock(), {}

    def trained(self, prev: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, list[float]]:
        import torch

        from pogo.model import causal_lm, manifest
        from workers.trainer import train_plain

        k = (hashlib.sha256(prev.tobytes()).digest(), hashlib.sha256(tokens[:4096].tobytes()).digest())
        with self.lock:
            if k not in self.cache:
                torch.manual_seed(0)
                net = causal_lm.build({"arch": "pogo-gpt", "config": TINY})
                man = manifest.of_module(net)
                manifest.load_into(net, prev)
                losses = train_plain(net, tokens, self.steps, 8, seed=int.from_bytes(k[1][:4], "big"), lr=3e-3)
                self.cache = {kk: vv for kk, vv in self.cache.items() if kk[0] == k[0]}  # this head's only
                self.cache[k] = (manifest.flatten(net)[: man.n_params], losses)
            return self.cache[k]


class PrebuiltTrainer:
    """What workers.miner.run_job needs of a trainer; the result is the shared run plus this
    miner's own nudge of one weight (so its update, and its roots, are its own)."""

    def __init__(self, shared: SharedTraining, index: int):
        self.shared, self.index, self.prev = shared, index, None
        self._theta: np.ndarray | None = None

    def share_job(self, job):
        return job

    def load(self, theta: np.ndarray) -> None:
        self.prev = theta

    def train(self, tokens: np.ndarray, steps=None, progress=None) -> list[float]:
        theta, losses = self.shared.trained(self.prev, tokens)
        self._theta = theta.copy()
        # well above one 4-bit step of any group, so the diff differs (a shared diff would be a copy)
        self._theta[(self.index * 7919) % theta.size] += 0.05
        return losses

    def theta(self) -> np.ndarray:
        return self._theta


def _contract(s: Setup, account):
    from pogo.net import chain
    from pogo.net.contract import PoGOContract

    w3 = chain.connect(s.rpc)
    return PoGOContract.at(chain.Client(w3, account), chain.Deployment(w3.eth.chain_id, s.address, 0, s.rpc))


def _contexts(s: Setup, indices: list[int], role: str):
    """The task seen by each key of ``indices``, with its own cache and IPFS client (the threads
    of a process share nothing a request mutates), over one event log; and a contract to read with."""
    from dataclasses import replace

    from pogo.context import Context
    from pogo.net import chain
    from pogo.net.ipfs import Ipfs

    base = _contract(s, key(indices[0]))
    ctx = Context.open(base, Ipfs(s.ipfs), s.task, Path(s.workdir) / role / "base")
    return base, {i: replace(ctx.as_signer(base.as_signer(chain.Client(base.w3, key(i))),
                                           Path(s.workdir) / role / str(i)), ipfs=Ipfs(s.ipfs)) for i in indices}


def miners_main(s: Setup, indices: list[int], out: str) -> None:
    import torch

    from pogo.errors import raised_at
    from pogo.net.loop import TRANSIENT
    from workers import cheats
    from workers.miner import Miner, build_honest

    torch.set_num_threads(1)

    base, contexts = _contexts(s, indices, "miners")
    shared = SharedTraining(s.steps)
    said: dict[str, tuple[int, str]] = {}  # each miner's last progress line and its round: why it gave up
    miners = []
    for i, c in contexts.items():
        builder = functools.partial(cheats.vandal, seed=i) if i in s.cheaters else build_honest
        miner = Miner(c, PrebuiltTrainer(shared, i), builder)
        miner.progress = lambda line, m=miner: said.__setitem__(m.address, (m.state.round, line))
        miners.append(miner)
    # How each miner left each round: "revealed", or the phase it had reached (idle: not even
    # built) with its last words, so that a round where many did not submit says why.
    stats = {"errors": 0, "error_kinds": {}, "transient": 0, "left": {}, "why": {}, "pass_seconds": []}
    lock = threading.Lock()

    def step(m: Miner) -> None:
        before = (m.state.round, m.state.phase, m.state.submission_id, said.get(m.address))
        try:
            m.work()
            m.claim()
        except TRANSIENT:  # the chain or IPFS node restarting (stress): `pogo miner run` retries these too
            with lock:
                stats["transient"] += 1
        except Exception as exc:  # noqa: BLE001 - a bug: count it, keep the miner going
            with lock:
                stats["errors"] += 1
                kind = f"{exc.__class__.__name__} at {raised_at(exc)}"
                stats["error_kinds"][kind] = stats["error_kinds"].get(kind, 0) + 1
                if stats["errors"] <= 20:
                    _say(f"miner {m.address[:10]}: {exc.__class__.__name__}: {str(exc)[:200]}")
        if before[0] >= 0 and m.state.round != before[0]:
            left(m, *before)

    def left(m: Miner, round_: int, phase: str, sid: int, last: tuple[int, str] | None) -> None:
        """Count how the miner left the round, and its last line in that round."""
        how = "revealed" if sid else phase
        with lock:
            r = stats["left"].setdefault(str(round_), {})
            r[how] = r.get(how, 0) + 1
            if how != "revealed":
                why = stats["why"].setdefault(str(round_), {})
                words = re.sub(r"\d+", "N", last[1] if last and last[0] == round_ else "(nothing said)")[:120]
                why[words] = why.get(words, 0) + 1

    def finished() -> bool:
        try:
            return base.task(s.task).round >= s.rounds
        except Exception:  # noqa: BLE001 - the chain is restarting (stress): the miners wait, as `pogo miner run` does
            time.sleep(1)
            return False

    def save() -> None:
        with lock:
            Path(out).write_text(json.dumps(stats))

    with ThreadPoolExecutor(16) as pool:
        while not finished():
            start = time.perf_counter()
            list(pool.map(step, miners))
            stats["pass_seconds"].append(round(time.perf_counter() - start, 1))
            save()
            time.sleep(s.poll_s)
    for m in miners:  # the last round: no pass saw it end
        if 0 <= m.state.round < s.rounds:
            left(m, m.state.round, m.state.phase, m.state.submission_id, said.get(m.address))
    save()


# -- the verifier bots ---------------------------------------------------------------------------


def bots_main(s: Setup, indices: list[int], keepers: list[int], aggregator: int | None, out: str) -> None:
    import torch

    from pogo.errors import raised_at
    from pogo.net.loop import TRANSIENT
    from verifier.bot import VerifierBot

    torch.set_num_threads(1)  # the process's threads are its parallelism; torch's own would oversubscribe

    base, contexts = _contexts(s, indices, "bots")
    log = open(Path(out).with_suffix(".log"), "a")  # noqa: SIM115 - open for the process's life
    bots = []
    for i, c in contexts.items():
        bots.append(VerifierBot(c, lambda m, i=i: print(f"{time.time():.1f} v{i}: {m}", file=log, flush=True),
                                aggregator=(i == aggregator), keeper=(i in keepers),
                                keeper_slot=(keepers.index(i), len(keepers)) if i in keepers else (0, 1)))
    stats = {"polls": 0, "votes": 0, "check_seconds": 0.0, "check_cpu_seconds": 0.0, "errors": 0, "poll_failures": 0,
             "poll_errors": {}}
    lock = threading.Lock()

    def poll(bot: VerifierBot) -> None:
        try:
            votes = bot.poll()
        except TRANSIENT as exc:  # the chain unreachable: `pogo verifier run`'s loop backs off and retries
            with lock:
                stats["poll_failures"] += 1
            print(f"{time.time():.1f} {bot.address[:10]}: poll failed: {exc}", file=log, flush=True)
            return
        except Exception as exc:  # noqa: BLE001 - a bug outside a submission's handling: count it
            with lock:
                kind = f"{exc.__class__.__name__} at {raised_at(exc)}"
                stats["poll_errors"][kind] = stats["poll_errors"].get(kind, 0) + 1
            print(f"{time.time():.1f} {bot.address[:10]}: poll error {kind}: {exc}", file=log, flush=True)
            return
        with lock:
            stats["polls"] += 1
            stats["votes"] += len(votes)
            stats["check_seconds"] += sum(v.seconds for v in votes)
            stats["check_cpu_seconds"] += sum(v.cpu_seconds for v in votes)

    def save() -> None:
        kinds = sum((b.error_kinds for b in bots), Counter(stats["poll_errors"]))
        stats["errors"], stats["error_kinds"] = sum(kinds.values()), dict(kinds)
        stats["node_away"] = sum(b.node_away for b in bots)
        Path(out).write_text(json.dumps(stats))

    signal.signal(signal.SIGTERM, lambda *_: (save(), os._exit(0)))
    done = threading.Event()

    def own_loop(bot: VerifierBot) -> None:
        while not done.is_set():
            poll(bot)
            time.sleep(0.5)

    # Keepers and the aggregator poll in threads of their own: behind the seats' checks in one
    # shared pass they drew a committee every few seconds instead of one a block.
    movers = [b for b in bots if b.keeper or b.aggregator]
    threads = [threading.Thread(target=own_loop, args=(b,), daemon=True) for b in movers]
    for t in threads:
        t.start()
    seats_only = [b for b in bots if b not in movers]
    with ThreadPoolExecutor(16) as pool:
        while True:
            list(pool.map(poll, seats_only))
            save()
            try:
                task = base.task(s.task)
                if task.round >= s.rounds and task.open == 0:
                    break
            except Exception:  # noqa: BLE001 - the chain is restarting (stress): keep polling
                time.sleep(1)
            time.sleep(s.poll_s)
    done.set()
    for t in threads:
        t.join(timeout=60)
    save()


# -- the driver: processes, faults, measurements ---------------------------------------------------


@dataclass
class RoundRow:
    round: int
    seconds: float
    blocks: int
    txs: int
    gas: int
    blocks_needed_at_30m: int
    tps: float
    submissions: int
    accepted: int
    rejected: int
    outcomes: dict
    aggregated: bool
    votes: int
    votes_per_verifier: float
    on_time: bool
    draw_lag_blocks_max: int      # blocks from an update's reveal to its committee's draw (horizon: 256)
    steps_s: dict = field(default_factory=dict)
    fault: str = ""


def _spawn(target, *a) -> mp.Process:
    p = mp.get_context("spawn").Process(target=target, args=a, daemon=True)
    p.start()
    return p


def _round_row(w3, pogo, s: Setup, r: int, b0: int, b1: int, seconds: float, args, fault: str) -> RoundRow:
    """Gas, blocks and transactions of blocks (b0, b1], and the round's events."""
    gas = txs = 0
    stamps = {}
    for b in range(b0 + 1, b1 + 1):
        blk = w3.eth.get_block(b)
        gas += blk["gasUsed"]
        txs += len(blk["transactions"])
        stamps[b] = blk["timestamp"]
    ev = pogo.contract.events
    logs = {name: getattr(ev, name).get_logs(from_block=b0 + 1, to_block=b1)
            for name in ("UpdateCommitted", "UpdateSubmitted", "CommitteeDrawn", "VoteCast", "Finalized", "SeatSettled")}
    subs = [log["args"] for log in logs["UpdateSubmitted"]]
    updates = [a["submissionId"] for a in subs if a["kind"] == 0]
    aggregates = {a["submissionId"] for a in subs if a["kind"] == 1}
    statuses = [pogo.submission(sid).status.name for sid in updates]
    ups = set(updates)

    def span(name: str, keep=lambda log: True) -> tuple[int, int] | None:
        blocks = [log["blockNumber"] for log in logs[name] if keep(log)]
        return (min(blocks), max(blocks)) if blocks else None

    of_updates = lambda log: log["args"]["submissionId"] in ups
    of_aggregate = lambda log: log["args"]["submissionId"] in aggregates
    phases = {"commits": span("UpdateCommitted"), "reveals": span("UpdateSubmitted", of_updates),
              "draws": span("CommitteeDrawn", of_updates), "votes": span("VoteCast", of_updates),
              "finalizations": span("Finalized", of_updates), "aggregate_vote": span("VoteCast", of_aggregate),
              "settlements": span("SeatSettled")}
    # each step: from the round's start (or the step before it) to its last event, in seconds of block time
    steps = {k: round(float(stamps.get(v[1], 0) - stamps.get(v[0], 0)), 1) for k, v in phases.items() if v}
    votes = len(logs["VoteCast"])
    revealed = {log["args"]["submissionId"]: log["blockNumber"] for log in logs["UpdateSubmitted"]}
    lags = [log["blockNumber"] - revealed[log["args"]["submissionId"]] for log in logs["CommitteeDrawn"]
            if log["args"]["submissionId"] in ups]
    t = pogo.task(s.task).params
    deadline = t.round_blocks + t.vote_blocks + t.round_blocks  # commit + reveal windows, then the aggregation window
    return RoundRow(r, round(seconds, 1), b1 - b0, txs, gas, -(-gas // BLOCK_GAS_LIMIT), round(txs / max(seconds, 1e-9), 1),
                    len(updates), statuses.count("ACCEPTED"), statuses.count("REJECTED"),
                    {k: statuses.count(k) for k in sorted(set(statuses))},
                    any(a["kind"] == 1 for a in subs), votes, round(votes / len(s.verifiers), 2),
                    b1 - b0 <= deadline + 2 * t.vote_blocks, max(lags, default=0), steps, fault)


# One leaf's rebuild in a fraud proof against an aggregate of k updates (benchmarks.gas,
# aggregate_leaf_rebuild_k*, L = 4096; PROTOCOL.md D11): 12.9M gas at k = 2 and 27.2M at k = 7,
# about 2.9M a source; a whole proof adds about 0.35M.
AGGREGATE_PROOF_GAS_BASE, AGGREGATE_PROOF_GAS_PER_SOURCE = 7.1e6 + 0.35e6, 2.9e6


def _limits(args, rows: list[RoundRow], setup_: Setup, bot_stats: list[dict]) -> dict:
    """Where growth stops first, from today's figures: the aggregate's fraud proof against one
    block, the gas of a round against the chain's throughput, the bots' checking time."""
    gas = max(r.gas for r in rows) if rows else 0
    per_submission = gas / max(1, max(r.submissions for r in rows)) if rows else 0
    provable = int((BLOCK_GAS_LIMIT - AGGREGATE_PROOF_GAS_BASE) // AGGREGATE_PROOF_GAS_PER_SOURCE)
    seats = sum(b.get("votes", 0) for b in bot_stats)
    check_s = sum(b.get("check_seconds", 0.0) for b in bot_stats)
    check_cpu = sum(b.get("check_cpu_seconds", 0.0) for b in bot_stats)
    n = args.miners
    return {
        "gas_per_submission": round(per_submission),
        "submissions_per_30m_block": round(BLOCK_GAS_LIMIT / per_submission, 1) if per_submission else None,
        "full_30m_blocks_per_round_at_this_size": round(n * per_submission / BLOCK_GAS_LIMIT, 1),
        "aggregate_fraud_proof_max_sources": provable,
        "seat_check_seconds_mean": round(check_s / seats, 3) if seats else None,
        "seat_check_cpu_seconds_mean": round(check_cpu / seats, 3) if seats else None,
        "first_limit": (f"the aggregate's leaf fraud proof: a round with more than {provable} accepted updates "
                        "averages them into an aggregate whose wrong leaf no longer fits one 30M-gas block, so "
                        "it rests on the committee's full check alone" if n > provable else
                        "gas: every submission costs the chain the figure above"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--miners", type=int, default=1000)
    parser.add_argument("--verifiers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--committee", type=int, default=4, help="seats per submission (3f + 1)")
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20, help="training steps of each shard's shared run")
    parser.add_argument("--block-time", type=int, default=1, help="seconds between blocks")
    parser.add_argument("--round-blocks", type=int, default=60, help="the commit window, in blocks")
    parser.add_argument("--vote-blocks", type=int, default=60, help="each vote window, in blocks")
    parser.add_argument("--poll-seconds", type=float, default=5.0,
                        help="pause between passes of the miners and of the seats-only bots (keepers: 0.5 s)")
    parser.add_argument("--miner-processes", type=int, default=2)
    parser.add_argument("--bot-processes", type=int, default=4, help="processes of seats-only bots")
    parser.add_argument("--keepers", type=int, default=4,
                        help="bots that draw committees (sharing them by id) and close rounds, in a process of their own")
    parser.add_argument("--cheat-fraction", type=float, default=None, help="share of cheating miners (stress: 0.1)")
    parser.add_argument("--stress", action="store_true", help="inject faults: bot, IPFS and chain restarts")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--state-dir", type=Path, help="keep the run's state here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.cheat_fraction is None:
        args.cheat_fraction = 0.1 if args.stress else 0.0
    if min(args.miners, args.verifiers, args.rounds, args.keepers, args.bot_processes) < 1 \
            or args.verifiers < max(args.committee, args.keepers + 1):
        print("benchmarks.network: need miners, rounds, keepers, bot processes >= 1 and verifiers >= --committee "
              "and > --keepers", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        return _run(args, Path(args.state_dir or tmp).resolve())


def _run(args, workdir: Path) -> int:
    from pogo.dev.devnet import Devnet
    from pogo.net import chain

    workdir.mkdir(parents=True, exist_ok=True)
    devnet = Devnet(workdir / "devnet", progress=_say)
    # anvil writes its state as it stops (the stress restart's SIGTERM); at 1,000 nodes the file
    # was 22 MB five minutes in, rewritten every 2 s by default
    state = devnet.up(block_time=args.block_time, interval_only=True, state_interval_s=60)
    try:
        s = setup(state, args, workdir)
        w3 = chain.connect(s.rpc)
        pogo = _contract(s, chain.dev_account(0))
        stakes0 = {i: pogo.account(key(i).address)["stake"] for i in s.miners + s.verifiers}
        out = workdir / "out"
        out.mkdir(exist_ok=True)
        mchunks = np.array_split(np.array(s.miners), args.miner_processes)
        # The keepers (and the aggregator, keepers[0]) run in a process of their own, as they would
        # on their own machine: threads beside 250 seats-only bots shared one GIL with them and
        # drew about 2 committees a block between 8 keepers; process 0 holds them.
        keepers = s.verifiers[: args.keepers]
        bchunks = [keepers] + [c.tolist() for c in np.array_split(np.array(s.verifiers[args.keepers:]),
                                                                   args.bot_processes) if len(c)]
        procs = [_spawn(miners_main, s, c.tolist(), str(out / f"miners-{k}.json")) for k, c in enumerate(mchunks)]
        bots = {k: _spawn(bots_main, s, c, keepers, keepers[0] if k == 0 else None, str(out / f"bots-{k}.json"))
                for k, c in enumerate(bchunks)}
        rows: list[RoundRow] = []
        r, b0, t0 = pogo.task(s.task).round, w3.eth.block_number, time.perf_counter()
        faults = {1: "bot process killed and restarted", 2: "IPFS daemon restarted",
                  3: "chain node killed and restarted from its state"} if args.stress else {}
        p = pogo.task(s.task).params
        # fault k in round k (the last round takes the rest, spaced by half a vote window):
        # round -> [(blocks into the round, fault)]
        schedule: dict[int, list[tuple[int, int]]] = {}
        for k in faults:
            at = schedule.setdefault(min(k, s.rounds) - 1, [])
            at.append((p.round_blocks // 2 + len(at) * (p.vote_blocks // 2), k))
        injected: dict[int, list[str]] = {}
        round_bound = 2 * p.round_blocks + 3 * p.vote_blocks  # the windows a round may use, aggregation included
        stalled_after = 4 * round_bound * args.block_time  # seconds: a round this late has stopped
        while r < s.rounds and time.perf_counter() - t0 < stalled_after:
            time.sleep(2)
            try:
                now_round = pogo.task(s.task).round
                block = w3.eth.block_number
            except Exception as exc:  # noqa: BLE001 - the chain is restarting
                _say(f"chain unreachable ({exc.__class__.__name__}); waiting")
                continue
            due = [k for at, k in schedule.get(r, []) if block > b0 + at and faults[k] not in injected.get(r, [])]
            if due:
                injected.setdefault(r, []).append(faults[due[0]])
                _say(f"round {r}: injecting: {faults[due[0]]}")
                _inject(due[0], devnet, bots, bchunks, s, keepers, out, args)
            if now_round > r:
                b1 = block
                rows.append(_round_row(w3, pogo, s, r, b0, b1, time.perf_counter() - t0, args,
                                       "; ".join(injected.get(r, []))))
                print(json.dumps(asdict(rows[-1])), flush=True)
                r, b0, t0 = now_round, b1, time.perf_counter()
        for p in [*procs, *bots.values()]:
            p.join(timeout=120)
            if p.is_alive():
                p.terminate()
        bot_stats = [json.loads(f.read_text()) for f in sorted(out.glob("bots-*.json"))]
        miner_stats = [json.loads(f.read_text()) for f in sorted(out.glob("miners-*.json"))]
        stakes1 = {i: pogo.account(key(i).address)["stake"] for i in s.miners + s.verifiers}
        who = {key(i).address: ("cheater" if i in s.cheaters else "miner" if i in s.miners else "verifier")
               for i in s.miners + s.verifiers}
        slashes: dict[str, int] = {}
        for log in pogo.contract.events.Slashed.get_logs(from_block=0):
            k = f"{who.get(log['args']['account'], 'other')}:{SLASH_REASONS[log['args']['why']]}"
            slashes[k] = slashes.get(k, 0) + 1
        honest = [i for i in s.miners + s.verifiers if i not in s.cheaters]
        summary = {
            "miners": args.miners, "verifiers": args.verifiers, "committee": args.committee, "rounds": len(rows),
            "block_time_s": args.block_time, "block_gas_limit": BLOCK_GAS_LIMIT, "stress": args.stress,
            "cheaters": len(s.cheaters),
            "gas_per_round": round(np.mean([x.gas for x in rows])) if rows else None,
            "blocks_per_round": round(np.mean([x.blocks for x in rows]), 1) if rows else None,
            "blocks_needed_at_30m_per_round": max(x.blocks_needed_at_30m for x in rows) if rows else None,
            "tps_sustained": round(np.mean([x.tps for x in rows]), 1) if rows else None,
            "votes_per_verifier_per_round": round(np.mean([x.votes_per_verifier for x in rows]), 2) if rows else None,
            "slowest_step": _slowest(rows),
            "draw_lag_blocks_max": max((x.draw_lag_blocks_max for x in rows), default=None),
            "expired": sum(x.outcomes.get("EXPIRED", 0) for x in rows),
            "rounds_closed": len(rows), "rounds_on_time": sum(x.on_time for x in rows),
            "on_time_fraction": round(sum(x.on_time for x in rows) / len(rows), 3) if rows else 0.0,
            "honest_lost_stake": sum(1 for i in honest if stakes1[i] < stakes0[i]),
            "cheaters_slashed": sum(1 for i in s.cheaters if stakes1[i] < stakes0[i]),
            "slashes": slashes,
            "bot_errors": sum(b.get("errors", 0) for b in bot_stats),
            "bot_error_kinds": dict(sum((Counter(b.get("error_kinds", {})) for b in bot_stats), Counter())),
            "bot_node_away_retries": sum(b.get("node_away", 0) for b in bot_stats),
            "bot_poll_failures": sum(b.get("poll_failures", 0) for b in bot_stats),
            "miner_errors": sum(m.get("errors", 0) for m in miner_stats),
            "miner_transient_faults": sum(m.get("transient", 0) for m in miner_stats),
            "miner_error_kinds": dict(sum((Counter(m.get("error_kinds", {})) for m in miner_stats), Counter())),
            "miners_left_round": _merged(m.get("left", {}) for m in miner_stats),
            "why_not_revealed": _merged(m.get("why", {}) for m in miner_stats),
            "miner_pass_seconds_max": max((max(m["pass_seconds"], default=0) for m in miner_stats), default=None),
            "limits": _limits(args, rows, s, bot_stats),
        }
        print(json.dumps(summary), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"rounds": [asdict(x) for x in rows], "summary": summary}, indent=2))
        return 0 if rows and summary["honest_lost_stake"] == 0 else 1
    finally:
        devnet.down()


def _merged(parts) -> dict:
    """{round: {key: count}} summed over the miner processes."""
    out: dict[str, dict[str, int]] = {}
    for part in parts:
        for r, counts in part.items():
            row = out.setdefault(r, {})
            for k, n in counts.items():
                row[k] = row.get(k, 0) + n
    return out


def _slowest(rows: list[RoundRow]) -> dict | None:
    totals: dict[str, float] = {}
    for row in rows:
        for k, v in row.steps_s.items():
            totals[k] = totals.get(k, 0.0) + v
    if not totals:
        return None
    name = max(totals, key=totals.get)
    return {"events": name, "mean_seconds": round(totals[name] / len(rows), 1)}


def _inject(n: int, devnet, bots: dict, bchunks: list, s: Setup, keepers: list[int], out: Path, args) -> None:
    """Fault n of the stress run."""
    import subprocess

    state = devnet.load()
    if n == 1:  # a bot process (not the aggregator's) dies without warning and comes back
        k = len(bots) - 1
        os.kill(bots[k].pid, signal.SIGKILL)
        bots[k].join()
        time.sleep(10)
        bots[k] = _spawn(bots_main, s, bchunks[k], keepers, None, str(out / f"bots-{k}.json"))
    elif n == 2:  # the IPFS daemon stops and starts again on the same port and repository
        os.killpg(state.ipfs.pid, signal.SIGTERM)
        time.sleep(5)
        devnet.up(block_time=args.block_time, interval_only=True, state_interval_s=60)
    elif n == 3:  # the chain node stops; it restarts from the state file it wrote
        os.killpg(state.anvil.pid, signal.SIGTERM)  # anvil writes its state as it stops
        subprocess.run(["sleep", "5"], check=False)
        devnet.up(block_time=args.block_time, interval_only=True, state_interval_s=60)


if __name__ == "__main__":
    sys.exit(main())
