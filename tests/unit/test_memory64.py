"""64-bit memories and tables (memory64, Wasm 3.0): the address-type flag in binary and text, u64
limits and offsets, the validator's address-typed operands, run-time sizes and traps on every engine
(an access either side of 4 GiB, an address plus offset past 2^64), the host API's ``is_64`` types
and import matching.  Wasm 2.0 refuses all of it as before."""

from __future__ import annotations

from typing import Any

import pytest

from wasmbox import Func, Instance, LinkError, Memory, Module, Store, Table
from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError, Trap, ValidationError
from wasmbox.ir.instructions import ALL_FEATURES, THREADS, WASM_2_0
from wasmbox.ir.types import FUNCREF, I32, I64, Limits, MemoryType, TableType
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import validate_module

ENGINES = ["interp", "baseline", "native", "tiered"]
PAGE = 65536
FOUR_GIB = 1 << 32

ACCESS = """(module
  (memory (export "memory") i64 {pages})
  (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "load_far") (param i64) (result i32) (i32.load offset=0xFFFFFFFFFFFFFFF0 (local.get 0)))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
)"""


def _binary(text: str) -> bytes:
    return encode_module(parse_module_text(text))


# --- binary and text forms ---------------------------------------------------------------------


def test_limits_flags_carry_the_address_type_and_round_trip() -> None:
    source = '(module (memory i64 1 2) (table i64 3 funcref) (memory 1) (data (memory 0) (i64.const 8) "x"))'
    module = parse_module_text(source)
    validate_module(module)
    assert module.memories[0].type == MemoryType(Limits(1, 2), is_64=True)
    assert module.memories[1].type == MemoryType(Limits(1))
    assert module.tables[0].type == TableType(FUNCREF, Limits(3), is_64=True)
    binary = encode_module(module)
    # The memory section: two memories, the first with flags 0x05 (i64, a maximum), the second 0x00.
    assert bytes((0x05, 0x06, 0x02, 0x05, 0x01, 0x02, 0x00, 0x01)) in binary
    assert bytes((0x70, 0x04, 0x03)) in binary  # table: funcref, flags 0x04 (i64, no max), min 3
    decoded = decode_module(binary)
    assert decoded == module
    printed = print_module(decoded)
    assert "(memory (;0;) i64 1 2)" in printed and "(table (;0;) i64 3 funcref)" in printed
    assert _binary(printed) == binary


def test_inline_data_of_an_i64_memory_is_placed_with_an_i64_offset() -> None:
    module = parse_module_text('(module (memory i64 (data "abc")))')
    validate_module(module)
    assert module.memories[0].type == MemoryType(Limits(1, 1), is_64=True)
    offset = module.datas[0].offset
    assert offset is not None and offset[0].op.name == "i64.const"


def test_limits_and_offsets_are_u64_so_large_ones_are_invalid_not_malformed() -> None:
    # Memory section, one memory: flags 0x00 and a minimum of 2^32 pages (a u64 LEB).
    huge_memory = b"\x00asm\x01\x00\x00\x00" + bytes.fromhex("0507 01 00 8080808010")
    with pytest.raises(ValidationError, match="memory size"):
        validate_module(decode_module(huge_memory))
    with pytest.raises(ValidationError, match="memory size"):
        validate_module(parse_module_text("(module (memory 0x1_0000_0000))"))
    with pytest.raises(ValidationError, match="offset out of range"):
        validate_module(
            parse_module_text("(module (memory 1) (func (drop (i32.load offset=4294967296 (i32.const 0)))))")
        )
    validate_module(
        parse_module_text("(module (memory i64 1) (func (drop (i32.load offset=4294967296 (i64.const 0)))))")
    )


def test_malformed_limits_flags() -> None:
    for flags in (0x08, 0x10, 0x81):
        data = b"\x00asm\x01\x00\x00\x00" + bytes((0x05, 0x03, 0x01, flags, 0x00))
        with pytest.raises(MalformedError):
            decode_module(data)
    # 0x02 is a shared memory's flag (threads): malformed without that feature.
    data = b"\x00asm\x01\x00\x00\x00" + bytes((0x05, 0x03, 0x01, 0x02, 0x00))
    with pytest.raises(MalformedError):
        decode_module(data, ALL_FEATURES - {THREADS})


