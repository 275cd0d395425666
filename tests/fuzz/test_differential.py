"""Differential fuzzing: random binaryen modules on wasmbox and wasmtime-py.

Needs Debian's ``binaryen`` (``wasm-opt``) and PyPI's ``wasmtime`` (a test
oracle only); ``.ci/run`` installs both.  The Wasm 3.0 modules come from npm's
binaryen 132 on node (``differential3``), which ``.ci/run`` fetches.  Every
mismatch found so far has a regression test of its own in the unit tests.
"""

from __future__ import annotations

import random

import pytest
from tests.fuzz import differential3
from tests.fuzz.differential import available, compare

from wasmbox import ENGINES

needs_binaryen = pytest.mark.skipif(not available(), reason="needs wasm-opt (binaryen) and the wasmtime package")


def _seeds(count: int, salt: int) -> list[bytes]:
    rng = random.Random(salt)
    return [rng.randbytes(rng.randint(100, 8000)) for _ in range(count)]


def _mismatches(seeds: list[bytes], engine: str) -> list[str]:
    found = []
    for index, seed in enumerate(seeds):
        difference = compare(seed, engine)
        if difference is not None:
            found.append(f"seed {index}: {difference}")
    return found


@needs_binaryen
@pytest.mark.parametrize("engine", ENGINES)
def test_random_modules_agree_with_wasmtime(engine: str) -> None:
    mismatches = _mismatches(_seeds(200, salt=1), engine)
    assert not mismatches, "\n".join(mismatches[:10])


@pytest.mark.slow
@needs_binaryen
@pytest.mark.parametrize("engine", ENGINES)
def test_many_random_modules_agree_with_wasmtime(engine: str) -> None:
    mismatches = _mismatches(_seeds(2000, salt=2), engine)
    assert not mismatches, "\n".join(mismatches[:10])


@pytest.mark.skipif(not differential3.available(), reason="needs node, npm's binaryen 132 (see .ci/run) and wasmtime")
@pytest.mark.parametrize("engine", ENGINES)
def test_random_wasm3_modules_agree_with_wasmtime(engine: str) -> None:
    """Tail calls, multiple memories, memory64, reference types, exceptions, extended constants."""
    peer = differential3.wasmtime_engine()
    found = []
    for index, seed in enumerate(_seeds(25, salt=3)):
        difference = differential3.compare(seed, engine, peer)
        if difference is not None:
            found.append(f"seed {index}: {difference}")
    assert not found, "\n".join(found[:10])


@pytest.mark.skipif(not differential3.available(), reason="needs node, npm's binaryen 132 (see .ci/run) and wasmtime")
@pytest.mark.parametrize("engine", ENGINES)
def test_random_gc_modules_agree_with_wasmtime(engine: str) -> None:
    """The same with garbage collection (structs, arrays, i31, casts, rec groups and subtypes): a campaign of
    1,400 such modules found a start function typed as a subtype refused by the validator."""
    peer = differential3.wasmtime_engine(gc=True)
    flags = differential3.FEATURE_FLAGS + differential3.GC_FLAGS
    found = []
    for index, seed in enumerate(_seeds(15, salt=5)):
        difference = differential3.compare(seed, engine, peer, flags)
        if difference is not None:
            found.append(f"seed {index}: {difference}")
    assert not found, "\n".join(found[:10])


@pytest.mark.slow
@pytest.mark.skipif(not differential3.available(), reason="needs node, npm's binaryen 132 (see .ci/run) and wasmtime")
@pytest.mark.parametrize("engine", ENGINES)
def test_many_random_wasm3_modules_agree_with_wasmtime(engine: str) -> None:
    peer = differential3.wasmtime_engine()
    found = []
    for index, seed in enumerate(_seeds(500, salt=4)):
        difference = differential3.compare(seed, engine, peer)
        if difference is not None:
            found.append(f"seed {index}: {difference}")
    assert not found, "\n".join(found[:10])
