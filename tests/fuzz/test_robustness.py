"""Robustness fuzzing: whatever bytes or text come in, only typed errors come out.

Random and mutated inputs go through decode, parse, validate and, when valid,
instantiation (imports stubbed from their declared types; fuel bounds the
start function); the only exceptions allowed are wasmbox's typed errors
(no IndexError, struct.error, UnicodeDecodeError, RecursionError, ...).
The default run is CI-sized (1,600 cases); ``-m slow`` runs 102,000.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasmbox import Func, Global, Instance, Memory, Store, Table
from wasmbox import Module as ApiModule
from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError, ValidationError, WasmError
from wasmbox.ir.module import Module, Names
from wasmbox.ir.types import F32, F64, I32, I64, ExternKind
from wasmbox.runtime.memory import MemoryInstance
from wasmbox.runtime.objects import GlobalInstance, TableInstance
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import validate_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEED_TEXT = """(module
  (type $t (func (param i32) (result i32)))
  (import "env" "f" (func $imp (param i32)))
  (memory (export "mem") 1 2)
  (table 2 funcref)
  (global $g (mut i32) (i32.const 5))
  (elem (i32.const 0) $fac $fac)
  (func $fac (export "fac") (type $t) (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else (i32.mul (local.get $n) (call $fac (i32.sub (local.get $n) (i32.const 1)))))))
  (func (param v128) (result i32)
    block $b (result i32) i32.const 1 i32.const 0 br_if $b end
    (i32x4.extract_lane 2 (local.get 0)) i32.add
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 2))
    (table.size) drop
    (br_table 0 0 (i32.const 0)))
  (data (i32.const 8) "hi\\00\\ff"))
"""
SEED_BINARY = encode_module(parse_module_text(SEED_TEXT))

DEFAULT = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=34_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def stub_imports(module: Module) -> dict[str, dict[str, object]]:
    """Externs that satisfy every import of ``module`` by its declared type."""
    stubs: dict[str, dict[str, object]] = {}
    for imp in module.imports:
        desc = imp.desc
        if imp.kind == ExternKind.FUNC:
            func_type = module.types[desc]  # type: ignore[index]
            zeros = tuple(0.0 if t in (F32, F64) else 0 if t in (I32, I64) else None for t in func_type.results)
            value = zeros[0] if len(zeros) == 1 else (zeros or None)
            extern: object = Func(None, func_type, lambda *args, value=value: value)
        elif imp.kind == ExternKind.MEMORY:
            extern = Memory(MemoryInstance(desc))  # type: ignore[arg-type]
        elif imp.kind == ExternKind.TABLE:
            extern = Table(TableInstance(desc))  # type: ignore[arg-type]
        elif imp.kind == ExternKind.GLOBAL:
            t = desc.valtype  # type: ignore[union-attr]
            extern = Global(GlobalInstance(desc, 0.0 if t in (F32, F64) else 0 if t in (I32, I64) else None))  # type: ignore[arg-type]
        else:
            continue
        stubs.setdefault(imp.module, {})[imp.name] = extern
    return stubs


def instantiate_bounded(module: Module) -> None:
    """Instantiate under tight limits; only typed errors may come out."""
    store = Store(fuel=100_000, max_memory_pages=64, max_table_elements=10_000)
    wrapper = ApiModule.__new__(ApiModule)
    wrapper.ir = module
    wrapper.name = None
    try:
        Instance(store, wrapper, stub_imports(module))
    except WasmError:
        pass


def decode_and_validate(data: bytes) -> None:
    try:
        module = decode_module(data)
    except MalformedError:
        return
    try:
        validate_module(module)
    except ValidationError:
        return
    instantiate_bounded(module)
    # A valid module must also survive printing and re-parsing.  Names are
    # left out of the comparison: a name section may hold entries (duplicate
    # or out-of-range names) that identifiers in text cannot express.
    reparsed = parse_module_text(print_module(module))
    reparsed.names = module.names = Names()
    assert encode_module(reparsed) == encode_module(module)


def parse_and_validate(text: str) -> None:
    try:
        module = parse_module_text(text)
    except MalformedError:
        return
    try:
        validate_module(module)
    except ValidationError:
        return
    instantiate_bounded(module)
    assert decode_module(encode_module(module)) == module


@st.composite
def mutated_binary(draw: st.DrawFn) -> bytes:
    data = bytearray(SEED_BINARY)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "set"]))
        if action == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif action == "delete" and len(data) > 9:
            del data[position]
        else:
            data[position] = draw(st.integers(0, 255))
    return bytes(data)


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    text = SEED_TEXT
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(
            st.sampled_from(["(", ")", "$", '"', ";;", "(;", "0x", "-", "1e9", "nan:0x1", "\\", "i32", " ", "end"])
        )
        if action == "insert":
            text = text[:position] + piece + text[position:]
        elif action == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 10)) :]
        else:
            text = text[:position] + piece + text[position + len(piece) :]
    return text


def test_seed_is_valid_and_instantiates_through_stubs() -> None:
    module = decode_module(SEED_BINARY)
    validate_module(module)
    wrapper = ApiModule.__new__(ApiModule)
    wrapper.ir = module
    wrapper.name = None
    instance = Instance(Store(fuel=100_000), wrapper, stub_imports(module))
    assert instance.exports["fac"](5) == 120  # type: ignore[operator]


@DEFAULT
@given(st.binary(max_size=200))
def test_random_bytes_give_typed_errors(data: bytes) -> None:
    decode_and_validate(b"\x00asm\x01\x00\x00\x00" + data)


@DEFAULT
@given(mutated_binary())
def test_mutated_binaries_give_typed_errors(data: bytes) -> None:
    decode_and_validate(data)


@DEFAULT
@given(mutated_text())
def test_mutated_text_gives_typed_errors(text: str) -> None:
    parse_and_validate(text)


@DEFAULT
@given(st.text(max_size=200))
def test_random_text_gives_typed_errors(text: str) -> None:
    parse_and_validate(text)


def test_deep_nesting_is_a_typed_error() -> None:
    depth = 100_000
    text = "(module (func " + "(block " * depth + ")" * depth + "))"
    try:
        parse_and_validate(text)
    except RecursionError:  # pragma: no cover - the failure this test exists for
        pytest.fail("RecursionError escaped")
    binary_nesting = bytearray(SEED_BINARY)
    del binary_nesting  # binary decoding is iterative; covered by the mutation tests


@pytest.mark.slow
@SLOW
@given(mutated_binary())
def test_many_mutated_binaries(data: bytes) -> None:
    decode_and_validate(data)


@pytest.mark.slow
@SLOW
@given(mutated_text())
def test_many_mutated_texts(text: str) -> None:
    parse_and_validate(text)


@pytest.mark.slow
@SLOW
@given(st.binary(max_size=400))
def test_many_random_bytes(data: bytes) -> None:
    decode_and_validate(b"\x00asm\x01\x00\x00\x00" + data)
