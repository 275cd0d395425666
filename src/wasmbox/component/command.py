"""``wasmbox component ...``: ``bindgen`` (typed Python bindings from WIT), ``wit`` (a component's world)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    tools = parser.add_subparsers(dest="component_command", required=True)
    bindgen = tools.add_parser("bindgen", help="write typed Python bindings for a WIT world")
    bindgen.add_argument("input", metavar="WIT", help="a .wit file, or a directory of them (with deps/)")
    bindgen.add_argument("-o", "--output", required=True, metavar="DIR", help="the package directory to write")
    bindgen.add_argument("--world", metavar="NAME", help="the world (default: the package's only one)")
    bindgen.add_argument("--dep", action="append", default=[], metavar="PATH", help="another WIT package")
    bindgen.set_defaults(run=run_bindgen)
    wit = tools.add_parser("wit", help="print a component's world (or resolved WIT) as WIT")
    wit.add_argument("input", metavar="COMPONENT", help="a component (.wasm or .wat), or WIT (file or directory)")
    wit.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    wit.set_defaults(run=run_wit)


def run_wit(args: argparse.Namespace) -> int:
    import sys

    from ..wit.errors import WitError
    from ..wit.loader import load_wit
    from ..wit.printer import print_resolve
    from .api import Component
    from .wit_of import resolve_component

    path = Path(args.input)
    if path.is_dir() or path.suffix == ".wit":
        resolve = load_wit(path)
    else:
        try:
            resolve = resolve_component(Component.from_file(path).ir)
        except WitError as error:  # what WIT cannot say about this component
            raise WitError(f"{path}: {error}") from None
    text = print_resolve(resolve)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def run_bindgen(args: argparse.Namespace) -> int:
    from ..wit.loader import load_wit
    from .bindgen import generate_bindings

    world = load_wit(args.input, args.dep).select_world(args.world)
    package = Path(args.output)
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(generate_bindings(world), encoding="utf-8")
    (package / "py.typed").write_text("", encoding="utf-8")
    print(f"wrote {package / '__init__.py'} (world {world.name})")
    return 0
