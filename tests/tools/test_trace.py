"""``wasmbox trace``: the stack machine, one executed instruction per line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from wasmbox.binary.encode import encode_module
from wasmbox.cli import main
from wasmbox.inspect.objdump import objdump
from wasmbox.inspect.trace import access_width
from wasmbox.load import load_module_file

PROGRAMS = Path(__file__).parent / "programs"
SUM = PROGRAMS / "sum.wat"

# sum(2): the loop runs twice (total 2, then 3), then stores and reloads the total.
SUM_OF_2 = """\
→ $sum(i32:2)
$sum @0x0032  block                        []
$sum @0x0034  loop                         []
$sum @0x0036  local.get $n                 [i32:2]
$sum @0x0038  i32.eqz                      [i32:0]
$sum @0x0039  br_if 1                      []
$sum @0x003b  local.get $total             [i32:0]
$sum @0x003d  local.get $n                 [i32:0, i32:2]
$sum @0x003f  i32.add                      [i32:2]
$sum @0x0040  local.set $total             []
$sum @0x0042  local.get $n                 [i32:2]
$sum @0x0044  i32.const 1                  [i32:2, i32:1]
$sum @0x0046  i32.sub                      [i32:1]
$sum @0x0047  local.set $n                 []
$sum @0x0049  br 0                         []
$sum @0x0036  local.get $n                 [i32:1]
$sum @0x0038  i32.eqz                      [i32:0]
$sum @0x0039  br_if 1                      []
$sum @0x003b  local.get $total             [i32:2]
$sum @0x003d  local.get $n                 [i32:2, i32:1]
$sum @0x003f  i32.add                      [i32:3]
$sum @0x0040  local.set $total             []
$sum @0x0042  local.get $n                 [i32:1]
$sum @0x0044  i32.const 1                  [i32:1, i32:1]
$sum @0x0046  i32.sub                      [i32:0]
$sum @0x0047  local.set $n                 []
$sum @0x0049  br 0                         []
$sum @0x0036  local.get $n                 [i32:0]
$sum @0x0038  i32.eqz                      [i32:1]
$sum @0x0039  br_if 1                      []
$sum @0x004d  i32.const 16                 [i32:16]
$sum @0x004f  local.get $total             [i32:16, i32:3]
$sum @0x0051  i32.store                    []  mem[0x10]=03 00 00 00
$sum @0x0054  i32.const 16                 [i32:16]
$sum @0x0056  i32.load                     [i32:3]  mem[0x10]=03 00 00 00
$sum @0x0059  end                          [i32:3]
"""


def trace(tmp_path: Path, *options: str, program: Path = SUM, args: tuple[str, ...] = ()) -> tuple[int, str]:
    output = tmp_path / "trace.txt"
    status = main(["trace", "-o", str(output), *options, str(program), *args])
    return status, output.read_text()


def test_the_trace_of_a_loop_is_exact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, text = trace(tmp_path, "--memory", "--invoke", "sum", args=("2",))
    assert status == 0
    assert text == SUM_OF_2
    assert capsys.readouterr().out == "3\n"  # the result, as wasmbox run prints it


def test_offsets_are_where_objdump_shows_the_same_instructions(tmp_path: Path) -> None:
    _, text = trace(tmp_path, "--invoke", "sum", args=("1",))
    binary = encode_module(load_module_file(SUM))
    disassembly = objdump(binary, "sum.wasm", headers=False, details=False, disassemble=True)
    listed = {
        int(m.group(1), 16): m.group(2).strip() for m in re.finditer(r"^ ([0-9a-f]{6}): .*?\| (.*)$", disassembly, re.M)
    }
    for line in text.splitlines()[1:]:
        offset, instruction = re.match(r"\$sum @(0x[0-9a-f]+)  (\S+(?: \S+)?)", line).groups()  # type: ignore[union-attr]
        assert listed[int(offset, 16)] == instruction


def test_json_lines_carry_the_same_events(tmp_path: Path) -> None:
    _, text = trace(tmp_path, "--json", "--memory", "--invoke", "sum", args=("2",))
    records = [json.loads(line) for line in text.splitlines()]
    assert records[0] == {
        "event": "enter",
        "depth": 0,
        "func": "$sum",
        "func_index": 0,
        "args": [{"type": "i32", "value": 2}],
    }
    instructions = [r for r in records if r["event"] == "instr"]
    assert len(instructions) == len(SUM_OF_2.splitlines()) - 1
    assert instructions[-1]["stack"] == [{"type": "i32", "value": 3}] and instructions[-1]["instr"] == "end"
    store = next(r for r in instructions if r["instr"] == "i32.store")
    assert store["memory"] == {"address": 16, "bytes": "03000000"} and store["line"] == 11


CALLS = """(module
  (func $square (param $x i32) (result i32) (i32.mul (local.get $x) (local.get $x)))
  (func $main (export "main") (param $a i32) (result i32)
    (i32.add (call $square (local.get $a)) (i32.const 1)))
  (func $boom (export "boom") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0))))"""


def test_calls_nest_and_traps_end_the_frame(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "calls.wat"
    program.write_text(CALLS)
    _, text = trace(tmp_path, "--invoke", "main", program=program, args=("7",))
    lines = text.splitlines()
    assert lines[0] == "→ $main(i32:7)" and lines[2] == "  → $square(i32:7)"
    assert lines[5].startswith("  $square @") and lines[5].endswith("[i32:49]")  # i32.mul, one level in
    assert re.match(r"\$main @0x[0-9a-f]{4}  call \$square +\[i32:49\]$", lines[7])  # after the callee's lines
    assert lines[-1].endswith("end                          [i32:50]")
    status, text = trace(tmp_path, "--invoke", "boom", program=program, args=("0",))
    assert status == 1 and text.splitlines()[-1].endswith("i32.div_u                    trapped")
    assert "integer divide by zero" in capsys.readouterr().err


def test_func_filter_and_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "calls.wat"
    program.write_text(CALLS)
    _, text = trace(tmp_path, "--func", "square", "--invoke", "main", program=program, args=("3",))
    assert all("$square" in line for line in text.splitlines()) and len(text.splitlines()) == 5
    status, text = trace(tmp_path, "--limit", "4", "--invoke", "sum", args=("50",))
    assert status == 0 and len(text.splitlines()) == 4
    assert "stopped after 4 lines" in capsys.readouterr().err


def test_unknown_function_filter_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _ = trace(tmp_path, "--func", "nope", "--invoke", "sum", args=("1",))
    assert status == 1 and "no function 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "width"),
    [
        ("i32.load", 4),
        ("i64.load32_s", 4),
        ("f64.store", 8),
        ("i32.store8", 1),
        ("v128.load8x8_s", 8),
        ("v128.load32_zero", 4),
        ("v128.store16_lane", 2),
        ("v128.load", 16),
    ],
)
def test_access_widths(name: str, width: int) -> None:
    assert access_width(name) == width


def test_hooks_are_compiled_only_for_stores_with_an_observer() -> None:
    from wasmbox import Instance, Module, Store
    from wasmbox.runtime.observer import Observer

    class Everything(Observer):
        wants_instructions = True

    module = Module(SUM.read_text())
    hooks = {"ENTER", "OBSERVE", "LEAVE"}

    def names_used(store: Store) -> set[str]:
        function = Instance(store, module).exports["sum"]._instance  # type: ignore[union-attr]
        return set(function.code.__code__.co_names)

    assert not names_used(Store()) & hooks
    assert names_used(Store(observer=Everything())) >= hooks
    assert names_used(Store(observer=Observer())) & hooks == {"ENTER", "LEAVE"}


def test_a_caught_exception_ends_the_frames_it_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """$thrower and $middle end without returning; $after is then a call of $run again, one level deep."""
    status = main(["trace", "-o", str(tmp_path / "t.txt"), "--invoke", "run", str(PROGRAMS / "catch.wat")])
    assert status == 0 and capsys.readouterr().out.strip() == "12"
    calls = [line for line in (tmp_path / "t.txt").read_text().splitlines() if "→" in line]
    assert calls == ["→ $run()", "  → $middle(i32:5)", "    → $thrower(i32:5)", "  → $after()"]


LEGACY = PROGRAMS / "legacy_catch.wat"

# The engines run these bodies lowered to try_table (ir.legacy_exceptions): the trace still shows the
# original instructions at their offsets, and nothing the lowering added.
LEGACY_RETHROW = """\
→ $again()
$again @0x0050  try (result i32)             []
$again @0x0052  try (result i32)             []
$again @0x0054  i32.const 5                  [i32:5]
  → $thrower(i32:5)
  $thrower @0x0034  local.get 0                  [i32:5]
  $thrower @0x0036  throw 0                      threw
$again @0x0056  call $thrower                threw
$again @0x005b  rethrow 0                    threw
$again @0x0061  end                          [i32:5]
"""


def test_legacy_handlers_trace_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, text = trace(tmp_path, "--invoke", "again", program=LEGACY)
    assert status == 0 and capsys.readouterr().out == "5\n"
    assert text == LEGACY_RETHROW
    _, delegated = trace(tmp_path, "--invoke", "run", program=LEGACY)
    binary = encode_module(load_module_file(LEGACY))
    disassembly = objdump(binary, "legacy.wasm", headers=False, details=False, disassemble=True)
    listed = {
        int(m.group(1), 16): m.group(2).strip() for m in re.finditer(r"^ ([0-9a-f]{6}): .*?\| (.*)$", disassembly, re.M)
    }
    steps = [
        re.match(r"\s*\$\w+ @(0x[0-9a-f]+)  (\S+(?: [^\s\[]+)*)", line) for line in (text + delegated).splitlines()
    ]
    shown = [(int(step.group(1), 16), step.group(2)) for step in steps if step is not None]
    assert len(shown) == 17
    assert all(listed[offset] == instruction for offset, instruction in shown)
