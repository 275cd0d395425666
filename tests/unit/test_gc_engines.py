"""GC's instructions (issue 15) on the engines: objects, packed fields, traps with the spec's
messages, casts across modules, the any/extern conversions, constant expressions, the host API
keeping objects' identity, and the validator's rules for the new instructions."""

from __future__ import annotations

import pytest

from wasmbox import Instance, Module, Store, Trap
from wasmbox.errors import ValidationError
from wasmbox.runtime import gc_heap
from wasmbox.text.parser import parse_module_text
from wasmbox.validate import validate_module

ENGINES = ["interp", "baseline", "native", "tiered"]

SOURCE = """(module
  (type $point (struct (field $x (mut i32)) (field $tag i8) (field $next (mut (ref null $point)))))
  (type $bytes (array (mut i8)))
  (type $base (sub (struct (field i32))))
  (type $derived (sub $base (struct (field i32) (field f64))))
  (global $origin (ref $point) (struct.new $point (i32.const 7) (i32.const 200) (ref.null $point)))
  (data $hello "\\01\\ff\\80")
  (func (export "make") (param i32) (result (ref $point))
    (struct.new $point (local.get 0) (i32.const -1) (global.get $origin)))
  (func (export "x") (param (ref null $point)) (result i32) (struct.get $point $x (local.get 0)))
  (func (export "tag_s") (param (ref $point)) (result i32) (struct.get_s $point $tag (local.get 0)))
  (func (export "tag_u") (param (ref $point)) (result i32) (struct.get_u $point $tag (local.get 0)))
  (func (export "bump") (param (ref $point)) (struct.set $point $x (local.get 0)
    (i32.add (struct.get $point $x (local.get 0)) (i32.const 1))))
  (func (export "bytes") (result (ref $bytes)) (array.new_data $bytes $hello (i32.const 0) (i32.const 3)))
  (func (export "byte_s") (param (ref $bytes) i32) (result i32) (array.get_s $bytes (local.get 0) (local.get 1)))
  (func (export "length") (param (ref null array)) (result i32) (array.len (local.get 0)))
  (func (export "is_base") (param anyref) (result i32) (ref.test (ref $base) (local.get 0)))
  (func (export "derived") (result anyref) (struct.new $derived (i32.const 1) (f64.const 2)))
  (func (export "as_derived") (param anyref) (result (ref $derived)) (ref.cast (ref $derived) (local.get 0)))
  (func (export "i31") (param i32) (result i32) (i31.get_s (ref.i31 (local.get 0))))
  (func (export "same") (param eqref eqref) (result i32) (ref.eq (local.get 0) (local.get 1)))
  (func (export "round_trip") (param externref) (result externref)
    (extern.convert_any (any.convert_extern (local.get 0))))
  (func (export "outside") (param anyref) (result externref) (extern.convert_any (local.get 0)))
  (func (export "inside") (param externref) (result anyref) (any.convert_extern (local.get 0)))
  (func (export "kind") (param anyref) (result i32)
    (block $not_struct (result anyref)
      (br_on_cast_fail $not_struct anyref (ref struct) (local.get 0))
      (drop)
      (return (i32.const 1)))
    (drop)
    (i32.const 0))
)"""


def _instance(engine: str) -> Instance:
    if engine == "native":
        from wasmbox.engines.native import available

        if not available():
            pytest.skip("the native engine needs llvmlite")
    return Instance(Store(engine), Module(SOURCE), {})


@pytest.mark.parametrize("engine", ENGINES)
def test_structs_hold_their_fields_and_keep_identity_through_python(engine: str) -> None:
    exports = _instance(engine).exports
    point = exports["make"](41)
    assert isinstance(point, gc_heap.Struct)
    assert exports["x"](point) == 41
    exports["bump"](point)
    assert exports["x"](point) == 42  # the same object, changed in place
    assert exports["same"](point, point) == 1 and exports["same"](point, exports["make"](42)) == 0
    assert exports["tag_s"](point) == -1 and exports["tag_u"](point) == 255  # an i8 field holds -1 as 0xff


