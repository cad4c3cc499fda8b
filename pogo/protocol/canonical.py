"""Canonical JSON (PROTOCOL.md D1): sorted keys, no whitespace, ASCII. Every document whose
SHA-256 is committed somewhere (task spec, model manifest, dataset manifest) is written this
way, so that every machine hashes the same bytes."""

from __future__ import annotations

import hashlib
import json


def dumps(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256(obj: object) -> bytes:
    return hashlib.sha256(dumps(obj)).digest()
