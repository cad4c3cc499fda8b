"""Define and publish a training task.

A ``TaskDefinition`` names the model (the built-in GPT, or a transformers config), the data
(local files or the bundled corpus) and its tokenizer, the initial weights (safetensors, for
fine-tuning, or a seed) and the training recipe. ``prepare`` builds and checks everything
locally (the model, the weights, the tokens, the shards, the spec), so bad input fails with
one line before anything is published or spent; ``publish`` then puts the shards, the
tokenizer, the initial checkpoint and the spec on IPFS and creates the task on chain.
A task file (TOML, for ``pogo demo --task`` and ``pogo task create --task``) is the same
definition; see docs/TASKS.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import tomllib
import torch

from deploy import datasets
from pogo.errors import FormatError
from pogo.model import causal_lm, manifest
from pogo.model.gpt import GPTConfig
from pogo.net.contract import PoGOContract, TaskParams
from pogo.net.ipfs import Ipfs
from pogo.protocol import checkpoint, dataset, mxint4
from pogo.protocol.taskspec import Recipe, TaskSpec, Verification

MIN_WINDOWS_PER_SHARD = 8   # fewer, and a shard's training and evaluation windows mostly overlap
DEFAULT_SEQ_LEN = 512       # the default window, where the model takes longer ones (memory and time per step)
DEFAULT_DENSITY = 0.15625   # the sparsest within 1 % of dense MX-int4 after 20 demo rounds, 3 seeds (docs/DENSITY.md, D13)


def default_recipe(model_spec: dict) -> Recipe:
    """The default recipe for a model: windows of its positions, at most DEFAULT_SEQ_LEN."""
    longest = causal_lm.max_seq_len(model_spec)
    return Recipe(seq_len=min(longest or DEFAULT_SEQ_LEN, DEFAULT_SEQ_LEN))


@dataclass(frozen=True)
class TaskDefinition:
    model: Path | GPTConfig = field(default_factory=GPTConfig.small)  # a GPTConfig, or a model dir / config JSON
    dataset: tuple[str, ...] = (datasets.BUNDLED,)  # files, directories, or the bundled corpus
    tokenizer: Path | None = None   # a tokenizer.json; None: the model directory's, else bytes
    init: Path | None = None        # safetensors weights to start from (fine-tuning); None: random from seed
    seed: int = 0
    n_shards: int = 8
    leaf_size: int = 4096
    recipe: Recipe | None = None    # None: the default recipe, windows of the model's block
    density: float = DEFAULT_DENSITY  # the share of each leaf a diff carries (PROTOCOL D13); 1: dense

    def sparse_groups(self) -> int:
        """k for the spec: the whole 32-element groups nearest ``density`` of a leaf, at least one;
        0 (dense) at a density of 1 or one that rounds to every group. FormatError outside (0, 1]."""
        if isinstance(self.density, bool) or not isinstance(self.density, (int, float)) or not 0 < self.density <= 1:
            raise FormatError(f"density must be a number in (0, 1], the share of each leaf a diff carries; "
                              f"got {self.density!r}")
        checkpoint.check_leaf_size(self.leaf_size)
        per_leaf = self.leaf_size // mxint4.GROUP_SIZE
        k = max(1, round(self.density * per_leaf))
        return 0 if k >= per_leaf else k

    def model_spec(self) -> dict:
        """The spec's model (pogo.model.causal_lm); FormatError for a model no node could build."""
        return causal_lm.gpt_spec(self.model) if isinstance(self.model, GPTConfig) else causal_lm.spec_from_path(self.model)

    @classmethod
    def from_file(cls, path: Path) -> TaskDefinition:
        """A task file: TOML with [model], [data], [init] and [recipe]; paths are relative to it."""
        path = Path(path)
        try:
            body = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise FormatError(f"{path} does not exist") from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise FormatError(f"{path} is not a TOML task file: {exc}") from None
        here = path.parent

        def rel(value) -> Path:
            return (here / str(value)).resolve()

        sections = {"model": {"config", "gpt"}, "data": {"files", "tokenizer", "shards"}, "init": {"weights", "seed"},
                    "recipe": {f.name for f in fields(Recipe)}, "diff": {"leaf_size", "density"}}
        unknown = set(body) - set(sections)
        if unknown:
            raise FormatError(f"{path}: unknown section(s) {sorted(unknown)}; expected model, data, init, recipe, diff")
        for name, keys in sections.items():
            table = body.get(name, {})
            if not isinstance(table, dict):
                raise FormatError(f"{path}: [{name}] must be a table")
            if set(table) - keys:
                raise FormatError(f"{path}: [{name}] has unknown key(s) {sorted(set(table) - keys)}; "
                                  f"its keys are {sorted(keys)}")
        model_t, data_t, init_t = body.get("model", {}), body.get("data", {}), body.get("init", {})
        files = data_t.get("files", [datasets.BUNDLED])
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise FormatError(f"{path}: [data] files must be a list of paths, like [\"data.jsonl\"]")
        diff_t = body.get("diff", {})
        for name, value in (("[data] shards", data_t.get("shards", 8)), ("[init] seed", init_t.get("seed", 0)),
                            ("[diff] leaf_size", diff_t.get("leaf_size", 4096))):
            if not isinstance(value, int) or isinstance(value, bool):
                raise FormatError(f"{path}: {name} must be an integer, not {value!r}")
        for name, value in (("[model] config", model_t.get("config", "")), ("[data] tokenizer", data_t.get("tokenizer", "")),
                            ("[init] weights", init_t.get("weights", ""))):
            if not isinstance(value, str):
                raise FormatError(f"{path}: {name} must be a path string, not {value!r}")
        if "config" in model_t:
            model: Path | GPTConfig = rel(model_t["config"])
        else:
            try:
                model = GPTConfig(**model_t.get("gpt", {}))
            except TypeError as exc:
                raise FormatError(f"{path}: [model.gpt]: {exc}") from None
        data = tuple(f if f == datasets.BUNDLED else str(rel(f)) for f in files)
        tok = data_t.get("tokenizer")
        tokenizer = None if tok is None else (Path("bytes") if tok == "bytes" else rel(tok))
        recipe = Recipe(**body["recipe"]) if "recipe" in body else None  # checked by prepare
        return cls(model=model, dataset=data, tokenizer=tokenizer,
                   init=rel(init_t["weights"]) if "weights" in init_t else None, seed=int(init_t.get("seed", 0)),
                   n_shards=int(data_t.get("shards", 8)), recipe=recipe, leaf_size=int(diff_t.get("leaf_size", 4096)),
                   density=diff_t.get("density", DEFAULT_DENSITY))  # checked by prepare


