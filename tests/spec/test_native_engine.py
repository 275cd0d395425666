"""The core-2.0 spec suite on the native engine: every script, every command.

The native engine compiles modules to machine code through LLVM; modules with
what it does not lower yet (v128 values and SIMD instructions, reference-typed
values) run on the portable engine.  That fallback is pinned here: any module
that falls back for another reason is a failure, so scalar lowering cannot
regress into the fallback unnoticed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import core_wast_files, require_testsuite

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
    unexpected = [reason for reason in result.engine.fallbacks if not any(w in reason for w in NOT_YET_NATIVE)]
    assert not unexpected, unexpected
