"""The dataset manifest (PROTOCOL.md D2): the shard CIDs, their token counts, how the tokens
are stored and the tokenizer; its SHA-256 is the task's ``dataset_hash``.

A shard is its token ids as little-endian unsigned integers of the manifest's ``dtype``
(``uint8`` where absent: the first version's byte shards).
"""

from __future__ import annotations

import hashlib

import numpy as np

from pogo.errors import FormatError
from pogo.protocol import canonical

BYTE_TOKENIZER = "bytes-utf8"   # the identity on UTF-8 bytes, vocabulary 256
DTYPES = {"uint8": "<u1", "uint16": "<u2", "uint32": "<u4"}


def dtype_for(vocab_size: int) -> str:
    """The narrowest stored type that holds every id of a vocabulary."""
    for name, code in DTYPES.items():
        if vocab_size <= np.iinfo(np.dtype(code)).max + 1:
            return name
    raise FormatError(f"a vocabulary of {vocab_size} does not fit 32-bit token ids")


def token_dtype(name: str) -> np.dtype:
    if name not in DTYPES:
        raise FormatError(f"unknown token dtype {name!r}: one of {', '.join(DTYPES)}")
    return np.dtype(DTYPES[name])


def manifest_json(shard_cids: list[str], shard_tokens: list[int], tokenizer: str = BYTE_TOKENIZER,
                  dtype: str = "uint8", tokenizer_cid: str | None = None, tokenizer_sha256: str | None = None,
                  vocab_size: int = 256) -> bytes:
    """Canonical JSON of the dataset; the last shard validates. A tokenizer other than bytes is
    published too (``tokenizer_cid``, with its SHA-256), so anyone can decode the shards."""
    body = {"tokenizer": tokenizer, "validation_shard": len(shard_cids) - 1, "dtype": dtype,
            "vocab_size": vocab_size, "shards": [{"cid": c, "tokens": n} for c, n in zip(shard_cids, shard_tokens)]}
    if tokenizer_cid:
        body["tokenizer_cid"], body["tokenizer_sha256"] = tokenizer_cid, tokenizer_sha256
    return canonical.dumps(body)


def manifest_hash(manifest: bytes) -> bytes:
    return hashlib.sha256(manifest).digest()
