"""Multiple memories (Wasm 3.0): memory indices in memargs and in memory.size/grow/fill/copy/init,
data segments on any memory, any number of imported and defined memories; the binary and text
forms, validation, every engine (bounds checked per memory, the store's limits on each), and
wasmtime-py as the oracle.  Wasm 2.0 refuses all of it as before."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from wasmbox import Instance, Memory, Module, Store
from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.cli import main
from wasmbox.errors import MalformedError, Trap, ValidationError
from wasmbox.ir import instructions as ins
from wasmbox.ir.instructions import WASM_2_0, Instruction
from wasmbox.ir.types import Limits, MemoryType
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import validate_module

ENGINES = ["interp", "baseline", "native", "tiered"]
PAGE = 65536

# Memory 0 is imported (one page), $one is defined with one page (at most three), $two with two
# pages; a passive segment feeds memory.init and an active one fills $two at 16.
SOURCE = """(module
  (import "env" "zero" (memory $zero 1))
  (memory $one (export "one") 1 3)
  (memory $two (export "two") 2)
  (data (memory $two) (i32.const 16) "\\01\\02\\03\\04")
  (data $text "wasm!")
  (func (export "load") (param $memory i32) (param $address i32) (result i32)
    (if (result i32) (i32.eqz (local.get $memory))
      (then (i32.load $zero (local.get $address)))
      (else (if (result i32) (i32.eq (local.get $memory) (i32.const 1))
        (then (i32.load $one (local.get $address)))
        (else (i32.load $two (local.get $address)))))))
  (func (export "store") (param $memory i32) (param $address i32) (param $value i32)
    (if (i32.eqz (local.get $memory))
      (then (i32.store $zero (local.get $address) (local.get $value)))
      (else (if (i32.eq (local.get $memory) (i32.const 1))
        (then (i32.store $one (local.get $address) (local.get $value)))
        (else (i32.store 2 (local.get $address) (local.get $value)))))))
  (func (export "load8_offset") (param $address i32) (result i32)
    (i32.load8_u $two offset=17 (local.get $address)))
  (func (export "load64") (param $address i32) (result i64) (i64.load $one align=4 (local.get $address)))
  (func (export "sizes") (result i32 i32 i32) (memory.size $zero) (memory.size $one) (memory.size $two))
  (func (export "grow") (param $memory i32) (param $delta i32) (result i32)
    (if (result i32) (i32.eqz (local.get $memory))
      (then (memory.grow $zero (local.get $delta)))
      (else (if (result i32) (i32.eq (local.get $memory) (i32.const 1))
        (then (memory.grow $one (local.get $delta)))
        (else (memory.grow $two (local.get $delta)))))))
  (func (export "copy_two_to_one") (param $dst i32) (param $src i32) (param $n i32)
    (memory.copy $one $two (local.get $dst) (local.get $src) (local.get $n)))
  (func (export "copy_within_two") (param $dst i32) (param $src i32) (param $n i32)
    (memory.copy $two $two (local.get $dst) (local.get $src) (local.get $n)))
  (func (export "fill_one") (param $dst i32) (param $value i32) (param $n i32)
    (memory.fill $one (local.get $dst) (local.get $value) (local.get $n)))
  (func (export "init_two") (param $dst i32) (param $src i32) (param $n i32)
    (memory.init $two $text (local.get $dst) (local.get $src) (local.get $n)))
  (func (export "lane_one") (param $address i32) (result i32)
    (v128.store8_lane $one offset=1 3 (local.get $address) (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))
    (i8x16.extract_lane_u 5
      (v128.load8_lane $one offset=1 5 (local.get $address) (v128.const i64x2 0 0))))
  (func (export "vector_two") (param $address i32) (result i64)
    (v128.store $two (local.get $address) (v128.const i64x2 0x1122334455667788 0))
    (i64x2.extract_lane 0 (v128.load $two (local.get $address))))
)
"""


def instantiate(engine: str, **limits: Any) -> tuple[Store, Memory, Any]:
    store = Store(engine, **limits)
    zero = Memory(store, MemoryType(Limits(1, 4)))
    exports = Instance(store, Module(SOURCE), {"env": {"zero": zero}}).exports
    return store, zero, exports


# --- binary and text forms ---------------------------------------------------------------------


def test_round_trips_text_binary_text_and_decode_encode() -> None:
    module = parse_module_text(SOURCE)
    validate_module(module)
    binary = encode_module(module)
    decoded = decode_module(binary)
    assert decoded == module
    assert encode_module(decoded) == binary
    printed = print_module(decoded)
    assert "i32.load 2" in printed and "memory.copy 1 2" in printed and "memory.init 2 1" in printed
    assert encode_module(parse_module_text(printed)) == binary


def test_memarg_encoding_sets_bit_6_and_puts_the_memory_before_the_offset() -> None:
    source = "(module (memory 1) (memory 1) (memory 1) (func (drop (i32.load 2 offset=5 (i32.const 0)))))"
    module = parse_module_text(source)
    body = encode_module(module)
    assert bytes((0x28, 0x42, 0x02, 0x05)) in body  # i32.load: align 2 | 0x40, memory 2, offset 5
    assert module.funcs[0].body[1] == Instruction(ins.BY_NAME["i32.load"], (2, 5, 2))
    # Memory 0 keeps the Wasm 2.0 form.
    plain = encode_module(parse_module_text("(module (memory 1) (func (drop (i32.load offset=5 (i32.const 0)))))"))
    assert bytes((0x28, 0x02, 0x05)) in plain


def test_an_explicit_memory_0_in_binary_is_the_same_instruction() -> None:
    head = b"\x00asm\x01\x00\x00\x00" + bytes.fromhex("010401600000 03020100 0503010001")
    short = head + bytes.fromhex("0a0a01 08 00 4100 280200 1a 0b")
    explicit = head + bytes.fromhex("0a0b01 09 00 4100 28420000 1a 0b")  # flags 0x42: memory 0 named
    assert decode_module(explicit).funcs[0].body == decode_module(short).funcs[0].body
    assert decode_module(short).funcs[0].body[1].imm == (2, 0, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v128.load8_lane 1 2", (0, 0, 1, 2)),  # memory 1, lane 2
        ("v128.load8_lane 3", (0, 0, 0, 3)),  # lane 3 of memory 0
        ("v128.load8_lane 1 offset=4 3", (0, 4, 1, 3)),
        ("v128.load8_lane $m align=1 1", (0, 0, 1, 1)),
    ],
)
def test_lane_instructions_take_an_optional_memory_before_the_memarg(text: str, expected: tuple[int, ...]) -> None:
    source = f"(module (memory 1) (memory $m 1) (func (param v128) (drop ({text} (i32.const 0) (local.get 0)))))"
    body = parse_module_text(source).funcs[0].body
    assert body[2].imm == expected


def test_data_segment_on_memory_1_uses_flag_2() -> None:
    binary = encode_module(parse_module_text('(module (memory 1) (memory 1) (data (memory 1) (i32.const 0) "a"))'))
    assert bytes((0x0B, 0x08, 0x01, 0x02, 0x01, 0x41, 0x00, 0x0B, 0x01)) in binary
    assert decode_module(binary).datas[0].memory == 1


def test_memop_flags_of_128_and_above_are_malformed() -> None:
    binary = encode_module(parse_module_text("(module (memory 1) (func (drop (i32.load (i32.const 0)))))"))
    bad = binary.replace(bytes((0x28, 0x02, 0x00)), bytes((0x28, 0x80, 0x01)))
    with pytest.raises(MalformedError, match="malformed memop flags"):
        decode_module(bad)


# --- Wasm 2.0 stays as it was ------------------------------------------------------------------


def test_wasm_2_0_refuses_several_memories_and_memory_indices() -> None:
    with pytest.raises(ValidationError, match="multiple memories"):
        validate_module(parse_module_text("(module (memory 1) (memory 1))", features=WASM_2_0))
    with pytest.raises(MalformedError):
        parse_module_text("(module (memory $m 1) (func (drop (i32.load $m (i32.const 0)))))", features=WASM_2_0)
    with pytest.raises(MalformedError):
        parse_module_text("(module (memory 1) (func (drop (memory.size 0))))", features=WASM_2_0)
    two = encode_module(parse_module_text("(module (memory 1) (memory 1) (func (drop (i32.load 1 (i32.const 0)))))"))
    with pytest.raises(MalformedError, match="malformed memop flags"):
        decode_module(two, WASM_2_0)
    size = encode_module(parse_module_text("(module (memory 1) (memory 1) (func (drop (memory.size 1))))"))
    with pytest.raises(MalformedError, match="zero byte expected"):
        decode_module(size, WASM_2_0)


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("(drop (i32.load 2 (i32.const 0)))", "unknown memory 2"),
        ("(i32.store8 5 (i32.const 0) (i32.const 0))", "unknown memory 5"),
        ("(drop (memory.size 2))", "unknown memory 2"),
        ("(drop (memory.grow 3 (i32.const 0)))", "unknown memory 3"),
        ("(memory.fill 2 (i32.const 0) (i32.const 0) (i32.const 0))", "unknown memory 2"),
        ("(memory.copy 0 2 (i32.const 0) (i32.const 0) (i32.const 0))", "unknown memory 2"),
        ("(memory.copy 2 0 (i32.const 0) (i32.const 0) (i32.const 0))", "unknown memory 2"),
        ("(memory.init 2 0 (i32.const 0) (i32.const 0) (i32.const 0))", "unknown memory 2"),
        ("(drop (v128.load 2 (i32.const 0)))", "unknown memory 2"),
        ("(drop (v128.load8_lane 2 0 (i32.const 0) (v128.const i64x2 0 0)))", "unknown memory 2"),
        ("(drop (i32.load 1 align=8 (i32.const 0)))", "alignment must not be larger than natural"),
    ],
)
def test_validation_names_the_unknown_memory(body: str, message: str) -> None:
    source = f'(module (memory 1) (memory 1) (data "x") (func {body}))'
    with pytest.raises(ValidationError, match=message):
        validate_module(parse_module_text(source))


def test_validation_of_data_segments_and_exports_on_unknown_memories() -> None:
    with pytest.raises(ValidationError, match="unknown memory 2"):
        validate_module(parse_module_text('(module (memory 1) (memory 1) (data (memory 2) (i32.const 0) "x"))'))
    with pytest.raises(ValidationError, match="unknown memory 2"):
        validate_module(parse_module_text('(module (memory 1) (memory 1) (export "m" (memory 2)))'))
    validate_module(parse_module_text('(module (memory 1) (memory 1) (export "a" (memory 0)) (export "b" (memory 1)))'))


# --- every engine --------------------------------------------------------------------------------


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    if request.param in ("native", "tiered"):
        from wasmbox.engines.native import available

        if not available():
            pytest.skip("the native engine needs llvmlite")
    return str(request.param)


def test_loads_and_stores_reach_their_own_memory(engine: str) -> None:
    store, zero, exports = instantiate(engine)
    for memory, value in ((0, 0x1111), (1, 0x2222), (2, 0x3333)):
        exports["store"](memory, 100, value)
    assert [exports["load"](memory, 100) for memory in range(3)] == [0x1111, 0x2222, 0x3333]
    assert zero.read(100, 2) == b"\x11\x11"
    assert exports["one"].read(100, 2) == b"\x22\x22"
    assert exports["two"].read(100, 2) == b"\x33\x33"
    assert exports["load"](2, 16) == 0x04030201  # the active segment on memory 2
    assert exports["load"](0, 16) == 0 and exports["load"](1, 16) == 0
    assert exports["load8_offset"](1) == 3
    exports["store"](1, 8, 0x55667788)
    exports["store"](1, 12, 0x11223344)
    assert exports["load64"](8) == 0x1122334455667788
    if engine == "native":
        assert store.engine.fallbacks == [] and store.engine.compiled == 1  # type: ignore[attr-defined]


def test_bounds_are_checked_against_each_memory(engine: str) -> None:
    _, _, exports = instantiate(engine)
    exports["store"](2, PAGE + 100, 7)  # memory 2 has two pages
    assert exports["load"](2, PAGE + 100) == 7
    for memory in (0, 1):  # one page each
        with pytest.raises(Trap, match="out of bounds memory access"):
            exports["store"](memory, PAGE + 100, 7)
        with pytest.raises(Trap, match="out of bounds memory access"):
            exports["load"](memory, PAGE - 3)
        assert exports["load"](memory, PAGE - 4) == 0
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["load"](2, 2 * PAGE - 2)
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["load64"](PAGE - 4)
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["load8_offset"](2 * PAGE - 17)
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["load"](1, 0xFFFFFFFF)


def test_grow_and_size_are_per_memory(engine: str) -> None:
    _, zero, exports = instantiate(engine)
    assert exports["sizes"]() == (1, 1, 2)
    assert exports["grow"](1, 2) == 1
    assert exports["sizes"]() == (1, 3, 2)
    assert exports["grow"](1, 1) == -1  # its maximum is 3
    assert exports["grow"](0, 1) == 1
    assert exports["sizes"]() == (2, 3, 2)
    assert zero.size == 2
    exports["store"](1, 2 * PAGE + 8, 99)  # reachable only after the grow
    assert exports["load"](1, 2 * PAGE + 8) == 99
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["store"](2, 2 * PAGE + 8, 99)


def test_copy_fill_and_init_across_memories(engine: str) -> None:
    _, _, exports = instantiate(engine)
    one, two = exports["one"], exports["two"]
    exports["copy_two_to_one"](4, 16, 4)
    assert one.read(4, 4) == b"\x01\x02\x03\x04"
    exports["copy_within_two"](17, 16, 4)  # overlapping, within one memory
    assert two.read(16, 5) == b"\x01\x01\x02\x03\x04"
    exports["fill_one"](0, 0xAB, 3)
    assert one.read(0, 5) == b"\xab\xab\xab\x00\x01"
    exports["init_two"](1000, 1, 3)
    assert two.read(1000, 3) == b"asm"
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["copy_two_to_one"](PAGE - 2, 0, 4)  # fits memory 2, not memory 1
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["copy_two_to_one"](0, 2 * PAGE - 2, 4)
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["fill_one"](PAGE - 1, 0, 2)
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["init_two"](2 * PAGE - 1, 0, 2)
    assert one.read(PAGE - 2, 2) == b"\x00\x00"  # nothing written by the trapping copy


def test_simd_accesses_on_other_memories(engine: str) -> None:
    _, zero, exports = instantiate(engine)
    assert exports["lane_one"](40) == 3  # lane 3 stored at 41, read back at 40 + 1 as lane 5
    assert exports["one"].read(41, 1) == b"\x03"
    assert zero.read(41, 1) == b"\x00"
    assert exports["vector_two"](PAGE + 32) == 0x1122334455667788
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["lane_one"](PAGE - 1)
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports["vector_two"](2 * PAGE - 8)


def test_imported_memories_and_exports(engine: str) -> None:
    store = Store(engine)
    first = Memory(store, MemoryType(Limits(1)))
    second = Memory(store, MemoryType(Limits(1)))
    second.write(8, b"\x2a")
    source = """(module
      (import "env" "a" (memory $a 1))
      (import "env" "b" (memory $b 1))
      (memory $c (export "c") 1)
      (export "a" (memory $a))
      (func (export "move") (memory.copy $a $b (i32.const 0) (i32.const 8) (i32.const 1))
        (memory.copy $c $a (i32.const 4) (i32.const 0) (i32.const 1)))
      (func (export "both") (result i32) (i32.add (i32.load8_u $b (i32.const 8)) (i32.load8_u $c (i32.const 4)))))"""
    exports = Instance(store, Module(source), {"env": {"a": first, "b": second}}).exports
    exports["move"]()
    assert first.read(0, 1) == b"\x2a"
    assert exports["c"].read(4, 1) == b"\x2a"
    assert exports["both"]() == 84
    assert exports["a"].read(0, 1) == b"\x2a"  # the export is the imported memory itself


def test_the_same_memory_imported_twice_copies_with_overlap(engine: str) -> None:
    store = Store(engine)
    shared = Memory(store, MemoryType(Limits(1)))
    shared.write(0, b"abcdef")
    source = """(module (import "env" "x" (memory 1)) (import "env" "y" (memory 1))
      (func (export "copy") (memory.copy 1 0 (i32.const 2) (i32.const 0) (i32.const 4))))"""
    Instance(store, Module(source), {"env": {"x": shared, "y": shared}}).exports["copy"]()
    assert shared.read(0, 6) == b"ababcd"


def test_the_store_limits_every_memory(engine: str) -> None:
    _, zero, exports = instantiate(engine, max_memory_pages=2)
    assert exports["grow"](1, 1) == 1  # 2 pages: at the store's limit
    assert exports["grow"](1, 1) == -1  # its own maximum (3) is beyond the store's
    assert exports["grow"](2, 1) == -1  # already at 2
    assert exports["grow"](0, 1) == 1
    assert exports["grow"](0, 1) == -1
    assert exports["sizes"]() == (2, 2, 2)
    with pytest.raises(Trap, match="resource limit exceeded"):
        Instance(Store(engine, max_memory_pages=2), Module("(module (memory 1) (memory 3))"))


def test_wasi_uses_the_memory_exported_as_memory(engine: str) -> None:
    """The guest's "memory" export is what WASI reads, whatever its index (here memory 1)."""
    from wasmbox import Linker
    from wasmbox.wasi import WasiConfig

    source = """(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory $scratch 1)
      (memory $main (export "memory") 1)
      (data (memory $main) (i32.const 8) "hi\\n")
      (data (memory $scratch) (i32.const 8) "no\\n")
      (func (export "_start")
        (i32.store $main (i32.const 0) (i32.const 8)) (i32.store $main (i32.const 4) (i32.const 3))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))))"""
    out = io.BytesIO()
    linker = Linker(Store(engine))
    linker.define_wasi(WasiConfig(stdout=out))  # type: ignore[arg-type]
    instance = linker.instantiate(Module(source))
    instance.exports["_start"]()  # type: ignore[operator]
    assert out.getvalue() == b"hi\n"


