"""Differential execution with Wasm 3.0 features: wasmbox against wasmtime-py on binaryen 132's random modules.

Debian's binaryen (108) predates the standard forms of most Wasm 3.0 features, so these modules come from npm's
``binaryen`` package (its ``wasm-opt`` runs on node; ``.ci/run`` fetches it, ``WASMBOX_BINARYEN_WASM_OPT`` names
another). ``wasm-opt -ttf`` turns random bytes into a valid module using tail calls, multiple memories, 64-bit
memories and tables, reference types, exception handling (``try_table``, ``exnref``) and extended constant
expressions; ``GC_FLAGS`` adds garbage collection where both runtimes can run it.

Such modules import what binaryen's JavaScript fuzz shell provides. Both runtimes get the same Python host here,
so any difference in behaviour is the runtimes' (how faithfully it imitates the JavaScript host does not matter):

- ``log-*``: appended to the log (floats by bit pattern, references as ``null``/``ref``);
- ``throw``: raises ``HostThrow`` (a host exception: it unwinds every wasm frame, no wasm handler catches it);
- ``call-export``/``call-ref``: call the n-th function export / a function reference with zero arguments; their
  ``-catch`` forms return 1 if that call trapped or threw, else 0;
- ``table-get``/``table-set``: the module's exported table ``table`` (an index outside it throws); ``sleep``
  returns its second argument;
- imported tags and externref globals: fresh tags, null references.

Then every function export is called in order with zero arguments, and its result or fate (trap, host throw,
uncaught wasm exception) is logged.
"""

from __future__ import annotations

import math
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wasmbox import Func, FuncType, Global, GlobalType, Instance, Module, Store, Tag, TagType, Trap, WasmException
from wasmbox.ir.types import HeapType, NumType, RefType, ValType

WASM_OPT = Path(
    os.environ.get(
        "WASMBOX_BINARYEN_WASM_OPT",
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wasmbox-ci/binaryen/package/bin/wasm-opt",
    )
)
FEATURE_FLAGS = [
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-tail-call",
    "--enable-multimemory",
    "--enable-memory64",
    "--enable-exception-handling",
    "--enable-extended-const",
]
GC_FLAGS = ["--enable-gc"]
# binaryen also emits the legacy `try`/`catch`, which wasmtime-py does not run: rewritten to try_table/exnref.
EXNREF_ONLY = ["--translate-to-exnref"]


class Unsupported(Exception):
    """The module needs a host value wasmtime-py cannot express: not compared."""


# Re-entry through the host (``call-export``, ``call-ref``) is bounded in the shell, the same way for both
# runtimes: a module whose export calls itself through the host, catching what the deeper call throws, makes a
# call tree exponential in the depth the engine's stack allows (one CI seed ran for over an hour on wasmtime).
MAX_REENTRY_DEPTH = 8
MAX_REENTRIES = 2_000


class HostThrow(Exception):
    """What the ``throw`` import raises: a host exception unwinding through wasm."""


def available() -> bool:
    try:
        import wasmtime  # noqa: F401
    except ImportError:
        return False
    return WASM_OPT.is_file() and shutil.which("node") is not None


def generate(seed: bytes, directory: Path, flags: list[str]) -> bytes | None:
    """A random module from ``seed``, or None if binaryen made none."""
    source = directory / "seed.bin"
    target = directory / "fuzz.wasm"
    source.write_bytes(seed)
    done = subprocess.run(
        ["node", str(WASM_OPT), str(source), "-ttf", *flags, *EXNREF_ONLY, "-o", str(target)],
        capture_output=True,
        timeout=120,
    )
    if done.returncode != 0 or not target.exists():
        return None
    return target.read_bytes()


def show(value: object) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else struct.pack("<d", value).hex()
    if isinstance(value, bool) or isinstance(value, int):
        return repr(int(value))
    if isinstance(value, tuple | list):
        return "(" + ",".join(show(v) for v in value) + ")"
    return "null" if value is None else "ref"


def zero(type_: ValType) -> object:
    """The argument the fuzz shell passes: 0 for numbers, null for references."""
    if type_ in (NumType.F32, NumType.F64):
        return 0.0
    if isinstance(type_, RefType):
        return None
    return 0


def host_expressible(type_: ValType) -> bool:
    """A value both hosts can pass: a number, or a nullable funcref/externref (wasmtime-py aborts the process on
    other references crossing its API, and has no v128 value)."""
    if isinstance(type_, RefType):
        return type_.nullable and type_.heap in (HeapType.FUNC, HeapType.EXTERN)
    return type_ is not NumType.V128


def callable_type(type_: FuncType) -> bool:
    """Exports the shell calls: every parameter and result expressible on both hosts."""
    return all(host_expressible(t) for t in (*type_.params, *type_.results))


