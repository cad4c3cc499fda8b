"""Miners and verifiers end to end on the real chain, IPFS and DeepSpeed: an honest round with
aggregation, every cheat of PROTOCOL.md section 6 caught with its reason code (faults slashed,
judgments only refused), crash recovery of both roles, and bots that survive hostile input."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from deploy import scenario
from deploy.scenario import ETH
from deploy.task import publish_task
from pogo.context import Context
from pogo.errors import FormatError
from pogo.model import manifest, quantize
from pogo.model.gpt import GPTConfig
from pogo.model.loss import window_losses
from pogo.net.contract import PoGOContract, Status, TaskParams
from pogo.net.ipfs import Ipfs
from pogo.protocol import aggregate, checkpoint, difffile, judgment, seedstream
from pogo.protocol.source import BytesSource
from pogo.protocol.taskspec import Verification
from verifier.bot import VerifierBot
from workers import cheats
from workers.miner import (
    RESIDUAL_DECAY,
    Built,
    Miner,
    build_honest,
    residual_path,
    run_job,
)
from workers.trainer import TrainConfig, Trainer

TINY = GPTConfig(block_size=32, n_layer=1, n_head=2, n_embd=32)
LEAF = 1024
CHEATS = ["random", "vandal", "zero", "replayed", "copied", "wrong_root", "stale_base", "withheld", "bad_scales",
          "non_finite", "wrong_leaf"]
EXPECTED = {"random": "NO_PROGRESS", "vandal": "HARMFUL", "zero": "NO_PROGRESS", "replayed": "STALE_BASE", "copied": "MALFORMED",
            "wrong_root": "ROOT_MISMATCH", "stale_base": "STALE_BASE", "withheld": "DATA_UNAVAILABLE",
            "bad_scales": "MALFORMED", "non_finite": "NON_FINITE", "wrong_leaf": None}  # None: proved, no vote
JUDGMENTS = {"random", "zero"}  # refused, not slashed: the bond comes back less the evaluation fee


class CountingTrainer:
    """The real trainer, counting its training runs (to prove a resumed miner does not retrain)."""

    def __init__(self, trainer: Trainer):
        self.trainer, self.runs = trainer, 0

    def share_job(self, job):
        return self.trainer.share_job(job)

    def load(self, theta):
        self.trainer.load(theta)

    def theta(self):
        return self.trainer.theta()

    def train(self, tokens, steps=None, progress=None):
        self.runs += 1
        return self.trainer.train(tokens, steps, progress)


@pytest.fixture(scope="module")
def net(w3, devnet, tmp_path_factory):
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    sc = scenario.build(w3, n_miners=14, n_verifiers=4,
                        pogo=PoGOContract.deploy(scenario.chain.Client(w3, scenario.chain.dev_account(0))))
    ipfs = Ipfs(devnet.ipfs_api)
    params = TaskParams(round_blocks=60, vote_blocks=200, verifier_bond=ETH // 10)  # 11 open seats at once
    verification = Verification(fetch_timeout_s=2.0, availability_blocks=4)
    task = publish_task(sc.pogo, ipfs, params, model_cfg=TINY, n_shards=4, leaf_size=LEAF,
                        verification=verification, funding=30 * ETH)
    root = tmp_path_factory.mktemp("roles")
    ctx = Context.open(sc.pogo, ipfs, task, root / "owner")
    trainer = Trainer(TINY, TrainConfig(steps=8, batch_size=8, lr=3e-3))
    bots = [VerifierBot(ctx.as_signer(sc.as_(v), root / f"v{i}"), aggregator=(i == 0)) for i, v in enumerate(sc.verifiers)]
    yield {"sc": sc, "ctx": ctx, "task": task, "trainer": trainer, "bots": bots, "root": root, "ipfs": ipfs}
    w3.provider.make_request("evm_revert", [snap])


def miner(net, index: int, builder=build_honest, trainer=None) -> Miner:
    sc = net["sc"]
    return Miner(net["ctx"].as_signer(sc.as_(sc.miners[index]), net["root"] / f"m{index}"),
                 trainer or net["trainer"], builder)


def drive(net, until_round: int) -> list:
    return net["sc"].drive(net["bots"], net["task"], until_round)


def unhelpful_noise(net, index: int):
    """cheats.random_update with the first seed whose noise does not help. On this toy model a
    random step is a lottery (see its docstring): with the head and shard that the suite's order
    happens to produce, some noise lowers the loss measurably, and the verifiers rightly pay it.
    This cheat must show that noise which does not help is refused and not slashed, so it keeps
    the first seed that the judgment itself refuses on 512 windows of the miner's shard
    (NO_PROGRESS), with its mean gain below minus twice the threshold, so that the verifiers'
    other windows refuse it too, and above minus half the harm margin (not a fault)."""
    sc, ctx = net["sc"], net["ctx"]
    rules = ctx.spec.verification.rules()
    block = ctx.spec.recipe.seq_len
    models = ctx.build_model(), ctx.build_model()

    def build(prev_padded, raw, prev_root, leaf, groups=0):
        round_ = sc.pogo.task(net["task"]).round
        tokens = ctx.shard(seedstream.shard_of(net["task"], round_, sc.miners[index].address, ctx.spec.n_shards))
        at = np.random.default_rng(index).integers(0, len(tokens) - block - 1, 512).tolist()
        manifest.load_into(models[0], prev_padded)
        before = window_losses(models[0], tokens, at, block)
        tried = []
        for seed in range(16):
            built = cheats.random_update(prev_padded, raw, prev_root, leaf, groups, seed=seed)
            manifest.load_into(models[1], quantize.rebuild(prev_padded, difffile.read(BytesSource(built.diff))))
            ev = judgment.Evidence.paired(before, window_losses(models[1], tokens, at, block))
            tried.append(f"{ev.mean:.0f} ± {ev.se:.0f}")
            if judgment.judge_gain(ev, rules, last_look=True) == judgment.NO_PROGRESS \
                    and -rules.harm_margin / 2 < ev.mean < -2 * rules.threshold:
                return built
        raise AssertionError(f"no noise among 16 seeds neither helps nor harms: gains {tried} micro-nats")
    return build


def open_round(net) -> None:
    """Drive the task into a fresh round whose commit window is open: the tests share one chain,
    and a test that revealed an update has closed its round's commit window."""
    sc = net["sc"]
    t = sc.pogo.task(net["task"])
    if t.aggregating or t.open or sc.block() + 10 >= t.round_start + t.params.round_blocks:
        drive(net, t.round + 1)


