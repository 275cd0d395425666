"""The baseline interpreter takes a throw that its own function catches as a branch.

Guests throw and catch by the million (a parser's error path, C++ unwinding);
raising a Python exception for each costs more than the rest of the round, so a
``throw`` whose catching clause is known where it is prepared moves the payload
and branches, making an exception object only when a ``catch_ref`` needs the
exnref.  These tests count the exception objects made, and check the values.
"""

from __future__ import annotations

from typing import Any

import pytest

from wasmbox import Instance, Module, Store
from wasmbox.errors import WasmException

SOURCE = """(module
  (tag $e (param i32))
  (tag $other)
  (func $thrower (param i32) (throw $e (local.get 0)))
  (func (export "catch") (param $n i32) (result i32) (local $sum i32)
    (loop $l
      (block $h (result i32)
        (try_table (catch $e $h) (throw $e (local.get $n)))
        (unreachable))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  (func (export "catch-ref") (param $n i32) (result i32) (local $sum i32)
    (loop $l
      (block $h (result i32 exnref)
        (try_table (catch_ref $e $h) (throw $e (local.get $n)))
        (unreachable))
      (drop)
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  (func (export "from-callee") (param $n i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $thrower (local.get $n)))
      (i32.const -1)))
  (func (export "not-caught-here") (param $n i32)
    (block $h
      (try_table (catch $other $h) (throw $e (local.get $n)))))
)"""


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The tags of the WasmException objects made while the test runs."""
    tags: list[object] = []
    original = WasmException.__init__

    def counting(self: WasmException, tag: object, payload: tuple[object, ...]) -> None:
        tags.append(tag)
        original(self, tag, payload)

    monkeypatch.setattr(WasmException, "__init__", counting)
    return tags


def exports() -> Any:
    return Instance(Store("baseline"), Module(SOURCE), {}).exports


def test_a_throw_caught_by_its_own_function_makes_no_exception_object(made: list[object]) -> None:
    assert exports()["catch"](100) == 5050
    assert made == []


def test_catch_ref_makes_the_exnref_without_raising_it(made: list[object]) -> None:
    assert exports()["catch-ref"](10) == 55
    assert len(made) == 10


def test_a_throw_from_a_callee_is_still_caught(made: list[object]) -> None:
    assert exports()["from-callee"](7) == 7
    assert len(made) == 1


def test_a_throw_no_clause_of_its_function_catches_reaches_the_host(made: list[object]) -> None:
    with pytest.raises(WasmException) as raised:
        exports()["not-caught-here"](3)
    assert raised.value.payload == (3,)
    assert len(made) == 1
