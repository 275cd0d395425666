"""A componentize-py command (``components/cli_app/app.py``) run by wasmbox and by wasmtime-py's WASI 0.2 host.

Same arguments, environment, stdin and preopened ``/data`` on both; the app reads them, writes stdout and stderr,
makes, appends, renames, removes and links files under ``/data``, tries to leave it, and ends with the status
its arguments ask for. stdout, stderr, the exit status and the tree left in ``/data`` must be byte-identical.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .harness import Outcome, snapshot
from .p2_harness import (
    TRAPPED,
    python_command_component,
    run_component_with_wasmbox,
    run_component_with_wasmtime,
)

ENV = {"GREETING": "hi there", "EMPTY": "", "UNICODE": "grüße"}
STDIN = b"first line\nsecond \xc3\xa9 line\n"


def run_both(arguments: list[str], tmp_path: Path) -> tuple[dict[str, Outcome], dict[str, object]]:
    component = python_command_component()
    outcomes: dict[str, Outcome] = {}
    trees: dict[str, object] = {}
    for runner in ("wasmbox", "wasmtime"):
        data = tmp_path / runner / "data"
        data.mkdir(parents=True)
        (data / "input.txt").write_text("to be moved\n")
        (tmp_path / runner / "outside.txt").write_text("secret\n")
        preopens = [("/data", data, True)]
        argv = ["app", *arguments]
        if runner == "wasmbox":
            outcomes[runner] = run_component_with_wasmbox(component, argv, ENV, STDIN, preopens)
        else:
            outcomes[runner] = run_component_with_wasmtime(component, argv, ENV, STDIN, preopens, tmp_path)
        trees[runner] = {path: entry[:2] for path, entry in snapshot(tmp_path / runner).items()}
    return outcomes, trees


@pytest.mark.parametrize(
    ("arguments", "status"),
    [(["one", "two words", "ünï"], 0), (["fail"], 1), (["crash"], TRAPPED)],
    ids=["returns", "returns-err", "traps"],
)
def test_python_command_agrees_with_wasmtime(arguments: list[str], status: int, tmp_path: Path) -> None:
    outcomes, trees = run_both(arguments, tmp_path)
    assert outcomes["wasmbox"] == outcomes["wasmtime"]
    assert trees["wasmbox"] == trees["wasmtime"]
    # and the agreement is about something: the app ran to its end and did what it says
    ours = outcomes["wasmbox"]
    assert ours.status == status
    assert f"arguments {['app', *arguments]!r}" in ours.stdout
    assert "env UNICODE='grüße'" in ours.stdout and "stdin 26 bytes, 2 lines" in ours.stdout
    assert "escape refused: errno 63" in ours.stdout  # EPERM, as wasi-libc numbers it
    assert ours.stderr.startswith(f"warning: {len(arguments) + 1} arguments\n")
    tree = trees["wasmbox"]
    assert isinstance(tree, dict)
    assert tree["data/out/link"] == ("link", "hello.txt")
    assert tree["data/out/moved.txt"] == ("file", b"to be moved\n")
    assert "data/input.txt" not in tree and "data/out/doomed.txt" not in tree
    assert tree["outside.txt"] == ("file", b"secret\n") and "escape.txt" not in tree


@pytest.mark.slow
def test_python_sys_exit_agrees_with_wasmtime(tmp_path: Path) -> None:
    """``sys.exit(3)``: the adapter-free path through CPython's exit (WASI 0.2's exit carries only ok/err)."""
    outcomes, trees = run_both(["exit"], tmp_path)
    assert outcomes["wasmbox"] == outcomes["wasmtime"]
    assert trees["wasmbox"] == trees["wasmtime"]
    assert outcomes["wasmbox"].status == 1


def test_wasmbox_run_gives_what_wasmtime_gives(tmp_path: Path) -> None:
    """The same app through the ``wasmbox run`` command line: its stdout, stderr, status and tree."""
    component = python_command_component()
    data = tmp_path / "cli" / "data"
    data.mkdir(parents=True)
    (data / "input.txt").write_text("to be moved\n")
    command = [sys.executable, "-m", "wasmbox", "run", "--dir", f"{data}::/data"]
    command += [arg for key, value in ENV.items() for arg in ("--env", f"{key}={value}")]
    command += [str(component), "one", "fail"]
    result = subprocess.run(command, input=STDIN, capture_output=True, timeout=300)
    outcomes, trees = run_both(["one", "fail"], tmp_path)
    oracle = outcomes["wasmtime"]
    assert (result.returncode, result.stdout.decode(), result.stderr.decode()) == (
        oracle.status,
        oracle.stdout.replace(f"{['app', 'one', 'fail']!r}", f"{[str(component), 'one', 'fail']!r}"),
        oracle.stderr,
    )
    cli_tree = {path: entry[:2] for path, entry in snapshot(tmp_path / "cli").items()}
    wasmtime_tree = trees["wasmtime"]
    assert isinstance(wasmtime_tree, dict)
    assert cli_tree == {path: entry for path, entry in wasmtime_tree.items() if path != "outside.txt"}
