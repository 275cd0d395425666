"""The C stack of the running thread: where it ends and how much of it is left.

Why wasmbox needs this: CPython 3.11 runs a Python-to-Python call without a
C frame, so a wasm call on the Python engines costs heap, not C stack, but a
crossing between wasm and the host (a host function, a call back into wasm,
a ctypes callback from machine code) costs real C stack, and machine code
uses the C stack for every frame.  A process whose C stack overflows dies
with a segmentation fault, which a sandbox must never allow, whatever depth
limit the store was given and whatever stack the calling thread has (threads
may be made with a few hundred KiB).  So every entry into wasm checks how
much of *this* thread's stack is left, and machine code gets the real lowest
address it may use.

The stack pointer is read with four bytes of machine code on x86-64 and
AArch64 (``mov rax, rsp; ret`` / ``mov x0, sp; ret``, mapped executable once)
and, elsewhere on Linux, from ``dl_iterate_phdr``, which hands its callback a
pointer to a structure on its own stack frame.  The thread's stack bounds come
from ``pthread_getattr_np``.  Where neither works, ``available()`` is None and
callers fall back to the store's limits alone.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import threading
from collections.abc import Callable

# x86-64: 48 89 e0 = mov rax, rsp; c3 = ret.  AArch64: e0 03 00 91 = mov x0, sp; c0 03 5f d6 = ret.
_READ_SP_CODE = {
    "x86_64": bytes.fromhex("4889e0c3"),
    "amd64": bytes.fromhex("4889e0c3"),
    "aarch64": bytes.fromhex("e0030091c0035fd6"),
    "arm64": bytes.fromhex("e0030091c0035fd6"),
}


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None)  # the process's own symbols: libc's among them
    except OSError:
        return None


_LIBC = _libc()


def _machine_code_reader() -> Callable[[], int] | None:
    code = _READ_SP_CODE.get(os.uname().machine.lower())
    if code is None or _LIBC is None or not hasattr(_LIBC, "mprotect"):
        return None
    try:
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        page.write(code)
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        mprotect = _LIBC.mprotect
        mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        if mprotect(address, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
            return None
    except (OSError, ValueError, TypeError):
        return None
    read = ctypes.CFUNCTYPE(ctypes.c_void_p)(address)
    read.page = page  # type: ignore[attr-defined]  # the mapping lives as long as the reader
    return read  # type: ignore[no-any-return]


def _phdr_reader() -> Callable[[], int] | None:
    if _LIBC is None or not hasattr(_LIBC, "dl_iterate_phdr"):
        return None
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
    found = threading.local()

    def record(info: int, size: int, data: int) -> int:
        found.address = info
        return 1  # stop after the first object

    callback = callback_type(record)
    iterate = _LIBC.dl_iterate_phdr
    iterate.argtypes = [callback_type, ctypes.c_void_p]

    def read() -> int:
        iterate(callback, None)
        return int(found.address)

    read.callback = callback  # type: ignore[attr-defined]
    return read


def _reader() -> Callable[[], int] | None:
    for make in (_machine_code_reader, _phdr_reader):
        reader = make()
        if reader is None:
            continue
        try:
            first = reader()
        except (OSError, ValueError, AttributeError):
            continue
        if first:
            return reader
    return None


_read_stack_pointer = _reader()


def stack_pointer() -> int | None:
    """About where the C stack of this thread is now (within a few hundred bytes), or None."""
    return None if _read_stack_pointer is None else _read_stack_pointer()


class _Bounds(threading.local):
    low: int | None = None
    high: int = 0


_bounds = _Bounds()


def _thread_bounds() -> tuple[int, int] | None:
    """(lowest, highest) address of this thread's stack, from pthread_getattr_np."""
    if _LIBC is None or not hasattr(_LIBC, "pthread_getattr_np"):
        return None
    attributes = ctypes.create_string_buffer(256)  # pthread_attr_t: 56 or 64 bytes on Linux
    _LIBC.pthread_self.restype = ctypes.c_void_p
    if _LIBC.pthread_getattr_np(ctypes.c_void_p(_LIBC.pthread_self()), attributes) != 0:
        return None
    try:
        address, size = ctypes.c_void_p(), ctypes.c_size_t()
        if _LIBC.pthread_attr_getstack(attributes, ctypes.byref(address), ctypes.byref(size)) != 0:
            return None
    finally:
        _LIBC.pthread_attr_destroy(attributes)
    if not address.value or not size.value:
        return None
    return address.value, address.value + size.value


def _low_for(here: int) -> int | None:
    low = _bounds.low
    if low is None or not low <= here <= _bounds.high:
        # First use on this thread (or a new thread that reuses an old one's stack).
        bounds = _thread_bounds()
        if bounds is None or not bounds[0] <= here <= bounds[1]:
            return None
        _bounds.low, _bounds.high = bounds
        low = bounds[0]
    return low


def stack_low() -> int | None:
    """The lowest address of this thread's stack (cached per thread), or None when unknown."""
    here = stack_pointer()
    return None if here is None else _low_for(here)


def available() -> int | None:
    """Bytes of C stack left below the current frame on this thread, or None when unknown."""
    here = stack_pointer()
    if here is None:
        return None
    low = _low_for(here)
    return None if low is None else here - low
