"""Differential execution on wasm-smith modules: wasmbox against wasmtime-py.

``wasm-tools smith`` turns random bytes into a valid module that uses whichever proposals it is
allowed, so it reaches what binaryen's fuzzer (``differential``) does not emit: SIMD, GC,
exceptions, atomics on shared memory, memory64, multiple memories, wide arithmetic.  Both
runtimes instantiate the module with the same store limits, then call every exported function
whose signature holds only numbers, in export order, first with all-zero arguments and then with a
fixed non-zero set, and log what they see:

- the instantiation's outcome (ok, trap kind, or error);
- each call's results (integers by value, floats by bit pattern, any NaN equal to any NaN: the
  spec leaves NaN payloads nondeterministic, section "NaN Propagation") or its trap kind;
- after instantiation and after each call, every exported memory's size and a digest of its bytes,
  and every exported numeric global's value.

Any difference in the logs is a mismatch, with one exception: when either side exhausts its call
stack and the other traps too, the two agree and the comparison stops there, since the depth at
which a runtime gives up is its own choice.  A campaign of this harness found three bugs (fixed in
41411eb, e427276 and 2ebf4c1): a store limit, a trap reported as a decoding error, a trap's kind.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wasmbox import FuncType, GlobalType, Instance, MemoryType, Module, Store, Trap, WasmError, WasmException
from wasmbox.ir.types import NumType, ValType

if TYPE_CHECKING:
    import wasmtime

# The same store limits on both sides, so memory.grow and table.grow fail at the same size.
MAX_MEMORY_PAGES = 256
MAX_TABLE_ELEMENTS = 10_000
# wasmtime-py crashes the process (SIGSEGV) on deep recursion with a larger stack.
WASMTIME_STACK_BYTES = 2 << 20

COMMON_FLAGS = [
    "--ensure-termination",
    "--fuel", "1000",
    "--export-everything", "true",
    "--max-imports", "0",
    "--min-types", "1",
    "--canonicalize-nans", "true",
    "--max-memory32-bytes", "1048576",
    "--max-memory64-bytes", "1048576",
    "--max-table-elements", "1000",
    "--sign-extension-ops-enabled", "true",
    "--saturating-float-to-int-enabled", "true",
    "--bulk-memory-enabled", "true",
    "--multi-value-enabled", "true",
    "--reference-types-enabled", "true",
    # Nondeterministic by design (relaxed SIMD) or not implemented by wasmtime-py 51.
    "--relaxed-simd-enabled", "false",
    "--custom-descriptors-enabled", "false",
    "--compact-imports-enabled", "false",
    "--shared-everything-threads-enabled", "false",
    "--custom-page-sizes-enabled", "false",
]  # fmt: skip

WASM3_PROPOSALS = [
    "--simd-enabled",
    "--tail-call-enabled",
    "--memory64-enabled",
    "--extended-const-enabled",
    "--gc-enabled",
    "--exceptions-enabled",
    "--threads-enabled",
    "--wide-arithmetic-enabled",
]

ROUND_FLAGS = {
    # Wasm 2.0 without SIMD, one memory (multi-memory is 3.0).
    "2.0": [*(f for flag in WASM3_PROPOSALS for f in (flag, "false")), "--max-memories", "1"],
    # Wasm 3.0 with threads and wide arithmetic; more than one memory allows multi-memory.
    "3.0": [*(f for flag in WASM3_PROPOSALS for f in (flag, "true")), "--max-memories", "3"],
}

WASMTIME_FEATURES = (
    "simd",
    "tail_call",
    "multi_memory",
    "memory64",
    "reference_types",
    "function_references",
    "exceptions",
    "gc",
    "threads",
    "wide_arithmetic",
    "custom_page_sizes",
    "bulk_memory",
    "multi_value",
)

# Substrings of either runtime's trap message, mapped to one name per kind of trap; the first match wins.
TRAP_KINDS = [
    ("stack", ("call stack exhausted", "stack overflow", "call stack", "recursion")),
    ("oob-memory", ("out of bounds memory", "memory out of bounds", "out-of-bounds memory")),
    ("oob-table", ("out of bounds table", "undefined element", "table out of bounds", "table index")),
    ("null", ("uninitialized element", "null")),
    ("signature", ("indirect call type mismatch", "signature mismatch")),
    ("divide-by-zero", ("divide by zero", "division by zero")),
    ("overflow", ("integer overflow",)),
    ("conversion", ("invalid conversion", "conversion to integer")),
    ("unreachable", ("unreachable",)),
    ("cast", ("cast failure", "cast failed")),
    ("oob-array", ("array out of bounds", "out of bounds array")),
    ("unaligned", ("unaligned atomic", "misaligned", "unaligned")),
    ("exception", ("thrown wasm exception", "uncaught wasm exception", "exception")),
    ("resource", ("resource limit", "allocation", "too large", "out of memory", "no capacity")),
]

NUMBERS = (NumType.I32, NumType.I64, NumType.F32, NumType.F64)
I32_ARGUMENTS = [1, -1, 7, 0x7FFFFFFF, -0x80000000, 65536, 255]
I64_ARGUMENTS = [1, -1, 7, 0x7FFFFFFFFFFFFFFF, -0x8000000000000000, 1 << 32, 65535]
FLOAT_ARGUMENTS = [1.5, -0.0, math.inf, -2.5e9, math.nan, 3.0, -1.0]


def wasm_tools() -> str | None:
    """``wasm-tools`` on PATH, or the one installed in this interpreter's virtualenv."""
    found = shutil.which("wasm-tools")
    if found is not None:
        return found
    beside = Path(sys.executable).parent / "wasm-tools"
    return str(beside) if beside.exists() else None


