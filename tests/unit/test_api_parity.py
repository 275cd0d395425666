"""Parity with wasmtime-py's core API: callers, externs made by the host, typed imports and
exports, the linker's definitions, typed link errors, WASI stdio checks, async host functions and a
documented public surface."""

from __future__ import annotations

import asyncio
import inspect
import io
import pickle
import sys
import time
import types
from pathlib import Path

import pytest

import wasmbox
from wasmbox import (
    ENGINES,
    EXTERNREF,
    F32,
    F64,
    FUNCREF,
    I32,
    I64,
    Caller,
    DuplicateDefinitionError,
    ExportType,
    Func,
    FuncType,
    Global,
    GlobalType,
    ImportType,
    IncompatibleImportError,
    Instance,
    Limits,
    Linker,
    LinkError,
    MalformedError,
    Memory,
    MemoryType,
    Module,
    Store,
    Table,
    TableType,
    Tag,
    TagType,
    Trap,
    UnknownImportError,
    ValidationError,
    WasiExit,
)
from wasmbox.wasi import WasiConfig

LOGGER = """(module
  (import "env" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello")
  (func $start (call $log (i32.const 16) (i32.const 5)))
  (start $start)
  (func (export "greet") (call $log (i32.const 16) (i32.const 5))))"""


# --- 1. Caller ------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_caller_reaches_the_calling_instance_memory_also_during_start(engine: str) -> None:
    seen: list[bytes] = []

    def log(caller: Caller, address: int, length: int) -> None:
        memory = caller["memory"]
        assert isinstance(memory, Memory)
        seen.append(memory.read(address, length))

    host = Func(None, FuncType((I32, I32), ()), log, access_caller=True)
    store = Store(engine)
    first = Instance(store, Module(LOGGER), {"env": {"log": host}})
    second = Instance(store, Module(LOGGER), {"env": {"log": host}})
    assert seen == [b"hello", b"hello"]  # each start function saw its own instance
    memory = second.exports["memory"]
    assert isinstance(memory, Memory)
    memory.write(16, b"HELLO")
    first.exports["greet"]()
    second.exports["greet"]()
    assert seen[2:] == [b"hello", b"HELLO"]  # one host function, each caller's own memory


@pytest.mark.parametrize("engine", ENGINES)
def test_decorated_host_function_with_caller_calls_the_callers_exports(engine: str) -> None:
    module = Module("""(module
      (import "env" "twice_via_guest" (func $t (param i32) (result i32)))
      (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
      (func (export "run") (param i32) (result i32) (call $t (local.get 0))))""")

    @wasmbox.func
    def twice_via_guest(caller: Caller, value: int) -> int:
        double = caller.get("double")
        assert isinstance(double, Func) and caller.get("nonesuch") is None
        return int(double(value)) + 1

    assert twice_via_guest.type == FuncType((I32,), (I32,))  # the caller is not a wasm parameter
    instance = Instance(Store(engine), module, {"env": {"twice_via_guest": twice_via_guest}})
    assert instance.exports["run"](20) == 41


def test_caller_as_string_annotation_and_linker_define_func() -> None:
    def reader(caller: "wasmbox.Caller", address: int) -> int:  # noqa: UP037 - the string form is the point
        memory = caller["memory"]
        assert isinstance(memory, Memory)
        return memory.read(address, 1)[0]

    assert wasmbox.func(reader).type == FuncType((I32,), (I32,))
    module = Module("""(module (import "env" "peek" (func $peek (param i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 3) "\\2a")
      (func (export "run") (result i32) (call $peek (i32.const 3))))""")
    linker = Linker(Store())
    linker.define_func("env", "peek", FuncType((I32,), (I32,)), reader, access_caller=True)
    assert linker.instantiate(module).exports["run"]() == 42


def test_caller_of_a_function_called_from_python_has_no_exports() -> None:
    found: list[object] = []
    host = Func(None, FuncType((), ()), lambda caller: found.append((caller.get("memory"), dict(caller.exports))), True)
    host()
    assert found == [(None, {})]
    with pytest.raises(Trap, match="KeyError"):  # caller["memory"] failing inside is the host failing
        Func(None, FuncType((), ()), lambda caller: caller["memory"], access_caller=True)()


