"""A componentize-py component in a fresh process: load + instantiate + first call, wasmbox against wasmtime-py.

Usage::

    python -m benchmarks.components [--runs 3] [--timeout SECONDS] [--variants wasmtime-py,default,baseline]

The component is the WASI 0.2 command the tests build from ``tests/wasi/components/cli_app/app.py``
(``tests.wasi.p2_harness.python_command_component``: componentize-py, CPython inside, ~18 MB; built once and
cached under ``~/.cache/wasmbox-tests``).  Its imports are WASI 0.2's alone, given by each runtime's own WASI
host (wasmbox's ``WasiHost``, wasmtime-py's ``Linker.add_wasip2``), with the same argv, environment, stdin and a
preopened, writable ``/data``.  The export called is ``wasi:cli/run``'s ``run``: CPython prints its arguments and
environment, reads stdin, makes, renames, links and lists files under ``/data``.

Each run is a fresh Python process that imports the runtime (timed apart, as "import"), then times

- **load**: the component from its file (wasmbox: ``Component.from_file``, which decodes and validates;
  wasmtime-py: ``Component.from_file``, which compiles, or ``Component.deserialize_file`` when warm);
- **instantiate**: the WASI host made for this run and the component instantiated with it;
- **first call**: ``run`` called once, to its return.

"total" is load + instantiate + first call; "process" is the whole child's wall time, Python's start and the
exit included (wasmbox's translation workers, if still compiling, are left running at exit). "CPU" is the child's
own CPU time (``time.process_time``, all its threads); "CPU with workers" adds every process it started
(wasmbox's translation workers, one per core module that gets hot), reaped before the next run: on a machine
shared with other work, the wall times move with the load and these two much less.

- ``cold``: wasmbox with ``WASMBOX_CACHE`` a new, empty directory (nothing validated, translated or compiled
  before: not even wasmbox's own native validator); wasmtime-py compiling the component from its bytes.
- ``warm``: the second process, with the cache the cold one left (wasmbox: ``WASMBOX_CACHE`` as the cold run
  left it, once the processes that run detached have finished; wasmtime-py: ``deserialize_file`` of the compiled
  form the cold process serialized after its timings, untimed: wasmtime-py keeps no cache unless configured, and
  its serialized form is the ahead-of-time path its documentation gives for skipping compilation).
- ``3rd``: wasmbox only, a third process on the same cache (a warm run can ask for more machine code at exit
  than the cold one made, so the third run may start on more of it).

wasmbox runs on its default engine (``Store()``) and on ``baseline`` (``Store("baseline")``).  Rounds go one
after another (cold, warm, 3rd for each variant, the order of variants rotating); the table gives medians over
``--runs`` rounds.  Every run's stdout must equal the others' (``run``'s listing of ``/data`` included) and its
result be ``ok``; a difference is reported.  Before anything is timed wasmbox, wasmtime and llvmlite are
byte-compiled (see ``benchmarks/startup.py``: ``PYTHONDONTWRITEBYTECODE`` is set here), and the benchmark is the
subreaper of what the children leave behind, waiting for it untimed between runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from benchmarks import startup

ROOT = Path(__file__).resolve().parent.parent
PEER = "wasmtime-py"
ENGINES = ("default", "baseline")
PHASES = ("cold", "warm", "3rd")
ARGV = ["app", "one", "two words"]
ENV = {"GREETING": "hi there"}
STDIN = b"first line\nsecond line\n"

# argv: COMPONENT ENGINE DATA_DIR.  Prints one JSON line of timings (seconds) and what ``run`` wrote.
WASMBOX_CHILD = r"""
import io, json, sys, time
start = time.perf_counter()
from wasmbox import Store
from wasmbox.component import Component, Ok
from wasmbox.wasip2 import WasiHost
imported = time.perf_counter()
path, engine, data, argv, env, stdin = sys.argv[1], sys.argv[2], sys.argv[3], *json.loads(sys.argv[4])
component = Component.from_file(path)
loaded = time.perf_counter()
stdout = io.BytesIO()
host = WasiHost(argv, env, preopens=[("/data", data, True)], stdin=io.BytesIO(stdin.encode()), stdout=stdout,
                stderr=io.BytesIO())
