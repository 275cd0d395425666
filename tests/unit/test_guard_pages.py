"""Guard pages (runtime.guards): machine code's out-of-bounds accesses caught by the MMU.

What must hold: every out-of-bounds load and store still traps, at the memory's current size, for
any index and static offset; what was stored before a trapping access is in memory (the spec's
order); a trap comes back through host calls and threads as any other; a fault that is not wasm's
still ends the process with the report it would have had; and turning guard pages off works.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from wasmbox import Func, FuncType, Instance, Module, Store, Trap
from wasmbox.engines.native import available
from wasmbox.ir.types import I32
from wasmbox.runtime import guards

pytestmark = [
    pytest.mark.skipif(not available(), reason="the native engine needs llvmlite"),
    pytest.mark.skipif(not guards.enabled(), reason="no guard pages here (x86-64 Linux, WASMBOX_GUARD_PAGES)"),
]

ACCESSES = """(module
  (import "h" "inner" (func $inner (param i32) (result i32)))
  (memory (export "m") 1)
  (func $leaf (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load") (param i32) (result i32) (call $leaf (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load_far") (param i32) (result i32) (i32.load offset=0x7ffffff0 (local.get 0)))
  (func (export "load_beyond") (param i32) (result i32) (i32.load offset=0x80000000 (local.get 0)))
  (func (export "store_then") (param i32)
    (i32.store (i32.const 16) (i32.const 7))
    (i64.store (local.get 0) (i64.const -1))
    (i32.store (i32.const 20) (i32.const 9)))
  (func (export "fill") (param i32)
    (local $i i32)
    (loop $l
      (i32.store8 (local.get $i) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get 0)))))
  (func (export "dropped") (param i32) (drop (i64.load (local.get 0))))
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  (func (export "via_host") (param i32) (result i32) (call $inner (local.get 0))))"""


def accesses(store: Store, inner: object = None) -> dict[str, object]:
    if inner is None:
        inner = Func(store, FuncType([I32], [I32]), lambda address: address)
    instance = Instance(store, Module(ACCESSES, "accesses.wat"), {"h": {"inner": inner}})
    return dict(instance.exports)


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("load", 65533),
        ("load", 65536),
        ("load", 0xFFFFFFFF),
        ("load8", 65536),
        ("load_far", 0),
        ("load_far", 0xFFFFFFFF),
        ("load_beyond", 0),
        ("dropped", 65529),
        ("store_then", 65529),
    ],
)
def test_every_out_of_bounds_access_traps(name: str, address: int) -> None:
    exports = accesses(Store("native"))
    with pytest.raises(Trap, match="out of bounds memory access"):
        exports[name](address)  # type: ignore[operator]


def test_the_bounds_move_with_the_size() -> None:
    exports = accesses(Store("native"))
    assert exports["load8"](65535) == 0  # type: ignore[operator]
    with pytest.raises(Trap):
        exports["load8"](65536)  # type: ignore[operator]
    assert exports["grow"]() == 1  # type: ignore[operator]
    assert exports["load8"](131071) == 0  # type: ignore[operator]
    with pytest.raises(Trap):
        exports["load8"](131072)  # type: ignore[operator]


def test_what_was_stored_before_the_trap_is_in_memory() -> None:
    """Guarded accesses are volatile: none moves past another, so the spec's memory after a trap."""
    exports = accesses(Store("native"))
    memory = exports["m"]
    with pytest.raises(Trap):
        exports["store_then"](65530)  # type: ignore[operator]
    assert memory.read(16, 8) == (7).to_bytes(4, "little") + bytes(4)  # type: ignore[attr-defined]
    with pytest.raises(Trap):
        exports["fill"](70000)  # type: ignore[operator]
    assert memory.read(65530, 6) == b"\1" * 6  # type: ignore[attr-defined]
    assert memory.read(0, 16) == b"\1" * 16  # type: ignore[attr-defined]


def test_a_guard_trap_names_its_frames() -> None:
    """The faulting function from the faulting instruction, at its own depth (a leaf below its caller),
    and the instruction from the code's line table (position_lines)."""
    exports = accesses(Store("native"))
    with pytest.raises(Trap) as info:
        exports["load"](70000)  # type: ignore[operator]
    assert info.value.backtrace == ["$leaf", "func[2]"]
    inner, outer = info.value.frames
    assert inner.offset is not None and inner.line == 4  # i32.load in $leaf
    assert outer.offset is not None and outer.line == 5


