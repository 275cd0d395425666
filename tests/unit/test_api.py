"""The embedding API: every public class, values across the boundary, errors."""

from __future__ import annotations

import io

import pytest

import wasmbox
from wasmbox import (
    ENGINES,
    F32,
    I32,
    I64,
    Exhaustion,
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Linker,
    LinkError,
    Memory,
    Module,
    Store,
    Table,
    Trap,
    WasiExit,
)

SOURCE = """(module
  (import "env" "log" (func $log (param i32 i32)))
  (import "env" "scale" (global $scale i32))
  (memory (export "memory") 1 4)
  (table (export "table") 2 funcref)
  (global $counter (export "counter") (mut i64) (i64.const 5))
  (elem (i32.const 0) $add)
  (data (i32.const 16) "hello")
  (func $add (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "scaled") (param i32) (result i32) (i32.mul (local.get 0) (global.get $scale)))
  (func (export "greet") (call $log (i32.const 16) (i32.const 5)))
  (func (export "swap") (param i64 f32) (result f32 i64) (local.get 1) (local.get 0))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $deep (export "deep") (param i32) (result i32) (call $deep (i32.add (local.get 0) (i32.const 1)))))
"""


def make(store: Store | None = None) -> tuple[Instance, list[bytes]]:
    store = store or Store()
    logged: list[bytes] = []
    memory_holder: dict[str, Memory] = {}

    @wasmbox.func
    def log(address: int, length: int) -> None:
        logged.append(memory_holder["memory"].read(address, length))

    instance = Instance(store, Module(SOURCE), {"env": {"log": log, "scale": Global.new(GlobalType(I32), 3)}})
    memory = instance.exports["memory"]
    assert isinstance(memory, Memory)
    memory_holder["memory"] = memory
    return instance, logged


def test_engines_and_store() -> None:
    assert "interp" in ENGINES
    assert Store("auto").engine_name in ENGINES
    with pytest.raises(ValueError, match="unknown engine"):
        Store("nonesuch")


def test_calls_with_python_values() -> None:
    instance, _ = make()
    add = instance.exports["add"]
    assert add(2, 3) == 5
    assert add(-1, 0) == -1  # i32 results come back signed
    assert add(0x7FFFFFFF, 1) == -(2**31)  # wrap-around
    assert instance.exports["scaled"](7) == 21
    assert instance.exports["swap"](-5, 1.5) == (1.5, -5)


def test_type_errors_are_clear() -> None:
    instance, _ = make()
    add = instance.exports["add"]
    with pytest.raises(TypeError, match="takes 2 arguments"):
        add(1)
    with pytest.raises(TypeError, match="argument 2: expected an int for i32"):
        add(1, "2")
    with pytest.raises(TypeError, match="does not fit in i32"):
        add(1, 2**40)


def test_host_function_reads_memory() -> None:
    instance, logged = make()
    instance.exports["greet"]()
    assert logged == [b"hello"]


def test_memory_buffer_is_zero_copy_and_grows() -> None:
    instance, _ = make()
    memory = instance.exports["memory"]
    assert isinstance(memory, Memory)
    assert memory.size == 1 and memory.data_len == 65536
    memory.buffer[100:103] = b"abc"
    assert memory.read(100, 3) == b"abc"
    memory.write(200, b"xyz")
    assert bytes(memory.buffer[200:203]) == b"xyz"
    assert memory.grow(2) == 1 and memory.size == 3
    assert memory.grow(5) == -1  # past the maximum of 4 pages
    assert bytes(memory.buffer[3 * 65536 - 1 :]) == b"\0"


def test_table_and_global() -> None:
    instance, _ = make()
    table = instance.exports["table"]
    assert isinstance(table, Table)
    assert table.size == 2 and table.get(1) is None
    first = table.get(0)
    assert isinstance(first, Func) and first(4, 5) == 9
    assert table.grow(1) == 2 and table.size == 3
    counter = instance.exports["counter"]
    assert isinstance(counter, Global)
    assert counter.value == 5
    counter.value = -7
    assert counter.value == -7 and counter.type == GlobalType(I64, True)


def test_traps_exhaustion_and_link_errors() -> None:
    instance, _ = make()
    with pytest.raises(Trap, match="integer divide by zero") as info:
        instance.exports["div"](1, 0)
    assert info.value.kind == "integer divide by zero"
    with pytest.raises(Exhaustion, match="call stack exhausted"):
        instance.exports["deep"](0)
    with pytest.raises(LinkError, match="unknown import env.log"):
        Instance(Store(), Module(SOURCE), {})


def test_host_exceptions_become_traps() -> None:
    def broken(x: int) -> int:
        raise ValueError("nope")

    module = Module(
        '(module (import "m" "f" (func $f (param i32) (result i32))) '
        '(func (export "g") (result i32) (call $f (i32.const 1))))'
    )
    instance = Instance(Store(), module, {"m": {"f": Func(None, FuncType((I32,), (I32,)), broken)}})
    with pytest.raises(Trap, match="host function broken raised ValueError: nope"):
        instance.exports["g"]()


