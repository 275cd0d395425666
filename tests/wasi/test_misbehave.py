"""A guest that misuses every call gets errno values, never a Python exception, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.wasi.harness import Outcome, compile_c, run_wasmbox, snapshot

from wasmbox.wasi.abi import ERRNO

FAULTS = [
    "write_bad_iovs",
    "write_bad_buffer",
    "write_bad_result",
    "read_bad_buffer",
    "args_get_bad",
    "random_bad",
    "clock_bad_result",
    "prestat_name_bad",
    "open_bad_path",
    "open_bad_result",
    "stat_bad_result",
    "poll_bad_input",
    "write_huge_length",
    "read_huge_length",
    "random_huge",
    "readdir_huge",
    "poll_huge_count",
]
BAD_DESCRIPTORS = [
    "write_bad_fd",
    "write_negative_fd",
    "close_bad_fd",
    "seek_bad_fd",
    "stat_bad_fd",
    "renumber_to_bad_fd",
    "mkdir_bad_fd",
    "prestat_bad_fd",
    "readdir_bad_fd",
]
INVALID_VALUES = [
    "seek_bad_whence",
    "advise_bad",
    "set_flags_bad",
    "set_times_bad_flags",
    "open_bad_oflags",
    "open_bad_fdflags",
    "stat_bad_lookupflags",
    "open_nul_in_path",
    "poll_no_subscriptions",
]
EXPECTED = (
    {label: "fault" for label in FAULTS}
    | {label: "badf" for label in BAD_DESCRIPTORS}
    | {label: "inval" for label in INVALID_VALUES}
    | {
        "accept_bad_result": "notsock",
        "shutdown_not_socket": "notsock",
        "accept_not_socket": "notsock",
        "shutdown_bad_how": "notsock",
        "open_not_utf8": "ilseq",
        # Bounded before any memory is looked at: PATH_MAX for paths, IOV_MAX (1024) for iovec counts.
        "mkdir_huge_path": "nametoolong",
        "write_huge_count": "inval",
    }
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcome, Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("misbehave")
    (root / "work").mkdir()
    (root / "precious.txt").write_text("do not touch\n")
    before = snapshot(root)
    return run_wasmbox(compile_c("misbehave"), preopens={"/work": root / "work"}), root, before


def test_guest_survives_every_misuse(run: tuple[Outcome, Path, dict[str, object]]) -> None:
    outcome = run[0]
    assert outcome.status == 0, outcome.stderr
    assert outcome.stdout.rstrip().endswith("alive")


@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_misuse_gets_its_errno(run: tuple[Outcome, Path, dict[str, object]], label: str) -> None:
    values = run[0].values()
    assert values.get(label) == ERRNO[EXPECTED[label]], f"{label}: got {values.get(label)}"


def test_nothing_was_written_anywhere(run: tuple[Outcome, Path, dict[str, object]]) -> None:
    _, root, before = run
    assert snapshot(root) == before  # not even the files whose result pointer was bad
