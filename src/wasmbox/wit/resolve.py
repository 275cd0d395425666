"""Name resolution of parsed WIT (WIT.md, "Name resolution", "WIT Packages and `use`", worlds).

Packages resolve in dependency order (a package may only use packages that do not use it back); inside a
package, interfaces resolve in the order their ``use`` items require, so that a ``use`` always finds the
type it names already made. Within one interface names may be used before they are defined, but a type may
not contain itself. Worlds then gather their imports and exports, add the interfaces those depend on as
imports (as a component of that world must import them), and merge ``include``d worlds.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from .errors import WitError
from .lexer import Source
from .model import (
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
    Variant,
    World,
    WorldEntry,
    WorldKey,
)
from .syntax import (
    BuiltinType,
    FuncItem,
    FuncSignature,
    FutureType,
    Gate,
    HandleType,
    IncludeItem,
    InterfaceItem,
    ListType,
    MapType,
    NamedType,
    OptionType,
    PackageBody,
    PackageName,
    ResultType,
    StreamType,
    TupleType,
    TypeItem,
    TypeSyntax,
    UseItem,
    UsePath,
    WitFile,
    WorldExtern,
    WorldItem,
)

T = TypeVar("T")


@dataclass
class _Part:
    """One file's share of a package: the body, and the file it came from (for positions and file scope)."""

    body: PackageBody
    source: Source


@dataclass
class _PackageSource:
    name: PackageName
    parts: list[_Part] = field(default_factory=list)


def resolve_files(
    root: list[WitFile],
    dependencies: Iterable[list[WitFile]] = (),
    *,
    features: Iterable[str] = (),
    all_features: bool = False,
) -> Resolve:
    """Resolve the package that ``root``'s files make together, with every package the dependencies define.

    Each dependency is the files of one package (a ``deps/`` directory or file). Files without a ``package``
    line join the one package the other files of their group name; nested ``package x:y { ... }`` blocks are
    packages of their own. Items gated ``@unstable(feature = f)`` are left out unless ``f`` is in ``features``
    (or ``all_features``), as wasm-tools and wit-bindgen do.
    """
    enabled = _FeatureFilter(frozenset(features), all_features)
    groups = [root, *dependencies]
    for group in groups:
        for wit in group:
            for body in (wit.main, *wit.nested):
                enabled.prune(body)
    sources: dict[PackageName, _PackageSource] = {}
    root_name = _add_group(sources, root)
    for group in dependencies:
        _add_group(sources, group)
    order = _package_order(sources)
    packages: dict[PackageName, Package] = {}
    for name in order:
        packages[name] = _PackageResolver(sources[name], packages).resolve()
    return Resolve([packages[name] for name in order], packages[root_name])


@dataclass(frozen=True)
class _FeatureFilter:
    """Which ``@unstable`` features are on; ``prune`` drops the items of the others from a parsed body."""

    features: frozenset[str]
    everything: bool

    def allows(self, gate: Gate) -> bool:
        return gate.unstable is None or self.everything or gate.unstable in self.features

    def prune(self, body: PackageBody) -> None:
        body.uses = [use for use in body.uses if self.allows(use.gate)]
        body.interfaces = [item for item in body.interfaces if self.allows(item.gate)]
        body.worlds = [item for item in body.worlds if self.allows(item.gate)]
        for interface in body.interfaces:
            self.prune_interface(interface)
        for world in body.worlds:
            world.items = [item for item in world.items if self.allows(item.gate)]
            for item in world.items:
                if isinstance(item, WorldExtern) and item.interface is not None:
                    self.prune_interface(item.interface)
                elif isinstance(item, TypeItem):
                    self.prune_type(item)
                elif isinstance(item, UseItem):
                    item.names = [name for name in item.names if self.allows(name.gate)]

    def prune_interface(self, interface: InterfaceItem) -> None:
        interface.items = [item for item in interface.items if self.allows(item.gate)]
        for item in interface.items:
            if isinstance(item, TypeItem):
                self.prune_type(item)
            elif isinstance(item, UseItem):
                item.names = [name for name in item.names if self.allows(name.gate)]

    def prune_type(self, item: TypeItem) -> None:
        item.functions = [function for function in item.functions if self.allows(function.gate)]
        item.cases = [case for case in item.cases if self.allows(case.gate)]


