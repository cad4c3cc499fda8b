// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StakeTree} from "../lib/StakeTree.sol";

/// @title StakeTreeHarness
/// @notice Exposes StakeTree to the tests, which check its draws against pogo/seedstream.py and
///         its epoch snapshots against the weights set before each epoch began.
contract StakeTreeHarness {
    using StakeTree for StakeTree.Tree;

    StakeTree.Tree internal tree;
    mapping(uint256 => uint256) public weightOf;
    /// @notice The epoch the next `set` writes in (the tests move it forward).
    uint32 public epoch;

    /// @notice Start epoch `e` (never earlier than the current one).
    function setEpoch(uint32 e) external {
        require(e >= epoch, "epochs never go back");
        epoch = e;
    }

    /// @notice Set the weight of `slot` in the current epoch.
    function set(uint256 slot, uint256 weight) external {
        tree.update(slot, weightOf[slot], weight, epoch);
        weightOf[slot] = weight;
    }

    /// @notice StakeTree.find over the current epoch's starting weights.
    function find(uint256 r) external view returns (uint256) {
        return tree.find(r, epoch);
    }

    /// @notice The sum of all weights as of the start of the current epoch.
    function total() external view returns (uint256) {
        return tree.totalAt(epoch);
    }

    /// @notice The sum of all weights now.
    function current() external view returns (uint256) {
        return tree.current();
    }
}
