"""The one table of WebAssembly instructions.

Every opcode is defined here once: its text name, binary encoding (with the
0xFC / 0xFD prefixes), the kind of immediates it takes, its stack signature
and the feature it belongs to.  The decoder, encoder, text parser, validator
and printer are all driven by this table; no other module spells out an
opcode number.

An instruction in a function body is an :class:`Instruction`: the opcode plus
a tuple of immediates in binary order.  Instructions without immediates are
shared singletons (``Opcode.bare``) so decoding large bodies allocates little.
"""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

from ..records import field, record
from .types import F32, F64, I32, I64, V128, ValType


class Imm:
    """Immediate kinds; each names how operands are encoded and printed."""

    NONE = ""
    BLOCK = "block"  # blocktype: None | ValType | type index
    LABEL = "label"
    BR_TABLE = "br_table"  # (labels tuple, default label)
    FUNC = "func"
    CALL_INDIRECT = "call_indirect"  # (type index, table index)
    TYPE = "type"  # type index (call_ref, return_call_ref)
    LOCAL = "local"
    GLOBAL = "global"
    TABLE = "table"
    MEMARG = "memarg"  # (align exponent, offset, memory index)
    I32 = "i32"
    I64 = "i64"
    F32 = "f32"  # raw IEEE bits, so NaN payloads survive
    F64 = "f64"
    SELECT_T = "select_t"  # (value types tuple,)
    HEAPTYPE = "heaptype"  # reference ValType
    MEMORY = "memory"  # (memory index,): always 0 in Wasm 2.0
    MEMORY_INIT = "memory_init"  # (data index, memory index)
    DATA = "data"
    MEMORY_COPY = "memory_copy"  # (dst memory, src memory)
    ELEM = "elem"
    TABLE_INIT = "table_init"  # (elem index, table index)
    TABLE_COPY = "table_copy"  # (dst table, src table)
    V128 = "v128"  # 16 bytes, little-endian
    SHUFFLE = "shuffle"  # 16 lane indices as bytes
    LANE = "lane"  # lane index
    MEMARG_LANE = "memarg_lane"  # (align exponent, offset, memory index, lane index)
    TAG = "tag"  # tag index
    TRY_TABLE = "try_table"  # (blocktype, catch clauses): each (kind, tag | None, label)
    # Legacy exception handling: a u32 each, kinds of their own because they also delimit blocks.
    CATCH = "catch"  # tag index; ends a legacy try's body (or previous handler), starts a handler
    DELEGATE = "delegate"  # label index; ends a legacy try, handing its exceptions to that label
    FENCE = "fence"  # atomic.fence's reserved zero byte (threads)
    # GC (0xFB prefix)
    FIELD = "field"  # (struct type index, field index)
    TYPE_PAIR = "type_pair"  # (destination array type, source array type): array.copy
    TYPE_DATA = "type_data"  # (array type index, data index)
    TYPE_ELEM = "type_elem"  # (array type index, elem index)
    TYPE_COUNT = "type_count"  # (array type index, operand count): array.new_fixed
    CAST = "cast"  # (RefType,): ref.test/ref.cast to a non-null type (the opcode says)
    CAST_NULL = "cast_null"  # (RefType,): the nullable variant's opcode
    BR_ON_CAST = "br_on_cast"  # (label, source RefType, target RefType); a flags byte holds the nullabilities


@record(eq=False)
class Opcode:
    """One instruction's definition.

    ``params``/``results`` is the fixed stack signature; ``None`` means the
    validator has a dedicated rule (control, variables, parametric, tables).
    ``align`` is the natural alignment exponent of memory instructions and
    ``lanes`` the number of lanes a lane index may address.
    """

    name: str
    prefix: int | None
    code: int
    imm: str
    params: tuple[ValType, ...] | None
    results: tuple[ValType, ...] | None
    feature: str
    align: int = 0
    lanes: int = 0
    bare: Instruction = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.bare = Instruction(self, ())

    def __repr__(self) -> str:
        return f"<Opcode {self.name}>"

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # Every phase compares opcodes by identity: a pickled module must get the very same ones.
        return (opcode_named, (self.name,))


def opcode_named(name: str) -> Opcode:
    return BY_NAME[name]


class Instruction(NamedTuple):
    op: Opcode
    imm: tuple = ()  # type: ignore[type-arg]

    def __repr__(self) -> str:
        return f"{self.op.name}{''.join(' ' + repr(i) for i in self.imm)}"


OPCODES: list[Opcode] = []
BY_NAME: dict[str, Opcode] = {}
SINGLE_BYTE: list[Opcode | None] = [None] * 256
PREFIXED: dict[int, dict[int, Opcode]] = {0xFB: {}, 0xFC: {}, 0xFD: {}, 0xFE: {}}

_LETTER = {"i": I32, "I": I64, "f": F32, "F": F64, "v": V128}


_SIGNATURE_TYPES: dict[str, tuple[ValType, ...]] = {}


def _types(letters: str) -> tuple[ValType, ...]:
    """The types ``letters`` name (made once per string: 575 opcodes share a few dozen, and this module's
    import is part of every process's start)."""
    found = _SIGNATURE_TYPES.get(letters)
    if found is None:
        found = _SIGNATURE_TYPES[letters] = tuple(_LETTER[c] for c in letters)
    return found


