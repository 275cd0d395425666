"""Text format of components: S-expressions -> :class:`~wasmbox.component.ir.Component`.

The grammar is the Explainer's, with the abbreviations the spec tests use
(and wasm-tools accepts): inline ``(export "n")`` on definitions, inline
imports, ``(func (canon lift ...))`` and ``(core func (canon lower ...))``,
inline compound value types and type uses (hoisted into type definitions just
before their user, as the binary has no anonymous compound types), export
paths such as ``(core memory $i "mem")`` (an ``alias`` inserted before the
user) and implicit ``alias outer`` for identifiers of enclosing scopes.

Index spaces grow in definition order, so identifiers are resolved in one
pass: a definition may only name what precedes it.  Nested core modules are
parsed by the core module parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import MalformedError
from ..ir.instructions import ALL_FEATURES
from ..ir.module import Import
from ..ir.types import VALTYPE_BY_TEXT, ExternKind, GlobalType, Limits, MemoryType, TableType
from ..ir.types import FuncType as CoreFuncType
from ..ir.types import ValType as CoreValType
from ..text.lexer import Node, SExpr, Token, parse_sexprs, text_error
from ..text.literals import parse_uint
from ..text.parser import ModuleParser
from . import types as t
from .decode import decode_component
from .ir import (
    CANON_OPS,
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
    ExportSection,
    ImportSection,
    InlineExports,
    InstanceSection,
    Instantiate,
    Section,
    Start,
    StartSection,
    TypeSection,
)

CORE_SORTS = {s.text: s for s in t.CoreSort}
COMPONENT_SORTS = {"func": t.Sort.FUNC, "value": t.Sort.VALUE, "type": t.Sort.TYPE}
COMPONENT_SORTS.update({"component": t.Sort.COMPONENT, "instance": t.Sort.INSTANCE})
OUTER_ALIASABLE = frozenset(("type", "component", "core module", "core type"))
EXTERN_SORTS = {s.text: s for s in t.ExternSort}
DEFVALTYPE_HEADS = frozenset("record variant list tuple flags enum option result own borrow stream future map".split())


def sort_kind(text: str) -> t.SortKind:
    if text.startswith("core "):
        return t.SortKind(t.Sort.CORE, CORE_SORTS[text[5:]])
    return t.SortKind(COMPONENT_SORTS[text])


@dataclass
class Scope:
    """One component, component type, instance type or core module type: its
    index spaces (identifiers and counts per sort) and what it has emitted."""

    kind: str  # "component" | "component type" | "instance type" | "module type"
    parent: Scope | None
    ids: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    decls: list[object] = field(default_factory=list)
    outer_cache: dict[tuple[str, str], int] = field(default_factory=dict)
    pending_exports: list[ComponentExport] = field(default_factory=list)

    def define(self, sort: str, token: Token | None) -> int:
        index = self.counts.get(sort, 0)
        self.counts[sort] = index + 1
        if token is not None:
            names = self.ids.setdefault(sort, {})
            if token.text in names:
                raise text_error(f"duplicate {sort} identifier {token.text}", token)
            names[token.text] = index
        return index


class ComponentParser:
    """Parses the fields of one ``(component ...)`` (and everything nested in it)."""

    def __init__(self, source: str | None = None, features: frozenset[str] = ALL_FEATURES) -> None:
        self.source = source
        self.features = features

    # --- entry points ---------------------------------------------------------------
    def parse(self, fields: list[Node], component_id: Token | None = None) -> Component:
        scope = Scope("component", None)
        if component_id is not None:
            scope.ids.setdefault("component self", {})[component_id.text] = 0
        self.component_fields(scope, fields)
        return Component(scope.sections)

    def nested(self, parent: Scope, fields: list[Node], component_id: Token | None) -> Component:
        scope = Scope("component", parent)
        if component_id is not None:
            scope.ids.setdefault("component self", {})[component_id.text] = 0
        self.component_fields(scope, fields)
        return Component(scope.sections)

    # --- helpers -----------------------------------------------------------------------
    def error(self, message: str, node: Node | None) -> MalformedError:
        return text_error(message, node, self.source)

    def expect_list(self, node: Node | None, head: str | None = None) -> SExpr:
        if not isinstance(node, SExpr) or (head is not None and node.head() != head):
            raise self.error(f"expected `({head or '...'} ...)`", node)
        return node

    def string(self, node: Node | None) -> str:
        if not isinstance(node, Token) or node.kind != "string":
            raise self.error("expected a string", node)
        try:
            return node.value.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("malformed UTF-8 encoding", node) from None

    def number(self, node: Node | None) -> int:
        if not isinstance(node, Token) or node.kind != "keyword":
            raise self.error("expected a number", node)
        try:
            return parse_uint(node.text, 32)
        except Exception:  # noqa: BLE001 - any literal error is a malformed number
            raise self.error("malformed number", node) from None

    @staticmethod
    def head_of(node: SExpr) -> tuple[str | None, int]:
        """The head keyword of a list, joining ``core X`` into one; and where the rest starts."""
        head = node.head()
        if head == "core" and len(node.items) > 1 and isinstance(node.items[1], Token):
            return f"core {node.items[1].text}", 2
        return head, 1

    @staticmethod
    def optional_id(items: list[Node], i: int) -> tuple[Token | None, int]:
        if i < len(items) and isinstance(items[i], Token) and items[i].kind == "id":  # type: ignore[union-attr]
            return items[i], i + 1  # type: ignore[return-value]
        return None, i

    def emit(self, scope: Scope, section_type: type, item: object) -> None:
        """Append a definition to the scope: the last section when it is of the same kind."""
        if scope.kind != "component":
            scope.decls.append(item)
            return
        last = scope.sections[-1] if scope.sections else None
        if section_type in (ComponentSection, StartSection, CoreModuleSection):
            scope.sections.append(item)  # type: ignore[arg-type]
        elif type(last) is section_type:
            _section_items(last).append(item)  # type: ignore[arg-type]
        else:
            scope.sections.append(section_type([item]))

    def emit_type(self, scope: Scope, deftype: t.DefType, token: Token | None = None) -> int:
        if scope.kind == "module type":
            raise self.error("component types inside a core module type", token)
        self.emit(scope, TypeSection, deftype if scope.kind == "component" else t.TypeDecl(deftype))
        return scope.define("type", token)

    def emit_alias(self, scope: Scope, alias: t.Alias, token: Token | None = None) -> int:
        self.emit(scope, AliasSection, alias if scope.kind == "component" else t.AliasDecl(alias))
        return scope.define(alias.kind.text, token)

    # --- identifiers and references ------------------------------------------------------
    def resolve(self, scope: Scope, sort: str, node: Node | None) -> int:
        if isinstance(node, Token) and node.kind == "id":
            index = scope.ids.get(sort, {}).get(node.text)
            if index is not None:
                return index
            cached = scope.outer_cache.get((sort, node.text))
            if cached is not None:
                return cached
            return self.resolve_outer(scope, sort, node)
        return self.number(node)

    def resolve_outer(self, scope: Scope, sort: str, token: Token) -> int:
        depth = 0
        outer = scope
        while outer.parent is not None:
            outer = outer.parent
            depth += 1
            index = outer.ids.get(sort, {}).get(token.text)
            if index is None:
                continue
            if sort not in OUTER_ALIASABLE:
                raise self.error(f"outer item `{token.text[1:]}` is not a module, type, or component", token)
            alias = t.Alias(sort_kind(sort), t.OuterAlias(depth, index))
            new = self.emit_alias(scope, alias)
            scope.outer_cache[(sort, token.text)] = new
            return new
        raise self.error(f"unknown {sort}: failed to find name `{token.text}`", token)

    def outer_count(self, scope: Scope, node: Node | None) -> int:
        """The ``ct`` of ``alias outer``: a number, or the identifier of an enclosing component."""
        if isinstance(node, Token) and node.kind == "id":
            depth = 0
            outer: Scope | None = scope
            while outer is not None:
                if node.text in outer.ids.get("component self", {}):
                    return depth
                outer, depth = outer.parent, depth + 1
            raise self.error(f"outer component `{node.text}` not found", node)
        return self.number(node)

    def outer_scope(self, scope: Scope, count: int) -> Scope | None:
        outer: Scope | None = scope
        for _ in range(count):
            outer = outer.parent if outer is not None else None
        return outer

    def sort_ref(self, scope: Scope, node: Node | None, expected: str | None = None) -> tuple[str, int]:
        """``(sort idx name*)``: a reference, through export aliases when names follow."""
        ref = self.expect_list(node)
        sort, i = self.head_of(ref)
        if sort is None or (sort not in COMPONENT_SORTS and not (sort.startswith("core ") and sort[5:] in CORE_SORTS)):
            raise self.error(f"unknown sort {sort}", ref)
        if expected is not None and sort != expected:
            if sort == "func" and expected == "core func":
                pass  # ``(dtor (func $f))`` names a core function
            else:
                raise self.error(f"expected a {expected} reference, found {sort}", ref)
            sort = expected
        items = ref.items[i:]
        if len(items) == 1:
            return sort, self.resolve(scope, sort, items[0])
        return sort, self.export_path(scope, sort, items, ref)

    def export_path(self, scope: Scope, sort: str, items: list[Node], node: SExpr) -> int:
        """``$instance "a" "b"``: alias each export in turn (instances, then the item)."""
        if len(items) < 2:
            raise self.error("expected an index", node)
        # Core modules and core types are exported by component instances; other core sorts by core instances.
        core = sort.startswith("core ") and sort not in ("core module", "core type")
        instance = self.resolve(scope, "core instance" if core else "instance", items[0])
        names = [self.string(item) for item in items[1:]]
        for name in names[:-1]:
            if core:
                raise self.error("core instances cannot be nested", node)
            alias = t.Alias(sort_kind("instance"), t.ExportAlias(instance, name))
            instance = self.emit_alias(scope, alias)
        target: t.ExportAlias | t.CoreExportAlias
        target = t.CoreExportAlias(instance, names[-1]) if core else t.ExportAlias(instance, names[-1])
        return self.emit_alias(scope, t.Alias(sort_kind(sort), target))

    def index_or_ref(self, scope: Scope, node: Node | None, sort: str) -> int:
        """An index given bare (``$x``, ``0``) or as ``(sort ...)``."""
        if isinstance(node, SExpr):
            return self.sort_ref(scope, node, sort)[1]
        return self.resolve(scope, sort, node)

    # --- component fields -------------------------------------------------------------------
    def component_fields(self, scope: Scope, fields: list[Node]) -> None:
        for node in fields:
            if isinstance(node, Token) and node.kind == "error":
                raise self.error("unexpected token", node)
            item = self.expect_list(node)
            head, i = self.head_of(item)
            scope.outer_cache.clear()  # like wasm-tools: each definition gets its own implicit outer aliases
            handler = self.FIELD_HANDLERS.get(head or "")
            if handler is None:
                raise self.error(f"unexpected token `{head}`", item)
            handler(self, scope, item, i)
        for export in scope.pending_exports:
            self.emit_export(scope, export, None)

    def inline_exports(self, items: list[Node], i: int) -> tuple[list[t.ExternName], int]:
        names = []
        while i < len(items) and isinstance(items[i], SExpr) and items[i].head() == "export":  # type: ignore[union-attr]
            export = items[i]
            assert isinstance(export, SExpr)
            if len(export.items) < 2 or not isinstance(export.items[1], Token) or export.items[1].kind != "string":
                break  # an export field of a nested component
            name, end = self.extern_name(export.items, 1)
            if end != len(export.items):
                break
            names.append(name)
            i += 1
        return names, i

    def inline_import(self, items: list[Node], i: int) -> tuple[t.ExternName | None, int]:
        if i < len(items) and isinstance(items[i], SExpr) and items[i].head() == "import":  # type: ignore[union-attr]
            node = items[i]
            assert isinstance(node, SExpr)
            name, end = self.extern_name(node.items, 1)
            if end != len(node.items):
                return None, i  # a core module's own import field
            return name, i + 1
        return None, i

    def export_all(self, scope: Scope, names: list[t.ExternName], sort: str, index: int) -> None:
        """Inline ``(export "n")`` abbreviations: like wasm-tools, their exports go at the component's end."""
        for name in names:
            scope.pending_exports.append(ComponentExport(name, t.SortIndex(sort_kind(sort), index)))

    def emit_export(self, scope: Scope, export: ComponentExport, token: Token | None) -> None:
        self.emit(scope, ExportSection, export)
        scope.define(export.item.kind.text, token)

    def extern_name(self, items: list[Node], i: int) -> tuple[t.ExternName, int]:
        """``"name" attribute*`` of an import or export."""
        name = self.string(items[i] if i < len(items) else None)
        i += 1
        attributes: dict[str, str] = {}
        while i < len(items) and isinstance(items[i], SExpr):
            node = items[i]
            assert isinstance(node, SExpr)
            head = node.head()
            if head not in ("implements", "versionsuffix", "external-id"):
                break
            if head in attributes:
                raise self.error(f"duplicate '{head}' option in name", node)
            attributes[head] = self.string(node.items[1] if len(node.items) > 1 else None)
            i += 1
        if not attributes:
            return t.ExternName(name, 0), i
        codes = {label: code for code, label in enumerate(t.ATTRIBUTE_NAMES)}
        return t.ExternName(name, 2, tuple((codes[kind], value) for kind, value in attributes.items())), i

    def core_module_field(self, scope: Scope, node: SExpr, i: int) -> None:
        items = node.items
        ident, i = self.optional_id(items, i)
        exports, i = self.inline_exports(items, i)
        imported, i = self.inline_import(items, i)
        if imported is not None:
            type_index = self.core_module_type_use(scope, items[i:], node)
            self.emit_import(
                scope, ComponentImport(imported, t.ExternType(t.ExternSort.CORE_MODULE, type_index)), ident
            )
        else:
            rest = items[i:]
            if rest and isinstance(rest[0], Token) and rest[0].kind == "keyword" and rest[0].text == "binary":
                raw = b"".join(
                    item.value if isinstance(item, Token) and item.kind == "string" else self._bad(item)
                    for item in rest[1:]
                )
                from ..binary.decode import decode_module

                self.emit(scope, CoreModuleSection, CoreModuleSection(decode_module(raw, self.features), raw))
            else:
                module = ModuleParser(list(rest), ident, self.source, self.features).parse()
                self.emit(scope, CoreModuleSection, CoreModuleSection(module))
            scope.define("core module", ident)
        self.export_all(scope, exports, "core module", scope.counts["core module"] - 1)

    def _bad(self, node: Node) -> bytes:
        raise self.error("expected a string", node)

    def core_instance_field(self, scope: Scope, node: SExpr, i: int) -> None:
        items = node.items
        ident, i = self.optional_id(items, i)
        body = items[i:]
        if len(body) == 1 and isinstance(body[0], SExpr) and body[0].head() == "instantiate":
            inst = body[0]
            target = inst.items[1] if len(inst.items) > 1 else None
            if isinstance(target, SExpr) and target.head() == "module":  # (module $instance "name")
                module = self.export_path(scope, "core module", target.items[1:], target)
            else:
                module = self.index_or_ref(scope, target, "core module")
            args = []
            for arg_node in inst.items[2:]:
                arg = self.expect_list(arg_node, "with")
                name = self.string(arg.items[1] if len(arg.items) > 1 else None)
                target = self.expect_list(arg.items[2] if len(arg.items) > 2 else None, "instance")
                if len(target.items) == 2 and not isinstance(target.items[1], SExpr):
                    index = self.resolve(scope, "core instance", target.items[1])
                else:
                    index = self.core_inline_instance(scope, target.items[1:], None)
                args.append((name, index))
            self.emit(scope, CoreInstanceSection, CoreInstantiate(module, tuple(args)))
            scope.define("core instance", ident)
            return
        self.core_inline_instance(scope, body, ident)

    def core_inline_instance(self, scope: Scope, exports: list[Node], ident: Token | None) -> int:
        entries = []
        for export_node in exports:
            export = self.expect_list(export_node, "export")
            name = self.string(export.items[1] if len(export.items) > 1 else None)
            ref = self.expect_list(export.items[2] if len(export.items) > 2 else None)
            sort, _ = self.head_of(ref)
            core_sort = f"core {ref.head()}" if sort is not None and not sort.startswith("core ") else sort
            if core_sort is None or core_sort[5:] not in CORE_SORTS:
                raise self.error(f"unknown core sort {sort}", ref)
            if sort is not None and sort.startswith("core "):
                _, index = self.sort_ref(scope, ref)
            elif len(ref.items) > 2:
                index = self.export_path(scope, core_sort, ref.items[1:], ref)
            else:
                index = self.resolve(scope, core_sort, ref.items[1] if len(ref.items) == 2 else None)
            entries.append((name, CORE_SORTS[core_sort[5:]], index))
        self.emit(scope, CoreInstanceSection, CoreInlineExports(tuple(entries)))
        return scope.define("core instance", ident)

    def core_type_field(self, scope: Scope, node: SExpr, i: int) -> None:
        items = node.items
        ident, i = self.optional_id(items, i)
        definition = self.expect_list(items[i] if i < len(items) else None)
        core_type = self.core_deftype(scope, definition)
        self.emit(scope, CoreTypeSection, core_type if scope.kind == "component" else t.CoreTypeDecl(core_type))
        scope.define("core type", ident)

    def core_deftype(self, scope: Scope, node: SExpr) -> t.CoreDefType:
        head = node.head()
        if head == "func":
            return self.core_func_type(node.items[1:])
        if head == "module":
            module_scope = Scope("module type", scope)
            for decl in node.items[1:]:
                self.module_type_decl(module_scope, self.expect_list(decl))
            return t.CoreModuleType(tuple(module_scope.decls))  # type: ignore[arg-type]
        raise self.error(f"unsupported core type `{head}`", node)

    def core_valtype(self, node: Node | None) -> CoreValType:
        if isinstance(node, Token) and node.text in VALTYPE_BY_TEXT:
            return VALTYPE_BY_TEXT[node.text]
        raise self.error("unknown core value type", node)

    def core_func_type(self, items: list[Node]) -> CoreFuncType:
        params: list[CoreValType] = []
        results: list[CoreValType] = []
        for node in items:
            group = self.expect_list(node)
            head = group.head()
            if head not in ("param", "result"):
                raise self.error("unexpected token", group)
            rest = group.items[1:]
            if head == "param" and rest and isinstance(rest[0], Token) and rest[0].kind == "id":
                rest = rest[1:]
            (params if head == "param" else results).extend(self.core_valtype(item) for item in rest)
        return CoreFuncType(tuple(params), tuple(results))

    def module_type_decl(self, scope: Scope, node: SExpr) -> None:
        head = node.head()
        items = node.items
        if head == "type":
            ident, i = self.optional_id(items, 1)
            scope.decls.append(self.core_deftype(scope, self.expect_list(items[i] if i < len(items) else None)))
            scope.define("core type", ident)
        elif head == "alias":
            # (alias outer ct idx (type $id?))
            if len(items) < 5 or not isinstance(items[1], Token) or items[1].text != "outer":
                raise self.error("expected an outer alias", node)
            count = self.outer_count(scope, items[2])
            outer = self.outer_scope(scope, count)
            index = self.resolve(outer, "core type", items[3]) if outer is not None else self.number(items[3])
            target = self.expect_list(items[4], "type")
            scope.decls.append(t.CoreOuterAlias(count, index))
            scope.define("core type", self.optional_id(target.items, 1)[0])
        elif head == "import":
            module = self.string(items[1] if len(items) > 1 else None)
            name = self.string(items[2] if len(items) > 2 else None)
            kind, desc = self.core_extern_desc(scope, self.expect_list(items[3] if len(items) > 3 else None))
            scope.decls.append(Import(module, name, ExternKind(kind), desc))
        elif head == "export":
            name = self.string(items[1] if len(items) > 1 else None)
            kind, desc = self.core_extern_desc(scope, self.expect_list(items[2] if len(items) > 2 else None))
            scope.decls.append(t.CoreExportDecl(name, desc, kind))
        else:
            raise self.error(f"unexpected token `{head}` in a core module type", node)

    def core_extern_desc(self, scope: Scope, node: SExpr) -> tuple[int, int | TableType | MemoryType | GlobalType]:
        head = node.head()
        items = node.items
        _, i = self.optional_id(items, 1)
        rest = items[i:]
        if head in ("func", "tag"):
            kind = 0 if head == "func" else 4
            if len(rest) == 1 and isinstance(rest[0], SExpr) and rest[0].head() == "type":
                return kind, self.resolve(scope, "core type", rest[0].items[1] if len(rest[0].items) > 1 else None)
            scope.decls.append(self.core_func_type(rest))
            return kind, scope.define("core type", None)
        if head == "memory":
            return 2, MemoryType(self.limits(rest))
        if head == "table":
            return 1, TableType(self.core_valtype(rest[-1] if rest else None), self.limits(rest[:-1]))
        if head == "global":
            first = rest[0] if rest else None
            if isinstance(first, SExpr) and first.head() == "mut":
                return 3, GlobalType(self.core_valtype(first.items[1] if len(first.items) > 1 else None), True)
            return 3, GlobalType(self.core_valtype(first))
        raise self.error(f"unexpected core extern kind `{head}`", node)

    def limits(self, items: list[Node]) -> Limits:
        numbers = [self.number(item) for item in items]
        if len(numbers) == 1:
            return Limits(numbers[0])
        if len(numbers) == 2:
            return Limits(numbers[0], numbers[1])
        raise self.error("malformed limits", items[0] if items else None)

    def core_func_field(self, scope: Scope, node: SExpr, i: int) -> None:
        items = node.items
        ident, i = self.optional_id(items, i)
        body = self.expect_list(items[i] if i < len(items) else None)
        if body.head() == "canon":
            self.canon(scope, body, ident, forced="core func")
        elif body.head() == "alias":
            self.alias_definition(scope, body, ident, "core func")
        else:
            raise self.error("expected `(canon ...)` or `(alias ...)`", body)

    def core_sort_alias_field(self, scope: Scope, node: SExpr, i: int) -> None:
        """``(core table $t (alias core export $i "t"))`` and the like."""
        sort, _ = self.head_of(node)
        items = node.items
        ident, i = self.optional_id(items, i)
        body = self.expect_list(items[i] if i < len(items) else None, "alias")
        self.alias_definition(scope, body, ident, sort or "")

    def component_field(self, scope: Scope, node: SExpr, i: int) -> None:
        items = node.items
        ident, i = self.optional_id(items, i)
        exports, i = self.inline_exports(items, i)
        imported, i = self.inline_import(items, i)
        if imported is not None:
            index = self.type_use_or_inline(scope, items[i:], node, "component")
            self.emit_import(scope, ComponentImport(imported, t.ExternType(t.ExternSort.COMPONENT, index)), ident)
        else:
            nested = self.nested(scope, list(items[i:]), ident)
            self.emit(scope, ComponentSection, ComponentSection(nested))
            scope.define("component", ident)
        self.export_all(scope, exports, "component", scope.counts["component"] - 1)

    def instance_field(self, scope: Scope, node: SExpr, i: int) -> None:
        items = node.items
        ident, i = self.optional_id(items, i)
        exports, i = self.inline_exports(items, i)
        imported, i = self.inline_import(items, i)
        if imported is not None:
            index = self.type_use_or_inline(scope, items[i:], node, "instance")
            self.emit_import(scope, ComponentImport(imported, t.ExternType(t.ExternSort.INSTANCE, index)), ident)
        else:
            body = items[i:]
            if len(body) == 1 and isinstance(body[0], SExpr) and body[0].head() == "instantiate":
                self.instantiate(scope, body[0], ident)
            else:
                self.inline_instance(scope, body, ident)
        self.export_all(scope, exports, "instance", scope.counts["instance"] - 1)

    def instantiate(self, scope: Scope, node: SExpr, ident: Token | None) -> int:
        component = self.index_or_ref(scope, node.items[1] if len(node.items) > 1 else None, "component")
        args = []
        for arg_node in node.items[2:]:
            arg = self.expect_list(arg_node, "with")
            name = self.string(arg.items[1] if len(arg.items) > 1 else None)
            target = self.expect_list(arg.items[2] if len(arg.items) > 2 else None)
            if target.head() == "instance" and any(isinstance(item, SExpr) for item in target.items[1:]):
                index = self.inline_instance(scope, target.items[1:], None)
                args.append((name, t.SortIndex(sort_kind("instance"), index)))
                continue
            sort, index = self.sort_ref(scope, target)
            args.append((name, t.SortIndex(sort_kind(sort), index)))
        self.emit(scope, InstanceSection, Instantiate(component, tuple(args)))
        return scope.define("instance", ident)

    def inline_instance(self, scope: Scope, exports: list[Node], ident: Token | None) -> int:
        entries = []
        for export_node in exports:
            export = self.expect_list(export_node, "export")
            name, j = self.extern_name(export.items, 1)
            sort, index = self.sort_ref(scope, export.items[j] if j < len(export.items) else None)
            entries.append((name, t.SortIndex(sort_kind(sort), index)))
        self.emit(scope, InstanceSection, InlineExports(tuple(entries)))
        return scope.define("instance", ident)

    def alias_field(self, scope: Scope, node: SExpr, i: int) -> None:
        self.alias_definition(scope, node, None, None)

    def alias_definition(self, scope: Scope, node: SExpr, ident: Token | None, sort: str | None) -> int:
        """``(alias export $i "n" (sort $id?))``, ``(alias core export ...)``, ``(alias outer ct idx (sort))``;
        inside ``(sort $id (alias ...))`` the sort and identifier come from outside."""
        items = node.items
        kind = items[1].text if len(items) > 1 and isinstance(items[1], Token) else None
        i = 2
        if kind == "core":
            kind = "core " + (items[2].text if len(items) > 2 and isinstance(items[2], Token) else "")
            i = 3
        if sort is None:
            target = self.expect_list(items[-1])
            sort, j = self.head_of(target)
            ident, _ = self.optional_id(target.items, j)
            rest = items[i:-1]
        else:
            rest = items[i:]
        if sort is None or not (sort in COMPONENT_SORTS or (sort.startswith("core ") and sort[5:] in CORE_SORTS)):
            raise self.error(f"unknown sort {sort}", node)
        alias_target: t.ExportAlias | t.CoreExportAlias | t.OuterAlias
        if kind == "export":
            alias_target = t.ExportAlias(self.resolve(scope, "instance", rest[0]), self.string(rest[1]))
        elif kind == "core export":
            alias_target = t.CoreExportAlias(self.resolve(scope, "core instance", rest[0]), self.string(rest[1]))
        elif kind == "outer":
            count = self.outer_count(scope, rest[0])
            outer = self.outer_scope(scope, count)
            if outer is None:
                index = self.number(rest[1])
            else:
                index = self.resolve(outer, sort, rest[1]) if isinstance(rest[1], Token) else self.number(rest[1])
            alias_target = t.OuterAlias(count, index)
        else:
            raise self.error("expected `export`, `core export` or `outer`", node)
        return self.emit_alias(scope, t.Alias(sort_kind(sort), alias_target), ident)

    def type_field(self, scope: Scope, node: SExpr, i: int) -> None:
        items = node.items
        ident, i = self.optional_id(items, i)
        exports, i = self.inline_exports(items, i)
        if i >= len(items):
            raise self.error("expected a type", node)
        deftype = self.deftype(scope, items[i])
        index = self.emit_type(scope, deftype, ident)
        if scope.kind == "component":
            self.export_all(scope, exports, "type", index)
        elif exports:
            raise self.error("inline exports in a type declaration", node)

    def canon_field(self, scope: Scope, node: SExpr, i: int) -> None:
        self.canon(scope, node, None)

    def func_field(self, scope: Scope, node: SExpr, i: int) -> None:
        items = node.items
        ident, i = self.optional_id(items, i)
        exports, i = self.inline_exports(items, i)
        imported, i = self.inline_import(items, i)
        rest = items[i:]
        if imported is not None:
            index = self.func_type_use(scope, rest, node)
            self.emit_import(scope, ComponentImport(imported, t.ExternType(t.ExternSort.FUNC, index)), ident)
        elif rest and isinstance(rest[-1], SExpr) and rest[-1].head() == "canon":
            canon_node = rest[-1]
            type_index = self.func_type_use(scope, rest[:-1], node)
            self.canon(scope, canon_node, ident, forced="func", lift_type=type_index)
        elif len(rest) == 1 and isinstance(rest[0], SExpr) and rest[0].head() == "alias":
            self.alias_definition(scope, rest[0], ident, "func")
        else:
            raise self.error("expected `(canon lift ...)`, `(alias ...)` or `(import ...)`", node)
        self.export_all(scope, exports, "func", scope.counts["func"] - 1)

    def start_field(self, scope: Scope, node: SExpr, i: int) -> None:
        items = node.items
        func = self.resolve(scope, "func", items[i] if i < len(items) else None)
        args = []
        results = 0
        for item in items[i + 1 :]:
            group = self.expect_list(item)
            if group.head() == "value":
                args.append(self.resolve(scope, "value", group.items[1] if len(group.items) > 1 else None))
            elif group.head() == "result":
                results += 1
                value = self.expect_list(group.items[1] if len(group.items) > 1 else None, "value")
                scope.define("value", self.optional_id(value.items, 1)[0])
        self.emit(scope, StartSection, StartSection(Start(func, tuple(args), results)))

    def import_field(self, scope: Scope, node: SExpr, i: int) -> None:
        name, i = self.extern_name(node.items, i)
        desc = self.expect_list(node.items[i] if i < len(node.items) else None)
        ident, extern_type = self.extern_desc(scope, desc)
        self.emit_import(scope, ComponentImport(name, extern_type), ident)

    def emit_import(self, scope: Scope, imported: ComponentImport, ident: Token | None) -> None:
        if scope.kind == "component":
            self.emit(scope, ImportSection, imported)
        elif scope.kind == "component type":
            scope.decls.append(t.ImportDecl(imported.name, imported.type))
        else:
            raise self.error("imports are not allowed in instance types", None)
        scope.define(imported.type.sort.text, ident)

    def export_field(self, scope: Scope, node: SExpr, i: int) -> None:
        items = node.items
        ident, i = self.optional_id(items, i)
        name, i = self.extern_name(items, i)
        if scope.kind != "component":
            desc = self.expect_list(items[i] if i < len(items) else None)
            desc_id, extern_type = self.extern_desc(scope, desc)
            scope.decls.append(t.ExportDecl(name, extern_type))
            scope.define(extern_type.sort.text, desc_id)
            return
        sort, index = self.sort_ref(scope, items[i] if i < len(items) else None)
        ascribed = None
        if i + 1 < len(items):
            ascribed = self.extern_desc(scope, self.expect_list(items[i + 1]))[1]
        kind = sort_kind(sort)
        self.emit_export(scope, ComponentExport(name, t.SortIndex(kind, index), ascribed), ident)

    FIELD_HANDLERS = {
        "core module": core_module_field,
        "core instance": core_instance_field,
        "core type": core_type_field,
        "core func": core_func_field,
        "core table": core_sort_alias_field,
        "core memory": core_sort_alias_field,
        "core global": core_sort_alias_field,
        "core tag": core_sort_alias_field,
        "component": component_field,
        "instance": instance_field,
        "alias": alias_field,
        "type": type_field,
        "canon": canon_field,
        "func": func_field,
        "start": start_field,
        "import": import_field,
        "export": export_field,
    }

    # --- extern descriptions and type uses -----------------------------------------------------
    def extern_desc(self, scope: Scope, node: SExpr) -> tuple[Token | None, t.ExternType]:
        sort, i = self.head_of(node)
        items = node.items
        ident, i = self.optional_id(items, i)
        rest = items[i:]
        if sort == "func":
            return ident, t.ExternType(t.ExternSort.FUNC, self.func_type_use(scope, rest, node))
        if sort == "component":
            return ident, t.ExternType(t.ExternSort.COMPONENT, self.type_use_or_inline(scope, rest, node, "component"))
        if sort == "instance":
            return ident, t.ExternType(t.ExternSort.INSTANCE, self.type_use_or_inline(scope, rest, node, "instance"))
        if sort == "core module":
            return ident, t.ExternType(t.ExternSort.CORE_MODULE, self.core_module_type_use(scope, rest, node))
        if sort == "type":
            bound = self.expect_list(rest[0] if rest else None)
            if bound.head() == "eq":
                return ident, t.ExternType(t.ExternSort.TYPE, bound=t.Eq(self.type_index(scope, bound.items[1])))
            if bound.head() == "sub" and len(bound.items) == 2 and isinstance(bound.items[1], Token):
                if bound.items[1].text == "resource":
                    return ident, t.ExternType(t.ExternSort.TYPE, bound=t.SubResource())
            raise self.error("expected `(eq i)` or `(sub resource)`", bound)
        if sort == "value":
            first = rest[0] if rest else None
            if isinstance(first, SExpr) and first.head() == "eq":
                return ident, t.ExternType(t.ExternSort.VALUE, bound=t.Eq(self.resolve(scope, "value", first.items[1])))
            return ident, t.ExternType(t.ExternSort.VALUE, value=self.valtype(scope, first))
        raise self.error(f"unexpected extern kind `{sort}`", node)

    def type_index(self, scope: Scope, node: Node | None) -> int:
        return self.resolve(scope, "type", node)

    def explicit_type_use(self, scope: Scope, items: list[Node]) -> int | None:
        if len(items) == 1 and isinstance(items[0], SExpr) and items[0].head() == "type":
            node = items[0]
            if len(node.items) == 2 and isinstance(node.items[1], Token):
                return self.type_index(scope, node.items[1])
        return None

    def func_type_use(self, scope: Scope, items: list[Node], node: SExpr) -> int:
        index = self.explicit_type_use(scope, items)
        if index is not None:
            return index
        return self.emit_type(scope, self.func_type(scope, items, node))

    def type_use_or_inline(self, scope: Scope, items: list[Node], node: SExpr, kind: str) -> int:
        index = self.explicit_type_use(scope, items)
        if index is not None:
            return index
        return self.emit_type(scope, self.decl_type(scope, items, kind))

    def core_module_type_use(self, scope: Scope, items: list[Node], node: SExpr) -> int:
        if len(items) == 1 and isinstance(items[0], SExpr) and items[0].head() == "type":
            return self.resolve(scope, "core type", items[0].items[1] if len(items[0].items) > 1 else None)
        module_scope = Scope("module type", scope)
        for decl in items:
            self.module_type_decl(module_scope, self.expect_list(decl))
        module_type = t.CoreModuleType(tuple(module_scope.decls))  # type: ignore[arg-type]
        self.emit(scope, CoreTypeSection, module_type if scope.kind == "component" else t.CoreTypeDecl(module_type))
        return scope.define("core type", None)

    # --- types -------------------------------------------------------------------------------------
    def valtype(self, scope: Scope, node: Node | None) -> t.ValType:
        if isinstance(node, Token):
            if node.kind == "keyword" and node.text in t.PRIM_BY_TEXT:
                return t.PRIM_BY_TEXT[node.text]
            return self.type_index(scope, node)
        if isinstance(node, SExpr) and node.head() in DEFVALTYPE_HEADS:
            return self.emit_type(scope, self.defvaltype(scope, node))
        if isinstance(node, SExpr) and node.head() == "type" and len(node.items) == 2:
            return self.type_index(scope, node.items[1])
        raise self.error("expected a value type", node)

    def optional_valtype(self, scope: Scope, items: list[Node], i: int) -> t.ValType | None:
        return self.valtype(scope, items[i]) if i < len(items) else None

    def labels(self, items: list[Node]) -> tuple[str, ...]:
        return tuple(self.string(item) for item in items)

    def defvaltype(self, scope: Scope, node: SExpr) -> t.DefValType:
        head = node.head()
        items = node.items
        if head == "record":
            fields = []
            for item in items[1:]:
                field_node = self.expect_list(item, "field")
                fields.append(
                    (self.string(field_node.items[1]), self.valtype(scope, field_node.items[2]))
                    if len(field_node.items) == 3
                    else self._bad_field(field_node)
                )
            return t.Record(tuple(fields))
        if head == "variant":
            cases = []
            for item in items[1:]:
                case = self.expect_list(item, "case")
                _, j = self.optional_id(case.items, 1)
                label = self.string(case.items[j] if j < len(case.items) else None)
                payload = None
                if j + 1 < len(case.items) and not (
                    isinstance(case.items[j + 1], SExpr) and case.items[j + 1].head() == "refines"  # type: ignore[union-attr]
                ):
                    payload = self.valtype(scope, case.items[j + 1])
                cases.append((label, payload))
            return t.Variant(tuple(cases))
        if head == "list":
            element = self.valtype(scope, items[1] if len(items) > 1 else None)
            return t.List(element, self.number(items[2]) if len(items) > 2 else None)
        if head == "tuple":
            return t.Tuple(tuple(self.valtype(scope, item) for item in items[1:]))
        if head == "flags":
            return t.Flags(self.labels(items[1:]))
        if head == "enum":
            return t.Enum(self.labels(items[1:]))
        if head == "option":
            return t.Option(self.valtype(scope, items[1] if len(items) > 1 else None))
        if head == "result":
            ok: t.ValType | None = None
            error: t.ValType | None = None
            for item in items[1:]:
                if isinstance(item, SExpr) and item.head() == "error":
                    error = self.valtype(scope, item.items[1] if len(item.items) > 1 else None)
                else:
                    ok = self.valtype(scope, item)
            return t.Result(ok, error)
        if head == "own":
            return t.Own(self.type_index(scope, items[1] if len(items) > 1 else None))
        if head == "borrow":
            return t.Borrow(self.type_index(scope, items[1] if len(items) > 1 else None))
        if head == "stream":
            return t.Stream(self.optional_valtype(scope, items, 1))
        if head == "future":
            return t.Future(self.optional_valtype(scope, items, 1))
        if head == "map":
            key = self.valtype(scope, items[1] if len(items) > 1 else None)
            return t.Map(key, self.valtype(scope, items[2] if len(items) > 2 else None))
        raise self.error(f"unexpected type `{head}`", node)

    def _bad_field(self, node: SExpr) -> tuple[str, t.ValType]:
        raise self.error('expected `(field "name" type)`', node)

    def deftype(self, scope: Scope, node: Node) -> t.DefType:
        if isinstance(node, Token):
            if node.kind == "keyword" and node.text in t.PRIM_BY_TEXT:
                return t.PRIM_BY_TEXT[node.text]
            raise self.error("expected a type definition", node)
        node = self.expect_list(node)
        head = node.head()
        if head in DEFVALTYPE_HEADS:
            return self.defvaltype(scope, node)
        if head == "func":
            return self.func_type(scope, node.items[1:], node)
        if head in ("component", "instance"):
            return self.decl_type(scope, node.items[1:], head)
        if head == "resource":
            rep: CoreValType | None = None
            destructor = None
            for item in node.items[1:]:
                group = self.expect_list(item)
                if group.head() == "rep":
                    rep = self.core_valtype(group.items[1] if len(group.items) > 1 else None)
                elif group.head() == "dtor":
                    destructor = self.index_or_ref(scope, group.items[1] if len(group.items) > 1 else None, "core func")
                else:
                    raise self.error("unexpected token", group)
            if rep is None:
                raise self.error("expected `(rep i32)`", node)
            return t.ResourceType(rep, destructor)
        raise self.error(f"unexpected type `{head}`", node)

    def func_type(self, scope: Scope, items: list[Node], node: SExpr) -> t.FuncType:
        is_async = False
        params = []
        result = None
        for item in items:
            if isinstance(item, Token) and item.text == "async":
                is_async = True
                continue
            group = self.expect_list(item)
            if group.head() == "param":
                if len(group.items) != 3:
                    raise self.error('expected `(param "name" type)`', group)
                params.append((self.string(group.items[1]), self.valtype(scope, group.items[2])))
            elif group.head() == "result":
                if len(group.items) != 2 or result is not None:
                    raise self.error("expected one `(result type)`", group)
                result = self.valtype(scope, group.items[1])
            else:
                raise self.error("unexpected token", group)
        return t.FuncType(tuple(params), result, is_async)

    def decl_type(self, scope: Scope, items: list[Node], kind: str) -> t.ComponentType | t.InstanceType:
        inner = Scope(f"{kind} type", scope)
        for item in items:
            decl = self.expect_list(item)
            inner.outer_cache.clear()
            head, i = self.head_of(decl)
            if head == "import" and kind == "component":
                self.import_field(inner, decl, i)
            elif head == "export":
                self.export_field(inner, decl, i)
            elif head == "type":
                self.type_field(inner, decl, i)
            elif head == "core type":
                self.core_type_field(inner, decl, i)
            elif head == "alias":
                self.alias_field(inner, decl, i)
            else:
                raise self.error(f"unexpected token `{head}` in a {kind} type", decl)
        decls = tuple(inner.decls)
        if kind == "component":
            return t.ComponentType(decls)  # type: ignore[arg-type]
        return t.InstanceType(decls)  # type: ignore[arg-type]

    # --- canonical definitions ---------------------------------------------------------------------
    def canon(
        self, scope: Scope, node: SExpr, ident: Token | None, forced: str | None = None, lift_type: int | None = None
    ) -> None:
        items = node.items
        op = items[1].text if len(items) > 1 and isinstance(items[1], Token) else ""
        if op not in CANON_OPS:
            raise self.error(f"unknown canonical built-in `{op}`", node)
        kinds = CANON_OPS[op][1]
        rest = list(items[2:])
        defined = "func" if op == "lift" else "core func"
        if forced is not None and forced != defined:
            raise self.error(f"`canon {op}` defines a {defined}", node)
        if forced is None:
            # The last item names what is defined: (func $f type?) or (core func $f).
            target = self.expect_list(rest.pop() if rest else None)
            sort, j = self.head_of(target)
            if sort != defined:
                raise self.error(f"expected `({defined} ...)`", target)
            ident, j = self.optional_id(target.items, j)
            if op == "lift":
                lift_type = self.func_type_use(scope, target.items[j:], target)
        immediates: list[object] = []
        options: list[CanonOption] = []
        for kind in kinds:
            if kind == "opts":
                options = self.canon_options(scope, rest)
                rest = []
            elif kind == "core_func":
                immediates.append(self.sort_ref(scope, rest.pop(0) if rest else None, "core func")[1])
            elif kind == "func":
                immediates.append(self.sort_ref(scope, rest.pop(0) if rest else None, "func")[1])
            elif kind == "type":
                if op == "lift":
                    immediates.append(lift_type)
                else:
                    immediates.append(self.index_or_ref(scope, rest.pop(0) if rest else None, "type"))
            elif kind in ("async", "cancel", "shared"):
                word = {"async": "async", "cancel": "cancellable", "shared": "shared"}[kind]
                present = bool(rest) and isinstance(rest[0], Token) and rest[0].text == word  # type: ignore[union-attr]
                if present:
                    rest.pop(0)
                immediates.append(present)
            elif kind == "core_valtype":
                immediates.append(self.core_valtype(rest.pop(0) if rest else None))
            elif kind == "u32":
                immediates.append(self.number(rest.pop(0) if rest else None))
            elif kind == "results":
                result = None
                if rest and isinstance(rest[0], SExpr) and rest[0].head() == "result":
                    group = rest.pop(0)
                    assert isinstance(group, SExpr)
                    result = self.valtype(scope, group.items[1] if len(group.items) > 1 else None)
                immediates.append(result)
            elif kind in ("core_memory", "core_table", "core_type"):
                sort = {"core_memory": "core memory", "core_table": "core table", "core_type": "core type"}[kind]
                ref = rest.pop(0) if rest else None
                if isinstance(ref, SExpr) and ref.head() in ("memory", "table"):
                    ref = ref.items[1] if len(ref.items) > 1 else None
                immediates.append(self.index_or_ref(scope, ref, sort))
        if rest:
            raise self.error("unexpected token", rest[0])
        self.emit(scope, CanonSection, Canon(op, tuple(immediates), tuple(options)))
        scope.define(defined, ident)

    def canon_options(self, scope: Scope, items: list[Node]) -> list[CanonOption]:
        options = []
        for item in items:
            if isinstance(item, Token):
                if item.text not in CANON_OPTIONS or CANON_OPTIONS[item.text][1]:
                    raise self.error(f"unknown canonical option `{item.text}`", item)
                options.append(CanonOption(item.text))
                continue
            group = self.expect_list(item)
            name = group.head() or ""
            if name not in CANON_OPTIONS or not CANON_OPTIONS[name][1]:
                raise self.error(f"unknown canonical option `{name}`", group)
            sort = {"memory": "core memory", "core-type": "core type"}.get(name, "core func")
            options.append(
                CanonOption(name, self.index_or_ref(scope, group.items[1] if len(group.items) > 1 else None, sort))
            )
        return options


