"""Training with DeepSpeed: one code path for CPU (gloo) and GPU (nccl).

DeepSpeed picks the accelerator and the collective backend itself: ``init_distributed()``
without a backend gives gloo on CPU and nccl on GPU. A miner run by hand (no launcher) is a
world of one; ``deepspeed --num_gpus N -m workers.cli ...`` makes it data-parallel.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass

import numpy as np
import torch

from pogo.model import causal_lm, manifest
from pogo.model.gpt import GPTConfig
from pogo.model.loss import batch, lm_loss
from pogo.protocol.taskspec import Recipe

_DS_OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}


@dataclass(frozen=True)
class TrainConfig:
    """The task's recipe (the first block) and what each miner chooses for its own machine."""

    steps: int = 30             # K optimizer steps a round
    batch_size: int = 16        # per process
    lr: float = 2e-3
    seq_len: int | None = None  # window length (None: the model's own block, for the built-in GPT)
    optimizer: str = "adam"     # adam | adamw | sgd
    weight_decay: float = 0.0
    schedule: str = "constant"  # constant | warmup | warmup_cosine
    warmup_steps: int = 0
    total_steps: int = 0        # warmup_cosine decays over this many steps (0: 100 rounds)
    zero_stage: int = 0         # 0-3; ZeRO-3 gathers full fp32 params to publish them
    offload: bool = False       # ZeRO-Offload: optimizer state (and under ZeRO-3 parameters) in CPU memory
    seed: int = 0
    bf16: bool = False          # bf16 mixed precision, fp32 master weights (needs ZeRO >= 1)

    def __post_init__(self) -> None:
        if self.bf16 and self.zero_stage == 0:
            # DeepSpeed's bf16 without ZeRO keeps its fp32 master copy where nothing can read it
            # back, and the committed model must be exactly those fp32 master weights.
            raise ValueError("bf16 needs ZeRO stage 1, 2 or 3 (--zero-stage): its fp32 master weights are "
                             "what the miner commits")
        if self.offload and self.zero_stage == 0:
            raise ValueError("offload needs ZeRO stage 1, 2 or 3 (--zero-stage): ZeRO is what moves the state")

    @classmethod
    def from_recipe(cls, recipe: Recipe, **choices) -> TrainConfig:
        """The task's recipe, with the miner's own choices (zero_stage, offload, bf16, seed, and
        batch_size or steps where given) on top."""
        return cls(**{**asdict(recipe), **{k: v for k, v in choices.items() if v is not None}})


def _launcher_defaults() -> None:
    """DeepSpeed reads the launcher's variables even for one process; supply a world of one."""
    from pogo.net.ports import free_port

    defaults = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("MASTER_PORT", str(free_port()))


def _skip_shm_comm_build() -> None:
    """On CPU, init_distributed compiles a shared-memory all-reduce kernel (~40 s of C++) that
    only speeds up inference collectives; training does without it."""
    _import_deepspeed()
    import deepspeed.ops

    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False


def _import_deepspeed() -> None:
    """Import DeepSpeed with its log handler on stderr: it logs to stdout (an accelerator
    warning at import), where commands that print JSON (benchmarks, `--json`) put their result.
    The handler keeps the stream it was created with, so one redirected import is enough."""
    import contextlib
    import sys

    if "deepspeed" not in sys.modules:
        with contextlib.redirect_stdout(sys.stderr):
            import deepspeed  # noqa: F401


def init_distributed() -> None:
    _import_deepspeed()
    import deepspeed
    import deepspeed.comm as dist

    if dist.is_initialized():
        return
    _launcher_defaults()
    _skip_shm_comm_build()
    deepspeed.init_distributed()


