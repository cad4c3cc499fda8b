"""The loss that miners train on and verifiers measure: mean next-token cross-entropy (nats)
over windows of ``block + 1`` tokens. One definition, so both sides measure the same thing."""

from __future__ import annotations

import numpy as np
import torch

from pogo.model.gpt import GPT


def batch(tokens: np.ndarray, offsets: list[int], block: int, device: torch.device | str = "cpu"):
    """Inputs and next-token targets for windows of ``block + 1`` tokens starting at ``offsets``."""
    windows = np.stack([tokens[o:o + block + 1] for o in offsets]).astype(np.int64)
    t = torch.from_numpy(windows).to(device)
    return t[:, :-1], t[:, 1:]


@torch.no_grad()
def evaluate(net: GPT, tokens: np.ndarray, offsets: list[int], device: torch.device | str = "cpu") -> float:
    """Mean next-token loss (nats) over the windows at ``offsets``."""
    net.eval()
    x, y = batch(tokens, offsets, net.cfg.block_size, device)
    _, loss = net(x, y)
    return float(loss.item())


@torch.no_grad()
def window_losses(net: GPT, tokens: np.ndarray, offsets: list[int], device: torch.device | str = "cpu",
                  chunk: int = 256) -> np.ndarray:
    """The mean next-token loss (nats) of each window at ``offsets``, as float64: the paired
    judgment compares two models window by window."""
    net.eval()
    out = []
    for i in range(0, len(offsets), chunk):
        x, y = batch(tokens, offsets[i:i + chunk], net.cfg.block_size, device)
        logits, _ = net(x)
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none")
        out.append(loss.mean(dim=1).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)
