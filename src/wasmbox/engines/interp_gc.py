"""The portable engine's translation of GC's instructions (Wasm 3.0) to Python source.

Each instruction becomes a call or an expression on the objects of :mod:`wasmbox.runtime.gc_heap`
(their names are in every instance's namespace): ``RTT<i>`` is the canonical id of type ``i``,
which structs and arrays carry and casts compare.  Field and element storage is decided here, at
translation: packed values are masked where they are stored and extended where they are read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ir.subtyping import CLOSED_BASE
from ..ir.types import ArrayType, HeapType, PackedType, RefType, StorageType, StructType
from ..runtime.gc_heap import storage_name

if TYPE_CHECKING:
    from .interp import FunctionTranslator

_DEFAULT = {"i8": "0", "i16": "0", "i32": "0", "i64": "0", "f32": "0.0", "f64": "0.0", "v128": "V128_ZERO"}


storage_kind = storage_name


def _packed(storage: StorageType, expr: str) -> str:
    if isinstance(storage, PackedType):
        return f"(({expr}) & {(1 << storage.bits) - 1})"
    return expr


def _read(storage: StorageType, expr: str, name: str) -> str:
    if name.endswith("_s"):
        return f"extend_signed({storage_kind(storage)!r}, {expr})"
    return expr


def _heap(heap: HeapType | int) -> str:
    """A cast target's heap type as source: an abstract one by name, a defined one closed."""
    if isinstance(heap, HeapType):
        return f"HeapType.{heap.name}"
    return f"(RTT{heap} + {CLOSED_BASE})"


def translate_gc_instruction(t: FunctionTranslator, name: str, imm: tuple[Any, ...]) -> None:  # noqa: C901
    """Emit one GC instruction (validated) into ``t``'s function."""
    types = t.types
    if name in ("struct.new", "struct.new_default"):
        struct_type = types[imm[0]]
        assert isinstance(struct_type, StructType)
        if name == "struct.new":
            values = t.pop_n(len(struct_type.fields))
            fields = [_packed(f.storage, v.expr) for f, v in zip(struct_type.fields, values, strict=True)]
        else:
            fields = [_DEFAULT.get(storage_kind(f.storage), "None") for f in struct_type.fields]
        t.push_slot_value(f"Struct(RTT{imm[0]}, [{', '.join(fields)}])")
    elif name.startswith("struct.get"):
        struct_type = types[imm[0]]
        assert isinstance(struct_type, StructType)
        reference = t.pop()
        field = f"struct_of({reference.expr})[{imm[1]}]"
        t.push_slot_value(_read(struct_type.fields[imm[1]].storage, field, name))
    elif name == "struct.set":
        struct_type = types[imm[0]]
        assert isinstance(struct_type, StructType)
        reference, value = t.pop_n(2)
        stored = _packed(struct_type.fields[imm[1]].storage, value.expr)
        t.emit(f"struct_of({reference.expr})[{imm[1]}] = {stored}")
    elif name.startswith("array."):
        _array_instruction(t, name, imm)
    elif name == "ref.i31":
        t.push_slot_value(f"I31({t.pop().expr})")
    elif name in ("i31.get_s", "i31.get_u"):
        t.push_slot_value(f"i31_get({t.pop().expr}, {name == 'i31.get_s'})")
    elif name == "ref.eq":
        a, b = t.pop_n(2)
        t.push_slot_value(f"ref_eq({a.expr}, {b.expr})")
    elif name in ("ref.test", "ref.test_null", "ref.cast", "ref.cast_null"):
        target: RefType = imm[0]
        function = "ref_test" if name.startswith("ref.test") else "ref_cast"
        call = f"{function}({t.pop().expr}, {target.nullable}, {_heap(target.heap)})"
        t.push_slot_value(f"int({call})" if function == "ref_test" else call)
    elif name in ("br_on_cast", "br_on_cast_fail"):
        label, _, target = imm
        t.push_slot_value(t.pop().expr)
        reference = t.stack[-1]
        test = f"ref_test({reference.expr}, {target.nullable}, {_heap(target.heap)})"
        t.conditional_branch(test if name == "br_on_cast" else f"not {test}", label)
    elif name == "any.convert_extern":
        t.push_slot_value(f"any_convert_extern({t.pop().expr})")
    elif name == "extern.convert_any":
        t.push_slot_value(f"extern_convert_any({t.pop().expr})")
    else:  # pragma: no cover - every GC instruction is covered above
        raise AssertionError(name)


def _array_instruction(t: FunctionTranslator, name: str, imm: tuple[Any, ...]) -> None:
    if name == "array.len":
        t.push_slot_value(f"len(array_of({t.pop().expr}))")
        return
    if name == "array.copy":
        operands = t.pop_n(5)
        t.emit(f"array_copy({', '.join(e.expr for e in operands)})")
        return
    array_type = t.types[imm[0]]
    assert isinstance(array_type, ArrayType)
    storage = array_type.element.storage
    kind = storage_kind(storage)
    rtt = f"RTT{imm[0]}"
    if name == "array.new":
        value, length = t.pop_n(2)
        t.push_slot_value(f"array_new({rtt}, {_packed(storage, value.expr)}, {length.expr})")
    elif name == "array.new_default":
        t.push_slot_value(f"array_new({rtt}, {_DEFAULT.get(kind, 'None')}, {t.pop().expr})")
    elif name == "array.new_fixed":
        values = t.pop_n(imm[1])
        t.push_slot_value(f"Array({rtt}, [{', '.join(_packed(storage, v.expr) for v in values)}])")
    elif name == "array.new_data":
        offset, count = t.pop_n(2)
        t.push_slot_value(f"array_new_data({rtt}, {kind!r}, DATAS[{imm[1]}], {offset.expr}, {count.expr})")
    elif name == "array.new_elem":
        offset, count = t.pop_n(2)
        t.push_slot_value(f"array_new_elem({rtt}, ELEMS[{imm[1]}], {offset.expr}, {count.expr})")
    elif name.startswith("array.get"):
        reference, index = t.pop_n(2)
        t.push_slot_value(_read(storage, f"array_get({reference.expr}, {index.expr})", name))
    elif name == "array.set":
        reference, index, value = t.pop_n(3)
        t.emit(f"array_set({reference.expr}, {index.expr}, {_packed(storage, value.expr)})")
    elif name == "array.fill":
        reference, offset, value, count = t.pop_n(4)
        t.emit(f"array_fill({reference.expr}, {offset.expr}, {_packed(storage, value.expr)}, {count.expr})")
    elif name == "array.init_data":
        reference, index, offset, count = t.pop_n(4)
        arguments = f"{reference.expr}, {kind!r}, DATAS[{imm[1]}], {index.expr}, {offset.expr}, {count.expr}"
        t.emit(f"array_init_data({arguments})")
    elif name == "array.init_elem":
        reference, index, offset, count = t.pop_n(4)
        t.emit(f"array_init_elem({reference.expr}, ELEMS[{imm[1]}], {index.expr}, {offset.expr}, {count.expr})")
    else:  # pragma: no cover - every array instruction is covered above
        raise AssertionError(name)
