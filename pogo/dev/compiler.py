"""Compile contracts/ offline with solc 0.8.28 through py-solc-x; cache by source hash.

The cache key covers every source file, the compiler version and the settings, so a
changed byte anywhere recompiles and an unchanged tree never does.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import solcx
from solcx.exceptions import SolcError

from pogo.dev import toolchain
from pogo.errors import PogoError
from pogo.net.artifacts import ABI_DIR, DEPLOYED, Artifact
from pogo.progress import ticking
from pogo.protocol.atomicfile import write_bytes_atomic

CONTRACTS_DIR = toolchain.REPO_ROOT / "contracts"
CACHE_DIR = Path(os.environ.get("POGO_BUILD_DIR", toolchain.REPO_ROOT / "build")) / "contracts"
SETTINGS = {
    "evmVersion": toolchain.EVM_VERSION,
    "optimizer": {"enabled": True, "runs": 200},
    "viaIR": True,
    "outputSelection": {"*": {"*": ["abi", "userdoc", "evm.bytecode.object", "evm.deployedBytecode.object"],
                              "": ["ast"]}},
}


def _sources(root: Path) -> dict[str, str]:
    files = sorted(root.rglob("*.sol"))
    if not files:
        raise PogoError(f"no Solidity sources under {root}")
    return {str(f.relative_to(root)): f.read_text() for f in files}


def _cache_key(sources: dict[str, str]) -> str:
    h = hashlib.sha256(json.dumps([toolchain.SOLC_VERSION, SETTINGS, sources], sort_keys=True).encode())
    return h.hexdigest()[:32]


def compile_contracts(root: Path = CONTRACTS_DIR, force: bool = False,
                      progress: Callable[[str], None] = lambda _: None) -> dict[str, Artifact]:
    """Every contract under ``root`` by name (names must be unique)."""
    output = _compile(root, force, progress)
    artifacts: dict[str, Artifact] = {}
    for contracts in output["contracts"].values():
        for name, c in contracts.items():
            if name in artifacts:
                raise PogoError(f"two contracts are named {name}")
            artifacts[name] = Artifact(name, c["abi"], "0x" + c["evm"]["bytecode"]["object"])
    return artifacts


def userdoc(name: str, root: Path = CONTRACTS_DIR) -> dict:
    """A contract's NatSpec for its users (@notice of functions, events and errors)."""
    for contracts in _compile(root, False, lambda _: None)["contracts"].values():
        if name in contracts:
            return contracts[name]["userdoc"]
    raise PogoError(f"no contract named {name} under {root}")


def enums(root: Path = CONTRACTS_DIR) -> dict[str, list[str]]:
    """Every enum of the sources, as "Contract.Enum" -> its members in order (value = index):
    the ABI carries an enum only as uint8 with that name in its internalType."""
    found: dict[str, list[str]] = {}
    for source in _compile(root, False, lambda _: None)["sources"].values():
        for unit in source["ast"]["nodes"]:
            for node in unit.get("nodes", []):
                if node.get("nodeType") == "EnumDefinition":
                    found[f"{unit['name']}.{node['name']}"] = [m["name"] for m in node["members"]]
    return found


def _compile(root: Path, force: bool, progress: Callable[[str], None]) -> dict:
    """solc's standard-json output for every file under ``root``, from the cache when unchanged."""
    sources = _sources(root)
    cached = CACHE_DIR / f"{_cache_key(sources)}.json"
    if cached.exists() and not force:
        output = json.loads(cached.read_text())
    else:
        progress(f"compiling {len(sources)} Solidity files with solc {toolchain.SOLC_VERSION}")
        std_input = {"language": "Solidity", "sources": {k: {"content": v} for k, v in sources.items()},
                     "settings": SETTINGS}
        try:
            with ticking(f"solc {toolchain.SOLC_VERSION}: {len(sources)} files"):
                output = solcx.compile_standard(std_input, solc_binary=toolchain.solc(), allow_paths=[str(root)])
        except SolcError as exc:
            first = str(exc).strip().splitlines()
            raise PogoError(f"solc failed: {' '.join(first[:6])}") from None
        errors = [e for e in output.get("errors", []) if e["severity"] == "error"]
        if errors:
            raise PogoError("solc: " + errors[0]["formattedMessage"].strip().splitlines()[0])
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(cached, json.dumps(output).encode())
    return output


def write_package_artifacts(force: bool = False, progress: Callable[[str], None] = lambda _: None) -> list[Path]:
    """Compile and write the deployed contracts' ABI and bytecode into pogo/net/abi/."""
    compiled = compile_contracts(force=force, progress=progress)
    ABI_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DEPLOYED:
        path = ABI_DIR / f"{name}.json"
        write_bytes_atomic(path, compiled[name].to_json())
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_package_artifacts(progress=print):
        print(f"wrote {path}")