def available() -> bool:
    try:
        import wasmtime  # noqa: F401
    except ImportError:
        return False
    return wasm_tools() is not None


def smith_module(seed: bytes, features: str) -> bytes:
    """The module wasm-smith builds from ``seed`` with the proposals of round ``features``."""
    tool = wasm_tools()
    assert tool is not None, "wasm-tools is not installed"
    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch) / "seed.bin", Path(scratch) / "smith.wasm"
        source.write_bytes(seed)
        command = [tool, "smith", str(source), "-o", str(target), *COMMON_FLAGS, *ROUND_FLAGS[features]]
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        return target.read_bytes()


def trap_kind(message: str) -> str:
    lowered = message.lower()
    for kind, needles in TRAP_KINDS:
        if any(needle in lowered for needle in needles):
            return kind
    return "other: " + (message.splitlines() or [""])[0][:80]


def show_value(value: Any, type_: ValType) -> str:
    """A value as both logs print it: integers unsigned, floats as bits, every NaN as "nan"."""
    if type_ is NumType.I32:
        return str(int(value) & 0xFFFFFFFF)
    if type_ is NumType.I64:
        return str(int(value) & 0xFFFFFFFFFFFFFFFF)
    number = float(value)
    if math.isnan(number):
        return "nan"
    return struct.pack("<f" if type_ is NumType.F32 else "<d", number).hex()


def show_results(result: Any, types: Sequence[ValType]) -> str:
    values = list(result) if len(types) > 1 else [result] if types else []
    return "(" + ",".join(show_value(v, t) for v, t in zip(values, types, strict=True)) + ")"


def arguments(params: Sequence[ValType], argument_set: int) -> list[int | float]:
    """All zeros for set 0; for set 1, values near the edges of each type, varying by position."""
    chosen: list[int | float] = []
    for index, param in enumerate(params):
        if param is NumType.I32:
            chosen.append(I32_ARGUMENTS[index % len(I32_ARGUMENTS)] if argument_set else 0)
        elif param is NumType.I64:
            chosen.append(I64_ARGUMENTS[index % len(I64_ARGUMENTS)] if argument_set else 0)
        else:
            chosen.append(FLOAT_ARGUMENTS[index % len(FLOAT_ARGUMENTS)] if argument_set else 0.0)
    return chosen


def digest(data: bytes | bytearray | memoryview) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


class Plan:
    """What to call and observe, read from wasmbox's decoding of the module's exports."""

    def __init__(self, module: Module) -> None:
        self.functions: list[tuple[str, FuncType]] = []
        self.memories: list[str] = []
        self.globals: list[tuple[str, ValType]] = []
        for export in module.exports:
            type_ = export.type
            if isinstance(type_, FuncType) and all(t in NUMBERS for t in (*type_.params, *type_.results)):
                self.functions.append((export.name, type_))
            elif isinstance(type_, MemoryType):
                self.memories.append(export.name)
            elif isinstance(type_, GlobalType) and type_.valtype in NUMBERS:
                self.globals.append((export.name, type_.valtype))

    def calls(self) -> list[tuple[str, FuncType, int]]:
        return [(name, type_, argument_set) for argument_set in (0, 1) for name, type_ in self.functions]


def run_log(plan: Plan, call: Callable[[str, FuncType, list[int | float]], str], state: Callable[[], str]) -> list[str]:
    log = ["instantiate -> ok", state()]
    for name, type_, argument_set in plan.calls():
        log.append(f"call {name!r}#{argument_set} -> {call(name, type_, arguments(type_.params, argument_set))}")
        log.append(state())
    return log


def wasmtime_engine() -> wasmtime.Engine:
    import wasmtime

    config = wasmtime.Config()
    for feature in WASMTIME_FEATURES:
        setattr(config, f"wasm_{feature}", True)
    config.shared_memory = True
    config.max_wasm_stack = WASMTIME_STACK_BYTES
    return wasmtime.Engine(config)


