// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IStaking
/// @notice Native-ETH stakes for miners and verifiers, unbonding, pull payments, and the
///         stake-weighted verifier pool that committees are drawn from: what a dApp, an indexer
///         or another contract may call and hear. Amounts are in wei.
interface IStaking {
    /// @notice Why stake was slashed (the `why` of Slashed).
    enum SlashReason {
        None,
        MinerBond, // the miner's bond, over a rejected or fraud-proven submission
        Minority,  // a vote against a provable outcome (approved a Rejected update, or a fault claimed on an Accepted one)
        Liveness   // a member that never revealed its vote on a submission that expired
    }

    /// @notice `amount` wei was added to `account`'s stake, which is now `stake`.
    event Staked(address indexed account, uint256 amount, uint256 stake);
    /// @notice `verifier` joined the verifier pool in slot `slot`; committees are drawn from the pool by stake.
    event VerifierRegistered(address indexed verifier, uint256 slot);
    /// @notice `verifier` left slot `slot`: by itself, or `evicted` by a registration that needed the slot
    ///         (its stake was below the minimum or below the newcomer's).
    event VerifierLeft(address indexed verifier, uint256 slot, bool evicted);
    /// @notice `amount` of `account`'s free stake started unbonding (still slashable); `withdraw` pays it
    ///         from block `readyBlock` on, once no committee seat of the account is open.
    event UnstakeRequested(address indexed account, uint256 amount, uint256 readyBlock);
    /// @notice `account` was paid `amount`: what it was owed (rewards, fees, bounties, refunds) plus
    ///         matured unbonding stake.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice `amount` was taken from `account`'s stake (then unbonding) over submission
    ///         `submissionId`, for the reason `why`.
    event Slashed(address indexed account, uint256 amount, uint256 indexed submissionId, SlashReason why);

    /// @notice An amount of zero was given where a positive one is needed.
    error ZeroAmount();
    /// @notice The caller already holds a verifier slot.
    error AlreadyVerifier();
    /// @notice Every verifier slot is taken: registerVerifierReplacing takes a smaller one.
    error PoolFull();
    /// @notice The caller holds no verifier slot.
    error NotVerifier();
    /// @notice A verifier needs at least `minimum` staked; the caller has `stake`.
    error BelowMinimumStake(uint256 minimum, uint256 stake);
    /// @notice Slot `slot` has no owner, or its owner has at least the caller's stake (and the
    ///         minimum), or it has an open committee seat.
    error CannotEvict(uint256 slot);
    /// @notice The caller has `openSeats` committee seats not yet settled.
    error SeatsOpen(uint256 openSeats);
    /// @notice A constructor argument (`what`) is out of its bounds.
    error BadDeployment(string what);
    /// @notice `requested` exceeds the stake not locked to open submissions' bonds, `free`.
    error InsufficientFreeStake(uint256 requested, uint256 free);
    /// @notice The caller is owed nothing now (unbonding may not have matured yet).
    error NothingToWithdraw();
    /// @notice The ETH transfer to the caller failed (a contract that refuses ETH); nothing changed.
    error TransferFailed();
    /// @notice The stake would exceed 2^112 - 1 wei.
    error StakeTooLarge();

    /// @notice Add msg.value to the caller's stake.
    function stake() external payable;

    /// @notice Join the verifier pool with at least `minVerifierStake` staked; committees are
    ///         drawn by stake weight. Takes a slot given up by a verifier that left, else a new one.
    function registerVerifier() external;

    /// @notice Join a full pool by taking the slot of a verifier with less stake than the caller
    ///         (or less than the minimum) and no open committee seat: a full pool never locks out
    ///         a verifier with more stake than its smallest member.
    /// @param slot the slot to take (slotOwner names its owner)
    function registerVerifierReplacing(uint256 slot) external;

    /// @notice Leave the verifier pool (no open committee seat); the slot is reused.
    function leaveVerifierPool() external;

    /// @notice Start unbonding `amount` of free stake; it stays slashable until withdrawn, from
    ///         block.number + unbondingBlocks on. A later request restarts the delay for the whole
    ///         unbonding amount.
    /// @param amount wei, at most the stake not locked to open submissions' bonds
    function requestUnstake(uint256 amount) external;

    /// @notice Take out everything the caller is owed, with matured unbonding once no
    ///         committee seat of the caller is open.
    function withdraw() external;

    /// @notice Blocks between an unstake request and its withdrawal.
    function unbondingBlocks() external view returns (uint64);

    /// @notice The longest unbonding delay a deployment may choose (about 35 days at 12 s).
    // slither-disable-next-line naming-convention (the getter of a constant keeps its name)
    function MAX_UNBONDING_BLOCKS() external view returns (uint64);

    /// @notice Committee draws read verifier weights as they were when the current epoch of this
    ///         many blocks began: stake changed later counts from the next epoch.
    // slither-disable-next-line naming-convention (the getter of a constant keeps its name)
    function EPOCH_BLOCKS() external view returns (uint256);

    /// @notice The least stake that gives a verifier any weight in committee draws.
    function minVerifierStake() external view returns (uint128);

    /// @notice An account's position.
    /// @return stake bonded, slashable
    /// @return locked the part of `stake` bonded to open submissions (a seat locks none)
    /// @return openSeats committee seats not yet settled (they hold unbonding back)
    /// @return unbonding requested out, still slashable until withdrawn
    /// @return unbondingReady the first block at which `unbonding` may be withdrawn
    /// @return slot the account's verifier pool slot, 0 if it is not a verifier
    // slither-disable-next-line shadowing-local (the output is named as the Account field it reads)
    function accounts(address account) external view returns (uint112 stake, uint112 locked, uint32 openSeats,
        uint128 unbonding, uint64 unbondingReady, uint32 slot);

    /// @notice ETH `account` can take out with withdraw() now: rewards, fees, bounties, refunds
    ///         (matured unbonding comes on top).
    function withdrawable(address account) external view returns (uint256);

    /// @notice How many verifier slots were ever opened (the highest slot number).
    function verifierCount() external view returns (uint256);

    /// @notice The sum of all stakes.
    function totalStaked() external view returns (uint256);

    /// @notice The sum of all unbonding amounts.
    function totalUnbonding() external view returns (uint256);

    /// @notice The sum of all withdrawable balances.
    function totalWithdrawable() external view returns (uint256);

    /// @notice Task pools, round reward pots and slashed stake awaiting its recipients.
    function totalEscrow() external view returns (uint256);

    /// @notice Slashed verifier stake that nobody may receive.
    function totalBurned() external view returns (uint256);

    /// @notice The accounted total; this contract's balance is never below it.
    function accountedBalance() external view returns (uint256);

    /// @notice The owner of a verifier slot (address(0) if free).
    function slotOwner(uint256 slot) external view returns (address);

    /// @notice The verifier pool's total weight now.
    function poolWeight() external view returns (uint256);

    /// @notice The total weight that committee draws use in this epoch (as it began).
    function drawWeight() external view returns (uint256);

    /// @notice The current epoch: block.number / EPOCH_BLOCKS.
    function currentEpoch() external view returns (uint32);
}
