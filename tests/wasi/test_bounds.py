"""Host calls stay bounded however large the guest's arguments: paths, iovec counts, long loops.

A path of PATH_MAX (4096) bytes or more is ENAMETOOLONG before its bytes are
read; more than IOV_MAX (1024) iovecs is EINVAL; and calls whose work grows
with what the guest controls (poll subscriptions, directory listings, path
walks, random bytes) check the store's stop flag as they go, so a deadline or
``interrupt()`` ends them with the same trap the engine raises.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wasmbox import Linker, Module, Store
from wasmbox.errors import Trap
from wasmbox.ir.types import Limits, MemoryType
from wasmbox.runtime.memory import MemoryInstance
from wasmbox.runtime.sandbox import Sandbox
from wasmbox.wasi import WasiConfig, WasiInstance
from wasmbox.wasi.abi import (
    EINVAL,
    ENAMETOOLONG,
    EVENTTYPE_FD_READ,
    MODULE,
    SUBSCRIPTION,
    SUCCESS,
    rights,
)
from wasmbox.wasi.guest import GuestMemory

PATH_MAX = 4096  # Linux's, counting the NUL: the longest path has 4095 bytes
IOV_MAX = 1024  # Linux's and wasi-libc's
PAGE = 65536
HUGE = 7 << 20  # the 7 MB path that once kept a call ten seconds past its deadline
FILE_NAME_AT = HUGE + 16  # "file.txt", a valid path for the other argument of two-path calls
SCRATCH = HUGE + 64  # result pointers


class Guest:
    """A WasiInstance bound to a bare memory, its functions called as a guest would."""

    def __init__(self, root: Path, pages: int, sandbox: Sandbox | None = None) -> None:
        config = WasiConfig(stdin=b"", stdout=io.BytesIO(), stderr=io.BytesIO(), preopens={"/work": str(root)})
        self.wasi = WasiInstance(config, sandbox)
        self.memory = MemoryInstance(MemoryType(Limits(pages, pages)))
        self.wasi.bind(self.memory)
        imports = self.wasi.imports().items()
        self.calls = {name: function.code for (module, name), function in imports if module == MODULE}

    def __getattr__(self, name: str) -> Callable[..., int]:
        return self.calls[name]  # type: ignore[no-any-return]

    def write(self, address: int, data: bytes) -> None:
        self.memory.view[address : address + len(data)] = data


@pytest.fixture
def guest(tmp_path: Path) -> Iterator[Guest]:
    (tmp_path / "file.txt").write_text("hello")
    (tmp_path / "sub").mkdir()
    guest = Guest(tmp_path, HUGE // PAGE + 2)
    guest.write(0, b"sub/../" * (HUGE // 7))
    guest.write(FILE_NAME_AT, b"file.txt")
    yield guest
    guest.wasi.close()


def path_calls(length: int) -> dict[str, Callable[[Guest], int]]:
    """Every path argument of every call, given ``length`` bytes at address 0 (the others valid)."""
    p, f, out = 0, FILE_NAME_AT, SCRATCH
    return {
        "path_open": lambda g: g.path_open(3, 0, p, length, 0, 0, 0, 0, out),
        "path_create_directory": lambda g: g.path_create_directory(3, p, length),
        "path_filestat_get": lambda g: g.path_filestat_get(3, 0, p, length, out),
        "path_filestat_set_times": lambda g: g.path_filestat_set_times(3, 0, p, length, 0, 0, 0),
        "path_link source": lambda g: g.path_link(3, 0, p, length, 3, f, 8),
        "path_link destination": lambda g: g.path_link(3, 0, f, 8, 3, p, length),
        "path_readlink": lambda g: g.path_readlink(3, p, length, out, 16, out + 16),
        "path_remove_directory": lambda g: g.path_remove_directory(3, p, length),
        "path_rename source": lambda g: g.path_rename(3, p, length, 3, f, 8),
        "path_rename destination": lambda g: g.path_rename(3, f, 8, 3, p, length),
        "path_symlink contents": lambda g: g.path_symlink(p, length, 3, f, 8),
        "path_symlink path": lambda g: g.path_symlink(f, 8, 3, p, length),
        "path_unlink_file": lambda g: g.path_unlink_file(3, p, length),
    }


@pytest.mark.parametrize("call", sorted(path_calls(0)))
@pytest.mark.parametrize("length", [PATH_MAX, HUGE, 0xFFFFFFF0])
def test_a_path_from_path_max_on_is_refused_before_it_is_read(
    guest: Guest, call: str, length: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[int] = []
    original = GuestMemory.string
    monkeypatch.setattr(GuestMemory, "string", lambda self, a, n: read.append(n) or original(self, a, n))
    assert path_calls(length)[call](guest) == ENAMETOOLONG
    assert set(read) <= {8}  # at most the other, valid argument ("file.txt") was read


def test_a_path_one_byte_shorter_is_walked(guest: Guest) -> None:
    path = b"./" * ((PATH_MAX - 1 - len(b"file.txt")) // 2) + b"/file.txt"
    assert len(path) == PATH_MAX - 1
    guest.write(0, path)
    assert guest.path_filestat_get(3, 0, 0, len(path), SCRATCH) == SUCCESS


def test_more_than_iov_max_buffers_is_einval_before_any_is_looked_at(guest: Guest) -> None:
    wanted = rights("fd_read", "fd_write", "fd_seek")
    assert guest.path_open(3, 0, FILE_NAME_AT, 8, 0, wanted, 0, 0, SCRATCH) == SUCCESS
    fd = int(struct.unpack_from("<I", guest.memory.view, SCRATCH)[0])
    guest.write(SCRATCH, struct.pack("<II", FILE_NAME_AT, 1) * IOV_MAX)
    assert guest.fd_write(fd, SCRATCH, IOV_MAX, SCRATCH - 8) == SUCCESS
    for count in (IOV_MAX + 1, 1 << 19, 0xFFFFFFFF):  # 1 << 19 iovecs lie in memory; 0xFFFFFFFF do not
        assert guest.fd_write(fd, 0, count, SCRATCH - 8) == EINVAL
        assert guest.fd_read(fd, 0, count, SCRATCH - 8) == EINVAL
        assert guest.fd_pwrite(fd, 0, count, 0, SCRATCH - 8) == EINVAL
        assert guest.fd_pread(fd, 0, count, 0, SCRATCH - 8) == EINVAL


# --- long loops check the store's stop flag ---------------------------------------------------------
STOPPED = "deadline exceeded"


@pytest.fixture
def stopped(tmp_path: Path) -> Iterator[tuple[Guest, Sandbox]]:
    """A guest whose store has been told to stop (as a deadline does while a call runs)."""
    (tmp_path / "file.txt").write_text("hello")
    (tmp_path / "sub").mkdir()
    sandbox = Sandbox(interruptible=True)
    guest = Guest(tmp_path, 80, sandbox)
    guest.write(0, b"file.txt")
    yield guest, sandbox
    guest.wasi.close()


def open_file(guest: Guest) -> int:
    wanted = rights("fd_read", "poll_fd_readwrite")
    assert guest.path_open(3, 0, 0, 8, 0, wanted, 0, 0, 64) == SUCCESS
    return int(struct.unpack_from("<I", guest.memory.view, 64)[0])


def poll_many(guest: Guest, count: int) -> int:
    subscription = SUBSCRIPTION.pack(7, EVENTTYPE_FD_READ, struct.pack("<I", open_file(guest)).ljust(32, b"\0"))
    guest.write(1024, subscription * count)
    return guest.poll_oneoff(1024, 1024 + count * SUBSCRIPTION.size, count, 128)


def test_poll_with_many_subscriptions_stops(stopped: tuple[Guest, Sandbox]) -> None:
    guest, sandbox = stopped
    assert poll_many(guest, 4) == SUCCESS  # a short call does not look
    sandbox.stop = STOPPED
    with pytest.raises(Trap, match=STOPPED):
        poll_many(guest, 4096)


def test_listing_a_large_directory_stops(stopped: tuple[Guest, Sandbox], tmp_path: Path) -> None:
    guest, sandbox = stopped
    for index in range(3000):
        (tmp_path / "sub" / f"entry{index}").touch()
    guest.write(1000, b"sub")
    assert guest.path_open(3, 0, 1000, 3, 2, rights("fd_readdir"), 0, 0, 64) == SUCCESS  # oflags::directory
    directory = int(struct.unpack_from("<I", guest.memory.view, 64)[0])
    assert guest.fd_readdir(directory, 2048, 64, 0, 128) == SUCCESS
    sandbox.stop = STOPPED
    with pytest.raises(Trap, match=STOPPED):
        guest.fd_readdir(directory, 2048, 64, 0, 128)  # cookie 0: the listing is read again
    sandbox.stop = None
    assert guest.fd_readdir(directory, 2048, 1 << 20, 0, 128) == SUCCESS
    sandbox.stop = STOPPED
    with pytest.raises(Trap, match=STOPPED):
        guest.fd_readdir(directory, 2048, 1 << 20, 5, 128)  # the kept listing, written out at length


def test_a_long_path_walk_stops(stopped: tuple[Guest, Sandbox]) -> None:
    guest, sandbox = stopped
    path = b"sub/../" * 500 + b"file.txt"
    guest.write(4096, path)
    assert guest.path_filestat_get(3, 0, 4096, len(path), 2048) == SUCCESS
    sandbox.stop = STOPPED
    with pytest.raises(Trap, match=STOPPED):
        guest.path_filestat_get(3, 0, 4096, len(path), 2048)


def test_drawing_megabytes_of_randomness_stops(stopped: tuple[Guest, Sandbox]) -> None:
    guest, sandbox = stopped
    sandbox.stop = STOPPED
    assert guest.random_get(0, 4096) == SUCCESS
    with pytest.raises(Trap, match=STOPPED):
        guest.random_get(0, 4 << 20)


POLLER = """(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 300)
  (data (i32.const 0) "file.txt")
  (func (export "poll") (param $count i32) (result i32)
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 0)
      (i64.const 0x8000002) (i64.const 0) (i32.const 0) (i32.const 64)))  ;; fd_read | poll_fd_readwrite
    (call $poll (i32.const 1024) (i32.const 12000000) (local.get $count) (i32.const 128))))"""


def test_a_deadline_ends_poll_oneoff_reading_many_subscriptions(tmp_path: Path) -> None:
    """200,000 subscriptions on a file take the host seconds to answer; the deadline is 50 ms."""
    (tmp_path / "file.txt").write_text("hello")
    count = 200_000
    linker = Linker(Store(deadline=0.05))
    wasi = linker.define_wasi(WasiConfig(stdout=io.BytesIO(), preopens={"/work": str(tmp_path)}))
    instance = linker.instantiate(Module(POLLER))
    file_fd = 4  # the lowest free number after stdio and the preopen
    subscription = SUBSCRIPTION.pack(7, EVENTTYPE_FD_READ, struct.pack("<I", file_fd).ljust(32, b"\0"))
    instance.exports["memory"].write(1024, subscription * count)
    with pytest.raises(Trap, match="deadline exceeded"):
        instance.exports["poll"](count)
    wasi.close()


STATTER = """(module
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $stat (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 120)
  (func (export "stat") (param $length i32) (result i32)
    (call $stat (i32.const 3) (i32.const 0) (i32.const 64) (local.get $length) (i32.const 0))))"""


def test_a_seven_megabyte_path_answers_at_once_under_a_deadline(tmp_path: Path) -> None:
    """Walking "sub/../" a million times took ten seconds past a one-second deadline."""
    (tmp_path / "sub").mkdir()
    linker = Linker(Store(deadline=1.0))
    wasi = linker.define_wasi(WasiConfig(stdout=io.BytesIO(), preopens={"/work": str(tmp_path)}))
    instance = linker.instantiate(Module(STATTER))
    instance.exports["memory"].write(64, b"sub/../" * (HUGE // 7))
    assert instance.exports["stat"](HUGE // 7 * 7) == ENAMETOOLONG
    wasi.close()


RECEIVER = """(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\\00\\01\\00\\00\\04\\00\\00\\00")  ;; one iovec: 4 bytes at 256
  (func (export "receive_all") (result i32)
    (drop (call $accept (i32.const 3) (i32.const 0) (i32.const 16)))
    (call $recv (i32.load (i32.const 16)) (i32.const 0) (i32.const 1) (i32.const 2) (i32.const 20) (i32.const 24))))"""


def test_a_deadline_ends_a_receive_waiting_for_all_its_bytes() -> None:
    """MSG_WAITALL for 4 bytes from a peer that sent 2 and waits: the kernel alone would wait with it."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def peer() -> None:
        with socket.create_connection(listener.getsockname(), timeout=30) as client:
            client.sendall(b"ab")
            done.wait(30)

    thread = threading.Thread(target=peer)
    thread.start()
    linker = Linker(Store(deadline=0.2))
    wasi = linker.define_wasi(WasiConfig(stdout=io.BytesIO(), sockets=[listener]))
    instance = linker.instantiate(Module(RECEIVER))
    try:
        with pytest.raises(Trap, match="deadline exceeded"):
            instance.exports["receive_all"]()
    finally:
        done.set()
        thread.join(30)
        wasi.close()


def test_a_receive_waiting_for_all_its_bytes_under_a_deadline_still_gets_them_all() -> None:
    import socket
    import threading
    import time

    listener = socket.create_server(("127.0.0.1", 0))

    def peer() -> None:
        with socket.create_connection(listener.getsockname(), timeout=30) as client:
            client.sendall(b"ab")
            time.sleep(0.1)  # whether or not the guest is already waiting, it must get all four bytes
            client.sendall(b"cd")

    thread = threading.Thread(target=peer)
    thread.start()
    linker = Linker(Store(deadline=30))
    wasi = linker.define_wasi(WasiConfig(stdout=io.BytesIO(), sockets=[listener]))
    instance = linker.instantiate(Module(RECEIVER))
    try:
        assert instance.exports["receive_all"]() == SUCCESS
        memory = instance.exports["memory"]
        assert memory.read(256, 4) == b"abcd" and memory.read(20, 4) == (4).to_bytes(4, "little")
    finally:
        thread.join(30)
        wasi.close()
