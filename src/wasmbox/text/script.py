"""``.wast`` scripts: modules, actions and assertions of the spec test suite.

A script is parsed into a list of commands.  Modules are kept as
:class:`ModuleSource` and only turned into IR when a command is run, because
``assert_malformed`` modules must fail exactly then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..binary.decode import decode_module
from ..errors import MalformedError
from ..ir.instructions import DEFAULT_FEATURES
from ..ir.module import Module
from ..ir.types import EXTERNREF, FUNCREF, I32, I64, REFTYPE_BY_HEAP_TEXT, V128, VALTYPE_BY_TEXT, ValType
from .lexer import Node, SExpr, Token, parse_sexprs, text_error
from .literals import F32_FORMAT, F64_FORMAT, LiteralError, parse_float, parse_int
from .parser import SIMD_SHAPES, ModuleParser, unexpected

if TYPE_CHECKING:
    from ..component.ir import Component


@dataclass
class ModuleSource:
    """A module as written in a script: ``text`` fields, ``binary`` bytes or
    ``quote`` text.  :meth:`load` decodes or parses it."""

    kind: str
    name: str | None
    line: int
    fields: list[Node] = field(default_factory=list)
    data: bytes = b""
    source: str | None = None
    is_component: bool = False  # ``(component ...)`` rather than ``(module ...)``

    def load_component(self, features: frozenset[str] = DEFAULT_FEATURES) -> Component:
        """The component this source holds (see :mod:`wasmbox.component.parse`)."""
        from ..component.decode import decode_component
        from ..component.parse import parse_component_fields, parse_component_text

        if self.kind == "binary":
            return decode_component(self.data, features)
        if self.kind == "quote":
            text = "(component " + self.data.decode("utf-8", "surrogateescape") + ")"
            return parse_component_text(text, self.source, features)
        ident = Token("id", self.name, self.line, 0) if self.name else None
        return parse_component_fields(self.fields, ident, self.source, features)

    def load(self, features: frozenset[str] = DEFAULT_FEATURES) -> Module:
        if self.kind == "binary":
            return decode_module(self.data, features)
        if self.kind == "quote":
            from .parser import parse_module_text

            text = self.data.decode("utf-8", "surrogateescape")
            return parse_module_text(text, self.source, features)
        try:
            return ModuleParser(self.fields, None, self.source, features).parse()
        except RecursionError:
            raise MalformedError("nesting too deep", line=self.line, source=self.source) from None


@dataclass
class Value:
    """A constant in a script.  ``value``: the raw bits as an unsigned int for
    numbers, 16 bytes for v128, ``None`` for a null reference, an int for
    ``ref.extern``; ``pattern`` names a NaN class or ``ref.func``/``ref.extern``
    wildcards in expected results; ``lanes`` holds per-lane expectations."""

    type: ValType
    value: object = None
    pattern: str | None = None
    lanes: list[Value] | None = None
    shape: str | None = None


@dataclass
class Action:
    kind: str  # "invoke" | "get"
    module: str | None
    name: str
    args: list[Value]
    line: int


@dataclass
class Command:
    kind: str
    line: int
    module: ModuleSource | None = None
    action: Action | None = None
    expected: list[Value] | None = None
    message: str | None = None
    name: str | None = None  # for register: the name to register as
    alternatives: list[list[Value]] | None = None


MODULE_FIELDS = frozenset(("type", "import", "func", "table", "memory", "global", "export", "start", "elem", "data"))
CUSTOM_ASSERTIONS = {"assert_malformed_custom": "assert_malformed", "assert_invalid_custom": "assert_invalid"}


def parse_script(source: str | bytes, name: str | None = None) -> list[Command]:
    nodes = parse_sexprs(source, name)
    if nodes and isinstance(nodes[0], SExpr) and (nodes[0].head() in MODULE_FIELDS or nodes[0].annotation()):
        # A script made only of module fields is one inline module.
        first = nodes[0]
        return [Command("module", first.line, module=ModuleSource("text", None, first.line, fields=nodes, source=name))]
    return [parse_command(node, name) for node in nodes]  # an error marker raises in parse_command


def _list(node: Node) -> SExpr:
    if not isinstance(node, SExpr) or node.head() is None:
        raise unexpected(node)
    return node


def parse_module_source(node: SExpr, source: str | None) -> ModuleSource:
    items = node.items[1:]
    name = None
    if items and isinstance(items[0], Token) and items[0].kind == "id":
        name = items[0].text
        items = items[1:]
    if items and isinstance(items[0], Token) and items[0].text in ("binary", "quote"):
        kind = items[0].text
        chunks = []
        for item in items[1:]:
            if not isinstance(item, Token) or item.kind != "string":
                raise unexpected(item)
            chunks.append(item.value)
        return ModuleSource(kind, name, node.line, data=b"".join(chunks), source=source)
    return ModuleSource("text", name, node.line, fields=list(items), source=source)


def parse_command(node: Node, source: str | None = None) -> Command:
    if isinstance(node, Token) and node.kind == "error":
        raise text_error("unexpected token", node)
    node = _list(node)
    head = node.head()
    items = node.items
    if head == "module":
        return _module_command(node, source)
    if head == "component":
        command = _module_command(node, source)
        command.kind = command.kind.replace("module", "component")
        if command.module is not None:
            command.module.is_component = True
        return command
    if head == "register":
        name = _string(items[1])
        module = items[2].text if len(items) > 2 and isinstance(items[2], Token) else None
        return Command("register", node.line, name=name, action=Action("get", module, "", [], node.line))
    if head in ("invoke", "get"):
        return Command("action", node.line, action=parse_action(node))
    if head == "assert_return":
        action = parse_action(_list(items[1]))
        expected = []
        alternatives = None
        for item in items[2:]:
            item = _list(item)
            if item.head() == "either":
                alternatives = [[parse_value(_list(choice), expected=True)] for choice in item.items[1:]]
            else:
                expected.append(parse_value(item, expected=True))
        return Command("assert_return", node.line, action=action, expected=expected, alternatives=alternatives)
    if head == "assert_exception":
        return Command("assert_exception", node.line, action=parse_action(_list(items[1])))
    if head in ("assert_trap", "assert_exhaustion"):
        target = _list(items[1])
        message = _string(items[2])
        if target.head() in ("module", "component"):
            target_source = parse_module_source(target, source)
            target_source.is_component = target.head() == "component"
            return Command("assert_uninstantiable", node.line, module=target_source, message=message)
        return Command(head, node.line, action=parse_action(target), message=message)  # type: ignore[arg-type]
    if head in CUSTOM_ASSERTIONS:
        # The annotations proposal's checks of custom sections written as annotations
        # (``@custom``, ``@name``, branch hints): as assert_malformed / assert_invalid.
        head = CUSTOM_ASSERTIONS[head]
    if head in ("assert_malformed", "assert_invalid", "assert_unlinkable", "assert_uninstantiable"):
        target = _list(items[1])
        if target.head() not in ("module", "component"):
            raise unexpected(target)
        target_source = parse_module_source(target, source)
        target_source.is_component = target.head() == "component"
        return Command(head, node.line, module=target_source, message=_string(items[2]))
    raise text_error(f"unknown script command {head}", node)


def _module_command(node: SExpr, source: str | None) -> Command:
    """``(module ...)``, or the Wasm 3.0 script forms ``(module definition $M? ...)``, which only
    validates a module (and names it), and ``(module instance $I? $M?)``, which instantiates a named
    definition (or the latest one) as a new instance: instantiation is generative."""
    items = node.items
    form = items[1] if len(items) > 1 and isinstance(items[1], Token) and items[1].kind == "keyword" else None
    if form is not None and form.text == "definition":
        without = SExpr([items[0], *items[2:]], node.line, node.column)
        return Command("module_definition", node.line, module=parse_module_source(without, source))
    if form is not None and form.text == "instance":
        names: list[str | None] = []
        for item in items[2:]:
            if not isinstance(item, Token) or item.kind != "id" or len(names) == 2:
                raise unexpected(item)
            names.append(item.text)
        instance, definition = (names + [None, None])[:2]  # the instance's name first, then the definition's
        return Command("module_instance", node.line, name=instance, action=Action("get", definition, "", [], node.line))
    return Command("module", node.line, module=parse_module_source(node, source))


def _string(node: Node) -> str:
    if not isinstance(node, Token) or node.kind != "string":
        raise unexpected(node)
    return node.value.decode("utf-8", "replace")


def parse_action(node: SExpr) -> Action:
    head = node.head()
    items = node.items[1:]
    module = None
    if items and isinstance(items[0], Token) and items[0].kind == "id":
        module = items[0].text
        items = items[1:]
    name = _string(items[0])
    if head == "invoke":
        args = [parse_value(_list(arg)) for arg in items[1:]]
        return Action("invoke", module, name, args, node.line)
    if head == "get":
        return Action("get", module, name, [], node.line)
    raise unexpected(node)


_NAN_PATTERNS = ("nan:canonical", "nan:arithmetic")
# Expected results that only say what kind of GC reference a result is (any non-null one: ref.any).
GC_RESULT_PATTERNS = frozenset(("ref.struct", "ref.array", "ref.i31", "ref.eq", "ref.any"))
# Constants of component values (``u32.const``, ``str.const``, ``list.const`` ...): kept unparsed,
# as a value with the pattern ``component``, until components can be instantiated.
COMPONENT_VALUE_HEADS = frozenset(
    "bool.const s8.const u8.const s16.const u16.const s32.const u32.const s64.const u64.const char.const "
    "str.const list.const record.const tuple.const variant.const enum.const flags.const option.some "
    "option.none result.ok result.err".split()
)


def parse_value(node: SExpr, expected: bool = False) -> Value:
    head = node.head()
    items = node.items[1:]
    if head in COMPONENT_VALUE_HEADS:
        return Value(I32, node, pattern="component")
    try:
        if head in ("i32.const", "i64.const"):
            bits = 32 if head == "i32.const" else 64
            return Value(VALTYPE_BY_TEXT[head[:3]], parse_int(_atom(items, 0), bits) & ((1 << bits) - 1))
        if head in ("f32.const", "f64.const"):
            text = _atom(items, 0)
            vt = VALTYPE_BY_TEXT[head[:3]]
            if expected and text in _NAN_PATTERNS:
                return Value(vt, pattern=text)
            return Value(vt, parse_float(text, F32_FORMAT if head == "f32.const" else F64_FORMAT))
        if head == "v128.const":
            shape = _atom(items, 0)
            if shape not in SIMD_SHAPES:
                raise unexpected(items[0])
            count, bits = SIMD_SHAPES[shape]
            lanes = []
            for i in range(count):
                text = _atom(items, i + 1)
                if shape.startswith("f"):
                    if expected and text in _NAN_PATTERNS:
                        lanes.append(Value(VALTYPE_BY_TEXT[shape[:3]], pattern=text))
                    else:
                        fmt = F32_FORMAT if shape == "f32x4" else F64_FORMAT
                        lanes.append(Value(VALTYPE_BY_TEXT[shape[:3]], parse_float(text, fmt)))
                else:
                    lanes.append(Value(I64, parse_int(text, bits) & ((1 << bits) - 1)))
            raw = b"".join(
                int(lane.value if lane.pattern is None else 0).to_bytes(bits // 8, "little")  # type: ignore[call-overload]
                for lane in lanes
            )
            has_pattern = any(lane.pattern for lane in lanes)
            return Value(V128, raw, pattern="lanes" if has_pattern else None, lanes=lanes, shape=shape)
        if head == "ref.null":
            heap = _atom(items, 0) if items else "func"
            return Value(REFTYPE_BY_HEAP_TEXT[heap], None, pattern="null" if expected else None)
        if head == "ref.extern":
            if not items and expected:
                return Value(EXTERNREF, pattern="ref.extern")
            return Value(EXTERNREF, int(_atom(items, 0)))
        if head == "ref.func":
            return Value(FUNCREF, pattern="ref.func")
        if head == "ref.host":  # a host value in the any hierarchy (GC): any.convert_extern of ref.extern N
            return Value(REFTYPE_BY_HEAP_TEXT["any"], int(_atom(items, 0)))
        if head in GC_RESULT_PATTERNS and expected:
            return Value(REFTYPE_BY_HEAP_TEXT["any"], pattern=head)
    except (LiteralError, KeyError, ValueError) as e:
        raise MalformedError(f"bad constant: {e}", line=node.line, column=node.column) from None
    raise text_error(f"unexpected token {head}", node)


def _atom(items: list[Node], index: int) -> str:
    if index >= len(items) or not isinstance(items[index], Token):
        raise MalformedError("unexpected token: missing constant")
    return items[index].text  # type: ignore[union-attr]
