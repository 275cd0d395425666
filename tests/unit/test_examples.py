"""The examples run as documented: fan-out over processes with the module compiled once."""

from __future__ import annotations

import importlib.util
import os
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
