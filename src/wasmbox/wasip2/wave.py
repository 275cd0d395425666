"""WAVE, the WebAssembly Value Encoding: component values as text, for ``wasmbox run --invoke``.

``42``, ``-1.5``, ``nan``, ``true``, ``'x'``, ``"text\\n"``, ``[1, 2]``, ``(1, "a")``, ``{x: 1, y: 2}``,
``red``, ``circle(2.5)``, ``some(3)``/``none``, ``ok("v")``/``err(e)``, ``{read, write}`` — each read with the
type it must have, as wasm-tools and wasmtime write them.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..canonical_abi.shapes import (
    FlagsShape,
    HandleShape,
    ListShape,
    PrimitiveShape,
    RecordShape,
    Shape,
    StringShape,
    VariantShape,
)
from ..canonical_abi.values import Err, Ok, Record, Variant
from ..errors import WasmError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<char>'(?:[^'\\]|\\.|\\u\{[0-9a-fA-F]+\})')
      | (?P<number>[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|inf|nan))
      | (?P<label>%?[a-zA-Z][a-zA-Z0-9-]*)
      | (?P<punct>[\[\](){},:])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


class WaveError(WasmError, ValueError):
    """Text that is not a WAVE value of the expected type."""


def parse_value(text: str, shape: Shape) -> Any:
    """The value ``text`` writes, read as ``shape``'s type."""
    parser = _Parser(text)
    value = parser.value(shape)
    parser.end()
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                if text[position:].strip() == "":
                    break
                raise WaveError(f"unexpected {text[position : position + 10]!r} in {text!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.position = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (expected is not None and token[1] != expected):
            raise WaveError(f"expected {expected or 'a value'} in {self.text!r}")
        self.position += 1
        return token

    def end(self) -> None:
        if self.peek()[0] != "end":
            raise WaveError(f"unexpected {self.peek()[1]!r} after the value in {self.text!r}")

    def sequence(self, close: str, item: Any) -> list[Any]:
        items: list[Any] = []
        while self.peek()[1] != close:
            items.append(item())
            if self.peek()[1] != close:
                self.take(",")
        self.take(close)
        return items

    def label(self) -> str:
        kind, text = self.take()
        if kind != "label":
            raise WaveError(f"expected a name, got {text!r}")
        return text.removeprefix("%")

    def value(self, shape: Shape) -> Any:
        kind, text = self.peek()
        if isinstance(shape, PrimitiveShape):
            self.take()
            return _primitive(shape.name, kind, text)
        if isinstance(shape, StringShape):
            self.take()
            if kind != "string":
                raise WaveError(f"expected a string, got {text!r}")
            return _unescape(text[1:-1])
        if isinstance(shape, ListShape):
            self.take("[")
            items = self.sequence("]", lambda: self.value(shape.element))
            return bytes(items) if shape.as_bytes else items
        if isinstance(shape, RecordShape):
            if shape.kind == "tuple":
                self.take("(")
                fields = iter(shape.fields)
                return tuple(self.sequence(")", lambda: self.value(next(fields))))
            self.take("{")
            values: dict[str, Any] = {}

            def field() -> None:
                name = self.label()
                self.take(":")
                if name not in shape.labels:
                    raise WaveError(f"no field {name!r} in the record")
                values[name] = self.value(shape.fields[shape.labels.index(name)])

            self.sequence("}", field)
            for name, field_shape in zip(shape.labels, shape.fields, strict=True):
                if name not in values:
                    if isinstance(field_shape, VariantShape) and field_shape.kind == "option":
                        values[name] = None  # an option field may be left out
                    else:
                        raise WaveError(f"record field {name!r} is missing")
            return Record({name: values[name] for name in shape.labels})
        if isinstance(shape, VariantShape):
            return self.variant(shape)
        if isinstance(shape, FlagsShape):
            self.take("{")
            names = self.sequence("}", self.label)
            unknown = set(names) - set(shape.labels)
            if unknown:
                raise WaveError(f"unknown flags {sorted(unknown)}")
            return frozenset(names)
        assert isinstance(shape, HandleShape)
        raise WaveError("resources cannot be written as WAVE values")

    def variant(self, shape: VariantShape) -> Any:
        kind, text = self.peek()
        if shape.kind == "option" and text not in ("some", "none"):
            inner = shape.cases[1]
            assert inner is not None
            return self.value(inner)  # a bare value is some(value)
        name = self.label()
        label = {"err": "error"}.get(name, name) if shape.kind == "result" else name
        if label not in shape.labels:
            raise WaveError(f"{name!r} is not a case of ({', '.join(shape.labels)})")
        index = shape.labels.index(label)
        case = shape.cases[index]
        payload = None
        if self.peek()[1] == "(":
            if case is None:
                raise WaveError(f"case {name!r} has no payload")
            self.take("(")
            payload = self.value(case)
            self.take(")")
        elif case is not None and shape.kind != "result":
            raise WaveError(f"case {name!r} needs a payload")
        if shape.kind == "enum":
            return label
        if shape.kind == "option":
            return None if index == 0 else payload
        if shape.kind == "result":
            return Ok(payload) if index == 0 else Err(payload)
        return Variant(label, payload)


def _unescape(body: str) -> str:
    out: list[str] = []
    position = 0
    while position < len(body):
        char = body[position]
        if char != "\\":
            out.append(char)
            position += 1
            continue
        escape = body[position + 1]
        if escape == "u":
            close = body.index("}", position)
            out.append(chr(int(body[position + 3 : close], 16)))
            position = close + 1
        else:
            out.append(_ESCAPES.get(escape, escape))
            position += 2
    return "".join(out)


def _primitive(name: str, kind: str, text: str) -> Any:
    if name == "bool":
        if text not in ("true", "false"):
            raise WaveError(f"expected true or false, got {text!r}")
        return text == "true"
    if name == "char":
        if kind != "char":
            raise WaveError(f"expected a char like 'x', got {text!r}")
        value = _unescape(text[1:-1])
        if len(value) != 1:
            raise WaveError(f"{text} is not one character")
        return value
    if kind != "number":
        raise WaveError(f"expected a number for {name}, got {text!r}")
    if name in ("f32", "f64"):
        return float(text)
    if not re.fullmatch(r"[-+]?\d+", text):
        raise WaveError(f"expected an integer for {name}, got {text!r}")
    return int(text)


def format_value(value: Any, shape: Shape) -> str:
    """``value`` of ``shape``'s type as WAVE text."""
    if isinstance(shape, PrimitiveShape):
        if shape.name == "bool":
            return "true" if value else "false"
        if shape.name == "char":
            return "'" + _escape(value, "'") + "'"
        if shape.name in ("f32", "f64"):
            if math.isnan(value):
                return "nan"
            if math.isinf(value):
                return "inf" if value > 0 else "-inf"
            return repr(float(value))
        return str(value)
    if isinstance(shape, StringShape):
        return '"' + _escape(value, '"') + '"'
    if isinstance(shape, ListShape):
        return "[" + ", ".join(format_value(item, shape.element) for item in value) + "]"
    if isinstance(shape, RecordShape):
        if shape.kind == "tuple":
            return "(" + ", ".join(format_value(v, s) for v, s in zip(value, shape.fields, strict=True)) + ")"
        fields = value.fields if isinstance(value, Record) else value
        written = [
            f"{name}: {format_value(fields[name], s)}" for name, s in zip(shape.labels, shape.fields, strict=True)
        ]
        return "{" + ", ".join(written) + "}"
    if isinstance(shape, VariantShape):
        if shape.kind == "enum":
            return str(value)
        if shape.kind == "option":
            inner = shape.cases[1]
            assert inner is not None
            return "none" if value is None else f"some({format_value(getattr(value, 'value', value), inner)})"
        if shape.kind == "result":
            index = 0 if isinstance(value, Ok) else 1
            case = shape.cases[index]
            name = "ok" if index == 0 else "err"
            return name if case is None else f"{name}({format_value(value.value, case)})"
        index = shape.labels.index(value.case)
        case = shape.cases[index]
        return value.case if case is None else f"{value.case}({format_value(value.value, case)})"
    if isinstance(shape, FlagsShape):
        return "{" + ", ".join(label for label in shape.labels if label in value) + "}"
    return repr(value)


def _escape(text: str, quote: str) -> str:
    out = []
    for char in text:
        if char in ("\\", quote):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20:
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return "".join(out)
