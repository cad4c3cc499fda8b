"""Verifier bots under faults, on the real chain and IPFS (PROTOCOL.md V2.4-V2.6): a bug or
hostile input in one submission, a lost race, data that arrives late but within the window,
data withheld after acceptance, an oversize CID, and the bot's own IPFS node going away.
Each test asserts the safe behaviour: no exception escapes, no honest party is slashed."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from deploy import scenario
from deploy.scenario import ETH
from deploy.task import publish_task
from pogo.context import Context
from pogo.model.gpt import GPTConfig
from pogo.net import chain
from pogo.net.contract import PoGOContract, Reason, Status, TaskParams
from pogo.net.ipfs import DataUnavailable, Ipfs
from pogo.protocol import difffile, treefile
from pogo.protocol.source import BytesSource
from pogo.protocol.taskspec import Verification
from verifier.bot import KEEP_TRIES, VerifierBot
from workers.miner import Miner, build_honest
from workers.trainer import TrainConfig, Trainer

TINY = GPTConfig(block_size=32, n_layer=1, n_head=2, n_embd=32)
LEAF = 1024


@pytest.fixture(scope="module")
def net(w3, devnet, tmp_path_factory):
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    sc = scenario.build(w3, n_miners=3, n_verifiers=4,
                        pogo=PoGOContract.deploy(chain.Client(w3, chain.dev_account(0))))
    ipfs = Ipfs(devnet.ipfs_api)
    verification = Verification(fetch_timeout_s=1.0, availability_blocks=12)
    task = publish_task(sc.pogo, ipfs, TaskParams(round_blocks=30, vote_blocks=60), model_cfg=TINY, n_shards=4,
                        leaf_size=LEAF, verification=verification, funding=20 * ETH)
    root = tmp_path_factory.mktemp("faults")
    ctx = Context.open(sc.pogo, ipfs, task, root / "owner")
    said: list[str] = []
    bots = [VerifierBot(ctx.as_signer(sc.as_(v), root / f"v{i}"), progress=said.append, aggregator=(i == 0))
            for i, v in enumerate(sc.verifiers)]
    trainer = Trainer(TINY, TrainConfig(steps=8, batch_size=8, lr=3e-3))
    miners = [Miner(ctx.as_signer(sc.as_(m), root / f"m{i}"), trainer) for i, m in enumerate(sc.miners)]
    yield {"sc": sc, "ctx": ctx, "task": task, "bots": bots, "miners": miners, "root": root, "ipfs": ipfs,
           "said": said, "w3": w3, "devnet": devnet}
    w3.provider.make_request("evm_revert", [snap])


def next_round(net) -> list:
    sc = net["sc"]
    return sc.drive(net["bots"], net["task"], sc.pogo.task(net["task"]).round + 1)


def stakes(net) -> list[int]:
    sc = net["sc"]
    return [sc.pogo.account(c.address)["stake"] for c in sc.miners + sc.verifiers]


def test_an_exception_in_one_submission_is_reported_and_retried_not_fatal(net, monkeypatch):
    """A bug is counted as an error; the chain node going away (requests' ConnectionError, what
    web3 raises while the node restarts) is only retried: 134 of them were counted as bot errors
    in a 200-node stress run before."""
    sc, bot = net["sc"], net["bots"][0]
    report = sc.work([net["miners"][0]], net["task"])[0]
    sc.ready_to_draw(report.submission_id)
    assert bot.poll() == []  # a keeper sends the draws a pass finds ready at its end; it votes on the next pass
    assert sc.pogo.submission(report.submission_id).status == Status.VOTING
    real = type(bot.checker).check
    faults = [requests.exceptions.ConnectionError("Connection refused"), RuntimeError("a bug in the checks")]

    def broken(self, *args, **kwargs):
        if faults:
            raise faults.pop(0)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(bot.checker), "check", broken)
    before, away = bot.errors, bot.node_away
    assert bot.poll() == []  # the node away: retried, not an error
    assert (bot.errors, bot.node_away) == (before, away + 1)
    assert any("ConnectionError: Connection refused; retrying" in s for s in net["said"])
    assert bot.poll() == []  # the exception stayed inside this submission's handling
    assert bot.errors == before + 1 and any("a bug in the checks" in s for s in net["said"])
    assert [k for k in bot.error_kinds if k.startswith(f"RuntimeError at {Path(__file__).name}:")] != []
    votes = bot.poll()  # retried on the next poll, and voted
    assert [v.submission_id for v in votes] == [report.submission_id] and votes[0].verdict.approve
    monkeypatch.undo()
    next_round(net)
    assert sc.pogo.submission(report.submission_id).status == Status.ACCEPTED


def test_a_transaction_that_loses_a_race_in_its_block_is_quiet(net):
    """Two bots close the round in the same block: the second is signed, mined and reverted."""
    sc, w3 = net["sc"], net["w3"]
    report = sc.work([net["miners"][1]], net["task"])[0]
    sc.ready_to_draw(report.submission_id)
    for bot in net["bots"]:
        bot.poll()  # draw, commit votes
    sc.to_vote_reveals(report.submission_id)
    for bot in net["bots"]:
        bot.poll()  # reveal, finalize, settle
    assert sc.pogo.submission(report.submission_id).status == Status.ACCEPTED
    task = sc.pogo.task(net["task"])
    sc.to_close(net["task"])
    w3.provider.make_request("evm_setAutomine", [False])
    results = {}
    try:
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, net["bots"][i]._try(
            net["bots"][i].pogo.close_round, net["task"]))) for i in (0, 1)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(w3.eth.get_block("pending")["transactions"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        sc.mine(1)
        for t in threads:
            t.join(timeout=60)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    receipts = [r for r in results.values() if r is not None]
    assert len(results) == 2 and len(receipts) == 1  # one closed the round; the other lost, quietly
    assert receipts[0]["blockNumber"] == sc.block()
    assert sc.pogo.task(net["task"]).round == task.round + 1
    assert not any("closeRound" in s or "close_round" in s for s in net["said"])


def test_honest_data_that_arrives_after_the_draw_but_within_the_window_is_accepted(net):
    sc, ctx, ipfs = net["sc"], net["ctx"], net["ipfs"]
    miner = net["miners"][2]
    task = sc.pogo.task(net["task"])
    prev = ctx.model(task.head_root)
    trainer = miner.trainer
    trainer.load(prev)
    trainer.train(ctx.shard(0))
    built = build_honest(prev, trainer.theta(), task.head_root, LEAF, ctx.spec.sparse_groups)
    # The CIDs the data will have, computed without publishing anything yet.
    cids = [ipfs.client.add_bytes(b, opts={"only-hash": "true"}) for b in (built.diff, built.tree)]
    sid = sc.submit(sc.miners[2], net["task"], built.new_root, built.diff_root, diff_cid=cids[0], tree_cid=cids[1])
    sc.ready_to_draw(sid)
    for bot in net["bots"]:
        assert bot.poll() == []  # drawn, but nobody votes on data it cannot fetch yet
    assert sc.pogo.submission(sid).status == Status.VOTING
    assert any("waiting for its data" in s for s in net["said"])
    sc.mine(2)  # a few blocks after the draw, inside the availability window of 12
    assert [ipfs.add_bytes(built.diff), ipfs.add_bytes(built.tree)] == cids
    votes = []
    for _ in range(3):  # bots retry on every poll; all four vote before the window's end
        votes += [v for bot in net["bots"] for v in bot.poll()]
        sc.mine(1)
    # A quorum of OK votes (the last seat may find the update already finalized); nobody voted
    # DATA_UNAVAILABLE on data that was only late.
    assert {v.verdict.reason for v in votes} == {Reason.OK} and len(votes) >= 3, "\n".join(net["said"][-8:])
    next_round(net)
    assert sc.pogo.submission(sid).status == Status.ACCEPTED


def test_data_withheld_after_acceptance_does_not_lose_the_head(net, tmp_path):
    """The head is rebuilt from diffs the committee pinned; a node that joins later gets it with
    `pogo head fetch`. Only when every copy is gone does it fail, naming the missing CID."""
    sc, ctx, ipfs, devnet = net["sc"], net["ctx"], net["ipfs"], net["devnet"]
    report = sc.work([net["miners"][0]], net["task"])[0]
    next_round(net)
    sid = report.submission_id
    assert sc.pogo.submission(sid).status == Status.ACCEPTED
    p = ctx.log.submission(sid)
    # The bots go on following the task, and each keeps a copy of the accepted diff, voted or not:
    # the last seat may vote after the round moved on, and a keeper holds no seat at all.
    watcher = VerifierBot(ctx.as_signer(sc.pogo, net["root"] / "watcher"), aggregator=False)  # the owner's
    bots = [*net["bots"], watcher]
    for _ in range(3):
        for bot in bots:
            bot.poll()
    assert watcher.state.voted == {} and watcher.state.pinned == []
    assert [(bot.ctx.workdir / "diffs" / p.diff_cid).exists() for bot in bots] == [True] * 5
    p_cids = (p.diff_cid, p.tree_cid)
    pinned = {c["Hash"] if isinstance(c, dict) else c for c in ipfs.client.pin.ls(type="recursive")["Keys"]}
    assert set(p_cids) <= pinned  # the verifiers pinned the accepted update's data
    assert p.checkpoint_cid == ""  # and no checkpoint was ever published for it

    deployment = tmp_path / "deployment.json"
    chain.Deployment(net["w3"].eth.chain_id, sc.pogo.address, 0, devnet.rpc_url).save(deployment)

    def head_fetch(workdir):
        return subprocess.run([sys.executable, "-m", "pogo", "head", "fetch", "--task", str(net["task"]),
                               "--rpc", devnet.rpc_url, "--ipfs", devnet.ipfs_api, "--deployment", str(deployment),
                               "--workdir", str(workdir), "--out", str(tmp_path / "head.bin")],
                              capture_output=True, text=True, timeout=300, check=False)

    r = head_fetch(tmp_path / "newcomer")
    assert r.returncode == 0, r.stderr[-2000:]
    head = np.fromfile(tmp_path / "head.bin", dtype="<f4")
    assert np.array_equal(head, ctx.head())

    # The miner withholds (unpins) and so does everyone else: now the head really is gone.
    for cid in p_cids:
        ipfs.unpin(cid)
    ipfs.gc()
    try:
        r = head_fetch(tmp_path / "another-newcomer")
        assert r.returncode == 2 and "Traceback" not in r.stderr
        error = r.stderr.strip().splitlines()[-1]  # after the progress line: one line that names the CID
        assert error.startswith("pogo: ") and p.diff_cid in error
        for bot in bots:  # the bots rebuild from their own cached diffs: nothing stops
            assert np.array_equal(bot.ctx.head(), head)
    finally:  # the module's later tests build on this head
        round_dir = net["miners"][0].ctx.workdir / f"round-{sc.pogo.submission(sid).round}"
        for name in ("diff", "tree"):
            ipfs.add_bytes((round_dir / name).read_bytes())


def test_an_oversize_diff_is_malformed_without_reading_it(net):
    """A diff whose header matches the task but whose body is 64 MiB: refused at the task's cap."""
    sc, ctx, ipfs = net["sc"], net["ctx"], net["ipfs"]
    task = sc.pogo.task(net["task"])
    prev = ctx.head()
    built = build_honest(prev, prev[: ctx.spec.n_params] + np.float32(1e-3), task.head_root, LEAF, ctx.spec.sparse_groups)
    errors = [bot.errors for bot in net["bots"]]
    huge = built.diff + bytes(64 << 20)
    cid = ipfs.add_bytes(huge)
    assert ctx.diff_bytes < len(huge) // 1000
    sid = sc.submit(sc.miners[1], net["task"], built.new_root, built.diff_root, diff_cid=cid,
                    tree_cid=ipfs.add_bytes(built.tree))
    votes = next_round(net)
    reasons = {v.verdict.reason for v in votes if v.submission_id == sid}
    assert reasons == {Reason.MALFORMED}
    assert sc.pogo.submission(sid).status == Status.REJECTED
    assert [bot.errors for bot in net["bots"]] == errors  # a verdict, not an exception


