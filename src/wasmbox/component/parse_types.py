"""Types in the component text format: value, function, component, instance and core types.

Compound value types written inline (``(list u8)`` as a parameter type) and
inline type uses (``(func (param "x" u32))`` in an import) are hoisted into
type definitions of the current scope just before their user, as the binary
format has no anonymous compound types.
"""

from __future__ import annotations

from ..ir.module import Import
from ..ir.types import VALTYPE_BY_TEXT, ExternKind, GlobalType, Limits, MemoryType, TableType
from ..ir.types import FuncType as CoreFuncType
from ..ir.types import ValType as CoreValType
from ..text.lexer import Node, SExpr, Token
from . import types as t
from .ir import CoreTypeSection
from .parse_scope import DEFVALTYPE_HEADS, Scope, ScopeParser


class TypeParser(ScopeParser):
    """The type syntax; declarators of component and instance types go to :meth:`declaration`."""

    def declaration(self, scope: Scope, decl: SExpr, head: str, i: int) -> None:
        """One import, export, type, core type or alias declarator (the component parser reads them as it
        reads the fields they share a syntax with)."""
        raise NotImplementedError

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
            if head not in ("export", "type", "core type", "alias") and not (head == "import" and kind == "component"):
                raise self.error(f"unexpected token `{head}` in a {kind} type", decl)
            self.declaration(inner, decl, head, i)
        decls = tuple(inner.decls)
        if kind == "component":
            return t.ComponentType(decls)  # type: ignore[arg-type]
        return t.InstanceType(decls)  # type: ignore[arg-type]