def _define(
    name: str,
    code: int,
    sig: str | None = None,
    imm: str = Imm.NONE,
    *,
    prefix: int | None = None,
    feature: str = "mvp",
    align: int = 0,
    lanes: int = 0,
) -> Opcode:
    if sig is None:
        params: tuple[ValType, ...] | None = None
        results: tuple[ValType, ...] | None = None
    else:
        before, after = sig.split(">")
        params, results = _types(before), _types(after)
    op = Opcode(name, prefix, code, imm, params, results, feature, align, lanes)
    assert name not in BY_NAME, name
    OPCODES.append(op)
    BY_NAME[name] = op
    if prefix is None:
        assert SINGLE_BYTE[code] is None, name
        SINGLE_BYTE[code] = op
    else:
        assert code not in PREFIXED[prefix], name
        PREFIXED[prefix][code] = op
    return op


# --- Control (validated by dedicated rules) -------------------------------
_define("unreachable", 0x00)
_define("nop", 0x01, ">")
_define("block", 0x02, None, Imm.BLOCK)
_define("loop", 0x03, None, Imm.BLOCK)
_define("if", 0x04, None, Imm.BLOCK)
_define("else", 0x05)
_define("end", 0x0B)
_define("br", 0x0C, None, Imm.LABEL)
_define("br_if", 0x0D, None, Imm.LABEL)
_define("br_table", 0x0E, None, Imm.BR_TABLE)
_define("return", 0x0F)
_define("call", 0x10, None, Imm.FUNC)
_define("call_indirect", 0x11, None, Imm.CALL_INDIRECT)

# --- Tail calls (Wasm 3.0): the callee's frame replaces the caller's ----------
_define("return_call", 0x12, None, Imm.FUNC, feature="tail-call")
_define("return_call_indirect", 0x13, None, Imm.CALL_INDIRECT, feature="tail-call")

# --- Exception handling (Wasm 3.0) ----------------------------------------
_define("throw", 0x08, None, Imm.TAG, feature="exceptions")
_define("throw_ref", 0x0A, None, feature="exceptions")
_define("try_table", 0x1F, None, Imm.TRY_TABLE, feature="exceptions")

# --- Legacy exception handling (the legacy appendix of Wasm 3.0) -------------
# ``try bt ... (catch x ...)* (catch_all ...)? end`` and ``try bt ... delegate l``; ``rethrow l``
# rethrows the exception a catch handler (label l) caught.  The engines never see them:
# ``ir.legacy_exceptions`` lowers them to try_table and throw_ref first.
LEGACY_EXCEPTIONS = "legacy-exceptions"
_define("try", 0x06, None, Imm.BLOCK, feature=LEGACY_EXCEPTIONS)
_define("catch", 0x07, None, Imm.CATCH, feature=LEGACY_EXCEPTIONS)
_define("rethrow", 0x09, None, Imm.LABEL, feature=LEGACY_EXCEPTIONS)
_define("delegate", 0x18, None, Imm.DELEGATE, feature=LEGACY_EXCEPTIONS)
_define("catch_all", 0x19, None, feature=LEGACY_EXCEPTIONS)

# --- Reference types ----------------------------------------------------------
_define("ref.null", 0xD0, None, Imm.HEAPTYPE, feature="reference-types")
_define("ref.is_null", 0xD1, None, feature="reference-types")
_define("ref.func", 0xD2, None, Imm.FUNC, feature="reference-types")

# --- Typed function references (Wasm 3.0) -------------------------------------
_FUNCREFS = "function-references"
_define("call_ref", 0x14, None, Imm.TYPE, feature=_FUNCREFS)
_define("return_call_ref", 0x15, None, Imm.TYPE, feature=_FUNCREFS)
_define("ref.as_non_null", 0xD4, None, feature=_FUNCREFS)
_define("br_on_null", 0xD5, None, Imm.LABEL, feature=_FUNCREFS)
_define("br_on_non_null", 0xD6, None, Imm.LABEL, feature=_FUNCREFS)

# --- Garbage collection (Wasm 3.0): structs, arrays, i31, casts ---------------------------
# Every one has a dedicated rule in the validator (their types come from the type section).
_GC = "gc"
_define("ref.eq", 0xD3, None, feature=_GC)
for _name, _code, _imm in [
    ("struct.new", 0, Imm.TYPE),
    ("struct.new_default", 1, Imm.TYPE),
    ("struct.get", 2, Imm.FIELD),
    ("struct.get_s", 3, Imm.FIELD),
    ("struct.get_u", 4, Imm.FIELD),
    ("struct.set", 5, Imm.FIELD),
    ("array.new", 6, Imm.TYPE),
    ("array.new_default", 7, Imm.TYPE),
    ("array.new_fixed", 8, Imm.TYPE_COUNT),
    ("array.new_data", 9, Imm.TYPE_DATA),
    ("array.new_elem", 10, Imm.TYPE_ELEM),
    ("array.get", 11, Imm.TYPE),
    ("array.get_s", 12, Imm.TYPE),
    ("array.get_u", 13, Imm.TYPE),
    ("array.set", 14, Imm.TYPE),
    ("array.len", 15, Imm.NONE),
    ("array.fill", 16, Imm.TYPE),
    ("array.copy", 17, Imm.TYPE_PAIR),
    ("array.init_data", 18, Imm.TYPE_DATA),
    ("array.init_elem", 19, Imm.TYPE_ELEM),
    ("ref.test", 20, Imm.CAST),
    ("ref.test_null", 21, Imm.CAST_NULL),  # text: ref.test (ref null ht)
    ("ref.cast", 22, Imm.CAST),
    ("ref.cast_null", 23, Imm.CAST_NULL),  # text: ref.cast (ref null ht)
    ("br_on_cast", 24, Imm.BR_ON_CAST),
    ("br_on_cast_fail", 25, Imm.BR_ON_CAST),
    ("any.convert_extern", 26, Imm.NONE),
    ("extern.convert_any", 27, Imm.NONE),
    ("ref.i31", 28, Imm.NONE),
    ("i31.get_s", 29, Imm.NONE),
    ("i31.get_u", 30, Imm.NONE),
]:
    _define(_name, _code, None, _imm, prefix=0xFB, feature=_GC)

