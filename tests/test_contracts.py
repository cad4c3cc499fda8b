"""The PoGO contract on a real Anvil node: every transition, every payout, every revert path."""

from __future__ import annotations

import hashlib

import pytest
from eth_utils import keccak

from deploy import scenario
from deploy.scenario import ETH, Scenario
from pogo.net.chain import ChainError
from pogo.net.contract import Reason, Status
from pogo.protocol import commitment, seedstream

ROOT_A = hashlib.sha256(b"update a").digest()
ROOT_B = hashlib.sha256(b"update b").digest()
DIFF = hashlib.sha256(b"diff").digest()


@pytest.fixture(scope="module")
def sc(w3, deployed) -> Scenario:
    """Miners and verifiers staked once for the module; each test runs on a snapshot."""
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    yield scenario.build(w3, pogo=deployed)
    w3.provider.make_request("evm_revert", [snap])


@pytest.fixture
def task(sc, snapshot) -> int:
    return sc.create_task()


def balanced(sc: Scenario) -> bool:
    return sc.pogo.accounted_balance() == sc.pogo.balance()


def submit(sc: Scenario, task: int, miner: int = 0, root: bytes = ROOT_A) -> int:
    """Commit, wait for the reveal window, reveal: the round's only update."""
    return sc.submit(sc.miners[miner], task, root, DIFF)


def submit_all(sc: Scenario, task: int, entries: list[tuple[int, bytes]]) -> list[int]:
    """Several miners' updates in one round: all commit, then all reveal."""
    head = sc.pogo.task(task).head_root
    salts = [sc.commit(sc.miners[i], task, head, root, DIFF) for i, root in entries]
    sc.to_reveals(task)
    return [sc.reveal(sc.miners[i], task, head, root, DIFF, salt) for (i, root), salt in zip(entries, salts)]


def draw(sc: Scenario, sid: int) -> list[str]:
    members, _ = sc.draw(sid)
    return members


def vote(sc: Scenario, sid: int, members: list[str], votes: list[tuple[bool, int] | None]) -> None:
    """Members commit (None: stays silent), then reveal once the commitments have closed."""
    sc.vote(sid, [(m, v[0], v[1], Reason.OK if v[0] else Reason.ROOT_MISMATCH)
                  for m, v in zip(members, votes) if v is not None])


def ballots(members: list[str], reasons: list[Reason | None], improvement: int = 0) -> list:
    return [(m, r == Reason.OK, improvement if r == Reason.OK else 0, r) for m, r in zip(members, reasons)
            if r is not None]


def settle_all(sc: Scenario, sid: int) -> None:
    for seat in range(sc.pogo.submission(sid).seats):
        sc.pogo.settle_seat(sid, seat)


def expect(name: str):
    return pytest.raises(ChainError, match=rf"^transaction reverted: {name}\(")


# -- the three outcomes ------------------------------------------------------------------

def test_accepted_update_pays_majority_slashes_minority_and_advances_head(sc, task):
    miner = sc.miners[0]
    sid = submit(sc, task)
    assert sc.pogo.account(miner.address)["locked"] == ETH
    members = draw(sc, sid)
    assert len(members) == 4 and miner.address not in members and len(set(members)) == 4
    vote(sc, sid, members, [(True, 300_000), (True, 100_000), (True, 200_000), (False, 0)])
    receipt = sc.pogo.finalize(sid)
    s = sc.pogo.submission(sid)
    assert s.status == Status.ACCEPTED and s.improvement == 200_000  # median of the approvals
    assert sc.pogo.account(miner.address)["locked"] == 0
    assert receipt["gasUsed"] <= 150_000

    minority = sc.pogo.account(members[3])["stake"]
    pool_before = sc.pogo.task(task).pool
    # A seat locks no stake (D16), it counts as open until settled.
    assert all(sc.pogo.account(m)["locked"] == 0 and sc.pogo.account(m)["open_seats"] == 1 for m in members)
    settle_all(sc, sid)
    for m in members[:3]:
        assert sc.pogo.withdrawable(m) == 10**16  # the verifier fee, even though the update was honest
        assert sc.pogo.account(m)["open_seats"] == 0
    assert sc.pogo.account(members[3])["stake"] == minority - ETH // 10  # 10 % of its seat bond
    # Slashed verifier stake is burned: the task's pool (its creator's money) does not grow by it.
    assert sc.pogo.task(task).pool == pool_before - 3 * 10**16
    assert sc.pogo.contract.functions.totalBurned().call() == ETH // 10
    with expect("AlreadySettled"):
        sc.pogo.settle_seat(sid, 0)

    sc.to_close(task)
    sc.pogo.close_round(task)
    t = sc.pogo.task(task)
    assert t.head_root == ROOT_A and t.round == 1
    sc.as_(miner).claim_reward(sid)
    assert sc.pogo.withdrawable(miner.address) == 3 * ETH  # the only accepted update takes the pot
    with expect("NothingToClaim"):
        sc.pogo.claim_reward(sid)
    assert balanced(sc)


def test_rejected_update_slashes_miner_and_pays_rejecters(sc, task):
    miner = sc.miners[1]
    sid = submit(sc, task, miner=1)
    members = draw(sc, sid)
    vote(sc, sid, members, [(False, 0), (False, 0), (True, 5), (False, 0)])
    pool_before = sc.pogo.task(task).pool
    sc.pogo.finalize(sid)
    s = sc.pogo.submission(sid)
    assert s.status == Status.REJECTED
    slash = ETH * 5000 // 10_000
    assert sc.pogo.account(miner.address)["stake"] == 5 * ETH - slash
    assert s.rejecter_share == slash // 2 // 3
    assert sc.pogo.task(task).pool == pool_before + slash - 3 * s.rejecter_share
    settle_all(sc, sid)
    for i in (0, 1, 3):
        assert sc.pogo.withdrawable(members[i]) == 10**16 + s.rejecter_share
    assert sc.pogo.account(members[2])["stake"] == 10 * ETH - ETH // 10  # minority: 10 % of its seat bond
    assert balanced(sc)


def test_expired_submission_slashes_only_silent_members(sc, task):
    sid = submit(sc, task)
    members = draw(sc, sid)
    vote(sc, sid, members, [(True, 10), (False, 0), None, None])
    with expect("NotDecided"):
        sc.pogo.finalize(sid)
    with expect("WindowClosed"):  # too late to commit
        sc.as_(sc.by_address(members[2])).commit_vote(sid, 2, b"\x01" * 32)
    sc.mine(20)  # the reveals close
    sc.pogo.finalize(sid)
    assert sc.pogo.submission(sid).status == Status.EXPIRED
    assert sc.pogo.account(sc.miners[0].address)["locked"] == 0
    assert sc.pogo.account(sc.miners[0].address)["stake"] == 5 * ETH
    settle_all(sc, sid)
    for i in (0, 1):
        assert sc.pogo.account(members[i])["stake"] == 10 * ETH and sc.pogo.withdrawable(members[i]) == 0
    for i in (2, 3):
        assert sc.pogo.account(members[i])["stake"] == 10 * ETH - ETH * 200 // 10_000  # 2 % of the bond
    assert balanced(sc)


