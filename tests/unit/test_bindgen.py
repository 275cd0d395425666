"""``wasmbox component bindgen``: typed bindings that pass ``mypy --strict`` and call a real component."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import wasmbox

HERE = Path(__file__).parent / "components"
# The generated code runs in a fresh process next to the package it imports: wasmbox must be importable there.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(wasmbox.__file__).parents[1]), "."])}

USER_CODE = """
from shapes import Color, Perms, Point, ShapeCircle, ShapeDot, Shapes
from wasmbox.component import Component, Err


class Logger:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, msg: str, at: Point) -> None:
        self.lines.append(f"{msg} at {at.x},{at.y}")


logger = Logger()
world = Shapes(Component.from_file(COMPONENT), logger)
assert world.area(ShapeCircle(2.0)) == 12.0
assert world.area(ShapeDot()) == 0.0
assert world.mirror(Point(1, 2)) == Point(2, 1)
assert logger.lines == ["no at 1,2"]
assert world.pick(Color.GREEN, Perms.READ) == 11
try:
    world.pick(Color.RED, Perms.READ | Perms.WRITE)
    raise AssertionError("expected Err")
except Err as error:
    assert error.value == "no-write"
print("ok")
"""


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wasmbox",
            "component",
            "bindgen",
            str(HERE / "shapes.wit"),
            "-o",
            str(tmp_path / "shapes"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    component = HERE / "shapes.wat"
    (tmp_path / "user.py").write_text(f"COMPONENT = {str(component)!r}\n" + USER_CODE)
    return tmp_path


def test_generated_bindings_call_the_component(generated: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(generated / "user.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=generated,
        env=ENV,
    )
    assert result.stdout == "ok\n", result.stderr


def test_generated_bindings_pass_mypy_strict(generated: Path) -> None:
    pytest.importorskip("mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "shapes", "user.py"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=generated,
    )
    assert result.returncode == 0, result.stdout + result.stderr
