"""Exact WebAssembly numerics, shared by every engine.

Representation of values at run time:

* ``i32``/``i64``: Python ints holding the unsigned bit pattern (0 <= v < 2^N);
* ``f64``: Python floats (a C double: moving one never changes its bits);
* ``f32``: Python floats whose value is exactly an f32 value.  A NaN carries its
  23-bit f32 payload in the top payload bits of the double, converted by hand
  (C's float<->double conversion would quiet signalling NaNs).

Arithmetic on f32 is done in double precision and rounded once to f32, which
is exact for +, -, *, / and sqrt (the double has more than 2p+2 bits).
NaN results follow the spec's rule: a canonical NaN, or an input NaN made
quiet ("arithmetic NaN").  Traps raise :class:`~wasmbox.errors.Trap`.
"""

from __future__ import annotations

import array
import math
import struct
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import Trap

if TYPE_CHECKING:
    from fractions import Fraction  # imported where used: exact rounding is rare, the import is not cheap

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF
SIGN32 = 0x80000000
SIGN64 = 0x8000000000000000

INTEGER_OVERFLOW = "integer overflow"
DIVIDE_BY_ZERO = "integer divide by zero"
INVALID_CONVERSION = "invalid conversion to integer"

_pack_d, _unpack_d = struct.Struct("<d").pack, struct.Struct("<d").unpack
_pack_q, _unpack_q = struct.Struct("<Q").pack, struct.Struct("<Q").unpack
_pack_f, _unpack_f = struct.Struct("<f").pack, struct.Struct("<f").unpack
_pack_i, _unpack_i = struct.Struct("<I").pack, struct.Struct("<I").unpack
_f32_slot = array.array("f", [0.0])


# --- bit conversions -------------------------------------------------------


def f64_from_bits(bits: int) -> float:
    return float(_unpack_d(_pack_q(bits))[0])


def f64_bits(value: float) -> int:
    return int(_unpack_q(_pack_d(value))[0])


def f32_from_bits(bits: int) -> float:
    if bits & 0x7F800000 == 0x7F800000 and bits & 0x7FFFFF:
        # NaN: place the payload by hand so a signalling NaN stays signalling.
        return f64_from_bits(((bits & SIGN32) << 32) | 0x7FF0000000000000 | ((bits & 0x7FFFFF) << 29))
    return float(_unpack_f(_pack_i(bits))[0])


def f32_bits(value: float) -> int:
    if value != value:
        bits = f64_bits(value)
        return ((bits >> 32) & SIGN32) | 0x7F800000 | ((bits >> 29) & 0x7FFFFF)
    return int(_unpack_i(_pack_f(value))[0])


def f32_round_arithmetic(value: float) -> float:
    """``f32_round`` for results of arithmetic: their NaNs are quiet, and the
    float conversion keeps a quiet NaN's payload, so no NaN test is needed."""
    _f32_slot[0] = value
    return _f32_slot[0]


def f32_round(value: float) -> float:
    """Round a double to the nearest f32 (overflowing to infinity)."""
    if value != value:
        return value
    _f32_slot[0] = value
    return _f32_slot[0]


# --- integers ----------------------------------------------------------------


def signed32(value: int) -> int:
    return value - 0x100000000 if value & SIGN32 else value


def signed64(value: int) -> int:
    return value - 0x10000000000000000 if value & SIGN64 else value