def _add_group(sources: dict[PackageName, _PackageSource], group: list[WitFile]) -> PackageName:
    """Add one group of files; returns the package the group's top-level items belong to."""
    name = _group_package_name(group)
    for wit in group:
        body = wit.main
        if body.name is None:
            body.name = name
        if body.uses or body.interfaces or body.worlds or body.name == name:
            _add(sources, body, wit)
        for nested in wit.nested:
            _add(sources, nested, wit)
    return name


def _group_package_name(root: list[WitFile]) -> PackageName:
    names = {wit.main.name for wit in root if wit.main.name is not None}
    if not names:
        nested = [body.name for wit in root for body in wit.nested if body.name is not None]
        if len(nested) >= 1 and not any(wit.main.interfaces or wit.main.worlds for wit in root):
            return nested[-1]
        raise WitError(f"{root[0].path if root else '<wit>'}: no `package` line names the root package")
    if len(names) > 1:
        listed = ", ".join(sorted(str(name) for name in names))
        raise WitError(f"the files of one package name different packages: {listed}")
    return names.pop()


def _add(sources: dict[PackageName, _PackageSource], body: PackageBody, wit: WitFile) -> None:
    assert body.name is not None
    source = sources.setdefault(body.name, _PackageSource(body.name))
    source.parts.append(_Part(body, Source(wit.text, wit.path)))


def _foreign_paths(part: _Part) -> Iterable[tuple[UsePath, Source]]:
    body = part.body
    for use in body.uses:
        yield use.path, part.source
    for interface in body.interfaces:
        yield from _interface_paths(interface, part.source)
    for world in body.worlds:
        for item in world.items:
            if isinstance(item, UseItem | IncludeItem):
                yield item.path, part.source
            elif isinstance(item, WorldExtern):
                if item.path is not None:
                    yield item.path, part.source
                if item.interface is not None:
                    yield from _interface_paths(item.interface, part.source)


def _interface_paths(interface: InterfaceItem, source: Source) -> Iterable[tuple[UsePath, Source]]:
    for item in interface.items:
        if isinstance(item, UseItem):
            yield item.path, source


def _find_package(name: PackageName, available: Iterable[PackageName], source: Source, offset: int) -> PackageName:
    """The loaded package a path names: exact version, or the only version loaded when none is written."""
    candidates = [known for known in available if known.unversioned == name.unversioned]
    if name.version is not None:
        candidates = [known for known in candidates if known.version == name.version]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise source.error(offset, f"package `{name}` not found")
    raise source.error(offset, f"package `{name}` is ambiguous: write its version")


def _package_order(sources: dict[PackageName, _PackageSource]) -> list[PackageName]:
    """Packages, each after the packages it uses; a cycle is an error. Visited by name, depth first, as
    wit-parser's ``sort_unresolved_packages`` does (so that they print in wasm-tools' order)."""
    edges: dict[PackageName, list[PackageName]] = {}
    for name, source in sources.items():
        targets: list[PackageName] = []
        for part in source.parts:
            for path, where in _foreign_paths(part):
                if path.package is not None:
                    target = _find_package(path.package, sources, where, path.offset)
                    if target != name and target not in targets:
                        targets.append(target)
        edges[name] = targets
    by_name = dict(sorted(edges.items(), key=lambda pair: (pair[0].namespace, pair[0].name, pair[0].version or "")))
    return _topological(by_name, lambda name: f"package `{name}` depends on itself")


def _topological(edges: dict[T, list[T]], cycle_message: Callable[[T], str]) -> list[T]:
    order: list[T] = []
    state: dict[T, int] = {}

    def visit(node: T) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            raise WitError(cycle_message(node))
        state[node] = 1
        for target in edges[node]:
            visit(target)
        state[node] = 2
        order.append(node)

    for node in edges:
        visit(node)
    return order


