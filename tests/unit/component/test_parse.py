"""The component text format: the explicit forms, the abbreviations the spec tests use, and errors."""

from __future__ import annotations

import pytest

from wasmbox.component import types as t
from wasmbox.component.encode import encode_component
from wasmbox.component.ir import (
    AliasSection,
    CanonSection,
    ComponentSection,
    CoreInstanceSection,
    CoreModuleSection,
    ExportSection,
    ImportSection,
    TypeSection,
)
from wasmbox.component.parse import parse_component_text
from wasmbox.component.printer import print_component
from wasmbox.errors import MalformedError

LIFTED = """
(component
  (core module $m (func (export "f") (param i32) (result i32) local.get 0))
  (core instance $i (instantiate $m))
  (func $f (export "f") (param "x" u32) (result u32) (canon lift (core func $i "f")))
  (type $r (record (field "a" (list u8))))
  (export "r" (type $r)))
"""


def test_abbreviations_expand_as_the_binary_needs() -> None:
    component = parse_component_text(LIFTED)
    kinds = [type(s) for s in component.sections]
    assert kinds == [
        CoreModuleSection,
        CoreInstanceSection,
        TypeSection,  # the inline function type, hoisted before its user
        AliasSection,  # (core func $i "f"): an alias of the core instance's export
        CanonSection,
        TypeSection,  # (list u8), then the record
        ExportSection,  # the explicit export first: inline exports go last, as wasm-tools writes them
    ]
    types = component.sections[5]
    assert isinstance(types, TypeSection)
    assert types.types == [t.List(t.PrimType.U8), t.Record((("a", 1),))]
    exports = component.sections[-1]
    assert isinstance(exports, ExportSection)
    assert [e.name.name for e in exports.exports] == ["r", "f"]
    alias = component.sections[3]
    assert isinstance(alias, AliasSection)
    assert alias.aliases == [t.Alias(t.SortKind(t.Sort.CORE, t.CoreSort.FUNC), t.CoreExportAlias(0, "f"))]


def test_identifiers_of_enclosing_components_become_outer_aliases() -> None:
    component = parse_component_text('(component (type $t u32) (component (import "x" (func (param "a" $t)))))')
    nested = component.sections[1]
    assert isinstance(nested, ComponentSection)
    first = nested.component.sections[0]
    assert first == AliasSection([t.Alias(t.SortKind(t.Sort.TYPE), t.OuterAlias(1, 0))])


def test_imports_of_every_sort() -> None:
    component = parse_component_text(
        """(component
          (import "a" (func))
          (import "b" (instance (export "t" (type (sub resource)))))
          (import "c" (type (sub resource)))
          (import "d" (core module))
          (import "e:f/g@1.0.0" (implements "e:f/g") (instance)))"""
    )
    imports = [i for s in component.sections if isinstance(s, ImportSection) for i in s.imports]
    assert [i.type.sort for i in imports] == [
        t.ExternSort.FUNC,
        t.ExternSort.INSTANCE,
        t.ExternSort.TYPE,
        t.ExternSort.CORE_MODULE,
        t.ExternSort.INSTANCE,
    ]
    assert imports[4].name == t.ExternName("e:f/g@1.0.0", 2, ((0, "e:f/g"),))


def test_printed_text_parses_back_to_the_same_binary() -> None:
    component = parse_component_text(LIFTED)
    again = parse_component_text(print_component(component))
    assert encode_component(again) == encode_component(component)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('(component (export "x" (func $nope)))', "unknown func"),
        ("(component (type $t u32) (type $t u8))", "duplicate type identifier"),
        (
            '(component (import "x" (func $x)) (component (export "x" (func $x))))',
            "is not a module, type, or component",
        ),
        ("(component (canon frobnicate (core func)))", "unknown canonical built-in"),
        ("(component", "unclosed parenthesis"),
    ],
)
def test_text_errors_are_malformed(text: str, message: str) -> None:
    with pytest.raises(MalformedError, match=message):
        parse_component_text(text)
