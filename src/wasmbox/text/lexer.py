"""Lexer for the WebAssembly text format, producing S-expression trees.

The text grammar is S-expressions all the way down, so the parser works on
:class:`SExpr` trees of :class:`Token` atoms.  Comments (line, nested block)
and annotations ``(@id ...)`` other than the kept ones are dropped here.
Strings become bytes; source bytes that are not UTF-8 survive into strings via
``surrogateescape``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import MalformedError

ID_CHARS = r"0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~"
# A string: no raw newline; possessive so that an unclosed one fails in linear time.
_STRING = r'"(?:[^"\\\n]++|\\[^\n])*+"'
# A "word" is the longest run of id characters, strings and the reserved characters
# ``, ; [ ] { }`` (not ``;;``, which starts a comment): the spec's ``reserved`` token.  A run
# that is only id characters is a keyword or an id, only a string a string, ``$`` and a
# string a quoted id; any other run is reserved, an error outside annotations.
_TOKEN = re.compile(
    r"""(?P<ws>[ \t\n\r]++)
      |(?P<line_comment>;;[^\n\r]*+)
      |(?P<block_comment>\(;)
      |(?P<annotation>\(@)
      |(?P<lpar>\()
      |(?P<rpar>\))
      |(?P<word>(?:["""
    + ID_CHARS
    + r""",\[\]{}]++|;(?!;)|"""
    + _STRING
    + r""")++)""",
    re.VERBOSE,
)
_ATOM = re.compile("[" + ID_CHARS + "]++")
_STRING_TOKEN = re.compile(_STRING)
_QUOTED_ID = re.compile(r"\$" + _STRING)
_ANNOTATION_ID = re.compile("[" + ID_CHARS + "]++|" + _STRING)
# Annotations with a meaning for the module (the rest are dropped here):
# custom sections, names for the name section and branch hints.
KEPT_ANNOTATIONS = frozenset(("custom", "name", "metadata.code.branch_hint"))
_STRING_CHAR = re.compile(r"\\(?:u\{([0-9a-fA-F_]*)\}|([0-9a-fA-F]{2})|(.))|([^\\]+)", re.DOTALL)
_SIMPLE_ESCAPES = {"t": b"\t", "n": b"\n", "r": b"\r", '"': b'"', "'": b"'", "\\": b"\\"}


@dataclass(slots=True)
class Token:
    """An atom: ``kind`` is ``keyword``, ``id``, ``string``, ``reserved`` (only
    inside annotations) or ``annotation`` (the head of a kept annotation, e.g.
    ``@custom``); numbers are keywords that start with a digit or sign."""

    kind: str
    text: str
    line: int
    column: int
    value: bytes = b""

    def __repr__(self) -> str:
        return self.text


@dataclass(slots=True)
class SExpr:
    items: list[Token | SExpr] = field(default_factory=list)
    line: int = 0
    column: int = 0
    end_line: int = 0
    # Whether a kept annotation sits in this list or below it: the parser looks
    # for them only in such lists (see :mod:`wasmbox.text.annotations`).
    annotated: bool = False

    def head(self) -> str | None:
        """The keyword a list starts with, e.g. ``func`` for ``(func ...)``."""
        if self.items and isinstance(self.items[0], Token) and self.items[0].kind == "keyword":
            return self.items[0].text
        return None

    def annotation(self) -> str | None:
        """The id of a kept annotation, e.g. ``custom`` for ``(@custom ...)``."""
        if self.items and isinstance(self.items[0], Token) and self.items[0].kind == "annotation":
            return self.items[0].text[1:]
        return None


Node = Token | SExpr


def text_error(message: str, node: Node | None, source: str | None = None) -> MalformedError:
    if node is None:
        return MalformedError(message, source=source)
    return MalformedError(message, line=node.line, column=node.column, source=source)


def decode_string(body: str, line: int, column: int) -> bytes:
    """Turn a string literal's body (between the quotes) into bytes."""
    out = bytearray()
    pos = 0
    for m in _STRING_CHAR.finditer(body):
        if m.start() != pos:
            break
        pos = m.end()
        unicode_hex, hex_byte, simple, raw = m.groups()
        if raw is not None:
            for ch in raw:
                if ord(ch) < 0x20 or ord(ch) == 0x7F:
                    raise MalformedError("illegal control character in string", line=line, column=column)
            out += raw.encode("utf-8", "surrogateescape")
        elif hex_byte is not None:
            out.append(int(hex_byte, 16))
        elif unicode_hex is not None:
            digits = unicode_hex
            if not digits or digits.startswith("_") or digits.endswith("_") or "__" in digits:
                raise MalformedError("malformed escape in string", line=line, column=column)
            code = int(digits.replace("_", ""), 16)
            if code > 0x10FFFF or 0xD800 <= code < 0xE000:
                raise MalformedError("malformed unicode escape", line=line, column=column)
            out += chr(code).encode("utf-8")
        else:
            escaped = _SIMPLE_ESCAPES.get(simple)
            if escaped is None:
                raise MalformedError("malformed escape in string", line=line, column=column)
            out += escaped
    if pos != len(body):
        raise MalformedError("malformed escape in string", line=line, column=column)
    return bytes(out)


def parse_sexprs(source: str | bytes, name: str | None = None) -> list[Node]:
    """Read every top-level S-expression (and stray atom) of ``source``.

    Annotations ``(@id ...)`` (the annotations proposal) are lexed like any
    list, so their tokens follow the same rules, but they may also hold
    reserved tokens; the kept ones (:data:`KEPT_ANNOTATIONS`) stay in the tree
    as lists headed by an ``annotation`` token, the others are dropped when
    they close.  One left-to-right pass: the time is linear in the source."""
    if isinstance(source, bytes):
        source = source.decode("utf-8", "surrogateescape")
    text = source
    line = 1
    line_start = 0
    pos = 0
    length = len(text)
    root = SExpr()
    stack: list[SExpr] = [root]
    annotation_starts: list[int] = []  # stack depth of each open annotation
    match = _TOKEN.match

    def error(message: str, at: int) -> MalformedError:
        return MalformedError(message, line=line, column=at - line_start + 1, source=name)

    while pos < length:
        m = match(text, pos)
        if m is None:
            raise error(_bad_character(text, pos), pos)
        kind = m.lastgroup
        start, end = m.span()
        column = start - line_start + 1
        if kind == "ws" or kind == "line_comment":
            newlines = text.count("\n", start, end)
            if newlines:
                line += newlines
                line_start = text.rindex("\n", start, end) + 1
            pos = end
            continue
        if kind == "block_comment":
            depth = 0
            scan = start
            while True:
                if scan >= length:
                    raise error("unclosed comment", start)
                if text.startswith("(;", scan):
                    depth += 1
                    scan += 2
                elif text.startswith(";)", scan):
                    depth -= 1
                    scan += 2
                    if depth == 0:
                        break
                else:
                    if text[scan] == "\n":
                        line += 1
                        line_start = scan + 1
                    scan += 1
            pos = scan
            continue
        if kind == "annotation" and annotation_starts and not _ANNOTATION_ID.match(text, end):
            kind = "lpar"  # within an annotation, ``(@)`` is just a list
            end = start + 1
        if kind == "annotation":
            label, pos = _annotation_id(text, end, error)
            node = SExpr([Token("annotation", "@" + label, line, column)], line, column)
            stack[-1].items.append(node)
            stack.append(node)
            annotation_starts.append(len(stack) - 1)
            continue
        if kind == "lpar":
            node = SExpr([], line, column)
            stack[-1].items.append(node)
            stack.append(node)
            pos = end
            continue
        if kind == "rpar":
            if len(stack) == 1:
                # Like a lazy lexer, report this only after what precedes it:
                # the parser raises when it reaches this marker.
                root.items.append(Token("error", ")", line, column))
                break
            closed = stack.pop()
            closed.end_line = line
            if annotation_starts and annotation_starts[-1] == len(stack):
                annotation_starts.pop()
                label = closed.items[0].text[1:]  # type: ignore[union-attr]
                if label in KEPT_ANNOTATIONS and not annotation_starts:
                    for enclosing in reversed(stack):  # up to the first marked: each list once in all
                        if enclosing.annotated:
                            break
                        enclosing.annotated = True
                else:
                    stack[-1].items.pop()
            pos = end
            continue
        # a word: must be followed by a delimiter
        token_text = m.group()
        if end < length and text[end] not in " \t\n\r();":
            if text[end] == '"' or _ATOM.match(text, end):
                raise error("empty identifier" if token_text == "$" else "unknown operator", start)
        if _ATOM.fullmatch(token_text):
            if token_text == "$" and not annotation_starts:
                raise error("empty identifier", start)
            token = Token("id" if token_text[0] == "$" else "keyword", token_text, line, column)
        elif _STRING_TOKEN.fullmatch(token_text):
            token = Token("string", token_text, line, column, decode_string(token_text[1:-1], line, column))
        elif _QUOTED_ID.fullmatch(token_text):
            token = Token("id", "$" + _quoted_name(token_text[2:-1], line, column), line, column)
        elif annotation_starts:
            token = Token("reserved", token_text, line, column)
        else:
            raise error("unknown operator", start)
        stack[-1].items.append(token)
        pos = end
    if annotation_starts:
        open_node = stack[annotation_starts[0]]
        raise MalformedError("unclosed annotation", line=open_node.line, column=open_node.column, source=name)
    if len(stack) != 1:
        open_node = stack[-1]
        raise MalformedError("unclosed parenthesis", line=open_node.line, column=open_node.column, source=name)
    return root.items


def _bad_character(text: str, pos: int) -> str:
    """Why no token starts at ``pos``: the spec's lexer errors."""
    char = text[pos]
    if char == '"':
        return "unclosed string"
    if "\udc80" <= char <= "\udcff":  # a byte that was not UTF-8 (surrogateescape)
        return "malformed UTF-8 encoding"
    return "illegal character"


def _annotation_id(text: str, pos: int, error: Callable[[str, int], MalformedError]) -> tuple[str, int]:
    """The id right after ``(@``: id characters or a non-empty UTF-8 string."""
    m = _ANNOTATION_ID.match(text, pos)
    if m is None:
        raise error("empty annotation id", pos - 2)
    label = m.group()
    if label.startswith('"'):
        try:
            label = decode_string(label[1:-1], 0, 0).decode("utf-8")
        except UnicodeDecodeError:
            raise error("malformed UTF-8 encoding", pos) from None
        except MalformedError as bad:
            raise error(bad.message, pos) from None
        if not label:
            raise error("empty annotation id", pos - 2)
    return label, m.end()


def _quoted_name(body: str, line: int, column: int) -> str:
    """The name of a quoted id ``$"..."``: a non-empty, valid UTF-8 string.
    ``$"a"`` and ``$a`` are the same id."""
    try:
        name = decode_string(body, line, column).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError("malformed UTF-8 encoding", line=line, column=column) from None
    except MalformedError:
        # A raw control character ends the string token: ``$`` stands alone.
        raise MalformedError("empty identifier", line=line, column=column) from None
    if not name:
        raise MalformedError("empty identifier", line=line, column=column)
    return name