# --- Parametric -----------------------------------------------------------
_define("drop", 0x1A)
_define("select", 0x1B)
_define("select_t", 0x1C, None, Imm.SELECT_T, feature="reference-types")

# --- Variables and tables -------------------------------------------------
_define("local.get", 0x20, None, Imm.LOCAL)
_define("local.set", 0x21, None, Imm.LOCAL)
_define("local.tee", 0x22, None, Imm.LOCAL)
_define("global.get", 0x23, None, Imm.GLOBAL)
_define("global.set", 0x24, None, Imm.GLOBAL)
_define("table.get", 0x25, None, Imm.TABLE, feature="reference-types")
_define("table.set", 0x26, None, Imm.TABLE, feature="reference-types")

# --- Memory ---------------------------------------------------------------
for _name, _code, _sig, _align in [
    ("i32.load", 0x28, "i>i", 2),
    ("i64.load", 0x29, "i>I", 3),
    ("f32.load", 0x2A, "i>f", 2),
    ("f64.load", 0x2B, "i>F", 3),
    ("i32.load8_s", 0x2C, "i>i", 0),
    ("i32.load8_u", 0x2D, "i>i", 0),
    ("i32.load16_s", 0x2E, "i>i", 1),
    ("i32.load16_u", 0x2F, "i>i", 1),
    ("i64.load8_s", 0x30, "i>I", 0),
    ("i64.load8_u", 0x31, "i>I", 0),
    ("i64.load16_s", 0x32, "i>I", 1),
    ("i64.load16_u", 0x33, "i>I", 1),
    ("i64.load32_s", 0x34, "i>I", 2),
    ("i64.load32_u", 0x35, "i>I", 2),
    ("i32.store", 0x36, "ii>", 2),
    ("i64.store", 0x37, "iI>", 3),
    ("f32.store", 0x38, "if>", 2),
    ("f64.store", 0x39, "iF>", 3),
    ("i32.store8", 0x3A, "ii>", 0),
    ("i32.store16", 0x3B, "ii>", 1),
    ("i64.store8", 0x3C, "iI>", 0),
    ("i64.store16", 0x3D, "iI>", 1),
    ("i64.store32", 0x3E, "iI>", 2),
]:
    _define(_name, _code, _sig, Imm.MEMARG, align=_align)
_define("memory.size", 0x3F, ">i", Imm.MEMORY)
_define("memory.grow", 0x40, "i>i", Imm.MEMORY)

# --- Constants ------------------------------------------------------------
_define("i32.const", 0x41, ">i", Imm.I32)
_define("i64.const", 0x42, ">I", Imm.I64)
_define("f32.const", 0x43, ">f", Imm.F32)
_define("f64.const", 0x44, ">F", Imm.F64)

