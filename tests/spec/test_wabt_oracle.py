"""wabt (Debian package ``wabt``) as an independent oracle.

1. ``wasm-validate`` accepts our ``wat2wasm`` output for every valid module
   of the core-2.0 suite.
2. Our decoder and validator accept every module ``wast2json`` builds from
   the same scripts, and reject its binary ``assert_malformed`` /
   ``assert_invalid`` modules with the right error class.

Skipped when wabt is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.conftest import core_wast_files, require_testsuite

from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError, ValidationError, WasmError
from wasmbox.ir.instructions import WASM_2_0
from wasmbox.text.script import parse_script
from wasmbox.validate import validate_module

# wabt 1.0.32's wast2json cannot read these scripts (it predates syntax they
# use); each entry is the reason.  Only the wast2json half skips them.
WAST2JSON_CANNOT_PARSE = {
    "comments.wast": "wast2json 1.0.32 aborts (assertion `!tokens_.empty()` in its parser)",
    "if.wast": "wast2json 1.0.32 rejects folded conditions before (then) (if.wast:533)",
    "table_fill.wast": "wast2json 1.0.32 requires a table index on table.fill",
    "table_get.wast": "wast2json 1.0.32 requires a table index on table.get",
    "table_grow.wast": "wast2json 1.0.32 requires a table index on table.grow",
    "table_set.wast": "wast2json 1.0.32 requires a table index on table.set",
    "table_size.wast": "wast2json 1.0.32 requires a table index on table.size",
}

# Modules wabt 1.0.32's wasm-validate wrongly rejects, with the reason.
WASM_VALIDATE_LIMITATIONS = {
    ("elem.wast", 682): "wabt 1.0.32 only allows ref.null/ref.func in element expressions, not global.get",
}

needs_wabt = pytest.mark.skipif(
    shutil.which("wasm-validate") is None or shutil.which("wast2json") is None,
    reason="wabt not installed (apt-get install wabt)",
)


@needs_wabt
@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_wabt_accepts_our_binaries(path: Path, tmp_path: Path) -> None:
    require_testsuite()
    rejected = []
    for number, command in enumerate(parse_script(path.read_bytes(), str(path))):
        if command.kind not in ("module", "assert_unlinkable", "assert_uninstantiable"):
            continue
        module = command.module.load(WASM_2_0)
        validate_module(module)
        out = tmp_path / f"{number}.wasm"
        out.write_bytes(encode_module(module))
        result = subprocess.run(["wasm-validate", str(out)], capture_output=True, text=True)
        if result.returncode != 0 and (path.name, command.line) not in WASM_VALIDATE_LIMITATIONS:
            rejected.append(f"{path.name}:{command.line}: {result.stderr.strip()[:200]}")
    assert not rejected, "\n".join(rejected[:10])


@needs_wabt
@pytest.mark.parametrize("path", core_wast_files(), ids=lambda p: p.name)
def test_we_accept_wast2json_binaries(path: Path, tmp_path: Path) -> None:
    require_testsuite()
    if path.name in WAST2JSON_CANNOT_PARSE:
        pytest.skip(WAST2JSON_CANNOT_PARSE[path.name])
    json_path = tmp_path / "out.json"
    result = subprocess.run(["wast2json", str(path), "-o", str(json_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[:500]
    problems = []
    for command in json.loads(json_path.read_text())["commands"]:
        filename = command.get("filename")
        if not filename or command.get("module_type", "binary") != "binary":
            continue
        data = (tmp_path / filename).read_bytes()
        error: WasmError | None = None
        try:
            validate_module(decode_module(data, WASM_2_0))
        except WasmError as e:
            error = e
        where = f"{path.name}:{command['line']}"
        kind = command["type"]
        if kind == "assert_malformed" and not isinstance(error, MalformedError):
            problems.append(f"{where}: malformed module accepted ({error!r})")
        elif kind == "assert_invalid" and not isinstance(error, ValidationError):
            # wabt leaves out the data count section when a module has no data
            # segments, which makes memory.init malformed rather than invalid.
            if isinstance(error, MalformedError) and error.message == "data count section required":
                continue
            problems.append(f"{where}: invalid module not rejected by validation ({error!r})")
        elif kind in ("module", "assert_unlinkable", "assert_uninstantiable", "assert_trap") and error is not None:
            problems.append(f"{where}: rejected {error}")
    assert not problems, "\n".join(problems[:10])