def test_caller_aware_function_reexported_gets_the_importing_instance() -> None:
    names: list[int] = []

    def which(caller: Caller) -> None:
        marker = caller["marker"]
        assert isinstance(marker, Global)
        names.append(int(marker.value))  # type: ignore[call-overload]

    host = Func(None, FuncType((), ()), which, access_caller=True)
    store = Store()

    def make(marker: int) -> Instance:
        source = f"""(module (import "env" "which" (func $w)) (export "which" (func $w))
          (global (export "marker") i32 (i32.const {marker})) (func (export "run") (call $w)))"""
        return Instance(store, Module(source), {"env": {"which": host}})

    first = make(1)
    source = """(module (import "first" "which" (func $w))
      (global (export "marker") i32 (i32.const 2)) (func (export "run") (call $w)))"""
    second = Instance(store, Module(source), {"first": {"which": first.exports["which"]}})
    first.exports["run"]()
    second.exports["run"]()
    assert names == [1, 2]


# --- 2. Memory, Table, Global and Tag made by the host -------------------------------------


def test_memory_and_table_made_for_import() -> None:
    module = Module("""(module
      (import "env" "memory" (memory 1 4))
      (import "env" "table" (table 2 funcref))
      (func $seven (result i32) (i32.const 7))
      (elem (i32.const 1) $seven)
      (func (export "load") (result i32) (i32.load8_u (i32.const 5)))
      (func (export "call1") (result i32) (call_indirect (result i32) (i32.const 1))))""")
    store = Store()
    memory = Memory(store, MemoryType(Limits(1, 4)))
    table = Table.new(store, TableType(FUNCREF, Limits(2)), None)
    assert memory.type == MemoryType(Limits(1, 4)) and table.type == TableType(FUNCREF, Limits(2))
    memory.write(5, b"\x09")
    instance = Instance(store, module, {"env": {"memory": memory, "table": table}})
    assert instance.exports["load"]() == 9 and instance.exports["call1"]() == 7
    element = table.get(1)
    assert isinstance(element, Func) and element() == 7  # the instance wrote into the host's table
    assert Memory.new(store, MemoryType(Limits(2))).size == 2


