"""Scopes and references of the component text format.

A :class:`Scope` is one component, component type, instance type or core
module type being parsed: identifiers and counts per index space, and what it
has emitted so far.  :class:`ScopeParser` resolves references in it:
identifiers and numbers, export paths such as ``(core memory $i "mem")``
(an ``alias`` emitted before the user), and identifiers of enclosing scopes
(an implicit ``alias outer``), as wasm-tools does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import MalformedError
from ..ir.instructions import ALL_FEATURES
from ..text.lexer import Node, SExpr, Token, text_error
from ..text.literals import parse_uint
from . import types as t
from .ir import (
    AliasSection,
    ComponentExport,
    ComponentSection,
    CoreModuleSection,
    Section,
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


class ScopeParser:
    """Helpers shared by the component parser's parts: tokens, emission into a scope, references."""

    def __init__(self, source: str | None = None, features: frozenset[str] = ALL_FEATURES) -> None:
        self.source = source
        self.features = features

    # --- tokens ------------------------------------------------------------------------
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

    # --- emitting into a scope -----------------------------------------------------------
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


def _section_items(section: Section) -> list[object]:
    for name in ("instances", "types", "aliases", "canons", "imports", "exports"):
        if hasattr(section, name):
            return getattr(section, name)  # type: ignore[no-any-return]
    raise TypeError(section)
