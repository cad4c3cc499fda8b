// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IStaking} from "./interfaces/IStaking.sol";
import {StakeTree} from "./lib/StakeTree.sol";

/// @title Staking
/// @notice Native-ETH stakes for miners and verifiers, unbonding, pull payments, and the
///         stake-weighted verifier pool that committees are drawn from.
/// @dev Accounting invariant (checked by the tests after every step):
///      address(this).balance >= totalStaked + totalUnbonding + totalWithdrawable + totalEscrow
///      + totalBurned, where totalEscrow (kept by the PoGO contract) holds task pools, round
///      reward pots and slashed stake awaiting its recipients, and totalBurned the slashed
///      verifier stake that nobody may receive. The ledger is exact; the balance may exceed it
///      by ETH forced in (selfdestruct, coinbase), which no account can claim.
abstract contract Staking is IStaking {
    using StakeTree for StakeTree.Tree;

    /// @dev Two storage words; the first holds all that a committee draw changes.
    struct Account {
        uint112 stake;          // bonded, slashable (112 bits: 5 * 10^15 ETH)
        uint112 locked;         // the open submissions' bonds (seats lock none: D16); may exceed a slashed stake
        uint32 openSeats;       // committee seats not yet settled: they keep unbonding locked
        uint128 unbonding;      // requested out, still slashable until withdrawn
        uint64 unbondingReady;  // first block at which `unbonding` may be withdrawn
        uint32 slot;            // verifier pool slot, 0 if not a verifier
    }

    /// @inheritdoc IStaking
    uint64 public immutable unbondingBlocks;
    /// @inheritdoc IStaking
    uint64 public constant MAX_UNBONDING_BLOCKS = 250_000;
    /// @inheritdoc IStaking
    uint256 public constant EPOCH_BLOCKS = 16;
    /// @inheritdoc IStaking
    uint128 public immutable minVerifierStake;

    /// @inheritdoc IStaking
    mapping(address => Account) public accounts;
    /// @inheritdoc IStaking
    mapping(address => uint256) public withdrawable;
    /// @dev A verifier slot: its owner and the epoch it took the slot in. A slot taken in the
    ///      current epoch is not drawn until the next one: its weight in the epoch's snapshot
    ///      belonged to its previous owner, and choosing which slot to take must not steer a draw.
    struct Slot {
        address owner;
        uint32 since;
    }

    mapping(uint256 => Slot) internal slots;
    /// @inheritdoc IStaking
    uint256 public verifierCount;
    /// @notice Slots given up by verifiers that left the pool, reused before new ones.
    uint32[] internal freeSlots;
    StakeTree.Tree internal pool;

    /// @inheritdoc IStaking
    uint256 public totalStaked;
    /// @inheritdoc IStaking
    uint256 public totalUnbonding;
    /// @inheritdoc IStaking
    uint256 public totalWithdrawable;
    /// @inheritdoc IStaking
    uint256 public totalEscrow;
    /// @inheritdoc IStaking
    uint256 public totalBurned;

    constructor(uint64 unbondingBlocks_, uint128 minVerifierStake_) {
        if (unbondingBlocks_ == 0 || unbondingBlocks_ > MAX_UNBONDING_BLOCKS) revert BadDeployment("unbondingBlocks");
        if (minVerifierStake_ == 0) revert BadDeployment("minVerifierStake");
        unbondingBlocks = unbondingBlocks_;
        minVerifierStake = minVerifierStake_;
    }

    /// @inheritdoc IStaking
    function stake() external payable {
        if (msg.value == 0) revert ZeroAmount();
        Account storage a = accounts[msg.sender];
        uint256 oldWeight = _weight(a);
        if (uint256(a.stake) + msg.value > type(uint112).max) revert StakeTooLarge();
        a.stake += uint112(msg.value);
        totalStaked += msg.value;
        _syncWeight(a, oldWeight);
        emit Staked(msg.sender, msg.value, a.stake);
    }

    /// @inheritdoc IStaking
    function registerVerifier() external {
        Account storage a = accounts[msg.sender];
        _checkJoin(a);
        uint256 slot;
        if (freeSlots.length > 0) {
            slot = freeSlots[freeSlots.length - 1];
            freeSlots.pop();
        } else {
            if (verifierCount == StakeTree.CAPACITY) revert PoolFull();
            slot = ++verifierCount;
        }
        _seat(a, slot);
    }

    /// @inheritdoc IStaking
    function registerVerifierReplacing(uint256 slot) external {
        Account storage a = accounts[msg.sender];
        _checkJoin(a);
        address victim = slots[slot].owner;
        Account storage v = accounts[victim];
        if (victim == address(0) || v.slot != slot) revert CannotEvict(slot);
        if (!(v.stake < minVerifierStake || v.stake < a.stake) || v.openSeats != 0) revert CannotEvict(slot);
        pool.update(slot, _weight(v), 0, currentEpoch());
        v.slot = 0;
        emit VerifierLeft(victim, slot, true);
        _seat(a, slot);
    }

    /// @inheritdoc IStaking
    function leaveVerifierPool() external {
        Account storage a = accounts[msg.sender];
        uint256 slot = a.slot;
        if (slot == 0) revert NotVerifier();
        if (a.openSeats != 0) revert SeatsOpen(a.openSeats);
        pool.update(slot, _weight(a), 0, currentEpoch());
        a.slot = 0;
        slots[slot].owner = address(0);
        freeSlots.push(uint32(slot));
        emit VerifierLeft(msg.sender, slot, false);
    }

    /// @inheritdoc IStaking
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Account storage a = accounts[msg.sender];
        uint256 free = _free(a);
        if (amount > free) revert InsufficientFreeStake(amount, free);
        uint256 oldWeight = _weight(a);
        a.stake -= uint112(amount);
        a.unbonding += uint128(amount);
        a.unbondingReady = uint64(block.number) + unbondingBlocks;
        totalStaked -= amount;
        totalUnbonding += amount;
        _syncWeight(a, oldWeight);
        emit UnstakeRequested(msg.sender, amount, a.unbondingReady);
    }

    /// @inheritdoc IStaking
    function withdraw() external {
        Account storage a = accounts[msg.sender];
        uint256 amount = withdrawable[msg.sender];
        uint256 matured = 0;
        if (a.unbonding > 0 && block.number >= a.unbondingReady && a.openSeats == 0) {
            matured = a.unbonding;
        }
        if (amount + matured == 0) revert NothingToWithdraw();
        // Effects first, then the one external call.
        if (matured > 0) {
            a.unbonding = 0;
            totalUnbonding -= matured;
        }
        withdrawable[msg.sender] = 0;
        totalWithdrawable -= amount;
        amount += matured;
        emit Withdrawn(msg.sender, amount);
        // slither-disable-next-line low-level-calls
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    /// @inheritdoc IStaking
    function accountedBalance() external view returns (uint256) {
        return totalStaked + totalUnbonding + totalWithdrawable + totalEscrow + totalBurned;
    }

    /// @inheritdoc IStaking
    function slotOwner(uint256 slot) external view returns (address) {
        return slots[slot].owner;
    }

    /// @inheritdoc IStaking
    function poolWeight() external view returns (uint256) {
        return pool.current();
    }

    /// @inheritdoc IStaking
    function drawWeight() external view returns (uint256) {
        return pool.totalAt(currentEpoch());
    }

    /// @inheritdoc IStaking
    function currentEpoch() public view returns (uint32) {
        return uint32(block.number / EPOCH_BLOCKS);
    }

    // -- internal -------------------------------------------------------------------

    function _checkJoin(Account storage a) internal view {
        if (a.slot != 0) revert AlreadyVerifier();
        if (a.stake < minVerifierStake) revert BelowMinimumStake(minVerifierStake, a.stake);
    }

    function _seat(Account storage a, uint256 slot) internal {
        a.slot = uint32(slot);
        slots[slot] = Slot(msg.sender, currentEpoch());
        _syncWeight(a, 0);
        emit VerifierRegistered(msg.sender, slot);
    }

    function _weight(Account storage a) internal view returns (uint256) {
        return a.slot != 0 && a.stake >= minVerifierStake ? a.stake : 0;
    }

    function _syncWeight(Account storage a, uint256 oldWeight) internal {
        if (a.slot != 0) pool.update(a.slot, oldWeight, _weight(a), currentEpoch());
    }

    /// @dev Burn slashed ETH held in escrow: it stays in the contract, and nobody may claim it.
    function _burn(uint256 amount) internal {
        totalEscrow -= amount;
        totalBurned += amount;
    }

    /// @dev Take up to `amount` from stake, then from unbonding; the taken ETH moves to escrow.
    function _slash(address who, uint256 amount, uint256 submissionId, SlashReason why) internal returns (uint256 taken) {
        taken = _take(who, amount);
        emit Slashed(who, taken, submissionId, why);
    }

    /// @dev Move up to `amount` of `who`'s stake (then unbonding) to escrow; the caller emits.
    function _take(address who, uint256 amount) internal returns (uint256 taken) {
        Account storage a = accounts[who];
        uint256 oldWeight = _weight(a);
        uint256 fromStake = amount <= a.stake ? amount : a.stake;
        uint256 fromUnbonding = amount - fromStake <= a.unbonding ? amount - fromStake : a.unbonding;
        a.stake -= uint112(fromStake);
        a.unbonding -= uint128(fromUnbonding);
        // `locked` is not clamped to what is left: it keeps counting the open bonds, so a bond's
        // release cannot free stake that backs another open bond (review of D16).
        totalStaked -= fromStake;
        totalUnbonding -= fromUnbonding;
        taken = fromStake + fromUnbonding;
        totalEscrow += taken;
        _syncWeight(a, oldWeight);
    }

    /// @dev Release a bond: `locked` is the sum of the open bonds, so this never underflows.
    function _unlock(address who, uint256 amount) internal {
        accounts[who].locked -= uint112(amount);
    }

    /// @dev Stake not backing an open bond; 0 when slashes left less than the bonds.
    function _free(Account storage a) internal view returns (uint256) {
        return a.stake > a.locked ? a.stake - a.locked : 0;
    }

    /// @dev Move `amount` of escrow to `to`'s withdrawable balance.
    function _payFromEscrow(address to, uint256 amount) internal {
        totalEscrow -= amount;
        withdrawable[to] += amount;
        totalWithdrawable += amount;
    }
}
