"""WASI 0.2 command components: a C program wrapped by the preview-1 adapter, run by wasmbox and by wasmtime.

The component is built here from ``programs/component_tour.c``: zig compiles it for wasm32-wasi, and
``wasm-tools component new`` wraps it with the ``wasi_snapshot_preview1`` command adapter that jco ships
(``npm pack @bytecodealliance/jco``; ``.ci/run`` fetches it and sets ``WASMBOX_P1_ADAPTER``). wasmtime-py's
WASI 0.2 host is the oracle: same arguments, environment, stdin and directory, same outputs and files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wasmbox.component import Component

from .harness import Outcome, snapshot
from .p2_harness import build_component, run_component_with_wasmbox, run_component_with_wasmtime, wasm_tools


def run_with_wasmbox(component: Path, argv: list[str], env: dict[str, str], stdin: bytes, root: Path) -> Outcome:
    return run_component_with_wasmbox(component, ["tour.wasm", *argv], env, stdin, [(".", root, True)])


def run_with_wasmtime(
    component: Path, argv: list[str], env: dict[str, str], stdin: bytes, root: Path, tmp: Path
) -> Outcome:
    return run_component_with_wasmtime(component, ["tour.wasm", *argv], env, stdin, [(".", root, True)], tmp)


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
