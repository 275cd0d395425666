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


COUNTERS_USER_CODE = """
from counters import Counter, Counters, Sink
from wasmbox.component import Component


class Named:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log
        self.count = 0

    def write(self, msg: str) -> int:
        self.count += 1
        self.log.append(f"{self.name}: {msg}")
        return self.count


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def sink(self, prefix: str) -> Sink:
        return Named("made " + prefix, self.lines)

    def open(self, name: str) -> Sink:
        return Named("opened " + name, self.lines)


log = Log()
world = Counters(Component.from_file(COMPONENT), log)
counter: Counter = world.counter(5)
assert counter.add(3) == 8 and counter.add(2) == 10
assert world.total(counter) == 10
with world.counter_zero() as zero:
    assert zero.add(1) == 1
    assert world.dropped() == 0
assert world.dropped() == 1  # leaving the block dropped it: the component's destructor ran
assert log.lines == ["opened counter: add", "opened counter: add", "made zero: add"]
assert len(world._objects) == 1  # the destructor dropped the zero counter's sink: the host forgot it
counter.drop()
assert world.dropped() == 2 and not world._objects
for use in (counter.drop, lambda: counter.add(1), lambda: world.total(counter)):
    try:
        use()
        raise AssertionError("a dropped resource was used")
    except TypeError as error:
        assert "no longer owns" in str(error), error
print("ok")
"""


# A result's error comes back as its typed class (the enum's member, not the case's name); the world's constructor
# takes the store and imports the world does not name (WASI, for a componentize-py component) by keyword.
CHECKS_USER_CODE = """
from checks import CheckError, Checks
from wasmbox import Store
from wasmbox.component import Component, Err

world = Checks(Component.from_file(COMPONENT), other_imports={"unused:x/y": {}}, store=Store())
assert world.check(21) == 42
for n, expected in ((0, CheckError.ZERO), (101, CheckError.TOO_LARGE)):
    try:
        world.check(n)
        raise AssertionError("expected Err")
    except Err as error:
        assert error.value is expected, repr(error.value)
print("ok")
"""

USER_CODES = {"shapes": USER_CODE, "counters": COUNTERS_USER_CODE, "checks": CHECKS_USER_CODE}


def bindings_for(tmp_path: Path, name: str, user_code: str) -> Path:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wasmbox",
            "component",
            "bindgen",
            str(HERE / f"{name}.wit"),
            "-o",
            str(tmp_path / name),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    component = HERE / f"{name}.wat"
    (tmp_path / "user.py").write_text(f"COMPONENT = {str(component)!r}\n" + user_code)
    return tmp_path


@pytest.fixture(params=list(USER_CODES))
def generated(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return bindings_for(tmp_path, request.param, USER_CODES[request.param])


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
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", ".", "--exclude", "__pycache__"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=generated,
        env={**ENV, "MYPYPATH": str(Path(wasmbox.__file__).parents[1])},  # this checkout's wasmbox
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_world_constructor_names_each_import_after_its_interface(tmp_path: Path) -> None:
    """``Counters(component, log)``: the parameter is the WIT's name for the import, not its protocol's."""
    generated = bindings_for(tmp_path, "counters", "")
    source = (generated / "counters" / "__init__.py").read_text()
    assert "self, component: Component, log: LogImports, *," in source