def test_linker_with_wasi_captures_output_and_exit() -> None:
    module = Module("""(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 8) "hi\\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 8)) (i32.store (i32.const 4) (i32.const 3))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))
        (call $exit (i32.const 7))))""")
    from wasmbox.wasi import WasiConfig

    out = io.BytesIO()
    linker = Linker(Store())
    linker.define_wasi(WasiConfig(stdout=out))  # type: ignore[arg-type]
    instance = linker.instantiate(module)
    with pytest.raises(WasiExit) as info:
        instance.exports["_start"]()
    assert info.value.code == 7 and out.getvalue() == b"hi\n"


def test_decorator_types_from_annotations() -> None:
    @wasmbox.func
    def mix(a: int, b: "i64", c: float, d: "f32") -> tuple[int, float]:  # noqa: F821, UP037 - string names are how i64/f32 are spelled
        return a, c

    assert mix.type == FuncType((I32, I64, wasmbox.F64, F32), (I32, wasmbox.F64))
    with pytest.raises(TypeError, match="needs a wasm type annotation"):
        wasmbox.func(lambda x: x)


def test_module_introspection_and_linker_define() -> None:
    module = Module(SOURCE)
    assert ("env", "log", "func") in module.imports
    assert ("add", "func") in module.exports
    store = Store()
    provider = Instance(
        store, Module('(module (func (export "log") (param i32 i32)) (global (export "scale") i32 (i32.const 2)))')
    )
    linker = Linker(store)
    linker.define_instance("env", provider)
    instance = linker.instantiate(module)
    assert instance.exports["scaled"](5) == 10


@pytest.mark.parametrize("engine", ["interp", "baseline"])
def test_a_trap_in_a_loop_of_one_block_names_its_instruction(engine: str) -> None:
    """The portable engine's translation of a loop whose chain is its header alone loses its dispatch
    lines (``drop_dispatch``); the instructions' line starts inside it moved with them only since a
    differential fuzzing run found one left past the function's last line (an IndexError): before, a
    trap there was reported two instructions early."""
    module = Module(
        '(module (func (export "f") (param i32) (result i32)\n'
        "  (loop $l (drop (i32.div_u (i32.const 7) (local.get 0)))\n"
        "    (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))\n"
        "  (i32.const 0)))"
    )
    with pytest.raises(Trap, match="divide by zero") as info:
        Instance(Store(engine), module).exports["f"](0)
    from wasmbox.binary.encode import encode_module

    assert encode_module(module.ir)[info.value.frames[0].offset] == 0x6E  # i32.div_u


def test_trap_backtrace_names_wasm_functions() -> None:
    module = Module(
        "(module (func $divide (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))\n"
        ' (func $outer (export "run") (param i32) (result i32)\n  (call $divide (local.get 0))))',
        "div.wat",
    )
    with pytest.raises(Trap) as info:
        Instance(Store(), module).exports["run"](0)
    assert info.value.backtrace == ["$divide", "$outer"]
    assert "wasm backtrace:\n  0: $divide @0x" in str(info.value)
    inner, outer = info.value.frames
    assert (inner.line, outer.line) == (1, 3) and inner.source == "div.wat"
    # The div_u in $divide, then the call in $outer, where wat2wasm puts them.
    from wasmbox.binary.encode import encode_module

    data = encode_module(module.ir)
    assert data[inner.offset] == 0x6E and data[outer.offset] == 0x10  # i32.div_u, call


def test_deep_but_finite_recursion_runs() -> None:
    module = Module(
        '(module (func $down (export "down") (param i32) (result i32)'
        " (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))"
        " (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"
    )
    down = Instance(Store(), module).exports["down"]
    assert down(5000) == 5000  # deeper than CPython's default recursion limit
    import sys

    assert sys.getrecursionlimit() < 20_000  # restored after the call


def test_comparison_results_are_plain_ints() -> None:
    # Regression (differential fuzzing against wasmtime): i32 results of
    # comparisons reached Python as True/False instead of 1/0.
    seen: list[object] = []

    @wasmbox.func
    def log(value: int) -> None:
        seen.append(value)

    module = Module(
        '(module (import "env" "log" (func $log (param i32)))'
        ' (func (export "f") (result i32 i64)'
        " (call $log (i32.eq (i32.const 1) (i32.const 1)))"
        " (i32.lt_u (i32.const 2) (i32.const 1)) (i64.extend_i32_u (i32.eqz (i32.const 0)))))"
    )
    result = Instance(Store(), module, {"env": {"log": log}}).exports["f"]()
    assert result == (0, 1) and all(type(v) is int for v in result)
    assert seen == [1] and type(seen[0]) is int
