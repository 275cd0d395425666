"""Component text printer (``wasm2wat`` of a component binary).

Writes the explicit form, no abbreviations: every reference is a number, each
definition carries its index as a ``(;N;)`` comment, nested core modules are
printed by the core printer.  The text parses back to the same component
(custom sections, which the component text format has no form for, are
written as comments and dropped).
"""

from __future__ import annotations

from ..ir.module import Import
from ..ir.types import FuncType as CoreFuncType
from ..ir.types import GlobalType, MemoryType, TableType
from ..text.printer import format_string, print_module
from . import types as t
from .ir import (
    CANON_OPS,
    AliasSection,
    Canon,
    CanonSection,
    Component,
    ComponentExport,
    ComponentSection,
    CoreInlineExports,
    CoreInstanceSection,
    CoreModuleSection,
    CoreTypeSection,
    CustomSection,
    ExportSection,
    ImportSection,
    InlineExports,
    InstanceSection,
    StartSection,
    TypeSection,
    ValueSection,
)

INDENT = "  "


def print_component(component: Component) -> str:
    """The component as text, ending in a newline."""
    return "\n".join(_Printer().component(component, 0)) + "\n"


def _string(text: str) -> str:
    return format_string(text.encode("utf-8"))


def _valtype(v: t.ValType) -> str:
    return v.text if isinstance(v, t.PrimType) else str(v)


def _name(n: t.ExternName) -> str:
    out = _string(n.name)
    for code, value in n.attributes:
        out += f" ({t.ATTRIBUTE_NAMES[code]} {_string(value)})"
    return out


def _sort_index(item: t.SortIndex) -> str:
    return f"({item.kind.text} {item.index})"


def _limits(limits: object) -> str:
    assert isinstance(limits, TableType | MemoryType)
    bounds = limits.limits
    return f"{bounds.min}" + ("" if bounds.max is None else f" {bounds.max}")


def _core_func_type(c: CoreFuncType) -> str:
    params = "".join(f" (param {p.text})" for p in c.params)
    results = "".join(f" (result {r.text})" for r in c.results)
    return f"(func{params}{results})"


def _core_desc(kind: int, desc: object) -> str:
    if kind in (0, 4):
        return f"({('func', '', '', '', 'tag')[kind]} (type {desc}))"
    if isinstance(desc, TableType):
        return f"(table {_limits(desc)} {desc.element.text})"
    if isinstance(desc, MemoryType):
        return f"(memory {_limits(desc)})"
    assert isinstance(desc, GlobalType)
    valtype = desc.valtype.text
    return f"(global {'(mut ' + valtype + ')' if desc.mutable else valtype})"


