"""What the WIT parser produces: one file's items as written, before any name is resolved.

The resolver (``resolve.py``) turns these into the package model (``model.py``); keeping the two apart lets the
parser stay a plain reading of the grammar in WIT.md and the resolver own every rule about names.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Gate:
    """An item's feature gate: ``@since(version = ...)``, ``@unstable(feature = ...)``, ``@deprecated(...)``."""

    since: str | None = None
    unstable: str | None = None
    deprecated: str | None = None

    def __bool__(self) -> bool:
        return self.since is not None or self.unstable is not None or self.deprecated is not None


@dataclass(frozen=True, order=True)
class PackageName:
    """``namespace:name@version``; nested namespaces (``a:b:c``) keep everything before the last ``:``."""

    namespace: str
    name: str
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.namespace}:{self.name}" + (f"@{self.version}" if self.version else "")

    @property
    def unversioned(self) -> str:
        return f"{self.namespace}:{self.name}"


# --- types as written ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedType:
    """A type written by name: a type of this interface or world, or one brought in by ``use``."""

    name: str
    offset: int


@dataclass(frozen=True)
class BuiltinType:
    """``u8`` … ``s64``, ``f32``, ``f64``, ``char``, ``bool``, ``string``."""

    name: str


@dataclass(frozen=True)
class ListType:
    element: TypeSyntax
    length: int | None = None  # list<T, N>: a fixed-length list


@dataclass(frozen=True)
class OptionType:
    inner: TypeSyntax


@dataclass(frozen=True)
class ResultType:
    ok: TypeSyntax | None
    err: TypeSyntax | None


@dataclass(frozen=True)
class TupleType:
    items: tuple[TypeSyntax, ...]


@dataclass(frozen=True)
class MapType:
    key: TypeSyntax
    value: TypeSyntax


@dataclass(frozen=True)
class FutureType:
    inner: TypeSyntax | None


@dataclass(frozen=True)
class StreamType:
    inner: TypeSyntax | None


@dataclass(frozen=True)
class HandleType:
    """``borrow<r>`` or ``own<r>`` (a bare resource name is an owned handle too, resolved later)."""

    resource: NamedType
    borrowed: bool


TypeSyntax = (
    NamedType
    | BuiltinType
    | ListType
    | OptionType
    | ResultType
    | TupleType
    | MapType
    | FutureType
    | StreamType
    | HandleType
)


# --- items --------------------------------------------------------------------------------------------------


@dataclass
class Documented:
    """What every item carries: its name and position, its doc comment and its gate."""

    name: str
    offset: int
    docs: str = ""
    gate: Gate = field(default_factory=Gate)


@dataclass
class Param:
    name: str
    type: TypeSyntax
    offset: int


@dataclass
class FuncSignature:
    params: list[Param]
    result: TypeSyntax | None
    is_async: bool = False


@dataclass
class FuncItem(Documented):
    """``name: func(...) -> T;`` in an interface or world."""

    signature: FuncSignature = field(default_factory=lambda: FuncSignature([], None))


@dataclass
class ResourceFunc(Documented):
    """A function declared inside a ``resource { ... }``: ``kind`` is method, static or constructor."""

    kind: str = "method"
    signature: FuncSignature = field(default_factory=lambda: FuncSignature([], None))


@dataclass
class Case(Documented):
    """A record field, variant case, enum case or flag: ``type`` is None where there is no payload."""

    type: TypeSyntax | None = None


@dataclass
class TypeItem(Documented):
    """A named type definition: ``kind`` is alias, record, variant, enum, flags or resource."""

    kind: str = "alias"
    target: TypeSyntax | None = None  # alias
    cases: list[Case] = field(default_factory=list)  # record fields, variant/enum cases, flags
    functions: list[ResourceFunc] = field(default_factory=list)  # resource


@dataclass
class UsePath:
    """An interface named in ``use``/``import``/``export``/``include``: local (``package`` None) or foreign."""

    name: str
    offset: int
    package: PackageName | None = None

    def __str__(self) -> str:
        if self.package is None:
            return self.name
        version = f"@{self.package.version}" if self.package.version else ""
        return f"{self.package.unversioned}/{self.name}{version}"


@dataclass
class UseName:
    name: str
    alias: str | None
    offset: int
    gate: Gate = field(default_factory=Gate)


@dataclass
class UseItem(Documented):
    """``use path.{a, b as c};`` inside an interface or world (``name`` is the path's text)."""

    path: UsePath = field(default_factory=lambda: UsePath("", 0))
    names: list[UseName] = field(default_factory=list)


@dataclass
class InterfaceItem(Documented):
    """``interface name { ... }``, or an inline ``import name: interface { ... }`` of a world."""

    items: list[FuncItem | TypeItem | UseItem] = field(default_factory=list)


@dataclass
class WorldExtern(Documented):
    """An import or export of a world: a function, an inline interface, or a named interface (``path``).

    ``name`` is the plain name (``import x: ...``), or empty for ``import path;``.
    """

    direction: str = "import"
    func: FuncSignature | None = None
    interface: InterfaceItem | None = None
    path: UsePath | None = None


@dataclass
class IncludeItem(Documented):
    path: UsePath = field(default_factory=lambda: UsePath("", 0))
    renames: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class WorldItem(Documented):
    items: list[WorldExtern | UseItem | TypeItem | IncludeItem] = field(default_factory=list)


@dataclass
class TopLevelUse:
    """``use path as name;`` at the top of a file: names an interface for the rest of the file."""

    path: UsePath
    alias: str | None
    offset: int
    gate: Gate = field(default_factory=Gate)

    @property
    def local_name(self) -> str:
        return self.alias or self.path.name


@dataclass
class PackageBody:
    """The items of one package in one file: the file's own, or a nested ``package x:y { ... }`` block."""

    name: PackageName | None
    offset: int
    docs: str = ""
    uses: list[TopLevelUse] = field(default_factory=list)
    interfaces: list[InterfaceItem] = field(default_factory=list)
    worlds: list[WorldItem] = field(default_factory=list)


@dataclass
class WitFile:
    """One parsed file: its main package body and any nested package blocks."""

    path: str
    text: str
    main: PackageBody
    nested: list[PackageBody] = field(default_factory=list)