def test_a_bot_whose_own_ipfs_node_is_down_never_votes_unavailable(net):
    sc = net["sc"]
    before = stakes(net)
    report = sc.work([net["miners"][2]], net["task"])[0]
    sc.ready_to_draw(report.submission_id)
    bot = net["bots"][3]
    dead = Ipfs("/ip4/127.0.0.1/tcp/9/http", timeout=1.0)
    # The same verifier restarted against a dead IPFS node, its models cache intact: the head
    # loads, the diff cannot be fetched, and that is never the miner's fault.
    shutil.copytree(bot.ctx.workdir / "models", net["root"] / "blind" / "models")
    blind = VerifierBot(Context(bot.ctx.pogo, dead, bot.ctx.log, bot.ctx.task_id, bot.ctx.spec,
                                net["root"] / "blind"), progress=net["said"].append)
    for _ in range(4):
        sc.mine(6)  # far past the availability window
        assert all(v.submission_id != report.submission_id for v in blind.poll())
    assert str(report.submission_id) not in blind.state.voted
    assert any("DaemonUnreachable" in s for s in net["said"])
    next_round(net)
    assert sc.pogo.submission(report.submission_id).status == Status.ACCEPTED
    assert stakes(net)[:3] == before[:3]  # no miner lost stake to any of this
    assert difffile.HEADER_SIZE == 128


