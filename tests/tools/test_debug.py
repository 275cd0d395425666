"""``wasmbox debug`` driven by a commands file: a C program and a WAT program."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.wasi.harness import compile_c

from wasmbox.cli import main

PROGRAMS = Path(__file__).parent / "programs"


def debug(tmp_path: Path, script: str, *program: str) -> tuple[int, str]:
    commands = tmp_path / "commands.txt"
    commands.write_text(script)
    return main(["debug", "--commands", str(commands), *program]), ""


C_SCRIPT = """\
break scale
run
bt
locals
step
step
stack
print local1
mem global0 48
finish
locals
continue
delete 1
watch global0 4
continue
quit
"""


def test_a_scripted_session_on_a_c_program(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    wasm = compile_c("debugme", PROGRAMS, ["-g"])  # -g keeps the name section
    status, _ = debug(tmp_path, C_SCRIPT, str(wasm))
    out = capfd.readouterr().out
    assert status == 0
    transcript = out.split("(wdb) ")
    # break + run: stopped at the first instruction of scale, called from main.
    assert re.match(r"break scale\nbreakpoint 1: \$scale\+0x0 @0x[0-9a-f]{4,}  \S", transcript[1])
    assert re.search(r"run\nbreakpoint 1: \$scale\+0x0 ", transcript[2])
    frames = transcript[3].splitlines()[1:]
    assert frames[0].startswith("  #0 $scale+0x0") and "call $scale" in frames[1] and "$_start" in frames[-1]
    # scale(1, 10): its parameters are its first two locals.
    assert transcript[4].splitlines()[1:] == ["  local0 = i32:1", "  local1 = i32:10"]
    assert re.match(r"step\nstep: \$scale\+0x[0-9a-f]+ ", transcript[5])
    assert re.match(r"stack\n  0: i32:", transcript[7])  # two steps in, something is on the stack
    assert transcript[8] == "print local1\nlocal1 = i32:10\n"
    # The caller's frame on the shadow stack holds the string strcpy put there.
    assert (
        "hello, wdb" in "".join(line[60:] for line in transcript[9].splitlines()[1:]).replace(".", "")
        or "hello, w" in transcript[9]
    )
    assert re.search(r"finish\n\$scale returned \[i32:11\]\nfinish: \$__original_main\+0x", transcript[10])
    # With the breakpoint deleted, the watched word (the bottom of main's frame) stops the run
    # when main writes it, and says what changed.
    assert re.match(
        r"continue\nwatchpoint 2 \(0x[0-9a-f]+\): ([0-9a-f]{2} ?){4} -> ([0-9a-f]{2} ?){4}: \$__original_main\+0x",
        transcript[15],
    )
    assert "[program stopped by quit]" in out


WAT_SCRIPT = """\
break 8
run
locals
step
stack
continue
print $total
globals
mem 16 4
continue
continue
"""


def test_a_session_on_a_wat_program_shows_source_lines(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    status, _ = debug(tmp_path, WAT_SCRIPT, "--invoke", "sum", str(PROGRAMS / "sum.wat"), "2")
    out = capfd.readouterr().out
    assert status == 0
    source_line = "sum.wat:8: (local.set $total (i32.add (local.get $total) (local.get $n)))"
    assert "breakpoint 1: $sum+0x9 @0x003b  local.get $total\n" in out and source_line in out
    assert "(wdb) locals\n  $n = i32:2\n  $total = i32:0\n" in out
    assert "(wdb) step\nstep: $sum+0xb @0x003d  local.get $n\n" in out
    assert "(wdb) stack\n  0: i32:0\n" in out
    assert "(wdb) print $total\n$total = i32:2\n" in out  # second time round the loop
    assert "(wdb) mem 16 4\n  00000010  00 00 00 00" in out  # not stored yet
    assert out.rstrip().endswith("3\n[program exited with status 0]")


def test_commands_before_run_and_bad_locations(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    script = "break nowhere\nbreak sum+0x1\nstack\nhelp\nquit\n"
    status, _ = debug(tmp_path, script, "--invoke", "sum", str(PROGRAMS / "sum.wat"), "2")
    out = capfd.readouterr().out
    assert status == 0
    assert "break: no instruction at 'nowhere'" in out
    assert "break: no instruction at 'sum+0x1'" in out  # inside block's encoding, not an instruction start
    assert "stack: the program is not running" in out
    assert "break FUNC[+OFFSET]" in out


def test_a_breakpoint_on_a_legacy_rethrow(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """The engine runs the body lowered to try_table, with a local of its own for the caught
    exception: the session still stops at the rethrow and shows the function's own (no) locals."""
    script = "break $again+0xb\nrun\nlocals\nstep\ncontinue\n"
    status, _ = debug(tmp_path, script, "--invoke", "again", str(PROGRAMS / "legacy_catch.wat"))
    transcript = capfd.readouterr().out.split("(wdb) ")
    assert status == 0
    assert transcript[1].startswith("break $again+0xb\nbreakpoint 1: $again+0xb @0x005b  rethrow 0")
    assert transcript[2].startswith("run\nbreakpoint 1: $again+0xb @0x005b  rethrow 0")
    assert transcript[3] == "locals\n"
    assert transcript[4].startswith("step\nstep: $again+0x11 @0x0061  end")
