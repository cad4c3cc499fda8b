"""brownie (eth-brownie 1.22, `make brownie`) on this project: `brownie compile` with the repo's
settings, then `brownie run` of the deploy script against the local Anvil, and the deployed code
checked from this side."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from pogo.dev import toolchain
from pogo.net import chain
from pogo.net.contract import PoGOContract

BROWNIE = toolchain.REPO_ROOT / ".brownie-venv" / "bin" / "brownie"


def test_brownie_compiles_and_deploys_to_the_local_anvil(devnet, w3, tmp_path):
    assert BROWNIE.exists(), f"{BROWNIE} is missing: run `make brownie` (make test does)"
    # brownie imports a script by its absolute path with dots for slashes, so a checkout under a
    # folder with a dot in its name (mktemp's /tmp/tmp.X) cannot run one: the project is copied.
    project = tmp_path / "project"
    assert "." not in "".join(project.parts[1:]), f"{project}: brownie needs a path without dots"
    shutil.copytree(toolchain.REPO_ROOT / "contracts", project / "contracts")
    (project / "deploy").mkdir()
    shutil.copy(toolchain.REPO_ROOT / "deploy" / "brownie_deploy.py", project / "deploy")
    shutil.copy(toolchain.REPO_ROOT / "brownie-config.yaml", project)
    (project / "build" / "brownie").mkdir(parents=True)
    # brownie keeps its networks in ~/.brownie: a home of its own; solc is the repo's (make solcx)
    env = dict(os.environ, HOME=str(tmp_path), SOLCX_BINARY_PATH=str(Path.home() / ".solcx"))

    def brownie(*args: str) -> str:
        r = subprocess.run([str(BROWNIE), *args], cwd=project, env=env, capture_output=True, text=True,
                           timeout=600, check=False)
        assert r.returncode == 0 and "Traceback" not in r.stdout + r.stderr, (r.stdout + r.stderr)[-3000:]
        return r.stdout

    assert "Project has been compiled" in brownie("compile")
    port = devnet.rpc_url.rsplit(":", 1)[1]
    brownie("networks", "add", "Development", "pogo-test", "host=http://127.0.0.1", f"port={port}",
            f"cmd={toolchain.anvil()}")
    out = brownie("run", "deploy/brownie_deploy.py", "--network", "pogo-test")
    address = re.search(r"PoGO deployed at (0x[0-9a-fA-F]{40})", out).group(1)
    pogo = PoGOContract.at(chain.Client(w3, chain.dev_account(0)), chain.Deployment(w3.eth.chain_id, address, 0, ""))
    assert len(w3.eth.get_code(address)) > 20_000
    assert pogo.contract.functions.taskCount().call() == 0
    assert pogo.contract.functions.minVerifierStake().call() == 10**18
    assert w3.eth.get_code(pogo.contract.functions.leafFraud().call())  # its checker, created with it
