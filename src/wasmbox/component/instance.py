"""Instantiating a component: its sections run in order, each growing an index space.

Core modules are instantiated with the existing runtime (``wasmbox.api``), component functions are made by
``canon lift``, core functions by ``canon lower`` and the resource built-ins, nested components are
instantiated with the items named in ``(with ...)``, and the exports are what the caller gets. Everything a
component refers to by index is looked up in the spaces this walk fills, so a component sees exactly what it
was given: its imports and what it defined.

Supported: synchronous functions, all value types, resources (own/borrow, destructors), nested components,
instances, aliases (export and outer), ``start`` without values. Not yet: the async built-ins, streams,
futures, error contexts, threads, value imports/exports (``ComponentUnsupported``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..api import Func, Instance, Module, Store
from ..errors import LinkError, Trap
from ..ir.types import I32, FuncType
from . import ir
from . import types as t
from .builtins import make_builtin
from .functions import (
    CanonicalOptions,
    ComponentFunction,
    HostFunction,
    LiftedFunction,
    check_may_leave,
    lower_function,
)
from .resources import HandleTable, RuntimeResource, resource_drop, resource_new, resource_rep
from .tasks import ComponentThread, Scheduler, Task, ThreadTable, set_current_thread
from .type_space import ComponentUnsupported, Definition, TypeSpace

CORE_SPACES = {
    t.CoreSort.FUNC: "core_funcs",
    t.CoreSort.TABLE: "core_tables",
    t.CoreSort.MEMORY: "core_memories",
    t.CoreSort.GLOBAL: "core_globals",
    t.CoreSort.TAG: "core_tags",
    t.CoreSort.TYPE: "core_types",
    t.CoreSort.MODULE: "core_modules",
    t.CoreSort.INSTANCE: "core_instances",
}
SPACES = {
    t.Sort.FUNC: "funcs",
    t.Sort.INSTANCE: "instances",
    t.Sort.COMPONENT: "components",
    t.Sort.VALUE: "values",
}


@dataclass(eq=False)
class ComponentInstance:
    """An instantiated component: its exports by name, and the state the canonical ABI keeps for it."""

    exports: dict[str, Any] = field(default_factory=dict)
    handles: HandleTable = field(default_factory=HandleTable)
    running: bool = False  # entered and not yet returned: a re-entering call traps
    may_leave: bool = True  # False during post-return: calling out (imports, resource built-ins) traps
    parent: ComponentInstance | None = None  # the instance whose component instantiated this one

    def contains(self, other: ComponentInstance) -> bool:
        """Whether ``other`` is this instance or one nested (at any depth) inside it."""
        current: ComponentInstance | None = other
        while current is not None:
            if current is self:
                return True
            current = current.parent
        return False

    poisoned: bool = False  # trapped: the instance cannot be entered again
    # The async ABI's per-instance state (CanonicalABI.md, "Component Instances").
    threads: ThreadTable = field(default_factory=ThreadTable)
    backpressure: int = 0
    waiting_to_enter: int = 0
    exclusive_thread: ComponentThread | None = None
    scheduler: Scheduler = field(default_factory=Scheduler)  # shared by a root instance and all nested in it


@dataclass(eq=False)
class ComponentClosure:
    """A nested component definition with the instantiation that defined it (for its outer aliases)."""

    component: ir.Component
    definer: _Instantiation | None


@dataclass(eq=False)
class _Instantiation:
    """The index spaces of one component while it is instantiated."""

    component: ir.Component
    store: Store
    imports: Mapping[str, Any]
    parent: _Instantiation | None
    instance: ComponentInstance = field(default_factory=ComponentInstance)
    types: TypeSpace = field(default_factory=TypeSpace)
    funcs: list[Any] = field(default_factory=list)
    instances: list[Mapping[str, Any]] = field(default_factory=list)
    components: list[ComponentClosure] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    core_funcs: list[Any] = field(default_factory=list)
    core_tables: list[Any] = field(default_factory=list)
    core_memories: list[Any] = field(default_factory=list)
    core_globals: list[Any] = field(default_factory=list)
    core_tags: list[Any] = field(default_factory=list)
    core_types: list[Any] = field(default_factory=list)
    core_modules: list[Any] = field(default_factory=list)
    core_instances: list[Mapping[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.types.parent = None if self.parent is None else self.parent.types

    # --- the walk ---------------------------------------------------------------------------------------------

    def run(self) -> ComponentInstance:
        for section in self.component.sections:
            handler = _HANDLERS.get(type(section))
            if handler is not None:
                handler(self, section)
        return self.instance

    def core_module(self, section: ir.CoreModuleSection) -> None:
        self.core_modules.append(Module._from_ir(section.module, None))

    def core_instance(self, section: ir.CoreInstanceSection) -> None:
        for definition in section.instances:
            if isinstance(definition, ir.CoreInstantiate):
                module = self.core_modules[definition.module]
                imports = {name: self.core_instances[index] for name, index in definition.args}
                instance = self.as_start_task(functools.partial(Instance, self.store, module, imports))
                self.core_instances.append(dict(instance.exports))
            else:
                self.core_instances.append(
                    {name: self.core_item(sort, index) for name, sort, index in definition.exports}
                )

    def as_start_task(self, run: Callable[[], Any]) -> Any:
        """Run start code (a core module's start function) as a synchronous task of this instance, so the
        built-ins it calls find a current thread, and blocking traps as in any synchronous task."""
        task = Task(self.instance, False, False, False, list, lambda _: None)
        thread = ComponentThread(task, None)
        task.register_thread(thread)
        previous = set_current_thread(thread)
        try:
            return run()
        finally:
            set_current_thread(previous)
            task.threads.remove(thread)
            if thread.index is not None:
                self.instance.threads.remove(thread.index)

    def core_type(self, section: ir.CoreTypeSection) -> None:
        self.core_types.extend(section.types)

    def nested_component(self, section: ir.ComponentSection) -> None:
        self.components.append(ComponentClosure(section.component, self))

    def instance_section(self, section: ir.InstanceSection) -> None:
        for definition in section.instances:
            if isinstance(definition, ir.Instantiate):
                closure = self.components[definition.component]
                args = {name: self.item(sort_index) for name, sort_index in definition.args}
                child = _Instantiation(closure.component, self.store, args, closure.definer)
                child.instance.parent = self.instance
                child.instance.scheduler = self.instance.scheduler
                self.instances.append(child.run().exports)
            else:
                self.instances.append({str(name): self.item(index) for name, index in definition.exports})

    def alias_section(self, section: ir.AliasSection) -> None:
        for alias in section.aliases:
            target = alias.target
            if isinstance(target, t.CoreExportAlias):
                item = self.core_instances[target.instance].get(target.name)
                if item is None:
                    raise LinkError(f"core instance {target.instance} has no export `{target.name}`")
            elif isinstance(target, t.ExportAlias):
                exports = self.instances[target.instance]
                if target.name not in exports:
                    raise LinkError(f"instance {target.instance} has no export `{target.name}`")
                item = exports[target.name]
            else:
                item = self.outer_item(alias.kind, target.count, target.index)
            self.append(alias.kind, item)

    def outer_item(self, kind: t.SortKind, count: int, index: int) -> Any:
        level: _Instantiation | None = self
        for _ in range(count):
            level = None if level is None else level.parent
        if level is None:
            raise LinkError(f"outer alias {count} levels out")
        if kind.sort == t.Sort.TYPE:
            return level.types.entry(index)
        return level.space(kind)[index]

    def type_section(self, section: ir.TypeSection) -> None:
        for deftype in section.types:
            if isinstance(deftype, t.ResourceType):
                self.types.add(self.define_resource(deftype))
            else:
                self.types.add(Definition(deftype, self.types))

    def define_resource(self, deftype: t.ResourceType) -> RuntimeResource:
        destructor: Callable[[int], None] | None = None
        instance = self.instance
        if deftype.destructor is not None:
            core_destructor = self.core_funcs[deftype.destructor]

            def destructor(rep: int) -> None:
                core_destructor(rep)

        def host_drop(rep: int) -> None:
            """The host drops an owned handle: the destructor enters the instance as an export call would."""
            if destructor is None:
                return
            if instance.running:
                raise Trap("cannot enter component instance", "cannot enter component instance: it is running")
            if instance.poisoned:
                raise Trap("cannot enter component instance", "cannot enter component instance: it trapped earlier")
            instance.running = True
            try:
                destructor(rep)
            except Trap:
                instance.poisoned = True
                raise
            finally:
                instance.running = False

        return RuntimeResource(f"resource{len(self.types.entries)}", instance, destructor, host_drop)

    def canon_section(self, section: ir.CanonSection) -> None:
        for canon in section.canons:
            if canon.op == "lift":
                core = self.core_funcs[int(canon.immediate("core_func"))]  # type: ignore[call-overload]
                signature = self.types.func_type(int(canon.immediate("type")))  # type: ignore[call-overload]
                self.funcs.append(LiftedFunction(self.instance, core, signature, self.options(canon)))
            elif canon.op == "lower":
                callee = self.funcs[int(canon.immediate("func"))]  # type: ignore[call-overload]
                self.core_funcs.append(lower_function(self.instance, callee, self.options(canon)))
            elif canon.op in ("resource.new", "resource.rep", "resource.drop"):
                resource = self.types.resource(int(canon.immediate("type")))  # type: ignore[call-overload]
                self.core_funcs.append(self.resource_builtin(canon.op, resource))
            else:
                builtin = make_builtin(self, canon)
                if builtin is None:
                    raise ComponentUnsupported(f"`canon {canon.op}` is not supported yet")
                self.core_funcs.append(builtin)

    def resource_builtin(self, op: str, resource: RuntimeResource) -> Func:
        instance = self.instance
        table = instance.handles

        def new(rep: int) -> int:
            check_may_leave(instance)
            return resource_new(table, resource, rep % (1 << 32))

        def rep(index: int) -> int:
            return resource_rep(table, resource, index % (1 << 32))

        def drop(index: int) -> None:
            check_may_leave(instance)
            resource_drop(table, resource, index % (1 << 32))

        if op == "resource.new":
            return Func(None, FuncType((I32,), (I32,)), new)
        if op == "resource.rep":
            return Func(None, FuncType((I32,), (I32,)), rep)
        return Func(None, FuncType((I32,), ()), drop)

    def options(self, canon: ir.Canon) -> CanonicalOptions:
        options = CanonicalOptions()
        for option in canon.options:
            name, index = option.name, option.index
            if name == "memory":
                options.memory = self.core_memories[int(index or 0)]
            elif name == "realloc":
                options.realloc = self.core_funcs[int(index or 0)]
            elif name == "post-return":
                options.post_return = self.core_funcs[int(index or 0)]
            elif name.startswith("string-encoding="):
                options.string_encoding = name.split("=", 1)[1]
            elif name == "async":
                options.is_async = True
            elif name == "callback":
                options.callback = self.core_funcs[int(index or 0)]
        return options

    def start(self, section: ir.StartSection) -> None:
        start = section.start
        if start.args or start.results:
            raise ComponentUnsupported("start functions with values are not supported yet")
        self.as_start_task(lambda: self.funcs[start.func].call_values([]))

    def import_section(self, section: ir.ImportSection) -> None:
        for component_import in section.imports:
            name = str(component_import.name)
            extern = component_import.type
            is_equal_type = extern.sort == t.ExternSort.TYPE and isinstance(extern.bound, t.Eq)
            provided = self.imports.get(name)
            if provided is None and extern.sort == t.ExternSort.INSTANCE:
                provided = {}  # an instance of (eq T) types only needs nothing: binding names what is missing
            elif name not in self.imports and not is_equal_type:  # an (eq T) type import is T: nothing to give
                raise LinkError(f"component import `{name}` was not provided")
            item = self.bind(extern, provided, self.types, name)
            self.append(_sort_kind(component_import.type.sort), item)

    def bind(self, extern: t.ExternType, provided: Any, space: TypeSpace, name: str) -> Any:
        """An import (or an exported item of an imported instance) as its declared type says."""
        sort = extern.sort
        if sort == t.ExternSort.FUNC:
            assert extern.index is not None
            signature = space.func_type(extern.index)
            if hasattr(provided, "call_values"):
                return provided
            if not callable(provided):
                raise LinkError(f"import `{name}` must be a function, got {type(provided).__name__}")
            return HostFunction(provided, signature, name)
        if sort == t.ExternSort.TYPE:
            if isinstance(extern.bound, t.Eq):
                return space.entry(extern.bound.index)
            if not isinstance(provided, RuntimeResource):
                raise LinkError(f"import `{name}` must be a resource type, got {type(provided).__name__}")
            return provided
        if sort == t.ExternSort.INSTANCE:
            assert extern.index is not None
            declared = space.entry(extern.index)
            if not isinstance(declared, Definition) or not isinstance(declared.type, t.InstanceType):
                raise LinkError(f"import `{name}`: type {extern.index} is not an instance type")
            if not isinstance(provided, Mapping):
                raise LinkError(f"import `{name}` must be an instance (a mapping of names)")
            return self.bind_instance(declared.type, provided, declared.space, name)
        if sort == t.ExternSort.COMPONENT:
            if not isinstance(provided, ComponentClosure):
                raise LinkError(f"import `{name}` must be a component")
            return provided
        if sort == t.ExternSort.CORE_MODULE:
            if not isinstance(provided, Module):
                raise LinkError(f"import `{name}` must be a core module")
            return provided
        raise ComponentUnsupported(f"import `{name}`: value imports are not supported yet")

    def bind_instance(
        self, declared: t.InstanceType, provided: Mapping[str, Any], outer: TypeSpace, name: str
    ) -> dict[str, Any]:
        local = TypeSpace(parent=outer)
        bound: dict[str, Any] = {}
        for decl in declared.decls:
            if isinstance(decl, t.TypeDecl):
                if isinstance(decl.type, t.ResourceType):
                    raise LinkError("an instance type cannot define a resource")
                local.add(Definition(decl.type, local))
            elif isinstance(decl, t.AliasDecl):
                target = decl.alias.target
                if isinstance(target, t.OuterAlias) and decl.alias.kind.sort == t.Sort.TYPE:
                    local.add(local.outer(target.count).entry(target.index))
            elif isinstance(decl, t.ExportDecl):
                export_name = str(decl.name)
                is_equal_type = decl.type.sort == t.ExternSort.TYPE and isinstance(decl.type.bound, t.Eq)
                if export_name not in provided and not is_equal_type:
                    if not provided:
                        raise LinkError(f"component import `{name}` was not provided (it needs `{export_name}`)")
                    raise LinkError(f"import `{name}` has no export `{export_name}`")
                item = self.bind(decl.type, provided.get(export_name), local, f"{name}.{export_name}")
                bound[export_name] = item
                if decl.type.sort == t.ExternSort.TYPE:
                    local.add(item)
        return bound

    def export_section(self, section: ir.ExportSection) -> None:
        for export in section.exports:
            item = self.item(export.item)
            self.instance.exports[str(export.name)] = item
            self.append(export.item.kind, item)

    # --- index spaces -----------------------------------------------------------------------------------------

    def space(self, kind: t.SortKind) -> list[Any]:
        if kind.sort == t.Sort.CORE:
            assert kind.core is not None
            return getattr(self, CORE_SPACES[kind.core])  # type: ignore[no-any-return]
        if kind.sort == t.Sort.TYPE:
            return self.types.entries  # type: ignore[return-value]
        return getattr(self, SPACES[kind.sort])  # type: ignore[no-any-return]

    def item(self, sort_index: t.SortIndex) -> Any:
        if sort_index.kind.sort == t.Sort.TYPE:
            return self.types.entry(sort_index.index)
        items = self.space(sort_index.kind)
        if not 0 <= sort_index.index < len(items):
            raise LinkError(f"unknown {sort_index.kind.text} {sort_index.index}")
        return items[sort_index.index]

    def core_item(self, sort: t.CoreSort, index: int) -> Any:
        return self.space(t.SortKind(t.Sort.CORE, sort))[index]

    def append(self, kind: t.SortKind, item: Any) -> None:
        if kind.sort == t.Sort.TYPE:
            self.types.add(item)
        else:
            self.space(kind).append(item)


def _sort_kind(sort: t.ExternSort) -> t.SortKind:
    if sort == t.ExternSort.CORE_MODULE:
        return t.SortKind(t.Sort.CORE, t.CoreSort.MODULE)
    return t.SortKind(t.Sort(int(sort)))


_HANDLERS: dict[type, Callable[[_Instantiation, Any], None]] = {
    ir.CoreModuleSection: _Instantiation.core_module,
    ir.CoreInstanceSection: _Instantiation.core_instance,
    ir.CoreTypeSection: _Instantiation.core_type,
    ir.ComponentSection: _Instantiation.nested_component,
    ir.InstanceSection: _Instantiation.instance_section,
    ir.AliasSection: _Instantiation.alias_section,
    ir.TypeSection: _Instantiation.type_section,
    ir.CanonSection: _Instantiation.canon_section,
    ir.StartSection: _Instantiation.start,
    ir.ImportSection: _Instantiation.import_section,
    ir.ExportSection: _Instantiation.export_section,
}


_SYNC_CANONS = frozenset(("lift", "lower", "resource.new", "resource.drop", "resource.rep"))


def uses_concurrency(component: ir.Component) -> bool:
    """Whether the component (or one nested in it) uses the async ABI: async options or its built-ins."""
    for section in component.sections:
        if isinstance(section, ir.ComponentSection) and uses_concurrency(section.component):
            return True
        if isinstance(section, ir.CanonSection):
            for canon in section.canons:
                if canon.op not in _SYNC_CANONS or any(option.name == "async" for option in canon.options):
                    return True
    return False


def instantiate_component(
    component: ir.Component, imports: Mapping[str, Any] | None = None, store: Store | None = None
) -> ComponentInstance:
    """Instantiate ``component`` with ``imports`` (names to Python functions, mappings for instances,
    ``RuntimeResource`` for resource types, or items of other component instances)."""
    if store is None:
        # Fibers interleave core calls of one store; the portable engines keep each call's state in its own
        # Python frames, where machine code keeps it in per-instance records a second fiber would overwrite.
        store = Store(engine="baseline") if uses_concurrency(component) else Store()
    try:
        return _Instantiation(component, store, imports or {}, None).run()
    except RecursionError:
        raise Trap("call stack exhausted", "components nested too deeply") from None


__all__ = ["ComponentInstance", "ComponentFunction", "instantiate_component"]
