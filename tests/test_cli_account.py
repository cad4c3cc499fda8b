"""The account lifecycle from the command line, as a new operator runs it against the real
devnet: deploy (and not overwrite a live deployment), stake, status, unstake, withdraw; amounts
read and printed in ETH; a stale deployment record stops a command before it sends anything."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from deploy.scenario import mine
from pogo.net import chain
from pogo.node import eth, parse_eth

ACCOUNT = 17  # a development account no other test stakes with


@pytest.mark.parametrize("text, wei", [("1.5", 15 * 10**17), ("1.5eth", 15 * 10**17), ("2 ETH", 2 * 10**18),
                                       ("1500000000000000000wei", 15 * 10**17), ("1wei", 1), ("1e-18", 1)])
def test_amounts_read_in_eth_or_wei(text, wei):
    assert parse_eth(text) == wei


@pytest.mark.parametrize("text, message", [("0", "positive"), ("-1", "positive"), ("1.5wei", "whole number of wei"),
                                           ("1e-19", "whole number of wei"), ("one", "not an amount"),
                                           ("nan", "positive"), ("1.5 gwei", "not an amount")])
def test_bad_amounts_say_what_is_wrong(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_eth(text)


def test_amounts_print_in_eth_exactly():
    assert [eth(w) for w in (0, 1, 15 * 10**17, 10**18, 123 * 10**18)] == ["0", "0.000000000000000001", "1.5", "1",
                                                                         "123"]


def test_an_operator_deploys_stakes_unstakes_and_withdraws_from_the_command_line(devnet, w3, snapshot, tmp_path):
    record = tmp_path / "deployment.json"
    address = chain.dev_account(ACCOUNT).address

    def pogo(*args: str, account: int = ACCOUNT) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pogo", *args, "--rpc", devnet.rpc_url, "--ipfs", devnet.ipfs_api,
                               "--deployment", str(record), "--dev-account", str(account)],
                              capture_output=True, text=True, timeout=120, check=False)

    def refused(r: subprocess.CompletedProcess, words: str) -> None:
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr

    r = pogo("deploy", "--unbonding-blocks", "3", account=0)
    assert r.returncode == 0, r.stderr
    deployed = json.loads(r.stdout)["address"]
    refused(pogo("deploy", account=0), "already names a live contract")  # nothing overwritten
    assert json.loads(record.read_text())["address"] == deployed
    r = pogo("task", "list")
    assert r.returncode == 0 and json.loads(r.stdout) == [], r.stderr
    refused(pogo("task", "show", "1"), "there is no task 1: this deployment has 0")

    r = pogo("miner", "stake", "--amount", "1.5eth")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["stake_eth"] == "1.5"
    r = subprocess.run([sys.executable, "-m", "pogo", "status", "--address", address, "--rpc", devnet.rpc_url,
                        "--ipfs", devnet.ipfs_api, "--deployment", str(record)],
                       capture_output=True, text=True, timeout=120, check=False)  # read-only: no key
    status = json.loads(r.stdout)
    assert (status["stake_eth"], status["free_eth"], status["withdrawable_eth"]) == ("1.5", "1.5", "0")

    refused(pogo("miner", "unstake", "--amount", "2"), "only 1.5 ETH")
    r = pogo("miner", "unstake", "--amount", "500000000000000000wei")
    assert r.returncode == 0, r.stderr
    status = json.loads(r.stdout)
    assert (status["stake_eth"], status["unbonding_eth"], status["unbonding_ready"]) == ("1", "0.5", False)
    refused(pogo("miner", "withdraw"), f"0.5 ETH is unbonding until block {status['unbonding_ready_block']}")

    mine(w3, 3)
    before = w3.eth.get_balance(address)
    r = pogo("miner", "withdraw")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["withdrawn_eth"], out["unbonding_eth"], out["stake_eth"]) == ("0.5", "0", "1")
    assert w3.eth.get_balance(address) > before + 49 * 10**16  # 0.5 ETH less gas
    refused(pogo("miner", "withdraw"), "nothing is owed")


def test_a_stale_deployment_record_stops_a_stake_before_any_eth_is_sent(devnet, w3, tmp_path):
    """A record from before the chain restarted names an address with no code: ETH sent there
    would be lost, so the command stops and says what to do."""
    record = tmp_path / "deployment.json"
    record.write_text(json.dumps({"chain_id": w3.eth.chain_id, "address": "0x" + "12" * 20, "block": 0,
                                  "rpc_url": devnet.rpc_url}))
    address = chain.dev_account(ACCOUNT).address
    before = w3.eth.get_balance(address)
    r = subprocess.run([sys.executable, "-m", "pogo", "miner", "stake", "--amount", "1", "--rpc", devnet.rpc_url,
                        "--ipfs", devnet.ipfs_api, "--deployment", str(record), "--dev-account", str(ACCOUNT)],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2 and "no contract there" in r.stderr and "pogo deploy" in r.stderr, r.stderr
    assert w3.eth.get_balance(address) == before
    record.write_text(json.dumps({"chain_id": w3.eth.chain_id + 1, "address": "0x" + "12" * 20, "block": 0,
                                  "rpc_url": devnet.rpc_url}))
    r = subprocess.run([sys.executable, "-m", "pogo", "deploy", "--rpc", devnet.rpc_url, "--ipfs", devnet.ipfs_api,
                        "--deployment", str(record), "--dev-account", "0"],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2 and "records a deployment on chain" in r.stderr, r.stderr


def test_a_verifier_outside_the_pool_is_told_to_stake_and_a_second_bot_on_one_key_is_refused(
        devnet, w3, snapshot, tmp_path, monkeypatch):
    from pogo.errors import PogoError
    from pogo.net.contract import PoGOContract
    from pogo.node import _HELD_LOCKS, hold_role_lock

    record = tmp_path / "deployment.json"
    monkeypatch.setenv("POGO_LOCK_DIR", str(tmp_path / "locks"))  # the subprocesses inherit it

    def pogo(*args: str, account: int = ACCOUNT) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pogo", *args, "--rpc", devnet.rpc_url, "--ipfs", devnet.ipfs_api,
                               "--deployment", str(record), "--dev-account", str(account)],
                              capture_output=True, text=True, timeout=120, check=False)

    assert pogo("deploy", account=0).returncode == 0
    r = pogo("verifier", "run", "--task", "1", "--once")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "is not in the verifier pool" in r.stderr and "`pogo verifier stake --amount 1`" in r.stderr, r.stderr
    assert pogo("verifier", "stake", "--amount", "1").returncode == 0

    twin = PoGOContract.at(chain.Client(w3, chain.dev_account(ACCOUNT)), chain.Deployment.load(record))
    held = hold_role_lock(twin, "verifier")  # this test process plays the bot already running
    try:
        r = pogo("verifier", "run", "--task", "1", "--once")
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert f"a verifier for {twin.client.address} already runs on this network (pid " in r.stderr, r.stderr
        with pytest.raises(PogoError, match="already runs"):
            hold_role_lock(twin, "verifier")
        hold_role_lock(twin, "miner")  # one lock per role: a miner on the same key is another matter
    finally:
        while _HELD_LOCKS:
            _HELD_LOCKS.pop().close()  # what the process's exit does
    assert hold_role_lock(twin, "verifier") == held  # free again once its holder is gone
    _HELD_LOCKS.pop().close()


def test_every_command_and_option_has_help_text():
    from pogo.cli import build_parser

    missing = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {a.dest for a in action._choices_actions if a.help}
                missing.extend(f"{path} {name}" for name in action.choices if name not in helped)
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "pogo")
    assert not missing, missing