class _PackageResolver:
    """Resolves one package; the packages it depends on are already in ``done``."""

    def __init__(self, source: _PackageSource, done: dict[PackageName, Package]) -> None:
        self.source = source
        self.done = done
        self.package = Package(source.name, docs="\n".join(p.body.docs for p in source.parts if p.body.docs))
        self.interface_items: dict[str, tuple[InterfaceItem, _Part]] = {}
        self.world_items: dict[str, tuple[WorldItem, _Part]] = {}

    def resolve(self) -> Package:
        self._check_gates_need_version()
        for part in self.source.parts:
            for interface_item in part.body.interfaces:
                self._declare(interface_item.name, interface_item.offset, part)
                self.interface_items[interface_item.name] = (interface_item, part)
                self.package.interfaces[interface_item.name] = Interface(
                    interface_item.name,
                    self.package,
                    docs=interface_item.docs,
                    stability=interface_item.gate,
                )
            for world_item in part.body.worlds:
                self._declare(world_item.name, world_item.offset, part)
                self.world_items[world_item.name] = (world_item, part)
                self.package.worlds[world_item.name] = World(
                    world_item.name, self.package, docs=world_item.docs, stability=world_item.gate
                )
        for part in self.source.parts:
            for use in part.body.uses:
                self._interface_for(use.path, part)  # every top-level use must name an interface
        order = _topological(
            {name: self._local_uses(item, part) for name, (item, part) in self.interface_items.items()},
            lambda name: f"interface `{name}` depends on itself through `use`",
        )
        self.package.interfaces = {name: self.package.interfaces[name] for name in order}
        for name in order:
            item, part = self.interface_items[name]
            _InterfaceBuilder(self.package.interfaces[name], part, self).build(item.items)
        world_order = _topological(
            {name: self._local_includes(item, part) for name, (item, part) in self.world_items.items()},
            lambda name: f"world `{name}` includes itself",
        )
        self.package.worlds = {name: self.package.worlds[name] for name in world_order}
        for name in world_order:
            world_item, part = self.world_items[name]
            _WorldBuilder(self.package.worlds[name], part, self).build(world_item)
        return self.package

    def _declare(self, name: str, offset: int, part: _Part) -> None:
        if name in self.package.interfaces or name in self.package.worlds:
            raise part.source.error(offset, f"`{name}` is defined more than once in package {self.package.name}")

    def _check_gates_need_version(self) -> None:
        if self.source.name.version is not None:
            return
        for part in self.source.parts:
            for item in [*part.body.interfaces, *part.body.worlds]:
                if item.gate.since is not None or item.gate.deprecated is not None:
                    raise part.source.error(
                        item.offset, f"package {self.source.name} uses `@since` gates, so it must have a version"
                    )

    def _local_uses(self, item: InterfaceItem, part: _Part) -> list[str]:
        names: list[str] = []
        for inner in item.items:
            if isinstance(inner, UseItem):
                target = self._local_interface_name(inner.path, part)
                if target is not None and target not in names:
                    names.append(target)
        return names

    def _local_includes(self, item: WorldItem, part: _Part) -> list[str]:
        names: list[str] = []
        for inner in item.items:
            if isinstance(inner, IncludeItem) and inner.path.package is None:
                target = self._file_alias(inner.path.name, part)
                if target is None and inner.path.name in self.world_items:
                    names.append(inner.path.name)
        return names

    def _file_alias(self, name: str, part: _Part) -> UsePath | None:
        for use in part.body.uses:
            if use.local_name == name:
                return use.path
        return None

    def _local_interface_name(self, path: UsePath, part: _Part) -> str | None:
        """The name of the interface of this package that ``path`` names, if it names one of ours."""
        if path.package is None:
            alias = self._file_alias(path.name, part)
            if alias is not None:
                return self._local_interface_name(alias, part)
            return path.name if path.name in self.interface_items else None
        if path.package.unversioned == self.source.name.unversioned and path.package.version in (
            None,
            self.source.name.version,
        ):
            return path.name if path.name in self.interface_items else None
        return None

    def _foreign_package(self, path: UsePath, part: _Part) -> Package:
        assert path.package is not None
        name = _find_package(path.package, [*self.done, self.source.name], part.source, path.offset)
        if name == self.source.name:
            return self.package
        return self.done[name]

    def _interface_for(self, path: UsePath, part: _Part) -> Interface:
        """The interface ``path`` names: one of this package, one a top-level ``use`` named, or a foreign one."""
        if path.package is None:
            alias = self._file_alias(path.name, part)
            if alias is not None:
                return self._interface_for(alias, part)
            if path.name in self.package.interfaces:
                return self.package.interfaces[path.name]
            if path.name in self.package.worlds:
                raise part.source.error(path.offset, f"`{path.name}` is a world, not an interface")
            raise part.source.error(path.offset, f"interface `{path.name}` not found")
        package = self._foreign_package(path, part)
        if path.name not in package.interfaces:
            raise part.source.error(path.offset, f"interface `{path.name}` not found in package {package.name}")
        return package.interfaces[path.name]

    def _world_for(self, path: UsePath, part: _Part) -> World:
        if path.package is None:
            alias = self._file_alias(path.name, part)
            if alias is not None:
                return self._world_for(alias, part)
            if path.name not in self.package.worlds:
                raise part.source.error(path.offset, f"world `{path.name}` not found")
            return self.package.worlds[path.name]
        package = self._foreign_package(path, part)
        if path.name not in package.worlds:
            raise part.source.error(path.offset, f"world `{path.name}` not found in package {package.name}")
        return package.worlds[path.name]


