"""The core-2.0 spec suite on the portable engine: every script, every command.

There is no skip list: each script must pass completely.
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
def test_script_passes_on_the_portable_engine(path: Path) -> None:
    require_testsuite()
    result = run_script(path, "interp", WASM_2_0)
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed > 0


def test_runner_reports_wrong_results_and_traps(tmp_path: Path) -> None:
    script = tmp_path / "negative.wast"
    script.write_text(
        """(module (func (export "one") (result i32) (i32.const 1)) (func (export "trap") (unreachable)))
        (assert_return (invoke "one") (i32.const 2))
        (assert_trap (invoke "trap") "integer overflow")
        (assert_trap (invoke "one") "unreachable")
        (assert_return (invoke "one") (i32.const 1))"""
    )
    result = run_script(script)
    assert (result.passed, result.failed) == (2, 3)


@pytest.mark.parametrize(
    "path",
    exception_scripts(),
    ids=lambda p: p.name,
)
def test_exception_handling_on_the_portable_engine(path: Path) -> None:
    """try_table/throw/throw_ref: each level of the translated dispatch catches in an ``except``."""
    result = run_script(path, "interp")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed >= 13


@pytest.mark.parametrize("tiered", [False, True], ids=["translated", "tiered"])
@pytest.mark.parametrize("path", legacy_exception_scripts(), ids=legacy_id)
def test_legacy_exception_handling_on_the_portable_engine(
    path: Path, tiered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """try/catch/catch_all/delegate/rethrow, run as the try_table code ir.legacy_exceptions makes of
    them: translated at once, or starting on the baseline and moving up after one block."""
    if tiered:
        from wasmbox.engines import interp, tiers

        monkeypatch.setattr(interp, "TIERED_FUNCTIONS", 0)
        monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 1)
    result = run_script(path, "interp")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed >= 11


@pytest.mark.parametrize("path", tail_call_scripts(), ids=lambda p: p.name)
def test_tail_calls_on_the_portable_engine(path: Path) -> None:
    result = run_script(path, "interp")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed >= 40


@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_script_passes_tiered(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As large modules run: every function starts on the baseline interpreter and is translated
    once hot (here after one block per instruction, so most move up mid-script)."""
    from wasmbox.engines import interp, tiers

    require_testsuite()
    monkeypatch.setattr(interp, "TIERED_FUNCTIONS", 0)
    monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 1)
    result = run_script(path, "interp", WASM_2_0)
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed > 0


@pytest.mark.parametrize("path", wasm3_scripts(), ids=lambda p: p.name)
def test_wasm3_features_on_the_portable_engine(path: Path) -> None:
    """core-3.0 scripts of the implemented Wasm 3.0 features (extended constant expressions, relaxed SIMD)."""
    result = run_script(path, "interp")
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed > 0
