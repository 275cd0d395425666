"""No path leaves a preopen: `..`, absolute paths, symlinks out, loops, hard links, read-only grants.

escape.c tries every way out it can think of; each must be refused with the
errno the path-resolution rules give (EPERM for leaving the sandbox, ELOOP for
loops, ENOTCAPABLE for rights a read-only preopen withholds), and the host
files outside must be byte-for-byte and timestamp-for-timestamp untouched.
wasmtime-py agrees on every escape; the two differ only where wasmtime
ignores the rights model (it answers EPERM for read-only preopens).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.wasi.harness import Outcome, compile_c, run_wasmbox, run_wasmtime, snapshot

from wasmbox.wasi import Preopen
from wasmbox.wasi.abi import ERRNO

EXPECTED_ERRNO = {
    "open_dotdot": "perm",
    "open_absolute": "perm",
    "open_dotdot_inside_first": "perm",
    "open_dotdot_and_back": "perm",
    "open_dotdot_within": "success",
    "open_create_dotdot": "perm",
    "open_symlink_out": "perm",
    "open_symlink_out_nofollow": "loop",
    "open_symlink_absolute": "perm",
    "open_symlink_loop": "loop",
    "open_symlink_chain_inside": "success",
    "open_through_dir_symlink_out": "perm",
    "open_create_through_dangling": "perm",
    "open_create_through_dir_symlink": "perm",
    "stat_symlink_out_follow": "perm",
    "stat_symlink_out_nofollow": "success",
    "set_times_symlink_out_follow": "perm",
    "readlink_symlink_out": "success",
    "readlink_symlink_absolute": "perm",
    "mkdir_dotdot": "perm",
    "mkdir_through_dir_symlink": "perm",
    "unlink_dotdot": "perm",
    "unlink_through_dir_symlink": "perm",
    "rmdir_dotdot": "perm",
    "rename_out": "perm",
    "rename_in": "perm",
    "hardlink_out_dotdot": "perm",
    "hardlink_out_follow": "perm",
    "hardlink_to_outside_target": "perm",
    "hardlink_symlink_itself": "success",
    "open_hardlinked_symlink": "perm",
    "symlink_absolute": "perm",
    "symlink_relative_out": "success",
    "open_created_symlink_out": "perm",
    "write_through_symlink_out": "perm",
    "ro_fdstat": "success",
    "ro_read": "success",
    "ro_write_existing_fd": "notcapable",
    "ro_open_for_write": "notcapable",
    "ro_create": "notcapable",
    "ro_truncate": "notcapable",
    "ro_mkdir": "notcapable",
    "ro_unlink": "notcapable",
    "ro_rename": "notcapable",
    "ro_symlink": "notcapable",
    "ro_set_times": "notcapable",
    "ro_link_into_writable": "notcapable",
    "ro_rename_into_writable": "notcapable",
    "ro_gain_rights": "notcapable",
}
# wasmtime answers these differently and still refuses: EINVAL for following a link in
# path_link, and its own permission model (EPERM/EBADF) where preview 1 has rights.
WASMTIME_DIFFERS = {"hardlink_out_follow"} | {label for label in EXPECTED_ERRNO if label.startswith("ro_")}


def make_layout(root: Path) -> None:
    """The host side: a box to preopen, a read-only directory, and things outside both."""
    (root / "box" / "sub").mkdir(parents=True)
    (root / "outdir").mkdir()
    (root / "ro").mkdir()
    (root / "outside.txt").write_text("secret\n")
    (root / "outdir" / "keep.txt").write_text("keep\n")
    (root / "box" / "inside.txt").write_text("inside\n")
    (root / "ro" / "ro.txt").write_text("readonly\n")
    links = {
        "linkout": "../outside.txt",
        "linkabs": str(root / "outside.txt"),
        "loop1": "loop2",
        "loop2": "loop1",
        "chain1": "chain2",
        "chain2": "sub/../inside.txt",
        "dirout": "..",
        "dangling": "../newfile",
    }
    for name, target in links.items():
        os.symlink(target, root / "box" / name)


def outside_state(root: Path) -> dict[str, object]:
    """Everything but the box: what no guest action may change."""
    return {name: value for name, value in snapshot(root).items() if not name.startswith("box")}


@pytest.fixture(scope="module")
def escape(tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcome, dict[str, object], dict[str, object]]:
    root = tmp_path_factory.mktemp("escape")
    make_layout(root)
    before = outside_state(root)
    outcome = run_wasmbox(
        compile_c("escape"),
        preopens={"/box": root / "box", "/ro": Preopen(str(root / "ro"), read_only=True)},
    )
    return outcome, before, outside_state(root)


def test_program_completes(escape: tuple[Outcome, dict[str, object], dict[str, object]]) -> None:
    outcome, _, _ = escape
    assert outcome.status == 0, outcome.stderr
    assert "ro_text=readonly" in outcome.stdout and "ro_can_create=0" in outcome.stdout


@pytest.mark.parametrize("label", sorted(EXPECTED_ERRNO))
def test_each_attempt_gets_the_spec_errno(
    escape: tuple[Outcome, dict[str, object], dict[str, object]], label: str
) -> None:
    values = escape[0].values()
    assert label in values, f"{label} missing:\n{escape[0].stdout}"
    assert values[label] == ERRNO[EXPECTED_ERRNO[label]], f"{label}: got errno {values[label]}"


def test_host_files_outside_are_untouched(escape: tuple[Outcome, dict[str, object], dict[str, object]]) -> None:
    _, before, after = escape
    assert after == before
    assert "newfile" not in after and "stolen.txt" not in after and "hl3" not in after


def test_wasmtime_refuses_the_same_escapes(tmp_path: Path) -> None:
    wasm = compile_c("escape")
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    for root in (mine, theirs):
        make_layout(root)
    ours = run_wasmbox(wasm, preopens={"/box": mine / "box", "/ro": Preopen(str(mine / "ro"), read_only=True)})
    oracle = run_wasmtime(wasm, preopens={"/box": theirs / "box", "/ro": theirs / "ro"}, tmp=tmp_path)
    compared = [label for label in EXPECTED_ERRNO if label not in WASMTIME_DIFFERS]
    assert {k: ours.values()[k] for k in compared} == {k: oracle.values()[k] for k in compared}
