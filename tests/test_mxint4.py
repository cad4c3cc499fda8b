"""MX-int4 quantization (PROTOCOL.md section 3)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pogo.errors import FormatError
from pogo.protocol import mxint4

finite_f32 = st.floats(min_value=-2.0**100, max_value=2.0**100, allow_nan=False, width=32)


def test_scale_is_the_smallest_power_of_two_that_fits():
    delta = np.zeros(64, dtype=np.float32)
    delta[0], delta[32] = 7.0, 7.0000005
    q, scales = mxint4.quantize(delta)
    assert scales.tolist() == [127, 128]  # e = 0 exactly fits 7; a hair more needs e = 1
    assert q[0] == 7 and q[32] == 4       # 7.0000005 / 2 = 3.5000002 rounds to 4


def test_all_zero_group_takes_the_smallest_exponent():
    q, scales = mxint4.quantize(np.zeros(32, dtype=np.float32))
    assert scales.tolist() == [mxint4.E_MIN + mxint4.E_BIAS] and not q.any()


def test_nan_update_is_refused():
    delta = np.zeros(32, dtype=np.float32)
    delta[3] = np.nan
    with pytest.raises(FormatError, match="NaN"):
        mxint4.quantize(delta)


def test_out_of_range_scale_is_refused():
    with pytest.raises(FormatError, match="outside"):
        mxint4.dequantize(np.zeros(32, dtype=np.int8), np.array([250], dtype=np.uint8))


@settings(max_examples=80, deadline=None)
@given(arrays(np.float32, st.sampled_from([32, 64, 128]), elements=finite_f32))
def test_quantize_bounds_and_error(delta):
    q, scales = mxint4.quantize(delta)
    assert q.min() >= -8 and q.max() <= 7
    e = scales.astype(np.int64) - mxint4.E_BIAS
    assert ((e >= -120) & (e <= 120)).all()
    groups = delta.reshape(-1, 32).astype(np.float64)
    amax = np.abs(groups).max(axis=1)
    fits = 7 * np.ldexp(1.0, e) >= amax
    assert (fits | (e == 120)).all()                       # 7 * 2^e covers the group ...
    smaller_fits = 7 * np.ldexp(1.0, e - 1) >= amax
    assert not (smaller_fits & (e > -120) & (amax > 0)).any()  # ... and no smaller e would
    err = np.abs(mxint4.dequantize(q, scales).astype(np.float64) - delta).reshape(-1, 32)
    unclamped = e < 120  # at the clamp, values beyond 8 * 2^120 saturate
    assert (err[unclamped] <= np.ldexp(0.5, e[unclamped])[:, None]).all()


@settings(max_examples=50, deadline=None)
@given(arrays(np.int8, 64, elements=st.integers(-8, 7)))
def test_nibbles_round_trip(q):
    packed = mxint4.pack_nibbles(q)
    assert packed.size == 32 and (mxint4.unpack_nibbles(packed) == q).all()
    assert packed[0] & 0x0F == q[0] & 0x0F and packed[0] >> 4 == q[1] & 0x0F


@settings(max_examples=50, deadline=None)
@given(arrays(np.float32, 64, elements=finite_f32), arrays(np.float32, 64, elements=finite_f32))
def test_apply_is_one_float32_addition(prev, delta):
    q, scales = mxint4.quantize(delta)
    new = mxint4.apply(prev, q, scales)
    step = mxint4.dequantize(q, scales)
    # float64 sum rounded to float32 == float32 sum: the rule every machine follows.
    expected = (prev.astype(np.float64) + step.astype(np.float64)).astype(np.float32)
    assert np.array_equal(new.view(np.uint32), expected.view(np.uint32))
