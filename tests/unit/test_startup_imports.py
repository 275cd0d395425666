"""``wasmbox run`` imports what a run needs and nothing more: start-up is mostly imports (issue 13).

Each test runs a fresh interpreter, so what it sees loaded is what the command itself imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import wasmbox

# Modules a run of a binary never needs: the text toolchain, the .wast driver, the explorer,
# asyncio (only ``call_async``), exact rounding's fractions, hashlib (see wasmbox.digests), the
# translation worker's subprocess and pickle, sockets (only preopened ones, which the embedder
# made), the encoder (a binary's digest is of its own bytes), LLVM, shutil (argparse imports
# it for the terminal's width; the CLI's help formatter reads it itself), and pathlib, platform and
# sysconfig (paths are os.path strings: see wasmbox.cache_location).
NOT_FOR_A_RUN = [
    "asyncio",
    "fractions",
    "hashlib",  # OpenSSL's load, ~3 ms: wasmbox.digests hashes small inputs with CPython's own SHA-256
    "ipaddress",
    "pathlib",  # with urllib.parse, ipaddress and fnmatch: ~3.5 ms
    "pickle",
    "platform",
    "sysconfig",
    "urllib.parse",
    "shutil",
    "socket",
    "subprocess",
    "llvmlite",
    "wasmbox.binary.encode",
    "wasmbox.inspect.explore.command",
    "wasmbox.text.parser",
    "wasmbox.text.printer",
    "wasmbox.wast",
]

PROGRAM = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 3))))"""

LOADED = """
import json, sys
import wasmbox.cli
status = wasmbox.cli.main(sys.argv[1:])
print(json.dumps([status, sorted(sys.modules)]))
"""


def _loaded_after(args: list[str], cache: Path) -> tuple[int, set[str]]:
    environment = dict(os.environ, WASMBOX_CACHE=str(cache))
    result = subprocess.run(
        [sys.executable, "-c", LOADED, *args], capture_output=True, text=True, env=environment, check=True
    )
    status, modules = json.loads(result.stdout.splitlines()[-1])
    return status, set(modules)


def test_run_of_a_binary_imports_no_toolchain_explorer_asyncio_or_llvm(tmp_path: Path) -> None:
    program = tmp_path / "exit3.wasm"
    program.write_bytes(wasmbox.encode(wasmbox.parse_wat(PROGRAM)))
    status, modules = _loaded_after(["run", str(program)], tmp_path / "cache")
    assert status == 3  # the program ran: proc_exit(3)
    assert "wasmbox.wasi" in modules and "wasmbox.engines.tiers" in modules
    assert sorted(name for name in NOT_FOR_A_RUN if name in modules) == []


def test_the_lazy_toolchain_names_resolve_in_a_fresh_process(tmp_path: Path) -> None:
    program = (
        "import wasmbox\n"
        "assert 'parse_wat' in dir(wasmbox)\n"
        "module = wasmbox.parse_wat('(module (func (export \"f\")))')\n"
        "assert wasmbox.decode(wasmbox.encode(module)) == module\n"
        "assert wasmbox.print_wat(module).startswith('(module')\n"
        "from wasmbox import encode, parse_wat, print_wat\n"
        "assert encode is wasmbox.encode\n"
        "try:\n"
        "    wasmbox.no_such_name\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True)


def test_a_run_on_cached_machine_code_imports_neither_python_engine(tmp_path: Path) -> None:
    from wasmbox.engines.native import available
    from wasmbox.engines.native.object_loader import host_supported

    if not available() or not host_supported():
        pytest.skip("needs llvmlite and the object loader (Linux x86-64) to leave machine code in the cache")
    program = tmp_path / "exit3.wasm"
    program.write_bytes(wasmbox.encode(wasmbox.parse_wat(PROGRAM)))
    cache = tmp_path / "cache"
    # The CLI's stores are interruptible (Ctrl-C): their code polls the stop flag.
    compile_it = (
        "import wasmbox; from wasmbox.engines.native.engine import compiled_code; "
        f"compiled_code(wasmbox.Module.from_file({str(program)!r}).ir, True)"
    )
    subprocess.run([sys.executable, "-c", compile_it], env=dict(os.environ, WASMBOX_CACHE=str(cache)), check=True)
    status, modules = _loaded_after(["run", str(program)], cache)
    assert status == 3
    assert "wasmbox.engines.native.host" in modules  # it ran on the machine code
    python_engines = {"wasmbox.engines.baseline", "wasmbox.engines.interp", "wasmbox.engines.baseline.executor"}
    assert sorted(python_engines & modules) == []
    assert sorted(name for name in NOT_FOR_A_RUN if name in modules) == []


SPIN = """(module
  (func (export "spin") (param $n i32) (result i32) (local $sum i32)
    (loop $again
      (local.set $sum (i32.add (local.get $sum) (i32.mul (local.get $n) (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again (i32.gt_s (local.get $n) (i32.const 0))))
    (local.get $sum)))"""

UNTIL_MACHINE_CODE = f"""
import json, sys, time
import wasmbox
spin = wasmbox.Instance(wasmbox.Store("tiered"), wasmbox.Module({SPIN!r})).exports["spin"]
expected = spin(1000)
deadline = time.monotonic() + 120
linked = 0
while time.monotonic() < deadline and not linked:
    assert spin(1000) == expected
    if "wasmbox.engines.native.code_cache" in sys.modules:
        from wasmbox.engines.native.code_cache import code_cache
        linked = code_cache().linked
assert spin(1000) == expected
print(json.dumps([linked, sorted(sys.modules)]))
"""


def test_machine_code_from_the_worker_is_linked_without_llvm(tmp_path: Path) -> None:
    """A cold run links what its translation worker compiled without importing llvmlite or the lowering
    (importing them on the thread that links held a cold run's first machine code back by ~0.15 s)."""
    from wasmbox.engines.native import available
    from wasmbox.engines.native.object_loader import host_supported

    if not available() or not host_supported():
        pytest.skip("needs llvmlite (for the worker) and the object loader (Linux x86-64)")
    environment = dict(os.environ, WASMBOX_CACHE=str(tmp_path / "cache"))
    result = subprocess.run(
        [sys.executable, "-c", UNTIL_MACHINE_CODE], capture_output=True, text=True, env=environment, check=True
    )
    linked, modules = json.loads(result.stdout.splitlines()[-1])
    assert linked > 0, "no machine code arrived from the worker within two minutes"
    assert sorted({"llvmlite", "wasmbox.engines.native.lower", "wasmbox.engines.native.jit"} & set(modules)) == []
