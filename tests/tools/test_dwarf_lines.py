"""DWARF line tables (``.debug_line``): hand-made units of DWARF 4 and 5, the C example's table against
llvm-dwarfdump, damaged sections, and the explorer naming the C line of each step."""

from __future__ import annotations

import importlib.util
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from wasmbox.binary.decode import decode_module
from wasmbox.cli import main
from wasmbox.inspect.dwarf_lines import SourceLine, module_line_table, read_line_table
from wasmbox.inspect.explore.recording import Recording

ROOT = Path(__file__).resolve().parents[2]
WORDCOUNT = ROOT / "examples" / "wasi_c" / "wordcount.wasm"
OPCODE_BASE = 13
STANDARD_ARGUMENTS = bytes([0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1])


def _program() -> bytes:
    """Rows: 0x10 -> line 5; 0x14 -> line 7 col 3; end at 0x20."""
    return bytes(
        [0, 5, 2, 0x10, 0, 0, 0]  # set_address 0x10
        + [3, 4]  # advance_line +4 (to 5)
        + [1]  # copy
        + [5, 3]  # set_column 3
        + [OPCODE_BASE + (7 - 5 - (-5)) + 4 * 14]  # special: address +4, line +2
        + [2, 0x0C]  # advance_pc 12
        + [0, 1, 1]  # end_sequence
    )


def _unit(version: int, header: bytes, program: bytes) -> bytes:
    common = bytes([1]) + (bytes([1]) if version >= 4 else b"") + bytes([1, 0xFB, 14, OPCODE_BASE])
    common += STANDARD_ARGUMENTS
    prefix = struct.pack("<H", version) + (bytes([4, 0]) if version >= 5 else b"")
    body = common + header
    unit = prefix + struct.pack("<I", len(body)) + body + program
    return struct.pack("<I", len(unit)) + unit


def test_a_dwarf_4_unit() -> None:
    header = b"src\0\0" + b"main.c\0\x01\0\0" + b"\0"
    table = read_line_table(_unit(4, header, _program()))
    assert table.at(0x10) == SourceLine("src/main.c", 5, 0)
    assert table.at(0x13) == SourceLine("src/main.c", 5, 0)
    assert table.at(0x14) == SourceLine("src/main.c", 7, 3)
    assert table.at(0x0F) is None and table.at(0x20) is None


def test_a_dwarf_5_unit_with_strings_elsewhere() -> None:
    line_str = b"/build\0lib.rs\0"
    directories = bytes([1, 1, 0x1F]) + bytes([1]) + struct.pack("<I", 0)  # path as line_strp
    files = bytes([2, 1, 0x1F, 2, 0x0B]) + bytes([2]) + struct.pack("<I", 7) + b"\0" + struct.pack("<I", 7) + b"\0"
    table = read_line_table(_unit(5, directories + files, _program()), line_str=line_str)
    assert table.at(0x14) == SourceLine("/build/lib.rs", 7, 3)  # DWARF 5 counts files from 0; file 1 here


def test_damaged_sections_lose_lines_and_never_raise() -> None:
    good = _unit(4, b"\0main.c\0\0\0\0\0", _program())
    for cut in range(len(good)):
        read_line_table(good[:cut])
    assert len(read_line_table(good[:-3])) == 2  # the rows before the cut stay
    assert len(read_line_table(b"\xff" * 40)) == 0


def test_the_c_example_agrees_with_llvm_dwarfdump(tmp_path: Path) -> None:
    """The example's C program built afresh (zig, -g, every DWARF section kept), read here and by LLVM."""
    dwarfdump = shutil.which("llvm-dwarfdump")
    if dwarfdump is None or importlib.util.find_spec("ziglang") is None:
        pytest.skip("needs llvm-dwarfdump (the oracle) and ziglang (pip install ziglang) to build the program")
    built = tmp_path / "wordcount.wasm"
    source = ROOT / "examples" / "wasi_c" / "wordcount.c"
    command = [sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", "-Os", "-g", "-o", str(built)]
    subprocess.run([*command, str(source)], check=True, capture_output=True, timeout=600)
    module = decode_module(built.read_bytes())
    table = module_line_table([(c.name, c.data) for c in module.customs])
    assert table is not None and len(table) > 1000
    out = subprocess.run([dwarfdump, "--debug-line", str(built)], capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        match = re.match(r"^0x([0-9a-f]{16})\s+(\d+)\s+(\d+)\s+\d+\s+.*$", line)
        if match and "end_sequence" not in line:
            rows[int(match.group(1), 16)] = (int(match.group(2)), int(match.group(3)))
    assert len(rows) > 1000
    found = {address: table.at(address) for address in rows}
    wrong = [a for a, where in found.items() if where is None or (where.line, where.column) != rows[a]]
    assert not wrong, [hex(a) for a in wrong[:10]]


def test_the_explorer_names_the_c_line_of_each_step(tmp_path: Path) -> None:
    if not WORDCOUNT.exists():
        pytest.skip(f"{WORDCOUNT} not found")
    saved = tmp_path / "run.json"
    main(["explore", "--save", str(saved), "--limit", "3000", str(WORDCOUNT)])
    recording = Recording.from_json(saved.read_text())
    texts = recording.info["source_lines"]
    main_lines = [t for t in texts if t.startswith("wordcount.c:39")]
    assert main_lines == ["wordcount.c:39  int main(void) {"]  # the file beside the program is read
    by_name = {f["name"]: f for f in recording.info["functions"]}
    main_function = by_name["$__original_main"]  # wasi-libc's name for the program's main
    files = {texts[i].split("  ")[0].rsplit(":", 1)[0] for i in main_function["src"] if i >= 0}
    assert "wordcount.c" in files  # with libc lines of what was inlined into it
    assert recording.info["globals"][0] == "$__stack_pointer"  # from the name section's global names