def deepspeed_config(train: TrainConfig) -> dict:
    zero: dict = {"stage": train.zero_stage}
    if train.zero_stage == 3:
        zero["memory_efficient_linear"] = False  # keep nn.Linear's autograd so params gather cleanly
    if train.offload:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": False}
        if train.zero_stage == 3:
            zero["offload_param"] = {"device": "cpu", "pin_memory": False}
    params: dict = {"lr": train.lr, "weight_decay": train.weight_decay}
    if train.optimizer != "sgd":
        # torch's Adam: DeepSpeed's fused kernels need a compiler and CUDA; torch's runs anywhere
        params["torch_adam"] = True
    config = {
        "train_micro_batch_size_per_gpu": train.batch_size,
        "gradient_accumulation_steps": 1,
        "optimizer": {"type": _DS_OPTIMIZERS[train.optimizer], "params": params},
        "zero_optimization": zero,
        # with offload, DeepSpeed insists on its compiled CPU Adam unless told that torch's will do
        "zero_force_ds_cpu_optimizer": False,
        "bf16": {"enabled": train.bf16},
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    if train.schedule == "warmup":
        config["scheduler"] = {"type": "WarmupLR", "params": {
            "warmup_min_lr": 0.0, "warmup_max_lr": train.lr, "warmup_num_steps": max(1, train.warmup_steps),
            "warmup_type": "linear"}}
    elif train.schedule == "warmup_cosine":
        total = train.total_steps or 100 * train.steps
        config["scheduler"] = {"type": "WarmupCosineLR", "params": {
            "total_num_steps": max(total, train.warmup_steps + 1), "warmup_num_steps": max(1, train.warmup_steps),
            "warmup_type": "linear"}}
    return config


class Trainer:
    """A DeepSpeed engine over the task's model; load theta, train K steps, read theta back."""

    def __init__(self, model: dict | GPTConfig, train: TrainConfig, manifest_hash: str | None = None,
                 n_params: int | None = None):
        """``model``: the task spec's model (pogo.model.causal_lm), or a GPTConfig; with the
        spec's ``manifest_hash`` and ``n_params``, the module is checked against them."""
        _import_deepspeed()
        import deepspeed

        init_distributed()
        torch.manual_seed(train.seed)
        self.model_spec, self.train_cfg = model, train
        net = causal_lm.build(model, manifest_hash, n_params)
        self.block = train.seq_len or causal_lm.max_seq_len(model)
        if not self.block:
            raise ValueError("the model sets no window length: give TrainConfig a seq_len")
        self.manifest = manifest.of_module(net)
        self.engine, _, _, _ = deepspeed.initialize(model=net, model_parameters=net.parameters(),
                                                    config=deepspeed_config(train))
        self.device = self.engine.device
        self.rng = np.random.default_rng(train.seed + int(os.environ.get("RANK", "0")))

    # -- data parallelism: rank 0 leads, the other ranks train the same job in lockstep ------

    @property
    def rank(self) -> int:
        import deepspeed.comm as dist

        return dist.get_rank()

    @property
    def world_size(self) -> int:
        import deepspeed.comm as dist

        return dist.get_world_size()

    def close(self) -> None:
        """Leave the process group: a gloo/nccl group left to the interpreter's exit can abort
        the process ("terminate called without an active exception") after its work is done."""
        import torch.distributed as tdist

        if tdist.is_available() and tdist.is_initialized():
            tdist.barrier()
            tdist.destroy_process_group()

    def share_job(self, job: dict | None) -> dict | None:
        """Rank 0 sends the round's job (or None: stop) to every rank; all ranks return it."""
        if self.world_size == 1:
            return job
        import torch.distributed as tdist

        box = [job]
        tdist.broadcast_object_list(box, src=0)
        return box[0]

    def load(self, theta: np.ndarray) -> None:
        """Set every parameter, and under ZeRO or bf16 the optimizer's fp32 master copy, to theta."""
        import deepspeed
        from deepspeed.utils import safe_set_full_fp32_param

        flat = manifest.as_tensor(theta, self.manifest.n_params)
        params = dict(self.engine.module.named_parameters())
        for e in self.manifest.entries:
            value = flat[e.offset:e.offset + e.size].view(e.shape)
            p = params[e.name]
            if self.train_cfg.zero_stage > 0:
                safe_set_full_fp32_param(p, value.to(self.device))
            # The master copy alone is not enough: the module's own (possibly bf16, possibly
            # partitioned) weights would keep the previous round's values until the first step,
            # whose gradient would then be taken at the wrong point.
            gathered = deepspeed.zero.GatheredParameters([p], modifier_rank=0) if self.train_cfg.zero_stage == 3 \
                else contextlib.nullcontext()
            with gathered, torch.no_grad():
                p.copy_(value.to(p.device, p.dtype))

    def theta(self) -> np.ndarray:
        """Every parameter in full fp32, in manifest order, on the CPU."""
        from deepspeed.utils import safe_get_full_fp32_param

        parts = []
        for _, p in self.engine.module.named_parameters():
            full = safe_get_full_fp32_param(p) if self.train_cfg.zero_stage > 0 else None
            parts.append((full if full is not None else p.detach()).reshape(-1).float().cpu())
        return torch.cat(parts).numpy().astype("<f4", copy=False)

    def train(self, tokens: np.ndarray, steps: int | None = None, progress=None) -> list[float]:
        """K optimizer steps on random windows of ``tokens``; returns each step's loss."""
        self.engine.train()
        block = self.block
        losses = []
        steps = steps or self.train_cfg.steps
        for step in range(steps):
            offsets = self.rng.integers(0, len(tokens) - block - 1, self.train_cfg.batch_size).tolist()
            x, y = batch(tokens, offsets, block, self.device)
            loss = lm_loss(self.engine, x, y)
            self.engine.backward(loss)
            self.engine.step()
            losses.append(float(loss.item()))
            if progress:
                progress(step + 1, steps, losses[-1])
        return losses




def flat_params(net: torch.nn.Module) -> np.ndarray:
    return manifest.flatten(net)


def train_plain(net: torch.nn.Module, tokens: np.ndarray, steps: int, batch_size: int, seed: int, lr: float = 2e-3) -> list[float]:
    """A few Adam steps without DeepSpeed, for benchmarks that need a real update fast (the
    built-in GPT: its windows are its block)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        offsets = rng.integers(0, len(tokens) - net.cfg.block_size - 1, batch_size).tolist()
        x, y = batch(tokens, offsets, net.cfg.block_size)
        loss = lm_loss(net, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses
