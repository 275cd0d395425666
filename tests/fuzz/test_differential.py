"""Differential fuzzing: random binaryen modules on wasmbox and wasmtime-py.

Needs Debian's ``binaryen`` (``wasm-opt``) and PyPI's ``wasmtime`` (a test
oracle only); ``.ci/run`` installs both.  Every mismatch found so far has a
regression test of its own in the unit tests.
"""

from __future__ import annotations

import random

import pytest
from tests.fuzz.differential import available, compare

from wasmbox import ENGINES

pytestmark = pytest.mark.skipif(not available(), reason="needs wasm-opt (binaryen) and the wasmtime package")


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


@pytest.mark.parametrize("engine", ENGINES)
def test_random_modules_agree_with_wasmtime(engine: str) -> None:
    mismatches = _mismatches(_seeds(200, salt=1), engine)
    assert not mismatches, "\n".join(mismatches[:10])


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_many_random_modules_agree_with_wasmtime(engine: str) -> None:
    mismatches = _mismatches(_seeds(2000, salt=2), engine)
    assert not mismatches, "\n".join(mismatches[:10])
