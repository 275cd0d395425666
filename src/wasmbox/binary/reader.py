"""A cursor over a WebAssembly binary: bytes, LEB128 integers, names.

Reads never stop at a section boundary, as in the reference decoder: a
section's declared size is checked once it has been read (``section size
mismatch``), and reading past the end of the input is ``unexpected end``.
All failures are :class:`MalformedError` with the byte offset.
"""

from __future__ import annotations

from ..errors import MalformedError
from ..ir.instructions import ALL_FEATURES


class Reader:
    """``features`` are the WebAssembly features the input may use."""

    __slots__ = ("data", "pos", "end", "features")

    def __init__(
        self, data: bytes, pos: int = 0, end: int | None = None, features: frozenset[str] = ALL_FEATURES
    ) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end
        self.features = features

    def error(self, message: str, offset: int | None = None) -> MalformedError:
        return MalformedError(message, offset=self.pos if offset is None else offset)

    def at_end(self) -> bool:
        return self.pos >= self.end

    def byte(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise self.error("unexpected end of section or function")
        self.pos = pos + 1
        return self.data[pos]

    def peek(self) -> int | None:
        return self.data[self.pos] if self.pos < self.end else None

    def bytes(self, n: int) -> bytes:
        pos = self.pos
        if n < 0 or pos + n > self.end:
            raise self.error("unexpected end of section or function")
        self.pos = pos + n
        return self.data[pos : pos + n]

    def unsigned(self, bits: int) -> int:
        """Unsigned LEB128 of at most ``bits`` bits (``ceil(bits/7)`` bytes)."""
        data, pos, end = self.data, self.pos, self.end
        if pos < end and bits >= 7:
            b = data[pos]
            if b < 0x80:
                self.pos = pos + 1
                return b
        result = 0
        shift = 0
        remaining = bits
        while True:
            if remaining <= 0:
                raise self.error("integer representation too long", pos)
            if pos >= end:
                self.pos = pos
                raise self.error("unexpected end of section or function")
            b = data[pos]
            pos += 1
            if remaining < 7 and (b & 0x7F) >= (1 << remaining):
                raise self.error("integer too large", pos - 1)
            result |= (b & 0x7F) << shift
            shift += 7
            remaining -= 7
            if b < 0x80:
                self.pos = pos
                return result

    def signed(self, bits: int) -> int:
        """Signed LEB128 of at most ``bits`` bits; unused bits of the last
        byte must repeat the sign bit."""
        data, pos, end = self.data, self.pos, self.end
        if pos < end:
            b = data[pos]
            if b < 0x40:
                self.pos = pos + 1
                return b
        result = 0
        shift = 0
        remaining = bits
        while True:
            if remaining <= 0:
                raise self.error("integer representation too long", pos)
            if pos >= end:
                self.pos = pos
                raise self.error("unexpected end of section or function")
            b = data[pos]
            pos += 1
            if remaining < 7:
                mask = (-1 << (remaining - 1)) & 0x7F
                if (b & mask) != 0 and (b & mask) != mask:
                    raise self.error("integer too large", pos - 1)
            result |= (b & 0x7F) << shift
            shift += 7
            remaining -= 7
            if b < 0x80:
                self.pos = pos
                if b & 0x40:
                    result -= 1 << shift
                return result

    def u32(self) -> int:
        return self.unsigned(32)

    def length(self) -> int:
        """A vector or string length, which cannot exceed the bytes left."""
        start = self.pos
        n = self.unsigned(32)
        if n > self.end - self.pos:
            raise self.error("length out of bounds", start)
        return n

    def name(self) -> str:
        start = self.pos
        raw = self.bytes(self.length())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("malformed UTF-8 encoding", start) from None
