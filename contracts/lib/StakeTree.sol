// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title StakeTree
/// @notice A Fenwick (binary indexed) tree of verifier stake weights over slots 1..CAPACITY,
///         so that a stake-weighted draw and a weight change each cost O(log CAPACITY) storage
///         accesses, never a loop over all verifiers.
/// @dev Every node also remembers its value at the start of the current epoch, so that draws
///      read the weights *as they were when the epoch began*: a stake change made after a
///      draw's randomness could be known cannot steer that draw (committee grinding). A node
///      written in epoch e keeps `before` = its value when e began; reading "as of the start of
///      epoch e" is `before` if it was written in e, else `value`. Only the current epoch's
///      snapshot can be read, which is all a draw needs.
library StakeTree {
    /// @dev 2^12 slots: 13 storage words touched per update, 12 per draw.
    uint256 internal constant CAPACITY = 4096;

    /// @notice A slot outside 1..CAPACITY.
    error SlotOutOfRange(uint256 slot);
    /// @notice A weight that does not fit the node's 112 bits (5 * 10^15 ETH).
    error WeightTooLarge(uint256 weight);

    /// @dev One storage word: the current value, the value when `epoch` began, and the epoch
    ///      of the last write.
    struct Node {
        uint112 value;
        uint112 before;
        uint32 epoch;
    }

    struct Tree {
        mapping(uint256 => Node) node;
        Node total;
    }

    /// @notice Change the weight of `slot` from `oldWeight` to `newWeight`, in `epoch` (the
    ///         current one; epochs never go back).
    function update(Tree storage tree, uint256 slot, uint256 oldWeight, uint256 newWeight, uint32 epoch) internal {
        if (slot == 0 || slot > CAPACITY) revert SlotOutOfRange(slot);
        if (newWeight == oldWeight) return;
        bool up = newWeight > oldWeight;
        uint256 delta = up ? newWeight - oldWeight : oldWeight - newWeight;
        _add(tree.total, delta, up, epoch);
        for (uint256 i = slot; i <= CAPACITY; i += i & (~i + 1)) {
            _add(tree.node[i], delta, up, epoch);
        }
    }

    /// @notice The total weight now (for views; draws use `totalAt`).
    function current(Tree storage tree) internal view returns (uint256) {
        return tree.total.value;
    }

    /// @notice The total weight as of the start of `epoch` (the current one).
    function totalAt(Tree storage tree, uint32 epoch) internal view returns (uint256) {
        return _at(tree.total, epoch);
    }

    /// @notice The smallest slot whose cumulative weight, as of the start of `epoch`, exceeds
    ///         `r` (requires r < totalAt(epoch)).
    function find(Tree storage tree, uint256 r, uint32 epoch) internal view returns (uint256) {
        uint256 pos = 0;
        for (uint256 bit = CAPACITY; bit > 0; bit >>= 1) {
            uint256 next = pos + bit;
            if (next <= CAPACITY) {
                uint256 w = _at(tree.node[next], epoch);
                if (w <= r) {
                    pos = next;
                    r -= w;
                }
            }
        }
        return pos + 1;
    }

    function _add(Node storage n, uint256 delta, bool up, uint32 epoch) private {
        Node memory m = n;
        if (m.epoch != epoch) {
            m.before = m.value; // the first write of this epoch: keep the epoch's starting value
            m.epoch = epoch;
        }
        uint256 v = up ? uint256(m.value) + delta : uint256(m.value) - delta;
        if (v > type(uint112).max) revert WeightTooLarge(v);
        m.value = uint112(v);
        n.value = m.value;
        n.before = m.before;
        n.epoch = m.epoch;
    }

    function _at(Node storage n, uint32 epoch) private view returns (uint256) {
        return n.epoch == epoch ? n.before : n.value;
    }
}
