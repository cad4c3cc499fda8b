"""The compiled contracts that nodes talk to, shipped as package data (``pogo/net/abi/``):
a miner, a verifier or an explorer never needs solc. ``make abi`` regenerates them from
contracts/ (pogo.dev.compiler), and a test checks that they equal a fresh compile."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pogo.errors import PogoError

ABI_DIR = Path(__file__).resolve().parent / "abi"
DEPLOYED = ("PoGO", "LeafFraud")  # every contract a deployment creates (PoGO creates LeafFraud)


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list
    bytecode: str  # 0x-hex creation code

    def to_json(self) -> bytes:
        return (json.dumps({"name": self.name, "abi": self.abi, "bytecode": self.bytecode}, indent=1) + "\n").encode()


def load(name: str) -> Artifact:
    path = ABI_DIR / f"{name}.json"
    try:
        body = json.loads(path.read_text())
    except FileNotFoundError:
        raise PogoError(f"the shipped artifact {path} is missing: run `make abi`, or reinstall pogo") from None
    return Artifact(body["name"], body["abi"], body["bytecode"])
