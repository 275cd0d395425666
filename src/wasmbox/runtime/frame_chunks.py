"""Keeping CPython's frame stack from mapping and unmapping memory at every call across a chunk's end.

Why: CPython 3.11 and 3.12 keep Python frames in per-thread chunks of 16 KiB (more for a frame that
needs it), mapped from the OS when a call does not fit in the current chunk and unmapped again as
soon as that call returns.  A program whose depth goes up and down across a chunk's end (a loop
calling one function, exactly there) pays an ``mmap``, a page fault and a ``munmap`` at every call:
several microseconds each instead of a fraction of one.  The Python engines run wasm calls as
Python calls, deep stacks and hot loops being what programs are made of, so they meet it often:
Lua's interpreter running a short script crossed a chunk's end ~33,000 times (0.73 s of system
calls under strace), and every one of its functions the quick compiler made in that state took
five times as long as the same compilation elsewhere.

What: CPython maps the chunks through its *arena allocator*, which ``PyObject_SetArenaAllocator``
lets a program replace.  ``install`` puts in front of it two small machine-code functions that keep
the last freed block of at most ``KEPT_AT_MOST`` bytes (a frame chunk: the object allocator's arenas
are larger and pass straight through) and hand it out again to the next request of the same size;
everything else goes to the allocator that was there, which frees every block it made.  A chunk's
memory need not be zeroed: CPython initializes every frame it puts in one (it reuses the memory of
returned frames within a chunk all the time).

The functions are machine code, not ctypes callbacks, because the allocator may not call Python (it
runs while objects are being made and freed); they run with the GIL held, as every caller of the
arena allocator does, so the one kept block needs no lock.  Only on x86-64 (Linux), and only for
CPython 3.11, the version it was measured and tested on, whose arena users (frame chunks, the object
allocator's arenas) are known here: 3.12 frees chunks the same way as far as its sources say, but has
not run it (later versions are left alone); ``WASMBOX_FRAME_CHUNKS=0`` leaves it out anywhere.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import struct
import sys
import threading

# The largest block kept: frame chunks are 16 KiB (32-128 KiB for rare huge frames); the object
# allocator's arenas (256 KiB or 1 MiB) are never kept.
KEPT_AT_MOST = 128 * 1024


class _ArenaAllocator(ctypes.Structure):
    """CPython's ``PyObjectArenaAllocator``."""

    _fields_ = [("ctx", ctypes.c_void_p), ("alloc", ctypes.c_void_p), ("free", ctypes.c_void_p)]


# The state the code reads and writes, 8-byte fields: the allocator in front of which it sits (its
# context, alloc and free), then the kept block and its size (0: none kept).
_PREVIOUS_CTX, _PREVIOUS_ALLOC, _PREVIOUS_FREE, _KEPT, _KEPT_SIZE = range(5)


def _code(state: int) -> tuple[bytes, int]:
    """The two functions (x86-64, System V), each beginning by loading ``state``'s address into RAX;
    (the code, the free function's offset).  Assembled with ``llvm-mc -triple=x86_64`` from::

        alloc:  movabs rax, STATE               ; alloc(ctx=rdi, size=rsi)
                mov rdx, [rax+24]               ; the kept block
                test rdx, rdx
                je .new
                cmp rsi, [rax+32]               ; of the size asked for?
                jne .new
                mov qword ptr [rax+24], 0       ; handed out: none kept now
                mov rax, rdx
                ret
        .new:   mov rdi, [rax]                  ; the previous allocator's context ...
                jmp qword ptr [rax+8]           ; ... and its alloc(ctx, size): a tail call
        free:   movabs rax, STATE               ; free(ctx=rdi, ptr=rsi, size=rdx)
                cmp qword ptr [rax+24], 0       ; one kept already?
                jne .give_back
                cmp rdx, KEPT_AT_MOST
                ja .give_back
                mov [rax+24], rsi               ; keep it
                mov [rax+32], rdx
                ret
        .give_back:
                mov rdi, [rax]
                jmp qword ptr [rax+16]          ; the previous free(ctx, ptr, size)
    """
    address = struct.pack("<Q", state)
    alloc = (
        b"\x48\xb8"
        + address
        + bytes.fromhex("488b50184885d27412483b7020750c48c74018000000004889d0c3")
        + bytes.fromhex("488b38ff6008")
    )
    free = (
        b"\x48\xb8"
        + address
        + bytes.fromhex("48837818007512")
        + b"\x48\x81\xfa"
        + struct.pack("<I", KEPT_AT_MOST)
        + bytes.fromhex("77094889701848895020c3")
        + bytes.fromhex("488b38ff6010")
    )
    return alloc + free, len(alloc)


def _applies() -> bool:
    return (
        os.environ.get("WASMBOX_FRAME_CHUNKS", "1") != "0"
        and sys.implementation.name == "cpython"
        and sys.version_info[:2] == (3, 11)  # (see the module's docstring; with the GIL)
        and sys.platform == "linux"
        and os.uname().machine.lower() in ("x86_64", "amd64")
    )


_lock = threading.Lock()
_state_address = 0  # the code's state, once installed (mapped for the rest of the process: see _install)


def installed() -> bool:
    return bool(_state_address)


def install() -> bool:
    """Put the block-keeping functions in front of CPython's arena allocator (once per process);
    whether they are there.  Never raises: without them Python runs as it always does."""
    if _state_address:
        return True
    with _lock:
        if _state_address:
            return True
        if not _applies():
            return False
        try:
            return _install()
        except (OSError, ValueError, AttributeError, TypeError):
            return False


def _install() -> bool:
    global _state_address
    api = ctypes.pythonapi
    get, put = api.PyObject_GetArenaAllocator, api.PyObject_SetArenaAllocator
    get.argtypes = put.argtypes = [ctypes.POINTER(_ArenaAllocator)]
    get.restype = put.restype = None
    previous = _ArenaAllocator()
    get(ctypes.byref(previous))
    if not previous.alloc or not previous.free:
        return False
    # Two pages that stay mapped until the process ends (the allocator is called during the
    # interpreter's finalization, after every Python object has gone): the code, then its state.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page = mmap.PAGESIZE
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    base = libc.mmap(None, 2 * page, mmap.PROT_READ | mmap.PROT_WRITE, flags, -1, 0)
    if base in (None, ctypes.c_void_p(-1).value):
        return False
    state = base + page
    fields = ctypes.cast(state, ctypes.POINTER(ctypes.c_uint64))
    fields[_PREVIOUS_CTX] = previous.ctx or 0
    fields[_PREVIOUS_ALLOC] = previous.alloc
    fields[_PREVIOUS_FREE] = previous.free
    code, free_at = _code(state)
    ctypes.memmove(base, code, len(code))
    if libc.mprotect(base, page, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
        return False  # (the two pages stay: a process fails this once at most)
    put(ctypes.byref(_ArenaAllocator(previous.ctx, base, base + free_at)))
    _state_address = state
    return True
