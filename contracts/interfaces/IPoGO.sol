// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IStaking} from "./IStaking.sol";

/// @title IPoGO
/// @notice Everything a dApp, an indexer or another contract may call, hear and decode on a PoGO
///         deployment: training tasks, rounds and heads; submissions of MX-int4 updates committed
///         by Merkle roots; stake-weighted committees and their commit-reveal votes; finalization
///         with rewards and slashing; leaf fraud proofs. docs/PROTOCOL.md specifies the rules,
///         docs/EVENTS.md lists the events. Amounts are in wei; roots are SHA-256 Merkle roots;
///         losses and improvements are in micro-nats (millionths of a nat); windows are in blocks.
/// @dev A submission's life:
///
///        commitUpdate ... revealUpdate / proposeAggregate
///              |
///           Pending --drawCommittee--> Voting --finalize--> Accepted | Rejected | NotAccepted | Expired
///              |                (commitVote, then revealVote)  (quorum, or the reveals closed)
///              +--finalize (the seed block left the 256-block window)--> Expired
///      and proveLeafFraud takes an open or not yet rewarded submission to Rejected at any point.
interface IPoGO is IStaking {
    /// @notice Where a submission is in its life. Accepted: a quorum approved it. Rejected: a quorum
    ///         found a provable fault, or a leaf fraud proof showed one (the miner is slashed).
    ///         Expired: no committee was drawn, or it did not decide, in time. NotAccepted: a quorum
    ///         judged the gain too small, an overfit or the evidence insufficient (no slash; the bond
    ///         comes back less the evaluation fee). Values are stable: new ones are appended.
    enum Status { None, Pending, Voting, Accepted, Rejected, Expired, NotAccepted }

    /// @notice What a submission is: one miner's update, or the proposed average of a round's
    ///         accepted updates (PROTOCOL.md section 7).
    enum Kind { Update, Aggregate }

    /// @notice A verifier's verdict (PROTOCOL.md section 6): OK approves; every other value names the
    ///         first check that failed. Faults, which slash the miner: DataUnavailable, Malformed,
    ///         StaleBase, RootMismatch, NonFinite, Harmful. Judgments, which never slash:
    ///         NoProgress, Overfit, InsufficientEvidence.
    enum Reason {
        Ok, DataUnavailable, Malformed, StaleBase, RootMismatch, NoProgress, Overfit, NonFinite, Harmful,
        InsufficientEvidence
    }

    /// @notice What a leaf fraud proof showed: the rebuilt leaf differs from the committed one
    ///         (Mismatch), or the submission's own diff record breaks the format (MalformedRecord).
    enum FraudKind { None, Mismatch, MalformedRecord }

    /// @notice Which task parameter breaks its rule or the protocol's bounds (BadParams).
    enum Param {
        InitialRoot, NParams, LeafSize, NShards, RoundBlocks, VoteBlocks, CommitteeSize, SlashBps, MinerBond,
        EvalFee, VerifierBond, MaxImprovement, VerifierFee, TaskCount
    }

    /// @notice A task's parameters, fixed when it is created.
    struct TaskParams {
        bytes32 specHash;        // SHA-256 of the task spec (manifest, dataset, off-chain thresholds)
        bytes32 initialRoot;     // model root of the initial checkpoint
        uint64 nParams;
        uint32 leafSize;
        uint32 nShards;
        uint64 roundBlocks;      // update commit window; reveals follow for voteBlocks
        uint64 voteBlocks;       // vote commit window after the draw, then the reveal window
        uint8 committeeSize;     // N = 3f + 1
        uint16 minerSlashBps;
        uint16 verifierSlashBps;
        uint16 livenessSlashBps;
        uint128 minerBond;       // locked per submission; the slash is a share of it
        uint128 roundReward;
        uint128 verifierFee;     // per majority vote, accepted or rejected alike
        uint128 evalFee;         // taken from the bond of a NotAccepted update, into the pool
        uint128 verifierBond;    // what a member risks on a seat; the draw seats stake >= it (D16)
        int64 maxImprovement;    // micro-nats: the most one update's measured gain counts for rewards
    }

