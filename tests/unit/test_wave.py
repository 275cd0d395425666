"""WAVE literals (``wasmbox run --invoke`` on components): read with a type, written back the same way."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wasmbox.canonical_abi import Err, Ok, Record, Variant, shape_of
from wasmbox.wasip2.wave import WaveError, format_value, parse_value
from wasmbox.wit import parse_wit_text

TYPES = (
    parse_wit_text(
        """package t:wave;
    interface i {
        record point { x: s32, y: s32, label: option<string> }
        variant shape { circle(f64), square(u32), dot }
        enum color { red, green }
        flags perms { read, write, exec }
        type pts = list<point>;
        type pair = tuple<u8, string>;
        type res = result<u32, string>;
        type opt = option<u8>;
        type blob = list<u8>;
        type text = string;
        type letter = char;
        type number = f32;
        type truth = bool;
    }"""
    )
    .root.interfaces["i"]
    .types
)


@pytest.mark.parametrize(
    ("type_name", "text", "value"),
    [
        ("point", '{x: 1, y: -2, label: some("a")}', Record(x=1, y=-2, label="a")),
        ("point", "{x: 1, y: 2}", Record(x=1, y=2, label=None)),
        ("shape", "circle(2.5)", Variant("circle", 2.5)),
        ("shape", "dot", Variant("dot")),
        ("color", "green", "green"),
        ("perms", "{read, exec}", frozenset({"read", "exec"})),
        ("perms", "{}", frozenset()),
        ("pts", "[{x: 0, y: 0, label: none}]", [Record(x=0, y=0, label=None)]),
        ("pair", '(7, "seven")', (7, "seven")),
        ("res", "ok(3)", Ok(3)),
        ("res", 'err("no")', Err("no")),
        ("opt", "5", 5),
        ("opt", "none", None),
        ("blob", "[1, 2, 255]", b"\x01\x02\xff"),
        ("text", '"tab\\there \\u{1f600}"', "tab\there \U0001f600"),
        ("letter", "'\\''", "'"),
        ("number", "-1.5", -1.5),
        ("truth", "true", True),
    ],
)
def test_wave_values_parse_and_print_back(type_name: str, text: str, value: Any) -> None:
    shape = shape_of(TYPES[type_name])
    parsed = parse_value(text, shape)
    assert parsed == value
    assert parse_value(format_value(parsed, shape), shape) == value


def test_nan_and_infinities() -> None:
    shape = shape_of(TYPES["number"])
    assert math.isnan(parse_value("nan", shape))
    assert format_value(float("-inf"), shape) == "-inf"


@pytest.mark.parametrize(
    ("type_name", "text"),
    [
        ("point", "{x: 1}"),
        ("shape", "hexagon"),
        ("shape", "circle"),
        ("color", "red(1)"),
        ("perms", "{fly}"),
        ("truth", "yes"),
        ("pair", "(1, 2"),
        ("opt", "1 2"),
        ("letter", "'ab'"),
    ],
)
def test_bad_wave_text_is_refused(type_name: str, text: str) -> None:
    with pytest.raises(WaveError):
        parse_value(text, shape_of(TYPES[type_name]))


COMPONENT = """(component
  (core module $M (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
  (core instance $m (instantiate $M))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $m "add")))
)
"""


def test_wasmbox_run_invokes_a_component_export_with_wave_arguments(tmp_path: Path) -> None:
    path = tmp_path / "add.wat"
    path.write_text(COMPONENT)
    result = subprocess.run(
        [sys.executable, "-m", "wasmbox", "run", "--invoke", "add", str(path), "40", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (0, "42\n"), result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "wasmbox", "run", "--invoke", "add", str(path), "forty", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and bad.stderr.startswith("wasmbox: error:") and "Traceback" not in bad.stderr
