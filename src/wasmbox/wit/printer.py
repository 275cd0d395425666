"""Resolved WIT back to text: the root package, then each dependency as a nested ``package ... { }`` block.

The output parses again (with this parser, wasm-tools and wit-bindgen) to the same packages, which the tests
check. The layout is wasm-tools' (``WitPrinter`` in wit-component's ``printing.rs``), so that ``wasmbox component
wit`` and ``wasm-tools component wit`` print the same text: two-space indent; in an interface the ``use`` lines
first (consecutive types from one interface share one), then each type and function with a blank line before it
but the first; in a world the imported interfaces, then its types (resources with their functions), then the
imported functions, then, after a blank line, the exports; a blank line after each interface of the root
package, none inside a nested ``package ... { }``.
"""

from __future__ import annotations

from .lexer import KEYWORDS
from .model import (
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
    Package,
    Primitive,
    Record,
    Resolve,
    Resource,
    ResultOf,
    StreamOf,
    TupleOf,
    Type,
    TypeDef,
    Variant,
    World,
)
from .syntax import Gate


def print_resolve(resolve: Resolve) -> str:
    """The root package, then every other package it was resolved with, nested (two blank lines between them)."""
    out = _Writer()
    out.package(resolve.root, nested=False)
    first = True
    for package in resolve.packages:
        if package is not resolve.root:
            if not first:
                out.line()
                out.line()
            first = False
            out.package(package, nested=True)
    return "".join(out.lines)


def name(text: str) -> str:
    """An identifier as WIT writes it: ``%`` before a keyword."""
    return f"%{text}" if text in KEYWORDS else text


def type_text(type_: Type | None) -> str:
    """A type as written where it is used: named types by name, structural types spelled out."""
    if type_ is None:
        return "_"
    if isinstance(type_, Primitive):
        return type_.name
    if type_.name is not None:
        return name(type_.name)
    return structure_text(type_.kind)


def structure_text(kind: object) -> str:
    """A structural type spelled out (``list<u8>``, ``borrow<r>``, ...)."""
    if isinstance(kind, ListOf):
        length = "" if kind.length is None else f", {kind.length}"
        return f"list<{type_text(kind.element)}{length}>"
    if isinstance(kind, OptionOf):
        return f"option<{type_text(kind.inner)}>"
    if isinstance(kind, ResultOf):
        if kind.ok is None and kind.err is None:
            return "result"
        if kind.err is None:
            return f"result<{type_text(kind.ok)}>"
        return f"result<{type_text(kind.ok)}, {type_text(kind.err)}>"
    if isinstance(kind, TupleOf):
        return f"tuple<{', '.join(type_text(item) for item in kind.items)}>"
    if isinstance(kind, MapOf):
        return f"map<{type_text(kind.key)}, {type_text(kind.value)}>"
    if isinstance(kind, Handle):
        resource = name(kind.resource.name or "")
        return f"borrow<{resource}>" if kind.borrowed else resource
    if isinstance(kind, FutureOf | StreamOf):
        keyword = "future" if isinstance(kind, FutureOf) else "stream"
        return keyword if kind.inner is None else f"{keyword}<{type_text(kind.inner)}>"
    if isinstance(kind, Alias):
        return type_text(kind.target)
    raise ValueError(f"a {type(kind).__name__} has no structural text")


def function_signature(function: Function, *, skip_self: bool = False) -> str:
    params = function.params[1:] if skip_self else function.params
    written = ", ".join(f"{name(param)}: {type_text(type_)}" for param, type_ in params)
    prefix = "async func" if function.is_async else "func"
    result = "" if function.result is None else f" -> {type_text(function.result)}"
    return f"{prefix}({written}){result}"


def gate_lines(gate: Gate) -> list[str]:
    lines: list[str] = []
    if gate.since is not None:
        lines.append(f"@since(version = {gate.since})")
    if gate.unstable is not None:
        lines.append(f"@unstable(feature = {gate.unstable})")
    if gate.deprecated is not None:
        lines.append(f"@deprecated(version = {gate.deprecated})")
    return lines


def interface_path(interface: Interface, here: Package | None) -> str:
    """How code in package ``here`` names ``interface``: by name at home, by full path elsewhere."""
    if interface.package is here or interface.package is None:
        return name(interface.name or "")
    return interface.qualified_name


