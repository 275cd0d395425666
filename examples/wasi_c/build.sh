#!/bin/sh
# Rebuild wordcount.wasm from wordcount.c with zig's C compiler for WASI (pip install ziglang).
# -g keeps the name section (C function names in traces and the explorer) and DWARF; of DWARF only the
# line table (.debug_line: the C line of each instruction, shown by the explorer) is kept, the other
# .debug_* sections are dropped (the other sections copied byte for byte): ~780 KB down to ~190 KB.
set -eu
cd "$(dirname "$0")"
python -m ziglang cc -target wasm32-wasi -Os -g -o wordcount.wasm wordcount.c
python - <<'PY'
# Sections are copied byte for byte (DWARF addresses are offsets into the code section, so the code
# must not be re-encoded); custom sections named .debug_* other than the line table are left out.
from pathlib import Path

from wasmbox.binary.reader import Reader

path = Path("wordcount.wasm")
data = path.read_bytes()
kept = [data[:8]]
r = Reader(data, 8)
while not r.at_end():
    begin = r.pos
    section_id = r.byte()
    size = r.u32()
    end = r.pos + size
    name = r.name() if section_id == 0 else ""
    if not name.startswith(".debug") or name in (".debug_line", ".debug_line_str"):
        kept.append(data[begin:end])
    r.pos = end
path.write_bytes(b"".join(kept))
PY
