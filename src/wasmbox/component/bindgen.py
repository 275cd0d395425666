"""Typed Python bindings for a WIT world: ``wasmbox component bindgen WIT -o pkg/``.

The generated module has one Python type per WIT type — records are dataclasses, variants a union of one
dataclass per case, enums ``enum.Enum``, flags ``enum.Flag``, resources classes around a resource value — and
one class for the world: constructed from a ``wasmbox.component.Component`` and an object implementing the
world's imports (a ``Protocol`` per imported interface), it offers the exports as annotated methods. A function
returning ``result<T, E>`` returns ``T`` and raises ``Err`` (as the dynamic API does). The output passes
``mypy --strict``.

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
            out += [
                f"class {name}:",
                f'    """A handle of the resource `{typedef.name}`."""',
                "",
                "    def __init__(self, value: ResourceValue) -> None:",
                "        self.value = value",
            ]
        self.lines += out

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
            return f"{self.annotation(kind.resource)}({expression})"
        return f"{self.converter(type_)}({expression})"

    def converter(self, typedef: TypeDef) -> str:
        key = id(typedef)
        if key in self.converters:
            return self.converters[key]
        name = f"_lift_{len(self.converters)}"
        self.converters[key] = name
        annotation = self.annotation(typedef)
        kind = typedef.kind
        body: list[str] = [f"def {name}(value: Any) -> {annotation}:"]
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

    def export_method(self, function: Function, path: str) -> list[str]:
        written, returns, arguments = self.signature(function)
        method = snake(function.name.replace("[", "").replace("]", "_").replace(".", "_"))
        lines = [
            "",
            f"    def {method}(self{', ' if written else ''}{written}) -> {returns}:",
            f'        """{function.docs.strip() or f"Call the export `{function.name}`."}"""',
            f"        function = self._export({path!r})",
            f"        results = function.call_values([{self.lower_arguments(function)}])",
        ]
        result = function.result
        target = result.dealias() if isinstance(result, TypeDef) else result
        if result is None:
            lines.append("        del results")
            lines.append("        return None")
        elif isinstance(target, TypeDef) and isinstance(target.kind, ResultOf):
            lines.append("        outcome = results[0]")
            lines.append("        if isinstance(outcome, Err):")
            lines.append("            raise outcome")
            lines.append(f"        return {self.lift(target.kind.ok, 'outcome.value')}")
        else:
            lines.append(f"        return {self.lift(result, 'results[0]')}")
        del arguments
        return lines

    def lower_arguments(self, function: Function) -> str:
        parts = []
        for name, type_ in function.params:
            target = type_.dealias() if isinstance(type_, TypeDef) else type_
            if isinstance(target, TypeDef) and isinstance(target.kind, Handle):
                parts.append(f"{snake(name)}.value")
            else:
                parts.append(snake(name))
        return ", ".join(parts)

    def import_protocol(self, key: str, interface: Interface) -> tuple[str, list[str]]:
        name = camel(interface.name or key.split("/")[-1].split("@")[0]) + "Imports"
        lines = ["", "", f"class {name}(Protocol):", f'    """What the host provides as `{key}`."""']
        adapters = []
        for function in interface.functions.values():
            written, returns, _ = self.signature(function)
            method = snake(function.name.replace("[", "").replace("]", "_").replace(".", "_"))
            lines += ["", f"    def {method}(self{', ' if written else ''}{written}) -> {returns}: ..."]
            adapters.append((function, method))
        return name, lines + self.import_adapter(name, key, interface, adapters)

    def import_adapter(
        self, protocol: str, key: str, interface: Interface, functions: list[tuple[Function, str]]
    ) -> list[str]:
        lines = ["", "", f"def _{snake(protocol)}_instance(host: {protocol}) -> dict[str, Any]:"]
        lines.append(f'    """The import `{key}` as the component runtime takes it."""')
        lines.append("    instance: dict[str, Any] = {}")
        for function, method in functions:
            args = ", ".join(f"a{index}" for index in range(len(function.params)))
            lifted = ", ".join(self.lift(type_, f"a{index}") for index, (_, type_) in enumerate(function.params))
            lines.append(f"    instance[{function.name!r}] = lambda {args}: host.{method}({lifted})")
        for type_name, typedef in interface.types.items():
            if isinstance(_target_kind(typedef), Resource) and not isinstance(typedef.kind, Alias):
                lines.append(f"    instance[{type_name!r}] = RuntimeResource({type_name!r})")
        lines.append("    return instance")
        return lines

    def generate(self) -> str:
        world = self.world
        world_class = camel(world.name)
        import_protocols: list[tuple[str, str]] = []
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
                import_protocols.append((name, protocol))
                import_lines += lines
        methods: list[str] = []
        for key, entry in world.exports.items():
            if isinstance(entry, Function):
                methods += self.export_method(entry, str(key))
            elif isinstance(entry, Interface):
                prefix = key.qualified_name if isinstance(key, Interface) else str(key)
                for function in entry.functions.values():
                    if function.resource is None:
                        methods += self.export_method(function, f"{prefix}#{function.name}")
        imports_param = ", ".join(f"{snake(p)}: {p}" for _, p in import_protocols)
        body = [
            "",
            "",
            f"class {world_class}:",
            f'    """The world `{world.name}`: a component instance, its exports as typed methods."""',
            "",
            f"    def __init__(self, component: Component{', ' if imports_param else ''}{imports_param}) -> None:",
            "        imports: dict[str, Any] = {}",
        ]
        for name, protocol in import_protocols:
            body.append(f"        imports[{name!r}] = _{snake(protocol)}_instance({snake(protocol)})")
        for name in type_only_imports:
            body.append(f"        imports[{name!r}] = {{}}")
        body += [
            "        self.instance = component.instantiate(imports)",
            "",
            "    def _export(self, path: str) -> Any:",
            "        item: Any = self.instance.exports",
            '        for part in path.split("#"):',
            "            item = item[part]",
            "        return item",
            *methods,
        ]
        header = [
            f'"""Bindings for the WIT world `{world.name}`, generated by `wasmbox component bindgen`."""',
            "",
            "from __future__ import annotations",
            "",
            "import enum",
            "from dataclasses import dataclass",
            "from typing import Any, ClassVar, Protocol, cast",
            "",
            "from wasmbox.component import Component, Err, Ok, ResourceValue, RuntimeResource, Some",
        ]
        return "\n".join([*header, *self.lines, *import_lines, *self.converter_lines, *body]) + "\n"


def _target_kind(typedef: TypeDef) -> object:
    target = typedef.dealias()
    return target.kind if isinstance(target, TypeDef) else target


def generate_bindings(world: World) -> str:
    """The Python source of a module binding ``world``."""
    return _Generator(world).generate()
