"""Binary encoder for components: :class:`~wasmbox.component.ir.Component` -> bytes.

The mirror of :mod:`wasmbox.component.decode`: sections are written in IR
order; a nested core module decoded from bytes is written back as those
bytes, one built from text by the core encoder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from ..binary.encode import _global_type, _import, _limits, _table_type, _valtype, encode_module
from ..binary.leb128 import encode_signed as sleb
from ..binary.leb128 import encode_unsigned as uleb
from ..ir.module import Import
from ..ir.types import FuncType as CoreFuncType
from ..ir.types import GlobalType, MemoryType, TableType
from ..ir.types import ValType as CoreValType
from . import types as t
from .decode import PREAMBLE
from .ir import (
    CANON_OPS,
    CANON_OPTIONS,
    SECTION_IDS,
    AliasSection,
    Canon,
    CanonOption,
    CanonSection,
    Component,
    ComponentExport,
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
    StartSection,
    TypeSection,
    ValueSection,
)

T = TypeVar("T")


def encode_component(component: Component) -> bytes:
    """Encode ``component``; decoding the result gives an equal IR."""
    out = bytearray(PREAMBLE)
    for section in component.sections:
        payload = _section_payload(section)
        out.append(SECTION_IDS[type(section)])
        out += uleb(len(payload))
        out += payload
    return bytes(out)


def _vec(items: Iterable[T], encode: Callable[[T], bytes]) -> bytes:
    parts = [encode(item) for item in items]
    return uleb(len(parts)) + b"".join(parts)


def name(text: str) -> bytes:
    raw = text.encode("utf-8")
    return uleb(len(raw)) + raw


def _section_payload(section: Section) -> bytes:
    if isinstance(section, CustomSection):
        return name(section.name) + section.data
    if isinstance(section, CoreModuleSection):
        return section.raw if section.raw is not None else encode_module(section.module)
    if isinstance(section, CoreInstanceSection):
        return _vec(section.instances, _core_instance)
    if isinstance(section, CoreTypeSection):
        return _vec(section.types, core_type)
    if isinstance(section, ComponentSection):
        return encode_component(section.component)
    if isinstance(section, InstanceSection):
        return _vec(section.instances, _instance)
    if isinstance(section, AliasSection):
        return _vec(section.aliases, alias)
    if isinstance(section, TypeSection):
        return _vec(section.types, deftype)
    if isinstance(section, CanonSection):
        return _vec(section.canons, _canon)
    if isinstance(section, StartSection):
        start = section.start
        return uleb(start.func) + _vec(start.args, uleb) + uleb(start.results)
    if isinstance(section, ImportSection):
        return _vec(section.imports, lambda i: extern_name(i.name) + extern_type(i.type))
    if isinstance(section, ExportSection):
        return _vec(section.exports, _export)
    if isinstance(section, ValueSection):
        return section.raw
    raise TypeError(f"not a component section: {section!r}")


def extern_name(n: t.ExternName) -> bytes:
    out = bytes((n.tag,)) + name(n.name)
    if n.tag < 2:
        return out
    return out + _vec(n.attributes, lambda a: bytes((a[0],)) + name(a[1]))


def sort(kind: t.SortKind) -> bytes:
    if kind.core is not None:
        return bytes((0, kind.core))
    return bytes((kind.sort,))


def sort_index(item: t.SortIndex) -> bytes:
    return sort(item.kind) + uleb(item.index)


def _core_instance(instance: CoreInstantiate | CoreInlineExports) -> bytes:
    if isinstance(instance, CoreInstantiate):
        return b"\x00" + uleb(instance.module) + _vec(instance.args, lambda a: name(a[0]) + b"\x12" + uleb(a[1]))
    return b"\x01" + _vec(instance.exports, lambda e: name(e[0]) + bytes((e[1],)) + uleb(e[2]))


def _instance(instance: Instantiate | InlineExports) -> bytes:
    if isinstance(instance, Instantiate):
        return b"\x00" + uleb(instance.component) + _vec(instance.args, lambda a: name(a[0]) + sort_index(a[1]))
    return b"\x01" + _vec(instance.exports, lambda e: extern_name(e[0]) + sort_index(e[1]))


def alias(a: t.Alias) -> bytes:
    target = a.target
    if isinstance(target, t.ExportAlias):
        return sort(a.kind) + b"\x00" + uleb(target.instance) + name(target.name)
    if isinstance(target, t.CoreExportAlias):
        return sort(a.kind) + b"\x01" + uleb(target.instance) + name(target.name)
    return sort(a.kind) + b"\x02" + uleb(target.count) + uleb(target.index)


def valtype(v: t.ValType) -> bytes:
    if isinstance(v, t.PrimType):
        return bytes((v.value,))
    return sleb(v)


def _optional(value: T | None, encode: Callable[[T], bytes]) -> bytes:
    return b"\x00" if value is None else b"\x01" + encode(value)


def _optional_valtype(value: t.ValType | None) -> bytes:
    return b"\x00" if value is None else b"\x01" + valtype(value)


def deftype(d: t.DefType) -> bytes:
    if isinstance(d, t.PrimType):
        return bytes((d.value,))
    if isinstance(d, t.Record):
        return b"\x72" + _vec(d.fields, lambda f: name(f[0]) + valtype(f[1]))
    if isinstance(d, t.Variant):
        return b"\x71" + _vec(d.cases, lambda c: name(c[0]) + _optional_valtype(c[1]) + b"\x00")
    if isinstance(d, t.List):
        if d.length is not None:
            return b"\x67" + valtype(d.element) + uleb(d.length)
        return b"\x70" + valtype(d.element)
    if isinstance(d, t.Tuple):
        return b"\x6f" + _vec(d.types, valtype)
    if isinstance(d, t.Flags):
        return b"\x6e" + _vec(d.labels, name)
    if isinstance(d, t.Enum):
        return b"\x6d" + _vec(d.labels, name)
    if isinstance(d, t.Option):
        return b"\x6b" + valtype(d.type)
    if isinstance(d, t.Result):
        return b"\x6a" + _optional_valtype(d.ok) + _optional_valtype(d.error)
    if isinstance(d, t.Own):
        return b"\x69" + uleb(d.resource)
    if isinstance(d, t.Borrow):
        return b"\x68" + uleb(d.resource)
    if isinstance(d, t.Stream):
        return b"\x66" + _optional_valtype(d.element)
    if isinstance(d, t.Future):
        return b"\x65" + _optional_valtype(d.element)
    if isinstance(d, t.Map):
        return b"\x63" + valtype(d.key) + valtype(d.value)
    if isinstance(d, t.FuncType):
        head = b"\x43" if d.is_async else b"\x40"
        return head + _vec(d.params, lambda p: name(p[0]) + valtype(p[1])) + result_list(d.result)
    if isinstance(d, t.ComponentType):
        return b"\x41" + _vec(d.decls, _component_decl)
    if isinstance(d, t.InstanceType):
        return b"\x42" + _vec(d.decls, _instance_decl)
    return b"\x3f" + _valtype(d.rep) + _optional(d.destructor, uleb)


def result_list(result: t.ValType | None) -> bytes:
    return b"\x01\x00" if result is None else b"\x00" + valtype(result)


def _component_decl(decl: t.Decl) -> bytes:
    if isinstance(decl, t.ImportDecl):
        return b"\x03" + extern_name(decl.name) + extern_type(decl.type)
    return _instance_decl(decl)


def _instance_decl(decl: t.Decl) -> bytes:
    if isinstance(decl, t.CoreTypeDecl):
        return b"\x00" + core_type(decl.type)
    if isinstance(decl, t.TypeDecl):
        return b"\x01" + deftype(decl.type)
    if isinstance(decl, t.AliasDecl):
        return b"\x02" + alias(decl.alias)
    if isinstance(decl, t.ExportDecl):
        return b"\x04" + extern_name(decl.name) + extern_type(decl.type)
    raise TypeError("an import declarator in an instance type")


def extern_type(e: t.ExternType) -> bytes:
    if e.sort == t.ExternSort.CORE_MODULE:
        return b"\x00\x11" + uleb(e.index or 0)
    if e.sort in (t.ExternSort.FUNC, t.ExternSort.COMPONENT, t.ExternSort.INSTANCE):
        return bytes((e.sort,)) + uleb(e.index or 0)
    if isinstance(e.bound, t.Eq):
        return bytes((e.sort,)) + b"\x00" + uleb(e.bound.index)
    if e.sort == t.ExternSort.TYPE:
        return b"\x03\x01"
    assert e.value is not None
    return b"\x02\x01" + valtype(e.value)


def _export(export: ComponentExport) -> bytes:
    return extern_name(export.name) + sort_index(export.item) + _optional(export.type, extern_type)


def core_type(c: t.CoreDefType) -> bytes:
    if isinstance(c, CoreFuncType):
        return b"\x60" + _vec(c.params, _valtype) + _vec(c.results, _valtype)
    if isinstance(c, t.CoreModuleType):
        return b"\x50" + _vec(c.decls, _core_module_decl)
    return c.raw


def _core_module_decl(decl: t.CoreModuleDecl) -> bytes:
    if isinstance(decl, Import):
        return b"\x00" + _import(decl)
    if isinstance(decl, CoreFuncType | t.CoreModuleType | t.CoreRecType):
        return b"\x01" + core_type(decl)
    if isinstance(decl, t.CoreOuterAlias):
        return b"\x02\x10\x01" + uleb(decl.count) + uleb(decl.index)
    return b"\x03" + name(decl.name) + _core_extern_desc(decl.kind, decl.type)


def _core_extern_desc(kind: int, desc: int | TableType | MemoryType | GlobalType) -> bytes:
    head = bytes((kind,))
    if isinstance(desc, int):
        return head + (b"\x00" if kind == 4 else b"") + uleb(desc)
    if isinstance(desc, TableType):
        return head + _table_type(desc)
    if isinstance(desc, MemoryType):
        return head + _limits(desc.limits)
    return head + _global_type(desc)


def _canon(canon: Canon) -> bytes:
    code, kinds = CANON_OPS[canon.op]
    out = bytearray((code,))
    values = iter(canon.immediates)
    for kind in kinds:
        if kind == "opts":
            out += _vec(canon.options, _canon_option)
            continue
        value = next(values)
        if kind in ("core_func", "func"):
            out += b"\x00" + uleb(value)  # type: ignore[arg-type]
        elif kind in ("async", "cancel", "shared"):
            out += b"\x01" if value else b"\x00"
        elif kind == "core_valtype":
            assert isinstance(value, CoreValType)
            out += _valtype(value)
        elif kind == "results":
            out += result_list(value)  # type: ignore[arg-type]
        else:
            out += uleb(value)  # type: ignore[arg-type]
    return bytes(out)


def _canon_option(option: CanonOption) -> bytes:
    code, _ = CANON_OPTIONS[option.name]
    return bytes((code,)) + (b"" if option.index is None else uleb(option.index))