def _integer_division(bits: int) -> tuple[Callable[[int, int], int], ...]:
    """div_s, div_u, rem_s, rem_u for ``bits``-wide integers (unsigned bit
    patterns in, out): truncating division, traps on zero and on the one
    signed overflow, MIN / -1."""
    mask = (1 << bits) - 1
    minimum = 1 << (bits - 1)

    def signed(value: int) -> int:
        return value - (1 << bits) if value & minimum else value

    def div_s(a: int, b: int) -> int:
        if b == 0:
            raise Trap(DIVIDE_BY_ZERO)
        if a == minimum and b == mask:
            raise Trap(INTEGER_OVERFLOW)
        x, y = signed(a), signed(b)
        q = abs(x) // abs(y)
        return (q if (x < 0) == (y < 0) else -q) & mask

    def div_u(a: int, b: int) -> int:
        if b == 0:
            raise Trap(DIVIDE_BY_ZERO)
        return a // b

    def rem_s(a: int, b: int) -> int:
        if b == 0:
            raise Trap(DIVIDE_BY_ZERO)
        x, y = signed(a), signed(b)
        r = abs(x) % abs(y)
        return (-r if x < 0 else r) & mask

    def rem_u(a: int, b: int) -> int:
        if b == 0:
            raise Trap(DIVIDE_BY_ZERO)
        return a % b

    return div_s, div_u, rem_s, rem_u


i32_div_s, i32_div_u, i32_rem_s, i32_rem_u = _integer_division(32)
i64_div_s, i64_div_u, i64_rem_s, i64_rem_u = _integer_division(64)


def i32_clz(a: int) -> int:
    return 32 - a.bit_length()


def i64_clz(a: int) -> int:
    return 64 - a.bit_length()


def i32_ctz(a: int) -> int:
    return 32 if a == 0 else (a & -a).bit_length() - 1


def i64_ctz(a: int) -> int:
    return 64 if a == 0 else (a & -a).bit_length() - 1


def popcnt(a: int) -> int:
    return a.bit_count()


def i32_rotl(a: int, b: int) -> int:
    b &= 31
    return ((a << b) | (a >> (32 - b))) & MASK32


def i32_rotr(a: int, b: int) -> int:
    b &= 31
    return ((a >> b) | (a << (32 - b))) & MASK32


def i64_rotl(a: int, b: int) -> int:
    b &= 63
    return ((a << b) | (a >> (64 - b))) & MASK64


def i64_rotr(a: int, b: int) -> int:
    b &= 63
    return ((a >> b) | (a << (64 - b))) & MASK64


# Wide arithmetic (the wide-arithmetic proposal): 128-bit values as (low, high) pairs of i64s.
def i64_add128(low1: int, high1: int, low2: int, high2: int) -> tuple[int, int]:
    total = (low1 | high1 << 64) + (low2 | high2 << 64)
    return total & MASK64, (total >> 64) & MASK64


def i64_sub128(low1: int, high1: int, low2: int, high2: int) -> tuple[int, int]:
    difference = (low1 | high1 << 64) - (low2 | high2 << 64)
    return difference & MASK64, (difference >> 64) & MASK64


def i64_mul_wide_s(a: int, b: int) -> tuple[int, int]:
    product = signed64(a) * signed64(b)
    return product & MASK64, (product >> 64) & MASK64


def i64_mul_wide_u(a: int, b: int) -> tuple[int, int]:
    product = a * b
    return product & MASK64, product >> 64


WIDE_ARITHMETIC: dict[str, Callable[..., tuple[int, int]]] = {
    "i64.add128": i64_add128,
    "i64.sub128": i64_sub128,
    "i64.mul_wide_s": i64_mul_wide_s,
    "i64.mul_wide_u": i64_mul_wide_u,
}


def i32_shr_s(a: int, b: int) -> int:
    return (signed32(a) >> (b & 31)) & MASK32


def i64_shr_s(a: int, b: int) -> int:
    return (signed64(a) >> (b & 63)) & MASK64


def extend_s(value: int, from_bits: int, to_mask: int) -> int:
    """Sign-extend the low ``from_bits`` of ``value`` (extend8_s, ...)."""
    sign = 1 << (from_bits - 1)
    low = value & ((1 << from_bits) - 1)
    return ((low ^ sign) - sign) & to_mask


# --- floats ------------------------------------------------------------------