def test_wasm_2_0_refuses_64_bit_memories_and_tables() -> None:
    with pytest.raises(MalformedError):
        parse_module_text("(module (memory i64 1))", features=WASM_2_0)
    with pytest.raises(MalformedError):
        parse_module_text("(module (table i64 1 funcref))", features=WASM_2_0)
    with pytest.raises(MalformedError):
        decode_module(_binary("(module (memory i64 1))"), WASM_2_0)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "(drop (i32.load (i32.const 0)))",  # an i64 memory's address is i64
        "(drop (v128.load8_lane 0 (i32.const 0) (v128.const i64x2 0 0)))",
        "(drop (i32.add (memory.size) (i32.const 1)))",  # its size is i64
        "(memory.fill (i64.const 0) (i64.const 0) (i64.const 1))",  # the value stays i32
        "(memory.init 0 (i64.const 0) (i64.const 0) (i32.const 0))",  # a segment's offset stays i32
        "(drop (table.get (i32.const 0)))",
        "(call_indirect (i32.const 0))",
    ],
)
def test_i64_memories_and_tables_refuse_i32_operands(body: str) -> None:
    source = f'(module (memory i64 1) (table i64 1 funcref) (data "x") (func {body}))'
    with pytest.raises(ValidationError, match="type mismatch"):
        validate_module(parse_module_text(source))


def test_copies_between_address_types_take_the_narrower_length() -> None:
    head = "(module (memory $small 1) (memory $big i64 1) (table $t 1 funcref) (table $u i64 1 funcref)"
    valid = [
        "(memory.copy $big $small (i64.const 0) (i32.const 0) (i32.const 1))",
        "(memory.copy $small $big (i32.const 0) (i64.const 0) (i32.const 1))",
        "(memory.copy $big $big (i64.const 0) (i64.const 0) (i64.const 1))",
        "(table.copy $u $t (i64.const 0) (i32.const 0) (i32.const 1))",
    ]
    for body in valid:
        validate_module(parse_module_text(f"{head} (func {body}))"))
    invalid = [
        "(memory.copy $big $small (i64.const 0) (i32.const 0) (i64.const 1))",
        "(table.copy $t $u (i32.const 0) (i64.const 0) (i64.const 1))",
    ]
    for body in invalid:
        with pytest.raises(ValidationError, match="type mismatch"):
            validate_module(parse_module_text(f"{head} (func {body}))"))


def test_size_bounds_depend_on_the_address_type() -> None:
    validate_module(parse_module_text("(module (memory i64 0 0x1_0000_0000_0000))"))  # 2^48 pages
    with pytest.raises(ValidationError, match="2\\^48"):
        validate_module(parse_module_text("(module (memory i64 0 0x1_0000_0000_0001))"))
    validate_module(parse_module_text("(module (table i64 0 0xFFFF_FFFF_FFFF_FFFF funcref))"))
    with pytest.raises(ValidationError, match="table size"):
        validate_module(parse_module_text("(module (table 0x1_0000_0000 funcref))"))


# --- running -----------------------------------------------------------------------------------


def _instantiate(engine: str, pages: int, **limits: Any) -> Any:
    store = Store(engine, **limits)
    return Instance(store, Module(ACCESS.format(pages=pages)), {}).exports


