"""Capturing a WASI program's output (and feeding its input) in memory.

``WasiConfig`` takes binary streams for stdin, stdout and stderr: here the C word counter
(examples/wasi_c) reads bytes given by the host and writes into an ``io.BytesIO``; nothing
touches the terminal.  The calories puzzle (examples/calories) prints its answer the same way.

    python examples/embedding/capture_output.py
"""

from __future__ import annotations

import io
from pathlib import Path

from wasmbox import Linker, Module, Store
from wasmbox.errors import WasiExit
from wasmbox.wasi import WasiConfig

EXAMPLES = Path(__file__).resolve().parents[1]


def run(path: Path, stdin: bytes = b"") -> str:
    stdout = io.BytesIO()
    linker = Linker(Store())
    wasi = linker.define_wasi(WasiConfig(argv=[path.name], stdin=stdin, stdout=stdout, stderr=io.BytesIO()))
    try:
        linker.instantiate(Module.from_file(path)).exports["_start"]()
    except WasiExit as exit_:
        if exit_.code != 0:
            raise
    finally:
        wasi.close()
    return stdout.getvalue().decode()


def main() -> None:
    text = b"WebAssembly is a binary instruction format\nfor a stack-based virtual machine\n"
    print("wordcount captured:", run(EXAMPLES / "wasi_c" / "wordcount.wasm", text), end="")
    print("calories captured:", run(EXAMPLES / "calories" / "calories.wat"), end="")


if __name__ == "__main__":
    main()
