"""The offline toolchain: the solc shim, the devnet command line, and brownie's config."""

import json
import subprocess
import sys

import yaml

from pogo.dev import compiler, toolchain


def test_solc_shim_speaks_like_native_solc(tmp_path):
    version = subprocess.run([str(toolchain.solc()), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.splitlines()[-1].startswith("Version: 0.8.28+commit.")
    src = tmp_path / "A.sol"
    src.write_text("pragma solidity 0.8.28;\ncontract A { function f() external pure returns (uint) { return 7; } }\n")
    out = subprocess.run([str(toolchain.solc()), "--combined-json", "abi,bin", str(src)],
                         capture_output=True, text=True, check=True)
    compiled = json.loads(out.stdout)  # no SMT notice before the JSON
    assert compiled["contracts"][f"{src}:A"]["bin"].startswith("6080")


def test_large_standard_json_output_is_not_cut(tmp_path):
    """The PoGO build is well over the 64 KiB a pipe takes before process.exit() would cut it."""
    std = {"language": "Solidity", "settings": compiler.SETTINGS,
           "sources": {k: {"content": v} for k, v in compiler._sources(compiler.CONTRACTS_DIR).items()}}
    out = subprocess.run([str(toolchain.solc()), "--standard-json"], input=json.dumps(std), capture_output=True,
                         text=True, check=True)
    assert len(out.stdout) > 65536 and json.loads(out.stdout)["contracts"]["PoGO.sol"]["PoGO"]["abi"]


def test_brownie_config_matches_the_compiler_settings():
    cfg = yaml.safe_load((toolchain.REPO_ROOT / "brownie-config.yaml").read_text())
    solc = cfg["compiler"]["solc"]
    assert solc["version"] == toolchain.SOLC_VERSION and cfg["compiler"]["evm_version"] == compiler.SETTINGS["evmVersion"]
    assert solc["optimizer"] == compiler.SETTINGS["optimizer"] and solc["viaIR"] == compiler.SETTINGS["viaIR"]


def test_devnet_up_is_idempotent_and_down_stops_it(tmp_path):
    def pogo(*args):
        return subprocess.run([sys.executable, "-m", "pogo", "devnet", *args, "--state-dir", str(tmp_path)],
                              capture_output=True, text=True, timeout=120, check=False)

    first = pogo("up", "--block-time", "0")
    assert first.returncode == 0, first.stderr
    again = pogo("up")
    assert json.loads(again.stdout) == json.loads(first.stdout) and "already running" in again.stderr
    status = pogo("status")
    assert status.returncode == 0 and json.loads(status.stdout)["running"] is True
    pids = [json.loads(status.stdout)[k]["pid"] for k in ("anvil", "ipfs")]
    down = pogo("down")
    assert down.returncode == 0 and "anvil" in down.stderr and "ipfs" in down.stderr
    assert pogo("status").returncode == 1
    for pid in pids:
        assert not __import__("pogo.dev.devnet", fromlist=["_alive"])._alive(pid)


def test_devnet_names_the_busy_port(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "pogo", "devnet", "up", "--anvil-port", str(port),
                            "--state-dir", str(tmp_path)], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2 and f"port {port} for anvil is already taken" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_devnet_names_the_missing_binary(tmp_path):
    import os

    env = dict(os.environ, POGO_ANVIL=str(tmp_path / "no-anvil"))
    r = subprocess.run([sys.executable, "-m", "pogo", "devnet", "up", "--state-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, env=env, check=False)
    assert r.returncode == 2 and "anvil not found at" in r.stderr and "POGO_ANVIL" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
