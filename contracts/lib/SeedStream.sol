// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title SeedStream
/// @notice The deterministic keccak stream of docs/PROTOCOL.md section 4, as pogo/seedstream.py
///         computes it (tests/vectors/seedstream.json pins both):
///   shard  = uint256(keccak256(abi.encode(taskId, round, miner))) mod (S - 1)
///   seed   = keccak256(abi.encode(blockhash(submitBlock + 1), submissionId, newRoot))
///   purpose(tag, seat) = keccak256(abi.encode(keccak256(bytes(tag)), seat))
///   draw(seed, purpose, k) = uint256(keccak256(abi.encode(seed, purpose, k)))
library SeedStream {
    /// @dev keccak256("pogo.committee"): the tag of the committee draw (seat 0).
    bytes32 internal constant COMMITTEE_TAG = keccak256("pogo.committee");
    /// @dev keccak256("pogo.leaves"): the tag of each member's spot-checked leaves.
    bytes32 internal constant LEAVES_TAG = keccak256("pogo.leaves");

    /// @notice The training shard of `miner` in `round`; the validation shard S - 1 is never drawn.
    function shardOf(uint256 taskId, uint256 round, address miner, uint256 nShards) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(taskId, round, miner))) % (nShards - 1);
    }

    /// @notice The challenge seed of a submission, from the hash of the block after it.
    function challengeSeed(bytes32 nextBlockHash, uint256 submissionId, bytes32 newRoot) internal pure returns (bytes32) {
        return keccak256(abi.encode(nextBlockHash, submissionId, newRoot));
    }

    /// @notice The purpose word of a tag and committee seat.
    function purpose(bytes32 tagHash, uint256 seat) internal pure returns (bytes32) {
        return keccak256(abi.encode(tagHash, seat));
    }

    /// @notice The k-th number of the stream for one purpose.
    function draw(bytes32 seed, bytes32 purpose_, uint256 k) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, purpose_, k)));
    }
}
