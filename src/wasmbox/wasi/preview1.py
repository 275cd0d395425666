"""The ``wasi_snapshot_preview1`` host module: configuration and the calls' wiring.

``WasiInstance`` gathers the call families (``fd_calls``, ``path_calls``,
``poll_calls``) and the small ones that need no descriptor (args, environ,
clocks, random, proc, sched).  Every call runs inside one guard that turns
what went wrong into the errno the guest sees: ``WasiError`` carries its own,
a bad pointer is EFAULT, a host ``OSError`` maps by name, so a misbehaving
guest meets error numbers, never Python exceptions.
"""

from __future__ import annotations

import io
import os
import signal
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import Trap, WasiExit
from ..ir.types import I32, I64, FuncType
from ..records import field, record
from ..runtime.memory import MemoryInstance
from ..runtime.objects import FunctionInstance
from ..runtime.sandbox import Sandbox
from .abi import (
    DIRECTORY_RIGHTS,
    EFAULT,
    EINVAL,
    ERRNO,
    FILE_RIGHTS,
    FILETYPE,
    MODULE,
    SIGNAL_NAMES,
    SOCKET_RIGHTS,
    STREAM_RIGHTS,
    SUCCESS,
    WRITE_RIGHTS,
    WasiError,
    errno_from_os,
)
from .blocking import Waits
from .descriptors import Descriptor, DescriptorTable, filetype_of_mode
from .fd_calls import FdCalls
from .guest import Fault, GuestMemory
from .path_calls import PathCalls
from .poll_calls import PollCalls, clock_now

if TYPE_CHECKING:
    import socket  # only its type: the sockets are the embedder's

# Every preview-1 function and its core signature (params, results): i = i32, I = i64.
SIGNATURES: dict[str, tuple[str, str]] = {
    "args_get": ("ii", "i"),
    "args_sizes_get": ("ii", "i"),
    "environ_get": ("ii", "i"),
    "environ_sizes_get": ("ii", "i"),
    "clock_res_get": ("ii", "i"),
    "clock_time_get": ("iIi", "i"),
    "fd_advise": ("iIIi", "i"),
    "fd_allocate": ("iII", "i"),
    "fd_close": ("i", "i"),
    "fd_datasync": ("i", "i"),
    "fd_fdstat_get": ("ii", "i"),
    "fd_fdstat_set_flags": ("ii", "i"),
    "fd_fdstat_set_rights": ("iII", "i"),
    "fd_filestat_get": ("ii", "i"),
    "fd_filestat_set_size": ("iI", "i"),
    "fd_filestat_set_times": ("iIIi", "i"),
    "fd_pread": ("iiiIi", "i"),
    "fd_prestat_get": ("ii", "i"),
    "fd_prestat_dir_name": ("iii", "i"),
    "fd_pwrite": ("iiiIi", "i"),
    "fd_read": ("iiii", "i"),
    "fd_readdir": ("iiiIi", "i"),
    "fd_renumber": ("ii", "i"),
    "fd_seek": ("iIii", "i"),
    "fd_sync": ("i", "i"),
    "fd_tell": ("ii", "i"),
    "fd_write": ("iiii", "i"),
    "path_create_directory": ("iii", "i"),
    "path_filestat_get": ("iiiii", "i"),
    "path_filestat_set_times": ("iiiiIIi", "i"),
    "path_link": ("iiiiiii", "i"),
    "path_open": ("iiiiiIIii", "i"),
    "path_readlink": ("iiiiii", "i"),
    "path_remove_directory": ("iii", "i"),
    "path_rename": ("iiiiii", "i"),
    "path_symlink": ("iiiii", "i"),
    "path_unlink_file": ("iii", "i"),
    "poll_oneoff": ("iiii", "i"),
    "proc_exit": ("i", ""),
    "proc_raise": ("i", "i"),
    "sched_yield": ("", "i"),
    "random_get": ("ii", "i"),
    "sock_accept": ("iii", "i"),
    "sock_recv": ("iiiiii", "i"),
    "sock_send": ("iiiii", "i"),
    "sock_shutdown": ("ii", "i"),
}
_TYPES = {"i": I32, "I": I64}
_CLOCK_IDS = (time.CLOCK_REALTIME, time.CLOCK_MONOTONIC, time.CLOCK_PROCESS_CPUTIME_ID, time.CLOCK_THREAD_CPUTIME_ID)
# Signals whose default action is to do nothing ("Action: Ignored" in the witx; "cont" continues a
# process that is running); the rest end the guest.
_IGNORED_SIGNALS = {"none", "pipe", "chld", "cont", "urg", "winch"}
_RANDOM_SLICE = 1 << 20  # bytes of randomness drawn between two checks of the store's stop flag


@record(frozen=True)
class Preopen:
    """A host directory granted to the guest; ``read_only`` withholds every right that changes anything."""

    host: str | os.PathLike[str]
    read_only: bool = False


