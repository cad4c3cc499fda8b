"""The loss that miners train on and verifiers measure: mean next-token cross-entropy (nats)
over windows of ``block + 1`` tokens (``block`` is the task's ``recipe.seq_len``). One
definition, so both sides measure the same thing, for any model causal_lm builds."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from pogo.model.causal_lm import logits


def batch(tokens: np.ndarray, offsets: list[int], block: int, device: torch.device | str = "cpu"):
    """Inputs and next-token targets for windows of ``block + 1`` tokens starting at ``offsets``."""
    windows = np.stack([tokens[o:o + block + 1] for o in offsets]).astype(np.int64)
    t = torch.from_numpy(windows).to(device)
    return t[:, :-1], t[:, 1:]


def lm_loss(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean next-token loss of one batch, with its graph (training)."""
    out = logits(net, x)
    return F.cross_entropy(out.reshape(-1, out.size(-1)).float(), y.reshape(-1))


@torch.no_grad()
def evaluate(net: torch.nn.Module, tokens: np.ndarray, offsets: list[int], block: int,
             device: torch.device | str = "cpu") -> float:
    """Mean next-token loss (nats) over the windows at ``offsets``."""
    return float(window_losses(net, tokens, offsets, block, device).mean())


LOGITS_BUDGET = 1 << 28   # bytes of fp32 logits scored at once (256 MiB): memory stays bounded for any model


@torch.no_grad()
def window_losses(net: torch.nn.Module, tokens: np.ndarray, offsets: list[int], block: int,
                  device: torch.device | str = "cpu", chunk: int | None = None) -> np.ndarray:
    """The mean next-token loss (nats) of each window at ``offsets``, as float64: the paired
    judgment compares two models window by window. Windows are scored in chunks whose logits
    fit LOGITS_BUDGET, so a long window or a large vocabulary costs time, not memory."""
    net.eval()
    if chunk is None:
        vocab = net.get_output_embeddings().weight.shape[0] if hasattr(net, "get_output_embeddings") \
            else net.lm_head.weight.shape[0]
        chunk = max(1, min(256, LOGITS_BUDGET // (4 * block * vocab)))
    out = []
    for i in range(0, len(offsets), chunk):
        x, y = batch(tokens, offsets[i:i + chunk], block, device)
        loss = F.cross_entropy(logits(net, x).float().transpose(1, 2), y, reduction="none")
        out.append(loss.mean(dim=1).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)
