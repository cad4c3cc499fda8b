"""Checkpoints and diff files: layouts, rebuilds, corruption (PROTOCOL.md sections 2-3)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pogo.errors import FormatError
from pogo.protocol import checkpoint, difffile, merkle
from pogo.protocol.source import BytesSource, FileSource


def _models(n_params: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    prev = rng.standard_normal(n_params).astype(np.float32)
    raw = prev + (rng.standard_normal(n_params) * 1e-3).astype(np.float32)
    return prev, raw


def test_record_size_and_compression_at_the_default_leaf():
    assert difffile.record_size(4096) == 2176
    assert 4 * 4096 / 2176 == pytest.approx(7.53, abs=0.005)


@settings(max_examples=25, deadline=None)
@given(n_params=st.integers(1, 700), leaf=st.sampled_from([32, 64, 256]), seed=st.integers(0, 2**16))
def test_diff_round_trip_and_leaf_rebuild_is_bit_exact(n_params, leaf, seed):
    prev, raw = _models(n_params, seed)
    result = difffile.make_diff(prev, raw, leaf)
    source = BytesSource(result.diff.encode())
    diff = difffile.read(source)
    header = diff.header
    assert (header.n_params, header.leaf_size, header.group_size) == (n_params, leaf, 32)
    assert header.prev_root == checkpoint.model_root(prev, leaf)
    rebuilt = diff.apply(prev)
    assert np.array_equal(rebuilt.view(np.uint32), result.theta_new.view(np.uint32))
    assert checkpoint.model_root(rebuilt, leaf) == header.new_root
    # Every leaf rebuilds alone from its record, and the record proves against diff_root.
    prev_padded = checkpoint.pad(prev, leaf)
    for i in range(header.n_leaves):
        record = difffile.read_record(source, header, i)
        new_leaf = difffile.apply_record(prev_padded[i * leaf:(i + 1) * leaf], record, header)
        assert merkle.verify_proof(merkle.hash_leaf(new_leaf.tobytes()), i, result.new_tree.proof(i), header.new_root)
        assert merkle.verify_proof(merkle.hash_leaf(record), i, result.diff_tree.proof(i), header.diff_root)
    # Error feedback: what the diff could not carry is exactly the residual.
    delta = checkpoint.pad(raw, leaf) - prev_padded
    assert np.allclose(diff.dequantize() + result.residual, delta, rtol=0, atol=1e-9)


def test_rebuild_is_identical_on_every_run():
    prev, raw = _models(10_000, 3)
    roots = {difffile.make_diff(prev, raw, 1024).diff.header.new_root for _ in range(3)}
    assert len(roots) == 1


def test_cosine_of_dequantized_update_is_high():
    prev, raw = _models(50_000, 4)
    result = difffile.make_diff(prev, raw, 4096)
    delta = (raw - prev).astype(np.float64)
    deq = result.diff.dequantize()[: delta.size].astype(np.float64)
    assert deq @ delta / np.linalg.norm(deq) / np.linalg.norm(delta) > 0.98


def _corrupt(data: bytes, offset: int, value: int) -> bytes:
    out = bytearray(data)
    out[offset] = value
    return bytes(out)


def test_corrupted_diffs_get_clear_errors():
    prev, raw = _models(300, 5)
    data = difffile.make_diff(prev, raw, 64).diff.encode()
    cases = {
        "magic": _corrupt(data, 0, ord("X")),
        "truncated": data[:-1],
        "header says": data + b"\0",
        "outside": _corrupt(data, difffile.HEADER_SIZE, 250),          # scale byte > 247
        "diff_root": _corrupt(data, difffile.HEADER_SIZE + 3, 120),    # valid scale, wrong root
        "group size": data[:24] + (64).to_bytes(4, "little") + data[28:],
    }
    for message, bad in cases.items():
        with pytest.raises(FormatError, match=message if message != "truncated" else "header says|truncated"):
            difffile.read(BytesSource(bad))


def test_a_diff_that_writes_into_the_padding_is_malformed():
    prev, raw = _models(40, 6)  # 40 params in a 64-param leaf: 24 padding values
    result = difffile.make_diff(prev, raw, 64)
    records = result.diff.records.copy()
    records[0, 2 + 31] = 0x11  # nibbles of elements 62 and 63, both padding
    bad = difffile.Diff(result.diff.header.__class__(**{**result.diff.header.__dict__,
                        "diff_root": difffile.records_tree(records).root}), records)
    with pytest.raises(FormatError, match="padding"):
        difffile.read(BytesSource(bad.encode()))


def test_checkpoint_files_round_trip_and_reject_bad_sizes(tmp_path):
    theta = np.arange(100, dtype=np.float32)
    path = tmp_path / "c.bin"
    checkpoint.write(path, theta, 32)
    assert path.stat().st_size == 128 * 4
    assert np.array_equal(checkpoint.read(path, 32, 100), theta)
    assert checkpoint.root_of_file(path, 32) == checkpoint.model_root(theta, 32)
    assert np.array_equal(checkpoint.read_leaf(FileSource(path), 3, 32), np.r_[np.arange(96, 100), np.zeros(28)])
    with pytest.raises(FormatError, match="whole number"):
        checkpoint.read(path, 256)
    with pytest.raises(FormatError, match="needs"):
        checkpoint.read(path, 32, 200)
    with pytest.raises(FormatError, match="power of two"):
        checkpoint.read(path, 48)


# -- sparse diffs (version 2, PROTOCOL.md D13) ---------------------------------------------------

def test_sparse_record_size_and_compression_at_the_default_leaf():
    assert difffile.record_size(4096, groups=2) == 38  # 2 x (u16 index, scale, 16 nibble bytes)
    assert 4 * 4096 / 38 == pytest.approx(431, abs=1)
    # 19 bytes a group never equals a dense record's 17 L / 32: the length alone says the layout
    assert all(difffile.record_size(leaf) % 19 for leaf in (32, 64, 4096, 16384))


@settings(max_examples=25, deadline=None)
@given(n_params=st.integers(1, 700), leaf=st.sampled_from([64, 256]), seed=st.integers(0, 2**16), data=st.data())
def test_sparse_diff_round_trip_and_leaf_rebuild_is_bit_exact(n_params, leaf, seed, data):
    groups = data.draw(st.integers(1, leaf // 32 - 1))
    prev, raw = _models(n_params, seed)
    result = difffile.make_diff(prev, raw, leaf, groups=groups)
    encoded = result.diff.encode()
    assert len(encoded) == difffile.HEADER_SIZE + checkpoint.n_leaves(n_params, leaf) * 19 * groups
    diff = difffile.read(BytesSource(encoded))
    assert (diff.header.version, diff.header.groups) == (2, groups)
    assert diff.apply(prev).view(np.uint32).tolist() == result.theta_new.view(np.uint32).tolist()
    # The sparse diff is exactly the dense diff of what it carries: the same new model, bit for bit.
    q, scales = diff.q_and_scales()
    dense = difffile.commit(checkpoint.pad(prev, leaf), q, scales, diff.header.prev_root, n_params, leaf)
    assert dense.new_tree.root == result.new_tree.root
    padded_prev = checkpoint.pad(prev, leaf)
    for i in range(diff.header.n_leaves):
        record = difffile.read_record(BytesSource(encoded), diff.header, i)
        leaf_new = difffile.apply_record(padded_prev[i * leaf:(i + 1) * leaf], record, diff.header, i)
        assert leaf_new.view(np.uint32).tolist() == result.theta_new[i * leaf:(i + 1) * leaf].view(np.uint32).tolist()
    # Error feedback: what the diff does not carry, unsent groups included, is the residual.
    delta = checkpoint.pad(raw, leaf) - padded_prev
    assert np.array_equal(diff.dequantize() + result.residual, delta)


def test_a_sparse_diff_carries_each_leafs_largest_groups():
    prev = np.zeros(256, np.float32)
    raw = prev.copy()
    raw[32 * 5 + 7] = 0.5      # group 5: the largest
    raw[32 * 2] = -0.25        # group 2: the second
    raw[32 * 6 + 1] = 0.1      # group 6: left out, kept as the residual
    result = difffile.make_diff(prev, raw, 256, groups=2)
    index = result.diff.records[0, :4].view("<u2").tolist()
    assert index == [2, 5]
    assert result.residual[32 * 6 + 1] == np.float32(0.1) and result.theta_new[32 * 6 + 1] == 0
    assert result.theta_new[32 * 5 + 7] == np.float32(0.5) and result.theta_new[32 * 2] == np.float32(-0.25)


def test_an_aggregate_averages_each_group_over_the_updates_that_move_it():
    """PROTOCOL.md D14. Sparse updates naming different groups: each group takes its one mover's
    whole step (the plain 1/k average would halve it), bit for bit as applying both in turn."""
    from pogo.protocol import aggregate

    prev = np.random.default_rng(5).standard_normal(256).astype(np.float32)
    steps = np.zeros((2, 256), np.float32)
    steps[0, 32 * 1:32 * 2], steps[1, 32 * 6:32 * 7] = 0.25, -0.5      # disjoint groups: 1 and 6
    steps[:, 32 * 3 + 4] = [0.125, 0.375]                                # group 3: both move it
    a, b = (difffile.make_diff(prev, prev + s, 256, groups=3).diff for s in steps)
    new, in_turn = aggregate.aggregate(prev, [a, b]), b.apply(a.apply(prev))
    one_mover = np.ones(256, bool)
    one_mover[32 * 3:32 * 4] = False
    assert np.array_equal(new[one_mover].view(np.uint32), in_turn[one_mover].view(np.uint32))
    assert new[32 * 3 + 4] == np.float32(prev[32 * 3 + 4] + np.float32(0.25))  # (0.125 + 0.375) / 2
    assert new[32 * 6] == np.float32(prev[32 * 6] - np.float32(0.5))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), k=st.integers(2, 6), groups=st.integers(0, 3))
def test_an_aggregate_moves_no_weight_beyond_its_movers_steps(seed, k, groups):
    """The bound D14 keeps: every weight of an aggregate moves by an average of the accepted steps
    that moved its group, so never further than the largest of them (rounding aside), whatever
    the updates, sparse (``groups`` = 1-3 of 4) or dense (0)."""
    from pogo.protocol import aggregate

    rng = np.random.default_rng(seed)
    prev = rng.standard_normal(512).astype(np.float32)
    diffs = [difffile.make_diff(prev, prev + (rng.standard_normal(512) * rng.choice([1e-3, 1e-1])).astype(np.float32),
                                128, groups=groups).diff for _ in range(k)]
    steps = np.stack([d.dequantize() for d in diffs]).astype(np.float64)
    moved = np.repeat(np.stack([d.q_and_scales()[0].reshape(-1, 32).any(axis=1) for d in diffs]), 32, axis=1)
    some = moved.any(axis=0)
    low = np.where(moved, steps, np.inf).min(axis=0)[some]
    high = np.where(moved, steps, -np.inf).max(axis=0)[some]
    change = aggregate.aggregate(prev, diffs).astype(np.float64) - prev
    slack = 1e-6 * (np.abs(prev) + np.abs(steps).max(axis=0))[some]  # float32 roundings: sum, product, add
    assert ((change[some] >= low - slack) & (change[some] <= high + slack)).all()
    assert (change[~some] == 0).all()


def test_sparse_diffs_get_clear_errors():
    prev, raw = _models(300, 7)
    data = difffile.make_diff(prev, raw, 128, groups=2).diff.encode()

    def header_with(version: int, groups: int) -> bytes:
        return data[:8] + version.to_bytes(2, "little") + data[10:124] + groups.to_bytes(4, "little")

    def records_with(index: list[int]) -> bytes:
        body = bytearray(data[difffile.HEADER_SIZE:])
        body[:4] = np.array(index, "<u2").tobytes()
        return data[:difffile.HEADER_SIZE] + bytes(body)

    cases = {
        "unsupported diff version": header_with(1, 2),              # dense with a group count
        "at least one group": header_with(2, 0),
        r"groups per record must be .* \[0, 4\)": header_with(2, 4),  # all of a leaf's groups: use dense
        "strictly ascending": records_with([3, 1]),
        "strictly ascending and below 4": records_with([1, 4]),
        "header says": data + b"\0",
    }
    for message, bad in cases.items():
        with pytest.raises(FormatError, match=message):
            difffile.read(BytesSource(bad))
    with pytest.raises(FormatError, match="NaN"):  # a diverged group is refused, not left out
        difffile.make_diff(prev, np.r_[raw[:-1], np.float32("nan")], 128, groups=1)
    # Review finding: a 147-byte file naming leaves of 2^30 parameters expanded to gigabytes.
    huge = data[:20] + (1 << 30).to_bytes(4, "little") + data[24:124] + (1).to_bytes(4, "little") + bytes(19)
    huge = huge[:12] + (1).to_bytes(8, "little") + huge[20:]
    with pytest.raises(FormatError, match="to 16,384"):
        difffile.read(BytesSource(huge))
