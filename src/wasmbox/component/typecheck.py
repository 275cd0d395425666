"""Component types as validation sees them, and the subtype check between them.

Validation resolves every type index once, when the definition is validated,
into a :class:`TypeNode` tree with no indices left; resources are
:class:`Resource` objects compared by identity.  Instantiating a component
substitutes the resources its imports declare with the ones supplied (and
gives each resource its exports define a fresh identity): :func:`substitute`.
:func:`check_extern` is the subtype relation used for instantiation arguments
and export ascriptions, with wasm-tools' messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ValidationError
from ..ir.types import FuncType as CoreFuncType
from ..ir.types import GlobalType, Limits, MemoryType, TableType
from .types import PrimType


class Resource:
    """A resource type's identity; ``local`` when this component defines it (``resource.new`` works)."""

    def __init__(self, name: str | None = None, local: bool = False, owner: object = None) -> None:
        self.name = name
        self.local = local
        self.owner = owner  # the component scope that defined it


@dataclass(eq=False)
class TypeNode:
    """A resolved type.  ``kind`` is a primitive's name or ``record``, ``variant``, ``list``, ``tuple``,
    ``flags``, ``enum``, ``option``, ``result``, ``own``, ``borrow``, ``stream``, ``future``, ``map``,
    ``func``, ``resource``, ``instance``, ``component``.  ``named`` says whether an ``import`` or an
    ``export`` introduced this very node (external visibility of types)."""

    kind: str
    labels: tuple[str, ...] = ()
    items: tuple[TypeNode | None, ...] = ()
    resource: Resource | None = None
    length: int | None = None
    is_async: bool = False
    exports: dict[str, Extern] = field(default_factory=dict)
    imports: dict[str, Extern] = field(default_factory=dict)
    abstract: tuple[Resource, ...] = ()  # component: resources its imports declare
    fresh: tuple[Resource, ...] = ()  # component: resources its exports define
    named: str | None = None
    origin: TypeNode | None = None  # the node this one renames
    is_definition: bool = False  # a primitive defined in a type section, rather than used in place

    def renamed(self, named: str) -> TypeNode:
        """The same type under a new name (what a type export or import introduces)."""
        node = TypeNode(
            self.kind,
            self.labels,
            self.items,
            self.resource,
            self.length,
            self.is_async,
            self.exports,
            self.imports,
            self.abstract,
            self.fresh,
            named,
        )
        node.origin = self
        node.is_definition = self.is_definition
        return node


PRIM_NODES = {p: TypeNode(p.text) for p in PrimType}
DEFINED_KINDS = frozenset(("record", "variant", "enum", "flags", "resource"))


@dataclass(eq=False)
class ModuleNode:
    """A core module type: imports (module, name, kind, type) and exports (name -> kind, type)."""

    imports: list[tuple[str, str, int, object]] = field(default_factory=list)
    exports: dict[str, tuple[int, object]] = field(default_factory=dict)


Extern = tuple[str, object]
"""(sort, type): a TypeNode for ``func``, ``type``, ``instance``, ``component``, ``value``; a ModuleNode for
``core module``."""

CORE_KIND_NAMES = ("func", "table", "memory", "global", "tag")


def resource_of(node: TypeNode, subst: dict[Resource, Resource]) -> Resource | None:
    if node.resource is None:
        return None
    resource = node.resource
    while resource in subst:
        resource = subst[resource]
    return resource


def substitute(node: TypeNode, subst: dict[Resource, Resource], memo: dict[int, TypeNode] | None = None) -> TypeNode:
    """``node`` with its resources replaced as ``subst`` says (a copy only where something changes);
    ``memo`` may map type nodes (by identity) to the nodes that replace them."""
    if not subst and not memo:
        return node
    memo = {} if memo is None else memo
    done = memo.get(id(node))
    if done is not None:
        return done
    resource = resource_of(node, subst)
    items = tuple(None if item is None else substitute(item, subst, memo) for item in node.items)
    exports = {name: _substitute_extern(e, subst, memo) for name, e in node.exports.items()}
    imports = {name: _substitute_extern(e, subst, memo) for name, e in node.imports.items()}
    abstract = tuple(_mapped(r, subst) for r in node.abstract)
    fresh = tuple(_mapped(r, subst) for r in node.fresh)
    changed = (
        resource is not node.resource
        or abstract != node.abstract
        or fresh != node.fresh
        or any(a is not b for a, b in zip(items, node.items, strict=True))
        or any(exports[n][1] is not node.exports[n][1] for n in exports)
        or any(imports[n][1] is not node.imports[n][1] for n in imports)
    )
    result = node
    if changed:
        result = TypeNode(
            node.kind,
            node.labels,
            items,
            resource,
            node.length,
            node.is_async,
            exports,
            imports,
            abstract,
            fresh,
            node.named,
        )
    memo[id(node)] = result
    return result


