"""The examples run as documented: fan-out over processes with the module compiled once, the calories
puzzle, the C program built with zig, the embedding examples."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRIMES_BELOW_400_000 = 33860


def run_example(name: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args], capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def check_report(output: str) -> None:
    lines = output.splitlines()
    assert lines[0] == f"primes below 400000: {PRIMES_BELOW_400_000}"
    workers = [line for line in lines[1:] if line.startswith("worker ")]
    assert workers and all("compiled there: no" in line for line in workers), output


def test_process_pool_example_ships_the_compiled_module() -> None:
    check_report(run_example("process_pool.py", "2", "8"))


def test_dask_example_ships_the_compiled_module() -> None:
    if importlib.util.find_spec("distributed") is None:
        pytest.skip('dask.distributed is not installed (pip install "dask[distributed]")')
    check_report(run_example("dask_cluster.py", "2", "8"))


def run_wasmbox(*args: str, stdin: str = "") -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "wasmbox", *args], input=stdin, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


CALORIES = str(ROOT / "examples" / "calories" / "calories.wat")
WORDCOUNT = ROOT / "examples" / "wasi_c" / "wordcount.wasm"
SENTENCE = "the quick brown fox\njumps over the lazy dog\n"


def test_calories_puzzle_prints_its_answer() -> None:
    assert run_wasmbox("run", CALORIES) == "most calories: 24000\n"
    assert run_wasmbox("run", "--invoke", "solve", CALORIES, "256", "55") == "24000\n"


def test_calories_puzzle_under_the_explorer_and_the_tracer(tmp_path: Path) -> None:
    run_wasmbox("explore", "--html", str(tmp_path / "calories.html"), CALORIES)
    assert 'data-mode="embedded"' in (tmp_path / "calories.html").read_text()
    trace = tmp_path / "trace.txt"
    run_wasmbox("trace", "--func", "max", "-o", str(trace), CALORIES)
    assert trace.read_text().splitlines()[0].strip() == "→ $max(i32:0, i32:6000)"


def test_c_program_built_with_zig_counts_words() -> None:
    assert run_wasmbox("run", str(WORDCOUNT), stdin=SENTENCE) == "2 lines, 9 words, 44 bytes; longest word: quick\n"


def test_c_program_rebuilds_from_its_recipe(tmp_path: Path) -> None:
    if importlib.util.find_spec("ziglang") is None:
        pytest.skip("ziglang is not installed (pip install ziglang): the committed wordcount.wasm is tested instead")
    for name in ("wordcount.c", "build.sh"):
        shutil.copy(WORDCOUNT.parent / name, tmp_path / name)
    subprocess.run(
        ["sh", str(tmp_path / "build.sh")],
        check=True,
        timeout=900,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )
    built = tmp_path / "wordcount.wasm"
    assert run_wasmbox("run", str(built), stdin=SENTENCE) == "2 lines, 9 words, 44 bytes; longest word: quick\n"


def test_host_functions_example() -> None:
    assert run_example("embedding/host_functions.py").splitlines() == [
        "guest says: summing squares",
        "score(10) = 290",
        "clamp was called 10 times; first with (100, 50)",
    ]


def test_numpy_memory_example_shares_memory() -> None:
    lines = run_example("embedding/numpy_memory.py").splitlines()
    prefix = "with numpy" if importlib.util.find_spec("numpy") else "without numpy"
    assert lines == [f"{prefix}: [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]", "sum: 18.0"]


def test_untrusted_limits_example_stops_each_guest() -> None:
    assert run_example("embedding/untrusted_limits.py").splitlines() == [
        "spin with 100000 fuel: out of fuel",
        "spin with a 0.2 s deadline: deadline exceeded",
        "grow by 100 pages past a 16-page cap returns -1",
        "endless recursion with max_call_depth=1000: call stack exhausted",
        "an honest guest still runs: honest(21) = 42 fuel left: 997",
    ]


def test_capture_output_example() -> None:
    assert run_example("embedding/capture_output.py").splitlines() == [
        "wordcount captured: 2 lines, 11 words, 77 bytes; longest word: WebAssembly",
        "calories captured: most calories: 24000",
    ]
