"""Ganache 7.9.2 as the local chain (`pogo devnet up --chain ganache`): the contracts through a
whole round, revert reasons decoded by name, the whole contract test module, and one round of
the demo (DeepSpeed miners, verifier bots, aggregation) on it."""

from __future__ import annotations

import pytest

from deploy import demo, scenario
from pogo.dev.devnet import Devnet
from pogo.net import chain
from pogo.net.chain import ChainError
from pogo.net.contract import PoGOContract, Reason, Status


@pytest.fixture(scope="module")
def ganache(tmp_path_factory):
    net = Devnet(tmp_path_factory.mktemp("ganache"))
    state = net.up(chain="ganache")
    yield state
    net.down()


def test_a_round_on_ganache_accepts_pays_and_closes(ganache):
    w3 = chain.connect(ganache.rpc_url)
    assert "Ganache" in w3.client_version
    sc = scenario.build(w3, pogo=PoGOContract.deploy(chain.Client(w3, chain.dev_account(0))))
    task = sc.create_task()
    sid = sc.submit(sc.miners[0], task, b"\x0a" * 32, b"\x0d" * 32)
    members, _ = sc.draw(sid)
    sc.vote(sid, [(m, True, 100_000, Reason.OK) for m in members])
    sc.pogo.finalize(sid)
    assert sc.pogo.submission(sid).status == Status.ACCEPTED
    for seat in range(len(members)):
        sc.pogo.settle_seat(sid, seat)
    sc.to_close(task)
    sc.pogo.close_round(task)
    assert sc.pogo.task(task).head_root == b"\x0a" * 32
    assert sc.pogo.claim_reward(sid)["status"] == 1
    with pytest.raises(ChainError, match=r"^transaction reverted: NothingToClaim\("):  # Ganache's revert data
        sc.pogo.claim_reward(sid)
    assert sc.pogo.accounted_balance() == sc.pogo.balance()


def test_one_demo_round_on_ganache(tmp_path):
    report = demo.run(rounds=1, state_dir=tmp_path / "demo", steps=5, chain_name="ganache")
    result = demo.verdict(report)
    assert result == {k: True for k in result}, result
    assert len(report["rounds"][0]["submissions"]) == 4


def test_the_contract_tests_pass_on_ganache():
    """tests/test_contracts.py, every revert path and attack of the contract tests, on Ganache."""
    import os
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_contracts.py"],
                       env=dict(os.environ, POGO_TEST_CHAIN="ganache"), capture_output=True, text=True, timeout=900,
                       check=False)
    assert r.returncode == 0, r.stdout[-3000:]
    assert " passed" in r.stdout.splitlines()[-1] and "failed" not in r.stdout.splitlines()[-1]
