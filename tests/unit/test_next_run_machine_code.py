"""A module run again and hot again leaves its machine code for the run after (issue 13).

A short program finishes before it asks for the module's machine code, so every warm run started
on the baseline.  Once a run finds code an earlier run made for a hot function (its translation,
or its machine code of its own: the module was hot before and is called again), its worker makes
the -O2 object for the code cache after the program exits, and the next run links it before its
first call.

A large module (tiered function by function) that gets hot leaves its whole -O2 object after its
first run already, if its code is small enough to compile whole (a medium program: an interpreter
whose loop calls small functions all the time never reaches machine code function by function).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import wasmbox

# A function that gets hot at once (its loop), in a run far shorter than the 0.2 s after which a
# run asks for machine code itself.
PROGRAM = """(module
  (func (export "spin") (param i32) (result i32) (local i32)
    (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 3)))
      (br_if $l (i32.gt_s (local.tee 0 (i32.sub (local.get 0) (i32.const 1))) (i32.const 0))))
    (local.get 1)))"""

# Runs `wasmbox run --invoke spin PROG 2000` three times as the subreaper of what each leaves behind,
# waiting for it in between; reports each run's output and whether it linked machine code.
DRIVER = """
import ctypes, json, os, subprocess, sys
assert ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
run = "import sys, wasmbox.cli; s = wasmbox.cli.main(sys.argv[1:]); " \\
      "engine = sys.modules.get('wasmbox.engines.native.engine'); " \\
      "whole = engine is not None and any('q' not in flags for _, flags in engine._compiled); " \\
      "print('whole' if whole else 'python'); sys.exit(s)"
report = []
for _ in range(3):
    done = subprocess.run([sys.executable, "-c", run, "run", "--invoke", "spin", sys.argv[1], "2000"],
                          capture_output=True, text=True, check=True)
    report.append(done.stdout.split())
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
print(json.dumps(report))
"""


def _three_runs(tmp_path: Path, **settings: str) -> list[list[str]]:
    """Each run's [output, "whole" or "python"], the runs one after the other with one cache."""
    from wasmbox.engines.native import available
    from wasmbox.engines.native.object_loader import host_supported

    if not sys.platform.startswith("linux"):
        pytest.skip("the driver waits as a Linux subreaper")
    if not available() or not host_supported() or (os.cpu_count() or 1) < 2:
        pytest.skip("needs llvmlite, the object loader (Linux x86-64) and a second core for the worker")
    program = tmp_path / "spin.wasm"
    program.write_bytes(wasmbox.encode(wasmbox.parse_wat(PROGRAM)))
    environment = dict(os.environ, WASMBOX_CACHE=str(tmp_path / "cache"), **settings)
    environment.pop("WASMBOX_TRANSLATION_WORKER", None)
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(program)], capture_output=True, text=True, env=environment, check=True
    )
    runs: list[list[str]] = json.loads(done.stdout)
    return runs


def test_a_module_hot_again_starts_the_next_run_on_machine_code(tmp_path: Path) -> None:
    first, second, third = _three_runs(tmp_path)
    assert [first[0], second[0], third[0]] == ["6000"] * 3
    # Short runs: the module's whole code is not asked for (its hot function may get code of its own).
    assert (first[1], second[1]) == ("python", "python")
    assert third[1] == "whole"  # the second run's worker left the -O2 object; this run started on it
    assert list((tmp_path / "cache").glob("*-llvm*/w*.o"))


# A fourth process: whether the instance had the whole module's code before its first call, then the call's result.
INSTANTIATE_ONLY = """
import sys, wasmbox
instance = wasmbox.Instance(wasmbox.Store(interruptible=True), wasmbox.Module.from_file(sys.argv[1]))  # as the runs
engine = sys.modules.get("wasmbox.engines.native.engine")
print(engine is not None and any("q" not in flags for _, flags in engine._compiled))
print(instance.exports["spin"](2000))
"""


