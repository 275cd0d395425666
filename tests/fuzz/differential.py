"""Differential execution: wasmbox against wasmtime-py on the same module.

Random valid modules come from binaryen's ``wasm-opt -ttf`` (translate
random bytes to a module) with the Wasm 2.0 features binaryen 108 emits in
their final form; not reference types (it emits the pre-standard proposal,
with funcref a subtype of externref) nor SIMD (wasmtime-py has no v128 type
for the ``log-v128`` host function; the spec suite covers SIMD); both runtimes call every exported function in
order with zero arguments, as binaryen's own fuzz execution does, and log
what they see: results (floats by bit pattern, NaNs as "nan"), traps, and the
values passed to the ``fuzzing-support.log-*`` imports.  Any difference in
the logs is a mismatch.
"""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from wasmbox import Func, Instance, Module, Store, Trap

FEATURE_FLAGS = [
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-bulk-memory",
    "--enable-multivalue",
]


def available() -> bool:
    try:
        import wasmtime  # noqa: F401
    except ImportError:
        return False
    return shutil.which("wasm-opt") is not None


def generate(seed: bytes, directory: Path) -> bytes | None:
    """A random module from ``seed``, or None if binaryen made none."""
    source = directory / "seed.bin"
    target = directory / "fuzz.wasm"
    source.write_bytes(seed)
    done = subprocess.run(
        ["wasm-opt", str(source), "-ttf", *FEATURE_FLAGS, "-o", str(target)], capture_output=True, timeout=60
    )
    if done.returncode != 0 or not target.exists():
        return None
    return target.read_bytes()


def _show(value: object) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else struct.pack("<d", value).hex()
    if isinstance(value, tuple | list):
        return "(" + ",".join(_show(v) for v in value) + ")"
    return repr(value)


SUPPORTED = {"i32", "i64", "f32", "f64"}


def _callable_exports(module: Module) -> list[tuple[str, list[str], list[str]]]:
    exports = []
    types = module.ir.func_types()
    for export in module.ir.exports:
        if export.kind.text != "func":
            continue
        t = types[export.index]
        params = [p.text for p in t.params]
        results = [r.text for r in t.results]
        if set(params) <= SUPPORTED and set(results) <= SUPPORTED:
            exports.append((export.name, params, results))
    return exports


def _zero(type_name: str) -> object:
    return 0.0 if type_name.startswith("f") else 0


def run_wasmbox(binary: bytes, engine: str = "interp") -> list[str]:
    log: list[str] = []

    def logger(kind: str) -> Any:
        def log_value(*values: object) -> None:
            log.append(f"log-{kind} " + ",".join(_show(v) for v in values))

        return log_value

    module = Module(binary)
    imports: dict[str, dict[str, object]] = {"fuzzing-support": {}}
    for imp in module.ir.imports:
        kind = imp.name.split("-", 1)[-1]
        t = module.ir.types[imp.desc]  # type: ignore[index]
        imports[imp.module][imp.name] = Func(None, t, logger(kind))
    instance = Instance(Store(engine), module, imports)
    for name, params, _ in _callable_exports(module):
        try:
            result = instance.exports[name](*[_zero(p) for p in params])  # type: ignore[operator]
            log.append(f"{name} -> {_show(result)}")
        except Trap:
            log.append(f"{name} -> trap")
    return log


def run_wasmtime(binary: bytes) -> list[str]:
    import wasmtime

    log: list[str] = []
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, binary)
    linker = wasmtime.Linker(engine)
    ours = Module(binary)
    for imp in ours.ir.imports:
        kind = imp.name.split("-", 1)[-1]
        t = ours.ir.types[imp.desc]  # type: ignore[index]
        kinds = {
            "i32": wasmtime.ValType.i32(),
            "i64": wasmtime.ValType.i64(),
            "f32": wasmtime.ValType.f32(),
            "f64": wasmtime.ValType.f64(),
        }
        functype = wasmtime.FuncType([kinds[p.text] for p in t.params], [kinds[r.text] for r in t.results])

        def log_value(*values: object, kind: str = kind) -> None:
            log.append(f"log-{kind} " + ",".join(_show(v) for v in values))

        linker.define_func(imp.module, imp.name, functype, log_value)
    instance = linker.instantiate(store, module)
    exports = instance.exports(store)
    for name, params, _ in _callable_exports(ours):
        try:
            result = exports[name](store, *[_zero(p) for p in params])  # type: ignore[operator]
            if isinstance(result, list):
                result = tuple(result)
            log.append(f"{name} -> {_show(result)}")
        except (wasmtime.Trap, wasmtime.WasmtimeError):
            log.append(f"{name} -> trap")
    return log


def compare(seed: bytes, engine: str = "interp") -> str | None:
    """Run one generated module on both; a description of the first
    difference, or None when they agree (or binaryen made no module)."""
    with tempfile.TemporaryDirectory() as scratch:
        binary = generate(seed, Path(scratch))
    if binary is None:
        return None
    ours = run_wasmbox(binary, engine)
    theirs = run_wasmtime(binary)
    if ours == theirs:
        return None
    for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return f"entry {index}: wasmbox {a!r} vs wasmtime {b!r}"
    return f"log lengths differ: wasmbox {len(ours)} vs wasmtime {len(theirs)}"