# --- tools -------------------------------------------------------------------------------------


def test_trace_names_the_memory_of_each_access(tmp_path: Path) -> None:
    program = tmp_path / "two.wat"
    program.write_text(
        """(module (memory 1) (memory 1)
          (func (export "run") (result i32)
            (i32.store8 1 (i32.const 3) (i32.const 9))
            (i32.store8 (i32.const 3) (i32.const 5))
            (i32.add (i32.load8_u 1 (i32.const 3)) (i32.load8_u (i32.const 3)))))"""
    )
    output = tmp_path / "trace.txt"
    assert main(["trace", "-o", str(output), "--memory", "--invoke", "run", str(program)]) == 0
    lines = output.read_text().splitlines()
    assert any("i32.store8 1" in line and "mem1[0x3]=09" in line for line in lines)
    assert any("i32.store8 " in line and "mem[0x3]=05" in line for line in lines)


def test_objdump_numbers_defined_memories_after_imported_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "m.wasm"
    binary.write_bytes(encode_module(parse_module_text(SOURCE)))
    assert main(["objdump", "-x", str(binary)]) == 0
    out = capsys.readouterr().out
    assert " - memory[1] pages: initial=1 max=3" in out
    assert " - memory[2] pages: initial=2" in out


# --- wasmtime as the oracle ----------------------------------------------------------------------