    /// @notice Protocol-wide bounds on every task's parameters, fixed at deployment: a task's
    ///         creator cannot make windows that never end, slashes that take a verifier's
    ///         stake, or rewards that one claim can take whole.
    struct Bounds {
        uint64 maxRoundBlocks;
        uint64 minVoteBlocks;
        uint64 maxVoteBlocks;
        uint16 maxMinerSlashBps;
        uint16 maxVerifierSlashBps;
        uint16 maxLivenessSlashBps;
        uint128 maxVerifierBond;
        int64 maxImprovement;
    }

    /// @notice A submission's record. The CIDs of its files live in UpdateSubmitted, its committee in
    ///         CommitteeDrawn; the bond is its task's minerBond.
    struct Submission {
        address miner;
        uint48 submitBlock;
        uint32 taskId;
        uint8 status;            // a Status
        uint8 kind;              // a Kind
        bytes32 newRoot;
        uint64 round;            // an aggregate's from its proposal, an update's once finalized
        uint48 voteDeadline;     // the last block of the vote commitments; reveals follow for voteBlocks
        uint8 seats;
        uint8 commits;           // vote commitments received, less revealed abstentions (D18)
        uint8 approvals;
        uint8 rejections;
        uint8 faults;            // rejections whose reason is a fault
        int64 improvement;       // median of the approving votes, once accepted
        bool rewardClaimed;
        bool fraud;              // a leaf fraud proof forfeited the bond (PROTOCOL.md D11)
        bytes32 committee;       // keccak256(abi.encode(members)), set at the draw
        uint128 rejecterShare;   // per fault-rejecting member, once rejected
        bytes32 diffRoot;        // what a leaf fraud proof checks a record against
    }

    /// @notice One leaf fraud proof; proveLeafFraud takes abi.encode(it). Every Merkle proof is
    ///         `depth` sibling hashes, bottom up, for the task's tree depth; `leaf` is the same
    ///         index in every tree.
    struct LeafFraudProof {
        uint256 leaf;                // the leaf index
        bytes prevLeaf;              // the head's leaf: L little-endian float32 values
        bytes32[] prevProof;         // prevLeaf's proof to the head root
        bytes32 claimedLeafHash;     // the submission's leaf hash, sha256(0x00 || leaf bytes)
        bytes32[] newProof;          // its proof to the submission's new root
        uint256[] sources;           // an aggregate's accepted updates, ascending; empty for an update
        bytes[] records;             // the diff record of each source (the update's own for an update)
        bytes32[][] recordProofs;    // each record's proof to its diff root
    }