_NO_GATE = Gate()


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0
        # Whether the current interface or world body has printed an item yet: every item but the first is
        # preceded by a blank line (wasm-tools' ``new_item``); ``use`` lines and world imports count as items
        # without taking a blank line themselves.
        self.any_items = False

    def line(self, text: str = "") -> None:
        self.lines.append(("  " * self.depth + text).rstrip() + "\n")

    def new_item(self) -> None:
        if self.any_items:
            self.line()
        self.any_items = True

    def docs(self, docs: str, gate: Gate = _NO_GATE) -> None:
        for doc in docs.splitlines() if docs else []:
            self.line(f"/// {doc}".rstrip())
        for text in gate_lines(gate):
            self.line(text)

    def package(self, package: Package, *, nested: bool) -> None:
        self.docs(package.docs)
        if nested:
            self.line(f"package {package.name} {{")
            self.depth += 1
        else:
            self.line(f"package {package.name};")
            self.line()
        for interface in package.interfaces.values():
            self.docs(interface.docs, interface.stability)
            self.line(f"interface {name(interface.name or '')} {{")
            self.interface_items(interface, package)
            self.line("}")
            if not nested:
                self.line()
        for world in package.worlds.values():
            self.world(world, package)
        if nested:
            self.depth -= 1
            self.line("}")

    def interface_items(self, interface: Interface, package: Package | None) -> None:
        outer, self.any_items = self.any_items, False
        self.depth += 1
        resource_functions: dict[int, list[Function]] = {}
        for function in interface.functions.values():
            if function.resource is not None:
                resource_functions.setdefault(id(function.resource), []).append(function)
        self.types(list(interface.types.values()), interface, package, resource_functions)
        for function in interface.functions.values():
            if function.resource is None:
                self.new_item()
                self.docs(function.docs, function.stability)
                self.line(f"{name(function.name)}: {function_signature(function)};")
        self.depth -= 1
        self.any_items = outer

    def types(
        self,
        types: list[TypeDef],
        owner: Interface | World,
        package: Package | None,
        resource_functions: dict[int, list[Function]],
    ) -> None:
        """``use`` lines for the types other interfaces own, then the types ``owner`` defines."""
        groups: list[tuple[Interface, list[str], Gate]] = []
        for typedef in types:
            if not _is_use(typedef, owner):
                continue
            assert isinstance(typedef.kind, Alias) and isinstance(typedef.kind.target, TypeDef)
            target = typedef.kind.target
            source = target.owner
            assert isinstance(source, Interface)
            written = name(target.name or "")
            if target.name != typedef.name:
                written += f" as {name(typedef.name or '')}"
            # One ``use`` per run of types from the same interface under the same gate, as wasm-tools groups them.
            if groups and groups[-1][0] is source and groups[-1][2] == typedef.stability:
                groups[-1][1].append(written)
            else:
                groups.append((source, [written], typedef.stability))
        for source, names, gate in groups:
            self.any_items = True
            self.docs("", gate)
            self.line(f"use {interface_path(source, package)}.{{{', '.join(names)}}};")
        for typedef in types:
            if not _is_use(typedef, owner):
                self.new_item()
                external_id = owner.external_ids.get(typedef.name or "") if isinstance(owner, World) else None
                self.typedef(typedef, resource_functions.get(id(typedef), []), external_id)

    def typedef(self, typedef: TypeDef, functions: list[Function], external_id: str | None = None) -> None:
        self.docs(typedef.docs, typedef.stability)
        self.external_id(external_id)
        kind = typedef.kind
        title = name(typedef.name or "")
        if isinstance(kind, Record):
            self.block(f"record {title}", [(f.docs, f"{name(f.name)}: {type_text(f.type)},") for f in kind.fields])
        elif isinstance(kind, Variant):
            cases = [
                (case.docs, name(case.name) + ("" if case.type is None else f"({type_text(case.type)})") + ",")
                for case in kind.cases
            ]
            self.block(f"variant {title}", cases)
        elif isinstance(kind, Enum):
            self.block(f"enum {title}", [(_doc(kind.docs, i), f"{name(case)},") for i, case in enumerate(kind.cases)])
        elif isinstance(kind, Flags):
            self.block(f"flags {title}", [(_doc(kind.docs, i), f"{name(f)},") for i, f in enumerate(kind.names)])
        elif isinstance(kind, Resource):
            if not functions:
                self.line(f"resource {title};")
                return
            self.line(f"resource {title} {{")
            self.depth += 1
            for function in functions:
                self.docs(function.docs, function.stability)
                if function.kind == "constructor":
                    params = ", ".join(f"{name(p)}: {type_text(t)}" for p, t in function.params)
                    explicit = isinstance(function.result, TypeDef) and isinstance(function.result.kind, ResultOf)
                    result = f" -> {type_text(function.result)}" if explicit else ""
                    self.line(f"constructor({params}){result};")
                else:
                    static = "static " if function.kind == "static" else ""
                    signature = function_signature(function, skip_self=function.kind == "method")
                    self.line(f"{name(function.item_name)}: {static}{signature};")
            self.depth -= 1
            self.line("}")
        elif isinstance(kind, Handle) and not kind.borrowed:
            self.line(f"type {title} = own<{name(kind.resource.name or '')}>;")  # a named handle says which
        else:
            target = type_text(kind.target) if isinstance(kind, Alias) else structure_text(kind)
            self.line(f"type {title} = {target};")

    def external_id(self, value: str | None) -> None:
        """``@external-id("...")``, escaped as wasm-tools escapes it (``print_external_id``)."""
        if value is None:
            return
        text = "".join(
            char
            if char.isascii() and (char.isalnum() or char in "-_./: ")
            else _ESCAPES.get(char, f"\\u{{{ord(char):x}}}")
            for char in value
        )
        self.line(f'@external-id("{text}")')

    def block(self, title: str, entries: list[tuple[str, str]]) -> None:
        self.line(f"{title} {{")
        self.depth += 1
        for docs, text in entries:
            self.docs(docs)
            self.line(text)
        self.depth -= 1
        self.line("}")

    def world(self, world: World, package: Package) -> None:
        """Imported interfaces, then the world's types (resources with their functions), then imported
        functions, then the exports: the order wasm-tools prints (and encodes) a world in."""
        outer, self.any_items = self.any_items, False
        self.docs(world.docs, world.stability)
        self.line(f"world {name(world.name)} {{")
        self.depth += 1
        types: list[TypeDef] = []
        resource_functions: dict[int, list[Function]] = {}
        functions: list[tuple[str, Function]] = []
        for key, entry in world.imports.items():
            if isinstance(entry, TypeDef):
                types.append(entry)
            elif isinstance(entry, Function):
                assert isinstance(key, str)
                if entry.resource is not None:
                    resource_functions.setdefault(id(entry.resource), []).append(entry)
                else:
                    functions.append((key, entry))
            else:
                self.world_item("import", key, entry, world, package)
                self.any_items = True
        self.types(types, world, package, resource_functions)
        for key, function in functions:
            self.world_item("import", key, function, world, package)
            self.any_items = True
        if world.exports:
            self.new_item()
        for key, entry in world.exports.items():
            if not isinstance(entry, TypeDef):
                self.world_item("export", key, entry, world, package)
        self.depth -= 1
        self.line("}")
        self.any_items = outer

    def world_item(
        self, direction: str, key: Interface | str, entry: Interface | Function, world: World, package: Package
    ) -> None:
        # An interface's docs: those written on the import or export, else (for a named one) the interface's own.
        external_id = world.external_ids.get(key)
        if isinstance(key, Interface):
            self.docs(world.item_docs.get(key, ""), world.gates.get(key, Gate()))
            self.external_id(external_id)
            self.line(f"{direction} {interface_path(key, package)};")
        elif isinstance(entry, Function):
            self.docs(entry.docs, entry.stability)
            self.external_id(external_id)
            self.line(f"{direction} {name(key)}: {function_signature(entry)};")
        elif entry.package is None:
            self.docs(world.item_docs.get(key) or entry.docs, entry.stability)
            self.external_id(external_id)
            self.line(f"{direction} {name(key)}: interface {{")
            self.interface_items(entry, package)
            self.line("}")
        else:
            self.docs(world.item_docs.get(key) or entry.docs, world.gates.get(key, Gate()))
            self.external_id(external_id)
            self.line(f"{direction} {name(key)}: {interface_path(entry, package)};")


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _doc(docs: list[str], index: int) -> str:
    return docs[index] if index < len(docs) else ""


def _is_use(typedef: TypeDef, owner: Interface | World) -> bool:
    """Whether ``typedef`` was brought in by ``use`` (an alias of a type another interface owns)."""
    kind = typedef.kind
    return (
        isinstance(kind, Alias)
        and isinstance(kind.target, TypeDef)
        and kind.target.name is not None
        and isinstance(kind.target.owner, Interface)
        and kind.target.owner is not owner
    )
