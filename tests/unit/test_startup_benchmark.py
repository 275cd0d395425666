"""``benchmarks.startup`` times a run only once the processes an earlier run left behind have ended.

A ``wasmbox run`` detaches its translation worker at exit, and the worker goes on writing the
optimised object to the code cache: a warm run started meanwhile measures a cache still being made,
on a machine whose other core is busy.  The benchmark becomes their subreaper and waits for them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

# A run that exits at once, leaving a grandchild that writes its file a moment later (as the detached
# worker writes its object): waiting for leftovers must return only after the file is there.
WAIT_FOR_A_LEFTOVER = """
import subprocess, sys
from pathlib import Path
from benchmarks import startup
assert startup.become_subreaper()
startup.SUBREAPER = True
target = Path(sys.argv[1])
leftover = "import time, pathlib, sys; time.sleep(0.5); pathlib.Path(sys.argv[1]).write_text('done')"
starter = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {leftover!r}, sys.argv[1]])"
subprocess.run([sys.executable, "-c", starter, str(target)], check=True)
assert not target.exists()  # the run returned before its leftover finished
startup.wait_for_leftovers(target.parent, timeout=60)
print(target.read_text())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_CHILD_SUBREAPER is Linux's")
def test_the_benchmark_waits_for_processes_a_run_left_behind(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WAIT_FOR_A_LEFTOVER, str(tmp_path / "written")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "done"
