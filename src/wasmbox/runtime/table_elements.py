"""A table's elements, stored in pages that exist only once something was written to them.

A module may declare a table of ten million elements and write a handful.  A
Python list of that size costs 80 MB and ~0.1 s of page faults before the
first instruction runs, longer than wasmtime takes for the whole program.
Here the elements are pages of ``PAGE_SIZE`` entries: a page nothing was
written to is one shared tuple of the value the table was made or grown
with, so making or growing a table costs O(size / PAGE_SIZE), and a page
becomes a list of its own on its first write (copy on write).  Reads are a
shift, a mask and two subscripts, the same for both kinds of page.

A watcher (a native engine's mirror of the table, ``engines/native/host.py``)
is told what changed: ``set(index)``, ``set_range(start, count)`` for writes,
``appended(old_length)`` after a grow.  Machine code writes its own entries
and has the host copy them here with ``set_quietly`` (no notice: the mirror
already says the same).

Indices are checked against the table's size by the operations that take them
from a guest or an API user (``runtime/operations.py``, ``api/externs.py``);
an index outside ``0 <= index < len`` here is a bug of wasmbox, and raises
``IndexError`` rather than wrapping around as a list would.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterator, Sequence
from typing import Any

PAGE_BITS = 6
PAGE_SIZE = 1 << PAGE_BITS
PAGE_MASK = PAGE_SIZE - 1

_NULL_PAGE: tuple[object, ...] = (None,) * PAGE_SIZE


def uniform_page(value: object) -> tuple[object, ...]:
    """A page every entry of which is ``value``; shared by every page nothing was written to."""
    return _NULL_PAGE if value is None else (value,) * PAGE_SIZE


def page_count(length: int) -> int:
    return (length + PAGE_MASK) >> PAGE_BITS


class TableElements:
    """The elements of one table: ``len``, ``elements[i]``, ``elements[i] = v`` and bulk operations.

    ``pages[i >> PAGE_BITS][i & PAGE_MASK]`` is element ``i`` (engines may read it so, after a
    bounds check against ``length``); a page is a tuple while nothing was written to it.
    """

    __slots__ = ("pages", "length", "watcher")

    def __init__(self, length: int = 0, value: object = None) -> None:
        self.length = length
        self.pages: list[Sequence[object]] = [uniform_page(value)] * page_count(length)
        self.watcher: Any = None

    def __len__(self) -> int:
        return self.length

    def _check(self, index: int) -> None:
        if not 0 <= index < self.length:
            raise IndexError(f"table element {index} outside {self.length} elements")

    def _writable(self, number: int) -> list[object]:
        """Page ``number`` as a list of its own (copied from its shared tuple on first write)."""
        page = self.pages[number]
        if type(page) is not list:
            page = self.pages[number] = list(page)
        return page

    def __getitem__(self, index: int) -> object:
        self._check(index)
        return self.pages[index >> PAGE_BITS][index & PAGE_MASK]

    def __setitem__(self, index: int, value: object) -> None:
        self.set_quietly(index, value)
        if self.watcher is not None:
            self.watcher.set(index)

    def set_quietly(self, index: int, value: object) -> None:
        """Write one element without telling the watcher (it wrote the element itself)."""
        self._check(index)
        self._writable(index >> PAGE_BITS)[index & PAGE_MASK] = value

    def __iter__(self) -> Iterator[object]:
        return itertools.islice(itertools.chain.from_iterable(self.pages), self.length)

    def _spans(self, start: int, count: int) -> Iterator[tuple[int, int, int]]:
        """(page number, offset in the page, entries) covering ``count`` elements from ``start``."""
        if count < 0 or start < 0 or start + count > self.length:
            raise IndexError(f"table elements {start}..{start + count} outside {self.length} elements")
        index, end = start, start + count
        while index < end:
            offset = index & PAGE_MASK
            span = min(PAGE_SIZE - offset, end - index)
            yield index >> PAGE_BITS, offset, span
            index += span

    def read(self, start: int, count: int) -> list[object]:
        """Elements ``start`` to ``start + count``, as a new list."""
        values: list[object] = []
        for number, offset, span in self._spans(start, count):
            values.extend(self.pages[number][offset : offset + span])
        return values

    def write(self, start: int, values: Sequence[object]) -> None:
        """Set elements from ``start`` to ``values`` (a sequence read before any is written)."""
        taken = 0
        for number, offset, span in self._spans(start, len(values)):
            self._writable(number)[offset : offset + span] = values[taken : taken + span]
            taken += span
        self._written(start, len(values))

    def fill(self, start: int, count: int, value: object) -> None:
        """Set ``count`` elements from ``start`` to ``value``; whole pages become one shared tuple."""
        whole: tuple[object, ...] | None = None
        for number, offset, span in self._spans(start, count):
            if span == PAGE_SIZE:
                whole = whole or uniform_page(value)
                self.pages[number] = whole
            else:
                self._writable(number)[offset : offset + span] = [value] * span
        self._written(start, count)

    def _written(self, start: int, count: int) -> None:
        if self.watcher is not None and count:
            self.watcher.set_range(start, count)

    def grow(self, delta: int, value: object) -> None:
        """Append ``delta`` elements of ``value``."""
        old = self.length
        if delta <= 0:
            return
        offset = old & PAGE_MASK
        if offset:  # the last page's entries past the end take the new value
            span = min(PAGE_SIZE - offset, delta)
            self._writable(old >> PAGE_BITS)[offset : offset + span] = [value] * span
        self.length = old + delta
        self.pages.extend([uniform_page(value)] * (page_count(self.length) - len(self.pages)))
        if self.watcher is not None:
            self.watcher.appended(old)

    def all_null(self) -> bool:
        """Whether no page was written since the table was made or grown with null (O(pages), in C)."""
        return all(map(operator.is_, self.pages, itertools.repeat(_NULL_PAGE)))

    def present(self) -> Iterator[tuple[int, object]]:
        """(index, element) of every non-null element, in order; pages never written with a null
        value are skipped whole, so this costs O(pages + elements present)."""
        length, pages = self.length, self.pages
        written = itertools.compress(range(len(pages)), map(operator.is_not, pages, itertools.repeat(_NULL_PAGE)))
        for number in written:
            page, base = pages[number], number << PAGE_BITS
            offsets = itertools.compress(range(PAGE_SIZE), map(operator.is_not, page, itertools.repeat(None)))
            for offset in offsets:
                if base + offset >= length:
                    break
                yield base + offset, page[offset]
