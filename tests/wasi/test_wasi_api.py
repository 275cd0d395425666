"""The Python side of WASI: WasiConfig, define_wasi, binding memory, releasing host descriptors."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from wasmbox import Linker, Module, Store
from wasmbox.wasi import Preopen, WasiConfig

WRITER = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 8) "from start\\n")
  (func $s (i32.store (i32.const 0) (i32.const 8)) (i32.store (i32.const 4) (i32.const 11))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20))))
  (func (export "again") (call $s))
  (start $s))"""


def test_a_start_function_can_already_call_wasi() -> None:
    out = io.BytesIO()
    linker = Linker(Store())
    linker.define_wasi(WasiConfig(stdout=out))
    instance = linker.instantiate(Module(WRITER))
    assert out.getvalue() == b"from start\n"
    instance.exports["again"]()
    assert out.getvalue() == b"from start\n" * 2


def test_stdout_defaults_to_the_hosts_file_descriptor(capfd: pytest.CaptureFixture[str]) -> None:
    linker = Linker(Store())
    wasi = linker.define_wasi(WasiConfig())
    linker.instantiate(Module(WRITER))
    wasi.close()
    assert capfd.readouterr().out == "from start\n"


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count descriptors")
def test_close_releases_every_host_descriptor(tmp_path: Path) -> None:
    before = open_descriptors()
    linker = Linker(Store())
    wasi = linker.define_wasi(WasiConfig(preopens={"/a": str(tmp_path), "/b": Preopen(str(tmp_path), read_only=True)}))
    assert open_descriptors() == before + 5  # stdin, stdout, stderr duplicated, two directories
    wasi.close()
    assert open_descriptors() == before


def test_a_missing_preopen_fails_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Linker(Store()).define_wasi(WasiConfig(preopens={"/x": str(tmp_path / "missing")}))


SLEEPER = """(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "sleep_an_hour") (result i32)
    (i64.store (i32.const 24) (i64.const 3600000000000))  ;; subscription_clock.timeout: one hour
    (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
  (func (export "accept") (result i32)
    (call $accept (i32.const 3) (i32.const 0) (i32.const 128))))"""


@pytest.mark.parametrize("blocking_call", ["sleep_an_hour", "accept"])
def test_a_deadline_ends_a_guest_blocked_in_the_host(blocking_call: str) -> None:
    import socket

    from wasmbox.errors import Trap

    listener = socket.create_server(("127.0.0.1", 0))  # nobody ever connects
    linker = Linker(Store(deadline=0.2))
    wasi = linker.define_wasi(WasiConfig(sockets=[listener]))
    instance = linker.instantiate(Module(SLEEPER))
    with pytest.raises(Trap, match="deadline exceeded"):
        instance.exports[blocking_call]()
    wasi.close()


def test_readme_wasi_example_runs(tmp_path: Path) -> None:
    import re
    import shutil
    import subprocess
    import sys

    from tests.wasi.harness import compile_c

    readme = Path(__file__).resolve().parents[2] / "README.md"
    match = re.search(r"### WASI programs\n\n```python\n(.*?)```", readme.read_text(), re.S)
    assert match is not None
    (tmp_path / "host" / "dir").mkdir(parents=True)
    (tmp_path / "host" / "share").mkdir()
    shutil.copy(compile_c("tree_tool"), tmp_path / "tool.wasm")
    result = subprocess.run(
        [sys.executable, "-c", match.group(1)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr
    # tree_tool finds nothing to walk in the empty preopen and exits with status 3.
    assert result.stdout.splitlines()[-1] == "exit status 3"
    assert "stdin: 2 words" in result.stdout and (tmp_path / "host" / "dir" / "report.txt").exists()


def test_random_get_checks_the_buffer_before_drawing_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    """A huge length must fault first: drawing 4 GiB of randomness and then failing was a bug."""
    from wasmbox.ir.types import Limits, MemoryType
    from wasmbox.runtime.memory import MemoryInstance
    from wasmbox.wasi.abi import EFAULT
    from wasmbox.wasi.preview1 import WasiInstance

    wasi = WasiInstance(WasiConfig(stdout=io.BytesIO(), stderr=io.BytesIO(), stdin=b""))
    wasi.bind(MemoryInstance(MemoryType(Limits(1, 1))))
    drawn: list[int] = []
    monkeypatch.setattr("os.urandom", lambda n: drawn.append(n) or bytes(n))
    random_get = wasi.imports()[("wasi_snapshot_preview1", "random_get")].code
    assert random_get(16, 0xFFFFFFFF) == EFAULT and drawn == []
    assert random_get(16, 8) == 0 and drawn == [8]
    wasi.close()


def test_each_instance_on_one_linker_gets_its_own_memory() -> None:
    """Two instances on one linker with WASI: once, WASI bound to whichever instance last exported
    a memory, and one guest's fd_write printed the other's bytes (args_sizes_get wrote into it)."""
    out = io.BytesIO()
    linker = Linker(Store())
    linker.define_wasi(WasiConfig(argv=["prog", "arg1"], stdout=out))
    writer = Module(
        """(module
          (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 100) "mine\\n")
          (data (i32.const 0) "\\64\\00\\00\\00\\05\\00\\00\\00")
          (func (export "go") (result i32)
            (drop (call $sizes (i32.const 200) (i32.const 204)))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.load (i32.const 200))))"""
    )
    other = Module(
        '(module (memory (export "memory") 1) (data (i32.const 100) "THEIRS") '
        '(func (export "peek") (result i32) (i32.load (i32.const 200))))'
    )
    first = linker.instantiate(writer)
    second = linker.instantiate(other)
    assert first.exports["go"]() == 2  # argc, written into its own memory
    assert second.exports["peek"]() == 0  # nothing written into the other one
    assert out.getvalue() == b"mine\n"
