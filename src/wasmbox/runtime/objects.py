"""Tables, globals and function instances."""

from __future__ import annotations

from collections.abc import Callable
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


class TableInstance:
    __slots__ = ("type", "elements", "max")

    def __init__(self, table_type: TableType, initial: object = None, max_elements: int = MAX_TABLE_SIZE) -> None:
        self.type = table_type
        self.elements: list[object] = [initial] * table_type.limits.min
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
