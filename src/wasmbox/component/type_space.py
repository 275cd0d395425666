"""A component's type index space at run time, and its value types in the form the canonical ABI reads.

The IR names types by index into the index space of the component (or instance/component type) that defines
them. Instantiation fills that space as it goes — definitions, imported resources, aliases, exports — and
``value_type`` turns an IR value type into the resolved model of ``wasmbox.wit.model`` (the same model WIT text
resolves to), from which the canonical ABI lays values out. Resource types become the ``RuntimeResource``
each instantiation made, so handles are checked against the right type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import LinkError
from ..wit import model
from ..wit.model import PRIMITIVES, Field, TypeDef
from . import types as t
from .resources import RuntimeResource


class ComponentUnsupported(LinkError):
    """A component uses something wasmbox does not run yet (async built-ins, value imports, ...)."""


@dataclass
class FuncSignature:
    """A component function's type, resolved: labelled parameters and at most one result."""

    params: list[tuple[str, model.Type]]
    result: model.Type | None
    is_async: bool = False


@dataclass
class Definition:
    """A type as written (``deftype``), with the space its indices refer to."""

    type: t.DefType
    space: TypeSpace


TypeEntry = Definition | RuntimeResource | model.TypeDef | model.Primitive | FuncSignature


@dataclass(eq=False)
class TypeSpace:
    """The type index space of one component, component type or instance type; ``parent`` for outer aliases."""

    parent: TypeSpace | None = None
    entries: list[TypeEntry] = field(default_factory=list)
    _resolved: dict[int, model.Type | FuncSignature] = field(default_factory=dict)

    def add(self, entry: TypeEntry) -> None:
        self.entries.append(entry)

    def entry(self, index: int) -> TypeEntry:
        if not 0 <= index < len(self.entries):
            raise LinkError(f"unknown type {index}")
        return self.entries[index]

    def outer(self, count: int) -> TypeSpace:
        space = self
        for _ in range(count):
            if space.parent is None:
                raise LinkError(f"outer alias {count} levels out of {count}")
            space = space.parent
        return space

    def resource(self, index: int) -> RuntimeResource:
        entry = self.entry(index)
        if not isinstance(entry, RuntimeResource):
            raise LinkError(f"type {index} is not a resource type")
        return entry

    def value_type(self, valtype: t.ValType) -> model.Type:
        if isinstance(valtype, t.PrimType):
            if valtype not in _PRIMITIVE:
                raise ComponentUnsupported(f"values of type {valtype.text} are not supported yet")
            return _PRIMITIVE[valtype]
        entry = self.entry(valtype)
        if isinstance(entry, model.TypeDef | model.Primitive):
            return entry
        if isinstance(entry, RuntimeResource):
            return entry.typedef
        if isinstance(entry, FuncSignature):
            raise LinkError(f"type {valtype} is a function type, not a value type")
        key = id(entry)
        if key not in self._resolved:
            self._resolved[key] = entry.space.define(entry.type)
        resolved = self._resolved[key]
        assert not isinstance(resolved, FuncSignature)
        return resolved

    def func_type(self, index: int) -> FuncSignature:
        entry = self.entry(index)
        if isinstance(entry, FuncSignature):
            return entry
        if isinstance(entry, Definition) and isinstance(entry.type, t.FuncType):
            key = id(entry)
            if key not in self._resolved:
                self._resolved[key] = entry.space.signature(entry.type)
            resolved = self._resolved[key]
            assert isinstance(resolved, FuncSignature)
            return resolved
        raise LinkError(f"type {index} is not a function type")

    def signature(self, func: t.FuncType) -> FuncSignature:
        params = [(name, self.value_type(valtype)) for name, valtype in func.params]
        result = None if func.result is None else self.value_type(func.result)
        return FuncSignature(params, result, func.is_async)

    def define(self, deftype: t.DefType) -> model.Type:
        """The model of a value type definition (indices read in this space)."""
        v = self.value_type
        if isinstance(deftype, t.PrimType):
            return v(deftype)
        if isinstance(deftype, t.Record):
            kind: model.TypeKind = model.Record([Field(name, v(field_type)) for name, field_type in deftype.fields])
        elif isinstance(deftype, t.Variant):
            kind = model.Variant([Field(name, None if case is None else v(case)) for name, case in deftype.cases])
        elif isinstance(deftype, t.List):
            kind = model.ListOf(v(deftype.element), deftype.length)
        elif isinstance(deftype, t.Tuple):
            kind = model.TupleOf([v(item) for item in deftype.types])
        elif isinstance(deftype, t.Flags):
            kind = model.Flags(list(deftype.labels))
        elif isinstance(deftype, t.Enum):
            kind = model.Enum(list(deftype.labels))
        elif isinstance(deftype, t.Option):
            kind = model.OptionOf(v(deftype.type))
        elif isinstance(deftype, t.Result):
            kind = model.ResultOf(
                None if deftype.ok is None else v(deftype.ok), None if deftype.error is None else v(deftype.error)
            )
        elif isinstance(deftype, t.Own | t.Borrow):
            kind = model.Handle(self.resource(deftype.resource).typedef, isinstance(deftype, t.Borrow))
        elif isinstance(deftype, t.Map):
            kind = model.MapOf(v(deftype.key), v(deftype.value))
        elif isinstance(deftype, t.Stream):
            kind = model.StreamOf(None if deftype.element is None else v(deftype.element))
        elif isinstance(deftype, t.Future):
            kind = model.FutureOf(None if deftype.element is None else v(deftype.element))
        else:
            raise LinkError(f"a {type(deftype).__name__} is not a value type")
        return TypeDef(kind)


_PRIMITIVE = {prim: PRIMITIVES[prim.text] for prim in t.PrimType if prim.text in PRIMITIVES}
# error-context is a component value type with no WIT primitive of its own in ``PRIMITIVES``; the canonical ABI
# shapes it as a handle (CanonicalABI.md, "lift_error_context").
ERROR_CONTEXT = model.Primitive("error-context")
_PRIMITIVE[t.PrimType.ERROR_CONTEXT] = ERROR_CONTEXT
