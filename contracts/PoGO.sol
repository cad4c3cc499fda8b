// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoGO} from "./interfaces/IPoGO.sol";
import {Staking} from "./Staking.sol";
import {StakeTree} from "./lib/StakeTree.sol";
import {SeedStream} from "./lib/SeedStream.sol";
import {LeafFraud} from "./LeafFraud.sol";

/// @title PoGO
/// @notice Tasks, rounds and heads; submissions of MX-int4 updates committed by Merkle roots;
///         stake-weighted committees; attestations; finalization with rewards and slashing.
///         docs/PROTOCOL.md sections 4-8 specify it.
/// @dev A submission is an explicit state machine. Each transition is one function that
///      checks, updates, then (never directly) pays: every payout goes to `withdrawable`.
///
///        commitUpdate ... revealUpdate / proposeAggregate
///              |
///           Pending --drawCommittee--> Voting --finalize--> Accepted | Rejected | NotAccepted | Expired
///              |                (commitVote, then revealVote)  (quorum, or the reveals closed)
///              +--finalize (the seed block left the 256-block window)--> Expired
///
///      Windows are in blocks. Updates and votes are committed first and revealed after the
///      commit window closes, so that nobody can copy a root or a vote it has seen. A round takes
///      update commitments in [roundStart, commitEnd) with commitEnd = roundStart + roundBlocks,
///      and their reveals in [commitEnd, commitEnd + voteBlocks). A committee drawn at block D
///      commits votes in [D, D + voteBlocks] and reveals them in (D + voteBlocks, D + 2 voteBlocks].
contract PoGO is IPoGO, Staking {
    using StakeTree for StakeTree.Tree;

    /// @notice Reasons a verifier rejects (section 6); 0 approves. Faults (slashable):
    ///         1 DATA_UNAVAILABLE, 2 MALFORMED, 3 STALE_BASE, 4 ROOT_MISMATCH, 7 NON_FINITE,
    ///         8 HARMFUL. Judgments (never slashed): 5 NO_PROGRESS, 6 OVERFIT,
    ///         9 INSUFFICIENT_EVIDENCE.
    uint8 internal constant OK = 0;
    uint8 internal constant MAX_REASON = 9;
    /// @dev Bit r set: reason r is a fault.
    uint16 internal constant FAULTS = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 7) | (1 << 8);

    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_COMMITTEE = 16;
    /// @dev blockhash() only reaches the last 256 blocks.
    uint256 internal constant SEED_HORIZON = 256;

    struct Task {
        TaskParams p;
        address owner;
        uint128 pool;
        uint64 round;
        uint64 roundStart;
        uint32 open;             // submissions (updates and aggregates) not yet finalized
        bool aggregating;        // the round closed with several accepted updates
        bool ended;              // the owner ended it: no new submissions
        bytes32 headRoot;
    }

    struct Round {
        uint32 accepted;         // accepted updates
        // The XOR of the accepted updates' ids: the accepted update itself when it is the only one,
        // and it stays so when a fraud proof takes one of two back out (a sum could overflow).
        uint64 acceptedXor;
        uint128 rewardPot;       // set when the round's rewards are fixed
        bool closed;
        uint256 sumImprovement;  // sum of the accepted updates' clamped median improvements
    }

    // A Submission (IPoGO) takes six storage words; three are written when an update is submitted
    // (gas), the rest as its vote goes on. An update's round is recorded when it is finalized:
    // its round cannot close while it is open, so it is still the task's round then.

    /// @dev One storage word per seat, first written by the member's commitment: the leading 160
    ///      bits of the commitment (a second preimage or collision still costs 2^80 or more),
    ///      then the revealed vote. The members themselves live in CommitteeDrawn; the
    ///      submission keeps their hash, and calls that need a member name the list.
    struct Vote {
        bytes20 commitment;
        bool voted;              // revealed
        bool approve;
        bool settled;
        uint8 reason;
        int64 improvement;
    }

    /// @inheritdoc IPoGO
    Bounds public bounds;
    /// @inheritdoc IPoGO
    address public immutable leafFraud;
    /// @inheritdoc IPoGO
    uint256 public taskCount;
    /// @inheritdoc IPoGO
    uint256 public submissionCount;
    mapping(uint256 => Task) internal tasks;
    /// @inheritdoc IPoGO
    mapping(uint256 => mapping(uint256 => Round)) public rounds;
    mapping(uint256 => Submission) internal submissions;
    /// @inheritdoc IPoGO
    mapping(uint256 => mapping(uint256 => Vote)) public votes;              // submission => seat => vote
    mapping(bytes32 => uint256) internal lastSubmitted;                     // keccak(task, miner) => round + 1
    /// @inheritdoc IPoGO
    mapping(bytes32 => bytes32) public updateCommitments;

    /// @param unbondingBlocks_ blocks between an unstake request and its withdrawal
    /// @param minVerifierStake_ the least stake that joins and weighs in the verifier pool
    /// @param bounds_ protocol-wide bounds on every task's parameters
    constructor(uint64 unbondingBlocks_, uint128 minVerifierStake_, Bounds memory bounds_)
        Staking(unbondingBlocks_, minVerifierStake_)
    {
        // Every window is far below what a uint48 block number can hold, so deadlines never wrap.
        if (bounds_.maxRoundBlocks == 0 || bounds_.maxRoundBlocks > 1 << 24) revert BadDeployment("maxRoundBlocks");
        if (bounds_.minVoteBlocks < 2 || bounds_.minVoteBlocks > bounds_.maxVoteBlocks || bounds_.maxVoteBlocks > 1 << 24) {
            revert BadDeployment("voteBlocks");
        }
        if (bounds_.maxMinerSlashBps > BPS || bounds_.maxVerifierSlashBps > BPS || bounds_.maxLivenessSlashBps > BPS) {
            revert BadDeployment("bps");
        }
        if (bounds_.maxVerifierBond == 0 || bounds_.maxImprovement <= 0) revert BadDeployment("bond or improvement");
        bounds = bounds_;
        leafFraud = address(new LeafFraud());
    }

    // -- tasks ----------------------------------------------------------------------

    /// @inheritdoc IPoGO
    function createTask(TaskParams calldata p, string calldata specCid, string calldata checkpointCid,
                        string calldata treeCid) external payable returns (uint256 taskId) {
        _checkParams(p);
        if (taskCount == type(uint32).max) revert BadParams(Param.TaskCount);
        taskId = ++taskCount;
        Task storage t = tasks[taskId];
        t.p = p;
        t.owner = msg.sender;
        t.pool = uint128(msg.value);
        t.roundStart = uint64(block.number);
        t.headRoot = p.initialRoot;
        totalEscrow += msg.value;
        emit TaskCreated(taskId, msg.sender, p, specCid, checkpointCid, treeCid);
        emit HeadAdvanced(taskId, 0, p.initialRoot, 0);
    }

    /// @inheritdoc IPoGO
    function endTask(uint256 taskId) external {
        Task storage t = _task(taskId);
        if (msg.sender != t.owner) revert NotOwner();
        if (t.ended) revert TaskIsEnded();
        t.ended = true;
        emit TaskEnded(taskId);
    }

    /// @inheritdoc IPoGO
    function reclaimPool(uint256 taskId) external {
        Task storage t = _task(taskId);
        if (msg.sender != t.owner) revert NotOwner();
        if (!t.ended) revert TaskNotEnded();
        if (t.open != 0) revert RoundStillOpen(t.open);
        uint256 amount = t.pool;
        if (amount == 0) revert NothingToClaim();
        t.pool = 0;
        _payFromEscrow(t.owner, amount);
        emit PoolReclaimed(taskId, t.owner, amount);
    }

    /// @inheritdoc IPoGO
    function fundTask(uint256 taskId) external payable {
        Task storage t = _task(taskId);
        if (msg.value == 0) revert ZeroAmount();
        t.pool += uint128(msg.value);
        totalEscrow += msg.value;
        emit TaskFunded(taskId, msg.sender, msg.value, t.pool);
    }

    /// @inheritdoc IPoGO
    function getTask(uint256 taskId) external view returns (TaskParams memory p, address owner, uint256 taskPool,
        uint256 round, uint256 roundStart, bytes32 headRoot, bool aggregating, uint256 open, bool ended) {
        Task storage t = _task(taskId);
        return (t.p, t.owner, t.pool, t.round, t.roundStart, t.headRoot, t.aggregating, t.open, t.ended);
    }

    /// @inheritdoc IPoGO
    function getSubmission(uint256 submissionId) external view returns (Submission memory) {
        return _submission(submissionId);
    }

    // -- submissions ----------------------------------------------------------------

    /// @inheritdoc IPoGO
    function commitUpdate(uint256 taskId, bytes32 commitment) external {
        Task storage t = _task(taskId);
        if (t.ended) revert TaskIsEnded();
        if (t.aggregating) revert Aggregating();
        _beforeCommitEnd(t);
        updateCommitments[keccak256(abi.encode(taskId, msg.sender))] = commitment;
        emit UpdateCommitted(taskId, t.round, msg.sender, commitment);
    }

    /// @inheritdoc IPoGO
    function revealUpdate(uint256 taskId, bytes32 prevRoot, bytes32 newRoot, bytes32 diffRoot, bytes32 salt,
                          string calldata diffCid, string calldata treeCid,
                          int64 claimedLossFirst, int64 claimedLossLast) external returns (uint256 id) {
        Task storage t = _task(taskId);
        if (t.ended) revert TaskIsEnded();
        if (t.aggregating) revert Aggregating();
        uint256 commitEnd = t.roundStart + t.p.roundBlocks;
        if (block.number < commitEnd) revert WindowOpen(commitEnd);
        if (block.number >= commitEnd + t.p.voteBlocks) revert WindowClosed(commitEnd + t.p.voteBlocks - 1);
        bytes32 key = keccak256(abi.encode(taskId, msg.sender));
        bytes32 expected = keccak256(abi.encode(taskId, t.round, msg.sender, prevRoot, newRoot, diffRoot, salt));
        if (updateCommitments[key] != expected) revert BadReveal();
        // One update per miner per round; one reused word per (task, miner) keeps later rounds cheap.
        if (lastSubmitted[key] == t.round + 1) revert AlreadySubmitted();
        lastSubmitted[key] = t.round + 1;
        id = _openSubmission(t, taskId, Kind.Update, prevRoot, newRoot, diffRoot);
        emit UpdateSubmitted(id, taskId, t.round, msg.sender, Kind.Update, prevRoot, newRoot, diffRoot,
                             diffCid, treeCid, "", claimedLossFirst, claimedLossLast);
    }

    /// @inheritdoc IPoGO
    function proposeAggregate(uint256 taskId, bytes32 newRoot, bytes32 diffRoot, string calldata diffCid,
                              string calldata treeCid, string calldata checkpointCid) external returns (uint256 id) {
        Task storage t = _task(taskId);
        if (!t.aggregating) revert NotAggregating();
        // Proposals end max(roundBlocks, voteBlocks) into the window: those still open then
        // finalize or expire in bounded time, so closeRound can end a round whose average was
        // refused (D15) even if someone keeps proposing copies of it. The voteBlocks floor gives
        // aggregators time on a task with very short rounds (SECURITY.md #37).
        uint256 proposeEnd = t.roundStart + (t.p.roundBlocks > t.p.voteBlocks ? t.p.roundBlocks : t.p.voteBlocks);
        if (block.number >= proposeEnd) revert WindowClosed(proposeEnd - 1);
        id = _openSubmission(t, taskId, Kind.Aggregate, t.headRoot, newRoot, diffRoot);
        emit UpdateSubmitted(id, taskId, t.round, msg.sender, Kind.Aggregate, t.headRoot, newRoot, diffRoot,
                             diffCid, treeCid, checkpointCid, 0, 0);
    }

    /// @inheritdoc IPoGO
    /// @dev    Why the delays: prevrandao of block B is fixed by the producer of B - 1, so a draw in
    ///         submitBlock + 2 would let the seed block's producer know both inputs while grinding
    ///         its own block hash. And no draw in an epoch's first block: its prevrandao was known
    ///         to the producer of the block before, which could still change that epoch's weights.
    function drawCommittee(uint256 submissionId) external {
        Submission storage s = _submission(submissionId);
        if (s.status != uint8(Status.Pending)) revert WrongStatus(s.status);
        uint256 seedBlock = s.submitBlock + 1;
        if (block.number <= seedBlock + 1) revert SeedNotReady(seedBlock + 2);
        if (block.number > seedBlock + SEED_HORIZON) revert WindowClosed(seedBlock + SEED_HORIZON);
        // slither-disable-next-line incorrect-equality (a block number, not a balance: exact by design)
        if (block.number % EPOCH_BLOCKS == 0) revert SeedNotReady(block.number + 1);

        bytes32 seed = SeedStream.challengeSeed(blockhash(seedBlock) ^ bytes32(block.prevrandao), submissionId,
                                                s.newRoot);
        Task storage t = tasks[s.taskId];
        address[] memory members = _draw(seed, t.p.committeeSize, s.miner, t.p.verifierBond);
        s.status = uint8(Status.Voting);
        s.seats = uint8(members.length);
        s.voteDeadline = uint48(block.number + t.p.voteBlocks);
        s.committee = keccak256(abi.encode(members));
        // A seat locks no stake (D16): the member's stake and unbonding stay slashable until it
        // settles, since withdraw waits for openSeats == 0. A lock would let anyone bond honest
        // verifiers on tasks of its own until later draws skipped them (SECURITY.md #16).
        for (uint256 i = 0; i < members.length; ++i) accounts[members[i]].openSeats += 1;
        emit CommitteeDrawn(submissionId, seed, members, s.voteDeadline);
    }

    /// @inheritdoc IPoGO
    function commitVote(uint256 submissionId, uint256 seat, address[] calldata members, bytes32 commitment) external {
        Submission storage s = _submission(submissionId);
        if (s.status != uint8(Status.Voting)) revert WrongStatus(s.status);
        if (block.number > s.voteDeadline) revert WindowClosed(s.voteDeadline);
        if (_member(s, members, seat) != msg.sender) revert NotCommitteeMember();
        // The seat keeps the leading 160 bits, and a zero there means "not committed": a
        // commitment whose leading 160 bits are zero would count again and again (review).
        if (bytes20(commitment) == bytes20(0)) revert BadReveal();
        Vote storage v = votes[submissionId][seat];
        if (v.commitment != bytes20(0)) revert AlreadyVoted();
        v.commitment = bytes20(commitment);
        s.commits += 1;
        emit VoteCommitted(submissionId, msg.sender, seat);
    }

    /// @inheritdoc IPoGO
    function revealVote(uint256 submissionId, uint256 seat, bool approve, int64 improvement, uint8 reason,
                        bytes32 salt) external {
        Submission storage s = _submission(submissionId);
        if (s.status != uint8(Status.Voting)) revert WrongStatus(s.status);
        if (block.number <= s.voteDeadline) revert WindowOpen(s.voteDeadline + 1);
        uint256 revealEnd = s.voteDeadline + tasks[s.taskId].p.voteBlocks;
        if (block.number > revealEnd) revert WindowClosed(revealEnd);
        if (seat >= s.seats) revert NotCommitteeMember();
        Vote storage v = votes[submissionId][seat];
        if (v.voted) revert AlreadyVoted();
        bytes32 expected = keccak256(abi.encode(submissionId, seat, msg.sender, approve, improvement, reason, salt));
        if (v.commitment == bytes20(0) || v.commitment != bytes20(expected)) revert BadReveal();
        // Approve with Ok; reject with a reason; or abstain, "reject" with Ok (D18).
        if (approve ? reason != OK : reason > MAX_REASON) revert BadReason(approve, reason);
        v.voted = true;
        v.approve = approve;
        v.reason = reason;
        v.improvement = improvement;
        if (approve) s.approvals += 1;
        else if (reason != OK) s.rejections += 1;
        else s.commits -= 1; // an abstention counts on no side, and finalize no longer waits for it
        if (_isFault(reason)) s.faults += 1;
        emit VoteCast(submissionId, msg.sender, seat, approve, improvement, Reason(reason));
    }

    /// @inheritdoc IPoGO
    // slither-disable-next-line cyclomatic-complexity
    function finalize(uint256 submissionId) external {
        Submission storage s = _submission(submissionId);
        Task storage t = tasks[s.taskId];
        uint256 quorum = _quorum(t.p.committeeSize);
        Status outcome = Status.None; // every path below assigns it or reverts
        if (s.status == uint8(Status.Voting)) {
            bool closed = block.number > s.voteDeadline + t.p.voteBlocks;
            // Before the reveals close, decide only once every seat that committed has revealed:
            // a committed seat left unrevealed pays the liveness share (review #17), so none may
            // be cut off, and no late reveal can turn a judgment quorum into a fault quorum. (No
            // vote is revealed while commitments are taken, so no quorum can be reached then.)
            if (!closed && s.approvals + s.rejections < s.commits) revert NotDecided();
            if (s.approvals >= quorum) outcome = Status.Accepted;
            else if (s.faults >= quorum) outcome = Status.Rejected;
            else if (s.rejections >= quorum) outcome = Status.NotAccepted;
            else if (closed) outcome = Status.Expired;
            else revert NotDecided();
        } else if (s.status == uint8(Status.Pending) && block.number > s.submitBlock + 1 + SEED_HORIZON) {
            outcome = Status.Expired; // nobody drew the committee while the seed was reachable
        } else {
            revert WrongStatus(s.status);
        }

        s.status = uint8(outcome);
        if (s.kind == uint8(Kind.Update)) s.round = t.round;
        _unlock(s.miner, t.p.minerBond);
        uint256 minerSlash = 0;
        if (outcome == Status.Accepted) {
            s.improvement = _medianApproval(submissionId, s.seats, t.p.maxImprovement);
            if (s.kind == uint8(Kind.Update)) {
                Round storage r = rounds[s.taskId][s.round];
                r.accepted += 1;
                r.sumImprovement += uint256(int256(s.improvement));
                r.acceptedXor ^= uint64(submissionId);
            }
        } else if (outcome == Status.Rejected) {
            minerSlash = _slash(s.miner, uint256(t.p.minerBond) * t.p.minerSlashBps / BPS, submissionId, SlashReason.MinerBond);
            uint256 toRejecters = minerSlash / 2;
            s.rejecterShare = uint128(toRejecters / s.faults);
            // Rounding dust and the other half stay with the task.
            t.pool += uint128(minerSlash - uint256(s.rejecterShare) * s.faults);
        } else if (outcome == Status.NotAccepted) {
            uint256 fee = _take(s.miner, t.p.evalFee);
            t.pool += uint128(fee);
            emit EvaluationFeeCharged(submissionId, s.miner, fee);
        }
        t.open -= 1;
        // An aggregate moves the head only while its round still waits for one: a second
        // accepted aggregate of the same round, or one outlived by its round, changes nothing.
        if (s.kind == uint8(Kind.Aggregate) && outcome == Status.Accepted && t.aggregating && t.round == s.round) {
            _advanceHead(t, s.taskId, s.newRoot, submissionId);
        }
        emit Finalized(submissionId, outcome, s.approvals, s.rejections, s.improvement, minerSlash);
    }

    /// @inheritdoc IPoGO
    function settleSeat(uint256 submissionId, uint256 seat, address[] calldata members) external {
        Submission storage s = _submission(submissionId);
        if (s.status < uint8(Status.Accepted)) revert WrongStatus(s.status);
        if (seat >= s.seats) revert SeatOutOfRange(seat);
        address member = _member(s, members, seat);
        Vote storage v = votes[submissionId][seat];
        if (v.settled) revert AlreadySettled();
        v.settled = true;
        Task storage t = tasks[s.taskId];
        accounts[member].openSeats -= 1;

        // A member risks its seat bond, never its whole stake; what it loses is burned, so that
        // nobody (least of all the task's creator, who set the rates) profits from a slash.
        uint256 paid = 0;
        uint256 slashBps = 0;
        SlashReason why = SlashReason.Liveness;
        bool proven = s.fraud && s.status == uint8(Status.Rejected); // rejected by a proof: seats go free
        if (!v.voted) {
            // Silent on an expired submission; or committed, then silent once the others' votes
            // were out (review #17): finalize waited for this seat's reveal, so that was a choice.
            if (s.status == uint8(Status.Expired) || (v.commitment != bytes20(0) && !proven)) slashBps = t.p.livenessSlashBps;
        } else if (s.status != uint8(Status.Expired) && !proven && (v.approve || v.reason != OK)) { // abstained: neither (D18)
            bool accepted = s.status == uint8(Status.Accepted);
            bool fault = _isFault(v.reason);
            if (v.approve == accepted) {
                uint256 fee = t.p.verifierFee <= t.pool ? t.p.verifierFee : t.pool;
                t.pool -= uint128(fee);
                uint256 share = s.status == uint8(Status.Rejected) && fault ? s.rejecterShare : 0;
                paid = fee + share;
                _payFromEscrow(member, paid);
            } else if ((v.approve && s.status == uint8(Status.Rejected)) || (!v.approve && fault)) {
                (slashBps, why) = (t.p.verifierSlashBps, SlashReason.Minority);
            }
        }
        uint256 slashed = slashBps == 0 ? 0 : _slash(member, uint256(t.p.verifierBond) * slashBps / BPS, submissionId, why);
        _burn(slashed);
        emit SeatSettled(submissionId, seat, member, paid, slashed);
    }

    /// @inheritdoc IPoGO
    function proveLeafFraud(uint256 submissionId, bytes calldata proof) external {
        Submission storage s = _submission(submissionId);
        Task storage t = tasks[s.taskId];
        uint8 status = s.status;
        (FraudKind kind, uint256 leaf) = _checkLeafFraud(submissionId, proof);

        s.fraud = true;
        if (status < uint8(Status.Accepted)) {
            s.status = uint8(Status.Rejected);
            if (s.kind == uint8(Kind.Update)) s.round = t.round;
            t.open -= 1;
            _unlock(s.miner, t.p.minerBond);
        } else if (status == uint8(Status.Accepted)) { // an update whose round has not closed: take it back out
            s.status = uint8(Status.Rejected);
            Round storage r = rounds[s.taskId][s.round];
            r.accepted -= 1;
            r.sumImprovement -= uint256(int256(s.improvement));
            r.acceptedXor ^= uint64(submissionId);
        }
        uint256 minerSlash = _slash(s.miner, t.p.minerBond, submissionId, SlashReason.MinerBond);
        uint256 toPool = uint256(t.p.minerBond) * t.p.minerSlashBps / BPS;
        if (toPool > minerSlash) toPool = minerSlash;
        t.pool += uint128(toPool);
        _payFromEscrow(msg.sender, minerSlash - toPool);
        emit LeafFraudProven(submissionId, msg.sender, leaf, kind, minerSlash, minerSlash - toPool);
        emit Finalized(submissionId, Status(s.status), s.approvals, s.rejections, s.improvement, minerSlash);
    }

    // -- rounds ---------------------------------------------------------------------

    /// @inheritdoc IPoGO
    function closeRound(uint256 taskId) external {
        Task storage t = _task(taskId);
        uint256 windowEnd = t.roundStart + t.p.roundBlocks + t.p.voteBlocks; // commits, then reveals
        if (block.number < windowEnd) revert WindowOpen(windowEnd);
        if (t.open != 0) revert RoundStillOpen(t.open);
        Round storage r = rounds[taskId][t.round];

        if (t.aggregating) {
            // No aggregate was accepted within a whole window: keep the head. The round's updates
            // never reached it, so their pot goes back to the pool (D15, SECURITY.md #31): pieces
            // whose average was refused earn nothing.
            uint256 returned = r.rewardPot;
            r.rewardPot = 0;
            t.pool += uint128(returned);
            emit RoundPotReturned(taskId, t.round, returned);
            _nextRound(t);
            return;
        }
        uint256 pot = r.accepted == 0 ? 0 : (t.p.roundReward <= t.pool ? t.p.roundReward : t.pool);
        t.pool -= uint128(pot);
        r.rewardPot = uint128(pot);
        r.closed = true;
        bool aggregate = r.accepted > 1;
        emit RoundClosed(taskId, t.round, r.accepted, pot, aggregate);
        if (r.accepted == 1) {
            _advanceHead(t, taskId, submissions[r.acceptedXor].newRoot, r.acceptedXor);
        } else if (aggregate) {
            t.aggregating = true;
            t.roundStart = uint64(block.number); // the aggregation window
        } else {
            _nextRound(t);
        }
    }

    /// @inheritdoc IPoGO
    function claimReward(uint256 submissionId) external {
        Submission storage s = _submission(submissionId);
        if (s.status != uint8(Status.Accepted) || s.kind != uint8(Kind.Update)) revert WrongStatus(s.status);
        Round storage r = rounds[s.taskId][s.round];
        // Its round has closed and, with several updates, their aggregate is the head (or none
        // was and the pot went back: D15): until both, the task is still in the update's round.
        if (tasks[s.taskId].round == s.round) revert RoundNotClosed();
        if (s.rewardClaimed) revert NothingToClaim();
        s.rewardClaimed = true;
        uint256 amount = uint256(r.rewardPot) * uint256(int256(s.improvement)) / r.sumImprovement;
        _payFromEscrow(s.miner, amount);
        emit Rewarded(submissionId, s.miner, amount);
    }

    // -- internal -------------------------------------------------------------------

    // slither-disable-next-line cyclomatic-complexity
    function _checkParams(TaskParams calldata p) internal view {
        Bounds storage b = bounds; // storage, not a memory copy: 272 bytes less code
        if (p.initialRoot == bytes32(0)) revert BadParams(Param.InitialRoot);
        if (p.nParams == 0) revert BadParams(Param.NParams);
        // At most 2^14 parameters a leaf: a leaf fraud proof (64 KiB of it) must fit a transaction.
        if (p.leafSize < 32 || p.leafSize > 1 << 14 || p.leafSize & (p.leafSize - 1) != 0) revert BadParams(Param.LeafSize);
        if (p.nShards < 2) revert BadParams(Param.NShards);
        if (p.roundBlocks == 0 || p.roundBlocks > b.maxRoundBlocks) revert BadParams(Param.RoundBlocks);
        if (p.voteBlocks < b.minVoteBlocks || p.voteBlocks > b.maxVoteBlocks) revert BadParams(Param.VoteBlocks);
        if (p.committeeSize < 4 || p.committeeSize > MAX_COMMITTEE || (p.committeeSize - 1) % 3 != 0) {
            revert BadParams(Param.CommitteeSize);
        }
        if (p.minerSlashBps > b.maxMinerSlashBps || p.verifierSlashBps > b.maxVerifierSlashBps
            || p.livenessSlashBps > b.maxLivenessSlashBps) revert BadParams(Param.SlashBps);
        if (p.minerBond == 0) revert BadParams(Param.MinerBond);
        if (p.evalFee > p.minerBond) revert BadParams(Param.EvalFee);
        if (p.verifierBond == 0 || p.verifierBond > b.maxVerifierBond || p.verifierBond > minVerifierStake) {
            revert BadParams(Param.VerifierBond);
        }
        if (p.maxImprovement <= 0 || p.maxImprovement > b.maxImprovement) revert BadParams(Param.MaxImprovement);
        // The fees of one submission's committee cannot exceed a round's reward.
        if (uint256(p.verifierFee) * p.committeeSize > p.roundReward) revert BadParams(Param.VerifierFee);
    }

    function _task(uint256 taskId) internal view returns (Task storage t) {
        t = tasks[taskId];
        if (t.owner == address(0)) revert UnknownTask(taskId);
    }

    function _submission(uint256 submissionId) internal view returns (Submission storage s) {
        s = submissions[submissionId];
        if (s.status == uint8(Status.None)) revert UnknownSubmission(submissionId);
    }

    /// @dev The member of `seat`, from the committee list the caller names (its hash must match).
    function _member(Submission storage s, address[] calldata members, uint256 seat) internal view returns (address) {
        if (keccak256(abi.encode(members)) != s.committee) revert BadCommittee();
        if (seat >= members.length) revert NotCommitteeMember();
        return members[seat];
    }

    /// @dev LeafFraud.check(submissionId, proof), its reverts passed on. The call data is built by
    ///      hand, so that this contract (at the code-size limit) carries no encoder for the nested
    ///      proof: abi.encode(Proof) is an offset word (0x20) and the tuple, and as check's second
    ///      argument the tuple follows the id and an offset word 0x40. A static call to the checker
    ///      this contract created: it only reads this contract's views and cannot change state.
    // slither-disable-next-line low-level-calls (a static call whose call data is built by hand, above)
    function _checkLeafFraud(uint256 submissionId, bytes calldata proof) internal view returns (FraudKind, uint256) {
        (bool ok, bytes memory ret) = leafFraud.staticcall(
            abi.encodePacked(LeafFraud.check.selector, submissionId, uint256(0x40), proof[32:]));
        if (!ok) {
            // slither-disable-next-line assembly
            assembly ("memory-safe") { revert(add(ret, 32), mload(ret)) }
        }
        return abi.decode(ret, (FraudKind, uint256));
    }

    function _isFault(uint8 reason) internal pure returns (bool) {
        return (FAULTS >> reason) & 1 == 1;
    }

    function _quorum(uint256 committeeSize) internal pure returns (uint256) {
        // Exact: _checkParams makes committeeSize - 1 a multiple of 3 (N = 3f + 1).
        // slither-disable-next-line divide-before-multiply
        return 2 * ((committeeSize - 1) / 3) + 1;
    }

    function _openSubmission(Task storage t, uint256 taskId, Kind kind, bytes32 prevRoot, bytes32 newRoot,
                             bytes32 diffRoot) internal returns (uint256 id) {
        if (prevRoot != t.headRoot) revert StaleBase(t.headRoot, prevRoot);
        if (newRoot == bytes32(0) || diffRoot == bytes32(0)) revert ZeroRoot();
        Account storage a = accounts[msg.sender];
        uint256 free = _free(a);
        if (free < t.p.minerBond) revert InsufficientFreeStake(t.p.minerBond, free);
        a.locked += uint112(t.p.minerBond); // <= free stake, so it fits
        id = ++submissionCount;
        Submission storage s = submissions[id];
        s.miner = msg.sender;
        s.taskId = uint32(taskId);
        s.status = uint8(Status.Pending);
        s.kind = uint8(kind);
        s.submitBlock = uint48(block.number);
        s.newRoot = newRoot;
        s.diffRoot = diffRoot;
        if (kind == Kind.Aggregate) s.round = t.round;
        t.open += 1;
    }

    /// @dev Stake-weighted seats from the seed stream: draw k picks the slot whose cumulative
    ///      weight first exceeds draw(seed, COMMITTEE, k) mod total, skipping the miner's own
    ///      slot and slots already seated; at most 8 draws a seat (pogo/seedstream.py mirrors it).
    function _draw(bytes32 seed, uint256 size, address miner, uint256 bond)
        internal view returns (address[] memory members)
    {
        members = new address[](size);
        uint256[] memory seatedSlots = new uint256[](size);
        uint32 epoch = currentEpoch();
        uint256 total = pool.totalAt(epoch);
        uint256 count = 0;
        // slither-disable-next-line incorrect-equality (an empty pool: no weight to draw from)
        if (total == 0) {
            // slither-disable-next-line assembly
            assembly { mstore(members, 0) }
            return members;
        }
        bytes32 purpose = SeedStream.purpose(SeedStream.COMMITTEE_TAG, 0);
        for (uint256 k = 0; k < 8 * size && count < size; ++k) {
            // Block-derived randomness, by design: prevrandao of the draw block over weights frozen
            // at the epoch start (SECURITY.md #1, #13; SLITHER.md S1).
            // slither-disable-next-line weak-prng
            uint256 slot = pool.find(SeedStream.draw(seed, purpose, k) % total, epoch);
            bool seated = false;
            for (uint256 i = 0; i < count; ++i) {
                // slither-disable-next-line incorrect-equality (slot numbers, not amounts)
                if (seatedSlots[i] == slot) { seated = true; break; }
            }
            if (seated) continue;
            Slot memory info = slots[slot];
            // slither-disable-next-line incorrect-equality (an address and an epoch number, not amounts)
            if (info.owner == address(0) || info.since == epoch) continue; // left, or new in this epoch
            address owner = info.owner;
            if (owner == miner) continue; // never on its own committee
            // Only the member's own stake counts, which nobody else can lower but by a proven
            // slash: its open seats and bonds elsewhere do not (D16, SECURITY.md #16).
            if (accounts[owner].stake < bond) continue; // unstaked or slashed below what a seat risks
            seatedSlots[count] = slot;
            members[count] = owner;
            ++count;
        }
        // Shrink the array to the seats actually filled (a thin pool yields a short committee).
        assembly { mstore(members, count) }
    }

    /// @dev The lower median of the approving votes' improvements, clamped to [1, cap]: every
    ///      accepted update gets a share, and none claims more than the task allows. Committees
    ///      are at most 16.
    function _medianApproval(uint256 submissionId, uint256 seats, int64 cap) internal view returns (int64) {
        int64[] memory values = new int64[](seats);
        uint256 n = 0;
        for (uint256 i = 0; i < seats; ++i) {
            Vote storage v = votes[submissionId][i];
            if (!v.voted || !v.approve) continue;
            int64 x = v.improvement;
            uint256 j = n++;
            while (j > 0 && values[j - 1] > x) {
                values[j] = values[j - 1];
                --j;
            }
            values[j] = x;
        }
        int64 median = values[(n - 1) / 2];
        if (median < 1) return 1;
        return median > cap ? cap : median;
    }

    function _advanceHead(Task storage t, uint256 taskId, bytes32 root, uint256 fromSubmission) internal {
        t.headRoot = root;
        emit HeadAdvanced(taskId, t.round + 1, root, fromSubmission);
        _nextRound(t);
    }

    /// @dev Reverts once the round's update commit window is over.
    function _beforeCommitEnd(Task storage t) internal view {
        uint256 commitEnd = t.roundStart + t.p.roundBlocks;
        if (block.number >= commitEnd) revert WindowClosed(commitEnd - 1);
    }

    function _nextRound(Task storage t) internal {
        t.round += 1;
        t.roundStart = uint64(block.number);
        t.aggregating = false;
    }
}
