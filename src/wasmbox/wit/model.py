"""Resolved WIT: packages of interfaces and worlds whose types point at each other.

This is what the rest of wasmbox reads (the canonical ABI, bindings, ``wasmbox wit``): every name has been
looked up, every ``use`` is an alias to the type it names, resource methods are functions named as the
component model names them (``[method]r.f``, ``[static]r.f``, ``[constructor]r``), and worlds list everything
they import, including the interfaces their imports depend on.

A type is a ``Primitive`` or a ``TypeDef``. Named types (records, variants, enums, flags, resources, aliases)
are TypeDefs with a name and an owner; structural types written inline (``list<u8>``, ``option<T>``, handles)
are TypeDefs without a name, so that one kind of object describes every type a function can mention.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .syntax import Gate, PackageName


@dataclass(frozen=True)
class Primitive:
    """``bool``, ``u8`` … ``s64``, ``f32``, ``f64``, ``char``, ``string``."""

    name: str

    def __str__(self) -> str:
        return self.name


PRIMITIVES = {name: Primitive(name) for name in "bool u8 u16 u32 u64 s8 s16 s32 s64 f32 f64 char string".split()}


@dataclass
class Field:
    """A record field, or a variant case (``type`` None when the case has no payload)."""

    name: str
    type: Type | None
    docs: str = ""


@dataclass
class Record:
    fields: list[Field]


@dataclass
class Variant:
    cases: list[Field]


@dataclass
class Enum:
    cases: list[str]
    docs: list[str] = field(default_factory=list)


@dataclass
class Flags:
    names: list[str]
    docs: list[str] = field(default_factory=list)


@dataclass
class Resource:
    """A resource type: an abstract handle target; its functions live in the owner's ``functions``."""


@dataclass
class Alias:
    """``type x = T`` or a name brought in by ``use``: the same type under another name."""

    target: Type


@dataclass
class ListOf:
    element: Type
    length: int | None = None


@dataclass
class OptionOf:
    inner: Type


@dataclass
class ResultOf:
    ok: Type | None
    err: Type | None


@dataclass
class TupleOf:
    items: list[Type]


@dataclass
class MapOf:
    key: Type
    value: Type


@dataclass
class Handle:
    """``own<r>`` (a bare resource name) or ``borrow<r>``; ``resource`` may be an alias of the resource."""

    resource: TypeDef
    borrowed: bool


@dataclass
class FutureOf:
    inner: Type | None


@dataclass
class StreamOf:
    inner: Type | None


TypeKind = (
    Record
    | Variant
    | Enum
    | Flags
    | Resource
    | Alias
    | ListOf
    | OptionOf
    | ResultOf
    | TupleOf
    | MapOf
    | Handle
    | FutureOf
    | StreamOf
)


@dataclass(eq=False)
class TypeDef:
    """A type with identity: two TypeDefs are the same type only if they are the same object."""

    kind: TypeKind
    name: str | None = None
    owner: Interface | World | None = None
    docs: str = ""
    stability: Gate = field(default_factory=Gate)

    def dealias(self) -> TypeDef | Primitive:
        """The type this one stands for, through any chain of aliases."""
        current: TypeDef | Primitive = self
        while isinstance(current, TypeDef) and isinstance(current.kind, Alias):
            current = current.kind.target
        return current

    def __repr__(self) -> str:
        owner = "" if self.owner is None else f"{self.owner.name}."
        return f"TypeDef({owner}{self.name or type(self.kind).__name__})"


Type = Primitive | TypeDef


@dataclass(eq=False)
class Function:
    """A function of an interface or world; ``kind`` is freestanding, method, static or constructor."""

    name: str
    params: list[tuple[str, Type]]
    result: Type | None
    kind: str = "freestanding"
    resource: TypeDef | None = None
    is_async: bool = False
    docs: str = ""
    stability: Gate = field(default_factory=Gate)

    @property
    def item_name(self) -> str:
        """The name as written inside a ``resource`` block (``f`` for ``[method]r.f``, ``constructor``)."""
        if self.kind == "constructor":
            return "constructor"
        if self.kind in ("method", "static"):
            return self.name.split(".", 1)[1]
        return self.name


@dataclass(eq=False)
class Interface:
    """An interface: named in a package, or inline and anonymous in a world (``import x: interface {...}``)."""

    name: str | None
    package: Package | None
    types: dict[str, TypeDef] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    docs: str = ""
    stability: Gate = field(default_factory=Gate)

    @property
    def qualified_name(self) -> str:
        """``ns:pkg/name@version``, the name a component imports it by; an inline interface has only its name."""
        if self.package is None or self.name is None:
            return self.name or "<anonymous>"
        package = self.package.name
        version = f"@{package.version}" if package.version else ""
        return f"{package.unversioned}/{self.name}{version}"

    def __repr__(self) -> str:
        return f"Interface({self.qualified_name})"


WorldKey = str | Interface
WorldEntry = Interface | Function | TypeDef


@dataclass(eq=False)
class World:
    """A world: what a component imports and exports. Keys are plain names or the interface itself."""

    name: str
    package: Package | None
    imports: dict[WorldKey, WorldEntry] = field(default_factory=dict)
    exports: dict[WorldKey, WorldEntry] = field(default_factory=dict)
    docs: str = ""
    stability: Gate = field(default_factory=Gate)
    gates: dict[WorldKey, Gate] = field(default_factory=dict)  # the gate written on each import or export
    item_docs: dict[WorldKey, str] = field(default_factory=dict)  # the doc comment written on an import or export
    # ``@external-id("...")`` of an import or export (from a component's name attributes; keyed like imports)
    external_ids: dict[WorldKey, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"World({self.name})"


@dataclass(eq=False)
class Package:
    name: PackageName
    interfaces: dict[str, Interface] = field(default_factory=dict)
    worlds: dict[str, World] = field(default_factory=dict)
    docs: str = ""


@dataclass
class Resolve:
    """Every package loaded, dependencies before dependents; ``root`` is the package that was asked for."""

    packages: list[Package]
    root: Package

    def package(self, name: str) -> Package:
        """The package named ``ns:name`` or ``ns:name@version``."""
        for package in self.packages:
            if name in (str(package.name), package.name.unversioned):
                return package
        raise KeyError(name)

    def select_world(self, name: str | None = None) -> World:
        """The world to use (WIT.md, "Specifying a World"): the root's only world, one named in the root, or
        one named by a full path ``ns:pkg/world``."""
        from .errors import WitError

        if name is None:
            if len(self.root.worlds) != 1:
                raise WitError(f"package {self.root.name} has {len(self.root.worlds)} worlds: name one")
            return next(iter(self.root.worlds.values()))
        if "/" not in name:
            if name not in self.root.worlds:
                raise WitError(f"no world `{name}` in package {self.root.name}")
            return self.root.worlds[name]
        package_name, _, world_name = name.partition("/")
        version = ""
        if "@" in world_name:
            world_name, _, version = world_name.partition("@")
        try:
            package = self.package(package_name + (f"@{version}" if version else ""))
        except KeyError:
            raise WitError(f"no package `{package_name}` loaded") from None
        if world_name not in package.worlds:
            raise WitError(f"no world `{world_name}` in package {package.name}")
        return package.worlds[world_name]
