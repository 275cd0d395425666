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

from ..binary.decode import decode_module
from ..errors import MalformedError
from ..ir.instructions import ALL_FEATURES
from ..text.lexer import Node, SExpr, Token, parse_sexprs, text_error
from ..text.parser import ModuleParser
from . import types as t
from .decode import decode_component
from .ir import (
    CANON_OPS,
    CANON_OPTIONS,
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
    Start,
    StartSection,
)
from .parse_scope import COMPONENT_SORTS, CORE_SORTS, Scope, sort_kind
from .parse_types import TypeParser


class ComponentParser(TypeParser):
    """Parses the fields of one ``(component ...)`` (and everything nested in it)."""

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
                raise self.error(f"unexpected token: duplicate '{head}' option in name", node)
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

    def declaration(self, scope: Scope, decl: SExpr, head: str, i: int) -> None:
        handler = self.FIELD_HANDLERS[head]
        handler(self, scope, decl, i)

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