# --- Numeric (fixed signatures) -------------------------------------------
_NUMERIC = """
45 i32.eqz i>i
46 i32.eq ii>i
47 i32.ne ii>i
48 i32.lt_s ii>i
49 i32.lt_u ii>i
4A i32.gt_s ii>i
4B i32.gt_u ii>i
4C i32.le_s ii>i
4D i32.le_u ii>i
4E i32.ge_s ii>i
4F i32.ge_u ii>i
50 i64.eqz I>i
51 i64.eq II>i
52 i64.ne II>i
53 i64.lt_s II>i
54 i64.lt_u II>i
55 i64.gt_s II>i
56 i64.gt_u II>i
57 i64.le_s II>i
58 i64.le_u II>i
59 i64.ge_s II>i
5A i64.ge_u II>i
5B f32.eq ff>i
5C f32.ne ff>i
5D f32.lt ff>i
5E f32.gt ff>i
5F f32.le ff>i
60 f32.ge ff>i
61 f64.eq FF>i
62 f64.ne FF>i
63 f64.lt FF>i
64 f64.gt FF>i
65 f64.le FF>i
66 f64.ge FF>i
67 i32.clz i>i
68 i32.ctz i>i
69 i32.popcnt i>i
6A i32.add ii>i
6B i32.sub ii>i
6C i32.mul ii>i
6D i32.div_s ii>i
6E i32.div_u ii>i
6F i32.rem_s ii>i
70 i32.rem_u ii>i
71 i32.and ii>i
72 i32.or ii>i
73 i32.xor ii>i
74 i32.shl ii>i
75 i32.shr_s ii>i
76 i32.shr_u ii>i
77 i32.rotl ii>i
78 i32.rotr ii>i
79 i64.clz I>I
7A i64.ctz I>I
7B i64.popcnt I>I
7C i64.add II>I
7D i64.sub II>I
7E i64.mul II>I
7F i64.div_s II>I
80 i64.div_u II>I
81 i64.rem_s II>I
82 i64.rem_u II>I
83 i64.and II>I
84 i64.or II>I
85 i64.xor II>I
86 i64.shl II>I
87 i64.shr_s II>I
88 i64.shr_u II>I
89 i64.rotl II>I
8A i64.rotr II>I
8B f32.abs f>f
8C f32.neg f>f
8D f32.ceil f>f
8E f32.floor f>f
8F f32.trunc f>f
90 f32.nearest f>f
91 f32.sqrt f>f
92 f32.add ff>f
93 f32.sub ff>f
94 f32.mul ff>f
95 f32.div ff>f
96 f32.min ff>f
97 f32.max ff>f
98 f32.copysign ff>f
99 f64.abs F>F
9A f64.neg F>F
9B f64.ceil F>F
9C f64.floor F>F
9D f64.trunc F>F
9E f64.nearest F>F
9F f64.sqrt F>F
A0 f64.add FF>F
A1 f64.sub FF>F
A2 f64.mul FF>F
A3 f64.div FF>F
A4 f64.min FF>F
A5 f64.max FF>F
A6 f64.copysign FF>F
A7 i32.wrap_i64 I>i
A8 i32.trunc_f32_s f>i
A9 i32.trunc_f32_u f>i
AA i32.trunc_f64_s F>i
AB i32.trunc_f64_u F>i
AC i64.extend_i32_s i>I
AD i64.extend_i32_u i>I
AE i64.trunc_f32_s f>I
AF i64.trunc_f32_u f>I
B0 i64.trunc_f64_s F>I
B1 i64.trunc_f64_u F>I
B2 f32.convert_i32_s i>f
B3 f32.convert_i32_u i>f
B4 f32.convert_i64_s I>f
B5 f32.convert_i64_u I>f
B6 f32.demote_f64 F>f
B7 f64.convert_i32_s i>F
B8 f64.convert_i32_u i>F
B9 f64.convert_i64_s I>F
BA f64.convert_i64_u I>F
BB f64.promote_f32 f>F
BC i32.reinterpret_f32 f>i
BD i64.reinterpret_f64 F>I
BE f32.reinterpret_i32 i>f
BF f64.reinterpret_i64 I>F
C0 i32.extend8_s i>i sign-extension
C1 i32.extend16_s i>i sign-extension
C2 i64.extend8_s I>I sign-extension
C3 i64.extend16_s I>I sign-extension
C4 i64.extend32_s I>I sign-extension
"""
for _line in _NUMERIC.strip().splitlines():
    _fields = _line.split()
    _define(_fields[1], int(_fields[0], 16), _fields[2], feature=_fields[3] if len(_fields) > 3 else "mvp")

# --- 0xFC prefix: saturating truncation, bulk memory, tables ---------------
_SAT = "nontrapping-float-to-int"
for _code, _name, _sig in [
    (0, "i32.trunc_sat_f32_s", "f>i"),
    (1, "i32.trunc_sat_f32_u", "f>i"),
    (2, "i32.trunc_sat_f64_s", "F>i"),
    (3, "i32.trunc_sat_f64_u", "F>i"),
    (4, "i64.trunc_sat_f32_s", "f>I"),
    (5, "i64.trunc_sat_f32_u", "f>I"),
    (6, "i64.trunc_sat_f64_s", "F>I"),
    (7, "i64.trunc_sat_f64_u", "F>I"),
]:
    _define(_name, _code, _sig, prefix=0xFC, feature=_SAT)
_BULK = "bulk-memory"
_define("memory.init", 8, "iii>", Imm.MEMORY_INIT, prefix=0xFC, feature=_BULK)
_define("data.drop", 9, ">", Imm.DATA, prefix=0xFC, feature=_BULK)
_define("memory.copy", 10, "iii>", Imm.MEMORY_COPY, prefix=0xFC, feature=_BULK)
_define("memory.fill", 11, "iii>", Imm.MEMORY, prefix=0xFC, feature=_BULK)
_define("table.init", 12, "iii>", Imm.TABLE_INIT, prefix=0xFC, feature=_BULK)
_define("elem.drop", 13, ">", Imm.ELEM, prefix=0xFC, feature=_BULK)
_define("table.copy", 14, "iii>", Imm.TABLE_COPY, prefix=0xFC, feature=_BULK)
_define("table.grow", 15, None, Imm.TABLE, prefix=0xFC, feature="reference-types")
_define("table.size", 16, None, Imm.TABLE, prefix=0xFC, feature="reference-types")
_define("table.fill", 17, None, Imm.TABLE, prefix=0xFC, feature="reference-types")
# Custom page sizes: a memory's pages may be 1 byte (``(pagesize 1)``) instead of 64 KiB.
CUSTOM_PAGE_SIZES = "custom-page-sizes"
# Threads: shared memories (the ``shared`` flag of memory types).
THREADS = "threads"
# Wide arithmetic: 128-bit add/sub on (low, high) i64 pairs and 64x64->128 multiplication.
WIDE_ARITHMETIC = "wide-arithmetic"
_define("i64.add128", 19, "IIII>II", prefix=0xFC, feature=WIDE_ARITHMETIC)
_define("i64.sub128", 20, "IIII>II", prefix=0xFC, feature=WIDE_ARITHMETIC)
_define("i64.mul_wide_s", 21, "II>II", prefix=0xFC, feature=WIDE_ARITHMETIC)
_define("i64.mul_wide_u", 22, "II>II", prefix=0xFC, feature=WIDE_ARITHMETIC)

