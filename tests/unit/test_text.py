"""The lexer and parser: comments, strings, identifiers, abbreviations."""

from __future__ import annotations

import pytest

from wasmbox.errors import MalformedError, ValidationError
from wasmbox.ir.types import I32, ExternKind, FuncType
from wasmbox.text.lexer import parse_sexprs
from wasmbox.text.parser import parse_module_text
from wasmbox.validate import validate_module


def test_comments_nest_and_annotations_are_ignored() -> None:
    nodes = parse_sexprs('(a (; outer (; inner ;) ;) b) ;; end\n(@note (x ")") y)')
    assert len(nodes) == 1


def test_string_escapes() -> None:
    (node,) = parse_sexprs('"\\t\\n\\\\\\"\\u{1F600}\\ff"')
    assert node.value == b'\t\n\\"' + "😀".encode() + b"\xff"  # type: ignore[union-attr]


def test_errors_name_line_and_column() -> None:
    with pytest.raises(MalformedError) as info:
        parse_module_text("(module\n  (func (i32.bogus)))", "x.wat")
    assert (info.value.line, info.value.column) == (2, 10)
    assert str(info.value).startswith("x.wat:2:10: unknown operator")


def test_inline_imports_exports_and_implicit_types() -> None:
    m = parse_module_text(
        """(module
             (func $f (import "env" "f") (param i32))
             (func (export "g") (export "h") (param i32) (result i32) local.get 0)
             (memory (export "mem") (data "abc")))"""
    )
    assert m.types == [FuncType((I32,), ()), FuncType((I32,), (I32,))]
    assert [(e.name, e.kind, e.index) for e in m.exports] == [
        ("g", ExternKind.FUNC, 1),
        ("h", ExternKind.FUNC, 1),
        ("mem", ExternKind.MEMORY, 0),
    ]
    assert m.memories[0].type.limits.min == 1 and m.datas[0].init == b"abc"


def test_folded_and_flat_forms_give_the_same_code() -> None:
    flat = parse_module_text("(func (result i32) i32.const 1 i32.const 2 i32.add)")
    folded = parse_module_text("(func (result i32) (i32.add (i32.const 1) (i32.const 2)))")
    assert flat == folded


def test_labels_resolve_by_name_and_must_match() -> None:
    m = parse_module_text("(func block $out loop $in br $out br $in end end)")
    body = m.funcs[0].body
    assert [i.imm[0] for i in body if i.op.name == "br"] == [1, 0]
    with pytest.raises(MalformedError, match="mismatching label"):
        parse_module_text("(func block $a end $b)")


def test_segments_take_the_mvps_bare_table_and_memory_index() -> None:
    module = parse_module_text(
        """(module (table 1 funcref) (table $second 2 funcref) (memory 1) (func $f)
             (elem 1 (i32.const 1) $f) (elem 0 (offset (i32.const 0)) $f) (data 0 (i32.const 10) "x"))"""
    )
    assert [(segment.table, segment.offset[0].imm) for segment in module.elements] == [(1, (1,)), (0, (0,))]
    data = module.datas[0]
    assert (data.memory, data.offset[0].imm if data.offset else None, data.init) == (0, (10,), b"x")
    with pytest.raises(ValidationError, match="unknown table"):
        validate_module(parse_module_text("(module (table 1 funcref) (func $f) (elem 3 (i32.const 0) $f))"))