@pytest.mark.parametrize("engine", ENGINES)
def test_traps_carry_the_spec_messages(engine: str) -> None:
    exports = _instance(engine).exports
    with pytest.raises(Trap, match="null structure reference"):
        exports["x"](None)
    with pytest.raises(Trap, match="null array reference"):
        exports["length"](None)
    with pytest.raises(Trap, match="out of bounds array access"):
        exports["byte_s"](exports["bytes"](), 3)
    with pytest.raises(Trap, match="cast failure"):
        exports["as_derived"](exports["make"](1))


@pytest.mark.parametrize("engine", ENGINES)
def test_arrays_from_data_casts_i31_and_conversions(engine: str) -> None:
    exports = _instance(engine).exports
    array = exports["bytes"]()
    assert [exports["byte_s"](array, i) for i in range(3)] == [1, -1, -128]
    assert exports["length"](array) == 3
    derived = exports["derived"]()
    assert exports["is_base"](derived) == 1 and exports["is_base"](exports["make"](0)) == 0
    assert exports["as_derived"](derived) is derived
    assert exports["i31"](0x7FFFFFFF) == -1 and exports["i31"](5) == 5
    host_value = object()
    assert exports["round_trip"](host_value) is host_value
    assert exports["inside"](exports["outside"](derived)) is derived
    assert exports["kind"](derived) == 1 and exports["kind"](exports["inside"](host_value)) == 0


def test_a_cast_to_another_modules_equivalent_type_succeeds() -> None:
    store = Store("interp")
    group = "(rec (type $a (sub (struct (field (ref null $b))))) (type $b (struct (field (ref null $a)))))"
    make = '(func (export "make") (result anyref) (struct.new_default $a))'
    maker = Instance(store, Module(f"(module {group} {make})"), {})
    tests = (
        '(func (export "test") (param anyref) (result i32) (ref.test (ref $a) (local.get 0)))'
        ' (func (export "test_b") (param anyref) (result i32) (ref.test (ref $b) (local.get 0)))'
    )
    tester = Instance(store, Module(f"(module (type (func)) {group} {tests})"), {})
    made = maker.exports["make"]()
    assert tester.exports["test"](made) == 1 and tester.exports["test_b"](made) == 0


def test_the_host_cannot_pass_a_plain_python_object_as_a_gc_reference() -> None:
    exports = _instance("interp").exports
    with pytest.raises(TypeError, match="GC reference"):
        exports["x"](object())
    with pytest.raises(TypeError, match="GC reference"):
        exports["x"](exports["bytes"]())  # an array where a $point is expected


@pytest.mark.parametrize(
    "body",
    [
        "(struct.set $p 0 (struct.new_default $p) (i32.const 1))",  # immutable field
        "(drop (struct.get $p 1 (struct.new_default $p)))",  # packed field without a sign
        "(drop (struct.get_s $p 0 (struct.new_default $p)))",  # unpacked field with a sign
        "(drop (array.new_default $refs (i32.const 1)))",  # non-nullable elements have no default
        "(drop (ref.cast (ref $p) (ref.null extern)))",  # another hierarchy
        "(drop (array.new_data $refs 0 (i32.const 0) (i32.const 0)))",  # references from bytes
        "(drop (struct.new $p (i32.const 1)))",  # too few operands
    ],
)
def test_the_validator_refuses_misused_gc_instructions(body: str) -> None:
    module = parse_module_text(
        f'(module (type $p (struct (field i32) (field i8))) (type $refs (array (ref any))) (data "x") (func {body}))'
    )
    with pytest.raises(ValidationError):
        validate_module(module)


def test_a_loop_allocating_structs_keeps_python_memory_bounded() -> None:
    """Short-lived structs are freed as they die (reference counting): the live object count after
    100,000 allocations is what it was after 1,000."""
    import gc

    instance = Instance(Store("interp"), Module(SOURCE), {})
    make = instance.exports["make"]

    def live_structs() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, gc_heap.Struct))

    for _ in range(1_000):
        make(1)
    before = live_structs()
    for _ in range(100_000):
        make(1)
    assert live_structs() <= before
