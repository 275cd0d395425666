"""Subtyping between value types: the spec's "matching" rules (Validation > Matching), and the
canonicalization of defined types (Validation > Types > Recursive types, "closed" types).

Every check of "may a value of type A be used where B is expected" goes through :func:`matches`:
the validator's operand stack, constant expressions, segments in tables, linking an import to an
export, and the engines' run-time casts.

The heap type lattice (an arrow reads "is a subtype of")::

    nofunc -> $functype -> func        noextern -> extern        noexn -> exn
    none -> i31 | struct | array ($struct, $array) -> eq -> any

Concrete heap types (type indices) are compared through *canonical ids*: the spec's
iso-recursive equivalence says two defined types are equal when their recursion groups are
equal after replacing references inside the group by their position in it and references to
earlier groups by those groups' identities, and they sit at the same position.  The registry
below gives each distinct group such a key, once per process, so type equality across modules
(linking, indirect calls, casts) is comparing two integers; declared supertypes (``sub``) are
recorded per canonical id, and a subtype check walks that chain.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from .. import records
from .types import ArrayType, DefinedType, FieldType, FuncType, HeapType, RefType, StructType, ValType

TypeList = Sequence[DefinedType]

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

# Heap types above every module's type indices: CLOSED_BASE + a canonical id names a canonical
# type anywhere (closed types, run-time types); RECURSIVE_BASE + j is the j-th type of the group
# being canonicalized (only inside the registry's keys).
CLOSED_BASE = 1 << 40
RECURSIVE_BASE = 1 << 39


def composite_kind(t: DefinedType) -> HeapType:
    """The abstract heap type just above a defined type: ``func``, ``struct`` or ``array``."""
    if isinstance(t, StructType):
        return HeapType.STRUCT
    if isinstance(t, ArrayType):
        return HeapType.ARRAY
    return HeapType.FUNC


def _defined(heap: int, types: TypeList | None) -> DefinedType | None:
    if heap >= CLOSED_BASE:
        return _registry.closed[heap - CLOSED_BASE]
    if types is not None and heap < len(types):
        return types[heap]
    return None


def kind_heap(heap: HeapType | int, types: TypeList | None = None) -> HeapType:
    """``heap`` itself if abstract, else the kind of the defined type it names (func when unknown)."""
    if isinstance(heap, HeapType):
        return heap
    defined = _defined(heap, types)
    return HeapType.FUNC if defined is None else composite_kind(defined)


def top_heap(heap: HeapType | int, types: TypeList | None = None) -> HeapType:
    """The top of the hierarchy ``heap`` belongs to (a type index resolves in ``types``)."""
    return _TOP[kind_heap(heap, types)]


def bottom_heap(heap: HeapType | int, types: TypeList | None = None) -> HeapType:
    """The bottom of the hierarchy ``heap`` belongs to (``ref.null``'s type in that hierarchy)."""
    return _BOTTOM[top_heap(heap, types)]


def is_function_reference(t: ValType, types: TypeList | None = None) -> bool:
    """Whether ``t`` is a reference to functions (``funcref``, ``(ref $t)``...): values are function
    instances (or null)."""
    return isinstance(t, RefType) and top_heap(t.heap, types) is HeapType.FUNC


def is_extern_reference(t: ValType) -> bool:
    """Whether ``t`` is a reference in the ``extern`` hierarchy (host values)."""
    return isinstance(t, RefType) and top_heap(t.heap) is HeapType.EXTERN


def matches(actual: ValType, expected: ValType, types: TypeList, expected_types: TypeList | None = None) -> bool:
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
    actual: HeapType | int, expected: HeapType | int, types: TypeList, expected_types: TypeList | None = None
) -> bool:
    """Whether heap type ``actual`` (indices into ``types``) is a subtype of ``expected`` (indices
    into ``expected_types``, default ``types``)."""
    if expected_types is None:
        expected_types = types
    if isinstance(actual, int):
        if isinstance(expected, int):
            if actual == expected and types is expected_types:
                return True
            return canonical_subtype(canonical_id(actual, types), canonical_id(expected, expected_types))
        return heap_matches(kind_heap(actual, types), expected, types)
    if actual is expected:
        return True
    if isinstance(expected, int):
        return actual is _BOTTOM[_TOP[kind_heap(expected, expected_types)]]
    if actual is _BOTTOM[_TOP[actual]]:
        return _TOP[expected] is _TOP[actual]
    return expected in _ABSTRACT_SUPERS.get(actual, frozenset())