# --- 0xFE prefix: threads' atomic memory instructions ----------------------
# The alignment of an atomic access must be its natural one (``align``: log2 of its size).
_define("memory.atomic.notify", 0x00, "ii>i", Imm.MEMARG, prefix=0xFE, feature=THREADS, align=2)
_define("memory.atomic.wait32", 0x01, "iiI>i", Imm.MEMARG, prefix=0xFE, feature=THREADS, align=2)
_define("memory.atomic.wait64", 0x02, "iII>i", Imm.MEMARG, prefix=0xFE, feature=THREADS, align=3)
_define("atomic.fence", 0x03, ">", Imm.FENCE, prefix=0xFE, feature=THREADS)
# (value type, its signature letter, log2 of the access size, width in names) of the seven widths, in opcode order.
_ATOMIC_WIDTHS = [("i32", "i", 2, ""), ("i64", "I", 3, ""), ("i32", "i", 0, "8"), ("i32", "i", 1, "16")]
_ATOMIC_WIDTHS += [("i64", "I", 0, "8"), ("i64", "I", 1, "16"), ("i64", "I", 2, "32")]
for _i, (_t, _v, _width_log2, _bits) in enumerate(_ATOMIC_WIDTHS):
    _load_name = f"{_t}.atomic.load{_bits}{'_u' if _bits else ''}"
    _define(_load_name, 0x10 + _i, f"i>{_v}", Imm.MEMARG, prefix=0xFE, feature=THREADS, align=_width_log2)
    _define(
        f"{_t}.atomic.store{_bits}", 0x17 + _i, f"i{_v}>", Imm.MEMARG, prefix=0xFE, feature=THREADS, align=_width_log2
    )
for _k, _verb in enumerate(("add", "sub", "and", "or", "xor", "xchg", "cmpxchg")):
    for _i, (_t, _v, _width_log2, _bits) in enumerate(_ATOMIC_WIDTHS):
        _rmw_name = f"{_t}.atomic.rmw{_bits}.{_verb}{'_u' if _bits else ''}"
        _rmw_sig = f"i{_v}{_v}>{_v}" if _verb == "cmpxchg" else f"i{_v}>{_v}"
        _define(_rmw_name, 0x1E + 7 * _k + _i, _rmw_sig, Imm.MEMARG, prefix=0xFE, feature=THREADS, align=_width_log2)

# --- 0xFD prefix: SIMD ----------------------------------------------------
_SIMD_MEMORY = """
00 v128.load i>v 4
01 v128.load8x8_s i>v 3
02 v128.load8x8_u i>v 3
03 v128.load16x4_s i>v 3
04 v128.load16x4_u i>v 3
05 v128.load32x2_s i>v 3
06 v128.load32x2_u i>v 3
07 v128.load8_splat i>v 0
08 v128.load16_splat i>v 1
09 v128.load32_splat i>v 2
0A v128.load64_splat i>v 3
0B v128.store iv> 4
5C v128.load32_zero i>v 2
5D v128.load64_zero i>v 3
"""
for _line in _SIMD_MEMORY.strip().splitlines():
    _c, _n, _s, _a = _line.split()
    _define(_n, int(_c, 16), _s, Imm.MEMARG, prefix=0xFD, feature="simd", align=int(_a))
for _lane_code, _lane_name, _lane_sig, _lane_align in [
    (0x54, "v128.load8_lane", "iv>v", 0),
    (0x55, "v128.load16_lane", "iv>v", 1),
    (0x56, "v128.load32_lane", "iv>v", 2),
    (0x57, "v128.load64_lane", "iv>v", 3),
    (0x58, "v128.store8_lane", "iv>", 0),
    (0x59, "v128.store16_lane", "iv>", 1),
    (0x5A, "v128.store32_lane", "iv>", 2),
    (0x5B, "v128.store64_lane", "iv>", 3),
]:
    _define(
        _lane_name,
        _lane_code,
        _lane_sig,
        Imm.MEMARG_LANE,
        prefix=0xFD,
        feature="simd",
        align=_lane_align,
        lanes=16 >> _lane_align,
    )
_define("v128.const", 0x0C, ">v", Imm.V128, prefix=0xFD, feature="simd")
_define("i8x16.shuffle", 0x0D, "vv>v", Imm.SHUFFLE, prefix=0xFD, feature="simd", lanes=32)
for _lane_code, _lane_name, _lane_sig, _lanes in [
    (0x15, "i8x16.extract_lane_s", "v>i", 16),
    (0x16, "i8x16.extract_lane_u", "v>i", 16),
    (0x17, "i8x16.replace_lane", "vi>v", 16),
    (0x18, "i16x8.extract_lane_s", "v>i", 8),
    (0x19, "i16x8.extract_lane_u", "v>i", 8),
    (0x1A, "i16x8.replace_lane", "vi>v", 8),
    (0x1B, "i32x4.extract_lane", "v>i", 4),
    (0x1C, "i32x4.replace_lane", "vi>v", 4),
    (0x1D, "i64x2.extract_lane", "v>I", 2),
    (0x1E, "i64x2.replace_lane", "vI>v", 2),
    (0x1F, "f32x4.extract_lane", "v>f", 4),
    (0x20, "f32x4.replace_lane", "vf>v", 4),
    (0x21, "f64x2.extract_lane", "v>F", 2),
    (0x22, "f64x2.replace_lane", "vF>v", 2),
]:
    _define(_lane_name, _lane_code, _lane_sig, Imm.LANE, prefix=0xFD, feature="simd", lanes=_lanes)

