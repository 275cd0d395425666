"""Shared memories (the threads proposal's ``shared`` flag): text, binary, validation, import
matching, and every engine running one as the single thread it has."""

from __future__ import annotations

import pytest

from wasmbox import Instance, Limits, Linker, LinkError, Memory, MemoryType, Module, Store
from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError, ValidationError
from wasmbox.ir.instructions import WASM_2_0
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import validate_module

ENGINES = ["interp", "baseline", "native", "tiered"]


def test_shared_flag_in_text_and_binary() -> None:
    module = parse_module_text("(module (memory 1 2 shared) (memory i64 0 3 shared) (memory 1 unshared))")
    types = [memory.type for memory in module.memories]
    assert [(t.shared, t.is_64) for t in types] == [(True, False), (True, True), (False, False)]
    binary = encode_module(module)
    # Limits flags: bit 0 a maximum, bit 1 shared, bit 2 i64.
    assert b"\x05\x09\x03\x03\x01\x02\x07\x00\x03\x00\x01" in binary
    assert [memory.type for memory in decode_module(binary).memories] == types
    assert [memory.type for memory in parse_module_text(print_module(module)).memories] == types


def test_shared_memory_needs_a_maximum() -> None:
    with pytest.raises(ValidationError, match="shared memory must have maximum"):
        validate_module(parse_module_text("(module (memory 1 shared))"))
    with pytest.raises(ValidationError, match="shared memory must have maximum"):
        validate_module(decode_module(b"\0asm\1\0\0\0\x05\x03\x01\x02\x01"))  # flags 0x02: shared, no max


def test_shared_is_a_feature() -> None:
    with pytest.raises(MalformedError):
        parse_module_text("(module (memory 1 2 shared))", features=WASM_2_0)
    with pytest.raises(MalformedError):
        decode_module(b"\0asm\1\0\0\0\x05\x04\x01\x03\x01\x02", WASM_2_0)


def test_tables_have_no_shared_flag() -> None:
    with pytest.raises(MalformedError, match="malformed limits flags"):
        decode_module(b"\0asm\1\0\0\0\x04\x05\x01\x70\x03\x01\x02")


def test_imports_match_only_the_same_sharing() -> None:
    store = Store()
    shared = Memory(store, MemoryType(Limits(1, 2), shared=True))
    unshared = Memory(store, MemoryType(Limits(1, 2)))
    wants_shared = Module('(module (import "env" "m" (memory 1 2 shared)))')
    wants_unshared = Module('(module (import "env" "m" (memory 1 2)))')
    for module, good, bad in ((wants_shared, shared, unshared), (wants_unshared, unshared, shared)):
        linker = Linker(store)
        linker.define("env", "m", good)
        linker.instantiate(module)
        linker = Linker(store)
        linker.define("env", "m", bad)
        with pytest.raises(LinkError, match="shared" if good is shared else "memory"):
            linker.instantiate(module)
    assert shared.type.shared and not unshared.type.shared


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_run_a_shared_memory(engine: str) -> None:
    module = Module(
        """(module (memory (export "m") 1 2 shared)
             (func (export "swap") (param i32 i32) (result i32)
               (i32.store (local.get 0) (local.get 1)) (i32.load (local.get 0)))
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""
    )
    exports = Instance(Store(engine=engine), module).exports
    assert exports["swap"](8, 0x12345678) == 0x12345678
    assert exports["grow"](1) == 1
    assert exports["grow"](1) == -1  # the maximum holds
