"""Shared fixtures: where the official spec test suite lives.

``WASMBOX_TESTSUITE`` points at a directory holding ``core-2.0/``; by default
``../shared/testsuite`` beside the project.  Tests that need it skip, saying
so, when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTSUITE = Path(os.environ.get("WASMBOX_TESTSUITE", ROOT.parent / "shared" / "testsuite"))
CORE_2_0 = TESTSUITE / "core-2.0"


def core_wast_files(suite: str = "core-2.0") -> list[Path]:
    directory = TESTSUITE / suite
    return sorted(directory.glob("*.wast")) if directory.is_dir() else []


def require_testsuite() -> None:
    if not CORE_2_0.is_dir():
        pytest.skip(f"spec test suite not found at {CORE_2_0} (set WASMBOX_TESTSUITE)")


def tail_call_scripts() -> list[Path]:
    """core-3.0's tail call scripts every engine runs (return_call_ref.wast needs typed function
    references, which wasmbox does not have)."""
    return [p for p in core_wast_files("core-3.0") if p.stem in ("return_call", "return_call_indirect")]


def exception_scripts() -> list[Path]:
    """Exception handling scripts every engine runs: our own, and core-3.0's that need nothing else
    of Wasm 3.0 (its try_table.wast also needs tail calls and GC types)."""
    own = [ROOT / "tests" / "spec" / "wast" / "exceptions.wast"]
    return own + [p for p in core_wast_files("core-3.0") if p.stem in ("throw", "throw_ref")]