_SIMD = """
0E i8x16.swizzle vv>v
0F i8x16.splat i>v
10 i16x8.splat i>v
11 i32x4.splat i>v
12 i64x2.splat I>v
13 f32x4.splat f>v
14 f64x2.splat F>v
23 i8x16.eq vv>v
24 i8x16.ne vv>v
25 i8x16.lt_s vv>v
26 i8x16.lt_u vv>v
27 i8x16.gt_s vv>v
28 i8x16.gt_u vv>v
29 i8x16.le_s vv>v
2A i8x16.le_u vv>v
2B i8x16.ge_s vv>v
2C i8x16.ge_u vv>v
2D i16x8.eq vv>v
2E i16x8.ne vv>v
2F i16x8.lt_s vv>v
30 i16x8.lt_u vv>v
31 i16x8.gt_s vv>v
32 i16x8.gt_u vv>v
33 i16x8.le_s vv>v
34 i16x8.le_u vv>v
35 i16x8.ge_s vv>v
36 i16x8.ge_u vv>v
37 i32x4.eq vv>v
38 i32x4.ne vv>v
39 i32x4.lt_s vv>v
3A i32x4.lt_u vv>v
3B i32x4.gt_s vv>v
3C i32x4.gt_u vv>v
3D i32x4.le_s vv>v
3E i32x4.le_u vv>v
3F i32x4.ge_s vv>v
40 i32x4.ge_u vv>v
41 f32x4.eq vv>v
42 f32x4.ne vv>v
43 f32x4.lt vv>v
44 f32x4.gt vv>v
45 f32x4.le vv>v
46 f32x4.ge vv>v
47 f64x2.eq vv>v
48 f64x2.ne vv>v
49 f64x2.lt vv>v
4A f64x2.gt vv>v
4B f64x2.le vv>v
4C f64x2.ge vv>v
4D v128.not v>v
4E v128.and vv>v
4F v128.andnot vv>v
50 v128.or vv>v
51 v128.xor vv>v
52 v128.bitselect vvv>v
53 v128.any_true v>i
5E f32x4.demote_f64x2_zero v>v
5F f64x2.promote_low_f32x4 v>v
60 i8x16.abs v>v
61 i8x16.neg v>v
62 i8x16.popcnt v>v
63 i8x16.all_true v>i
64 i8x16.bitmask v>i
65 i8x16.narrow_i16x8_s vv>v
66 i8x16.narrow_i16x8_u vv>v
67 f32x4.ceil v>v
68 f32x4.floor v>v
69 f32x4.trunc v>v
6A f32x4.nearest v>v
6B i8x16.shl vi>v
6C i8x16.shr_s vi>v
6D i8x16.shr_u vi>v
6E i8x16.add vv>v
6F i8x16.add_sat_s vv>v
70 i8x16.add_sat_u vv>v
71 i8x16.sub vv>v
72 i8x16.sub_sat_s vv>v
73 i8x16.sub_sat_u vv>v
74 f64x2.ceil v>v
75 f64x2.floor v>v
76 i8x16.min_s vv>v
77 i8x16.min_u vv>v
78 i8x16.max_s vv>v
79 i8x16.max_u vv>v
7A f64x2.trunc v>v
7B i8x16.avgr_u vv>v
7C i16x8.extadd_pairwise_i8x16_s v>v
7D i16x8.extadd_pairwise_i8x16_u v>v
7E i32x4.extadd_pairwise_i16x8_s v>v
7F i32x4.extadd_pairwise_i16x8_u v>v
80 i16x8.abs v>v
81 i16x8.neg v>v
82 i16x8.q15mulr_sat_s vv>v
83 i16x8.all_true v>i
84 i16x8.bitmask v>i
85 i16x8.narrow_i32x4_s vv>v
86 i16x8.narrow_i32x4_u vv>v
87 i16x8.extend_low_i8x16_s v>v
88 i16x8.extend_high_i8x16_s v>v
89 i16x8.extend_low_i8x16_u v>v
8A i16x8.extend_high_i8x16_u v>v
8B i16x8.shl vi>v
8C i16x8.shr_s vi>v
8D i16x8.shr_u vi>v
8E i16x8.add vv>v
8F i16x8.add_sat_s vv>v
90 i16x8.add_sat_u vv>v
91 i16x8.sub vv>v
92 i16x8.sub_sat_s vv>v
93 i16x8.sub_sat_u vv>v
94 f64x2.nearest v>v
95 i16x8.mul vv>v
96 i16x8.min_s vv>v
97 i16x8.min_u vv>v
98 i16x8.max_s vv>v
99 i16x8.max_u vv>v
9B i16x8.avgr_u vv>v
9C i16x8.extmul_low_i8x16_s vv>v
9D i16x8.extmul_high_i8x16_s vv>v
9E i16x8.extmul_low_i8x16_u vv>v
9F i16x8.extmul_high_i8x16_u vv>v
A0 i32x4.abs v>v
A1 i32x4.neg v>v
A3 i32x4.all_true v>i
A4 i32x4.bitmask v>i
A7 i32x4.extend_low_i16x8_s v>v
A8 i32x4.extend_high_i16x8_s v>v
A9 i32x4.extend_low_i16x8_u v>v
AA i32x4.extend_high_i16x8_u v>v
AB i32x4.shl vi>v
AC i32x4.shr_s vi>v
AD i32x4.shr_u vi>v
AE i32x4.add vv>v
B1 i32x4.sub vv>v
B5 i32x4.mul vv>v
B6 i32x4.min_s vv>v
B7 i32x4.min_u vv>v
B8 i32x4.max_s vv>v
B9 i32x4.max_u vv>v
BA i32x4.dot_i16x8_s vv>v
BC i32x4.extmul_low_i16x8_s vv>v
BD i32x4.extmul_high_i16x8_s vv>v
BE i32x4.extmul_low_i16x8_u vv>v
BF i32x4.extmul_high_i16x8_u vv>v
C0 i64x2.abs v>v
C1 i64x2.neg v>v
C3 i64x2.all_true v>i
C4 i64x2.bitmask v>i
C7 i64x2.extend_low_i32x4_s v>v
C8 i64x2.extend_high_i32x4_s v>v
C9 i64x2.extend_low_i32x4_u v>v
CA i64x2.extend_high_i32x4_u v>v
CB i64x2.shl vi>v
CC i64x2.shr_s vi>v
CD i64x2.shr_u vi>v
CE i64x2.add vv>v
D1 i64x2.sub vv>v
D5 i64x2.mul vv>v
D6 i64x2.eq vv>v
D7 i64x2.ne vv>v
D8 i64x2.lt_s vv>v
D9 i64x2.gt_s vv>v
DA i64x2.le_s vv>v
DB i64x2.ge_s vv>v
DC i64x2.extmul_low_i32x4_s vv>v
DD i64x2.extmul_high_i32x4_s vv>v
DE i64x2.extmul_low_i32x4_u vv>v
DF i64x2.extmul_high_i32x4_u vv>v
E0 f32x4.abs v>v
E1 f32x4.neg v>v
E3 f32x4.sqrt v>v
E4 f32x4.add vv>v
E5 f32x4.sub vv>v
E6 f32x4.mul vv>v
E7 f32x4.div vv>v
E8 f32x4.min vv>v
E9 f32x4.max vv>v
EA f32x4.pmin vv>v
EB f32x4.pmax vv>v
EC f64x2.abs v>v
ED f64x2.neg v>v
EF f64x2.sqrt v>v
F0 f64x2.add vv>v
F1 f64x2.sub vv>v
F2 f64x2.mul vv>v
F3 f64x2.div vv>v
F4 f64x2.min vv>v
F5 f64x2.max vv>v
F6 f64x2.pmin vv>v
F7 f64x2.pmax vv>v
F8 i32x4.trunc_sat_f32x4_s v>v
F9 i32x4.trunc_sat_f32x4_u v>v
FA f32x4.convert_i32x4_s v>v
FB f32x4.convert_i32x4_u v>v
FC i32x4.trunc_sat_f64x2_s_zero v>v
FD i32x4.trunc_sat_f64x2_u_zero v>v
FE f64x2.convert_low_i32x4_s v>v
FF f64x2.convert_low_i32x4_u v>v
"""
for _line in _SIMD.strip().splitlines():
    _c, _n, _s = _line.split()
    _define(_n, int(_c, 16), _s, prefix=0xFD, feature="simd")

