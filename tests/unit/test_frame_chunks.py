"""The block kept in front of CPython's arena allocator (``runtime.frame_chunks``): a call across the end
of a frame chunk maps nothing, the kept block goes to the next request of its size only, and every
instance puts it in place."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from wasmbox.runtime import frame_chunks

pytestmark = pytest.mark.skipif(
    not frame_chunks._applies(), reason="frame_chunks applies to CPython 3.11 on x86-64 Linux only"
)

# Calls of a small function from every depth up to ~4,000 frame slots (a chunk is 2,048): at one depth
# at least each call needs a new chunk.  Minor page faults counted per depth; the most is printed.
PROBE = textwrap.dedent(
    """
    import resource, sys
    from wasmbox.runtime import frame_chunks

    if sys.argv[1] == "install":
        assert frame_chunks.install()

    def leaf():
        return None

    def probe(depth, calls):
        if depth:
            return probe(depth - 1, calls)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(calls):
            leaf()
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    print(max(probe(depth, 2000) for depth in range(400)))
    """
)


def _most_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_a_call_across_a_chunk_end_maps_a_new_chunk_each_time_without_it() -> None:
    # The behaviour the module exists for: a fresh chunk (a page fault at least) at every call.
    assert _most_faults("leave") >= 1000


def test_a_call_across_a_chunk_end_maps_nothing_with_it() -> None:
    assert _most_faults("install") <= 50


class _Allocator(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("alloc", ctypes.c_void_p), ("free", ctypes.c_void_p)]


def _current_allocator() -> tuple[int, Any, Any]:
    get = ctypes.pythonapi.PyObject_GetArenaAllocator
    get.argtypes = [ctypes.POINTER(_Allocator)]
    get.restype = None
    found = _Allocator()
    get(ctypes.byref(found))
    alloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)(found.alloc)
    free = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)(found.free)
    return found.ctx or 0, alloc, free


def test_the_kept_block_goes_to_the_next_request_of_its_size_only() -> None:
    assert frame_chunks.install()
    ctx, alloc, free = _current_allocator()
    # Read where the code keeps it, without a Python call between the steps (a call could need a
    # chunk itself, at the wrong depth, and take or leave a block); a block kept already (of any
    # size) is taken out first, and given back at the end.
    kept = ctypes.c_uint64.from_address(frame_chunks._state_address + 8 * frame_chunks._KEPT)
    kept_size = ctypes.c_uint64.from_address(frame_chunks._state_address + 8 * frame_chunks._KEPT_SIZE)
    earlier, earlier_size = kept.value, kept_size.value
    if earlier:
        assert alloc(ctx, earlier_size) == earlier
    assert kept.value == 0
    chunk = 16 * 1024
    block = alloc(ctx, chunk)
    assert block
    ctypes.memset(block, 0x5A, chunk)  # writable memory of the size asked for
    free(ctx, block, chunk)
    assert kept.value == block
    other = alloc(ctx, 2 * chunk)  # another size: a block of its own, the kept one stays
    assert other and other != block
    assert kept.value == block
    free(ctx, other, 2 * chunk)  # one is kept already: this one goes back
    assert kept.value == block
    again = alloc(ctx, chunk)
    assert again == block
    assert kept.value == 0
    large = alloc(ctx, 1 << 20)  # an arena of the object allocator: never kept
    free(ctx, large, 1 << 20)
    assert kept.value == 0
    free(ctx, again, chunk)
    if earlier:
        free(ctx, earlier, earlier_size)


def test_every_instance_puts_it_in_place_unless_turned_off() -> None:
    script = textwrap.dedent(
        """
        import wasmbox
        from wasmbox.runtime import frame_chunks

        assert not frame_chunks.installed()
        store = wasmbox.Store("baseline")
        wasmbox.Instance(store, wasmbox.Module('(module (func (export "f") (result i32) i32.const 7))'), [])
        print(frame_chunks.installed())
        """
    )
    for setting, expected in (("1", "True"), ("0", "False")):
        environment = dict(os.environ, WASMBOX_FRAME_CHUNKS=setting)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == expected
