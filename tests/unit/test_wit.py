"""WIT: parsing, name resolution, printing — checked against wasm-tools' resolution of the WASI 0.2 packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import wasm_tools

from wasmbox.wit import WitError, load_wit, parse_wit_text, print_resolve
from wasmbox.wit.model import (
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

SHARED = Path(os.environ.get("WASMBOX_SHARED", Path(__file__).resolve().parents[3] / "shared"))
WASI = Path(os.environ.get("WASMBOX_WASI_WIT", SHARED / "wasi-0.2.12"))
WASI_PACKAGES = ["io", "clocks", "random", "filesystem", "sockets", "cli", "http"]


def wasi_dirs() -> dict[str, Path]:
    if not (WASI / "cli" / "wit").is_dir():
        pytest.skip(f"WASI 0.2 WIT not found at {WASI} (set WASMBOX_WASI_WIT)")
    return {name: WASI / name / "wit" for name in WASI_PACKAGES}


def load_wasi(root: str, **options: Any) -> Resolve:
    dirs = wasi_dirs()
    return load_wit(dirs[root], [path for name, path in dirs.items() if name != root], **options)


# --- a canonical, name-based description of a resolution, for comparing with wasm-tools --------------------


def owner_name(owner: Interface | World | None) -> str:
    if isinstance(owner, Interface):
        return owner.qualified_name
    return "" if owner is None else f"world {owner.name}"


def ref(type_: Type | None) -> str:
    if type_ is None:
        return "_"
    if isinstance(type_, Primitive):
        return type_.name
    if type_.name is not None:
        return f"{owner_name(type_.owner)}.{type_.name}"
    return structure(type_)


def structure(typedef: TypeDef) -> str:
    kind = typedef.kind
    if isinstance(kind, Record):
        return "record{" + ",".join(f"{f.name}:{ref(f.type)}" for f in kind.fields) + "}"
    if isinstance(kind, Variant):
        return "variant{" + ",".join(f"{c.name}:{ref(c.type)}" for c in kind.cases) + "}"
    if isinstance(kind, Enum):
        return "enum{" + ",".join(kind.cases) + "}"
    if isinstance(kind, Flags):
        return "flags{" + ",".join(kind.names) + "}"
    if isinstance(kind, Resource):
        return "resource"
    if isinstance(kind, Alias):
        return f"type {ref(kind.target)}"
    if isinstance(kind, ListOf):
        return f"list<{ref(kind.element)}>" if kind.length is None else f"list<{ref(kind.element)},{kind.length}>"
    if isinstance(kind, OptionOf):
        return f"option<{ref(kind.inner)}>"
    if isinstance(kind, ResultOf):
        return f"result<{ref(kind.ok)},{ref(kind.err)}>"
    if isinstance(kind, TupleOf):
        return "tuple<" + ",".join(ref(item) for item in kind.items) + ">"
    if isinstance(kind, MapOf):
        return f"map<{ref(kind.key)},{ref(kind.value)}>"
    if isinstance(kind, Handle):
        resource = kind.resource.dealias()
        assert isinstance(resource, TypeDef)
        return f"{'borrow' if kind.borrowed else 'own'}<{ref(resource)}>"
    assert isinstance(kind, FutureOf | StreamOf)
    return f"{'future' if isinstance(kind, FutureOf) else 'stream'}<{ref(kind.inner)}>"


def describe_function(function: Function) -> str:
    params = ",".join(f"{name}:{ref(type_)}" for name, type_ in function.params)
    return f"{function.kind}({params})->{ref(function.result)}"


def world_key(key: Any) -> str:
    return key.qualified_name if isinstance(key, Interface) else str(key)


def canonical(resolve: Resolve) -> dict[str, Any]:
    packages: dict[str, Any] = {}
    for package in resolve.packages:
        packages[str(package.name)] = {
            "interfaces": {
                name: {
                    "types": {t: structure(d) for t, d in interface.types.items()},
                    "functions": {f: describe_function(d) for f, d in interface.functions.items()},
                }
                for name, interface in package.interfaces.items()
            },
            "worlds": {
                name: {
                    "imports": sorted(world_key(key) for key in world.imports),
                    "exports": sorted(world_key(key) for key in world.exports),
                }
                for name, world in package.worlds.items()
            },
        }
    return packages


def canonical_from_wasm_tools(data: dict[str, Any]) -> dict[str, Any]:
    """The same description, read from ``wasm-tools component wit --json``."""
    packages = data["packages"]
    interfaces = data["interfaces"]
    types = data["types"]
    worlds = data["worlds"]

    def interface_name(index: int) -> str:
        interface = interfaces[index]
        package = packages[interface["package"]]["name"]
        base, _, version = package.partition("@")
        return f"{base}/{interface['name']}" + (f"@{version}" if version else "")

    def owner(entry: dict[str, Any] | None) -> str:
        if entry is None:
            return ""
        if "interface" in entry:
            return interface_name(entry["interface"])
        return f"world {worlds[entry['world']]['name']}"

    def dealias(index: int) -> int:
        while isinstance(types[index]["kind"], dict) and "type" in types[index]["kind"]:
            target = types[index]["kind"]["type"]
            if not isinstance(target, int):
                break
            index = target
        return index

    def tref(value: Any) -> str:
        if value is None:
            return "_"
        if isinstance(value, str):
            return value
        typedef = types[value]
        if typedef["name"] is not None:
            return f"{owner(typedef['owner'])}.{typedef['name']}"
        return tstructure(typedef)

    def tstructure(typedef: dict[str, Any]) -> str:
        kind = typedef["kind"]
        if kind == "resource":
            return "resource"
        ((tag, body),) = kind.items()
        if tag == "record":
            return "record{" + ",".join(f"{f['name']}:{tref(f['type'])}" for f in body["fields"]) + "}"
        if tag == "variant":
            return "variant{" + ",".join(f"{c['name']}:{tref(c.get('type'))}" for c in body["cases"]) + "}"
        if tag == "enum":
            return "enum{" + ",".join(c["name"] for c in body["cases"]) + "}"
        if tag == "flags":
            return "flags{" + ",".join(f["name"] for f in body["flags"]) + "}"
        if tag == "type":
            return f"type {tref(body)}"
        if tag == "list":
            return f"list<{tref(body)}>"
        if tag == "option":
            return f"option<{tref(body)}>"
        if tag == "result":
            return f"result<{tref(body.get('ok'))},{tref(body.get('err'))}>"
        if tag == "tuple":
            return "tuple<" + ",".join(tref(t) for t in body["types"]) + ">"
        if tag == "handle":
            ((mode, target),) = body.items()
            return f"{mode}<{tref(dealias(target))}>"
        if tag in ("future", "stream"):
            return f"{tag}<{tref(body)}>"
        raise AssertionError(f"unknown kind {tag}")

    def function(entry: dict[str, Any]) -> str:
        kind = entry["kind"] if isinstance(entry["kind"], str) else next(iter(entry["kind"]))
        params = ",".join(f"{p['name']}:{tref(p['type'])}" for p in entry["params"])
        return f"{kind}({params})->{tref(entry.get('result'))}"

    def key(name: str, item: dict[str, Any]) -> str:
        if name.startswith("interface-") and "interface" in item and name == f"interface-{item['interface']['id']}":
            return interface_name(item["interface"]["id"])
        return name

    out: dict[str, Any] = {}
    for package in packages:
        out[package["name"]] = {
            "interfaces": {
                name: {
                    "types": {t: tstructure(types[i]) for t, i in interfaces[index]["types"].items()},
                    "functions": {f: function(e) for f, e in interfaces[index]["functions"].items()},
                }
                for name, index in package["interfaces"].items()
            },
            "worlds": {
                name: {
                    "imports": sorted(key(k, v) for k, v in worlds[index]["imports"].items()),
                    "exports": sorted(key(k, v) for k, v in worlds[index]["exports"].items()),
                }
                for name, index in package["worlds"].items()
            },
        }
    return out


def wasm_tools_layout(root: str, target: Path) -> Path:
    """The WASI packages as wasm-tools reads them: the root directory with the others under deps/."""
    dirs = wasi_dirs()
    shutil.copytree(dirs[root], target, ignore=shutil.ignore_patterns("deps.*"))
    for name, path in dirs.items():
        if name != root:
            shutil.copytree(path, target / "deps" / name, ignore=shutil.ignore_patterns("deps.*"))
    return target


# --- agreement with wasm-tools ------------------------------------------------------------------------------


@pytest.mark.parametrize("root", WASI_PACKAGES)
def test_wasi_packages_resolve_as_wasm_tools_resolves_them(root: str, tmp_path: Path) -> None:
    tool = wasm_tools()
    layout = wasm_tools_layout(root, tmp_path / root)
    result = subprocess.run([tool, "component", "wit", "--json", str(layout)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    expected = canonical_from_wasm_tools(json.loads(result.stdout))
    ours = canonical(load_wasi(root))
    used = {name for name in ours if name in expected}
    assert set(expected) == used  # every package wasm-tools resolved (the ones the root needs) we resolved too
    for name in expected:
        assert ours[name] == expected[name], name


@pytest.mark.parametrize("all_features", [False, True], ids=["default-features", "all-features"])
@pytest.mark.parametrize("root", WASI_PACKAGES)
def test_wasi_packages_print_as_wasm_tools_prints_them(root: str, all_features: bool, tmp_path: Path) -> None:
    """The whole of wasi-0.2.12, each package as the root with the others as deps/: ``wasmbox wit`` prints the
    text ``wasm-tools component wit`` prints, docs, gates and order included (every package, every item:
    wasm-tools keeps each package of deps/, used or not)."""
    tool = wasm_tools()
    layout = wasm_tools_layout(root, tmp_path / root)
    options = ["--all-features"] if all_features else []
    result = subprocess.run([tool, "component", "wit", *options, str(layout)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    ours = print_resolve(load_wit(layout, all_features=all_features))
    assert ours == result.stdout
    assert {f"wasi:{name}@0.2.12" for name in WASI_PACKAGES} == {
        line.split()[1].rstrip(";") for line in ours.splitlines() if line.startswith("package ")
    }


def test_unstable_items_are_kept_only_for_enabled_features() -> None:
    clocks = load_wasi("clocks").package("wasi:clocks")
    assert "timezone" not in clocks.interfaces
    with_feature = load_wasi("clocks", features=["clocks-timezone"]).package("wasi:clocks")
    assert "timezone" in with_feature.interfaces
    assert "timezone" in load_wasi("clocks", all_features=True).package("wasi:clocks").interfaces


# --- printing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("root", WASI_PACKAGES)
def test_printed_wit_parses_to_the_same_packages(root: str) -> None:
    resolve = load_wasi(root)
    text = print_resolve(resolve)
    again = parse_wit_text(text, "printed.wit")
    assert canonical(again) == canonical(resolve)
    assert print_resolve(again) == text


def test_printed_wit_is_accepted_by_wasm_tools(tmp_path: Path) -> None:
    tool = wasm_tools()
    printed = tmp_path / "cli.wit"
    printed.write_text(print_resolve(load_wasi("cli")))
    result = subprocess.run([tool, "component", "wit", "--json", str(printed)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    expected = canonical_from_wasm_tools(json.loads(result.stdout))
    assert expected["wasi:cli@0.2.12"] == canonical(load_wasi("cli"))["wasi:cli@0.2.12"]


# --- the language, one rule at a time -----------------------------------------------------------------------

EXAMPLE = """
package example:shapes@1.0.0;

