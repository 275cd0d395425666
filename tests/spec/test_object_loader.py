"""Machine code linked without LLVM (``engines.native.object_loader``): spec scripts on the native
engine with every object linked by the Python loader, the loader's refusals, W^X, and warm runs.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import CORE_2_0, ROOT, require_testsuite

from wasmbox import Func, Instance, Module, Store
from wasmbox.engines.native import available
from wasmbox.engines.native.code_cache import CodeCache, code_cache
from wasmbox.engines.native.object_loader import UnsupportedObject, host_supported, link_object
from wasmbox.ir.instructions import WASM_2_0
from wasmbox.runtime import guards
from wasmbox.wast import run_script

pytestmark = [
    pytest.mark.skipif(not available(), reason="the native engine needs llvmlite"),
    pytest.mark.skipif(not host_supported(), reason="the object loader links x86-64 objects on Linux"),
]

# A sample of core-2.0: integer and float arithmetic, conversions, control flow, indirect calls,
# memory growth (a host callback), and bulk memory (memmove/memset from the C library).
SAMPLE = ("i32", "i64", "f32", "f64", "conversions", "br_table", "call_indirect", "memory_grow", "bulk", "loop")


def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> CodeCache:
    """The code cache with the loader on, and no module linked before in this process (so each
    script's code is linked here, not found in ``engine._compiled``)."""
    from wasmbox.engines.native import engine

    monkeypatch.setattr(engine, "_compiled", {})
    monkeypatch.setattr(engine, "_lazy", {})
    cache = code_cache()
    monkeypatch.setattr(cache, "use_loader", True)
    return cache


@pytest.mark.parametrize("lazy", ["eager", "lazy", "osr"])
@pytest.mark.parametrize("name", SAMPLE)
def test_spec_script_passes_with_code_linked_without_llvm(
    name: str, lazy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.spec.test_native_engine import tiering_mode

    require_testsuite()
    cache = _fresh_process_state(monkeypatch)
    tiering_mode(monkeypatch, lazy)
    linked, by_llvm = cache.linked, cache.linked_by_llvm
    result = run_script(CORE_2_0 / f"{name}.wast", "native", WASM_2_0)
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.engine.fallbacks == []
    assert cache.linked > linked
    assert cache.linked_by_llvm == by_llvm


def test_exception_handling_linked_without_llvm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exceptions reach the host through its callbacks (wasmbox_throw, wasmbox_catch), resolved here."""
    cache = _fresh_process_state(monkeypatch)
    linked = cache.linked
    result = run_script(ROOT / "tests" / "spec" / "wast" / "exceptions.wast", "native")
    assert result.failed == 0 and result.passed >= 13, "\n".join(result.failures[:15])
    assert cache.linked > linked


def _an_object() -> bytes:
    """Object code of a small module, as the native engine compiles it (memory.grow calls the host)."""
    from wasmbox import parse_wat, validate
    from wasmbox.engines.native.engine import module_object

    module = parse_wat(
        '(module (memory 1) (func (export "f") (param i32) (result i32) local.get 0 i32.load)'
        ' (func (export "g") (param i32) (result i32) local.get 0 memory.grow))'
    )
    validate(module)
    return module_object(module, False)


def _resolve(name: str) -> int | None:
    import ctypes

    from wasmbox.engines.native.host import CALLBACKS

    callback = CALLBACKS.get(name)
    return None if callback is None else ctypes.cast(callback, ctypes.c_void_p).value


def test_no_mapping_is_writable_and_executable() -> None:
    symbols = link_object(_an_object(), _resolve)
    address = min(symbols.values())
    for line in Path("/proc/self/maps").read_text().splitlines():
        span, permissions = line.split()[:2]
        start, end = (int(x, 16) for x in span.split("-"))
        assert not ("w" in permissions and "x" in permissions and start <= address < end), line
        if start <= address < end:
            assert permissions.startswith("r-x")


def _sections(data: bytes) -> list[tuple[int, ...]]:
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    count = struct.unpack_from("<H", data, 0x3C)[0]
    return [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * 64) for i in range(count)]


@pytest.mark.skipif(not guards.enabled(), reason="only guarded code is of the small code model")
def test_near_code_calls_the_host_through_stubs() -> None:
    """Guarded code calls host callbacks with 32-bit displacements (the small code model); the loader
    puts a stub after the code for each, ``jmp *[rip]`` and the callback's address, and the calls run."""
    import ctypes

    data = _an_object()
    symbols_at = next(s for s in _sections(data) if s[1] == 2)  # SHT_SYMTAB
    undefined = set()
    for index in range(symbols_at[5] // 24):
        if struct.unpack_from("<H", data, symbols_at[4] + index * 24 + 6)[0] == 0:  # st_shndx == SHN_UNDEF
            undefined.add(index)
    far_calls = [
        (info >> 32)
        for section in _sections(data)
        if section[1] == 4  # SHT_RELA
        for info in (struct.unpack_from("<Q", data, section[4] + i * 24 + 8)[0] for i in range(section[5] // 24))
        if info & 0xFFFFFFFF == 4 and (info >> 32) in undefined  # R_X86_64_PLT32 to an external symbol
    ]
    assert far_calls, "the guarded object should call the host with 32-bit displacements"
    symbols = link_object(data, _resolve)
    start = min(symbols.values())
    code = ctypes.string_at(start, 4096)
    grow = _resolve("wasmbox_memory_grow")
    assert grow is not None
    assert b"\xff\x25\x00\x00\x00\x00" + struct.pack("<Q", grow) in code
    module = Module('(module (memory 1) (func (export "g") (param i32) (result i32) local.get 0 memory.grow))')
    grow_export = Instance(Store("native"), module).exports["g"]
    assert grow_export(2) == 1  # type: ignore[operator]
    assert grow_export(0) == 3  # type: ignore[operator]


def test_unknown_relocation_type_is_refused() -> None:
    data = bytearray(_an_object())
    rela = [s for s in _sections(bytes(data)) if s[1] == 4 and s[5]]
    assert rela
    info_at = rela[0][4] + 8  # the first entry's r_info: its type is the low 32 bits
    struct.pack_into("<I", data, info_at, 9)  # R_X86_64_GOTPCREL: needs a GOT, which we do not make
    with pytest.raises(UnsupportedObject, match="relocation type 9"):
        link_object(bytes(data), _resolve)


def test_unknown_external_symbol_writable_section_and_other_machines_are_refused() -> None:
    data = _an_object()
    with pytest.raises(UnsupportedObject, match="unknown external symbol"):
        link_object(data, lambda name: None)
    other_machine = bytearray(data)
    struct.pack_into("<H", other_machine, 18, 183)  # EM_AARCH64
    with pytest.raises(UnsupportedObject):
        link_object(bytes(other_machine), _resolve)
    writable = bytearray(data)
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    for index, section in enumerate(_sections(data)):
        if section[2] & 0x2 and section[1] == 1 and section[5]:  # an allocated section with bits
            struct.pack_into("<Q", writable, shoff + index * 64 + 8, section[2] | 0x1)
    with pytest.raises(UnsupportedObject, match="writable"):
        link_object(bytes(writable), _resolve)
    with pytest.raises(UnsupportedObject):
        link_object(b"not an object", _resolve)


def test_add_object_falls_back_to_llvm_on_a_refused_object(monkeypatch: pytest.MonkeyPatch) -> None:
    from wasmbox.engines.native import code_cache as code_cache_module

    def refuse(data: bytes, resolve: object) -> dict[str, int]:
        raise UnsupportedObject("refused for the test")

    cache = _fresh_process_state(monkeypatch)
    monkeypatch.setattr(code_cache_module, "link_object", refuse)
    by_llvm = cache.linked_by_llvm
    module = Module('(module (func (export "f") (result i32) i32.const 7))')
    f = Instance(Store("native"), module).exports["f"]
    assert isinstance(f, Func) and f() == 7
    assert cache.linked_by_llvm == by_llvm + 1


# A second process runs a module whose code an earlier one cached: linked without loading LLVM.
WARM_RUN = """
import sys
from wasmbox import Instance, Module, Store
from wasmbox.engines.native.code_cache import code_cache
m = Module('(module (memory 1) (func (export "f") (param i32) (result i32) '
           '(i32.store (i32.const 8) (local.get 0)) (i32.add (i32.load (i32.const 8)) (i32.const 1))))')
assert Instance(Store('native'), m).exports['f'](41) == 42
print(code_cache().hits, code_cache().linked, 'llvmlite' in sys.modules, 'wasmbox.engines.native.lower' in sys.modules)
"""


def _run(cache: Path, *environment: tuple[str, str]) -> str:
    env = {"WASMBOX_CACHE": str(cache), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src"), **dict(environment)}
    done = subprocess.run([sys.executable, "-c", WARM_RUN], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_warm_run_links_cached_code_without_importing_llvm(tmp_path: Path) -> None:
    first = _run(tmp_path)
    assert first.endswith("True True")  # compiled: LLVM and the lowering were needed
    # From the cache, linked by the loader: neither llvmlite (not even llvmlite.ir) nor the lowering loaded.
    assert _run(tmp_path) == "1 1 False False"
    # LLVM's linker: no guard pages then (runtime.guards needs the loader's code reservation), so the
    # module's code is the tested kind, compiled once, and linked from the cache by LLVM after that.
    llvm = ("WASMBOX_OBJECT_LOADER", "llvm")
    assert _run(tmp_path, llvm) == ("0 0 True True" if guards.enabled() else "1 0 True False")
    assert _run(tmp_path, llvm) == "1 0 True False"


def test_a_cached_object_failing_its_digest_is_rebuilt_never_linked(tmp_path: Path) -> None:
    from wasmbox.engines.sealed import unseal

    _run(tmp_path)
    (path,) = tmp_path.glob("*-llvm*/*.o")
    damaged = bytearray(path.read_bytes())
    damaged[-100] ^= 0xFF  # inside the object code: the digest no longer matches
    path.write_bytes(bytes(damaged))
    assert _run(tmp_path).endswith("True True")  # no hit: compiled again (with LLVM), the result right
    assert unseal(path.read_bytes()) is not None  # the file was rewritten whole
    assert _run(tmp_path) == "1 1 False False"


def test_the_host_index_key_changes_with_the_cpu_and_is_none_without_cpuinfo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Code made for one CPU is never found through the index by another (it asks LLVM instead)."""
    from wasmbox.engines.native import code_cache as code_cache_module

    def key_with(cpu: str | None) -> str | None:
        monkeypatch.setattr(code_cache_module, "_cpu_identity", lambda: cpu)
        code_cache_module.host_key.cache_clear()
        return code_cache_module.host_key()

    try:
        first, same, other = key_with("flags=sse2 avx2"), key_with("flags=sse2 avx2"), key_with("flags=sse2")
        assert first is not None and first == same and first != other
        assert key_with(None) is None
    finally:
        code_cache_module.host_key.cache_clear()