# Loads x86 would fold into their users, narrow and float loads, stores, a load in a loop, deep in
# a call chain and in a tail call's body: each trap must name the access as the tested engines do.
SHAPES = """(module
  (memory 1)
  (func (export "folded") (param i32 i32) (result i32)
    (i32.mul (i32.add (local.get 1) (i32.load (local.get 0))) (local.get 1)))
  (func (export "second_operand") (param i32 i32) (result i32)
    (i32.add (i32.load (local.get 1)) (i32.load offset=8 (local.get 0))))
  (func (export "narrow") (param i32) (result i64)
    (i64.add (i64.load8_s (i32.const 0)) (i64.load32_u offset=2 (local.get 0))))
  (func (export "compare") (param i32) (result i32)
    (i32.eq (i32.load8_u (local.get 0)) (i32.const 5)))
  (func (export "float") (param i32) (result f64)
    (f64.add (f64.const 1.5) (f64.load offset=16 (local.get 0))))
  (func (export "store16") (param i32 i32)
    (i32.store16 (local.get 0) (i32.add (local.get 1) (i32.load (i32.const 4)))))
  (func (export "sum") (param i32) (result i32)
    (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
    (local.get $s))
  (func $deep (param i32 i32) (result i32)
    (if (result i32) (local.get 1)
      (then (call $deep (local.get 0) (i32.sub (local.get 1) (i32.const 1))))
      (else (i64.load offset=1 (local.get 0)) (i32.wrap_i64))))
  (func (export "deep") (param i32) (result i32) (call $deep (local.get 0) (i32.const 5)))
  (func $tail (param i32) (result i32) (i32.load16_u (local.get 0)))
  (func (export "tail") (param i32) (result i32) (return_call $tail (local.get 0))))"""


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("folded", (65534, 3)),
        ("second_operand", (65530, 4)),
        ("second_operand", (4, 65534)),
        ("narrow", (65533,)),
        ("compare", (65536,)),
        ("float", (65530,)),
        ("store16", (65535, 1)),
        ("sum", (65540,)),
        ("deep", (65530,)),
        ("tail", (65535,)),
    ],
)
def test_a_guard_trap_names_the_access_as_tested_code_does(name: str, args: tuple[int, ...]) -> None:
    module = Module(SHAPES, "shapes.wat")
    frames = {}
    for engine in ("native", "interp"):
        store = Store(engine)
        exports = dict(Instance(store, module, {}).exports)
        with pytest.raises(Trap, match="out of bounds memory access") as info:
            exports[name](*args)  # type: ignore[operator]
        frames[engine] = [(f.name, f.offset, f.line) for f in info.value.frames]
    assert frames["native"] == frames["interp"]
    assert all(offset is not None for _, offset, _ in frames["native"])


def test_traps_cross_host_calls() -> None:
    """wasm -> host -> wasm: the inner trap is the inner call's; caught by the host, the outer call goes on."""
    store = Store("native")
    inner_exports: dict[str, object] = {}

    def inner(address: int) -> int:
        try:
            return int(inner_exports["load"](address))  # type: ignore[operator]
        except Trap:
            return -1

    inner_exports.update(accesses(store))
    outer = accesses(store, Func(store, FuncType([I32], [I32]), inner))
    assert outer["via_host"](8) == 0  # type: ignore[operator]
    assert outer["via_host"](70000) == -1  # type: ignore[operator]

    def rethrow(address: int) -> int:
        return int(inner_exports["load"](address))  # type: ignore[operator]

    outer = accesses(store, Func(store, FuncType([I32], [I32]), rethrow))
    with pytest.raises(Trap, match="out of bounds"):
        outer["via_host"](70000)  # type: ignore[operator]
    assert outer["via_host"](4) == 0  # type: ignore[operator]


