"""Programs a user would run give wasmtime-py's outputs, and the bench programs their checksums."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.wasi.harness import compile_c, run_wasmbox, run_wasmtime, snapshot

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(os.environ.get("WASMBOX_BENCH", ROOT.parent / "shared" / "bench"))
WORDS = b"the quick brown fox jumps over the lazy dog\nthe end\n" * 40


def make_tree(root: Path) -> None:
    (root / "a" / "b").mkdir(parents=True)
    (root / "c").mkdir()
    (root / "a" / "x.txt").write_text("hello\n")
    (root / "a" / "b" / "nums.txt").write_text("".join(f"{i}\n" for i in range(1, 2001)))
    (root / "c" / "bin.dat").write_bytes(bytes(range(256)) * 9)
    (root / "c" / "empty").write_bytes(b"")
    os.symlink("../a/x.txt", root / "c" / "link")


def contents(root: Path) -> dict[str, object]:
    """The tree without timestamps (the two runs happen at different times)."""
    return {name: (kind, data) for name, (kind, data, _mtime) in snapshot(root).items()}


def test_tree_tool_matches_wasmtime(tmp_path: Path) -> None:
    wasm = compile_c("tree_tool")
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    for root in (mine, theirs):
        root.mkdir()
        make_tree(root)
    env = {"TOOL_MODE": "oracle"}
    ours = run_wasmbox(wasm, ["/data"], preopens={"/data": mine}, env=env, stdin=WORDS)
    oracle = run_wasmtime(wasm, ["/data"], preopens={"/data": theirs}, env=env, stdin=WORDS, tmp=tmp_path)
    assert ours.status == oracle.status == 0
    assert ours.stdout == oracle.stdout
    assert ours.stderr == oracle.stderr == "done: 8 entries\n"
    assert "stdin: 440 words, 9 unique" in ours.stdout
    assert contents(mine) == contents(theirs)
    assert (mine / "scratch" / "renamed.txt").exists() and not (mine / "scratch" / "part1.txt").exists()


def bench_cases() -> list[tuple[str, list[str], str]]:
    manifest = BENCH / "manifest.json"
    if not manifest.exists():
        return []
    return [
        (name, sizes["small"]["args"], sizes["small"]["checksum"])
        for name, sizes in json.loads(manifest.read_text()).items()
    ]


@pytest.mark.parametrize(
    ("name", "args", "checksum"),
    bench_cases()
    or [pytest.param("", [], "", marks=pytest.mark.skip(reason=f"no bench programs at {BENCH} (set WASMBOX_BENCH)"))],
)
def test_bench_program_prints_its_checksum_through_wasmbox_run(name: str, args: list[str], checksum: str) -> None:
    command = [sys.executable, "-m", "wasmbox", "run", str(BENCH / "wasm" / f"{name}.wasm"), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"checksum: {checksum}"
