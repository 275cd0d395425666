"""Every valid module of core-3.0's GC scripts (``WASM3_SCRIPTS["gc"]``) survives decode -> encode
and print -> parse with the same bytes and types, and (when wasm-tools is installed) wasm-tools
finds our encoding valid: the types, recursion groups and 0xFB instructions are encoded as the
spec says, not only as our own decoder reads them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import WASM3_SCRIPTS, wasm3_scripts

from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import WasmError
from wasmbox.ir.instructions import ALL_FEATURES
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.text.script import parse_script
from wasmbox.validate import validate_module

WASM_TOOLS = shutil.which("wasm-tools") or str(Path(sys.executable).parent / "wasm-tools")
GC_SCRIPTS = [p for p in wasm3_scripts() if p.stem in WASM3_SCRIPTS["gc"]]


@pytest.mark.parametrize("path", GC_SCRIPTS, ids=lambda p: p.name)
def test_gc_modules_round_trip_and_wasm_tools_accepts_them(path: Path, tmp_path: Path) -> None:
    oracle = Path(WASM_TOOLS).exists()
    checked = 0
    for command in parse_script(path.read_bytes(), str(path)):
        if command.kind not in ("module", "module_definition") or command.module is None:
            continue
        try:
            module = command.module.load(ALL_FEATURES)
            validate_module(module)
        except WasmError:
            continue  # the script expects it refused (assert_* commands hold no "module" kind)
        binary = encode_module(module)
        decoded = decode_module(binary)
        assert decoded.types == module.types, f"line {command.line}"
        assert encode_module(decoded) == binary, f"line {command.line}"
        assert encode_module(parse_module_text(print_module(decoded))) == binary, f"line {command.line}"
        if oracle:
            wasm = tmp_path / f"{command.line}.wasm"
            wasm.write_bytes(binary)
            result = subprocess.run([WASM_TOOLS, "validate", "--features", "all", str(wasm)], capture_output=True)
            assert result.returncode == 0, f"line {command.line}: {result.stderr.decode()}"
        checked += 1
    assert checked > 0
