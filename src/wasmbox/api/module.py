"""``Module``: a validated module, independent of any store; the features it was read with, its
imports and exports with their types, and its serialized form for other processes (``serialize``,
pickling)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from ..features import FeatureChoice, feature_set
from ..ir.module import Module as ModuleIR
from ..ir.types import ExternKind, FuncType, GlobalType, MemoryType, TableType
from ..load import load_module
from ..runtime.instance import expected_type
from ..validate import validate_module
from ..validation_cache import known_valid, remember_valid
from .extern_types import ExportType, ImportType, as_extern_type


def _load(source: bytes | bytearray | memoryview | str, name: str | None, features: FeatureChoice) -> ModuleIR:
    chosen = feature_set(features)  # a bad choice is refused before the source is read
    data = bytes(source) if isinstance(source, bytes | bytearray | memoryview) else source
    # Bodies stay bytes until used: validation checks them (natively, for large modules), unless
    # an earlier run validated these bytes (see validation_cache).
    ir = load_module(data, name, lazy=True, features=chosen)
    if not known_valid(ir):
        validate_module(ir)
        remember_valid(ir)
    return ir


class Module:
    """A validated module, from binary bytes or WAT text.

    Raises :class:`MalformedError` or :class:`ValidationError`.

    ``features`` chooses what the module may use, as wasmtime's ``Config`` flags do: ``"all"``
    (the default: every feature wasmbox implements), ``"2.0"`` (the WebAssembly 2.0 standard), or
    an iterable of feature names, the whole set (e.g. ``wasmbox.WASM_2_0 | {"exceptions"}``;
    ``wasmbox.FEATURES`` has the sets and, under ``"all"``, every name).  A name wasmbox does not
    know is a ``ValueError``.  An instruction, type or section outside the set is malformed
    (:class:`MalformedError`, as a decoder that never heard of it would say); a construct the set's
    validation rules refuse, such as an extended constant expression under ``"2.0"``, is invalid
    (:class:`ValidationError`).

    The switch lives here, not on :class:`Store`: a module is read and validated once, apart from
    any store, and then runs in every store and on every engine (in wasmtime a module is compiled
    for one ``Engine``, so the switches sit on the engine's ``Config``).
    """

    def __init__(
        self, source: bytes | bytearray | memoryview | str, name: str | None = None, *, features: FeatureChoice = "all"
    ) -> None:
        self.ir: ModuleIR = _load(source, name, features)
        self.name = name

    @staticmethod
    def validate(source: bytes | bytearray | memoryview | str, *, features: FeatureChoice = "all") -> None:
        """Check that ``source`` (binary bytes or WAT text) is a valid module under ``features`` (as
        for ``Module``), without keeping it: returns None, or raises :class:`MalformedError` or
        :class:`ValidationError`."""
        _load(source, None, features)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, features: FeatureChoice = "all") -> Module:
        """The module in the file at ``path`` (binary or text), read with ``features`` (as for
        ``Module``); errors name the file."""
        chosen = feature_set(features)  # a bad choice is refused before the file is read
        with open(path, "rb") as stream:
            data = stream.read()
        return cls(data, os.fspath(path), features=chosen)

    @property
    def features(self) -> frozenset[str]:
        """The names of the features the module was read and validated with (kept by ``serialize``
        and pickling)."""
        return self.ir.features

    @classmethod
    def _from_ir(cls, ir: ModuleIR, name: str | None) -> Module:
        module = cls.__new__(cls)
        module.ir = ir
        module.name = name
        return module

    def compile(self) -> Module:
        """Make the module's machine code now (it is otherwise made when the module gets hot), so
        that ``serialize`` and pickling carry it and other processes need not compile it.  A no-op
        without llvmlite.  Returns the module."""
        from ..engines.native import available

        if available():
            from ..engines.native.engine import compiled_code
            from ..ir.legacy_exceptions import engine_view

            compiled_code(engine_view(self.ir), False)
        return self

    @property
    def compiled(self) -> bool:
        """Whether this process has the module's machine code (made here, or brought along by
        ``deserialize`` or unpickling), so running it needs no compilation."""
        from ..engines.native import available

        if not available():
            return False
        from ..engines.native.engine import is_compiled

        return is_compiled(self.ir, False)

    def serialize(self) -> bytes:
        """The module as bytes ``Module.deserialize`` loads in another process of this wasmbox on this
        kind of machine, with the machine code this process has for it (see ``compile``)."""
        from ..serialize import serialize

        return serialize(self.ir, self.name)

    @classmethod
    def deserialize(cls, data: bytes | bytearray | memoryview) -> Module:
        """A module from ``serialize``'s bytes, not validated again (so: only bytes your own processes
        made); raises :class:`SerializationError` for bytes of another version or machine, cut short
        or changed."""
        from ..serialize import deserialize

        ir, name = deserialize(data)
        return cls._from_ir(ir, name)

    @classmethod
    def deserialize_file(cls, path: str | os.PathLike[str]) -> Module:
        """``deserialize`` of the bytes in the file at ``path``."""
        with open(path, "rb") as stream:
            return cls.deserialize(stream.read())

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        # Pickling (multiprocessing, concurrent.futures, dask) ships the serialized module: its
        # machine code goes along.
        return (Module.deserialize, (self.serialize(),))

    @property
    def imports(self) -> list[ImportType]:
        """Each import, in order, as an :class:`ImportType` (``module``, ``name``, ``type``; also the
        tuple ``(module, name, kind)``)."""
        types = self.ir.types
        return [ImportType(i.module, i.name, as_extern_type(i.kind, expected_type(i, types))) for i in self.ir.imports]

    @property
    def exports(self) -> list[ExportType]:
        """Each export, in order, as an :class:`ExportType` (``name``, ``type``; also the tuple
        ``(name, kind)``)."""
        ir = self.ir
        spaces: dict[ExternKind, Callable[[], Sequence[FuncType | TableType | MemoryType | GlobalType]]] = {
            ExternKind.FUNC: ir.func_types,
            ExternKind.TABLE: ir.table_types,
            ExternKind.MEMORY: ir.memory_types,
            ExternKind.GLOBAL: ir.global_types,
            ExternKind.TAG: ir.tag_types,
        }
        found: dict[ExternKind, Sequence[FuncType | TableType | MemoryType | GlobalType]] = {}
        result = []
        for export in ir.exports:
            if export.kind not in found:
                found[export.kind] = spaces[export.kind]()
            result.append(ExportType(export.name, as_extern_type(export.kind, found[export.kind][export.index])))
        return result
