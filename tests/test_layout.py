"""The layering of docs/ARCHITECTURE.md, checked by parsing every import (not by convention),
and the shipped contract artifacts checked against a fresh compile."""

from __future__ import annotations

import ast
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from pogo.dev import compiler
from pogo.net import artifacts

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("workers", "verifier", "deploy", "explorer")


def imports_of(package: str) -> dict[str, set[str]]:
    """Every module under ``package`` -> the absolute names it imports (at any depth)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{module} imports {name}" for module, names in imports_of(package).items() for name in names
                  if any(name == f or name.startswith(f + ".") for f in forbidden))


def test_the_core_never_imports_a_role():
    assert offenders("pogo", ROLES) == []


def test_miners_and_verifiers_never_import_each_other():
    assert offenders("workers", ("verifier",)) == []
    assert offenders("verifier", ("workers",)) == []


def test_the_explorer_only_reads():
    """It serves what the chain says: no role, no training, nothing that signs for a role."""
    assert offenders("explorer", ("workers", "verifier", "deploy", "torch", "deepspeed")) == []


def test_the_protocol_is_pure():
    """No network, no processes, no node: only numbers, bytes and files."""
    assert offenders("pogo/protocol", ("pogo.net", "pogo.dev", "pogo.node", "pogo.context", "pogo.cli", "pogo.model",
                                       "web3", "ipfshttpclient", "requests", "subprocess", "socket", "torch")) == []


def test_the_model_and_the_network_need_no_developer_tools():
    assert offenders("pogo/model", ("pogo.net", "pogo.dev", "pogo.node", "pogo.context", "pogo.cli")) == []
    assert offenders("pogo/net", ("pogo.dev", "pogo.node", "pogo.context", "pogo.cli", "solcx")) == []


def test_the_layout_checks_can_fail():
    """The checker sees imports inside functions too (where the old CLI imported the roles)."""
    assert any("tests.vectors" in n for n in imports_of("benchmarks")["benchmarks/gas.py"])
    assert offenders("deploy", ("workers",)) != []


def test_role_commands_are_entry_points():
    names = {ep.name: ep.value for ep in entry_points(group="pogo.commands")}
    assert names == {"deploy": "deploy.cli:register", "miner": "workers.cli:register",
                     "verifier": "verifier.cli:register", "explorer": "explorer.cli:register"}


@pytest.mark.parametrize("name", artifacts.DEPLOYED)
def test_shipped_artifacts_equal_a_fresh_compile(name):
    """Run `make abi` when this fails: the contracts changed but pogo/net/abi/ did not."""
    fresh = compiler.compile_contracts()[name]
    shipped = artifacts.load(name)
    assert shipped.abi == fresh.abi
    assert shipped.bytecode == fresh.bytecode


def test_the_events_document_says_what_the_sources_say():
    """Run `make abi` when this fails: an event or its NatSpec changed but docs/EVENTS.md did not."""
    from pogo.dev import eventsdoc

    assert eventsdoc.EVENTS_MD.read_text() == eventsdoc.render()


def _signature(entry: dict) -> str:
    def canonical(arg: dict) -> str:
        if arg["type"].startswith("tuple"):
            return "(" + ",".join(canonical(c) for c in arg["components"]) + ")" + arg["type"][len("tuple"):]
        return arg["type"]
    return f"{entry['name']}({','.join(canonical(i) for i in entry['inputs'])})"


def test_the_interface_is_the_whole_contract_and_every_part_says_what_it_does():
    """contracts/interfaces/IPoGO.sol is what dApps build on: it declares every function, event and
    error the deployed PoGO has (but errors of internal libraries that only a broken invariant
    reaches), each with a @notice."""
    compiled = compiler.compile_contracts()
    iface = {(e["type"], _signature(e)) for e in compiled["IPoGO"].abi}
    deployed = {(e["type"], _signature(e)) for e in compiled["PoGO"].abi if e["type"] != "constructor"}
    library_errors = {("error", _signature(e)) for e in compiled["StakeTree"].abi if e["type"] == "error"}
    assert deployed - library_errors == iface
    docs = compiler.userdoc("IPoGO")
    section = {"function": "methods", "event": "events", "error": "errors"}
    undocumented = []
    for kind, sig in sorted(iface):
        doc = docs.get(section[kind], {}).get(sig)
        doc = doc[0] if isinstance(doc, list) else doc  # errors may have several declarations
        if not (doc or {}).get("notice"):
            undocumented.append(f"{kind} {sig}")
    assert undocumented == []


def test_python_enums_match_the_solidity_enums():
    """The IntEnums that nodes use carry the values the contracts give those names."""
    from pogo.net.contract import FraudKind, Param, Reason, Status

    defined = compiler.enums()

    def names(enum) -> list[str]:
        return [m.name.replace("_", "").lower() for m in sorted(enum, key=int)]
    for python, solidity in ((Status, "IPoGO.Status"), (Reason, "IPoGO.Reason"), (Param, "IPoGO.Param"),
                             (FraudKind, "IPoGO.FraudKind")):
        assert names(python) == [m.lower() for m in defined[solidity]], solidity