def test_threads_trap_on_their_own() -> None:
    failures: list[str] = []

    def work() -> None:
        exports = accesses(Store("native"))
        for round_ in range(300):
            try:
                exports["load"](70000 + round_)  # type: ignore[operator]
                failures.append("no trap")
            except Trap:
                pass
            if exports["load"](round_ * 4) != 0:  # type: ignore[operator]
                failures.append("wrong value")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def run_child(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


CHILD_PROGRAM = """
    from wasmbox import Instance, Module, Store, Trap
    exports = Instance(Store("native"), Module('(module (memory 1) (func (export "f") (param i32) (result i32) '
                                              '(i32.load (local.get 0))))')).exports
    try:
        exports["f"](70000)
    except Trap as trap:
        print("trapped", trap.kind)
"""


def test_a_crash_that_is_not_wasm_still_reports_and_dies() -> None:
    """A fault elsewhere goes to the handler that was there before (faulthandler's report here)."""
    child = run_child(CHILD_PROGRAM + "\n    import ctypes; ctypes.string_at(8)\n", PYTHONFAULTHANDLER="1")
    assert child.stdout.strip() == "trapped out of bounds memory access"
    assert child.returncode == -11
    assert "Fatal Python error: Segmentation fault" in child.stderr


def test_a_handler_installed_later_is_put_back_behind_ours() -> None:
    """faulthandler enabled after wasmbox's handler: the next instance makes ours first again, and a
    real crash still reaches faulthandler."""
    first = """
        from wasmbox import Instance, Module, Store
        Instance(Store("native"), Module('(module (memory 1))'))
        import faulthandler
        faulthandler.enable()
    """
    child = run_child(
        textwrap.dedent(first) + textwrap.dedent(CHILD_PROGRAM) + "\nimport ctypes; ctypes.string_at(8)\n"
    )
    assert child.stdout.strip() == "trapped out of bounds memory access"
    assert child.returncode == -11
    assert "Fatal Python error: Segmentation fault" in child.stderr


def test_guard_pages_can_be_turned_off() -> None:
    child = run_child(
        CHILD_PROGRAM
        + """
    from wasmbox.runtime import guards
    from wasmbox.runtime.memory import MemoryInstance
    from wasmbox.ir.types import Limits, MemoryType
    print(guards.enabled(), MemoryInstance(MemoryType(Limits(1, 2))).guarded)
    """,
        WASMBOX_GUARD_PAGES="0",
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split("\n")[:2] == ["trapped out of bounds memory access", "False False"]


def test_only_32_bit_memories_of_64_kib_pages_are_guarded() -> None:
    from wasmbox.ir.types import Limits, MemoryType
    from wasmbox.runtime.memory import MemoryInstance

    assert MemoryInstance(MemoryType(Limits(1, 2))).guarded
    assert not MemoryInstance(MemoryType(Limits(1, 2), is_64=True)).guarded


def test_code_from_the_cache_names_the_access(tmp_path: Path) -> None:
    """The line table travels with the object: a process that loads another's cached code (nothing
    lowered) names the faulting instruction too."""
    program = """
        from wasmbox import Instance, Module, Store, Trap
        text = '(module (memory 1) (func (export "f") (param i32) (result i32) (i32.load offset=4 (local.get 0))))'
        module = Module(text, "cached.wat")
        f = Instance(Store("native"), module).exports["f"]
        try:
            f(70000)
        except Trap as trap:
            print(trap.frames[0].offset, trap.frames[0].line)
        """
    cache = str(tmp_path / "cache")
    first = run_child(program, WASMBOX_CACHE=cache)
    lowering_fails = "import wasmbox.engines.native.lower as lower\n        lower.ModuleLowering = None\n"
    second = run_child(program.replace("text = ", lowering_fails + "        text = "), WASMBOX_CACHE=cache)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    offset, line = second.stdout.split()
    assert second.stdout == first.stdout
    assert offset != "None" and line == "1"


def test_code_made_for_guard_pages_is_not_run_without_them(tmp_path: Path) -> None:
    """A serialized module carries its machine code; made with guard pages, it is compiled again in a
    process without them (its accesses test their bounds there), and still traps."""
    blob = tmp_path / "module.bin"
    made = run_child(
        f"""
        from wasmbox import Instance, Module, Store
        module = Module('(module (memory 1) (func (export "f") (param i32) (result i32) (i32.load (local.get 0))))')
        Instance(Store("native"), module).exports["f"](0)
        open({str(blob)!r}, "wb").write(module.serialize())
        """
    )
    assert made.returncode == 0, made.stderr
    ran = run_child(
        f"""
        from wasmbox import Instance, Module, Store, Trap
        from wasmbox.runtime import guards
        module = Module.deserialize_file({str(blob)!r})
        f = Instance(Store("native"), module).exports["f"]
        try:
            f(70000)
        except Trap as trap:
            print(guards.enabled(), f(8), trap.kind)
        """,
        WASMBOX_GUARD_PAGES="0",
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "False 0 out of bounds memory access"


def test_code_the_own_loader_cannot_link_falls_back_to_tested_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guarded code must run from wasmbox's code reservation: when its loader refuses the object, the
    module's tested code is used (LLVM's linker would place guarded code where a fault is not told
    from a crash)."""
    from wasmbox.engines.native import code_cache as cache_module
    from wasmbox.engines.native.object_loader import UnsupportedObject

    real = cache_module.link_object

    def refuse_guarded(data: bytes, resolve: object) -> dict[str, int]:
        if b"g_entry" in data:
            raise UnsupportedObject("refused for the test")
        return real(data, resolve)  # type: ignore[arg-type]

    monkeypatch.setattr(cache_module, "link_object", refuse_guarded)
    text = '(module (memory 1) (func (export "f") (param i32) (result i32) (i32.load offset=3 (local.get 0))))'
    f = Instance(Store("native"), Module(text)).exports["f"]
    assert f(8) == 0
    with pytest.raises(Trap, match="out of bounds"):
        f(65533)
