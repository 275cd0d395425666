"""GC's types (issue 15): recursion groups, sub-type declarations, struct and array types in both
formats, the validator's type-section rules, and canonicalization (type equality across modules)."""

from __future__ import annotations

import pytest

from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import LinkError, MalformedError, ValidationError
from wasmbox.ir.instructions import WASM_2_0
from wasmbox.ir.module import Module
from wasmbox.ir.subtyping import closed_types, heap_matches, matches
from wasmbox.ir.types import (
    I32,
    ArrayType,
    FieldType,
    FuncType,
    HeapType,
    PackedType,
    RefType,
    StructType,
)
from wasmbox.runtime.instance import instantiate
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import validate_module

TYPES = """(module
  (rec (type $node (struct (field $value i32) (field $next (mut (ref null $node)))))
       (type $visit (func (param (ref $node)) (result i32))))
  (type $bytes (sub (array (mut i8))))
  (type $shorts (sub final $bytes (array (mut i8))))
  (type $pair (sub (struct (field i16) (field (mut f64)))))
  (rec)
  (type $wider (sub $pair (struct (field i16) (field (mut f64)) (field anyref))))
)"""


def _valid(text: str) -> Module:
    module = parse_module_text(text)
    validate_module(module)
    return module


def test_the_text_format_reads_groups_sub_types_fields_and_packed_storage() -> None:
    types = _valid(TYPES).types
    node, visit, byte_array, short_array, pair, wider = types
    assert isinstance(node, StructType) and node.rec == (0, 2) and visit.rec == (0, 2)
    assert node.fields == (FieldType(I32), FieldType(RefType(True, 0), mutable=True))
    assert isinstance(visit, FuncType) and visit.params == (RefType(False, 0),)
    assert isinstance(byte_array, ArrayType) and byte_array.element == FieldType(PackedType.I8, mutable=True)
    assert not byte_array.final and short_array.final and short_array.supertypes == (2,)
    assert isinstance(wider, StructType) and wider.supertypes == (4,) and len(wider.fields) == 3
    assert pair.rec is None


def test_types_survive_print_parse_and_encode_decode_round_trips() -> None:
    module = _valid(TYPES)
    binary = encode_module(module)
    decoded = decode_module(binary)
    assert decoded.types == module.types and decoded.empty_rec_groups == [5]
    assert encode_module(decoded) == binary
    reparsed = parse_module_text(print_module(decoded))
    assert reparsed.types == module.types and encode_module(reparsed) == binary


def test_sub_final_without_supertypes_encodes_as_written() -> None:
    plain = encode_module(_valid("(module (type (func)))"))
    spelled = encode_module(_valid("(module (type (sub final (func))))"))
    assert plain != spelled and b"\x4f\x00\x60" in spelled
    assert decode_module(spelled).types == decode_module(plain).types  # the same type


def test_without_gc_struct_types_and_rec_groups_are_malformed() -> None:
    with pytest.raises(MalformedError):
        parse_module_text("(module (type (struct)))", features=WASM_2_0)
    with pytest.raises(MalformedError):
        parse_module_text("(module (rec (type (func))))", features=WASM_2_0)
    binary = encode_module(_valid("(module (type (struct)))"))
    with pytest.raises(MalformedError):
        decode_module(binary, WASM_2_0)


@pytest.mark.parametrize(
    "types",
    [
        "(type $a (func)) (type (sub $a (func)))",  # $a is final
        "(type $a (sub (func (param i32)))) (type (sub $a (func)))",
        "(type $a (sub (struct (field i32)))) (type (sub $a (struct)))",  # narrower
        "(type $a (sub (struct (field (mut i32))))) (type (sub $a (struct (field (mut i64)))))",
        "(type $a (sub (array i32))) (type (sub $a (struct)))",
        "(type (sub 1 (func))) (type (sub (func)))",  # supertype defined later
        "(type (struct (field (ref 1)))) (type (struct))",  # a later type outside the group
        "(rec (type $a (sub (array anyref))) (type (sub $a (array (mut anyref)))))",
    ],
)
def test_the_validator_refuses_bad_sub_type_declarations(types: str) -> None:
    with pytest.raises(ValidationError):
        _valid(f"(module {types})")


