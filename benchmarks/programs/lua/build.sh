#!/bin/sh
# Build Lua 5.4.8's stand-alone interpreter (unmodified upstream sources, not kept in this repository) as a
# WASI preview 1 program.
#
#   LUA_SRC=DIR ./build.sh OUT.wasm   (DIR: lua-5.4.8/src of https://www.lua.org/ftp/lua-5.4.8.tar.gz,
#                                      default ~/.cache/wasmbox-bench/lua-5.4.8-src;
#                                      PYTHON: the Python with ziglang installed, default python3)
#
# Lua raises errors with setjmp/longjmp; on wasm32-wasi that is wasi-libc's setjmp over Wasm exception
# handling (try_table/throw, exnref: -wasm-use-legacy-eh=false), so the module needs a runtime with the
# exceptions proposal (wasmbox does; wasmtime-py with Config.wasm_exceptions).  lua.c's signal() and
# loslib's clock() come from wasi-libc's emulation libraries; wasi_compat.c stubs what WASI cannot do.
# DWARF is stripped (the name section is kept).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT.wasm}
src=${LUA_SRC:-$HOME/.cache/wasmbox-bench/lua-5.4.8-src}
[ -f "$src/lua.c" ] || { echo "build.sh: Lua 5.4.8 sources not found in $src (set LUA_SRC)" >&2; exit 1; }
sources="lapi.c lcode.c lctype.c ldebug.c ldo.c ldump.c lfunc.c lgc.c llex.c lmem.c lobject.c lopcodes.c
lparser.c lstate.c lstring.c ltable.c ltm.c lundump.c lvm.c lzio.c lauxlib.c lbaselib.c lcorolib.c ldblib.c
liolib.c lmathlib.c loadlib.c loslib.c lstrlib.c ltablib.c lutf8lib.c linit.c lua.c"
paths=""
for source in $sources; do paths="$paths $src/$source"; done
# shellcheck disable=SC2086
"${PYTHON:-python3}" -m ziglang cc -target wasm32-wasi -O2 -std=gnu99 \
    -mexception-handling -mllvm -wasm-enable-sjlj -mllvm -wasm-use-legacy-eh=false \
    -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS -DL_tmpnam=32 \
    -Wno-deprecated-declarations \
    -o "$out" $paths "$here/wasi_compat.c" "$here/c_longjmp_tag.S" \
    -lwasi-emulated-signal -lwasi-emulated-process-clocks -Wl,--strip-debug
