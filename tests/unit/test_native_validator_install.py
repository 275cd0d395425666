"""The installed native validator (``python -m wasmbox.native_validation``, ``native_validation.installed_path``).

Built once, it lives beside wasmbox's sources (``$WASMBOX_VALIDATOR_DIR`` here), not in the per-module code cache:
a module of 16 KB of code or more, never seen before, is then checked natively from its binary, with no LLVM
loaded and no body decoded, while an invalid one still gets the Python validator's words.  A damaged file is
removed, never linked.  Each check runs in a fresh interpreter: the validator is linked once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wasmbox.binary.encode import encode_module
from wasmbox.native_validation import available
from wasmbox.text.parser import parse_module_text

pytestmark = pytest.mark.skipif(not available(), reason="the native validator needs llvmlite")

ROOT = Path(__file__).resolve().parents[2]


def many_functions(count: int = 200, broken: int | None = None) -> bytes:
    """A module of ``count`` functions of ~40 instructions each (~20 KB of code); function ``broken`` adds an
    i64 to an i32."""
    functions = []
    for k in range(count):
        steps = " ".join(f"(local.set 0 (i32.add (local.get 0) (i32.const {k + j})))" for j in range(12))
        bad = "(drop (i32.add (i32.const 1) (i64.const 2)))" if k == broken else ""
        functions.append(f'(func (export "f{k}") (param i32) (result i32) {steps} {bad} (local.get 0))')
    return encode_module(parse_module_text(f"(module {' '.join(functions)})"))  # (unvalidated)


LOAD = """
import sys
from wasmbox import Module
from wasmbox.errors import ValidationError
try:
    module = Module(open(sys.argv[1], "rb").read())
except ValidationError as error:
    print("invalid:", error)
else:
    decoded = sum(f.decoded for f in module.ir.funcs)
    print(f"valid; decoded {decoded} of {len(module.ir.funcs)}; llvmlite {'llvmlite.binding' in sys.modules}")
"""


def run(code: str, *args: str, validators: Path, cache: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "WASMBOX_VALIDATOR_DIR": str(validators),
        "WASMBOX_CACHE": str(cache),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        **extra,
    }
    return subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
        check=False,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    validators = tmp_path_factory.mktemp("validators")
    done = run("", "-m", "wasmbox.native_validation", validators=validators, cache=tmp_path_factory.mktemp("cache"))
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path.parent == validators and path.is_file(), done.stdout
    return path


def test_a_new_module_is_checked_natively_without_llvm(installed: Path, tmp_path: Path) -> None:
    wasm = tmp_path / "many.wasm"
    wasm.write_bytes(many_functions())
    done = run(LOAD, str(wasm), validators=installed.parent, cache=tmp_path / "cache")
    assert done.stdout.strip() == "valid; decoded 0 of 200; llvmlite False", done.stderr


def test_without_it_python_checks_and_decodes(tmp_path: Path) -> None:
    wasm = tmp_path / "many.wasm"
    wasm.write_bytes(many_functions())
    done = run(LOAD, str(wasm), validators=tmp_path / "none", cache=tmp_path / "cache")
    assert done.stdout.strip() == "valid; decoded 200 of 200; llvmlite False", done.stderr


def test_an_invalid_module_gets_the_python_validators_words(installed: Path, tmp_path: Path) -> None:
    wasm = tmp_path / "broken.wasm"
    wasm.write_bytes(many_functions(broken=150))
    native = run(LOAD, str(wasm), validators=installed.parent, cache=tmp_path / "native")
    python = run(LOAD, str(wasm), validators=tmp_path / "none", cache=tmp_path / "python")
    assert native.stdout.startswith("invalid:"), native.stderr
    assert "type mismatch" in native.stdout
    assert native.stdout == python.stdout


def test_a_damaged_validator_is_removed_not_linked(installed: Path, tmp_path: Path) -> None:
    validators = tmp_path / "validators"
    validators.mkdir()
    damaged = validators / installed.name
    data = bytearray(installed.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    wasm = tmp_path / "many.wasm"
    wasm.write_bytes(many_functions())
    done = run(LOAD, str(wasm), validators=validators, cache=tmp_path / "cache")
    assert done.stdout.strip() == "valid; decoded 200 of 200; llvmlite False", done.stderr
    assert not damaged.exists()
