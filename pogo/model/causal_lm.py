"""The task's model, built from its spec alone: the built-in GPT or any causal LM that
Hugging Face ``transformers`` defines (GPT-2, Llama, Mistral, Qwen, ...).

A spec's ``model`` is one of

    {"arch": "pogo-gpt", "config": {GPTConfig fields}}
    {"arch": "transformers", "config": {the model's config.json}}

(a bare dict of GPTConfig fields, the first version's form, still reads as the built-in GPT).
Nothing is downloaded: transformers builds the architecture from the config, and the weights
come from the task's checkpoint (PROTOCOL.md section 2). Every role calls ``build``, so a
miner and a verifier construct the same module, and ``logits`` hides the one difference in
their outputs (a tuple from the GPT, a ModelOutput from transformers).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from pogo.errors import FormatError
from pogo.model.gpt import GPT, GPTConfig

GPT_ARCH = "pogo-gpt"
HF_ARCH = "transformers"
# Keys of a config.json that describe where it came from, not the model: two copies of one
# model saved by different tools or versions must give the same spec.
_PROVENANCE_KEYS = ("_name_or_path", "transformers_version", "architectures", "torch_dtype", "dtype",
                    "_attn_implementation_autoset")


def gpt_spec(cfg: GPTConfig) -> dict:
    return {"arch": GPT_ARCH, "config": cfg.to_json()}


def _transformers():
    # Nodes never reach the Hub: a task publishes everything its model needs.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import transformers

    transformers.logging.set_verbosity_error()
    return transformers


def hf_spec(config: dict) -> dict:
    """The spec of a transformers config.json (a dict): checked now, so that a task whose model
    no node could build is refused before anything is published. The spec holds the resolved
    config, every default written out: a node whose transformers changed a default still
    builds the task's function, not its own version's."""
    body = {k: v for k, v in config.items() if k not in _PROVENANCE_KEYS}
    with torch.device("meta"):  # the architecture only: no memory for the weights
        net = _build({"arch": HF_ARCH, "config": body})  # FormatError for an unknown or non-causal architecture
    resolved = {k: v for k, v in net.config.to_dict().items() if k not in _PROVENANCE_KEYS}
    resolved["use_cache"] = body.get("use_cache", resolved.get("use_cache"))  # as given: build() turns it off
    try:
        json.dumps(resolved)
    except TypeError as exc:
        raise FormatError(f"the model config does not serialise to JSON: {exc}") from None
    return {"arch": HF_ARCH, "config": resolved}


def spec_from_path(path: Path) -> dict:
    """``--model PATH``: a model directory (with config.json) or a JSON file, either a
    transformers config.json (it has ``model_type``) or the built-in GPT's fields."""
    path = Path(path)
    file = path / "config.json" if path.is_dir() else path
    try:
        config = json.loads(file.read_text())
    except FileNotFoundError:
        raise FormatError(f"{file} does not exist: --model takes a model directory with config.json, or a JSON file") \
            from None
    except (OSError, ValueError) as exc:
        raise FormatError(f"{file} is not a JSON config: {exc}") from None
    if not isinstance(config, dict):
        raise FormatError(f"{file} is not a JSON object")
    if "model_type" in config:
        return hf_spec(config)
    try:
        return gpt_spec(GPTConfig(**config))
    except TypeError as exc:
        raise FormatError(f"{file} is neither a transformers config.json (no model_type) nor a GPT config: {exc}") \
            from None


def _parts(spec: dict | GPTConfig) -> tuple[str, dict]:
    if isinstance(spec, GPTConfig):
        return GPT_ARCH, spec.to_json()
    if "arch" not in spec:
        return GPT_ARCH, spec
    return spec["arch"], spec.get("config", {})


def build(spec: dict | GPTConfig, manifest_hash: str | None = None, n_params: int | None = None) -> nn.Module:
    """A freshly initialised fp32 module (seed torch first for a reproducible init).

    With a task's ``n_params`` and ``manifest_hash``, the module is first built on the meta
    device (no memory) and refused unless it has exactly that many parameters, so a spec that
    names a giant model costs a node nothing; then the real module must have exactly the
    task's manifest (another transformers version that named or ordered the tensors otherwise
    would read theta wrongly, silently)."""
    if n_params is not None:
        with torch.device("meta"):
            count = sum(p.numel() for p in _build(spec).parameters())
        if count != n_params:
            raise FormatError(f"the task's model has {count:,} parameters here; its spec says {n_params:,}")
    net = _build(spec)
    if manifest_hash is not None:
        from pogo.model import manifest

        if "0x" + manifest.of_module(net).hash().hex() != manifest_hash:
            raise FormatError("this node builds the task's model with another manifest (tensor names, shapes or order) "
                              "than the task's: check that its transformers version builds this architecture the same way")
    return net