@record
class WasiConfig:
    """What a guest may see of the host.

    ``preopens`` maps guest names to host directories (a path or a
    ``Preopen``); nothing outside them is reachable.  ``stdin`` may be bytes
    or a binary stream (with ``read``); ``stdout`` and ``stderr`` binary
    streams (with ``write``), such as ``io.BytesIO()`` or ``sys.stdout.buffer``;
    ``None`` for any stdio stream inherits the host process's own file
    descriptor.  Anything else (a text stream, a path) is a ``TypeError`` here,
    when the configuration is made, not at the guest's first write.
    ``sockets`` are listening sockets the guest may ``sock_accept`` on; they
    follow the preopened directories.
    """

    argv: Sequence[str] = ("main",)
    env: Mapping[str, str] = field(default_factory=dict)
    preopens: Mapping[str, str | os.PathLike[str] | Preopen] = field(default_factory=dict)
    stdin: BinaryIO | bytes | None = None
    stdout: BinaryIO | None = None
    stderr: BinaryIO | None = None
    sockets: Sequence[socket.socket] = ()

    def __post_init__(self) -> None:
        _check_stdio("stdin", self.stdin, "read")
        _check_stdio("stdout", self.stdout, "write")
        _check_stdio("stderr", self.stderr, "write")


def _check_stdio(name: str, stream: object, method: str) -> None:
    """A stdio stream of a ``WasiConfig``: None, a binary stream with ``method``, or (stdin) bytes.
    WASI moves bytes, so a text stream or a path is a mistake to name now, with its remedy."""
    if stream is None or (method == "read" and isinstance(stream, bytes | bytearray)):
        return
    mode = "rb" if method == "read" else "wb"
    if isinstance(stream, bytes | bytearray):
        raise TypeError(f"WasiConfig {name} must be a binary stream or None, not bytes: capture it with io.BytesIO()")
    if isinstance(stream, str | os.PathLike):
        raise TypeError(
            f"WasiConfig {name} must be a binary stream or None, not a path: "
            f"to use a file, open it in binary mode (open(path, {mode!r}))"
        )
    file_mode = getattr(stream, "mode", None)  # "w", "r+": a text file of another class
    if isinstance(stream, io.TextIOBase) or (isinstance(file_mode, str) and "b" not in file_mode):
        raise TypeError(
            f"WasiConfig {name} must be a binary stream, not a text stream ({type(stream).__name__}): "
            f"use a binary stream such as io.BytesIO(), sys.{name}.buffer, or a file opened with {mode!r}"
        )
    if not callable(getattr(stream, method, None)):
        raise TypeError(
            f"WasiConfig {name} must be a binary stream with a {method}() method, got {type(stream).__name__}"
        )


def _stdio(host_fd: int, stream: BinaryIO | bytes | None) -> Descriptor:
    if isinstance(stream, bytes | bytearray):
        stream = io.BytesIO(stream)
    if stream is not None:
        return Descriptor(FILETYPE["character_device"], STREAM_RIGHTS, 0, stream=stream)
    duplicate = os.dup(host_fd)
    filetype = filetype_of_mode(os.fstat(duplicate).st_mode)
    base = STREAM_RIGHTS
    if filetype == FILETYPE["regular_file"]:
        base |= FILE_RIGHTS  # redirected to a file: seekable, as the shell made it
    return Descriptor(filetype, base, 0, host_fd=duplicate)