def cast(sc: Scenario, sid: int, members: list[str], reasons: list[Reason | None], improvement: int = 0) -> None:
    sc.vote(sid, ballots(members, reasons, improvement))


def test_a_judgment_quorum_is_not_accepted_and_costs_the_miner_only_the_evaluation_fee(sc, task):
    miner = sc.miners[0]
    sid = submit(sc, task)
    members = draw(sc, sid)
    cast(sc, sid, members, [Reason.NO_PROGRESS, Reason.OVERFIT, Reason.INSUFFICIENT_EVIDENCE, Reason.OK], 50)
    pool_before = sc.pogo.task(task).pool
    receipt = sc.pogo.finalize(sid)
    s = sc.pogo.submission(sid)
    fee = 2 * 10**16
    assert s.status == Status.NOT_ACCEPTED and s.faults == 0
    assert sc.pogo.events(receipt, "EvaluationFeeCharged")[0]["amount"] == fee
    assert sc.pogo.events(receipt, "Slashed") == []
    assert sc.pogo.account(miner.address)["stake"] == 5 * ETH - fee and sc.pogo.account(miner.address)["locked"] == 0
    assert sc.pogo.task(task).pool == pool_before + fee
    settle_all(sc, sid)
    for i in (0, 1, 2):  # the majority is paid its fee
        assert sc.pogo.withdrawable(members[i]) == 10**16
    # An approval of a judged-down update is a judgment too: neither paid nor slashed.
    assert sc.pogo.account(members[3])["stake"] == 10 * ETH and sc.pogo.withdrawable(members[3]) == 0
    assert balanced(sc)


def test_a_committed_seat_that_stays_silent_pays_the_liveness_share(sc, task):
    """SECURITY.md #17: a member that committed could wait for the others' reveals and, on the
    losing side, never reveal, escaping the minority slash. finalize now waits for every
    committed seat until the reveals close, and a committed seat left unrevealed pays the
    liveness share, as a silent seat of an expired submission does; a seat that never committed
    on a decided submission is neither paid nor slashed, and does not hold the decision up."""
    hidden, quiet = submit_all(sc, task, [(0, ROOT_A), (1, ROOT_B)])
    members = draw(sc, hidden)
    votes = ballots(members, [Reason.OK, Reason.OK, Reason.OK, Reason.ROOT_MISMATCH], improvement=10)
    salts = sc.commit_votes(hidden, votes)
    quiet_members = draw(sc, quiet)
    vote(sc, quiet, quiet_members, [(True, 10)] * 3 + [None])  # one seat never commits
    sc.pogo.finalize(quiet)
    before = sc.pogo.account(quiet_members[3])["stake"], sc.pogo.withdrawable(quiet_members[3])
    sc.pogo.settle_seat(quiet, 3)
    assert (sc.pogo.account(quiet_members[3])["stake"], sc.pogo.withdrawable(quiet_members[3])) == before

    sc.to_vote_reveals(hidden)
    sc.reveal_votes(hidden, votes[:3], salts[:3])  # an approval quorum; the fault claim stays hidden
    with expect("NotDecided"):  # the committed seat may still reveal
        sc.pogo.finalize(hidden)
    sc.mine(20)  # the reveals close
    with expect("WindowClosed"):
        sc.reveal_votes(hidden, votes[3:], salts[3:])
    sc.pogo.finalize(hidden)
    assert sc.pogo.submission(hidden).status == Status.ACCEPTED
    stakes = [sc.pogo.account(m)["stake"] for m in members]
    paid = [sc.pogo.withdrawable(m) for m in members]
    settle_all(sc, hidden)
    for i in (0, 1, 2):
        assert sc.pogo.withdrawable(members[i]) == paid[i] + 10**16 and sc.pogo.account(members[i])["stake"] == stakes[i]
    assert sc.pogo.account(members[3])["stake"] == stakes[3] - ETH * 200 // 10_000  # 2 % of the bond, not 10 %
    assert balanced(sc)


def test_a_rejection_quorum_waits_while_the_last_seat_could_still_make_it_a_fault(sc, task):
    sid = submit(sc, task)
    members = draw(sc, sid)
    votes = ballots(members, [Reason.ROOT_MISMATCH, Reason.MALFORMED, Reason.NO_PROGRESS, Reason.NON_FINITE])
    salts = sc.commit_votes(sid, votes)
    sc.to_vote_reveals(sid)
    sc.reveal_votes(sid, votes[:3], salts[:3])
    with expect("NotDecided"):  # 2 faults + 1 committed seat may still reach the fault quorum of 3
        sc.pogo.finalize(sid)
    sc.reveal_votes(sid, votes[3:], salts[3:])
    sc.pogo.finalize(sid)
    s = sc.pogo.submission(sid)
    slash = ETH * 5000 // 10_000
    assert s.status == Status.REJECTED and s.faults == 3 and s.rejecter_share == slash // 2 // 3
    settle_all(sc, sid)
    for i in (0, 1, 3):
        assert sc.pogo.withdrawable(members[i]) == 10**16 + s.rejecter_share
    assert sc.pogo.withdrawable(members[2]) == 10**16  # a judgment on the majority side: the fee only
    assert balanced(sc)


def test_a_rejection_quorum_that_can_no_longer_become_a_fault_quorum_is_not_accepted(sc, task):
    sid = submit(sc, task)
    members = draw(sc, sid)
    cast(sc, sid, members, [Reason.DATA_UNAVAILABLE, Reason.DATA_UNAVAILABLE, Reason.NO_PROGRESS, None])
    sc.pogo.finalize(sid)  # the silent seat never committed, so it cannot add a fault: decided now
    assert sc.pogo.submission(sid).status == Status.NOT_ACCEPTED
    assert sc.pogo.account(sc.miners[0].address)["stake"] == 5 * ETH - 2 * 10**16
    settle_all(sc, sid)
    assert sc.pogo.account(members[3])["stake"] == 10 * ETH  # silent on a decided submission: not slashed
    assert balanced(sc)


