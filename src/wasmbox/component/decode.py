"""Binary decoder for components: bytes -> :class:`~wasmbox.component.ir.Component`.

Follows Binary.md production by production.  Every failure is a
:class:`MalformedError` with the byte offset; nested core modules go through
the core decoder, their offsets shifted to the enclosing binary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..binary.decode import (
    MAGIC,
    VERSION,
    decode_module,
    read_global_type,
    read_memory_type,
    read_table_type,
    read_valtype,
)
from ..binary.reader import Reader
from ..errors import MalformedError
from ..ir.instructions import ALL_FEATURES
from ..ir.module import Import
from ..ir.types import ExternKind, GlobalType, MemoryType, TableType
from ..ir.types import FuncType as CoreFuncType
from . import types as t
from .ir import (
    CANON_BY_CODE,
    CANON_OPS,
    CANON_OPTION_BY_CODE,
    CANON_OPTIONS,
    AliasSection,
    Canon,
    CanonOption,
    CanonSection,
    Component,
    ComponentExport,
    ComponentImport,
    ComponentSection,
    CoreInlineExports,
    CoreInstanceSection,
    CoreInstantiate,
    CoreModuleSection,
    CoreTypeSection,
    CustomSection,
    ExportSection,
    ImportSection,
    InlineExports,
    InstanceSection,
    Instantiate,
    Section,
    Start,
    StartSection,
    TypeSection,
    ValueSection,
)

COMPONENT_VERSION = b"\x0d\x00"
COMPONENT_LAYER = b"\x01\x00"
PREAMBLE = MAGIC + COMPONENT_VERSION + COMPONENT_LAYER

T = TypeVar("T")


def is_component(data: bytes) -> bool:
    """Whether ``data`` starts like a component (layer 1) rather than a core module (layer 0)."""
    return len(data) >= 8 and data[:4] == MAGIC and data[6:8] == COMPONENT_LAYER


class _CoreModuleError(MalformedError):
    """A nested core module's own error: it keeps the core decoder's words."""


# Running out of bytes, in the component tests' (wasm-tools') words.
_TRUNCATED = frozenset(("unexpected end of section or function", "length out of bounds", "unexpected end"))


def decode_component(data: bytes | bytearray | memoryview, features: frozenset[str] = ALL_FEATURES) -> Component:
    """Decode a whole component binary; raises :class:`MalformedError`."""
    try:
        return _decode_component(bytes(data), features)
    except _CoreModuleError as error:
        raise MalformedError(error.message, offset=error.offset) from None
    except MalformedError as error:
        if error.message in _TRUNCATED:
            raise MalformedError("unexpected end-of-file", offset=error.offset) from None
        raise


def _decode_component(raw: bytes, features: frozenset[str]) -> Component:
    reader = Reader(raw, features=features)
    if len(raw) < 8:
        raise MalformedError("unexpected end", offset=len(raw))
    if raw[:4] != MAGIC:
        raise MalformedError("magic header not detected", offset=0)
    if raw[6:8] != COMPONENT_LAYER:
        raise MalformedError("unknown binary layer", offset=6)
    if raw[4:6] != COMPONENT_VERSION:
        raise MalformedError("unknown binary version", offset=4)
    reader.pos = 8
    return _ComponentDecoder(reader).component()


class _ComponentDecoder:
    def __init__(self, reader: Reader) -> None:
        self.r = reader

    def vec(self, item: Callable[[], T]) -> list[T]:
        return [item() for _ in range(self.r.u32())]

    def component(self) -> Component:
        r = self.r
        sections: list[Section] = []
        while not r.at_end():
            section_start = r.pos
            section_id = r.byte()
            if section_id > 12:
                raise r.error("malformed section id", section_start)
            size = r.length()
            body_start = r.pos
            end = body_start + size
            saved_end = r.end
            r.end = end
            try:
                sections.append(self.section(section_id, section_start, end))
            finally:
                r.end = saved_end
            if r.pos != end:
                raise r.error("section size mismatch", body_start)
        return Component(sections)

    def section(self, section_id: int, start: int, end: int) -> Section:
        r = self.r
        if section_id == 0:
            name = r.name()
            return CustomSection(name, r.bytes(end - r.pos))
        if section_id == 1:
            raw = r.bytes(end - r.pos)
            if raw[:4] == MAGIC and raw[4:8] != VERSION:
                raise r.error("expected a version header for a module", end - len(raw) + 4)
            try:
                # Bodies stay bytes until validation reads them (natively for large modules), as for a
                # core module loaded by wasmbox.Module: a component may hold CPython (17 MB of code).
                module = decode_module(raw, r.features, lazy=True)
                module.binary = raw
            except MalformedError as error:
                offset = None if error.offset is None else error.offset + end - len(raw)
                raise _CoreModuleError(error.message, offset=offset) from None
            return CoreModuleSection(module, raw)
        if section_id == 2:
            return CoreInstanceSection(self.vec(self.core_instance))
        if section_id == 3:
            return CoreTypeSection(self.vec(self.core_type))
        if section_id == 4:
            nested_start = r.pos
            preamble = r.bytes(8)
            if preamble[:4] != MAGIC:
                raise r.error("magic header not detected", nested_start)
            if preamble[6:8] != COMPONENT_LAYER:
                raise r.error("expected a version header for a component", nested_start + 4)
            if preamble[4:6] != COMPONENT_VERSION:
                raise r.error("unknown binary version", nested_start + 4)
            return ComponentSection(_ComponentDecoder(r).component())
        if section_id == 5:
            return InstanceSection(self.vec(self.instance))
        if section_id == 6:
            return AliasSection(self.vec(self.alias))
        if section_id == 7:
            return TypeSection(self.vec(self.deftype))
        if section_id == 8:
            return CanonSection(self.vec(self.canon))
        if section_id == 9:
            func = r.u32()
            args = tuple(self.vec(r.u32))
            return StartSection(Start(func, args, r.u32()))
        if section_id == 10:
            return ImportSection(self.vec(lambda: ComponentImport(self.extern_name(), self.extern_type())))
        if section_id == 11:
            return ExportSection(self.vec(self.export))
        if section_id == 12:
            return ValueSection(r.bytes(end - r.pos))
        raise r.error("malformed section id", start)

    # --- names ---------------------------------------------------------------
    def extern_name(self) -> t.ExternName:
        r = self.r
        tag_at = r.pos
        tag = r.byte()
        if tag > 2:
            raise r.error(f"invalid leading byte (0x{tag:x}) for component name", tag_at)
        name = r.name()
        if tag < 2:
            return t.ExternName(name, tag)
        attributes = []
        for _ in range(r.u32()):
            kind_at = r.pos
            kind = r.byte()
            if kind > 2:
                raise r.error(f"invalid leading byte (0x{kind:x}) for name option", kind_at)
            attributes.append((kind, r.name()))
        return t.ExternName(name, tag, tuple(attributes))

    # --- sorts ------------------------------------------------------------------
    def core_sort(self) -> t.CoreSort:
        r = self.r
        code = r.byte()
        try:
            return t.CoreSort(code)
        except ValueError:
            raise r.error(f"invalid leading byte (0x{code:x}) for core sort", r.pos - 1) from None

    def sort(self) -> t.SortKind:
        r = self.r
        code = r.byte()
        if code == 0:
            return t.SortKind(t.Sort.CORE, self.core_sort())
        if code > 5:
            raise r.error(f"invalid leading byte (0x{code:x}) for component external kind", r.pos - 1)
        return t.SortKind(t.Sort(code))

    def sort_index(self) -> t.SortIndex:
        kind = self.sort()
        return t.SortIndex(kind, self.r.u32())

    # --- instances and aliases ----------------------------------------------------
    def core_instance(self) -> CoreInlineExports | CoreInstantiate:
        r = self.r
        code = r.byte()
        if code == 0:
            module = r.u32()

            def arg() -> tuple[str, int]:
                name = r.name()
                kind = r.byte()
                if kind != 0x12:
                    raise r.error(f"invalid leading byte (0x{kind:x}) for instantiation arg kind", r.pos - 1)
                return name, r.u32()

            return CoreInstantiate(module, tuple(self.vec(arg)))
        if code == 1:
            return CoreInlineExports(tuple(self.vec(lambda: (r.name(), self.core_sort(), r.u32()))))
        raise r.error(f"invalid leading byte (0x{code:x}) for core instance", r.pos - 1)

    def instance(self) -> InlineExports | Instantiate:
        r = self.r
        code = r.byte()
        if code == 0:
            component = r.u32()
            return Instantiate(component, tuple(self.vec(lambda: (r.name(), self.sort_index()))))
        if code == 1:
            return InlineExports(tuple(self.vec(lambda: (self.extern_name(), self.sort_index()))))
        raise r.error(f"invalid leading byte (0x{code:x}) for instance", r.pos - 1)

    def alias(self) -> t.Alias:
        r = self.r
        kind_at = r.pos
        first = r.peek()
        target_at = kind_at + (2 if first == 0 else 1)
        if first is not None and target_at < r.end and r.data[target_at] == 2:
            # An outer alias: only core modules, core types, types and components may be aliased.
            leading = r.data[kind_at + 1] if first == 0 else first
            if (first == 0 and leading not in (0x10, 0x11)) or (first != 0 and first not in (3, 4)):
                raise r.error(f"invalid leading byte (0x{leading:x}) for component outer alias kind", kind_at)
        kind = self.sort()
        code = r.byte()
        target: t.ExportAlias | t.CoreExportAlias | t.OuterAlias
        if code == 0:
            target = t.ExportAlias(r.u32(), r.name())
        elif code == 1:
            target = t.CoreExportAlias(r.u32(), r.name())
        elif code == 2:
            if kind.text not in ("core module", "core type", "type", "component"):
                leading = kind.core if kind.core is not None else kind.sort
                raise r.error(f"invalid leading byte (0x{leading:x}) for component outer alias kind", kind_at)
            target = t.OuterAlias(r.u32(), r.u32())
        else:
            raise r.error(f"invalid leading byte (0x{code:x}) for alias", r.pos - 1)
        return t.Alias(kind, target)

    # --- types ------------------------------------------------------------------------
    def valtype(self) -> t.ValType:
        r = self.r
        at = r.pos
        value = r.signed(33)
        if value >= 0:
            return value
        code = value & 0x7F
        prim = t.PRIM_BY_CODE.get(code)
        if prim is None or value < -0x40:
            raise r.error(f"invalid leading byte (0x{code:x}) for component value type", at)
        return prim

    def optional(self, item: Callable[[], T], what: str = "optional") -> T | None:
        r = self.r
        flag = r.byte()
        if flag == 0:
            return None
        if flag == 1:
            return item()
        raise r.error(f"invalid leading byte (0x{flag:x}) for {what}", r.pos - 1)

    def label(self) -> str:
        return self.r.name()

    def deftype(self) -> t.DefType:
        r = self.r
        at = r.pos
        code = r.byte()
        prim = t.PRIM_BY_CODE.get(code)
        if prim is not None:
            return prim
        if code == 0x72:
            return t.Record(tuple(self.vec(lambda: (self.label(), self.valtype()))))
        if code == 0x71:

            def case() -> tuple[str, t.ValType | None]:
                label = self.label()
                payload = self.optional(self.valtype)
                refinement = r.byte()
                if refinement != 0:
                    raise r.error(f"invalid leading byte (0x{refinement:x}) for zero byte required", r.pos - 1)
                return label, payload

            return t.Variant(tuple(self.vec(case)))
        if code == 0x70:
            return t.List(self.valtype())
        if code == 0x67:
            element = self.valtype()
            return t.List(element, r.u32())
        if code == 0x6F:
            return t.Tuple(tuple(self.vec(self.valtype)))
        if code == 0x6E:
            return t.Flags(tuple(self.vec(self.label)))
        if code == 0x6D:
            return t.Enum(tuple(self.vec(self.label)))
        if code == 0x6B:
            return t.Option(self.valtype())
        if code == 0x6A:
            ok = self.optional(self.valtype)
            return t.Result(ok, self.optional(self.valtype))
        if code == 0x69:
            return t.Own(r.u32())
        if code == 0x68:
            return t.Borrow(r.u32())
        if code == 0x66:
            return t.Stream(self.optional(self.valtype))
        if code == 0x65:
            return t.Future(self.optional(self.valtype))
        if code == 0x63:
            key = self.valtype()
            return t.Map(key, self.valtype())
        if code in (0x40, 0x43):
            params = tuple(self.vec(lambda: (self.label(), self.valtype())))
            return t.FuncType(params, self.result_list(), code == 0x43)
        if code == 0x41:
            return t.ComponentType(tuple(self.vec(self.component_decl)))
        if code == 0x42:
            return t.InstanceType(tuple(self.vec(self.instance_decl)))
        if code == 0x3F:
            rep = read_valtype(r)
            return t.ResourceType(rep, self.optional(r.u32))
        raise r.error(f"invalid leading byte (0x{code:x}) for component defined type", at)

    def result_list(self) -> t.ValType | None:
        r = self.r
        code = r.byte()
        if code == 0:
            return self.valtype()
        if code == 1:
            count = r.byte()
            if count == 0:
                return None
            raise r.error(f"invalid leading byte (0x{count:x}) for number of results", r.pos - 1)
        raise r.error(f"invalid leading byte (0x{code:x}) for component function results", r.pos - 1)

    def component_decl(self) -> t.Decl:
        r = self.r
        if r.peek() == 0x03:
            r.byte()
            return t.ImportDecl(self.extern_name(), self.extern_type())
        return self.instance_decl()

    def instance_decl(self) -> t.Decl:
        r = self.r
        code = r.byte()
        if code == 0:
            return t.CoreTypeDecl(self.core_type())
        if code == 1:
            return t.TypeDecl(self.deftype())
        if code == 2:
            return t.AliasDecl(self.alias())
        if code == 4:
            return t.ExportDecl(self.extern_name(), self.extern_type())
        raise r.error(f"invalid leading byte (0x{code:x}) for component or instance type declaration", r.pos - 1)

    def extern_type(self) -> t.ExternType:
        r = self.r
        at = r.pos
        code = r.byte()
        if code == 0:
            if r.byte() != 0x11:
                raise r.error("invalid leading byte (0x0) for component external kind", at)
            return t.ExternType(t.ExternSort.CORE_MODULE, r.u32())
        if code in (1, 4, 5):
            return t.ExternType(t.ExternSort(code), r.u32())
        if code == 3:
            bound = r.byte()
            if bound == 0:
                return t.ExternType(t.ExternSort.TYPE, bound=t.Eq(r.u32()))
            if bound == 1:
                return t.ExternType(t.ExternSort.TYPE, bound=t.SubResource())
            raise r.error(f"invalid leading byte (0x{bound:x}) for type bound", r.pos - 1)
        if code == 2:
            bound = r.byte()
            if bound == 0:
                return t.ExternType(t.ExternSort.VALUE, bound=t.Eq(r.u32()))
            if bound == 1:
                return t.ExternType(t.ExternSort.VALUE, value=self.valtype())
            raise r.error(f"invalid leading byte (0x{bound:x}) for value bound", r.pos - 1)
        raise r.error(f"invalid leading byte (0x{code:x}) for component external kind", at)

    def export(self) -> ComponentExport:
        name = self.extern_name()
        item = self.sort_index()
        return ComponentExport(name, item, self.optional(self.extern_type, "optional component export type"))

    # --- core types ---------------------------------------------------------------------
    def core_type(self) -> t.CoreDefType:
        r = self.r
        at = r.pos
        code = r.byte()
        if code == 0x60:
            params = tuple(self.vec(lambda: read_valtype(r)))
            return CoreFuncType(params, tuple(self.vec(lambda: read_valtype(r))))
        if code == 0x50:
            return t.CoreModuleType(tuple(self.vec(self.core_module_decl)))
        if code in (0x00, 0x4E, 0x4F, 0x5E, 0x5F):
            r.pos = at
            self.skip_gc_type()
            return t.CoreRecType(r.data[at : r.pos])
        raise r.error(f"invalid leading byte (0x{code:x}) for core type", at)

    def skip_gc_type(self) -> None:
        """Read past a Wasm 3.0 ``rec``/``sub``/``struct``/``array`` type (kept as bytes)."""
        r = self.r
        code = r.byte()
        if code == 0x00:
            if r.byte() != 0x50:
                raise r.error("invalid leading byte for core subtype", r.pos - 1)
            code = 0x50
        if code == 0x4E:
            for _ in range(r.u32()):
                self.skip_gc_type()
            return
        if code in (0x50, 0x4F):
            for _ in range(r.u32()):
                r.u32()
            code = r.byte()
        if code == 0x60:
            for _ in range(2):
                for _ in range(r.u32()):
                    self.skip_gc_storage_type()
        elif code == 0x5F:
            for _ in range(r.u32()):
                self.skip_gc_storage_type()
                r.byte()
        elif code == 0x5E:
            self.skip_gc_storage_type()
            r.byte()
        else:
            raise r.error(f"invalid leading byte (0x{code:x}) for core type", r.pos - 1)

    def skip_gc_storage_type(self) -> None:
        r = self.r
        code = r.byte()
        if code in (0x63, 0x64):
            r.signed(33)

    def core_module_decl(self) -> t.CoreModuleDecl:
        r = self.r
        code = r.byte()
        if code == 0:
            module = r.name()
            name = r.name()
            kind, desc = self.core_extern_desc()
            return Import(module, name, ExternKind(kind), desc)
        if code == 1:
            return self.core_type()
        if code == 2:
            kind = r.byte()
            if kind != 0x10:
                raise r.error(f"invalid leading byte (0x{kind:x}) for outer alias kind", r.pos - 1)
            target = r.byte()
            if target != 0x01:
                raise r.error(f"invalid leading byte (0x{target:x}) for outer alias target", r.pos - 1)
            return t.CoreOuterAlias(r.u32(), r.u32())
        if code == 3:
            name = r.name()
            kind, desc = self.core_extern_desc()
            return t.CoreExportDecl(name, desc, kind)
        raise r.error(f"invalid leading byte (0x{code:x}) for type definition", r.pos - 1)

    def core_extern_desc(self) -> tuple[int, int | TableType | MemoryType | GlobalType]:
        r = self.r
        kind = r.byte()
        if kind == 0 or kind == 4:
            if kind == 4 and r.byte() != 0:
                raise r.error("invalid tag attribute", r.pos - 1)
            return kind, r.u32()
        if kind == 1:
            return kind, read_table_type(r)
        if kind == 2:
            return kind, read_memory_type(r)
        if kind == 3:
            return kind, read_global_type(r)
        raise r.error(f"invalid leading byte (0x{kind:x}) for external kind", r.pos - 1)

    # --- canonical definitions ------------------------------------------------------------
    def canon(self) -> Canon:
        r = self.r
        at = r.pos
        code = r.byte()
        op = CANON_BY_CODE.get(code)
        if op is None:
            raise r.error(f"invalid leading byte (0x{code:x}) for canonical function", at)
        immediates: list[object] = []
        options: tuple[CanonOption, ...] = ()
        for kind in CANON_OPS[op][1]:
            if kind in ("core_func", "func"):
                sort_byte = r.byte()
                if sort_byte != 0:
                    raise r.error(f"invalid leading byte (0x{sort_byte:x}) for canonical function {op}", r.pos - 1)
                immediates.append(r.u32())
            elif kind in ("type", "core_type", "core_table", "core_memory", "u32"):
                immediates.append(r.u32())
            elif kind in ("async", "cancel", "shared"):
                flag = r.byte()
                if flag > 1:
                    raise r.error("invalid boolean value", r.pos - 1)
                immediates.append(bool(flag))
            elif kind == "core_valtype":
                immediates.append(read_valtype(r))
            elif kind == "results":
                immediates.append(self.result_list())
            elif kind == "opts":
                options = tuple(self.vec(self.canon_option))
        return Canon(op, tuple(immediates), options)

    def canon_option(self) -> CanonOption:
        r = self.r
        code = r.byte()
        name = CANON_OPTION_BY_CODE.get(code)
        if name is None:
            raise r.error(f"invalid leading byte (0x{code:x}) for canonical option", r.pos - 1)
        return CanonOption(name, r.u32() if CANON_OPTIONS[name][1] else None)