def _nan_result(*operands: float) -> float:
    """The NaN an operation returns: an input NaN made quiet, else canonical."""
    for x in operands:
        if x != x:
            return f64_from_bits(f64_bits(x) | 0x0008000000000000)
    return math.nan


def fmin(a: float, b: float) -> float:
    if a != a or b != b:
        return _nan_result(a, b)
    if a == b:  # -0.0 < +0.0
        return a if math.copysign(1.0, a) < 0 else b
    return a if a < b else b


def fmax(a: float, b: float) -> float:
    if a != a or b != b:
        return _nan_result(a, b)
    if a == b:
        return b if math.copysign(1.0, a) < 0 else a
    return a if a > b else b


def f32_min(a: float, b: float) -> float:
    return fmin(a, b)


def f32_max(a: float, b: float) -> float:
    return fmax(a, b)


def f64_add(a: float, b: float) -> float:
    r = a + b
    return _nan_result(a, b) if r != r else r


def f64_sub(a: float, b: float) -> float:
    r = a - b
    return _nan_result(a, b) if r != r else r


def f64_mul(a: float, b: float) -> float:
    r = a * b
    return _nan_result(a, b) if r != r else r


def f64_div(a: float, b: float) -> float:
    if b == 0.0:
        if a != a or a == 0.0:
            return _nan_result(a, b)
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    r = a / b
    return _nan_result(a, b) if r != r else r


def f64_sqrt(a: float) -> float:
    if a != a:
        return _nan_result(a)
    if a < 0.0:
        return math.nan
    return math.sqrt(a)


def f32_add(a: float, b: float) -> float:
    r = a + b
    return _nan_result(a, b) if r != r else f32_round(r)


def f32_sub(a: float, b: float) -> float:
    r = a - b
    return _nan_result(a, b) if r != r else f32_round(r)


def f32_mul(a: float, b: float) -> float:
    r = a * b
    return _nan_result(a, b) if r != r else f32_round(r)


def f32_div(a: float, b: float) -> float:
    return f32_round(f64_div(a, b))


def f32_sqrt(a: float) -> float:
    return f32_round(f64_sqrt(a))


F32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]


def _round_exact(value: Fraction, precision: int, min_exponent: int, largest: float) -> float:
    """``value`` (not zero) rounded once, to nearest with ties to even, to a binary float of
    ``precision`` significand bits whose smallest step is 2**min_exponent (±inf past ``largest``)."""
    from fractions import Fraction

    magnitude = abs(value)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** exponent > magnitude:  # now 2**exponent <= magnitude < 2**(exponent + 1)
        exponent -= 1
    step = max(exponent - precision + 1, min_exponent)
    steps = round(magnitude / Fraction(2) ** step)  # round() of a Fraction ties to even
    result = math.inf if steps * Fraction(2) ** step > Fraction(largest) else math.ldexp(float(steps), step)
    return -result if value < 0 else result


def _fused_multiply_add(a: float, b: float, c: float, precision: int, min_exponent: int, largest: float) -> float:
    """a*b + c with a single rounding (IEEE 754 fusedMultiplyAdd), for relaxed SIMD's madd."""
    if a != a or b != b or c != c:
        return _nan_result(a, b, c)
    if math.isinf(a) or math.isinf(b):
        r = a * b + c  # inf*0, or inf plus the opposite inf, is NaN; otherwise the infinity
        return math.nan if r != r else r
    if math.isinf(c):
        return c
    from fractions import Fraction

    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:  # an exact zero sum is -0 only when both addends are -0
        product_negative = (math.copysign(1.0, a) < 0) != (math.copysign(1.0, b) < 0)
        both_negative_zero = a * b == 0 and product_negative and math.copysign(1.0, c) < 0
        return -0.0 if both_negative_zero else 0.0
    return _round_exact(exact, precision, min_exponent, largest)


def f32_fma(a: float, b: float, c: float) -> float:
    return _fused_multiply_add(a, b, c, 24, -149, F32_MAX)