def _mapped(resource: Resource, subst: dict[Resource, Resource]) -> Resource:
    while resource in subst:
        resource = subst[resource]
    return resource


def _substitute_extern(extern: Extern, subst: dict[Resource, Resource], memo: dict[int, TypeNode]) -> Extern:
    sort, value = extern
    if isinstance(value, TypeNode):
        return sort, substitute(value, subst, memo)
    return extern


def contains_resource(node: TypeNode, seen: set[int] | None = None) -> bool:
    seen = set() if seen is None else seen
    if id(node) in seen:
        return False
    seen.add(id(node))
    if node.kind == "resource" or node.abstract or node.fresh:
        return True
    children = [item for item in node.items if item is not None]
    children += [e[1] for e in [*node.exports.values(), *node.imports.values()] if isinstance(e[1], TypeNode)]
    return any(contains_resource(child, seen) for child in children)


def _describe(node: TypeNode) -> str:
    return node.kind


def check_value(actual: TypeNode, expected: TypeNode, subst: dict[Resource, Resource]) -> None:
    """Value types match when structurally equal (resources by identity)."""
    if actual is expected:
        return
    a, e = actual.kind, expected.kind
    prims = {p.text for p in PrimType}
    if a in prims or e in prims:
        if a == e:
            return
        if a in prims and e in prims:
            raise ValidationError(f"expected primitive `{e}` found primitive `{a}`")
        if e in prims and expected.is_definition:
            raise ValidationError(f"expected primitive, found {a}")
        raise ValidationError(f"expected {e}, found {a}")
    if a != e:
        raise ValidationError(f"expected {e}, found {a}")
    if e in ("own", "borrow", "resource"):
        ra = resource_of(actual if e == "resource" else actual.items[0], subst)  # type: ignore[arg-type]
        re_ = resource_of(expected if e == "resource" else expected.items[0], subst)  # type: ignore[arg-type]
        if ra is not re_:
            raise ValidationError("resource types are not the same")
        return
    if e in ("record", "variant", "tuple"):
        noun = {"record": "fields", "variant": "cases", "tuple": "types"}[e]
        if len(actual.items) != len(expected.items):
            raise ValidationError(f"expected {len(expected.items)} {noun}, found {len(actual.items)}")
        for i, (x, y) in enumerate(zip(actual.items, expected.items, strict=True)):
            if e == "record" and actual.labels[i] != expected.labels[i]:
                raise ValidationError(f"expected field name `{expected.labels[i]}`, found `{actual.labels[i]}`")
            if e == "variant":
                if actual.labels[i] != expected.labels[i]:
                    raise ValidationError(f"expected case named `{expected.labels[i]}`, found `{actual.labels[i]}`")
                if (x is None) != (y is None):
                    if y is None:
                        raise ValidationError(f"expected case `{expected.labels[i]}` to have no type")
                    raise ValidationError(f"expected case `{expected.labels[i]}` to have a type, found none")
            if x is None or y is None:
                continue
            try:
                check_value(x, y, subst)
            except ValidationError as error:
                where = {"record": "record field", "variant": "variant case", "tuple": "tuple field"}[e]
                label = f"`{expected.labels[i]}`" if e != "tuple" else str(i)
                raise ValidationError(f"type mismatch in {where} {label}: {error.message}") from None
        return
    if e in ("flags", "enum"):
        if actual.labels != expected.labels:
            raise ValidationError(f"mismatch in {e} elements")
        return
    if e == "result":
        for i, part in enumerate(("ok", "err")):
            x, y = actual.items[i], expected.items[i]
            if (x is None) != (y is None):
                if y is None:
                    raise ValidationError(f"expected {part} type to not be present")
                raise ValidationError(f"expected {part} type, but found none")
            if x is not None and y is not None:
                try:
                    check_value(x, y, subst)
                except ValidationError as error:
                    raise ValidationError(f"type mismatch in {part} variant: {error.message}") from None
        return
    if actual.length != expected.length:
        raise ValidationError(f"expected {e} of length {expected.length}, found {actual.length}")
    if len(actual.items) != len(expected.items):
        raise ValidationError(f"type mismatch in {e}")
    for x, y in zip(actual.items, expected.items, strict=True):
        if (x is None) != (y is None):
            raise ValidationError(f"type mismatch in {e}")
        if x is not None and y is not None:
            check_value(x, y, subst)