def test_a_miner_without_free_stake_for_the_bond_says_so_and_submits_nothing(net):
    sc = net["sc"]
    said = []
    m = net["miners"][0]
    poor = Miner(m.ctx, m.trainer, progress=said.append)
    account = sc.pogo.account(poor.address)
    sc.as_(sc.miners[0]).request_unstake(account["stake"] - account["locked"] - ETH // 2)  # leaves 0.5 < bond 1
    count = sc.pogo.contract.functions.submissionCount().call()
    assert poor.work() is None and poor.work() is None
    assert sc.pogo.contract.functions.submissionCount().call() == count
    assert len(said) == 1 and "below the task's bond" in said[0] and "pogo miner stake" in said[0]


def test_a_seat_on_a_task_the_bot_does_not_follow_is_abstained_on_and_settled(net):
    """SECURITY.md #40: committees come from one pool, so an attacker's junk task seats these
    verifiers, whose bots follow another task. Silent, each seat of the expired junk would pay a
    tenth of its bond. From the middle of the commit window (a bot of the same key following the
    task votes first) the bots abstain (PROTOCOL.md D18), reveal, finalize and settle: the junk
    expires, nobody is slashed, no seat stays open."""
    sc, bots = net["sc"], net["bots"]
    junk = sc.create_task(vote_blocks=20, liveness_slash_bps=1_000)
    sid = sc.submit(sc.miners[2], junk, hashlib.sha256(b"junk").digest(), hashlib.sha256(b"diff").digest())
    before = {b.address: sc.pogo.account(b.address)["stake"] for b in bots}
    members, _ = sc.draw(sid)
    assert sorted(members) == sorted(b.address for b in bots)
    for bot in bots:
        bot.poll()
    assert sc.pogo.submission(sid).commits == 0  # early in the window: left to the task's own bots
    sc.mine(sc.pogo.submission(sid).vote_deadline - 10 - sc.block())
    for bot in bots:
        bot.poll()
    assert sc.pogo.submission(sid).commits == 4
    sc.to_vote_reveals(sid)
    for bot in bots:
        bot.poll()
    s = sc.pogo.submission(sid)
    assert (s.approvals, s.rejections, s.commits) == (0, 0, 0)  # four abstentions: no side, nothing awaited
    sc.mine(s.vote_deadline + 21 - sc.block())  # the reveals have closed
    for bot in bots:
        bot.poll()
    assert sc.pogo.submission(sid).status == Status.EXPIRED
    for m in members:
        assert sc.pogo.account(m)["stake"] == before[m]  # not slashed
    settled = [e["args"] for e in sc.pogo.contract.events.SeatSettled.get_logs(from_block=s.submit_block)
               if e["args"]["submissionId"] == sid]
    assert sorted((e["verifier"], e["paid"], e["slashed"]) for e in settled) == sorted((m, 0, 0) for m in members)
    assert all(not bot.state.guarded and sid not in bot.state.revealed for bot in bots)
    assert any("abstained (D18) on seats of tasks this bot does not follow" in line for line in net["said"])


def test_a_version_1_tree_file_is_still_accepted_and_checked_whole(net):
    """D19: writers make version 2 tree files (the leaf hashes only). A miner on older software
    that uploads version 1 (every level, twice the bytes) is checked the same, and accepted; a
    version 1 file with a stored inner node that its children do not hash to is MALFORMED, though
    every leaf and the root are right (light clients would read a proof that fails)."""
    sc, ctx, ipfs = net["sc"], net["ctx"], net["ipfs"]
    task = sc.pogo.task(net["task"])
    prev = ctx.model(task.head_root)
    revealed = []
    for miner, shard in ((1, 1), (2, 2)):
        trainer = net["miners"][miner].trainer
        trainer.load(prev)
        trainer.train(ctx.shard(shard))
        built = build_honest(prev, trainer.theta(), task.head_root, LEAF, ctx.spec.sparse_groups)
        assert treefile.read_header(BytesSource(built.tree)).version == treefile.VERSION_LEAVES
        every_level = bytearray(treefile.encode(treefile.read_tree(BytesSource(built.tree)), LEAF,
                                                treefile.VERSION_LEVELS))
        assert len(every_level) > len(built.tree)
        if miner == 2:
            every_level[treefile.HEADER_SIZE + 32 * ctx.n_leaves] ^= 0xFF  # the first inner node
        client = sc.miners[miner]
        salt = sc.commit(client, net["task"], task.head_root, built.new_root, built.diff_root)
        revealed.append((client, built, salt, ipfs.add_bytes(built.diff), ipfs.add_bytes(bytes(every_level))))
    sc.to_reveals(net["task"])
    sids = [sc.reveal(client, net["task"], task.head_root, built.new_root, built.diff_root, salt, diff_cid, tree_cid)
            for client, built, salt, diff_cid, tree_cid in revealed]
    votes = next_round(net)
    reasons = [{v.verdict.reason for v in votes if v.submission_id == sid} for sid in sids]
    assert reasons == [{Reason.OK}, {Reason.MALFORMED}]
    assert all("do not hash from their children" in v.verdict.detail for v in votes if v.submission_id == sids[1])
    assert [sc.pogo.submission(sid).status for sid in sids] == [Status.ACCEPTED, Status.REJECTED]


def test_data_a_bot_cannot_keep_is_given_up_after_a_few_polls_not_retried_forever(net, monkeypatch):
    """A committee member whose pin keeps failing (the data gone before it pinned) tries on
    KEEP_TRIES polls, says so, and goes on: each try may wait the task's fetch timeout, so
    trying on every poll forever would slow a long-running bot for good."""
    sc = net["sc"]
    report = sc.work([net["miners"][1]], net["task"])[0]
    sid, bot = report.submission_id, net["bots"][2]
    sc.ready_to_draw(sid)
    for _ in range(2):  # the draw, then every seat's vote
        for b in net["bots"]:
            b.poll()
    assert str(sid) in bot.state.voted

    def gone(cid, timeout=None):
        raise DataUnavailable(f"{cid} could not be fetched from IPFS: not found within 1 s")

    broken = Ipfs(net["devnet"].ipfs_api, timeout=1.0)
    monkeypatch.setattr(broken, "pin", gone)
    monkeypatch.setattr(bot.ctx, "ipfs", broken)
    errors, away = bot.errors, bot.node_away
    next_round(net)
    assert sc.pogo.submission(sid).status == Status.ACCEPTED
    for _ in range(KEEP_TRIES):
        bot.poll()
    assert sid not in bot.state.open and sid not in bot.state.pinned
    assert any(f"update {sid}: keeps no copy of its data" in line for line in net["said"])
    assert (bot.errors, bot.node_away) == (errors, away)  # a fault of the data, not of the bot or its node
