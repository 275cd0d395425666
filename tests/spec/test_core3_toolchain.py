"""The core toolchain against every module of the official core-3.0 suite (top level and ``legacy/``).

As ``test_core_toolchain`` does for core-2.0, with every Wasm 3.0 feature on: each ``assert_malformed`` module
is malformed, each ``assert_invalid`` one invalid, every other module validates, ``decode(encode(m)) == m``, and
``wasm2wat`` then ``wat2wasm`` gives back the same bytes.

``NOT_YET`` names the scripts the toolchain cannot read whole yet, each with its reason. It only shrinks: a script
on it that passes fails the test, so that it is taken off.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import TESTSUITE

from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError, ValidationError, WasmError
from wasmbox.ir.instructions import ALL_FEATURES
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.text.script import parse_script
from wasmbox.validate import validate_module

CORE_3_0 = TESTSUITE / "core-3.0"
NOT_YET: dict[str, str] = {}
VALID_MODULE_COMMANDS = ("module", "assert_unlinkable", "assert_uninstantiable")


def core3_scripts() -> list[Path]:
    if not CORE_3_0.is_dir():
        return []
    return sorted(CORE_3_0.glob("*.wast")) + sorted((CORE_3_0 / "legacy").glob("*.wast"))


def problems_of(path: Path) -> list[str]:
    """What the toolchain gets wrong in one script (empty: every module judged and round-tripped right)."""
    try:
        commands = list(parse_script(path.read_bytes(), str(path)))
    except WasmError as error:
        return [f"{path.name}: the script does not parse: {error}"]
    problems = []
    for command in commands:
        if command.module is None:
            continue
        where = f"{path.name}:{command.line}"
        error: WasmError | None = None
        try:
            module = command.module.load(ALL_FEATURES)
            validate_module(module)
        except WasmError as failure:
            error = failure
        if command.kind in ("assert_malformed", "assert_invalid"):
            expected = MalformedError if command.kind == "assert_malformed" else ValidationError
            if not isinstance(error, expected):
                problems.append(f"{where}: expected {expected.__name__} ({command.message}), got {error!r}")
            continue
        if error is not None:
            problems.append(f"{where}: valid module rejected: {error}")
            continue
        if command.kind not in VALID_MODULE_COMMANDS:
            continue
        binary = encode_module(module)
        if decode_module(binary, ALL_FEATURES) != module:
            problems.append(f"{where}: decode(encode(m)) != m")
            continue
        text = print_module(decode_module(binary, ALL_FEATURES))
        if encode_module(parse_module_text(text, features=ALL_FEATURES)) != binary:
            problems.append(f"{where}: wat2wasm(wasm2wat(b)) != b")
    return problems


@pytest.mark.parametrize("path", core3_scripts(), ids=lambda path: str(path.relative_to(CORE_3_0)))
def test_core3_modules_are_judged_and_round_trip(path: Path) -> None:
    problems = problems_of(path)
    if path.name in NOT_YET and path.parent == CORE_3_0:
        assert problems, f"{path.name} passes now: take it off NOT_YET ({NOT_YET[path.name]})"
        pytest.xfail(NOT_YET[path.name])
    assert not problems, "\n".join(problems[:20])


def test_the_suite_is_there() -> None:
    if not CORE_3_0.is_dir():
        pytest.skip(f"spec test suite not found at {CORE_3_0} (set WASMBOX_TESTSUITE)")
    assert len(core3_scripts()) > 250