def test_a_fault_claimed_against_an_accepted_update_is_slashed_a_judgment_is_not(sc, task):
    sid, second = submit_all(sc, task, [(0, ROOT_A), (1, ROOT_B)])
    members = draw(sc, sid)
    cast(sc, sid, members, [Reason.OK, Reason.OK, Reason.OK, Reason.NO_PROGRESS], 10_000)
    sc.pogo.finalize(sid)
    settle_all(sc, sid)
    assert sc.pogo.account(members[3])["stake"] == 10 * ETH and sc.pogo.withdrawable(members[3]) == 0
    sid = second
    members = draw(sc, sid)
    cast(sc, sid, members, [Reason.OK, Reason.OK, Reason.OK, Reason.HARMFUL], 10_000)
    sc.pogo.finalize(sid)
    settle_all(sc, sid)
    assert sc.pogo.account(members[3])["stake"] == 10 * ETH - ETH // 10
    assert balanced(sc)


def test_reasons_beyond_the_last_code_are_refused_and_a_reveal_must_match_its_commitment(sc, task):
    sid = submit(sc, task)
    members = draw(sc, sid)
    votes = [(members[0], False, 0, 10), (members[1], True, 0, Reason.INSUFFICIENT_EVIDENCE),
             (members[2], True, 5, Reason.OK)]
    salts = sc.commit_votes(sid, votes)
    sc.to_vote_reveals(sid)
    for v, salt in zip(votes[:2], salts[:2]):
        with expect("BadReason"):
            sc.reveal_votes(sid, [v], [salt])
    m, seat = sc.as_(sc.by_address(members[2])), 2
    with expect("BadReveal"):  # another improvement than the one committed to
        m.reveal_vote(sid, seat, True, 6, Reason.OK, salts[2])
    with expect("BadReveal"):  # another salt
        m.reveal_vote(sid, seat, True, 5, Reason.OK, bytes(32))
    with expect("BadReveal"):  # another member revealing this seat's vote: the commitment names its verifier
        sc.as_(sc.by_address(members[0])).reveal_vote(sid, seat, True, 5, Reason.OK, salts[2])
    m.reveal_vote(sid, seat, True, 5, Reason.OK, salts[2])


def test_an_abstention_counts_on_no_side_and_is_neither_paid_nor_slashed(sc, task):
    """PROTOCOL.md D18: a member that cannot check a submission (its bot follows another task)
    reveals "reject" with reason Ok. It counts toward neither quorum, finalize does not wait for
    it, and settlement neither pays nor slashes it; silent on an expiry it would pay the liveness
    share (SECURITY.md #40)."""
    sid = submit(sc, task)
    members = draw(sc, sid)
    sc.vote(sid, [(m, True, 10, Reason.OK) for m in members[:3]] + [(members[3], False, 0, Reason.OK)])
    s = sc.pogo.submission(sid)
    assert (s.approvals, s.rejections, s.faults, s.commits) == (3, 0, 0, 3)
    sc.pogo.finalize(sid)
    assert sc.pogo.submission(sid).status == Status.ACCEPTED
    stake, owed = sc.pogo.account(members[3])["stake"], sc.pogo.withdrawable(members[3])
    settle_all(sc, sid)
    assert sc.pogo.account(members[3])["stake"] == stake and sc.pogo.withdrawable(members[3]) == owed
    assert all(sc.pogo.withdrawable(m) == 10**16 for m in members[:3])

    sc.to_close(task)
    sc.pogo.close_round(task)
    other = submit(sc, task, miner=1, root=ROOT_B)  # everyone abstains: it expires, nobody pays for it
    members = draw(sc, other)
    sc.vote(other, [(m, False, 0, Reason.OK) for m in members])
    sc.to_vote_reveals(other)
    sc.mine(sc.pogo.task(task).params.vote_blocks + 1)
    sc.pogo.finalize(other)
    assert sc.pogo.submission(other).status == Status.EXPIRED
    settle_all(sc, other)
    assert all(sc.pogo.account(m)["stake"] == 10 * ETH for m in members)
    assert balanced(sc)


def test_submission_expires_when_nobody_draws_its_committee(sc, task):
    sid = submit(sc, task)
    with expect("WrongStatus"):
        sc.pogo.finalize(sid)
    sc.mine(258)
    with expect("WindowClosed"):
        sc.pogo.draw_committee(sid)
    sc.pogo.finalize(sid)
    assert sc.pogo.submission(sid).status == Status.EXPIRED and sc.pogo.submission(sid).seats == 0
    with expect("SeatOutOfRange"):
        sc.pogo.settle_seat(sid, 0)


# -- rounds, aggregation, rewards ---------------------------------------------------------