def storage_matches(actual: FieldType, expected: FieldType, types: TypeList) -> bool:
    """Field subtyping: an immutable field may be of a subtype, a mutable one must be equal."""
    if actual.mutable != expected.mutable:
        return False
    a, e = actual.storage, expected.storage
    if not isinstance(a, ValType) or not isinstance(e, ValType):
        return a is e
    if actual.mutable:
        return matches(a, e, types) and matches(e, a, types)
    return matches(a, e, types)


def composite_matches(sub: DefinedType, sup: DefinedType, types: TypeList) -> bool:
    """Whether ``sub``'s structure may declare ``sup`` as its supertype (spec: function types
    contravariant in parameters and covariant in results; structs by prefix, field by field;
    arrays element-wise)."""
    if isinstance(sub, FuncType) and isinstance(sup, FuncType):
        if len(sub.params) != len(sup.params) or len(sub.results) != len(sup.results):
            return False
        return all(matches(e, a, types) for a, e in zip(sub.params, sup.params, strict=True)) and all(
            matches(a, e, types) for a, e in zip(sub.results, sup.results, strict=True)
        )
    if isinstance(sub, StructType) and isinstance(sup, StructType):
        if len(sub.fields) < len(sup.fields):
            return False
        return all(storage_matches(a, e, types) for a, e in zip(sub.fields, sup.fields, strict=False))
    if isinstance(sub, ArrayType) and isinstance(sup, ArrayType):
        return storage_matches(sub.element, sup.element, types)
    return False


# --- canonicalization -------------------------------------------------------------------------


def map_references(t: DefinedType, rename: Callable[[int], int]) -> DefinedType:
    """``t`` with every type index in it (reference types, supertypes) replaced by ``rename(index)``."""

    def value(v: ValType) -> ValType:
        if isinstance(v, RefType) and isinstance(v.heap, int):
            return RefType(v.nullable, rename(v.heap))
        return v

    def field_type(f: FieldType) -> FieldType:
        storage = f.storage
        return FieldType(value(storage), f.mutable) if isinstance(storage, ValType) else f

    supertypes = tuple(map(rename, t.supertypes))
    if isinstance(t, FuncType):
        return records.replace(
            t, params=tuple(map(value, t.params)), results=tuple(map(value, t.results)), supertypes=supertypes
        )
    if isinstance(t, StructType):
        return records.replace(t, fields=tuple(map(field_type, t.fields)), supertypes=supertypes)
    return records.replace(t, element=field_type(t.element), supertypes=supertypes)


def _references(t: DefinedType) -> bool:
    """Whether ``t`` names another type (or is declared with ``sub``/in a ``rec`` group)."""
    if t.supertypes or not t.final or t.rec is not None:
        return True
    if isinstance(t, FuncType):
        values: tuple[object, ...] = (*t.params, *t.results)
    elif isinstance(t, StructType):
        values = tuple(f.storage for f in t.fields)
    else:
        values = (t.element.storage,)
    return any(isinstance(v, RefType) and isinstance(v.heap, int) for v in values)


def recursion_groups(types: TypeList) -> list[range]:
    """The recursion groups of a type list, in order (a type outside ``rec`` is a group alone)."""
    groups: list[range] = []
    index = 0
    while index < len(types):
        rec = types[index].rec
        size = rec[1] if rec is not None and rec[0] == index and rec[1] > 0 else 1
        groups.append(range(index, min(index + size, len(types))))
        index += size
    return groups


