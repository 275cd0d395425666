"""Validation of GC's instructions (Wasm 3.0, spec "Validation > Instructions > Aggregate
Reference Instructions" and "Reference Instructions").

The main algorithm (:mod:`wasmbox.validate`) keeps the operand and control stacks; it hands every
instruction of the ``gc`` feature to :func:`check_gc_instruction` with the few stack operations
the rules need (:class:`Operands`).  Each rule reads the struct or array type its immediate names
from the type section, so none of them has a fixed signature in the instruction table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NoReturn

from .ir.instructions import Instruction
from .ir.subtyping import matches, top_heap
from .ir.types import (
    I32,
    ArrayType,
    DefinedType,
    FieldType,
    HeapType,
    PackedType,
    RefType,
    StructType,
    ValType,
    unpacked,
)
from .records import record

EQREF = RefType(True, HeapType.EQ)
ARRAYREF = RefType(True, HeapType.ARRAY)
I31REF = RefType(True, HeapType.I31)


@record
class Operands:
    """What a rule may do to the validator's state: pop (checking a type), pop any reference, push,
    read a label's types, end the block's reachable part, and fail with a message."""

    pop: Callable[[ValType | None], ValType | None]
    pop_reference: Callable[[], RefType | None]
    push: Callable[[ValType | None], None]
    label_types: Callable[[int], tuple[ValType, ...]]
    fail: Callable[[str], NoReturn]


@record
class GcContext:
    """The parts of the module context GC's rules read."""

    types: Sequence[DefinedType]
    data_count: int
    elem_types: Sequence[ValType]


def check_gc_instruction(c: GcContext, instr: Instruction, s: Operands) -> None:
    """Check one GC instruction against the operand stack (raises through ``s.fail``)."""
    name = instr.op.name
    imm = instr.imm
    rule = _RULES.get(name)
    if rule is None:  # pragma: no cover - every GC opcode has a rule
        s.fail(f"no validation rule for {name}")
    rule(c, imm, s)


def _struct(c: GcContext, index: int, s: Operands) -> StructType:
    t = _defined(c, index, s)
    if not isinstance(t, StructType):
        s.fail(f"type mismatch: type {index} is not a struct type")
    return t


def _array(c: GcContext, index: int, s: Operands) -> ArrayType:
    t = _defined(c, index, s)
    if not isinstance(t, ArrayType):
        s.fail(f"type mismatch: type {index} is not an array type")
    return t


def _defined(c: GcContext, index: int, s: Operands) -> DefinedType:
    if index >= len(c.types):
        s.fail(f"unknown type {index}")
    return c.types[index]


def _field(t: StructType, index: int, s: Operands) -> FieldType:
    if index >= len(t.fields):
        s.fail(f"unknown field {index}")
    return t.fields[index]


def _read_type(f: FieldType, name: str, s: Operands) -> ValType:
    """The type ``get``, ``get_s`` or ``get_u`` reads: packed fields need a sign choice, others none."""
    packed = isinstance(f.storage, PackedType)
    if packed != (name.endswith("_s") or name.endswith("_u")):
        s.fail(f"type mismatch: {name} of a {'packed' if packed else 'unpacked'} field")
    return unpacked(f.storage)


def _mutable(f: FieldType, name: str, s: Operands) -> None:
    if not f.mutable:
        s.fail(f"immutable field: {name}")


def _defaultable(f: FieldType, name: str, s: Operands) -> None:
    if not unpacked(f.storage).defaultable:
        s.fail(f"type mismatch: {name} of a field without a default value")


def _check_data(c: GcContext, t: ArrayType, data: int, name: str, s: Operands) -> None:
    storage = t.element.storage
    if isinstance(storage, RefType):
        s.fail(f"type mismatch: {name} of an array of references")
    if data >= c.data_count:
        s.fail(f"unknown data segment {data}")


def _check_elem(c: GcContext, t: ArrayType, elem: int, name: str, s: Operands) -> None:
    if elem >= len(c.elem_types):
        s.fail(f"unknown elem segment {elem}")
    storage = t.element.storage
    if not isinstance(storage, RefType) or not matches(c.elem_types[elem], storage, c.types):
        s.fail(f"type mismatch: {name} of elem segment {elem} into an array of {storage.text}")


