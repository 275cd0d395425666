"""The core-2.0 spec suite on the portable engine: every script, every command.

There is no skip list: each script must pass completely.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import core_wast_files, require_testsuite

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
