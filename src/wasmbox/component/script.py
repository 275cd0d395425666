"""The component commands of ``.wast`` scripts: define, instantiate, invoke and assert on components.

Component values in scripts are written as wasmtime's script format writes them — ``(u32.const 5)``,
``(str.const "a")``, ``(record.const (field "x" ...))``, ``(variant.const "some" ...)``, ``(flags.const "a")``,
``(list.const ...)``, ... — and are read here with the function's parameter or result type as the guide, so
that ``(variant.const "ok" ...)`` becomes an ``Ok`` for a ``result`` and a ``Variant`` for a variant.

Trap messages are matched by prefix, as for core modules; the canonical ABI's messages start as wasmtime's
(the component test suite was written against it).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

from ..canonical_abi import Err, Ok, Record, Some, Variant, shape_of
from ..canonical_abi.shapes import (
    FlagsShape,
    ListShape,
    PrimitiveShape,
    RecordShape,
    Shape,
    StringShape,
    VariantShape,
)
from ..errors import LinkError, Trap
from ..ir.instructions import ALL_FEATURES
from ..text.lexer import SExpr, Token
from ..text.literals import F32_FORMAT, F64_FORMAT, parse_float, parse_int, parse_uint
from ..text.script import Command
from . import ir
from .functions import ComponentFunction
from .instance import ComponentInstance, instantiate_component
from .type_space import ComponentUnsupported


class ComponentScript:
    """The components of one script: definitions and instances by name, and the current instance."""

    def __init__(self, features: frozenset[str] = ALL_FEATURES) -> None:
        self.features = features
        self.definitions: dict[str, ir.Component] = {}
        self.last_definition: ir.Component | None = None
        self.instances: dict[str, ComponentInstance] = {}
        self.current: ComponentInstance | None = None
        self.unsupported: dict[str | None, str] = {}  # instances that could not be made: why (None: current)

    def load(self, command: Command) -> ir.Component:
        from .validate import validate_component

        assert command.module is not None
        component = command.module.load_component(self.features)
        validate_component(component)
        return component

    def define(self, command: Command) -> None:
        component = self.load(command)
        self.last_definition = component
        name = command.module.name if command.module is not None else None
        if name:
            self.definitions[name] = component

    def instantiate(self, command: Command) -> None:
        """``(component ...)``: define and instantiate at once."""
        component = self.load(command)
        name = command.module.name if command.module is not None else None
        if name:
            self.definitions[name] = component
        self.make_current(component, name)

    def make_current(self, component: ir.Component, name: str | None) -> None:
        """Instantiate; an instance that needs what is not supported makes the commands on it unsupported."""
        self.current = None
        for key in (None, name):
            self.unsupported.pop(key, None)
        try:
            instance = instantiate_component(component)
        except ComponentUnsupported as error:
            for key in (None, name):
                self.unsupported[key] = str(error)
            raise
        self.current = instance
        if name:
            self.instances[name] = instance

    def instance(self, command: Command) -> None:
        """``(component instance $i $Definition)``: a fresh instance of a definition."""
        definition_name = command.action.module if command.action is not None else None
        if definition_name is None:
            component = self.last_definition
        else:
            component = self.definitions.get(definition_name)
        if component is None:
            raise AssertionError(f"unknown component definition {definition_name}")
        self.make_current(component, command.name)

    def target(self, module: str | None) -> ComponentInstance:
        if module in self.unsupported:
            raise ComponentUnsupported(self.unsupported[module])
        if module is None:
            if self.current is None:
                raise AssertionError("no component instantiated")
            return self.current
        if module not in self.instances:
            raise AssertionError(f"unknown component instance {module}")
        return self.instances[module]

    def function(self, command: Command) -> tuple[ComponentFunction, list[Any]]:
        action = command.action
        assert action is not None
        instance = self.target(action.module)
        function = instance.exports.get(action.name)
        if function is None or not hasattr(function, "call_values"):
            raise AssertionError(f"component has no exported function {action.name!r}")
        shapes = [shape_of(type_) for _, type_ in function.signature.params]
        if len(shapes) != len(action.args):
            raise AssertionError(f"{action.name} takes {len(shapes)} arguments, {len(action.args)} given")
        args = [read_value(value.value, shape) for value, shape in zip(action.args, shapes, strict=True)]
        return function, args

    def invoke(self, command: Command) -> list[Any]:
        function, args = self.function(command)
        return function.call_values(args)

    def assert_return(self, command: Command) -> None:
        function, args = self.function(command)
        results = function.call_values(args)
        result_type = function.signature.result
        expected_values = command.expected or []
        if result_type is None:
            if expected_values:
                raise AssertionError(f"no result, expected {len(expected_values)}")
            return
        shape = shape_of(result_type)
        if len(expected_values) != 1:
            raise AssertionError(f"one result, expected {len(expected_values)}")
        expected = read_value(expected_values[0].value, shape)
        if not same(results[0], expected):
            raise AssertionError(f"result {results[0]!r}, expected {expected!r}")

    def expect_trap(self, run: Callable[[], object], message: str) -> None:
        try:
            run()
        except Trap as trap:
            if not same_trap(str(trap), message):
                raise AssertionError(f"trapped with {str(trap)!r}, expected {message!r}") from None
            return
        raise AssertionError(f"returned normally; expected trap {message!r}")

    def run(self, command: Command) -> None:
        """Run one component command (raising AssertionError on a failed assertion)."""
        kind = command.kind
        if kind == "component_definition":
            self.define(command)
        elif kind == "component":
            self.instantiate(command)
        elif kind == "component_instance":
            self.instance(command)
        elif kind == "action":
            self.invoke(command)
        elif kind == "assert_return":
            self.assert_return(command)
        elif kind == "assert_trap":
            self.expect_trap(lambda: self.invoke(command), command.message or "")
        elif kind == "assert_uninstantiable":
            self.expect_trap(lambda: instantiate_component(self.load(command)), command.message or "")
        elif kind == "assert_unlinkable":
            try:
                instantiate_component(self.load(command))
            except LinkError as error:
                if isinstance(error, ComponentUnsupported):
                    raise
                return
            raise AssertionError(f"component linked; expected link error {command.message!r}")
        else:
            raise ComponentUnsupported(f"`{kind}` on components")


# wasmtime words one check differently when its host code makes it and when compiled adapter code between two
# components does (the test suite has both): these wordings name the same check.
_SAME_CHECK = [
    ("unaligned pointer", "realloc return: result not aligned"),
    ("list content out-of-bounds", "realloc return: beyond end of memory"),
    ("string pointer/length out of bounds of memory", "string content out-of-bounds"),
    ("wasm `unreachable` instruction executed", "unreachable"),
]


def same_trap(actual: str, expected: str) -> bool:
    """Whether a trap message is the one a script expects (by prefix, as for core modules)."""
    expected = expected.removeprefix("wasm trap: ")
    if actual.startswith(expected):
        return True
    return any(expected.startswith(a) and actual.startswith(b) for a, b in _SAME_CHECK)


# --- script values ---------------------------------------------------------------------------------------------


def _items(node: Any) -> tuple[str, list[Any]]:
    if not isinstance(node, SExpr) or not node.items or not isinstance(node.items[0], Token):
        raise AssertionError(f"expected a component value, got {node!r}")
    return node.items[0].text, list(node.items[1:])


def _string(token: Any) -> str:
    if not isinstance(token, Token) or token.kind != "string":
        raise AssertionError(f"expected a string, got {token!r}")
    return token.value.decode("utf-8")


def read_value(node: Any, shape: Shape) -> Any:
    """The Python value a script writes, read as ``shape``'s type."""
    head, rest = _items(node)
    if isinstance(shape, PrimitiveShape):
        return _primitive(shape.name, head, rest)
    if isinstance(shape, StringShape):
        return _string(rest[0])
    if isinstance(shape, ListShape):
        items = [read_value(item, shape.element) for item in rest]
        if shape.as_bytes:
            return bytes(items)
        return items
    if isinstance(shape, RecordShape):
        if shape.kind == "tuple":
            return tuple(read_value(item, field) for item, field in zip(rest, shape.fields, strict=True))
        fields: dict[str, Any] = {}
        for item, label, field_shape in zip(rest, shape.labels, shape.fields, strict=True):
            _, field_items = _items(item)
            name = field_items[0]
            value = field_items[1] if isinstance(field_items[1], SExpr) else SExpr(list(field_items[1:]))
            if _string(name) != label:
                raise AssertionError(f"record field {_string(name)!r}, expected {label!r}")
            fields[label] = read_value(value, field_shape)
        return Record(fields)
    if isinstance(shape, VariantShape):
        return _variant(head, rest, shape)
    if isinstance(shape, FlagsShape):
        return frozenset(_string(item) for item in rest)
    raise ComponentUnsupported("handle values in scripts")


