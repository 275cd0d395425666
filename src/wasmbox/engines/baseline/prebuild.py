"""Write ``prebuilt.py``: the baseline's common operations as Python source, compiled ahead.

The baseline makes each operation from a template at its first use (``operations``), and CPython's
``compile`` costs ~25 us an operation whatever its size: 4.5 ms of a 0.12 s cold run of a small C
program (83 operations).  ``prebuilt.py`` holds the same sources as plain functions, so the interpreter
loads them with the module's bytecode (~1 us each), and ``operations._generated`` takes a function from
it when the source it would compile is there, letter for letter: a template that changes without a
new ``prebuilt.py`` is compiled as before, never run stale.  ``tests/unit/test_baseline_prebuilt.py``
fails when the file is not what this writes.

    python -m wasmbox.engines.baseline.prebuild
"""

from __future__ import annotations

from pathlib import Path

from .operations import common_sources

TARGET = Path(__file__).with_name("prebuilt.py")

HEADER = '''"""The baseline's common operations, compiled ahead (see ``prebuild``, which writes this file: do not edit).

Their helpers (``i32_div_s``, ``S_5_unpack``, ...) are globals that ``operations`` puts into this
module's namespace when it imports it.
"""

# ruff: noqa
# mypy: ignore-errors
# fmt: off

'''


def text() -> str:
    """What ``prebuilt.py`` should hold."""
    functions = []
    entries = []
    for number, source in enumerate(dict.fromkeys(common_sources())):
        first, _, rest = source.partition("\n")
        assert first.startswith(("def op(", "def make(")), first
        name = f"_prebuilt_{number}"
        functions.append(f"def {name}({first.partition('(')[2]}\n{rest}")
        entries.append(f"    {source!r}: {name},\n")
    return HEADER + "\n".join(functions) + "\nBY_SOURCE = {\n" + "".join(entries) + "}\n"


def main() -> None:
    TARGET.write_text(text())
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
