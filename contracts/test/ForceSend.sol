// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ForceSend
/// @notice Forces ETH into a contract that does not accept it, the way an attacker would
///         (selfdestruct sends without calling the target), so the tests can check that the
///         accounting survives it.
contract ForceSend {
    /// @notice Send msg.value to `target` unasked.
    constructor(address payable target) payable {
        selfdestruct(target);
    }
}
