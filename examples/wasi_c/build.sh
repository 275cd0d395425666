#!/bin/sh
# Rebuild wordcount.wasm from wordcount.c with zig's C compiler for WASI (pip install ziglang).
# -g keeps the name section (C function names in traces and the explorer); wasmbox does not read
# DWARF, so the .debug_* sections are dropped afterwards (with wasmbox's own decoder and encoder),
# which takes the module from ~780 KB to ~25 KB.
set -eu
cd "$(dirname "$0")"
python -m ziglang cc -target wasm32-wasi -Os -g -o wordcount.wasm wordcount.c
python - <<'PY'
from pathlib import Path

from wasmbox.binary.decode import decode_module
from wasmbox.binary.encode import encode_module

path = Path("wordcount.wasm")
module = decode_module(path.read_bytes())
module.customs = [c for c in module.customs if not c.name.startswith(".debug")]
path.write_bytes(encode_module(module))
PY
