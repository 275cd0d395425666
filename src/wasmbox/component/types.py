"""Component Model types: value, function, component, instance and resource types.

These are the *definitions* as written in a component's type section (and in
component and instance type declarators).  Value types refer to other types by
index (``int``) or name a primitive (:class:`PrimType`): the binary format has
no anonymous compound value types, so neither does the IR.  The text parser
hoists inline compound types into separate definitions, as the binary needs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..ir.module import Import
from ..ir.types import FuncType as CoreFuncType
from ..ir.types import GlobalType, MemoryType, TableType
from ..ir.types import ValType as CoreValType


class PrimType(enum.Enum):
    """A primitive value type; ``value`` is its binary code (Binary.md ``primvaltype``)."""

    BOOL = 0x7F
    S8 = 0x7E
    U8 = 0x7D
    S16 = 0x7C
    U16 = 0x7B
    S32 = 0x7A
    U32 = 0x79
    S64 = 0x78
    U64 = 0x77
    F32 = 0x76
    F64 = 0x75
    CHAR = 0x74
    STRING = 0x73
    ERROR_CONTEXT = 0x64

    @property
    def text(self) -> str:
        return self.name.lower().replace("_", "-")


PRIM_BY_CODE = {t.value: t for t in PrimType}
PRIM_BY_TEXT = {t.text: t for t in PrimType}
# The text format also accepts the older names of the 32/64-bit floats.
PRIM_BY_TEXT.update({"float32": PrimType.F32, "float64": PrimType.F64})

ValType = PrimType | int
"""A component value type: a primitive, or the index of a defined value type."""


@dataclass(frozen=True)
class Record:
    fields: tuple[tuple[str, ValType], ...]


@dataclass(frozen=True)
class Variant:
    cases: tuple[tuple[str, ValType | None], ...]


@dataclass(frozen=True)
class List:
    element: ValType
    length: int | None = None  # a fixed-length list (🔧) when set


@dataclass(frozen=True)
class Tuple:
    types: tuple[ValType, ...]


@dataclass(frozen=True)
class Flags:
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Enum:
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Option:
    type: ValType


@dataclass(frozen=True)
class Result:
    ok: ValType | None = None
    error: ValType | None = None


@dataclass(frozen=True)
class Own:
    resource: int


@dataclass(frozen=True)
class Borrow:
    resource: int


@dataclass(frozen=True)
class Stream:
    element: ValType | None = None


@dataclass(frozen=True)
class Future:
    element: ValType | None = None


@dataclass(frozen=True)
class Map:
    key: ValType
    value: ValType


DefValType = (
    PrimType | Record | Variant | List | Tuple | Flags | Enum | Option | Result | Own | Borrow | Stream | Future | Map
)


@dataclass(frozen=True)
class FuncType:
    """A component function type: labelled parameters, at most one result."""

    params: tuple[tuple[str, ValType], ...] = ()
    result: ValType | None = None
    is_async: bool = False


@dataclass(frozen=True)
class ResourceType:
    """A resource defined by this component: its core representation and optional destructor."""

    rep: CoreValType
    destructor: int | None = None  # a core function index


# --- extern types (what imports and exports declare) -----------------------


class ExternSort(enum.IntEnum):
    """The sorts an import or export may have, valued as in ``externtype``."""

    CORE_MODULE = 0x00
    FUNC = 0x01
    VALUE = 0x02
    TYPE = 0x03
    COMPONENT = 0x04
    INSTANCE = 0x05

    @property
    def text(self) -> str:
        return ("core module", "func", "value", "type", "component", "instance")[self]


@dataclass(frozen=True)
class SubResource:
    """The bound ``(sub resource)``: a fresh abstract resource type."""


@dataclass(frozen=True)
class Eq:
    """The bound ``(eq i)``: the same type (or value) as index ``i``."""

    index: int


@dataclass(frozen=True)
class ExternType:
    """``sort`` with either a type index (``core module``, ``func``, ``component``,
    ``instance``), a bound (``type``: :class:`Eq` or :class:`SubResource`) or, for
    ``value``, an :class:`Eq` bound or a value type."""

    sort: ExternSort
    index: int | None = None
    bound: Eq | SubResource | None = None
    value: ValType | None = None


ATTRIBUTE_NAMES = ("implements", "versionsuffix", "external-id")  # by their binary code


@dataclass(frozen=True)
class ExternName:
    """An import or export name with its ``nameattributes`` encoding: ``tag`` is the leading byte
    (0x00, 0x01, or 0x02 with ``attributes``: (code, value) pairs as written, repeats kept so that
    validation can refuse them)."""

    name: str
    tag: int = 0
    attributes: tuple[tuple[int, str], ...] = ()

    def attribute(self, code: int) -> str | None:
        return next((value for kind, value in self.attributes if kind == code), None)

    @property
    def implements(self) -> str | None:
        return self.attribute(0)

    @property
    def version_suffix(self) -> str | None:
        return self.attribute(1)

    @property
    def external_id(self) -> str | None:
        return self.attribute(2)

    def __str__(self) -> str:
        return self.name


# --- declarators of component and instance types ----------------------------


@dataclass(frozen=True)
class ImportDecl:
    name: ExternName
    type: ExternType


@dataclass(frozen=True)
class ExportDecl:
    name: ExternName
    type: ExternType


@dataclass(frozen=True)
class TypeDecl:
    type: DefType


@dataclass(frozen=True)
class CoreTypeDecl:
    type: CoreDefType


@dataclass(frozen=True)
class AliasDecl:
    alias: Alias


Decl = ImportDecl | ExportDecl | TypeDecl | CoreTypeDecl | AliasDecl


@dataclass(frozen=True)
class ComponentType:
    decls: tuple[Decl, ...]


@dataclass(frozen=True)
class InstanceType:
    decls: tuple[Decl, ...]


DefType = DefValType | FuncType | ComponentType | InstanceType | ResourceType


# --- core types as components declare them ---------------------------------


@dataclass(frozen=True)
class CoreExportDecl:
    name: str
    type: int | TableType | MemoryType | GlobalType  # a function's type index, or the type itself
    kind: int  # core externtype byte: 0 func, 1 table, 2 memory, 3 global, 4 tag


@dataclass(frozen=True)
class CoreOuterAlias:
    """``(alias outer ct idx (type))`` inside a core module type."""

    count: int
    index: int


@dataclass(frozen=True)
class CoreModuleType:
    decls: tuple[CoreModuleDecl, ...]


@dataclass(frozen=True)
class CoreRecType:
    """A Wasm 3.0 ``rec``/``sub`` core type, kept as its encoded bytes: wasmbox's
    core IR has no GC types yet, so components carry them opaquely."""

    raw: bytes


CoreDefType = CoreFuncType | CoreModuleType | CoreRecType
CoreModuleDecl = Import | CoreDefType | CoreOuterAlias | CoreExportDecl


# --- sorts and aliases --------------------------------------------------------


class CoreSort(enum.IntEnum):
    """``core:sort``: valued as in the binary format."""

    FUNC = 0x00
    TABLE = 0x01
    MEMORY = 0x02
    GLOBAL = 0x03
    TAG = 0x04
    TYPE = 0x10
    MODULE = 0x11
    INSTANCE = 0x12

    @property
    def text(self) -> str:
        return self.name.lower()


class Sort(enum.IntEnum):
    """Component ``sort`` (``CORE`` is followed by a :class:`CoreSort`)."""

    CORE = 0x00
    FUNC = 0x01
    VALUE = 0x02
    TYPE = 0x03
    COMPONENT = 0x04
    INSTANCE = 0x05

    @property
    def text(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class SortKind:
    """A sort with its core sort when it is ``core``: names an index space."""

    sort: Sort
    core: CoreSort | None = None

    @property
    def text(self) -> str:
        if self.core is not None:
            return f"core {self.core.text}"
        return self.sort.text


@dataclass(frozen=True)
class SortIndex:
    kind: SortKind
    index: int


@dataclass(frozen=True)
class ExportAlias:
    instance: int
    name: str


@dataclass(frozen=True)
class CoreExportAlias:
    instance: int
    name: str


@dataclass(frozen=True)
class OuterAlias:
    count: int
    index: int


@dataclass(frozen=True)
class Alias:
    kind: SortKind
    target: ExportAlias | CoreExportAlias | OuterAlias