class _Scope:
    """Names of types (and, in interfaces, functions) being defined in one interface or world."""

    def __init__(self, owner: Interface | World, part: _Part, package: _PackageResolver) -> None:
        self.owner = owner
        self.part = part
        self.package = package
        self.types: dict[str, TypeDef] = {}
        self.names: set[str] = set()
        self.pending: dict[int, TypeItem] = {}  # placeholders not yet given their kind, by id

    def error(self, offset: int, message: str) -> WitError:
        return self.part.source.error(offset, message)

    def declare(self, name: str, offset: int) -> None:
        if name in self.names:
            raise self.error(offset, f"name `{name}` is defined more than once")
        self.names.add(name)

    def use(self, item: UseItem) -> list[TypeDef]:
        """The aliases a ``use`` item makes; each names a type of the interface it uses."""
        interface = self.package._interface_for(item.path, self.part)
        if interface is self.owner:
            raise self.error(item.path.offset, "an interface cannot `use` itself")
        made: list[TypeDef] = []
        for name in item.names:
            if name.name not in interface.types:
                raise self.error(name.offset, f"type `{name.name}` not defined in interface `{interface.name}`")
            local = name.alias or name.name
            self.declare(local, name.offset)
            alias = TypeDef(Alias(interface.types[name.name]), local, self.owner, stability=name.gate or item.gate)
            self.types[local] = alias
            made.append(alias)
        return made

    def placeholder(self, item: TypeItem) -> TypeDef:
        self.declare(item.name, item.offset)
        typedef = TypeDef(Resource(), item.name, self.owner, item.docs, item.gate)
        self.types[item.name] = typedef
        self.pending[id(typedef)] = item
        return typedef

    def is_resource(self, typedef: TypeDef) -> bool:
        """Whether ``typedef`` names a resource, through aliases — also of types whose kind is not made yet."""
        current: Type = typedef
        for _ in range(len(self.types) + 1):
            if not isinstance(current, TypeDef):
                return False
            item = self.pending.get(id(current))
            if item is not None:
                if item.kind == "resource":
                    return True
                if item.kind != "alias" or not isinstance(item.target, NamedType | HandleType):
                    return False
                if isinstance(item.target, HandleType):
                    return False
                current = self.named(item.target)
            elif isinstance(current.kind, Alias):
                current = current.kind.target
            else:
                return isinstance(current.kind, Resource)
        return False  # an alias cycle; reported as a type that depends on itself

    def define(self, typedef: TypeDef, item: TypeItem) -> None:
        """Give a placeholder its kind, now that every name of the scope is known."""
        del self.pending[id(typedef)]
        if item.kind == "alias":
            # `type x = y` aliases y (a resource too, not a handle of it); `type x = list<u8>` *is* that list.
            target = item.target
            assert target is not None
            if isinstance(target, NamedType):
                typedef.kind = Alias(self.named(target))
            elif isinstance(target, BuiltinType):
                typedef.kind = Alias(PRIMITIVES[target.name])
            else:
                made = self.type(target)
                assert isinstance(made, TypeDef)
                typedef.kind = made.kind
        elif item.kind == "record":
            typedef.kind = Record([self.field(case.name, case.type, case.docs, case.offset) for case in item.cases])
            self._unique(item, "field")
        elif item.kind == "variant":
            typedef.kind = Variant(
                [
                    Field(case.name, None if case.type is None else self.type(case.type), case.docs)
                    for case in item.cases
                ]
            )
            self._unique(item, "case")
        elif item.kind == "enum":
            typedef.kind = Enum([case.name for case in item.cases], [case.docs for case in item.cases])
            self._unique(item, "case")
        elif item.kind == "flags":
            typedef.kind = Flags([case.name for case in item.cases], [case.docs for case in item.cases])
            self._unique(item, "flag")
        else:
            typedef.kind = Resource()

    def _unique(self, item: TypeItem, what: str) -> None:
        seen: set[str] = set()
        for case in item.cases:
            if case.name in seen:
                raise self.error(case.offset, f"{what} `{case.name}` of `{item.name}` is defined more than once")
            seen.add(case.name)

    def field(self, name: str, syntax: TypeSyntax | None, docs: str, offset: int) -> Field:
        assert syntax is not None
        return Field(name, self.type(syntax), docs)

    def type(self, syntax: TypeSyntax) -> Type:
        """The type ``syntax`` writes; a bare resource name is an owned handle of it."""
        if isinstance(syntax, BuiltinType):
            return PRIMITIVES[syntax.name]
        if isinstance(syntax, NamedType):
            typedef = self.named(syntax)
            if self.is_resource(typedef):
                return TypeDef(Handle(typedef, borrowed=False), owner=self.owner)
            return typedef
        if isinstance(syntax, HandleType):
            typedef = self.named(syntax.resource)
            if not self.is_resource(typedef):
                raise self.error(syntax.resource.offset, f"`{syntax.resource.name}` is not a resource type")
            return TypeDef(Handle(typedef, syntax.borrowed), owner=self.owner)
        return TypeDef(self._structural(syntax), owner=self.owner)

    def _structural(self, syntax: TypeSyntax) -> ListOf | OptionOf | ResultOf | TupleOf | MapOf | FutureOf | StreamOf:
        if isinstance(syntax, ListType):
            return ListOf(self.type(syntax.element), syntax.length)
        if isinstance(syntax, OptionType):
            return OptionOf(self.type(syntax.inner))
        if isinstance(syntax, ResultType):
            return ResultOf(self._optional(syntax.ok), self._optional(syntax.err))
        if isinstance(syntax, TupleType):
            return TupleOf([self.type(item) for item in syntax.items])
        if isinstance(syntax, MapType):
            return MapOf(self.type(syntax.key), self.type(syntax.value))
        if isinstance(syntax, FutureType):
            return FutureOf(self._optional(syntax.inner))
        assert isinstance(syntax, StreamType)
        return StreamOf(self._optional(syntax.inner))

    def _optional(self, syntax: TypeSyntax | None) -> Type | None:
        return None if syntax is None else self.type(syntax)

    def named(self, syntax: NamedType) -> TypeDef:
        if syntax.name not in self.types:
            raise self.error(syntax.offset, f"type `{syntax.name}` not defined")
        return self.types[syntax.name]

    def function(self, name: str, signature: FuncSignature, offset: int, docs: str, gate: Gate) -> Function:
        params: list[tuple[str, Type]] = []
        for param in signature.params:
            if any(existing == param.name for existing, _ in params):
                raise self.error(param.offset, f"parameter `{param.name}` is defined more than once")
            params.append((param.name, self.type(param.type)))
        result = None if signature.result is None else self.type(signature.result)
        return Function(name, params, result, is_async=signature.is_async, docs=docs, stability=gate)

    def check_acyclic(self, typedefs: list[TypeDef]) -> None:
        """Types cannot contain themselves (handles do not count: a resource is a leaf)."""
        done: set[int] = set()

        def visit(typedef: TypeDef, path: list[TypeDef]) -> None:
            if id(typedef) in done:
                return
            if any(typedef is seen for seen in path):
                raise WitError(f"{self.part.source.path}: type `{typedef.name}` depends on itself")
            for inner in _contained(typedef):
                visit(inner, [*path, typedef])
            done.add(id(typedef))

        for typedef in typedefs:
            visit(typedef, [])


