"""A recursive-descent reading of the WIT grammar (WIT.md) into ``syntax`` items.

One method per production, named after it. Names are checked to be kebab-case labels here; whether a name
refers to anything is the resolver's business.
"""

from __future__ import annotations

from .errors import WitError
from .lexer import Source, Token, is_label, tokenize
from .syntax import (
    BuiltinType,
    Case,
    FuncItem,
    FuncSignature,
    FutureType,
    Gate,
    HandleType,
    IncludeItem,
    InterfaceItem,
    ListType,
    MapType,
    NamedType,
    OptionType,
    PackageBody,
    PackageName,
    Param,
    ResourceFunc,
    ResultType,
    StreamType,
    TopLevelUse,
    TupleType,
    TypeItem,
    TypeSyntax,
    UseItem,
    UseName,
    UsePath,
    WitFile,
    WorldExtern,
    WorldItem,
)

BUILTIN_TYPES = frozenset("u8 u16 u32 u64 s8 s16 s32 s64 f32 f64 char bool string".split())
MAP_KEY_TYPES = BUILTIN_TYPES - {"f32", "f64"}


def parse_wit(text: str, path: str = "<wit>") -> WitFile:
    """Parse one WIT file; raises WitError naming ``path:line:column`` and what was expected."""
    return _Parser(Source(text, path)).wit_file()