class Shell:
    """The host both runtimes get; ``call(f, type)`` and ``outcome`` adapt it to one runtime."""

    def __init__(self, call: Callable[[Any, FuncType], object], errors: tuple[type[BaseException], ...]) -> None:
        self.log: list[str] = []
        self.call = call
        self.errors = errors  # what a failed call raises in this runtime (traps, uncaught wasm exceptions)
        self.exports: list[tuple[Any, FuncType]] = []
        self.table_size: Callable[[], int] = lambda: 0
        self.table_get: Callable[[int], object] = lambda index: None
        self.table_set: Callable[[int, object], None] = lambda index, value: None
        self.unsupported = False  # a reference called through the host had a type one runtime cannot pass
        self.depth = 0  # re-entries through the host now open
        self.reentries = 0  # re-entries through the host so far

    def import_function(self, name: str) -> Callable[..., object]:
        if name.startswith("log-"):
            kind = name[4:]
            return lambda *values: self.log.append(f"log-{kind} " + ",".join(show(v) for v in values))
        if name == "throw":
            return self.throw
        if name in ("call-export", "call-export-catch"):
            return lambda index, *flags: self.call_guarded(self.export_at(index), name.endswith("-catch"))
        if name in ("call-ref", "call-ref-catch"):
            return lambda ref, *flags: self.call_guarded(ref, name.endswith("-catch"))
        if name == "table-get":
            return lambda index: self.table_get(self.table_index(index))
        if name == "table-set":
            return lambda index, value: self.table_set(self.table_index(index), value)
        if name == "sleep":
            return lambda ms, ident: ident
        raise KeyError(name)

    def throw(self, *values: object) -> None:
        self.log.append("host throw")
        raise HostThrow()

    def table_index(self, index: int) -> int:
        """An i32 index into the exported table; out of its bounds (or no table) the host throws."""
        index %= 1 << 32
        if index >= self.table_size():
            raise HostThrow()
        return index

    def export_at(self, index: int) -> Any:
        if not 0 <= index < len(self.exports):
            raise HostThrow()
        return self.exports[index]

    def call_guarded(self, target: Any, catch: bool) -> int | None:
        if target is None:
            raise HostThrow()
        function, type_ = target if isinstance(target, tuple) else (target, None)
        if self.depth >= MAX_REENTRY_DEPTH or self.reentries >= MAX_REENTRIES:
            raise HostThrow()
        self.depth += 1
        self.reentries += 1
        try:
            if catch:
                try:
                    self.call(function, type_)
                except (HostThrow, *self.errors):
                    return 1
                return 0
            self.call(function, type_)
            return None
        finally:
            self.depth -= 1

    def run_exports(self, names: list[str]) -> None:
        for name, (function, type_) in zip(names, self.exports, strict=True):
            try:
                result = self.call(function, type_)
                self.log.append(f"{name} -> {show(tuple(result) if isinstance(result, list) else result)}")
            except HostThrow:
                self.log.append(f"{name} -> host throw")
            except self.errors as error:
                self.log.append(f"{name} -> {self.outcome(error)}")

    def outcome(self, error: BaseException) -> str:
        """How a call ended: ``host throw`` (wasmbox reports a host function's exception as a trap caused by it,
        wasmtime-py re-raises it), ``exception`` (a wasm exception nothing caught) or ``trap``."""
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, HostThrow):
                return "host throw"
            cause = cause.__cause__
        if isinstance(error, WasmException) or "thrown Wasm exception" in str(error):
            return "exception"
        return "trap"


def run_wasmbox(binary: bytes, engine: str) -> list[str]:
    module = Module(binary, features="all")
    store = Store(engine)

    def call(function: Any, type_: FuncType | None) -> object:
        signature = type_ if type_ is not None else function.type
        if not callable_type(signature):
            shell.unsupported = True
            raise HostThrow()
        return function(*[zero(p) for p in signature.params])

    shell = Shell(call, (Trap, WasmException))
    imports: dict[str, dict[str, object]] = {}
    for item in module.imports:
        place = imports.setdefault(item.module, {})
        if isinstance(item.type, FuncType):
            place[item.name] = Func(store, item.type, shell.import_function(item.name))
        elif isinstance(item.type, TagType):
            place[item.name] = Tag(store, TagType(item.type.functype))
        elif isinstance(item.type, GlobalType):
            place[item.name] = Global(store, GlobalType(item.type.valtype, False), None)
    try:
        instance = Instance(store, module, imports)
    except (Trap, WasmException, HostThrow) as error:
        return [*shell.log, f"start -> {shell.outcome(error)}"]
    names = []
    for export in module.exports:
        value = instance.exports[export.name]
        if isinstance(export.type, FuncType) and callable_type(export.type):
            names.append(export.name)
            shell.exports.append((value, export.type))
        elif export.name == "table" and export.kind == "table":
            shell.table_size = lambda table=value: int(table.size)
            shell.table_get = lambda index, table=value: table.get(index)
            shell.table_set = lambda index, ref, table=value: table.set(index, ref)
    shell.run_exports(names)
    if shell.unsupported:
        raise Unsupported("a function reference of a type wasmtime-py cannot call")
    return shell.log