def check_func(actual: TypeNode, expected: TypeNode, subst: dict[Resource, Resource]) -> None:
    params_a, params_e = actual.items[:-1], expected.items[:-1]
    if actual.is_async != expected.is_async:
        raise ValidationError("mismatch in the async flag of function types")
    if len(params_a) != len(params_e):
        raise ValidationError(f"expected {len(params_e)} parameters, found {len(params_a)}")
    for name_a, name_e, x, y in zip(actual.labels, expected.labels, params_a, params_e, strict=True):
        if name_a != name_e:
            raise ValidationError(f"expected parameter named `{name_e}`, found `{name_a}`")
        assert x is not None and y is not None
        try:
            check_value(x, y, subst)
        except ValidationError as error:
            raise ValidationError(f"type mismatch in function parameter `{name_e}`: {error.message}") from None
    ra, re_ = actual.items[-1], expected.items[-1]
    if (ra is None) != (re_ is None):
        # (wasm-tools words it from the supplied function's side)
        raise ValidationError("expected a result, found none" if ra is not None else "expected no result, found one")
    if ra is not None and re_ is not None:
        try:
            check_value(ra, re_, subst)
        except ValidationError as error:
            raise ValidationError(f"type mismatch with result type: {error.message}") from None


def check_type_def(actual: TypeNode, expected: TypeNode, subst: dict[Resource, Resource]) -> None:
    """``(type (eq T))`` arguments and exported types."""
    if expected.kind == "resource" or actual.kind == "resource":
        if actual.kind != expected.kind:
            if expected.kind == "resource":
                raise ValidationError("expected resource, found defined type")
            raise ValidationError("expected defined type, found resource")
        if resource_of(actual, subst) is not resource_of(expected, subst):
            raise ValidationError("resource types are not the same")
        return
    if expected.kind == "func":
        if actual.kind != "func":
            raise ValidationError(f"expected func, found {actual.kind}")
        check_func(actual, expected, subst)
        return
    if expected.kind in ("instance", "component"):
        if actual.kind != expected.kind:
            raise ValidationError(f"expected {expected.kind}, found {actual.kind}")
        check_extern((expected.kind, actual), (expected.kind, expected), subst)
        return
    check_value(actual, expected, subst)


def check_extern(actual: Extern, expected: Extern, subst: dict[Resource, Resource]) -> None:
    """Whether ``actual`` may be supplied where ``expected`` is declared."""
    sort_a, a = actual
    sort_e, e = expected
    if sort_a != sort_e:
        raise ValidationError(f"expected {sort_e}, found {sort_a}")
    if sort_e == "core module":
        assert isinstance(a, ModuleNode) and isinstance(e, ModuleNode)
        check_module(a, e)
        return
    assert isinstance(a, TypeNode) and isinstance(e, TypeNode)
    if sort_e == "func":
        check_func(a, e, subst)
    elif sort_e == "type":
        check_type_def(a, e, subst)
    elif sort_e == "value":
        check_value(a, e, subst)
    elif sort_e == "instance":
        _bind_resources(e.exports, a.exports, e.fresh, subst)
        for name, export in e.exports.items():
            if name not in a.exports:
                raise ValidationError(f"missing expected export `{name}`")
            try:
                check_extern(a.exports[name], export, subst)
            except ValidationError as error:
                raise ValidationError(f"type mismatch in instance export `{name}`: {error.message}") from None
    elif sort_e == "component":
        _bind_resources(a.imports, e.imports, a.abstract, subst)
        _bind_resources(e.exports, a.exports, e.fresh, subst)
        for name, imported in a.imports.items():
            if name not in e.imports:
                raise ValidationError(f"missing expected import `{name}`")
            try:
                check_extern(e.imports[name], imported, subst)
            except ValidationError as error:
                raise ValidationError(f"type mismatch in import `{name}`: {error.message}") from None
        for name, export in e.exports.items():
            if name not in a.exports:
                raise ValidationError(f"missing expected export `{name}`")
            try:
                check_extern(a.exports[name], export, subst)
            except ValidationError as error:
                raise ValidationError(f"type mismatch in export `{name}`: {error.message}") from None


