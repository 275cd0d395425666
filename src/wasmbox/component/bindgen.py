"""Typed Python bindings for a WIT world: ``wasmbox component bindgen WIT -o pkg/``.

The generated module has one Python type per WIT type — records are dataclasses, variants a union of one
dataclass per case, enums ``enum.Enum``, flags ``enum.Flag``, resources classes around a resource value — and
one class for the world: constructed from a ``wasmbox.component.Component`` and, for each imported interface, an
object implementing it (a ``Protocol``; the parameter is named after the interface), it offers the exports as
annotated methods. Imports the world does not name (the WASI interfaces a componentize-py component's CPython
imports) and the store come as keywords (``other_imports=``, ``store=``). A function returning ``result<T, E>``
returns ``T`` and raises ``Err`` (as the dynamic API does) whose value is ``E``'s typed class. The output passes
``mypy --strict``.

Resources go both ways. One the component exports becomes a class of its own (a ``GuestResource``): the world's
method named after the resource is its constructor, static functions are world methods ``resource_name``, and
methods are methods of the object; the host owns what it receives and gives it back with ``drop()`` or a ``with``
block. One the host implements (an imported interface's resource) is a ``Protocol`` of its methods; the
interface's protocol has a factory named after the resource (the constructor) and its static functions, and any
Python object with those methods serves. Handles inside other values (a record holding a handle) are supported
for resources the component exports; for host-implemented ones, only as direct parameters and results.

Values cross as the canonical ABI's generic values (``wasmbox.canonical_abi.values``); the generated
converters turn them into the typed classes and back.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field

from ..wit.model import (
    Alias,
    Enum,
    Flags,
    Function,
    FutureOf,
    Handle,
    Interface,
    ListOf,
    MapOf,
    OptionOf,
    Primitive,
    Record,
    Resource,
    ResultOf,
    StreamOf,
    TupleOf,
    Type,
    TypeDef,
    Variant,
    World,
)

_PRIMITIVE_ANNOTATIONS = {
    "bool": "bool",
    "u8": "int", "u16": "int", "u32": "int", "u64": "int",
    "s8": "int", "s16": "int", "s32": "int", "s64": "int",
    "f32": "float", "f64": "float",
    "char": "str", "string": "str",
}  # fmt: skip


def snake(name: str) -> str:
    text = name.replace("-", "_").lower()
    return text + "_" if keyword.iskeyword(text) or text in ("self", "type") else text


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:].lower() for part in name.replace("_", "-").split("-") if part)


def constant(name: str) -> str:
    text = name.replace("-", "_").upper()
    return text if text.isidentifier() else f"V_{text}"


@dataclass
class _Generator:
    """Emits the module: type definitions first, then converters, then the world's classes."""

    world: World
    lines: list[str] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # TypeDef id -> Python class name
    emitted: set[int] = field(default_factory=set)
    converters: dict[int, str] = field(default_factory=dict)  # TypeDef id -> lift function name
    converter_lines: list[str] = field(default_factory=list)
    # Resource TypeDef id -> (the path of its interface, the interface, whether the component exports it)
    resource_homes: dict[int, tuple[str, Interface, bool]] = field(default_factory=dict)

    # --- names and annotations --------------------------------------------------------------------------------

    def class_name(self, typedef: TypeDef) -> str:
        key = id(typedef)
        if key not in self.names:
            base = camel(typedef.name or "anonymous")
            taken = set(self.names.values())
            name, suffix = base, 2
            while name in taken:
                name, suffix = f"{base}{suffix}", suffix + 1
            self.names[key] = name
        return self.names[key]

    def annotation(self, type_: Type | None) -> str:
        if type_ is None:
            return "None"
        if isinstance(type_, Primitive):
            return _PRIMITIVE_ANNOTATIONS[type_.name]
        kind = type_.kind
        if isinstance(kind, Alias):
            return self.annotation(kind.target)
        if isinstance(kind, Record | Variant | Enum | Flags | Resource):
            self.define(type_)
            return self.class_name(type_)
        if isinstance(kind, ListOf):
            if kind.element == Primitive("u8"):
                return "bytes"
            return f"list[{self.annotation(kind.element)}]"
        if isinstance(kind, TupleOf):
            return f"tuple[{', '.join(self.annotation(item) for item in kind.items)}]"
        if isinstance(kind, OptionOf):
            inner = kind.inner
            if isinstance(inner, TypeDef) and isinstance(_target_kind(inner), OptionOf):
                return "Some | None"
            return f"{self.annotation(inner)} | None"
        if isinstance(kind, ResultOf):
            return "Ok | Err"
        if isinstance(kind, MapOf):
            return f"list[tuple[{self.annotation(kind.key)}, {self.annotation(kind.value)}]]"
        if isinstance(kind, Handle):
            return self.annotation(kind.resource)
        assert isinstance(kind, FutureOf | StreamOf)
        return "object"

    # --- type definitions -------------------------------------------------------------------------------------

    def define(self, typedef: TypeDef) -> None:
        if id(typedef) in self.emitted:
            return
        self.emitted.add(id(typedef))
        kind = typedef.kind
        name = self.class_name(typedef)
        out: list[str] = ["", ""]
        docs = typedef.docs.strip()
        if isinstance(kind, Record):
            out += ["@dataclass", f"class {name}:", f'    """{docs or f"The record `{typedef.name}`."}"""', ""]
            for item in kind.fields:
                out.append(f"    {snake(item.name)}: {self.annotation(item.type)}")
        elif isinstance(kind, Variant):
            cases: list[str] = []
            for case in kind.cases:
                case_name = f"{name}{camel(case.name)}"
                cases.append(case_name)
                out += ["@dataclass", f"class {case_name}:", f'    """The case `{case.name}` of `{typedef.name}`."""']
                out.append("")
                out.append(f'    case: ClassVar[str] = "{case.name}"')
                if case.type is not None:
                    out.append(f"    value: {self.annotation(case.type)}")
                else:
                    out.append("    value: None = None")
                out += ["", ""]
            out.append(f"{name} = {' | '.join(cases)}")
        elif isinstance(kind, Enum):
            out += [f"class {name}(enum.Enum):", f'    """{docs or f"The enum `{typedef.name}`."}"""', ""]
            out += [f'    {constant(case)} = "{case}"' for case in kind.cases]
        elif isinstance(kind, Flags):
            out += [f"class {name}(enum.Flag):", f'    """{docs or f"The flags `{typedef.name}`."}"""', ""]
            out += [f"    {constant(flag)} = {1 << index}" for index, flag in enumerate(kind.names)]
        elif isinstance(kind, Resource):
            out += self.resource_class(typedef, name, docs)
        self.lines += out

    def resource_class(self, typedef: TypeDef, name: str, docs: str) -> list[str]:
        home = self.resource_homes.get(id(typedef))
        if home is None:  # not reachable from the world's interfaces: an opaque handle
            return [
                f"class {name}(GuestResource):",
                f'    """{docs or f"A handle of the resource `{typedef.name}`."}"""',
            ]
        path, interface, exported = home
        functions = [f for f in interface.functions.values() if f.resource is typedef and f.kind == "method"]
        if exported:
            out = [
                f"class {name}(GuestResource):",
                f'    """{docs or f"The resource `{typedef.name}`, implemented by the component."}"""',
            ]
            for function in functions:
                out += self.export_method(function, f"{path}#{function.name}", on_resource=True)
            return out
        out = [
            f"class {name}(Protocol):",
            f'    """{docs or f"The resource `{typedef.name}`, implemented by the host: its methods."}"""',
        ]
        for function in functions:
            written, returns, _ = self.signature(function, skip_self=True)
            out += [
                "",
                f"    def {snake(function.item_name)}(self{', ' if written else ''}{written}) -> {returns}: ...",
            ]
        if not functions:
            out.append("")
        return out

    # --- converters: generic ABI values -> typed values -------------------------------------------------------

    def lift(self, type_: Type | None, expression: str) -> str:
        """Python code converting ``expression`` (a generic value) to the typed value."""
        if type_ is None:
            return expression
        if isinstance(type_, Primitive):
            return f"{_PRIMITIVE_ANNOTATIONS[type_.name]}({expression})"
        kind = type_.kind
        if isinstance(kind, Alias):
            return self.lift(kind.target, expression)
        if isinstance(kind, ListOf) and kind.element == Primitive("u8"):
            return f"bytes({expression})"
        if isinstance(kind, ResultOf | FutureOf | StreamOf):
            return f"cast({self.annotation(type_)!r}, {expression})"
        if isinstance(kind, Handle):
            resource = kind.resource.dealias()
            assert isinstance(resource, TypeDef)
            class_name = self.annotation(resource)
            home = self.resource_homes.get(id(resource))
            if home is not None and not home[2]:
                return f"cast({class_name!r}, world._host_object({expression}))"
            return f"{class_name}({expression}, world)"
        return f"{self.converter(type_)}({expression}, world)"

    def lower(self, type_: Type | None, expression: str) -> str:
        """Python code converting a typed value to what the component runtime takes (host objects to handles)."""
        target = type_.dealias() if isinstance(type_, TypeDef) else type_
        if isinstance(target, TypeDef) and isinstance(target.kind, Handle):
            resource = target.kind.resource.dealias()
            assert isinstance(resource, TypeDef)
            home = self.resource_homes.get(id(resource))
            if home is not None and not home[2]:
                key = f"{home[0]}#{resource.name}"
                method = "_lend" if target.kind.borrowed else "_own"
                return f"world.{method}({key!r}, {expression})"
            return f"{expression}.resource_value"
        return expression

    def converter(self, typedef: TypeDef) -> str:
        key = id(typedef)
        if key in self.converters:
            return self.converters[key]
        name = f"_lift_{len(self.converters)}"
        self.converters[key] = name
        annotation = self.annotation(typedef)
        kind = typedef.kind
        body: list[str] = [f"def {name}(value: Any, world: WorldBindings) -> {annotation}:"]
        if isinstance(kind, Record):
            arguments = ", ".join(
                f"{snake(f.name)}={self.lift(f.type, f'value.fields[{f.name!r}]')}" for f in kind.fields
            )
            body.append(f"    return {self.class_name(typedef)}({arguments})")
        elif isinstance(kind, Variant):
            body.append("    case = value.case")
            for case in kind.cases:
                case_class = f"{self.class_name(typedef)}{camel(case.name)}"
                payload = "" if case.type is None else self.lift(case.type, "value.value")
                body.append(f"    if case == {case.name!r}:")
                body.append(f"        return {case_class}({payload})")
            body.append('    raise ValueError(f"unknown case {case!r}")')
        elif isinstance(kind, Enum):
            body.append(f"    return {self.class_name(typedef)}(value)")
        elif isinstance(kind, Flags):
            flag_class = self.class_name(typedef)
            body.append(f"    result = {flag_class}(0)")
            body.append(f"    for member in {flag_class}:")
            body.append('        if str(member.name).lower().replace("_", "-") in value:')
            body.append("            result |= member")
            body.append("    return result")
        elif isinstance(kind, ListOf):
            body.append(f"    return [{self.lift(kind.element, 'item')} for item in value]")
        elif isinstance(kind, MapOf):
            body.append(f"    return [({self.lift(kind.key, 'k')}, {self.lift(kind.value, 'v')}) for k, v in value]")
        elif isinstance(kind, TupleOf):
            items = ", ".join(self.lift(item, f"value[{index}]") for index, item in enumerate(kind.items))
            body.append(f"    return ({items}{',' if len(kind.items) == 1 else ''})")
        elif isinstance(kind, OptionOf):
            inner = kind.inner
            if isinstance(inner, TypeDef) and isinstance(_target_kind(inner), OptionOf):
                body.append('    return cast("Some | None", value)  # nested options stay generic')
            else:
                body.append(f"    return None if value is None else {self.lift(inner, 'value')}")
        else:
            body.append(f"    return cast({annotation!r}, value)")
        if not any("world" in line for line in body[1:]):
            body.insert(1, "    del world")
        self.converter_lines += ["", "", *body]
        return name

    # --- the world --------------------------------------------------------------------------------------------

    def signature(self, function: Function, *, skip_self: bool = False) -> tuple[str, str, str]:
        params = function.params[1:] if skip_self else function.params
        written = ", ".join(f"{snake(name)}: {self.annotation(type_)}" for name, type_ in params)
        result = function.result
        result_target = result.dealias() if isinstance(result, TypeDef) else result
        if isinstance(result_target, TypeDef) and isinstance(result_target.kind, ResultOf):
            returns = self.annotation(result_target.kind.ok)
        else:
            returns = self.annotation(result)
        arguments = ", ".join(snake(name) for name, _ in params)
        return written, returns, arguments

    def export_method(self, function: Function, path: str, *, on_resource: bool = False) -> list[str]:
        """A method calling the export at ``path``: on the world, or (``on_resource``) on a resource's class."""
        written, returns, _ = self.signature(function, skip_self=on_resource)
        arguments = self.lower_arguments(function, skip_self=on_resource)
        if on_resource:
            arguments = ", ".join(["self.resource_value", *([arguments] if arguments else [])])
        result = function.result
        target = result.dealias() if isinstance(result, TypeDef) else result
        docs = function.docs.strip() or f"Call the export `{function.name}`."
        if function.kind == "constructor" and function.resource is not None and not function.docs.strip():
            docs = f"A new `{function.resource.name}` (the export `{function.name}`)."
        if isinstance(target, TypeDef) and isinstance(target.kind, ResultOf) and target.kind.err is not None:
            docs += f"\n\n        Raises `Err` with a `{self.annotation(target.kind.err)}` as its value.\n        "
        lines = [
            "",
            f"    def {self.method_name(function, on_resource=on_resource)}(self{', ' if written else ''}{written})"
            f" -> {returns}:",
            f'        """{docs}"""',
            f"        world = {'self._world' if on_resource else 'self'}",
            f"        function = world._export({path!r})",
        ]
        if "world._lend(" in arguments:
            lines += [
                "        try:",
                f"            results = function.call_values([{arguments}])",
                "        finally:",
                "            world._end_call()",
            ]
        else:
            lines.append(f"        results = function.call_values([{arguments}])")
        if result is None:
            lines.append("        del results")
            lines.append("        return None")
        elif isinstance(target, TypeDef) and isinstance(target.kind, ResultOf):
            lines.append("        outcome = results[0]")
            lines.append("        if isinstance(outcome, Err):")
            if target.kind.err is None:
                lines.append("            raise outcome")
            else:  # the error as its typed class, as the ok value is (an enum's member, not its case name)
                lines.append(f"            raise Err({self.lift(target.kind.err, 'outcome.value')}) from None")
            lines.append(f"        return {self.lift(target.kind.ok, 'outcome.value')}")
        else:
            lines.append(f"        return {self.lift(result, 'results[0]')}")
        return lines

    @staticmethod
    def method_name(function: Function, *, on_resource: bool = False) -> str:
        """A resource's method by its own name; its constructor as the resource; statics as ``resource_name``."""
        if function.resource is not None and not on_resource:
            resource = function.resource.name or "resource"
            if function.kind == "constructor":
                return snake(resource)
            return snake(f"{resource}_{function.item_name}")
        return snake(function.item_name if on_resource else function.name)

    def lower_arguments(self, function: Function, *, skip_self: bool = False) -> str:
        params = function.params[1:] if skip_self else function.params
        return ", ".join(self.lower(type_, snake(name)) for name, type_ in params)

    def import_protocol(self, key: str, interface: Interface) -> tuple[str, list[str]]:
        name = camel(interface.name or key.split("/")[-1].split("@")[0]) + "Imports"
        lines = ["", "", f"class {name}(Protocol):", f'    """What the host provides as `{key}`."""']
        adapters = []
        for function in interface.functions.values():
            if function.kind == "method":
                adapters.append((function, snake(function.item_name)))  # a method of the resource's protocol
                continue
            written, returns, _ = self.signature(function)
            method = self.method_name(function)
            lines += ["", f"    def {method}(self{', ' if written else ''}{written}) -> {returns}: ..."]
            adapters.append((function, method))
        return name, lines + self.import_adapter(name, key, interface, adapters)

    def import_adapter(
        self, protocol: str, key: str, interface: Interface, functions: list[tuple[Function, str]]
    ) -> list[str]:
        lines = ["", "", f"def _{snake(protocol)}_instance(host: {protocol}, world: WorldBindings) -> dict[str, Any]:"]
        lines.append(f'    """The import `{key}` as the component runtime takes it."""')
        lines.append("    instance: dict[str, Any] = {}")
        for type_name, typedef in interface.types.items():
            if isinstance(_target_kind(typedef), Resource) and not isinstance(typedef.kind, Alias):
                lines.append(
                    f"    instance[{type_name!r}] = world._host_resource({f'{key}#{type_name}'!r}, {type_name!r})"
                )
        for function, method in functions:
            args = ", ".join(f"a{index}" for index in range(len(function.params)))
            lifted = [self.lift(type_, f"a{index}") for index, (_, type_) in enumerate(function.params)]
            if function.kind == "method":
                call = f"{lifted[0]}.{method}({', '.join(lifted[1:])})"
            else:
                call = f"host.{method}({', '.join(lifted)})"
            lines.append(f"    instance[{function.name!r}] = lambda {args}: {self.lower(function.result, call)}")
        lines.append("    return instance")
        return lines

    def find_resources(self) -> None:
        """Where each resource of the world lives, and who implements it (exports: the component)."""
        for entries, exported in ((self.world.imports, False), (self.world.exports, True)):
            for key, entry in entries.items():
                if not isinstance(entry, Interface):
                    continue
                path = key.qualified_name if isinstance(key, Interface) else str(key)
                for typedef in entry.types.values():
                    if isinstance(typedef.kind, Resource):
                        self.resource_homes[id(typedef)] = (path, entry, exported)

    def generate(self) -> str:
        world = self.world
        world_class = camel(world.name)
        self.find_resources()
        import_protocols: list[tuple[str, str, str]] = []  # (import name, protocol, constructor parameter)
        parameters_taken = {"self", "component", "other_imports", "store", "imports"}
        import_lines: list[str] = []
        type_only_imports: list[str] = []
        for key, entry in world.imports.items():
            if isinstance(entry, Interface):
                name = key.qualified_name if isinstance(key, Interface) else str(key)
                has_resources = any(isinstance(_target_kind(t), Resource) for t in entry.types.values())
                if not entry.functions and not has_resources:
                    type_only_imports.append(name)  # nothing to provide: its types are fixed by the WIT
                    continue
                protocol, lines = self.import_protocol(name, entry)
                # The parameter is named after the interface (`logger`), as the WIT names the import.
                parameter = base = snake(entry.name or name.split("/")[-1].split("@")[0])
                suffix = 2
                while parameter in parameters_taken:
                    parameter, suffix = f"{base}_{suffix}", suffix + 1
                parameters_taken.add(parameter)
                import_protocols.append((name, protocol, parameter))
                import_lines += lines
        methods: list[str] = []
        for key, entry in world.exports.items():
            if isinstance(entry, Function):
                methods += self.export_method(entry, str(key))
            elif isinstance(entry, Interface):
                prefix = key.qualified_name if isinstance(key, Interface) else str(key)
                for typedef in entry.types.values():
                    if isinstance(typedef.kind, Resource):
                        self.define(typedef)
                for function in entry.functions.values():
                    if function.kind != "method":  # methods belong to the resource's class
                        methods += self.export_method(function, f"{prefix}#{function.name}")
        imports_param = "".join(f", {parameter}: {protocol}" for _, protocol, parameter in import_protocols)
        body = [
            "",
            "",
            f"class {world_class}(WorldBindings):",
            f'    """The world `{world.name}`: a component instance, its exports as typed methods.',
            "",
            "    ``other_imports`` are imports the world does not name, such as the WASI 0.2 interfaces a",
            "    componentize-py component's CPython imports (``WasiHost().imports_for(component)``); ``store``",
            '    chooses the engine."""',
            "",
            "    def __init__(",
            f"        self, component: Component{imports_param}, *,",
            "        other_imports: Mapping[str, Any] | None = None, store: Store | None = None,",
            "    ) -> None:",
            "        super().__init__()",
            "        imports: dict[str, Any] = dict(other_imports or {})",
        ]
        for name, protocol, parameter in import_protocols:
            body.append(f"        imports[{name!r}] = _{snake(protocol)}_instance({parameter}, self)")
        for name in type_only_imports:
            body.append(f"        imports[{name!r}] = {{}}")
        body += ["        self._instantiate(component, imports, store)", *methods]
        header = [
            f'"""Bindings for the WIT world `{world.name}`, generated by `wasmbox component bindgen`."""',
            "",
            "from __future__ import annotations",
            "",
            "import enum",
            "from collections.abc import Mapping",
            "from dataclasses import dataclass",
            "from typing import Any, ClassVar, Protocol, cast",
            "",
            "from wasmbox import Store",
            "from wasmbox.component import Component, Err, Ok, Some",
            "from wasmbox.component.bindings import GuestResource, WorldBindings",
        ]
        return "\n".join([*header, *self.lines, *import_lines, *self.converter_lines, *body]) + "\n"


def _target_kind(typedef: TypeDef) -> object:
    target = typedef.dealias()
    return target.kind if isinstance(target, TypeDef) else target


def generate_bindings(world: World) -> str:
    """The Python source of a module binding ``world``."""
    return _Generator(world).generate()
