"""Numeric literals of the text format, converted exactly.

Integers accept decimal and hex with ``_`` separators; floats accept decimal
and hexadecimal forms, ``inf``, ``nan`` and ``nan:0x...`` payloads.  Floats are
rounded once, from the exact rational value, to the target width (rounding
through a Python float first would round twice and be wrong for f32).
Results are raw bit patterns so NaN payloads survive.
"""

from __future__ import annotations

import re
from fractions import Fraction

_DEC = r"[0-9](?:_?[0-9])*"
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
INT_RE = re.compile(rf"([+-]?)(?:0x({_HEX})|({_DEC}))$")
DEC_FLOAT_RE = re.compile(rf"([+-]?)({_DEC})(?:\.({_DEC})?)?(?:[eE]([+-]?{_DEC}))?$")
HEX_FLOAT_RE = re.compile(rf"([+-]?)0x({_HEX})(?:\.({_HEX})?)?(?:[pP]([+-]?{_DEC}))?$")
NAN_RE = re.compile(rf"([+-]?)nan(?::0x({_HEX}))?$")


class LiteralError(ValueError):
    """``syntax`` is True when the token is not a number at all."""

    def __init__(self, message: str, syntax: bool) -> None:
        super().__init__(message)
        self.syntax = syntax


def is_number(text: str) -> bool:
    return bool(
        INT_RE.match(text)
        or DEC_FLOAT_RE.match(text)
        or HEX_FLOAT_RE.match(text)
        or NAN_RE.match(text)
        or text.lstrip("+-") == "inf"
    )


def parse_int(text: str, bits: int) -> int:
    """An ``i<bits>`` literal as a signed value in [-2^(bits-1), 2^(bits-1))."""
    m = INT_RE.match(text)
    if m is None:
        raise LiteralError("unknown operator", True)
    sign, hex_digits, dec_digits = m.groups()
    value = int(hex_digits.replace("_", ""), 16) if hex_digits else int(dec_digits.replace("_", ""))
    if sign == "-":
        value = -value
        if value < -(1 << (bits - 1)):
            raise LiteralError("constant out of range", False)
    elif sign == "+":
        if value >= 1 << (bits - 1):
            raise LiteralError("constant out of range", False)
    elif value >= 1 << bits:
        raise LiteralError("constant out of range", False)
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def parse_uint(text: str, bits: int = 32) -> int:
    """An unsigned literal (indices, offsets, limits)."""
    m = INT_RE.match(text)
    if m is None or m.group(1):
        raise LiteralError("unknown operator", True)
    hex_digits, dec_digits = m.group(2), m.group(3)
    value = int(hex_digits.replace("_", ""), 16) if hex_digits else int(dec_digits.replace("_", ""))
    if value >= 1 << bits:
        raise LiteralError("constant out of range", False)
    return value


class FloatFormat:
    def __init__(self, exponent_bits: int, mantissa_bits: int) -> None:
        self.exponent_bits = exponent_bits
        self.mantissa_bits = mantissa_bits
        self.bias = (1 << (exponent_bits - 1)) - 1
        self.sign_bit = 1 << (exponent_bits + mantissa_bits)
        self.infinity = ((1 << exponent_bits) - 1) << mantissa_bits
        self.canonical_nan = self.infinity | (1 << (mantissa_bits - 1))


F32_FORMAT = FloatFormat(8, 23)
F64_FORMAT = FloatFormat(11, 52)


def round_to_float(value: Fraction, fmt: FloatFormat) -> int:
    """Bits of the non-negative ``value`` rounded to nearest, ties to even;
    raises when it rounds to infinity."""
    if value == 0:
        return 0
    mbits = fmt.mantissa_bits
    num, den = value.numerator, value.denominator
    exponent = num.bit_length() - den.bit_length()
    if (num << max(0, -exponent)) < (den << max(0, exponent)):
        exponent -= 1
    emin = 1 - fmt.bias
    scale = max(exponent, emin) - mbits
    # mantissa = value / 2^scale, rounded to nearest even
    if scale >= 0:
        q, r = divmod(num, den << scale)
        twice_r, divisor = 2 * r, den << scale
    else:
        q, r = divmod(num << -scale, den)
        twice_r, divisor = 2 * r, den
    if twice_r > divisor or (twice_r == divisor and q & 1):
        q += 1
    if exponent < emin:
        return q  # subnormal (q == 2^mbits rolls over into the smallest normal)
    if q == 1 << (mbits + 1):
        q >>= 1
        exponent += 1
    if exponent > fmt.bias:
        raise LiteralError("constant out of range", False)
    return ((exponent + fmt.bias) << mbits) | (q - (1 << mbits))


def parse_float(text: str, fmt: FloatFormat) -> int:
    """The bit pattern of a float literal in format ``fmt``."""
    sign = fmt.sign_bit if text.startswith("-") else 0
    unsigned = text.lstrip("+-") if text[:1] in "+-" else text
    if text[:2] in ("++", "+-", "-+", "--"):
        raise LiteralError("unknown operator", True)
    if unsigned == "inf":
        return sign | fmt.infinity
    m = NAN_RE.match(text)
    if m is not None:
        if m.group(2) is None:
            return sign | fmt.canonical_nan
        payload = int(m.group(2).replace("_", ""), 16)
        if not 1 <= payload < (1 << fmt.mantissa_bits):
            raise LiteralError("constant out of range", False)
        return sign | fmt.infinity | payload
    m = HEX_FLOAT_RE.match(text)
    if m is not None:
        _, whole, frac, exp = m.groups()
        whole = whole.replace("_", "")
        frac = (frac or "").replace("_", "")
        mantissa = int(whole + frac, 16)
        exponent = int(exp.replace("_", "")) if exp else 0
        exponent -= 4 * len(frac)
        return sign | _scaled(mantissa, 2, exponent, fmt)
    m = DEC_FLOAT_RE.match(text)
    if m is not None:
        _, whole, frac, exp = m.groups()
        whole = whole.replace("_", "")
        frac = (frac or "").replace("_", "")
        mantissa = int(whole + frac)
        exponent = int(exp.replace("_", "")) if exp else 0
        exponent -= len(frac)
        return sign | _scaled(mantissa, 10, exponent, fmt)
    raise LiteralError("unknown operator", True)


def _scaled(mantissa: int, base: int, exponent: int, fmt: FloatFormat) -> int:
    if mantissa == 0:
        return 0
    # Clamp absurd exponents: the result is certainly 0 or out of range.
    digits = len(str(mantissa)) if base == 10 else mantissa.bit_length()
    limit = 400 if base == 10 else 1200
    if exponent + digits > limit:
        raise LiteralError("constant out of range", False)
    if exponent + digits < -limit - 400:
        return 0
    value = Fraction(mantissa) * Fraction(base) ** exponent
    return round_to_float(value, fmt)
