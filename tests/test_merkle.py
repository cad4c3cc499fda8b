"""Merkle trees, proofs and tree files (PROTOCOL.md section 2)."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pogo.errors import FormatError
from pogo.protocol import merkle, treefile
from pogo.protocol.source import BytesSource


def test_hashes_follow_the_spec_by_hand():
    leaf = b"\x07" * 64
    assert merkle.hash_leaf(leaf) == hashlib.sha256(b"\x00" + leaf).digest()
    a, b = b"\x01" * 32, b"\x02" * 32
    assert merkle.hash_node(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert merkle.ZERO_HASHES[0] == bytes(32)
    assert merkle.ZERO_HASHES[1] == hashlib.sha256(b"\x01" + bytes(64)).digest()


def test_three_leaves_pad_with_an_empty_subtree():
    data = bytes(range(96))
    h = [merkle.hash_leaf(data[i * 32:(i + 1) * 32]) for i in range(3)]
    expected = merkle.hash_node(merkle.hash_node(h[0], h[1]), merkle.hash_node(h[2], bytes(32)))
    tree = merkle.MerkleTree.from_leaf_data(data, 32)
    assert tree.root == expected and tree.depth == 2


def test_single_leaf_root_is_its_hash():
    tree = merkle.MerkleTree.from_leaf_data(b"x" * 16, 16)
    assert tree.depth == 0 and tree.root == merkle.hash_leaf(b"x" * 16) and tree.proof(0) == []


def test_parallel_hashing_matches_serial():
    data = bytes(range(256)) * 64 * 300  # 4.9 MB, enough to use several threads
    assert merkle.hash_leaves(data, 16384, workers=4) == merkle.hash_leaves(data, 16384, workers=1)


@pytest.mark.parametrize("n", [2, 3, 7, 8, 9, 63, 64, 65, 200, 257])
@pytest.mark.parametrize("workers", [2, 3])
def test_threaded_leaf_hashes_are_the_serial_ones(monkeypatch, n, workers):
    monkeypatch.setattr(merkle, "_PARALLEL_MIN_BYTES", 1)  # thread even tiny inputs
    data = hashlib.sha256(n.to_bytes(2, "big")).digest() * (n * 2)
    serial = [merkle.hash_leaf(data[i * 64:(i + 1) * 64]) for i in range(n)]
    assert merkle.hash_leaves(data, 64, workers=workers) == serial


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), data=st.data())
def test_proofs_accept_exactly_the_right_leaf_index_and_root(n, data):
    leaves = [data.draw(st.binary(min_size=8, max_size=8)) for _ in range(n)]
    tree = merkle.MerkleTree.from_leaf_data(b"".join(leaves), 8)
    i = data.draw(st.integers(0, n - 1))
    leaf, proof = merkle.hash_leaf(leaves[i]), tree.proof(i)
    assert merkle.verify_proof(leaf, i, proof, tree.root)
    if proof and proof[0] != leaf:  # the same proof at the neighbouring index swaps children
        assert not merkle.verify_proof(leaf, i ^ 1, proof, tree.root)
    assert not merkle.verify_proof(leaf, i + (1 << tree.depth), proof, tree.root)
    assert not merkle.verify_proof(merkle.hash_leaf(leaves[i] + b"!"), i, proof, tree.root)
    assert not merkle.verify_proof(leaf, i, proof, hashlib.sha256(tree.root).digest())
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[k] = bytes(b ^ 1 for b in bad[k])
        assert not merkle.verify_proof(leaf, i, bad, tree.root)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 70), seed=st.binary(min_size=1, max_size=4), version=st.sampled_from(treefile.VERSIONS))
def test_tree_file_round_trip_and_proofs(n, seed, version):
    data = hashlib.sha256(seed).digest() * (n * 2)
    tree = merkle.MerkleTree.from_leaf_data(data[: n * 64], 64)
    raw = treefile.encode(tree, 16, version)
    assert len(raw) == treefile.file_sizes(16, n)[treefile.VERSIONS.index(version)]
    source = BytesSource(raw)
    assert treefile.read_tree(source) == tree
    header = treefile.read_header(source)
    assert (header.n_leaves, header.depth, header.leaf_size, header.version) == (n, tree.depth, 16, version)
    proofs = treefile.prover(source, header)
    for i in {0, n // 2, n - 1}:
        assert proofs(i) == (tree.levels[0][i], tree.proof(i), tree.root)
    assert treefile.read_proof(source, n - 1) == (tree.levels[0][n - 1], tree.proof(n - 1), tree.root)
    with pytest.raises(FormatError, match="outside a tree"):
        proofs(n)


def test_a_version_2_tree_file_holds_only_the_leaf_hashes():
    """D19: what writers make; the levels above are hashed by the reader."""
    tree = merkle.MerkleTree.from_leaf_data(bytes(range(200)) * 8, 32)  # 50 leaves
    raw = treefile.encode(tree, 8)
    assert int.from_bytes(raw[8:10], "little") == treefile.VERSION_LEAVES == 2
    assert raw[treefile.HEADER_SIZE:] == b"".join(tree.levels[0])
    every_level = treefile.encode(tree, 8, treefile.VERSION_LEVELS)
    assert len(every_level) - len(raw) == 32 * 52  # the 52 inner nodes of a 50-leaf tree
    relabelled = bytearray(every_level)  # a version 1 file that calls itself version 2: refused by its size
    relabelled[8] = treefile.VERSION_LEAVES
    with pytest.raises(FormatError, match="bytes, its header says"):
        treefile.read_header(BytesSource(bytes(relabelled)))
    future = bytearray(raw)
    future[8] = 3
    with pytest.raises(FormatError, match="unsupported tree file version 3"):
        treefile.read_header(BytesSource(bytes(future)))
    with pytest.raises(ValueError, match="version 3"):
        treefile.encode(tree, 8, 3)


def test_tree_file_corruption_is_caught():
    tree = merkle.MerkleTree.from_leaf_data(bytes(range(200)) * 8, 32)
    raw = bytearray(treefile.encode(tree, 8, treefile.VERSION_LEVELS))  # version 1 stores the inner nodes
    raw[treefile.HEADER_SIZE + 32 * 50 + 8] ^= 0xFF  # the first inner node
    with pytest.raises(FormatError, match="do not hash from their children"):
        treefile.read_tree(BytesSource(bytes(raw)))
    with pytest.raises(FormatError, match="magic"):
        treefile.read_header(BytesSource(b"NOTATREE" + bytes(raw[8:])))
    with pytest.raises(FormatError, match="bytes, its header says"):
        treefile.read_header(BytesSource(bytes(raw[:-1])))
    with pytest.raises(FormatError, match="truncated"):
        treefile.read_header(BytesSource(bytes(raw[:10])))