    /// @notice Task `taskId` was created by `owner` with `params`; on IPFS: its spec `specCid`, its
    ///         initial checkpoint `checkpointCid` and that checkpoint's Merkle tree file `treeCid`.
    event TaskCreated(uint256 indexed taskId, address indexed owner, TaskParams params, string specCid,
                      string checkpointCid, string treeCid);
    /// @notice `from` added `amount` to task `taskId`'s reward pool, which is now `pool`.
    event TaskFunded(uint256 indexed taskId, address indexed from, uint256 amount, uint256 pool);
    /// @notice Submission `submissionId` to round `round` of task `taskId` was revealed: an update
    ///         by `miner`, or an aggregate proposal (`kind`), built on `prevRoot`, committing to the
    ///         new model `newRoot` and diff `diffRoot`, with its files on IPFS; the miner's claimed
    ///         training loss at its first and last step, in millionths of a nat.
    event UpdateSubmitted(uint256 indexed submissionId, uint256 indexed taskId, uint256 indexed round, address miner,
                          Kind kind, bytes32 prevRoot, bytes32 newRoot, bytes32 diffRoot, string diffCid,
                          string treeCid, string checkpointCid, int64 claimedLossFirst, int64 claimedLossLast);
    /// @notice `miner` committed to an update in round `round` of task `taskId`: `commitment` hashes
    ///         what it will reveal (PROTOCOL.md section 5).
    event UpdateCommitted(uint256 indexed taskId, uint256 indexed round, address indexed miner, bytes32 commitment);
    /// @notice `verifier`, in seat `seat` of submission `submissionId`'s committee, committed its vote.
    event VoteCommitted(uint256 indexed submissionId, address indexed verifier, uint256 seat);
    /// @notice Submission `submissionId`'s committee was drawn from `seed`: `members` by seat; votes
    ///         are committed until block `voteDeadline`, then revealed.
    event CommitteeDrawn(uint256 indexed submissionId, bytes32 seed, address[] members, uint256 voteDeadline);
    /// @notice `verifier`, in seat `seat`, revealed its vote on submission `submissionId`: `approve`,
    ///         the loss improvement it measured in micro-nats, and `reason` (PROTOCOL.md section 6).
    event VoteCast(uint256 indexed submissionId, address indexed verifier, uint256 seat, bool approve,
                   int64 improvement, Reason reason);
    /// @notice Submission `submissionId` ended in `status` with `approvals` and `rejections`;
    ///         `improvement` is the approvals' median (micro-nats), `minerSlash` what the miner lost.
    event Finalized(uint256 indexed submissionId, Status status, uint256 approvals, uint256 rejections,
                    int64 improvement, uint256 minerSlash);
    /// @notice Seat `seat` of submission `submissionId` was settled: `verifier` was credited `paid` and
    ///         lost `slashed` of its stake.
    event SeatSettled(uint256 indexed submissionId, uint256 seat, address indexed verifier, uint256 paid,
                      uint256 slashed);
    /// @notice Round `round` of task `taskId` closed with `accepted` updates sharing `rewardPot`;
    ///         `aggregating` when an aggregate of them must be proposed and checked next.
    event RoundClosed(uint256 indexed taskId, uint256 indexed round, uint256 accepted, uint256 rewardPot,
                      bool aggregating);
    /// @notice Round `round` of task `taskId` ended without an accepted aggregate (PROTOCOL.md D15):
    ///         its `amount` of reward went back to the task pool and its updates earn nothing.
    event RoundPotReturned(uint256 indexed taskId, uint256 indexed round, uint256 amount);
    /// @notice `root` became task `taskId`'s head, the model that round `round` builds on, from
    ///         submission `fromSubmission` (0: the task's initial checkpoint).
    event HeadAdvanced(uint256 indexed taskId, uint256 indexed round, bytes32 root, uint256 fromSubmission);
    /// @notice `miner` was credited `amount` for its accepted update `submissionId`.
    event Rewarded(uint256 indexed submissionId, address indexed miner, uint256 amount);
    /// @notice `miner` paid `amount`, the evaluation fee, for its not-accepted update `submissionId`.
    event EvaluationFeeCharged(uint256 indexed submissionId, address indexed miner, uint256 amount);
    /// @notice The owner ended task `taskId`: no new submissions.
    event TaskEnded(uint256 indexed taskId);
    /// @notice Task `taskId`'s remaining pool, `amount`, was credited to its owner `owner`.
    event PoolReclaimed(uint256 indexed taskId, address indexed owner, uint256 amount);
    /// @notice A leaf fraud proof about leaf `leaf` rejected submission `submissionId` (`kind`);
    ///         the miner lost `minerSlash`, of which `prover` was credited `bounty`.
    event LeafFraudProven(uint256 indexed submissionId, address indexed prover, uint256 leaf, FraudKind kind,
                          uint256 minerSlash, uint256 bounty);

