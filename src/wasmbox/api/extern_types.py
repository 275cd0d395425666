"""The types of what a module imports and exports, as the API shows them: ``ImportType``,
``ExportType`` and ``TagType`` beside the toolchain's ``FuncType``, ``TableType``, ``MemoryType``
and ``GlobalType``."""

from __future__ import annotations

from ..ir.types import ExternKind, FuncType, GlobalType, MemoryType, TableType
from ..records import record
from ..runtime.instance import extern_type_text


@record(frozen=True)
class TagType:
    """The type of an exception tag (Wasm 3.0 exception handling): the function type whose
    parameters are the payload of the exceptions it tags (results are always empty)."""

    functype: FuncType


ExternType = FuncType | TableType | MemoryType | GlobalType | TagType
_KIND_OF_TYPE: dict[type, ExternKind] = {
    FuncType: ExternKind.FUNC,
    TableType: ExternKind.TABLE,
    MemoryType: ExternKind.MEMORY,
    GlobalType: ExternKind.GLOBAL,
    TagType: ExternKind.TAG,
}


def kind_text(extern_type: ExternType) -> str:
    """``"func"``, ``"table"``, ``"memory"``, ``"global"`` or ``"tag"``: the kind of a type."""
    return _KIND_OF_TYPE[type(extern_type)].text


def type_text(extern_type: ExternType) -> str:
    """A type as link errors and reprs write it (``func (i32) -> i32``)."""
    if isinstance(extern_type, TagType):
        return extern_type_text(ExternKind.TAG, extern_type.functype)
    return extern_type_text(_KIND_OF_TYPE[type(extern_type)], extern_type)


def as_extern_type(kind: ExternKind, extern_type: FuncType | TableType | MemoryType | GlobalType) -> ExternType:
    """A tag's function type as a :class:`TagType`; other types as they are."""
    if kind == ExternKind.TAG:
        assert isinstance(extern_type, FuncType)
        return TagType(extern_type)
    return extern_type


class _TypedNames(tuple[str, ...]):
    """What ImportType and ExportType share: a tuple of names ending in the kind (the form
    ``Module.imports`` and ``Module.exports`` had before they carried types), with the full
    ``type`` beside it.  Equal to a plain tuple of the same names; to another typed one only
    when the types are equal too."""

    type: ExternType

    def __getnewargs__(self) -> tuple[object, ...]:
        return (*self[:-1], self.type)

    @property
    def kind(self) -> str:
        """``"func"``, ``"table"``, ``"memory"``, ``"global"`` or ``"tag"``."""
        return self[-1]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _TypedNames):
            return tuple.__eq__(self, other) and self.type == other.type
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        names = ", ".join(repr(name) for name in self[:-1])
        return f"{type(self).__name__}({names}, {type_text(self.type)})"


class ImportType(_TypedNames):
    """One import of a module: ``module``, ``name`` and ``type`` (a :class:`FuncType`,
    :class:`TableType`, :class:`MemoryType`, :class:`GlobalType` or :class:`TagType`).

    It is also the tuple ``(module, name, kind)`` (kind: ``"func"``, ``"table"``, ``"memory"``,
    ``"global"`` or ``"tag"``) that ``Module.imports`` gave before it had types, so code that
    unpacks or compares those tuples keeps working.
    """

    def __new__(cls, module: str, name: str, type: ExternType) -> ImportType:  # noqa: A002 - wasmtime's name
        self = super().__new__(cls, (module, name, kind_text(type)))
        self.type = type
        return self

    @property
    def module(self) -> str:
        """The module name the import asks for."""
        return self[0]

    @property
    def name(self) -> str:
        """The item name within that module."""
        return self[1]


class ExportType(_TypedNames):
    """One export of a module: ``name`` and ``type`` (as for :class:`ImportType`).

    It is also the tuple ``(name, kind)`` that ``Module.exports`` gave before it had types.
    """

    def __new__(cls, name: str, type: ExternType) -> ExportType:  # noqa: A002 - wasmtime's name
        self = super().__new__(cls, (name, kind_text(type)))
        self.type = type
        return self

    @property
    def name(self) -> str:
        """The export's name."""
        return self[0]
