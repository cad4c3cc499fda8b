"""The shared test vectors, loaded by both the Python and the Solidity tests."""

import json
from pathlib import Path

HERE = Path(__file__).parent


def load(name: str) -> dict:
    return json.loads((HERE / f"{name}.json").read_text())


def b(hex_str: str) -> bytes:
    return bytes.fromhex(hex_str.removeprefix("0x"))
