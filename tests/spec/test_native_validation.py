"""The native validator against the Python one, body by body, over every module of the spec scripts.

The native validator may refuse what it is unsure of (Python then decides),
but must never accept a body the Python decoder or validator rejects: that
is checked for every code entry of every module the scripts contain —
valid ones, ``assert_invalid`` and ``assert_malformed`` ones whose fault is
in a body — as binaries (text modules are encoded first).  It should also
accept every valid body, or large modules would fall back to Python.
"""

from __future__ import annotations

from collections.abc import Iterator
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

from wasmbox import native_validation
from wasmbox.binary.decode import EncodedBody, decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError, ValidationError
from wasmbox.ir.instructions import ALL_FEATURES, BY_NAME, END, FUNCTION_REFERENCES, GC, WASM_2_0, Imm, Instruction
from wasmbox.ir.types import I32, RefType
from wasmbox.limits import MAX_LOCALS
from wasmbox.native_validation.tables import VALUE_CODES, declarations_representable
from wasmbox.text.parser import parse_module_text
from wasmbox.text.script import parse_script
from wasmbox.validate import _Fail, validate_declarations, validate_function

pytestmark = pytest.mark.skipif(not native_validation.available(), reason="the native validator needs llvmlite")


def script_binaries(path: Path, features: frozenset[str]) -> Iterator[tuple[int, bytes]]:
    """(line, binary) of every module in the script that decodes or parses at all."""
    for command in parse_script(path.read_text(), str(path)):
        source = command.module
        if source is None:
            continue
        if source.kind == "binary":
            yield command.line, source.data
            continue
        try:
            module = source.load(features)
        except MalformedError:
            continue  # malformed as text: there is no binary to check
        yield command.line, encode_module(module)


def verdicts(data: bytes, features: frozenset[str]) -> list[tuple[int, bool, bool, bool]] | None:
    """(function, Python accepts, native accepts, typed references) for every body; None when the
    module fails outside bodies.  Typed references (in the module's declarations or the body's
    instructions) are Python's alone to check: the native validator refuses them."""
    try:
        module = decode_module(data, features, lazy=True)
        context = validate_declarations(module)
    except (MalformedError, ValidationError):
        return None
    bodies = []
    for index, function in enumerate(module.funcs):
        assert isinstance(function.source, EncodedBody)
        bodies.append((index, function.source.start, function.source.end))
    refused = set(native_validation.refused_bodies(module, data, bodies, features, MAX_LOCALS))
    representable = declarations_representable(module)
    results = []
    for index, function in enumerate(module.funcs):
        typed = not representable
        try:
            assert function.source is not None
            locals_, body = function.source.decode()
            typed = typed or any(isinstance(t, RefType) and t not in VALUE_CODES for t in locals_)
            typed = typed or any(instr.op.feature in (FUNCTION_REFERENCES, GC) for instr in body)
            validate_function(context, module.types[function.type_index], locals_, body)
            accepted = True
        except (MalformedError, _Fail):
            accepted = False
        results.append((index, accepted, index not in refused, typed))
    return results


def check_script(path: Path, features: frozenset[str]) -> None:
    unsound, overcautious, bodies = [], [], 0
    for line, data in script_binaries(path, features):
        found = verdicts(data, features)
        for index, python_accepts, native_accepts, typed in found or []:
            bodies += 1
            if native_accepts and not python_accepts:
                unsound.append(f"{path.name}:{line} function {index}")
            if python_accepts and not native_accepts and not typed:
                overcautious.append(f"{path.name}:{line} function {index}")
    assert not unsound, f"accepted by the native validator, rejected by Python: {unsound[:20]}"
    assert not overcautious, f"valid, but refused by the native validator: {overcautious[:20]}"


@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_native_validator_agrees_on_core_scripts(path: Path) -> None:
    require_testsuite()
    check_script(path, WASM_2_0)


@pytest.mark.parametrize(
    "path",
    exception_scripts(),
    ids=lambda p: p.name,
)
def test_native_validator_agrees_on_exception_handling(path: Path) -> None:
    check_script(path, ALL_FEATURES)


@pytest.mark.parametrize("path", legacy_exception_scripts(), ids=legacy_id)
def test_native_validator_agrees_on_legacy_exception_handling(path: Path) -> None:
    check_script(path, ALL_FEATURES)


@pytest.mark.parametrize("path", wasm3_scripts(), ids=lambda p: p.name)
def test_native_validator_agrees_on_wasm3_features(path: Path) -> None:
    check_script(path, ALL_FEATURES)


@pytest.mark.parametrize("path", tail_call_scripts(), ids=lambda p: p.name)
def test_native_validator_agrees_on_tail_calls(path: Path) -> None:
    check_script(path, ALL_FEATURES)


@pytest.mark.parametrize(
    "body",
    [
        "try - catch_all catch 0 end end",  # a catch after catch_all
        "try - catch 0 delegate 0 end",  # a delegate after a catch
        "block - delegate 0 end",  # a delegate closing a block
        "rethrow 0",  # the function's label is no handler
        "block - rethrow 0 end",
        "try - rethrow 0 catch_all end",  # the try's body is no handler
        "try - delegate 1",  # no label 1 outside the try
        "try - catch 0 end",  # the handler leaves the tag's i32 on the stack
        "try i32 i32.const 1 catch_all end drop",  # the handler leaves nothing
    ],
)
def test_native_validator_refuses_wrong_legacy_handlers(body: str) -> None:
    """Misplaced handlers, rethrows of what is no handler, delegates to unknown labels, wrong
    payloads: encoded as they are (the encoder checks nothing), refused by both validators."""
    module = parse_module_text("(module (tag (param i32)) (func))")
    words = body.split()
    instructions = []
    while words:
        op = BY_NAME[words.pop(0)]
        if op.imm == Imm.BLOCK:
            word = words.pop(0)
            instructions.append(Instruction(op, (None if word == "-" else I32,)))
        elif op.imm:
            instructions.append(Instruction(op, (int(words.pop(0)),)))
        else:
            instructions.append(op.bare)
    module.funcs[0].body = [*instructions, END]
    found = verdicts(encode_module(module), ALL_FEATURES)
    assert found is not None
    assert [(python, native) for _, python, native, _ in found] == [(False, False)]
