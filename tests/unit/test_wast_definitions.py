"""The Wasm 3.0 script forms ``(module definition ...)`` and ``(module instance ...)``: a definition
is validated, not instantiated; each instance of it is a new one (instantiation is generative)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmbox.errors import MalformedError
from wasmbox.text.script import parse_script
from wasmbox.wast import run_script

SCRIPT = """
(module definition $M
  (global (export "g") (mut i32) (i32.const 0))
  (func (export "bump") (result i32) (global.set 0 (i32.add (global.get 0) (i32.const 1))) (global.get 0)))
(module instance $I1 $M)
(module instance $I2 $M)
(assert_return (invoke $I1 "bump") (i32.const 1))
(assert_return (invoke $I1 "bump") (i32.const 2))
(assert_return (invoke $I2 "bump") (i32.const 1))
(module instance $I3)
(assert_return (invoke "bump") (i32.const 1))
(register "first" $I1)
(module (import "first" "g" (global (mut i32))) (func (export "read") (result i32) (global.get 0)))
(assert_return (invoke "read") (i32.const 2))
(module definition (memory 65537))
"""


@pytest.mark.parametrize("engine", ["interp", "baseline"])
def test_instances_of_one_definition_are_separate(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "definitions.wast"
    path.write_text(SCRIPT)
    result = run_script(path, engine)
    assert result.failed == 1, result.failures  # the last definition: memory size is invalid
    assert "module_definition" in result.failures[0] and "memory size" in result.failures[0]
    assert result.passed == 11


def test_definition_is_not_instantiated() -> None:
    """A definition whose start function traps is fine until it is instantiated."""
    commands = parse_script("(module definition $T (func $s unreachable) (start $s)) (module instance $T)")
    assert [c.kind for c in commands] == ["module_definition", "module_instance"]
    assert commands[1].name == "$T" and commands[1].action is not None and commands[1].action.module is None


def test_malformed_instance_form() -> None:
    with pytest.raises(MalformedError):
        parse_script("(module instance $a $b $c)")
    with pytest.raises(MalformedError):
        parse_script('(module instance "x")')
