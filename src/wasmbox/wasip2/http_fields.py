"""``wasi:http/types`` fields (headers and trailers): syntax, forbidden names and immutability.

The rules are the WIT's (``header-error``): a name must be an RFC 9110 token and a value a field-value
(visible characters, spaces, tabs and obs-text; no CR, LF or NUL), else ``invalid-syntax``; a name the host
forbids (hop-by-hop and connection-level headers the host itself manages: the set wasmtime refuses, which
allows ``te``) is
``forbidden``; a fields resource that belongs to a request or response (``headers()`` of one, every incoming
one) is ``immutable``. Names compare without regard to case and are kept in lower case, as HTTP/2 and
wasmtime's host keep them; the order of entries is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

FORBIDDEN_NAMES = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "host",
        "http2-settings",
    }
)


class HeaderError(Exception):
    """A refused change to a fields resource; ``case`` is the ``header-error`` the guest receives."""

    def __init__(self, case: str) -> None:
        super().__init__(case)
        self.case = case


def valid_name(name: str) -> bool:
    try:
        return _TOKEN.match(name.encode("ascii")) is not None
    except UnicodeEncodeError:
        return False


def valid_value(value: bytes) -> bool:
    return _BAD_VALUE.search(value) is None


@dataclass
class Fields:
    """Header or trailer entries in order, and whether the guest may still change them."""

    entries: list[tuple[str, bytes]] = field(default_factory=list)
    mutable: bool = True
    forbidden: frozenset[str] = FORBIDDEN_NAMES

    def _check(self, name: str, values: list[bytes]) -> str:
        if not self.mutable:
            raise HeaderError("immutable")
        if not valid_name(name) or not all(valid_value(value) for value in values):
            raise HeaderError("invalid-syntax")
        key = name.lower()
        if key in self.forbidden:
            raise HeaderError("forbidden")
        return key

    def get(self, name: str) -> list[bytes]:
        key = name.lower()
        return [value for entry, value in self.entries if entry == key]

    def has(self, name: str) -> bool:
        key = name.lower()
        return any(entry == key for entry, _ in self.entries)

    def set(self, name: str, values: list[bytes]) -> None:
        key = self._check(name, values)
        kept = [(entry, value) for entry, value in self.entries if entry != key]
        self.entries = kept + [(key, value) for value in values]

    def delete(self, name: str) -> None:
        key = self._check(name, [])
        self.entries = [(entry, value) for entry, value in self.entries if entry != key]

    def append(self, name: str, value: bytes) -> None:
        key = self._check(name, [value])
        self.entries.append((key, value))

    def copy(self, mutable: bool = True) -> Fields:
        return Fields(list(self.entries), mutable, self.forbidden)

    @classmethod
    def from_list(cls, entries: list[tuple[str, bytes]], forbidden: frozenset[str] = FORBIDDEN_NAMES) -> Fields:
        fields = cls(forbidden=forbidden)
        for name, value in entries:
            fields.append(name, bytes(value))
        return fields
