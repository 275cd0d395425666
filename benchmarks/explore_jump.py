"""How fast the explorer page jumps around a 1,000,000-step recording (target: 100 ms a jump).

Records a loop that stores to memory on every iteration (``--limit`` steps), serves it, loads the
page in headless Chromium (Debian's, at /usr/bin/chromium, driven by playwright) and times
``explorer.goto(n)`` for random ``n``: the chunk and memory window fetched from the server, the
state rebuilt from the checkpoint, the page redrawn.  Jumps within a chunk already fetched are
timed apart from jumps that fetch one.

    python benchmarks/explore_jump.py [--steps N] [--jumps J]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from wasmbox.cli import main as wasmbox
from wasmbox.inspect.explore.recording import Recording
from wasmbox.inspect.explore.server import ExplorerServer

LOOP = """(module
  (memory 1)
  (func $spin (export "spin") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    loop $again
      local.get $i
      i32.const 4
      i32.mul
      i32.const 0xfffc
      i32.and
      local.get $sum
      i32.store
      local.get $sum
      local.get $i
      i32.add
      local.set $sum
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_u
      br_if $again
    end
    local.get $sum))
"""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--jumps", type=int, default=200)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as directory:
        program = Path(directory) / "loop.wat"
        program.write_text(LOOP)
        saved = Path(directory) / "run.json"
        started = time.perf_counter()
        status = wasmbox(
            ["explore", "--limit", str(args.steps), "--save", str(saved), "--invoke", "spin", str(program), "10000000"]
        )
        recorded = time.perf_counter() - started
        if status != 0:
            return status
        started = time.perf_counter()
        recording = Recording.from_json(saved.read_text())
        server = ExplorerServer(recording)
        opened = time.perf_counter() - started
        server.start()
        size = saved.stat().st_size
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1500, "height": 900})
                started = time.perf_counter()
                page.goto(server.url)
                page.evaluate("window.explorer.ready")
                loaded = time.perf_counter() - started
                rng = random.Random(17)
                far: list[float] = []
                near: list[float] = []
                for _ in range(args.jumps):
                    target = rng.randrange(recording.steps + 1)
                    far.append(jump(page, target))
                    near.append(jump(page, min(recording.steps, target + rng.randrange(1, 64))))
                shown = page.eval_on_selector("#current", "node => Number(node.dataset.step)")
                assert shown == page.evaluate("window.explorer.position")
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
    print(
        f"recorded {recording.steps:,} steps in {recorded:.1f} s; saved {size / 1e6:.1f} MB; reopened in {opened:.1f} s"
    )
    print(f"page loaded (first step shown) in {loaded * 1000:.0f} ms")
    report("jump to a random step (fetches its chunk)", far)
    report("jump a few steps on (chunk already there)", near)
    worst = max(far + near)
    print(f"target 100 ms a jump: {'met' if worst <= 100 else 'NOT met'} (worst {worst:.1f} ms)")
    return 0


def jump(page: object, target: int) -> float:
    milliseconds = page.evaluate(  # type: ignore[attr-defined]
        "async (n) => { const t = performance.now(); await window.explorer.goto(n); return performance.now() - t; }",
        target,
    )
    return float(milliseconds)


def report(what: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    median = statistics.median(times)
    print(f"{what}: median {median:.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms ({len(times)} jumps)")


if __name__ == "__main__":
    sys.exit(main())
