"""SIMD (v128) lowered to LLVM vector types, one builder per instruction.

A v128 value is an LLVM ``<16 x i8>``; each instruction bitcasts it to the
shape it works on (``<4 x float>``, ``<8 x i16>``, ...), which costs nothing.
Lane-wise arithmetic maps to LLVM's vector instructions and intrinsics
(saturating adds, min/max, abs, popcount, float rounding); the rest
(narrowing, extension, pairwise and dot products, swizzle) is built from
shuffles, extensions and selects with the spec's exact semantics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llvmlite import ir

from ...simd import RELAXED_AS_STRICT

if TYPE_CHECKING:
    from .lower import FunctionLowering

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I16 = ir.IntType(16)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F32 = ir.FloatType()
F64 = ir.DoubleType()
V128 = ir.VectorType(I8, 16)

SHAPES: dict[str, tuple[ir.Type, int]] = {
    "i8x16": (I8, 16),
    "i16x8": (I16, 8),
    "i32x4": (I32, 4),
    "i64x2": (I64, 2),
    "f32x4": (F32, 4),
    "f64x2": (F64, 2),
}
_SUFFIX = {I8: "i8", I16: "i16", I32: "i32", I64: "i64", F32: "f32", F64: "f64"}

Lowering = Callable[..., ir.Value]
SIMD: dict[str, Lowering] = {}


def vector(shape: str) -> ir.VectorType:
    lane, count = SHAPES[shape]
    return ir.VectorType(lane, count)


def as_shape(f: FunctionLowering, value: ir.Value, shape: str) -> ir.Value:
    return f.b.bitcast(value, vector(shape))


def back(f: FunctionLowering, value: ir.Value) -> ir.Value:
    return f.b.bitcast(value, V128)


def vname(t: ir.VectorType) -> str:
    return f"v{t.count}{_SUFFIX[t.element]}"


def intrinsic(f: FunctionLowering, name: str, result: ir.Type, args: list[ir.Value]) -> ir.Value:
    return f.call_intrinsic(name, result, args)


def splat_of(f: FunctionLowering, scalar: ir.Value, t: ir.VectorType) -> ir.Value:
    undefined = ir.Constant(t, ir.Undefined)
    first = f.b.insert_element(undefined, scalar, ir.Constant(I32, 0))
    return f.b.shuffle_vector(first, undefined, ir.Constant(ir.VectorType(I32, t.count), [0] * t.count))


def mask_of(indices: list[int]) -> ir.Constant:
    return ir.Constant(ir.VectorType(I32, len(indices)), indices)


def half(f: FunctionLowering, value: ir.Value, high: bool) -> ir.Value:
    count = value.type.count
    start = count // 2 if high else 0
    return f.b.shuffle_vector(
        value, ir.Constant(value.type, ir.Undefined), mask_of(list(range(start, start + count // 2)))
    )


def concat(f: FunctionLowering, low: ir.Value, high: ir.Value) -> ir.Value:
    return f.b.shuffle_vector(low, high, mask_of(list(range(low.type.count * 2))))


def wider(lane: ir.Type) -> ir.IntType:
    return ir.IntType(lane.width * 2)


# --- registration helpers ---------------------------------------------------------------------


def _lanewise(shape: str, build: Callable[[FunctionLowering, ir.Value, ir.Value], ir.Value]) -> Lowering:
    def lower(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
        return back(f, build(f, as_shape(f, a, shape), as_shape(f, c, shape)))

    return lower


def _unary(shape: str, build: Callable[[FunctionLowering, ir.Value], ir.Value]) -> Lowering:
    return lambda f, a: back(f, build(f, as_shape(f, a, shape)))


def _method(name: str) -> Callable[..., ir.Value]:
    return lambda f, a, c: getattr(f.b, name)(a, c)


def _vector_intrinsic(name: str) -> Callable[..., ir.Value]:
    def build(f: FunctionLowering, *args: ir.Value) -> ir.Value:
        t = args[0].type
        return intrinsic(f, f"llvm.{name}.{vname(t)}", t, list(args))

    return build


def _compare(predicate: str, kind: str) -> Callable[..., ir.Value]:
    def build(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
        if kind == "f":
            flags = f.b.fcmp_unordered("!=", a, c) if predicate == "!=" else f.b.fcmp_ordered(predicate, a, c)
            width = 32 if a.type.element is F32 else 64
            return f.b.sext(flags, ir.VectorType(ir.IntType(width), a.type.count))
        flags = f.b.icmp_signed(predicate, a, c) if kind == "s" else f.b.icmp_unsigned(predicate, a, c)
        return f.b.sext(flags, a.type)

    return build


def _shift(shape: str, method: str) -> Lowering:
    lane, count = SHAPES[shape]

    def lower(f: FunctionLowering, a: ir.Value, amount: ir.Value) -> ir.Value:
        masked = f.b.and_(amount, ir.Constant(I32, lane.width - 1))
        scalar = f.b.trunc(masked, lane) if lane.width < 32 else f.b.zext(masked, lane) if lane.width > 32 else masked
        shifted = getattr(f.b, method)(as_shape(f, a, shape), splat_of(f, scalar, vector(shape)))
        return back(f, shifted)

    return lower


def _float_minmax(name: str) -> Callable[..., ir.Value]:
    """minimum/maximum, with NaN lanes quieted (LLVM may return a NaN operand as it is)."""

    def build(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
        result = intrinsic(f, f"llvm.{name}.{vname(a.type)}", a.type, [a, c])
        return f.b.select(f.b.fcmp_unordered("uno", a, c), f.b.fadd(a, c), result)

    return build


def _negate_float(f: FunctionLowering, a: ir.Value) -> ir.Value:
    width = 32 if a.type.element is F32 else 64
    ints = ir.VectorType(ir.IntType(width), a.type.count)
    sign = splat_of(f, ir.Constant(ir.IntType(width), 1 << (width - 1)), ints)
    return f.b.bitcast(f.b.xor(f.b.bitcast(a, ints), sign), a.type)


def _narrow(source: str, signed: bool) -> Lowering:
    lane, count = SHAPES[source]
    target = ir.IntType(lane.width // 2)
    if signed:
        low, high = -(1 << (target.width - 1)), (1 << (target.width - 1)) - 1
    else:
        low, high = 0, (1 << target.width) - 1

    def clamp(f: FunctionLowering, v: ir.Value) -> ir.Value:
        t = v.type
        v = intrinsic(f, f"llvm.smax.{vname(t)}", t, [v, splat_of(f, ir.Constant(lane, low), t)])
        v = intrinsic(f, f"llvm.smin.{vname(t)}", t, [v, splat_of(f, ir.Constant(lane, high), t)])
        return f.b.trunc(v, ir.VectorType(target, count))

    def lower(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
        return back(f, concat(f, clamp(f, as_shape(f, a, source)), clamp(f, as_shape(f, c, source))))

    return lower


def _extend(source: str, high: bool, signed: bool) -> Lowering:
    lane, count = SHAPES[source]

    def lower(f: FunctionLowering, a: ir.Value) -> ir.Value:
        part = half(f, as_shape(f, a, source), high)
        t = ir.VectorType(wider(lane), count // 2)
        return back(f, f.b.sext(part, t) if signed else f.b.zext(part, t))

    return lower


def _extmul(source: str, high: bool, signed: bool) -> Lowering:
    extend = _extend(source, high, signed)
    lane, count = SHAPES[source]
    wide = ir.VectorType(wider(lane), count // 2)

    def lower(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
        return back(f, f.b.mul(f.b.bitcast(extend(f, a), wide), f.b.bitcast(extend(f, c), wide)))

    return lower


def _pairwise(source: str, signed: bool) -> Lowering:
    lane, count = SHAPES[source]
    wide = ir.VectorType(wider(lane), count // 2)

    def lower(f: FunctionLowering, a: ir.Value) -> ir.Value:
        v = as_shape(f, a, source)
        undefined = ir.Constant(v.type, ir.Undefined)
        even = f.b.shuffle_vector(v, undefined, mask_of(list(range(0, count, 2))))
        odd = f.b.shuffle_vector(v, undefined, mask_of(list(range(1, count, 2))))
        convert = f.b.sext if signed else f.b.zext
        return back(f, f.b.add(convert(even, wide), convert(odd, wide)))

    return lower


def _avgr(shape: str) -> Lowering:
    lane, count = SHAPES[shape]
    wide = ir.VectorType(wider(lane), count)

    def build(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
        total = f.b.add(f.b.add(f.b.zext(a, wide), f.b.zext(c, wide)), splat_of(f, ir.Constant(wider(lane), 1), wide))
        return f.b.trunc(f.b.lshr(total, splat_of(f, ir.Constant(wider(lane), 1), wide)), a.type)

    return _lanewise(shape, build)


def _q15mulr(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
    wide = ir.VectorType(I32, 8)
    product = f.b.mul(f.b.sext(a, wide), f.b.sext(c, wide))
    rounded = f.b.ashr(
        f.b.add(product, splat_of(f, ir.Constant(I32, 0x4000), wide)), splat_of(f, ir.Constant(I32, 15), wide)
    )
    clamped = intrinsic(f, "llvm.smin.v8i32", wide, [rounded, splat_of(f, ir.Constant(I32, 0x7FFF), wide)])
    return f.b.trunc(clamped, a.type)


def _dot(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
    wide = ir.VectorType(I32, 8)
    product = f.b.mul(f.b.sext(a, wide), f.b.sext(c, wide))
    undefined = ir.Constant(wide, ir.Undefined)
    even = f.b.shuffle_vector(product, undefined, mask_of([0, 2, 4, 6]))
    odd = f.b.shuffle_vector(product, undefined, mask_of([1, 3, 5, 7]))
    return f.b.add(even, odd)


def _all_true(shape: str) -> Lowering:
    lane, count = SHAPES[shape]

    def lower(f: FunctionLowering, a: ir.Value) -> ir.Value:
        v = as_shape(f, a, shape)
        nonzero = f.b.icmp_unsigned("!=", v, ir.Constant(v.type, [0] * count))
        bits = f.b.bitcast(nonzero, ir.IntType(count))
        return f.b.zext(f.b.icmp_unsigned("==", bits, ir.Constant(ir.IntType(count), (1 << count) - 1)), I32)

    return lower


def _bitmask(shape: str) -> Lowering:
    lane, count = SHAPES[shape]

    def lower(f: FunctionLowering, a: ir.Value) -> ir.Value:
        v = as_shape(f, a, shape)
        negative = f.b.icmp_signed("<", v, ir.Constant(v.type, [0] * count))
        return f.b.zext(f.b.bitcast(negative, ir.IntType(count)), I32)

    return lower


def _any_true(f: FunctionLowering, a: ir.Value) -> ir.Value:
    bits = f.b.bitcast(a, ir.IntType(128))
    return f.b.zext(f.b.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(128), 0)), I32)


def _bitselect(f: FunctionLowering, a: ir.Value, c: ir.Value, m: ir.Value) -> ir.Value:
    return f.b.or_(f.b.and_(a, m), f.b.and_(c, f.b.not_(m)))


def _swizzle(f: FunctionLowering, a: ir.Value, indices: ir.Value) -> ir.Value:
    result = ir.Constant(V128, [0] * 16)
    for lane in range(16):
        index = f.b.extract_element(indices, ir.Constant(I32, lane))
        picked = f.b.extract_element(a, f.b.and_(index, ir.Constant(I8, 15)))
        value = f.b.select(f.b.icmp_unsigned("<", index, ir.Constant(I8, 16)), picked, ir.Constant(I8, 0))
        result = f.b.insert_element(result, value, ir.Constant(I32, lane))
    return result


def _trunc_sat(source: str, signed: bool, zero_high: bool) -> Lowering:
    lane, count = SHAPES[source]

    def lower(f: FunctionLowering, a: ir.Value) -> ir.Value:
        v = as_shape(f, a, source)
        target = ir.VectorType(I32, count)
        name = f"llvm.fpto{'s' if signed else 'u'}i.sat.{vname(target)}.{vname(v.type)}"
        converted = intrinsic(f, name, target, [v])
        if zero_high:
            converted = concat(f, converted, ir.Constant(target, [0] * count))
        return back(f, converted)

    return lower


def _convert(target: str, signed: bool, low_only: bool) -> Lowering:
    def lower(f: FunctionLowering, a: ir.Value) -> ir.Value:
        v = as_shape(f, a, "i32x4")
        if low_only:
            v = half(f, v, False)
        t = vector(target)
        return back(f, f.b.sitofp(v, t) if signed else f.b.uitofp(v, t))

    return lower


def _demote(f: FunctionLowering, a: ir.Value) -> ir.Value:
    narrowed = f.b.fptrunc(as_shape(f, a, "f64x2"), ir.VectorType(F32, 2))
    return back(f, concat(f, narrowed, ir.Constant(ir.VectorType(F32, 2), [0.0, 0.0])))


def _promote(f: FunctionLowering, a: ir.Value) -> ir.Value:
    low = half(f, as_shape(f, a, "f32x4"), False)
    return f.opaque(back(f, f.b.fpext(low, vector("f64x2"))))


def _register() -> None:  # noqa: C901, PLR0912 - the table of SIMD instructions
    for shape, (lane, _count) in SHAPES.items():
        is_float = lane in (F32, F64)
        SIMD[f"{shape}.add"] = _lanewise(shape, _method("fadd" if is_float else "add"))
        SIMD[f"{shape}.sub"] = _lanewise(shape, _method("fsub" if is_float else "sub"))
        if shape != "i8x16":
            SIMD[f"{shape}.mul"] = _lanewise(shape, _method("fmul" if is_float else "mul"))
        if is_float:
            SIMD[f"{shape}.div"] = _lanewise(shape, _method("fdiv"))
            SIMD[f"{shape}.min"] = _lanewise(shape, _float_minmax("minimum"))
            SIMD[f"{shape}.max"] = _lanewise(shape, _float_minmax("maximum"))
            SIMD[f"{shape}.pmin"] = _lanewise(shape, lambda f, a, c: f.b.select(f.b.fcmp_ordered("<", c, a), c, a))
            SIMD[f"{shape}.pmax"] = _lanewise(shape, lambda f, a, c: f.b.select(f.b.fcmp_ordered("<", a, c), c, a))
            SIMD[f"{shape}.abs"] = _unary(shape, _vector_intrinsic("fabs"))
            SIMD[f"{shape}.neg"] = _unary(shape, _negate_float)
            for op in ("sqrt", "ceil", "floor", "trunc"):
                SIMD[f"{shape}.{op}"] = _unary(shape, _vector_intrinsic(op))
            SIMD[f"{shape}.nearest"] = _unary(shape, _vector_intrinsic("roundeven"))
            for op, predicate in (("eq", "=="), ("ne", "!="), ("lt", "<"), ("gt", ">"), ("le", "<="), ("ge", ">=")):
                SIMD[f"{shape}.{op}"] = _lanewise(shape, _compare(predicate, "f"))
            continue
        SIMD[f"{shape}.neg"] = _unary(shape, lambda f, a: f.b.sub(ir.Constant(a.type, [0] * a.type.count), a))
        SIMD[f"{shape}.abs"] = _unary(shape, lambda f, a: _vector_intrinsic("abs")(f, a, ir.Constant(I1, 0)))
        SIMD[f"{shape}.all_true"] = _all_true(shape)
        SIMD[f"{shape}.bitmask"] = _bitmask(shape)
        SIMD[f"{shape}.shl"] = _shift(shape, "shl")
        SIMD[f"{shape}.shr_s"] = _shift(shape, "ashr")
        SIMD[f"{shape}.shr_u"] = _shift(shape, "lshr")
        for op, predicate in (("eq", "=="), ("ne", "!=")):
            SIMD[f"{shape}.{op}"] = _lanewise(shape, _compare(predicate, "u"))
        for op, predicate in (("lt", "<"), ("gt", ">"), ("le", "<="), ("ge", ">=")):
            SIMD[f"{shape}.{op}_s"] = _lanewise(shape, _compare(predicate, "s"))
            if shape != "i64x2":
                SIMD[f"{shape}.{op}_u"] = _lanewise(shape, _compare(predicate, "u"))
        if shape in ("i8x16", "i16x8"):
            for op, name in (
                ("add_sat_s", "sadd.sat"),
                ("add_sat_u", "uadd.sat"),
                ("sub_sat_s", "ssub.sat"),
                ("sub_sat_u", "usub.sat"),
            ):
                SIMD[f"{shape}.{op}"] = _lanewise(shape, _vector_intrinsic(name))
            SIMD[f"{shape}.avgr_u"] = _avgr(shape)
        if shape != "i64x2":
            for op in ("min_s", "min_u", "max_s", "max_u"):
                name = {"min_s": "smin", "min_u": "umin", "max_s": "smax", "max_u": "umax"}[op]
                SIMD[f"{shape}.{op}"] = _lanewise(shape, _vector_intrinsic(name))
    SIMD["i8x16.popcnt"] = _unary("i8x16", _vector_intrinsic("ctpop"))
    SIMD["i8x16.narrow_i16x8_s"] = _narrow("i16x8", True)
    SIMD["i8x16.narrow_i16x8_u"] = _narrow("i16x8", False)
    SIMD["i16x8.narrow_i32x4_s"] = _narrow("i32x4", True)
    SIMD["i16x8.narrow_i32x4_u"] = _narrow("i32x4", False)
    for target, source in (("i16x8", "i8x16"), ("i32x4", "i16x8"), ("i64x2", "i32x4")):
        for part, high in (("low", False), ("high", True)):
            for sign, signed in (("s", True), ("u", False)):
                SIMD[f"{target}.extend_{part}_{source}_{sign}"] = _extend(source, high, signed)
                SIMD[f"{target}.extmul_{part}_{source}_{sign}"] = _extmul(source, high, signed)
    for target, source in (("i16x8", "i8x16"), ("i32x4", "i16x8")):
        SIMD[f"{target}.extadd_pairwise_{source}_s"] = _pairwise(source, True)
        SIMD[f"{target}.extadd_pairwise_{source}_u"] = _pairwise(source, False)
    SIMD["i16x8.q15mulr_sat_s"] = _lanewise("i16x8", _q15mulr)
    SIMD["i32x4.dot_i16x8_s"] = lambda f, a, c: back(f, _dot(f, as_shape(f, a, "i16x8"), as_shape(f, c, "i16x8")))
    SIMD["v128.not"] = lambda f, a: f.b.not_(a)
    SIMD["v128.and"] = lambda f, a, c: f.b.and_(a, c)
    SIMD["v128.or"] = lambda f, a, c: f.b.or_(a, c)
    SIMD["v128.xor"] = lambda f, a, c: f.b.xor(a, c)
    SIMD["v128.andnot"] = lambda f, a, c: f.b.and_(a, f.b.not_(c))
    SIMD["v128.bitselect"] = _bitselect
    SIMD["v128.any_true"] = _any_true
    SIMD["i8x16.swizzle"] = _swizzle
    SIMD["i32x4.trunc_sat_f32x4_s"] = _trunc_sat("f32x4", True, False)
    SIMD["i32x4.trunc_sat_f32x4_u"] = _trunc_sat("f32x4", False, False)
    SIMD["i32x4.trunc_sat_f64x2_s_zero"] = _trunc_sat("f64x2", True, True)
    SIMD["i32x4.trunc_sat_f64x2_u_zero"] = _trunc_sat("f64x2", False, True)
    SIMD["f32x4.convert_i32x4_s"] = _convert("f32x4", True, False)
    SIMD["f32x4.convert_i32x4_u"] = _convert("f32x4", False, False)
    SIMD["f64x2.convert_low_i32x4_s"] = _convert("f64x2", True, True)
    SIMD["f64x2.convert_low_i32x4_u"] = _convert("f64x2", False, True)
    SIMD["f32x4.demote_f64x2_zero"] = _demote
    SIMD["f64x2.promote_low_f32x4"] = _promote
    _register_relaxed()


def _register_relaxed() -> None:
    """Relaxed SIMD with the results wasmbox.simd documents (the same on every engine): most as their
    strict counterparts, multiply-add fused (llvm.fma), dot products signed."""
    for relaxed, strict in RELAXED_AS_STRICT.items():
        SIMD[relaxed] = SIMD[strict]
    for shape in ("f32x4", "f64x2"):
        SIMD[f"{shape}.relaxed_madd"] = _fused_multiply_add(shape, False)
        SIMD[f"{shape}.relaxed_nmadd"] = _fused_multiply_add(shape, True)
    SIMD["i16x8.relaxed_dot_i8x16_i7x16_s"] = lambda f, a, c: back(f, _pair_products(f, a, c))
    SIMD["i32x4.relaxed_dot_i8x16_i7x16_add_s"] = _dot_i8x16_i7x16_add


def _fused_multiply_add(shape: str, negate: bool) -> Lowering:
    t = vector(shape)

    def lower(f: FunctionLowering, a: ir.Value, c: ir.Value, addend: ir.Value) -> ir.Value:
        x = as_shape(f, a, shape)
        if negate:
            x = f.b.fneg(x)
        name = f"llvm.fma.{vname(t)}"
        return back(f, intrinsic(f, name, t, [x, as_shape(f, c, shape), as_shape(f, addend, shape)]))

    return lower


def _pair_products(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
    """<8 x i16>: sums of adjacent signed i8 products, wrapping."""
    wide = ir.VectorType(I16, 16)
    product = f.b.mul(f.b.sext(as_shape(f, a, "i8x16"), wide), f.b.sext(as_shape(f, c, "i8x16"), wide))
    undefined = ir.Constant(wide, ir.Undefined)
    even = f.b.shuffle_vector(product, undefined, mask_of(list(range(0, 16, 2))))
    odd = f.b.shuffle_vector(product, undefined, mask_of(list(range(1, 16, 2))))
    return f.b.add(even, odd)


def _dot_i8x16_i7x16_add(f: FunctionLowering, a: ir.Value, c: ir.Value, addend: ir.Value) -> ir.Value:
    pairs = f.b.sext(_pair_products(f, a, c), ir.VectorType(I32, 8))
    undefined = ir.Constant(pairs.type, ir.Undefined)
    even = f.b.shuffle_vector(pairs, undefined, mask_of([0, 2, 4, 6]))
    odd = f.b.shuffle_vector(pairs, undefined, mask_of([1, 3, 5, 7]))
    return back(f, f.b.add(f.b.add(even, odd), as_shape(f, addend, "i32x4")))


_register()


# --- instructions with immediates or scalars: lanes, splats, shuffles, memory ---------------------


def splat(f: FunctionLowering, shape: str, scalar: ir.Value) -> ir.Value:
    lane, _ = SHAPES[shape]
    if lane in (I8, I16):
        scalar = f.b.trunc(scalar, lane)
    return back(f, splat_of(f, scalar, vector(shape)))


def extract_lane(f: FunctionLowering, name: str, v: ir.Value, lane_index: int) -> ir.Value:
    shape = name.split(".")[0]
    value = f.b.extract_element(as_shape(f, v, shape), ir.Constant(I32, lane_index))
    if name.endswith("_s"):
        return f.b.sext(value, I32)
    if name.endswith("_u"):
        return f.b.zext(value, I32)
    return value


def replace_lane(f: FunctionLowering, name: str, v: ir.Value, lane_index: int, scalar: ir.Value) -> ir.Value:
    shape = name.split(".")[0]
    lane, _ = SHAPES[shape]
    if lane in (I8, I16):
        scalar = f.b.trunc(scalar, lane)
    return back(f, f.b.insert_element(as_shape(f, v, shape), scalar, ir.Constant(I32, lane_index)))


def shuffle(f: FunctionLowering, a: ir.Value, c: ir.Value, lanes: Any) -> ir.Value:
    return f.b.shuffle_vector(a, c, mask_of(list(lanes)))


# Memory: name -> (bytes read or written, builder from the loaded/stored LLVM value)
_EXTEND_LOADS = {
    "v128.load8x8_s": (I8, 8, True),
    "v128.load8x8_u": (I8, 8, False),
    "v128.load16x4_s": (I16, 4, True),
    "v128.load16x4_u": (I16, 4, False),
    "v128.load32x2_s": (I32, 2, True),
    "v128.load32x2_u": (I32, 2, False),
}
_SPLAT_LOADS = {"v128.load8_splat": I8, "v128.load16_splat": I16, "v128.load32_splat": I32, "v128.load64_splat": I64}
_ZERO_LOADS = {"v128.load32_zero": I32, "v128.load64_zero": I64}
_LANE_TYPES = {"8": I8, "16": I16, "32": I32, "64": I64}


def memory(f: FunctionLowering, name: str, imm: tuple[Any, ...]) -> None:  # noqa: C901 - one branch per family
    offset, memory = imm[1], imm[2]
    b = f.b
    if name == "v128.load":
        address = f.pop()
        f.stack.append(f.tag(b.load(f.effective_address(address, offset, 16, memory), typ=V128, align=1), "memory"))
    elif name == "v128.store":
        value = f.pop()
        address = f.pop()
        f.tag(b.store(value, f.effective_address(address, offset, 16, memory), align=1), "memory")
    elif name in _EXTEND_LOADS:
        lane, count, signed = _EXTEND_LOADS[name]
        address = f.pop()
        loaded = b.load(f.effective_address(address, offset, 8, memory), typ=ir.VectorType(lane, count), align=1)
        t = ir.VectorType(wider(lane), count)
        f.stack.append(back(f, b.sext(loaded, t) if signed else b.zext(loaded, t)))
    elif name in _SPLAT_LOADS:
        lane = _SPLAT_LOADS[name]
        address = f.pop()
        loaded = b.load(f.effective_address(address, offset, lane.width // 8, memory), typ=lane, align=1)
        f.stack.append(back(f, splat_of(f, loaded, ir.VectorType(lane, 128 // lane.width))))
    elif name in _ZERO_LOADS:
        lane = _ZERO_LOADS[name]
        address = f.pop()
        loaded = b.load(f.effective_address(address, offset, lane.width // 8, memory), typ=lane, align=1)
        t = ir.VectorType(lane, 128 // lane.width)
        f.stack.append(back(f, b.insert_element(ir.Constant(t, [0] * t.count), loaded, ir.Constant(I32, 0))))
    elif name.endswith("_lane"):
        lane = _LANE_TYPES[name.split(".")[1][4 if name.startswith("v128.load") else 5 :].split("_")[0]]
        t = ir.VectorType(lane, 128 // lane.width)
        lane_index = ir.Constant(I32, imm[3])
        v = f.pop()
        address = f.pop()
        pointer = f.effective_address(address, offset, lane.width // 8, memory)
        if name.startswith("v128.load"):
            loaded = b.load(pointer, typ=lane, align=1)
            f.stack.append(back(f, b.insert_element(b.bitcast(v, t), loaded, lane_index)))
        else:
            b.store(b.extract_element(b.bitcast(v, t), lane_index), pointer, align=1)
    else:
        raise KeyError(name)
