"""The core toolchain against every module of the official core-2.0 suite.

Per script: every ``assert_malformed`` module fails to decode/parse with a
:class:`MalformedError` whose message starts with the expected text; every
``assert_invalid`` module fails validation the same way; every other module
validates, satisfies ``decode(encode(m)) == m``, and ``wasm2wat`` followed by
``wat2wasm`` reproduces the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import core_wast_files, require_testsuite

from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError, ValidationError, WasmError
from wasmbox.ir.instructions import WASM_2_0
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.text.script import parse_script
from wasmbox.validate import validate_module

VALID_MODULE_COMMANDS = ("module", "assert_unlinkable", "assert_uninstantiable")


def _load_and_validate(command) -> WasmError | None:  # type: ignore[no-untyped-def]
    try:
        validate_module(command.module.load(WASM_2_0))
    except WasmError as error:
        return error
    return None


@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_script_modules_are_judged_correctly(path: Path) -> None:
    require_testsuite()
    problems = []
    checked = 0
    for command in parse_script(path.read_bytes(), str(path)):
        if command.module is None:
            continue
        error = _load_and_validate(command)
        checked += 1
        where = f"{path.name}:{command.line}"
        if command.kind == "assert_malformed":
            if not isinstance(error, MalformedError):
                problems.append(f"{where}: expected malformed ({command.message}), got {error!r}")
            elif not error.message.startswith(command.message):
                problems.append(f"{where}: expected {command.message!r}, got {error.message!r}")
        elif command.kind == "assert_invalid":
            if not isinstance(error, ValidationError):
                problems.append(f"{where}: expected invalid ({command.message}), got {error!r}")
            elif not error.message.startswith(command.message):
                problems.append(f"{where}: expected {command.message!r}, got {error.message!r}")
        elif error is not None:
            problems.append(f"{where}: valid module rejected: {error}")
    assert not problems, "\n".join(problems[:20])
    assert checked > 0 or path.name in ("comments.wast",)


@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_valid_modules_round_trip(path: Path) -> None:
    require_testsuite()
    problems = []
    for command in parse_script(path.read_bytes(), str(path)):
        if command.kind not in VALID_MODULE_COMMANDS:
            continue
        module = command.module.load(WASM_2_0)
        binary = encode_module(module)
        where = f"{path.name}:{command.line}"
        # Read back with the features it was written with: under Wasm 3.0 a function index list
        # is of type (ref func), under 2.0 funcref.
        if decode_module(binary, WASM_2_0) != module:
            problems.append(f"{where}: decode(encode(m)) != m")
            continue
        text = print_module(decode_module(binary, WASM_2_0))
        if encode_module(parse_module_text(text, features=WASM_2_0)) != binary:
            problems.append(f"{where}: wat2wasm(wasm2wat(b)) != b")
    assert not problems, "\n".join(problems[:20])