def built_from(m: Miner, round_: int) -> Built:
    d = m.ctx.workdir / f"round-{round_}"
    r = m.state.roots if m.state.round == round_ else None
    header = difffile.decode_header((d / "diff").read_bytes())
    assert r is None or r["new"] == header.new_root.hex()
    return Built((d / "diff").read_bytes(), (d / "tree").read_bytes(), header.prev_root, header.new_root,
                 header.diff_root)


def test_honest_round_with_aggregation_then_every_cheat_is_caught(net):
    sc, ctx = net["sc"], net["ctx"]
    prev_root = ctx.head_root()
    prev = ctx.model(prev_root)

    # Round 0: two honest miners; both accepted, so the round waits for an aggregate.
    honest = [miner(net, 0), miner(net, 1)]
    sids = [r.submission_id for r in sc.work(honest, net["task"])]
    votes = drive(net, until_round=1)
    assert all(sc.pogo.submission(s).status == Status.ACCEPTED for s in sids)
    assert {v.verdict.reason.name for v in votes} == {"OK"}
    for sid in sids:  # one measurement per submission: every seat reports the same gain
        assert len({v.verdict.improvement for v in votes if v.submission_id == sid}) == 1
    # the keepers' topic-only read (EventLog.revealed) names what the decoded logs name, this task's only
    assert ctx.log.revealed(net["task"], 0) == [(p.submission_id, p.block) for p in ctx.log.submissions(net["task"], 0)]
    assert len(ctx.log.revealed(net["task"], 0)) == 3 and ctx.log.revealed(net["task"] + 1, 0) == []  # + the aggregate
    diffs = [difffile.read(BytesSource((m.ctx.workdir / "round-0" / "diff").read_bytes())) for m in honest]
    assert ctx.head_root() == checkpoint.model_root(aggregate.aggregate(prev, diffs), LEAF)
    gains = [sc.pogo.submission(s).improvement for s in sids]
    claimed = [m.claim() for m in honest]
    assert claimed == [3 * ETH * g // sum(gains) for g in gains]  # pro rata to the median improvement

    # Round 1: an honest miner and one miner for every cheat.
    old_head = prev_root
    first = miner(net, 2)
    assert first.work() is None  # committed; its reveal comes with the cheaters'
    builders = {
        "random": unhelpful_noise(net, 3 + CHEATS.index("random")), "vandal": cheats.vandal, "zero": cheats.zero_update,
        "replayed": cheats.Replay(built_from(honest[0], 0)),
        "copied": cheats.Copy(built_from(first, 1)),
        "wrong_root": cheats.wrong_root,
        "stale_base": lambda p, raw, root, leaf, groups=0: build_honest(ctx.model(old_head), raw, old_head, leaf, groups),
        "withheld": cheats.withheld, "bad_scales": cheats.bad_scales, "non_finite": cheats.non_finite,
        "wrong_leaf": cheats.wrong_leaf,
    }
    cheaters = {name: miner(net, 3 + i, builders[name]) for i, name in enumerate(CHEATS)}
    reports = sc.work([first, *cheaters.values()], net["task"])
    first_report = reports[0]
    cheat_sids = {name: r.submission_id for name, r in zip(cheaters, reports[1:])}
    votes = drive(net, until_round=2)
    assert sc.pogo.submission(first_report.submission_id).status == Status.ACCEPTED
    for name, sid in cheat_sids.items():
        reasons = {v.verdict.reason.name for v in votes if v.submission_id == sid}
        if EXPECTED[name] is None:  # the first bot to check it filed a leaf fraud proof instead of voting
            provers = [bot for bot in net["bots"] if sid in bot.state.proved]
            assert not reasons and len(provers) == 1 and sc.pogo.submission(sid).fraud, name
            assert sc.pogo.withdrawable(provers[0].address) >= ETH // 2  # the bounty: the bond less the pool's half
        else:
            assert reasons == {EXPECTED[name]}, (name, [v.verdict for v in votes if v.submission_id == sid])
        stake = sc.pogo.account(cheaters[name].address)["stake"]
        if name in JUDGMENTS:
            assert sc.pogo.submission(sid).status == Status.NOT_ACCEPTED, name
            assert stake == 5 * ETH - TaskParams().eval_fee, name
        else:
            assert sc.pogo.submission(sid).status == Status.REJECTED, name
            # a committee rejection takes half the bond; a proven fraud forfeits all of it
            assert stake == 5 * ETH - (ETH if EXPECTED[name] is None else ETH // 2), name
    assert all(bot.errors == 0 for bot in net["bots"])
    assert sc.pogo.accounted_balance() == sc.pogo.balance()


def test_a_miner_killed_mid_round_resumes_without_retraining(net, monkeypatch):
    sc = net["sc"]
    counting = CountingTrainer(net["trainer"])
    m = miner(net, 10, trainer=counting)
    real_commit = PoGOContract.commit_update

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    # Killed as the commitment was to leave: the salt is on disk, the commitment is not on chain.
    monkeypatch.setattr(PoGOContract, "commit_update", crash)
    with pytest.raises(KeyboardInterrupt):
        m.work()
    assert m.state.phase == "committing" and counting.runs == 1
    monkeypatch.setattr(PoGOContract, "commit_update", real_commit)
    resumed = miner(net, 10, trainer=counting)  # a fresh process: state comes from disk
    assert resumed.work() is None and resumed.state.phase == "committed"  # committed now, not retrained
    # Killed again after its commitment went out: the restarted miner reveals with the same salt.
    again = miner(net, 10, trainer=counting)
    sc.to_reveals(net["task"])
    report = again.work()
    assert counting.runs == 1 and report.submission_id > 0
    assert again.work() is None  # submitted: nothing more this round
    assert sc.pogo.submission(report.submission_id).new_root.hex() == resumed.state.roots["new"]
    assert again.claim() == 0 and again.state.unclaimed == [report.submission_id]  # followed until its reward is settled

    # Killed after the reveal landed, before it was recorded: the chain answers AlreadySubmitted.
    # The miner gives the round up, carries its residual forward, and finds the update (whose id
    # it never learnt) with one scan on its next claim.
    path = again.state_path
    path.write_text(json.dumps(json.loads(path.read_text()) | {"phase": "committed", "unclaimed": []}))
    residual_path(again.ctx).unlink(missing_ok=True)
    hidden = miner(net, 10, trainer=counting)
    assert hidden.work() is None and hidden.state.phase == "submitted" and hidden.state.unclaimed is None
    made = hidden.ctx.workdir / f"round-{hidden.state.round}" / "residual.npy"
    assert not made.exists() or residual_path(hidden.ctx).read_bytes() == made.read_bytes()
    assert hidden.claim() == 0 and hidden.state.unclaimed == [report.submission_id]  # undecided: kept


def test_a_restarted_verifier_does_not_vote_twice(net):
    sc = net["sc"]
    open_round(net)
    m = miner(net, 9)
    report = sc.work([m], net["task"])[0]
    sc.ready_to_draw(report.submission_id)
    bot = net["bots"][1]
    # Each of the bot's transactions mines a block on Anvil: its first poll may vote on an
    # earlier update and land the chain on an epoch's first block, where no draw happens.
    votes = []
    for _ in range(3):
        votes += bot.poll()
        sc.mine(1)
    assert any(v.submission_id == report.submission_id for v in votes)
    again = VerifierBot(bot.ctx)  # a restarted process: the same workdir, so the same state file
    assert str(report.submission_id) in again.state.voted
    assert all(v.submission_id != report.submission_id for v in again.poll())
    # It reveals the vote it committed to, with the salt from its state file.
    sc.to_vote_reveals(report.submission_id)
    again.poll()
    seat = sc.pogo.seat_of(report.submission_id, again.address)
    assert sc.pogo.contract.functions.votes(report.submission_id, seat).call()[1]  # revealed


def test_a_stopped_verifier_settles_its_seats_from_the_command_line(net, devnet, tmp_path):
    """`pogo verifier claim`: a verifier whose bot stopped after the draw settles its seat by hand
    (its seat bond comes free); a second claim finds nothing to do."""
    import subprocess
    import sys

    sc = net["sc"]
    open_round(net)
    sid = sc.work([miner(net, 7)], net["task"])[0].submission_id
    members, _ = sc.draw(sid)
    stopped = next(b for b in net["bots"][1:] if b.address in members)  # seated, and not the aggregator
    sc.drive([b for b in net["bots"] if b is not stopped], net["task"], sc.pogo.task(net["task"]).round + 1)
    seat = sc.pogo.seat_of(sid, stopped.address)
    assert seat is not None and not sc.pogo.vote(sid, seat).settled
    assert sc.pogo.account(stopped.address)["open_seats"] >= 1
    record = tmp_path / "deployment.json"
    record.write_text(json.dumps({"chain_id": sc.w3.eth.chain_id, "address": sc.pogo.address, "block": 0,
                                  "rpc_url": devnet.rpc_url}))
    index = 1 + len(sc.miners) + sc.verifiers.index(next(v for v in sc.verifiers if v.address == stopped.address))

    def claim() -> dict:
        r = subprocess.run([sys.executable, "-m", "pogo", "verifier", "claim", "--task", str(net["task"]),
                            "--rpc", devnet.rpc_url, "--ipfs", devnet.ipfs_api, "--deployment", str(record),
                            "--dev-account", str(index), "--workdir", str(tmp_path / "claim")],
                           capture_output=True, text=True, timeout=300, check=False)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)
    first = claim()
    assert sid in first["settled"] and sc.pogo.vote(sid, seat).settled
    assert first["slashed_eth"] == "0"  # it did not vote on a decided update: neither paid nor slashed
    assert claim()["settled"] == []


def test_anyone_proves_a_wrong_leaf_from_the_command_line(net, devnet, tmp_path):
    """`pogo prove-fraud`: the owner, on no committee, rejects a wrong update by hand and takes the
    bounty; on an honest update it says there is nothing to prove, in one line."""
    import subprocess
    import sys

    sc = net["sc"]
    open_round(net)
    wrong, honest = sc.work([miner(net, 13, cheats.wrong_leaf), miner(net, 12)], net["task"])
    record = tmp_path / "deployment.json"
    chain_id = sc.w3.eth.chain_id
    record.write_text(json.dumps({"chain_id": chain_id, "address": sc.pogo.address, "block": 0,
                                  "rpc_url": devnet.rpc_url}))

    def prove(sid: int) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pogo", "prove-fraud", str(sid), "--rpc", devnet.rpc_url,
                               "--ipfs", devnet.ipfs_api, "--deployment", str(record), "--dev-account", "0",
                               "--workdir", str(tmp_path / "prover")],
                              capture_output=True, text=True, timeout=300, check=False)

    before = sc.pogo.withdrawable(sc.owner.address)
    r = prove(wrong.submission_id)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kind"] == "MISMATCH" and out["bounty_eth"] == 0.5 and out["miner_slashed_eth"] == 1.0
    assert sc.pogo.submission(wrong.submission_id).status == Status.REJECTED
    assert sc.pogo.withdrawable(sc.owner.address) == before + ETH // 2
    r = prove(honest.submission_id)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].endswith("there is no fraud to prove")  # after its progress lines
    r = prove(10**6)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "UnknownSubmission" in r.stderr
    drive(net, sc.pogo.task(net["task"]).round + 1)
    assert all(bot.errors == 0 for bot in net["bots"])
    head = sc.pogo.task(net["task"]).head_root
    stale = [i for i in range(1, sc.pogo.contract.functions.submissionCount().call() + 1)
             if net["ctx"].log.submission(i).prev_root != head]  # built on a head its round has replaced
    assert stale, "no round of this module moved the head"
    r = prove(stale[-1])
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].endswith("the time for a fraud proof")


