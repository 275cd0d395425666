"""Linear memory on one fixed-base mapping.

The address space for the largest size the memory may reach is reserved up
front with an anonymous ``mmap`` (no pages are committed until written), so
``memory.grow`` never moves the memory: its base address stays valid for any
engine that addresses it by pointer, and Python sees it without copies
through ``view``, a memoryview of exactly the current size.

A 64-bit memory (memory64) is reserved the same way: its reach is its maximum
or the store's ``max_memory_pages``, whichever is lower (4 GiB by default,
so an i64 memory without a maximum does not reserve 2^64 bytes).
"""

from __future__ import annotations

import ctypes
import mmap
import weakref
from typing import Any

from ..errors import Exhaustion
from ..ir.types import MAX_PAGES, PAGE_SIZE, MemoryType
from . import guards

MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)  # Linux value; not exported by CPython 3.11


class MemoryInstance:
    __slots__ = ("type", "max_pages", "pages", "_map", "view", "size_cell", "guarded", "__weakref__")

    def __init__(self, memory_type: MemoryType, max_pages_limit: int = MAX_PAGES) -> None:
        self.type = memory_type
        limits = memory_type.limits
        # An i64 memory without a maximum may reach 2^48 pages by its type; the store's limit
        # (``max_pages_limit``, 4 GiB by default) is what bounds the reservation.
        # Pages may be 1 byte (custom page sizes): the store's limit counts 64 KiB pages.
        page_size = memory_type.page_size
        declared = limits.max if limits.max is not None else memory_type.max_pages
        self.max_pages = min(declared, max_pages_limit * PAGE_SIZE // page_size)
        self.pages = limits.min
        reserve = max(self.max_pages * page_size, self.pages * page_size, 1)
        # Guard pages (runtime.guards): a 32-bit memory of 64 KiB pages reserves its whole reach and
        # the largest static offset past it, inaccessible beyond its size, so machine code need not
        # test its accesses.
        self.guarded = not memory_type.is_64 and page_size == PAGE_SIZE and guards.enabled()
        if self.guarded:
            reserve = guards.RESERVATION
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE
        try:
            self._map = mmap.mmap(-1, reserve, flags=flags)
        except (OSError, OverflowError) as error:  # address space used up (RLIMIT_AS, or many instances)
            raise Exhaustion(
                "resource limit exceeded",
                f"resource limit exceeded: cannot reserve {reserve >> 20} MiB of address space for a memory "
                f"of up to {self.max_pages} pages ({error})",
            ) from None
        self.view = memoryview(self._map)[: self.pages * page_size]
        if self.guarded:
            base = self.base_address()
            guards.protect(base + self.size, reserve - self.size, guards.NO_ACCESS)
            slot = guards.add_memory(base)
            if slot is None:
                raise Exhaustion(
                    "resource limit exceeded", "resource limit exceeded: too many memories at once for guard pages"
                )
            weakref.finalize(self, guards.remove_memory, slot)
        # A native engine reads the size from a ctypes cell it attaches here; grow keeps it current.
        self.size_cell: Any = None

    def base_address(self) -> int:
        """Where the memory starts in this process (it never moves: see the module docstring)."""
        return ctypes.addressof(ctypes.c_char.from_buffer(self._map))

    @property
    def size(self) -> int:
        """Current size in bytes."""
        return self.pages * self.type.page_size

    def grow(self, delta: int) -> int:
        """``memory.grow``: the old size in pages, or -1 of the address type (0xFFFFFFFF, or
        2^64-1 for an i64 memory) when the memory cannot grow that far.  New pages read as zero.
        The size never shrinks: native code checks bounds against it."""
        old = self.pages
        if not 0 <= delta <= self.max_pages - old:
            return 0xFFFFFFFFFFFFFFFF if self.type.is_64 else 0xFFFFFFFF
        if delta:
            if self.guarded:
                guards.protect(self.base_address() + self.size, delta * PAGE_SIZE, guards.READ_WRITE)
            self.pages = old + delta
            self.view = memoryview(self._map)[: self.size]
            if self.size_cell is not None:
                self.size_cell.value = self.size
        return old

    def read(self, address: int, length: int) -> bytes:
        if address < 0 or length < 0 or address + length > self.size:
            raise IndexError(f"memory access {address}+{length} outside {self.size} bytes")
        return bytes(self.view[address : address + length])

    def write(self, address: int, data: bytes) -> None:
        if address < 0 or address + len(data) > self.size:
            raise IndexError(f"memory access {address}+{len(data)} outside {self.size} bytes")
        self.view[address : address + len(data)] = data
