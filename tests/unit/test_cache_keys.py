"""Every on-disk cache is keyed by the code that made what it holds: changing that code starts afresh.

A cache whose key missed a source would hand a later version code made by an earlier one (the GC
translator, ``interp_gc.py``, was once outside the translation cache's key).  Each case edits one
source in a copy of the package and checks that the cache's key changes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import wasmbox
from wasmbox import validation_cache
from wasmbox.engines import translation_cache
from wasmbox.engines.native import engine as native_engine

PACKAGE = Path(wasmbox.__file__).parent
_RELATIVE = {
    m.__name__: Path(str(m.__file__)).relative_to(PACKAGE) for m in (translation_cache, native_engine, validation_cache)
}


def _key_of(module: ModuleType, version: Any, package: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``version()`` as the module would compute it living in ``package`` (its sources read from there)."""
    relative = _RELATIVE[module.__name__]
    monkeypatch.setattr(module, "__file__", str(package / relative))
    version.cache_clear()
    try:
        return str(version())
    finally:
        version.cache_clear()


CASES: list[tuple[str, ModuleType, Callable[[], str], list[str]]] = [
    (
        "translations",
        translation_cache,
        translation_cache.translator_version,
        ["engines/interp.py", "engines/interp_gc.py", "engines/translation_cache.py", "ir/legacy_exceptions.py"],
    ),
    (
        "machine code",
        native_engine,
        native_engine.engine_version,
        [f"engines/native/{name}.py" for name in ("abi", "lower", "simd", "tables", "jit", "host")]
        + ["ir/legacy_exceptions.py"],
    ),
    ("validity", validation_cache, validation_cache.validator_version, ["validate.py", "binary/decode.py"]),
]


@pytest.mark.parametrize(("cache", "module", "version", "sources"), CASES, ids=[case[0] for case in CASES])
def test_editing_a_source_the_cached_code_depends_on_changes_the_key(
    cache: str,
    module: ModuleType,
    version: Callable[[], str],
    sources: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copy = tmp_path / "wasmbox"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    unchanged = _key_of(module, version, copy, monkeypatch)
    assert unchanged == _key_of(module, version, PACKAGE, monkeypatch)  # the copy is the same code
    for source in sources:
        path = copy / source
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        assert _key_of(module, version, copy, monkeypatch) != unchanged, f"{cache}: {source} is not in the key"
        path.write_bytes(original)


RUN = """
import sys
from wasmbox import Instance, Module, Store
from wasmbox.engines.native.code_cache import code_cache
m = Module('(module (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))')
result = Instance(Store(sys.argv[1]), m).exports['f'](41)
print(result, code_cache().linked, 'llvmlite' in sys.modules)
"""


def test_after_a_version_change_a_warm_run_neither_links_old_code_nor_loads_llvm(tmp_path: Path) -> None:
    """The module's "has machine code" marker outlives a change of the lowering (it lives in the
    translation cache); the next run must not link the old object, nor import LLVM to look for it."""
    import os
    import subprocess
    import sys

    from wasmbox.engines.native import available
    from wasmbox.engines.native.object_loader import host_supported

    if not available() or not host_supported():
        pytest.skip("the object loader links code on Linux x86-64 with llvmlite installed only")
    copy = tmp_path / "src" / "wasmbox"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    environment = dict(os.environ, PYTHONPATH=str(copy.parent), WASMBOX_CACHE=str(tmp_path / "cache"))

    def run(engine: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", RUN, engine], capture_output=True, text=True, env=environment, check=True
        )
        return done.stdout.strip()

    assert run("native") == "42 1 True"  # compiled (LLVM), cached, marked (and linked by the loader)
    assert run("tiered") == "42 1 False"  # warm: the object linked by the loader before the first call
    lower = copy / "engines" / "native" / "lower.py"
    lower.write_bytes(lower.read_bytes() + b"\n# a new version of the lowering\n")
    assert run("tiered") == "42 0 False"  # the old object is not linked, and LLVM is not loaded to look
