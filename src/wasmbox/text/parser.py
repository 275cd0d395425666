"""Text format parser: WAT S-expressions -> :class:`~wasmbox.ir.module.Module`.

Implements the spec's text grammar (section "Text Format") with all its
abbreviations: inline imports/exports, inline element and data segments,
type uses with implicit type definitions, folded instructions, named
labels/locals.  Identifiers are resolved in two passes: the first assigns
every index (so fields may refer forward), the second builds the IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import records
from ..errors import MalformedError, ValidationError
from ..ir import instructions as ins
from ..ir.instructions import Catch, Imm, Instruction, Opcode
from ..ir.module import (
    CustomSection,
    DataSegment,
    ElementSegment,
    Export,
    Expr,
    Function,
    Global,
    Import,
    Memory,
    Module,
    SegmentMode,
    Table,
    Tag,
    func_elem_type,
)
from ..ir.types import (
    EXNREF,
    GC_HEAP_TYPES,
    HEAPTYPE_BY_TEXT,
    PACKED_BY_TEXT,
    PAGE_SIZE,
    VALTYPE_BY_TEXT,
    ArrayType,
    DefinedType,
    ExternKind,
    FieldType,
    FuncType,
    GlobalType,
    HeapType,
    Limits,
    MemoryType,
    RefType,
    StructType,
    TableType,
    ValType,
)
from .annotations import BRANCH_HINT, ModuleAnnotations, extract_annotations, has_annotations
from .branch_hints import branch_hint_section
from .lexer import Node, SExpr, Token, parse_sexprs, text_error
from .literals import F32_FORMAT, F64_FORMAT, INT_RE, LiteralError, is_number, parse_float, parse_int, parse_uint

CATCH_KINDS = {name: kind for kind, name in enumerate(Catch.TEXT)}
SIMD_SHAPES = {
    "i8x16": (16, 8),
    "i16x8": (8, 16),
    "i32x4": (4, 32),
    "i64x2": (2, 64),
    "f32x4": (4, 32),
    "f64x2": (2, 64),
}
STRUCTURAL_KEYWORDS = frozenset(
    "module type func param result local import export table memory global elem data start offset item declare "
    "mut funcref externref extern i32 i64 f32 f64 v128 then else end block loop if binary quote register invoke "
    "get script input output assert_return assert_trap assert_exhaustion assert_malformed assert_invalid "
    "assert_unlinkable assert_uninstantiable ref.extern ref.null nan:canonical nan:arithmetic either "
    "tag exnref exn catch catch_ref catch_all catch_all_ref assert_exception do shared unshared".split()
) | frozenset(SIMD_SHAPES)
# Words that only delimit a block: alone, they are out of place.
MISPLACED_KEYWORDS = frozenset(("end", "else", "then", "do", "catch", "catch_all", "delegate"))
# Where a legacy try's body or handler stops.
LEGACY_TRY_STOPS = ("end", "catch", "catch_all", "delegate")
TAG_NAMES = 11  # the extended name section's subsection of tag names
DEFINITION_NAMES = {"func": "function", "table": "table", "memory": "memory", "global": "global", "tag": "tag"}
# Section ids in binary order (data count sits between elem and code).
SECTION_SEQUENCE = [
    "type",
    "import",
    "func",
    "table",
    "memory",
    "tag",
    "global",
    "export",
    "start",
    "elem",
    "datacount",
    "code",
    "data",
]
SECTION_IDS = {
    "type": 1,
    "import": 2,
    "func": 3,
    "table": 4,
    "memory": 5,
    "tag": 13,
    "global": 6,
    "export": 7,
    "start": 8,
    "elem": 9,
    "datacount": 12,
    "code": 10,
    "data": 11,
}
CUSTOM_PLACEMENT = {**SECTION_IDS, "first": 0, "last": 11}
CUSTOM_BEFORE = {name: ([0] + [SECTION_IDS[n] for n in SECTION_SEQUENCE])[i] for i, name in enumerate(SECTION_SEQUENCE)}
CUSTOM_BEFORE["first"] = 0
SPACE_NAMES = {
    "func": "func",
    "table": "table",
    "memory": "memory",
    "global": "global",
    "elem": "elem",
    "data": "data",
    "tag": "tag",
}


def is_known_keyword(text: str) -> bool:
    """Whether the lexer of the reference would know ``text`` as a token;
    anything else is an ``unknown operator``."""
    if text in ins.BY_NAME and text != "select_t" or text in STRUCTURAL_KEYWORDS:
        return True
    if text.startswith(("offset=", "align=")):
        return INT_RE.match(text.split("=", 1)[1]) is not None and text.split("=", 1)[1][:1].isdigit()
    return is_number(text)


def looks_numeric(text: str) -> bool:
    """Whether a token is meant as a number (it may still be malformed)."""
    return text[:1] in "0123456789+-" or text.startswith(("inf", "nan"))


@dataclass
class IndexSpace:
    kind: str
    ids: dict[str, int] = field(default_factory=dict)
    count: int = 0

    def define(self, token: Token | None) -> int:
        index = self.count
        if token is not None:
            if token.text in self.ids:
                raise text_error(f"duplicate {self.kind}", token)
            self.ids[token.text] = index
        self.count += 1
        return index


class _Cursor:
    """Position within a list's items, with typed accessors."""

    __slots__ = ("node", "items", "i")

    def __init__(self, node: SExpr, start: int = 1) -> None:
        self.node = node
        self.items = node.items
        self.i = start

    def peek(self) -> Node | None:
        return self.items[self.i] if self.i < len(self.items) else None

    def peek_list(self, head: str) -> SExpr | None:
        item = self.peek()
        if isinstance(item, SExpr) and item.head() == head:
            return item
        return None

    def peek_atom(self, kind: str | None = None) -> Token | None:
        item = self.peek()
        if isinstance(item, Token) and (kind is None or item.kind == kind):
            return item
        return None

    def next(self) -> Node:
        item = self.peek()
        if item is None:
            raise text_error("unexpected token", self.node)
        self.i += 1
        return item

    def optional_id(self) -> Token | None:
        item = self.peek_atom("id")
        if item is not None:
            self.i += 1
        return item

    def done(self) -> bool:
        return self.i >= len(self.items)

    def expect_done(self) -> None:
        if not self.done():
            raise unexpected(self.items[self.i])


def field_kind(node: SExpr) -> str | None:
    """What a module field is: its keyword, or ``@custom`` for a custom-section annotation."""
    head = node.head()
    if head is None and node.annotation() == "custom":
        return "@custom"
    return head


def unexpected(node: Node) -> MalformedError:
    if isinstance(node, Token) and node.kind == "keyword" and not is_known_keyword(node.text):
        return text_error(f"unknown operator {node.text}", node)
    return text_error("unexpected token", node)


def parse_module_text(
    source: str | bytes, name: str | None = None, features: frozenset[str] = ins.DEFAULT_FEATURES
) -> Module:
    """Parse a ``.wat`` text: one ``(module ...)`` or a bare list of fields."""
    try:
        return _parse_module_text(source, name, features)
    except MalformedError as error:
        if error.source is None and name is not None:
            raise MalformedError(error.message, line=error.line, column=error.column, source=name) from None
        raise
    except RecursionError:
        # Folded instructions and blocks are parsed recursively; nesting
        # beyond Python's stack is refused as input we cannot represent.
        raise MalformedError("nesting too deep", source=name) from None


def _parse_module_text(source: str | bytes, name: str | None, features: frozenset[str]) -> Module:
    nodes = parse_sexprs(source, name)
    if nodes and isinstance(nodes[-1], Token) and nodes[-1].kind == "error" and len(nodes) == 2:
        if isinstance(nodes[0], SExpr) and nodes[0].head() == "module":
            raise text_error("unexpected token", nodes[-1])
    if len(nodes) == 1 and isinstance(nodes[0], SExpr) and nodes[0].head() == "module":
        module_node = nodes[0]
        cursor = _Cursor(module_node)
        module_id = cursor.optional_id()
        return ModuleParser(module_node.items[cursor.i :], module_id, name, features).parse()
    for node in nodes:
        if isinstance(node, SExpr) and node.head() == "module":
            raise text_error("unexpected token", node)
    return ModuleParser(nodes, None, name, features).parse()


