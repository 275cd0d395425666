"""Exception handling (Wasm 3.0): tags, throw, throw_ref, try_table, exnref."""

from __future__ import annotations

import pytest

from wasmbox import Instance, Module, Store, WasmException
from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError, ValidationError
from wasmbox.ir.instructions import WASM_2_0
from wasmbox.ir.types import EXNREF, ExternKind
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import validate_module

SOURCE = """(module
  (tag $e (import "env" "e") (param i32))
  (tag $f (export "f") (param i64 f32))
  (func (export "catch") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $e $caught)
        (throw $e (local.get 0)))
      (i32.const -1)))
  (func (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (drop (call 0 (i32.const 1))))
      (ref.null exn)))
  (func (param exnref) (throw_ref (local.get 0))))
"""


def test_round_trip_through_binary_and_text() -> None:
    module = parse_module_text(SOURCE)
    validate_module(module)
    binary = encode_module(module)
    assert decode_module(binary) == module
    assert encode_module(parse_module_text(print_module(module))) == binary
    assert [imp.kind for imp in module.imports] == [ExternKind.TAG]
    assert module.exports[0].kind == ExternKind.TAG
    assert module.types[module.funcs[1].type_index].results == (EXNREF,)


def test_catch_labels_must_carry_the_tag_payload() -> None:
    wrong = """(module (tag $e (param i32))
      (func (block $l (result i64) (try_table (catch $e $l)) (i64.const 0)) drop))"""
    with pytest.raises(ValidationError, match="type mismatch"):
        validate_module(parse_module_text(wrong))


def test_throw_needs_a_known_tag_and_its_operands() -> None:
    with pytest.raises(ValidationError, match="unknown tag"):
        validate_module(parse_module_text("(module (func (throw 0)))"))
    with pytest.raises(ValidationError, match="type mismatch"):
        validate_module(parse_module_text("(module (tag (param i32)) (func (throw 0)))"))


def test_tags_must_not_have_results() -> None:
    with pytest.raises(ValidationError, match="non-empty tag result type"):
        validate_module(parse_module_text("(module (tag (result i32)))"))


def test_wasm_2_0_feature_set_rejects_exception_handling() -> None:
    binary = encode_module(parse_module_text(SOURCE))
    with pytest.raises(MalformedError):
        decode_module(binary, WASM_2_0)
    with pytest.raises(MalformedError, match="unknown operator"):
        parse_module_text("(module (func (throw_ref (ref.null extern))))", features=WASM_2_0)


@pytest.mark.parametrize("engine", ["interp", "baseline", "native"])
def test_a_try_table_without_catch_clauses_lets_the_exception_through(engine: str) -> None:
    """Found by the Wasm 3.0 differential fuzzer: the portable engine wrote an empty handler for such a
    try_table (Python refused the generated code)."""
    module = Module("""(module
      (tag $t (param i32))
      (func $thrower (param i32) (throw $t (local.get 0)))
      (func (export "f") (param i32) (result i32)
        (try_table (call $thrower (local.get 0)))
        (i32.const 1))
      (func (export "g") (result i32)
        (block $h (result i32)
          (try_table (catch $t $h)
            (try_table (call $thrower (i32.const 7))))
          (i32.const -1))))""")
    instance = Instance(Store(engine), module)
    with pytest.raises(WasmException):
        instance.exports["f"](5)
    assert instance.exports["g"]() == 7


def test_the_portable_translation_maps_dead_code_at_a_functions_end() -> None:
    """The translator records a line start for each instruction; one that emits nothing after the last line
    starts at the end. Indenting the try regions keeps such a start at the end (it was an IndexError). The
    start differential fuzzing found past the end came from ``drop_dispatch`` not moving the starts of the
    lines it dropped (see test_api's loop of one block); this is the same map's other edge."""
    from wasmbox.engines.interp import DEDENT, INDENT, FunctionTranslator

    module = parse_module_text("(module (func))")
    t = module.types[module.funcs[0].type_index]
    translator = FunctionTranslator(module, 0, t, [], module.funcs[0].body, module.types, module.func_types())
    translator.lines = ["a", "try:" + INDENT, "b", DEDENT, "c"]
    translator.line_starts = [(0, 0), (2, 1), (4, 2), (5, 3), (5, 4)]
    translator.indent_regions()
    assert translator.lines == ["a", "try:", "    b", "c"]
    assert translator.line_starts == [(0, 0), (2, 1), (3, 2), (4, 3), (4, 4)]
