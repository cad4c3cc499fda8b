"""MX-int4: 4-bit signed integers with a shared power-of-two scale per group (section 3).

For each group of G = 32 values:
  e = the smallest integer with 7 * 2^e >= max|delta_g|, clamped to [-120, 120]
      (an all-zero group takes the smallest e, -120)
  q = clamp(round_half_even(delta / 2^e), -8, 7)
The scale is stored as one byte e + 127 (OCP Microscaling's E8M0). q * 2^e is exact in
float32 for every allowed (q, e), so dequantization is bit-exact on every machine.
"""

from __future__ import annotations

import numpy as np

from pogo.errors import FormatError

GROUP_SIZE = 32
Q_MIN, Q_MAX = -8, 7
E_MIN, E_MAX = -120, 120
E_BIAS = 127
SCALE_MIN, SCALE_MAX = E_MIN + E_BIAS, E_MAX + E_BIAS  # 7, 247


def quantize(delta: np.ndarray, group_size: int = GROUP_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(q as int8 per element, scale bytes as uint8 per group) for a float32 update.

    ``delta.size`` must be a multiple of ``group_size``.
    """
    delta = np.asarray(delta, dtype=np.float32).reshape(-1)
    if delta.size % group_size:
        raise FormatError(f"{delta.size} values is not a whole number of {group_size}-value groups")
    if not np.isfinite(delta).all():
        raise FormatError("the update holds NaN or infinite values; training diverged")
    groups = delta.reshape(-1, group_size).astype(np.float64)  # exact: float32 -> float64
    amax = np.abs(groups).max(axis=1)

    # A first guess from log2, then exact fix-ups with ldexp, which is exact for these ranges.
    with np.errstate(divide="ignore"):
        e = np.ceil(np.log2(amax / 7.0))
    e = np.where(amax > 0, e, E_MIN)
    e = np.clip(e, E_MIN - 1, E_MAX + 1).astype(np.int64)
    too_small = 7.0 * np.ldexp(1.0, e) < amax
    e = e + too_small
    fits_lower = 7.0 * np.ldexp(1.0, e - 1) >= amax
    e = e - (fits_lower & (amax > 0))
    e = np.clip(e, E_MIN, E_MAX)

    q = np.rint(groups / np.ldexp(1.0, e)[:, None])  # division by 2^e is exact; rint is half-even
    q = np.clip(q, Q_MIN, Q_MAX).astype(np.int8).reshape(-1)
    return q, (e + E_BIAS).astype(np.uint8)


def check_scales(scales: np.ndarray) -> None:
    bad = (scales < SCALE_MIN) | (scales > SCALE_MAX)
    if bad.any():
        first = int(np.argmax(bad))
        raise FormatError(f"scale byte {int(scales[first])} of group {first} is outside [{SCALE_MIN}, {SCALE_MAX}]")


def dequantize(q: np.ndarray, scales: np.ndarray, group_size: int = GROUP_SIZE) -> np.ndarray:
    """float32(q * 2^e) for every element: exact."""
    check_scales(scales)
    factors = np.ldexp(np.float32(1.0), scales.astype(np.int32) - E_BIAS).astype(np.float32)
    q = np.asarray(q, dtype=np.int8).reshape(-1, group_size)
    return (q.astype(np.float32) * factors[:, None]).reshape(-1)


def apply(theta_prev: np.ndarray, q: np.ndarray, scales: np.ndarray, group_size: int = GROUP_SIZE) -> np.ndarray:
    """theta_new = float32(theta_prev + float32(q * 2^e)): one IEEE binary32 addition each."""
    prev = np.asarray(theta_prev, dtype=np.float32).reshape(-1)
    step = dequantize(q, scales, group_size)
    if step.size != prev.size:
        raise FormatError(f"the diff covers {step.size} values, the model {prev.size}")
    return prev + step


def pack_nibbles(q: np.ndarray) -> np.ndarray:
    """Element 2k in the low nibble of byte k, 2k+1 in the high nibble, two's complement."""
    u = (np.asarray(q, dtype=np.int8).reshape(-1, 2).astype(np.uint8)) & 0x0F
    return u[:, 0] | (u[:, 1] << 4)


def unpack_nibbles(packed: np.ndarray) -> np.ndarray:
    packed = np.asarray(packed, dtype=np.uint8)
    out = np.empty(packed.size * 2, dtype=np.int8)
    lo = (packed & 0x0F).astype(np.int8)
    hi = (packed >> 4).astype(np.int8)
    out[0::2] = np.where(lo > 7, lo - 16, lo)
    out[1::2] = np.where(hi > 7, hi - 16, hi)
    return out
