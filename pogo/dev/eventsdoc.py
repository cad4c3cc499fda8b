"""docs/EVENTS.md from the contracts' NatSpec: every event of the deployed contract, its fields and
what it means, for dApps and indexers. `make abi` rewrites it; tests/test_layout.py fails while it
differs from what the sources say.

    python -m pogo.dev.eventsdoc
"""

from __future__ import annotations

from pathlib import Path

from pogo.dev import compiler, toolchain
from pogo.protocol.atomicfile import write_bytes_atomic

EVENTS_MD = toolchain.REPO_ROOT / "docs" / "EVENTS.md"


def render(contract: str = "PoGO") -> str:
    abi = compiler.compile_contracts()[contract].abi
    notices = compiler.userdoc(contract).get("events", {})
    lines = [f"# Events of {contract}", "",
             "Generated from the contracts' NatSpec by `python -m pogo.dev.eventsdoc` (`make abi`); do not edit.",
             "Amounts are in wei, roots are SHA-256 Merkle roots (PROTOCOL.md section 2), `indexed` fields are",
             "log topics a filter can match.", ""]
    for event in sorted((e for e in abi if e["type"] == "event"), key=lambda e: e["name"]):
        types = ",".join(_type(i) for i in event["inputs"])
        notice = notices.get(f"{event['name']}({types})", {}).get("notice", "")
        if not notice:
            raise SystemExit(f"event {event['name']} has no @notice in the sources: write one")
        lines += [f"## {event['name']}", "", " ".join(notice.split()), "", "| field | type | indexed |",
                  "| --- | --- | --- |"]
        lines += [f"| `{i['name']}` | `{i.get('internalType', i['type'])}` | {'yes' if i['indexed'] else ''} |"
                  for i in event["inputs"]]
        lines.append("")
    used = sorted({i["internalType"][len("enum "):] for e in abi if e["type"] in ("event", "error", "function")
                   for i in e["inputs"] if i.get("internalType", "").startswith("enum ")})
    defined = compiler.enums()
    lines += ["## Enums", "", "Fields typed `enum X` are `uint8` in the ABI and in logs; their values are:", ""]
    for name in used:
        values = ", ".join(f"{k} `{m}`" for k, m in enumerate(defined[name]))
        lines += [f"- `{name}`: {values}"]
    lines.append("")
    return "\n".join(lines)


def _type(arg: dict) -> str:
    """The canonical type in an event signature (tuples spelled out)."""
    if arg["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in arg["components"]) + ")" + arg["type"][len("tuple"):]
    return arg["type"]


def write(path: Path = EVENTS_MD) -> Path:
    write_bytes_atomic(path, render().encode())
    return path


if __name__ == "__main__":
    print(f"wrote {write()}")
