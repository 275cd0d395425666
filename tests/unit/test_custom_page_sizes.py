"""Custom page sizes: memories of 1-byte pages in text and binary, their validation and limits, import
matching, and every engine's bounds at the true byte size."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmbox import Instance, Limits, Linker, LinkError, Memory, MemoryType, Module, Store, Trap
from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError, ValidationError
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import validate_module
from wasmbox.wast import run_script

ENGINES = ["interp", "baseline", "native", "tiered"]
BYTES = """(module
  (memory (export "m") 0 (pagesize 1))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 7) (local.get 1))))"""


def test_page_size_in_text_and_binary() -> None:
    module = parse_module_text("(module (memory 2 5 (pagesize 1)) (memory i64 1 (pagesize 65536)))")
    types = [memory.type for memory in module.memories]
    assert [(t.page_size, t.limits) for t in types] == [(1, Limits(2, 5)), (65536, Limits(1))]
    binary = encode_module(module)
    assert b"\x05\x07\x02\x09\x02\x05\x00\x04\x01" in binary  # flags 0x08 | max, then log2(1) = 0
    assert [memory.type for memory in decode_module(binary).memories] == types
    assert [memory.type for memory in parse_module_text(print_module(module)).memories] == types
    inline = parse_module_text('(module (memory (pagesize 1) (data "xyz")))')
    assert inline.memories[0].type == MemoryType(Limits(3, 3), page_size=1)


def test_only_one_byte_and_64_kib_pages_are_valid() -> None:
    with pytest.raises(MalformedError, match="invalid custom page size"):
        parse_module_text("(module (memory 0 (pagesize 3)))")
    with pytest.raises(ValidationError, match="invalid custom page size"):
        validate_module(parse_module_text("(module (memory 0 (pagesize 2)))"))
    with pytest.raises(MalformedError, match="invalid custom page size"):
        decode_module(b"\0asm\1\0\0\0\x05\x04\x01\x08\x00\x41")  # a page of 2^65 bytes


def test_limits_count_one_byte_pages() -> None:
    validate_module(parse_module_text("(module (memory 0xFFFF_FFFF (pagesize 1)))"))
    with pytest.raises(ValidationError, match="memory size must be at most"):
        validate_module(parse_module_text("(module (memory 0x1_0000_0000 (pagesize 1)))"))
    with pytest.raises(ValidationError, match="memory size must be at most"):
        validate_module(parse_module_text("(module (memory 65537 (pagesize 65536)))"))


def test_imports_match_the_page_size() -> None:
    store = Store()
    small = Memory(store, MemoryType(Limits(0), page_size=1))
    linker = Linker(store)
    linker.define("env", "m", small)
    linker.instantiate(Module('(module (import "env" "m" (memory 0 (pagesize 1))))'))
    with pytest.raises(LinkError, match="pagesize 1"):
        linker.instantiate(Module('(module (import "env" "m" (memory 0)))'))


@pytest.mark.parametrize("engine", ENGINES)
def test_bounds_are_the_true_byte_size(engine: str) -> None:
    exports = Instance(Store(engine=engine), Module(BYTES)).exports
    assert exports["size"]() == 0
    with pytest.raises(Trap, match="out of bounds"):
        exports["load8"](0)
    assert exports["grow"](3) == 0
    assert exports["size"]() == 3
    exports["store8"](2, 0x1FF)
    assert exports["load8"](2) == 0xFF
    for past_the_end in (lambda: exports["load8"](3), lambda: exports["load32"](0), lambda: exports["fill"](1, 3)):
        with pytest.raises(Trap, match="out of bounds"):
            past_the_end()
    exports["fill"](0, 3)
    assert [exports["load8"](i) for i in range(3)] == [7, 7, 7]
    assert exports["grow"](65536) == 3 and exports["size"]() == 65539
    assert exports["load32"](65535) == 0
    with pytest.raises(Trap, match="out of bounds"):
        exports["load32"](65536)  # 65536 + 4 > 65539


def test_the_native_engine_hands_custom_page_sizes_to_the_portable_engine(tmp_path: Path) -> None:
    script = tmp_path / "pages.wast"
    script.write_text(
        BYTES + '\n(assert_return (invoke "grow" (i32.const 2)) (i32.const 0))\n'
        '(assert_trap (invoke "load8" (i32.const 2)) "out of bounds memory access")\n'
    )
    result = run_script(script, "native")
    assert (result.passed, result.failed) == (3, 0)
    assert any("custom page sizes" in reason for reason in result.engine.fallbacks)


@pytest.mark.parametrize("engine", ["interp", "tiered"])
def test_the_stores_memory_limit_counts_bytes(engine: str) -> None:
    """``max_memory_pages`` counts 64 KiB pages: 100,000 one-byte pages are 100,000 bytes, within a
    limit of two such pages and over a limit of one (found by wasm-smith: the count of one-byte pages
    was compared with the limit, so even the default limit of 65,536 pages refused this memory)."""
    text = '(module (memory (export "m") 100000 (pagesize 1)) (func (export "size") (result i32) memory.size))'
    assert Instance(Store(engine), Module(text)).exports["size"]() == 100000  # type: ignore[operator]
    assert Instance(Store(engine, max_memory_pages=2), Module(text)).exports["size"]() == 100000  # type: ignore[operator]
    with pytest.raises(Trap, match="resource limit exceeded"):
        Instance(Store(engine, max_memory_pages=1), Module(text))
    memory = Memory(Store(engine, max_memory_pages=2), MemoryType(Limits(100000), page_size=1))
    assert memory.size == 100000
    with pytest.raises(Trap, match="resource limit exceeded"):
        Memory(Store(engine, max_memory_pages=1), MemoryType(Limits(100000), page_size=1))
