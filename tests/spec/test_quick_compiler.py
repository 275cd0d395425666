"""The core-2.0 spec suite on the quick compiler's machine code (``engines.native.quick``): every function it
takes from its first call, and, the other way, every function on the baseline entering its code at each loop
it reaches (on-stack replacement through the function's OSR door).  What it does not take (SIMD, references,
multiple results, table and segment instructions) runs on the other tiers, so the scripts pass either way;
the unit tests check that it did take the number, memory, control and call instructions.  The exception
handling scripts (try_table, throw, throw_ref, and the legacy instructions lowered to them) run the same two ways."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import core_wast_files, exception_scripts, legacy_exception_scripts, require_testsuite

from wasmbox.engines.native import available
from wasmbox.engines.native.quick import quick_supported
from wasmbox.ir.instructions import WASM_2_0
from wasmbox.wast import run_script

pytestmark = pytest.mark.skipif(
    not available() or not quick_supported(), reason="quick code needs x86-64 Linux (and llvmlite's engine)"
)


@pytest.mark.parametrize("mode", ["1", "loops"])
@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_script_passes_on_quick_code(path: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from wasmbox.engines import tiers

    require_testsuite()
    monkeypatch.setattr(tiers, "QUICK_TESTING", mode)
    monkeypatch.setenv("WASMBOX_TRANSLATION_WORKER", "0")
    monkeypatch.setattr(tiers, "MODULE_NATIVE_AFTER", 3600.0)
    result = run_script(path, "tiered", WASM_2_0)
    assert result.failed == 0, "\n".join(result.failures[:15])


def exception_handling_scripts() -> list[Path]:
    try_table = [p for p in core_wast_files("core-3.0") if p.stem == "try_table"]
    return exception_scripts() + try_table + legacy_exception_scripts()


@pytest.mark.parametrize("mode", ["1", "loops"])
@pytest.mark.parametrize("path", exception_handling_scripts(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_exception_handling_passes_on_quick_code(path: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from wasmbox.engines import tiers

    require_testsuite()
    monkeypatch.setattr(tiers, "QUICK_TESTING", mode)
    monkeypatch.setenv("WASMBOX_TRANSLATION_WORKER", "0")
    monkeypatch.setattr(tiers, "MODULE_NATIVE_AFTER", 3600.0)
    result = run_script(path, "tiered")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed >= 10
