"""The DeepSpeed trainer on this machine's accelerator (CPU/gloo here, GPU/nccl elsewhere),
under every ZeRO stage and bf16: theta goes in and comes back bit for bit, the forward pass
uses it, and training moves it."""


def test_bf16_without_zero_is_refused():
    with pytest.raises(ValueError, match="ZeRO stage"):
        TrainConfig(bf16=True)

import numpy as np
import pytest
import torch

from deploy import corpus as data
from pogo.model import manifest
from pogo.model.gpt import GPT, GPTConfig
from pogo.model.loss import batch
from workers.trainer import TrainConfig, Trainer

TINY = GPTConfig(block_size=32, n_layer=1, n_head=2, n_embd=32)


@pytest.mark.parametrize("stage,bf16", [(0, False), (1, False), (2, False), (3, False), (1, True)])
def test_load_train_and_read_full_fp32_params(stage, bf16):
    tr = Trainer(TINY, TrainConfig(steps=4, batch_size=4, zero_stage=stage, seed=3, bf16=bf16))
    assert tr.manifest == manifest.of_module(GPT(TINY))
    theta = tr.theta()
    assert theta.dtype == np.dtype("<f4") and theta.size == tr.manifest.n_params
    target = (theta * 0.5).astype(np.float32)
    tr.load(target)
    assert np.array_equal(tr.theta(), target)  # the optimizer's fp32 copy too, or training would undo it
    corpus = data.load_corpus()
    # ...and the weights the forward pass uses: the first step's gradient is taken at target.
    x, y = batch(corpus.tokens, [0, 1000, 2000, 3000], TINY.block_size, tr.device)
    reference = GPT(TINY)
    manifest.load_into(reference, target)
    with torch.no_grad():
        _, got = tr.engine(x, y)
        _, want = reference(x.cpu(), y.cpu())
    assert abs(float(got) - float(want)) < (0.05 if bf16 else 1e-5)
    losses = tr.train(corpus.tokens[:200_000])
    after = tr.theta()
    assert len(losses) == 4 and np.isfinite(losses).all()
    assert not np.array_equal(after, target) and np.abs(after - target).max() < 0.1