def _section_items(section: Section) -> list[object]:
    for name in ("instances", "types", "aliases", "canons", "imports", "exports"):
        if hasattr(section, name):
            return getattr(section, name)  # type: ignore[no-any-return]
    raise TypeError(section)


def parse_component_fields(
    fields: list[Node],
    component_id: Token | None = None,
    source: str | None = None,
    features: frozenset[str] = ALL_FEATURES,
) -> Component:
    """The component made of ``fields`` (the items after ``component $id?``)."""
    try:
        return ComponentParser(source, features).parse(fields, component_id)
    except RecursionError:
        raise MalformedError("nesting too deep", source=source) from None


def parse_component_text(
    source: str | bytes, name: str | None = None, features: frozenset[str] = ALL_FEATURES
) -> Component:
    """Parse a ``.wat`` holding one ``(component ...)`` (text, or ``binary`` strings)."""
    nodes = parse_sexprs(source, name)
    if len(nodes) != 1 or not isinstance(nodes[0], SExpr) or nodes[0].head() != "component":
        raise text_error("expected one `(component ...)`", nodes[0] if nodes else None, name)
    node = nodes[0]
    ident, i = ComponentParser.optional_id(node.items, 1)
    rest = node.items[i:]
    if rest and isinstance(rest[0], Token) and rest[0].kind == "keyword" and rest[0].text == "binary":
        return decode_component(b"".join(item.value for item in rest[1:] if isinstance(item, Token)), features)
    return parse_component_fields(list(rest), ident, name, features)