# Relaxed SIMD (Wasm 3.0): results the spec lets a platform choose; wasmbox's one choice per
# instruction is in wasmbox.simd.RELAXED.
_RELAXED_SIMD = """
100 i8x16.relaxed_swizzle vv>v
101 i32x4.relaxed_trunc_f32x4_s v>v
102 i32x4.relaxed_trunc_f32x4_u v>v
103 i32x4.relaxed_trunc_f64x2_s_zero v>v
104 i32x4.relaxed_trunc_f64x2_u_zero v>v
105 f32x4.relaxed_madd vvv>v
106 f32x4.relaxed_nmadd vvv>v
107 f64x2.relaxed_madd vvv>v
108 f64x2.relaxed_nmadd vvv>v
109 i8x16.relaxed_laneselect vvv>v
10A i16x8.relaxed_laneselect vvv>v
10B i32x4.relaxed_laneselect vvv>v
10C i64x2.relaxed_laneselect vvv>v
10D f32x4.relaxed_min vv>v
10E f32x4.relaxed_max vv>v
10F f64x2.relaxed_min vv>v
110 f64x2.relaxed_max vv>v
111 i16x8.relaxed_q15mulr_s vv>v
112 i16x8.relaxed_dot_i8x16_i7x16_s vv>v
113 i32x4.relaxed_dot_i8x16_i7x16_add_s vvv>v
"""
for _line in _RELAXED_SIMD.strip().splitlines():
    _c, _n, _s = _line.split()
    _define(_n, int(_c, 16), _s, prefix=0xFD, feature="relaxed-simd")

# Feature sets.  Every opcode names its feature above; a decoder or parser
# given a feature set knows only the opcodes (and types, sections) in it.
WASM_2_0 = frozenset(("mvp", "sign-extension", "nontrapping-float-to-int", "bulk-memory", "reference-types", "simd"))
# Wasm 3.0 features, each named as its proposal was; ALL_FEATURES holds those implemented.
EXCEPTIONS = "exceptions"
EXTENDED_CONST = "extended-const"  # i32/i64 add, sub, mul and global.get of defined globals in constant exprs
TAIL_CALL = "tail-call"
MULTI_MEMORY = "multi-memory"  # memory indices in memargs and memory instructions, any number of memories
MEMORY64 = "memory64"
FUNCTION_REFERENCES = "function-references"
GC = "gc"
RELAXED_SIMD = "relaxed-simd"
ALL_FEATURES = WASM_2_0 | {
    EXCEPTIONS,
    EXTENDED_CONST,
    FUNCTION_REFERENCES,
    GC,
    LEGACY_EXCEPTIONS,
    MEMORY64,
    MULTI_MEMORY,
    RELAXED_SIMD,
    TAIL_CALL,
    CUSTOM_PAGE_SIZES,
    THREADS,
    WIDE_ARITHMETIC,
}
DEFAULT_FEATURES = ALL_FEATURES
_TABLES: dict[frozenset[str], tuple[list[Opcode | None], dict[int, dict[int, Opcode]], dict[str, Opcode]]] = {}


