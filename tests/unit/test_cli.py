"""The ``wasmbox`` command line, run in-process through ``main``."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmbox.cli import main

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "hello.wat"


def test_wat2wasm_wasm2wat_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wasm = tmp_path / "hello.wasm"
    assert main(["wat2wasm", str(HELLO), "-o", str(wasm)]) == 0
    assert wasm.read_bytes()[:4] == b"\x00asm"
    assert main(["wasm2wat", str(wasm)]) == 0
    text = capsys.readouterr().out
    assert "(func $factorial" in text
    again = tmp_path / "again.wat"
    again.write_text(text)
    assert main(["wat2wasm", str(again), "-o", str(tmp_path / "again.wasm")]) == 0
    assert (tmp_path / "again.wasm").read_bytes() == wasm.read_bytes()


def test_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(HELLO)]) == 0
    bad = tmp_path / "bad.wat"
    bad.write_text("(module (func (result i32) (i64.const 1)))")
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.wat" in err and "type mismatch" in err


def test_malformed_binary_reports_offset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\x00asm\x01\x00\x00\x00\x01\x05\x01\x60\x00")
    assert main(["validate", str(bad)]) == 1
    assert "bad.wasm @0x" in capsys.readouterr().err


def test_missing_file_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "/nonexistent/x.wasm"]) == 1
    assert "No such file" in capsys.readouterr().err


def test_objdump_sections_and_disassembly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wasm = tmp_path / "hello.wasm"
    main(["wat2wasm", str(HELLO), "-o", str(wasm)])
    capsys.readouterr()
    assert main(["objdump", "-h", "-x", "-d", str(wasm)]) == 0
    out = capsys.readouterr().out
    assert "Type start=0x0000000a" in out
    assert 'memory[0] -> "memory"' in out
    assert "func[2] <factorial>:" in out
    # Every disassembled line's offset points at the opcode byte it shows.
    data = wasm.read_bytes()
    lines = [line for line in out.splitlines() if line.startswith(" 0000") and "|" in line]
    assert lines
    for line in lines:
        offset = int(line.split(":")[0], 16)
        first_byte = int(line.split(":")[1].split()[0], 16)
        assert data[offset] == first_byte


def test_validation_errors_point_at_line_or_offset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "bad.wat"
    text.write_text("(module\n  (func (result i32)\n    i64.const 1\n    i64.eqz\n    f32.neg))\n")
    assert main(["validate", str(text)]) == 1
    assert "line 5" in capsys.readouterr().err  # f32.neg on an i32
    binary = tmp_path / "bad.wasm"
    assert main(["wat2wasm", "--no-check", str(text), "-o", str(binary)]) == 0
    assert main(["validate", str(binary)]) == 1
    err = capsys.readouterr().err
    offset = int(err.split("@0x")[1].split(":")[0], 16)
    assert binary.read_bytes()[offset] == 0x8C  # the f32.neg opcode


def test_run_start_and_invoke(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(HELLO)]) == 0
    assert capfd.readouterr().out == "Hello, WebAssembly!\n"
    assert main(["run", "--invoke", "factorial", str(HELLO), "20"]) == 0
    assert capfd.readouterr().out == "2432902008176640000\n"


def test_run_reports_traps_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "p.wat"
    program.write_text(
        '(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))'
        ' (memory (export "memory") 1)'
        ' (func (export "_start") (call $exit (i32.const 3)))'
        ' (func $boom (export "boom") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0))))'
    )
    assert main(["run", str(program)]) == 3
    assert main(["run", "--invoke", "boom", str(program), "0"]) == 1
    err = capsys.readouterr().err
    assert "integer divide by zero" in err and "$boom" in err


def test_wast_command_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "t.wast"
    script.write_text(
        '(module (func (export "f") (result i32) (i32.const 7)))'
        '(assert_return (invoke "f") (i32.const 7))'
        '(assert_return (invoke "f") (i32.const 8))'
    )
    assert main(["wast", str(script)]) == 1
    assert (
        capsys.readouterr().out.splitlines()[-1] == "2 passed, 1 failed"
    )  # the module, one assertion; the other fails


def test_run_option_errors_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--engine", "nonesuch", str(HELLO)]) == 1
    assert "unknown engine 'nonesuch'" in capsys.readouterr().err
    assert main(["run", "--fuel", "-5", str(HELLO)]) == 1
    assert "--fuel must not be negative" in capsys.readouterr().err


def test_commands_lists_every_command_and_each_parses_alone(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from wasmbox.cli import COMMANDS, build_parser

    full = build_parser()
    (subcommands,) = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)]
    assert tuple(subcommands.choices) == COMMANDS
    for command in COMMANDS:  # built alone (as main does), a command's help is the full parser's
        alone = build_parser(command)
        (only,) = [a for a in alone._actions if isinstance(a, argparse._SubParsersAction)]
        assert list(only.choices) == [command]
        assert only.choices[command].format_help() == subcommands.choices[command].format_help()
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert [command for command in COMMANDS if command not in out] == [], out
