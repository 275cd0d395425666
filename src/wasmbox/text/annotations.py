"""The annotations of the text format that mean something for a module.

The lexer keeps three annotations of the annotations proposal in the tree
(every other ``(@id ...)`` is dropped there): ``(@custom ...)`` custom
sections, ``(@name "...")`` names for the name section and
``(@metadata.code.branch_hint "\\00")`` branch hints.  Before a module is
parsed, :func:`extract_annotations` takes the last two out of the tree, checks
where each stands and records what it says, so the parser's grammar never sees
them; ``(@custom ...)`` stays a module field (the parser places it), and is
refused anywhere else.  Only the lists the lexer marked as holding a kept
annotation are walked, so a module without them costs one check per field.

Errors say which annotation broke which rule, as the reference interpreter's
(the suite's ``assert_malformed_custom`` commands expect them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import MalformedError
from .lexer import Node, SExpr, Token, text_error

BRANCH_HINT = "metadata.code.branch_hint"
# Definitions an ``(@name ...)`` may name: it stands right after the keyword and the optional id.
NAMED_DEFINITIONS = frozenset(("func", "tag", "global", "table", "memory", "type", "elem", "data", "local", "param"))


@dataclass
class ModuleAnnotations:
    """What the kept annotations of one module say.  Nodes are keyed by
    ``id()``: they stay alive in the tree the parser reads."""

    module_name: str | None = None
    names: dict[int, str] = field(default_factory=dict)  # id(definition node) -> name
    hints: dict[int, tuple[int, Token]] = field(default_factory=dict)  # id(target node) -> (hint, annotation)

    def name_of(self, node: SExpr) -> str | None:
        return self.names.get(id(node)) if self.names else None


def has_annotations(fields: list[Node]) -> bool:
    return any(isinstance(node, SExpr) and (node.annotated or node.annotation() is not None) for node in fields)


def extract_annotations(fields: list[Node]) -> tuple[list[Node], ModuleAnnotations]:
    """The module's fields without its ``@name`` and branch-hint annotations,
    and what those said.  ``(@name ...)`` names the module only before every
    other field."""
    found = ModuleAnnotations()
    kept: list[Node] = []
    for node in fields:
        if isinstance(node, SExpr):
            label = node.annotation()
            if label == "name":
                if kept:
                    raise text_error("misplaced @name annotation", node)
                if found.module_name is not None:
                    raise text_error("@name annotation: multiple module names", node)
                found.module_name = _name(node)
                continue
            if label == BRANCH_HINT:
                raise text_error(f"@{BRANCH_HINT} annotation: not in a function", node)
            if label is None and node.annotated:
                _walk(node, found, in_function=node.head() == "func")
        kept.append(node)
    return kept, found


def _walk(node: SExpr, found: ModuleAnnotations, in_function: bool) -> None:
    """Take the kept annotations out of ``node``'s items (and its lists')."""
    items: list[Node] = []
    pending: SExpr | None = None  # a branch hint waiting for its instruction
    for item in node.items:
        if isinstance(item, SExpr):
            label = item.annotation()
            if label == "custom":
                raise text_error("misplaced @custom annotation", item)
            if label == "name":
                at_definition = node.head() in NAMED_DEFINITIONS and (
                    len(items) == 1 or len(items) == 2 and isinstance(items[1], Token) and items[1].kind == "id"
                )
                if not at_definition:
                    raise text_error("misplaced @name annotation", item)
                if id(node) in found.names:
                    raise text_error("@name annotation: multiple names", item)
                found.names[id(node)] = _name(item)
                continue
            if label == BRANCH_HINT:
                if not in_function:
                    raise text_error(f"@{BRANCH_HINT} annotation: not in a function", item)
                if pending is not None:
                    raise text_error(f"@{BRANCH_HINT} annotation: duplicate annotation", item)
                pending = item
                continue
            if item.annotated:
                _walk(item, found, in_function)
        if pending is not None:
            found.hints[id(item)] = (_hint_value(pending), pending.items[0])  # type: ignore[assignment]
            pending = None
        items.append(item)
    if pending is not None:
        raise text_error(f"@{BRANCH_HINT} annotation: no instruction follows", pending)
    node.items = items


def _name(node: SExpr) -> str:
    """The one UTF-8 string of ``(@name "...")``."""
    if len(node.items) != 2 or not isinstance(node.items[1], Token) or node.items[1].kind != "string":
        raise text_error("@name annotation: expected one string", node)
    try:
        return node.items[1].value.decode("utf-8")
    except UnicodeDecodeError:
        raise text_error("@name annotation: malformed UTF-8 encoding", node.items[1]) from None


def _hint_value(node: SExpr) -> int:
    """A branch hint's value: one byte, 0 (likely not taken) or 1 (likely taken)."""
    value = node.items[1] if len(node.items) == 2 else None
    if not isinstance(value, Token) or value.kind != "string":
        raise text_error(f"@{BRANCH_HINT} annotation: expected one string", node)
    if value.value not in (b"\x00", b"\x01"):
        raise MalformedError(
            f"@{BRANCH_HINT} annotation: malformed hint (one byte, 0 or 1)", line=value.line, column=value.column
        )
    return value.value[0]