def _outcome(call: Any) -> object:
    try:
        result = call()
    except Exception as error:  # noqa: BLE001 - a trap on either side is an outcome to compare
        return "trap" if "out of bounds" in str(error) else f"error: {error}"
    return list(result) if isinstance(result, list | tuple) else result


def test_agrees_with_wasmtime() -> None:
    wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is the oracle")
    config = wasmtime.Config()
    config.wasm_multi_memory = True
    wt_store = wasmtime.Store(wasmtime.Engine(config))
    wt_zero = wasmtime.Memory(wt_store, wasmtime.MemoryType(wasmtime.Limits(1, 4)))
    wt_module = wasmtime.Module(wt_store.engine, SOURCE)
    theirs = wasmtime.Instance(wt_store, wt_module, [wt_zero]).exports(wt_store)
    _, _, ours = instantiate("interp")
    calls: list[tuple[str, tuple[int, ...]]] = [
        ("store", (0, 8, 0x01020304)),
        ("store", (1, 8, 0x05060708)),
        ("store", (2, PAGE + 8, 0x090A0B0C)),
        ("store", (1, PAGE - 2, 1)),
        ("load", (2, 16)),
        ("load", (1, 8)),
        ("load", (2, PAGE + 8)),
        ("load", (0, PAGE)),
        ("load8_offset", (0,)),
        ("load64", (4,)),
        ("sizes", ()),
        ("grow", (1, 1)),
        ("grow", (1, 5)),
        ("grow", (2, 1)),
        ("sizes", ()),
        ("copy_two_to_one", (0, 16, 8)),
        ("copy_two_to_one", (2 * PAGE, 0, 1)),
        ("copy_within_two", (18, 16, 6)),
        ("fill_one", (3, 0x7F, 9)),
        ("init_two", (5, 0, 5)),
        ("init_two", (5, 3, 5)),
        ("load", (1, 0)),
        ("load", (1, 4)),
        ("load", (2, 16)),
        ("load", (2, 20)),
        ("load", (2, 5)),
        ("lane_one", (64,)),
        ("vector_two", (3 * PAGE - 16,)),
        ("vector_two", (3 * PAGE - 15,)),
    ]
    for name, args in calls:
        mine = _outcome(lambda name=name, args=args: ours[name](*args))
        reference = _outcome(lambda name=name, args=args: theirs[name](wt_store, *args))
        assert mine == reference, (name, args)
    assert ours["one"].read(0, 32) == bytes(theirs["one"].read(wt_store, 0, 32))