def _signature_is(t: DefinedType, params: list[ValType], results: list[ValType]) -> bool:
    """Whether a defined type is a function type of these parameters and results (its sub-type
    declaration and recursion group aside: ``(type $t) (param ...)`` only repeats the signature)."""
    return isinstance(t, FuncType) and t.params == tuple(params) and t.results == tuple(results)


class ModuleParser:
    def __init__(
        self,
        fields: list[Node],
        module_id: Token | None = None,
        source: str | None = None,
        features: frozenset[str] = ins.DEFAULT_FEATURES,
    ) -> None:
        self.fields = fields
        self.source = source
        self.features = features
        self.opcodes = ins.opcode_tables(features)[2]
        self.module = Module(features=features)
        if module_id is not None:
            self.module.names.module = module_id.text[1:]
        self.type_ids: dict[str, int] = {}
        self.type_params: list[list[Token | None]] = []
        self.field_ids: dict[int, dict[str, int]] = {}  # struct field ids by type index (GC)
        self.spaces = {kind: IndexSpace(kind) for kind in SPACE_NAMES}
        self.uses_data_instructions = False
        self.annotations = ModuleAnnotations()
        # Branch hints by function index: (instruction index in the body, hint).
        self.branch_hints: dict[int, list[tuple[int, int]]] = {}
        self.tag_names: dict[int, str] = {}

    # --- entry -----------------------------------------------------------
    def parse(self) -> Module:
        trailing_error = None
        if self.fields and isinstance(self.fields[-1], Token) and self.fields[-1].kind == "error":
            trailing_error = self.fields.pop()
        if has_annotations(self.fields):
            self.fields, self.annotations = extract_annotations(self.fields)
            if self.annotations.module_name is not None:
                self.module.names.module = self.annotations.module_name
        for node in self.fields:
            if not isinstance(node, SExpr) or field_kind(node) is None:
                raise unexpected(node.items[0] if isinstance(node, SExpr) and node.items else node)
        # Type ids first: a type may refer to itself or another by id in (ref $t).
        type_nodes: list[SExpr] = []
        for node in self.fields:
            assert isinstance(node, SExpr)
            if node.head() == "type":
                type_nodes.append(node)
            elif node.head() == "rec" and ins.GC in self.features:
                type_nodes.extend(self._rec_members(node))
        for index, node in enumerate(type_nodes):
            ident = _Cursor(node).optional_id()
            if ident is not None:
                if ident.text in self.type_ids:
                    raise text_error("duplicate type", ident)
                self.type_ids[ident.text] = index
        for node in self.fields:
            assert isinstance(node, SExpr)
            if node.head() == "type":
                self._type_field(node)
            elif node.head() == "rec" and ins.GC in self.features:
                members = self._rec_members(node)
                first = len(self.module.types)
                if not members:
                    self.module.empty_rec_groups.append(first)
                for member in members:
                    self._type_field(member, (first, len(members)))
            if node.head() == "tag" and ins.EXCEPTIONS not in self.features:
                raise text_error("unknown operator tag (exception handling is not enabled)", node)
        self._declare_all()
        handlers = {
            "type": lambda n: None,
            "rec": lambda n: None,
            "import": self._import_field,
            "func": self._func_field,
            "table": self._table_field,
            "memory": self._memory_field,
            "global": self._global_field,
            "export": self._export_field,
            "start": self._start_field,
            "elem": self._elem_field,
            "data": self._data_field,
            "tag": self._tag_field,
            "@custom": self._custom_field,
        }
        for node in self.fields:
            assert isinstance(node, SExpr)
            handlers[field_kind(node)](node)  # type: ignore[index]
        if trailing_error is not None:
            raise text_error("unexpected token", trailing_error)
        if self.annotations.hints:
            _, annotation = next(iter(self.annotations.hints.values()))
            raise ValidationError(f"@{BRANCH_HINT} annotation: invalid target", line=annotation.line)
        if self.branch_hints:
            self.module.customs.append(branch_hint_section(self.module, self.branch_hints))
        if self.tag_names:
            from ..binary.encode import encode_name_map  # rare: only tags named by annotation

            self.module.names.others[TAG_NAMES] = encode_name_map(self.tag_names)
        if self.uses_data_instructions:
            self.module.data_count = len(self.module.datas)
        return self.module

    # --- pass 1: indices -------------------------------------------------
    def _declare_all(self) -> None:
        seen_definition: str | None = None
        for node in self.fields:
            assert isinstance(node, SExpr)
            head = field_kind(node)
            if head not in (
                "import",
                "func",
                "table",
                "memory",
                "global",
                "export",
                "start",
                "elem",
                "data",
                "type",
                "tag",
                "@custom",
            ) and (head != "rec" or ins.GC not in self.features):
                raise unexpected(node.items[0])
            cursor = _Cursor(node)
            if head == "import":
                if seen_definition:
                    raise text_error(f"import after {DEFINITION_NAMES[seen_definition]}", node)
                cursor.next()
                cursor.next()
                desc = cursor.next()
                if not isinstance(desc, SExpr) or desc.head() not in ("func", "table", "memory", "global", "tag"):
                    raise unexpected(desc)
                desc_cursor = _Cursor(desc)
                self.spaces[desc.head()].define(desc_cursor.optional_id())  # type: ignore[index]
            elif head in ("func", "table", "memory", "global", "tag"):
                ident = cursor.optional_id()
                while cursor.peek_list("export"):
                    cursor.i += 1
                if cursor.peek_list("import"):
                    if seen_definition:
                        raise text_error(f"import after {DEFINITION_NAMES[seen_definition]}", node)
                else:
                    seen_definition = head
                self.spaces[head].define(ident)  # type: ignore[index]
                if head == "table" and self._inline_segment(cursor, "elem"):
                    self.spaces["elem"].define(None)
                if head == "memory" and cursor.peek_list("data"):
                    self.spaces["data"].define(None)
            elif head in ("elem", "data"):
                self.spaces[head].define(cursor.optional_id())  # type: ignore[index]

    @staticmethod
    def _inline_segment(cursor: _Cursor, kind: str) -> bool:
        return any(isinstance(item, SExpr) and item.head() == kind for item in cursor.items[cursor.i :])

    # --- references ------------------------------------------------------
    def resolve(self, kind: str, token: Node) -> int:
        if not isinstance(token, Token):
            raise unexpected(token)
        if token.kind == "id":
            if kind == "type":
                index = self.type_ids.get(token.text)
            else:
                index = self.spaces[kind].ids.get(token.text)
            if index is None:
                raise text_error(f"unknown {kind} {token.text}", token)
            return index
        return self.uint(token)

    def uint(self, token: Node, bits: int = 32) -> int:
        if not isinstance(token, Token) or token.kind != "keyword":
            raise unexpected(token)
        try:
            return parse_uint(token.text, bits)
        except LiteralError as e:
            if e.syntax:
                raise unexpected(token) from None
            raise text_error(f"i{bits} constant out of range", token) from None

    def valtype(self, token: Node) -> ValType:
        if isinstance(token, Token) and token.kind == "keyword":
            t = VALTYPE_BY_TEXT.get(token.text)
            if isinstance(t, RefType) and t.heap in GC_HEAP_TYPES and ins.GC not in self.features:
                t = None
            if t is not None and (t is not EXNREF or ins.EXCEPTIONS in self.features):
                return t
        if isinstance(token, SExpr) and token.head() == "ref" and ins.FUNCTION_REFERENCES in self.features:
            return self._ref_type(token)
        raise unexpected(token)

    def _ref_type(self, node: SExpr) -> RefType:
        """``(ref null? heaptype)`` (typed function references)."""
        cursor = _Cursor(node)
        nullable = cursor.peek_atom("keyword") is not None and cursor.peek_atom("keyword").text == "null"  # type: ignore[union-attr]
        if nullable:
            cursor.i += 1
        heap = self.heap_type(cursor.next())
        cursor.expect_done()
        return RefType(nullable, heap)

    def heap_type(self, token: Node) -> HeapType | int:
        """An abstract heap type (``func``, ``extern``...) or a type index / id."""
        if isinstance(token, Token):
            heap = HEAPTYPE_BY_TEXT.get(token.text) if token.kind == "keyword" else None
            if heap is not None:
                if heap is HeapType.EXN and ins.EXCEPTIONS not in self.features:
                    raise unexpected(token)
                if heap in GC_HEAP_TYPES and ins.GC not in self.features:
                    raise unexpected(token)
                return heap
            if ins.FUNCTION_REFERENCES in self.features and (token.kind == "id" or token.text[:1].isdigit()):
                return self.resolve("type", token)
        raise unexpected(token)

    def reftype(self, token: Node) -> RefType:
        t = self.valtype(token)
        if isinstance(t, RefType):
            return t
        raise unexpected(token)

    @staticmethod
    def is_reftype(node: Node | None) -> bool:
        """Whether ``node`` starts a reference type (``funcref`` or ``(ref ...)``)."""
        if isinstance(node, Token):
            return node.kind == "keyword" and isinstance(VALTYPE_BY_TEXT.get(node.text), RefType)
        return isinstance(node, SExpr) and node.head() == "ref"

    def string(self, token: Node) -> bytes:
        if isinstance(token, Token) and token.kind == "string":
            return token.value
        raise unexpected(token)

    def name(self, token: Node) -> str:
        raw = self.string(token)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise text_error("malformed UTF-8 encoding", token) from None

    # --- types -----------------------------------------------------------
    @staticmethod
    def _rec_members(node: SExpr) -> list[SExpr]:
        """The ``(type ...)`` definitions of a ``(rec ...)`` group (GC)."""
        members = node.items[1:]
        for member in members:
            if not isinstance(member, SExpr) or member.head() != "type":
                raise unexpected(member.items[0] if isinstance(member, SExpr) and member.items else member)
        return members  # type: ignore[return-value]

    def _type_field(self, node: SExpr, rec: tuple[int, int] | None = None) -> None:
        """``(type $id? deftype)``: a function type, or with GC a struct or array type, possibly
        in ``(sub final? $super* ...)``; ``rec`` is the group it is declared in."""
        cursor = _Cursor(node)
        cursor.optional_id()  # registered by parse()
        definition = cursor.next()
        cursor.expect_done()
        index = len(self.module.types)
        final, written_sub = True, False
        supertypes: tuple[int, ...] = ()
        if isinstance(definition, SExpr) and definition.head() == "sub" and ins.GC in self.features:
            inner = _Cursor(definition)
            written_sub = True
            final_token = inner.peek_atom("keyword")
            if final_token is not None and final_token.text == "final":
                inner.i += 1
            else:
                final = False
            supers: list[int] = []
            while isinstance(inner.peek(), Token):
                supers.append(self.resolve("type", inner.next()))
            supertypes = tuple(supers)
            definition = inner.next()
            inner.expect_done()
        if not isinstance(definition, SExpr) or definition.head() not in self._composite_heads():
            raise unexpected(definition)
        composite = self._composite_type(definition, index)
        self.module.types.append(
            records.replace(composite, final=final, supertypes=supertypes, rec=rec, written_sub=written_sub)
        )

    def _composite_heads(self) -> tuple[str, ...]:
        return ("func", "struct", "array") if ins.GC in self.features else ("func",)

    def _composite_type(self, node: SExpr, index: int) -> DefinedType:
        inner = _Cursor(node)
        head = node.head()
        if head == "func":
            params, param_ids = self._params(inner)
            results = self._results(inner)
            inner.expect_done()
            self.type_params.append(param_ids)
            return FuncType(tuple(params), tuple(results))
        self.type_params.append([])
        if head == "array":
            element = self._field_type(inner.next())
            inner.expect_done()
            return ArrayType(element)
        fields: list[FieldType] = []
        names: dict[str, int] = {}
        while not inner.done():
            field_node = inner.next()
            if not isinstance(field_node, SExpr) or field_node.head() != "field":
                raise unexpected(field_node)
            field_cursor = _Cursor(field_node)
            ident = field_cursor.optional_id()
            if ident is not None:
                if ident.text in names:
                    raise text_error("duplicate field", ident)
                names[ident.text] = len(fields)
                fields.append(self._field_type(field_cursor.next()))
                field_cursor.expect_done()
            else:
                while not field_cursor.done():
                    fields.append(self._field_type(field_cursor.next()))
        self.field_ids[index] = names
        return StructType(tuple(fields))

    def _field_type(self, node: Node) -> FieldType:
        """``storagetype`` or ``(mut storagetype)``; a storage type is a value type, i8 or i16."""
        mutable = isinstance(node, SExpr) and node.head() == "mut"
        if mutable:
            assert isinstance(node, SExpr)
            cursor = _Cursor(node)
            node = cursor.next()
            cursor.expect_done()
        packed = PACKED_BY_TEXT.get(node.text) if isinstance(node, Token) and node.kind == "keyword" else None
        return FieldType(packed if packed is not None else self.valtype(node), mutable)

    def _params(self, cursor: _Cursor, allow_ids: bool = True) -> tuple[list[ValType], list[Token | None]]:
        params: list[ValType] = []
        ids: list[Token | None] = []
        while (node := cursor.peek_list("param")) is not None:
            cursor.i += 1
            inner = _Cursor(node)
            ident = inner.optional_id()
            if ident is not None:
                if not allow_ids:
                    raise unexpected(ident)
                params.append(self.valtype(inner.next()))
                ids.append(ident)
                inner.expect_done()
            else:
                while not inner.done():
                    params.append(self.valtype(inner.next()))
                    ids.append(None)
        return params, ids

    def _results(self, cursor: _Cursor) -> list[ValType]:
        results: list[ValType] = []
        while (node := cursor.peek_list("result")) is not None:
            cursor.i += 1
            inner = _Cursor(node)
            while not inner.done():
                results.append(self.valtype(inner.next()))
        return results

    def type_use(self, cursor: _Cursor, allow_ids: bool = True) -> tuple[int, list[Token | None]]:
        """Parse ``(type x)? (param ...)* (result ...)*``; return the type
        index (adding an implicit type if needed) and the parameter ids."""
        explicit: int | None = None
        type_node = cursor.peek_list("type")
        if type_node is not None:
            cursor.i += 1
            inner = _Cursor(type_node)
            explicit = self.resolve("type", inner.next())
            inner.expect_done()
        start = cursor.i
        params, ids = self._params(cursor, allow_ids)
        results = self._results(cursor)
        inline = cursor.i != start
        if cursor.peek_list("param") is not None or cursor.peek_list("type") is not None:
            raise unexpected(cursor.items[cursor.i].items[0])  # type: ignore[union-attr]
        if explicit is not None:
            # An unknown index without inline types is left to the validator.
            known = explicit < len(self.module.types)
            if inline and not (known and _signature_is(self.module.types[explicit], params, results)):
                raise text_error("inline function type" if known else "unknown type", type_node)
            if not inline:
                known_type = self.module.types[explicit] if known else None
                ids = [None] * (len(known_type.params) if isinstance(known_type, FuncType) else 0)
            return explicit, ids
        return self.implicit_type(FuncType(tuple(params), tuple(results))), ids

    def implicit_type(self, func_type: FuncType) -> int:
        for index, existing in enumerate(self.module.types):
            if existing == func_type:
                return index
        self.module.types.append(func_type)
        return len(self.module.types) - 1

    def limits(self, cursor: _Cursor) -> Limits:
        # With memory64 the bounds are u64 for either address type: an i32 memory of 2^32 pages
        # is invalid, not malformed.
        bits = 64 if ins.MEMORY64 in self.features else 32
        low = self.uint(cursor.next(), bits)
        high = None
        atom = cursor.peek_atom("keyword")
        if atom is not None and atom.text[:1].isdigit():
            high = self.uint(cursor.next(), bits)
        return Limits(low, high)

    def address_type(self, cursor: _Cursor) -> bool:
        """The optional address type before a memory's or table's limits (memory64): whether it
        is i64."""
        atom = cursor.peek_atom("keyword")
        if ins.MEMORY64 in self.features and atom is not None and atom.text in ("i32", "i64"):
            cursor.i += 1
            return atom.text == "i64"
        return False

    def table_type(self, cursor: _Cursor) -> TableType:
        is_64 = self.address_type(cursor)
        limits = self.limits(cursor)
        return TableType(self.reftype(cursor.next()), limits, is_64)

    def memory_type(self, cursor: _Cursor) -> MemoryType:
        is_64 = self.address_type(cursor)
        limits = self.limits(cursor)
        shared = False
        sharing = cursor.peek_atom("keyword")
        if ins.THREADS in self.features and sharing is not None and sharing.text in ("shared", "unshared"):
            cursor.i += 1
            shared = sharing.text == "shared"
        return MemoryType(limits, is_64, shared, self.page_size(cursor))

    def page_size(self, cursor: _Cursor) -> int:
        """An optional ``(pagesize N)`` (custom page sizes): a power of two, else malformed; which
        powers are valid (1 and 65536) is validation's rule."""
        node = cursor.peek_list("pagesize")
        if node is None or ins.CUSTOM_PAGE_SIZES not in self.features:
            return PAGE_SIZE
        cursor.i += 1
        inner = _Cursor(node)
        size = self.uint(inner.next(), 64)
        inner.expect_done()
        if size == 0 or size & (size - 1):
            raise text_error("invalid custom page size", node)
        return size

    def global_type(self, cursor: _Cursor) -> GlobalType:
        node = cursor.next()
        if isinstance(node, SExpr) and node.head() == "mut":
            inner = _Cursor(node)
            t = self.valtype(inner.next())
            inner.expect_done()
            return GlobalType(t, True)
        return GlobalType(self.valtype(node), False)

    # --- fields ----------------------------------------------------------
    def _inline_exports(self, cursor: _Cursor, kind: ExternKind, index: int) -> None:
        while (node := cursor.peek_list("export")) is not None:
            cursor.i += 1
            inner = _Cursor(node)
            name = self.name(inner.next())
            inner.expect_done()
            self.module.exports.append(Export(name, kind, index))

    def _inline_import(self, cursor: _Cursor) -> tuple[str, str] | None:
        node = cursor.peek_list("import")
        if node is None:
            return None
        cursor.i += 1
        inner = _Cursor(node)
        module_name = self.name(inner.next())
        item_name = self.name(inner.next())
        inner.expect_done()
        return module_name, item_name

    def _import_field(self, node: SExpr) -> None:
        cursor = _Cursor(node)
        module_name = self.name(cursor.next())
        item_name = self.name(cursor.next())
        desc = cursor.next()
        cursor.expect_done()
        assert isinstance(desc, SExpr)
        inner = _Cursor(desc)
        ident = inner.optional_id()
        kind = desc.head()
        if kind == "func":
            type_index, ids = self.type_use(inner)
            self._name_function(self._func_count(), ident, desc)
            self.module.imports.append(Import(module_name, item_name, ExternKind.FUNC, type_index))
        elif kind == "table":
            self.module.imports.append(Import(module_name, item_name, ExternKind.TABLE, self.table_type(inner)))
        elif kind == "memory":
            self.module.imports.append(Import(module_name, item_name, ExternKind.MEMORY, self.memory_type(inner)))
        elif kind == "tag":
            self._name_tag(len(self.module.imported(ExternKind.TAG)), desc)
            type_index, _ = self.type_use(inner)
            self.module.imports.append(Import(module_name, item_name, ExternKind.TAG, type_index))
        else:
            self.module.imports.append(Import(module_name, item_name, ExternKind.GLOBAL, self.global_type(inner)))
        inner.expect_done()

    def _func_count(self) -> int:
        return self.module.num_imported_funcs() + len(self.module.funcs)

    def _name_function(self, index: int, ident: Token | None, node: SExpr) -> None:
        """The function's name for the name section: its ``(@name ...)``, else its id."""
        name = self.annotations.name_of(node)
        if name is not None:
            self.module.names.functions[index] = name
        elif ident is not None:
            self.module.names.functions[index] = ident.text[1:]

    def _name_tag(self, index: int, node: SExpr) -> None:
        """A tag's ``(@name ...)``: the extended name section's tag names (subsection 11)."""
        name = self.annotations.name_of(node)
        if name is not None:
            self.tag_names[index] = name

    def _func_field(self, node: SExpr) -> None:
        cursor = _Cursor(node)
        ident = cursor.optional_id()
        index = self._func_count()
        self._inline_exports(cursor, ExternKind.FUNC, index)
        imported = self._inline_import(cursor)
        type_index, param_ids = self.type_use(cursor)
        self._name_function(index, ident, node)
        if imported is not None:
            cursor.expect_done()
            self.module.imports.append(Import(imported[0], imported[1], ExternKind.FUNC, type_index))
            return
        local_ids: dict[str, int] = {}
        local_names: dict[int, str] = {}
        for position, token in enumerate(param_ids):
            if token is not None:
                if token.text in local_ids:
                    raise text_error("duplicate local", token)
                local_ids[token.text] = position
                local_names[position] = token.text[1:]
        locals_: list[ValType] = []
        known_type = type_index < len(self.module.types)
        declared = self.module.types[type_index] if known_type else None
        base = len(declared.params) if isinstance(declared, FuncType) else 0
        while (local_node := cursor.peek_list("local")) is not None:
            cursor.i += 1
            inner = _Cursor(local_node)
            local_id = inner.optional_id()
            if local_id is not None:
                if local_id.text in local_ids:
                    raise text_error("duplicate local", local_id)
                local_ids[local_id.text] = base + len(locals_)
                local_names[base + len(locals_)] = local_id.text[1:]
                locals_.append(self.valtype(inner.next()))
                inner.expect_done()
            else:
                while not inner.done():
                    locals_.append(self.valtype(inner.next()))
        if local_names:
            self.module.names.locals[index] = local_names
        body_parser = FunctionBodyParser(self, local_ids, base + len(locals_))
        body_parser.line = node.end_line or node.line
        body = body_parser.parse_body(cursor)
        if body_parser.branch_hints:
            self.branch_hints[index] = body_parser.branch_hints
        self.module.funcs.append(Function(type_index, locals_, body, source_lines=body_parser.lines))

    def _table_field(self, node: SExpr) -> None:
        cursor = _Cursor(node)
        cursor.optional_id()
        index = len(self.module.table_types())
        self._inline_exports(cursor, ExternKind.TABLE, index)
        imported = self._inline_import(cursor)
        if imported is not None:
            table_type = self.table_type(cursor)
            cursor.expect_done()
            self.module.imports.append(Import(imported[0], imported[1], ExternKind.TABLE, table_type))
            return
        start = cursor.i
        is_64 = self.address_type(cursor)
        if self.is_reftype(cursor.peek()):
            element = self.reftype(cursor.next())
            elem_node = cursor.next()
            if not isinstance(elem_node, SExpr) or elem_node.head() != "elem":
                raise unexpected(elem_node)
            cursor.expect_done()
            inner = _Cursor(elem_node)
            if isinstance(inner.peek(), SExpr):
                init = self._elem_exprs(inner)
            else:
                init = self._elem_func_indices(inner)
            size = len(init)
            self.module.tables.append(Table(TableType(element, Limits(size, size), is_64)))
            offset = [Instruction(ins.BY_NAME["i64.const" if is_64 else "i32.const"], (0,)), ins.END]
            self.module.elements.append(ElementSegment(element, init, SegmentMode.ACTIVE, index, offset))
            return
        cursor.i = start
        table_type = self.table_type(cursor)
        initializer = None
        if not cursor.done() and ins.FUNCTION_REFERENCES in self.features:
            # A table initializer (Wasm 3.0): each element starts as this constant's value.
            initializer = self.const_expr(cursor.items[cursor.i :], node)
            cursor.i = len(cursor.items)
        cursor.expect_done()
        self.module.tables.append(Table(table_type, initializer))

    def _memory_field(self, node: SExpr) -> None:
        cursor = _Cursor(node)
        cursor.optional_id()
        index = len(self.module.memory_types())
        self._inline_exports(cursor, ExternKind.MEMORY, index)
        imported = self._inline_import(cursor)
        if imported is not None:
            memory_type = self.memory_type(cursor)
            cursor.expect_done()
            self.module.imports.append(Import(imported[0], imported[1], ExternKind.MEMORY, memory_type))
            return
        start = cursor.i
        is_64 = self.address_type(cursor)
        page_size = self.page_size(cursor)
        data_node = cursor.peek_list("data")
        if data_node is not None:
            cursor.i += 1
            cursor.expect_done()
            inner = _Cursor(data_node)
            data = b"".join(self.string(inner.next()) for _ in range(len(data_node.items) - 1))
            pages = -(-len(data) // page_size)
            memory_type = MemoryType(Limits(pages, pages), is_64, page_size=page_size)
            self.module.memories.append(Memory(memory_type))
            offset = [Instruction(ins.BY_NAME["i64.const" if is_64 else "i32.const"], (0,)), ins.END]
            self.module.datas.append(DataSegment(data, SegmentMode.ACTIVE, index, offset))
            return
        cursor.i = start
        memory_type = self.memory_type(cursor)
        cursor.expect_done()
        self.module.memories.append(Memory(memory_type))

    def _global_field(self, node: SExpr) -> None:
        cursor = _Cursor(node)
        cursor.optional_id()
        index = len(self.module.global_types())
        self._inline_exports(cursor, ExternKind.GLOBAL, index)
        imported = self._inline_import(cursor)
        global_type = self.global_type(cursor)
        if imported is not None:
            cursor.expect_done()
            self.module.imports.append(Import(imported[0], imported[1], ExternKind.GLOBAL, global_type))
            return
        init = self.const_expr(cursor.items[cursor.i :], node)
        self.module.globals.append(Global(global_type, init))

    def _export_field(self, node: SExpr) -> None:
        cursor = _Cursor(node)
        name = self.name(cursor.next())
        desc = cursor.next()
        cursor.expect_done()
        if not isinstance(desc, SExpr) or desc.head() not in ("func", "table", "memory", "global", "tag"):
            raise unexpected(desc)
        inner = _Cursor(desc)
        kind = desc.head()
        index = self.resolve(kind, inner.next())  # type: ignore[arg-type]
        inner.expect_done()
        self.module.exports.append(Export(name, ExternKind[kind.upper()], index))  # type: ignore[union-attr]

    def _tag_field(self, node: SExpr) -> None:
        cursor = _Cursor(node)
        cursor.optional_id()
        index = len(self.module.imported(ExternKind.TAG)) + len(self.module.tags)
        self._name_tag(index, node)
        self._inline_exports(cursor, ExternKind.TAG, index)
        imported = self._inline_import(cursor)
        type_index, _ = self.type_use(cursor)
        cursor.expect_done()
        if imported is not None:
            self.module.imports.append(Import(imported[0], imported[1], ExternKind.TAG, type_index))
        else:
            self.module.tags.append(Tag(type_index))

    def _start_field(self, node: SExpr) -> None:
        if self.module.start is not None:
            raise text_error("multiple start sections", node)
        cursor = _Cursor(node)
        self.module.start = self.resolve("func", cursor.next())
        cursor.expect_done()

    def _offset(self, cursor: _Cursor) -> Expr:
        node = cursor.next()
        if isinstance(node, SExpr) and node.head() == "offset":
            return self.const_expr(node.items[1:], node)
        if isinstance(node, SExpr):
            return self.const_expr([node], node)
        raise unexpected(node)

    def _elem_func_indices(self, cursor: _Cursor) -> list[Expr]:
        ref_func = ins.BY_NAME["ref.func"]
        init = []
        while not cursor.done():
            init.append([Instruction(ref_func, (self.resolve("func", cursor.next()),)), ins.END])
        return init

    def _elem_exprs(self, cursor: _Cursor) -> list[Expr]:
        init = []
        while not cursor.done():
            node = cursor.next()
            if not isinstance(node, SExpr):
                raise unexpected(node)
            if node.head() == "item":
                init.append(self.const_expr(node.items[1:], node))
            else:
                init.append(self.const_expr([node], node))
        return init

    def _elem_list(self, cursor: _Cursor) -> tuple[ValType, list[Expr]]:
        atom = cursor.peek_atom("keyword")
        if atom is not None and atom.text == "func":
            cursor.i += 1
            return func_elem_type(self.features), self._elem_func_indices(cursor)
        if self.is_reftype(cursor.peek()):
            return self.reftype(cursor.next()), self._elem_exprs(cursor)
        return func_elem_type(self.features), self._elem_func_indices(cursor)

    @staticmethod
    def _bare_index(cursor: _Cursor) -> Token | None:
        """The MVP's bare table or memory index of an active segment, ``(elem 0 (offset) ...)`` or
        ``(data 0 (offset) ...)``, which wabt and wasm-tools read too: a number before the offset."""
        atom = cursor.peek_atom("keyword")
        if atom is None or not atom.text[:1].isdigit() or cursor.i + 1 >= len(cursor.items):
            return None
        if not isinstance(cursor.items[cursor.i + 1], SExpr):
            return None
        cursor.i += 1
        return atom

    def _elem_field(self, node: SExpr) -> None:
        cursor = _Cursor(node)
        cursor.optional_id()
        atom = cursor.peek_atom("keyword")
        if atom is not None and atom.text == "declare":
            cursor.i += 1
            elem_type, init = self._elem_list(cursor)
            self.module.elements.append(ElementSegment(elem_type, init, SegmentMode.DECLARATIVE))
            return
        table_node = cursor.peek_list("table")
        bare_table = self._bare_index(cursor)
        if (
            table_node is not None
            or bare_table is not None
            or (isinstance(cursor.peek(), SExpr) and not self.is_reftype(cursor.peek()))
        ):
            table = 0 if bare_table is None else self.resolve("table", bare_table)
            if table_node is not None:
                cursor.i += 1
                inner = _Cursor(table_node)
                table = self.resolve("table", inner.next())
                inner.expect_done()
            offset = self._offset(cursor)
            elem_type, init = self._elem_list(cursor)
            self.module.elements.append(ElementSegment(elem_type, init, SegmentMode.ACTIVE, table, offset))
            return
        elem_type, init = self._elem_list(cursor)
        self.module.elements.append(ElementSegment(elem_type, init, SegmentMode.PASSIVE))

    def _data_field(self, node: SExpr) -> None:
        cursor = _Cursor(node)
        cursor.optional_id()
        memory_node = cursor.peek_list("memory")
        bare_memory = self._bare_index(cursor)
        if memory_node is not None or isinstance(cursor.peek(), SExpr):
            memory = 0 if bare_memory is None else self.resolve("memory", bare_memory)
            if memory_node is not None:
                cursor.i += 1
                inner = _Cursor(memory_node)
                memory = self.resolve("memory", inner.next())
                inner.expect_done()
            offset = self._offset(cursor)
            data = b"".join(self.string(cursor.next()) for _ in range(len(cursor.items) - cursor.i))
            self.module.datas.append(DataSegment(data, SegmentMode.ACTIVE, memory, offset))
            return
        data = b"".join(self.string(cursor.next()) for _ in range(len(cursor.items) - cursor.i))
        self.module.datas.append(DataSegment(data, SegmentMode.PASSIVE))

    def _custom_field(self, node: SExpr) -> None:
        """``(@custom "name" (after|before section)? "data"*)`` from the
        annotations proposal; the placement maps to the section it follows."""
        cursor = _Cursor(node)
        name_token = cursor.peek()
        if not isinstance(name_token, Token) or name_token.kind != "string":
            raise text_error("@custom annotation: missing section name", name_token or node)
        cursor.i += 1
        try:
            name = name_token.value.decode("utf-8")
        except UnicodeDecodeError:
            raise text_error("@custom annotation: malformed UTF-8 encoding", name_token) from None
        after = CUSTOM_PLACEMENT["last"]
        place = cursor.peek()
        if isinstance(place, SExpr):
            cursor.i += 1
            if place.head() not in ("after", "before") or len(place.items) > 2:
                raise text_error("@custom annotation: malformed placement", place)
            section = place.items[1] if len(place.items) == 2 else None
            if not isinstance(section, Token) or section.text not in CUSTOM_PLACEMENT:
                raise text_error("@custom annotation: malformed section kind", section or place)
            after = CUSTOM_PLACEMENT[section.text]
            if place.head() == "before":
                after = CUSTOM_BEFORE.get(section.text, after)
        data = bytearray()
        while not cursor.done():
            chunk = cursor.next()
            if not isinstance(chunk, Token) or chunk.kind != "string":
                raise text_error("@custom annotation: unexpected token", chunk)
            data += chunk.value
        self.module.customs.append(CustomSection(name, bytes(data), after))

    def const_expr(self, items: list[Node], node: SExpr) -> Expr:
        holder = SExpr([Token("keyword", "expr", node.line, node.column), *items], node.line, node.column)
        body = FunctionBodyParser(self, {}, 0).parse_body(_Cursor(holder))
        return body


class FunctionBodyParser:
    """Parses instruction sequences (flat and folded) of one function or
    constant expression, resolving labels and locals."""

    def __init__(self, module: ModuleParser, local_ids: dict[str, int], local_count: int) -> None:
        self.module = module
        self.local_ids = local_ids
        self.local_count = local_count
        self.labels: list[str | None] = []
        self.out: Expr = []
        self.lines: list[int] = []  # source line of each instruction in out
        self.line = 0
        self.hints = module.annotations.hints
        self.branch_hints: list[tuple[int, int]] = []  # (index in out, hint) of hinted if/br_if

    def emit(self, instruction: Instruction) -> None:
        self.out.append(instruction)
        self.lines.append(self.line)

    def parse_body(self, cursor: _Cursor) -> Expr:
        stop = self.sequence(cursor, ())
        if stop is not None:
            raise unexpected(stop)
        self.emit(ins.END)
        return self.out

    def sequence(self, cursor: _Cursor, stops: tuple[str, ...]) -> Token | None:
        """Parse instructions until a stop keyword (returned, unconsumed) or
        the end of the list (returns None)."""
        while not cursor.done():
            item = cursor.peek()
            if isinstance(item, SExpr):
                cursor.i += 1
                self.folded(item)
                continue
            assert isinstance(item, Token)
            if item.kind != "keyword":
                raise unexpected(item)
            if item.text in stops:
                return item
            cursor.i += 1
            at = len(self.out)
            self.plain(item, cursor)
            if self.hints and id(item) in self.hints:
                self.hint(item, at)
        return None

    def hint(self, target: Node, at: int) -> None:
        """Attach the branch hint written before ``target`` to the instruction it
        produced at ``at`` in the body: only ``if`` and ``br_if`` take one."""
        value, annotation = self.hints.pop(id(target))
        if self.out[at].op not in (ins.OP_IF, ins.BY_NAME["br_if"]):
            raise ValidationError(f"@{BRANCH_HINT} annotation: invalid target", line=annotation.line)
        self.branch_hints.append((at, value))

    # --- blocks ----------------------------------------------------------
    def block_type(self, cursor: _Cursor) -> object:
        if cursor.peek_list("type") is None and cursor.peek_list("param") is None:
            results = self.module._results(cursor)
            if not results:
                return None
            if len(results) == 1:
                return results[0]
            return self.module.implicit_type(FuncType((), tuple(results)))
        index, _ = self.module.type_use(cursor, allow_ids=False)
        return index

    def open_label(self, cursor: _Cursor) -> str | None:
        label = cursor.optional_id()
        self.labels.append(label.text if label is not None else None)
        return label.text if label is not None else None

    def check_end_label(self, cursor: _Cursor, label: str | None) -> None:
        end_id = cursor.optional_id()
        if end_id is not None and end_id.text != label:
            raise text_error("mismatching label", end_id)

    def catch_clauses(self, cursor: _Cursor) -> tuple[tuple[int, int | None, int], ...]:
        """``(catch x l)``, ``(catch_ref x l)``, ``(catch_all l)``, ``(catch_all_ref l)``;
        labels resolve outside the try_table, before its own label is pushed."""
        clauses = []
        while isinstance(node := cursor.peek(), SExpr) and node.head() in CATCH_KINDS:
            cursor.i += 1
            kind = CATCH_KINDS[node.head()]  # type: ignore[index]
            inner = _Cursor(node)
            tag = self.index("tag", inner) if kind <= Catch.CATCH_REF else None
            clauses.append((kind, tag, self.label(inner)))
            inner.expect_done()
        return tuple(clauses)

    def plain(self, token: Token, cursor: _Cursor) -> None:
        self.line = token.line
        name = token.text
        if name == "try_table" and "try_table" in self.module.opcodes:
            label_token = cursor.optional_id()
            label_text = label_token.text if label_token is not None else None
            block_type = self.block_type(cursor)
            catches = self.catch_clauses(cursor)
            self.labels.append(label_text)
            self.emit(Instruction(ins.OP_TRY_TABLE, (block_type, catches)))
            stop = self.sequence(cursor, ("end",))
            if stop is None:
                raise text_error("unexpected end of block, expected end", token)
            cursor.i += 1
            self.check_end_label(cursor, label_text)
            self.labels.pop()
            self.emit(ins.END)
            return
        if name in ("block", "loop", "if"):
            op = ins.BY_NAME[name]
            label = self.open_label(cursor)
            self.emit(Instruction(op, (self.block_type(cursor),)))
            stop = self.sequence(cursor, ("end", "else") if name == "if" else ("end",))
            if stop is not None and stop.text == "else":
                cursor.i += 1
                self.check_end_label(cursor, label)
                self.emit(ins.OP_ELSE.bare)
                stop = self.sequence(cursor, ("end",))
            if stop is None:
                raise text_error("unexpected end of block, expected end", token)
            self.line = stop.line
            cursor.i += 1
            self.check_end_label(cursor, label)
            self.labels.pop()
            self.emit(ins.END)
            return
        if name == "try" and "try" in self.module.opcodes:
            self.plain_try(token, cursor)
            return
        if name in MISPLACED_KEYWORDS:
            raise text_error("unexpected token", token)
        self.emit(self.instruction(token, cursor))

    def plain_try(self, token: Token, cursor: _Cursor) -> None:
        """``try l? bt instr* (catch x instr*)* (catch_all instr*)? end l?`` or ``try l? bt instr*
        delegate l'``: a handler keeps the try's label; ``delegate``'s label resolves outside it."""
        label = self.open_label(cursor)
        self.emit(Instruction(ins.OP_TRY, (self.block_type(cursor),)))
        stop = self.sequence(cursor, LEGACY_TRY_STOPS)
        handlers, last_handler = 0, False
        while stop is not None and stop.text in ("catch", "catch_all"):
            if last_handler:  # nothing follows catch_all's handler but end
                raise text_error("unexpected token", stop)
            cursor.i += 1
            self.line = stop.line
            if stop.text == "catch":
                self.emit(Instruction(ins.OP_CATCH, (self.index("tag", cursor),)))
            else:
                self.emit(ins.OP_CATCH_ALL.bare)
                last_handler = True
            handlers += 1
            stop = self.sequence(cursor, LEGACY_TRY_STOPS)
        if stop is None:
            raise text_error("unexpected end of block, expected end", token)
        self.line = stop.line
        if stop.text == "delegate":
            if handlers:
                raise text_error("unexpected token", stop)
            cursor.i += 1
            self.labels.pop()
            self.emit(Instruction(ins.OP_DELEGATE, (self.label(cursor),)))
            return
        cursor.i += 1
        self.check_end_label(cursor, label)
        self.labels.pop()
        self.emit(ins.END)

    def folded_try(self, cursor: _Cursor) -> None:
        """``(try l? bt (do instr*) (catch x instr*)* (catch_all instr*)?)`` or ``(try l? bt (do
        instr*) (delegate l'))``."""
        label = self.open_label(cursor)
        self.emit(Instruction(ins.OP_TRY, (self.block_type(cursor),)))
        do_node = cursor.next()
        if not isinstance(do_node, SExpr) or do_node.head() != "do":
            raise unexpected(do_node)
        stop = self.sequence(_Cursor(do_node), ())
        if stop is not None:
            raise unexpected(stop)
        handlers, last_handler = 0, False
        while isinstance(node := cursor.peek(), SExpr) and node.head() in ("catch", "catch_all"):
            if last_handler:
                raise unexpected(node)
            cursor.i += 1
            self.line = node.line
            inner = _Cursor(node)
            if node.head() == "catch":
                self.emit(Instruction(ins.OP_CATCH, (self.index("tag", inner),)))
            else:
                self.emit(ins.OP_CATCH_ALL.bare)
                last_handler = True
            handlers += 1
            stop = self.sequence(inner, ())
            if stop is not None:
                raise unexpected(stop)
        delegate = cursor.peek_list("delegate")
        if delegate is not None and not handlers:
            cursor.i += 1
            self.line = delegate.line
            self.labels.pop()
            inner = _Cursor(delegate)
            if inner.done():
                raise text_error("unexpected token", delegate)
            self.emit(Instruction(ins.OP_DELEGATE, (self.label(inner),)))
            inner.expect_done()
            cursor.expect_done()
            return
        cursor.expect_done()
        del label
        self.labels.pop()
        self.emit(ins.END)

    def folded(self, node: SExpr) -> None:
        head_token = node.items[0] if node.items else None
        if not isinstance(head_token, Token) or head_token.kind != "keyword":
            raise unexpected(head_token if head_token is not None else node)
        name = head_token.text
        self.line = node.line
        cursor = _Cursor(node)
        if name in ("block", "loop"):
            label = self.open_label(cursor)
            self.emit(Instruction(ins.BY_NAME[name], (self.block_type(cursor),)))
            stop = self.sequence(cursor, ())
            if stop is not None:
                raise unexpected(stop)
            del label
            self.labels.pop()
            self.emit(ins.END)
            return
        if name == "try_table" and "try_table" in self.module.opcodes:
            label_token = cursor.optional_id()
            block_type = self.block_type(cursor)
            catches = self.catch_clauses(cursor)
            self.labels.append(label_token.text if label_token is not None else None)
            self.emit(Instruction(ins.OP_TRY_TABLE, (block_type, catches)))
            stop = self.sequence(cursor, ())
            if stop is not None:
                raise unexpected(stop)
            self.labels.pop()
            self.emit(ins.END)
            return
        if name == "if":
            label_token = cursor.optional_id()
            block_type = self.block_type(cursor)
            while not cursor.done() and cursor.peek_list("then") is None:
                condition = cursor.next()
                if not isinstance(condition, SExpr):
                    raise unexpected(condition)
                self.folded(condition)
            self.labels.append(label_token.text if label_token is not None else None)
            self.emit(Instruction(ins.OP_IF, (block_type,)))
            if self.hints and id(node) in self.hints:
                self.hint(node, len(self.out) - 1)
            then_node = cursor.next()
            if not isinstance(then_node, SExpr) or then_node.head() != "then":
                raise unexpected(then_node)
            stop = self.sequence(_Cursor(then_node), ())
            if stop is not None:
                raise unexpected(stop)
            else_node = cursor.peek_list("else")
            if else_node is not None:
                cursor.i += 1
                self.emit(ins.OP_ELSE.bare)
                stop = self.sequence(_Cursor(else_node), ())
                if stop is not None:
                    raise unexpected(stop)
            cursor.expect_done()
            self.labels.pop()
            self.emit(ins.END)
            return
        if name == "try" and "try" in self.module.opcodes:
            self.folded_try(cursor)
            return
        if name in MISPLACED_KEYWORDS:
            raise text_error("unexpected token", head_token)
        instruction = self.instruction(head_token, cursor)
        while not cursor.done():
            operand = cursor.next()
            if not isinstance(operand, SExpr):
                raise unexpected(operand)
            self.folded(operand)
        self.line = node.line
        self.emit(instruction)
        if self.hints and id(node) in self.hints:
            self.hint(node, len(self.out) - 1)

    # --- one instruction -------------------------------------------------
    def instruction(self, token: Token, cursor: _Cursor) -> Instruction:
        name = token.text
        op = self.module.opcodes.get(name)
        if op is None or op is ins.OP_SELECT_T:
            disabled = ins.BY_NAME.get(name)
            if disabled is not None and disabled is not ins.OP_SELECT_T:
                raise text_error(f"unknown operator {name} (feature {disabled.feature} is not enabled)", token)
            raise text_error(f"unknown operator {name}" if not is_known_keyword(name) else "unexpected token", token)
        if op is ins.OP_SELECT:
            results = self.module._results(cursor) if cursor.peek_list("result") is not None else None
            if results is None:
                return op.bare
            return Instruction(ins.OP_SELECT_T, (tuple(results),))
        if not op.imm:
            return op.bare
        immediates = self.immediates(op, token, cursor)
        if op in ins.NULLABLE_CAST and immediates[0].nullable:  # type: ignore[attr-defined]
            op = ins.NULLABLE_CAST[op]
        return Instruction(op, immediates)

    def index(self, kind: str, cursor: _Cursor) -> int:
        return self.module.resolve(kind, cursor.next())

    def optional_index(self, kind: str, cursor: _Cursor) -> int:
        atom = cursor.peek_atom()
        if atom is not None and (atom.kind == "id" or atom.text[:1].isdigit()):
            return self.index(kind, cursor)
        return 0

    def label(self, cursor: _Cursor) -> int:
        token = cursor.next()
        if isinstance(token, Token) and token.kind == "id":
            for depth, label in enumerate(reversed(self.labels)):
                if label == token.text:
                    return depth
            raise text_error("unknown label", token)
        return self.module.uint(token)

    def local(self, cursor: _Cursor) -> int:
        token = cursor.next()
        if isinstance(token, Token) and token.kind == "id":
            index = self.local_ids.get(token.text)
            if index is None:
                raise text_error(f"unknown local {token.text}", token)
            return index
        return self.module.uint(token)

    def memory_index(self, cursor: _Cursor, before_lane: bool = False) -> int:
        """An optional memory index (multiple memories, Wasm 3.0; memory 0 when absent).  Before a
        lane index a bare number is the memory only when another number or a memarg follows it."""
        if ins.MULTI_MEMORY not in self.module.features or not self.has_index(cursor):
            return 0
        if before_lane and cursor.peek_atom("keyword") is not None:
            following = cursor.items[cursor.i + 1] if cursor.i + 1 < len(cursor.items) else None
            if not (
                isinstance(following, Token)
                and following.kind == "keyword"
                and (following.text[:1].isdigit() or following.text.startswith(("offset=", "align=")))
            ):
                return 0
        return self.index("memory", cursor)

    def memarg(self, op: Opcode, cursor: _Cursor, before_lane: bool = False) -> tuple[int, int, int]:
        """(alignment exponent, offset, memory index) of a load or store."""
        memory = self.memory_index(cursor, before_lane)
        offset = 0
        align = op.align
        # memory64: offsets and alignments are u64 in the text (offsets in the binary too); validation
        # refuses an offset of 2^32 and above for an i32 memory ("offset out of range") and any
        # alignment above the natural one.
        bits = 64 if ins.MEMORY64 in self.module.features else 32
        atom = cursor.peek_atom("keyword")
        if atom is not None and atom.text.startswith("offset="):
            cursor.i += 1
            if not is_known_keyword(atom.text):
                raise unexpected(atom)
            try:
                offset = self._keyword_value(atom, "offset=", bits)
            except MalformedError:
                raise text_error(f"i{bits} constant out of range", atom) from None
            atom = cursor.peek_atom("keyword")
        if atom is not None and atom.text.startswith("align="):
            cursor.i += 1
            value = self._keyword_value(atom, "align=", bits)
            if value == 0 or value & (value - 1):
                raise text_error("alignment must be a power of two", atom)
            align = value.bit_length() - 1
        return align, offset, memory

    def _keyword_value(self, token: Token, prefix: str, bits: int) -> int:
        try:
            return parse_uint(token.text[len(prefix) :], bits)
        except LiteralError as e:
            raise (unexpected(token) if e.syntax else text_error(str(e), token)) from None

    def number(self, cursor: _Cursor, kind: str) -> int:
        token = cursor.next()
        if not isinstance(token, Token) or token.kind != "keyword":
            raise unexpected(token)
        try:
            if kind == "i32":
                return parse_int(token.text, 32)
            if kind == "i64":
                return parse_int(token.text, 64)
            if kind == "f32":
                return parse_float(token.text, F32_FORMAT)
            return parse_float(token.text, F64_FORMAT)
        except LiteralError as e:
            raise (unexpected(token) if e.syntax else text_error(str(e), token)) from None

    def lane_index(self, cursor: _Cursor, shuffle: bool = False) -> int:
        """A lane index is a natural number below 256; any other number is
        ``malformed lane index`` in a shuffle and ``unexpected token`` elsewhere."""
        token = cursor.next()
        if not isinstance(token, Token) or token.kind != "keyword":
            raise unexpected(token)
        natural = INT_RE.match(token.text) is not None and token.text[:1].isdigit()
        if not natural:
            if shuffle and is_number(token.text):
                raise text_error("malformed lane index", token)
            raise unexpected(token)
        value = parse_uint(token.text, 64)
        if value > 255:
            raise text_error("malformed lane index", token)
        return value

    def v128_const(self, token: Token, cursor: _Cursor) -> bytes:
        shape_token = cursor.next()
        if not isinstance(shape_token, Token) or shape_token.text not in SIMD_SHAPES:
            raise text_error("unexpected token", shape_token)
        lanes, bits = SIMD_SHAPES[shape_token.text]
        out = bytearray()
        literals = []
        while (lane := cursor.peek_atom("keyword")) is not None and (
            looks_numeric(lane.text) or not is_known_keyword(lane.text)
        ):
            literals.append(lane)
            cursor.i += 1
        if len(literals) != lanes:
            raise text_error("wrong number of lane literals", shape_token)
        for lane in literals:
            try:
                if shape_token.text == "f32x4":
                    value = parse_float(lane.text, F32_FORMAT)
                elif shape_token.text == "f64x2":
                    value = parse_float(lane.text, F64_FORMAT)
                else:
                    value = parse_int(lane.text, bits) & ((1 << bits) - 1)
            except LiteralError as e:
                raise (unexpected(lane) if e.syntax else text_error(str(e), lane)) from None
            out += value.to_bytes(bits // 8, "little")
        return bytes(out)

    def immediates(self, op: Opcode, token: Token, cursor: _Cursor) -> tuple[object, ...]:
        kind = op.imm
        if kind == Imm.BLOCK:
            return (self.block_type(cursor),)
        if kind == Imm.LABEL:
            return (self.label(cursor),)
        if kind == Imm.BR_TABLE:
            labels = [self.label(cursor)]
            while (atom := cursor.peek_atom()) is not None and (atom.kind == "id" or atom.text[:1].isdigit()):
                labels.append(self.label(cursor))
            return (tuple(labels[:-1]), labels[-1])
        if kind == Imm.FUNC:
            return (self.index("func", cursor),)
        if kind == Imm.CALL_INDIRECT:
            table = self.optional_index("table", cursor)
            type_index, _ = self.module.type_use(cursor, allow_ids=False)
            return (type_index, table)
        if kind == Imm.LOCAL:
            return (self.local(cursor),)
        if kind == Imm.GLOBAL:
            return (self.index("global", cursor),)
        if kind == Imm.TABLE:
            return (self.optional_index("table", cursor),)
        if kind == Imm.MEMARG:
            return self.memarg(op, cursor)
        if kind in (Imm.I32, Imm.I64, Imm.F32, Imm.F64):
            return (self.number(cursor, kind),)
        if kind == Imm.HEAPTYPE:
            return (RefType(True, self.module.heap_type(cursor.next())),)
        if kind == Imm.TYPE:
            return (self.index("type", cursor),)
        if kind == Imm.MEMORY:
            return (self.memory_index(cursor),)
        if kind == Imm.FENCE:
            return (0,)
        if kind == Imm.MEMORY_INIT:
            # ``memory.init $data`` or, with multiple memories, ``memory.init $memory $data``.
            self.module.uses_data_instructions = True
            first = self.index_token(cursor)
            if ins.MULTI_MEMORY in self.module.features and self.has_index(cursor):
                return (self.index("data", cursor), self.module.resolve("memory", first))
            return (self.module.resolve("data", first), 0)
        if kind == Imm.DATA:
            self.module.uses_data_instructions = True
            return (self.index("data", cursor),)
        if kind == Imm.MEMORY_COPY:
            if ins.MULTI_MEMORY in self.module.features and self.has_index(cursor):
                destination = self.index("memory", cursor)
                return (destination, self.index("memory", cursor))
            return (0, 0)
        if kind == Imm.ELEM:
            return (self.index("elem", cursor),)
        if kind == Imm.TABLE_INIT:
            first = self.index_token(cursor)
            second = self.index_token(cursor) if self.has_index(cursor) else None
            if second is None:
                return (self.module.resolve("elem", first), 0)
            return (self.module.resolve("elem", second), self.module.resolve("table", first))
        if kind == Imm.TABLE_COPY:
            if self.has_index(cursor):
                dst = self.index("table", cursor)
                return (dst, self.index("table", cursor))
            return (0, 0)
        if kind == Imm.V128:
            return (self.v128_const(token, cursor),)
        if kind == Imm.SHUFFLE:
            lanes = []
            for _ in range(16):
                atom = cursor.peek_atom("keyword")
                if atom is None:
                    raise text_error("invalid lane length", token)
                lanes.append(self.lane_index(cursor, shuffle=True))
            extra = cursor.peek_atom("keyword")
            if extra is not None and looks_numeric(extra.text):
                raise text_error("invalid lane length", token)
            return (bytes(lanes),)
        if kind == Imm.LANE:
            return (self.lane_index(cursor),)
        if kind == Imm.MEMARG_LANE:
            return (*self.memarg(op, cursor, before_lane=True), self.lane_index(cursor))
        if kind == Imm.TAG:
            return (self.index("tag", cursor),)
        if kind == Imm.FIELD:
            type_index = self.index("type", cursor)
            field = self.index_token(cursor)
            if field.kind == "id":
                found = self.module.field_ids.get(type_index, {}).get(field.text)
                if found is None:
                    raise text_error(f"unknown field {field.text}", field)
                return (type_index, found)
            return (type_index, self.module.uint(field))
        if kind in (Imm.TYPE_PAIR, Imm.TYPE_DATA, Imm.TYPE_ELEM):
            type_index = self.index("type", cursor)
            second_kind = {Imm.TYPE_PAIR: "type", Imm.TYPE_DATA: "data", Imm.TYPE_ELEM: "elem"}[kind]
            if kind == Imm.TYPE_DATA:
                self.module.uses_data_instructions = True
            return (type_index, self.index(second_kind, cursor))
        if kind == Imm.TYPE_COUNT:
            return (self.index("type", cursor), self.module.uint(cursor.next()))
        if kind in (Imm.CAST, Imm.CAST_NULL):
            return (self.module.reftype(cursor.next()),)
        if kind == Imm.BR_ON_CAST:
            label = self.label(cursor)
            source = self.module.reftype(cursor.next())
            return (label, source, self.module.reftype(cursor.next()))
        raise AssertionError(kind)

    def has_index(self, cursor: _Cursor) -> bool:
        atom = cursor.peek_atom()
        return atom is not None and (atom.kind == "id" or atom.text[:1].isdigit())

    def index_token(self, cursor: _Cursor) -> Token:
        token = cursor.next()
        if not isinstance(token, Token):
            raise unexpected(token)
        return token
