"""A loop allocating many short-lived structs runs in bounded memory (issue 15): GC objects are
Python objects, freed when the last reference goes.  Measured in a subprocess by its peak resident
memory, after a short run and after a run ten times longer: the longer run may not need more than
a few megabytes more (a leak of one 40-byte struct per iteration would need ~18 MB more)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import PEAK_RESIDENT_MB

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys
from wasmbox import Instance, Module, Store

PROGRAM = '''(module
  (type $cell (struct (field (mut i64)) (field (ref null $cell))))
  (func (export "churn") (param $n i32) (result i64)
    (local $last (ref null $cell))
    (loop $again
      ;; a new struct each iteration, pointing at the previous one, which then dies
      (local.set $last (struct.new $cell (i64.extend_i32_u (local.get $n)) (ref.null $cell)))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (struct.get $cell 0 (local.get $last))))'''

churn = Instance(Store(sys.argv[1]), Module(PROGRAM)).exports["churn"]
peaks = []
for count in (50_000, 500_000):
    assert churn(count) == 1
    peaks.append(peak_resident_mb())
print(json.dumps(peaks))
"""


@pytest.mark.parametrize("engine", ["interp", "baseline"])
def test_half_a_million_short_lived_structs_need_no_more_memory_than_fifty_thousand(engine: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    result = subprocess.run(
        [sys.executable, "-c", PEAK_RESIDENT_MB + CHILD, engine],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    short_run, long_run = json.loads(result.stdout.splitlines()[-1])
    assert long_run - short_run < 8, f"peak resident memory grew from {short_run:.0f} MB to {long_run:.0f} MB"
