"""core-3.0's scripts for multiple memories on every engine, and the native validator on them.

These are the scripts written for the multi-memory proposal (``memory-multi``,
``address0/1``, ``load0/1/2``, ``memory_copy1``, ...) and the 3.0 versions of
older ones that now import, export and define several memories.  Each must
pass completely; core-3.0 scripts that also need other Wasm 3.0 features
(``linking.wast``: typed function references; ``memory.wast``: memory64
limits and ``module definition``; ``align.wast``: memory64 offsets) are not
here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import TESTSUITE
from tests.spec.test_native_validation import check_script

from wasmbox import native_validation
from wasmbox.engines.native import available
from wasmbox.ir.instructions import ALL_FEATURES
from wasmbox.wast import run_script

# Scripts that exercise memories other than 0 in instructions; the rest of SCRIPTS exercise the
# index spaces, imports, exports and binary forms.
INSTRUCTION_SCRIPTS = (
    "memory-multi simd_memory-multi address0 address1 load0 load1 load2 store0 store1 store2 memory_size0 "
    "memory_size1 memory_size2 memory_size3 memory_grow memory_copy0 memory_copy1 memory_fill0 memory_init0 "
    "memory_trap0 memory_trap1 data_drop0 float_memory0 float_exprs0 float_exprs1 traps0 align0 start0"
).split()
SCRIPTS = [
    *INSTRUCTION_SCRIPTS,
    *"data0 data1 imports imports0 imports1 imports2 imports3 imports4 linking0 linking1 linking2 linking3".split(),
    *"binary0 binary memory_size_import exports0 data".split(),
]
CORE_3_0 = TESTSUITE / "core-3.0"
# What the native engine leaves to the portable one here (as in the core-2.0 suite).
NOT_YET_NATIVE = ("v128", "externref", "funcref", "ref.", "table.", "select_t")


def script(name: str) -> Path:
    path = CORE_3_0 / f"{name}.wast"
    if not path.is_file():
        pytest.skip(f"core-3.0 spec scripts not found at {CORE_3_0}")
    return path


@pytest.mark.parametrize("engine", ["interp", "baseline"])
@pytest.mark.parametrize("name", SCRIPTS)
def test_script_passes_on_the_python_engines(name: str, engine: str) -> None:
    result = run_script(script(name), engine, ALL_FEATURES)
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert result.passed > 0


@pytest.mark.skipif(not available(), reason="the native engine needs llvmlite")
@pytest.mark.parametrize("name", SCRIPTS)
def test_script_passes_in_machine_code(name: str) -> None:
    result = run_script(script(name), "native", ALL_FEATURES)
    assert result.failed == 0, "\n".join(result.failures[:15])
    assert all(reason.startswith(NOT_YET_NATIVE) for reason in result.engine.fallbacks), result.engine.fallbacks


@pytest.mark.skipif(not available(), reason="the native engine needs llvmlite")
@pytest.mark.parametrize("name", INSTRUCTION_SCRIPTS)
def test_script_passes_with_mixed_tiers(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiered: half the functions machine code from their first call (compiled one by one), half
    on the Python tiers, so memory instructions on every memory run on every tier."""
    from wasmbox.engines import tiers
    from wasmbox.engines.native import engine

    monkeypatch.setattr(engine, "LAZY_FUNCTIONS", 0)
    monkeypatch.setattr(tiers, "native_at_first_call", lambda index: index % 2 == 0)
    monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 1)
    result = run_script(script(name), "native", ALL_FEATURES)
    assert result.failed == 0, "\n".join(result.failures[:15])


@pytest.mark.skipif(not native_validation.available(), reason="the native validator needs llvmlite")
@pytest.mark.parametrize("name", SCRIPTS)
def test_native_validator_agrees(name: str) -> None:
    """Sound (never accepts what Python rejects) and accepting every valid body with memory indices."""
    check_script(script(name), ALL_FEATURES)