instance = component.instantiate(host.imports_for(component), Store() if engine == "default" else Store(engine))
run = next(value for name, value in instance.exports.items() if name.startswith("wasi:cli/run@"))["run"]
instantiated = time.perf_counter()
outcome = run.call_values([])
called = time.perf_counter()
print(json.dumps({"import": imported - start, "load": loaded - imported, "instantiate": instantiated - loaded,
                  "call": called - instantiated, "cpu": time.process_time(), "ok": isinstance(outcome[0], Ok),
                  "stdout": stdout.getvalue().decode(), "llvmlite": "llvmlite" in sys.modules}))
"""

# argv: COMPONENT COMPILED DATA_DIR ARGS: compiles (and afterwards, untimed, serializes to COMPILED) when COMPILED
# does not exist, deserializes it when it does.
WASMTIME_CHILD = r"""
import json, os, sys, time
start = time.perf_counter()
import wasmtime
from wasmtime import component as wc
imported = time.perf_counter()
path, compiled, data, argv, env, stdin = sys.argv[1], sys.argv[2], sys.argv[3], *json.loads(sys.argv[4])
engine = wasmtime.Engine()
warm = os.path.exists(compiled)
component = wc.Component.deserialize_file(engine, compiled) if warm else wc.Component.from_file(engine, path)
loaded = time.perf_counter()
with open(os.path.join(data, "..", "stdin"), "w") as handle:
    handle.write(stdin)
config = wasmtime.WasiConfig()
config.argv = argv
config.env = list(env.items())
config.stdin_file = os.path.join(data, "..", "stdin")
config.stdout_file = os.path.join(data, "..", "stdout")
config.preopen_dir(data, "/data")
store = wasmtime.Store(engine)
store.set_wasi(config)
linker = wc.Linker(engine)
linker.add_wasip2()
instance = linker.instantiate(store, component)
interface = instance.get_export_index(store, "wasi:cli/run@0.2.12")
run = instance.get_func(store, instance.get_export_index(store, "run", interface))
instantiated = time.perf_counter()
outcome = run(store)
called = time.perf_counter()
ok = not (isinstance(outcome, wc.Variant) and outcome.tag == "err")
report = {"import": imported - start, "load": loaded - imported, "instantiate": instantiated - loaded,
          "call": called - instantiated, "cpu": time.process_time(), "ok": ok,
          "stdout": open(os.path.join(data, "..", "stdout")).read(), "llvmlite": False}
if not warm:
    partial = compiled + ".partial"
    with open(partial, "wb") as handle:
        handle.write(bytes(component.serialize()))
    os.replace(partial, compiled)