def _wasmtime_type(type_: ValType) -> Any:
    import wasmtime

    if not host_expressible(type_):
        raise Unsupported(f"no wasmtime-py value for {type_}")
    if isinstance(type_, RefType):
        return wasmtime.ValType.funcref() if type_.heap is HeapType.FUNC else wasmtime.ValType.externref()
    return {
        NumType.I32: wasmtime.ValType.i32(),
        NumType.I64: wasmtime.ValType.i64(),
        NumType.F32: wasmtime.ValType.f32(),
        NumType.F64: wasmtime.ValType.f64(),
    }[type_]


def wasmtime_engine(gc: bool = False) -> Any:
    import wasmtime

    config = wasmtime.Config()
    for feature in ("tail_call", "multi_memory", "memory64", "reference_types", "function_references", "exceptions"):
        setattr(config, f"wasm_{feature}", True)
    if gc:
        config.wasm_gc = True
    return wasmtime.Engine(config)


def run_wasmtime(binary: bytes, engine: Any) -> list[str]:
    import wasmtime

    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, binary)
    ours = Module(binary, features="all")
    calls_references = any(item.name in ("call-ref", "call-ref-catch") for item in ours.imports)
    if calls_references and not all(callable_type(t) for t in ours.ir.types if isinstance(t, FuncType)):
        # Asking wasmtime-py for the type of a function whose signature has another reference type (exnref)
        # aborts the process ("support for non-externref and non-funcref references is not implemented").
        raise Unsupported("a function reference the host may be asked to call has a type wasmtime-py cannot read")
    kinds = wasmtime.ValType
    expressible = (kinds.i32(), kinds.i64(), kinds.f32(), kinds.f64(), kinds.funcref(), kinds.externref())

    def expressible_element(value: object) -> object:
        """A table element wasmtime-py hands over raw (a ``Val`` of a kind it cannot convert back: an exnref)."""
        if isinstance(value, wasmtime.Val):
            shell.unsupported = True
            raise HostThrow()
        return value

    def call(function: Any, type_: FuncType | None) -> object:
        if type_ is None:
            signature = function.type(store)
            if not all(kind in expressible for kind in (*signature.params, *signature.results)):
                shell.unsupported = True  # wasmtime-py cannot convert such values (it fails on exnref)
                raise HostThrow()
            params = [p for p in signature.params]
            arguments = [0.0 if str(p) in ("f32", "f64") else None if "ref" in str(p) else 0 for p in params]
        else:
            arguments = [zero(p) for p in type_.params]
        return function(store, *arguments)

    shell = Shell(call, (wasmtime.Trap, wasmtime.WasmtimeError))
    linker = wasmtime.Linker(engine)
    for item in ours.imports:
        if isinstance(item.type, FuncType):
            functype = wasmtime.FuncType(
                [_wasmtime_type(p) for p in item.type.params], [_wasmtime_type(r) for r in item.type.results]
            )
            linker.define_func(item.module, item.name, functype, shell.import_function(item.name))
        elif isinstance(item.type, TagType):
            functype = wasmtime.FuncType([_wasmtime_type(p) for p in item.type.functype.params], [])
            linker.define(store, item.module, item.name, wasmtime.Tag(store, wasmtime.TagType(functype)))
        elif isinstance(item.type, GlobalType):
            global_type = wasmtime.GlobalType(_wasmtime_type(item.type.valtype), False)
            linker.define(store, item.module, item.name, wasmtime.Global(store, global_type, None))
    try:
        instance = linker.instantiate(store, module)
    except (wasmtime.Trap, wasmtime.WasmtimeError, HostThrow) as error:
        return [*shell.log, f"start -> {shell.outcome(error)}"]
    exports = instance.exports(store)
    names = []
    for export in ours.exports:
        if isinstance(export.type, FuncType) and callable_type(export.type):
            names.append(export.name)
            shell.exports.append((exports[export.name], export.type))
        elif export.name == "table" and export.kind == "table":
            table = exports[export.name]
            shell.table_size = lambda table=table: int(table.size(store))
            shell.table_get = lambda index, table=table: expressible_element(table.get(store, index))
            shell.table_set = lambda index, ref, table=table: table.set(store, index, ref)
    shell.run_exports(names)
    if shell.unsupported:
        raise Unsupported("a function reference of a type wasmtime-py cannot call")
    return shell.log


def compare(seed: bytes, engine: str, peer: Any, flags: list[str] = FEATURE_FLAGS) -> str | None:
    """Run one generated module on both; the first difference, or None when they agree (or there is no module,
    or wasmtime cannot compile it: then there is nothing to compare)."""
    import wasmtime

    with tempfile.TemporaryDirectory() as scratch:
        binary = generate(seed, Path(scratch), flags)
    if binary is None:
        return None
    try:
        wasmtime.Module(peer, binary)
    except wasmtime.WasmtimeError:
        return None
    try:
        theirs = run_wasmtime(binary, peer)
        ours = run_wasmbox(binary, engine)
    except Unsupported:
        return None
    if ours == theirs:
        return None
    for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return f"entry {index}: wasmbox {a!r} vs wasmtime {b!r}"
    return f"log lengths differ: wasmbox {len(ours)} vs wasmtime {len(theirs)}"
