// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PoGO} from "../../contracts/PoGO.sol";
import {IPoGO} from "../../contracts/interfaces/IPoGO.sol";
import {Staking} from "../../contracts/Staking.sol";
import {IStaking} from "../../contracts/interfaces/IStaking.sol";
import {ForceSend} from "../../contracts/test/ForceSend.sol";

/// @dev The few forge cheatcodes these tests use (forge answers calls to this address itself).
interface Vm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function prank(address sender) external;
    function roll(uint256 blockNumber) external;
    function deal(address who, uint256 balance) external;
    function prevrandao(bytes32 value) external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
}

Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

/// @title Handler
/// @notice What forge's invariant fuzzer calls: every entry point of PoGO, by a fixed cast of
///         actors, with arguments bounded to values that reach deep states. Reverts are kept
///         (a revert changes nothing, which the invariants then check too).
/// @dev The cast: miner 0 is honest (its updates are good), miner 1 cheats (its updates are
///      bad); verifiers 2-6 are honest and behave like their bots: they commit as soon as they
///      are drawn (good: approve; bad: ROOT_MISMATCH) and reveal in the first block after the
///      commitments close, whatever the fuzzer does with time; verifier 7 is the adversary and
///      commits and reveals whatever the fuzzer says, or nothing; 8 only stakes and funds. With one adversary, every committee
///      of 4 has at most f = 1 faulty member, the protocol's assumption.
///      After every call the handler checks, from the call's own logs, that no account's
///      withdrawable balance changed without an event that says so, and that no honest actor
///      was slashed or charged.
contract Handler {
    uint256 internal constant N_ACTORS = 9;
    uint256 internal constant ADVERSARY = 7;
    uint256 internal constant VOTE_BLOCKS = 20; // the task's voteBlocks (PoGOInvariants.setUp)

    PoGO public immutable pogo;
    uint256 public immutable taskId;
    address[N_ACTORS] public actors;
    mapping(address => bool) public honest;
    mapping(uint256 => bool) public good; // submission => built honestly
    uint256 public submissions;
    mapping(address => bytes32[3]) internal committed; // miner => (prevRoot, newRoot, salt) of its commitment
    mapping(uint256 => bool) internal adversaryApprove;
    mapping(uint256 => int64) internal adversaryImprovement;
    mapping(uint256 => uint8) internal adversaryReason;
    uint256[] internal voting; // drawn submissions whose honest reveals may still be due
    mapping(uint256 => address[]) internal members; // from CommitteeDrawn, as a bot reads it

    // Ghosts: what went in and out of the contract, and every rule broken along the way.
    uint256 public ethIn;
    uint256 public ethOut;
    uint256 public forced;
    uint256 public unexplainedCredits;
    uint256 public honestLosses;
    uint256 public calls;
    // How deep the sequences went (the scripted test checks that each path is reachable).
    mapping(uint8 => uint256) public outcomes; // Finalized status => count
    uint256 public rewards;
    uint256 public settled;
    uint256 public slashes;
    uint256 public roundsClosed;
    uint256 public fraudProven; // LeafFraudProven events: none can pass without a real Merkle path

    constructor(PoGO pogo_, uint256 taskId_, uint256 funded) {
        pogo = pogo_;
        taskId = taskId_;
        ethIn = funded;
        for (uint256 i = 0; i < N_ACTORS; ++i) {
            actors[i] = address(uint160(0x1000 + i));
            honest[actors[i]] = i != 1 && i != ADVERSARY;
        }
    }

    function actor(uint256 i) external view returns (address) {
        return actors[i];
    }

    function committeeOf(uint256 sid) external view returns (address[] memory) {
        return members[sid];
    }

    // -- staking ------------------------------------------------------------------------

    function stake(uint256 who, uint256 amount) external {
        address a = actors[who % N_ACTORS];
        amount = 1 + amount % 40 ether;
        vm.deal(a, a.balance + amount);
        _call(a, abi.encodeCall(Staking.stake, ()), amount);
    }

    function requestUnstake(uint256 who, uint256 amount) external {
        address a = actors[who % N_ACTORS];
        (uint112 staked,,,,,) = pogo.accounts(a);
        _call(a, abi.encodeCall(Staking.requestUnstake, (1 + amount % (uint256(staked) + 1))), 0);
    }

    function withdraw(uint256 who) external {
        _call(actors[who % N_ACTORS], abi.encodeCall(Staking.withdraw, ()), 0);
    }

    function registerVerifier(uint256 who) external {
        _call(actors[2 + who % 6], abi.encodeCall(Staking.registerVerifier, ()), 0);
    }

    function leaveVerifierPool(uint256 who) external {
        _call(actors[2 + who % 6], abi.encodeCall(Staking.leaveVerifierPool, ()), 0);
    }

    // -- submissions ----------------------------------------------------------------------

    function commitUpdate(uint256 who, uint256 salt) external {
        _honestBots();
        uint256 m = who % 2;
        (,,, uint256 round,, bytes32 head,,,) = pogo.getTask(taskId);
        bytes32 root = keccak256(abi.encode(m, salt));
        bytes32 commitment = keccak256(abi.encode(taskId, round, actors[m], head, root, root, bytes32(salt)));
        if (_call(actors[m], abi.encodeCall(PoGO.commitUpdate, (taskId, commitment)), 0)) {
            committed[actors[m]] = [head, root, bytes32(salt)];
        }
    }

    /// @notice Reveal the miner's commitment, waiting for the reveal window when it is near.
    function revealUpdate(uint256 who) external {
        uint256 m = who % 2;
        (IPoGO.TaskParams memory p,,,, uint256 roundStart,,,,) = pogo.getTask(taskId);
        uint256 commitEnd = roundStart + p.roundBlocks;
        if (block.number < commitEnd) _rollTo(commitEnd);
        bytes32[3] memory c = committed[actors[m]];
        if (_call(actors[m], abi.encodeCall(PoGO.revealUpdate,
                (taskId, c[0], c[1], c[1], c[2], "diff", "tree", int64(2_000_000), int64(1_900_000))), 0)) {
            good[++submissions] = m == 0;
        }
    }

    function proposeAggregate(uint256 who, uint256 salt) external {
        uint256 m = who % 2;
        bytes32 root = keccak256(abi.encode("aggregate", m, salt));
        if (_call(actors[m], abi.encodeCall(PoGO.proposeAggregate, (taskId, root, root, "diff", "tree", "ckpt")), 0)) {
            good[++submissions] = m == 0;
        }
    }

    /// @notice Draw a submission's committee at the first block allowed, then let the honest
    ///         members commit to their votes at once, as their bots do.
    function draw(uint256 sid, uint256 randao) external {
        sid = _sid(sid);
        if (sid == 0) return;
        IPoGO.Submission memory s = pogo.getSubmission(sid);
        uint256 target = s.submitBlock + 3;
        if (block.number < target) _rollTo(target);
        if (block.number % 16 == 0) _rollTo(block.number + 1);
        vm.prevrandao(bytes32(randao));
        if (!_call(actors[randao % N_ACTORS], abi.encodeCall(PoGO.drawCommittee, (sid)), 0)) return;
        voting.push(sid);
        s = pogo.getSubmission(sid);
        for (uint256 seat = 0; seat < s.seats; ++seat) {
            address member = members[sid][seat];
            if (!honest[member]) continue;
            (bool ok, int64 improvement, uint8 reason) = _honestVote(sid);
            bytes32 c = keccak256(abi.encode(sid, seat, member, ok, improvement, reason, _honestSalt(sid, seat)));
            _call(member, abi.encodeCall(PoGO.commitVote, (sid, seat, members[sid], c)), 0);
        }
    }

    /// @notice The adversary commits to any vote at all (reasons beyond the last code included).
    function adversaryCommit(uint256 sid, uint256 seat, bool approve, int64 improvement, uint8 reason) external {
        _honestBots();
        sid = _sid(sid);
        seat = seat % 5;
        reason = reason % 12;
        adversaryApprove[sid] = approve;
        adversaryImprovement[sid] = improvement;
        adversaryReason[sid] = reason;
        bytes32 c = keccak256(abi.encode(sid, seat, actors[ADVERSARY], approve, improvement, reason, bytes32(sid)));
        _call(actors[ADVERSARY], abi.encodeCall(PoGO.commitVote, (sid, seat, members[sid], c)), 0);
    }

    /// @notice The adversary commits raw words: anything, or half the time a word whose leading
    ///         160 bits (what a seat stores) are zero.
    function adversaryRawCommit(uint256 pick, bytes32 raw, bool small) external {
        _honestBots();
        if (voting.length == 0) return;
        uint256 sid = voting[pick % voting.length]; // a drawn submission, where it may sit
        address[] memory m = members[sid];
        uint256 seat = m.length;
        for (uint256 i = 0; i < m.length; ++i) {
            if (m[i] == actors[ADVERSARY]) seat = i;
        }
        if (small) raw = bytes32(uint256(raw) >> 160);
        _call(actors[ADVERSARY], abi.encodeCall(PoGO.commitVote, (sid, seat, m, raw)), 0);
    }

    /// @notice The adversary reveals what it committed to, whenever the fuzzer says.
    function adversaryReveal(uint256 sid, uint256 seat) external {
        _honestBots();
        sid = _sid(sid);
        _call(actors[ADVERSARY], abi.encodeCall(PoGO.revealVote, (sid, seat % 5, adversaryApprove[sid],
              adversaryImprovement[sid], adversaryReason[sid], bytes32(sid))), 0);
    }

    /// @notice The adversary sends leaf fraud proofs: raw bytes, or a well-formed proof (the task's
    ///         depth, a whole head leaf, a record of the right size) whose parts are made up.
    function adversaryProveFraud(uint256 sid, bytes calldata raw, bytes32 fill, uint256 leaf, bool wellFormed) external {
        _honestBots();
        sid = _sid(sid);
        bytes memory proof = raw;
        if (wellFormed) {
            bytes32[] memory path = new bytes32[](8); // 2^20 parameters in leaves of 4096: depth 8
            for (uint256 k = 0; k < 8; ++k) path[k] = keccak256(abi.encode(fill, k));
            bytes[] memory records = new bytes[](1);
            records[0] = new bytes(4096 / 32 + 4096 / 2);
            bytes32[][] memory recordPaths = new bytes32[][](1);
            recordPaths[0] = path;
            proof = abi.encode(IPoGO.LeafFraudProof(leaf % 256, new bytes(4 * 4096), path, fill, path, new uint256[](0),
                                               records, recordPaths));
        }
        _call(actors[ADVERSARY], abi.encodeCall(PoGO.proveLeafFraud, (sid, proof)), 0);
    }

    function finalize(uint256 sid, uint256 who) external {
        _honestBots();
        _call(actors[who % N_ACTORS], abi.encodeCall(PoGO.finalize, (_sid(sid))), 0);
    }

    function settleSeat(uint256 sid, uint256 seat) external {
        _honestBots();
        sid = _sid(sid);
        _call(actors[seat % N_ACTORS], abi.encodeCall(PoGO.settleSeat, (sid, seat % 5, members[sid])), 0);
    }

    function closeRound(uint256 who) external {
        _honestBots();
        _call(actors[who % N_ACTORS], abi.encodeCall(PoGO.closeRound, (taskId)), 0);
    }

    function claimReward(uint256 sid, uint256 who) external {
        _call(actors[who % N_ACTORS], abi.encodeCall(PoGO.claimReward, (_sid(sid))), 0);
    }

    function fundTask(uint256 who, uint256 amount) external {
        address a = actors[who % N_ACTORS];
        amount = 1 + amount % 10 ether;
        vm.deal(a, a.balance + amount);
        _call(a, abi.encodeCall(PoGO.fundTask, (taskId)), amount);
    }

    function roll(uint256 blocks) external {
        _rollTo(block.number + 1 + blocks % 64);
    }

    /// @notice ETH forced in (selfdestruct): the balance may exceed the ledger, never the reverse.
    function forceSend(uint256 amount) external {
        amount = 1 + amount % 1 ether;
        vm.deal(address(this), address(this).balance + amount);
        new ForceSend{value: amount}(payable(address(pogo)));
        forced += amount;
    }

    // -- the honest verifiers' bots --------------------------------------------------------

    /// @dev Time passes block by block, and in every block the honest bots reveal what they
    ///      committed to as soon as the commitments have closed: they never miss a reveal.
    function _rollTo(uint256 target) internal {
        _honestBots();
        while (block.number < target) {
            // Stop at the first block where some honest reveal opens, then go on.
            uint256 next = target;
            for (uint256 i = 0; i < voting.length; ++i) {
                uint256 opens = pogo.getSubmission(voting[i]).voteDeadline + 1;
                if (opens > block.number && opens < next) next = opens;
            }
            vm.roll(next);
            _honestBots();
        }
    }

    function _honestBots() internal {
        for (uint256 i = voting.length; i > 0; --i) {
            uint256 sid = voting[i - 1];
            IPoGO.Submission memory s = pogo.getSubmission(sid);
            if (s.status != 2 || block.number > s.voteDeadline + VOTE_BLOCKS) {
                voting[i - 1] = voting[voting.length - 1]; // done: nothing left to reveal
                voting.pop();
                continue;
            }
            if (block.number <= s.voteDeadline) continue;
            for (uint256 seat = 0; seat < s.seats; ++seat) {
                address member = members[sid][seat];
                (bytes20 commitment, bool voted,,,,) = pogo.votes(sid, seat);
                if (!honest[member] || voted || commitment == bytes20(0)) continue;
                (bool ok, int64 improvement, uint8 reason) = _honestVote(sid);
                _call(member, abi.encodeCall(PoGO.revealVote, (sid, seat, ok, improvement, reason, _honestSalt(sid, seat))),
                      0);
            }
        }
    }

    function _honestVote(uint256 sid) internal view returns (bool ok, int64 improvement, uint8 reason) {
        ok = good[sid];
        improvement = ok ? int64(int256(100_000 + sid)) : int64(0);
        reason = ok ? 0 : 4; // ROOT_MISMATCH: a fault
    }

    function _honestSalt(uint256 sid, uint256 seat) internal pure returns (bytes32) {
        return keccak256(abi.encode("honest", sid, seat));
    }

    // -- one checked call ---------------------------------------------------------------

    function _sid(uint256 seed) internal view returns (uint256) {
        return submissions == 0 ? 0 : 1 + seed % submissions;
    }

    /// @dev Call `data` as `who`; check the withdrawable balances against the call's events.
    function _call(address who, bytes memory data, uint256 value) internal returns (bool ok) {
        ++calls;
        uint256[N_ACTORS] memory before;
        for (uint256 i = 0; i < N_ACTORS; ++i) before[i] = pogo.withdrawable(actors[i]);
        vm.recordLogs();
        vm.prank(who);
        (ok,) = address(pogo).call{value: value}(data);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (ok) ethIn += value;

        uint256[N_ACTORS] memory credited;
        bool[N_ACTORS] memory withdrew;
        for (uint256 k = 0; k < logs.length; ++k) {
            Vm.Log memory l = logs[k];
            if (l.emitter != address(pogo)) continue;
            bytes32 sig = l.topics[0];
            if (sig == IStaking.Withdrawn.selector) {
                ethOut += abi.decode(l.data, (uint256));
                withdrew[_index(l.topics[1])] = true;
            } else if (sig == IPoGO.Rewarded.selector || sig == IPoGO.PoolReclaimed.selector) {
                credited[_index(l.topics[2])] += abi.decode(l.data, (uint256));
                if (sig == IPoGO.Rewarded.selector) ++rewards;
            } else if (sig == IPoGO.SeatSettled.selector) {
                (, uint256 paid,) = abi.decode(l.data, (uint256, uint256, uint256));
                ++settled;
                credited[_index(l.topics[2])] += paid;
            } else if (sig == IPoGO.Finalized.selector) {
                (uint8 status,,,,) = abi.decode(l.data, (uint8, uint256, uint256, int64, uint256));
                ++outcomes[status];
            } else if (sig == IPoGO.CommitteeDrawn.selector) {
                (, address[] memory drawn,) = abi.decode(l.data, (bytes32, address[], uint256));
                members[uint256(l.topics[1])] = drawn;
            } else if (sig == IPoGO.RoundClosed.selector) {
                ++roundsClosed;
            } else if (sig == IPoGO.LeafFraudProven.selector) {
                ++fraudProven;
            } else if (sig == IStaking.Slashed.selector) {
                (uint256 amount,) = abi.decode(l.data, (uint256, uint8));
                if (amount > 0) ++slashes;
                if (honest[address(uint160(uint256(l.topics[1])))] && amount > 0) ++honestLosses;
            } else if (sig == IPoGO.EvaluationFeeCharged.selector) {
                if (honest[address(uint160(uint256(l.topics[2])))]) ++honestLosses;
            }
        }
        for (uint256 i = 0; i < N_ACTORS; ++i) {
            uint256 expected = (withdrew[i] ? 0 : before[i]) + credited[i];
            if (pogo.withdrawable(actors[i]) != expected) ++unexplainedCredits;
        }
    }

    function _index(bytes32 topic) internal view returns (uint256) {
        address a = address(uint160(uint256(topic)));
        for (uint256 i = 0; i < N_ACTORS; ++i) {
            if (actors[i] == a) return i;
        }
        revert("payout to an address outside the cast");
    }
}

