"""``wasmbox component ...``: tools for components (``bindgen``: typed Python bindings from WIT)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..wit.loader import load_wit
from .bindgen import generate_bindings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    tools = parser.add_subparsers(dest="component_command", required=True)
    bindgen = tools.add_parser("bindgen", help="write typed Python bindings for a WIT world")
    bindgen.add_argument("input", metavar="WIT", help="a .wit file, or a directory of them (with deps/)")
    bindgen.add_argument("-o", "--output", required=True, metavar="DIR", help="the package directory to write")
    bindgen.add_argument("--world", metavar="NAME", help="the world (default: the package's only one)")
    bindgen.add_argument("--dep", action="append", default=[], metavar="PATH", help="another WIT package")
    bindgen.set_defaults(run=run_bindgen)


def run_bindgen(args: argparse.Namespace) -> int:
    world = load_wit(args.input, args.dep).select_world(args.world)
    package = Path(args.output)
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(generate_bindings(world), encoding="utf-8")
    (package / "py.typed").write_text("", encoding="utf-8")
    print(f"wrote {package / '__init__.py'} (world {world.name})")
    return 0