def _preopen(guest: str, grant: str | os.PathLike[str] | Preopen) -> Descriptor:
    grant = grant if isinstance(grant, Preopen) else Preopen(grant)
    host_fd = os.open(grant.host, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    mask = ~WRITE_RIGHTS if grant.read_only else -1
    return Descriptor(
        FILETYPE["directory"],
        DIRECTORY_RIGHTS & mask,
        (DIRECTORY_RIGHTS | FILE_RIGHTS) & mask,
        host_fd=host_fd,
        preopen=guest,
        read_only=grant.read_only,
    )


class WasiInstance(FdCalls, PathCalls, PollCalls):
    """Host functions for one guest; ``bind`` its memory after instantiation."""

    def __init__(self, config: WasiConfig, sandbox: Sandbox | None = None) -> None:
        self.config = config
        self.memory = GuestMemory()  # the calling instance's memory, during a call
        self.default_memory = self.memory  # what ``bind`` binds: for functions made without a memory
        self.waits = Waits(sandbox)
        self.fds = DescriptorTable()
        self._closer = weakref.finalize(self, self.fds.close_all)
        try:
            for host_fd, stream in ((0, config.stdin), (1, config.stdout), (2, config.stderr)):
                self.fds.add(_stdio(host_fd, stream))
            for guest, grant in config.preopens.items():
                self.fds.add(_preopen(guest, grant))
            for listener in config.sockets:
                self.fds.add(
                    Descriptor(
                        FILETYPE["socket_stream"],
                        SOCKET_RIGHTS,
                        0,
                        host_fd=listener.fileno(),
                        sock=listener,
                    )
                )
        except BaseException:
            self.fds.close_all()
            raise

    def close(self) -> None:
        """Close every host descriptor the guest holds (also done when this is collected)."""
        self._closer()

    def bind(self, memory: MemoryInstance) -> None:
        self.default_memory.memory = memory

    def imports(self, memory: GuestMemory | None = None) -> dict[tuple[str, str], FunctionInstance]:
        """The host functions, reading and writing ``memory``: the memory of the instance that imports
        them (a linker gives each instance its own), by default the one ``bind`` sets.  Several
        instances share the descriptors and configuration, never each other's memory."""
        memory = memory if memory is not None else self.default_memory
        result = {}
        for name, (params, results) in SIGNATURES.items():
            func_type = FuncType(tuple(_TYPES[c] for c in params), tuple(_TYPES[c] for c in results))
            code = _guarded(_in_memory(self, memory, getattr(self, name)))
            result[(MODULE, name)] = FunctionInstance(func_type, code, name=f"{MODULE}.{name}", host=True)
        return result

    # --- args and environment ---------------------------------------------------------
    def _strings(self, items: Sequence[str], pointers: int, buffer: int) -> int:
        for item in items:
            data = item.encode() + b"\0"
            self.memory.put_u32(pointers, buffer)
            self.memory.write(buffer, data)
            pointers += 4
            buffer += len(data)
        return SUCCESS

    def _sizes(self, items: Sequence[str], count_ptr: int, size_ptr: int) -> int:
        self.memory.put_u32(count_ptr, len(items))
        self.memory.put_u32(size_ptr, sum(len(item.encode()) + 1 for item in items))
        return SUCCESS

    def _environment(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.config.env.items()]

    def args_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        return self._sizes(self.config.argv, count_ptr, size_ptr)

    def args_get(self, pointers: int, buffer: int) -> int:
        return self._strings(self.config.argv, pointers, buffer)

    def environ_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        return self._sizes(self._environment(), count_ptr, size_ptr)

    def environ_get(self, pointers: int, buffer: int) -> int:
        return self._strings(self._environment(), pointers, buffer)

    # --- clocks and randomness -----------------------------------------------------------
    def clock_res_get(self, clock_id: int, resolution_ptr: int) -> int:
        if clock_id >= len(_CLOCK_IDS):
            raise WasiError(EINVAL, f"unknown clock {clock_id}")
        resolution = max(1, round(time.clock_getres(_CLOCK_IDS[clock_id]) * 1e9))
        self.memory.put_u64(resolution_ptr, resolution)
        return SUCCESS

    def clock_time_get(self, clock_id: int, precision: int, time_ptr: int) -> int:
        self.memory.put_u64(time_ptr, clock_now(clock_id))
        return SUCCESS

    def random_get(self, buf: int, buf_len: int) -> int:
        target = self.memory.slice(buf, buf_len)  # checked before anything is drawn
        # Drawn a slice at a time: a guest asking for gigabytes makes no gigabyte copy, and a
        # deadline still ends the call.
        for start in range(0, buf_len, _RANDOM_SLICE):
            if start:
                self.waits.check()
            end = min(start + _RANDOM_SLICE, buf_len)
            target[start:end] = os.urandom(end - start)
        return SUCCESS

    # --- process -------------------------------------------------------------------------
    def proc_exit(self, code: int) -> None:
        raise WasiExit(code)

    def proc_raise(self, signal_number: int) -> int:
        """Deliver a signal to the guest: default actions only, since a guest installs no handlers."""
        if signal_number >= len(SIGNAL_NAMES):
            raise WasiError(EINVAL, f"unknown signal {signal_number}")
        name = SIGNAL_NAMES[signal_number]
        if name in _IGNORED_SIGNALS:
            return SUCCESS
        host = getattr(signal, f"SIG{name.upper()}", None)
        description = signal.strsignal(host) if host is not None else None
        raise Trap("signal", f"guest raised SIG{name.upper()} ({description or 'terminated'})")

    def sched_yield(self) -> int:
        os.sched_yield()
        return SUCCESS


def _in_memory(
    wasi: WasiInstance, memory: GuestMemory, function: Callable[..., int | None]
) -> Callable[..., int | None]:
    """``function`` run against ``memory``: the calling instance's (a store runs one call at a time,
    so switching it per call is safe)."""

    def call(*args: Any) -> int | None:
        wasi.memory = memory
        return function(*args)

    return call


def _guarded(function: Callable[..., int | None]) -> Callable[..., int | None]:
    """The call boundary: every failure becomes the errno the witx gives it."""

    def call(*args: Any) -> int | None:
        try:
            return function(*args)
        except WasiError as error:
            return error.errno
        except Fault:
            return EFAULT
        except OSError as error:
            return errno_from_os(error)
        except (ValueError, OverflowError):
            return EINVAL
        except MemoryError:
            return ERRNO["nomem"]

    call.__name__ = function.__name__
    return call
