"""Exact SIMD (v128) semantics, shared by engines.

A v128 value is 16 little-endian ``bytes``.  Each operation unpacks lanes
with ``struct``, applies the scalar rule from :mod:`wasmbox.numeric` lane by
lane, and packs the result.  ``OPERATIONS`` maps every lane-wise instruction
name to its Python function; it is built from a few per-shape definitions
rather than written out 200 times.  f32 lanes go through their bit patterns
so NaN payloads survive exactly as in scalar code.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from . import numeric as n

V128 = bytes
Lanes = list[int] | list[float]

# shape -> (lane count, bits, signed struct format, unsigned struct format)
INT_SHAPES = {
    "i8x16": (16, 8, "<16b", "<16B"),
    "i16x8": (8, 16, "<8h", "<8H"),
    "i32x4": (4, 32, "<4i", "<4I"),
    "i64x2": (2, 64, "<2q", "<2Q"),
}
_structs: dict[str, struct.Struct] = {}


def _s(fmt: str) -> struct.Struct:
    s = _structs.get(fmt)
    if s is None:
        s = _structs[fmt] = struct.Struct(fmt)
    return s


def ilanes(v: bytes, shape: str, signed: bool = False) -> list[int]:
    count, bits, sfmt, ufmt = INT_SHAPES[shape]
    return list(_s(sfmt if signed else ufmt).unpack(v))


def ipack(lanes: list[int], shape: str) -> bytes:
    count, bits, sfmt, ufmt = INT_SHAPES[shape]
    mask = (1 << bits) - 1
    return _s(ufmt).pack(*(x & mask for x in lanes))


def f32lanes(v: bytes) -> list[float]:
    return [n.f32_from_bits(x) for x in _s("<4I").unpack(v)]


def f32pack(lanes: list[float]) -> bytes:
    return _s("<4I").pack(*(n.f32_bits(x) for x in lanes))


def f64lanes(v: bytes) -> list[float]:
    return list(_s("<2d").unpack(v))


def f64pack(lanes: list[float]) -> bytes:
    return _s("<2d").pack(*lanes)


FLOAT_SHAPES = {"f32x4": (f32lanes, f32pack), "f64x2": (f64lanes, f64pack)}


def saturate(value: int, bits: int, signed: bool) -> int:
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return low if value < low else high if value > high else value


def _saturating(rule: Callable[[int, int], int], bits: int, signed: bool) -> Callable[[int, int], int]:
    return lambda x, y: saturate(rule(x, y), bits, signed)


OPERATIONS: dict[str, Callable[..., object]] = {}


def _register(name: str, function: Callable[..., object]) -> None:
    OPERATIONS[name] = function


def _int_binary(shape: str, name: str, rule: Callable[[int, int], int], signed: bool = False) -> None:
    def op(a: bytes, b: bytes) -> bytes:
        return ipack(
            [rule(x, y) for x, y in zip(ilanes(a, shape, signed), ilanes(b, shape, signed), strict=True)], shape
        )

    _register(f"{shape}.{name}", op)


def _int_unary(shape: str, name: str, rule: Callable[[int], int], signed: bool = False) -> None:
    def op(a: bytes) -> bytes:
        return ipack([rule(x) for x in ilanes(a, shape, signed)], shape)

    _register(f"{shape}.{name}", op)


def _int_compare(shape: str, name: str, rule: Callable[[int, int], bool], signed: bool) -> None:
    _int_binary(shape, name, lambda x, y: -1 if rule(x, y) else 0, signed)


for _shape, (_count, _bits, _sfmt, _ufmt) in INT_SHAPES.items():
    _int_binary(_shape, "add", lambda x, y: x + y)
    _int_binary(_shape, "sub", lambda x, y: x - y)
    _int_unary(_shape, "neg", lambda x: -x)
    _int_unary(_shape, "abs", abs, signed=True)
    _int_compare(_shape, "eq", lambda x, y: x == y, False)
    _int_compare(_shape, "ne", lambda x, y: x != y, False)
    for _suffix, _signed in (("_s", True), ("_u", False)):
        if _shape == "i64x2" and not _signed:
            continue
        _int_compare(_shape, "lt" + _suffix, lambda x, y: x < y, _signed)
        _int_compare(_shape, "gt" + _suffix, lambda x, y: x > y, _signed)
        _int_compare(_shape, "le" + _suffix, lambda x, y: x <= y, _signed)
        _int_compare(_shape, "ge" + _suffix, lambda x, y: x >= y, _signed)
    if _shape != "i64x2":
        _int_binary(_shape, "min_s", min, signed=True)
        _int_binary(_shape, "max_s", max, signed=True)
        _int_binary(_shape, "min_u", min)
        _int_binary(_shape, "max_u", max)
    if _shape in ("i8x16", "i16x8"):
        for _suffix, _signed in (("_s", True), ("_u", False)):
            _int_binary(_shape, "add_sat" + _suffix, _saturating(lambda x, y: x + y, _bits, _signed), _signed)
            _int_binary(_shape, "sub_sat" + _suffix, _saturating(lambda x, y: x - y, _bits, _signed), _signed)
        _int_binary(_shape, "avgr_u", lambda x, y: (x + y + 1) >> 1)
    if _shape != "i8x16":
        _int_binary(_shape, "mul", lambda x, y: x * y)


def _shift(shape: str, name: str) -> None:
    count, bits, _, _ = INT_SHAPES[shape]
    signed = name == "shr_s"

    def op(a: bytes, amount: int) -> bytes:
        k = amount % bits
        lanes = ilanes(a, shape, signed)
        if name == "shl":
            return ipack([x << k for x in lanes], shape)
        return ipack([x >> k for x in lanes], shape)

    _register(f"{shape}.{name}", op)


for _shape in INT_SHAPES:
    for _name in ("shl", "shr_s", "shr_u"):
        _shift(_shape, _name)


def _all_true(shape: str) -> Callable[[bytes], int]:
    return lambda a: int(all(ilanes(a, shape)))


def _bitmask(shape: str) -> Callable[[bytes], int]:
    return lambda a: sum(1 << i for i, x in enumerate(ilanes(a, shape, True)) if x < 0)


for _shape in INT_SHAPES:
    _register(f"{_shape}.all_true", _all_true(_shape))
    _register(f"{_shape}.bitmask", _bitmask(_shape))
_register("i8x16.popcnt", lambda a: bytes(bin(x).count("1") for x in a))
_register(
    "i16x8.q15mulr_sat_s",
    lambda a, b: ipack(
        [
            saturate((x * y + 0x4000) >> 15, 16, True)
            for x, y in zip(ilanes(a, "i16x8", True), ilanes(b, "i16x8", True), strict=True)
        ],
        "i16x8",
    ),
)

# Narrowing, extension, pairwise and extended multiplication.
_NARROWER = {"i16x8": "i8x16", "i32x4": "i16x8", "i64x2": "i32x4"}


def _narrow(wide: str, signed: bool) -> Callable[[bytes, bytes], bytes]:
    narrow = _NARROWER[wide]
    bits = INT_SHAPES[narrow][1]
    return lambda a, b: ipack(
        [saturate(x, bits, signed) for x in ilanes(a, wide, True) + ilanes(b, wide, True)], narrow
    )


def _extend(wide: str, half: str, signed: bool) -> Callable[[bytes], bytes]:
    narrow = _NARROWER[wide]
    count = INT_SHAPES[wide][0]

    def op(a: bytes) -> bytes:
        lanes = ilanes(a, narrow, signed)
        return ipack(lanes[:count] if half == "low" else lanes[count:], wide)

    return op


def _extmul(wide: str, half: str, signed: bool) -> Callable[[bytes, bytes], bytes]:
    narrow = _NARROWER[wide]
    count = INT_SHAPES[wide][0]

    def op(a: bytes, b: bytes) -> bytes:
        x, y = ilanes(a, narrow, signed), ilanes(b, narrow, signed)
        x, y = (x[:count], y[:count]) if half == "low" else (x[count:], y[count:])
        return ipack([p * q for p, q in zip(x, y, strict=True)], wide)

    return op


def _extadd(wide: str, signed: bool) -> Callable[[bytes], bytes]:
    narrow = _NARROWER[wide]
    return lambda a: ipack([x + y for x, y in zip(*[iter(ilanes(a, narrow, signed))] * 2, strict=True)], wide)


for _wide, _narrow_shape in _NARROWER.items():
    for _suffix, _signed in (("s", True), ("u", False)):
        if _wide != "i64x2":
            _register(f"{_narrow_shape}.narrow_{_wide}_{_suffix}", _narrow(_wide, _signed))
            _register(f"{_wide}.extadd_pairwise_{_narrow_shape}_{_suffix}", _extadd(_wide, _signed))
        for _half in ("low", "high"):
            _register(f"{_wide}.extend_{_half}_{_narrow_shape}_{_suffix}", _extend(_wide, _half, _signed))
            _register(f"{_wide}.extmul_{_half}_{_narrow_shape}_{_suffix}", _extmul(_wide, _half, _signed))
_register(
    "i32x4.dot_i16x8_s",
    lambda a, b: ipack(
        [
            p + q
            for p, q in zip(
                *[iter(x * y for x, y in zip(ilanes(a, "i16x8", True), ilanes(b, "i16x8", True), strict=True))] * 2,
                strict=True,
            )
        ],
        "i32x4",
    ),
)


# Floats.
def _float_binary(shape: str, name: str, rule: Callable[[float, float], float]) -> None:
    unpack, pack = FLOAT_SHAPES[shape]
    _register(f"{shape}.{name}", lambda a, b: pack([rule(x, y) for x, y in zip(unpack(a), unpack(b), strict=True)]))


def _float_unary(shape: str, name: str, rule: Callable[[float], float]) -> None:
    unpack, pack = FLOAT_SHAPES[shape]
    _register(f"{shape}.{name}", lambda a: pack([rule(x) for x in unpack(a)]))


def _float_compare(shape: str, name: str, rule: Callable[[float, float], bool]) -> None:
    unpack, _ = FLOAT_SHAPES[shape]
    int_shape = "i32x4" if shape == "f32x4" else "i64x2"
    _register(
        f"{shape}.{name}",
        lambda a, b: ipack([-1 if rule(x, y) else 0 for x, y in zip(unpack(a), unpack(b), strict=True)], int_shape),
    )


for _shape, _prefix in (("f32x4", "f32"), ("f64x2", "f64")):
    _float_binary(_shape, "add", getattr(n, f"{_prefix}_add"))
    _float_binary(_shape, "sub", getattr(n, f"{_prefix}_sub"))
    _float_binary(_shape, "mul", getattr(n, f"{_prefix}_mul"))
    _float_binary(_shape, "div", getattr(n, f"{_prefix}_div"))
    _float_binary(_shape, "min", n.fmin)
    _float_binary(_shape, "max", n.fmax)
    _float_binary(_shape, "pmin", lambda x, y: y if y < x else x)
    _float_binary(_shape, "pmax", lambda x, y: y if x < y else x)
    _float_unary(_shape, "sqrt", getattr(n, f"{_prefix}_sqrt"))
    _float_unary(_shape, "abs", n.fabs)
    _float_unary(_shape, "neg", n.fneg)
    _float_unary(_shape, "ceil", n.fceil)
    _float_unary(_shape, "floor", n.ffloor)
    _float_unary(_shape, "trunc", n.ftrunc)
    _float_unary(_shape, "nearest", n.fnearest)
    _float_compare(_shape, "eq", lambda x, y: x == y)
    _float_compare(_shape, "ne", lambda x, y: x != y)
    _float_compare(_shape, "lt", lambda x, y: x < y)
    _float_compare(_shape, "gt", lambda x, y: x > y)
    _float_compare(_shape, "le", lambda x, y: x <= y)
    _float_compare(_shape, "ge", lambda x, y: x >= y)

_register("f32x4.demote_f64x2_zero", lambda a: f32pack([n.f32_demote(x) for x in f64lanes(a)] + [0.0, 0.0]))
_register("f64x2.promote_low_f32x4", lambda a: f64pack([n.f64_promote(x) for x in f32lanes(a)[:2]]))
_register("f32x4.convert_i32x4_s", lambda a: f32pack([n.int_to_f32(x) for x in ilanes(a, "i32x4", True)]))
_register("f32x4.convert_i32x4_u", lambda a: f32pack([n.int_to_f32(x) for x in ilanes(a, "i32x4")]))
_register("f64x2.convert_low_i32x4_s", lambda a: f64pack([float(x) for x in ilanes(a, "i32x4", True)[:2]]))
_register("f64x2.convert_low_i32x4_u", lambda a: f64pack([float(x) for x in ilanes(a, "i32x4")[:2]]))
_register("i32x4.trunc_sat_f32x4_s", lambda a: ipack([n.i32_trunc_sat_s(x) for x in f32lanes(a)], "i32x4"))
_register("i32x4.trunc_sat_f32x4_u", lambda a: ipack([n.i32_trunc_sat_u(x) for x in f32lanes(a)], "i32x4"))
_register(
    "i32x4.trunc_sat_f64x2_s_zero", lambda a: ipack([n.i32_trunc_sat_s(x) for x in f64lanes(a)] + [0, 0], "i32x4")
)
_register(
    "i32x4.trunc_sat_f64x2_u_zero", lambda a: ipack([n.i32_trunc_sat_u(x) for x in f64lanes(a)] + [0, 0], "i32x4")
)


# Bitwise.
def _int128(v: bytes) -> int:
    return int.from_bytes(v, "little")


def _bytes128(x: int) -> bytes:
    return (x & ((1 << 128) - 1)).to_bytes(16, "little")


_register("v128.not", lambda a: _bytes128(~_int128(a)))
_register("v128.and", lambda a, b: _bytes128(_int128(a) & _int128(b)))
_register("v128.andnot", lambda a, b: _bytes128(_int128(a) & ~_int128(b)))
_register("v128.or", lambda a, b: _bytes128(_int128(a) | _int128(b)))
_register("v128.xor", lambda a, b: _bytes128(_int128(a) ^ _int128(b)))
_register("v128.bitselect", lambda a, b, c: _bytes128((_int128(a) & _int128(c)) | (_int128(b) & ~_int128(c))))
_register("v128.any_true", lambda a: int(any(a)))
_register("i8x16.swizzle", lambda a, s: bytes(a[i] if i < 16 else 0 for i in s))

# Splats (scalar operand in run-time representation).
_register("i8x16.splat", lambda x: bytes((x & 0xFF,)) * 16)
_register("i16x8.splat", lambda x: ipack([x] * 8, "i16x8"))
_register("i32x4.splat", lambda x: ipack([x] * 4, "i32x4"))
_register("i64x2.splat", lambda x: ipack([x] * 2, "i64x2"))
_register("f32x4.splat", lambda x: f32pack([x] * 4))
_register("f64x2.splat", lambda x: f64pack([x] * 2))


# Operations with a lane immediate: (value(s), lane) -> result.
def shuffle(a: bytes, b: bytes, lanes: bytes) -> bytes:
    both = a + b
    return bytes(both[i] for i in lanes)


def extract_lane(shape: str, signed: bool) -> Callable[[bytes, int], object]:
    if shape == "f32x4":
        return lambda v, i: f32lanes(v)[i]
    if shape == "f64x2":
        return lambda v, i: f64lanes(v)[i]
    mask = (1 << INT_SHAPES[shape][1]) - 1
    result_mask = n.MASK64 if shape == "i64x2" else n.MASK32
    return lambda v, i: ilanes(v, shape, signed)[i] & (result_mask if signed else mask)


def replace_lane(shape: str) -> Callable[[bytes, int, object], bytes]:
    if shape in FLOAT_SHAPES:
        unpack, pack = FLOAT_SHAPES[shape]

        def replace_float(v: bytes, i: int, x: object) -> bytes:
            lanes = unpack(v)
            lanes[i] = x  # type: ignore[call-overload]
            return pack(lanes)

        return replace_float

    def replace_int(v: bytes, i: int, x: object) -> bytes:
        lanes = ilanes(v, shape)
        lanes[i] = x  # type: ignore[call-overload]
        return ipack(lanes, shape)

    return replace_int


# Relaxed SIMD (Wasm 3.0).  The spec lets each of these instructions return one of a few results (the
# ones different hardware gives); wasmbox always returns the same one, on every engine:
# - swizzle, trunc, laneselect, min/max and q15mulr behave as their strict counterparts (out-of-range
#   swizzle indices give 0, truncation saturates, laneselect is a bitwise select, min/max propagate
#   NaN and order -0 below +0, q15mulr saturates);
# - madd/nmadd are fused: a*b + c (nmadd: -a*b + c) rounded once;
# - the i8x16 dot products treat both operands as signed; the i16 pair sums wrap (only -128*-128
#   twice, 32768, is out of range), and the i32x4 form adds their pairwise sums and c, wrapping.
# These are the results of wasmtime's deterministic relaxed SIMD (Config.relaxed_simd_deterministic).
RELAXED_AS_STRICT = {
    "i8x16.relaxed_swizzle": "i8x16.swizzle",
    "i32x4.relaxed_trunc_f32x4_s": "i32x4.trunc_sat_f32x4_s",
    "i32x4.relaxed_trunc_f32x4_u": "i32x4.trunc_sat_f32x4_u",
    "i32x4.relaxed_trunc_f64x2_s_zero": "i32x4.trunc_sat_f64x2_s_zero",
    "i32x4.relaxed_trunc_f64x2_u_zero": "i32x4.trunc_sat_f64x2_u_zero",
    "i8x16.relaxed_laneselect": "v128.bitselect",
    "i16x8.relaxed_laneselect": "v128.bitselect",
    "i32x4.relaxed_laneselect": "v128.bitselect",
    "i64x2.relaxed_laneselect": "v128.bitselect",
    "f32x4.relaxed_min": "f32x4.min",
    "f32x4.relaxed_max": "f32x4.max",
    "f64x2.relaxed_min": "f64x2.min",
    "f64x2.relaxed_max": "f64x2.max",
    "i16x8.relaxed_q15mulr_s": "i16x8.q15mulr_sat_s",
}
for _relaxed, _strict in RELAXED_AS_STRICT.items():
    _register(_relaxed, OPERATIONS[_strict])


def _multiply_add(shape: str, negate: bool) -> Callable[[bytes, bytes, bytes], bytes]:
    unpack, pack = FLOAT_SHAPES[shape]
    fused = n.f32_fma if shape == "f32x4" else n.f64_fma
    sign = -1.0 if negate else 1.0

    def multiply_add(a: bytes, b: bytes, c: bytes) -> bytes:
        return pack([fused(sign * x, y, z) for x, y, z in zip(unpack(a), unpack(b), unpack(c), strict=True)])

    return multiply_add


for _shape in FLOAT_SHAPES:
    _register(f"{_shape}.relaxed_madd", _multiply_add(_shape, False))
    _register(f"{_shape}.relaxed_nmadd", _multiply_add(_shape, True))


def _pair_products(a: bytes, b: bytes) -> list[int]:
    """Sums of adjacent signed i8 products: the eight exact i16-lane values of the dot product."""
    x, y = ilanes(a, "i8x16", True), ilanes(b, "i8x16", True)
    return [x[i] * y[i] + x[i + 1] * y[i + 1] for i in range(0, 16, 2)]


def _dot_i8x16_i7x16_add(a: bytes, b: bytes, c: bytes) -> bytes:
    pairs = [(p + 0x8000 & 0xFFFF) - 0x8000 for p in _pair_products(a, b)]  # wrapped to i16
    sums = [pairs[i] + pairs[i + 1] for i in range(0, 8, 2)]
    return ipack([s + t for s, t in zip(sums, ilanes(c, "i32x4", True), strict=True)], "i32x4")


_register("i16x8.relaxed_dot_i8x16_i7x16_s", lambda a, b: ipack(_pair_products(a, b), "i16x8"))
_register("i32x4.relaxed_dot_i8x16_i7x16_add_s", _dot_i8x16_i7x16_add)


LANE_OPERATIONS: dict[str, Callable[..., object]] = {}
for _shape in list(INT_SHAPES) + list(FLOAT_SHAPES):
    LANE_OPERATIONS[f"{_shape}.replace_lane"] = replace_lane(_shape)
    if _shape in ("i8x16", "i16x8"):
        LANE_OPERATIONS[f"{_shape}.extract_lane_s"] = extract_lane(_shape, True)
        LANE_OPERATIONS[f"{_shape}.extract_lane_u"] = extract_lane(_shape, False)
    else:
        LANE_OPERATIONS[f"{_shape}.extract_lane"] = extract_lane(_shape, False)


# Memory: loads produce v128 from the bytes read.
def load_extend(raw: bytes, name: str) -> bytes:
    """v128.load8x8_s and friends: widen 8 bytes of narrow lanes."""
    narrow_bits = int(name[9:].split("x")[0])
    signed = name.endswith("_s")
    narrow = {8: "i8x16", 16: "i16x8", 32: "i32x4"}[narrow_bits]
    wide = {8: "i16x8", 16: "i32x4", 32: "i64x2"}[narrow_bits]
    lanes = ilanes(raw + bytes(8), narrow, signed)[: INT_SHAPES[wide][0]]
    return ipack(lanes, wide)
