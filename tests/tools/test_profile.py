"""``wasmbox profile``: exact call counts (checked on another engine), speedscope JSON, collapsed stacks, SVG."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from wasmbox.binary.encode import encode_module
from wasmbox.cli import main
from wasmbox.inspect.view import ModuleView
from wasmbox.ir.instructions import BY_NAME, Instruction
from wasmbox.ir.module import Export, Global
from wasmbox.ir.types import I64, ExternKind, GlobalType
from wasmbox.load import load_module_file

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(os.environ.get("WASMBOX_BENCH", ROOT.parent / "shared" / "bench"))
SCHEMA = os.environ.get("SPEEDSCOPE_SCHEMA")  # speedscope's file-format-schema.json, when CI fetched it


def bench_program(name: str) -> Path:
    path = BENCH / "wasm" / f"{name}.wasm"
    if not path.exists():
        pytest.skip(f"no bench program at {path} (set WASMBOX_BENCH)")
    return path


def entry_counters(path: Path) -> bytes:
    """The module with a counter per defined function, bumped on entry and exported as ``count<N>``.

    Counting by rewriting the module and running it on wasmtime is independent of
    wasmbox's engine and of the observer the profiler uses.
    """
    module = load_module_file(path)
    first_global = len(module.global_types())
    first_func = module.num_imported_funcs()
    for offset, function in enumerate(module.funcs):
        counter = first_global + offset
        module.globals.append(
            Global(GlobalType(I64, True), [Instruction(BY_NAME["i64.const"], (0,)), Instruction(BY_NAME["end"], ())])
        )
        module.exports.append(Export(f"count{first_func + offset}", ExternKind.GLOBAL, counter))
        bump = [
            Instruction(BY_NAME["global.get"], (counter,)),
            Instruction(BY_NAME["i64.const"], (1,)),
            Instruction(BY_NAME["i64.add"], ()),
            Instruction(BY_NAME["global.set"], (counter,)),
        ]
        function.body[0:0] = bump
    return encode_module(module)


def counts_on_wasmtime(binary: bytes, argv: list[str], tmp_path: Path) -> dict[int, int]:
    wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py gives the independent count")
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = argv
    config.stdout_file = str(tmp_path / "wasmtime-stdout")
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module(engine, binary))
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap:
        pass
    counts = {}
    for name, extern in instance.exports(store).items():
        if name.startswith("count"):
            value = extern.value(store)
            if value:
                counts[int(name[5:])] = value
    return counts


def counts_on_wasmbox(binary: bytes, argv: list[str]) -> dict[int, int]:
    """The same counters on wasmbox's plain engine: no observer involved."""
    import io

    from wasmbox import Global as GlobalExtern
    from wasmbox import Linker, Module, Store
    from wasmbox.errors import WasiExit
    from wasmbox.wasi import WasiConfig

    linker = Linker(Store())
    wasi = linker.define_wasi(WasiConfig(argv=argv, stdout=io.BytesIO()))
    instance = linker.instantiate(Module(binary))
    try:
        instance.exports["_start"]()
    except WasiExit:
        pass
    finally:
        wasi.close()
    counts = {}
    for name in instance.exports:
        extern = instance.exports[name]
        if name.startswith("count") and isinstance(extern, GlobalExtern) and extern.value:
            counts[int(name[5:])] = extern.value
    return counts


def profile_table(text: str, module_path: Path) -> dict[int, int]:
    """func index -> calls, read back from the printed table."""
    view = ModuleView(load_module_file(module_path))
    by_name = {name: index for index, name in view.names.items()}
    counts = {}
    for line in text.splitlines()[1:-1]:
        calls, _self_ms, _self_pct, _total_ms, _total_pct, name = line.split(None, 5)
        counts[by_name[name]] = int(calls)
    return counts


@pytest.mark.parametrize(("program", "argv"), [("qsort", ["qsort", "2000"]), ("fib", ["fib", "18"])])
def test_call_counts_are_exact(
    program: str, argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bench_program(program)
    # Both runs write stdout to a file: libc takes different paths for a terminal.
    with (tmp_path / "wasmbox-stdout").open("wb") as stdout:
        result = subprocess.run(
            [sys.executable, "-m", "wasmbox", "profile", str(path), *argv[1:]],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert result.returncode == 0, result.stderr
    ours = profile_table(result.stderr, path)
    counted = entry_counters(path)
    first = load_module_file(path).num_imported_funcs()
    assert {index: calls for index, calls in ours.items() if index >= first} == counts_on_wasmbox(counted, argv)
    # On wasmtime the hot function is entered as often; libc's output path may differ
    # (wasmtime writes one iovec per fd_write, so writev loops), so only the hot one is compared.
    on_wasmtime = counts_on_wasmtime(counted, argv, tmp_path)
    hottest = max(on_wasmtime, key=on_wasmtime.__getitem__)
    assert ours[hottest] == on_wasmtime[hottest] > 1000  # fib's recursion, qsort's comparator


def test_outputs_are_valid_speedscope_collapsed_stacks_and_svg(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bench_program("fib")
    speedscope, collapsed, svg = tmp_path / "p.speedscope.json", tmp_path / "p.folded", tmp_path / "p.svg"
    assert (
        main(
            [
                "profile",
                "--speedscope",
                str(speedscope),
                "--collapsed",
                str(collapsed),
                "--svg",
                str(svg),
                str(path),
                "15",
            ]
        )
        == 0
    )
    table = capsys.readouterr().err
    document = json.loads(speedscope.read_text())
    assert document["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    profile = document["profiles"][0]
    assert profile["type"] == "evented" and profile["unit"] == "nanoseconds"
    frames = document["shared"]["frames"]
    open_frames: list[int] = []
    last = 0
    for event in profile["events"]:  # properly nested, in time order, inside [start, end]
        assert last <= event["at"] <= profile["endValue"]
        last = event["at"]
        if event["type"] == "O":
            open_frames.append(event["frame"])
        else:
            assert open_frames.pop() == event["frame"]
        assert 0 <= event["frame"] < len(frames)
    assert not open_frames
    if SCHEMA:
        jsonschema = pytest.importorskip("jsonschema")
        jsonschema.validate(document, json.loads(Path(SCHEMA).read_text()))
    opened = sum(1 for e in profile["events"] if e["type"] == "O")
    assert opened == sum(int(line.split()[0]) for line in table.splitlines()[1:-1])  # one O per call
    lines = collapsed.read_text().splitlines()
    assert lines and all(re.fullmatch(r"[^ ]+(;[^ ]+)* \d+", line) for line in lines)
    assert max(line.count(";") for line in lines) >= 10  # fib(15) recursion is deep
    root = ElementTree.fromstring(svg.read_text())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall(".//{http://www.w3.org/2000/svg}rect")) > 10


def test_a_caught_exception_closes_the_frames_it_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    collapsed = tmp_path / "stacks.txt"
    program = Path(__file__).parent / "programs" / "catch.wat"
    assert main(["profile", "--collapsed", str(collapsed), "--invoke", "run", str(program)]) == 0
    assert capsys.readouterr().out.strip() == "12"
    paths = {line.rsplit(" ", 1)[0] for line in collapsed.read_text().splitlines()}
    assert "$run;$after" in paths and "$run;$middle;$thrower" in paths
    assert not any(path.startswith("$run;$middle;$thrower;") for path in paths)
