// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StakeTree} from "../lib/StakeTree.sol";

/// @title StakeTreeHarness
/// @notice Exposes StakeTree to the tests, which check its draws against pogo/seedstream.py.
contract StakeTreeHarness {
    using StakeTree for StakeTree.Tree;

    StakeTree.Tree internal tree;
    mapping(uint256 => uint256) public weightOf;

    /// @notice Set the weight of `slot`.
    function set(uint256 slot, uint256 weight) external {
        tree.update(slot, weightOf[slot], weight);
        weightOf[slot] = weight;
    }

    /// @notice StakeTree.find.
    function find(uint256 r) external view returns (uint256) {
        return tree.find(r);
    }

    /// @notice The sum of all weights.
    function total() external view returns (uint256) {
        return tree.total;
    }
}