    /// @notice Task parameter `what` breaks its rule or the protocol's bounds.
    error BadParams(Param what);
    /// @notice Only an ended task's pool can be reclaimed.
    error TaskNotEnded();
    /// @notice No task has id `taskId`.
    error UnknownTask(uint256 taskId);
    /// @notice No submission has id `submissionId`.
    error UnknownSubmission(uint256 submissionId);
    /// @notice The window for this call ended at block `lastBlock`.
    error WindowClosed(uint256 lastBlock);
    /// @notice The window for this call opens at block `firstBlock`.
    error WindowOpen(uint256 firstBlock);
    /// @notice The update builds on `given`, but the task's head is `head`.
    error StaleBase(bytes32 head, bytes32 given);
    /// @notice A new root or diff root is zero.
    error ZeroRoot();
    /// @notice The miner already submitted an update in this round.
    error AlreadySubmitted();
    /// @notice The task waits for an aggregate of its round's accepted updates: no updates now.
    error Aggregating();
    /// @notice The task does not wait for an aggregate.
    error NotAggregating();
    /// @notice The submission is in `status` (a Status), where this call does not apply.
    error WrongStatus(uint8 status);
    /// @notice The committee can be drawn from block `readyBlock` on.
    error SeedNotReady(uint256 readyBlock);
    /// @notice The caller is not the committee member of that seat (or the seat does not exist).
    error NotCommitteeMember();
    /// @notice This seat already committed (or revealed) its vote.
    error AlreadyVoted();
    /// @notice An approval must give reason Ok; a rejection a reason from 1 to 9 (`reason` given).
    error BadReason(bool approve, uint8 reason);
    /// @notice No quorum yet and the reveal window is still open.
    error NotDecided();
    /// @notice `open` submissions of the round are not final yet.
    error RoundStillOpen(uint256 open);
    /// @notice The submission's round has not closed, or waits for its aggregate: its rewards are not final yet.
    error RoundNotClosed();
    /// @notice The seat was already settled.
    error AlreadySettled();
    /// @notice The committee has no seat `seat`.
    error SeatOutOfRange(uint256 seat);
    /// @notice There is nothing (left) to claim.
    error NothingToClaim();
    /// @notice Only the task's owner may do this.
    error NotOwner();
    /// @notice The task was ended: it takes no more submissions.
    error TaskIsEnded();
    /// @notice The reveal does not match the commitment (or the commitment is empty).
    error BadReveal();
    /// @notice The committee list given is not the one drawn.
    error BadCommittee();
    /// @notice A part of a leaf fraud proof (`what` names it) does not check; the prover loses only gas.
    error BadProof(string what);
    /// @notice The leaf fraud proof is valid and the leaf is exactly right: there is no fraud here.
    error NoFraud();
    /// @notice The submission is in no state a fraud proof can change (`status`, or already proven).
    error NotOpen(Status status);
    /// @notice An aggregate's proof must name exactly its round's accepted updates, ascending.
    error BadSources();

    /// @notice Create a training task at round 0 with `p.initialRoot` as its head; msg.value funds its
    ///         pool. The parameters must respect `bounds()` (BadParams names the first that does not).
    /// @param p the task's parameters
    /// @param specCid IPFS CID of the task spec whose SHA-256 is `p.specHash` (event only)
    /// @param checkpointCid IPFS CID of the initial checkpoint (event only)
    /// @param treeCid IPFS CID of the initial checkpoint's Merkle tree file (event only)
    /// @return taskId the new task's id
    function createTask(TaskParams calldata p, string calldata specCid, string calldata checkpointCid,
                        string calldata treeCid) external payable returns (uint256 taskId);

    /// @notice End a task (owner only): it takes no more submissions; once nothing is open,
    ///         `reclaimPool` returns what is left of its pool.
    function endTask(uint256 taskId) external;

    /// @notice Move an ended task's remaining pool to its owner's withdrawable balance, once no
    ///         submission of it is open (reward pots of closed rounds stay claimable).
    function reclaimPool(uint256 taskId) external;

    /// @notice Add msg.value to a task's reward pool.
    function fundTask(uint256 taskId) external payable;

    /// @notice A task's parameters and state.
    /// @return p its parameters
    /// @return owner who created it
    /// @return taskPool what is left of its reward pool
    /// @return round the round in progress
    /// @return roundStart the block the round (or its aggregation window) began
    /// @return headRoot the model the round builds on
    /// @return aggregating whether the round waits for an aggregate of its accepted updates
    /// @return open submissions not yet finalized
    /// @return ended whether the owner ended it
    function getTask(uint256 taskId) external view returns (TaskParams memory p, address owner, uint256 taskPool,
        uint256 round, uint256 roundStart, bytes32 headRoot, bool aggregating, uint256 open, bool ended);

    /// @notice A submission's full record (UnknownSubmission if there is none).
    function getSubmission(uint256 submissionId) external view returns (Submission memory);

