// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IStaking} from "../interfaces/IStaking.sol";

/// @title RejectingStaker
/// @notice A staker that refuses ETH, so the tests can reach withdraw()'s TransferFailed.
contract RejectingStaker {
    /// @notice Stake msg.value, unstake it all, ready to withdraw after unbonding.
    function stakeAndUnstake(IStaking target) external payable {
        target.stake{value: msg.value}();
        target.requestUnstake(msg.value);
    }

    /// @notice Try to withdraw into a contract with no receive function.
    function withdrawFrom(IStaking target) external {
        target.withdraw();
    }
}
