"""``wasmbox wit PATH``: parse and resolve WIT (a file, or a directory with ``deps/``) and print it back.

Like ``wasm-tools component wit DIR``: the output is the root package followed by the packages it depends on,
as nested ``package ... { }`` blocks, so it is one self-contained file. Errors are one line naming the file,
line and column.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="PATH", help="a .wit file, or a directory of them (with deps/)")
    parser.add_argument(
        "--dep", action="append", default=[], metavar="PATH", help="another package (file or directory); repeatable"
    )
    parser.add_argument(
        "--features", default="", metavar="F,G", help="keep the items gated @unstable(feature = F) for these features"
    )
    parser.add_argument("--all-features", action="store_true", help="keep every @unstable item")
    parser.add_argument("--world", metavar="NAME", help="check that this world exists (a name or ns:pkg/world)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")


def run(args: argparse.Namespace) -> int:
    from .loader import load_wit
    from .printer import print_resolve

    features = [name.strip() for name in args.features.split(",") if name.strip()]
    resolve = load_wit(args.input, args.dep, features=features, all_features=args.all_features)
    if args.world is not None:
        resolve.select_world(args.world)
    text = print_resolve(resolve)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
