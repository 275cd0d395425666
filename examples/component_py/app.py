"""The guest: the world `textstats` of textstats.wit in Python, made a component by componentize-py.

componentize-py generates the ``wit_world`` package this module imports (the WIT as Python classes) while it
builds; the exported interface's functions are the methods of ``Analyzer`` here, and its resource ``tally`` is
the class ``Tally`` in ``analyzer.py`` (componentize-py looks for it in a module named after the interface).
"""

# This file runs inside the component, against the package componentize-py generates: no linting or type checks
# outside it.
# ruff: noqa
# mypy: ignore-errors
from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import analyzer
from wit_world.imports import logger

S64_MAX = (1 << 63) - 1


def tokenize(text):
    """Words (letters, digits, ' and -), numbers (digits only) and single punctuation characters."""
    tokens = []
    current = ""

    def flush():
        if current:
            if current.isdigit():
                tokens.append(analyzer.Token_Number(int(current)))
            else:
                tokens.append(analyzer.Token_Word(current))

    for char in text:
        if char.isalnum() or (char in "'-" and current):
            current += char
            continue
        flush()
        current = ""
        if not char.isspace():
            tokens.append(analyzer.Token_Punctuation(char))
    flush()
    return tokens


class Analyzer(exports.Analyzer):
    def tokenize(self, text):
        return tokenize(text)

    def parse_number(self, text):
        digits = text.strip()
        if not digits:
            raise Err(analyzer.ParseError.EMPTY)
        sign, body = (-1, digits[1:]) if digits[0] == "-" else (1, digits.lstrip("+"))
        if not body.isdigit() or not body.isascii():
            logger.log(logger.Level.WARNING, f"not a number: {text!r}")
            raise Err(analyzer.ParseError.NOT_A_NUMBER)
        value = sign * int(body)
        if not -S64_MAX - 1 <= value <= S64_MAX:
            raise Err(analyzer.ParseError.TOO_LARGE)
        return value