    /// @notice Commit to an update in the round's commit window, without showing it: a root
    ///         seen in a reveal (or the mempool) comes too late to be committed by a copier, and
    ///         the commitment names its miner. A later commitment in the window replaces an earlier one.
    /// @param commitment keccak256(abi.encode(taskId, round, miner, prevRoot, newRoot, diffRoot, salt))
    function commitUpdate(uint256 taskId, bytes32 commitment) external;

    /// @notice Reveal the committed update once the commit window has closed (for voteBlocks
    ///         blocks); locks the task's miner bond. An update publishes its diff and tree only:
    ///         the new model is defined by its lineage (the head it names plus this diff).
    /// @param prevRoot must be the current head root
    /// @param newRoot the Merkle root of the new model
    /// @param diffRoot the Merkle root of the diff's records
    /// @param salt the secret that made the commitment unguessable
    /// @param diffCid IPFS CID of the diff file (event only)
    /// @param treeCid IPFS CID of the new model's Merkle tree file (event only)
    /// @param claimedLossFirst the miner's training loss at its first step, in micro-nats (event only)
    /// @param claimedLossLast the miner's training loss at its last step, in micro-nats (event only)
    /// @return id the new submission's id
    function revealUpdate(uint256 taskId, bytes32 prevRoot, bytes32 newRoot, bytes32 diffRoot, bytes32 salt,
                          string calldata diffCid, string calldata treeCid,
                          int64 claimedLossFirst, int64 claimedLossLast) external returns (uint256 id);

    /// @notice Propose the average of a round's accepted updates as the next head (section 7).
    ///         It is verified by a committee like an update and bonds the aggregator the same way.
    ///         Only in the first max(roundBlocks, voteBlocks) blocks of the aggregation window (else
    ///         WindowClosed; D15).
    /// @param newRoot the Merkle root of the averaged model
    /// @param diffRoot the Merkle root of the aggregate's diff records
    /// @param diffCid IPFS CID of the aggregate's diff file (event only)
    /// @param treeCid IPFS CID of the new model's Merkle tree file (event only)
    /// @param checkpointCid IPFS CID of a full snapshot of the new head, for nodes that join later (event only)
    /// @return id the new submission's id
    function proposeAggregate(uint256 taskId, bytes32 newRoot, bytes32 diffRoot, string calldata diffCid,
                              string calldata treeCid, string calldata checkpointCid) external returns (uint256 id);

    /// @notice Fix the submission's seed and draw its committee; anyone may call it from block
    ///         submitBlock + 3 on, while the hash of the seed block (submitBlock + 1) is reachable.
    ///         The seed mixes that hash with the draw block's prevrandao, and the draw reads the
    ///         verifier weights as they were when the current epoch began, so no stake change,
    ///         submission variant or block hash chosen once the randomness is known can steer it.
    function drawCommittee(uint256 submissionId) external;

    /// @notice Commit to a vote on a submission as the member of `seat`, until voteDeadline;
    ///         nobody sees a vote before every member had the chance to commit its own.
    /// @param members the committee, as CommitteeDrawn listed it
    /// @param commitment keccak256(abi.encode(submissionId, seat, verifier, approve, improvement, reason, salt))
    function commitVote(uint256 submissionId, uint256 seat, address[] calldata members, bytes32 commitment) external;

    /// @notice Reveal a committed vote after voteDeadline, for voteBlocks blocks (section 5).
    ///         The commitment names its verifier, so only the member that made it can reveal it.
    /// @param improvement the loss decrease measured, in micro-nats (signed)
    /// @param reason a Reason: Ok with approve; otherwise the first failed check of section 6, or
    ///        Ok to abstain (D18: the seat counts on no side, and is neither paid nor slashed)
    /// @param salt the secret that made the commitment unguessable
    function revealVote(uint256 submissionId, uint256 seat, bool approve, int64 improvement, uint8 reason,
                        bytes32 salt) external;

    /// @notice Decide a submission once every committed seat has revealed or its window has closed;
    ///         anyone may call. A quorum of approvals accepts; a quorum of fault votes rejects and
    ///         slashes; a quorum of rejections that is not one of faults makes the update
    ///         NotAccepted: no reward, no slash, the evaluation fee.
    function finalize(uint256 submissionId) external;