def test_bad_cli_input_is_one_line(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "pogo", "miner", "run", "--task", "1", "--rpc", "http://127.0.0.1:9",
                        "--ipfs", "/ip4/127.0.0.1/tcp/9/http", "--dev-account", "1"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "no Ethereum node" in r.stderr
    r = subprocess.run([sys.executable, "-m", "pogo", "miner", "run", "--task", "1", "--bf16", "--dev-account", "1"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "pogo: bf16 needs ZeRO stage 1, 2 or 3 (--zero-stage): its fp32 master weights are what the miner commits"]
    r = subprocess.run([sys.executable, "-m", "pogo", "miner", "run", "--task", "1", "--offload", "--dev-account", "1"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "pogo: offload needs ZeRO stage 1, 2 or 3 (--zero-stage): ZeRO is what moves the state"]
    r = subprocess.run([sys.executable, "-m", "pogo", "miner", "run", "--task", "1", "--residual-decay", "1.5",
                        "--dev-account", "1"], capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "pogo: --residual-decay is a share from 0 to 1, not 1.5"]


def test_the_miner_cli_carries_the_residual_decay_workers_miner_defaults_to():
    """`pogo miner run` writes its default out (its --help imports no torch): this keeps the two in step."""
    import argparse
    import subprocess
    import sys

    from workers.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["miner", "run", "--task", "1"]).residual_decay == RESIDUAL_DECAY
    shown = subprocess.run([sys.executable, "-m", "pogo", "miner", "run", "--help"], capture_output=True, text=True,
                           check=True).stdout
    assert f"(default {RESIDUAL_DECAY}," in " ".join(shown.split())


def test_a_data_parallel_miner_under_the_launcher_submits_once(net, w3, devnet, tmp_path):
    """Two ranks (gloo on CPU, nccl on GPUs): both train, rank 0 alone publishes and submits."""
    import os
    import subprocess
    import sys

    from pogo.net import chain
    from pogo.net.ports import free_port

    sc = net["sc"]
    open_round(net)
    deployment = tmp_path / "deployment.json"
    chain.Deployment(w3.eth.chain_id, sc.pogo.address, 0, devnet.rpc_url).save(deployment)
    before = sc.pogo.contract.functions.submissionCount().call()
    port = str(free_port())
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=port)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "pogo", "miner", "run", "--task", str(net["task"]), "--rounds", "1",
             "--steps", "4", "--rpc", devnet.rpc_url, "--ipfs", devnet.ipfs_api, "--dev-account", "9",
             "--deployment", str(deployment), "--workdir", str(tmp_path / f"rank{rank}"), "--interval", "0.2"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    # Anvil mines only when sent a transaction: once rank 0 has committed, time moves on to the
    # reveal window, as it would on a live chain.
    round_ = sc.pogo.task(net["task"]).round
    committed = sc.pogo.contract.events.UpdateCommitted
    stop = threading.Event()

    def clock():
        while not stop.wait(0.2):
            if committed.get_logs(from_block=0, argument_filters={"taskId": net["task"], "round": round_,
                                                                  "miner": sc.miners[8].address}):
                sc.to_reveals(net["task"])
                return

    ticker = threading.Thread(target=clock, daemon=True)
    ticker.start()
    try:
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        stop.set()
        ticker.join(timeout=10)
    assert [p.returncode for p in procs] == [0, 0], outs[0][1][-2000:] + outs[1][1][-2000:]
    assert sc.pogo.contract.functions.submissionCount().call() == before + 1
    reports = [[json.loads(line) for line in out.splitlines() if line.startswith("{")] for out, _ in outs]
    assert len(reports[0]) == 1 and reports[1] == []  # rank 1 trained but reported and submitted nothing
    assert sc.pogo.submission(reports[0][0]["submission_id"]).miner == sc.miners[8].address


def test_a_bot_back_after_the_seed_horizon_expires_the_submission(net):
    sc = net["sc"]
    open_round(net)
    report = sc.work([miner(net, 7)], net["task"])[0]
    sc.mine(300)  # every bot was down for longer than blockhash() reaches
    votes = net["bots"][2].poll()
    assert all(v.submission_id != report.submission_id for v in votes)
    s = sc.pogo.submission(report.submission_id)
    assert s.status == Status.EXPIRED and s.seats == 0
    assert sc.pogo.account(sc.miners[7].address)["locked"] == 0


def test_seats_only_bots_need_only_keepers(net):
    """A large network runs a few keepers; every other bot follows only its own seats (found in
    the CommitteeDrawn events) and never draws or closes. Two keepers sharing the draws by
    submission id and two seats-only bots carry a round with aggregation to its close."""
    from verifier.bot import DRAW_DELAY, DRAW_GRACE, SEED_HORIZON

    sc, ctx = net["sc"], net["ctx"]
    open_round(net)
    keepers = [net["bots"][0],
               VerifierBot(ctx.as_signer(sc.as_(sc.verifiers[1]), net["root"] / "keeper-1"), aggregator=False,
                           keeper_slot=(1, 2))]
    keepers[0].keeper_slot = (0, 2)
    followers = [VerifierBot(ctx.as_signer(sc.as_(v), net["root"] / f"seats-only-{i}"), aggregator=False,
                             keeper=False) for i, v in enumerate(sc.verifiers[2:], 2)]
    assert keepers[1]._my_draw(7, 0) and not keepers[1]._my_draw(8, DRAW_DELAY + DRAW_GRACE - 1)
    # a draw still waiting passes to the next keeper, and on round the ring: one holder at a time
    for waited in range(DRAW_DELAY, 1 + SEED_HORIZON):
        holders = [k for k in keepers if k._my_draw(8, waited)]
        assert len(holders) == 1
        assert holders[0] is keepers[((waited - DRAW_DELAY) // DRAW_GRACE) % 2]
    start = sc.block()
    round_ = sc.pogo.task(net["task"]).round
    try:
        sids = [r.submission_id for r in sc.work([miner(net, 0), miner(net, 1)], net["task"])]
        votes = sc.drive([*keepers, *followers], net["task"], round_ + 1)
    finally:
        keepers[0].keeper_slot = (0, 1)
    assert sc.pogo.task(net["task"]).round == round_ + 1
    assert all(sc.pogo.submission(sid).status == Status.ACCEPTED for sid in sids)
    drawers = {sc.w3.eth.get_transaction(log["transactionHash"])["from"]
               for log in sc.pogo.contract.events.CommitteeDrawn.get_logs(from_block=start)}
    assert drawers and drawers <= {k.address for k in keepers}  # the seats-only bots never draw
    follower_votes = [v for v in votes if v.submission_id in sids
                      and sc.pogo.committee(v.submission_id)[v.seat] in {f.address for f in followers}]
    assert follower_votes, "the seats-only bots voted on their seats"
    for bot in [*keepers, *followers]:  # final: what each bot learnt of them from the events is forgotten
        assert not set(sids) & (set(bot._draws) | set(bot._revealed))
    assert all(b.errors == 0 for b in [*keepers, *followers])


def test_a_sparse_task_accepts_and_aggregates_honest_updates_and_catches_cheats(net):
    """PROTOCOL.md D13 end to end: on a task whose diffs carry 2 of each leaf's 32 groups, honest
    sparse updates (with error feedback) are accepted and averaged into the head, a vandal is
    slashed by its committee and a wrong leaf is proven on chain from a sparse record."""
    from deploy.task import TaskDefinition

    sc = net["sc"]
    definition = TaskDefinition(model=TINY, n_shards=4, leaf_size=LEAF, density=2 / 32)
    task = publish_task(sc.pogo, net["ipfs"], TaskParams(round_blocks=60, vote_blocks=200, verifier_bond=ETH // 10),
                        verification=Verification(fetch_timeout_s=2.0, availability_blocks=4), funding=10 * ETH,
                        definition=definition)
    root = net["root"] / "sparse"
    ctx = Context.open(sc.pogo, net["ipfs"], task, root / "owner")
    assert ctx.spec.sparse_groups == 2
    bots = [VerifierBot(ctx.as_signer(sc.as_(v), root / f"v{i}"), aggregator=(i == 0)) for i, v in enumerate(sc.verifiers)]
    players = [(0, build_honest), (1, build_honest), (2, cheats.vandal), (3, cheats.wrong_leaf)]
    miners = [Miner(ctx.as_signer(sc.as_(sc.miners[i]), root / f"m{i}"), net["trainer"], b) for i, b in players]
    prev = ctx.head()
    sids = [r.submission_id for r in sc.work(miners, task)]
    sc.drive(bots, task, 1)

    subs = [sc.pogo.submission(s) for s in sids]
    assert [s.status for s in subs] == [Status.ACCEPTED, Status.ACCEPTED, Status.REJECTED, Status.REJECTED]
    assert subs[3].fraud and not subs[2].fraud  # the wrong leaf proven; the vandal voted out
    raw = [(m.ctx.workdir / "round-0" / "diff").read_bytes() for m in miners[:2]]
    assert all(len(r) == difffile.HEADER_SIZE + ctx.n_leaves * 38 for r in raw)  # 2 groups x 19 bytes a leaf
    diffs = [difffile.read(BytesSource(r)) for r in raw]
    assert ctx.head_root() == checkpoint.model_root(aggregate.aggregate(prev, diffs), LEAF)
    assert all(residual_path(m.ctx).exists() for m in miners[:2])  # the unsent part carries forward
    # Review finding: a workdir that served this task holds its diffs; another task reading one
    # by CID gets the same size and header checks as a fetched copy, not a cached pass.
    dense_view = net["ctx"].as_signer(sc.as_(sc.verifiers[0]), root / "v0")
    assert (root / "v0" / "diffs" / ctx.log.submission(sids[0]).diff_cid).exists()
    with pytest.raises(FormatError, match="this task's is"):
        dense_view.diff(ctx.log.submission(sids[0]).diff_cid)

    # Error feedback: the next round trains from the head plus the miner's share of the residual
    # (its decay, sent to every rank with the job); a residual of another shape (another task's,
    # say) is never added.
    class Recorder:  # what run_job loads; the real training of this path ran above
        def load(self, theta):
            self.loaded = np.array(theta, copy=True)

        def train(self, tokens, progress=None):
            return [0.0]

        def theta(self):
            return self.loaded

    rec, m, head = Recorder(), miners[0], ctx.head()
    assert m.residual_decay == RESIDUAL_DECAY < 1
    job = {"root": ctx.head_root().hex(), "shard": 0, "decay": m.residual_decay}
    residual = np.load(residual_path(m.ctx))
    assert np.abs(residual).max() > 0
    run_job(m.ctx, rec, job)
    assert np.array_equal(rec.loaded, (head + np.float32(RESIDUAL_DECAY) * residual)[:ctx.spec.n_params])
    run_job(m.ctx, rec, {**job, "decay": 1.0})
    assert np.array_equal(rec.loaded, (head + residual)[:ctx.spec.n_params])
    np.save(residual_path(m.ctx), residual[:-1])
    run_job(m.ctx, rec, job)
    assert np.array_equal(rec.loaded, head[:ctx.spec.n_params])


def test_an_average_that_harms_is_refused_and_the_round_keeps_its_head(net):
    """SECURITY.md #28 on chain (PROTOCOL.md D15): two colluders each send half of an honest
    update plus one piece of a change that harms only together (the final layer norm x6, the
    output layer x1.5: the logits x9). Each piece is accepted on its own gain; the exact average
    lands both whole, its committee refuses it (OVERFIT: NOT_ACCEPTED, the aggregator keeps its
    bond less the fee), the aggregator does not propose it again, and the round closes with the
    head unchanged and pays the colluders nothing. A fresh task: the pieces are tuned to a head
    near its initial weights."""
    from deploy.task import TaskDefinition

    sc = net["sc"]
    task = publish_task(sc.pogo, net["ipfs"], TaskParams(round_blocks=60, vote_blocks=200, verifier_bond=ETH // 10),
                        verification=Verification(fetch_timeout_s=2.0, availability_blocks=4), funding=10 * ETH,
                        definition=TaskDefinition(model=TINY, n_shards=4, leaf_size=LEAF, density=1.0))
    root = net["root"] / "colluders"
    ctx = Context.open(sc.pogo, net["ipfs"], task, root / "owner")
    bots = [VerifierBot(ctx.as_signer(sc.as_(v), root / f"v{i}"), aggregator=(i == 0)) for i, v in enumerate(sc.verifiers)]
    offsets = {e.name: (e.offset // 32, (e.offset + e.size) // 32) for e in manifest.of_module(ctx.build_model()).entries}

    def within(group: np.ndarray, name: str) -> np.ndarray:
        return (group >= offsets[name][0]) & (group < offsets[name][1])

    def piece(scaled: str, factor: float, parity: int):
        def build(prev_padded, raw, prev_root, leaf, groups=0):
            group = np.arange(raw.size) // 32
            rest = ~within(group, "ln_f.weight") & ~within(group, "lm_head.weight")
            honest_half = np.where(rest & (group % 2 == parity), raw, prev_padded[:raw.size])
            theta = np.where(within(group, scaled), factor * raw, honest_half).astype(np.float32)
            return build_honest(prev_padded, theta, prev_root, leaf, groups)
        return build

    trainer = Trainer(TINY, TrainConfig(steps=30, batch_size=8, lr=3e-3))
    colluders = [Miner(ctx.as_signer(sc.as_(sc.miners[i]), root / f"m{i}"), trainer, b)
                 for i, b in [(11, piece("ln_f.weight", 6.0, 0)), (12, piece("lm_head.weight", 1.5, 1))]]
    head_root = ctx.head_root()
    sids = [r.submission_id for r in sc.work(colluders, task)]
    proposals = []
    proposed = bots[0].propose_aggregate
    bots[0].propose_aggregate = lambda r: proposals.append(proposed(r)) or proposals[-1]
    votes = sc.drive(bots, task, 1)
    assert [sc.pogo.submission(s).status for s in sids] == [Status.ACCEPTED, Status.ACCEPTED], \
        {(v.submission_id, v.verdict.reason.name, v.verdict.detail) for v in votes}
    assert len(proposals) == 1 and proposals[0] is not None  # proposed once, never again
    refused = sc.pogo.submission(proposals[0])
    assert refused.status == Status.NOT_ACCEPTED and refused.kind == 1 and refused.faults == 0  # judged, not slashed
    assert {v.verdict.reason.name for v in votes if v.submission_id == proposals[0]} == {"OVERFIT"}
    assert ctx.head_root() == head_root and sc.pogo.task(task).round == 1 and not sc.pogo.task(task).aggregating
    assert [m.claim() for m in colluders] == [0, 0]  # the round's pot went back to the pool (#31)
    assert all(b.errors == 0 for b in bots)