def _contained(typedef: TypeDef) -> list[TypeDef]:
    kind = typedef.kind
    if isinstance(kind, Handle | Resource | Enum | Flags):
        return []
    candidates: list[Type | None]
    if isinstance(kind, Alias):
        candidates = [kind.target]
    elif isinstance(kind, Record | Variant):
        candidates = [f.type for f in (kind.fields if isinstance(kind, Record) else kind.cases)]
    elif isinstance(kind, ListOf):
        candidates = [kind.element]
    elif isinstance(kind, OptionOf):
        candidates = [kind.inner]
    elif isinstance(kind, ResultOf):
        candidates = [kind.ok, kind.err]
    elif isinstance(kind, TupleOf):
        candidates = list(kind.items)
    elif isinstance(kind, MapOf):
        candidates = [kind.key, kind.value]
    else:
        candidates = [kind.inner]
    return [c for c in candidates if isinstance(c, TypeDef)]


class _InterfaceBuilder(_Scope):
    def build(self, items: Sequence[FuncItem | TypeItem | UseItem]) -> None:
        assert isinstance(self.owner, Interface)
        interface = self.owner
        pending: list[tuple[TypeDef, TypeItem]] = []
        for item in items:
            if isinstance(item, UseItem):
                for alias in self.use(item):
                    interface.types[alias.name or ""] = alias
            elif isinstance(item, TypeItem):
                typedef = self.placeholder(item)
                interface.types[item.name] = typedef
                pending.append((typedef, item))
        for typedef, item in pending:
            self.define(typedef, item)
        # The types brought in by ``use`` first, then the definitions in dependency order (wasm-tools' order).
        defined = {item.name for _, item in pending}
        used = {name: typedef for name, typedef in interface.types.items() if name not in defined}
        interface.types = {**used, **{name: interface.types[name] for name in _definition_order(items)}}
        for item in items:
            if isinstance(item, TypeItem) and item.kind == "resource":
                for function in self.resource_functions(item):
                    interface.functions[function.name] = function
            elif isinstance(item, FuncItem):
                self.declare(item.name, item.offset)
                function = self.function(item.name, item.signature, item.offset, item.docs, item.gate)
                interface.functions[function.name] = function
        self.check_acyclic([typedef for typedef, _ in pending])

    def resource_functions(self, item: TypeItem) -> list[Function]:
        """A resource's methods, statics and constructor as the component model names them (WIT.md)."""
        resource = self.types[item.name]
        made: list[Function] = []
        seen: set[str] = set()
        for function in item.functions:
            if function.name in seen:
                raise self.error(function.offset, f"`{function.name}` is defined more than once in `{item.name}`")
            seen.add(function.name)
            signature = function.signature
            if function.kind == "constructor":
                made_function = self.function(
                    f"[constructor]{item.name}", signature, function.offset, function.docs, function.gate
                )
                if signature.result is None:
                    made_function.result = TypeDef(Handle(resource, borrowed=False), owner=self.owner)
                elif not _constructs(made_function.result, resource):
                    raise self.error(
                        function.offset,
                        f"a constructor of `{item.name}` must return `{item.name}` or result<{item.name}, E>",
                    )
            else:
                prefix = "[method]" if function.kind == "method" else "[static]"
                made_function = self.function(
                    f"{prefix}{item.name}.{function.name}", signature, function.offset, function.docs, function.gate
                )
                if function.kind == "method":
                    if any(name == "self" for name, _ in made_function.params):
                        raise self.error(function.offset, "a method cannot have a parameter named `self`")
                    made_function.params.insert(0, ("self", TypeDef(Handle(resource, borrowed=True), owner=self.owner)))
            made_function.kind = function.kind
            made_function.resource = resource
            made.append(made_function)
        return made


