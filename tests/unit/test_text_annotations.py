"""Text annotations (the annotations proposal), quoted identifiers and the
custom sections written as annotations: ``@custom``, ``@name``, branch hints."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.errors import MalformedError, ValidationError
from wasmbox.text.lexer import parse_sexprs
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.wast import run_script


def decode_unsigned(data: bytes, position: int) -> tuple[int, int]:
    """An unsigned LEB128 at ``position``: (value, position after it)."""
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, position


def sections(binary: bytes) -> list[tuple[int, str | None, bytes]]:
    """(id, custom section name or None, payload) of each section, in order."""
    out = []
    position = 8
    while position < len(binary):
        section_id = binary[position]
        size, position = decode_unsigned(binary, position + 1)
        payload = binary[position : position + size]
        position += size
        name = None
        if section_id == 0:
            length, start = decode_unsigned(payload, 0)
            name = payload[start : start + length].decode()
            payload = payload[start + length :]
        out.append((section_id, name, payload))
    return out


# --- annotations and identifiers ------------------------------------------


def test_annotations_anywhere_are_ignored() -> None:
    plain = parse_module_text('(module (func $f (export "f") (param i32) (result i32) (local.get 0)))')
    annotated = parse_module_text(
        '((@a) module (@b x "y" (z) ,{;}) (func (@c) $f (@d 1 2) (export "f") (@e) (param i32) (result i32)'
        " (@x (@nested)) (local.get (@y) 0)) (@z))"
    )
    assert encode_module(annotated) == encode_module(plain)


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("(module (@a \x01))", "illegal character", 13),
        ("(module (@a \udc80))", "malformed UTF-8 encoding", 13),
        ("(module (@ x))", "empty annotation id", 9),
        ('(module (@"" x))', "empty annotation id", 9),
        ("(module\n  (@x (y)", "unclosed annotation", 3),
        ('(module (@x ")))', "unclosed string", 13),
    ],
)
def test_annotation_errors_name_line_and_column(text: str, message: str, column: int) -> None:
    with pytest.raises(MalformedError) as info:
        parse_module_text(text)
    assert info.value.message == message
    assert info.value.column == column
    assert info.value.line == text.count("\n", 0, text.index("@")) + 1


def test_reserved_tokens_are_allowed_only_inside_annotations() -> None:
    assert parse_sexprs('(@a x-y$z"s"-2 ,{{};}] [)') == []
    with pytest.raises(MalformedError, match="unknown operator"):
        parse_sexprs('(a x-y$z"s"-2)')


def test_quoted_identifier_is_the_unquoted_one() -> None:
    module = parse_module_text('(module (func $"f\\41") (func (call $fA)) (func $" a b") (func (call $" a b")))')
    assert module.funcs[1].body[0].imm == (0,)
    assert module.funcs[3].body[0].imm == (2,)
    assert module.names.functions == {0: "fA", 2: " a b"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(func $)", "empty identifier"),
        ('(func $"")', "empty identifier"),
        ('(func $ "a")', "empty identifier"),
        ('(func $"\\ef")', "malformed UTF-8 encoding"),
        ('(func $"a"b)', "unknown operator"),
    ],
)
def test_bad_identifiers(text: str, message: str) -> None:
    with pytest.raises(MalformedError) as info:
        parse_module_text(text)
    assert info.value.message == message
    assert info.value.column == 7


def test_printer_quotes_names_an_id_cannot_hold() -> None:
    module = parse_module_text('(module $"my module" (func $" a\\09b" (export "f")))')
    text = print_module(module)
    assert '$" a\\09b"' in text
    again = parse_module_text(text)
    assert again.names.functions == {0: " a\tb"}
    assert again.names.module == "my module"


# --- @custom ---------------------------------------------------------------


def test_custom_annotations_are_placed_where_they_say() -> None:
    module = parse_module_text(
        """(module
             (@custom "end" "z")
             (@custom "before-global" (before global) "a" "b")
             (@custom "after-func" (after func) "c")
             (@custom "first" (before first) "")
             (func) (global i32 (i32.const 0)))"""
    )
    order = [(section_id, name) for section_id, name, _ in sections(encode_module(module))]
    assert order == [
        (0, "first"),
        (1, None),
        (3, None),
        (0, "after-func"),
        (0, "before-global"),
        (6, None),
        (10, None),
        (0, "end"),
    ]
    payloads = {name: payload for _, name, payload in sections(encode_module(module)) if name}
    assert payloads["before-global"] == b"ab"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(@custom)", "@custom annotation: missing section name"),
        ("(@custom bla)", "@custom annotation: missing section name"),
        ('(@custom "\\df")', "@custom annotation: malformed UTF-8 encoding"),
        ('(@custom "bla" here)', "@custom annotation: unexpected token"),
        ('(@custom "bla" (after))', "@custom annotation: malformed section kind"),
        ('(@custom "bla" (aft type))', "@custom annotation: malformed placement"),
        ('(@custom "bla" (before types))', "@custom annotation: malformed section kind"),
        ('(func (block (@custom "bla")))', "misplaced @custom annotation"),
    ],
)
def test_malformed_custom_annotations(text: str, message: str) -> None:
    with pytest.raises(MalformedError) as info:
        parse_module_text(text)
    assert info.value.message == message


# --- @name -----------------------------------------------------------------


def test_name_annotations_feed_the_name_section() -> None:
    module = parse_module_text(
        """(module $m (@name "Modül")
             (import "env" "f" (func $imported (@name "imp")))
             (func $lambda (@name "λ"))
             (func (@name "μ"))
             (tag (@name "θ")))"""
    )
    decoded = decode_module(encode_module(module))
    assert decoded.names.module == "Modül"
    assert decoded.names.functions == {0: "imp", 1: "λ", 2: "μ"}
    assert decoded.names.others[11] == b"\x01\x00\x02" + "θ".encode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('(module (@name "M1") (@name "M2"))', "@name annotation: multiple module names"),
        ('(module (func) (@name "M"))', "misplaced @name annotation"),
        ('(module (start $f (@name "M")) (func $f))', "misplaced @name annotation"),
        ('(module (func (nop) (@name "f")))', "misplaced @name annotation"),
        ('(module (@name "\\ff"))', "@name annotation: malformed UTF-8 encoding"),
    ],
)
def test_misplaced_or_malformed_names(text: str, message: str) -> None:
    with pytest.raises(MalformedError) as info:
        parse_module_text(text)
    assert info.value.message == message


# --- branch hints ----------------------------------------------------------


def test_branch_hints_point_at_their_instructions() -> None:
    module = parse_module_text(
        """(module
             (func (param i32) (result i32) (local i64 i64 f32)
               (@metadata.code.branch_hint "\\01")
               (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2)))
               (block (@metadata.code.branch_hint "\\00") (br_if 0 (local.get 0))))
             (func (param i32)
               local.get 0 (@metadata.code.branch_hint "\\00") br_if 0))"""
    )
    binary = encode_module(module)
    found = sections(binary)
    names = [name if section_id == 0 else section_id for section_id, name, _ in found]
    assert names.index("metadata.code.branch_hint") == names.index(10) - 1  # right before the code section
    hints = next(payload for _, name, payload in found if name == "metadata.code.branch_hint")
    code = next(payload for section_id, _, payload in found if section_id == 10)
    bodies = []  # each function body, without its size
    count, position = decode_unsigned(code, 0)
    for _ in range(count):
        size, position = decode_unsigned(code, position)
        bodies.append(code[position : position + size])
        position += size
    seen = []
    functions, position = decode_unsigned(hints, 0)
    for _ in range(functions):
        func_index, position = decode_unsigned(hints, position)
        entries, position = decode_unsigned(hints, position)
        for _ in range(entries):
            offset, position = decode_unsigned(hints, position)
            size, position = decode_unsigned(hints, position)
            value = hints[position]
            position += size
            seen.append((func_index, bodies[func_index][offset], value))
    assert seen == [(0, 0x04, 1), (0, 0x0D, 0), (1, 0x0D, 0)]  # if, br_if, br_if opcodes
    # The hint section is a custom section the decoder keeps: the module round-trips.
    assert encode_module(decode_module(binary)) == binary


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        (
            '(func (param i32) (@metadata.code.branch_hint "\\01") (@metadata.code.branch_hint "\\01") '
            "(if (local.get 0) (then)))",
            MalformedError,
            "@metadata.code.branch_hint annotation: duplicate annotation",
        ),
        (
            '(@metadata.code.branch_hint "\\01") (func)',
            MalformedError,
            "@metadata.code.branch_hint annotation: not in a function",
        ),
        (
            '(func (param i32) (@metadata.code.branch_hint "\\02") (if (local.get 0) (then)))',
            MalformedError,
            "@metadata.code.branch_hint annotation: malformed hint (one byte, 0 or 1)",
        ),
        (
            '(func (result i32) (@metadata.code.branch_hint "\\01") i32.const 0)',
            ValidationError,
            "@metadata.code.branch_hint annotation: invalid target",
        ),
        (
            '(func (@metadata.code.branch_hint "\\01") (block))',
            ValidationError,
            "@metadata.code.branch_hint annotation: invalid target",
        ),
    ],
)
def test_bad_branch_hints(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        parse_module_text(text)
    assert info.value.message == message  # type: ignore[attr-defined]


def test_custom_assertions_run_in_scripts(tmp_path: Path) -> None:
    script = tmp_path / "custom.wast"
    script.write_text(
        '(assert_malformed_custom (module quote "(func (@custom \\"x\\"))") "misplaced @custom annotation")\n'
        '(assert_invalid_custom (module (func (@metadata.code.branch_hint "\\01") nop)) "invalid target")\n'
        '(assert_malformed_custom (module quote "(func)") "this module is well-formed")\n'
    )
    result = run_script(script)
    assert (result.passed, result.failed) == (2, 1)
    assert "module accepted" in result.failures[0]