    /// @notice Pay or slash one committee seat of a finalized submission; anyone may call.
    ///         Majority voters earn the task's verifier fee (and, on a rejection, fault voters a
    ///         share of the miner's slash). A vote is slashed (verifierSlashBps of the seat bond) only
    ///         where it contradicts a provable outcome: an approval of a Rejected update, or a
    ///         fault claimed against an Accepted one. A judgment that differs from the outcome is
    ///         neither paid nor slashed. Members who did not vote on an expired submission, and
    ///         members who committed but did not reveal on any other, lose livenessSlashBps. The
    ///         seats of a submission a leaf fraud proof rejected go free.
    /// @param members the committee, as CommitteeDrawn listed it
    function settleSeat(uint256 submissionId, uint256 seat, address[] calldata members) external;

    /// @notice Prove that a leaf of a submission's new model is not what the exact rule makes of
    ///         the head's leaf and the diff record(s), or that its own record is malformed; a wrong
    ///         proof reverts (BadProof, NoFraud, NotOpen, BadSources). A proven fraud forfeits the
    ///         miner's whole bond: the task pool gets what a committee rejection would have taken
    ///         (minerSlashBps of the bond), the caller the rest. An open or accepted submission is
    ///         rejected at once; an expired or refused one keeps its status.
    /// @param proof abi.encode(LeafFraudProof)
    function proveLeafFraud(uint256 submissionId, bytes calldata proof) external;

    /// @notice Close the task's round once its window has passed and every update is final:
    ///         fix the round's reward pot, and advance the head to the one accepted update, or
    ///         wait for an aggregate when there are several. A round waiting for an aggregate
    ///         that no committee accepted closes without moving the head after another window, and
    ///         its reward pot goes back to the task pool (RoundPotReturned).
    function closeRound(uint256 taskId) external;

    /// @notice Credit an accepted update's share of its round's reward, pot * improvement / sum,
    ///         to its miner's withdrawable balance; anyone may call. A round of several accepted
    ///         updates pays once their aggregate is accepted (RoundNotClosed until then), and
    ///         nothing when none was (its pot went back to the pool).
    function claimReward(uint256 submissionId) external;

    /// @notice The bounds every task's parameters must respect (the fields of Bounds).
    function bounds() external view returns (uint64 maxRoundBlocks, uint64 minVoteBlocks, uint64 maxVoteBlocks,
        uint16 maxMinerSlashBps, uint16 maxVerifierSlashBps, uint16 maxLivenessSlashBps, uint128 maxVerifierBond,
        int64 maxImprovement);

    /// @notice The checker of leaf fraud proofs, a contract created with this one (PROTOCOL.md D11).
    function leafFraud() external view returns (address);

    /// @notice How many tasks were created (ids run from 1).
    function taskCount() external view returns (uint256);

    /// @notice How many submissions were made (ids run from 1).
    function submissionCount() external view returns (uint256);

    /// @notice A round of a task.
    /// @return accepted how many updates it accepted
    /// @return acceptedXor the XOR of their ids (the accepted update itself when there is one)
    /// @return rewardPot the reward its accepted updates share, fixed when it closed
    /// @return closed whether it closed
    /// @return sumImprovement the sum of its accepted updates' clamped median improvements
    function rounds(uint256 taskId, uint256 round) external view returns (uint32 accepted, uint64 acceptedXor,
        uint128 rewardPot, bool closed, uint256 sumImprovement);

    /// @notice A committee seat's vote.
    /// @return commitment the leading 160 bits of its commitment (zero: not committed)
    /// @return voted whether it was revealed
    /// @return approve the revealed verdict
    /// @return settled whether settleSeat ran for the seat
    /// @return reason the revealed Reason
    /// @return improvement the revealed improvement, in micro-nats
    function votes(uint256 submissionId, uint256 seat) external view returns (bytes20 commitment, bool voted,
        bool approve, bool settled, uint8 reason, int64 improvement);

    /// @notice A miner's update commitment for a task: keccak256(abi.encode(taskId, miner)) => commitment.
    function updateCommitments(bytes32 key) external view returns (bytes32);
}
