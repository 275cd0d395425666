"""Time and memory on hostile WebAssembly modules, on each wasmbox engine and on wasmtime-py.

Usage::

    python -m benchmarks.hostile [--engines interp,baseline,native] [--cases a,b] [--timeout S]
                                 [--cycles N] [--rss-limit-mb MB] [--time-floor S] [--no-peer]
                                 [--save-modules DIR]

Each case is a small module built to strain one part of a runtime (the cases of the sandbox-integrity issue):

- ``locals-recursion``: a function with 50,000 i64 locals that calls itself unconditionally;
- ``deep-nesting``: 30,000 nested empty ``block``s, then ``i32.const 1``;
- ``deep-nesting-typed``: 50,000 nested ``(block (result i32) ...)`` around ``i32.const 1``;
- ``params-1001``: a function type of 1,001 i32 parameters (wasmtime refuses it at validation), called with zeros;
- ``plain-recursion``: ``(func $f (call $f))`` under the default store limits;
- ``instantiate-drop``: ``--cycles`` rounds (default 1,000) of a new store, instantiating a module with a
  one-page memory, calling its export once and dropping both;
- ``caught-exceptions``: a loop that throws a tag and catches it with ``try_table`` 1,000,000 times;
- ``table-writes``: a table of 10,000,000 funcrefs; 10,000 rounds of ``table.set`` at a varying index followed
  by a ``call_indirect`` through it;
- ``wasi-long-path``: ``path_open`` on preopen fd 3 with a 7 MiB path (``./`` repeated, then ``missing``), under
  ``Store(deadline=1.0)`` on wasmbox; the outcome is the errno the call returns, or the trap;
- ``big-br-table``: a ``br_table`` with 1,000,000 targets;
- ``many-functions``: 100,000 one-instruction functions (decode, validate, instantiate, one call).

The modules are encoded here, by a small binary encoder (so that no phase of wasmbox builds its own input),
written once to a temporary directory, and every runtime reads the same bytes.  Each (case, engine) runs in a
fresh Python process (``--child``) with a timeout, sequentially, and with a fresh, empty native-code cache
(``WASMBOX_CACHE``), so every run is cold, as an attacker's new module would be.  The child reports the outcome
(the result, or the exception's class and the first line of its message), the time from reading the bytes to
the outcome (``wall s``: decode, validate, compile, instantiate and run) and the time of the call alone
(``run s``); each runtime's libraries are imported before the clock starts (wasmtime's, with its compiler;
llvmlite's, with LLVM, for the native engine), what it does with them is timed.  The parent reads the child's
peak resident memory from ``wait4`` (so it is known for a crash or a timeout too; processes the child starts are
not included) and kills a child whose resident memory passes ``--rss-limit-mb`` (default 4096), to protect the
machine.  ``RSS growth`` is, for ``instantiate-drop``, the
resident memory after all cycles minus after the first 10, and for ``caught-exceptions`` after the call minus
before it.

A wasmbox row PASSes when the module was refused (``ValidationError``, ``ImplementationLimitError`` or
``MalformedError``), or when it
ended in a value or a typed wasmbox error within 10x of wasmtime-py's ``wall s`` (times below ``--time-floor``,
default 0, count as the floor) with a peak of at most 256 MB.  Where wasmtime-py has no time (it refused the
module, or ran out of time or memory), only the 256 MB bound applies; but ``params-1001``, over the
1,000-parameter limit wasmtime-py shares with the JS API, must be refused: running it is a FAIL.  A timeout, a
crash, a kill for memory, or an untyped Python exception (``RecursionError``, ``MemoryError``, ...) is a FAIL: the
README promises that every failure is a typed error.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT_MARK = "HOSTILE-RESULT "
PEER = "wasmtime"
RSS_BOUND_MB = 256.0
TIME_RATIO_BOUND = 10.0

# --- A minimal WebAssembly binary encoder ---------------------------------------------------------------------

I32, I64, FUNCREF, EMPTY_BLOCK = 0x7F, 0x7E, 0x70, 0x40
SECTION_TYPE, SECTION_IMPORT, SECTION_FUNCTION, SECTION_TABLE, SECTION_MEMORY = 1, 2, 3, 4, 5
SECTION_EXPORT, SECTION_ELEMENT, SECTION_CODE, SECTION_TAG = 7, 9, 10, 13
EXPORT_FUNC, EXPORT_MEMORY = 0, 2
END = b"\x0b"


def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


def vector(items: Sequence[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def name(text: str) -> bytes:
    return vector([bytes([byte]) for byte in text.encode()])


def func_type(params: Sequence[int], results: Sequence[int]) -> bytes:
    return b"\x60" + vector([bytes([t]) for t in params]) + vector([bytes([t]) for t in results])


def func_export(export_name: str, index: int) -> bytes:
    return name(export_name) + bytes([EXPORT_FUNC]) + uleb(index)


def code(body: bytes, local_groups: Sequence[tuple[int, int]] = ()) -> bytes:
    """One entry of the code section: the locals as (count, type) groups, the body, ``end``."""
    content = vector([uleb(count) + bytes([value_type]) for count, value_type in local_groups]) + body + END
    return uleb(len(content)) + content


def assemble(sections: Sequence[tuple[int, bytes]]) -> bytes:
    """The module: magic, version, then the sections in the order given (the caller keeps the spec's order)."""
    return b"\0asm\x01\0\0\0" + b"".join(bytes([sid]) + uleb(len(payload)) + payload for sid, payload in sections)


def i32_const(value: int) -> bytes:
    return b"\x41" + sleb(value)


def local_get(index: int) -> bytes:
    return b"\x20" + uleb(index)


def count_loop(counter: int, limit: int) -> bytes:
    """The tail of a counting loop: ``counter += 1; br_if 0 (counter < limit)``, then the loop's ``end``."""
    return local_get(counter) + i32_const(1) + b"\x6a\x22" + uleb(counter) + i32_const(limit) + b"\x49\x0d\x00" + END


# --- The cases ------------------------------------------------------------------------------------------------


def locals_recursion() -> bytes:
    return assemble(
        [
            (SECTION_TYPE, vector([func_type([], [])])),
            (SECTION_FUNCTION, vector([uleb(0)])),
            (SECTION_EXPORT, vector([func_export("run", 0)])),
            (SECTION_CODE, vector([code(b"\x10\x00", [(50_000, I64)])])),
        ]
    )


def single_function(body: bytes, params: Sequence[int] = (), results: Sequence[int] = (I32,)) -> bytes:
    return assemble(
        [
            (SECTION_TYPE, vector([func_type(params, results)])),
            (SECTION_FUNCTION, vector([uleb(0)])),
            (SECTION_EXPORT, vector([func_export("run", 0)])),
            (SECTION_CODE, vector([code(body)])),
        ]
    )


def deep_nesting() -> bytes:
    depth = 30_000
    return single_function(b"\x02\x40" * depth + END * depth + i32_const(1))


def deep_nesting_typed() -> bytes:
    depth = 50_000
    return single_function(b"\x02\x7f" * depth + i32_const(1) + END * depth)


def params_1001() -> bytes:
    return single_function(b"", params=[I32] * 1001, results=[])


def plain_recursion() -> bytes:
    return single_function(b"\x10\x00", results=[])


def instantiate_drop() -> bytes:
    store_then_load = i32_const(0) + i32_const(42) + b"\x36\x02\x00" + i32_const(0) + b"\x28\x02\x00"
    return assemble(
        [
            (SECTION_TYPE, vector([func_type([], [I32])])),
            (SECTION_FUNCTION, vector([uleb(0)])),
            (SECTION_MEMORY, vector([b"\x00\x01"])),
            (SECTION_EXPORT, vector([func_export("run", 0)])),
            (SECTION_CODE, vector([code(store_then_load)])),
        ]
    )


def caught_exceptions() -> bytes:
    # locals: 0 = i, 1 = sum.  Each round: block $h (result i32) { try_table (catch $e $h) { throw $e i } ... }.
    catch_tag0_to_label0 = vector([b"\x00\x00\x00"])
    round_ = (
        b"\x02\x7f"  # block $h (result i32)
        + b"\x1f\x40"
        + catch_tag0_to_label0  # try_table (catch $e $h)
        + local_get(0)
        + b"\x08\x00"  # throw $e
        + END
        + b"\x00"  # unreachable
        + END
        + local_get(1)
        + b"\x6a\x21\x01"  # i32.add, local.set 1
    )
    body = b"\x03\x40" + round_ + count_loop(0, 1_000_000) + local_get(1)
    return assemble(
        [
            (SECTION_TYPE, vector([func_type([I32], []), func_type([], [I32])])),
            (SECTION_FUNCTION, vector([uleb(1)])),
            (SECTION_TAG, vector([b"\x00" + uleb(0)])),
            (SECTION_EXPORT, vector([func_export("run", 0)])),
            (SECTION_CODE, vector([code(body, [(2, I32)])])),
        ]
    )


def table_writes() -> bytes:
    size = 10_000_000
    index = local_get(0) + i32_const(7919) + b"\x6c" + i32_const(size) + b"\x70"  # (i * 7919) rem_u size
    round_ = (
        index
        + b"\xd2\x00"  # ref.func 0
        + b"\x26\x00"  # table.set 0
        + index
        + b"\x11\x00\x00"  # call_indirect (type 0) (table 0)
        + local_get(1)
        + b"\x6a\x21\x01"
    )
    body = b"\x03\x40" + round_ + count_loop(0, 10_000) + local_get(1)
    return assemble(
        [
            (SECTION_TYPE, vector([func_type([], [I32])])),
            (SECTION_FUNCTION, vector([uleb(0), uleb(0)])),
            (SECTION_TABLE, vector([bytes([FUNCREF, 0]) + uleb(size)])),
            (SECTION_EXPORT, vector([func_export("run", 1)])),
            (SECTION_ELEMENT, vector([b"\x03\x00" + vector([uleb(0)])])),  # declarative: ref.func 0 allowed
            (SECTION_CODE, vector([code(i32_const(1)), code(body, [(2, I32)])])),
        ]
    )


LONG_PATH_BYTES = 7 * 1024 * 1024
LONG_PATH_RESULT = LONG_PATH_BYTES + 64  # where path_open writes the new descriptor


def long_path() -> bytes:
    tail = b"missing"
    return b"./" * ((LONG_PATH_BYTES - len(tail)) // 2) + tail


def wasi_long_path() -> bytes:
    path_open = func_type([I32, I32, I32, I32, I32, I64, I64, I32, I32], [I32])
    wasi = name("wasi_snapshot_preview1")
    call_path_open = (
        i32_const(3)  # fd: the first preopen
        + i32_const(0)  # dirflags
        + i32_const(0)  # path address
        + local_get(0)  # path length
        + i32_const(0)  # oflags
        + b"\x42\x02"  # rights: fd_read
        + b"\x42\x00"  # inherited rights
        + i32_const(0)  # fdflags
        + i32_const(LONG_PATH_RESULT)
        + b"\x10\x00"  # call path_open
        + b"\x22\x01"  # local.tee errno
    )
    close_if_opened = b"\x45\x04\x40" + i32_const(LONG_PATH_RESULT) + b"\x28\x02\x00\x10\x01\x1a" + END
    return assemble(
        [
            (SECTION_TYPE, vector([path_open, func_type([I32], [I32])])),
            (
                SECTION_IMPORT,
                vector([wasi + name("path_open") + b"\x00\x00", wasi + name("fd_close") + b"\x00\x01"]),
            ),
            (SECTION_FUNCTION, vector([uleb(1)])),
            (SECTION_MEMORY, vector([b"\x00" + uleb(128)])),
            (SECTION_EXPORT, vector([func_export("run", 2), name("memory") + bytes([EXPORT_MEMORY, 0])])),
            (SECTION_CODE, vector([code(call_path_open + close_if_opened + local_get(1), [(1, I32)])])),
        ]
    )


def big_br_table() -> bytes:
    targets = 1_000_000
    table = b"\x0e" + uleb(targets) + bytes(index % 2 for index in range(targets)) + uleb(1)
    body = b"\x02\x40\x02\x40" + local_get(0) + table + END + i32_const(10) + b"\x0f" + END + i32_const(20)
    return single_function(body, params=[I32])


def many_functions() -> bytes:
    count = 100_000
    bodies = [code(b"\x10" + uleb(count - 1))] + [code(i32_const(index)) for index in range(1, count)]
    return assemble(
        [
            (SECTION_TYPE, vector([func_type([], [I32])])),
            (SECTION_FUNCTION, vector([uleb(0)] * count)),
            (SECTION_EXPORT, vector([func_export("run", 0)])),
            (SECTION_CODE, vector(bodies)),
        ]
    )


@dataclass(frozen=True)
class Case:
    build: Callable[[], bytes]
    args: tuple[int, ...] = ()
    exceptions: bool = False  # needs Wasm 3.0 exception handling enabled on wasmtime
    must_refuse: bool = False  # a limit wasmtime-py enforces at validation that wasmbox is expected to share


CASES: dict[str, Case] = {
    "locals-recursion": Case(locals_recursion),
    "deep-nesting": Case(deep_nesting),
    "deep-nesting-typed": Case(deep_nesting_typed),
    "params-1001": Case(params_1001, args=(0,) * 1001, must_refuse=True),
    "plain-recursion": Case(plain_recursion),
    "instantiate-drop": Case(instantiate_drop),
    "caught-exceptions": Case(caught_exceptions, exceptions=True),
    "table-writes": Case(table_writes),
    "wasi-long-path": Case(wasi_long_path),
    "big-br-table": Case(big_br_table, args=(999_999,)),
    "many-functions": Case(many_functions),
}

# --- The child: one case on one runtime -----------------------------------------------------------------------


def resident_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def collected_rss_kb() -> int:
    gc.collect()
    return resident_kb()


def describe(error: BaseException) -> str:
    """The class and the first line of the message; for wasmtime's chained errors, the innermost cause too."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if text.endswith(":"):  # wasmtime's "error while executing at wasm backtrace:" then frames, then the cause
        text = lines[-1]
    elif "Caused by:" in lines:
        text += " / " + lines[-1]
    return f"{type(error).__name__}: {text}"[:160]


def describe_value(value: object) -> str:
    return "()" if value is None else repr(value)


def run_wasmbox(case: str, engine: str, wasm: bytes, cycles: int, report: dict[str, Any]) -> str:
    from wasmbox import Instance, Linker, Module, Store

    args = CASES[case].args
    report["phase"] = "load"
    module = Module(wasm)
    report["phase"] = "instantiate"
    if case == "wasi-long-path":
        from wasmbox.wasi import WasiConfig

        with tempfile.TemporaryDirectory() as directory:
            linker = Linker(Store(engine, deadline=1.0))
            wasi = linker.define_wasi(WasiConfig(preopens={"/": directory}))
            try:
                instance = linker.instantiate(module)
                path = long_path()
                instance.exports["memory"].write(0, path)  # type: ignore[union-attr]
                report["phase"], report["call_start"] = "run", time.perf_counter()
                return f"errno {instance.exports['run'](len(path))}"  # type: ignore[operator]
            finally:
                wasi.close()
    if case == "instantiate-drop":
        result: object = None
        for cycle in range(cycles):
            if cycle == min(10, cycles - 1):
                report["rss_reference_kb"] = collected_rss_kb()
            result = Instance(Store(engine), module, {}).exports["run"]()  # type: ignore[operator]
        report["rss_after_kb"] = collected_rss_kb()
        return f"{describe_value(result)} x{cycles}"
    run = Instance(Store(engine), module, {}).exports["run"]
    report["rss_reference_kb"] = collected_rss_kb()
    report["phase"], report["call_start"] = "run", time.perf_counter()
    value = run(*args)  # type: ignore[operator]
    report["rss_after_kb"] = collected_rss_kb()
    return describe_value(value)


def run_wasmtime(case: str, wasm: bytes, cycles: int, report: dict[str, Any]) -> str:
    import wasmtime

    config = wasmtime.Config()
    if CASES[case].exceptions:
        config.wasm_exceptions = True
    engine = wasmtime.Engine(config)
    args = CASES[case].args
    report["phase"] = "load"
    module = wasmtime.Module(engine, wasm)
    report["phase"] = "instantiate"
    if case == "wasi-long-path":
        with tempfile.TemporaryDirectory() as directory:
            store = wasmtime.Store(engine)
            wasi = wasmtime.WasiConfig()
            wasi.preopen_dir(directory, "/")
            store.set_wasi(wasi)
            linker = wasmtime.Linker(engine)
            linker.define_wasi()
            exports = linker.instantiate(store, module).exports(store)
            path = long_path()
            exports["memory"].write(store, path, 0)  # type: ignore[union-attr]
            report["phase"], report["call_start"] = "run", time.perf_counter()
            return f"errno {exports['run'](store, len(path))}"  # type: ignore[operator]
    if case == "instantiate-drop":
        result: object = None
        for cycle in range(cycles):
            if cycle == min(10, cycles - 1):
                report["rss_reference_kb"] = collected_rss_kb()
            store = wasmtime.Store(engine)
            result = wasmtime.Instance(store, module, []).exports(store)["run"](store)  # type: ignore[operator]
        report["rss_after_kb"] = collected_rss_kb()
        return f"{describe_value(result)} x{cycles}"
    store = wasmtime.Store(engine)
    run = wasmtime.Instance(store, module, []).exports(store)["run"]
    report["rss_reference_kb"] = collected_rss_kb()
    report["phase"], report["call_start"] = "run", time.perf_counter()
    value = run(store, *args)  # type: ignore[operator]
    report["rss_after_kb"] = collected_rss_kb()
    return describe_value(value)


def typed_error(error: BaseException, engine: str) -> bool:
    """Whether the error is one the runtime promises (wasmbox.errors, or wasmtime's Trap/WasmtimeError)."""
    if engine == PEER:
        import wasmtime

        return isinstance(error, (wasmtime.Trap, wasmtime.WasmtimeError))
    from wasmbox.errors import WasmError

    return isinstance(error, WasmError)


def child(case: str, engine: str, wasm_path: str, cycles: int) -> None:
    wasm = Path(wasm_path).read_bytes()
    # Each runtime's libraries are loaded before the clock starts and the baseline of resident memory
    # is read: wasmtime's (its compiler, Cranelift, is in the library `import wasmtime` loads) and, for
    # the native engine, llvmlite's (LLVM).  What a runtime does with them is timed: creating an engine,
    # initialising a target, compiling.
    if engine == PEER:
        import wasmtime  # noqa: F401
    else:
        import wasmbox.wasi  # noqa: F401

        if engine == "native":
            import llvmlite.binding  # noqa: F401
    report: dict[str, Any] = {"base_rss_kb": resident_kb()}
    start = time.perf_counter()
    try:
        if engine == PEER:
            outcome = run_wasmtime(case, wasm, cycles, report)
        else:
            outcome = run_wasmbox(case, engine, wasm, cycles, report)
        report["kind"] = "value"
    except Exception as error:  # the outcome being measured, whatever it is
        outcome = describe(error)
        report["kind"] = "typed" if typed_error(error, engine) else "untyped"
    end = time.perf_counter()
    report["outcome"] = outcome
    report["seconds"] = end - start
    if "call_start" in report:
        report["run_seconds"] = end - report.pop("call_start")
    report["peak_rss_kb"] = resident_kb("VmHWM")
    print(RESULT_MARK + json.dumps(report), flush=True)


# --- The parent: run each child, read its resources, judge ----------------------------------------------------


def child_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(case: str, engine: str, wasm_path: Path, options: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.hostile", "--child", case, engine, str(wasm_path)]
    command += ["--cycles", str(options.cycles)]
    with (
        tempfile.TemporaryDirectory() as cache,
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
    ):
        env = dict(os.environ, WASMBOX_CACHE=cache)
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=ROOT, env=env, start_new_session=True)
        killed = ""
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > options.timeout:
                killed = "timeout"
            elif child_rss_kb(process.pid) > options.rss_limit_mb * 1024:
                killed = f"killed: RSS over {options.rss_limit_mb} MB"
            if killed:
                os.killpg(process.pid, signal.SIGKILL)
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        output = stdout.read().decode(errors="replace")
        errors = stderr.read().decode(errors="replace")
    result: dict[str, Any] = {"seconds": elapsed, "peak_rss_kb": usage.ru_maxrss, "kind": "failed"}
    for line in output.splitlines():
        if line.startswith(RESULT_MARK):
            result.update(json.loads(line[len(RESULT_MARK) :]))
            result["peak_rss_kb"] = max(usage.ru_maxrss, int(result["peak_rss_kb"]))
            return result
    if killed:
        result["outcome"] = killed
    elif process.returncode < 0:
        result["outcome"] = f"crashed (signal {-process.returncode})"
    else:
        last = (errors.strip().splitlines() or ["no output"])[-1]
        result["outcome"] = f"exit {process.returncode}: {last}"[:160]
    return result


def errno_name(outcome: str) -> str:
    """``errno 37`` -> ``errno 37 (nametoolong)``, by the witx's numbering."""
    from wasmbox.wasi.abi import ERRNO_NAMES

    number = int(outcome.split()[1])
    return f"{outcome} ({ERRNO_NAMES[number]})" if 0 <= number < len(ERRNO_NAMES) else outcome


def refused(row: dict[str, Any]) -> bool:
    """Whether the runtime refused the module as malformed or invalid (wasmtime-py: while compiling it)."""
    if row["kind"] != "typed":
        return False
    if row["outcome"].split(":")[0] in ("ValidationError", "MalformedError", "ImplementationLimitError"):
        return True
    return bool(row["outcome"].startswith("WasmtimeError") and row.get("phase") == "load")


def verdict(case: str, row: dict[str, Any], peer: dict[str, Any] | None, floor: float) -> tuple[str, str]:
    """(ratio to wasmtime-py's time, PASS/FAIL with the reason)."""
    peak_mb = row["peak_rss_kb"] / 1024
    ratio_text = "-"
    peer_seconds = None
    if peer is not None and peer["kind"] in ("value", "typed") and not refused(peer):
        peer_seconds = max(float(peer["seconds"]), floor)
        ratio_text = f"{max(float(row['seconds']), floor) / peer_seconds:.3g}"
    if refused(row):
        return ratio_text, "PASS (refused at load)"
    if row["kind"] == "failed":
        return ratio_text, "FAIL (" + row["outcome"].split(" (")[0].split(":")[0] + ")"
    if row["kind"] == "untyped":
        return ratio_text, "FAIL (untyped error)"
    if CASES[case].must_refuse:
        return ratio_text, "FAIL (accepted; wasmtime-py refuses it)"
    reasons = []
    if peer_seconds is not None and max(float(row["seconds"]), floor) > TIME_RATIO_BOUND * peer_seconds:
        reasons.append("time")
    if peak_mb > RSS_BOUND_MB:
        reasons.append("RSS")
    if reasons:
        return ratio_text, "FAIL (" + ", ".join(reasons) + ")"
    return ratio_text, "PASS" if peer_seconds is not None else "PASS (RSS only: no peer time)"


def table_cell(text: str) -> str:
    return text.replace("|", "\\|")


def print_row(case: str, engine: str, row: dict[str, Any], ratio: str, judged: str) -> None:
    outcome = row["outcome"]
    if case == "wasi-long-path" and outcome.startswith("errno "):
        outcome = errno_name(outcome)
    run = f"{row['run_seconds']:.3f}" if "run_seconds" in row else "-"
    growth = "-"
    if case in ("instantiate-drop", "caught-exceptions") and "rss_after_kb" in row:
        growth = f"{(row['rss_after_kb'] - row['rss_reference_kb']) / 1024:.1f}"
    cells = [case, engine, table_cell(outcome), f"{row['seconds']:.3f}", run]
    cells += [f"{row['peak_rss_kb'] / 1024:.0f}", growth, ratio, judged]
    print("| " + " | ".join(cells) + " |", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=3, metavar=("CASE", "ENGINE", "WASM"), help=argparse.SUPPRESS)
    parser.add_argument("--engines", default="interp,baseline,native")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--cycles", type=int, default=1000, help="instantiate-drop cycles")
    parser.add_argument("--rss-limit-mb", type=int, default=4096, help="kill a child whose RSS passes this")
    parser.add_argument("--time-floor", type=float, default=0.0, help="shorter times count as this in the ratio")
    parser.add_argument("--no-peer", action="store_true", help="skip wasmtime-py")
    parser.add_argument("--save-modules", metavar="DIR", help="also write the modules to DIR")
    options = parser.parse_args(argv)
    if options.child:
        child(*options.child, options.cycles)
        return 0
    cases = options.cases.split(",")
    unknown = [case for case in cases if case not in CASES]
    if unknown:
        parser.error(f"unknown cases: {', '.join(unknown)} (known: {', '.join(CASES)})")
    engines = ([] if options.no_peer else [PEER]) + options.engines.split(",")
    from benchmarks.startup import byte_compile

    for note in byte_compile():  # as installed packages are: no child compiles Python sources
        print(f"# {note}")
    import wasmbox  # only to say which tree the children import (PYTHONPATH can point at another checkout)

    print(f"# wasmbox from {Path(wasmbox.__file__).parent}")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; ", end="")
    print(f"timeout {options.timeout:g} s, {options.cycles} instantiate-drop cycles")
    print(f"# PASS: refused at load, or within {TIME_RATIO_BOUND:g}x wasmtime-py's wall time and <= ", end="")
    print(f"{RSS_BOUND_MB:g} MB peak RSS (time floor {options.time_floor:g} s)")
    print("| case | engine | outcome | wall s | run s | peak RSS MB | RSS growth MB | x wasmtime | verdict |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    verdicts: dict[str, int] = {"PASS": 0, "FAIL": 0}
    baselines: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for case in cases:
            wasm = CASES[case].build()
            wasm_path = Path(scratch) / f"{case}.wasm"
            wasm_path.write_bytes(wasm)
            if options.save_modules:
                Path(options.save_modules).mkdir(parents=True, exist_ok=True)
                (Path(options.save_modules) / wasm_path.name).write_bytes(wasm)
            peer: dict[str, Any] | None = None
            for engine in engines:
                row = measure(case, engine, wasm_path, options)
                if "base_rss_kb" in row:
                    baselines.setdefault(engine, []).append(int(row["base_rss_kb"]))
                if engine == PEER:
                    peer = row
                    ratio, judged = "1", "peer"
                    if row["kind"] in ("failed", "untyped") or refused(row):
                        judged = "peer: cannot run it"
                else:
                    ratio, judged = verdict(case, row, peer, options.time_floor)
                    verdicts[judged.split()[0]] += 1
                print_row(case, engine, row, ratio, judged)
    print()
    print(f"wasmbox rows: {verdicts['PASS']} PASS, {verdicts['FAIL']} FAIL")
    resident = ", ".join(f"{engine} {min(kb) / 1024:.0f} MB" for engine, kb in baselines.items())
    print(f"resident memory of a child with its runtime imported, before the case: {resident}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
