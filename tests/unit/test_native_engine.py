"""What is particular to the native engine: its code cache, fallbacks, host calls and limits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wasmbox import Func, FuncType, Instance, Module, Store
from wasmbox.engines.native import available
from wasmbox.errors import Exhaustion, Trap
from wasmbox.ir.types import I32

pytestmark = pytest.mark.skipif(not available(), reason="the native engine needs llvmlite")

PROGRAM = """(module
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (func $square (export "square") (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func (export "via_host") (param i32) (result i32) (call $twice (local.get 0)))
  (func $deep (export "deep") (param i32) (result i32) (call $deep (i32.add (local.get 0) (i32.const 1))))
  (func (export "spin") (loop $l (br $l))))"""


def instance(store: Store, twice: object) -> Instance:
    return Instance(store, Module(PROGRAM), {"env": {"twice": twice}})


def test_host_calls_and_reentry() -> None:
    store = Store("native")
    holder: dict[str, Instance] = {}
    # wasm -> host -> wasm: the host function calls back into the same instance.
    twice = Func(store, FuncType((I32,), (I32,)), lambda x: holder["i"].exports["square"](x) * 2)
    holder["i"] = instance(store, twice)
    assert holder["i"].exports["via_host"](7) == 98
    assert store.engine.compiled == 1 and store.engine.fallbacks == []


def test_a_host_exception_comes_back_as_it_was() -> None:
    class Boom(Exception):
        pass

    def fail(x: int) -> int:
        raise Boom("from the host")

    store = Store("native")
    with pytest.raises(Trap) as info:  # the API turns host exceptions into traps, as on the portable engine
        instance(store, Func(store, FuncType((I32,), (I32,)), fail)).exports["via_host"](1)
    assert "from the host" in str(info.value)


def test_runaway_recursion_is_exhaustion_not_a_crash() -> None:
    store = Store("native", max_call_depth=1_000_000)  # the stack limit, not the depth count, must stop it
    with pytest.raises(Exhaustion):
        instance(store, Func(store, FuncType((I32,), (I32,)), lambda x: x)).exports["deep"](0)


def test_fuel_is_metered_in_machine_code() -> None:
    """Fuel once moved a native store to the portable engine (600x slower on a hot loop)."""
    store = Store("native", fuel=1000)
    spin = instance(store, Func(store, FuncType((I32,), (I32,)), lambda x: x)).exports["spin"]
    with pytest.raises(Trap, match="out of fuel"):
        spin()
    assert store.engine.fallbacks == [] and store.engine.compiled == 1
    assert store.fuel_remaining() == 0


@pytest.mark.parametrize("calls", [0, 1, 7, 100])
def test_native_fuel_counts_what_the_portable_engine_counts(calls: int) -> None:
    """Every executed instruction but end/else costs one unit, on every engine, host calls included."""
    source = """(module (import "h" "f" (func $f (param i32) (result i32)))
      (func $g (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
      (func (export "run") (param i32) (result i32) (local i32)
        (block $done (loop $l
          (br_if $done (i32.eqz (local.get 0)))
          (local.set 1 (i32.add (local.get 1) (call $g (call $f (local.get 0)))))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br $l)))
        (if (result i32) (i32.gt_u (local.get 1) (i32.const 10)) (then (local.get 1)) (else (i32.const 0)))))"""
    used = {}
    for engine in ("native", "interp", "baseline"):
        store = Store(engine, fuel=10**6)
        host = Func(store, FuncType((I32,), (I32,)), lambda x: x + 1)
        result = Instance(store, Module(source), {"h": {"f": host}}).exports["run"](calls)
        remaining = store.fuel_remaining()
        assert remaining is not None
        used[engine] = (result, 10**6 - remaining)
    assert used["native"] == used["interp"] == used["baseline"], used


def test_a_second_process_takes_the_code_from_the_disk_cache(tmp_path: Path) -> None:
    script = (
        "from wasmbox import Instance, Module, Store\n"
        "from wasmbox.engines.native.jit import jit\n"
        "m = Module('(module (func (export \"f\") (result i32) (i32.const 42)))')\n"
        "assert Instance(Store('native'), m).exports['f']() == 42\n"
        "print(jit().cache_hits)\n"
    )
    environment = {"WASMBOX_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment)
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr + runs[1].stderr
    assert [r.stdout.strip() for r in runs] == ["0", "1"]
    assert len(list(tmp_path.glob("*/*.o"))) == 1


def test_cached_code_holds_no_per_process_ids(tmp_path: Path) -> None:
    """Signature ids are assigned per process; code from the cache must not have them baked in."""
    script = (
        "import sys\n"
        "from wasmbox import Instance, Module, Store\n"
        "from wasmbox.engines.native.signatures import signature_id\n"
        "from wasmbox.ir.types import FuncType, I64, F64\n"
        "if sys.argv[1] == 'shift':\n"
        "    for n in range(5): signature_id(FuncType((I64,) * n, (F64,)))\n"
        "m = Module('''(module (type $t (func (param i32) (result i32)))\n"
        "  (table funcref (elem $inc)) (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))\n"
        "  (func (export \"f\") (param i32) (result i32) (call_indirect (type $t) (local.get 0) (i32.const 0))))''')\n"
        "print(Instance(Store('native'), m).exports['f'](41))\n"
    )
    environment = {"WASMBOX_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    outputs = [
        subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, env=environment)
        for mode in ("plain", "shift")
    ]
    assert [o.stdout.strip() for o in outputs] == ["42", "42"], outputs[1].stderr[-500:]


LEAF_TRAPS = """(module
  (memory 1)
  (func $leaf (param i32) (result i32) (i32.load (local.get 0)))
  (func $mid (param i32) (result i32) (i32.add (call $leaf (local.get 0)) (i32.const 1)))
  (func $outer (export "outer") (param i32) (result i32) (call $mid (local.get 0)))
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (call $leaf (i32.const 0)))
      (else (call $down (i32.sub (local.get 0) (i32.const 1)))))))"""


def test_a_leaf_function_traps_at_its_own_depth_and_counts_against_the_limit() -> None:
    """A function that calls nothing keeps its depth in a register only (native.lower.is_leaf): its trap
    is still its own frame in the backtrace, the frames below give theirs back, and its frame counts
    against max_call_depth as any other."""
    store = Store("native", max_call_depth=100)
    instance = Instance(store, Module(LEAF_TRAPS, "leaf.wat"))
    outer, down = instance.exports["outer"], instance.exports["down"]
    assert outer(8) == 1
    with pytest.raises(Trap, match="out of bounds") as info:
        outer(65536)
    assert info.value.backtrace == ["$leaf", "$mid", "$outer"]
    assert outer(8) == 1  # the depth is back where it was
    # down(n) is n + 1 frames of $down, then $leaf's: 100 frames are allowed, 101 are not.
    assert down(98) == 0
    with pytest.raises(Exhaustion):
        down(99)
    assert down(98) == 0


FLOAT_LOOP = """(module (memory 1)
  (func (export "scale") (param $n i32)
    (loop $l
      (f64.store (local.get $n) (f64.div (f64.const 1) (f64.load offset=8 (local.get $n))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 8)))))))"""


def test_a_float_constant_does_not_make_a_loop_reload_its_memory() -> None:
    """Float constants pass an inline-asm barrier (signalling NaNs, see lower.opaque). The barrier
    touches no memory: were it assumed to, every use would make LLVM load the memory's base and size
    again inside the loop (nbody's inner loop lost its hoisted bounds that way)."""
    import llvmlite.binding as llvm

    from wasmbox.engines.native.jit import OPTIMIZATION_LEVEL, jit
    from wasmbox.engines.native.lower import ModuleLowering

    compiler = jit()
    lowering = ModuleLowering(Module(FLOAT_LOOP).ir, "t", compiler.triple, False)
    lowering.lower()
    parsed = llvm.parse_assembly(str(lowering.ir))
    builder = llvm.create_pass_builder(compiler.machine, llvm.create_pipeline_tuning_options(OPTIMIZATION_LEVEL))
    builder.getModulePassManager().run(parsed, builder)
    function = str(parsed.get_function("t_f0"))
    assert 'asm ""' in function  # the barrier is still there: the constant stays hidden
    loop = function.split("\nloop:")[1]  # the loop's blocks
    assert "load ptr" not in loop  # the memory's base and size cell: loaded once, before the loop
    store = Store("native")
    memory_instance = Instance(store, Module(FLOAT_LOOP))
    memory_instance.exports["scale"](64)  # runs, and 0.0 loads divide to +inf without a trap


# Frames that note their call site only when the call fails (lower.FunctionLowering.note_frame):
# chains without memory accesses, a recursion deeper than the frame ring, indirect calls, calls of
# the host, a call that caught an exception before, and callers of code that faults on a guard page.
CALL_CHAINS = """(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (memory 1)
  (table funcref (elem $divide $via_table))
  (tag $oops (param i32))
  (func $divide (param i32) (result i32) (i32.div_s (i32.const 7) (local.get 0)))
  (func $middle (param i32) (result i32) (i32.add (i32.const 1) (call $divide (local.get 0))))
  (func (export "chain") (param i32) (result i32) (i32.mul (call $middle (local.get 0)) (i32.const 3)))
  (func $down (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (i32.add (call $down (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
      (else (unreachable))))
  (func (export "recurse") (param i32) (result i32) (call $down (local.get 0)))
  (func $via_table (param i32) (result i32) (call_indirect (type $unary) (local.get 0) (i32.const 0)))
  (func (export "indirect") (param i32) (result i32) (call_indirect (type $unary) (local.get 0) (i32.const 1)))
  (func (export "through_host") (param i32) (result i32) (i32.add (call $host (local.get 0)) (i32.const 1)))
  (func (export "after_catch") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $oops $caught) (throw $oops (i32.const 5)))
      (i32.const 0))
    (drop)
    (call $middle (local.get 0)))
  (func $load (param i32) (result i32) (i32.load (local.get 0)))
  (func $calls_load (param i32) (result i32) (i32.add (call $load (local.get 0)) (i32.const 1)))
  (func (export "guard") (param i32) (result i32) (call $calls_load (local.get 0))))"""


@pytest.mark.parametrize(
    ("name", "argument"),
    [("chain", 0), ("recurse", 5), ("recurse", 3000), ("indirect", 0), ("through_host", 0), ("after_catch", 0),
     ("guard", 70000)],
)  # fmt: skip
def test_backtraces_through_calls_are_the_portable_engines(name: str, argument: int) -> None:
    module = Module(CALL_CHAINS, "chains.wat")
    frames = {}
    for engine in ("native", "interp"):
        store = Store(engine, max_call_depth=10_000)
        exports: dict[str, object] = {}

        def host(value: int, exports: dict[str, object] = exports) -> int:
            return int(exports["chain"](value))  # type: ignore[operator]

        imports = {"env": {"host": Func(store, FuncType([I32], [I32]), host)}}
        exports.update(Instance(store, module, imports).exports)
        with pytest.raises(Trap) as info:
            exports[name](argument)  # type: ignore[operator]
        frames[engine] = [(f.name, f.offset, f.line) for f in info.value.frames]
        assert exports["chain"](1) == 24  # type: ignore[operator]  # (and the depth is back)
    native, portable = frames["native"], frames["interp"]
    assert len(native) >= min(len(portable), 64)
    assert native == portable[: len(native)]


def test_traps_and_failed_calls_are_branches_lowered_as_unlikely() -> None:
    """Every branch to a trap (the depth and stack checks, a division's) and every failed call's test carries
    branch weights that make it the rare way: without them LLVM laid the depth check's trap block in the way
    of every call, which then took a jump (fib's large size ran 8% slower)."""
    import re

    from wasmbox.engines.native.jit import jit
    from wasmbox.engines.native.lower import ModuleLowering

    source = """(module
      (func $deep (export "deep") (param i32) (result i32)
        (i32.div_s (call $deep (i32.add (local.get 0) (i32.const 1))) (local.get 0))))"""
    lowering = ModuleLowering(Module(source).ir, "t", jit().triple, False)
    lowering.lower()
    text = str(lowering.ir)
    rare = re.search(r'^(!\d+) = !\{ ?!"branch_weights", i32 1, i32 (\d+) ?\}', text, re.MULTILINE)
    assert rare is not None and int(rare.group(2)) > 1000
    branches = [line.strip() for line in text.splitlines() if line.strip().startswith("br i1")]
    to_traps = [line for line in branches if re.search(r'label %"(trap\d+|note_failed_call)"', line.split(",")[1])]
    kinds = {re.search(r'label %"(trap\d+|note_failed_call)"', line).group(1) for line in to_traps}  # type: ignore[union-attr]
    assert {"note_failed_call"} < kinds and len(kinds) >= 3  # the failed call, the depth/stack and division traps
    assert all(line.endswith(f"!prof {rare.group(1)}") for line in to_traps)
