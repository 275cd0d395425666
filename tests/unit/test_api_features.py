"""Feature switches of the embedding API and the command line: a module read as Wasm 2.0 refuses
what Wasm 3.0 added, read with all features (the default) accepts it; the choice is checked, kept
by serialization and offered as ``wasmbox.FEATURES``."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import wasmbox
from wasmbox import ALL_FEATURES, FEATURES, WASM_2_0, Instance, MalformedError, Module, Store, ValidationError
from wasmbox.cli import main

EXTENDED_CONST = """(module
  (global (export "three") i32 (i32.add (i32.const 1) (i32.const 2)))
  (func (export "get") (result i32) (i32.const 7)))"""

EXCEPTIONS = """(module
  (tag $oops (param i32))
  (func (export "catch") (result i32)
    (block $handler (result i32)
      (try_table (catch $oops $handler) (throw $oops (i32.const 42)))
      (i32.const 0))))"""

PLAIN = '(module (func (export "answer") (result i32) (i32.const 42)))'


def binary(text: str) -> bytes:
    return wasmbox.encode(wasmbox.parse_wat(text))


@pytest.mark.parametrize("form", [str, binary])
def test_extended_constant_expression_is_invalid_in_wasm_2_0_and_valid_by_default(form: object) -> None:
    source = form(EXTENDED_CONST)  # type: ignore[operator]
    with pytest.raises(ValidationError, match="constant"):
        Module(source, features="2.0")
    with pytest.raises(ValidationError):
        Module.validate(source, features="2.0")
    for module in (Module(source), Module(source, features="all")):
        assert Instance(Store(), module).exports["three"].value == 3
    Module.validate(source)


@pytest.mark.parametrize("form", [str, binary])
def test_exception_handling_is_malformed_in_wasm_2_0_and_runs_by_default(form: object) -> None:
    source = form(EXCEPTIONS)  # type: ignore[operator]
    with pytest.raises(MalformedError):
        Module(source, features="2.0")
    with pytest.raises(MalformedError):
        Module.validate(source, features=WASM_2_0)
    assert Instance(Store(), Module(source)).exports["catch"]() == 42


def test_a_set_of_names_turns_on_exactly_those_features() -> None:
    with_extended_const = WASM_2_0 | {"extended-const"}
    module = Module(EXTENDED_CONST, features=with_extended_const)
    assert module.features == with_extended_const
    with pytest.raises(MalformedError):
        Module(EXCEPTIONS, features=with_extended_const)
    assert Module(EXCEPTIONS, features=list(WASM_2_0) + ["exceptions"]).features == WASM_2_0 | {"exceptions"}


def test_unknown_feature_names_are_refused_naming_them_and_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match="unknown features 'memory-control', 'stack-switching'; known: .*exceptions.*gc.*mvp"
    ):
        Module(PLAIN, features=WASM_2_0 | {"stack-switching", "memory-control"})
    with pytest.raises(ValueError, match="unknown feature 'exception'; known:"):
        Module.validate(PLAIN, features=["mvp", "exception"])
    with pytest.raises(ValueError, match="unknown feature set '3.0': give '2.0' or 'all'.*extended-const"):
        Module.from_file("/nonexistent.wasm", features="3.0")  # the choice is checked before the file
    with pytest.raises(ValueError, match="unknown feature set 'exceptions'"):
        Module(PLAIN, features="exceptions")  # one name is not a set: a string names a set


def test_from_file_takes_features(tmp_path: Path) -> None:
    path = tmp_path / "extended.wasm"
    path.write_bytes(binary(EXTENDED_CONST))
    assert Module.from_file(path).features == ALL_FEATURES
    with pytest.raises(ValidationError):
        Module.from_file(path, features="2.0")


def test_feature_sets_are_exported() -> None:
    assert FEATURES["2.0"] == WASM_2_0 and FEATURES["all"] == ALL_FEATURES
    assert WASM_2_0 < ALL_FEATURES and {"exceptions", "extended-const"} <= ALL_FEATURES
    assert {"FEATURES", "WASM_2_0", "ALL_FEATURES"} <= set(wasmbox.__all__)
    with pytest.raises(TypeError):
        FEATURES["3.0"] = frozenset()  # type: ignore[index]


def test_features_survive_serialization_and_pickling_in_another_process() -> None:
    module = Module(PLAIN, features="2.0")
    assert module.features == WASM_2_0
    assert Module.deserialize(module.serialize()).features == WASM_2_0
    program = "import pickle, sys\nmodule = pickle.loads(sys.stdin.buffer.read())\nprint(sorted(module.features))\n"
    result = subprocess.run(
        [sys.executable, "-c", program], input=pickle.dumps(module), capture_output=True, check=True
    )
    assert result.stdout.decode().strip() == str(sorted(WASM_2_0))


def test_store_takes_no_feature_switch_and_says_why() -> None:
    with pytest.raises(TypeError):
        Store(features="2.0")  # type: ignore[call-arg]
    assert "feature switch" in (Store.__doc__ or "") and "Store" in (Module.__doc__ or "")


def test_cli_validate_and_run_take_features(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "extended.wat"
    path.write_text(EXTENDED_CONST)
    assert main(["validate", str(path)]) == 0
    assert main(["validate", "--features", "all", str(path)]) == 0
    assert main(["validate", "--features", "mvp,extended-const", str(path)]) == 0
    assert main(["validate", "--features", "2.0", str(path)]) == 1
    assert "constant" in capsys.readouterr().err
    assert main(["run", "--invoke", "get", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "7"
    assert main(["run", "--features", "2.0", "--invoke", "get", str(path)]) == 1
    with pytest.raises(SystemExit) as usage:
        main(["validate", "--features", "stack-switching", str(path)])
    assert usage.value.code == 2
    assert "unknown feature 'stack-switching'" in capsys.readouterr().err


def test_wat2wasm_and_wasm2wat_take_features(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "tail.wat"
    source.write_text("(module (func $f (return_call $f)))")
    assert main(["wat2wasm", "--features", "2.0", str(source)]) != 0
    assert "tail-call" in capsys.readouterr().err
    assert main(["wat2wasm", str(source)]) == 0
    binary = tmp_path / "tail.wasm"
    assert main(["wasm2wat", "--features", "2.0", str(binary)]) != 0
    capsys.readouterr()
    assert main(["wasm2wat", "--features", "all", str(binary)]) == 0
    assert "return_call" in capsys.readouterr().out