def _ref_eq(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    s.pop(EQREF)
    s.pop(EQREF)
    s.push(I32)


def _struct_new(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    t = _struct(c, imm[0], s)
    for f in reversed(t.fields):
        s.pop(unpacked(f.storage))
    s.push(RefType(False, imm[0]))


def _struct_new_default(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    t = _struct(c, imm[0], s)
    for f in t.fields:
        _defaultable(f, "struct.new_default", s)
    s.push(RefType(False, imm[0]))


def _struct_get(c: GcContext, imm: tuple[int, ...], s: Operands, name: str) -> None:
    f = _field(_struct(c, imm[0], s), imm[1], s)
    result = _read_type(f, name, s)
    s.pop(RefType(True, imm[0]))
    s.push(result)


def _struct_set(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    f = _field(_struct(c, imm[0], s), imm[1], s)
    _mutable(f, "struct.set", s)
    s.pop(unpacked(f.storage))
    s.pop(RefType(True, imm[0]))


def _array_new(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    t = _array(c, imm[0], s)
    s.pop(I32)
    s.pop(unpacked(t.element.storage))
    s.push(RefType(False, imm[0]))


def _array_new_default(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    t = _array(c, imm[0], s)
    _defaultable(t.element, "array.new_default", s)
    s.pop(I32)
    s.push(RefType(False, imm[0]))


def _array_new_fixed(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    t = _array(c, imm[0], s)
    element = unpacked(t.element.storage)
    for _ in range(imm[1]):
        s.pop(element)
    s.push(RefType(False, imm[0]))


def _array_new_data(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    _check_data(c, _array(c, imm[0], s), imm[1], "array.new_data", s)
    s.pop(I32)
    s.pop(I32)
    s.push(RefType(False, imm[0]))


def _array_new_elem(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    _check_elem(c, _array(c, imm[0], s), imm[1], "array.new_elem", s)
    s.pop(I32)
    s.pop(I32)
    s.push(RefType(False, imm[0]))


def _array_get(c: GcContext, imm: tuple[int, ...], s: Operands, name: str) -> None:
    result = _read_type(_array(c, imm[0], s).element, name, s)
    s.pop(I32)
    s.pop(RefType(True, imm[0]))
    s.push(result)


def _array_set(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    t = _array(c, imm[0], s)
    _mutable(t.element, "array.set", s)
    s.pop(unpacked(t.element.storage))
    s.pop(I32)
    s.pop(RefType(True, imm[0]))


def _array_len(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    s.pop(ARRAYREF)
    s.push(I32)


def _array_fill(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    t = _array(c, imm[0], s)
    _mutable(t.element, "array.fill", s)
    s.pop(I32)
    s.pop(unpacked(t.element.storage))
    s.pop(I32)
    s.pop(RefType(True, imm[0]))


def _array_copy(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    destination, source = _array(c, imm[0], s), _array(c, imm[1], s)
    _mutable(destination.element, "array.copy", s)
    to, of = destination.element.storage, source.element.storage
    if isinstance(to, PackedType) or isinstance(of, PackedType):
        fits = to is of
    else:
        fits = matches(of, to, c.types)
    if not fits:
        s.fail(f"type mismatch: array.copy of {of.text} elements into {to.text} elements")
    for t in (I32, I32, RefType(True, imm[1]), I32, RefType(True, imm[0])):
        s.pop(t)


def _array_init_data(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    t = _array(c, imm[0], s)
    _mutable(t.element, "array.init_data", s)
    _check_data(c, t, imm[1], "array.init_data", s)
    for operand in (I32, I32, I32, RefType(True, imm[0])):
        s.pop(operand)


def _array_init_elem(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    t = _array(c, imm[0], s)
    _mutable(t.element, "array.init_elem", s)
    _check_elem(c, t, imm[1], "array.init_elem", s)
    for operand in (I32, I32, I32, RefType(True, imm[0])):
        s.pop(operand)


def _cast_target(c: GcContext, target: RefType, s: Operands) -> RefType:
    """A cast's target type, checked to exist; the operand may be any reference of its hierarchy."""
    if isinstance(target.heap, int):
        _defined(c, target.heap, s)
    return RefType(True, top_heap(target.heap, c.types))


def _ref_test(c: GcContext, imm: tuple[RefType, ...], s: Operands) -> None:
    s.pop(_cast_target(c, imm[0], s))
    s.push(I32)


def _ref_cast(c: GcContext, imm: tuple[RefType, ...], s: Operands) -> None:
    s.pop(_cast_target(c, imm[0], s))
    s.push(imm[0])


def _without(source: RefType, target: RefType) -> RefType:
    """``source \\ target`` (the spec's type difference): what remains when the cast fails."""
    return source.as_nullable(source.nullable and not target.nullable)


def _br_on_cast(c: GcContext, imm: tuple[object, ...], s: Operands, fail_branch: bool) -> None:
    label, source, target = imm
    assert isinstance(label, int) and isinstance(source, RefType) and isinstance(target, RefType)
    for t in (source, target):
        if isinstance(t.heap, int):
            _defined(c, t.heap, s)
    if not matches(target, source, c.types):
        s.fail(f"type mismatch: br_on_cast to {target.text}, not a subtype of {source.text}")
    label_types = s.label_types(label)
    if not label_types or not isinstance(label_types[-1], RefType):
        s.fail(f"type mismatch: br_on_cast to label {label} without a reference")
    branched, remains = (_without(source, target), target) if fail_branch else (target, _without(source, target))
    if not matches(branched, label_types[-1], c.types):
        s.fail(f"type mismatch: br_on_cast carries {branched.text} to a label of {label_types[-1].text}")
    s.pop(source)
    for carried in reversed(label_types[:-1]):
        s.pop(carried)
    for carried in label_types[:-1]:
        s.push(carried)
    s.push(remains)


def _convert(c: GcContext, imm: tuple[int, ...], s: Operands, source: HeapType, result: HeapType) -> None:
    operand = s.pop(RefType(True, source))
    nullable = isinstance(operand, RefType) and operand.nullable
    s.push(RefType(nullable, result))


def _ref_i31(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    s.pop(I32)
    s.push(RefType(False, HeapType.I31))


def _i31_get(c: GcContext, imm: tuple[int, ...], s: Operands) -> None:
    s.pop(I31REF)
    s.push(I32)


_Rule = Callable[[GcContext, tuple, Operands], None]  # type: ignore[type-arg]
_RULES: dict[str, _Rule] = {
    "ref.eq": _ref_eq,
    "struct.new": _struct_new,
    "struct.new_default": _struct_new_default,
    "struct.get": lambda c, imm, s: _struct_get(c, imm, s, "struct.get"),
    "struct.get_s": lambda c, imm, s: _struct_get(c, imm, s, "struct.get_s"),
    "struct.get_u": lambda c, imm, s: _struct_get(c, imm, s, "struct.get_u"),
    "struct.set": _struct_set,
    "array.new": _array_new,
    "array.new_default": _array_new_default,
    "array.new_fixed": _array_new_fixed,
    "array.new_data": _array_new_data,
    "array.new_elem": _array_new_elem,
    "array.get": lambda c, imm, s: _array_get(c, imm, s, "array.get"),
    "array.get_s": lambda c, imm, s: _array_get(c, imm, s, "array.get_s"),
    "array.get_u": lambda c, imm, s: _array_get(c, imm, s, "array.get_u"),
    "array.set": _array_set,
    "array.len": _array_len,
    "array.fill": _array_fill,
    "array.copy": _array_copy,
    "array.init_data": _array_init_data,
    "array.init_elem": _array_init_elem,
    "ref.test": _ref_test,
    "ref.test_null": _ref_test,
    "ref.cast": _ref_cast,
    "ref.cast_null": _ref_cast,
    "br_on_cast": lambda c, imm, s: _br_on_cast(c, imm, s, fail_branch=False),
    "br_on_cast_fail": lambda c, imm, s: _br_on_cast(c, imm, s, fail_branch=True),
    "any.convert_extern": lambda c, imm, s: _convert(c, imm, s, HeapType.EXTERN, HeapType.ANY),
    "extern.convert_any": lambda c, imm, s: _convert(c, imm, s, HeapType.ANY, HeapType.EXTERN),
    "ref.i31": _ref_i31,
    "i31.get_s": _i31_get,
    "i31.get_u": _i31_get,
}
