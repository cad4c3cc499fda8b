"""Shared fixtures: one real Anvil + js-ipfs network per test session, the contracts deployed
once, and an EVM snapshot reverted after every test that changes the chain."""

from __future__ import annotations

import os

import pytest

from pogo.dev import compiler
from pogo.dev.devnet import Devnet
from pogo.net import chain
from pogo.net.contract import PoGOContract

# Fail loudly rather than skip when a tool is missing: these are real parts of the system.
os.environ.setdefault("PYTHONHASHSEED", "0")


@pytest.fixture(scope="session")
def devnet(tmp_path_factory):
    net = Devnet(tmp_path_factory.mktemp("devnet"))
    # POGO_TEST_CHAIN=ganache runs a module on Ganache instead (tests/test_ganache.py does, for the
    # contract tests).
    state = net.up(chain=os.environ.get("POGO_TEST_CHAIN", "anvil"))  # PogoError names a missing binary or busy port
    yield state
    net.down()


@pytest.fixture(scope="session")
def w3(devnet):
    return chain.connect(devnet.rpc_url)


@pytest.fixture(scope="session")
def artifacts():
    return compiler.compile_contracts()


@pytest.fixture(scope="session")
def clients(w3):
    """Signers for Anvil's 20 development accounts."""
    return [chain.Client(w3, chain.dev_account(i)) for i in range(20)]


@pytest.fixture(scope="session")
def deployed(clients):
    return PoGOContract.deploy(clients[0], unbonding_blocks=20, min_verifier_stake=10**18)


@pytest.fixture
def snapshot(w3):
    """Undo every change a test makes to the chain."""
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    yield
    assert w3.provider.make_request("evm_revert", [snap])["result"] is True
