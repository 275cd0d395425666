"""The ABI tables match the witx they were written from, and every function is there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wasmbox.ir.types import I32, I64
from wasmbox.wasi import WasiConfig, WasiInstance
from wasmbox.wasi.abi import ERRNO_NAMES, FILETYPE_NAMES, MODULE, RIGHT_NAMES, SIGNAL_NAMES

WITX = Path(__file__).resolve().parents[3] / "shared" / "wasi-preview1"


def witx_cases(kind: str, name: str) -> list[str]:
    text = (WITX / "typenames.witx").read_text()
    match = re.search(rf"\(typename \${name}\s*\({kind}[^\n]*\n(.*?)\n\s*\)\s*\n", text, re.S)
    assert match, name
    return re.findall(r"\$(\w+)", match.group(1))


@pytest.fixture(autouse=True)
def need_witx() -> None:
    if not (WITX / "typenames.witx").exists():
        pytest.skip(f"WASI witx not found at {WITX}")


@pytest.mark.parametrize(
    ("kind", "name", "ours"),
    [
        ("enum", "errno", ERRNO_NAMES),
        ("flags", "rights", RIGHT_NAMES),
        ("enum", "filetype", FILETYPE_NAMES),
        ("enum", "signal", SIGNAL_NAMES),
    ],
)
def test_tables_follow_the_witx_order(kind: str, name: str, ours: tuple[str, ...] | list[str]) -> None:
    assert list(ours) == witx_cases(kind, name)


def test_every_witx_function_is_offered_with_its_core_signature() -> None:
    text = (WITX / "wasi_snapshot_preview1.witx").read_text()
    names = set(re.findall(r'\(@interface func \(export "(\w+)"\)', text))
    imports = WasiInstance(WasiConfig(stdout=None)).imports()
    assert {name for module, name in imports if module == MODULE} == names
    assert imports[(MODULE, "clock_time_get")].type.params == (I32, I64, I32)
    assert imports[(MODULE, "proc_exit")].type.results == ()


def test_the_c_programs_call_every_function() -> None:
    from tests.wasi.harness import PROGRAMS, compile_c

    from wasmbox import Module

    called = set()
    for source in sorted(PROGRAMS.glob("*.c")):
        module = Module.from_file(compile_c(source.stem))
        called |= {name for module_name, name, _ in module.imports if module_name == MODULE}
    text = (WITX / "wasi_snapshot_preview1.witx").read_text()
    assert called == set(re.findall(r'\(@interface func \(export "(\w+)"\)', text))
