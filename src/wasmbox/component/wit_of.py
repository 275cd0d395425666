"""A component's world as WIT: what ``wasmbox component wit COMPONENT`` prints.

Validation resolves every import and export of a component to a type tree (``typecheck.TypeNode``); this
module turns those trees into the WIT model (``wasmbox.wit.model``) so the WIT printer can write them. An
instance named like an interface (``wasi:io/streams@0.2.0``) becomes that interface in its package; an
instance with a plain name becomes an inline interface; functions and types become world items. A type one
interface exports and another uses (the same node, seen through ``eq``) becomes a ``use``, as in the WIT it
was made from. The root world is ``root:component/root``, as wasm-tools names it.
"""

from __future__ import annotations

import re
from typing import Any

from ..wit.errors import WitError
from ..wit.model import (
    PRIMITIVES,
    Alias,
    Enum,
    Field,
    Flags,
    Function,
    FutureOf,
    Handle,
    Interface,
    ListOf,
    MapOf,
    OptionOf,
    Package,
    Record,
    Resolve,
    Resource,
    ResultOf,
    StreamOf,
    TupleOf,
    Type,
    TypeDef,
    TypeKind,
    Variant,
    World,
)
from ..wit.syntax import PackageName
from . import ir
from .typecheck import Extern, TypeNode
from .typecheck import Resource as ResourceIdentity
from .types import ExternName
from .validate import ComponentValidator

_INTERFACE_NAME = re.compile(r"^([a-z][a-z0-9-]*(?::[a-z][a-z0-9-]*)*):([a-z][a-z0-9-]*)/([a-z][a-z0-9-]*)(?:@(.+))?$")


def resolve_component(component: ir.Component) -> Resolve:
    """The packages and the root world a component's imports and exports describe."""
    node = ComponentValidator().component(component, None)
    return _Builder(_extern_names(component)).build(node)


def _extern_names(component: ir.Component) -> dict[tuple[str, str], ExternName]:
    """The component's own import and export names with their attributes (``implements``, ``external-id``), by
    ("import" or "export", plain name): validation's type tree keeps the plain names only."""
    names: dict[tuple[str, str], ExternName] = {}
    for section in component.sections:
        if isinstance(section, ir.ImportSection):
            names.update((("import", imported.name.name), imported.name) for imported in section.imports)
        elif isinstance(section, ir.ExportSection):
            names.update((("export", exported.name.name), exported.name) for exported in section.exports)
    return names


