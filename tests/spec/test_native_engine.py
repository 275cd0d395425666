"""The core-2.0 spec suite on the native engine: every script, every command, all in machine code.

The native engine can hand a module to the portable engine (for fuel metering
or an observer); for the spec suite it must not: every module is compiled
through LLVM, so a lowering gap cannot hide behind the fallback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import (
    core_wast_files,
    exception_scripts,
    legacy_exception_scripts,
    legacy_id,
    require_testsuite,
    tail_call_scripts,
    wasm3_scripts,
)

from wasmbox.engines.native import available
from wasmbox.ir.instructions import WASM_2_0
from wasmbox.wast import run_script

pytestmark = pytest.mark.skipif(not available(), reason="the native engine needs llvmlite")

# What the native engine leaves to the portable one, by the words of its reasons.
NOT_YET_NATIVE = (
    "v128",
    "externref",
    "funcref",
    "ref.null",
    "ref.func",
    "ref.is_null",
    "table.get",
    "table.set",
    "table.grow",
    "table.fill",
    "select_t",
)


@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_script_passes_on_the_native_engine(path: Path) -> None:
    require_testsuite()
    result = run_script(path, "native", WASM_2_0)
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.engine.fallbacks == []


@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_script_passes_with_lazy_compilation(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every module tiered, as large programs are, and every function machine code from its first
    call: each compiled on its own, called through the code table."""
    from wasmbox.engines import tiers
    from wasmbox.engines.native import engine

    require_testsuite()
    monkeypatch.setattr(engine, "LAZY_FUNCTIONS", 0)
    monkeypatch.setattr(tiers, "native_at_first_call", lambda index: True)
    result = run_script(path, "native", WASM_2_0)
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.engine.fallbacks == []


@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_script_passes_with_mixed_tiers(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiered, half the functions machine code from their first call and half on the Python tiers
    (moving up quickly), so calls, indirect calls, traps and exceptions cross between them."""
    from wasmbox.engines import tiers
    from wasmbox.engines.native import engine

    require_testsuite()
    monkeypatch.setattr(engine, "LAZY_FUNCTIONS", 0)
    monkeypatch.setattr(tiers, "native_at_first_call", lambda index: index % 2 == 0)
    monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 1)
    result = run_script(path, "native", WASM_2_0)
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.engine.fallbacks == []


@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_script_passes_entering_machine_code_at_loops(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiered, every function on the baseline, and every loop it reaches entering machine code at
    once with the frame as it is (on-stack replacement): each call half interpreted, half native."""
    osr_mode(monkeypatch)
    require_testsuite()
    result = run_script(path, "native", WASM_2_0)
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.engine.fallbacks == []


def osr_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    from wasmbox.engines import tiers
    from wasmbox.engines.native import engine

    monkeypatch.setattr(engine, "LAZY_FUNCTIONS", 0)
    monkeypatch.setattr(tiers, "osr_at_every_loop", lambda index: True)
    monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 10**6)
    monkeypatch.setattr(tiers, "TRANSLATE_AFTER_AT_MOST", 10**9)


def tiering_mode(monkeypatch: pytest.MonkeyPatch, lazy: str) -> None:
    """Compile whole ("eager"), function by function ("lazy"), half of the functions ("mixed"), or
    enter machine code at loops ("osr")."""
    from wasmbox.engines import tiers
    from wasmbox.engines.native import engine

    if lazy == "osr":
        osr_mode(monkeypatch)
    elif lazy != "eager":
        monkeypatch.setattr(engine, "LAZY_FUNCTIONS", 0)
        monkeypatch.setattr(tiers, "native_at_first_call", lambda index: lazy == "lazy" or index % 2 == 0)


@pytest.mark.parametrize("lazy", ["eager", "lazy", "mixed", "osr"])
@pytest.mark.parametrize(
    "path",
    exception_scripts(),
    ids=lambda p: p.name,
)
def test_exception_handling(path: Path, lazy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """try_table/throw/throw_ref (Wasm 3.0): our own script, and core-3.0's that need nothing else of 3.0;
    compiled whole, function by function, or half of the functions on the Python tiers (exceptions
    then cross between machine code and Python)."""
    tiering_mode(monkeypatch, lazy)
    result = run_script(path, "native")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed >= 13 and result.engine.fallbacks == []


@pytest.mark.parametrize("lazy", ["eager", "lazy", "mixed", "osr"])
@pytest.mark.parametrize("path", legacy_exception_scripts(), ids=legacy_id)
def test_legacy_exception_handling(path: Path, lazy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """try/catch/catch_all/delegate/rethrow, lowered to try_table code (ir.legacy_exceptions): compiled
    whole, function by function, half on the Python tiers, or entering machine code at loops (whose
    operand stacks are those of the lowered bodies)."""
    tiering_mode(monkeypatch, lazy)
    result = run_script(path, "native")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed >= 11 and result.engine.fallbacks == []


@pytest.mark.parametrize("path", wasm3_scripts(), ids=lambda p: p.name)
def test_wasm3_features_on_the_native_engine(path: Path) -> None:
    """core-3.0 scripts of the implemented Wasm 3.0 features (extended constant expressions, relaxed SIMD)."""
    result = run_script(path, "native")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed > 0


# memory64 scripts whose functions loop, call through 64-bit tables, grow and trap: run tiered too.
MEMORY64_TIERED = ("memory_trap64", "memory_grow64", "memory_copy64", "call_indirect64", "table_grow64", "bulk64")


@pytest.mark.parametrize("lazy", ["eager", "lazy", "mixed", "osr"])
@pytest.mark.parametrize("path", [p for p in wasm3_scripts() if p.stem in MEMORY64_TIERED], ids=lambda p: p.name)
def test_memory64_in_machine_code(path: Path, lazy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """64-bit memories and tables compiled whole, function by function, half on the Python tiers, or
    entered at loops: nothing left to the portable engine."""
    tiering_mode(monkeypatch, lazy)
    result = run_script(path, "native")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed > 0 and result.engine.fallbacks == []


@pytest.mark.parametrize("lazy", ["eager", "lazy", "mixed", "osr"])
@pytest.mark.parametrize("path", tail_call_scripts(), ids=lambda p: p.name)
def test_tail_calls(path: Path, lazy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """return_call/return_call_indirect: musttail between tail entries when compiled whole; when tiered
    function by function (or entered at loops), functions making tail calls stay on the Python tiers,
    whose tail calls cross into machine code and back."""
    tiering_mode(monkeypatch, lazy)
    result = run_script(path, "native")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed >= 40 and result.engine.fallbacks == []


@pytest.mark.parametrize("lazy", ["eager", "lazy", "mixed", "osr"])
@pytest.mark.parametrize("stem", ["call_ref", "return_call_ref", "br_on_null", "br_on_non_null", "ref_as_non_null"])
def test_function_references_tiered(stem: str, lazy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """call_ref/return_call_ref and the null tests, compiled whole or tiered: a reference's function
    is called natively when it is the instance's machine code, through the host otherwise."""
    scripts = [p for p in wasm3_scripts() if p.stem == stem]
    if not scripts:
        pytest.skip("core-3.0 suite not found")
    tiering_mode(monkeypatch, lazy)
    result = run_script(scripts[0], "native")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed >= 7 and result.engine.fallbacks == []
