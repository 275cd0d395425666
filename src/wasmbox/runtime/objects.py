"""Tables, globals and function instances."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..ir.types import DefinedType, FuncType, GlobalType, TableType

MAX_TABLE_SIZE = 0xFFFFFFFF


class FunctionInstance:
    """A function: wasm code compiled by an engine, or a host function.

    ``code`` uses the engines' calling convention: positional arguments in
    the run-time representation (see :mod:`wasmbox.numeric`), returning
    ``None``, one value, or a tuple for several results.
    """

    __slots__ = ("type", "code", "module", "index", "name", "host", "__weakref__")

    def __init__(
        self,
        func_type: FuncType,
        code: Callable[..., Any],
        module: object = None,
        index: int = -1,
        name: str | None = None,
        host: bool = False,
    ) -> None:
        self.type = func_type
        self.code = code
        self.module = module
        self.index = index
        self.name = name
        self.host = host

    def __repr__(self) -> str:
        return f"<function {self.name or self.index} {self.type}>"


class ElementList(list):  # type: ignore[type-arg]
    """A table's elements, which tell a watcher (a native engine's mirror of the table) what changed.

    Reads are plain list reads; only writes, which are rare, pay for the notice.  A write of one
    element or of a same-length slice, and an append, say where (the mirror updates just that,
    so a write costs O(1) however large the table); anything else says only that it changed.
    """

    __slots__ = ("watcher",)

    def __init__(self, items: Iterable[object] = ()) -> None:
        super().__init__(items)
        self.watcher: Any = None

    def _changed(self) -> None:
        if self.watcher is not None:
            self.watcher.changed()

    def __setitem__(self, index: Any, value: Any) -> None:
        length = len(self)
        super().__setitem__(index, value)
        watcher = self.watcher
        if watcher is None:
            return
        if isinstance(index, int):
            watcher.set(index % length if index < 0 else index)
            return
        start, stop, step = index.indices(length)
        if step == 1 and len(self) == length:
            watcher.set_range(start, max(stop - start, 0))
        else:
            watcher.changed()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._changed()

    def __iadd__(self, values: Iterable[object]) -> ElementList:  # type: ignore[override, misc]
        length = len(self)
        super().__iadd__(values)
        if self.watcher is not None:
            self.watcher.appended(length)
        return self

    def append(self, value: object) -> None:
        super().append(value)
        if self.watcher is not None:
            self.watcher.appended(len(self) - 1)

    def extend(self, values: Iterable[object]) -> None:
        length = len(self)
        super().extend(values)
        if self.watcher is not None:
            self.watcher.appended(length)

    def insert(self, index: Any, value: object) -> None:
        super().insert(index, value)
        self._changed()

    def pop(self, index: Any = -1) -> object:
        value = super().pop(index)
        self._changed()
        return value

    def clear(self) -> None:
        super().clear()
        self._changed()


class TableInstance:
    """A table; ``defined_types`` is the type list a type index in its element type refers to
    (that of the module that defined it: linking compares types of two modules)."""

    __slots__ = ("type", "elements", "max", "defined_types")

    def __init__(
        self,
        table_type: TableType,
        initial: object = None,
        max_elements: int = MAX_TABLE_SIZE,
        defined_types: Sequence[DefinedType] = (),
    ) -> None:
        self.type = table_type
        self.defined_types = defined_types
        elements = ElementList([initial])
        elements *= table_type.limits.min  # in place: no second list of ten million (unwatched yet)
        self.elements: list[object] = elements
        declared = table_type.limits.max if table_type.limits.max is not None else table_type.max_size
        self.max = min(declared, max_elements)

    def grow(self, delta: int, value: object) -> int:
        """``table.grow``: the old size, or -1 of the table's address type when it cannot grow."""
        old = len(self.elements)
        if not 0 <= delta <= self.max - old:
            return 0xFFFFFFFFFFFFFFFF if self.type.is_64 else 0xFFFFFFFF
        self.elements.extend([value] * delta)
        return old


class GlobalInstance:
    """A global; ``defined_types`` as for :class:`TableInstance`."""

    __slots__ = ("type", "value", "defined_types", "__weakref__")

    def __init__(self, global_type: GlobalType, value: object, defined_types: Sequence[DefinedType] = ()) -> None:
        self.type = global_type
        self.defined_types = defined_types
        self.value = value


class TagInstance:
    """An exception tag: exceptions carry one; ``catch`` clauses compare them by identity (machine code
    by ``native_id``, unique in the process)."""

    __slots__ = ("type", "native_id")

    def __init__(self, func_type: FuncType) -> None:
        self.type = func_type
        self.native_id = next(_tag_ids)


_tag_ids = itertools.count(1)
