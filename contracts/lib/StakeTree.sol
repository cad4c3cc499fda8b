// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title StakeTree
/// @notice A Fenwick (binary indexed) tree of verifier stake weights over slots 1..CAPACITY,
///         so that a stake-weighted draw and a weight change each cost O(log CAPACITY) storage
///         accesses, never a loop over all verifiers.
library StakeTree {
    /// @dev 2^12 slots: 13 storage words touched per update, 12 per draw.
    uint256 internal constant CAPACITY = 4096;

    /// @notice A slot outside 1..CAPACITY.
    error SlotOutOfRange(uint256 slot);

    struct Tree {
        mapping(uint256 => uint256) node;
        uint256 total;
    }

    /// @notice Change the weight of `slot` from `oldWeight` to `newWeight`.
    function update(Tree storage tree, uint256 slot, uint256 oldWeight, uint256 newWeight) internal {
        if (slot == 0 || slot > CAPACITY) revert SlotOutOfRange(slot);
        if (newWeight == oldWeight) return;
        bool up = newWeight > oldWeight;
        uint256 delta = up ? newWeight - oldWeight : oldWeight - newWeight;
        tree.total = up ? tree.total + delta : tree.total - delta;
        for (uint256 i = slot; i <= CAPACITY; i += i & (~i + 1)) {
            tree.node[i] = up ? tree.node[i] + delta : tree.node[i] - delta;
        }
    }

    /// @notice The smallest slot whose cumulative weight exceeds `r` (requires r < total).
    function find(Tree storage tree, uint256 r) internal view returns (uint256) {
        uint256 pos = 0;
        for (uint256 bit = CAPACITY; bit > 0; bit >>= 1) {
            uint256 next = pos + bit;
            if (next <= CAPACITY && tree.node[next] <= r) {
                pos = next;
                r -= tree.node[next];
            }
        }
        return pos + 1;
    }
}