def opcode_tables(
    features: frozenset[str],
) -> tuple[list[Opcode | None], dict[int, dict[int, Opcode]], dict[str, Opcode]]:
    """The single-byte, prefixed and by-name tables restricted to ``features``."""
    tables = _TABLES.get(features)
    if tables is None:
        single = [op if op is not None and op.feature in features else None for op in SINGLE_BYTE]
        prefixed = {p: {c: op for c, op in t.items() if op.feature in features} for p, t in PREFIXED.items()}
        by_name = {n: op for n, op in BY_NAME.items() if op.feature in features}
        tables = _TABLES[features] = (single, prefixed, by_name)
    return tables


# Instructions that the decoder and printer treat specially by identity.
OP_BLOCK, OP_LOOP, OP_IF = BY_NAME["block"], BY_NAME["loop"], BY_NAME["if"]
OP_TRY_TABLE = BY_NAME["try_table"]
OP_ELSE, OP_END = BY_NAME["else"], BY_NAME["end"]
OP_SELECT, OP_SELECT_T = BY_NAME["select"], BY_NAME["select_t"]
END = OP_END.bare
OP_TRY, OP_CATCH, OP_CATCH_ALL = BY_NAME["try"], BY_NAME["catch"], BY_NAME["catch_all"]
OP_DELEGATE, OP_RETHROW = BY_NAME["delegate"], BY_NAME["rethrow"]
# The legacy try's handler delimiters (each, like ``else``, ends one part of a block and starts the next).
LEGACY_HANDLERS = frozenset((OP_CATCH, OP_CATCH_ALL))
BLOCK_OPENERS = frozenset((OP_BLOCK, OP_LOOP, OP_IF, OP_TRY_TABLE, OP_TRY))
# Instructions that call a function: a function with none of them is a leaf (it cannot recurse).
CALL_OPS = frozenset((BY_NAME["call"], BY_NAME["call_indirect"], BY_NAME["call_ref"]))
# Tail calls: they leave the function as ``return`` does, so they do not make it a caller whose
# frame stays below the callee's (a function with only these still cannot grow the stack).
OP_RETURN_CALL, OP_RETURN_CALL_INDIRECT = BY_NAME["return_call"], BY_NAME["return_call_indirect"]
OP_RETURN_CALL_REF = BY_NAME["return_call_ref"]
TAIL_CALL_OPS = frozenset((OP_RETURN_CALL, OP_RETURN_CALL_INDIRECT, OP_RETURN_CALL_REF))


# An instruction's opcode, for map(): ``Instruction`` is a tuple whose first item is its opcode.
op_of = operator.itemgetter(0)


def calls_itself(body: list[Instruction], index: int) -> bool:
    """Whether a function body (of function ``index``) holds a direct ``call`` of itself."""
    op_call = BY_NAME["call"]
    return any(instr.op is op_call and instr.imm[0] == index for instr in body)


def makes_tail_calls(body: list[Instruction]) -> bool:
    """Whether a function body holds a ``return_call`` or ``return_call_indirect``."""
    return not TAIL_CALL_OPS.isdisjoint(map(op_of, body))  # (a loop in C: asked of every function that runs)


class Catch:
    """Kinds of ``try_table`` catch clauses, valued as in the binary format."""

    CATCH = 0
    CATCH_REF = 1
    CATCH_ALL = 2
    CATCH_ALL_REF = 3
    TEXT = ("catch", "catch_ref", "catch_all", "catch_all_ref")


# Constant instructions allowed in constant expressions (Wasm 2.0), and those extended constant
# expressions add (Wasm 3.0).
CONSTANT_OPS = frozenset(
    BY_NAME[n]
    for n in ("i32.const", "i64.const", "f32.const", "f64.const", "v128.const", "ref.null", "ref.func", "global.get")
)
EXTENDED_CONSTANT_OPS = CONSTANT_OPS | frozenset(
    BY_NAME[n] for n in ("i32.add", "i32.sub", "i32.mul", "i64.add", "i64.sub", "i64.mul")
)
# GC's allocations and conversions are constant too (Wasm 3.0).
GC_CONSTANT_OPS = frozenset(
    BY_NAME[n]
    for n in (
        "struct.new",
        "struct.new_default",
        "array.new",
        "array.new_default",
        "array.new_fixed",
        "ref.i31",
        "any.convert_extern",
        "extern.convert_any",
    )
)


def constant_ops(features: frozenset[str]) -> frozenset[Opcode]:
    """The instructions a constant expression may use under ``features``."""
    allowed = EXTENDED_CONSTANT_OPS if EXTENDED_CONST in features else CONSTANT_OPS
    return allowed | GC_CONSTANT_OPS if GC in features else allowed


# Text-format names that differ from the binary table's (select_t prints as select).
TEXT_NAME = {OP_SELECT_T: "select", BY_NAME["ref.test_null"]: "ref.test", BY_NAME["ref.cast_null"]: "ref.cast"}
# ref.test and ref.cast to a nullable type are other opcodes; the text format tells them by the type.
NULLABLE_CAST = {BY_NAME["ref.test"]: BY_NAME["ref.test_null"], BY_NAME["ref.cast"]: BY_NAME["ref.cast_null"]}
