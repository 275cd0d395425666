"""How component values look in Python (the mapping the component API and generated bindings share).

| WIT | Python, as lifted | also accepted when lowering |
|---|---|---|
| bool, integers, f32/f64 | ``bool``, ``int``, ``float`` | |
| char, string | ``str`` (one character for char) | |
| ``list<u8>``, ``list<u8, N>`` | ``bytes`` | bytearray, memoryview, list of ints |
| ``list<T>``, ``list<T, N>`` | ``list`` | any sequence |
| ``map<K, V>`` | a ``list`` of ``(key, value)`` tuples, in order (``dict(v)`` gives a mapping) | a ``dict``, or pairs |
| tuple | ``tuple`` | any sequence |
| record | ``Record`` (attributes in snake_case) | a mapping by field name, or any object with the attributes |
| variant | ``Variant(case, value)`` | an object with ``case`` and ``value`` |
| enum | the case name, ``str`` | an ``enum.Enum`` member whose value is the name |
| flags | ``frozenset`` of the set flag names | any iterable of names |
| option<T> | ``None`` or the value; ``Some(v)`` only where T is itself an option | |
| result<T, E> | ``Ok(value)`` or ``Err(value)`` | |

A function returning ``result`` raises ``Err`` (an exception carrying the value) at the API's top level; inside
other values results stay ``Ok``/``Err`` objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def python_name(label: str) -> str:
    """A WIT label as a Python identifier: ``has-lego-action-figure`` → ``has_lego_action_figure``."""
    return label.replace("-", "_").lower()


class Record:
    """A record value: fields by their WIT labels, readable as snake_case attributes."""

    __slots__ = ("fields",)

    def __init__(self, fields: Mapping[str, Any] | None = None, **named: Any) -> None:
        values = dict(fields or {})
        values.update({key.replace("_", "-"): value for key, value in named.items()})
        object.__setattr__(self, "fields", values)

    def __getattr__(self, name: str) -> Any:
        fields: dict[str, Any] = object.__getattribute__(self, "fields")
        for label, value in fields.items():
            if python_name(label) == name:
                return value
        raise AttributeError(name)

    def __getitem__(self, label: str) -> Any:
        return self.fields[label]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and other.fields == self.fields

    def __hash__(self) -> int:
        return hash(tuple(self.fields.items()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{python_name(label)}={value!r}" for label, value in self.fields.items())
        return f"Record({inner})"


@dataclass(frozen=True)
class Variant:
    """A variant value: the case's label and its payload (None for a case without one)."""

    case: str
    value: Any = None


@dataclass(frozen=True)
class Some:
    """``some(v)`` of an option whose payload is itself an option (so ``None`` alone would be ambiguous)."""

    value: Any


@dataclass(frozen=True)
class Ok:
    value: Any = None


class Err(Exception):
    """The error case of a ``result``: a value inside other values, an exception at a function's top level."""

    def __init__(self, value: Any = None) -> None:
        super().__init__(value)
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Err) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("err", repr(self.value)))

    def __repr__(self) -> str:
        return f"Err({self.value!r})"