def _primitive(name: str, head: str, rest: list[Any]) -> Any:
    if name == "bool":
        return rest[0].text == "true"
    if name == "char":
        return _string(rest[0])
    text = rest[0].text
    if name in ("f32", "f64"):
        if name == "f32":
            return struct.unpack("<f", parse_float(text, F32_FORMAT).to_bytes(4, "little"))[0]
        return struct.unpack("<d", parse_float(text, F64_FORMAT).to_bytes(8, "little"))[0]
    bits = {"u8": 8, "s8": 8, "u16": 16, "s16": 16, "u32": 32, "s32": 32, "u64": 64, "s64": 64}[name]
    if name.startswith("s"):
        return parse_int(text, bits)
    return parse_uint(text, bits)


def _variant(head: str, rest: list[Any], shape: VariantShape) -> Any:
    if head in ("option.none", "option.some", "result.ok", "result.err", "enum.const"):
        label = {"option.none": "none", "option.some": "some", "result.ok": "ok", "result.err": "error"}.get(head)
        payload_nodes = rest if label is not None else []
        if label is None:
            label = _string(rest[0])
    else:
        label = _string(rest[0])
        payload_nodes = rest[1:]
    if label == "err":
        label = "error"
    if label not in shape.labels:
        raise AssertionError(f"case {label!r} is not one of {shape.labels}")
    index = shape.labels.index(label)
    case = shape.cases[index]
    payload = read_value(payload_nodes[0], case) if case is not None and payload_nodes else None
    if shape.kind == "enum":
        return label
    if shape.kind == "option":
        if index == 0:
            return None
        return Some(payload) if isinstance(case, VariantShape) and case.kind == "option" else payload
    if shape.kind == "result":
        return Ok(payload) if index == 0 else Err(payload)
    return Variant(label, payload)


def same(actual: Any, expected: Any) -> bool:
    """Equality with NaN equal to NaN (a canonical NaN is the only NaN a component value can hold)."""
    if isinstance(actual, float) and isinstance(expected, float):
        return (math.isnan(actual) and math.isnan(expected)) or actual == expected
    if isinstance(actual, Record) and isinstance(expected, Record):
        return actual.fields.keys() == expected.fields.keys() and all(
            same(actual.fields[k], expected.fields[k]) for k in actual.fields
        )
    if isinstance(actual, list | tuple) and isinstance(expected, list | tuple):
        return len(actual) == len(expected) and all(same(a, e) for a, e in zip(actual, expected, strict=True))
    if isinstance(actual, Variant) and isinstance(expected, Variant):
        return actual.case == expected.case and same(actual.value, expected.value)
    if isinstance(actual, Ok | Err | Some) and type(actual) is type(expected):
        return same(actual.value, expected.value)
    return bool(actual == expected)
