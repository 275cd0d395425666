"""Typed function references: the reference type representation, subtyping, both formats, the
validation rules of the new instructions, and linking by subtype."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import LinkError, MalformedError, Trap, ValidationError
from wasmbox.ir.instructions import WASM_2_0
from wasmbox.ir.subtyping import closed_types, matches
from wasmbox.ir.types import (
    EXTERNREF,
    FUNCREF,
    I32,
    NONNULL_FUNCREF,
    VALTYPE_BY_TEXT,
    FuncType,
    HeapType,
    RefType,
)
from wasmbox.runtime.instance import ModuleInstance, call_function, instantiate
from wasmbox.runtime.sandbox import Sandbox
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import validate_module

FUNC, EXTERN, NOFUNC = HeapType.FUNC, HeapType.EXTERN, HeapType.NOFUNC


def test_reference_types_are_interned_and_survive_pickling() -> None:
    assert RefType(True, FUNC) is FUNCREF
    assert RefType(False, 3) is RefType(False, 3)
    assert RefType(False, 3) is not RefType(True, 3)
    assert pickle.loads(pickle.dumps(RefType(False, 3))) is RefType(False, 3)
    with pytest.raises(AttributeError):
        FUNCREF.nullable = False


def test_reference_types_print_with_shorthands_where_the_text_format_has_them() -> None:
    assert FUNCREF.text == "funcref"
    assert NONNULL_FUNCREF.text == "(ref func)"
    assert RefType(True, 2).text == "(ref null 2)"
    assert RefType(True, NOFUNC).text == "nullfuncref"
    assert VALTYPE_BY_TEXT["externref"] is EXTERNREF
    assert not NONNULL_FUNCREF.defaultable and FUNCREF.defaultable and I32.defaultable


def test_subtyping_of_abstract_and_concrete_heap_types() -> None:
    types = [FuncType((I32,), ()), FuncType((I32,), ()), FuncType((), (I32,))]
    assert matches(NONNULL_FUNCREF, FUNCREF, types)
    assert not matches(FUNCREF, NONNULL_FUNCREF, types)
    assert matches(RefType(False, 0), NONNULL_FUNCREF, types)
    assert not matches(NONNULL_FUNCREF, RefType(False, 0), types)
    assert matches(RefType(False, 0), RefType(True, 1), types)  # equivalent definitions
    assert not matches(RefType(False, 0), RefType(False, 2), types)
    assert matches(RefType(True, NOFUNC), RefType(True, 2), types)
    assert not matches(EXTERNREF, FUNCREF, types) and not matches(FUNCREF, EXTERNREF, types)
    assert not matches(I32, FUNCREF, types) and matches(I32, I32, types)


def test_subtyping_across_modules_resolves_each_side_in_its_own_types() -> None:
    mine = [FuncType(), FuncType((I32,), ())]
    theirs = [FuncType((I32,), ())]
    assert matches(RefType(False, 1), RefType(False, 0), mine, theirs)
    assert not matches(RefType(False, 0), RefType(False, 0), mine, theirs)


def test_closed_types_make_equivalent_types_of_different_modules_equal() -> None:
    first = closed_types([FuncType(), FuncType((RefType(False, 0),), ())])
    second = closed_types([FuncType((I32,), ()), FuncType(), FuncType((RefType(False, 1),), ())])
    assert first[1] == second[2]
    assert first[1] != closed_types([FuncType((I32,), ()), FuncType((RefType(False, 0),), ())])[1]
    plain = [FuncType((I32,), (I32,))]
    assert closed_types(plain)[0] is plain[0]


TYPED = """
(module
  (type $t (func (param i32) (result i32)))
  (func $double (type $t) (i32.add (local.get 0) (local.get 0)))
  (table $tab 2 (ref null $t) (ref.func $double))
  (global $g (ref $t) (ref.func $double))
  (elem declare func $double)
  (func (export "call") (param i32) (result i32)
    (call_ref $t (local.get 0) (global.get $g)))
  (func (export "first-or") (param (ref null $t)) (result i32)
    (block $null
      (return (call_ref $t (i32.const 5) (br_on_null $null (local.get 0)))))
    (i32.const -1))
  (func (export "as-non-null") (param (ref null $t)) (result (ref $t))
    (ref.as_non_null (local.get 0)))
  (func (export "table") (result i32)
    (call_ref $t (i32.const 7) (ref.as_non_null (table.get $tab (i32.const 1)))))
)
"""


def test_typed_references_round_trip_through_binary_and_text() -> None:
    module = parse_module_text(TYPED)
    validate_module(module)
    assert module.tables[0].type.element is RefType(True, 0)
    assert module.tables[0].init is not None
    assert module.elements[0].type is NONNULL_FUNCREF  # `func $f` lists are (ref func) in Wasm 3.0
    binary = encode_module(module)
    decoded = decode_module(binary)
    assert encode_module(decoded) == binary
    assert decoded.types == module.types and decoded.globals[0].type == module.globals[0].type
    reparsed = parse_module_text(print_module(decoded))
    assert encode_module(reparsed) == binary


def test_typed_references_need_the_feature_in_both_formats() -> None:
    binary = encode_module(parse_module_text(TYPED))
    with pytest.raises(MalformedError):
        decode_module(binary, WASM_2_0)
    with pytest.raises(MalformedError):
        parse_module_text("(module (global (ref func) (ref.func 0)) (func))", features=WASM_2_0)


@pytest.mark.parametrize("engine", ["interp", "baseline", "native"])
def test_call_ref_and_null_tests_run(engine: str) -> None:
    instance = _instantiate(TYPED, engine)
    exports = instance.exports
    assert call_function(exports["call"], [21]) == 42  # type: ignore[arg-type]
    assert call_function(exports["first-or"], [None]) == 0xFFFFFFFF  # type: ignore[arg-type]
    double = instance.funcs[0]
    assert call_function(exports["first-or"], [double]) == 10  # type: ignore[arg-type]
    assert call_function(exports["table"], []) == 14  # type: ignore[arg-type]
    with pytest.raises(Trap, match="null reference"):
        call_function(exports["as-non-null"], [None])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("(local (ref func)) (drop (local.get 0))", "uninitialized local"),
        ("(local (ref func)) (block (local.set 0 (ref.func 0))) (drop (local.get 0))", "uninitialized local"),
        ("(drop (call_ref 0 (ref.null func)))", "type mismatch"),
        ("(drop (ref.as_non_null (i32.const 0)))", "type mismatch"),
        ("(block (result (ref func)) (br_on_non_null 0 (ref.null extern)))", "type mismatch"),
    ],
)
def test_invalid_uses_of_typed_references(body: str, message: str) -> None:
    module = parse_module_text(f"(module (type (func)) (elem declare func 0) (func {body}))")
    with pytest.raises(ValidationError, match=message):
        validate_module(module)


def test_a_local_set_in_a_block_counts_until_the_block_ends() -> None:
    valid = "(module (elem declare func 0) (func (local (ref func)) (local.set 0 (ref.func 0)) (drop (local.get 0))))"
    validate_module(parse_module_text(valid))


def test_a_table_of_non_null_references_needs_an_initializer() -> None:
    with pytest.raises(ValidationError, match="type mismatch"):
        validate_module(parse_module_text("(module (table 1 (ref func)))"))


def test_an_immutable_global_import_may_be_of_a_subtype() -> None:
    exporter = _instantiate(
        '(module (type $t (func)) (func $f (type $t)) (global (export "g") (ref $t) (ref.func $f))'
        ' (global (export "m") (mut (ref null func)) (ref.null func)))',
        "interp",
    )
    provided = {("M", "g"): exporter.exports["g"], ("M", "m"): exporter.exports["m"]}
    for accepted in (
        '(type (func (param i32))) (type $s (func)) (global (import "M" "g") (ref $s))',
        '(global (import "M" "g") (ref null func))',
        '(global (import "M" "m") (mut funcref))',
    ):
        _link(f"(module {accepted})", provided)
    for refused in (
        '(type $u (func (param i32))) (global (import "M" "g") (ref $u))',
        '(global (import "M" "g") (ref extern))',
        '(global (import "M" "m") (mut (ref func)))',
    ):
        with pytest.raises(LinkError):
            _link(f"(module {refused})", provided)


def _instantiate(text: str, engine: str) -> ModuleInstance:
    from wasmbox.engines.registry import ENGINE_CLASSES

    if engine == "native":
        from wasmbox.engines.native import available

        if not available():
            pytest.skip("the native engine needs llvmlite")
    module = parse_module_text(text)
    validate_module(module)
    return instantiate(module, {}, ENGINE_CLASSES[engine]())


def _link(text: str, provided: dict[tuple[str, str], Any]) -> None:
    from wasmbox.engines.registry import ENGINE_CLASSES

    module = parse_module_text(text)
    validate_module(module)
    instantiate(module, provided, ENGINE_CLASSES["interp"]())


def test_the_api_makes_tables_of_non_null_function_references_only_with_a_function() -> None:
    from wasmbox import Limits, Store, Table, TableType

    store = Store()
    with pytest.raises(TypeError, match="expected a Func"):
        Table(store, TableType(NONNULL_FUNCREF, Limits(1)), None)
    with pytest.raises(ValueError, match="references to functions or host values"):
        Table(store, TableType(RefType(False, 0), Limits(1)), None)
    assert list(Table(store, TableType(RefType(True, EXTERN), Limits(2)), None)._instance.elements) == [None, None]


@pytest.mark.parametrize("engine", ["interp", "baseline", "native"])
def test_call_ref_reaches_host_functions_and_other_instances(engine: str) -> None:
    """Machine code calls its own functions directly and the others through the host; both after
    the entries it found are cleared (as when handles are freed or code changes)."""
    from wasmbox.runtime.objects import FunctionInstance

    host = FunctionInstance(FuncType((I32,), (I32,)), lambda x: x * 3, host=True)
    text = """(module
      (type $t (func (param i32) (result i32)))
      (import "h" "triple" (func $triple (type $t)))
      (elem declare func $triple)
      (func (export "apply") (param (ref null $t)) (param i32) (result i32)
        (call_ref $t (local.get 1) (local.get 0)))
      (func (export "triple-of") (param i32) (result i32)
        (call_ref $t (local.get 0) (ref.func $triple))))"""
    if engine == "native":
        _instantiate("(module)", "native")  # skips without llvmlite
    from wasmbox.engines.registry import ENGINE_CLASSES

    module = parse_module_text(text)
    validate_module(module)
    sandbox = Sandbox()  # one store: calls between instances count against one depth
    instance = instantiate(module, {("h", "triple"): host}, ENGINE_CLASSES[engine](), sandbox)
    other_module = parse_module_text(TYPED)
    validate_module(other_module)
    other = instantiate(other_module, {}, ENGINE_CLASSES[engine](), sandbox).funcs[0]  # another instance's $double
    apply, triple_of = instance.exports["apply"], instance.exports["triple-of"]
    for _ in range(2):
        assert call_function(triple_of, [5]) == 15  # type: ignore[arg-type]
        assert call_function(apply, [other, 4]) == 8  # type: ignore[arg-type]
        assert call_function(apply, [host, 4]) == 12  # type: ignore[arg-type]
        with pytest.raises(Trap, match="null function reference"):
            call_function(apply, [None, 4])  # type: ignore[arg-type]
        if engine == "native":
            from wasmbox.engines.native.host import mark_mirrors_stale

            mark_mirrors_stale()
