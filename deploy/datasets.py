"""A task's dataset from local files: documents read, tokenized, joined and cut into shards.

Formats, by suffix: ``.txt``/``.md`` (one document per file), ``.jsonl`` (one document per
line, its ``text`` field) and ``.parquet`` (one document per row of its ``text`` column). The
name ``shakespeare`` is the bundled corpus (deploy.corpus). Tokenizers: ``bytes`` (UTF-8
bytes, vocabulary 256) or a Hugging Face ``tokenizer.json``, run by the ``tokenizers``
library. Documents are joined by the model's end-of-sequence token where it names one (by a
blank line under the byte tokenizer).
Token ids are stored as the narrowest unsigned integer that holds the vocabulary.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deploy import corpus
from pogo import progress
from pogo.errors import FormatError
from pogo.protocol import dataset

BUNDLED = "shakespeare"
TEXT_SUFFIXES = (".txt", ".md")
SUFFIXES = (*TEXT_SUFFIXES, ".jsonl", ".parquet")


@dataclass(frozen=True)
class Tokenizer:
    """``bytes`` or a tokenizer.json; ``raw`` is what the task publishes for it."""

    name: str                 # dataset.BYTE_TOKENIZER or "tokenizers"
    vocab_size: int
    raw: bytes = b""
    _impl: object = None

    @classmethod
    def load(cls, path: Path | None) -> Tokenizer:
        if path is None or str(path) == "bytes":
            return cls(dataset.BYTE_TOKENIZER, 256)
        from tokenizers import Tokenizer as HfTokenizer

        path = Path(path)
        try:
            raw = path.read_bytes()
            impl = HfTokenizer.from_str(raw.decode())
        except FileNotFoundError:
            raise FormatError(f"{path} does not exist: --tokenizer takes a tokenizer.json or `bytes`") from None
        except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception for a bad file
            raise FormatError(f"{path} is not a tokenizer.json: {str(exc).splitlines()[0][:200]}") from None
        return cls("tokenizers", impl.get_vocab_size(with_added_tokens=True), raw, impl)

    def encode(self, texts: list[str]) -> list[np.ndarray]:
        if self._impl is None:
            return [np.frombuffer(t.encode("utf-8"), dtype=np.uint8) for t in texts]
        return [np.asarray(e.ids, dtype=np.int64) for e in self._impl.encode_batch(texts, add_special_tokens=False)]


def _documents(path: Path) -> Iterator[str]:
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        yield path.read_text(encoding="utf-8", errors="replace")
    elif suffix == ".jsonl":
        with path.open("rb") as f:
            for n, raw in enumerate(f, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise FormatError(f"{path}:{n}: not UTF-8 text") from None
                if not line.strip():
                    continue
                try:
                    text = json.loads(line)["text"]
                except (ValueError, KeyError, TypeError):
                    raise FormatError(f"{path}:{n}: each line must be a JSON object with a `text` string") from None
                if not isinstance(text, str):
                    raise FormatError(f"{path}:{n}: `text` must be a string")
                yield text
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path, columns=["text"])
        except (pa.ArrowException, KeyError, ValueError, OSError) as exc:
            raise FormatError(f"{path}: cannot read a `text` column: {str(exc).splitlines()[0][:200]}") from None
        for n, text in enumerate(table.column("text").to_pylist()):
            if text is not None and not isinstance(text, str):
                raise FormatError(f"{path}: row {n}: `text` must be a string, not {type(text).__name__}")
            if text:
                yield text
    else:
        raise FormatError(f"{path}: unknown data format; use {', '.join(SUFFIXES)} (or `{BUNDLED}`)")


def files(specs: list[str | Path]) -> list[Path]:
    """The data files named (a directory stands for its data files, sorted)."""
    out: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            # hidden files and folders (.git, .cache) are not data
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise FormatError(f"{path} holds no {', '.join(SUFFIXES)} files")
            out.extend(found)
        elif path.exists():
            out.append(path)
        else:
            raise FormatError(f"{path} does not exist (--dataset takes files, directories or `{BUNDLED}`)")
    return out


def tokenize(specs: list[str | Path], tokenizer: Tokenizer, eos: int | None) -> np.ndarray:
    """Every document's token ids (int64), in order, joined by ``eos`` where given."""
    if [str(s) for s in specs] == [BUNDLED]:
        texts = [p.read_text(encoding="utf-8") for p in corpus.play_files()]
    else:
        texts = []
        paths = files(specs)
        with progress.bar(len(paths), "reading", unit="file") as b:
            for path in paths:
                texts.extend(_documents(path))
                b.update(1)
    if not texts:
        raise FormatError("the dataset holds no documents")
    if tokenizer.name == dataset.BYTE_TOKENIZER:
        sep = np.frombuffer(b"\n\n", dtype=np.uint8).astype(np.int64)   # a blank line between documents
    else:
        sep = np.asarray([] if eos is None else [eos], dtype=np.int64)
    pieces: list[np.ndarray] = []
    chunk = 1024  # documents per batch: tokenizers runs a batch on every core; the bar moves per batch
    with progress.bar(len(texts), "tokenizing", unit="doc") as b:
        for start in range(0, len(texts), chunk):
            for i, ids in enumerate(tokenizer.encode(texts[start:start + chunk]), start):
                if i:
                    pieces.append(sep)
                pieces.append(ids.astype(np.int64))
            b.update(min(chunk, len(texts) - start))
    return np.concatenate(pieces)


def shards(tokens: np.ndarray, n_shards: int, window: int, min_windows: int) -> list[np.ndarray]:
    """S equal shards (the last validates); FormatError if one would hold fewer than
    ``min_windows`` windows of ``window`` tokens."""
    if n_shards < 2:
        raise FormatError("a task needs at least 2 shards: one to train on, the last to validate")
    size = len(tokens) // n_shards
    if size < min_windows * window:
        raise FormatError(f"the dataset has {len(tokens):,} tokens: {n_shards} shards of at least {min_windows} "
                          f"windows of {window} tokens need {n_shards * min_windows * window:,}; "
                          "add data, or lower --shards or --seq-len")
    return [tokens[i * size:(i + 1) * size] for i in range(n_shards)]
