"""The commit arithmetic in torch (pogo.model.quantize), on whatever device torch finds (a GPU
in production, the CPU here), against the numpy reference: bit for bit, edge cases included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pogo.errors import FormatError
from pogo.model import quantize
from pogo.protocol import difffile, mxint4

DEVICE = quantize.accelerator() or torch.device("cpu")


def edge_groups() -> np.ndarray:
    """Groups at every boundary of the rule: zeros, ties, the clamps of e, subnormals, huge values."""
    tiny = np.float32(np.ldexp(1.0, -149))
    rows = [
        np.zeros(32), np.full(32, tiny), np.full(32, -tiny),
        np.full(32, 7.0), np.full(32, 7.0000005), np.full(32, 3.5), np.full(32, 0.5) * np.arange(32),
        np.full(32, 7.0 * 2.0 ** 120), np.full(32, 3e38), np.full(32, -3e38), np.full(32, 1e-38),
        (np.arange(32) - 16) * 0.25,  # exact ties at half steps
        np.concatenate([[6.9999995], np.zeros(31)]), np.concatenate([[-8.5], np.full(31, 0.5)]),
    ]
    return np.concatenate(rows).astype(np.float32)


def deltas() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    scaled = rng.standard_normal(32 * 4096) * np.exp(rng.uniform(-30, 30, 32 * 4096).round())
    return [edge_groups(), rng.standard_normal(32 * 2048).astype(np.float32) * 1e-3,
            scaled.astype(np.float32)]


@pytest.mark.parametrize("case", range(3))
def test_quantize_is_the_numpy_rule_bit_for_bit(case):
    delta = deltas()[case]
    q_ref, s_ref = mxint4.quantize(delta)
    q, s = quantize.quantize(torch.from_numpy(delta).to(DEVICE))
    assert np.array_equal(q.cpu().numpy(), q_ref) and np.array_equal(s.cpu().numpy(), s_ref)
    step = quantize.dequantize(q, s).cpu().numpy()
    assert step.view(np.uint32).tolist() == mxint4.dequantize(q_ref, s_ref).view(np.uint32).tolist()
    assert np.array_equal(quantize.pack_nibbles(q).cpu().numpy(), mxint4.pack_nibbles(q_ref))


@pytest.mark.parametrize("n_params", [4096 * 3, 4096 * 3 - 77])
def test_make_diff_equals_the_reference_byte_for_byte(n_params):
    rng = np.random.default_rng(n_params)
    prev = (rng.standard_normal(n_params) * 0.05).astype(np.float32)
    prev[:64] = np.float32(np.ldexp(1.0, -140))  # subnormal weights: the addition must not flush them
    raw = (prev + rng.standard_normal(n_params).astype(np.float32) * 1e-3).astype(np.float32)
    ref = difffile.make_diff(prev, raw, 4096)
    got = quantize.make_diff(prev, raw, 4096, device=DEVICE)
    assert got.diff.encode() == ref.diff.encode()
    assert got.new_tree.root == ref.new_tree.root and got.diff_tree.root == ref.diff_tree.root
    assert got.theta_new.view(np.uint32).tolist() == ref.theta_new.view(np.uint32).tolist()
    assert got.residual.view(np.uint32).tolist() == ref.residual.view(np.uint32).tolist()


def test_bad_updates_are_refused_as_in_the_reference():
    with pytest.raises(FormatError, match="NaN"):
        quantize.quantize(torch.tensor([float("nan")] + [0.0] * 31))
    with pytest.raises(FormatError, match="whole number"):
        quantize.quantize(torch.zeros(33))


def test_the_verifiers_rebuild_on_the_device_equals_the_reference():
    rng = np.random.default_rng(5)
    prev = (rng.standard_normal(4096 * 2 - 5) * 0.05).astype(np.float32)
    diff = difffile.make_diff(prev, prev + np.float32(1e-3) * rng.standard_normal(prev.size).astype(np.float32),
                              4096).diff
    got = quantize.apply_diff(prev, diff, DEVICE)
    assert got.view(np.uint32).tolist() == diff.apply(prev).view(np.uint32).tolist()
    assert quantize.rebuild(prev, diff).view(np.uint32).tolist() == got.view(np.uint32).tolist()


@pytest.mark.parametrize("groups", [1, 5, 127])
def test_sparse_make_diff_equals_the_reference_byte_for_byte(groups):
    """PROTOCOL.md D13: the device chooses the same groups (ties to the lower index) and writes
    the same sparse records as the numpy reference."""
    rng = np.random.default_rng(groups)
    n_params = 4096 * 3 - 77
    prev = (rng.standard_normal(n_params) * 0.05).astype(np.float32)
    raw = (prev + rng.standard_normal(n_params).astype(np.float32) * 1e-3).astype(np.float32)
    raw[:4096:3] = prev[:4096:3]      # groups that tie: the lower index wins on both paths
    raw[:1024] = prev[:1024]
    ref = difffile.make_diff(prev, raw, 4096, groups=groups)
    got = quantize.make_diff(prev, raw, 4096, device=DEVICE, groups=groups)
    assert got.diff.encode() == ref.diff.encode()
    assert got.theta_new.view(np.uint32).tolist() == ref.theta_new.view(np.uint32).tolist()
    assert got.residual.view(np.uint32).tolist() == ref.residual.view(np.uint32).tolist()
