"""The spec suite on the baseline interpreter, which large modules start on (see engines.tiers).

Every function runs on it here, from first call to last: nothing moves up.
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

from wasmbox.ir.instructions import WASM_2_0
from wasmbox.wast import run_script


@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_script_passes_on_the_baseline_interpreter(path: Path) -> None:
    require_testsuite()
    result = run_script(path, "baseline", WASM_2_0)
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed > 0


@pytest.mark.parametrize(
    "path",
    exception_scripts(),
    ids=lambda p: p.name,
)
def test_exception_handling_on_the_baseline_interpreter(path: Path) -> None:
    result = run_script(path, "baseline")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed >= 13


@pytest.mark.parametrize("path", legacy_exception_scripts(), ids=legacy_id)
def test_legacy_exception_handling_on_the_baseline_interpreter(path: Path) -> None:
    """try/catch/catch_all/delegate/rethrow, run as the try_table code ir.legacy_exceptions makes of them."""
    result = run_script(path, "baseline")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed >= 11


@pytest.mark.parametrize("path", wasm3_scripts(), ids=lambda p: p.name)
def test_wasm3_features_on_the_baseline_interpreter(path: Path) -> None:
    """core-3.0 scripts of the implemented Wasm 3.0 features (extended constant expressions, relaxed SIMD)."""
    result = run_script(path, "baseline")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed > 0


@pytest.mark.parametrize("path", tail_call_scripts(), ids=lambda p: p.name)
def test_tail_calls_on_the_baseline_interpreter(path: Path) -> None:
    result = run_script(path, "baseline")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed >= 40