@dataclass(frozen=True)
class PreparedTask:
    spec: TaskSpec
    theta: np.ndarray
    shards: list[np.ndarray]
    dtype: str
    tokenizer: datasets.Tokenizer


def prepare(d: TaskDefinition, verification: Verification | None = None,
            progress: Callable[[str], None] = lambda _: None) -> PreparedTask:
    """Everything the task publishes, built and checked here; FormatError (one line) on bad input."""
    model_spec = d.model_spec()
    recipe = d.recipe or default_recipe(model_spec)
    recipe.check()
    causal_lm.check_recipe(model_spec, recipe.seq_len)  # the check every node makes of the fetched spec
    checkpoint.check_leaf_size(d.leaf_size)
    groups = d.sparse_groups()
    if not isinstance(d.n_shards, int) or isinstance(d.n_shards, bool):
        raise FormatError(f"shards must be an integer, not {d.n_shards!r}")
    vocab = causal_lm.vocab_size(model_spec)
    eos = causal_lm.eos_token_id(model_spec)
    if eos is not None and not 0 <= eos < vocab:
        raise FormatError(f"the model's eos_token_id {eos} lies outside its vocabulary of {vocab:,}")

    torch.manual_seed(d.seed)
    net = causal_lm.build(model_spec)
    if d.init is not None:
        progress(f"loading the initial weights from {d.init}")
        causal_lm.load_weights(net, d.init)
    man = manifest.of_module(net)
    theta = manifest.flatten(net)
    if not np.isfinite(theta).all():
        raise FormatError("the initial weights hold NaN or infinity")

    tok_path = d.tokenizer
    if tok_path is None and isinstance(d.model, Path) and (d.model / "tokenizer.json").exists():
        tok_path = d.model / "tokenizer.json"
    tokenizer = datasets.Tokenizer.load(tok_path)
    if tokenizer.vocab_size > vocab:
        raise FormatError(f"the tokenizer has {tokenizer.vocab_size:,} tokens; the model's vocabulary is {vocab:,}: "
                          "use the model's own tokenizer.json")
    progress(f"tokenizing {', '.join(d.dataset)}")
    tokens = datasets.tokenize(list(d.dataset), tokenizer, eos)
    if tokens.size and int(tokens.max()) >= vocab:  # a tokenizer whose ids are sparse, say: never wrap an id
        raise FormatError(f"the tokenizer produced id {int(tokens.max()):,}; the model's vocabulary is {vocab:,}")
    dtype = dataset.dtype_for(vocab)
    tokens = tokens.astype(dataset.token_dtype(dtype))
    shards = datasets.shards(tokens, d.n_shards, recipe.seq_len + 1, MIN_WINDOWS_PER_SHARD)

    spec = TaskSpec(model=model_spec, manifest_hash="0x" + man.hash().hex(), n_params=man.n_params,
                    leaf_size=d.leaf_size, dataset_cid="", dataset_hash="", n_shards=d.n_shards,
                    verification=verification or Verification(), recipe=recipe, sparse_groups=groups)
    spec.verification.check()
    return PreparedTask(spec, theta, shards, dtype, tokenizer)