/// Shapes and how to draw them.
interface types {
    /// A point, in pixels.
    record point { x: s32, y: s32 }
    variant shape { circle(tuple<point, u32>), polygon(list<point>), empty }
    enum color { red, green, blue }
    flags style { bold, %italic, dashed }
    type points = list<point>;
    resource canvas {
        constructor(width: u32, height: u32);
        draw: func(s: shape, c: color) -> result<_, string>;
        merge: static func(a: borrow<canvas>, b: borrow<canvas>) -> canvas;
    }
    area: func(s: shape) -> f64;
}

interface render {
    use types.{canvas, point as pt};
    render: func(c: borrow<canvas>, origin: pt) -> list<u8, 4>;
}

world painter {
    import render;
    export paint: func(n: u32) -> option<string>;
    export tools: interface { tick: func(); }
}
"""


def test_resource_functions_are_named_as_the_component_model_names_them() -> None:
    types = parse_wit_text(EXAMPLE).root.interfaces["types"]
    assert list(types.functions) == ["[constructor]canvas", "[method]canvas.draw", "[static]canvas.merge", "area"]
    draw = types.functions["[method]canvas.draw"]
    assert draw.params[0][0] == "self"
    self_type = draw.params[0][1]
    assert isinstance(self_type, TypeDef) and isinstance(self_type.kind, Handle) and self_type.kind.borrowed
    constructor = types.functions["[constructor]canvas"]
    assert isinstance(constructor.result, TypeDef) and isinstance(constructor.result.kind, Handle)
    assert constructor.result.kind.resource is types.types["canvas"]


def test_use_makes_an_alias_of_the_used_type_and_worlds_import_dependencies() -> None:
    resolve = parse_wit_text(EXAMPLE)
    render = resolve.root.interfaces["render"]
    alias = render.types["pt"]
    assert isinstance(alias.kind, Alias) and alias.kind.target is resolve.root.interfaces["types"].types["point"]
    painter = resolve.root.worlds["painter"]
    imported = [world_key(key) for key in painter.imports]
    assert imported == ["example:shapes/types@1.0.0", "example:shapes/render@1.0.0"]  # the dependency first
    assert list(painter.exports) == ["paint", "tools"]


def test_docs_are_kept_on_items() -> None:
    types = parse_wit_text(EXAMPLE).root.interfaces["types"]
    assert types.docs == "Shapes and how to draw them."
    assert types.types["point"].docs == "A point, in pixels."


def test_types_may_be_used_before_they_are_defined() -> None:
    resolve = parse_wit_text("package a:b; interface i { type x = y; record y { f: u8 } }")
    x = resolve.root.interfaces["i"].types["x"]
    assert x.dealias() is resolve.root.interfaces["i"].types["y"]


def test_nested_packages_in_one_file_resolve_in_dependency_order() -> None:
    text = """
    package root:app;
    world w { import dep:lib/api@0.1.0; }
    package dep:lib@0.1.0 { interface api { f: func() -> string; } }
    """
    resolve = parse_wit_text(text)
    assert [str(p.name) for p in resolve.packages] == ["dep:lib@0.1.0", "root:app"]
    assert [world_key(k) for k in resolve.root.worlds["w"].imports] == ["dep:lib/api@0.1.0"]


def test_include_merges_worlds_with_renames() -> None:
    text = """
    package a:b;
    world base { import f: func(); export g: func(); }
    world more { include base with { f as f2 }; import f: func(x: u8); }
    """
    more = parse_wit_text(text).root.worlds["more"]
    assert set(more.imports) == {"f", "f2"}
    assert set(more.exports) == {"g"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("package a:b; interface i { type x = nope; }", "type `nope` not defined"),
        ("package a:b; interface i { type x = u8; type x = u16; }", "defined more than once"),
        ("package a:b; interface i { type x = x; }", "depends on itself"),
        ("package a:b; interface i { record r { a: s } record s { b: r } }", "depends on itself"),
        (
            "package a:b; interface i { use j.{t}; type t2 = u8; } interface j { use i.{t2}; type t = u8; }",
            "depends on itself",
        ),
        ("package a:b; interface i { type x = borrow<u8>; }", "expected an identifier"),
        ("package a:b; interface i { type t = u8; f: func(x: borrow<t>); }", "not a resource"),
        ("package a:b; interface i { resource r { constructor() -> u32; } }", "must return"),
        ("package a:b; interface i { Bad: func(); }", "not in kebab case"),
        ("package a:b; interface i { f: func() -> $; }", "unexpected character"),
        ("package a:b; interface i { bad--name: func(); }", "not in kebab case"),
        ("package a:b; world w { import a:b; }", "cannot import or export a package"),
        ("package a:b; world w { import nope; }", "interface `nope` not found"),
        ("package a:b; interface i { @since(version = 1.0.0) f: func(); }", ""),
        ("package a:b; @since(version = 1.0.0) interface i { }", "must have a version"),
        ("package a:b; interface i { f: func(a: u8, a: u8); }", "parameter `a` is defined more than once"),
        ("package a:b; interface i { enum e { } }", "at least one case"),
        ("package a:b; interface i { f: func() -> list<u8, 0>; }", "at least 1"),
        ("package a:b; interface i { type m = map<f32, u8>; }", "key"),
        ("package a:b; interface i { f: func( }", "expected"),
        ("package a:b; world w { import x: func(); export x: func(); }", "both imported and exported"),
    ],
)
def test_invalid_wit_is_refused_with_the_rule_broken(text: str, message: str) -> None:
    if not message:
        parse_wit_text(text)  # accepted: a gate inside an unversioned package is checked on packages only
        return
    with pytest.raises(WitError, match=message):
        parse_wit_text(text, "bad.wit")


def test_errors_name_the_file_line_and_column() -> None:
    with pytest.raises(WitError, match=r"^bad\.wit:3:14: type `nope` not defined"):
        parse_wit_text("package a:b;\ninterface i {\n    type x = nope;\n}\n", "bad.wit")


def test_block_comments_nest_and_doc_comments_attach() -> None:
    text = "package a:b;\n/* outer /* inner */ still comment */\n/** Block doc. */\ninterface i { }\n"
    assert parse_wit_text(text).root.interfaces["i"].docs == "Block doc."


def test_bidirectional_override_characters_are_refused() -> None:
    with pytest.raises(WitError, match="U\\+202E"):
        parse_wit_text("package a:b;\n// \u202e hidden\ninterface i { }\n")


# --- the command ----------------------------------------------------------------------------------------------


def test_wit_command_prints_the_resolved_package(capsys: pytest.CaptureFixture[str]) -> None:
    from wasmbox.cli import main

    dirs = wasi_dirs()
    deps = [arg for name in ("io", "clocks", "filesystem", "random", "sockets") for arg in ("--dep", str(dirs[name]))]
    assert main(["wit", str(dirs["cli"]), *deps, "--world", "command"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("package wasi:cli@0.2.12;\n")
    reread = canonical(parse_wit_text(printed))
    expected = canonical(load_wasi("cli"))
    assert sorted(reread) == sorted(name for name in expected if "http" not in name)
    assert all(reread[name] == expected[name] for name in reread)


def test_wit_command_reports_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wasmbox.cli import main

    bad = tmp_path / "bad.wit"
    bad.write_text("package a:b;\ninterface i { type x = y; }\n")
    assert main(["wit", str(bad)]) == 1
    error = capsys.readouterr().err
    assert error == f"wasmbox: error: {bad}:2:24: type `y` not defined\n"
