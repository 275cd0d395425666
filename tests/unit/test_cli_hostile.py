"""The command line on hostile input and Ctrl-C, run as a user runs it: in a subprocess.

Whatever the input, the output is one ``wasmbox: error:`` line (a trap adds its wasm backtrace) and an
exit status; never a Python traceback.  Ctrl-C stops a running guest on every engine with status 130.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wasmbox import ENGINES

ROOT = Path(__file__).resolve().parents[2]


def wasmbox(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "wasmbox.cli", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def assert_one_error(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("wasmbox: error: "), result.stderr
    return first


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    contents: dict[str, bytes] = {
        "empty.wasm": b"",
        "random.bin": bytes(range(256)) * 4,
        "truncated.wasm": b"\0asm\1\0\0\0\1\5\1\x60",
        "bad.wat": b"(module (func (result i32) (i64.cnst 1)))",
        "invalid.wat": b"(module (func (result i32) (i64.const 1)))",
        "args.wat": b'(module (func (export "add") (param i32 i32) (result i32) '
        b"(i32.add (local.get 0) (local.get 1))))",
        "trap.wat": b'(module (func (export "_start") unreachable))',
        "deep.wat": b'(module (func $f (export "_start") (call $f)))',
        # a type section of one function type with 1,001 i32 parameters (1,006 bytes: 0xEE 0x07)
        "params.wasm": b"\0asm\1\0\0\0\1" + bytes([0xEE, 0x07, 1, 0x60, 0xE9, 0x07]) + b"\x7f" * 1001 + b"\0",
    }
    paths = {}
    for name, data in contents.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths[name] = path
    return paths


def test_bad_modules_are_one_line(files: dict[str, Path]) -> None:
    for name in ("empty.wasm", "random.bin", "truncated.wasm", "bad.wat", "invalid.wat"):
        for command in ("validate", "run", "wasm2wat"):
            line = assert_one_error(wasmbox(command, str(files[name])))
            assert name in line
    assert "@0x9: length out of bounds" in assert_one_error(wasmbox("validate", str(files["truncated.wasm"])))
    assert "not a WebAssembly module" in assert_one_error(wasmbox("run", str(files["random.bin"])))


def test_bad_arguments_are_one_line(files: dict[str, Path]) -> None:
    args = str(files["args.wat"])
    for values in (["4294967296", "1"], ["x", "1"], ["1"], ["1.5", "2"]):
        assert_one_error(wasmbox("run", "--invoke", "add", args, *values))
    assert_one_error(wasmbox("run", "--invoke", "nonesuch", args))
    assert_one_error(wasmbox("run", "--fuel", "-5", args))
    assert wasmbox("run", "--invoke", "add", args, "-1", "2").stdout == "1\n"


def test_traps_and_limits_are_one_error_and_a_backtrace(files: dict[str, Path]) -> None:
    line = assert_one_error(wasmbox("run", str(files["trap.wat"])))
    assert "wasm trap: unreachable" in line
    line = assert_one_error(wasmbox("run", str(files["deep.wat"])))
    assert "call stack exhausted" in line
    assert "implementation limit" in assert_one_error(wasmbox("validate", str(files["params.wasm"])))


# A guest that says it is running (WASI stdout), then loops forever.
READY_THEN_LOOP = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ready\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $l (br $l))))"""


@pytest.mark.parametrize("engine", ENGINES)
def test_ctrl_c_stops_a_running_guest(engine: str, tmp_path: Path) -> None:
    loop = tmp_path / "loop.wat"
    loop.write_text(READY_THEN_LOOP)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen(
        [sys.executable, "-m", "wasmbox.cli", "run", "--engine", engine, str(loop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        # Wait until the guest runs (a busy machine may take seconds to import wasmbox), then interrupt it.
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        time.sleep(0.2)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err
    assert err.startswith("wasmbox: interrupted") and "Traceback" not in err, err


@pytest.mark.parametrize("worker", ["1", "0"])
def test_exit_while_machine_code_is_being_made_is_clean(worker: str, tmp_path: Path) -> None:
    """A program that ends while the module's machine code is being made or linked (on a worker's
    delivery thread, or a timer's) once crashed the process at exit (SIGSEGV, LLVM assertions)."""
    bench = Path(os.environ.get("WASMBOX_BENCH", ROOT.parent / "shared" / "bench")) / "wasm" / "sieve.wasm"
    if not bench.exists():
        pytest.skip(f"bench programs not found at {bench.parent} (set WASMBOX_BENCH)")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "WASMBOX_TRANSLATION_WORKER": worker,
    }
    for run in range(2):
        env["WASMBOX_CACHE"] = str(tmp_path / f"cache{run}")  # cold: the code is being made as it exits
        result = subprocess.run(
            [sys.executable, "-m", "wasmbox.cli", "run", str(bench), "20000"],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip() == "checksum: 124410"
