"""``wasmbox component wit``: a component's world as WIT, compared with wasm-tools' reading of it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from wasmbox.component import Component
from wasmbox.component.wit_of import resolve_component
from wasmbox.wit import parse_wit_text, print_resolve

from .test_wit import canonical, canonical_from_wasm_tools, wasm_tools

COMPONENTS = Path(__file__).parent / "components"


def test_a_components_world_is_the_one_wasm_tools_reads(tmp_path: Path) -> None:
    tool = wasm_tools()
    source = COMPONENTS / "shapes.wat"
    result = subprocess.run([tool, "component", "wit", "--json", str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    expected = canonical_from_wasm_tools(json.loads(result.stdout))
    printed = print_resolve(resolve_component(Component.from_file(source).ir))
    ours = canonical(parse_wit_text(printed, "printed.wit"))
    assert ours == expected


def test_the_printed_world_names_its_imports_and_exports() -> None:
    printed = print_resolve(resolve_component(Component.from_file(COMPONENTS / "shapes.wat").ir))
    assert "import demo:shapes/types;" in printed
    assert "export pick: func(c: color, p: perms) -> result<u32, string>;" in printed
    assert "use demo:shapes/types.{point};" in printed  # the inline interface uses the package's type


def test_wit_command_reads_components(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wasmbox.cli import main

    assert main(["component", "wit", str(COMPONENTS / "shapes.wat")]) == 0
    assert capsys.readouterr().out.startswith("package root:component;")
