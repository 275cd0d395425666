"""The baseline interpreter's operations for GC's instructions (Wasm 3.0).

Each is a closure over the value list (``s``, operands on top), made once per instruction form
and instance like the other operations; they call :mod:`wasmbox.runtime.gc_heap`, so the
objects are those the portable engine makes (a struct made by one engine is read by the other
when tiering moves a function).  ``br_on_cast`` and ``br_on_cast_fail`` end a block: they are
terminators in ``blocks``; :func:`cast_test` gives them their test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...ir.subtyping import CLOSED_BASE
from ...ir.types import ArrayType, DefinedType, HeapType, RefType, StructType
from ...runtime import gc_heap
from ...runtime.gc_heap import default_value, extend_signed, pack, storage_name

Operation = Callable[[list[Any]], None]


def gc_effect(name: str, imm: tuple[Any, ...], types: Sequence[DefinedType]) -> int:
    """How many values the instruction leaves minus how many it takes."""
    if name == "struct.new":
        struct_type = types[imm[0]]
        assert isinstance(struct_type, StructType)
        return 1 - len(struct_type.fields)
    if name == "array.new_fixed":
        return 1 - int(imm[1])
    return _EFFECTS[name]


_EFFECTS: dict[str, int] = {
    "ref.eq": -1,
    "struct.new_default": 1,
    "struct.get": 0,
    "struct.get_s": 0,
    "struct.get_u": 0,
    "struct.set": -2,
    "array.new": -1,
    "array.new_default": 0,
    "array.new_data": -1,
    "array.new_elem": -1,
    "array.get": -1,
    "array.get_s": -1,
    "array.get_u": -1,
    "array.set": -3,
    "array.len": 0,
    "array.fill": -4,
    "array.copy": -5,
    "array.init_data": -4,
    "array.init_elem": -4,
    "ref.test": 0,
    "ref.test_null": 0,
    "ref.cast": 0,
    "ref.cast_null": 0,
    "any.convert_extern": 0,
    "extern.convert_any": 0,
    "ref.i31": 0,
    "i31.get_s": 0,
    "i31.get_u": 0,
}


def cast_heap(heap: HeapType | int, namespace: dict[str, Any]) -> HeapType | int:
    """A cast target's heap as ``gc_heap.ref_test`` takes it (a defined type closed)."""
    return heap if isinstance(heap, HeapType) else CLOSED_BASE + namespace[f"RTT{heap}"]


def cast_test(target: RefType, namespace: dict[str, Any]) -> Callable[[object], bool]:
    """Whether a value is of ``target`` (``br_on_cast``'s test)."""
    nullable, heap = target.nullable, cast_heap(target.heap, namespace)
    ref_test = gc_heap.ref_test
    return lambda value: ref_test(value, nullable, heap)


def gc_operation(  # noqa: C901 - one branch per instruction
    name: str, imm: tuple[Any, ...], types: Sequence[DefinedType], namespace: dict[str, Any]
) -> Operation:
    """The operation for one GC instruction (not br_on_cast*) of an instance."""
    if name.startswith("struct."):
        return _struct_operation(name, imm, types, namespace)
    if name.startswith("array."):
        return _array_operation(name, imm, types, namespace)
    if name == "ref.eq":
        ref_eq = gc_heap.ref_eq

        def op_ref_eq(s: list[Any]) -> None:
            b = s.pop()
            s[-1] = ref_eq(s[-1], b)

        return op_ref_eq
    if name in ("ref.test", "ref.test_null", "ref.cast", "ref.cast_null"):
        target: RefType = imm[0]
        nullable, heap = target.nullable, cast_heap(target.heap, namespace)
        if name.startswith("ref.test"):
            ref_test = gc_heap.ref_test
            return lambda s: s.__setitem__(-1, int(ref_test(s[-1], nullable, heap)))
        ref_cast = gc_heap.ref_cast
        return lambda s: s.__setitem__(-1, ref_cast(s[-1], nullable, heap))
    if name == "any.convert_extern":
        return lambda s: s.__setitem__(-1, gc_heap.any_convert_extern(s[-1]))
    if name == "extern.convert_any":
        return lambda s: s.__setitem__(-1, gc_heap.extern_convert_any(s[-1]))
    if name == "ref.i31":
        return lambda s: s.__setitem__(-1, gc_heap.I31(s[-1]))
    signed = name == "i31.get_s"
    return lambda s: s.__setitem__(-1, gc_heap.i31_get(s[-1], signed))


