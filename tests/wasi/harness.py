"""Helpers for the WASI tests: C programs compiled on demand, and two ways to run them.

The programs live in ``programs/`` as C source and are compiled here with
``python -m ziglang cc -target wasm32-wasi`` (the ``ziglang`` package from
PyPI); the builds are cached by a hash of their sources under
``$WASMBOX_TEST_CACHE`` (default ``~/.cache/wasmbox-tests``).  Tests skip,
saying why, when ziglang is not installed.  wasmtime-py, where a test uses it,
is the oracle: the same program, the same inputs, the same outputs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from wasmbox import Linker, Module, Store
from wasmbox.errors import WasiExit
from wasmbox.wasi import Preopen, WasiConfig

PROGRAMS = Path(__file__).parent / "programs"
CACHE = Path(os.environ.get("WASMBOX_TEST_CACHE", Path.home() / ".cache" / "wasmbox-tests"))
FLAGS = ["-O1", "-Wno-format", "-Wno-unused-result"]


@dataclass
class Outcome:
    status: int
    stdout: str
    stderr: str

    def values(self) -> dict[str, int]:
        """The ``label=N`` lines the probe programs print, as a dict."""
        result = {}
        for line in self.stdout.splitlines():
            label, equals, number = line.partition("=")
            if equals and number.lstrip("-").isdigit() and " " not in label:
                result[label] = int(number)
        return result


def program_name(wasm: Path) -> str:
    """argv[0] as a user would see it: the program's name without the cache's hash."""
    return wasm.stem.rsplit("-", 1)[0] + ".wasm"


def compile_c(name: str, directory: Path = PROGRAMS, extra_flags: Sequence[str] = ()) -> Path:
    """``directory/name.c`` compiled to wasm32-wasi (cached by a hash of its sources and flags)."""
    if importlib.util.find_spec("ziglang") is None:
        pytest.skip("ziglang is not installed (pip install ziglang): the C test programs cannot be compiled")
    source = directory / f"{name}.c"
    flags = [*FLAGS, *extra_flags]
    digest = hashlib.sha256()
    for part in (source, PROGRAMS / "probe.h"):
        digest.update(part.read_bytes())
    digest.update(" ".join(flags).encode())
    output = CACHE / f"{name}-{digest.hexdigest()[:16]}.wasm"
    if not output.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = output.with_suffix(".partial")
        command = [sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", *flags]
        command += [f"-I{PROGRAMS}", str(source), "-o", str(partial)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"zig cc failed for {name}:\n{result.stderr}"
        partial.replace(output)
    return output


def run_wasmbox(
    wasm: Path,
    argv: Sequence[str] = (),
    *,
    preopens: Mapping[str, str | Path | Preopen] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes = b"",
    sockets: Sequence[object] = (),
) -> Outcome:
    """Run a WASI command through the Python API, capturing its stdio."""
    stdout, stderr = io.BytesIO(), io.BytesIO()
    config = WasiConfig(
        argv=[program_name(wasm), *argv],
        env=dict(env or {}),
        preopens={k: v if isinstance(v, Preopen) else str(v) for k, v in (preopens or {}).items()},
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        sockets=list(sockets),  # type: ignore[arg-type]
    )
    linker = Linker(Store())
    wasi = linker.define_wasi(config)
    try:
        instance = linker.instantiate(Module.from_file(wasm))
        try:
            instance.exports["_start"]()
            status = 0
        except WasiExit as exit_:
            status = exit_.code
    finally:
        wasi.close()
    return Outcome(status, stdout.getvalue().decode(), stderr.getvalue().decode())


def run_wasmtime(
    wasm: Path,
    argv: Sequence[str] = (),
    *,
    preopens: Mapping[str, str | Path] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes = b"",
    tmp: Path,
) -> Outcome:
    """The oracle: the same program under wasmtime-py, stdio through files."""
    wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is the oracle for these tests")
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = [program_name(wasm), *argv]
    config.env = list((env or {}).items())
    files = {name: tmp / f"wasmtime-{name}" for name in ("stdin", "stdout", "stderr")}
    files["stdin"].write_bytes(stdin)
    config.stdin_file = str(files["stdin"])
    config.stdout_file = str(files["stdout"])
    config.stderr_file = str(files["stderr"])
    for guest, host in (preopens or {}).items():
        config.preopen_dir(str(host), guest)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm)))
    try:
        instance.exports(store)["_start"](store)
        status = 0
    except wasmtime.ExitTrap as exit_:
        status = exit_.code
    return Outcome(status, files["stdout"].read_text(), files["stderr"].read_text())


def snapshot(root: Path) -> dict[str, tuple[str, bytes | str, int]]:
    """Every entry under ``root``: kind, contents (or link target) and mtime, for "untouched" checks."""
    result: dict[str, tuple[str, bytes | str, int]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        relative = str(path.relative_to(root))
        if path.is_symlink():
            result[relative] = ("link", os.readlink(path), st.st_mtime_ns)
        elif path.is_dir():
            result[relative] = ("dir", b"", st.st_mtime_ns)
        else:
            result[relative] = ("file", path.read_bytes(), st.st_mtime_ns)
    return result
