"""Binaries validated once per cache: ``Module`` of bytes an earlier run validated skips validation,
an invalid module is refused every time, and features and text are never confused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import wasmbox
from wasmbox import Module, ValidationError
from wasmbox.api import module as api_module

VALID = wasmbox.encode(wasmbox.parse_wat('(module (func (export "f") (result i32) i32.const 1))'))
# i32.add of an i64: decodes, but does not validate.
INVALID = wasmbox.encode(wasmbox.parse_wat("(module (func (result i32) i64.const 1 i32.const 2 i32.add))"))


@pytest.fixture
def validations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each module ``validate_module`` is called with, under a cache of its own."""
    return _count_validations(api_module, tmp_path, monkeypatch)


def _count_validations(caller: Any, cache: Path, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The modules ``caller.validate_module`` is called with from now on, under ``cache``."""
    monkeypatch.setenv("WASMBOX_CACHE", str(cache))
    seen: list[object] = []
    real = caller.validate_module

    def counting(module: object) -> None:
        seen.append(module)
        real(module)

    monkeypatch.setattr(caller, "validate_module", counting)
    return seen


def test_bytes_validated_once_are_not_validated_again(validations: list[object], tmp_path: Path) -> None:
    Module(VALID)
    Module(VALID)
    assert len(validations) == 1
    assert len(list((tmp_path / "valid").glob("*/*"))) == 1


def test_an_invalid_module_is_refused_every_time(validations: list[object], tmp_path: Path) -> None:
    for _ in range(2):
        with pytest.raises(ValidationError, match="type mismatch"):
            Module(INVALID)
    assert len(validations) == 2
    assert list(tmp_path.glob("valid/*/*")) == []


def test_other_features_are_validated_apart(validations: list[object]) -> None:
    Module(VALID)
    Module(VALID, features="2.0")
    Module(VALID, features="2.0")
    assert len(validations) == 2


def test_text_is_always_validated(validations: list[object]) -> None:
    text = '(module (func (export "f") (result i32) i32.const 1))'
    Module(text)
    Module(text)
    assert len(validations) == 2


@pytest.fixture
def component_validations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each core module the component validator hands to ``validate_module``, under a cache of its own."""
    from wasmbox.component import validate as component_validate

    return _count_validations(component_validate, tmp_path, monkeypatch)


COMPONENT_TEXT = '(component (core module (func (export "f") (result i32) i32.const 1)))'
INVALID_COMPONENT_TEXT = "(component (core module (func (result i32) i64.const 1 i32.const 2 i32.add)))"


def test_a_components_core_modules_validated_once_are_not_validated_again(
    component_validations: list[object], tmp_path: Path
) -> None:
    """A componentize-py component holds CPython (~17 MB of code): its second load skips validating it."""
    from wasmbox.component import Component, encode_component, parse_component_text

    binary = encode_component(parse_component_text(COMPONENT_TEXT))
    Component(binary)
    Component(binary)
    assert len(component_validations) == 1
    assert len(list((tmp_path / "valid").glob("*/*"))) == 1
    Component(COMPONENT_TEXT)  # parsed from text: no bytes to know it by, validated
    assert len(component_validations) == 2


def test_a_components_invalid_core_module_is_refused_every_time(component_validations: list[object]) -> None:
    from wasmbox.component import Component, encode_component, parse_component_text

    binary = encode_component(parse_component_text(INVALID_COMPONENT_TEXT))
    for _ in range(2):
        with pytest.raises(ValidationError, match="type mismatch"):
            Component(binary)
    assert len(component_validations) == 2