def _bind_resources(
    declared: dict[str, Extern],
    supplied: dict[str, Extern],
    abstract: tuple[Resource, ...],
    subst: dict[Resource, Resource],
) -> None:
    """Abstract resources of a type (``(sub resource)`` declarations) stand for whatever resource the matching
    item supplies: record that in ``subst`` before comparing the rest."""
    for name, (sort, node) in declared.items():
        if sort != "type" or not isinstance(node, TypeNode) or node.resource not in abstract:
            continue
        other = supplied.get(name)
        if other is not None and isinstance(other[1], TypeNode) and other[1].resource is not None:
            assert node.resource is not None
            if node.resource not in subst:
                subst[node.resource] = resource_of(other[1], subst) or other[1].resource


def check_module(actual: ModuleNode, expected: ModuleNode) -> None:
    expected_imports = {(m, n): (k, t) for m, n, k, t in expected.imports}
    for module, name, kind, core_type in actual.imports:
        if (module, name) not in expected_imports:
            raise ValidationError(f"missing expected import `{module}::{name}`")
        try:
            check_core_extern(expected_imports[(module, name)], (kind, core_type))
        except ValidationError as error:
            raise ValidationError(f"type mismatch in import `{module}::{name}`: {error.message}") from None
    for name, export in expected.exports.items():
        if name not in actual.exports:
            raise ValidationError(f"missing expected export `{name}`")
        try:
            check_core_extern(actual.exports[name], export)
        except ValidationError as error:
            raise ValidationError(f"type mismatch in export `{name}`: {error.message}") from None


def _limits_match(actual: Limits, expected: Limits) -> bool:
    if actual.min < expected.min:
        return False
    if expected.max is None:
        return True
    return actual.max is not None and actual.max <= expected.max


def check_core_extern(actual: tuple[int, object], expected: tuple[int, object]) -> None:
    """Core import matching (the core spec's "Import Subtyping"); ``None`` types are unknown and match."""
    kind_a, a = actual
    kind_e, e = expected
    if kind_a != kind_e:
        raise ValidationError(f"expected {CORE_KIND_NAMES[kind_e]}, found {CORE_KIND_NAMES[kind_a]}")
    if a is None or e is None:
        return
    if isinstance(e, CoreFuncType):
        if a != e:
            raise ValidationError(f"expected: {_core_func_text(e)}")
    elif isinstance(e, GlobalType) and isinstance(a, GlobalType):
        if a.valtype != e.valtype:
            raise ValidationError(f"expected global type {e.valtype.text}, found {a.valtype.text}")
        if a.mutable != e.mutable:
            raise ValidationError("global types differ in mutability")
    elif isinstance(e, TableType) and isinstance(a, TableType):
        if a.element != e.element:
            raise ValidationError(f"expected table element type {e.element.text}, found {a.element.text}")
        if not _limits_match(a.limits, e.limits):
            raise ValidationError("mismatch in table limits")
    elif isinstance(e, MemoryType) and isinstance(a, MemoryType):
        if a.shared != e.shared:
            raise ValidationError("mismatch in the shared flag for memories")
        if not _limits_match(a.limits, e.limits):
            raise ValidationError("mismatch in memory limits")


def _core_func_text(t: CoreFuncType) -> str:
    params = "".join(f" (param {p.text})" for p in t.params)
    results = "".join(f" (result {r.text})" for r in t.results)
    return f"(func{params}{results})"