def _struct_operation(
    name: str, imm: tuple[Any, ...], types: Sequence[DefinedType], namespace: dict[str, Any]
) -> Operation:
    struct_type = types[imm[0]]
    assert isinstance(struct_type, StructType)
    kinds = [storage_name(f.storage) for f in struct_type.fields]
    type_id = namespace[f"RTT{imm[0]}"]
    struct_of = gc_heap.struct_of
    if name == "struct.new":
        count = len(kinds)

        def struct_new(s: list[Any]) -> None:
            values = [pack(kind, v) for kind, v in zip(kinds, s[len(s) - count :], strict=True)]
            del s[len(s) - count :]
            s.append(gc_heap.Struct(type_id, values))

        return struct_new
    if name == "struct.new_default":
        defaults = [default_value(kind) for kind in kinds]
        return lambda s: s.append(gc_heap.Struct(type_id, list(defaults)))
    field = imm[1]
    kind = kinds[field]
    if name == "struct.set":

        def struct_set(s: list[Any]) -> None:
            value = s.pop()
            struct_of(s.pop())[field] = pack(kind, value)

        return struct_set
    if name == "struct.get_s":
        return lambda s: s.__setitem__(-1, extend_signed(kind, struct_of(s[-1])[field]))
    return lambda s: s.__setitem__(-1, struct_of(s[-1])[field])


def _array_operation(  # noqa: C901 - one branch per instruction
    name: str, imm: tuple[Any, ...], types: Sequence[DefinedType], namespace: dict[str, Any]
) -> Operation:
    if name == "array.len":
        array_of = gc_heap.array_of
        return lambda s: s.__setitem__(-1, len(array_of(s[-1])))
    if name == "array.copy":

        def array_copy(s: list[Any]) -> None:
            count, source_offset, source, offset = s.pop(), s.pop(), s.pop(), s.pop()
            gc_heap.array_copy(s.pop(), offset, source, source_offset, count)

        return array_copy
    array_type = types[imm[0]]
    assert isinstance(array_type, ArrayType)
    kind = storage_name(array_type.element.storage)
    type_id = namespace[f"RTT{imm[0]}"]
    if name == "array.new":

        def array_new(s: list[Any]) -> None:
            length = s.pop()
            s[-1] = gc_heap.array_new(type_id, pack(kind, s[-1]), length)

        return array_new
    if name == "array.new_default":
        default = default_value(kind)
        return lambda s: s.__setitem__(-1, gc_heap.array_new(type_id, default, s[-1]))
    if name == "array.new_fixed":
        count = imm[1]

        def array_new_fixed(s: list[Any]) -> None:
            values = [pack(kind, v) for v in s[len(s) - count :]] if count else []
            del s[len(s) - count :]
            s.append(gc_heap.Array(type_id, values))

        return array_new_fixed
    if name in ("array.new_data", "array.init_data"):
        datas, segment = namespace["DATAS"], imm[1]
        if name == "array.new_data":

            def array_new_data(s: list[Any]) -> None:
                count = s.pop()
                s[-1] = gc_heap.array_new_data(type_id, kind, datas[segment], s[-1], count)

            return array_new_data

        def array_init_data(s: list[Any]) -> None:
            count, offset, index = s.pop(), s.pop(), s.pop()
            gc_heap.array_init_data(s.pop(), kind, datas[segment], index, offset, count)

        return array_init_data
    if name in ("array.new_elem", "array.init_elem"):
        elems, segment = namespace["ELEMS"], imm[1]
        if name == "array.new_elem":

            def array_new_elem(s: list[Any]) -> None:
                count = s.pop()
                s[-1] = gc_heap.array_new_elem(type_id, elems[segment], s[-1], count)

            return array_new_elem

        def array_init_elem(s: list[Any]) -> None:
            count, offset, index = s.pop(), s.pop(), s.pop()
            gc_heap.array_init_elem(s.pop(), elems[segment], index, offset, count)

        return array_init_elem
    if name == "array.set":

        def array_set(s: list[Any]) -> None:
            value, index = s.pop(), s.pop()
            gc_heap.array_set(s.pop(), index, pack(kind, value))

        return array_set
    if name == "array.fill":

        def array_fill(s: list[Any]) -> None:
            count, value, offset = s.pop(), s.pop(), s.pop()
            gc_heap.array_fill(s.pop(), offset, pack(kind, value), count)

        return array_fill
    signed = name == "array.get_s"

    def array_get(s: list[Any]) -> None:
        index = s.pop()
        value = gc_heap.array_get(s[-1], index)
        s[-1] = extend_signed(kind, value) if signed else value

    return array_get
