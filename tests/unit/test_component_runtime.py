"""Running components from Python: lifting, lowering, imports, resources, and agreement with wasmtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wasmbox.component import Component, Err, Ok, Record, ResourceValue, RuntimeResource, Variant
from wasmbox.component.resources import ResourceError
from wasmbox.errors import LinkError, Trap

ALLOCATOR = """
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $r) (local.get 3)))
      (memory.copy (local.get $r) (local.get 0) (local.get 1))  ;; a growing realloc keeps the old bytes
      (local.get $r))
"""

ECHO = f"""(component
  (core module $M
    {ALLOCATOR}
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0))
      (i32.store (i32.const 4) (local.get 1))
      (i32.const 0))
    (func (export "sum") (param $p i32) (param $n i32) (result i32)
      (local $total i32)
      (block $done (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $total (i32.add (local.get $total) (i32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
      (local.get $total))
  )
  (core instance $m (instantiate $M))
  (alias core export $m "mem" (core memory $mem))
  (alias core export $m "realloc" (core func $realloc))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $m "echo") (memory $mem) (realloc $realloc)))
  (func (export "echo16") (param "s" string) (result string)
    (canon lift (core func $m "echo") string-encoding=utf16 (memory $mem) (realloc $realloc)))
  (func (export "echo-compact") (param "s" string) (result string)
    (canon lift (core func $m "echo") string-encoding=latin1+utf16 (memory $mem) (realloc $realloc)))
  (func (export "sum") (param "xs" (list u32)) (result u32)
    (canon lift (core func $m "sum") (memory $mem) (realloc $realloc)))
)"""

TEXTS = ["", "plain", "héllo wörld", "π≈3.14159", "☃☺️öツ", "🍰 emoji 🎉", "x" * 1000]


@pytest.mark.parametrize("export", ["echo", "echo16", "echo-compact"])
def test_strings_round_trip_in_every_encoding(export: str) -> None:
    instance = Component(ECHO).instantiate()
    for text in TEXTS:
        assert instance.exports[export](text) == text


def test_lists_are_lowered_with_realloc() -> None:
    instance = Component(ECHO).instantiate()
    assert instance.exports["sum"]([1, 2, 3, 4]) == 10
    assert instance.exports["sum"]([]) == 0
    assert instance.exports["sum"]([0xFFFFFFFF, 2]) == 1  # u32 arithmetic wraps in the guest


def test_host_values_of_the_wrong_type_are_refused_before_the_call() -> None:
    instance = Component(ECHO).instantiate()
    with pytest.raises(TypeError):
        instance.exports["echo"](b"bytes")
    with pytest.raises(ValueError):
        instance.exports["sum"]([-1])


def test_exports_agree_with_wasmtime() -> None:
    wasmtime = pytest.importorskip("wasmtime")
    from wasmtime import component as wc

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    theirs = wc.Linker(engine).instantiate(store, wc.Component(engine, ECHO))
    ours = Component(ECHO).instantiate()
    for export in ("echo", "echo16", "echo-compact"):
        function = theirs.get_func(store, export)
        for text in TEXTS:
            expected = function(store, text)
            function.post_return(store)
            assert ours.exports[export](text) == expected
    total = theirs.get_func(store, "sum")
    assert ours.exports["sum"]([5, 6, 7]) == total(store, [5, 6, 7])


HOST_CALLS = """(component
  (type $point' (record (field "x" s32) (field "y" s32)))
  (import "point" (type $point (eq $point')))
  (import "norm" (func $norm (param "p" $point) (result u32)))
  (core module $M
    (import "host" "norm" (func $norm (param i32 i32) (result i32)))
    (func (export "go") (param i32 i32) (result i32)
      (call $norm (local.get 0) (local.get 1))))
  (core func $norm' (canon lower (func $norm)))
  (core instance $m (instantiate $M (with "host" (instance (export "norm" (func $norm'))))))
  (func (export "go") (param "p" $point) (result u32) (canon lift (core func $m "go")))
)"""


def test_host_functions_receive_and_return_python_values() -> None:
    seen: list[Any] = []

    def norm(point: Record) -> int:
        seen.append(point)
        return abs(point.x) + abs(point.y)

    instance = Component(HOST_CALLS).instantiate({"point": None, "norm": norm})
    assert instance.exports["go"](Record(x=-3, y=4)) == 7
    assert seen == [Record(x=-3, y=4)]


def test_a_missing_import_is_a_link_error() -> None:
    with pytest.raises(LinkError, match="`norm` was not provided"):
        Component(HOST_CALLS).instantiate({"point": None})


RESOURCES = """(component
  (import "counter" (type $counter (sub resource)))
  (import "bump" (func $bump (param "c" (borrow $counter)) (result u32)))
  (core func $bump' (canon lower (func $bump)))
  (core func $drop-counter (canon resource.drop $counter))
  (core module $M
    (import "" "bump" (func $bump (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (func (export "twice") (param i32) (result i32)
      (local $n i32)
      (drop (call $bump (local.get 0)))
      (local.set $n (call $bump (local.get 0)))
      (call $drop (local.get 0))  ;; a borrow received must be dropped before returning
      (local.get $n))
    (func (export "keep") (param i32) (result i32) (local.get 0)))
  (core instance $m (instantiate $M (with "" (instance (export "bump" (func $bump'))
    (export "drop" (func $drop-counter))))))
  (func (export "keep") (param "c" (borrow $counter)) (result u32) (canon lift (core func $m "keep")))
  (func (export "twice") (param "c" (borrow $counter)) (result u32) (canon lift (core func $m "twice")))

  (type $box' (resource (rep i32)))
  (export $box "box" (type $box'))
  (core func $new (canon resource.new $box'))
  (core func $rep (canon resource.rep $box'))
  (core module $B
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "rep" (func $rep (param i32) (result i32)))
    (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
    (func (export "peek") (param i32) (result i32) (local.get 0)))
  (core instance $b (instantiate $B (with "" (instance (export "new" (func $new)) (export "rep" (func $rep))))))
  (func (export "make") (param "v" u32) (result (own $box)) (canon lift (core func $b "make")))
  (func (export "peek") (param "b" (borrow $box)) (result u32) (canon lift (core func $b "peek")))
)"""


def test_host_resources_are_lent_and_guest_resources_come_back_as_values() -> None:
    counter = RuntimeResource("counter")
    counts = {7: 0}

    def bump(handle: ResourceValue) -> int:
        counts[handle.rep] += 1
        return counts[handle.rep]

    instance = Component(RESOURCES).instantiate({"counter": counter, "bump": bump})
    assert instance.exports["twice"](ResourceValue(counter, 7)) == 2
    assert instance.exports["twice"](ResourceValue(counter, 7)) == 4
    box = instance.exports["make"](41)
    assert isinstance(box, ResourceValue) and box.rep == 41
    assert instance.exports["peek"](box) == 41  # the implementer gets the representation of a borrow
    with pytest.raises(TypeError, match="resource of type"):
        instance.exports["peek"](ResourceValue(counter, 7))
    with pytest.raises(Trap, match="borrow handles still remain"):
        instance.exports["keep"](ResourceValue(counter, 7))


def test_a_trap_poisons_the_instance() -> None:
    text = """(component
      (core module $M (func (export "boom") unreachable) (func (export "fine") (result i32) (i32.const 1)))
      (core instance $m (instantiate $M))
      (func (export "boom") (canon lift (core func $m "boom")))
      (func (export "fine") (result u32) (canon lift (core func $m "fine"))))"""
    instance = Component(text).instantiate()
    with pytest.raises(Trap, match="unreachable"):
        instance.exports["boom"]()
    with pytest.raises(Trap, match="cannot enter component instance"):
        instance.exports["fine"]()


def test_results_raise_err_at_the_top_level_and_stay_values_inside() -> None:
    text = """(component
      (core module $M (memory (export "mem") 1)
        (func (export "r") (param i32) (result i32)
          (if (local.get 0) (then
            (i32.store (i32.const 16) (i32.const 1))
            (i32.store (i32.const 20) (local.get 0))
            (return (i32.const 16))))
          (i32.store (i32.const 8) (i32.const 0))
          (i32.store (i32.const 12) (i32.const 42))
          (i32.const 8)))
      (core instance $m (instantiate $M))
      (func (export "r") (param "x" u32) (result (result u32 (error u32)))
        (canon lift (core func $m "r") (memory (core memory $m "mem")))))"""
    exported = Component(text).instantiate().exports["r"]
    assert exported.call_values([0]) == [Ok(42)]
    assert exported.call_values([5]) == [Err(5)]
    assert exported(0) == 42
    with pytest.raises(Err) as raised:
        exported(9)
    assert raised.value.value == 9


def test_variants_lift_to_variant_values() -> None:
    text = """(component
      (core module $M (func (export "v") (param i32) (result i32) (local.get 0)))
      (core instance $m (instantiate $M))
      (type $v' (variant (case "none") (case "some-more")))
      (export $v "choice" (type $v'))
      (func (export "v") (param "x" u32) (result $v) (canon lift (core func $m "v"))))"""
    exported = Component(text).instantiate().exports["v"]
    assert exported(1) == Variant("some-more")
    with pytest.raises(Trap, match="invalid variant discriminant"):
        exported(2)


def test_the_host_owns_what_an_export_returns_and_drops_it_once() -> None:
    """An owned guest resource returned to Python runs its destructor on ``drop()``, once; passing it on moves it."""
    sinks: dict[int, str] = {}
    dropped_sinks: list[str] = []
    sink = RuntimeResource("sink", destructor=lambda rep: dropped_sinks.append(sinks.pop(rep)))

    def new_sink(name: str) -> ResourceValue:
        sinks[len(sinks) + 1] = name
        return ResourceValue(sink, len(sinks))

    log = {"sink": sink, "[constructor]sink": new_sink, "open": new_sink, "[method]sink.write": lambda s, m: 1}
    path = Path(__file__).parent / "components" / "counters.wat"
    api = Component.from_file(path).instantiate({"demo:counters/log": log}).exports["demo:counters/api"]
    counter = api["[constructor]counter"](5)
    assert api["[method]counter.add"](counter, 2) == 7
    counter.drop()
    assert api["dropped"]() == 1 and dropped_sinks == ["counter"]  # its destructor dropped the host's sink too
    with pytest.raises(ResourceError, match="dropped or passed on"):
        counter.drop()
    other = api["[static]counter.zero"]()
    with pytest.raises(ResourceError, match="dropped or passed on"):
        ResourceValue(other.resource, other.rep + 8).drop()  # a representation the host never received
    assert api["dropped"]() == 1


def test_the_host_cannot_lend_a_guest_resource_it_dropped() -> None:
    """A method call on a dropped guest resource is refused before the guest sees its representation (the
    component oracle found wasmbox calling the method with the freed rep; wasmtime refuses the handle)."""
    sink = RuntimeResource("sink")

    def new_sink(name: str) -> ResourceValue:
        return ResourceValue(sink, 1)

    log = {"sink": sink, "[constructor]sink": new_sink, "open": new_sink, "[method]sink.write": lambda s, m: 1}
    path = Path(__file__).parent / "components" / "counters.wat"
    api = Component.from_file(path).instantiate({"demo:counters/log": log}).exports["demo:counters/api"]
    counter = api["[constructor]counter"](5)
    assert api["[method]counter.add"](counter, 2) == 7  # lent while held: fine
    counter.drop()
    with pytest.raises(ResourceError, match="to lend: it was dropped or passed on"):
        api["[method]counter.add"](counter, 1)
    assert api["dropped"]() == 1  # and the refusal did not enter the instance: it still answers