def publish(pogo: PoGOContract, ipfs: Ipfs, task: PreparedTask, params: TaskParams | None = None,
            funding: int = 0, progress: Callable[[str], None] = lambda _: None) -> int:
    """Put a prepared task on IPFS and on chain; return its id."""
    spec, n_shards = task.spec, len(task.shards)
    progress(f"publishing {n_shards} dataset shards ({sum(len(s) for s in task.shards):,} tokens)")
    shard_cids = [ipfs.add_bytes(s.tobytes()) for s in task.shards]  # already in the manifest's dtype (prepare)
    tok_cid = tok_sha = None
    if task.tokenizer.raw:
        tok_cid, tok_sha = ipfs.add_bytes(task.tokenizer.raw), "0x" + hashlib.sha256(task.tokenizer.raw).hexdigest()
    dataset_json = dataset.manifest_json(shard_cids, [len(s) for s in task.shards], task.tokenizer.name, task.dtype,
                                         tok_cid, tok_sha, task.tokenizer.vocab_size)
    dataset_cid = ipfs.add_bytes(dataset_json)
    spec = replace(spec, dataset_cid=dataset_cid, dataset_hash="0x" + dataset.manifest_hash(dataset_json).hex())

    progress(f"publishing the initial checkpoint ({spec.n_params:,} parameters)")
    initial = ipfs.add_model(task.theta, spec.leaf_size)
    spec_cid = ipfs.add_bytes(spec.canonical_json())
    params = replace(params or TaskParams(), spec_hash=spec.hash(), initial_root=initial.root, n_params=spec.n_params,
                     leaf_size=spec.leaf_size, n_shards=n_shards)
    task_id, _ = pogo.create_task(params, spec_cid, initial.checkpoint_cid, initial.tree_cid, funding=funding)
    progress(f"task {task_id} created: head 0x{initial.root.hex()[:16]}…")
    return task_id


def publish_task(pogo: PoGOContract, ipfs: Ipfs, params: TaskParams | None = None, model_cfg: GPTConfig | None = None,
                 n_shards: int = 8, leaf_size: int = 4096, verification: Verification | None = None,
                 funding: int = 0, seed: int = 0, progress: Callable[[str], None] = lambda _: None,
                 definition: TaskDefinition | None = None) -> int:
    """Create a task (by default the built-in GPT on the bundled corpus); return its id."""
    d = definition or TaskDefinition(model=model_cfg or GPTConfig.small(), n_shards=n_shards, leaf_size=leaf_size,
                                     seed=seed)
    return publish(pogo, ipfs, prepare(d, verification, progress), params, funding, progress)
