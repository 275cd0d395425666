"""Every fd_* and path_* function, success and error paths, through files.c."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.wasi.harness import Outcome, compile_c, run_wasmbox

from wasmbox.wasi.abi import ERRNO, FILETYPE

# label -> the errno name the witx gives for what the program does at that point.
EXPECTED_ERRNO = {
    "open_create": "success",
    "open_excl_exists": "exist",
    "open_missing": "noent",
    "open_file_as_directory": "notdir",
    "write": "success",
    "tell": "success",
    "seek_set": "success",
    "read": "success",
    "read_at_eof": "success",
    "seek_end": "success",
    "seek_negative": "inval",
    "pwrite": "success",
    "pread": "success",
    "tell_after_pread": "success",
    "advise": "success",
    "allocate": "success",
    "sync": "success",
    "datasync": "success",
    "filestat_get": "success",
    "set_size": "success",
    "set_times": "success",
    "set_times_conflict": "inval",
    "fdstat_get": "success",
    "set_flags_append": "success",
    "drop_write_right": "success",
    "write_without_right": "notcapable",
    "regain_write_right": "notcapable",
    "open_second": "success",
    "write_read_only_fd": "notcapable",
    "renumber": "success",
    "renumber_bad": "badf",
    "read_renumbered": "success",
    "read_old_number": "badf",
    "close": "success",
    "close_again": "badf",
    "read_closed": "badf",
    "prestat_get": "success",
    "prestat_dir_name": "success",
    "prestat_dir_name_short": "nametoolong",
    "prestat_not_preopen": "badf",
    "mkdir": "success",
    "mkdir_exists": "exist",
    "mkdir_nested_missing": "noent",
    "open_in_sub": "success",
    "mkdir_via_file_fd": "notdir",
    "symlink": "success",
    "symlink_exists": "exist",
    "readlink": "success",
    "readlink_short": "success",
    "readlink_not_link": "inval",
    "stat_nofollow": "success",
    "stat_follow": "success",
    "stat_missing": "noent",
    "set_times_path": "success",
    "set_times_now": "success",
    "link": "success",
    "link_exists": "exist",
    "rename": "success",
    "rename_missing": "noent",
    "open_directory_for_write": "isdir",
    "open_directory": "success",
    "read_directory_fd": "notcapable",  # fd_read does not apply to a directory, so it was not granted
    "readdir_on_file": "notcapable",
    "open_relative_to_opened_dir": "success",
    "rmdir_not_empty": "notempty",
    "unlink_directory": "isdir",
    "rmdir_file": "notdir",
    "unlink_link": "success",
    "unlink_file": "success",
    "unlink_renamed": "success",
    "unlink_missing": "noent",
    "rmdir": "success",
    "open_trailing_slash_file": "notdir",
}


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    work = tmp_path_factory.mktemp("files")
    return run_wasmbox(compile_c("files"), preopens={"/work": work})


def test_program_completes(outcome: Outcome) -> None:
    assert outcome.status == 0, outcome.stderr


@pytest.mark.parametrize("label", sorted(EXPECTED_ERRNO))
def test_errno_matches_the_spec(outcome: Outcome, label: str) -> None:
    values = outcome.values()
    assert label in values, f"{label} missing from the output:\n{outcome.stdout}"
    assert values[label] == ERRNO[EXPECTED_ERRNO[label]], f"{label}: got errno {values[label]}"


def test_data_moves_as_posix_says(outcome: Outcome) -> None:
    lines = outcome.stdout.splitlines()
    assert "write_count=12" in lines and "tell_value=12" in lines
    assert "seek_value=7" in lines and "read_text=wasi" in lines  # "hello, wasi\n" from offset 7
    assert "read_at_eof_count=0" in lines and "seek_end_value=7" in lines
    assert "pread_text=HELLO,  count=7" in lines  # pwrite at 0 then a two-buffer pread
    assert "tell_after_pread_value=7" in lines  # pread/pwrite leave the offset alone
    regular = FILETYPE["regular_file"]
    assert f"filestat_size=4096 type={regular} nlink=1" in lines  # fd_allocate grew the file
    assert "size_after_truncate=5" in lines
    assert "times=1000000000,2000000000" in lines
    assert f"fdstat_type={regular} flags=0" in lines
    assert "size_after_append=10" in lines and "flags_after_set=1" in lines  # O_APPEND ignores the seek
    assert "renumbered_text=HELLO+tail" in lines


def test_directories_links_and_listing(outcome: Outcome) -> None:
    lines = outcome.stdout.splitlines()
    assert "prestat_len=5" in lines and "prestat_name=/work" in lines
    assert "readlink_text=sub/a.txt" in lines and "readlink_short_count=3" in lines
    assert f"stat_nofollow_type={FILETYPE['symbolic_link']}" in lines
    assert f"stat_follow_type={FILETYPE['regular_file']} size=5" in lines
    assert "path_times=3000000000,4000000000" in lines  # set through the symlink
    assert "mtime_now_recent=1" in lines
    assert "link_nlink=2" in lines
    listing = next(line for line in lines if line.startswith("readdir_entries="))
    entries = listing.split("names=")[1].split(" ")[0].strip(",").split(",")
    assert sorted(entries) == [".", "..", "a.txt", "renamed.txt"]
    assert listing.endswith("truncated_calls_positive=1")  # a 40-byte buffer forces cookies
    assert "read_via_subdir=alpha" in lines


def test_the_directory_is_left_as_the_program_left_it(tmp_path: Path) -> None:
    run_wasmbox(compile_c("files"), preopens={"/work": tmp_path})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.txt"]
    assert (tmp_path / "data.txt").read_bytes() == b"HELLO+tail"
