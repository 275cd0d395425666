"""The component oracle: guests built here from our own sources give the same answers on wasmbox as on
wasmtime-py's ``wasmtime.component``, call by call.

Guests (``oracle/``, built and cached by ``guests.py``): C with hand-written canonical ABI glue (zig +
``wasm-tools component new``), the same C as a wasm32-wasi program wrapped by jco's preview-1 command adapter,
Python (componentize-py) and JavaScript (componentize-js). Each runs the scripts of ``oracle_script.py`` on both
runtimes with the same host (``oracle_harness.SinkHost``); compared: every result in the neutral JSON form, which
calls fail, the host's log of import calls and of its resource's constructor/destructor calls, and the guest's
own count of destructor runs. The C guests run on every engine; the Python guest (CPython inside, ~18 MB) on the
default engine only; the JavaScript guest (SpiderMonkey inside, ~12 MB) on the default engine by default, on
every engine with its whole value script when ``slow`` tests run.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import wasmbox

from . import guests
from .oracle_harness import Call, Run, Step, WasmboxSide, WasmtimeSide
from .oracle_script import (
    dropped_counter_script,
    guest_resource_nonnegative_script,
    guest_resource_script,
    host_resource_script,
    values_sample_script,
    values_script,
)

pytest.importorskip("wasmtime", reason="wasmtime-py (pip install wasmtime) is the oracle")

SCRIPTS: dict[str, Callable[[], list[Step]]] = {
    "values": values_script,
    "values-sample": values_sample_script,
    "guest-resource": guest_resource_script,
    "guest-resource-nonnegative": guest_resource_nonnegative_script,
    "dropped-counter": dropped_counter_script,
    "host-resource": host_resource_script,
}
GUESTS: dict[str, tuple[Callable[[], Path], bool]] = {  # name -> (build, imports WASI)
    "c": (guests.c_guest, False),
    "c-adapted": (guests.c_adapted_guest, True),
    "python": (guests.python_guest, True),
    "js": (guests.js_guest, True),
}
TYPED_ERRORS = {"Trap", "Exhaustion", "ResourceError"}  # what wasmbox may raise for a failing call


@functools.cache
def expected(guest: str, script: str) -> tuple[Run, WasmtimeSide]:
    build, wasi = GUESTS[guest]
    side = WasmtimeSide(build(), wasi)
    return side.run(SCRIPTS[script](), side.function_type), side


def compare(guest: str, script_name: str, engine: str) -> None:
    build, wasi = GUESTS[guest]
    theirs, wasmtime_side = expected(guest, script_name)
    ours = WasmboxSide(build(), engine, wasi).run(SCRIPTS[script_name](), wasmtime_side.function_type)
    script = SCRIPTS[script_name]()
    differences = []
    for number, (step, their, our) in enumerate(zip(script, theirs.outcomes, ours.outcomes, strict=True)):
        must_fail = isinstance(step, Call) and step.fails
        if (their.error is not None) != must_fail:
            differences.append(f"step {number} {step}: wasmtime {'failed' if their.error else 'did not fail'}")
        if their.summary() != our.summary():
            differences.append(f"step {number} {step}:\n  wasmtime: {their}\n  wasmbox:  {our}")
        elif our.error is not None and our.error.split(":")[0] not in TYPED_ERRORS:
            differences.append(f"step {number} {step}: wasmbox failed with an untyped error: {our.error}")
    assert not differences, "\n".join(differences)
    assert json.dumps(ours.host_log) == json.dumps(theirs.host_log)


@pytest.mark.parametrize("engine", wasmbox.ENGINES)
@pytest.mark.parametrize("script", ["values", "guest-resource", "dropped-counter", "host-resource"])
@pytest.mark.parametrize("guest", ["c", "c-adapted"])
def test_c_guest_agrees_with_wasmtime(guest: str, script: str, engine: str) -> None:
    compare(guest, script, engine)


@pytest.mark.parametrize("script", ["values-sample", "guest-resource", "dropped-counter", "host-resource"])
def test_python_guest_agrees_with_wasmtime(script: str) -> None:
    compare("python", script, "auto")


@pytest.mark.slow
def test_python_guest_agrees_with_wasmtime_on_every_value() -> None:
    compare("python", "values", "auto")  # ~25 s on wasmbox


# The JavaScript guest's resource script keeps its counters non-negative: componentize-js aborts on a negative s64
# returned flat (oracle_script.guest_resource_nonnegative_script).
JS_SCRIPTS = ["values-sample", "guest-resource-nonnegative", "dropped-counter", "host-resource"]


@pytest.mark.parametrize("script", JS_SCRIPTS)
def test_js_guest_agrees_with_wasmtime(script: str) -> None:
    compare("js", script, "auto")


@pytest.mark.slow
@pytest.mark.parametrize("engine", wasmbox.ENGINES)
@pytest.mark.parametrize("script", ["values", *JS_SCRIPTS[1:]])
def test_js_guest_agrees_with_wasmtime_on_every_engine(script: str, engine: str) -> None:
    compare("js", script, engine)  # the whole value script: 25 s (native) to 100 s (baseline) on wasmbox


def test_the_scripts_exercise_what_they_claim() -> None:
    """The oracle's own run (wasmtime) shows the lifecycles the scripts are meant to cover, so an agreement is
    not an agreement about nothing."""
    values, _ = expected("c", "values")
    assert all(outcome.error is None for outcome in values.outcomes)
    resources, _ = expected("c", "guest-resource")
    dropped = [
        outcome.value
        for step, outcome in zip(guest_resource_script(), resources.outcomes, strict=True)
        if isinstance(step, Call) and step.export == "counters-dropped"
    ]
    assert dropped == [0, 1, 2]  # the guest's destructor ran once per host drop
    host, _ = expected("c", "host-resource")
    events = [entry[0] for entry in host.host_log]
    assert events.count("sink.constructor") == 2 and events.count("open-sink") == 2
    assert events.count("sink.destructor") == 6  # consumed, dropped by the host, two released, call-host's, misused


def test_the_js_guest_goes_through_the_same_lifecycles() -> None:
    """The JavaScript guest's resources live and die as the C guest's do on the oracle (its destructors are
    ``[Symbol.dispose]`` methods, its drops explicit): the agreement covers the lifecycles, not only values."""
    resources, _ = expected("js", "guest-resource-nonnegative")
    dropped = [
        outcome.value
        for step, outcome in zip(guest_resource_nonnegative_script(), resources.outcomes, strict=True)
        if isinstance(step, Call) and step.export == "counters-dropped"
    ]
    assert dropped == [0, 1, 2]
    host, _ = expected("js", "host-resource")
    events = [entry[0] for entry in host.host_log]
    assert events.count("sink.constructor") == 2 and events.count("open-sink") == 2
    assert events.count("sink.destructor") == 6
