"""Extern names: kebab-case labels, annotations, interface names with versions, strong uniqueness."""

from __future__ import annotations

import pytest

from wasmbox.component.names import NameSet, is_kebab, parse_extern_name
from wasmbox.errors import ValidationError


@pytest.mark.parametrize("label", ["a", "a-b-c", "a1-2-3", "A", "A-B-C", "a11-w0rds", "A11-4CR0NYMS", "m1x3d-4CR0NYMS"])
def test_kebab_labels(label: str) -> None:
    assert is_kebab(label)


@pytest.mark.parametrize("label", ["", "1-2-3", "aBc", "a--b", "a-", "-a", "a_b"])
def test_not_kebab(label: str) -> None:
    assert not is_kebab(label)


@pytest.mark.parametrize(
    ("name", "kind", "resource"),
    [
        ("foo", "label", None),
        ("[constructor]r", "constructor", "r"),
        ("[method]r.m", "method", "r"),
        ("[static]r.s", "static", "r"),
        ("wasi:http/types@0.2.0-rc.1+build.5", "interface", None),
    ],
)
def test_extern_names(name: str, kind: str, resource: str | None) -> None:
    parsed = parse_extern_name(name)
    assert (parsed.kind, parsed.resource) == (kind, resource)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("[method]r", "failed to find `.` character"),
        ("a:b/c@1.0", "unexpected end of input"),
        ("a:b/c@01.0.0", "unexpected character '1'"),
        ("foo:bar/baz/qux", "trailing characters found: `/qux`"),
        ("foo:bar:baz/qux", "expected `/` after package name"),
        ("a:b/c@1.0.0+", "empty identifier segment"),
        ("[bogus]x", "is not a valid extern name"),
    ],
)
def test_malformed_extern_names(name: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace(".", r"\.")):
        parse_extern_name(name)


def test_strong_uniqueness_ignores_case_and_annotations() -> None:
    names = NameSet("import")
    for name in ("foo", "foo-bar", "[constructor]foo", "[method]foo.bar", "[static]foo.baz", "foo:bar/baz"):
        names.add(name, parse_extern_name(name))
    for clash in ("FOO", "foo-BAR", "[constructor]FOO", "[method]foo.BAR", "[static]foo.bar", "[method]foo.foo"):
        with pytest.raises(ValidationError, match="conflicts with previous name"):
            names.add(clash, parse_extern_name(clash))
