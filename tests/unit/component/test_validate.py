"""Component validation: one test per rule, valid and invalid side by side."""

from __future__ import annotations

import pytest

from wasmbox.component.parse import parse_component_text
from wasmbox.component.validate import validate_component
from wasmbox.errors import ValidationError

CORE = (
    '(core module $m (func (export "f") (param i32 i32) (result i32) unreachable)) (core instance $i (instantiate $m))'
)


def check(text: str) -> None:
    validate_component(parse_component_text(text))


@pytest.mark.parametrize(
    "text",
    [
        f'(component {CORE} (func (export "f") (param "a" u32) (param "b" u32) (result u32)'
        ' (canon lift (core func $i "f"))))',
        '(component (type $r (resource (rep i32))) (export $r2 "r" (type $r))'
        ' (import "i" (instance $i (export "t" (type (sub resource))))))',
        '(component (component $c (import "t" (type (sub resource)))) (type $r (resource (rep i32)))'
        ' (instance (instantiate $c (with "t" (type $r)))))',
        '(component (type (resource (rep i32))) (type (func (param "x" (borrow 0)))))',
    ],
)
def test_valid_components(text: str) -> None:
    check(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(component (type (record)))", "record type must have at least one field"),
        ('(component (type (enum "a" "A")))', "conflicts with previous tag name"),
        ('(component (type (record (field "NotKebab" u8))))', "is not in kebab case"),
        ('(component (import "a" (func)) (import "A" (func)))', "conflicts with previous name"),
        ('(component (import "a:b/c@1." (func)))', "unexpected end of input"),
        (
            '(component (component $c (import "x" (func))) (instance (instantiate $c)))',
            "missing import named `x`",
        ),
        (
            '(component (component $c (type u32) (import "t" (type (eq 0)))) (type string)'
            ' (instance (instantiate $c (with "t" (type 0)))))',
            "expected primitive `u32` found primitive `string`",
        ),
        (
            f'(component {CORE} (func (param "s" string) (result u32) (canon lift (core func $i "f"))))',
            "canonical option `memory` is required",
        ),
        (
            f'(component {CORE} (type $r (record (field "x" u32)))'
            ' (func $f (param "a" $r) (param "b" u32) (result u32) (canon lift (core func $i "f")))'
            ' (export "f" (func $f)))',
            "func not valid to be used as export",
        ),
        ("(component (type $r (resource (rep i32))) (component (alias outer 1 0 (type))))", "refers to resources"),
        (
            "(component (type (resource (rep i32))) (type (func (result (borrow 0)))))",
            "result cannot contain a `borrow`",
        ),
        ('(component (import "[method]r.m" (func)))', "should have at least one argument"),
    ],
)
def test_invalid_components(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        check(text)


def test_resources_supplied_to_an_instance_keep_their_identity() -> None:
    base = (
        "(component (type $r (resource (rep i32))) (type $s (resource (rep i32)))"
        ' (component $c (import "t" (type $t (sub resource))) (import "u" (type (eq $t))))'
    )
    check(base + ' (instance (instantiate $c (with "t" (type $r)) (with "u" (type $r)))))')
    with pytest.raises(ValidationError, match="resource types are not the same"):
        check(base + ' (instance (instantiate $c (with "t" (type $r)) (with "u" (type $s)))))')
