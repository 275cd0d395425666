"""Run-time operations on tables and memories that any engine performs the
same way: bounds-checked bulk copies, element and byte access, indirect-call
resolution.  Instantiation uses them too (an active segment is a
``table.init``/``memory.init`` followed by a drop).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import Trap
from ..ir.subtyping import closed_matches
from ..ir.types import FuncType
from .table_elements import PAGE_BITS, PAGE_MASK

OUT_OF_BOUNDS_MEMORY = "out of bounds memory access"
OUT_OF_BOUNDS_TABLE = "out of bounds table access"


def table_get(table: Any, index: int) -> object:
    elements = table.elements
    if index >= elements.length:
        raise Trap(OUT_OF_BOUNDS_TABLE)
    return elements.pages[index >> PAGE_BITS][index & PAGE_MASK]


def table_set(table: Any, index: int, value: object) -> None:
    if index >= table.elements.length:
        raise Trap(OUT_OF_BOUNDS_TABLE)
    table.elements[index] = value


def table_fill(table: Any, start: int, value: object, count: int) -> None:
    if start + count > table.elements.length:
        raise Trap(OUT_OF_BOUNDS_TABLE)
    table.elements.fill(start, count, value)


def table_copy(dst: Any, src: Any, dst_start: int, src_start: int, count: int) -> None:
    if dst_start + count > dst.elements.length or src_start + count > src.elements.length:
        raise Trap(OUT_OF_BOUNDS_TABLE)
    dst.elements.write(dst_start, src.elements.read(src_start, count))


def table_init(table: Any, elems: list[Any], segment: int, dst: int, src: int, count: int) -> None:
    values = elems[segment]
    if src + count > len(values) or dst + count > table.elements.length:
        raise Trap(OUT_OF_BOUNDS_TABLE)
    table.elements.write(dst, values[src : src + count])


def memory_copy(memory: Any, dst: int, src: int, count: int) -> None:
    size = memory.size
    if dst + count > size or src + count > size:
        raise Trap(OUT_OF_BOUNDS_MEMORY)
    view = memory.view
    view[dst : dst + count] = bytes(view[src : src + count])


def memory_copy_between(destination: Any, source: Any, dst: int, src: int, count: int) -> None:
    """``memory.copy`` between two memory indices (multiple memories): both ranges are checked
    before any byte moves.  Two imports may name the same memory, whose ranges may overlap."""
    if destination is source:
        memory_copy(destination, dst, src, count)
        return
    if dst + count > destination.size or src + count > source.size:
        raise Trap(OUT_OF_BOUNDS_MEMORY)
    destination.view[dst : dst + count] = source.view[src : src + count]


def memory_fill(memory: Any, dst: int, value: int, count: int) -> None:
    if dst + count > memory.size:
        raise Trap(OUT_OF_BOUNDS_MEMORY)
    memory.view[dst : dst + count] = bytes((value & 0xFF,)) * count


def memory_init(memory: Any, datas: list[bytes], segment: int, dst: int, src: int, count: int) -> None:
    data = datas[segment]
    if src + count > len(data) or dst + count > memory.size:
        raise Trap(OUT_OF_BOUNDS_MEMORY)
    memory.view[dst : dst + count] = data[src : src + count]


def load_bytes(memory: Any, address: int, size: int) -> bytes:
    if address + size > memory.size:
        raise Trap(OUT_OF_BOUNDS_MEMORY)
    return bytes(memory.view[address : address + size])


def store_bytes(memory: Any, address: int, data: bytes) -> None:
    if address + len(data) > memory.size:
        raise Trap(OUT_OF_BOUNDS_MEMORY)
    memory.view[address : address + len(data)] = data


def call_ref(function: Any) -> Callable[..., Any]:
    """``call_ref`` / ``return_call_ref``: the code of a function reference (validation checked its
    type), or the trap of a null one."""
    if function is None:
        raise Trap("null function reference")
    return function.code  # type: ignore[no-any-return]


def ref_as_non_null(value: object) -> object:
    """``ref.as_non_null``: the reference, or the trap of a null one."""
    if value is None:
        raise Trap("null reference")
    return value


def call_indirect(table: Any, index: int, expected: FuncType) -> Callable[..., Any]:
    elements = table.elements
    if index >= elements.length:
        raise Trap("undefined element", f"undefined element {index}")
    function = elements.pages[index >> PAGE_BITS][index & PAGE_MASK]
    if function is None:
        raise Trap("uninitialized element", f"uninitialized element {index}")
    if function.type is not expected and function.type != expected and not closed_matches(function.type, expected):
        raise Trap("indirect call type mismatch")  # GC: a declared subtype of the expected type may be called
    return function.code  # type: ignore[no-any-return]