def test_cached_whole_module_code_is_linked_when_the_instance_is_made(tmp_path: Path) -> None:
    # Loading the code is part of making the instance (as in wasmtime), not of its first call.
    *_, third = _three_runs(tmp_path)
    assert third[1] == "whole"
    environment = dict(os.environ, WASMBOX_CACHE=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-c", INSTANTIATE_ONLY, str(tmp_path / "spin.wasm")],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    assert done.stdout.split() == ["True", "6000"]


def test_a_large_module_that_got_hot_starts_its_next_run_on_its_whole_machine_code(tmp_path: Path) -> None:
    # One function over the limit makes this module a large one, tiered function by function; its functions
    # start on quick code, and a run that started so many instructions so (here: any) asks for the next run's.
    first, second, third = _three_runs(tmp_path, WASMBOX_LAZY_FUNCTIONS="0", WASMBOX_NEXT_RUN_AFTER_QUICK="1")
    assert [first[0], second[0], third[0]] == ["6000"] * 3
    assert first[1] == "python"  # function by function: no whole-module code in this run
    assert (second[1], third[1]) == ("whole", "whole")  # the first run's worker left it after the exit
    assert list((tmp_path / "cache").glob("*-llvm*/w*.o"))


def test_a_large_module_over_the_size_limit_stays_tiered_in_its_next_runs(tmp_path: Path) -> None:
    runs = _three_runs(tmp_path, WASMBOX_LAZY_FUNCTIONS="0", WASMBOX_WHOLE_MODULE_CODE_AT_MOST="8")
    assert runs == [["6000", "python"]] * 3
    whole_objects = [path for path in (tmp_path / "cache").glob("*-llvm*/w*.o") if "L_" not in path.name]
    assert whole_objects == []  # (functions compiled alone are named ...L_f<index>.o)


def test_a_large_module_over_the_function_limit_stays_tiered_in_its_next_runs(tmp_path: Path) -> None:
    # Small code, but more functions than the limit: LLVM's memory grows with their number.
    runs = _three_runs(tmp_path, WASMBOX_LAZY_FUNCTIONS="0", WASMBOX_WHOLE_MODULE_FUNCTIONS_AT_MOST="0")
    assert runs == [["6000", "python"]] * 3
    whole_objects = [path for path in (tmp_path / "cache").glob("*-llvm*/w*.o") if "L_" not in path.name]
    assert whole_objects == []


def test_the_marker_is_made_again_when_the_machine_code_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marker that tells a run to start on the module's machine code lives under the portable engine's
    version; when that version changes and the native engine's does not, the object is found in the code
    cache and must be marked again, or no later run would start on it."""
    from wasmbox.engines import translation_cache
    from wasmbox.engines.native.engine import module_object

    monkeypatch.setenv("WASMBOX_CACHE", str(tmp_path))
    module = wasmbox.Module('(module (func (export "f") (result i32) (i32.const 7)))').ir
    marker = Path(translation_cache.directory(module)) / translation_cache.native_marker(False)
    made = module_object(module, False)
    assert marker.exists()
    marker.unlink()  # as if the portable engine's version had changed
    assert module_object(module, False) == made  # found in the code cache, not made again
    assert marker.exists()


def test_one_process_at_a_time_makes_a_modules_object_for_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs started back to back each leave a worker making the same -O2 object; while one holds the
    object's lock, the others leave it to that one (engine.module_object_for_cache)."""
    import fcntl

    from wasmbox.engines.native import available

    if not available():
        pytest.skip("the native engine needs llvmlite")
    from wasmbox.engines.native import engine
    from wasmbox.engines.native.jit import jit

    module = wasmbox.Module(PROGRAM).ir
    made: list[object] = []
    monkeypatch.setattr(engine, "module_object", lambda *arguments: made.append(arguments))
    directory = Path(jit().cache)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f"{engine.eager_prefix(module, False)}.making", "wb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        engine.module_object_for_cache(module, False)
        assert made == []  # another process (this test) is making it
    engine.module_object_for_cache(module, False)
    assert made == [(module, False)]