def test_made_externs_check_their_arguments() -> None:
    store = Store(max_memory_pages=8, max_table_elements=100)
    with pytest.raises(TypeError, match="expected a MemoryType"):
        Memory(store, Limits(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a Store"):
        Memory(None, MemoryType(Limits(1)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min <= max"):
        Memory(store, MemoryType(Limits(3, 2)))
    with pytest.raises(Trap, match="resource limit exceeded"):
        Memory(store, MemoryType(Limits(9)))
    with pytest.raises(ValueError, match="references to functions or host values"):
        Table(store, TableType(I32, Limits(1)))
    with pytest.raises(Trap, match="resource limit exceeded"):
        Table(store, TableType(EXTERNREF, Limits(101)))
    with pytest.raises(TypeError, match="expected a Func or None"):
        Table(store, TableType(FUNCREF, Limits(1)), "not a function")
    table = Table(store, TableType(EXTERNREF, Limits(3)), "x")
    assert [table.get(i) for i in range(3)] == ["x", "x", "x"]
    assert table.grow(200) == -1  # bounded by the store, as a module's own tables are


def test_global_and_tag_made_with_a_store() -> None:
    store = Store()
    counter = Global(store, GlobalType(I64, True), -5)
    assert counter.value == -5 and counter.type == GlobalType(I64, True)
    module = Module("""(module (import "env" "g" (global $g (mut i64)))
      (import "env" "t" (tag $t (param i32)))
      (func (export "bump") (global.set $g (i64.add (global.get $g) (i64.const 1))))
      (func (export "throw") (throw $t (i32.const 3))))""")
    tag = Tag(store, TagType(FuncType((I32,), ())))
    instance = Instance(store, module, {"env": {"g": counter, "t": tag}})
    instance.exports["bump"]()
    assert counter.value == -4
    with pytest.raises(wasmbox.WasmException) as info:
        instance.exports["throw"]()
    assert info.value.payload == (3,)
    with pytest.raises(ValueError, match="no results"):
        Tag(store, FuncType((), (I32,)))
    # Types written with lists (as the docstrings do) are the same types: a tag so made is importable.
    assert FuncType([I32], []) == FuncType((I32,), ()) and hash(FuncType([I32], [])) == hash(FuncType((I32,), ()))
    listed = Tag(store, TagType(FuncType([I32], [])))
    with pytest.raises(wasmbox.WasmException) as info:
        Instance(store, module, {"env": {"g": counter, "t": listed}}).exports["throw"]()
    assert info.value.payload == (3,)


def test_instance_takes_imports_in_order_as_wasmtime_does() -> None:
    module = Module("""(module (import "a" "f" (func $f (result i32))) (import "b" "g" (global $g i32))
      (func (export "sum") (result i32) (i32.add (call $f) (global.get $g))))""")
    store = Store()
    instance = Instance(store, module, [Func(store, FuncType((), (I32,)), lambda: 40), Global.new(GlobalType(I32), 2)])
    assert instance.exports["sum"]() == 42
    with pytest.raises(UnknownImportError, match="unknown import b.g"):
        Instance(store, module, [Func(store, FuncType((), (I32,)), lambda: 40)])
    with pytest.raises(LinkError, match="3 imports given"):
        Instance(store, module, [lambda: 1, lambda: 2, lambda: 3])


# --- 3. Module.imports / Module.exports ----------------------------------------------------


def test_imports_and_exports_carry_types_and_still_unpack_as_tuples() -> None:
    module = Module("""(module
      (import "env" "f" (func (param i32 i64) (result f32)))
      (import "env" "m" (memory 1 2))
      (import "env" "t" (table 3 externref))
      (import "env" "g" (global (mut f64)))
      (import "env" "e" (tag (param i32)))
      (func $h (export "h") (result i32) (i32.const 0))
      (export "mem" (memory 0))
      (table (export "tab") 1 funcref)
      (global (export "glob") i32 (i32.const 1))
      (tag (export "tag") (param f32))
      (export "f2" (func 0)))""")
    imports = module.imports
    assert [imp.type for imp in imports] == [
        FuncType((I32, I64), (F32,)),
        MemoryType(Limits(1, 2)),
        TableType(EXTERNREF, Limits(3)),
        GlobalType(F64, True),
        TagType(FuncType((I32,), ())),
    ]
    first = imports[0]
    assert isinstance(first, ImportType) and (first.module, first.name, first.kind) == ("env", "f", "func")
    assert [(m, n, k) for m, n, k in imports][1] == ("env", "m", "memory")  # today's tuples
    assert ("env", "g", "global") in imports
    exports = module.exports
    assert [(e.name, e.type) for e in exports] == [
        ("h", FuncType((), (I32,))),
        ("mem", MemoryType(Limits(1, 2))),
        ("tab", TableType(FUNCREF, Limits(1))),
        ("glob", GlobalType(I32)),
        ("tag", TagType(FuncType((F32,), ()))),
        ("f2", FuncType((I32, I64), (F32,))),
    ]
    assert all(isinstance(e, ExportType) for e in exports)
    assert [(name, kind) for name, kind in exports][:2] == [("h", "func"), ("mem", "memory")]
    assert pickle.loads(pickle.dumps(imports)) == imports and pickle.loads(pickle.dumps(exports)) == exports
    assert "func (i32, i64) -> f32" in repr(first)


# --- 4. Linker ------------------------------------------------------------------------------


def test_linker_refuses_to_shadow_unless_allowed() -> None:
    linker = Linker(Store())
    linker.define_func("env", "f", FuncType((), (I32,)), lambda: 1)
    with pytest.raises(DuplicateDefinitionError, match="env.f is already defined"):
        linker.define("env", "f", Func(None, FuncType((), (I32,)), lambda: 2))
    assert isinstance(DuplicateDefinitionError("a", "b"), LinkError)
    one = linker.get("env", "f")
    assert isinstance(one, Func) and one() == 1
    linker.allow_shadowing = True
    linker.define("env", "f", Func(None, FuncType((), (I32,)), lambda: 2))
    two = linker.get("env", "f")
    assert isinstance(two, Func) and two() == 2
    with pytest.raises(LinkError, match="env.nonesuch is not defined"):
        linker.get("env", "nonesuch")


def test_define_instance_and_define_wasi_follow_shadowing() -> None:
    store = Store()
    linker = Linker(store)
    provider = Instance(store, Module('(module (func (export "f")) (memory (export "m") 1))'))
    linker.define("lib", "m", Memory(store, MemoryType(Limits(1))))
    with pytest.raises(DuplicateDefinitionError, match="lib.m"):
        linker.define_instance("lib", provider)
    with pytest.raises(LinkError):
        linker.get("lib", "f")  # nothing of the instance was defined
    linker.define_wasi(WasiConfig(stdout=io.BytesIO()))
    with pytest.raises(DuplicateDefinitionError, match="wasi_snapshot_preview1"):
        linker.define_wasi(WasiConfig(stdout=io.BytesIO()))


def test_wasi_name_shadowed_after_define_wasi_keeps_the_new_definition() -> None:
    module = Module("""(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call $exit (i32.const 3))))""")
    calls: list[int] = []
    linker = Linker(Store())
    linker.define_wasi(WasiConfig(stdout=io.BytesIO()))
    linker.allow_shadowing = True
    linker.define_func("wasi_snapshot_preview1", "proc_exit", FuncType((I32,), ()), calls.append)
    linker.instantiate(module).exports["_start"]()
    assert calls == [3]


def test_define_module_reactor_and_command() -> None:
    store = Store()
    linker = Linker(store)
    reactor = Module("""(module (global $n (mut i32) (i32.const 0))
      (func (export "_initialize") (global.set $n (i32.const 10)))
      (func (export "next") (result i32) (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n)))""")
    linker.define_module("reactor", reactor)
    counter = linker.get("reactor", "next")
    assert isinstance(counter, Func) and (counter(), counter()) == (11, 12)  # one instance, initialized
    command = Module("""(module (global $n (mut i32) (i32.const 0))
      (func (export "_start"))
      (func (export "next") (result i32) (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n)))""")
    linker.define_module("command", command)
    fresh = linker.get("command", "next")
    assert isinstance(fresh, Func) and (fresh(), fresh()) == (1, 1)  # a new instance per call
    user = Module("""(module (import "command" "next" (func $next (result i32)))
      (func (export "run") (result i32) (i32.add (call $next) (call $next))))""")
    assert linker.instantiate(user).exports["run"]() == 2
    with pytest.raises(DuplicateDefinitionError):
        linker.define_module("reactor", reactor)


def test_unknown_imports_as_traps_or_default_values_and_get_default() -> None:
    module = Module("""(module (import "env" "f" (func $f (result i32 f64)))
      (import "env" "g" (func $g))
      (func (export "pair") (result i32 f64) (call $f))
      (func (export "") (call $g)))""")
    linker = Linker(Store())
    linker.define_unknown_imports_as_default_values(module)
    assert linker.instantiate(module).exports["pair"]() == (0, 0.0)
    trapping = Linker(Store())
    trapping.define_unknown_imports_as_traps(module)
    instance = trapping.instantiate(module)
    with pytest.raises(Trap, match="unknown import env.f was called"):
        instance.exports["pair"]()
    trapping.define_instance("main", instance)
    with pytest.raises(Trap, match="unknown import env.g"):
        trapping.get_default("main")()
    assert trapping.get_default("nonesuch")() is None


# --- 5. Module.validate ----------------------------------------------------------------------


def test_module_validate_is_static_and_typed() -> None:
    assert Module.validate('(module (func (export "f")))') is None
    binary = wasmbox.encode(wasmbox.parse_wat('(module (func (export "f")))'))
    assert Module.validate(binary) is None and Module.validate(bytearray(binary)) is None
    with pytest.raises(ValidationError):
        Module.validate("(module (func (result i32)))")
    with pytest.raises(MalformedError):
        Module.validate(b"\0asm\x02\0\0\0")


# --- 6. Typed link errors ------------------------------------------------------------------


def test_link_errors_name_the_import_and_both_types() -> None:
    wants = Module('(module (import "env" "f" (func (param i32) (result i32))))')
    with pytest.raises(IncompatibleImportError) as info:
        Instance(Store(), wants, {"env": {"f": Func(None, FuncType(), lambda: None)}})
    error = info.value
    assert str(error) == "incompatible import env.f: expected func (i32) -> i32, found func () -> ()"
    assert (error.module, error.name, error.expected, error.found) == ("env", "f", "func (i32) -> i32", "func () -> ()")
    with pytest.raises(UnknownImportError) as missing:
        Linker(Store()).instantiate(wants)
    assert str(missing.value) == "unknown import env.f: expected func (i32) -> i32, found nothing"
    store = Store()
    memory_module = Module('(module (import "env" "m" (memory 2 3)))')
    with pytest.raises(
        IncompatibleImportError, match=r"expected memory \(min 2, max 3\), found memory \(min 1, max none\)"
    ):
        Instance(store, memory_module, {"env": {"m": Memory(store, MemoryType(Limits(1)))}})
    with pytest.raises(IncompatibleImportError, match=r"expected memory \(min 2, max 3\), found global \(mut i32\)"):
        Instance(store, memory_module, {"env": {"m": Global(store, GlobalType(I32, True), 0)}})
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, IncompatibleImportError) and str(again) == str(error)


# --- 7. py.typed ----------------------------------------------------------------------------


def test_package_is_marked_typed() -> None:
    package = Path(wasmbox.__file__).parent
    assert (package / "py.typed").is_file()
    pyproject = (package.parents[1] / "pyproject.toml").read_text()
    assert '[tool.setuptools.package-data]\nwasmbox = ["py.typed"]' in pyproject


# --- 8. Docstrings ---------------------------------------------------------------------------


def _has_docstring(raw: object, owner_name: str | None = None) -> bool:
    if isinstance(raw, classmethod | staticmethod):
        raw = raw.__func__
    doc = (getattr(raw, "__doc__", None) or "").strip()
    # A dataclass without a docstring gets its signature as one: that is not documentation.
    return bool(doc) and not (owner_name is not None and doc.startswith(f"{owner_name}("))


def _undocumented_public_items() -> set[str]:
    """Every name in ``wasmbox.__all__`` that is a class or function, and every public method,
    property and class or static method of those classes (inherited ones included), without a
    docstring."""
    missing = set()
    for name in wasmbox.__all__:
        item = getattr(wasmbox, name)
        if not (inspect.isclass(item) or inspect.isroutine(item)):
            continue  # constants (ENGINES, I32, ...) cannot carry docstrings of their own
        if not _has_docstring(item, item.__name__):
            missing.add(name)
        if not inspect.isclass(item):
            continue
        # Enum classes hide their methods from dir(): read the classes' own namespaces too.
        attributes = set(dir(item)) | {attribute for klass in item.__mro__ for attribute in vars(klass)}
        for attribute in sorted(attributes):
            if attribute.startswith("_"):
                continue
            raw = inspect.getattr_static(item, attribute)
            documentable = property | classmethod | staticmethod | types.FunctionType | types.DynamicClassAttribute
            if (isinstance(raw, documentable) or inspect.isroutine(raw)) and not _has_docstring(raw):
                missing.add(f"{name}.{attribute}")
    return missing


def test_public_api_is_documented() -> None:
    assert "Caller" in wasmbox.__all__ and "ImportType" in wasmbox.__all__
    assert _undocumented_public_items() == set()


# --- 9. WasiConfig stdio checks --------------------------------------------------------------


def test_wasi_config_accepts_binary_streams_and_stdin_bytes(tmp_path: Path) -> None:
    with open(tmp_path / "out", "wb") as out, open(tmp_path / "out", "rb") as back:
        WasiConfig(stdin=back, stdout=out, stderr=sys.stderr.buffer)
    WasiConfig(stdin=b"input", stdout=io.BytesIO(), stderr=None)
    WasiConfig(stdin=bytearray(b"x"))  # type: ignore[arg-type]


def test_wasi_config_refuses_text_streams_and_paths_when_made(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"stdout must be a binary stream.*sys.stdout.buffer"):
        WasiConfig(stdout=io.StringIO())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="stderr must be a binary stream, not a text stream"):
        WasiConfig(stderr=sys.stderr)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"not a path: .*open it in binary mode \(open\(path, 'wb'\)\)"):
        WasiConfig(stdout=str(tmp_path / "out"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"stdin must be a binary stream or None, not a path.*'rb'"):
        WasiConfig(stdin=tmp_path / "in")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not bytes: capture it with io.BytesIO"):
        WasiConfig(stdout=b"")  # type: ignore[arg-type]
    with open(tmp_path / "text", "w") as text:
        with pytest.raises(TypeError, match="not a text stream"):
            WasiConfig(stdout=text)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"with a read\(\) method, got int"):
        WasiConfig(stdin=3)  # type: ignore[arg-type]


# --- 10. Async host functions -------------------------------------------------------------------

ASYNC_MODULE = """(module (import "env" "fetch" (func $fetch (param i32) (result i32)))
  (func (export "run") (param i32) (result i32) (i32.add (call $fetch (local.get 0)) (i32.const 1))))"""


@pytest.mark.parametrize("engine", ENGINES)
def test_async_host_function_is_awaited_under_call_async(engine: str) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def fetch(value: int) -> int:
        await asyncio.sleep(0)
        loops.append(asyncio.get_running_loop())
        return value * 2

    async def main() -> tuple[object, object]:
        instance = Instance(Store(engine), Module(ASYNC_MODULE), {"env": {"fetch": fetch}})
        run = instance.exports["run"]
        assert isinstance(run, Func)
        other = asyncio.create_task(asyncio.sleep(0, "the loop kept running"))
        return await run.call_async(20), await other

    assert asyncio.run(main()) == (41, "the loop kept running")
    assert len(loops) == 1  # the coroutine ran on the caller's event loop


def test_async_host_function_errors_and_misuse_are_traps() -> None:
    async def failing(value: int) -> int:
        await asyncio.sleep(0)
        raise ValueError("remote failed")

    instance = Instance(Store(), Module(ASYNC_MODULE), {"env": {"fetch": failing}})
    run = instance.exports["run"]
    assert isinstance(run, Func)
    with pytest.raises(Trap, match="host function failing raised ValueError: remote failed"):
        asyncio.run(run.call_async(1))
    with pytest.raises(Trap, match="called outside call_async"):
        run(1)

    async def exits(value: int) -> int:
        raise WasiExit(4)

    exiting = Instance(Store(), Module(ASYNC_MODULE), {"env": {"fetch": exits}}).exports["run"]
    assert isinstance(exiting, Func)
    with pytest.raises(WasiExit):
        asyncio.run(exiting.call_async(1))


def test_call_async_without_async_host_functions_and_with_caller() -> None:
    async def peek(caller: Caller, address: int) -> int:
        await asyncio.sleep(0)
        memory = caller["memory"]
        assert isinstance(memory, Memory)
        return memory.read(address, 1)[0]

    module = Module("""(module (import "env" "peek" (func $peek (param i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 0) "\\05")
      (func (export "run") (result i32) (call $peek (i32.const 0)))
      (func (export "plain") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))""")
    instance = Instance(Store(), module, {"env": {"peek": wasmbox.func(peek)}})
    run, plain = instance.exports["run"], instance.exports["plain"]
    assert isinstance(run, Func) and isinstance(plain, Func)

    async def main() -> tuple[object, object]:
        return await run.call_async(), await plain.call_async(2, 3)

    assert asyncio.run(main()) == (5, 5)


def test_cancelling_call_async_interrupts_an_interruptible_store() -> None:
    module = Module('(module (func (export "spin") (loop $forever (br $forever))))')
    store = Store(deadline=30.0)  # a deadline makes the store interruptible (and bounds this test)
    spin = Instance(store, module).exports["spin"]
    assert isinstance(spin, Func)

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(spin.call_async(), 0.3)

    began = time.monotonic()
    asyncio.run(main())  # returns once the worker has ended: the interrupted call trapped
    assert time.monotonic() - began < 10
