"""Real tasks: a transformers model, local data and a tokenizer, initial weights, a recipe.

The end-to-end test fine-tunes a Llama built here with transformers (saved as safetensors)
on a local JSONL dataset, through a real round of the demo network (Anvil, js-ipfs,
DeepSpeed miners, verifier bots), then exports the head and loads it back into transformers.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from deploy import corpus, datasets
from deploy.task import TaskDefinition, prepare
from pogo.errors import FormatError
from pogo.model import causal_lm, manifest
from pogo.protocol import checkpoint
from pogo.protocol.taskspec import Recipe, TaskSpec

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "shakespeare-llama"
LLAMA = json.loads((EXAMPLE / "config.json").read_text())


def _save_llama(out: Path, seed: int, **config) -> torch.nn.Module:
    import transformers

    torch.manual_seed(seed)
    net = transformers.LlamaForCausalLM(transformers.LlamaConfig(**{**LLAMA, **config}))
    net.save_pretrained(out)
    return net


def _jsonl(path: Path, plays: int) -> Path:
    with path.open("w") as f:
        for play in corpus.play_files()[:plays]:
            for para in play.read_text().split("\n\n"):
                if para.strip():
                    f.write(json.dumps({"text": para}) + "\n")
    return path


# -- the model from its spec ------------------------------------------------------------------


def test_tied_weights_count_once_and_buffers_not_at_all():
    spec = causal_lm.hf_spec({"model_type": "gpt2", "n_embd": 32, "n_layer": 1, "n_head": 2, "vocab_size": 300,
                              "n_positions": 64, "tie_word_embeddings": True})
    net = causal_lm.build(spec)
    man = manifest.of_module(net)
    names = [e.name for e in man.entries]
    assert net.lm_head.weight is net.transformer.wte.weight and "lm_head.weight" not in names
    assert man.n_params == sum(p.numel() for p in {id(p): p for p in net.parameters()}.values())
    untied = manifest.of_module(causal_lm.build(causal_lm.hf_spec({**spec["config"], "tie_word_embeddings": False})))
    assert untied.n_params == man.n_params + 300 * 32
    llama = causal_lm.build(causal_lm.hf_spec(LLAMA))
    buffers = [n for n, _ in llama.named_buffers()]
    assert buffers and not set(buffers) & {e.name for e in manifest.of_module(llama).entries}  # rotary inv_freq


def test_the_spec_records_the_model_not_where_its_config_came_from(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "config.json").write_text(json.dumps({**LLAMA, "_name_or_path": "/home/me/x",
                                                            "transformers_version": "5.0.0"}))
    assert causal_lm.spec_from_path(tmp_path / "a") == causal_lm.spec_from_path(EXAMPLE / "config.json")
    # the first version's spec, a bare dict of GPT fields, still builds the built-in GPT
    raw = json.dumps({"model": {"vocab_size": 256, "block_size": 32, "n_layer": 1, "n_head": 2, "n_embd": 32,
                                "dropout": 0.0}, "manifest_hash": "0x", "n_params": 1, "leaf_size": 4,
                      "dataset_cid": "", "dataset_hash": "", "n_shards": 2}).encode()
    old = TaskSpec.from_json(raw)
    assert old.recipe.seq_len == 32 and causal_lm.build(old.model).cfg.n_embd == 32


# -- data ---------------------------------------------------------------------------------


def test_text_jsonl_and_parquet_give_the_same_tokens(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    docs = ["To be, or not to be: that is the question.", "Now is the winter of our discontent.", "Exeunt."]
    for i, d in enumerate(docs):
        (tmp_path / "txt").mkdir(exist_ok=True)
        (tmp_path / "txt" / f"{i}.txt").write_text(d)
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    pq.write_table(pa.table({"text": docs}), tmp_path / "d.parquet")
    tok = datasets.Tokenizer.load(EXAMPLE / "tokenizer.json")
    runs = [datasets.tokenize([p], tok, eos=0) for p in (tmp_path / "txt", tmp_path / "d.jsonl", tmp_path / "d.parquet")]
    assert all(np.array_equal(runs[0], r) for r in runs)
    assert int((runs[0] == 0).sum()) == len(docs) - 1  # one end-of-sequence between documents
    assert tok.vocab_size == 512 and runs[0].max() < 512


@pytest.mark.parametrize("bad, message", [
    ({"model": "nope.json"}, "nope.json does not exist"),
    ({"model": "config:unknown"}, "cannot build a causal LM of model_type 'not-a-model'"),
    ({"model": "config:vision"}, "cannot build a causal LM of model_type 'vit'"),
    ({"tokenizer": "tokenizer:big"}, "the tokenizer has 512 tokens; the model's vocabulary is 256"),
    ({"dataset": "tiny"}, "the dataset has"),
    ({"dataset": "bad.jsonl"}, "bad.jsonl:1: each line must be a JSON object with a `text` string"),
    ({"dataset": "data.csv"}, "unknown data format"),
    ({"init": "other"}, "does not fit the model"),
    ({"seq-len": "4096"}, "seq_len 4096 exceeds the model's 128 positions"),
    ({"model": "config:badeos"}, "eos_token_id 600 lies outside its vocabulary of 512"),
    ({"model": "config:fractional"}, "cannot build a causal LM of model_type 'llama'"),
    ({"dataset": "latin1.jsonl"}, "latin1.jsonl:1: not UTF-8 text"),
    ({"dataset": "numbers.parquet"}, "row 0: `text` must be a string, not int"),
    ({"leaf-size": "0"}, "leaf"),
    ({"density": "0"}, "density must be a number in (0, 1]"),
    ({"density": "1.5"}, "density must be a number in (0, 1]"),
    ({"task": "density_string.toml"}, "density must be a number in (0, 1]"),
    ({"task": "files_string.toml"}, "[data] files must be a list of paths"),
    ({"task": "unknown_key.toml"}, "[data] has unknown key(s) ['file']"),
])
def test_bad_task_input_is_one_line_before_any_node_is_reached(tmp_path, bad, message):
    """Every check runs before `pogo task create` connects: the RPC named here does not exist,
    so an error about the input proves nothing was published or spent."""
    (tmp_path / "unknown.json").write_text(json.dumps({"model_type": "not-a-model"}))
    (tmp_path / "vision.json").write_text(json.dumps({"model_type": "vit"}))
    (tmp_path / "small.json").write_text(json.dumps({**LLAMA, "vocab_size": 256}))
    (tmp_path / "tiny.txt").write_text("too short")
    (tmp_path / "bad.jsonl").write_text('{"body": "no text field"}\n')
    (tmp_path / "data.csv").write_text("text\nhello\n")
    (tmp_path / "badeos.json").write_text(json.dumps({**LLAMA, "eos_token_id": 600}))
    (tmp_path / "fractional.json").write_text(json.dumps({**LLAMA, "num_hidden_layers": 2.5}))
    (tmp_path / "latin1.jsonl").write_bytes('{"text": "caf\u00e9"}\n'.encode("latin-1"))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": [1, 2, 3]}), tmp_path / "numbers.parquet")
    (tmp_path / "files_string.toml").write_text('[data]\nfiles = "shakespeare"\n')
    (tmp_path / "unknown_key.toml").write_text('[data]\nfile = ["x.jsonl"]\n')
    (tmp_path / "density_string.toml").write_text('[diff]\ndensity = "1%"\n')
    import transformers

    transformers.GPT2LMHeadModel(transformers.GPT2Config(n_embd=32, n_layer=1, n_head=2)).save_pretrained(tmp_path / "other")
    args = {} if "task" in bad else {"model": str(EXAMPLE / "config.json"), "dataset": "shakespeare"}
    for key, value in bad.items():
        kind, _, name = value.partition(":")
        if kind == "config":
            args["model"] = str(tmp_path / f"{name}.json")
        elif kind == "tokenizer":
            args["model"], args["tokenizer"] = str(tmp_path / "small.json"), str(EXAMPLE / "tokenizer.json")
        elif key == "dataset":
            args["dataset"] = str(tmp_path / (value if "." in value else f"{value}.txt"))
        elif key in ("model", "init", "task"):
            args[key] = str(tmp_path / value)
        else:
            args[key] = value
    cmd = [sys.executable, "-m", "pogo", "task", "create", "--rpc", "http://127.0.0.1:9",
           "--ipfs", "/ip4/127.0.0.1/tcp/9/http", "--dev-account", "0"]
    for key, value in args.items():
        cmd += [f"--{key}", value]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
    lines = [line for line in r.stderr.strip().splitlines() if not line.startswith("pogo: loading")
             and not line.startswith("pogo: tokenizing")]
    assert r.returncode == 2 and len(lines) == 1 and message in lines[0], r.stderr


def test_the_worked_example_prepares_and_is_current(tmp_path):
    d = TaskDefinition.from_file(EXAMPLE / "task.toml")
    task = prepare(d)
    assert task.spec.model["arch"] == causal_lm.HF_ARCH and task.spec.recipe.optimizer == "adamw"
    assert task.dtype == "uint16" and len(task.shards) == 8 and task.tokenizer.vocab_size == 512
    # the shipped tokenizer is what `python -m deploy.example_task` trains today
    from deploy import example_task

    texts = [p.read_text(encoding="utf-8") for p in corpus.play_files()]
    example_task.train_tokenizer(texts).save(str(tmp_path / "tokenizer.json"))
    assert (tmp_path / "tokenizer.json").read_bytes() == (EXAMPLE / "tokenizer.json").read_bytes()


def test_init_weights_are_the_initial_checkpoint_and_bad_ones_are_refused(tmp_path):
    net = _save_llama(tmp_path / "model", seed=7)
    task = prepare(TaskDefinition(model=tmp_path / "model", init=tmp_path / "model" / "model.safetensors",
                                  n_shards=4, recipe=Recipe(seq_len=32)))
    assert np.array_equal(task.theta, manifest.flatten(net))  # not a fresh init: the saved weights, exactly
    from safetensors.torch import save_file

    tensors = {n: p.detach().clone() for n, p in net.named_parameters()}
    tensors["model.norm.weight"] = torch.ones(3)
    save_file(tensors, str(tmp_path / "wrong_shape.safetensors"))
    with pytest.raises(FormatError, match="model.norm.weight has shape"):
        prepare(TaskDefinition(model=tmp_path / "model", init=tmp_path / "wrong_shape.safetensors", n_shards=4))


# -- a real round ---------------------------------------------------------------------------


def test_fine_tuning_a_llama_runs_a_round_and_the_head_loads_back_into_transformers(tmp_path, monkeypatch):
    import transformers

    from deploy import demo
    from pogo.dev.devnet import Devnet

    init = _save_llama(tmp_path / "llama", seed=11)
    (tmp_path / "llama" / "tokenizer.json").write_bytes((EXAMPLE / "tokenizer.json").read_bytes())
    _jsonl(tmp_path / "plays.jsonl", plays=12)
    (tmp_path / "task.toml").write_text(
        '[model]\nconfig = "llama"\n[data]\nfiles = ["plays.jsonl"]\nshards = 4\n'
        '[init]\nweights = "llama"\n'
        '[recipe]\nseq_len = 64\nsteps = 20\nbatch_size = 16\noptimizer = "adamw"\nlr = 3e-3\n')
    monkeypatch.chdir(tmp_path)
    state_dir = tmp_path / "demo"
    try:
        report = demo.run(rounds=1, state_dir=state_dir, keep=True,
                          task=TaskDefinition.from_file(tmp_path / "task.toml"))
        result = demo.verdict(report)
        assert result == {k: True for k in result}, result
        head = report["rounds"][0]["head"]

        out = tmp_path / "exported"
        r = subprocess.run([sys.executable, "-m", "pogo", "task", "export", "1", "--out", str(out)],
                           capture_output=True, text=True, timeout=300, check=False)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["root"] == head
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in out.iterdir()}
        loaded = transformers.AutoModelForCausalLM.from_pretrained(out)
        theta = manifest.flatten(loaded)
        assert "0x" + checkpoint.model_root(theta, 4096).hex() == head  # exactly the head on chain
        assert not np.array_equal(theta, manifest.flatten(init))        # which the round moved from the init
        tok = transformers.PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json"))
        assert tok.decode(tok.encode("To be, or not to be")) == "To be, or not to be"
    finally:
        Devnet(state_dir.resolve() / "devnet").down()


def test_a_node_refuses_a_spec_whose_model_is_not_the_one_it_names():
    """A spec is checked against the module this node builds: a giant model under a small
    n_params costs nothing (counted on the meta device), and another manifest (a transformers
    version that names or orders the tensors otherwise) is refused, never misread."""
    import time

    giant = causal_lm.hf_spec({**LLAMA, "hidden_size": 8192, "intermediate_size": 28672, "num_hidden_layers": 80,
                               "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 128256})
    started = time.perf_counter()
    with pytest.raises(FormatError, match="has 69,503,033,344 parameters here; its spec says 1,000"):
        causal_lm.build(giant, n_params=1000)
    assert time.perf_counter() - started < 30  # 69.5B parameters never allocated (278 GB in fp32)
    spec = causal_lm.hf_spec(LLAMA)
    right = manifest.of_module(causal_lm.build(spec))
    assert causal_lm.build(spec, "0x" + right.hash().hex(), right.n_params) is not None
    with pytest.raises(FormatError, match="another manifest"):
        causal_lm.build(spec, "0x" + "00" * 32, right.n_params)


def test_a_fetched_spec_is_checked_like_a_created_one():
    """A hostile or broken spec fails as a FormatError at the node, never as a crash later:
    wrong types in the recipe, windows longer than the model takes."""
    from pogo.protocol import canonical

    good = prepare(TaskDefinition(model=EXAMPLE / "config.json", n_shards=4, recipe=Recipe(seq_len=32))).spec
    body = json.loads(good.canonical_json())
    for bad in ({"seq_len": "64"}, {"lr": "1e-3"}, {"steps": None}, {"seq_len": 64.5}, {"seq_len": True},
                {"seq_len": 10**9}):
        with pytest.raises(FormatError):
            TaskSpec.from_json(canonical.dumps({**body, "recipe": {**body["recipe"], **bad}}))
    too_long = TaskSpec.from_json(canonical.dumps({**body, "recipe": {**body["recipe"], "seq_len": 4096}}))
    with pytest.raises(FormatError, match="seq_len 4096 exceeds the model's 128 positions"):
        causal_lm.check_recipe(too_long.model, too_long.recipe.seq_len)


def test_a_sparse_task_names_its_groups_and_a_dense_spec_hashes_as_before(tmp_path):
    """PROTOCOL.md D13: the density becomes k whole groups a leaf in the spec; a dense spec has no
    such key (its hash is the one it had before sparse diffs); a fetched k the leaves cannot hold
    is refused."""
    from pogo.protocol import canonical

    assert [TaskDefinition(density=d).sparse_groups() for d in (1.0, 0.25, 0.0156, 0.001, 0.999)] == [0, 32, 2, 1, 0]
    assert TaskDefinition(density=0.0156, leaf_size=16384).sparse_groups() == 8
    (tmp_path / "t.toml").write_text('[diff]\nleaf_size = 1024\ndensity = 0.0625\n')
    definition = TaskDefinition.from_file(tmp_path / "t.toml")
    assert (definition.leaf_size, definition.sparse_groups()) == (1024, 2)
    sparse = prepare(TaskDefinition(model=EXAMPLE / "config.json", n_shards=4, recipe=Recipe(seq_len=32),
                                    density=0.0625)).spec
    assert sparse.sparse_groups == 8 and sparse.density == 0.0625
    assert TaskSpec.from_json(sparse.canonical_json()).canonical_json() == sparse.canonical_json()
    dense = TaskSpec(**{**sparse.__dict__, "sparse_groups": 0})
    assert b"sparse_groups" not in dense.canonical_json()
    assert TaskSpec.from_json(dense.canonical_json()).sparse_groups == 0
    body = json.loads(sparse.canonical_json())
    for bad in (128, -1, 2.5, "8"):
        with pytest.raises(FormatError):
            TaskSpec.from_json(canonical.dumps({**body, "sparse_groups": bad}))


def test_scoring_memory_is_bounded_whatever_the_window(monkeypatch):
    """Windows are scored in chunks whose logits fit the budget; the losses do not depend on it."""
    from pogo.model import loss

    net = causal_lm.build(causal_lm.hf_spec(LLAMA))
    tokens = np.random.default_rng(0).integers(0, 512, 5000)
    offsets = list(range(0, 3000, 100))
    whole = loss.window_losses(net, tokens, offsets, 64)
    seen = []
    original = loss.batch

    def spy(tokens, offsets, block, device="cpu"):
        seen.append(len(offsets))
        return original(tokens, offsets, block, device)

    monkeypatch.setattr(loss, "LOGITS_BUDGET", 4 * 64 * 512 * 7)  # seven windows of logits
    monkeypatch.setattr(loss, "batch", spy)
    assert np.allclose(loss.window_losses(net, tokens, offsets, 64), whole, atol=1e-6)
    assert max(seen) == 7 and sum(seen) == len(offsets)


def test_the_density_help_names_the_default_the_task_uses():
    """`pogo task create --help` keeps deploy.task (and torch) out of its imports, so it names the
    default density by hand: this keeps the two in step."""
    import subprocess
    import sys

    from deploy.task import DEFAULT_DENSITY

    shown = subprocess.run([sys.executable, "-m", "pogo", "task", "create", "--help"], capture_output=True, text=True,
                           check=True).stdout
    assert f"default {DEFAULT_DENSITY})" in " ".join(shown.split())
