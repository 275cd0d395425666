"""Component validation: index spaces, types, canonical options, names.

Walks a component's sections in order, as Binary.md and the Explainer's
validation notes describe: each definition is checked against what precedes
it and appends to its index space a *resolved* type (see
:mod:`wasmbox.component.typecheck`).  Nested core modules go through the core
validator.  Failures raise :class:`ValidationError`, worded like wasm-tools
(the component spec tests' oracle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ValidationError
from ..ir.module import Import, Module
from ..ir.types import I32, MAX_PAGES, ExternKind, GlobalType, MemoryType, TableType
from ..ir.types import FuncType as CoreFuncType
from ..validate import validate_module
from ..validation_cache import known_valid, remember_valid
from . import types as t
from .abi import check_canon, check_value_size
from .ir import (
    AliasSection,
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
    StartSection,
    TypeSection,
    ValueSection,
)
from .names import NameSet, ParsedName, check_label, parse_extern_name
from .typecheck import (
    DEFINED_KINDS,
    PRIM_NODES,
    Extern,
    ModuleNode,
    Resource,
    TypeNode,
    check_core_extern,
    check_extern,
    contains_resource,
    substitute,
)

CORE_SPACES = {
    t.CoreSort.FUNC: "core func",
    t.CoreSort.TABLE: "core table",
    t.CoreSort.MEMORY: "core memory",
    t.CoreSort.GLOBAL: "core global",
    t.CoreSort.TAG: "core tag",
    t.CoreSort.TYPE: "core type",
    t.CoreSort.MODULE: "core module",
    t.CoreSort.INSTANCE: "core instance",
}
SPACE_NOUNS = {
    "core func": "function",
    "core table": "table",
    "core memory": "memory",
    "core global": "global",
    "core tag": "tag",
    "core type": "core type",
    "core module": "module",
    "core instance": "core instance",
    "func": "function",
    "value": "value",
    "type": "type",
    "component": "component",
    "instance": "instance",
}


def space_of(kind: t.SortKind) -> str:
    return CORE_SPACES[kind.core] if kind.core is not None else kind.sort.text


@dataclass(eq=False)
class Scope:
    """One component, component type or instance type being validated."""

    kind: str  # "component" | "component type" | "instance type"
    parent: Scope | None
    spaces: dict[str, list[object]] = field(default_factory=lambda: {name: [] for name in SPACE_NOUNS})
    imports: dict[str, Extern] = field(default_factory=dict)
    exports: dict[str, Extern] = field(default_factory=dict)
    import_names: NameSet = field(default_factory=lambda: NameSet("import"))
    export_names: NameSet = field(default_factory=lambda: NameSet("export"))
    # Resource types imported or exported under a plain name, for [constructor]/[method]/[static] names:
    # the very type node the name introduced (a function must use that one, not another name for it).
    import_resources: dict[str, TypeNode] = field(default_factory=dict)
    # The type nodes imports (and exports) introduced, by identity: external visibility of types.
    import_named: dict[int, TypeNode] = field(default_factory=dict)
    export_named: dict[int, TypeNode] = field(default_factory=dict)
    export_resources: dict[str, TypeNode] = field(default_factory=dict)
    abstract: list[Resource] = field(default_factory=list)
    fresh: list[Resource] = field(default_factory=list)
    defined: list[Resource] = field(default_factory=list)  # resources this component defines

    def get(self, space: str, index: int) -> object:
        items = self.spaces[space]
        if index >= len(items):
            noun = SPACE_NOUNS[space]
            raise ValidationError(f"unknown {noun} {index}: {noun} index out of bounds")
        return items[index]

    def type_node(self, index: int) -> TypeNode:
        node = self.get("type", index)
        assert isinstance(node, TypeNode)
        return node

    def func_type(self, index: int) -> TypeNode:
        node = self.type_node(index)
        if node.kind != "func":
            raise ValidationError(f"type index {index} is not a function type")
        return node

    def add(self, space: str, item: object) -> None:
        self.spaces[space].append(item)


def validate_component(component: Component) -> None:
    """Validate ``component``; raise :class:`ValidationError` on the first rule it breaks."""
    ComponentValidator().component(component, None)


class ComponentValidator:
    def component(self, component: Component, parent: Scope | None) -> TypeNode:
        scope = Scope("component", parent)
        for section in component.sections:
            self.section(scope, section)
        return TypeNode(
            "component",
            exports=dict(scope.exports),
            imports=dict(scope.imports),
            abstract=tuple(scope.abstract),
            fresh=tuple(scope.fresh + scope.defined),  # every instantiation makes them anew
        )

    def section(self, scope: Scope, section: object) -> None:
        if isinstance(section, CoreModuleSection):
            scope.add("core module", self.core_module(section.module))
        elif isinstance(section, CoreInstanceSection):
            for core_instance in section.instances:
                scope.add("core instance", self.core_instance(scope, core_instance))
        elif isinstance(section, CoreTypeSection):
            for core_type in section.types:
                scope.add("core type", self.core_type(scope, core_type))
        elif isinstance(section, ComponentSection):
            scope.add("component", self.component(section.component, scope))
        elif isinstance(section, InstanceSection):
            for instance in section.instances:
                scope.add("instance", self.instance(scope, instance))
        elif isinstance(section, AliasSection):
            for alias in section.aliases:
                self.alias(scope, alias)
        elif isinstance(section, TypeSection):
            for deftype in section.types:
                node = self.deftype(scope, deftype)
                check_value_size(node)
                scope.add("type", node)
        elif isinstance(section, CanonSection):
            for canon in section.canons:
                space, value = check_canon(scope, canon)
                scope.add(space, value)
        elif isinstance(section, StartSection):
            func = scope.get("func", section.start.func)
            assert isinstance(func, TypeNode)
            for arg in section.start.args:
                scope.get("value", arg)
            for _ in range(section.start.results):
                scope.add("value", None)
        elif isinstance(section, ImportSection):
            for imported in section.imports:
                self.import_(scope, imported)
        elif isinstance(section, ExportSection):
            for export in section.exports:
                self.export(scope, export)
        elif isinstance(section, ValueSection):
            raise ValidationError("value definitions are not supported (🪙 feature)")

    # --- core ------------------------------------------------------------------------
    def core_module(self, module: Module) -> ModuleNode:
        # A core module's bytes that validated in an earlier run are not validated again, as for wasmbox.Module
        # (see validation_cache): CPython inside a componentize-py component is ~17 MB of code.
        if not known_valid(module):
            validate_module(module)
            remember_valid(module)
        seen = set()
        for imported in module.imports:
            key = (imported.module, imported.name)
            if key in seen:
                raise ValidationError(f"duplicate import name `{imported.module}:{imported.name}`")
            seen.add(key)
        node = ModuleNode()
        spaces: dict[int, list[object]] = {kind: [] for kind in range(5)}
        for imported in module.imports:
            core_type = _core_import_type(module, imported)
            node.imports.append((imported.module, imported.name, int(imported.kind), core_type))
            spaces[int(imported.kind)].append(core_type)
        spaces[0] += [module.types[f.type_index] for f in module.funcs]
        spaces[1] += [table.type for table in module.tables]
        spaces[2] += [memory.type for memory in module.memories]
        spaces[3] += [g.type for g in module.globals]
        spaces[4] += [module.types[tag.type_index] for tag in module.tags]
        for export in module.exports:
            node.exports[export.name] = (int(export.kind), spaces[int(export.kind)][export.index])
        return node

    def core_instance(self, scope: Scope, instance: object) -> dict[str, tuple[int, object]]:
        if isinstance(instance, CoreInstantiate):
            module = scope.get("core module", instance.module)
            assert isinstance(module, ModuleNode)
            args: dict[str, dict[str, tuple[int, object]]] = {}
            for name, index in instance.args:
                if name in args:
                    raise ValidationError(f"duplicate module instantiation argument named `{name}`")
                arg = scope.get("core instance", index)
                args[name] = arg  # type: ignore[assignment]
            for module_name, name, kind, core_type in module.imports:
                if module_name not in args:
                    raise ValidationError(f"missing module instantiation argument named `{module_name}`")
                provided = args[module_name].get(name)
                if provided is None:
                    raise ValidationError(
                        f"module instantiation argument `{module_name}` does not export an item named `{name}`"
                    )
                check_core_extern(provided, (kind, core_type))
            return dict(module.exports)
        assert isinstance(instance, CoreInlineExports)
        exports: dict[str, tuple[int, object]] = {}
        for name, sort, index in instance.exports:
            if sort not in (t.CoreSort.FUNC, t.CoreSort.TABLE, t.CoreSort.MEMORY, t.CoreSort.GLOBAL, t.CoreSort.TAG):
                raise ValidationError(f"core export of sort {sort.text} is not supported")
            if name in exports:
                raise ValidationError(f"export name `{name}` already defined")
            exports[name] = (int(sort), scope.get(CORE_SPACES[sort], index))
        return exports

    def core_type(self, scope: Scope, core_type: t.CoreDefType) -> object:
        if isinstance(core_type, CoreFuncType):
            return core_type
        if isinstance(core_type, t.CoreRecType):
            return None  # a GC type: unknown to wasmbox's core IR, matched loosely
        types: list[object] = []
        node = ModuleNode()
        for decl in core_type.decls:
            if isinstance(decl, t.CoreModuleType):
                raise ValidationError("invalid leading byte (0x50) for type in a module type: module types cannot nest")
            if isinstance(decl, CoreFuncType | t.CoreRecType):
                types.append(decl if isinstance(decl, CoreFuncType) else None)
            elif isinstance(decl, t.CoreOuterAlias):
                outer = _outer_scope(scope, decl.count - 1) if decl.count > 0 else None
                if outer is None:
                    raise ValidationError(f"invalid outer alias count of {decl.count}")
                aliased = outer.get("core type", decl.index)
                if isinstance(aliased, ModuleNode):
                    raise ValidationError(
                        "outer type aliases in module type declarations may not refer to module types"
                    )
                types.append(aliased)
            elif isinstance(decl, Import):
                node.imports.append(
                    (decl.module, decl.name, int(decl.kind), _declared_core_type(types, decl.kind, decl.desc))
                )
            else:
                if decl.name in node.exports:
                    raise ValidationError(f"export name `{decl.name}` already defined")
                node.exports[decl.name] = (decl.kind, _declared_core_type(types, ExternKind(decl.kind), decl.type))
        keys = [(m, n) for m, n, _, _ in node.imports]
        if len(set(keys)) != len(keys):
            duplicate = next(k for k in keys if keys.count(k) > 1)
            raise ValidationError(f"duplicate import name `{duplicate[0]}:{duplicate[1]}`")
        return node

    # --- component instances and aliases --------------------------------------------------
    def sort_item(self, scope: Scope, item: t.SortIndex) -> Extern:
        space = space_of(item.kind)
        value = scope.get(space, item.index)
        if space == "core module":
            return "core module", value
        if space.startswith("core "):
            raise ValidationError(f"{space} is not a valid extern")
        return space, value

    def instance(self, scope: Scope, instance: Instantiate | InlineExports) -> TypeNode:
        if isinstance(instance, InlineExports):
            bag = Scope("instance type", scope)
            for extern_name, item in instance.exports:
                extern = _renamed(self.sort_item(scope, item), "export")
                parsed = self.check_name(bag, extern_name, extern, "export")
                bag.export_names.add(extern_name.name, parsed)
                self.note_resource(bag.export_resources, parsed, extern)
                bag.exports[extern_name.name] = extern
            return TypeNode("instance", exports=bag.exports)
        component = scope.get("component", instance.component)
        assert isinstance(component, TypeNode)
        args: dict[str, Extern] = {}
        seen = NameSet("instantiation argument")
        for name, item in instance.args:
            try:
                seen.add(name, ParsedName("label", None, name.lower()))
            except ValidationError:
                raise ValidationError(
                    f"instantiation argument `{name}` conflicts with previous argument `{name}`"
                ) from None
            args[name] = self.sort_item(scope, item)
        subst: dict[Resource, Resource] = {}
        for name, expected in component.imports.items():
            if name not in args:
                raise ValidationError(f"missing import named `{name}`")
            actual = args[name]
            expected_now = (
                (expected[0], substitute(expected[1], subst)) if isinstance(expected[1], TypeNode) else expected
            )
            if expected[0] == "type" and isinstance(expected[1], TypeNode) and expected[1].kind == "resource":
                supplied = actual[1]
                if actual[0] != "type" or not isinstance(supplied, TypeNode) or supplied.kind != "resource":
                    found = "defined type" if actual[0] == "type" else actual[0]
                    raise ValidationError(f"type mismatch for import `{name}`: expected resource, found {found}")
                assert expected[1].resource is not None and supplied.resource is not None
                if expected[1].resource in component.abstract and expected[1].resource not in subst:
                    subst[expected[1].resource] = supplied.resource
                    continue
            try:
                check_extern(actual, expected_now, subst)
            except ValidationError as error:
                raise ValidationError(f"type mismatch for import `{name}`: {error.message}") from None
        for resource in component.fresh:
            subst[resource] = Resource(resource.name)
        # The instance's types are the ones supplied for its type imports, names included.
        replaced: dict[int, TypeNode] = {}
        for name, (sort, declared) in component.imports.items():
            supplied = args[name][1]
            if sort == "type" and isinstance(declared, TypeNode) and isinstance(supplied, TypeNode):
                replaced[id(declared)] = supplied
        exports = {
            name: ((sort, substitute(value, subst, replaced)) if isinstance(value, TypeNode) else (sort, value))
            for name, (sort, value) in component.exports.items()
        }
        return TypeNode("instance", exports=exports)

    def alias(self, scope: Scope, alias: t.Alias) -> None:
        space = space_of(alias.kind)
        target = alias.target
        if isinstance(target, t.ExportAlias):
            instance = scope.get("instance", target.instance)
            assert isinstance(instance, TypeNode)
            export = instance.exports.get(target.name)
            if export is None:
                raise ValidationError(f"instance {target.instance} has no export named `{target.name}`")
            if export[0] != space:
                noun = "module" if space == "core module" else space
                raise ValidationError(f"export `{target.name}` for instance {target.instance} is not a {noun}")
            scope.add(space, export[1])
        elif isinstance(target, t.CoreExportAlias):
            core_instance = scope.get("core instance", target.instance)
            assert isinstance(core_instance, dict)
            core_export = core_instance.get(target.name)
            if core_export is None:
                raise ValidationError(f"core instance {target.instance} has no export named `{target.name}`")
            kind_name = ("func", "table", "memory", "global", "tag")[core_export[0]]
            if f"core {kind_name}" != space:
                raise ValidationError(
                    f"export `{target.name}` for core instance {target.instance} is not a {space[5:]}"
                )
            scope.add(space, core_export[1])
        else:
            if space not in ("type", "component", "core module", "core type"):
                raise ValidationError("outer aliases may only refer to types, components and modules")
            outer = _outer_scope(scope, target.count)
            if outer is None:
                raise ValidationError(f"invalid outer alias count of {target.count}")
            value = outer.get(space, target.index)
            crosses_component = any(s.kind == "component" for s in _scopes_between(scope, target.count))
            if crosses_component and space == "type" and isinstance(value, TypeNode) and contains_resource(value):
                raise ValidationError(
                    "refers to resources not defined in the current component: transitively refers to resources"
                )
            scope.add(space, value)

    # --- types ----------------------------------------------------------------------------
    def valtype(self, scope: Scope, valtype: t.ValType) -> TypeNode:
        if isinstance(valtype, t.PrimType):
            return PRIM_NODES[valtype]
        node = scope.type_node(valtype)
        if node.kind in ("func", "instance", "component", "resource"):
            raise ValidationError(f"type index {valtype} is not a defined type")
        return node

    def optional(self, scope: Scope, valtype: t.ValType | None) -> TypeNode | None:
        return None if valtype is None else self.valtype(scope, valtype)

    def resource_handle(self, scope: Scope, index: int) -> TypeNode:
        node = scope.type_node(index)
        if node.kind != "resource":
            raise ValidationError(f"type index {index} is not a resource type")
        return node

    def labels(self, labels: tuple[str, ...], what: str, noun: str) -> None:
        seen: dict[str, str] = {}
        for label in labels:
            check_label(label, what)
            previous = seen.get(label.lower())
            if previous is not None:
                raise ValidationError(f"{what} name `{label}` conflicts with previous {noun} name `{previous}`")
            seen[label.lower()] = label

    def deftype(self, scope: Scope, d: t.DefType) -> TypeNode:
        if isinstance(d, t.PrimType):
            return TypeNode(d.text, is_definition=True)
        if isinstance(d, t.Record):
            if not d.fields:
                raise ValidationError("record type must have at least one field")
            self.labels(tuple(name for name, _ in d.fields), "record field", "field")
            return TypeNode("record", tuple(n for n, _ in d.fields), tuple(self.valtype(scope, v) for _, v in d.fields))
        if isinstance(d, t.Variant):
            if not d.cases:
                raise ValidationError("variant type must have at least one case")
            self.labels(tuple(name for name, _ in d.cases), "variant case", "case")
            return TypeNode("variant", tuple(n for n, _ in d.cases), tuple(self.optional(scope, v) for _, v in d.cases))
        if isinstance(d, t.List):
            if d.length == 0:
                raise ValidationError("Fixed size lists must have more than zero elements")
            return TypeNode("list", items=(self.valtype(scope, d.element),), length=d.length)
        if isinstance(d, t.Tuple):
            if not d.types:
                raise ValidationError("tuple type must have at least one type")
            return TypeNode("tuple", items=tuple(self.valtype(scope, v) for v in d.types))
        if isinstance(d, t.Flags):
            if not d.labels:
                raise ValidationError("flags must have at least one entry")
            if len(d.labels) > 32:
                raise ValidationError("cannot have more than 32 flags")
            self.labels(d.labels, "flag", "flag")
            return TypeNode("flags", d.labels)
        if isinstance(d, t.Enum):
            if not d.labels:
                raise ValidationError("enum type must have at least one variant")
            self.labels(d.labels, "enum tag", "tag")
            return TypeNode("enum", d.labels)
        if isinstance(d, t.Option):
            return TypeNode("option", items=(self.valtype(scope, d.type),))
        if isinstance(d, t.Result):
            return TypeNode("result", items=(self.optional(scope, d.ok), self.optional(scope, d.error)))
        if isinstance(d, t.Own | t.Borrow):
            kind = "own" if isinstance(d, t.Own) else "borrow"
            return TypeNode(kind, items=(self.resource_handle(scope, d.resource),))
        if isinstance(d, t.Stream | t.Future):
            element = self.optional(scope, d.element)
            if element is not None and _contains_borrow(element):
                raise ValidationError("stream and future element types cannot contain a `borrow`")
            if isinstance(d, t.Stream) and element is not None and element.kind == "char":
                raise ValidationError("`stream<char>` is not valid at this time")
            return TypeNode("stream" if isinstance(d, t.Stream) else "future", items=(element,))
        if isinstance(d, t.Map):
            return TypeNode("map", items=(self.valtype(scope, d.key), self.valtype(scope, d.value)))
        if isinstance(d, t.FuncType):
            self.labels(tuple(name for name, _ in d.params), "function parameter", "parameter")
            params = tuple(self.valtype(scope, v) for _, v in d.params)
            result = self.optional(scope, d.result)
            if result is not None and _contains_borrow(result):
                raise ValidationError("function result cannot contain a `borrow` type")
            return TypeNode("func", tuple(n for n, _ in d.params), (*params, result), is_async=d.is_async)
        if isinstance(d, t.ResourceType):
            if scope.kind != "component":
                raise ValidationError("resources can only be defined within a concrete component")
            if d.rep != I32:
                raise ValidationError("resources can only be represented by `i32`")
            if d.destructor is not None:
                dtor = scope.get("core func", d.destructor)
                if dtor is not None and dtor != CoreFuncType((I32,), ()):
                    raise ValidationError("wrong signature for a destructor")
            resource = Resource(local=True, owner=scope)
            scope.defined.append(resource)
            return TypeNode("resource", resource=resource)
        kind = "component type" if isinstance(d, t.ComponentType) else "instance type"
        inner = Scope(kind, scope)
        for decl in d.decls:
            self.decl(inner, decl)
        if isinstance(d, t.ComponentType):
            return TypeNode(
                "component",
                exports=dict(inner.exports),
                imports=dict(inner.imports),
                abstract=tuple(inner.abstract),
                fresh=tuple(inner.fresh),
            )
        return TypeNode("instance", exports=dict(inner.exports), fresh=tuple(inner.fresh))

    def decl(self, scope: Scope, decl: t.Decl) -> None:
        if isinstance(decl, t.CoreTypeDecl):
            scope.add("core type", self.core_type(scope, decl.type))
        elif isinstance(decl, t.TypeDecl):
            node = self.deftype(scope, decl.type)
            check_value_size(node)
            scope.add("type", node)
        elif isinstance(decl, t.AliasDecl):
            target = decl.alias.target
            if isinstance(target, t.CoreExportAlias):
                raise ValidationError("core export aliases are not allowed in type declarations")
            if isinstance(target, t.ExportAlias) and space_of(decl.alias.kind) not in ("type", "instance"):
                raise ValidationError("export aliases in type declarations may only refer to types or instances")
            if isinstance(target, t.OuterAlias) and space_of(decl.alias.kind) not in ("type", "core type"):
                raise ValidationError("outer aliases in type declarations may only refer to types or instances")
            self.alias(scope, decl.alias)
        elif isinstance(decl, t.ImportDecl):
            self.import_(scope, ComponentImport(decl.name, decl.type))
        else:
            assert isinstance(decl, t.ExportDecl)
            extern = self.extern_type(scope, decl.type, "export")
            self.add_export(scope, decl.name, extern)

    def extern_type(self, scope: Scope, e: t.ExternType, direction: str) -> Extern:
        if e.sort == t.ExternSort.CORE_MODULE:
            module = scope.get("core type", e.index or 0)
            if not isinstance(module, ModuleNode):
                raise ValidationError(f"core type index {e.index} is not a module type")
            return "core module", module
        if e.sort == t.ExternSort.FUNC:
            return "func", scope.func_type(e.index or 0)
        if e.sort in (t.ExternSort.COMPONENT, t.ExternSort.INSTANCE):
            node = scope.type_node(e.index or 0)
            noun = "component" if e.sort == t.ExternSort.COMPONENT else "instance"
            if node.kind != noun:
                raise ValidationError(f"type index {e.index} is not {'an' if noun == 'instance' else 'a'} {noun} type")
            if noun == "instance":
                # Each imported or exported instance has resources of its own, however many share its type.
                node = substitute(node, {r: Resource(r.name) for r in _all_fresh(node)})
            return noun, node
        if e.sort == t.ExternSort.VALUE:
            raise ValidationError("value imports and exports are not supported (🪙 feature)")
        if isinstance(e.bound, t.Eq):
            node = scope.type_node(e.bound.index)
            return "type", node
        resource = Resource()
        (scope.abstract if direction == "import" else scope.fresh).append(resource)
        return "type", TypeNode("resource", resource=resource)

    # --- imports and exports ------------------------------------------------------------------
    def check_name(self, scope: Scope, name: t.ExternName, extern: Extern, direction: str) -> ParsedName:
        parsed = parse_extern_name(name.name)
        codes = [code for code, _ in name.attributes]
        for code in set(codes):
            if codes.count(code) > 1:
                raise ValidationError(f"duplicate '{t.ATTRIBUTE_NAMES[code]}' option in name")
        if name.implements is not None:
            if extern[0] != "instance":
                raise ValidationError("only instances can have an `implements` attribute")
            if parsed.kind != "label":
                raise ValidationError(f"name `{name.name}` is not valid with `implements`")
            try:
                implemented = parse_extern_name(name.implements)
            except ValidationError as error:
                raise ValidationError(f"`{name.implements}` is not a valid name: {error.message}") from None
            if implemented.kind != "interface":
                raise ValidationError(f"`{name.implements}` must be an interface name")
        resources = scope.import_resources if direction == "import" else scope.export_resources
        if parsed.kind in ("constructor", "method", "static"):
            if extern[0] != "func":
                raise ValidationError(f"item named `{name.name}` is not a func")
            assert parsed.resource is not None and isinstance(extern[1], TypeNode)
            resource = resources.get(parsed.resource.lower())
            _check_annotated(parsed, extern[1], resource, resources)
        return parsed

    def import_(self, scope: Scope, imported: ComponentImport) -> None:
        extern = self.extern_type(scope, imported.type, "import")
        extern = _renamed(extern, "import")
        parsed = self.check_name(scope, imported.name, extern, "import")
        scope.import_names.add(imported.name.name, parsed)
        self.check_visible(scope, extern, scope.import_named, "import")
        _name_types(extern, scope.import_named)
        scope.imports[imported.name.name] = extern
        self.note_resource(scope.import_resources, parsed, extern)
        scope.add(extern[0], extern[1])

    def export(self, scope: Scope, export: ComponentExport) -> None:
        extern = self.sort_item(scope, export.item)
        if export.type is not None:
            ascribed = self.extern_type(scope, export.type, "ascription")
            subst: dict[Resource, Resource] = {}
            if isinstance(export.type.bound, t.SubResource):
                # Ascribing (sub resource) hides which resource this is: outside, a new abstract one.
                actual = extern[1]
                if extern[0] != "type" or not isinstance(actual, TypeNode) or actual.kind != "resource":
                    raise ValidationError("ascribed type of export is not compatible: expected resource")
                assert isinstance(ascribed[1], TypeNode) and ascribed[1].resource is not None
                assert actual.resource is not None
                subst[ascribed[1].resource] = actual.resource
            try:
                check_extern(extern, ascribed, subst)
            except ValidationError as error:
                raise ValidationError(
                    f"ascribed type of export is not compatible with item's type: {error.message}"
                ) from None
            extern = ascribed
        self.add_export(scope, export.name, extern)

    def add_export(self, scope: Scope, name: t.ExternName, extern: Extern) -> None:
        extern = _renamed(extern, "export")
        parsed = self.check_name(scope, name, extern, "export")
        scope.export_names.add(name.name, parsed)
        self.check_visible(scope, extern, scope.import_named | scope.export_named, "export")
        _name_types(extern, scope.export_named)
        scope.exports[name.name] = extern
        self.note_resource(scope.export_resources, parsed, extern)
        scope.add(extern[0], extern[1])

    @staticmethod
    def note_resource(resources: dict[str, TypeNode], parsed: ParsedName, extern: Extern) -> None:
        node = extern[1]
        if parsed.kind == "label" and isinstance(node, TypeNode) and node.kind == "resource":
            resources[parsed.canonical] = node

    @staticmethod
    def check_visible(scope: Scope, extern: Extern, named: dict[int, TypeNode], direction: str) -> None:
        """Explainer "External visibility of types": a function or type that is imported or exported may
        only mention records, variants, enums, flags and resources that this very component (or component
        type) imports (or, for exports, imports or exports).  Instance types are checked when an import
        or export uses them."""
        if scope.kind == "instance type":
            return
        if not _visible(extern, named):
            raise ValidationError(f"{extern[0]} not valid to be used as {direction}")


def _renamed(extern: Extern, named: str) -> Extern:
    """What a type import or export introduces: a new name for the type (an instance's exports are
    names already)."""
    sort, node = extern
    if sort == "type" and isinstance(node, TypeNode):
        return sort, node.renamed(named)
    return extern


def _visible(extern: Extern, named: dict[int, TypeNode]) -> bool:
    sort, node = extern
    if not isinstance(node, TypeNode):
        return True
    if node.kind == "instance" and sort in ("instance", "type"):
        inner = dict(named)  # what an instance exports is named by that export
        _name_types(("instance", node), inner)
        return all(_visible(export, inner) for export in node.exports.values())
    if sort not in ("func", "type") or node.kind == "component":
        return True
    return all(_named_everywhere(item, named, set()) for item in node.items if item is not None)


def _named_everywhere(node: TypeNode, named: dict[int, TypeNode], seen: set[int]) -> bool:
    if id(node) in seen:
        return True
    seen.add(id(node))
    if node.kind in DEFINED_KINDS:
        return id(node) in named
    return all(_named_everywhere(item, named, seen) for item in node.items if item is not None)


def _name_types(extern: Extern, named: dict[int, TypeNode]) -> None:
    """Record the type nodes an import or export introduces (an instance's exported types included)."""
    sort, node = extern
    if not isinstance(node, TypeNode):
        return
    if sort == "type":
        named[id(node)] = node
    elif sort == "instance":
        for export in node.exports.values():
            _name_types(export, named)
            # An instance's type exports name the types they rename too: the instance exports all it
            # refers to (wasm-tools' "bag of exports").
            renamed = export[1]
            while isinstance(renamed, TypeNode) and export[0] == "type" and renamed.origin is not None:
                renamed = renamed.origin
                named[id(renamed)] = renamed


def _all_fresh(node: TypeNode) -> list[Resource]:
    """The resources an instance type declares, its nested instances' included."""
    found = list(node.fresh)
    for sort, value in node.exports.values():
        if sort == "instance" and isinstance(value, TypeNode):
            found += _all_fresh(value)
    return found


def _contains_borrow(node: TypeNode) -> bool:
    if node.kind == "borrow":
        return True
    return any(_contains_borrow(item) for item in node.items if item is not None and item.kind != "func")


def _check_annotated(
    parsed: ParsedName, func: TypeNode, resource: TypeNode | None, resources: dict[str, TypeNode]
) -> None:
    params = func.items[:-1]
    result = func.items[-1]
    if parsed.kind == "static":
        if resource is None:
            raise ValidationError("static resource name is not known in this context")
        return
    if parsed.kind == "constructor":
        if result is None:
            raise ValidationError("function should return one value")
        handle = result
        if handle is not None and handle.kind == "result" and handle.items[0] is not None:
            handle = handle.items[0]
        if handle is None or handle.kind != "own":
            raise ValidationError("function should return `(own $T)` or `(result (own $T))`")
        target = handle.items[0]
    else:
        if not params:
            raise ValidationError("function should have at least one argument")
        if func.labels[0] != "self":
            raise ValidationError("function should have a first argument called `self`")
        first = params[0]
        if first is None or first.kind != "borrow":
            raise ValidationError("function should take a first argument of `(borrow $T)`")
        target = first.items[0]
    assert target is not None
    if not any(target is node for node in resources.values()):
        raise ValidationError("resource used in function does not have a name in this context")
    if resource is not target:
        label = next(name for name, node in resources.items() if node is target)
        raise ValidationError(f"function does not match expected resource name `{label}`")


def _outer_scope(scope: Scope, count: int) -> Scope | None:
    outer: Scope | None = scope
    for _ in range(count):
        outer = outer.parent if outer is not None else None
    return outer


def _scopes_between(scope: Scope, count: int) -> list[Scope]:
    """The scopes an outer alias of ``count`` leaves (the current one first)."""
    scopes = []
    current: Scope | None = scope
    for _ in range(count):
        if current is None:
            break
        scopes.append(current)
        current = current.parent
    return scopes


def _core_import_type(module: Module, imported: Import) -> object:
    if imported.kind in (ExternKind.FUNC, ExternKind.TAG):
        assert isinstance(imported.desc, int)
        return module.types[imported.desc]
    return imported.desc


def _declared_core_type(types: list[object], kind: ExternKind, desc: object) -> object:
    if kind in (ExternKind.FUNC, ExternKind.TAG):
        assert isinstance(desc, int)
        if desc >= len(types):
            raise ValidationError(f"unknown type {desc}: type index out of bounds")
        declared = types[desc]
        if isinstance(declared, ModuleNode):
            raise ValidationError(f"type index {desc} is not a function type")
        return declared
    assert isinstance(desc, TableType | MemoryType | GlobalType)
    if isinstance(desc, MemoryType) and max(desc.limits.min, desc.limits.max or 0) > MAX_PAGES:
        raise ValidationError(f"memory size must be at most {MAX_PAGES} pages (4GiB)")
    return desc
