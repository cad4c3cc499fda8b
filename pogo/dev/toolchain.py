"""Where the project's external programs live: all of them come from npm into node_modules/.

Each can be overridden by an environment variable, for users who run their own (a native
solc, Kubo instead of js-ipfs, an anvil from foundryup).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pogo.errors import PogoError

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = Path(os.environ.get("POGO_NODE_MODULES", REPO_ROOT / "node_modules"))
SOLC_VERSION = "0.8.28"
EVM_VERSION = "cancun"
POLYFILL = REPO_ROOT / "deploy" / "node-polyfill.cjs"

_SETUP_HINT = "run `make setup` (or `npm ci --ignore-scripts`) in the project root"


def _existing(path: Path, what: str, env: str) -> Path:
    if not path.is_file() or not os.access(path, os.X_OK):
        raise PogoError(f"{what} not found at {path}: {_SETUP_HINT}, or set {env}")
    return path


def node() -> Path:
    found = shutil.which(os.environ.get("POGO_NODE", "node"))
    if not found:
        raise PogoError("node (Node.js 20 or newer) is not on PATH: install it (apt-get install nodejs), or set POGO_NODE")
    return Path(found)


def anvil() -> Path:
    """The real anvil binary, not npm's Node launcher in front of it."""
    default = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    return _existing(Path(os.environ.get("POGO_ANVIL", default)), "anvil", "POGO_ANVIL")


def forge() -> Path:
    """forge, for the invariant tests in tests/forge/ (the real binary of @foundry-rs/forge)."""
    default = NODE_MODULES / "@foundry-rs" / "forge-linux-amd64" / "bin" / "forge"
    return _existing(Path(os.environ.get("POGO_FORGE", default)), "forge", "POGO_FORGE")


def ganache() -> Path:
    """Ganache 7.9.2 (npm), the other local chain `pogo devnet up --chain ganache` runs."""
    default = NODE_MODULES / ".bin" / "ganache"
    return _existing(Path(os.environ.get("POGO_GANACHE", default)), "ganache (npm ganache@7.9.2)", "POGO_GANACHE")


def jsipfs() -> Path:
    default = NODE_MODULES / ".bin" / "jsipfs"
    return _existing(Path(os.environ.get("POGO_JSIPFS", default)), "jsipfs (npm ipfs@0.66.1)", "POGO_JSIPFS")


def solc() -> Path:
    """solc 0.8.28: the npm module behind deploy/solc, or a native binary from POGO_SOLC."""
    if "POGO_SOLC" in os.environ:
        return _existing(Path(os.environ["POGO_SOLC"]), "solc", "POGO_SOLC")
    if not (NODE_MODULES / "solc" / "soljson.js").is_file():
        raise PogoError(f"the npm solc module is missing from {NODE_MODULES}: {_SETUP_HINT}")
    return REPO_ROOT / "deploy" / "solc"


def node_env() -> dict[str, str]:
    """The environment for js-ipfs: Node 20 lacks Promise.withResolvers, so preload a polyfill."""
    env = dict(os.environ)
    env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} --require {POLYFILL}".strip()
    return env