class _Parser:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.position = 0

    # --- token helpers ----------------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.position + ahead, len(self.tokens) - 1)]

    def at(self, kind: str) -> bool:
        return self.peek().kind == kind

    def next(self) -> Token:
        token = self.peek()
        self.position += 1
        return token

    def accept(self, kind: str) -> Token | None:
        return self.next() if self.at(kind) else None

    def expect(self, kind: str) -> Token:
        token = self.peek()
        if token.kind != kind:
            raise self.unexpected(f"`{kind}`" if kind not in ("id", "int", "string", "version") else _WHAT[kind])
        return self.next()

    def unexpected(self, expected: str) -> WitError:
        token = self.peek()
        found = "end of file" if token.kind == "eof" else f"`{token.text}`"
        return self.source.error(token.offset, f"expected {expected}, found {found}")

    def identifier(self) -> Token:
        """An ``id``: kebab-case, or ``%``-prefixed (which also allows keywords)."""
        token = self.peek()
        if token.kind != "id":
            raise self.unexpected("an identifier")
        if not is_label(token.text):
            raise self.source.error(token.offset, f"identifier `{token.text}` is not in kebab case")
        return self.next()

    def adjacent(self, first: Token, second: Token) -> bool:
        return first.end == second.offset

    # --- files and packages -----------------------------------------------------------------------------

    def wit_file(self) -> WitFile:
        start = self.peek()
        main = PackageBody(None, start.offset)
        nested: list[PackageBody] = []
        if self.at("package"):
            docs = self.peek().docs
            offset = self.next().offset
            name = self.package_name()
            if self.at("{"):
                nested.append(self.nested_package(name, offset, docs))
            else:
                self.expect(";")
                main = PackageBody(name, offset, docs)
        while not self.at("eof"):
            if self.at("package"):
                docs = self.peek().docs
                offset = self.next().offset
                nested.append(self.nested_package(self.package_name(), offset, docs))
            else:
                self.package_item(main)
        return WitFile(self.source.path, self.source.text, main, nested)

    def nested_package(self, name: PackageName, offset: int, docs: str) -> PackageBody:
        body = PackageBody(name, offset, docs)
        self.expect("{")
        while not self.accept("}"):
            if self.at("eof"):
                raise self.unexpected("`}`")
            self.package_item(body)
        return body

    def package_name(self) -> PackageName:
        """``(id ':')+ id ('/' id)* ('@' version)?`` — only the package part; paths use ``use_path``."""
        parts = [self.identifier().text]
        while self.accept(":"):
            parts.append(self.identifier().text)
        if len(parts) < 2:
            raise self.unexpected("`:` in a package name (namespace:name)")
        version = self.expect("version").text if self.accept("@") else None
        return PackageName(":".join(parts[:-1]), parts[-1], version)

    def package_item(self, body: PackageBody) -> None:
        docs = self.peek().docs
        offset = self.peek().offset
        gate = self.gate()
        if self.accept("use"):
            path = self.use_path()
            alias = self.identifier().text if self.accept("as") else None
            self.expect(";")
            body.uses.append(TopLevelUse(path, alias, offset, gate))
        elif self.accept("interface"):
            body.interfaces.append(self.interface_body(self.identifier(), docs, gate))
        elif self.accept("world"):
            body.worlds.append(self.world_body(self.identifier(), docs, gate))
        else:
            raise self.unexpected("`world`, `interface`, `use` or `package`")

    # --- gates ------------------------------------------------------------------------------------------

    def gate(self) -> Gate:
        since = unstable = deprecated = None
        while self.at("@") and self.peek(1).kind == "id" and self.peek(1).text != "external-id":
            self.next()
            word = self.next()
            self.expect("(")
            if word.text == "unstable":
                self.field_named("feature")
                unstable = self.identifier().text
            elif word.text in ("since", "deprecated"):
                self.field_named("version")
                version = self.expect("version").text
                if word.text == "since":
                    since = version
                else:
                    deprecated = version
            else:
                raise self.source.error(word.offset, f"unknown feature gate `@{word.text}`")
            self.expect(")")
        if since is not None and unstable is not None:
            raise self.source.error(self.peek().offset, "an item cannot be both `@since` and `@unstable`")
        return Gate(since, unstable, deprecated)

    def field_named(self, name: str) -> None:
        token = self.identifier()
        if token.text != name:
            raise self.source.error(token.offset, f"expected `{name} = ...`")
        self.expect("=")

    def external_id(self) -> None:
        """``@external-id("...")``: accepted and dropped (a binding-level annotation)."""
        if self.at("@") and self.peek(1).text == "external-id":
            self.next()
            self.next()
            self.expect("(")
            self.expect("string")
            self.expect(")")

    # --- interfaces -------------------------------------------------------------------------------------

    def interface_body(self, name: Token, docs: str, gate: Gate) -> InterfaceItem:
        interface = InterfaceItem(name.text, name.offset, docs, gate)
        self.expect("{")
        while not self.accept("}"):
            item_docs = self.peek().docs
            item_gate = self.gate()
            self.external_id()
            interface.items.append(self.interface_definition(item_docs, item_gate))
        return interface

    def interface_definition(self, docs: str, gate: Gate) -> FuncItem | TypeItem | UseItem:
        if self.at("use"):
            return self.use_item(docs, gate)
        typedef = self.typedef_item(docs, gate)
        if typedef is not None:
            return typedef
        name = self.identifier()
        self.expect(":")
        signature = self.func_type()
        self.expect(";")
        return FuncItem(name.text, name.offset, docs, gate, signature)

    def func_type(self) -> FuncSignature:
        is_async = self.accept("async") is not None
        self.expect("func")
        params = self.param_list()
        result = self.type() if self.accept("->") else None
        return FuncSignature(params, result, is_async)

    def param_list(self) -> list[Param]:
        self.expect("(")
        params: list[Param] = []
        while not self.accept(")"):
            name = self.identifier()
            self.expect(":")
            params.append(Param(name.text, self.type(), name.offset))
            if not self.accept(","):
                self.expect(")")
                break
        return params

    def use_item(self, docs: str, gate: Gate) -> UseItem:
        offset = self.expect("use").offset
        path = self.use_path()
        self.expect(".")
        self.expect("{")
        names: list[UseName] = []
        while True:
            name_gate = self.gate()
            name = self.identifier()
            alias = self.identifier().text if self.accept("as") else None
            names.append(UseName(name.text, alias, name.offset, name_gate))
            if not self.accept(","):
                self.expect("}")
                break
            if self.accept("}"):
                break
        self.expect(";")
        return UseItem(str(path), offset, docs, gate, path, names)

    def use_path(self) -> UsePath:
        """``id`` (an interface of this package) or ``ns:pkg/iface@version``."""
        first = self.identifier()
        if not self.at(":"):
            return UsePath(first.text, first.offset)
        parts = [first.text]
        while self.accept(":"):
            parts.append(self.identifier().text)
        self.expect("/")
        names = [self.identifier().text]
        while self.accept("/"):
            names.append(self.identifier().text)
        if len(names) > 1:
            raise self.source.error(first.offset, "nested interface paths are not supported")
        version = self.expect("version").text if self.accept("@") else None
        return UsePath(names[-1], first.offset, PackageName(":".join(parts[:-1]), parts[-1], version))

    # --- type definitions -------------------------------------------------------------------------------

    def typedef_item(self, docs: str, gate: Gate) -> TypeItem | None:
        kind = self.peek().kind
        if kind == "type":
            self.next()
            name = self.identifier()
            self.expect("=")
            target = self.type()
            self.expect(";")
            return TypeItem(name.text, name.offset, docs, gate, "alias", target)
        if kind in ("record", "variant", "enum", "flags"):
            self.next()
            name = self.identifier()
            item = TypeItem(name.text, name.offset, docs, gate, kind)
            item.cases = self.cases(with_types=kind in ("record", "variant"), required=kind == "record")
            if not item.cases and kind in ("variant", "enum"):
                raise self.source.error(name.offset, f"{kind} `{name.text}` must have at least one case")
            return item
        if kind == "resource":
            self.next()
            name = self.identifier()
            item = TypeItem(name.text, name.offset, docs, gate, "resource")
            if not self.accept(";"):
                self.expect("{")
                while not self.accept("}"):
                    item.functions.append(self.resource_function())
            return item
        return None

    def cases(self, *, with_types: bool, required: bool) -> list[Case]:
        self.expect("{")
        cases: list[Case] = []
        while not self.accept("}"):
            docs = self.peek().docs
            gate = self.gate()
            name = self.identifier()
            case = Case(name.text, name.offset, docs, gate)
            if with_types and required:
                self.expect(":")
                case.type = self.type()
            elif with_types and self.accept("("):
                case.type = self.type()
                self.expect(")")
            cases.append(case)
            if not self.accept(","):
                self.expect("}")
                break
        return cases

    def resource_function(self) -> ResourceFunc:
        docs = self.peek().docs
        gate = self.gate()
        self.external_id()
        if self.at("constructor"):
            token = self.next()
            params = self.param_list()
            result = self.type() if self.accept("->") else None
            self.expect(";")
            return ResourceFunc("constructor", token.offset, docs, gate, "constructor", FuncSignature(params, result))
        name = self.identifier()
        self.expect(":")
        kind = "static" if self.accept("static") else "method"
        signature = self.func_type()
        self.expect(";")
        return ResourceFunc(name.text, name.offset, docs, gate, kind, signature)

    def type(self) -> TypeSyntax:
        token = self.peek()
        kind = token.kind
        if kind in BUILTIN_TYPES:
            self.next()
            return BuiltinType(kind)
        if kind == "id":
            return NamedType(self.identifier().text, token.offset)
        self.next()
        if kind == "list":
            self.expect("<")
            element = self.type()
            length = None
            if self.accept(","):
                size = self.expect("int")
                length = int(size.text)
                if length == 0:
                    raise self.source.error(size.offset, "a fixed-length list must have a length of at least 1")
            self.expect(">")
            return ListType(element, length)
        if kind == "option":
            inner = self.angle_type()
            return OptionType(inner)
        if kind == "result":
            if not self.accept("<"):
                return ResultType(None, None)
            if self.accept("_"):
                self.expect(",")
                error_type = self.type()
                self.expect(">")
                return ResultType(None, error_type)
            ok = self.type()
            err = self.type() if self.accept(",") else None
            self.expect(">")
            return ResultType(ok, err)
        if kind == "tuple":
            self.expect("<")
            items = [self.type()]
            while self.accept(","):
                if self.at(">"):
                    break
                items.append(self.type())
            self.expect(">")
            return TupleType(tuple(items))
        if kind == "map":
            self.expect("<")
            key = self.type()
            if not isinstance(key, BuiltinType) or key.name not in MAP_KEY_TYPES:
                raise self.source.error(token.offset, "a map's key must be an integer, char, bool or string")
            self.expect(",")
            value = self.type()
            self.expect(">")
            return MapType(key, value)
        if kind in ("future", "stream"):
            inner_type = self.angle_type() if self.at("<") else None
            return FutureType(inner_type) if kind == "future" else StreamType(inner_type)
        if kind in ("borrow", "own"):
            self.expect("<")
            name = self.identifier()
            self.expect(">")
            return HandleType(NamedType(name.text, name.offset), borrowed=kind == "borrow")
        self.position -= 1
        raise self.unexpected("a type")

    def angle_type(self) -> TypeSyntax:
        self.expect("<")
        inner = self.type()
        self.expect(">")
        return inner

    # --- worlds -----------------------------------------------------------------------------------------

    def world_body(self, name: Token, docs: str, gate: Gate) -> WorldItem:
        world = WorldItem(name.text, name.offset, docs, gate)
        self.expect("{")
        while not self.accept("}"):
            item_docs = self.peek().docs
            item_gate = self.gate()
            self.external_id()
            world.items.append(self.world_definition(item_docs, item_gate))
        return world

    def world_definition(self, docs: str, gate: Gate) -> WorldExtern | UseItem | TypeItem | IncludeItem:
        if self.at("import") or self.at("export"):
            return self.world_extern(docs, gate)
        if self.at("use"):
            return self.use_item(docs, gate)
        if self.at("include"):
            offset = self.next().offset
            path = self.use_path()
            renames: list[tuple[str, str]] = []
            if self.accept("with"):
                self.expect("{")
                while not self.accept("}"):
                    old = self.identifier().text
                    self.expect("as")
                    renames.append((old, self.identifier().text))
                    if not self.accept(","):
                        self.expect("}")
                        break
            self.expect(";")
            return IncludeItem(str(path), offset, docs, gate, path, renames)
        typedef = self.typedef_item(docs, gate)
        if typedef is None:
            raise self.unexpected("`import`, `export`, `use`, `include` or a type definition")
        return typedef

    def world_extern(self, docs: str, gate: Gate) -> WorldExtern:
        direction = self.next().kind
        first = self.peek()
        second = self.peek(1)
        # `import a: b` names an item; `import a:b/c` (no space around the `:`) is a package path (WIT.md,
        # "Item: world").
        third = self.peek(2)
        is_path = self.adjacent(first, second) and self.adjacent(second, third)
        if first.kind == "id" and second.kind == ":" and not is_path:
            name = self.identifier()
            self.expect(":")
            extern = WorldExtern(name.text, name.offset, docs, gate, direction)
            if self.at("interface"):
                self.next()
                extern.interface = self.interface_body(name, "", Gate())
            elif self.at("func") or self.at("async"):
                extern.func = self.func_type()
                self.expect(";")
            else:
                extern.path = self.use_path()
                self.expect(";")
            return extern
        if is_path and self.peek(3).kind in (";", "@"):
            raise self.source.error(first.offset, "cannot import or export a package, only an interface")
        path = self.use_path()
        self.expect(";")
        return WorldExtern("", path.offset, docs, gate, direction, path=path)


_WHAT = {"id": "an identifier", "int": "an integer", "string": "a string literal", "version": "a version"}