def run_wasmtime(binary: bytes, plan: Plan, engine: wasmtime.Engine) -> list[str]:
    import wasmtime

    store = wasmtime.Store(engine)
    store.set_limits(memory_size=MAX_MEMORY_PAGES * 65536, table_elements=MAX_TABLE_ELEMENTS)
    try:
        instance = wasmtime.Instance(store, wasmtime.Module(engine, binary), [])
    except wasmtime.Trap as error:
        return [f"instantiate -> trap:{trap_kind(str(error))}"]
    except wasmtime.WasmtimeError as error:
        text = str(error)
        if "wasm trap" in text or trap_kind(text) in ("exception", "resource"):
            return [f"instantiate -> trap:{trap_kind(text)}"]
        return [f"instantiate -> error: {text.splitlines()[0][:100]}"]
    exports = instance.exports(store)

    def memory_bytes(name: str) -> bytes:
        memory = exports[name]
        if isinstance(memory, wasmtime.SharedMemory):
            size = memory.data_len()
            return ctypes.string_at(ctypes.addressof(memory.data_ptr().contents), size) if size else b""
        assert isinstance(memory, wasmtime.Memory)
        return bytes(memory.read(store, 0))

    def state() -> str:
        parts = []
        for name in plan.memories:
            data = memory_bytes(name)
            parts.append(f"memory {name!r}:{len(data)}:{digest(data)}")
        for name, type_ in plan.globals:
            global_ = exports[name]
            assert isinstance(global_, wasmtime.Global)
            value = global_.value(store)
            number = value.value if isinstance(value, wasmtime.Val) else value
            parts.append(f"global {name!r}:{show_value(number, type_)}")
        return " ".join(parts)

    def call(name: str, type_: FuncType, args: list[int | float]) -> str:
        function = exports[name]
        assert isinstance(function, wasmtime.Func)
        try:
            return show_results(function(store, *args), type_.results)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
            return f"trap:{trap_kind(str(error))}"

    return run_log(plan, call, state)


def run_wasmbox(module: Module, plan: Plan, engine: str) -> list[str]:
    store = Store(engine, max_memory_pages=MAX_MEMORY_PAGES, max_table_elements=MAX_TABLE_ELEMENTS)
    try:
        instance = Instance(store, module, {})
    except Trap as error:
        return [f"instantiate -> trap:{trap_kind(error.kind + ' ' + str(error))}"]
    except WasmException:
        return ["instantiate -> trap:exception"]
    except WasmError as error:
        return [f"instantiate -> error: {str(error).splitlines()[0][:100]}"]
    exports: Any = instance.exports

    def state() -> str:
        parts = []
        for name in plan.memories:
            memory = exports[name]
            parts.append(f"memory {name!r}:{memory.data_len}:{digest(memory.buffer)}")
        for name, type_ in plan.globals:
            parts.append(f"global {name!r}:{show_value(exports[name].value, type_)}")
        return " ".join(parts)

    def call(name: str, type_: FuncType, args: list[int | float]) -> str:
        try:
            return show_results(exports[name](*args), type_.results)
        except Trap as error:
            return f"trap:{trap_kind(error.kind + ' ' + str(error))}"
        except WasmException:
            return "trap:exception"
        except WasmError as error:
            return f"error: {type(error).__name__}: {str(error)[:100]}"

    return run_log(plan, call, state)


def first_difference(ours: list[str], theirs: list[str]) -> str | None:
    for index, (mine, peer) in enumerate(zip(ours, theirs, strict=False)):
        event, _, my_outcome = mine.partition(" -> ")
        peer_event, _, peer_outcome = peer.partition(" -> ")
        both_trapped = my_outcome.startswith("trap:") and peer_outcome.startswith("trap:")
        if event == peer_event and both_trapped and "trap:stack" in (my_outcome, peer_outcome):
            return None  # depths differ legitimately, and so may everything after
        if mine != peer:
            return f"event {index}: wasmbox {mine!r} vs wasmtime {peer!r}"
    if len(ours) != len(theirs):
        return f"log lengths differ: wasmbox {len(ours)} vs wasmtime {len(theirs)}"
    return None


def compare(binary: bytes, engine: str, peer: wasmtime.Engine | None = None) -> str | None:
    """Run ``binary`` on wasmbox's ``engine`` and on wasmtime-py (``peer``, made here if not given):
    a one-line description of the first difference, or None when they agree."""
    import wasmtime

    peer = peer or wasmtime_engine()
    try:
        module = Module(binary)
    except WasmError as error:
        ours_refuse: str | None = f"{type(error).__name__}: {error}"
    else:
        ours_refuse = None
    try:
        wasmtime.Module.validate(peer, binary)
        theirs_refuse = None
    except wasmtime.WasmtimeError as error:
        theirs_refuse = str(error).splitlines()[0]
    if ours_refuse or theirs_refuse:
        if ours_refuse and theirs_refuse:
            return None
        return f"validation differs: wasmbox {ours_refuse or 'accepts'!r} vs wasmtime {theirs_refuse or 'accepts'!r}"
    plan = Plan(module)
    return first_difference(run_wasmbox(module, plan, engine), run_wasmtime(binary, plan, peer))
