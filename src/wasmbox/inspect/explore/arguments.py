"""``wasmbox explore``'s own options, apart from the command itself.

The CLI's parser lists every subcommand's options whichever one runs, so this
module imports nothing of the explorer: ``wasmbox run`` must not pay for the
recorder, the page or the server to say what ``explore`` accepts.
"""

from __future__ import annotations

import argparse

DEFAULT_LIMIT = 1_000_000


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``explore``'s own options (the program options come from the CLI's shared set)."""
    p.add_argument("--limit", type=int, metavar="N", help=f"record at most N steps (default {DEFAULT_LIMIT:,})")
    p.add_argument("--save", metavar="RUN.json", help="save the recording (reopen it with --open)")
    p.add_argument("--open", metavar="RUN.json", help="explore a saved recording instead of running PROG")
    p.add_argument("--html", metavar="FILE", help="write one self-contained page with the recording inside")
    p.add_argument("--port", type=int, default=0, help="serve on this port of 127.0.0.1 (default: any free one)")
    p.add_argument("--no-browser", action="store_true", help="print the page's address, do not open a browser")
    p.add_argument("input", nargs="?", metavar="PROG")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