def test_several_accepted_updates_share_the_reward_and_wait_for_an_aggregate(sc, task):
    sids = submit_all(sc, task, [(0, ROOT_A), (1, ROOT_B)])
    for sid, gain in zip(sids, (100_000, 300_000)):
        members = draw(sc, sid)
        vote(sc, sid, members, [(True, gain)] * 3 + [None])
        sc.pogo.finalize(sid)
    sc.to_close(task)
    sc.pogo.close_round(task)
    t = sc.pogo.task(task)
    assert t.aggregating and t.round == 0 and t.head_root != ROOT_A
    with expect("Aggregating"):
        submit(sc, task, miner=2)
    with expect("RoundNotClosed"):  # the round pays once its updates are in the head (D15)
        sc.pogo.claim_reward(sids[0])

    aggregate_root = hashlib.sha256(b"average").digest()
    agg, _ = sc.as_(sc.miners[2]).propose_aggregate(task, aggregate_root, DIFF, "d", "t", "c")
    members = draw(sc, agg)
    vote(sc, agg, members, [(True, 0)] * 4)
    sc.pogo.finalize(agg)
    t = sc.pogo.task(task)
    assert not t.aggregating and t.round == 1 and t.head_root == aggregate_root
    for sid, share in zip(sids, (ETH * 3 // 4, ETH * 9 // 4)):
        sc.pogo.claim_reward(sid)
        assert sc.pogo.withdrawable(sc.pogo.submission(sid).miner) == share
    with expect("WrongStatus"):
        sc.pogo.claim_reward(agg)  # aggregates earn no round reward
    with expect("NotAggregating"):
        sc.as_(sc.miners[2]).propose_aggregate(task, aggregate_root, DIFF, "d", "t", "c")
    assert balanced(sc)


def test_an_aggregate_may_be_proposed_for_vote_blocks_on_a_task_with_short_rounds(sc, snapshot):
    """SECURITY.md #37: the proposal window is max(roundBlocks, voteBlocks), so an aggregator has
    time on a task whose rounds are shorter than its vote window."""
    task = sc.create_task(round_blocks=3, vote_blocks=10)
    for sid in submit_all(sc, task, [(0, ROOT_A), (1, ROOT_B)]):
        vote(sc, sid, draw(sc, sid), [(True, 1)] * 3 + [None])
        sc.pogo.finalize(sid)
    sc.to_close(task)
    sc.pogo.close_round(task)
    start = sc.pogo.task(task).round_start
    sc.mine(start + 8 - sc.block())  # past roundBlocks (3), within voteBlocks (10)
    sc.as_(sc.miners[2]).propose_aggregate(task, ROOT_A, DIFF)
    sc.mine(start + 9 - sc.block())  # the next transaction lands on start + 10, the first block refused
    with expect("WindowClosed"):
        sc.as_(sc.miners[0]).propose_aggregate(task, ROOT_B, DIFF)


def test_a_round_without_an_accepted_aggregate_keeps_its_head(sc, task):
    """...and returns its pot to the pool: its updates never reached the head, and pieces whose
    average a committee refused must not be paid (PROTOCOL.md D15, SECURITY.md #31)."""
    sids = submit_all(sc, task, [(0, ROOT_A), (1, ROOT_B)])
    for sid in sids:
        vote(sc, sid, draw(sc, sid), [(True, 1)] * 3 + [None])
        sc.pogo.finalize(sid)
    sc.to_close(task)
    head = sc.pogo.task(task).head_root
    sc.pogo.close_round(task)
    agg, _ = sc.as_(sc.miners[2]).propose_aggregate(task, ROOT_A, DIFF)
    vote(sc, agg, draw(sc, agg), [(False, 0)] * 3 + [None])
    sc.pogo.finalize(agg)
    assert sc.pogo.account(sc.miners[2].address)["stake"] == 5 * ETH - ETH // 2
    with expect("WindowOpen"):
        sc.pogo.close_round(task)
    sc.to_close(task)
    with expect("WindowClosed"):  # D15: no copies after the window's commit part, so the round can close
        sc.as_(sc.miners[2]).propose_aggregate(task, ROOT_A, DIFF)
    with expect("RoundNotClosed"):
        sc.pogo.claim_reward(sids[0])
    pool = sc.pogo.task(task).pool
    receipt = sc.pogo.close_round(task)
    t = sc.pogo.task(task)
    assert t.round == 1 and t.head_root == head and not t.aggregating
    assert sc.pogo.events(receipt, "RoundPotReturned")[0]["amount"] == 3 * ETH and t.pool == pool + 3 * ETH
    for sid in sids:
        assert sc.pogo.events(sc.pogo.claim_reward(sid), "Rewarded")[0]["amount"] == 0
        assert sc.pogo.withdrawable(sc.pogo.submission(sid).miner) == 0
    assert balanced(sc)


def test_a_round_with_no_accepted_update_opens_the_next(sc, task):
    sc.to_close(task)
    sc.pogo.close_round(task)
    t = sc.pogo.task(task)
    assert t.round == 1 and t.pool == 20 * ETH


def epoch_weights(sc: Scenario) -> list[int]:
    """Each slot's weight now (call it at the start of an epoch: what that epoch's draws use)."""
    f = sc.pogo.contract.functions
    return [sc.pogo.account(f.slotOwner(i).call())["stake"] for i in range(1, f.verifierCount().call() + 1)]


def test_committee_is_the_python_draw_over_chain_weights(sc, task):
    sid = submit(sc, task)
    members, receipt = sc.draw(sid)
    s = sc.pogo.submission(sid)
    block_hash = bytes(sc.w3.eth.get_block(s.submit_block + 1)["hash"])
    prevrandao = bytes(sc.w3.eth.get_block(receipt["blockNumber"])["mixHash"])
    mixed = bytes(a ^ b for a, b in zip(block_hash, prevrandao))
    assert sc.pogo.seed(sid) == seedstream.challenge_seed(mixed, sid, ROOT_A)
    f = sc.pogo.contract.functions
    weights = epoch_weights(sc)
    slots = seedstream.draw_committee(sc.pogo.seed(sid), weights, 4, exclude=None)
    assert [f.slotOwner(i).call() for i in slots] == members


def test_a_top_up_after_the_submission_cannot_steer_the_draw(sc, task):
    """Committee grinding (SECURITY.md #1): the attacker holds one slot, sees the submission, and
    tops up by any amount before the draw. The draw reads the weights as the epoch began."""
    f = sc.pogo.contract.functions
    sid = submit(sc, task)
    sc.next_epoch()
    epoch, weights = f.currentEpoch().call(), epoch_weights(sc)
    attacker = sc.as_(sc.verifiers[0])
    before = f.drawWeight().call()
    attacker.stake(21_000)  # the 21,000 wei of the review, then a large one
    attacker.stake(500 * ETH)
    assert f.poolWeight().call() == before + 500 * ETH + 21_000 and f.drawWeight().call() == before
    members, receipt = sc.draw(sid)
    assert receipt["blockNumber"] // 16 == epoch  # the top-up and the draw share the epoch
    slots = seedstream.draw_committee(sc.pogo.seed(sid), weights, 4, exclude=None)
    assert [f.slotOwner(i).call() for i in slots] == members


def test_a_slot_taken_in_this_epoch_is_never_drawn_in_it(sc, task):
    """A verifier with most of the weight leaves; the attacker takes its slot at once and would
    inherit that weight in the epoch's snapshot. The slot sits out the epoch."""
    f = sc.pogo.contract.functions
    whale, attacker = sc.as_(sc.verifiers[0]), sc.as_(sc.owner)
    sid = submit(sc, task)
    whale.stake(1000 * ETH)
    sc.next_epoch()
    whale_slot = sc.pogo.account(sc.verifiers[0].address)["slot"]
    whale.leave_verifier_pool()
    attacker.stake(10 * ETH)
    attacker.register_verifier()
    assert sc.pogo.account(sc.owner.address)["slot"] == whale_slot
    members, _ = sc.draw(sid)
    assert sc.owner.address not in members and sc.verifiers[0].address not in members
    # From the next epoch on, the slot counts with its new owner's weight.
    sc.next_epoch()
    assert f.drawWeight().call() == f.poolWeight().call()


def test_a_keeper_draws_several_committees_in_one_go(sc, task):
    """draw_committees sends every draw before it waits for any (several share a block on a
    chain with block times); a draw someone made first comes back as its error, not raised."""
    sids = submit_all(sc, task, [(0, ROOT_A), (1, ROOT_B)])
    sc.ready_to_draw(sids[-1])
    epoch = sc.pogo.epoch_blocks()
    while any((sc.block() + k) % epoch == 0 for k in range(4)):  # Anvil mines each draw into its own block
        sc.mine(1)
    drawn = sc.pogo.draw_committees(sids)
    assert all(isinstance(drawn[sid], dict) and sc.pogo.submission(sid).status == Status.VOTING for sid in sids)
    again = sc.pogo.draw_committees(sids)
    assert all(isinstance(again[sid], ChainError) and again[sid].name == "WrongStatus" for sid in sids)


def test_no_draw_in_an_epochs_first_block(sc, task):
    """The producer of an epoch's last block knows the next block's prevrandao and can still
    change that epoch's weights: a draw in the epoch's first block would let it grind."""
    sid = submit(sc, task)
    sc.mine(1)
    with expect("SeedNotReady"):  # lands in submitBlock + 2: its prevrandao is the seed block producer's
        sc.pogo.draw_committee(sid)
    if sc.block() % 16 != 15:
        sc.mine(15 - sc.block() % 16)  # the next transaction lands in an epoch's first block
    with expect("SeedNotReady"):
        sc.pogo.draw_committee(sid)
    sc.mine(1)  # (Anvil estimates gas at the latest block: not the epoch's first one either)
    members, _ = sc.pogo.draw_committee(sid)
    assert len(members) == 4


def test_a_miner_that_verifies_is_never_on_its_own_committee(sc, task):
    miner = sc.as_(sc.miners[0])
    miner.stake(100 * ETH)  # enough weight to be drawn nearly every time
    miner.register_verifier()
    sc.next_epoch()  # its weight counts in draws from the next epoch on
    slot = sc.pogo.account(sc.miners[0].address)["slot"]
    sid = submit(sc, task)
    members = draw(sc, sid)
    assert sc.miners[0].address not in members
    f = sc.pogo.contract.functions
    weights = epoch_weights(sc)
    slots = seedstream.draw_committee(sc.pogo.seed(sid), weights, 4, exclude=slot)
    assert [f.slotOwner(i).call() for i in slots] == members


# -- staking ---------------------------------------------------------------------------------

def test_unbonding_waits_its_delay_and_open_seats(sc, task):
    sid = submit(sc, task)
    members = draw(sc, sid)
    holder = sc.by_address(members[0])
    holding = sc.as_(holder)
    holding.request_unstake(4 * ETH)
    acct = sc.pogo.account(holder.address)
    assert acct["stake"] == 6 * ETH and acct["unbonding"] == 4 * ETH and acct["open_seats"] == 1
    sc.vote(sid, [(holder.address, True, 1, Reason.OK)])
    sc.mine(25)
    with expect("NothingToWithdraw"):
        holding.withdraw()  # matured, but the unsettled seat keeps the unbonding locked
    sc.pogo.finalize(sid)
    settle_all(sc, sid)
    before = sc.w3.eth.get_balance(holder.address)
    receipt = holding.withdraw()
    gas = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert sc.w3.eth.get_balance(holder.address) == before + 4 * ETH - gas
    assert balanced(sc)


def test_staking_reverts(sc, task):
    fresh = sc.as_(sc.owner)
    with expect("ZeroAmount"):
        fresh.stake(0)
    with expect("ZeroAmount"):
        fresh.request_unstake(0)
    with expect("InsufficientFreeStake"):
        fresh.request_unstake(1)
    with expect("NothingToWithdraw"):
        fresh.withdraw()
    with expect("AlreadyVerifier"):
        sc.as_(sc.verifiers[0]).register_verifier()
    sid = submit(sc, task)
    with expect("InsufficientFreeStake"):  # the bond is locked
        sc.as_(sc.miners[0]).request_unstake(5 * ETH)
    assert sid


def test_verifier_pool_is_bounded_and_cannot_be_squatted(sc, w3, task):
    f = sc.pogo.contract.functions
    owner, miner = sc.as_(sc.owner), sc.as_(sc.miners[0])
    with expect("BelowMinimumStake"):  # dust registrations cannot fill the pool
        owner.register_verifier()
    owner.stake(ETH // 2)
    with expect("BelowMinimumStake"):
        owner.register_verifier()
    owner.stake(20 * ETH)  # 20.5 ETH in all
    slot = 3  # Staking's storage: accounts, withdrawable, slotOwner, verifierCount
    value = "0x" + (4096).to_bytes(32, "big").hex()
    if "error" in w3.provider.make_request("anvil_setStorageAt", [sc.pogo.address, hex(slot), value]):
        w3.provider.make_request("evm_setAccountStorageAt", [sc.pogo.address, "0x" + slot.to_bytes(32, "big").hex(),
                                                             value])  # Ganache: a 32-byte slot
    assert f.verifierCount().call() == 4096
    with expect("PoolFull"):
        owner.register_verifier()
    # A full pool: a verifier with more stake takes the slot of one with less (and no open seat).
    victim = sc.verifiers[0]
    victim_slot = sc.pogo.account(victim.address)["slot"]
    weight = f.poolWeight().call()
    owner.register_verifier_replacing(victim_slot)
    assert sc.pogo.account(sc.owner.address)["slot"] == victim_slot and sc.pogo.account(victim.address)["slot"] == 0
    assert f.poolWeight().call() == weight - 10 * ETH + 41 * ETH // 2
    with expect("CannotEvict"):  # 5 ETH cannot push out a member with 10
        miner.register_verifier_replacing(sc.pogo.account(sc.verifiers[1].address)["slot"])
    with expect("CannotEvict"):  # an empty slot is not a member
        miner.register_verifier_replacing(4000)
    # Leaving frees the slot for the next verifier, without growing the pool.
    freed = sc.pogo.account(sc.verifiers[1].address)["slot"]
    sc.as_(sc.verifiers[1]).leave_verifier_pool()
    with expect("NotVerifier"):
        sc.as_(sc.verifiers[1]).leave_verifier_pool()
    sc.as_(victim).register_verifier()
    assert sc.pogo.account(victim.address)["slot"] == freed and f.verifierCount().call() == 4096


def test_withdraw_to_a_contract_that_refuses_eth(sc, artifacts, task):
    rejector = sc.owner.deploy(artifacts["RejectingStaker"])
    sc.owner.transact(rejector, "stakeAndUnstake", sc.pogo.address, value=ETH)
    sc.mine(25)
    with pytest.raises(ChainError) as err:
        sc.owner.transact(rejector, "withdrawFrom", sc.pogo.address)
    # The revert bubbles up through the rejector, whose ABI does not know PoGO's errors.
    assert err.value.args_ == (keccak(text="TransferFailed()")[:4].hex(),)


# -- task and submission reverts -------------------------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("initial_root", bytes(32)), ("n_params", 0), ("leaf_size", 48), ("leaf_size", 16), ("n_shards", 1),
    ("round_blocks", 0), ("vote_blocks", 0), ("committee_size", 5), ("committee_size", 1), ("committee_size", 19),
    ("miner_slash_bps", 10_001), ("verifier_slash_bps", 10_001), ("liveness_slash_bps", 10_001), ("miner_bond", 0),
    ("eval_fee", ETH + 1), ("leaf_size", 1 << 15),  # a leaf fraud proof must fit a transaction
])
def test_bad_task_params(sc, snapshot, field, value):
    with expect("BadParams"):
        sc.create_task(**({field: value} if field != "initial_root" else {}),
                       **({"initial_root": value} if field == "initial_root" else {}))


def test_task_and_submission_reverts(sc, task):
    p = sc.as_(sc.miners[0])
    head = sc.pogo.task(task).head_root
    with expect("UnknownTask"):
        sc.pogo.fund_task(99, ETH)
    with expect("ZeroAmount"):
        sc.pogo.fund_task(task, 0)
    with expect("WindowOpen"):
        sc.pogo.close_round(task)
    with expect("UnknownTask"):
        p.commit_update(99, b"\x01" * 32)
    with expect("NotAggregating"):
        p.propose_aggregate(task, ROOT_A, DIFF)
    # Commitments: a good one, a stale base, a zero root, and one by an account with no stake.
    salt = sc.commit(sc.miners[0], task, head, ROOT_A, DIFF)
    with expect("WindowOpen"):  # no reveal while commitments are open
        p.reveal_update(task, head, ROOT_A, DIFF, salt)
    stale = sc.commit(sc.miners[1], task, ROOT_B, ROOT_A, DIFF)
    zero = sc.commit(sc.miners[2], task, head, bytes(32), DIFF)
    broke = sc.commit(sc.owner, task, head, ROOT_A, DIFF)
    sc.to_reveals(task)
    with expect("WindowClosed"):
        p.commit_update(task, b"\x01" * 32)
    with expect("UnknownTask"):
        p.reveal_update(99, head, ROOT_A, DIFF, salt)
    with expect("BadReveal"):  # another root than the one committed to
        p.reveal_update(task, head, ROOT_B, DIFF, salt)
    with expect("BadReveal"):  # a copier revealing the miner's roots under its own name
        sc.as_(sc.miners[1]).reveal_update(task, head, ROOT_A, DIFF, salt)
    with expect("StaleBase"):
        sc.as_(sc.miners[1]).reveal_update(task, ROOT_B, ROOT_A, DIFF, stale)
    with expect("ZeroRoot"):
        sc.as_(sc.miners[2]).reveal_update(task, head, bytes(32), DIFF, zero)
    with expect("InsufficientFreeStake"):
        sc.as_(sc.owner).reveal_update(task, head, ROOT_A, DIFF, broke)
    sid, _ = p.reveal_update(task, head, ROOT_A, DIFF, salt)
    with expect("AlreadySubmitted"):
        p.reveal_update(task, head, ROOT_A, DIFF, salt)
    with expect("SeedNotReady"):
        sc.pogo.draw_committee(sid)
    with expect("UnknownSubmission"):
        sc.pogo.draw_committee(sid + 10)
    with expect("WrongStatus"):
        sc.as_(sc.verifiers[0]).commit_vote(sid, 0, b"\x01" * 32)
    with expect("WrongStatus"):
        sc.pogo.settle_seat(sid, 0)
    with expect("WrongStatus"):
        sc.pogo.claim_reward(sid)
    members = draw(sc, sid)
    with expect("WrongStatus"):
        sc.pogo.draw_committee(sid)
    outsider = next(v for v in sc.verifiers if v.address not in members)
    with expect("NotCommitteeMember"):
        sc.as_(outsider).commit_vote(sid, 0, b"\x01" * 32)
    member = sc.as_(sc.by_address(members[0]))
    with expect("NotCommitteeMember"):  # another member's seat
        member.commit_vote(sid, 1, b"\x01" * 32)
    with expect("NotCommitteeMember"):
        member.commit_vote(sid, 9, b"\x01" * 32)
    with expect("BadReveal"):  # an empty commitment
        member.commit_vote(sid, 0, bytes(32))
    for _ in range(2):  # one whose stored 160 bits are zero: it once counted again on every call
        with expect("BadReveal"):
            member.commit_vote(sid, 0, (1).to_bytes(32, "big"))
    assert sc.pogo.submission(sid).commits == 0
    forged = [members[0]] + [sc.owner.address] * (len(members) - 1)  # a committee list of one's own
    with expect("BadCommittee"):
        member._tx("commitVote", sid, 1, forged, b"\x01" * 32)
    votes = [(m, True, 1, Reason.OK) for m in members[:3]]
    salts = sc.commit_votes(sid, votes)
    with expect("AlreadyVoted"):
        member.commit_vote(sid, 0, b"\x02" * 32)
    with expect("WindowOpen"):  # no reveal while commitments are open
        member.reveal_vote(sid, 0, True, 1, Reason.OK, salts[0])
    sc.to_vote_reveals(sid)
    sc.reveal_votes(sid, votes, salts)
    with expect("AlreadyVoted"):
        member.reveal_vote(sid, 0, True, 1, Reason.OK, salts[0])
    sc.mine(40)
    with expect("RoundStillOpen"):
        sc.pogo.close_round(task)
    with expect("WindowClosed"):  # the update reveals closed long ago
        sc.as_(sc.miners[1]).reveal_update(task, ROOT_B, ROOT_A, DIFF, stale)
    sc.pogo.finalize(sid)  # a reached quorum still finalizes after the reveal window
    with expect("BadCommittee"):  # settling names the real committee
        sc.pogo._tx("settleSeat", sid, 0, forged)
    with expect("WrongStatus"):
        sc.pogo.finalize(sid)
    with expect("RoundNotClosed"):
        sc.pogo.claim_reward(sid)
    with expect("UnknownTask"):
        sc.pogo.task(99)


def test_every_transition_emits_its_event(sc, task):
    head = sc.pogo.task(task).head_root
    salt = commitment.new_salt()
    c = commitment.update_commitment(task, 0, sc.miners[0].address, head, ROOT_A, DIFF, salt)
    receipt = sc.as_(sc.miners[0]).commit_update(task, c)
    got = sc.pogo.events(receipt, "UpdateCommitted")[0]
    assert (got["round"], got["miner"], got["commitment"]) == (0, sc.miners[0].address, c)
    sc.to_reveals(task)
    sid, receipt = sc.as_(sc.miners[0]).reveal_update(task, head, ROOT_A, DIFF, salt, "diff", "tree", 2_000_000, 1)
    got = sc.pogo.events(receipt, "UpdateSubmitted")[0]
    assert (got["diffCid"], got["treeCid"], got["checkpointCid"], got["claimedLossFirst"]) == ("diff", "tree", "", 2_000_000)
    _, receipt = sc.draw(sid)
    assert sc.pogo.events(receipt, "CommitteeDrawn")[0]["seed"] == sc.pogo.seed(sid)
    members = sc.pogo.committee(sid)
    vsalt = commitment.new_salt()
    receipt = sc.as_(sc.by_address(members[0])).commit_vote(
        sid, 0, commitment.vote_commitment(sid, 0, members[0], True, 7, Reason.OK, vsalt))
    assert sc.pogo.events(receipt, "VoteCommitted")[0] == {"submissionId": sid, "verifier": members[0], "seat": 0}
    salts = sc.commit_votes(sid, [(m, True, 7, Reason.OK) for m in members[1:3]])
    sc.to_vote_reveals(sid)
    receipt = sc.as_(sc.by_address(members[0])).reveal_vote(sid, 0, True, 7, Reason.OK, vsalt)
    assert sc.pogo.events(receipt, "VoteCast")[0]["improvement"] == 7
    sc.reveal_votes(sid, [(m, True, 7, Reason.OK) for m in members[1:3]], salts)
    receipt = sc.pogo.finalize(sid)
    assert sc.pogo.events(receipt, "Finalized")[0]["status"] == Status.ACCEPTED
    receipt = sc.pogo.settle_seat(sid, 0)
    assert sc.pogo.events(receipt, "SeatSettled")[0]["paid"] == 10**16
    receipt = sc.pogo.settle_seat(sid, 3)  # did not vote on a decided update: neither paid nor slashed
    assert sc.pogo.events(receipt, "SeatSettled")[0]["slashed"] == 0
    sc.to_close(task)
    receipt = sc.pogo.close_round(task)
    assert sc.pogo.events(receipt, "RoundClosed")[0]["rewardPot"] == 3 * ETH
    assert sc.pogo.events(receipt, "HeadAdvanced")[0]["root"] == ROOT_A
    receipt = sc.pogo.claim_reward(sid)
    assert sc.pogo.events(receipt, "Rewarded")[0]["amount"] == 3 * ETH
    receipt = sc.pogo.fund_task(task, ETH)
    assert sc.pogo.events(receipt, "TaskFunded")[0]["pool"] == sc.pogo.task(task).pool


def test_a_committee_cached_from_a_rewound_chain_is_read_again(sc, task):
    """A reorg (or a test's snapshot) may reuse a submission id and draw the same members from
    another seed: the cached CommitteeDrawn counts only while its block is still on the chain
    (this once made test_every_transition_emits_its_event fail by chance)."""
    sid = submit(sc, task)
    draw(sc, sid)
    seed = sc.pogo.seed(sid)
    key = (sid, sc.pogo.submission(sid).committee_hash)
    block, _, event = sc.pogo._drawn_logs[key]
    sc.pogo._drawn_logs[key] = (block, bytes(32), {**event, "seed": bytes(32)})  # a block no longer there
    assert sc.pogo.seed(sid) == seed


def test_a_slashed_verifier_can_still_finalize_its_own_bonded_updates(w3, snapshot):
    """A verifier-miner whose two open bonds take its whole stake is seated (a seat locks none,
    D16) and slashed below them. Releasing one bond must neither underflow nor free stake that
    backs the other (when a slash clamped `locked` to the stake, it freed 0.1 ETH of it)."""
    sc = scenario.build(w3, n_miners=1, n_verifiers=4)  # a fresh contract: the committee is the whole pool
    v0 = sc.verifiers[0]
    tasks = [sc.create_task(miner_bond=5 * ETH) for _ in range(2)]
    heads = [sc.pogo.task(t).head_root for t in tasks]
    salts = [sc.commit(v0, t, h, ROOT_A, DIFF) for t, h in zip(tasks, heads)]
    other_salt = sc.commit(sc.miners[0], tasks[0], heads[0], ROOT_B, DIFF)
    sc.to_reveals(tasks[1])
    own = [sc.reveal(v0, t, h, ROOT_A, DIFF, salt) for t, h, salt in zip(tasks, heads, salts)]
    assert sc.pogo.account(v0.address)["locked"] == 10 * ETH  # all its stake
    other = sc.reveal(sc.miners[0], tasks[0], heads[0], ROOT_B, DIFF, other_salt)
    members = draw(sc, other)
    assert v0.address in members
    vote(sc, other, members, [(v0.address != m, 1) for m in members])  # v0 alone rejects
    sc.pogo.finalize(other)
    settle_all(sc, other)
    assert sc.pogo.account(v0.address)["stake"] == 10 * ETH - ETH // 10
    assert sc.pogo.account(v0.address)["locked"] == 10 * ETH  # still the two open bonds
    vote(sc, own[0], draw(sc, own[0]), [(True, 1)] * 3)
    sc.pogo.finalize(own[0])
    assert sc.pogo.account(v0.address)["locked"] == 5 * ETH  # the other bond stays backed
    with expect("InsufficientFreeStake"):
        sc.as_(v0).request_unstake(5 * ETH - ETH // 10 + 1)
    vote(sc, own[1], draw(sc, own[1]), [(True, 1)] * 3)
    sc.pogo.finalize(own[1])
    assert sc.pogo.submission(own[1]).status == Status.ACCEPTED
    assert sc.pogo.account(v0.address)["locked"] == 0
    assert balanced(sc)


# -- attacks from the security review (docs/SECURITY.md) -------------------------------------

@pytest.mark.parametrize("field, value", [
    ("vote_blocks", 1), ("vote_blocks", 2**40), ("round_blocks", 2**40), ("verifier_slash_bps", 10_000),
    ("liveness_slash_bps", 10_000), ("verifier_bond", 0), ("verifier_bond", 2 * ETH), ("max_improvement", 0),
    ("max_improvement", 2**63 - 1), ("verifier_fee", ETH),
])
def test_a_task_creator_cannot_set_parameters_outside_the_protocol_bounds(sc, snapshot, field, value):
    """A 1-block vote window with a 100 % slash once drained online verifiers into the creator's
    pool; windows of 2^40 blocks locked stake forever; fees above the reward emptied the pool."""
    with expect("BadParams"):
        sc.create_task(**{field: value})


def test_a_creator_with_the_harshest_allowed_parameters_takes_nothing_from_verifiers(sc, snapshot):
    task = sc.create_task(vote_blocks=10, verifier_slash_bps=5_000, liveness_slash_bps=1_000, verifier_fee=0)
    sid = submit(sc, task)
    members = draw(sc, sid)
    sc.mine(21)  # nobody votes: every seat loses its liveness share of the seat bond, no more
    sc.pogo.finalize(sid)
    pool = sc.pogo.task(task).pool
    settle_all(sc, sid)
    for m in members:
        assert sc.pogo.account(m)["stake"] == 10 * ETH - ETH // 10
    assert sc.pogo.task(task).pool == pool  # burned, not paid to the creator's pool
    assert sc.pogo.withdrawable(sc.owner.address) == 0
    assert balanced(sc)


def test_deployment_bounds_are_checked(clients):
    from pogo.net.contract import Bounds, PoGOContract

    for kwargs in ({"unbonding_blocks": 2**40}, {"unbonding_blocks": 0}, {"min_verifier_stake": 0},
                   {"bounds": Bounds(max_vote_blocks=2**40)}, {"bounds": Bounds(min_vote_blocks=1)},
                   {"bounds": Bounds(max_verifier_slash_bps=10_001)}, {"bounds": Bounds(max_improvement=0)}):
        with pytest.raises(ChainError, match="BadDeployment"):
            PoGOContract.deploy(clients[0], **kwargs)


def test_a_verifier_cannot_unstake_its_way_out_of_a_slash(sc, task):
    """A member unstakes everything once seated (a seat locks nothing, D16): its unbonding stays
    slashable and cannot be withdrawn while the seat is open, so the slash still reaches it."""
    sid = submit(sc, task)
    members = draw(sc, sid)
    cheat = sc.as_(sc.by_address(members[3]))
    cheat.request_unstake(10 * ETH)
    vote(sc, sid, members, [(True, 10), (True, 10), (True, 10), (False, 0)])
    sc.pogo.finalize(sid)
    sc.mine(25)  # the unbonding has matured, but the seat is still open
    with expect("NothingToWithdraw"):
        cheat.withdraw()
    settle_all(sc, sid)
    account = sc.pogo.account(members[3])
    assert account["stake"] == 0 and account["unbonding"] == 10 * ETH - ETH // 10  # slashed from unbonding
    cheat.withdraw()
    assert sc.pogo.account(members[3])["unbonding"] == 0
    assert balanced(sc)


def test_seats_on_an_attackers_tasks_cannot_keep_honest_verifiers_off_a_committee(w3, snapshot):
    """Committee capture (SECURITY.md #16). Six honest verifiers hold exactly the minimum stake,
    two attackers a little more. On tasks of its own with 1-wei seat bonds and 1-wei miner bonds,
    the attacker has every honest verifier seated; when seats locked their bonds, a later draw on
    a task whose bond is the minimum skipped every honest verifier and seated only the attackers.
    Now the draw is the stake-weighted draw over the epoch's weights, open seats or not (D16)."""
    sc = scenario.build(w3, n_miners=3, n_verifiers=8, verifier_stake=ETH)
    honest, attackers = sc.verifiers[:6], sc.verifiers[6:]
    for a in attackers:
        sc.as_(a).stake(10**9)  # a 1-wei seat would not have pushed these below a 1 ETH bond
    sc.next_epoch()
    cheap = {"committee_size": 7, "verifier_bond": 1, "miner_bond": 1, "eval_fee": 0, "verifier_fee": 0,
             "round_reward": 0, "funding": 0}
    for _ in range(5):  # each draw seats 7 of the 8; five rounds of three seat everyone
        if all(sc.pogo.account(v.address)["open_seats"] for v in honest):
            break
        junk = sc.create_task(**cheap)
        for sid in submit_all(sc, junk, [(0, ROOT_A), (1, ROOT_B), (2, DIFF)]):
            draw(sc, sid)
    assert all(sc.pogo.account(v.address)["open_seats"] for v in honest)

    target = sc.create_task(verifier_bond=ETH)  # the minimum stake: any lock would have shut them out
    sid = submit(sc, target)
    members = draw(sc, sid)
    f = sc.pogo.contract.functions
    slots = seedstream.draw_committee(sc.pogo.seed(sid), epoch_weights(sc), 4, exclude=None)
    assert [f.slotOwner(i).call() for i in slots] == members
    assert len(members) == 4 and len(set(members) & {v.address for v in honest}) >= 2


def test_an_extreme_improvement_claims_no_more_than_the_cap_and_sums_cannot_overflow(sc, task):
    top = 2**63 - 1
    sids = submit_all(sc, task, [(0, ROOT_A), (1, ROOT_B)])
    for sid, gain in zip(sids, (top, 1_000_000)):
        members = draw(sc, sid)
        vote(sc, sid, members, [(True, gain)] * 3 + [None])
        sc.pogo.finalize(sid)
    assert sc.pogo.submission(sids[0]).improvement == 10_000_000  # the task's maxImprovement
    sc.to_close(task)
    sc.pogo.close_round(task)
    agg, _ = sc.as_(sc.miners[2]).propose_aggregate(task, ROOT_A, DIFF)
    vote(sc, agg, draw(sc, agg), [(True, 0)] * 4)
    sc.pogo.finalize(agg)  # the aggregate is the head: the round pays
    for i, sid in enumerate(sids):
        sc.as_(sc.miners[i]).claim_reward(sid)
    paid = [sc.pogo.withdrawable(sc.miners[i].address) for i in (0, 1)]
    assert paid == [3 * ETH * 10 // 11, 3 * ETH * 1 // 11]
    assert balanced(sc)


def test_eth_forced_into_the_contract_leaves_the_ledger_exact_and_withdrawals_working(sc, artifacts, task, w3):
    before = sc.pogo.accounted_balance()
    forcer = artifacts["ForceSend"]
    factory = w3.eth.contract(abi=forcer.abi, bytecode=forcer.bytecode)
    sc.owner._send(factory.constructor(sc.pogo.address), forcer.abi, value=ETH)
    assert sc.pogo.balance() == sc.pogo.accounted_balance() + ETH and sc.pogo.accounted_balance() == before
    v = sc.as_(sc.verifiers[0])
    v.request_unstake(ETH)
    sc.mine(21)
    v.withdraw()
    assert sc.pogo.balance() >= sc.pogo.accounted_balance() == before - ETH


def test_an_ended_task_returns_what_is_left_of_its_pool_to_its_owner(sc, task):
    stranger = sc.as_(sc.miners[0])
    with expect("NotOwner"):
        stranger.end_task(task)
    sid = submit(sc, task)
    sc.pogo.end_task(task)
    with expect("TaskIsEnded"):
        submit(sc, task, miner=1, root=ROOT_B)
    with expect("RoundStillOpen"):
        sc.pogo.reclaim_pool(task)
    sc.mine(258)
    sc.pogo.finalize(sid)  # expired: nobody drew it
    pool = sc.pogo.task(task).pool
    with expect("NotOwner"):
        stranger.reclaim_pool(task)
    sc.pogo.reclaim_pool(task)
    assert sc.pogo.withdrawable(sc.owner.address) == pool and sc.pogo.task(task).pool == 0
    with expect("NothingToClaim"):
        sc.pogo.reclaim_pool(task)
    assert balanced(sc)
