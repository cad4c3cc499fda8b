// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Sha256Merkle} from "../lib/Sha256Merkle.sol";
import {SeedStream} from "../lib/SeedStream.sol";
import {Float32} from "../lib/Float32.sol";

/// @title VectorHarness
/// @notice Exposes the protocol libraries so that tests check them against the shared
///         vectors in tests/vectors/ and the gas benchmark measures one proof. Not deployed
///         outside tests and benchmarks.
contract VectorHarness {
    /// @notice Sha256Merkle.hashLeaf.
    function hashLeaf(bytes calldata data) external pure returns (bytes32) {
        return Sha256Merkle.hashLeaf(data);
    }

    /// @notice Sha256Merkle.hashNode.
    function hashNode(bytes32 left, bytes32 right) external pure returns (bytes32) {
        return Sha256Merkle.hashNode(left, right);
    }

    /// @notice Sha256Merkle.verify.
    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf, uint256 index) external pure returns (bool) {
        return Sha256Merkle.verify(proof, root, leaf, index);
    }

    /// @notice Sha256Merkle.processProof.
    function processProof(bytes32[] calldata proof, bytes32 leaf, uint256 index) external pure returns (bytes32) {
        return Sha256Merkle.processProof(proof, leaf, index);
    }

    /// @notice Sha256Merkle.verify as a transaction, so its gas can be measured.
    function verifyTx(bytes32[] calldata proof, bytes32 root, bytes32 leaf, uint256 index) external returns (bool) {
        return Sha256Merkle.verify(proof, root, leaf, index);
    }

    /// @notice SeedStream.shardOf.
    function shardOf(uint256 taskId, uint256 round, address miner, uint256 nShards) external pure returns (uint256) {
        return SeedStream.shardOf(taskId, round, miner, nShards);
    }

    /// @notice SeedStream.challengeSeed.
    function challengeSeed(bytes32 nextBlockHash, uint256 submissionId, bytes32 newRoot) external pure returns (bytes32) {
        return SeedStream.challengeSeed(nextBlockHash, submissionId, newRoot);
    }

    /// @notice SeedStream.purpose of a tag string.
    function purpose(string calldata tag, uint256 seat) external pure returns (bytes32) {
        return SeedStream.purpose(keccak256(bytes(tag)), seat);
    }

    /// @notice SeedStream.draw.
    function draw(bytes32 seed, bytes32 purpose_, uint256 k) external pure returns (uint256) {
        return SeedStream.draw(seed, purpose_, k);
    }

    /// @notice The tag hashes the contracts use, to pin the strings.
    function tags() external pure returns (bytes32 committee, bytes32 leaves) {
        return (SeedStream.COMMITTEE_TAG, SeedStream.LEAVES_TAG);
    }

    /// @notice Float32.add over pairs (batched: one call checks many vectors).
    function f32Add(uint256[] calldata a, uint256[] calldata b) external pure returns (uint256[] memory out) {
        out = new uint256[](a.length);
        for (uint256 i = 0; i < a.length; ++i) out[i] = Float32.add(a[i], b[i]);
    }

    /// @notice Float32.mul over pairs.
    function f32Mul(uint256[] calldata a, uint256[] calldata b) external pure returns (uint256[] memory out) {
        out = new uint256[](a.length);
        for (uint256 i = 0; i < a.length; ++i) out[i] = Float32.mul(a[i], b[i]);
    }

    /// @notice Float32.reciprocal of each k.
    function f32Reciprocal(uint256[] calldata k) external pure returns (uint256[] memory out) {
        out = new uint256[](k.length);
        for (uint256 i = 0; i < k.length; ++i) out[i] = Float32.reciprocal(k[i]);
    }
}
