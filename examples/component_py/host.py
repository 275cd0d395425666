"""The host: the componentize-py component of app.py called from Python through typed bindings.

``wasmbox component bindgen textstats.wit -o textstats`` writes the ``textstats`` package imported here: a class
per WIT type and ``Textstats``, the world, whose methods are the component's exports. This program implements
the world's import (the logger), instantiates the component with it and with WASI 0.2 (CPython inside the
component imports WASI), and calls every export. It passes ``mypy --strict`` with the generated package.

    python host.py textstats.wasm
"""

from __future__ import annotations

import sys
import time

from textstats import CaseMode, Level, ParseError, Textstats, TokenNumber, TokenPunctuation, TokenWord

from wasmbox.component import Component, Err
from wasmbox.wasip2 import WasiHost

TEXT = """The cat sat on the mat.
The mat was flat, and the cat was fat: 2 cats, 1 mat!
"""


class Logger:
    """The world's import `logger`: any object with this method serves (the bindings' `LoggerImports`)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, level: Level, message: str) -> None:
        self.lines.append(f"[{level.name.lower()}] {message}")


def main(path: str) -> None:
    started = time.perf_counter()
    component = Component.from_file(path)
    logger = Logger()
    world = Textstats(component, logger, other_imports=WasiHost().imports_for(component))
    tokens = world.tokenize("Hello, world: 42 times!")
    print(f"instantiated and first call in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    for token in tokens:
        match token:
            case TokenWord(word):
                print(f"word {word!r}")
            case TokenNumber(value):
                print(f"number {value}")
            case TokenPunctuation(char):
                print(f"punctuation {char!r}")

    for text in ("-9223372036854775808", " 17 ", "12a", "99999999999999999999", ""):
        try:
            parsed: int = world.parse_number(text)
            print(f"parse-number {text!r} = {parsed}")
        except Err as error:
            reason: ParseError = error.value
            print(f"parse-number {text!r} fails: {reason.name}")

    with world.tally(CaseMode.FOLDED) as tally:  # the block's end drops the resource in the component
        added = [tally.add(line) for line in TEXT.splitlines(keepends=True)]
        print(f"added {added} words")
        print(f"count 'the' = {tally.count('the')}, count 'dog' = {tally.count('dog')}")
        summary = tally.summary(3)
        print(f"{summary.words} words, {summary.lines} lines, {summary.distinct} distinct, longest {summary.longest!r}")
        print("top: " + ", ".join(f"{entry.word} {entry.count}" for entry in summary.top))

    sensitive = world.tally(CaseMode.SENSITIVE)
    sensitive.add(TEXT)
    print(f"case-sensitive: count 'the' = {sensitive.count('the')}, count 'The' = {sensitive.count('The')}")
    sensitive.drop()
    with world.tally(CaseMode.SENSITIVE) as empty:
        print(f"empty tally: {empty.summary(2)}")

    print("log:")
    for line in logger.lines:
        print(f"  {line}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "textstats.wasm")