class _Registry:
    """The process-wide canonical types: ``closed[id]`` is the type with every index replaced by
    CLOSED_BASE + a canonical id (its ``canonical`` set, unless it names no type, when it is the
    plain type itself so that types built by the host compare equal to it); ``supertype[id]`` its
    declared supertype's id; ``depth[id]`` the length of its supertype chain."""

    def __init__(self) -> None:
        self.groups: dict[tuple[DefinedType, ...], int] = {}
        self.closed: list[DefinedType] = []
        self.supertype: list[int | None] = []
        self.depth: list[int] = []
        self.by_list: OrderedDict[int, tuple[TypeList, int, list[int]]] = OrderedDict()

    def group(self, types: TypeList, members: range, ids: list[int]) -> list[int]:
        first, end = members.start, members.stop

        def relative(index: int) -> int:
            if first <= index < end:
                return RECURSIVE_BASE + index - first
            return CLOSED_BASE + ids[index] if index < first else index  # a forward index is invalid

        key = tuple(
            records.replace(map_references(types[i], relative), rec=None, written_sub=False, canonical=None)
            for i in members
        )
        start = self.groups.get(key)
        if start is None:
            start = self.groups[key] = len(self.closed)

            def closing(index: int) -> int:
                return CLOSED_BASE + start + index - RECURSIVE_BASE if RECURSIVE_BASE <= index < CLOSED_BASE else index

            for position, t in enumerate(key):
                plain = len(key) == 1 and not _references(t)
                closed = t if plain else records.replace(map_references(t, closing), canonical=start + position)
                self.closed.append(closed)
                supers = closed.supertypes
                parent = supers[0] - CLOSED_BASE if supers and supers[0] >= CLOSED_BASE else None
                self.supertype.append(parent)
                self.depth.append(0 if parent is None else self.depth[parent] + 1)
        return list(range(start, start + len(key)))

    def ids(self, types: TypeList) -> list[int]:
        cached = self.by_list.get(id(types))
        if cached is not None and cached[0] is types and cached[1] == len(types):
            self.by_list.move_to_end(id(types))
            return cached[2]
        ids: list[int] = []
        for members in recursion_groups(types):
            ids.extend(self.group(types, members, ids))
        self.by_list[id(types)] = (types, len(types), ids)  # holds the list: its id stays its own
        if len(self.by_list) > 64:
            self.by_list.popitem(last=False)
        return ids

    def id_of_closed(self, t: DefinedType) -> int:
        if t.canonical is not None:
            return t.canonical
        return self.group((t,), range(1), [])[0]


_registry = _Registry()


def canonical_id(heap: int, types: TypeList) -> int:
    """The canonical id of the type ``heap`` names: an index into ``types``, or a closed heap."""
    if heap >= CLOSED_BASE:
        return heap - CLOSED_BASE
    return _registry.ids(types)[heap]


def canonical_subtype(sub: int, sup: int) -> bool:
    """Whether canonical type ``sub`` is ``sup`` or declares it as a (transitive) supertype."""
    depth = _registry.depth
    if depth[sub] < depth[sup]:
        return False
    while depth[sub] > depth[sup]:
        parent = _registry.supertype[sub]
        assert parent is not None
        sub = parent
    return sub == sup


def closed_types(types: TypeList) -> list[DefinedType]:
    """``types`` closed: each type index replaced by CLOSED_BASE + the canonical id of the type it
    names, so closed types of different modules are equal exactly when the types are (see
    :class:`_Registry`); a type naming no other type stays the same (equal) value."""
    if not any(_references(t) for t in types):
        return list(types)
    closed = _registry.closed
    return [closed[i] for i in _registry.ids(types)]


def closed_id(t: DefinedType) -> int:
    """The canonical id of a closed type (one of :func:`closed_types`' results, or a plain type
    made by the host)."""
    return _registry.id_of_closed(t)


def closed_matches(actual: DefinedType, expected: DefinedType) -> bool:
    """Whether closed type ``actual`` is ``expected`` or a declared subtype of it (a function of
    type ``actual`` may be called through ``expected``: an indirect call's run-time check)."""
    if actual is expected or actual == expected:
        return True
    return canonical_subtype(closed_id(actual), closed_id(expected))