class _Builder:
    def __init__(self, names: dict[tuple[str, str], ExternName]) -> None:
        self.names = names
        self.root = Package(PackageName("root", "component"))
        self.packages: dict[str, Package] = {}
        self.typedefs: dict[int, TypeDef] = {}  # TypeNode id -> the TypeDef made for it
        self.resources: dict[int, TypeDef] = {}  # resource identity id -> its TypeDef

    def build(self, node: TypeNode) -> Resolve:
        world = World("root", self.root)
        self.root.worlds["root"] = world
        for direction, externs in (("import", node.imports), ("export", node.exports)):
            target = world.imports if direction == "import" else world.exports
            for name, extern in externs.items():
                written = self.names.get((direction, name))
                key = self.item(world, target, name, extern, written.implements if written else None)
                if key is not None and written is not None and written.external_id is not None:
                    world.external_ids[key] = written.external_id
        return Resolve([*_dependencies_first(list(self.packages.values())), self.root], self.root)

    def item(
        self, world: World, target: dict[Any, Any], name: str, extern: Extern, implements: str | None
    ) -> Interface | str | None:
        """Adds the import or export ``name`` to ``target``; the key it has there (None: left out)."""
        sort, node = extern
        if sort not in ("instance", "func", "type"):
            return None  # core modules, components, values: WIT has no words for them (nor has wasm-tools)
        assert isinstance(node, TypeNode)
        if sort == "instance":
            # ``(implements "ns:pkg/iface")`` names the interface a plainly named instance is: ``name: ns:pkg/iface``.
            interface = self.interface(implements or name, node)
            key = interface if interface.package is not None and implements is None else name
            target[key] = interface
            return key
        elif sort == "func":
            target[name] = self.function(name, node, world)
        elif sort == "type":
            if target is world.exports:
                # A world's types are imports: an exported type has no WIT (wasm-tools refuses it too), and
                # leaving it out would print functions that name a type the text never defines.
                raise WitError(f"component export `{name}` is a type: a WIT world cannot export a type")
            target[name] = self.named_type(name, node, world)
        return name

    def interface(self, name: str, node: TypeNode) -> Interface:
        match = _INTERFACE_NAME.match(name)
        if match is None:
            interface = Interface(name, None)
        else:
            namespace, package_name, interface_name, version = match.groups()
            key = f"{namespace}:{package_name}@{version or ''}"
            package = self.packages.get(key)
            if package is None:
                package = self.packages[key] = Package(PackageName(namespace, package_name, version))
            interface = package.interfaces.get(interface_name) or Interface(interface_name, package)
            package.interfaces[interface_name] = interface
        for export_name, (sort, child) in node.exports.items():
            assert isinstance(child, TypeNode)
            if sort == "type":
                interface.types[export_name] = self.named_type(export_name, child, interface)
        for export_name, (sort, child) in node.exports.items():
            assert isinstance(child, TypeNode)
            if sort == "func":
                interface.functions[export_name] = self.function(export_name, child, interface)
        return interface

    def named_type(self, name: str, node: TypeNode, owner: Interface | World) -> TypeDef:
        """A type a name introduces: a new definition, or an alias of one made before (a ``use``)."""
        existing = self.known(node)
        if existing is not None and existing.owner is owner and existing.name != name:
            # A second name for a type of the same interface or world (``(eq T1)``): ``type T2 = T1;``.
            alias = TypeDef(Alias(existing), name, owner)
            self.remember(node, alias)
            return alias
        if existing is not None and existing.owner is not owner:
            if node.kind == "resource" and node.resource is not None:
                self.resources.setdefault(id(node.resource), existing)  # handles through this name
            alias = TypeDef(Alias(existing), name, owner)
            self.remember(node, alias)  # who aliases this node later uses it through this interface
            return alias
        if node.kind == "resource":
            typedef = self.resource(node.resource, name)
            typedef.owner = owner
        else:
            typedef = TypeDef(self.kind(node), name, owner)
        self.remember(node, typedef)
        return typedef

    def known(self, node: TypeNode) -> TypeDef | None:
        """The TypeDef made for this node or the nearest node it renames (so a type used through an alias
        names that alias), else the resource's own definition."""
        current: TypeNode | None = node
        while current is not None:
            if id(current) in self.typedefs:
                return self.typedefs[id(current)]
            current = current.origin
        if node.kind == "resource" and node.resource is not None:
            return self.resources.get(id(node.resource))
        return None

    def remember(self, node: TypeNode, typedef: TypeDef) -> None:
        current: TypeNode | None = node
        while current is not None and id(current) not in self.typedefs:
            self.typedefs[id(current)] = typedef
            current = current.origin

    def resource(self, identity: ResourceIdentity | None, name: str) -> TypeDef:
        key = id(identity)
        if key not in self.resources:
            self.resources[key] = TypeDef(Resource(), name)
        return self.resources[key]

    def function(self, name: str, node: TypeNode, owner: Interface | World) -> Function:
        *params, result = node.items
        function = Function(
            name,
            [(label, self.type(param)) for label, param in zip(node.labels, params, strict=True) if param is not None],
            None if result is None else self.type(result),
            is_async=node.is_async,
        )
        for prefix, kind in (("[constructor]", "constructor"), ("[method]", "method"), ("[static]", "static")):
            if name.startswith(prefix):
                resource_name = name[len(prefix) :].split(".", 1)[0]
                found = (
                    owner.types.get(resource_name) if isinstance(owner, Interface) else owner.imports.get(resource_name)
                )
                resource = found if isinstance(found, TypeDef) else None
                if resource is not None:
                    function.kind = kind
                    function.resource = resource
        return function

    def type(self, node: TypeNode) -> Type:
        if node.kind in PRIMITIVES and not node.is_definition:
            return PRIMITIVES[node.kind]
        existing = self.known(node)
        if existing is not None:
            return existing
        if node.kind in PRIMITIVES:
            return PRIMITIVES[node.kind]
        if node.kind == "resource":
            return self.resource(node.resource, node.named or "resource")
        return TypeDef(self.kind(node))

    def optional(self, node: TypeNode | None) -> Type | None:
        return None if node is None else self.type(node)

    def kind(self, node: TypeNode) -> TypeKind:
        kind = node.kind
        items = node.items
        if kind == "record":
            return Record([Field(label, self.optional(item)) for label, item in zip(node.labels, items, strict=True)])
        if kind == "variant":
            return Variant([Field(label, self.optional(item)) for label, item in zip(node.labels, items, strict=True)])
        if kind == "enum":
            return Enum(list(node.labels))
        if kind == "flags":
            return Flags(list(node.labels))
        if kind == "list":
            assert items[0] is not None
            return ListOf(self.type(items[0]), node.length)
        if kind == "tuple":
            return TupleOf([self.type(item) for item in items if item is not None])
        if kind == "option":
            assert items[0] is not None
            return OptionOf(self.type(items[0]))
        if kind == "result":
            return ResultOf(self.optional(items[0]), self.optional(items[1]))
        if kind == "map":
            assert items[0] is not None and items[1] is not None
            return MapOf(self.type(items[0]), self.type(items[1]))
        if kind in ("own", "borrow"):
            target = items[0]  # the resource type's node (validation keeps the handle's resource there)
            assert target is not None
            resource = self.type(target)
            assert isinstance(resource, TypeDef)
            return Handle(resource, kind == "borrow")
        if kind in ("stream", "future"):
            element = self.optional(items[0]) if items else None
            return FutureOf(element) if kind == "future" else StreamOf(element)
        if kind in PRIMITIVES:
            return Alias(PRIMITIVES[kind])
        raise ValueError(f"a {kind} is not a value type")


def _dependencies_first(packages: list[Package]) -> list[Package]:
    """``packages`` (in the order the component first names them) with each one's dependencies before it: the
    packages whose interfaces its interfaces ``use`` types from, visited depth first (wasm-tools' ``finish`` in
    wit-parser's ``decoding.rs``), so the nested packages print in the order ``wasm-tools component wit`` prints."""
    order: list[Package] = []

    def visit(package: Package) -> None:
        if any(seen is package for seen in order):
            return
        for interface in package.interfaces.values():
            for typedef in interface.types.values():
                target = typedef.kind.target if isinstance(typedef.kind, Alias) else None
                source = target.owner if isinstance(target, TypeDef) else None
                if isinstance(source, Interface) and source is not interface and source.package is not None:
                    if source.package is not package:
                        visit(source.package)
        order.append(package)

    for package in packages:
        visit(package)
    return order