/// @title PoGOInvariants
/// @notice Properties that hold after every call of every random sequence (forge invariant
///         testing; `make test` runs a few thousand calls, `make fuzz` far more).
contract PoGOInvariants {
    PoGO internal pogo;
    Handler internal handler;
    uint256 internal taskId;
    uint256 internal minerBond;

    function setUp() public {
        vm.roll(100);
        pogo = new PoGO(20, 1 ether, IPoGO.Bounds({
            maxRoundBlocks: 100_000, minVoteBlocks: 10, maxVoteBlocks: 10_000, maxMinerSlashBps: 10_000,
            maxVerifierSlashBps: 5_000, maxLivenessSlashBps: 1_000, maxVerifierBond: 100 ether,
            maxImprovement: 10_000_000}));
        IPoGO.TaskParams memory p = IPoGO.TaskParams({
            specHash: keccak256("spec"), initialRoot: keccak256("initial"), nParams: 1 << 20, leafSize: 4096,
            nShards: 8, roundBlocks: 40, voteBlocks: 20, committeeSize: 4, minerSlashBps: 5_000,
            verifierSlashBps: 1_000, livenessSlashBps: 200, minerBond: 1 ether, roundReward: 3 ether,
            verifierFee: 0.01 ether, evalFee: 0.02 ether, verifierBond: 0.5 ether, maxImprovement: 10_000_000});
        minerBond = p.minerBond;
        vm.deal(address(this), 20 ether);
        taskId = pogo.createTask{value: 20 ether}(p, "spec", "ckpt", "tree");
        handler = new Handler(pogo, taskId, 20 ether);
        // Everyone starts staked; the verifiers start registered, counted from the next epoch.
        for (uint256 i = 0; i < 8; ++i) {
            handler.stake(i, 10 ether - 1);
            if (i >= 2) handler.registerVerifier(i - 2);
        }
        vm.roll(128);
    }

    /// @notice Only the handler is fuzzed; its own view functions are not actions.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice The handler's paths reach every outcome: a scripted round in which the honest
    ///         update is accepted and rewarded, the cheat rejected and slashed, every seat
    ///         settled, with the invariants holding at the end (so they are not vacuous).
    function test_scriptedRoundReachesEveryPath() public {
        handler.commitUpdate(0, 1);
        handler.commitUpdate(1, 2);
        handler.revealUpdate(0); // honest: submission 1
        handler.revealUpdate(1); // cheat: submission 2
        handler.draw(0, 11);
        handler.draw(1, 12);
        handler.roll(21); // the commitments close, the honest bots reveal
        handler.finalize(0, 0);
        handler.finalize(1, 0);
        require(handler.outcomes(3) == 1 && handler.outcomes(4) == 1, "accepted and rejected");
        for (uint256 seat = 0; seat < 4; ++seat) {
            handler.settleSeat(0, seat);
            handler.settleSeat(1, seat);
        }
        handler.roll(40);
        handler.closeRound(0);
        handler.claimReward(0, 0);
        require(handler.roundsClosed() == 1 && handler.rewards() == 1, "closed and rewarded");
        require(handler.settled() == 8 && handler.slashes() >= 1, "settled and slashed");
        invariant_ethIsConserved();
        invariant_totalsAreSumsOfAccounts();
        invariant_withdrawableMovesOnlyWithAnEvent();
        invariant_honestParticipantsNeverLoseStake();
        invariant_bondsMatchWhatIsOpen();
    }

    /// @notice A commitment whose stored 160 bits are zero is refused: it once counted again on
    ///         every call, so one member could jam every other member's commitment (review).
    function test_aZeroLedVoteCommitmentIsRefused() public {
        handler.commitUpdate(0, 7);
        handler.revealUpdate(0);
        handler.draw(0, 3);
        address[] memory m = handler.committeeOf(1);
        IPoGO.Submission memory s = pogo.getSubmission(1);
        require(s.status == 2 && m.length > 0, "drawn");
        for (uint256 seat = 0; seat < m.length; ++seat) {
            vm.prank(m[seat]);
            try pogo.commitVote(1, seat, m, bytes32(uint256(1))) {
                revert("a zero-led commitment was accepted");
            } catch {}
        }
        require(pogo.getSubmission(1).commits == s.commits, "commits moved");
    }

    /// @notice The balance covers the ledger, and the ledger is exactly what came in minus what went out.
    function invariant_ethIsConserved() public view {
        uint256 ledger = pogo.accountedBalance();
        require(ledger == handler.ethIn() - handler.ethOut(), "ledger != in - out");
        require(address(pogo).balance == ledger + handler.forced(), "balance != ledger + forced");
    }

    /// @notice Every bucket of the ledger is the sum of the accounts in it.
    function invariant_totalsAreSumsOfAccounts() public view {
        uint256 staked;
        uint256 unbonding;
        uint256 owed;
        for (uint256 i = 0; i < 9; ++i) {
            address a = handler.actor(i);
            (uint112 s,,, uint128 u,,) = pogo.accounts(a);
            staked += s;
            unbonding += u;
            owed += pogo.withdrawable(a);
        }
        require(pogo.totalStaked() == staked, "totalStaked");
        require(pogo.totalUnbonding() == unbonding, "totalUnbonding");
        require(pogo.totalWithdrawable() == owed, "totalWithdrawable");
    }

    /// @notice No withdrawable balance grows without a Rewarded, SeatSettled or PoolReclaimed
    ///         event for it, or shrinks without a Withdrawn.
    function invariant_withdrawableMovesOnlyWithAnEvent() public view {
        require(handler.unexplainedCredits() == 0, "withdrawable moved without an event");
    }

    /// @notice No leaf fraud proof passes against submissions whose roots commit to no tree: fuzzed
    ///         bytes and made-up proofs only revert (and move no balance: the invariant above).
    function invariant_madeUpFraudProofsNeverPass() public view {
        require(handler.fraudProven() == 0, "a made-up fraud proof passed");
    }

    /// @notice A submission never counts more vote commitments than it has seats, nor more
    ///         revealed votes than commitments (a seat commits once).
    function invariant_commitsNeverExceedSeats() public view {
        for (uint256 id = 1; id <= handler.submissions(); ++id) {
            IPoGO.Submission memory sub = pogo.getSubmission(id);
            require(sub.commits <= sub.seats, "commits > seats");
            require(uint256(sub.approvals) + sub.rejections <= sub.commits, "votes > commits");
        }
    }

    /// @notice Participants who follow the protocol are never slashed nor charged a fee.
    function invariant_honestParticipantsNeverLoseStake() public view {
        require(handler.honestLosses() == 0, "an honest participant lost stake");
    }

    /// @notice A miner's bond is locked exactly while its submission is undecided, and a seat is
    ///         open exactly while it is unsettled (a seat locks no stake, D16). So each bond is
    ///         released (or slashed) once, and never twice.
    function invariant_bondsMatchWhatIsOpen() public view {
        uint256 n = handler.submissions();
        for (uint256 i = 0; i < 9; ++i) {
            address a = handler.actor(i);
            (, uint112 locked, uint32 openSeats,,,) = pogo.accounts(a);
            uint256 seats;
            uint256 subs;
            for (uint256 id = 1; id <= n; ++id) {
                IPoGO.Submission memory sub = pogo.getSubmission(id);
                if (sub.miner == a && sub.status <= 2) ++subs; // Pending or Voting
                address[] memory committee = handler.committeeOf(id);
                for (uint256 seat = 0; seat < sub.seats; ++seat) {
                    if (committee[seat] != a) continue;
                    (,,, bool settled,,) = pogo.votes(id, seat);
                    if (!settled) ++seats;
                }
            }
            require(openSeats == seats, "openSeats != unsettled seats");
            require(locked == subs * minerBond, "locked != open bonds"); // never clamped by a slash
        }
    }
}
