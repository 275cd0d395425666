"""``table.set`` in machine code: the mirror written directly, the table's elements kept the same.

Machine code writes a funcref table's mirror entry itself and logs the write;
the host applies the log whenever Python code could look (every callback, every
return from machine code).  These tests pin what every observer must see: the
host's ``Table``, a host function called mid-run, another instance sharing the
table, ``table.get``/``table.grow`` after the writes, traps, and more writes in
one call than the log holds.
"""

from __future__ import annotations

from typing import Any

import pytest

from wasmbox import Func, FuncType, Instance, Module, Store, Table
from wasmbox.engines.native import available
from wasmbox.errors import Trap
from wasmbox.ir.types import I32

pytestmark = pytest.mark.skipif(not available(), reason="the native engine needs llvmlite")

WRITER = """(module
  (import "host" "peek" (func $peek (param i32) (result i32)))
  (import "host" "five" (func $five (result i32)))
  (table $t (export "table") 1000 funcref)
  (type $r (func (result i32)))
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (elem declare func $one $two $five)
  (func (export "set") (param $i i32) (param $which i32)
    (table.set $t (local.get $i)
      (if (result funcref) (local.get $which) (then (ref.func $one)) (else (ref.func $two)))))
  (func (export "set-host") (param $i i32) (table.set $t (local.get $i) (ref.func $five)))
  (func (export "fill") (param $n i32) (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (table.set $t (local.get $i) (ref.func $one))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
  (func (export "call") (param $i i32) (result i32) (call_indirect $t (type $r) (local.get $i)))
  (func (export "set-then-peek") (param $i i32) (result i32)
    (table.set $t (local.get $i) (ref.func $two))
    (call $peek (local.get $i)))
  (func (export "clear") (param $i i32) (table.set $t (local.get $i) (ref.null func)))
  (func (export "copy-through-get") (param $from i32) (param $to i32) (result i32)
    (table.set $t (local.get $from) (ref.func $two))
    (table.set $t (local.get $to) (table.get $t (local.get $from)))
    (call_indirect $t (type $r) (local.get $to)))
  (func (export "set-then-set-at") (param $i i32)
    (table.set $t (i32.const 0) (ref.func $two))
    (table.set $t (local.get $i) (ref.func $two)))
  (func (export "set-then-grow") (result i32)
    (table.set $t (i32.const 5) (ref.func $two))
    (table.grow $t (ref.null func) (i32.const 10)))
)"""

SHARER = """(module
  (import "writer" "table" (table $t 1000 funcref))
  (type $r (func (result i32)))
  (func $three (result i32) (i32.const 3))
  (elem declare func $three)
  (func (export "set") (param $i i32) (table.set $t (local.get $i) (ref.func $three)))
  (func (export "call") (param $i i32) (result i32) (call_indirect $t (type $r) (local.get $i)))
)"""


def writer(store: Store) -> tuple[dict[str, Any], Table]:
    holder: dict[str, Table] = {}

    def peek(index: int) -> int:
        function = holder["table"].get(index)
        return -1 if function is None else int(function())  # type: ignore[operator]

    imports = {
        "host": {
            "peek": Func(store, FuncType((I32,), (I32,)), peek),
            "five": Func(store, FuncType((), (I32,)), lambda: 5),
        }
    }
    exports = Instance(store, Module(WRITER), imports).exports
    table = exports["table"]
    assert isinstance(table, Table)
    holder["table"] = table
    return exports, table  # type: ignore[return-value]


def value_at(table: Table, index: int) -> int | None:
    function = table.get(index)
    return None if function is None else int(function())  # type: ignore[operator]


def test_the_host_sees_what_machine_code_wrote() -> None:
    exports, table = writer(Store("native"))
    exports["set"](7, 1)
    assert value_at(table, 7) == 1
    exports["set"](7, 0)
    assert value_at(table, 7) == 2
    assert exports["call"](7) == 2
    exports["set-host"](8)
    assert exports["call"](8) == 5 and value_at(table, 8) == 5


def test_a_host_function_called_after_the_write_sees_it() -> None:
    exports, _ = writer(Store("native"))
    assert exports["set-then-peek"](3) == 2


def test_more_writes_in_one_call_than_the_log_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    from wasmbox.engines.native import host
    from wasmbox.engines.native.abi import LOG_CAPACITY

    logged: list[int] = []
    apply_log = host.MirrorState.apply_log

    def counting(state: host.MirrorState) -> None:
        logged.append(state.mirror.log_count)
        apply_log(state)

    exports, table = writer(Store("native"))
    monkeypatch.setattr(host.MirrorState, "apply_log", counting)
    exports["fill"](1000)
    monkeypatch.undo()
    assert [value_at(table, i) for i in range(1000)] == [1] * 1000
    # Each full log hands one write to the host, which applies the log first; the rest were logged.
    assert sum(logged) == 1000 - 1000 // (LOG_CAPACITY + 1)


def test_null_written_by_machine_code() -> None:
    exports, table = writer(Store("native"))
    exports["set"](4, 1)
    exports["clear"](4)
    assert table.get(4) is None
    with pytest.raises(Trap, match="uninitialized element"):
        exports["call"](4)


def test_table_get_and_grow_after_machine_code_writes() -> None:
    exports, table = writer(Store("native"))
    assert exports["copy-through-get"](1, 2) == 2
    assert value_at(table, 2) == 2
    assert exports["set-then-grow"]() == 1000
    assert table.size == 1010 and value_at(table, 5) == 2 and table.get(1005) is None
    exports["set"](1009, 1)
    assert exports["call"](1009) == 1 and value_at(table, 1009) == 1


def test_a_write_out_of_bounds_traps_after_the_writes_before_it() -> None:
    exports, table = writer(Store("native"))
    with pytest.raises(Trap, match="out of bounds table access"):
        exports["set-then-set-at"](1000)
    assert value_at(table, 0) == 2


def test_host_writes_reach_machine_code() -> None:
    exports, table = writer(Store("native"))
    exports["set"](6, 1)
    table.set(6, table.get(8))  # null
    with pytest.raises(Trap, match="uninitialized element"):
        exports["call"](6)
    exports["set"](9, 0)
    table.set(6, table.get(9))
    assert exports["call"](6) == 2


@pytest.mark.parametrize("engine", ["native", "baseline"])
def test_instances_sharing_the_table_see_each_others_writes(engine: str) -> None:
    store = Store("native")
    exports, table = writer(store)
    sharer: Any = Instance(
        store if engine == "native" else Store(engine), Module(SHARER), {"writer": {"table": table}}
    ).exports
    sharer["set"](20)
    assert exports["call"](20) == 3
    exports["set"](21, 1)
    assert sharer["call"](21) == 1
    assert value_at(table, 20) == 3 and value_at(table, 21) == 1


def test_writes_stay_right_after_functions_code_moved() -> None:
    from wasmbox.engines.native.host import mark_mirrors_stale

    exports, table = writer(Store("native"))
    exports["set"](30, 1)
    mark_mirrors_stale()  # as when a tiered module's function becomes machine code
    exports["set"](31, 0)
    exports["set"](32, 1)
    assert [exports["call"](i) for i in (30, 31, 32)] == [1, 2, 1]
    assert [value_at(table, i) for i in (30, 31, 32)] == [1, 2, 1]
