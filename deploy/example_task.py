"""Writes examples/shakespeare-llama/: the worked example of docs/TASKS.md.

A Llama-architecture model small enough for a CPU (about 0.12M parameters), a byte-level BPE
tokenizer of 512 tokens trained by ``tokenizers`` on the bundled Shakespeare, and the task
file that names them. Run ``python -m deploy.example_task`` to write them again; the
tokenizer's training is deterministic, so the files come out the same.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from deploy import corpus

OUT = Path(__file__).resolve().parent.parent / "examples" / "shakespeare-llama"
VOCAB = 512
EOS = "<|endoftext|>"

CONFIG = {
    "model_type": "llama", "vocab_size": VOCAB, "hidden_size": 64, "intermediate_size": 172,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "tie_word_embeddings": True,
    "bos_token_id": 0, "eos_token_id": 0,
}

TASK = """\
# A task file (docs/TASKS.md): `pogo demo --task examples/shakespeare-llama/task.toml`
# or `pogo task create --task examples/shakespeare-llama/task.toml`. Paths are relative to this file.

[model]
config = "config.json"            # a transformers config.json (here: a 0.12M-parameter Llama)

[data]
files = ["shakespeare"]            # the bundled plays; or .txt/.md, .jsonl, .parquet files and directories
tokenizer = "tokenizer.json"       # byte-level BPE, 512 tokens, trained on the plays
shards = 8                         # the last one validates

[init]
seed = 0                           # random weights; `weights = "model.safetensors"` fine-tunes instead

[recipe]
seq_len = 64
steps = 30
batch_size = 16
optimizer = "adamw"
lr = 3e-3
weight_decay = 0.01
schedule = "warmup"
warmup_steps = 10
"""


def train_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return tok


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    texts = [p.read_text(encoding="utf-8") for p in corpus.play_files()]
    tok = train_tokenizer(texts)
    assert tok.token_to_id(EOS) == CONFIG["eos_token_id"]
    tok.save(str(OUT / "tokenizer.json"))
    (OUT / "config.json").write_text(json.dumps(CONFIG, indent=2) + "\n")
    (OUT / "task.toml").write_text(TASK)
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