def _build(spec: dict | GPTConfig) -> nn.Module:
    arch, config = _parts(spec)
    if arch == GPT_ARCH:
        try:
            return GPT(GPTConfig(**config))
        except (TypeError, AssertionError, ValueError, RuntimeError) as exc:
            raise FormatError(f"not a GPT config: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}") \
                from None
    if arch != HF_ARCH:
        raise FormatError(f"unknown model arch {arch!r}: this node builds {GPT_ARCH!r} and {HF_ARCH!r}")
    transformers = _transformers()
    kwargs = dict(config)
    model_type = kwargs.pop("model_type", None)
    if not isinstance(model_type, str):
        raise FormatError("the model config has no model_type string")
    try:
        cfg = transformers.AutoConfig.for_model(model_type, **kwargs)
        cfg.use_cache = False  # training and scoring whole windows: no KV cache to keep
        net = transformers.AutoModelForCausalLM.from_config(cfg)
    except Exception as exc:  # noqa: BLE001 - transformers raises many kinds (ValueError, its strict-dataclass
        # validation errors, RuntimeError from torch for a negative size) for a config it cannot build
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = first.split(". Should contain")[0][:200]  # not the list of every model type it knows
        raise FormatError(f"transformers cannot build a causal LM of model_type {model_type!r}: {first}") from None
    return net.float()


def vocab_size(spec: dict | GPTConfig) -> int:
    arch, config = _parts(spec)
    if arch == GPT_ARCH:
        return GPTConfig(**config).vocab_size
    size = config.get("vocab_size") or config.get("text_config", {}).get("vocab_size")
    if not isinstance(size, int):
        raise FormatError("the model config has no integer vocab_size")
    return size


def max_seq_len(spec: dict | GPTConfig) -> int | None:
    """The longest window the model takes, or None where its config sets no limit."""
    arch, config = _parts(spec)
    if arch == GPT_ARCH:
        return GPTConfig(**config).block_size
    for key in ("max_position_embeddings", "n_positions", "n_ctx"):
        if isinstance(config.get(key), int):
            return config[key]
    return None


def eos_token_id(spec: dict | GPTConfig) -> int | None:
    """The token a dataset puts between documents, where the model names one."""
    arch, config = _parts(spec)
    eos = config.get("eos_token_id") if arch == HF_ARCH else None
    if isinstance(eos, list):
        eos = eos[0] if eos else None
    return eos if isinstance(eos, int) else None


def check_recipe(spec: dict | GPTConfig, seq_len: int) -> None:
    """A node's check of a fetched spec: windows the model can take (a position beyond the
    model's is an index error on a CPU and a device-side assert that breaks a GPU process)."""
    longest = max_seq_len(spec)
    if longest is not None and seq_len > longest:
        raise FormatError(f"seq_len {seq_len} exceeds the model's {longest} positions")
    if vocab_size(spec) < 1:
        raise FormatError("the task's model has no vocabulary")


def logits(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Next-token logits (batch, time, vocab) of ``net`` (a module or a DeepSpeed engine)."""
    out = net(x)
    return out[0] if isinstance(out, tuple) else out.logits


def save_pretrained(spec: dict, net: nn.Module, out: Path) -> list[Path]:
    """Write the module where its own library reads it back: a transformers model directory
    (config.json + model.safetensors), or the GPT's config.json + model.safetensors."""
    from safetensors.torch import save_model

    out.mkdir(parents=True, exist_ok=True)
    arch, config = _parts(spec)
    if arch == HF_ARCH:
        net.save_pretrained(out, safe_serialization=True)
    else:
        (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        save_model(net, str(out / "model.safetensors"))
    return sorted(out.iterdir())


def load_weights(net: nn.Module, path: Path) -> None:
    """``--init PATH``: set every parameter of ``net`` from safetensors weights (a file, or a
    directory of them, sharded or not, as transformers saves them). Every parameter must be
    there and nothing else may be: a checkpoint of another model is refused, not half loaded.
    A tied weight appears once in a file saved by transformers; it loads through its partner."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    files = sorted(path.glob("*.safetensors")) if path.is_dir() else [path]
    if not files or not files[0].exists():
        raise FormatError(f"{path}: no safetensors weights there (--init takes a .safetensors file or a directory)")
    tensors: dict[str, torch.Tensor] = {}
    for f in files:
        try:
            tensors.update(load_file(str(f)))
        except (SafetensorError, OSError) as exc:
            raise FormatError(f"{f} is not a safetensors file: {exc}") from None
    names = {name for name, _ in net.named_parameters()}
    missing = sorted(names - tensors.keys())
    known = set(net.state_dict().keys())
    unexpected = sorted(tensors.keys() - known)
    if missing or unexpected:
        raise FormatError(f"{path} does not fit the model: missing {missing[:3]}{'…' if len(missing) > 3 else ''}, "
                          f"unexpected {unexpected[:3]}{'…' if len(unexpected) > 3 else ''}")
    params = dict(net.named_parameters())
    with torch.no_grad():
        for name in names:
            value, p = tensors[name], params[name]
            if tuple(value.shape) != tuple(p.shape):
                raise FormatError(f"{path}: {name} has shape {tuple(value.shape)}; the model's is {tuple(p.shape)}")
            p.copy_(value.to(torch.float32))