def _constructs(result: Type | None, resource: TypeDef) -> bool:
    if not isinstance(result, TypeDef) or not isinstance(result.kind, ResultOf):
        return False
    ok = result.kind.ok
    return isinstance(ok, TypeDef) and isinstance(ok.kind, Handle) and ok.kind.resource is resource


def _definition_order(items: Sequence[object]) -> list[str]:
    """The names of the type definitions among ``items``, each after the types it names: wit-parser's
    ``toposort``, which of the definitions whose dependencies are all placed takes the one written first (names
    from ``use`` count as placed where they are written). A resource's functions are not dependencies."""
    nodes: list[tuple[str, list[str], bool]] = []  # (name, names it depends on, is a definition)
    for item in items:
        if isinstance(item, UseItem):
            nodes.extend((name.alias or name.name, [], False) for name in item.names)
        elif isinstance(item, TypeItem):
            syntaxes = [item.target] if item.kind == "alias" else [case.type for case in item.cases]
            names: list[str] = []
            for syntax in syntaxes:
                _named_in(syntax, names)
            nodes.append((item.name, names, True))
    index = {name: position for position, (name, _, _) in enumerate(nodes)}
    remaining = [0] * len(nodes)
    dependents: list[list[int]] = [[] for _ in nodes]
    for position, (_, names, _) in enumerate(nodes):
        for name in names:
            if name in index:  # an unknown name is the resolver's error to report
                remaining[position] += 1
                dependents[index[name]].append(position)
    ready = [position for position in range(len(nodes)) if remaining[position] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        position = heapq.heappop(ready)
        name, _, is_definition = nodes[position]
        if is_definition:
            order.append(name)
        for dependent in dependents[position]:
            remaining[dependent] -= 1
            if remaining[dependent] == 0:
                heapq.heappush(ready, dependent)
    placed = set(order)  # a cycle (reported by check_acyclic) leaves its members in the order written
    order.extend(name for name, _, is_definition in nodes if is_definition and name not in placed)
    return order


def _named_in(syntax: TypeSyntax | None, names: list[str]) -> None:
    """The type names ``syntax`` mentions, in order (repeats kept: each is an edge of the sort)."""
    if syntax is None or isinstance(syntax, BuiltinType):
        return
    if isinstance(syntax, NamedType):
        names.append(syntax.name)
    elif isinstance(syntax, HandleType):
        names.append(syntax.resource.name)
    elif isinstance(syntax, ListType):
        _named_in(syntax.element, names)
    elif isinstance(syntax, OptionType | FutureType | StreamType):
        _named_in(syntax.inner, names)
    elif isinstance(syntax, ResultType):
        _named_in(syntax.ok, names)
        _named_in(syntax.err, names)
    elif isinstance(syntax, TupleType):
        for element in syntax.items:
            _named_in(element, names)
    elif isinstance(syntax, MapType):
        _named_in(syntax.key, names)
        _named_in(syntax.value, names)


class _WorldBuilder(_Scope):
    def build(self, item: WorldItem) -> None:
        assert isinstance(self.owner, World)
        world = self.owner
        pending: list[tuple[TypeDef, TypeItem]] = []
        for inner in item.items:
            if isinstance(inner, UseItem):
                used = self.package._interface_for(inner.path, self.part)
                self._add(world.imports, used, used, inner.offset, "import")
                for alias in self.use(inner):
                    world.imports[alias.name or ""] = alias
            elif isinstance(inner, TypeItem):
                typedef = self.placeholder(inner)
                world.imports[inner.name] = typedef
                pending.append((typedef, inner))
        for typedef, type_item in pending:
            self.define(typedef, type_item)
        self.check_acyclic([typedef for typedef, _ in pending])
        for inner in item.items:
            if isinstance(inner, WorldExtern):
                self.extern(inner)
        for inner in item.items:
            if isinstance(inner, IncludeItem):
                self.include(inner)
        self.elaborate()

    def extern(self, item: WorldExtern) -> None:
        assert isinstance(self.owner, World)
        world = self.owner
        target = world.imports if item.direction == "import" else world.exports
        entry: WorldEntry
        key: WorldKey
        if item.path is not None and not item.name:
            interface = self.package._interface_for(item.path, self.part)
            key, entry = interface, interface
        elif item.path is not None:
            key, entry = item.name, self.package._interface_for(item.path, self.part)
        elif item.interface is not None:
            inline = Interface(item.name, None, docs=item.docs, stability=item.gate)
            _InterfaceBuilder(inline, self.part, self.package).build(list(item.interface.items))
            key, entry = item.name, inline
        else:
            assert item.func is not None
            key = item.name
            entry = self.function(item.name, item.func, item.offset, item.docs, item.gate)
        self._add(target, key, entry, item.offset, item.direction)
        if item.gate:
            world.gates[key] = item.gate
        if item.docs and isinstance(entry, Interface):
            world.item_docs[key] = item.docs

    def _add(
        self, target: dict[WorldKey, WorldEntry], key: WorldKey, entry: WorldEntry, offset: int, direction: str
    ) -> None:
        assert isinstance(self.owner, World)
        if key in target:
            if isinstance(key, Interface):
                return  # importing one interface twice is one import
            raise self.error(offset, f"{direction} `{key}` is defined more than once in world `{self.owner.name}`")
        if isinstance(key, str) and key in (self.owner.imports if target is self.owner.exports else self.owner.exports):
            raise self.error(offset, f"`{key}` is both imported and exported by world `{self.owner.name}`")
        target[key] = entry

    def include(self, item: IncludeItem) -> None:
        """Merge another world's imports and exports into this one, renaming plain names as ``with`` says."""
        assert isinstance(self.owner, World)
        included = self.package._world_for(item.path, self.part)
        renames = dict(item.renames)
        for source, target in ((included.imports, self.owner.imports), (included.exports, self.owner.exports)):
            for key, entry in source.items():
                if isinstance(key, str):
                    key = renames.pop(key, key)
                    if key in target:
                        raise self.error(
                            item.offset,
                            f"`{key}` from world `{included.name}` conflicts; rename it "
                            "with `include ... with {{ a as b }}`",
                        )
                target.setdefault(key, entry)
        # An interface included from another package's world loses a stable gate (``@since`` versions are the
        # other package's); wit-parser's ``merge_include_stability`` drops it there too.
        external = included.package is not self.owner.package
        written = dict(item.renames)
        for key, gate in included.gates.items():
            if isinstance(key, Interface) and external and gate.since is not None and gate.unstable is None:
                self.owner.gates.pop(key, None)
                continue
            self.owner.gates.setdefault(key if isinstance(key, Interface) else written.get(key, key), gate)
        for key, docs in included.item_docs.items():
            self.owner.item_docs.setdefault(key if isinstance(key, Interface) else written.get(key, key), docs)
        if renames:
            name = next(iter(renames))
            raise self.error(item.offset, f"world `{included.name}` has no import or export named `{name}`")

    def elaborate(self) -> None:
        """Import what the world's items depend on: the interfaces their types come from (WIT.md,
        "Transitive imports and worlds"); an export's dependency is imported unless it is exported too.

        As wit-parser's ``elaborate_world`` does, so that the world prints as wasm-tools prints it: imports by
        class (interfaces, then types from ``use``, types defined here, functions, resource functions), each
        interface after the ones it depends on; exported functions before exported interfaces. An interface
        imported only because another item needs it takes that item's gate."""
        assert isinstance(self.owner, World)
        world = self.owner
        imports: dict[WorldKey, WorldEntry] = {}
        exports: dict[WorldKey, WorldEntry] = {}
        gates: dict[WorldKey, Gate] = {}

        def add_import(key: WorldKey, interface: Interface, gate: Gate) -> None:
            if key in imports:
                return
            for dependency in interface_dependencies(interface):
                add_import(dependency, dependency, gate)
            imports[key] = interface
            if gate:
                gates[key] = gate

        for key, entry in sorted(world.imports.items(), key=lambda pair: _import_class(pair[1])):
            gate = world.gates.get(key, Gate())
            if isinstance(entry, Interface):
                add_import(key, entry, gate)
                continue
            if isinstance(entry, TypeDef):
                for dependency in _entry_dependencies(entry):
                    add_import(dependency, dependency, entry.stability)
            imports[key] = entry
            if gate:
                gates[key] = gate

        exported = {key: entry for key, entry in world.exports.items() if isinstance(entry, Interface)}

        def add_export(key: WorldKey, interface: Interface, gate: Gate) -> None:
            if key in exports:
                return
            for dependency in interface_dependencies(interface):
                if dependency in exported:
                    add_export(dependency, dependency, gate)
                else:
                    add_import(dependency, dependency, gate)
            exports[key] = interface
            if gate:
                gates[key] = gate

        for key, entry in world.exports.items():
            if not isinstance(entry, Interface):
                exports[key] = entry
                if key in world.gates:
                    gates[key] = world.gates[key]
        for key, entry in exported.items():
            assert isinstance(entry, Interface)
            add_export(key, entry, world.gates.get(key, Gate()))
        world.imports = dict(sorted(imports.items(), key=lambda pair: _import_class(pair[1])))
        world.exports = exports
        world.gates = gates
        world.item_docs = {key: docs for key, docs in world.item_docs.items() if key in imports or key in exports}


def _import_class(entry: WorldEntry) -> int:
    """Where a world import goes in wit-parser's order: interfaces, types from ``use``, types defined in the
    world, freestanding functions, resource functions (``sort_key`` in ``elaborate_world``)."""
    if isinstance(entry, Interface):
        return 0
    if isinstance(entry, TypeDef):
        target = entry.kind.target if isinstance(entry.kind, Alias) else None
        return 1 if isinstance(target, TypeDef) and target.owner is not entry.owner else 2
    return 3 if entry.resource is None else 4


def interface_dependencies(interface: Interface) -> list[Interface]:
    """The interfaces ``interface`` uses types from, in the order its ``use`` items name them."""
    found: list[Interface] = []
    for typedef in interface.types.values():
        if isinstance(typedef.kind, Alias) and isinstance(typedef.kind.target, TypeDef):
            owner = typedef.kind.target.owner
            if isinstance(owner, Interface) and owner is not interface and owner not in found:
                found.append(owner)
    return found


def _entry_dependencies(entry: WorldEntry) -> list[Interface]:
    if isinstance(entry, Interface):
        return interface_dependencies(entry)
    if isinstance(entry, TypeDef) and isinstance(entry.kind, Alias) and isinstance(entry.kind.target, TypeDef):
        owner = entry.kind.target.owner
        return [owner] if isinstance(owner, Interface) else []
    return []
