"""The tokens of WIT (WIT.md, "Lexical structure"), with the doc comments that precede each token.

WIT has few token kinds: identifiers (kebab-case, or ``%``-prefixed to use a keyword as a name), keywords,
integers, string literals, operators, and versions. A version (``0.2.12``, ``1.0.0-rc.1+build``) is not a
token in the grammar but a semver; it is lexed as one token here (integers are otherwise only list lengths),
because ``0.2.0-rc`` would split into integers, dots and a name that cannot start with a digit.

Doc comments (``///`` lines and ``/** ... */`` blocks) are kept: the comments written before a token become
that token's ``docs``, which the parser gives to the item the token starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import WitError

KEYWORDS = frozenset(
    """as async bool borrow char constructor enum export f32 f64 flags from func future import include interface
    list map option own package record resource result s16 s32 s64 s8 static stream string tuple type u16 u32 u64
    u8 use variant with world""".split()
)
OPERATORS = frozenset("=,:;(){}<>*/.@_")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_INTEGER = re.compile(r"[0-9]+")
# Semantic Versioning 2.0: major.minor.patch, then an optional pre-release and build.
VERSION_PATTERN = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")
# A kebab-case label: words of lowercase letters and digits, or of uppercase letters and digits, joined by
# single hyphens, each starting with a letter (Explainer.md, "Import and export definitions").
_LABEL = re.compile(r"([a-z][a-z0-9]*|[A-Z][A-Z0-9]*)(-([a-z][a-z0-9]*|[A-Z][A-Z0-9]*))*")
# Scalars a WIT file must not contain: bidirectional overrides and control codes other than \t \n \r.
_FORBIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind`` is ``id``, ``int``, ``string``, ``version``, ``eof``, a keyword or an operator."""

    kind: str
    text: str
    offset: int
    end: int
    docs: str = ""


def is_label(name: str) -> bool:
    """Whether ``name`` is a kebab-case label, the form every WIT identifier must have."""
    return _LABEL.fullmatch(name) is not None


class Source:
    """The text of one WIT file, and how to name a position in it."""

    def __init__(self, text: str, path: str = "<wit>") -> None:
        self.text = text
        self.path = path

    def where(self, offset: int) -> str:
        """``path:line:column`` of ``offset``."""
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return f"{self.path}:{line}:{column}"

    def error(self, offset: int, message: str) -> WitError:
        return WitError(f"{self.where(offset)}: {message}")


def tokenize(source: Source) -> list[Token]:
    """Every token of ``source``, ending with an ``eof`` token; raises WitError at the first bad character."""
    text = source.text
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        raise source.error(bad.start(), f"invalid character U+{ord(bad.group()):04X} in a WIT file")
    tokens: list[Token] = []
    docs: list[str] = []
    position = 0
    length = len(text)
    while True:
        position = _skip_space(source, position, docs)
        if position >= length:
            tokens.append(Token("eof", "", position, position, _join(docs)))
            return tokens
        start = position
        char = text[position]
        if char == "-" and text.startswith("->", position):
            token = Token("->", "->", start, start + 2, _join(docs))
            position += 2
        elif char == "%":
            match = _WORD.match(text, position + 1)
            if match is None:
                raise source.error(position, "expected an identifier after `%`")
            token = Token("id", match.group(), start, match.end(), _join(docs))
            position = match.end()
        elif char == '"':
            value, position = _string(source, position)
            token = Token("string", value, start, position, _join(docs))
        elif char.isdigit():
            match = VERSION_PATTERN.match(text, position) or _INTEGER.match(text, position)
            assert match is not None
            kind = "int" if match.re is _INTEGER else "version"
            token = Token(kind, match.group(), start, match.end(), _join(docs))
            position = match.end()
        elif char.isalpha():
            match = _WORD.match(text, position)
            assert match is not None
            word = match.group()
            token = Token(word if word in KEYWORDS else "id", word, start, match.end(), _join(docs))
            position = match.end()
        elif char in OPERATORS:
            token = Token(char, char, start, start + 1, _join(docs))
            position += 1
        else:
            raise source.error(position, f"unexpected character {char!r}")
        tokens.append(token)
        docs = []


def _join(docs: list[str]) -> str:
    return "\n".join(docs)


def _skip_space(source: Source, position: int, docs: list[str]) -> int:
    """Skip whitespace and comments from ``position``; doc comments are appended to ``docs``."""
    text = source.text
    length = len(text)
    while position < length:
        char = text[position]
        if char in " \t\r\n":
            position += 1
        elif text.startswith("//", position):
            end = text.find("\n", position)
            end = length if end < 0 else end
            if text.startswith("///", position) and not text.startswith("////", position):
                line = text[position + 3 : end].rstrip("\r")
                docs.append(line[1:] if line.startswith(" ") else line)
            position = end
        elif text.startswith("/*", position):
            end = _block_comment_end(source, position)
            if text.startswith("/**", position) and not text.startswith("/**/", position):
                docs.extend(_block_doc_lines(text[position + 3 : end - 2]))
            position = end
        else:
            break
    return position


def _block_comment_end(source: Source, start: int) -> int:
    """The offset after the ``*/`` that closes the block comment at ``start`` (block comments nest)."""
    text = source.text
    depth = 0
    position = start
    while position < len(text):
        if text.startswith("/*", position):
            depth += 1
            position += 2
        elif text.startswith("*/", position):
            depth -= 1
            position += 2
            if depth == 0:
                return position
        else:
            position += 1
    raise source.error(start, "unterminated block comment")


def _block_doc_lines(body: str) -> list[str]:
    lines = [line.strip() for line in body.strip().splitlines()]
    return [line[1:].lstrip() if line.startswith("*") else line for line in lines]


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def _string(source: Source, start: int) -> tuple[str, int]:
    """A string literal with the core text format's escapes (``\\n``, ``\\7f``, ``\\u{...}``)."""
    text = source.text
    position = start + 1
    out: list[str] = []
    while position < len(text):
        char = text[position]
        if char == '"':
            return "".join(out), position + 1
        if char == "\n":
            break
        if char != "\\":
            out.append(char)
            position += 1
            continue
        escape = text[position + 1 : position + 2]
        if escape in _ESCAPES:
            out.append(_ESCAPES[escape])
            position += 2
        elif escape == "u":
            close = text.find("}", position)
            if not text.startswith("u{", position + 1) or close < 0:
                raise source.error(position, "malformed unicode escape")
            out.append(chr(int(text[position + 3 : close], 16)))
            position = close + 1
        elif re.fullmatch(r"[0-9a-fA-F]{2}", text[position + 1 : position + 3]):
            out.append(chr(int(text[position + 1 : position + 3], 16)))
            position += 3
        else:
            raise source.error(position, "unknown escape in a string literal")
    raise source.error(start, "unterminated string literal")