class _Printer:
    def __init__(self) -> None:
        self.counts: list[dict[str, int]] = []

    def define(self, space: str) -> str:
        counts = self.counts[-1]
        index = counts.get(space, 0)
        counts[space] = index + 1
        return f"(;{index};)"

    def component(self, component: Component, depth: int) -> list[str]:
        self.counts.append({})
        lines = [f"{INDENT * depth}(component {self.define_outer()}".rstrip()]
        for section in component.sections:
            lines.extend(self.section(section, depth + 1))
        self.counts.pop()
        lines[-1] += ")"
        return lines

    def define_outer(self) -> str:
        if len(self.counts) < 2:
            return ""
        counts = self.counts[-2]
        index = counts.get("component", 0)
        counts["component"] = index + 1
        return f"(;{index};)"

    def section(self, section: object, depth: int) -> list[str]:
        pad = INDENT * depth
        if isinstance(section, CustomSection):
            return [f"{pad}(; custom section {_string(section.name)}, {len(section.data)} bytes ;)"]
        if isinstance(section, CoreModuleSection):
            text = print_module(section.module).rstrip("\n")
            body = text[len("(module") :]
            lines = f"(core module {self.define('core module')}{body}".split("\n")
            return [pad + line for line in lines]
        if isinstance(section, ComponentSection):
            return self.component(section.component, depth)
        if isinstance(section, CoreInstanceSection):
            out = []
            for core_instance in section.instances:
                label = self.define("core instance")
                if isinstance(core_instance, CoreInlineExports):
                    exports = "".join(f" (export {_string(n)} ({s.text} {i}))" for n, s, i in core_instance.exports)
                    out.append(f"{pad}(core instance {label}{exports})")
                else:
                    args = "".join(f" (with {_string(n)} (instance {i}))" for n, i in core_instance.args)
                    out.append(f"{pad}(core instance {label} (instantiate {core_instance.module}{args}))")
            return out
        if isinstance(section, CoreTypeSection):
            return [f"{pad}(core type {self.define('core type')} {self.core_type(c)})" for c in section.types]
        if isinstance(section, InstanceSection):
            out = []
            for instance in section.instances:
                label = self.define("instance")
                if isinstance(instance, InlineExports):
                    exports = "".join(f" (export {_name(n)} {_sort_index(s)})" for n, s in instance.exports)
                    out.append(f"{pad}(instance {label}{exports})")
                else:
                    args = "".join(f" (with {_string(n)} {_sort_index(s)})" for n, s in instance.args)
                    out.append(f"{pad}(instance {label} (instantiate {instance.component}{args}))")
            return out
        if isinstance(section, AliasSection):
            return [pad + self.alias(a) for a in section.aliases]
        if isinstance(section, TypeSection):
            return [f"{pad}(type {self.define('type')} {self.deftype(d, depth)})" for d in section.types]
        if isinstance(section, CanonSection):
            return [pad + self.canon(c) for c in section.canons]
        if isinstance(section, StartSection):
            start = section.start
            args = "".join(f" (value {a})" for a in start.args)
            results = " (result (value))" * start.results
            return [f"{pad}(start {start.func}{args}{results})"]
        if isinstance(section, ImportSection):
            return [f"{pad}(import {_name(i.name)} {self.extern_desc(i.type, True)})" for i in section.imports]
        if isinstance(section, ExportSection):
            return [pad + self.export(e) for e in section.exports]
        assert isinstance(section, ValueSection)
        return [f"{pad}(; value section, {len(section.raw)} bytes ;)"]

    def export(self, export: ComponentExport) -> str:
        label = self.define(export.item.kind.text)
        ascribed = "" if export.type is None else " " + self.extern_desc(export.type, False)
        return f"(export {label} {_name(export.name)} {_sort_index(export.item)}{ascribed})"

    def alias(self, alias: t.Alias) -> str:
        label = self.define(alias.kind.text)
        target = alias.target
        if isinstance(target, t.ExportAlias):
            where = f"export {target.instance} {_string(target.name)}"
        elif isinstance(target, t.CoreExportAlias):
            where = f"core export {target.instance} {_string(target.name)}"
        else:
            where = f"outer {target.count} {target.index}"
        return f"(alias {where} ({alias.kind.text} {label}))"

    def extern_desc(self, e: t.ExternType, defines: bool) -> str:
        label = f" {self.define(e.sort.text)}" if defines else ""
        if e.sort in (t.ExternSort.CORE_MODULE, t.ExternSort.FUNC, t.ExternSort.COMPONENT, t.ExternSort.INSTANCE):
            return f"({e.sort.text}{label} (type {e.index}))"
        if e.sort == t.ExternSort.TYPE:
            bound = f"(eq {e.bound.index})" if isinstance(e.bound, t.Eq) else "(sub resource)"
            return f"(type{label} {bound})"
        if isinstance(e.bound, t.Eq):
            return f"(value{label} (eq {e.bound.index}))"
        assert e.value is not None
        return f"(value{label} {_valtype(e.value)})"

    def core_type(self, c: t.CoreDefType) -> str:
        if isinstance(c, CoreFuncType):
            return _core_func_type(c)
        if isinstance(c, t.CoreRecType):
            return "(; a GC core type, which wasmbox cannot print ;)"
        decls = []
        for decl in c.decls:
            if isinstance(decl, Import):
                decls.append(f"(import {_string(decl.module)} {_string(decl.name)} {_core_desc(decl.kind, decl.desc)})")
            elif isinstance(decl, t.CoreExportDecl):
                decls.append(f"(export {_string(decl.name)} {_core_desc(decl.kind, decl.type)})")
            elif isinstance(decl, t.CoreOuterAlias):
                decls.append(f"(alias outer {decl.count} {decl.index} (type))")
            else:
                decls.append(f"(type {self.core_type(decl)})")
        return "(module" + "".join(" " + d for d in decls) + ")"

    def deftype(self, d: t.DefType, depth: int) -> str:
        if isinstance(d, t.PrimType):
            return d.text
        if isinstance(d, t.Record):
            return "(record" + "".join(f" (field {_string(n)} {_valtype(v)})" for n, v in d.fields) + ")"
        if isinstance(d, t.Variant):
            cases = "".join(f" (case {_string(n)}{'' if v is None else ' ' + _valtype(v)})" for n, v in d.cases)
            return f"(variant{cases})"
        if isinstance(d, t.List):
            return f"(list {_valtype(d.element)}{'' if d.length is None else f' {d.length}'})"
        if isinstance(d, t.Tuple):
            return "(tuple" + "".join(" " + _valtype(v) for v in d.types) + ")"
        if isinstance(d, t.Flags | t.Enum):
            keyword = "flags" if isinstance(d, t.Flags) else "enum"
            return f"({keyword}" + "".join(" " + _string(label) for label in d.labels) + ")"
        if isinstance(d, t.Option):
            return f"(option {_valtype(d.type)})"
        if isinstance(d, t.Result):
            ok = "" if d.ok is None else " " + _valtype(d.ok)
            error = "" if d.error is None else f" (error {_valtype(d.error)})"
            return f"(result{ok}{error})"
        if isinstance(d, t.Own | t.Borrow):
            return f"({'own' if isinstance(d, t.Own) else 'borrow'} {d.resource})"
        if isinstance(d, t.Stream | t.Future):
            keyword = "stream" if isinstance(d, t.Stream) else "future"
            return f"({keyword}{'' if d.element is None else ' ' + _valtype(d.element)})"
        if isinstance(d, t.Map):
            return f"(map {_valtype(d.key)} {_valtype(d.value)})"
        if isinstance(d, t.FuncType):
            params = "".join(f" (param {_string(n)} {_valtype(v)})" for n, v in d.params)
            result = "" if d.result is None else f" (result {_valtype(d.result)})"
            return f"(func{' async' if d.is_async else ''}{params}{result})"
        if isinstance(d, t.ResourceType):
            dtor = "" if d.destructor is None else f" (dtor (core func {d.destructor}))"
            return f"(resource (rep {d.rep.text}){dtor})"
        keyword = "component" if isinstance(d, t.ComponentType) else "instance"
        self.counts.append({})
        decls = [self.decl(decl, depth + 1) for decl in d.decls]
        self.counts.pop()
        if not decls:
            return f"({keyword})"
        pad = INDENT * (depth + 1)
        return f"({keyword}\n" + "\n".join(pad + line for line in decls) + ")"

    def decl(self, decl: t.Decl, depth: int) -> str:
        if isinstance(decl, t.ImportDecl):
            return f"(import {_name(decl.name)} {self.extern_desc(decl.type, True)})"
        if isinstance(decl, t.ExportDecl):
            return f"(export {_name(decl.name)} {self.extern_desc(decl.type, True)})"
        if isinstance(decl, t.TypeDecl):
            return f"(type {self.define('type')} {self.deftype(decl.type, depth)})"
        if isinstance(decl, t.CoreTypeDecl):
            return f"(core type {self.define('core type')} {self.core_type(decl.type)})"
        return self.alias(decl.alias)

    def canon(self, canon: Canon) -> str:
        parts = ["canon", canon.op]
        values = iter(canon.immediates)
        lift_type = None
        for kind in CANON_OPS[canon.op][1]:
            if kind == "opts":
                parts.extend(f"({o.name} {o.index})" if o.index is not None else o.name for o in canon.options)
                continue
            value = next(values)
            if kind == "core_func":
                parts.append(f"(core func {value})")
            elif kind == "func":
                parts.append(f"(func {value})")
            elif kind == "type" and canon.op == "lift":
                lift_type = value
            elif kind in ("async", "cancel", "shared"):
                if value:
                    parts.append({"async": "async", "cancel": "cancellable", "shared": "shared"}[kind])
            elif kind == "core_valtype":
                parts.append(value.text)  # type: ignore[attr-defined]
            elif kind == "results":
                if value is not None:
                    parts.append(f"(result {_valtype(value)})")  # type: ignore[arg-type]
            elif kind == "core_memory":
                parts.append(f"(memory {value})")
            elif kind == "core_table":
                parts.append(f"(table {value})")
            else:
                parts.append(str(value))
        if canon.op == "lift":
            parts.append(f"(func {self.define('func')} (type {lift_type}))")
        else:
            parts.append(f"(core func {self.define('core func')})")
        return "(" + " ".join(parts) + ")"
