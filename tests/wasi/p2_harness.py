"""Helpers for the WASI 0.2 command-component tests: build a component, run it on wasmbox and on wasmtime-py.

Preview-1 programs from ``programs/`` are compiled by zig (``harness.compile_c``) and wrapped by
``wasm-tools component new`` with the ``wasi_snapshot_preview1`` command adapter that jco ships
(``npm pack @bytecodealliance/jco``; ``.ci/run`` fetches it and sets ``WASMBOX_P1_ADAPTER``). Builds are
cached beside the core programs, keyed by the hashes of the core program and the adapter. Both runners take
the same configuration: argv, environment, stdin, and preopens as ``(guest name, host path, writable)``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import wasm_tools

from wasmbox.component import Component
from wasmbox.errors import Trap
from wasmbox.wasip2 import WasiHost, run_command

from .harness import CACHE, Outcome, compile_c

ADAPTER = Path(os.environ.get("WASMBOX_P1_ADAPTER", CACHE / "wasi_snapshot_preview1.command.wasm"))

Preopens = Sequence[tuple[str, Path, bool]]
TRAPPED = -1  # the status both runners report when the guest traps instead of returning or exiting
SOURCES = Path(__file__).parent / "components"
WASI_WIT = Path(os.environ.get("WASMBOX_WASI_WIT", Path(__file__).resolve().parents[3] / "shared" / "wasi-0.2.12"))
CLI_PACKAGES = ("cli", "clocks", "filesystem", "io", "random", "sockets")


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


def python_command_component() -> Path:
    """``components/cli_app/app.py`` as a command component (world ``cli-app``, the WASI 0.2.12 WIT as its deps)
    through componentize-py (CPython inside, ~18 MB); cached by a hash of every input and the tool's version."""
    componentize = shutil.which("componentize-py") or shutil.which(
        "componentize-py", path=str(Path(sys.executable).parent)
    )
    if componentize is None:
        pytest.skip("componentize-py is not installed (pip install componentize-py)")
    if not WASI_WIT.exists():
        pytest.skip(f"the WASI 0.2 WIT is not at {WASI_WIT} (set WASMBOX_WASI_WIT)")
    sources = SOURCES / "cli_app"
    inputs = [sources / "app.py", sources / "cli_app.wit"]
    inputs += sorted(path for name in CLI_PACKAGES for path in (WASI_WIT / name / "wit").glob("*.wit"))
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in inputs))
    digest.update(importlib.metadata.version("componentize-py").encode())
    output = CACHE / f"cli_app-component-{digest.hexdigest()[:16]}.wasm"
    if output.exists():
        return output
    wit = CACHE / f"cli_app-wit-{digest.hexdigest()[:16]}"
    for name in CLI_PACKAGES:
        (wit / "deps" / name).mkdir(parents=True, exist_ok=True)
        for path in (WASI_WIT / name / "wit").glob("*.wit"):
            (wit / "deps" / name / path.name).write_bytes(path.read_bytes())
    (wit / "cli_app.wit").write_bytes((sources / "cli_app.wit").read_bytes())
    partial = output.with_suffix(".partial")
    command = [componentize, "-d", str(wit), "-w", "cli-app", "componentize", "app", "-p", str(sources)]
    result = subprocess.run([*command, "-o", str(partial)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"componentize-py failed:\n{result.stdout}\n{result.stderr}"
    shutil.rmtree(wit)
    partial.replace(output)
    return output


def compiled_by_wasmtime(engine: Any, component: Path) -> Any:
    """wasmtime's compiled form of ``component``, cached beside it (compiling CPython takes wasmtime ~10 s)."""
    from wasmtime import component as wc

    compiled = component.with_suffix(f".wasmtime-{importlib.metadata.version('wasmtime')}.cwasm")
    if compiled.exists():
        return wc.Component.deserialize_file(engine, str(compiled))
    loaded = wc.Component.from_file(engine, str(component))
    partial = compiled.with_suffix(".partial")
    partial.write_bytes(bytes(loaded.serialize()))
    partial.replace(compiled)
    return loaded


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
    except Trap:
        status = TRAPPED
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
    instance = linker.instantiate(store, compiled_by_wasmtime(engine, component))
    index = None
    for name in ("wasi:cli/run@0.2.12", "wasi:cli/run@0.2.6", "wasi:cli/run@0.2.0"):
        index = instance.get_export_index(store, name)
        if index is not None:
            break
    assert index is not None, "the component exports no wasi:cli/run"
    run = instance.get_func(store, instance.get_export_index(store, "run", index))
    try:
        outcome = run(store)
        # `result` without payloads comes back as a Variant tagged ok or err
        failed = isinstance(outcome, Exception) or (isinstance(outcome, wc.Variant) and outcome.tag == "err")
        status = 1 if failed else 0
    except wasmtime.ExitTrap as exit_:
        status = exit_.code
    except wasmtime.Trap:
        status = TRAPPED
    except wasmtime.WasmtimeError as error:  # a trap inside a component call arrives as this, its cause in the text
        if "wasm trap:" not in str(error):
            raise
        status = TRAPPED
    return Outcome(status, files["stdout"].read_text(), files["stderr"].read_text())