print(json.dumps(report))
"""


@dataclass
class Run:
    """One child process: its phases (seconds), whole wall time, stdout of ``run``; or why it has none."""

    timings: dict[str, float]
    process: float
    stdout: str = ""
    ok: bool = False
    llvmlite: bool = False
    error: str = ""


def run_child(variant: str, component: Path, cache: Path, scratch: Path, timeout: float) -> Run:
    """One timed child for ``variant`` (PEER or an engine name) with ``cache`` as its cache; then, untimed, the
    wait for what it left behind."""
    work = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
    data = work / "data"
    data.mkdir()
    (data / "input.txt").write_text("to be moved\n")
    arguments = json.dumps([ARGV, ENV, STDIN.decode()])
    if variant == PEER:
        compiled = cache / "component.cwasm"
        command = [sys.executable, "-c", WASMTIME_CHILD, str(component), str(compiled), str(data), arguments]
    else:
        command = [sys.executable, "-c", WASMBOX_CHILD, str(component), variant, str(data), arguments]
    env = dict(os.environ, WASMBOX_CACHE=str(cache), PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=work)
    except subprocess.TimeoutExpired:
        startup.wait_for_leftovers(cache, timeout)
        return Run({}, float("nan"), error=f"timeout {timeout:g}s")
    finally:
        process = time.perf_counter() - start
    startup.wait_for_leftovers(cache, timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child and every process it left, once reaped
    cpu_all = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    shutil.rmtree(work, ignore_errors=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return Run({}, process, error=last[:120])
    report = json.loads(done.stdout.strip().splitlines()[-1])
    timings = {phase: float(report[phase]) for phase in ("import", "load", "instantiate", "call", "cpu")}
    timings["cpu_all"] = cpu_all
    return Run(timings, process, report["stdout"], bool(report["ok"]), bool(report["llvmlite"]))


def measure(variants: list[str], component: Path, runs: int, timeout: float, scratch: Path) -> dict[str, list[Run]]:
    """Per "variant/phase", the runs of ``runs`` rounds; each round gives each variant a new, empty cache."""
    results: dict[str, list[Run]] = {}
    for round_ in range(runs):
        shift = round_ % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            cache = Path(tempfile.mkdtemp(prefix="cache-", dir=scratch))
            for phase in PHASES if variant != PEER else PHASES[:2]:
                outcome = run_child(variant, component, cache, scratch, timeout)
                results.setdefault(f"{variant}/{phase}", []).append(outcome)
                described = f"{outcome.process:.2f} s" if not outcome.error else outcome.error
                print(f"  round {round_ + 1}: {variant} {phase}: {described}", file=sys.stderr, flush=True)
            shutil.rmtree(cache, ignore_errors=True)
    return results


def median(runs: list[Run], key: str) -> str:
    """The median of ``key`` (a phase, "total" or "process") over ``runs``, or the first run's error."""
    failed = next((run.error for run in runs if run.error), None)
    if failed is not None:
        return failed.replace("|", "\\|")
    if key == "process":
        values = [run.process for run in runs]
    elif key == "total":
        values = [sum(run.timings[phase] for phase in ("load", "instantiate", "call")) for run in runs]
    else:
        values = [run.timings[key] for run in runs]
    return f"{statistics.median(values):.3f}"


def problems(results: dict[str, list[Run]]) -> dict[str, str]:
    """Per row, what is wrong with its output: ``run`` not ok, or stdout unlike the first wasmtime-py run's."""
    reference = next((run.stdout for run in results.get(f"{PEER}/cold", []) if not run.error), None)
    found = {}
    for row, runs in results.items():
        notes = []
        for run in runs:
            if run.error:
                continue
            if not run.ok:
                notes.append("run returned err")
            if reference is None:
                notes.append("no wasmtime-py output to compare")
            elif run.stdout != reference:
                notes.append("stdout differs")
        found[row] = ", ".join(dict.fromkeys(notes)) or "same"
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="rounds (the table gives medians)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed to one process")
    parser.add_argument("--variants", default=",".join((PEER, *ENGINES)), help="wasmtime-py and engine names")
    options = parser.parse_args(argv)
    from tests.wasi.p2_harness import python_command_component

    component = python_command_component()
    startup.SUBREAPER = startup.become_subreaper()
    notes = startup.byte_compile()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], capture_output=True, text=True, cwd=ROOT)
    print(f"# componentize-py component, fresh processes; {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"# {startup.machine()}; commit {commit.stdout.strip()}{' (src modified)' if dirty.stdout.strip() else ''}")
    print(f"# wasmtime-py {version('wasmtime')}, componentize-py {version('componentize-py')}")
    size = component.stat().st_size
    print(f"# {component.name}: {size / 1e6:.1f} MB; medians of {options.runs} rounds; seconds", *notes, sep="\n# ")
    print(f"# load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start")
    variants = [name.strip() for name in options.variants.split(",") if name.strip()]
    with tempfile.TemporaryDirectory(prefix="wasmbox-components-") as scratch:
        results = measure(variants, component, options.runs, options.timeout, Path(scratch))
    print(f"# load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    found = problems(results)
    print(
        "| runtime | cache | import | load | instantiate | first call | load + inst. + call | process | CPU "
        "| CPU with workers | llvmlite | output |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for row, runs in results.items():
        variant, phase = row.split("/")
        name = variant if variant == PEER else f"wasmbox {variant}"
        keys = ("import", "load", "instantiate", "call", "total", "process", "cpu", "cpu_all")
        cells = [median(runs, key) for key in keys]
        llvm = "/".join(sorted({"yes" if run.llvmlite else "no" for run in runs if not run.error})) or "-"
        print(f"| {name} | {phase} | {' | '.join(cells)} | {llvm if variant != PEER else '-'} | {found[row]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
