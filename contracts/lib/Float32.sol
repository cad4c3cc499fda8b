// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Float32
/// @notice IEEE-754 binary32 addition and multiplication with round-to-nearest-even, bit for bit
///         what numpy float32 computes on x86-64 (SSE), on values held as their 32-bit patterns.
///         The fraud proof (docs/PROTOCOL.md D11) rebuilds a leaf with it; tests/vectors/float32.json
///         pins it against numpy: random pairs plus ties, subnormals, signed zeros, overflow,
///         infinities and NaN payloads.
/// @dev Every finite value is an integer significand m and a unit index x with value
///      m * 2^(x - 149): x = 0 for subnormals (m = fraction), x = E - 1 for normals
///      (m = 2^23 | fraction). Sums and products of two such values are exact in 256-bit integers,
///      and `_round` turns an exact (m, x) into the nearest binary32 once. NaN rules are x86's:
///      a NaN operand comes back quieted (the first one when both are NaN), and an invalid
///      operation (inf - inf, 0 * inf) gives the "real indefinite" NaN 0xFFC00000.
library Float32 {
    // slither-disable-start too-many-digits (float32 bit patterns)
    uint256 internal constant SIGN = 0x80000000;
    uint256 internal constant INF = 0x7F800000;
    uint256 internal constant FRACTION = 0x007FFFFF;
    uint256 internal constant QUIET = 0x00400000;
    uint256 internal constant DEFAULT_NAN = 0xFFC00000;
    uint256 internal constant HIDDEN = 0x00800000; // 2^23
    // slither-disable-end too-many-digits

    /// @notice float32(a + b).
    function add(uint256 a, uint256 b) internal pure returns (uint256) {
        unchecked {
            if (a & INF == INF || b & INF == INF) return _addSpecial(a, b);
            (uint256 ma, uint256 xa) = unpack(a);
            (uint256 mb, uint256 xb) = unpack(b);
            return sum(a >> 31, ma, xa, b >> 31, mb, xb);
        }
    }

    /// @notice float32(a * b).
    function mul(uint256 a, uint256 b) internal pure returns (uint256) {
        unchecked {
            if (isNaN(a)) return a | QUIET;
            if (isNaN(b)) return b | QUIET;
            uint256 sign = (a ^ b) & SIGN;
            bool aInf = a & ~SIGN == INF;
            bool bInf = b & ~SIGN == INF;
            if (aInf || bInf) {
                // inf * 0 is invalid; inf * anything else is a signed infinity
                if ((!aInf && a & ~SIGN == 0) || (!bInf && b & ~SIGN == 0)) return DEFAULT_NAN;
                return sign | INF;
            }
            (uint256 ma, uint256 xa) = unpack(a);
            (uint256 mb, uint256 xb) = unpack(b);
            if (ma == 0 || mb == 0) return sign;
            // (ma 2^(xa-149)) (mb 2^(xb-149)) = ma mb 2^((xa+xb-149) - 149)
            return round(sign >> 31, ma * mb, int256(xa + xb) - 149);
        }
    }

    /// @notice float32(1) / float32(k) for an integer 1 <= k <= 2^24 (exact in binary32).
    function reciprocal(uint256 k) internal pure returns (uint256) {
        unchecked {
            // 2^200 / k truncated, with a sticky bit for the remainder: far below the rounding
            // point, so the nearest-even decision is the same as for the exact quotient.
            uint256 q = (uint256(1) << 200) / k;
            uint256 sticky = (uint256(1) << 200) % k == 0 ? 0 : 1;
            return round(0, (q << 1) | sticky, -52); // value = (2q + s) 2^-201 = m 2^(-52 - 149)
        }
    }

    /// @notice True for a NaN pattern.
    function isNaN(uint256 f) internal pure returns (bool) {
        return f & INF == INF && f & FRACTION != 0;
    }

    /// @notice The significand and unit index of a finite binary32 (see the library's dev note).
    function unpack(uint256 f) internal pure returns (uint256 m, uint256 x) {
        unchecked {
            uint256 e = (f >> 23) & 0xFF;
            if (e == 0) return (f & FRACTION, 0);
            return ((f & FRACTION) | HIDDEN, e - 1);
        }
    }

    /// @notice The nearest binary32 to (-1)^sa ma 2^(xa-149) + (-1)^sb mb 2^(xb-149), both finite.
    ///         Significands need not be normalized (the leaf rebuild passes q * 2^e as (|q|, e + 149)).
    function sum(uint256 sa, uint256 ma, uint256 xa, uint256 sb, uint256 mb, uint256 xb)
        internal pure returns (uint256)
    {
        unchecked {
            if (ma == 0 && mb == 0) return (sa & sb) << 31; // -0 + -0 = -0; any other zero sum is +0
            if (mb == 0) return round(sa, ma, int256(xa));
            if (ma == 0) return round(sb, mb, int256(xb));
            if (xa < xb) (sa, ma, xa, sb, mb, xb) = (sb, mb, xb, sa, ma, xa);
            uint256 d = xa - xb;
            // Apart by more than 60 units, b is below 2^-36 of a (a's m >= 1, b's m < 2^25), far
            // below half an ulp of any binary32 near a: the sum rounds to a itself.
            if (d > 60) return round(sa, ma, int256(xa));
            uint256 big = ma << d;
            if (sa == sb) return round(sa, big + mb, int256(xb));
            if (big > mb) return round(sa, big - mb, int256(xb));
            if (big < mb) return round(sb, mb - big, int256(xb));
            return 0; // x - x = +0 under round-to-nearest
        }
    }

    /// @notice The nearest binary32 (ties to even) to (-1)^sign m 2^(x-149), m > 0; overflows
    ///         to a signed infinity, underflows through subnormals to a signed zero.
    function round(uint256 sign, uint256 m, int256 x) internal pure returns (uint256) {
        unchecked {
            int256 n = int256(bitLength(m));
            // Keep 24 significant bits, but never go below unit index 0 (the subnormal range).
            int256 shift = n - 24 > -x ? n - 24 : -x;
            uint256 q;
            if (shift > 0) {
                uint256 s = uint256(shift);
                if (s > uint256(n)) {
                    q = 0; // below half the smallest subnormal
                } else {
                    q = m >> s;
                    uint256 rest = m - (q << s);
                    uint256 half = uint256(1) << (s - 1);
                    if (rest > half || (rest == half && q & 1 == 1)) q += 1;
                }
            } else {
                q = m << uint256(-shift);
            }
            int256 xf = x + shift;
            if (q == HIDDEN << 1) { q >>= 1; xf += 1; } // rounding carried into a new binade
            sign <<= 31;
            if (q < HIDDEN) return sign | q;             // subnormal or zero (xf == 0)
            if (xf + 1 >= 255) return sign | INF;
            return sign | (uint256(xf + 1) << 23) | (q & FRACTION);
        }
    }

    /// @notice The number of bits of m (0 for 0).
    function bitLength(uint256 m) internal pure returns (uint256 n) {
        unchecked {
            if (m >> 128 != 0) { m >>= 128; n += 128; }
            if (m >> 64 != 0) { m >>= 64; n += 64; }
            if (m >> 32 != 0) { m >>= 32; n += 32; }
            if (m >> 16 != 0) { m >>= 16; n += 16; }
            if (m >> 8 != 0) { m >>= 8; n += 8; }
            if (m >> 4 != 0) { m >>= 4; n += 4; }
            if (m >> 2 != 0) { m >>= 2; n += 2; }
            if (m >> 1 != 0) { m >>= 1; n += 1; }
            return n + m;
        }
    }

    function _addSpecial(uint256 a, uint256 b) private pure returns (uint256) {
        if (isNaN(a)) return a | QUIET;
        if (isNaN(b)) return b | QUIET;
        bool aInf = a & ~SIGN == INF;
        bool bInf = b & ~SIGN == INF;
        if (aInf && bInf) return a == b ? a : DEFAULT_NAN; // inf - inf is invalid
        return aInf ? a : b;
    }
}
