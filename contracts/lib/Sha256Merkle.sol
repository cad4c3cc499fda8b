// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Sha256Merkle
/// @notice PoGO's SHA-256 Merkle trees (docs/PROTOCOL.md section 2):
///   leaf_i     = sha256(0x00 || leaf bytes)
///   node(a, b) = sha256(0x01 || a || b)
/// A proof is the sibling hashes from the bottom up; bit k of the leaf index says whether
/// the running hash is the right (1) or the left (0) child at level k. Proofs from
/// pogo/merkle.py verify here byte for byte (tests/vectors/merkle.json).
library Sha256Merkle {
    /// @notice The proof is too short to address `index` (its high bits would be ignored).
    error IndexOutOfRange(uint256 index, uint256 depth);

    /// @notice The leaf hash of one leaf's bytes.
    function hashLeaf(bytes memory data) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), data));
    }

    /// @notice The hash of an inner node.
    function hashNode(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x01), left, right));
    }

    /// @notice The root reached from `leaf` at `index` along `proof`.
    function processProof(bytes32[] calldata proof, bytes32 leaf, uint256 index) internal pure returns (bytes32 running) {
        // Without this check, leaf 2^depth + i would pass as leaf i.
        if (proof.length < 256 && index >> proof.length != 0) revert IndexOutOfRange(index, proof.length);
        running = leaf;
        for (uint256 k = 0; k < proof.length; ++k) {
            running = (index >> k) & 1 == 1 ? hashNode(proof[k], running) : hashNode(running, proof[k]);
        }
    }

    /// @notice True when `proof` shows `leaf` is leaf `index` of the tree with `root`.
    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf, uint256 index) internal pure returns (bool) {
        return processProof(proof, leaf, index) == root;
    }
}