def f64_fma(a: float, b: float, c: float) -> float:
    return _fused_multiply_add(a, b, c, 53, -1074, sys.float_info.max)


def _round_integral(rounder: Callable[[float], int]) -> Callable[[float], float]:
    """ceil/floor/trunc/nearest: NaNs as arithmetic results, infinities and
    zeros unchanged, and the result keeps the operand's sign (rounding never
    crosses zero, so a zero result is -0.0 for a negative operand)."""

    def operation(a: float) -> float:
        if a != a:
            return _nan_result(a)
        if math.isinf(a) or a == 0.0:
            return a
        return math.copysign(float(rounder(a)), a)

    return operation


fceil = _round_integral(math.ceil)
ffloor = _round_integral(math.floor)
ftrunc = _round_integral(math.trunc)
fnearest = _round_integral(round)  # round() is half-to-even


def fabs(a: float) -> float:
    return math.fabs(a)


def fneg(a: float) -> float:
    return -a


def fcopysign(a: float, b: float) -> float:
    return math.copysign(a, b)


# --- conversions -------------------------------------------------------------


def _truncate(a: float, low: float, high: float, mask: int) -> int:
    """Truncate toward zero; ``low < a < high`` must hold (exclusive bounds)."""
    if a != a:
        raise Trap(INVALID_CONVERSION)
    if not (low < a < high):
        raise Trap(INTEGER_OVERFLOW)
    return int(a) & mask


def i32_trunc_s(a: float) -> int:
    return _truncate(a, -2147483649.0, 2147483648.0, MASK32)


def i32_trunc_u(a: float) -> int:
    return _truncate(a, -1.0, 4294967296.0, MASK32)


def i64_trunc_s(a: float) -> int:
    return _truncate(a, -9223372036854777856.0, 9223372036854775808.0, MASK64)


def i64_trunc_u(a: float) -> int:
    return _truncate(a, -1.0, 18446744073709551616.0, MASK64)


def _saturate(a: float, low: int, high: int, mask: int) -> int:
    if a != a:
        return 0
    if a <= low:
        return low & mask
    if a >= high:
        return high & mask
    return int(a) & mask


def i32_trunc_sat_s(a: float) -> int:
    return _saturate(a, -(2**31), 2**31 - 1, MASK32)


def i32_trunc_sat_u(a: float) -> int:
    return _saturate(a, 0, 2**32 - 1, MASK32)


def i64_trunc_sat_s(a: float) -> int:
    return _saturate(a, -(2**63), 2**63 - 1, MASK64)


def i64_trunc_sat_u(a: float) -> int:
    return _saturate(a, 0, 2**64 - 1, MASK64)


def int_to_f32(value: int) -> float:
    """Round an integer once, directly to f32 (int -> double -> float would
    round twice for 64-bit inputs)."""
    if -(1 << 53) <= value <= (1 << 53):
        return f32_round(float(value))
    negative = value < 0
    magnitude = -value if negative else value
    # Keep 25 significant bits plus a sticky bit, then let the float
    # conversion round that exactly representable value once.
    shift = magnitude.bit_length() - 26
    kept = magnitude >> shift
    if magnitude & ((1 << shift) - 1):
        kept |= 1
    result = f32_round(math.ldexp(float(kept), shift))
    return -result if negative else result


def f32_convert_i32_s(a: int) -> float:
    return int_to_f32(signed32(a))


def f32_convert_i32_u(a: int) -> float:
    return int_to_f32(a)


def f32_convert_i64_s(a: int) -> float:
    return int_to_f32(signed64(a))


def f32_convert_i64_u(a: int) -> float:
    return int_to_f32(a)


def f64_convert_i64_s(a: int) -> float:
    return float(signed64(a))


def f32_demote(a: float) -> float:
    return _nan_result(a) if a != a else f32_round(a)


def f64_promote(a: float) -> float:
    return _nan_result(a) if a != a else a
