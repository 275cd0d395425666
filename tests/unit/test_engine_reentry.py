"""Wasm called again from a host function on the same instance, and exception-reference globals, on every engine.

Both were found by the Wasm 3.0 differential fuzzer against wasmtime (``tests/fuzz/differential3.py``):

- A trap unwinds machine code without giving its frames back; the entry wrapper of a call
  *from Python* restores the store's count, but wasm re-entered from a host function used to
  leave the instance's native depth where the inner trap ended.  The native frames below went on
  from there: a later trap's backtrace read ring entries of dead frames (an ``IndexError`` out
  of a call that should have trapped) and enough inner traps made ``call stack exhausted`` out
  of a shallow call.
- An ``exnref`` global had no native cell (its pointer was 0): ``global.get`` of it in machine
  code segfaulted the host process.
"""

from __future__ import annotations

import pytest

from wasmbox import ENGINES, Func, FuncType, Instance, Module, Store
from wasmbox.errors import Trap
from wasmbox.ir.types import I32, I64

REENTRY = """(module
  (import "host" "again" (func $again (param i32) (result i32)))
  (func $dive (export "dive") (param $n i32)
    (if (i32.eqz (local.get $n)) (then unreachable))
    (call $dive (i32.sub (local.get $n) (i32.const 1))))
  ;; Asks the host $times times to dive $deep frames and trap (the host catches each trap), then
  ;; traps itself $deep frames further down: the backtrace must be of live frames.
  (func $outer (export "outer") (param $times i32) (param $deep i32) (result i32) (local $caught i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $times)))
      (local.set $caught (i32.add (local.get $caught) (call $again (local.get $deep))))
      (local.set $times (i32.sub (local.get $times) (i32.const 1)))
      (br $l)))
    (local.get $caught))
  (func (export "outer-then-trap") (param $times i32) (param $deep i32)
    (drop (call $outer (local.get $times) (local.get $deep)))
    (call $dive (local.get $deep)))
)"""


def reentry_instance(engine: str, max_call_depth: int) -> Instance:
    store = Store(engine, max_call_depth=max_call_depth)
    holder: dict[str, Instance] = {}

    def again(deep: int) -> int:
        try:
            holder["instance"].exports["dive"](deep)
        except Trap:
            return 1
        return 0

    imports = {"host": {"again": Func(store, FuncType((I32,), (I32,)), again)}}
    instance = Instance(store, Module(REENTRY), imports)
    holder["instance"] = instance
    return instance


@pytest.mark.parametrize("engine", ENGINES)
def test_traps_in_reentered_wasm_give_their_frames_back(engine: str) -> None:
    """100 inner traps 50 frames deep under a limit of 1,000 frames: none of them counts afterwards."""
    instance = reentry_instance(engine, max_call_depth=1_000)
    assert instance.exports["outer"](100, 50) == 100


@pytest.mark.parametrize("engine", ENGINES)
def test_a_trap_after_reentered_traps_is_an_ordinary_trap(engine: str) -> None:
    instance = reentry_instance(engine, max_call_depth=1_000)
    with pytest.raises(Trap) as caught:
        instance.exports["outer-then-trap"](5, 20)
    assert caught.value.kind == "unreachable"
    # The 21 frames of the final dive, then the exported function that made it (func[3], unnamed).
    names = [frame.name for frame in caught.value.frames]
    assert names == ["$dive"] * 21 + ["func[3]"], names


EXNREF_GLOBALS = """(module
  (tag $e (param i32))
  (global $none exnref (ref.null exn))
  (global $kept (mut exnref) (ref.null exn))
  (func (export "none-is-null") (result i32) (ref.is_null (global.get $none)))
  (func (export "keep") (param $v i32)
    (global.set $kept
      (block $h (result exnref)
        (try_table (catch_all_ref $h) (throw $e (local.get $v)))
        unreachable)))
  (func (export "kept-is-null") (result i32) (ref.is_null (global.get $kept)))
  (func (export "rethrow-kept") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (throw_ref (global.get $kept)))
      unreachable))
)"""


@pytest.mark.parametrize("engine", ENGINES)
def test_exception_reference_globals(engine: str) -> None:
    instance = Instance(Store(engine), Module(EXNREF_GLOBALS, features="all"), {})
    exports = instance.exports
    assert exports["none-is-null"]() == 1
    assert exports["kept-is-null"]() == 1
    exports["keep"](42)
    assert exports["kept-is-null"]() == 0
    assert exports["rethrow-kept"]() == 42


def globals_module(count: int) -> str:
    """``count`` mutable globals; ``bump`` adds one to each, asks the host for a sum of them (which the host reads
    through the exported globals) and sets global 0 to what the host returned, which it then reads back."""
    fields = "\n".join(f'  (global $g{i} (export "g{i}") (mut i64) (i64.const {i}))' for i in range(count))
    bumps = "\n".join(f"    (global.set $g{i} (i64.add (global.get $g{i}) (i64.const 1)))" for i in range(count))
    return f"""(module
  (import "host" "look" (func $look (result i64)))
{fields}
  (func (export "bump") (result i64)
{bumps}
    (global.set $g0 (call $look))
    (global.get $g0)))"""


@pytest.mark.parametrize("count", [4, 40])  # below and above PRIVATE_GLOBALS_LIMIT: private copies or shared cells
@pytest.mark.parametrize("engine", [*ENGINES, "native-lazy"])
def test_globals_agree_across_host_calls(engine: str, count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    if engine == "native-lazy":  # machine code from the first call, function by function, as the tiers make it
        native_engine = pytest.importorskip("wasmbox.engines.native.engine")
        from wasmbox.engines import tiers

        monkeypatch.setattr(native_engine, "LAZY_FUNCTIONS", 0)
        monkeypatch.setattr(tiers, "native_at_first_call", lambda index: True)
        monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 1)
        engine = "native"
    store = Store(engine)
    holder: dict[str, Instance] = {}

    def look() -> int:
        exports = holder["instance"].exports
        total = sum(int(exports[f"g{i}"].value) for i in range(count))  # type: ignore[union-attr]
        exports["g1"].value = 1000  # type: ignore[union-attr]
        return total

    imports = {"host": {"look": Func(store, FuncType((), (I64,)), look)}}
    instance = Instance(store, Module(globals_module(count)), imports)
    holder["instance"] = instance
    first = sum(range(count)) + count  # every global bumped once before the host looks
    assert instance.exports["bump"]() == first
    assert instance.exports["g1"].value == 1000  # type: ignore[union-attr]
    assert instance.exports["g0"].value == first  # type: ignore[union-attr]
    # Again: the host's write to g1 and wasm's to g0 are both what the next call starts from.
    second = (first + 1) + 1001 + sum(i + 2 for i in range(2, count))
    assert instance.exports["bump"]() == second
