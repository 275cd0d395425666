"""Tables, globals and function instances."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from ..ir.types import DefinedType, FuncType, GlobalType, TableType
from .table_elements import TableElements

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
        self.elements = TableElements(table_type.limits.min, initial)
        declared = table_type.limits.max if table_type.limits.max is not None else table_type.max_size
        self.max = min(declared, max_elements)

    def grow(self, delta: int, value: object) -> int:
        """``table.grow``: the old size, or -1 of the table's address type when it cannot grow."""
        old = len(self.elements)
        if not 0 <= delta <= self.max - old:
            return 0xFFFFFFFFFFFFFFFF if self.type.is_64 else 0xFFFFFFFF
        self.elements.grow(delta, value)
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