def test_declared_subtypes_match_their_supertypes_and_not_the_other_way() -> None:
    module = _valid(
        "(module (type $a (sub (struct (field anyref)))) (type $b (sub $a (struct (field eqref) (field i32))))"
        " (type $c (sub $b (struct (field i31ref) (field i32)))) (type $f (func)))"
    )
    types = module.types
    assert heap_matches(2, 0, types) and heap_matches(1, 0, types)
    assert not heap_matches(0, 1, types)
    assert heap_matches(2, HeapType.STRUCT, types) and heap_matches(2, HeapType.EQ, types)
    assert not heap_matches(2, HeapType.FUNC, types) and not heap_matches(3, HeapType.ANY, types)
    assert heap_matches(HeapType.NONE, 2, types) and not heap_matches(HeapType.NOFUNC, 2, types)
    assert heap_matches(HeapType.NOFUNC, 3, types)
    assert matches(RefType(False, 2), RefType(True, 0), types)
    assert not matches(RefType(True, 2), RefType(False, 0), types)


def test_equal_recursion_groups_of_two_modules_close_to_equal_types() -> None:
    group = "(rec (type $l (struct (field (ref null $r)))) (type $r (struct (field (ref null $l)))))"
    first = _valid(f"(module (type (func)) {group})")
    second = _valid(f"(module {group} (type (array i32)))")
    assert closed_types(first.types)[1:] == closed_types(second.types)[:2]
    assert matches(RefType(False, 1), RefType(False, 0), first.types, second.types)
    # The same structures in another order, or alone, are other types.
    swapped = _valid("(module (rec (type $r (struct (field (ref null 1)))) (type (struct (field (ref null 0))))))")
    assert closed_types(swapped.types)[0] == closed_types(first.types)[1]  # both are "the first of this group"
    lone = _valid("(module (type $f1 (func)) (rec (type (func)) (type (struct))))")
    assert closed_types(lone.types)[0] != closed_types(lone.types)[1]


def _engine() -> object:
    from wasmbox.engines.registry import ENGINE_CLASSES

    return ENGINE_CLASSES["interp"]()


def test_a_function_of_a_declared_subtype_links_to_an_import_of_its_supertype() -> None:
    exporter_module = _valid(
        "(module (type $base (sub (func (result anyref)))) (type $sub (sub $base (func (result eqref))))"
        ' (func (export "f") (type $sub) (ref.null eq)))'
    )
    exporter = instantiate(exporter_module, {}, _engine())  # type: ignore[arg-type]
    provided = {("M", "f"): exporter.exports["f"]}
    importer = _valid('(module (type $base (sub (func (result anyref)))) (import "M" "f" (func (type $base))))')
    instantiate(importer, provided, _engine())  # type: ignore[arg-type]
    unrelated = _valid('(module (type $other (sub (func (result eqref)))) (import "M" "f" (func (type $other))))')
    with pytest.raises(LinkError):
        instantiate(unrelated, provided, _engine())  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["interp", "baseline", "native", "tiered"])
def test_a_start_function_whose_type_is_a_subtype_in_a_rec_group(engine: str) -> None:
    """Found by differential fuzzing (binaryen 132 with GC): the start function's type must expand to
    [] -> []; being declared ``sub`` of another type, or in a ``rec`` group, does not change that (the
    validator compared it with a plain ``(func)`` type and refused a module wasmtime runs)."""
    from wasmbox import Instance, Store
    from wasmbox import Module as ApiModule

    source = """(module
      (rec (type $base (sub (func))) (type $start (sub $base (func))))
      (global $ran (export "ran") (mut i32) (i32.const 0))
      (func $init (type $start) (global.set $ran (i32.const 1)))
      (start $init))"""
    validate_module(parse_module_text(source))
    instance = Instance(Store(engine), ApiModule(source))
    assert instance.exports["ran"].value == 1
    with pytest.raises(ValidationError, match="start function must have type"):
        validate_module(parse_module_text("(module (type $t (sub (func (param i32)))) (func (type $t)) (start 0))"))


@pytest.mark.parametrize("engine", ["interp", "baseline", "native", "tiered"])
def test_a_trap_names_its_instruction_after_locals_of_reference_types(engine: str) -> None:
    """Found by wasm-smith against wasmtime-py: the backtrace's byte offsets skipped each local
    declaration as a count and a one-byte type, but ``(ref null $t)`` is two bytes, so a trap in a
    function with such a local raised MalformedError instead of the trap."""
    from wasmbox import Instance, Store, Trap
    from wasmbox import Module as ApiModule

    # (type (func)) x3, (type (struct (field i32))), (func (export "f") (local (ref null 3)) unreachable)
    binary = bytes.fromhex("0061736d01000000010e046000006000006000005f017f0003020100070501016600000a08010601016303000b")
    instance = Instance(Store(engine), ApiModule(binary))
    with pytest.raises(Trap, match="unreachable") as info:
        instance.exports["f"]()
    assert info.value.frames[0].offset == 0x2B  # the unreachable, after the local (ref null 3)
