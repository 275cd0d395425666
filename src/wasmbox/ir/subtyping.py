"""Subtyping between value types: the spec's "matching" rules (Validation > Matching).

Every check of "may a value of type A be used where B is expected" goes through :func:`matches`:
the validator's operand stack, constant expressions, segments in tables, and linking an import to
an export.  GC will add its struct and array types and declared supertypes here and nowhere else.

The heap type lattice (an arrow reads "is a subtype of")::

    nofunc -> $functype -> func        noextern -> extern        noexn -> exn
    none -> i31 | struct | array ($struct, $array) -> eq -> any

A concrete heap type (a type index) is resolved in a list of defined types.  Two concrete types
match when their definitions are equivalent: the same structure, their own reference types
compared the same way.  Comparison is coinductive (a pair being compared is assumed equal), which
for a type that refers to itself is the spec's iso-recursive equivalence of one-type groups.
Linking compares types of two modules, hence the separate type lists of the two sides.
"""

from __future__ import annotations

from collections.abc import Sequence

from .types import FuncType, HeapType, RefType, ValType

# The top of each abstract hierarchy, and its bottom.
_TOP = {
    HeapType.FUNC: HeapType.FUNC,
    HeapType.NOFUNC: HeapType.FUNC,
    HeapType.EXTERN: HeapType.EXTERN,
    HeapType.NOEXTERN: HeapType.EXTERN,
    HeapType.EXN: HeapType.EXN,
    HeapType.NOEXN: HeapType.EXN,
    HeapType.ANY: HeapType.ANY,
    HeapType.EQ: HeapType.ANY,
    HeapType.I31: HeapType.ANY,
    HeapType.STRUCT: HeapType.ANY,
    HeapType.ARRAY: HeapType.ANY,
    HeapType.NONE: HeapType.ANY,
}
_BOTTOM = {HeapType.FUNC: HeapType.NOFUNC, HeapType.EXTERN: HeapType.NOEXTERN, HeapType.EXN: HeapType.NOEXN}
_BOTTOM[HeapType.ANY] = HeapType.NONE
# Abstract subtyping besides top and bottom: the GC hierarchy under ``eq``.
_ABSTRACT_SUPERS = {
    HeapType.EQ: frozenset((HeapType.ANY,)),
    HeapType.I31: frozenset((HeapType.EQ, HeapType.ANY)),
    HeapType.STRUCT: frozenset((HeapType.EQ, HeapType.ANY)),
    HeapType.ARRAY: frozenset((HeapType.EQ, HeapType.ANY)),
}


def top_heap(heap: HeapType | int) -> HeapType:
    """The top of the hierarchy ``heap`` belongs to (every defined type is a function type for now)."""
    return HeapType.FUNC if isinstance(heap, int) else _TOP[heap]


def bottom_heap(heap: HeapType | int) -> HeapType:
    """The bottom of the hierarchy ``heap`` belongs to (``ref.null``'s type in that hierarchy)."""
    return _BOTTOM[top_heap(heap)]


def is_function_reference(t: ValType) -> bool:
    """Whether ``t`` is a reference to functions (``funcref``, ``(ref $t)``...): values are function
    instances (or null)."""
    return isinstance(t, RefType) and top_heap(t.heap) is HeapType.FUNC


def is_extern_reference(t: ValType) -> bool:
    """Whether ``t`` is a reference in the ``extern`` hierarchy (host values)."""
    return isinstance(t, RefType) and top_heap(t.heap) is HeapType.EXTERN


def matches(
    actual: ValType, expected: ValType, types: Sequence[FuncType], expected_types: Sequence[FuncType] | None = None
) -> bool:
    """Whether ``actual`` is a subtype of ``expected``; type indices of ``actual`` resolve in
    ``types``, those of ``expected`` in ``expected_types`` (default: the same list)."""
    if actual is expected and expected_types is None:
        return True
    if not isinstance(actual, RefType) or not isinstance(expected, RefType):
        return actual is expected
    if actual.nullable and not expected.nullable:
        return False
    return heap_matches(actual.heap, expected.heap, types, types if expected_types is None else expected_types)


def heap_matches(
    actual: HeapType | int, expected: HeapType | int, types: Sequence[FuncType], expected_types: Sequence[FuncType]
) -> bool:
    """Whether heap type ``actual`` (indices into ``types``) is a subtype of ``expected`` (indices
    into ``expected_types``)."""
    if isinstance(actual, int):
        if isinstance(expected, int):
            return _equivalent(types[actual], expected_types[expected], types, expected_types, set())
        return expected is HeapType.FUNC
    if actual is expected:
        return True
    if isinstance(expected, int):
        return actual is HeapType.NOFUNC
    if actual is _BOTTOM[_TOP[actual]]:
        return _TOP[expected] is _TOP[actual]
    return expected in _ABSTRACT_SUPERS.get(actual, frozenset())


def _equivalent(
    a: FuncType,
    b: FuncType,
    types_a: Sequence[FuncType],
    types_b: Sequence[FuncType],
    assumed: set[tuple[int, int]],
) -> bool:
    if len(a.params) != len(b.params) or len(a.results) != len(b.results):
        return False
    for ta, tb in zip((*a.params, *a.results), (*b.params, *b.results), strict=True):
        if not _value_types_equivalent(ta, tb, types_a, types_b, assumed):
            return False
    return True


def _value_types_equivalent(
    a: ValType, b: ValType, types_a: Sequence[FuncType], types_b: Sequence[FuncType], assumed: set[tuple[int, int]]
) -> bool:
    if not isinstance(a, RefType) or not isinstance(b, RefType):
        return a is b
    if a.nullable != b.nullable:
        return False
    ha, hb = a.heap, b.heap
    if not isinstance(ha, int) or not isinstance(hb, int):
        return ha is hb
    if (ha, hb) in assumed or (ha == hb and types_a is types_b):
        return True
    assumed.add((ha, hb))
    return _equivalent(types_a[ha], types_b[hb], types_a, types_b, assumed)


# Closed types: where function types of different modules meet at run time (an indirect call's
# check, linking a function, native signature ids) they are compared by equality.  A type index
# means nothing outside its module, so each is replaced by a process-wide id of the (closed) type
# it names, at or above CLOSED_BASE (never a module's type index); a type naming itself gets
# CLOSED_SELF.  Equivalent types then close to equal FuncTypes.
CLOSED_BASE = 1 << 40
CLOSED_SELF = CLOSED_BASE - 1
_closed_ids: dict[FuncType, int] = {}


def closed_types(types: Sequence[FuncType]) -> list[FuncType]:
    """``types`` closed (see above); types without type indices stay the same objects."""
    if not any(isinstance(t, RefType) and isinstance(t.heap, int) for f in types for t in (*f.params, *f.results)):
        return list(types)
    closed: list[FuncType] = []
    for index, func_type in enumerate(types):

        def close(t: ValType, own: int = index) -> ValType:
            if not isinstance(t, RefType) or not isinstance(t.heap, int):
                return t
            if t.heap == own:
                return RefType(t.nullable, CLOSED_SELF)
            named = closed[t.heap]
            return RefType(t.nullable, CLOSED_BASE + _closed_ids.setdefault(named, len(_closed_ids)))

        closed.append(FuncType(tuple(map(close, func_type.params)), tuple(map(close, func_type.results))))
    return closed