@pytest.mark.parametrize("engine", ENGINES)
def test_accesses_either_side_of_4_gib(engine: str) -> None:
    """A memory of 4 GiB and one page (reserved, only the touched pages are ever committed)."""
    exports = _instantiate(engine, FOUR_GIB // PAGE + 1, max_memory_pages=FOUR_GIB // PAGE + 1)
    end = FOUR_GIB + PAGE
    for address, value in ((FOUR_GIB - 8, 0x0102030405060708), (FOUR_GIB - 4, -2), (FOUR_GIB + 8, 7), (end - 8, 9)):
        exports["store"](address, value)
        assert exports["load"](address) == value
    assert exports["load"](FOUR_GIB - 4) == -2  # the 8 bytes across the 4 GiB line
    for address in (end - 7, end, (1 << 63) + 5, (1 << 64) - 1):
        with pytest.raises(Trap, match="out of bounds memory access"):
            exports["load"](address - (1 << 64) if address >= 1 << 63 else address)
    assert exports["size"]() == FOUR_GIB // PAGE + 1


@pytest.mark.parametrize("engine", ENGINES)
def test_an_address_plus_offset_past_2_64_traps_and_never_wraps(engine: str) -> None:
    exports = _instantiate(engine, 1)
    exports["store"](0x10, 0x1234)
    for address in (0x10, 0x20, 0x11):  # 0x20 + offset wraps to 0x10 in 64 bits: it must trap
        with pytest.raises(Trap, match="out of bounds memory access"):
            exports["load_far"](address)
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["fill"](PAGE - 1, 0, -1)  # a length of 2^64-1
    exports["fill"](PAGE - 1, 0, 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_grow_past_the_store_limit_gives_minus_one_of_the_address_type(engine: str) -> None:
    exports = _instantiate(engine, 1, max_memory_pages=4)
    assert exports["grow"](3) == 1
    assert exports["grow"](1) == -1  # 2^64-1 as an i64
    assert exports["grow"](1 << 40) == -1
    assert exports["size"]() == 4


def test_a_store_limit_refuses_a_memory_over_it_with_a_typed_error() -> None:
    with pytest.raises(Trap, match="resource limit exceeded"):
        _instantiate("interp", FOUR_GIB // PAGE + 1)  # the default limit is 65536 pages (4 GiB)


# --- host API and linking ----------------------------------------------------------------------


def test_api_memories_and_tables_describe_their_address_type() -> None:
    store = Store("interp")
    memory = Memory(store, MemoryType(Limits(1, 3), is_64=True))
    assert memory.type == MemoryType(Limits(1, 3), is_64=True)
    assert memory.type.is_64 and memory.type.address_type is I64
    assert memory.grow(2) == 1 and memory.grow(1) == -1
    table = Table(store, TableType(FUNCREF, Limits(2), is_64=True))
    assert table.type.is_64 and table.type.address_type is I64
    assert table.grow(3) == 2
    assert Memory(store, MemoryType(Limits(1))).type.address_type is I32
    with pytest.raises(TypeError, match="is_64"):
        Memory(store, MemoryType(Limits(1), is_64=1))  # type: ignore[arg-type]
    imported = Module('(module (import "m" "mem" (memory i64 1)) (import "m" "t" (table i64 1 funcref)))')
    assert [i.type for i in imported.imports] == [
        MemoryType(Limits(1), is_64=True),
        TableType(FUNCREF, Limits(1), is_64=True),
    ]


def test_imports_match_only_the_same_address_type() -> None:
    store = Store("interp")
    wide = Memory(store, MemoryType(Limits(1), is_64=True))
    narrow = Memory(store, MemoryType(Limits(1)))
    wants_64 = Module('(module (import "m" "mem" (memory i64 1)) (func (export "size") (result i64) (memory.size)))')
    wants_32 = Module('(module (import "m" "mem" (memory 1)))')
    size = Instance(store, wants_64, {"m": {"mem": wide}}).exports["size"]
    assert isinstance(size, Func) and size() == 1
    with pytest.raises(LinkError, match="memory i64"):
        Instance(store, wants_64, {"m": {"mem": narrow}})
    with pytest.raises(LinkError):
        Instance(store, wants_32, {"m": {"mem": wide}})
    table = Table(store, TableType(FUNCREF, Limits(1)))
    with pytest.raises(LinkError):
        Instance(store, Module('(module (import "m" "t" (table i64 1 funcref)))'), {"m": {"t": table}})
