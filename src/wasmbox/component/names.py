"""Import and export names of components (Explainer.md "Import and Export Definitions").

A name is a *plain name* (a kebab-case label, perhaps annotated ``[constructor]``,
``[method]`` or ``[static]``) or an *interface name* ``ns:pkg/iface@version``.
Names in one scope must be *strongly unique*: equal after lowercasing and
dropping annotations (section "Name Uniqueness").  Failures raise
:class:`ValidationError` in wasm-tools' words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ValidationError

_WORD = r"[a-z][0-9a-z]*"
_ACRONYM = r"[A-Z][0-9A-Z]*"
_LABEL = re.compile(rf"(?:{_WORD}|{_ACRONYM})(?:-(?:[0-9a-z]+|[0-9A-Z]+))*")
_WORDS = re.compile(rf"{_WORD}(?:-[0-9a-z]+)*")
_SEMVER_PART = re.compile(r"0|[1-9][0-9]*")
_IDENTIFIER = re.compile(r"[0-9A-Za-z-]+")


def is_kebab(label: str) -> bool:
    return _LABEL.fullmatch(label) is not None


def check_label(label: str, what: str) -> None:
    """A record field, case, flag, enum or parameter name: non-empty kebab case."""
    if not label:
        raise ValidationError(f"{what} name cannot be empty")
    if not is_kebab(label):
        raise ValidationError(f"{what} name `{label}` is not in kebab case")


@dataclass(frozen=True)
class ParsedName:
    """What validation needs of an extern name."""

    kind: str  # "label" | "constructor" | "method" | "static" | "interface"
    resource: str | None  # the resource an annotated name belongs to
    canonical: str  # the strongly-unique key


def _check_semver(version: str) -> None:
    if not version:
        raise _NameError("empty string")
    core, _, build = version.partition("+")
    core, dash, pre = core.partition("-")
    parts = core.split(".")
    for i, part in enumerate(parts):
        if not part:
            raise _NameError("unexpected end of input" if i == len(parts) - 1 and i > 0 else "unexpected character '.'")
        if _SEMVER_PART.fullmatch(part) is None:
            bad = part[1] if part.isdigit() else next(ch for ch in part if not ch.isdigit())
            raise _NameError(f"unexpected character '{bad}'")
    if len(parts) != 3:
        raise _NameError("unexpected end of input")
    for segments, present in ((pre, dash), (build, "+" in version)):
        if present and any(not s or _IDENTIFIER.fullmatch(s) is None for s in segments.split(".")):
            raise _NameError("empty identifier segment")


def parse_extern_name(name: str) -> ParsedName:
    """Check ``name`` against the ``externname`` grammar; raise :class:`ValidationError` if it is not one."""
    try:
        return _parse_extern_name(name)
    except _NameError as error:
        raise ValidationError(f"`{name}` is not a valid extern name: {error}") from None


class _NameError(Exception):
    """Why a name is not an ``externname`` (wrapped into a ValidationError naming it)."""


def _parse_extern_name(name: str) -> ParsedName:
    if ":" in name:
        return _interface_name(name)
    for annotation in ("constructor", "method", "static"):
        prefix = f"[{annotation}]"
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            if annotation == "constructor":
                _check_plain_label(rest)
                return ParsedName("constructor", rest, "[constructor]" + rest.lower())
            resource, dot, field = rest.partition(".")
            if not dot:
                raise _NameError("failed to find `.` character")
            _check_plain_label(resource)
            _check_plain_label(field)
            if resource.lower() == field.lower():
                return ParsedName(annotation, resource, resource.lower())
            return ParsedName(annotation, resource, f"{resource.lower()}.{field.lower()}")
    if name.startswith("["):
        raise _NameError("unknown annotation")
    _check_plain_label(name)
    return ParsedName("label", None, name.lower())


def _check_plain_label(label: str) -> None:
    if not is_kebab(label):
        raise _NameError(f"`{label}` is not in kebab case")


def _check_words(words: str) -> None:
    if _WORDS.fullmatch(words) is None:
        raise _NameError(f"`{words}` is not in kebab case")


def _interface_name(name: str) -> ParsedName:
    body, at, version = name.partition("@")
    namespace, _, rest = body.partition(":")
    _check_words(namespace)
    package, slash, interface = rest.partition("/")
    if ":" in package:
        raise _NameError("expected `/` after package name")
    _check_words(package)
    if not slash:
        raise _NameError("expected `/` after package name")
    if "/" in interface:
        raise _NameError(f"trailing characters found: `{interface[interface.index('/') :]}`")
    _check_plain_label(interface)
    if at:
        _check_semver(version)
    return ParsedName("interface", None, name.lower())


class NameSet:
    """The names of one scope's imports or exports, kept strongly unique."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.names: dict[str, str] = {}

    def add(self, name: str, parsed: ParsedName) -> None:
        previous = self.names.get(parsed.canonical)
        if previous is not None:
            raise ValidationError(f"{self.what} name `{name}` conflicts with previous name `{previous}`")
        self.names[parsed.canonical] = name
