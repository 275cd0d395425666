"""Lexer for the WebAssembly text format, producing S-expression trees.

The text grammar is S-expressions all the way down, so the parser works on
:class:`SExpr` trees of :class:`Token` atoms.  Comments (line, nested block)
and annotations ``(@id ...)`` are dropped here.  Strings become bytes; source
bytes that are not UTF-8 survive into strings via ``surrogateescape``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import MalformedError

ID_CHARS = r"0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~"
_TOKEN = re.compile(
    r"""(?P<ws>[ \t\n\r]+)
      |(?P<line_comment>;;[^\n\r]*)
      |(?P<block_comment>\(;)
      |(?P<annotation>\(@)
      |(?P<lpar>\()
      |(?P<rpar>\))
      |(?P<string>"(?:[^"\\]|\\.)*")
      |(?P<atom>["""
    + ID_CHARS
    + r"""]+)""",
    re.VERBOSE | re.DOTALL,
)
_STRING_CHAR = re.compile(r"\\(?:u\{([0-9a-fA-F_]*)\}|([0-9a-fA-F]{2})|(.))|([^\\]+)", re.DOTALL)
_SIMPLE_ESCAPES = {"t": b"\t", "n": b"\n", "r": b"\r", '"': b'"', "'": b"'", "\\": b"\\"}


@dataclass(slots=True)
class Token:
    """An atom: ``kind`` is ``keyword``, ``id``, ``string`` or ``reserved``
    (numbers are keywords that start with a digit or sign)."""

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

    def head(self) -> str | None:
        """The keyword a list starts with, e.g. ``func`` for ``(func ...)``."""
        if self.items and isinstance(self.items[0], Token) and self.items[0].kind == "keyword":
            return self.items[0].text
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
    """Read every top-level S-expression (and stray atom) of ``source``."""
    if isinstance(source, bytes):
        source = source.decode("utf-8", "surrogateescape")
    text = source
    line = 1
    line_start = 0
    pos = 0
    length = len(text)
    root = SExpr()
    stack: list[SExpr] = [root]
    match = _TOKEN.match

    def error(message: str, at: int) -> MalformedError:
        return MalformedError(message, line=line, column=at - line_start + 1, source=name)

    while pos < length:
        m = match(text, pos)
        if m is None:
            raise error("unexpected character", pos)
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
        if kind == "annotation":
            if text.startswith("(@custom", start) and (start + 8 >= length or text[start + 8] in " \t\n\r()"):
                # Custom sections are the one annotation with meaning for a module.
                node = SExpr([Token("keyword", "@custom", line, column)], line, column)
                stack[-1].items.append(node)
                stack.append(node)
                pos = start + 8
                continue
            pos, line, line_start = _skip_annotation(text, start, line, line_start, name)
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
            stack.pop().end_line = line
            pos = end
            continue
        # string or atom: must be followed by a delimiter
        if end < length and text[end] not in " \t\n\r();":
            follow = match(text, end)
            if follow is not None and follow.lastgroup in ("string", "atom"):
                raise error("unknown operator", start)
        token_text = m.group()
        if kind == "string":
            body = token_text[1:-1]
            if "\n" in body:
                raise error("unclosed string", start)
            token = Token("string", token_text, line, column, decode_string(body, line, column))
        elif token_text.startswith("$"):
            if len(token_text) == 1:
                raise error("unknown operator", start)
            token = Token("id", token_text, line, column)
        else:
            token = Token("keyword", token_text, line, column)
        stack[-1].items.append(token)
        pos = end
    if len(stack) != 1:
        open_node = stack[-1]
        raise MalformedError("unclosed parenthesis", line=open_node.line, column=open_node.column, source=name)
    return root.items


def _skip_annotation(text: str, start: int, line: int, line_start: int, name: str | None) -> tuple[int, int, int]:
    """Skip a balanced ``(@...)`` annotation, honouring strings and comments."""
    depth = 0
    pos = start
    length = len(text)
    while pos < length:
        ch = text[pos]
        if ch == "\n":
            line += 1
            line_start = pos + 1
        if ch == '"':
            m = re.compile(r'"(?:[^"\\\n]|\\.)*"').match(text, pos)
            if m is None:
                break
            pos = m.end()
            continue
        if text.startswith(";;", pos):
            nl = text.find("\n", pos)
            pos = length if nl < 0 else nl
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return pos + 1, line, line_start
        pos += 1
    raise MalformedError("unclosed annotation", line=line, column=start - line_start + 1, source=name)
