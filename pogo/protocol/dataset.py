"""The dataset manifest (PROTOCOL.md D2): the shard CIDs, their token counts and the
tokenizer; its SHA-256 is the task's ``dataset_hash``."""

from __future__ import annotations

import hashlib

from pogo.protocol import canonical

BYTE_TOKENIZER = "bytes-utf8"   # the identity on UTF-8 bytes, vocabulary 256


def manifest_json(shard_cids: list[str], shard_tokens: list[int], tokenizer: str = BYTE_TOKENIZER) -> bytes:
    """Canonical JSON of the dataset; the last shard validates."""
    return canonical.dumps({"tokenizer": tokenizer, "validation_shard": len(shard_cids) - 1,
                            "shards": [{"cid": c, "tokens": n} for c, n in zip(shard_cids, shard_tokens)]})


def manifest_hash(manifest: bytes) -> bytes:
    return hashlib.sha256(manifest).digest()
