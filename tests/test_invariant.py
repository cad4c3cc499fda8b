"""Fuzz: whatever anyone does, the contract's balance equals stakes + unbonding + withdrawable
+ escrow (task pools, reward pots, slashed stake on its way to its recipients) + burned. (With
no ETH forced in, `>=` of the contract's invariant holds with equality.)"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy import scenario
from deploy.scenario import ETH
from pogo.net.chain import ChainError
from pogo.net.contract import Reason, Status

ACTIONS = ["stake", "unstake", "withdraw", "commit", "reveal", "draw", "vote", "reveal_vote", "finalize", "settle",
           "close", "claim", "fund", "aggregate", "mine"]


@pytest.fixture(scope="module")
def world(w3, deployed):
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    sc = scenario.build(w3, pogo=deployed, n_miners=3, n_verifiers=6)
    task = sc.create_task(round_blocks=12, vote_blocks=10)
    yield sc, task
    w3.provider.make_request("evm_revert", [snap])


def _act(sc, task, action: str, actor: int, amount: int, sids: list[int], secrets: dict) -> None:
    people = [*sc.miners, *sc.verifiers]
    who = people[actor % len(people)]
    me = sc.as_(who)
    sid = sids[actor % len(sids)] if sids else 0
    if action == "stake":
        me.stake(amount)
    elif action == "unstake":
        me.request_unstake(amount)
    elif action == "withdraw":
        me.withdraw()
    elif action == "commit":
        head = sc.pogo.task(task).head_root
        root = hashlib.sha256(bytes([actor, amount % 251])).digest()
        salt = sc.commit(who, task, head, root, b"\x01" * 32)
        secrets[("update", who.address)] = (head, root, salt)
    elif action == "reveal":
        if ("update", who.address) in secrets:
            head, root, salt = secrets[("update", who.address)]
            sids.append(sc.reveal(who, task, head, root, b"\x01" * 32, salt))
    elif action == "draw":
        sc.draw(sid, as_=who)
    elif action == "vote":
        members = sc.pogo.committee(sid)
        if members:
            approve = amount % 3 != 0
            ballot = (members[actor % len(members)], approve, amount % 1000,
                      Reason.OK if approve else Reason.NO_PROGRESS)
            secrets[("vote", sid, ballot[0])] = (ballot, sc.commit_votes(sid, [ballot])[0])
    elif action == "reveal_vote":
        for key, value in list(secrets.items()):
            if key[0] == "vote" and key[1] == sid:
                sc.reveal_votes(sid, [value[0]], [value[1]])
    elif action == "finalize":
        me.finalize(sid)
    elif action == "settle":
        me.settle_seat(sid, actor % 4)
    elif action == "close":
        me.close_round(task)
    elif action == "claim":
        me.claim_reward(sid)
    elif action == "fund":
        me.fund_task(task, amount)
    elif action == "aggregate":
        new, _ = me.propose_aggregate(task, hashlib.sha256(bytes([amount % 256])).digest(), b"\x02" * 32)
        sids.append(new)
    else:
        sc.mine(1 + amount % 8)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 20), st.integers(1, 3 * ETH)),
                      min_size=10, max_size=45))
def test_balance_always_equals_the_accounted_sum(world, w3, steps):
    sc, task = world
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        sids: list[int] = []
        secrets: dict = {}
        for action, actor, amount in steps:
            try:
                _act(sc, task, action, actor, amount, sids, secrets)
            except ChainError:
                pass  # a revert changes nothing; the invariant is checked all the same
            assert sc.pogo.accounted_balance() == sc.pogo.balance(), f"after {action}"
        for sid in sids:  # a finalized submission never changes state again
            s = sc.pogo.submission(sid)
            if s.status in (Status.ACCEPTED, Status.REJECTED, Status.EXPIRED):
                with pytest.raises(ChainError, match="WrongStatus"):
                    sc.pogo.finalize(sid)
    finally:
        w3.provider.make_request("evm_revert", [snap])

