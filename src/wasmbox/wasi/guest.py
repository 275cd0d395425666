"""Bounds-checked access to the guest's linear memory for host calls.

Every pointer a guest passes is checked against the memory's current size
before it is touched; a bad one becomes ``Fault``, which the call turns into
EFAULT.  Nothing here allocates in proportion to a guest-given length until
that length has been checked against the memory, so "huge lengths" cost
nothing.  Paths and iovec arrays are bounded before their memory is even
looked at: a path of ``PATH_MAX`` bytes or more is ENAMETOOLONG, more than
``IOV_MAX`` buffers EINVAL, whatever the pointers say.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from ..runtime.memory import MemoryInstance
from .abi import EINVAL, ENAMETOOLONG, ERRNO, IOV_MAX, IOVEC, PATH_MAX, WasiError

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class Fault(Exception):
    """A guest pointer or length outside its memory: the call returns EFAULT."""


class GuestMemory:
    """The memory of the guest that imports these functions (bound after instantiation)."""

    def __init__(self) -> None:
        self.memory: MemoryInstance | None = None

    def view(self) -> memoryview:
        if self.memory is None:
            raise Fault("the guest exports no memory")
        return self.memory.view

    def slice(self, address: int, length: int) -> memoryview:
        """A writable window onto guest memory, for zero-copy reads and writes."""
        view = self.view()
        if address < 0 or length < 0 or address + length > len(view):
            raise Fault(f"{length} bytes at {address:#x} lie outside memory ({len(view)} bytes)")
        return view[address : address + length]

    def read(self, address: int, length: int) -> bytes:
        return bytes(self.slice(address, length))

    def write(self, address: int, data: bytes) -> None:
        self.slice(address, len(data))[:] = data

    def u32(self, address: int) -> int:
        return int(_U32.unpack(self.slice(address, 4))[0])

    def put_u32(self, address: int, value: int) -> None:
        _U32.pack_into(self.slice(address, 4), 0, value)

    def put_u64(self, address: int, value: int) -> None:
        _U64.pack_into(self.slice(address, 8), 0, value)

    def put(self, layout: struct.Struct, address: int, *values: object) -> None:
        layout.pack_into(self.slice(address, layout.size), 0, *values)

    def string(self, address: int, length: int) -> str:
        """A string argument: WASI strings are UTF-8, anything else is EILSEQ."""
        try:
            return self.read(address, length).decode("utf-8")
        except UnicodeDecodeError:
            raise WasiError(ERRNO["ilseq"], "string is not UTF-8") from None

    def path(self, address: int, length: int) -> str:
        """A path (or a symlink's contents): ENAMETOOLONG from ``PATH_MAX`` bytes on, before any is read."""
        if length >= PATH_MAX:
            raise WasiError(ENAMETOOLONG, f"a path of {length} bytes does not fit PATH_MAX ({PATH_MAX}) with its NUL")
        return self.string(address, length)

    def iovecs(self, address: int, count: int) -> Iterator[memoryview]:
        """The buffers of an iovec/ciovec array, each checked before any is used; EINVAL past ``IOV_MAX``."""
        if count > IOV_MAX:
            raise WasiError(EINVAL, f"{count} buffers, more than IOV_MAX ({IOV_MAX})")
        table = self.slice(address, count * IOVEC.size)
        buffers = []
        for base, length in IOVEC.iter_unpack(table):
            buffers.append(self.slice(base, length))
        return iter(buffers)
