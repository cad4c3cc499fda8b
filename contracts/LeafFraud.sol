// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Float32} from "./lib/Float32.sol";
import {Sha256Merkle} from "./lib/Sha256Merkle.sol";
import {IPoGO} from "./interfaces/IPoGO.sol";

/// @title LeafFraud
/// @notice Checks a leaf fraud proof (docs/PROTOCOL.md D11): that leaf `leaf` of a submission's
///         new model, as its Merkle root commits to it, is not what the exact rule makes of the
///         head's leaf and the diff record(s), or that a committed record is malformed. Pure: it
///         holds no state and PoGO, which creates it, applies the verdict. It is a contract of
///         its own because PoGO is at the 24 KiB code-size limit.
/// @dev The rule (PROTOCOL.md sections 3 and 7), per element j of the leaf:
///        one update:  new_j = float32(prev_j + float32(q_j 2^e))
///        k >= 2 accepted updates (an aggregate), in ascending submission id:
///          acc = +0; acc = float32(acc + q_j 2^e) for each; new_j = float32(prev_j + float32(acc * float32(1/c)))
///          with c the updates whose record holds a non-zero q in j's 32-element group (D14; c = 0: acc = +0)
///      With k = 1 the second rule is the first (+0 + x = x, x * 1 = x), so one path serves both.
///      Leaves are little-endian float32; a record is L/32 scale bytes then L/2 nibble bytes
///      (element 2i in the low nibble of byte i, two's complement), or a sparse record (D13) that
///      names k of the leaf's groups and stands for the dense record in which every other group is
///      all-zero: it is expanded to that record, and the one rule above applies.
contract LeafFraud {
    uint256 internal constant GROUP = 32;
    /// @dev A sparse record's bytes per group: a u16 index, a scale byte, 16 nibble bytes. 19 never
    ///      divides a dense record's 17 * L / 32 (L a power of two), so the length says the layout.
    uint256 internal constant SPARSE_GROUP_BYTES = 19;
    /// @dev A group's nibble bytes (32 elements, 4 bits each).
    uint256 internal constant NIBBLE_BYTES = GROUP / 2;
    /// @dev The scale byte of an all-zero group: e = -120, the smallest (section 3).
    bytes1 internal constant EMPTY_SCALE = 0x07;
    /// @dev float32 1.0: the divisor's reciprocal for a group no source moves (its sum is +0).
    uint256 internal constant ONE = 0x3F800000;

    /// @notice The PoGO contract that created this checker and whose submissions it judges.
    IPoGO public immutable pogo;

    constructor() {
        pogo = IPoGO(msg.sender);
    }

    /// @notice Check a leaf fraud proof against a submission of `pogo`; reverts (NotOpen,
    ///         BadSources, BadProof or NoFraud) unless it proves fraud. A proof is open while the
    ///         submission could still become the head or has escaped a slash: an update not
    ///         rejected whose round has not closed; an aggregate neither accepted nor rejected while
    ///         its round still waits for one.
    /// @param submissionId the submission accused
    /// @param p the proof (PoGO.proveLeafFraud forwards the abi.encode(LeafFraudProof) it was given)
    /// @return kind Mismatch or MalformedRecord
    /// @return leaf the leaf index
    function check(uint256 submissionId, IPoGO.LeafFraudProof calldata p) external view returns (IPoGO.FraudKind kind, uint256 leaf) {
        IPoGO.Submission memory s = pogo.getSubmission(submissionId);
        // slither-disable-next-line unused-return (only these fields of the task are needed)
        (IPoGO.TaskParams memory tp,,, uint256 round,, bytes32 headRoot, bool aggregating,,) = pogo.getTask(s.taskId);
        bool isUpdate = s.kind == uint8(IPoGO.Kind.Update);
        if (s.status == uint8(IPoGO.Status.Rejected) || s.fraud
            || (isUpdate
                ? s.status >= uint8(IPoGO.Status.Accepted) && _roundClosed(s.taskId, s.round)
                : !aggregating || round != s.round || s.status == uint8(IPoGO.Status.Accepted))) revert IPoGO.NotOpen(IPoGO.Status(s.status));
        bytes32[] memory diffRoots;
        if (isUpdate) {
            if (p.sources.length != 0) revert IPoGO.BadSources();
            diffRoots = new bytes32[](1);
            diffRoots[0] = s.diffRoot;
        } else {
            diffRoots = _sourceRoots(s, p.sources);
        }
        return (verify(headRoot, s.newRoot, diffRoots, tp.nParams, tp.leafSize, p), p.leaf);
    }

    /// @notice Check a leaf fraud proof against given roots; reverts with BadProof or NoFraud
    ///         unless it proves fraud.
    /// @param headRoot the root the submission builds on (the task's head)
    /// @param newRoot the submission's committed new root
    /// @param diffRoots the diff root of each source, in the order of `p.records`
    /// @param nParams the task's parameter count P
    /// @param leafSize the task's leaf size L (a power of two, >= 32)
    /// @return kind Mismatch or MalformedRecord
    function verify(bytes32 headRoot, bytes32 newRoot, bytes32[] memory diffRoots, uint256 nParams,
                    uint256 leafSize, IPoGO.LeafFraudProof calldata p) public view returns (IPoGO.FraudKind kind) {
        uint256 nLeaves = (nParams + leafSize - 1) / leafSize;
        uint256 depth = Float32.bitLength(nLeaves - 1); // ceil(log2 n), 0 for one leaf
        uint256 k = diffRoots.length;
        if (p.leaf >= nLeaves) revert IPoGO.BadProof("leaf");
        if (p.records.length != k || p.recordProofs.length != k) revert IPoGO.BadProof("records");
        if (p.prevLeaf.length != 4 * leafSize) revert IPoGO.BadProof("prevLeaf length");
        _checkProof(p.prevProof, Sha256Merkle.hashLeaf(p.prevLeaf), p.leaf, headRoot, depth, "prevProof");
        _checkProof(p.newProof, p.claimedLeafHash, p.leaf, newRoot, depth, "newProof");
        bool sparse = false;
        for (uint256 i = 0; i < k; ++i) {
            _checkProof(p.recordProofs[i], Sha256Merkle.hashLeaf(p.records[i]), p.leaf, diffRoots[i], depth, "recordProof");
            uint256 length = p.records[i].length;
            if (length != leafSize / GROUP + leafSize / 2) {
                if (length == 0 || length % SPARSE_GROUP_BYTES != 0 || length / SPARSE_GROUP_BYTES >= leafSize / GROUP) {
                    return _malformed(k); // in neither layout, yet the diff root commits to it (its proof)
                }
                sparse = true;
            }
        }
        // Elements past the model's last parameter are padding: a record may not update them.
        uint256 valid = nParams - p.leaf * leafSize;
        valid = valid < leafSize ? valid : leafSize;
        (bytes memory rebuilt, bool malformed) = sparse
            ? _rebuildExpanded(p.prevLeaf, p.records, valid)
            : rebuild(p.prevLeaf, p.records, valid);
        if (malformed) return _malformed(k);
        if (Sha256Merkle.hashLeaf(rebuilt) == p.claimedLeafHash) revert IPoGO.NoFraud();
        return IPoGO.FraudKind.Mismatch;
    }

    /// @notice The new leaf from the head's leaf and one record per source, by the exact rule;
    ///         malformed (and the leaf unfinished) when a record breaks the format.
    /// @param valid how many leading elements are real parameters; the rest must not be updated
    function rebuild(bytes calldata prevLeaf, bytes[] calldata records, uint256 valid)
        public pure returns (bytes memory leaf, bool malformed)
    {
        uint256 leafSize = prevLeaf.length / 4;
        leaf = new bytes(prevLeaf.length);
        uint256 k = records.length;
        uint256 nScales = leafSize / GROUP;
        if (leafSize % GROUP != 0 || k == 0) revert IPoGO.BadProof("leaf size or records");
        for (uint256 s = 0; s < k; ++s) {
            if (records[s].length != nScales + leafSize / 2) revert IPoGO.BadProof("record length");
        }
        uint256[] memory sources = new uint256[](3 * k); // per source: its record's calldata offset, unit, nibbles
        for (uint256 s = 0; s < k; ++s) sources[3 * s] = _offset(records[s]);
        // float32(1/c) for c = 0..k movers of a group (D14); c = 0 takes 1.0: acc is +0 there. One
        // update takes the `run` path, which reads no table.
        uint256[] memory rcps = new uint256[](k + 1);
        if (k > 1) {
            rcps[0] = ONE;
            for (uint256 c = 1; c <= k; ++c) rcps[c] = Float32.reciprocal(c);
        }
        malformed = _rebuild(prevLeaf, sources, k, valid, leaf, rcps);
    }

    /// @notice The dense record a sparse one stands for (PROTOCOL.md D13): each group it names gets
    ///         its scale byte and 16 nibble bytes, every other group is all-zero (scale byte 7, q = 0).
    /// @param record a sparse record: k little-endian u16 group indices, their k scale bytes, their
    ///        k * 16 nibble bytes (its length a multiple of 19)
    /// @param nScales the groups in a leaf, L / 32
    /// @return dense the record in the dense layout (L/32 scale bytes, then L/2 nibble bytes)
    /// @return malformed true when the indices are not strictly ascending or not all below nScales
    function expand(bytes calldata record, uint256 nScales) public pure returns (bytes memory dense, bool malformed) {
        // Exact: `verify` took only lengths that are multiples of 19 (docs/SLITHER.md S18).
        // slither-disable-start divide-before-multiply
        uint256 k = record.length / SPARSE_GROUP_BYTES;
        dense = new bytes(nScales * (1 + NIBBLE_BYTES));
        for (uint256 g = 0; g < nScales; ++g) dense[g] = EMPTY_SCALE;
        uint256 next = 0; // the lowest index the next named group may have
        for (uint256 i = 0; i < k; ++i) {
            uint256 g = uint256(uint8(record[2 * i])) | (uint256(uint8(record[2 * i + 1])) << 8);
            if (g < next || g >= nScales) return (dense, true);
            next = g + 1;
            dense[g] = record[2 * k + i];
            // The group's 16 nibble bytes in one copy: g < nScales keeps them inside `dense`
            // (nScales + 16 g + 16 <= 17 nScales), i < k inside `record` (3k + 16 i + 16 <= 19k).
            uint256 from = 3 * k + i * NIBBLE_BYTES;
            uint256 to = nScales + g * NIBBLE_BYTES;
            // slither-disable-next-line assembly
            assembly ("memory-safe") {
                calldatacopy(add(add(dense, 32), to), add(record.offset, from), 16)
            }
        }
        // slither-disable-end divide-before-multiply
    }

    /// @dev `rebuild` over the records expanded to the dense layout (a malformed sparse record stops
    ///      it, as a malformed dense one does). `rebuild` reads its records from calldata, so it is
    ///      called on this contract: a static call that costs a few thousand gas of a proof's millions.
    function _rebuildExpanded(bytes calldata prevLeaf, bytes[] calldata records, uint256 valid)
        internal view returns (bytes memory leaf, bool malformed)
    {
        uint256 nScales = prevLeaf.length / (4 * GROUP);
        uint256 denseSize = nScales + prevLeaf.length / 8; // L/32 + L/2, L = length / 4
        bytes[] memory dense = new bytes[](records.length);
        for (uint256 s = 0; s < records.length; ++s) {
            if (records[s].length == denseSize) {
                dense[s] = records[s];
            } else {
                (dense[s], malformed) = expand(records[s], nScales);
                if (malformed) return (leaf, true);
            }
        }
        // slither-disable-next-line var-read-using-this (the call is the point: docs/SLITHER.md S19)
        return this.rebuild(prevLeaf, dense, valid);
    }

    /// @dev A committed record breaks the format: only an update answers for its own record; an
    ///      aggregate's sources were accepted as they are, so against an aggregate it is no proof.
    function _malformed(uint256 nSources) private pure returns (IPoGO.FraudKind kind) {
        if (nSources > 1) revert IPoGO.BadProof("a source record is malformed");
        return IPoGO.FraudKind.MalformedRecord;
    }

    function _offset(bytes calldata b) private pure returns (uint256 at) {
        // slither-disable-next-line assembly
        assembly ("memory-safe") { at := b.offset }
    }

    /// @dev The rule over a whole leaf, written into `leaf`; true when a record is malformed.
    ///      Assembly, because the fraud proof's gas bound (3M for a 4096-parameter leaf) leaves
    ///      about 500 gas per element: for one update, the sum of a weight and a 4-bit step as one
    ///      exact integer and one rounding; for an aggregate, that step for each source, then
    ///      Float32.mul and Float32.add. No bounds checks; the leaf vectors and the random-leaf
    ///      test hold it to numpy bit for bit. Elements come 8 to a word: lanes byte-swapped to uint32,
    ///      element j at bits 224 - 32j. `sources` holds 3 words a source: its record's calldata
    ///      offset, then (scratch) this group's unit index and nibbles.
    function _rebuild(bytes calldata prevLeaf, uint256[] memory sources, uint256 nSources, uint256 valid,
                      bytes memory leaf, uint256[] memory rcps) internal pure returns (bool malformed)
    {
        // Bit patterns of float32 are long hex literals, the element rule has many cases by nature,
        // and slither reads `r := ... leave` then `r := ...` as two writes (docs/SLITHER.md S11-S13, S17).
        // slither-disable-start assembly
        // slither-disable-start too-many-digits
        // slither-disable-start cyclomatic-complexity
        // slither-disable-start write-after-write
        assembly ("memory-safe") {
            // floor(log2 m) + 1 for 0 < m < 2^128, branch-free
            function bitLength(m) -> n {
                n := shl(6, lt(0xffffffffffffffff, m))
                n := or(n, shl(5, lt(0xffffffff, shr(n, m))))
                n := or(n, shl(4, lt(0xffff, shr(n, m))))
                n := or(n, shl(3, lt(0xff, shr(n, m))))
                n := or(n, shl(2, lt(0xf, shr(n, m))))
                n := or(n, shl(1, lt(0x3, shr(n, m))))
                n := add(or(n, lt(0x1, shr(n, m))), 1)
            }
            // float32(a + q 2^(xb - 149)) for the nibble u of q (two's complement). The main path is
            // the exact sum as one signed integer in units of 2^(xb - 88 - 149), then one rounding:
            // a = ma 2^(xa - 149) is ma << sa with sa = xa + 88 - xb, the step is q << 88. It takes
            // 24 <= ea <= 253 and 24 <= sa <= 188, where both terms fit (a below 2^212, the step
            // at most 2^91), a nonzero sum is a multiple of 2^24 units and of 2^-126 (so it rounds by a
            // right shift and is normal) and below 2^127 + 2^123 (finite). Everything else (q = 0; a
            // zero, subnormal, tiny, huge, infinite or NaN; one term negligible) is decided apart.
            function step(a, u, xb) -> r {
                let ea := and(shr(23, a), 0xFF)
                let sa := sub(add(ea, 87), xb)
                if or(or(iszero(u), gt(sub(ea, 24), 229)), gt(sub(sa, 24), 164)) {
                    r := stepApart(a, u, xb, ea, sa)
                    leave
                }
                let neg := sar(255, shl(224, a))                             // all ones for a negative a
                let v := add(sub(xor(shl(sa, or(and(a, 0x7FFFFF), 0x800000)), neg), neg),
                             sar(164, shl(252, u)))                          // + q << 88, q signed
                neg := sar(255, v)
                let m := sub(xor(v, neg), neg)                               // |v|
                // m < 2^(w + 6) with w = max(sa + 24, 92) - 5 (the longer term's bit length, plus a
                // carry): its bit length is w plus that of its top six bits, read from a table; when
                // the terms cancelled 6 bits or more, of the six below; 12 or more, counted apart.
                // The max is branch-free: a branch here costs 2 % of a proof.
                let w := add(87, mul(gt(sa, 68), sub(sa, 68)))
                let t := shr(w, m)
                if iszero(t) {                                               // the next six bits
                    w := sub(w, 6)
                    t := shr(w, m)
                    if iszero(t) { r := cancelled(v, m, xb) leave }
                }
                let sh := add(sub(w, 24), and(0xF, shr(shl(2, t),                 // n - 24; a nibble per t < 64:
                    0x6666666666666666666666666666666655555555555555554444444433332210))) // t's bit length
                // Ties to even: add half an ulp less one, plus the lowest kept bit (sh >= 58 here). A
                // carry to 2^24 lands in the next binade by itself: the pattern is (x << 23) + q.
                let q := shr(sh, add(add(m, not(shl(sub(sh, 1), not(0)))), and(shr(sh, m), 1)))
                r := or(add(shl(23, add(sub(xb, 88), sh)), q), and(shr(224, v), 0x80000000))
            }
            // step outside its main path (a function apart: in step's body it cost the main path
            // 1 % of a proof in stack moves)
            function stepApart(a, u, xb, ea, sa) -> r {
                r := a
                switch u
                case 0 {                                                 // a + (+0)
                    if eq(a, 0x80000000) { r := 0 }
                    if gt(and(a, 0x7FFFFFFF), 0x7F800000) { r := or(a, 0x400000) }
                }
                default {
                    switch ea
                    case 255 { if and(a, 0x7FFFFF) { r := or(a, 0x400000) } } // inf + finite = inf; NaN quiet
                    default {
                        // sa < 24: a < 2^(xb - 40) 2^-149, below a quarter ulp of the step: the step.
                        // sa > 188: the step is far below a quarter ulp of a: a. Else a is tiny or huge.
                        switch slt(sa, 24)
                        case 1 { r := exactStep(u, xb) }
                        default { if lt(sa, 189) { r := fadd(a, exactStep(u, xb)) } }
                    }
                }
            }
            // step's sum v = +-m when its terms cancelled 12 bits or more: only for sa <= 68 (above,
            // m >= 2^(sa + 23) - 2^91 and the first window holds its top bit), where w = 87: m < 2^81
            function cancelled(v, m, xb) -> r {
                if m { r := roundBits(shr(255, v), m, bitLength(m), sub(xb, 88)) }   // else x - x = +0
            }
            function swapLanes(w) -> r {
                w := or(shr(8, and(w, 0xFF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00)),
                        shl(8, and(w, 0x00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF)))
                r := or(shr(16, and(w, 0xFFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000)),
                        shl(16, and(w, 0x0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF)))
            }
            // The 16 bytes of a 128-bit value in reverse order: then element i's nibble is at bits 4i.
            function reverse16(v) -> r {
                v := or(shr(8, and(v, 0xFF00FF00FF00FF00FF00FF00FF00FF00)), shl(8, and(v, 0x00FF00FF00FF00FF00FF00FF00FF00FF)))
                v := or(shr(16, and(v, 0xFFFF0000FFFF0000FFFF0000FFFF0000)), shl(16, and(v, 0x0000FFFF0000FFFF0000FFFF0000FFFF)))
                v := or(shr(32, and(v, 0xFFFFFFFF00000000FFFFFFFF00000000)), shl(32, and(v, 0x00000000FFFFFFFF00000000FFFFFFFF)))
                r := or(shr(64, v), and(shl(64, v), 0xFFFFFFFFFFFFFFFF0000000000000000))
            }
            function run(prevAt, recAt, nScales, ok, out) -> bad {
                for { let g := 0 } lt(g, nScales) { g := add(g, 1) } {
                    let e8 := byte(0, calldataload(add(recAt, g)))
                    if or(lt(e8, 7), gt(e8, 247)) { bad := 1 leave }
                    let xb := add(e8, 22)                                    // q 2^(e8 - 127) = |q| 2^((e8 + 22) - 149)
                    let nib := reverse16(shr(128, calldataload(add(recAt, add(nScales, shl(4, g))))))
                    let lim := sub(ok, shl(5, g))                            // parameters in this group (signed)
                    if slt(lim, 32) {                                        // the last leaf: no update of the padding
                        let from := lim
                        if slt(from, 0) { from := 0 }
                        if shr(shl(2, from), nib) { bad := 1 leave }
                    }
                    for { let w := 0 } lt(w, 4) { w := add(w, 1) } {
                        let at := add(shl(7, g), shl(5, w))
                        let pw := swapLanes(calldataload(add(prevAt, at)))  // element j at bits 224 - 32j
                        let n8 := and(nib, 0xFFFFFFFF)                        // this word's 8 nibbles
                        nib := shr(32, nib)
                        let nw := shl(224, step(shr(224, pw), and(n8, 0xF), xb))
                        nw := or(nw, shl(192, step(and(shr(192, pw), 0xFFFFFFFF), and(shr(4, n8), 0xF), xb)))
                        nw := or(nw, shl(160, step(and(shr(160, pw), 0xFFFFFFFF), and(shr(8, n8), 0xF), xb)))
                        nw := or(nw, shl(128, step(and(shr(128, pw), 0xFFFFFFFF), and(shr(12, n8), 0xF), xb)))
                        nw := or(nw, shl(96, step(and(shr(96, pw), 0xFFFFFFFF), and(shr(16, n8), 0xF), xb)))
                        nw := or(nw, shl(64, step(and(shr(64, pw), 0xFFFFFFFF), and(shr(20, n8), 0xF), xb)))
                        nw := or(nw, shl(32, step(and(shr(32, pw), 0xFFFFFFFF), and(shr(24, n8), 0xF), xb)))
                        nw := or(nw, step(and(pw, 0xFFFFFFFF), shr(28, n8), xb))
                        // The padding past the model's last parameter is +0, whatever the head's (D11).
                        let limw := sub(lim, shl(3, w))
                        if slt(limw, 8) {
                            switch slt(limw, 1)
                            case 1 { nw := 0 }
                            default { nw := and(nw, not(sub(shl(shl(5, sub(8, limw)), 1), 1))) }
                        }
                        mstore(add(out, at), swapLanes(nw))
                    }
                }
            }
            // q 2^(xb - 149) for the nibble u of q (u != 0): exact, a normal float32.
            function exactStep(u, xb) -> r {
                let sb := gt(u, 7)
                let mb := add(xor(u, mul(sb, 15)), sb)
                let nb := and(shr(shl(2, mb), 0x433332210), 0xF)
                r := or(shl(31, sb), add(shl(23, sub(xb, sub(24, nb))), shl(sub(24, nb), mb)))
            }
            // Float32.round of (-1)^s m 2^(x - 149), m > 0 of bit length n, x signed: 24 bits, ties to
            // even, never below unit index 0 (subnormals). The pattern is then (x << 23) + q: for a
            // normal q (2^23 <= q < 2^24) that is ((x + 1) << 23) | fraction, for a subnormal (x = 0)
            // q itself, and a rounding carry to 2^24 lands in the next binade by itself; anything
            // from 0x7F800000 up is an overflow to infinity.
            function roundBits(s, m, n, x) -> r {
                let sh := sub(n, 24)                                         // signed
                if slt(add(x, sh), 0) { sh := sub(0, x) }
                let q := 0
                switch sgt(sh, 0)
                case 1 {
                    q := shr(sh, m)
                    // up when twice the rest plus q's parity exceeds 2^sh (over half, or half and q odd)
                    q := add(q, gt(add(shl(1, sub(m, shl(sh, q))), and(q, 1)), shl(sh, 1)))
                }
                default { q := shl(sub(0, sh), m) }
                r := add(shl(23, add(x, sh)), q)
                if gt(r, 0x7F800000) { r := 0x7F800000 }
                r := or(shl(31, s), r)
            }
            // Float32.add
            function fadd(a, b) -> r {
                let ia := and(a, 0x7FFFFFFF)
                let ib := and(b, 0x7FFFFFFF)
                if or(gt(ia, 0x7F7FFFFF), gt(ib, 0x7F7FFFFF)) {             // an infinity or a NaN
                    switch gt(ia, 0x7F800000)
                    case 1 { r := or(a, 0x400000) }
                    default {
                        switch gt(ib, 0x7F800000)
                        case 1 { r := or(b, 0x400000) }
                        default {
                            switch and(eq(ia, 0x7F800000), eq(ib, 0x7F800000))
                            case 1 { r := a if iszero(eq(a, b)) { r := 0xFFC00000 } }
                            default { r := a if eq(ib, 0x7F800000) { r := b } }
                        }
                    }
                    leave
                }
                let sa := shr(31, a)
                let sb := shr(31, b)
                if iszero(ib) { r := a if iszero(ia) { r := shl(31, and(sa, sb)) } leave } // -0 + -0 = -0
                if iszero(ia) { r := b leave }
                let ma := and(a, 0x7FFFFF)
                let xa := shr(23, ia)
                switch xa case 0 {} default { ma := or(ma, 0x800000) xa := sub(xa, 1) }
                let mb := and(b, 0x7FFFFF)
                let xb := shr(23, ib)
                switch xb case 0 {} default { mb := or(mb, 0x800000) xb := sub(xb, 1) }
                let x := xa
                switch lt(xa, xb)
                case 1 {
                    let d := sub(xb, xa)
                    switch gt(d, 60)
                    case 1 { ma := 0 x := xb }                               // a is below half an ulp of b
                    default { mb := shl(d, mb) }
                }
                default {
                    let d := sub(xa, xb)
                    switch gt(d, 60)
                    case 1 { mb := 0 }                                       // b is below half an ulp of a
                    default { ma := shl(d, ma) x := xb }
                }
                let v := add(add(xor(ma, sub(0, sa)), sa), add(xor(mb, sub(0, sb)), sb))
                let s := slt(v, 0)
                let m := add(xor(v, sub(0, s)), s)
                if iszero(m) { leave }                                       // x - x = +0
                r := roundBits(s, m, bitLength(m), x)
            }
            // Float32.mul
            function fmul(a, b) -> r {
                let ia := and(a, 0x7FFFFFFF)
                let ib := and(b, 0x7FFFFFFF)
                if gt(ia, 0x7F800000) { r := or(a, 0x400000) leave }         // NaN, quieted
                if gt(ib, 0x7F800000) { r := or(b, 0x400000) leave }
                let s := xor(shr(31, a), shr(31, b))
                if or(eq(ia, 0x7F800000), eq(ib, 0x7F800000)) {             // inf * 0 is invalid
                    r := or(shl(31, s), 0x7F800000)
                    if or(iszero(ia), iszero(ib)) { r := 0xFFC00000 }
                    leave
                }
                if or(iszero(ia), iszero(ib)) { r := shl(31, s) leave }
                let ma := and(a, 0x7FFFFF)
                let xa := shr(23, ia)
                switch xa case 0 {} default { ma := or(ma, 0x800000) xa := sub(xa, 1) }
                let mb := and(b, 0x7FFFFF)
                let xb := shr(23, ib)
                switch xb case 0 {} default { mb := or(mb, 0x800000) xb := sub(xb, 1) }
                let p := mul(ma, mb)
                r := roundBits(s, p, bitLength(p), sub(add(xa, xb), 149))
            }
            // An aggregate of k >= 2 sources (section 7, D14): acc = +0, acc = float32(acc + q_s 2^e_s)
            // for each source, then float32(prev + float32(acc * float32(1/c))), c the sources whose
            // group has a non-zero nibble (table[c], table = rcps); +0 in the padding.
            function runAggregate(prevAt, srcs, kk, nScales, ok, out, table) -> bad {
                let end := add(srcs, mul(96, kk))
                for { let g := 0 } lt(g, nScales) { g := add(g, 1) } {
                    let movers := 0
                    for { let p := srcs } lt(p, end) { p := add(p, 96) } {
                        let at := mload(p)
                        let e8 := byte(0, calldataload(add(at, g)))
                        if or(lt(e8, 7), gt(e8, 247)) { bad := 1 leave }
                        mstore(add(p, 32), add(e8, 22))
                        let nibbles := reverse16(shr(128, calldataload(add(at, add(nScales, shl(4, g))))))
                        mstore(add(p, 64), nibbles)
                        movers := add(movers, iszero(iszero(nibbles)))
                    }
                    let r1k := mload(add(table, shl(5, add(movers, 1))))   // table[movers]
                    let lim := sub(ok, shl(5, g))                            // parameters in this group (signed)
                    for { let w := 0 } lt(w, 4) { w := add(w, 1) } {
                        let pos := add(shl(7, g), shl(5, w))
                        let pw := swapLanes(calldataload(add(prevAt, pos)))
                        let nw := 0
                        for { let j := 0 } lt(j, 8) { j := add(j, 1) } {
                            let i := add(shl(3, w), j)
                            let acc := 0
                            for { let p := srcs } lt(p, end) { p := add(p, 96) } {
                                let u := and(shr(shl(2, i), mload(add(p, 64))), 0xF)
                                if u {
                                    if iszero(slt(i, lim)) { bad := 1 leave }       // an update of the padding
                                    switch acc
                                    case 0 { acc := exactStep(u, mload(add(p, 32))) } // +0 + step = the step
                                    default { acc := step(acc, u, mload(add(p, 32))) }
                                }
                            }
                            if bad { leave }
                            let r := 0
                            if slt(i, lim) { r := fadd(shr(224, pw), fmul(acc, r1k)) }
                            pw := shl(32, pw)
                            nw := or(shl(32, nw), r)
                        }
                        mstore(add(out, pos), swapLanes(nw))
                    }
                }
            }
            switch nSources
            case 1 { malformed := run(prevLeaf.offset, mload(add(sources, 32)), shr(7, prevLeaf.length), valid, add(leaf, 32)) }
            default { malformed := runAggregate(prevLeaf.offset, add(sources, 32), nSources, shr(7, prevLeaf.length), valid, add(leaf, 32), rcps) }
        }
        // slither-disable-end write-after-write
        // slither-disable-end cyclomatic-complexity
        // slither-disable-end too-many-digits
        // slither-disable-end assembly
    }

    function _checkProof(bytes32[] calldata proof, bytes32 leafHash, uint256 index, bytes32 root, uint256 depth,
                         string memory what) internal pure {
        if (proof.length != depth || Sha256Merkle.processProof(proof, leafHash, index) != root) revert IPoGO.BadProof(what);
    }

    function _roundClosed(uint256 taskId, uint256 round) internal view returns (bool closed) {
        // slither-disable-next-line unused-return (only the round's closed flag is needed)
        (,,, closed,) = pogo.rounds(taskId, round);
    }

    /// @dev An aggregate's sources must be exactly its round's accepted updates: as many as the
    ///      round accepted, each one of them, strictly ascending. Their diff roots, in that order.
    function _sourceRoots(IPoGO.Submission memory s, uint256[] calldata sources) internal view returns (bytes32[] memory roots) {
        // slither-disable-next-line unused-return (only the round's accepted count is needed)
        (uint32 accepted,,,,) = pogo.rounds(s.taskId, s.round);
        if (sources.length != accepted) revert IPoGO.BadSources();
        roots = new bytes32[](sources.length);
        uint256 last = 0;
        for (uint256 i = 0; i < sources.length; ++i) {
            if (sources[i] <= last) revert IPoGO.BadSources();
            last = sources[i];
            // slither-disable-next-line calls-loop (a view of the PoGO that created this contract, once per source)
            IPoGO.Submission memory u = pogo.getSubmission(sources[i]);
            if (u.taskId != s.taskId || u.kind != uint8(IPoGO.Kind.Update) || u.status != uint8(IPoGO.Status.Accepted)
                || u.round != s.round) revert IPoGO.BadSources();
            roots[i] = u.diffRoot;
        }
    }
}
