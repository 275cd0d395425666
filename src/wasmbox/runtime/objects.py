"""Tables, globals and function instances."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..ir.types import FuncType, GlobalType, TableType

MAX_TABLE_SIZE = 0xFFFFFFFF


class FunctionInstance:
    """A function: wasm code compiled by an engine, or a host function.

    ``code`` uses the engines' calling convention: positional arguments in
    the run-time representation (see :mod:`wasmbox.numeric`), returning
    ``None``, one value, or a tuple for several results.
    """

    __slots__ = ("type", "code", "module", "index", "name", "host")

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
    """A table's elements, which tell a watcher (a native engine's mirror of the table) when they change.

    Reads are plain list reads; only writes, which are rare, pay for the notice.
    """

    __slots__ = ("watcher",)

    def __init__(self, items: Iterable[object] = ()) -> None:
        super().__init__(items)
        self.watcher: Any = None

    def _changed(self) -> None:
        if self.watcher is not None:
            self.watcher.dirty = 1

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._changed()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._changed()

    def __iadd__(self, values: Iterable[object]) -> ElementList:  # type: ignore[override, misc]
        super().__iadd__(values)
        self._changed()
        return self

    def append(self, value: object) -> None:
        super().append(value)
        self._changed()

    def extend(self, values: Iterable[object]) -> None:
        super().extend(values)
        self._changed()

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
    __slots__ = ("type", "elements", "max")

    def __init__(self, table_type: TableType, initial: object = None, max_elements: int = MAX_TABLE_SIZE) -> None:
        self.type = table_type
        self.elements: list[object] = ElementList([initial] * table_type.limits.min)
        declared = table_type.limits.max if table_type.limits.max is not None else MAX_TABLE_SIZE
        self.max = min(declared, max_elements)

    def grow(self, delta: int, value: object) -> int:
        old = len(self.elements)
        if delta > self.max - old:
            return 0xFFFFFFFF
        self.elements.extend([value] * delta)
        return old


class GlobalInstance:
    __slots__ = ("type", "value")

    def __init__(self, global_type: GlobalType, value: object) -> None:
        self.type = global_type
        self.value = value


class TagInstance:
    """An exception tag: exceptions carry one; ``catch`` clauses compare them by identity."""

    __slots__ = ("type",)

    def __init__(self, func_type: FuncType) -> None:
        self.type = func_type
