"""The ``wasi_snapshot_preview1`` host module (see wasmbox.wasi)."""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..errors import WasiExit
from ..ir.types import I32, I64, FuncType
from ..runtime.memory import MemoryInstance
from ..runtime.objects import FunctionInstance

MODULE = "wasi_snapshot_preview1"

# errno values from the witx (typenames.witx, $errno).
ESUCCESS = 0
EBADF = 8
EFAULT = 21
EINVAL = 28
ESPIPE = 70
ENOSYS = 52

FILETYPE_CHARACTER_DEVICE = 2
RIGHTS_FD_WRITE = 1 << 6
RIGHTS_FD_READ = 1 << 1

# Every preview-1 function and its core signature (params, results).
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


@dataclass
class WasiConfig:
    argv: list[str] = field(default_factory=lambda: ["main"])
    env: dict[str, str] = field(default_factory=dict)
    stdout: BinaryIO | None = None
    stderr: BinaryIO | None = None


class _Fault(Exception):
    """A guest pointer outside its memory: the call returns EFAULT."""


class WasiInstance:
    """Host functions for one guest; bind the guest's memory after instantiation."""

    def __init__(self, config: WasiConfig) -> None:
        self.config = config
        self.memory: MemoryInstance | None = None
        self.outputs: dict[int, BinaryIO] = {
            1: config.stdout or sys.stdout.buffer,
            2: config.stderr or sys.stderr.buffer,
        }

    def bind(self, memory: MemoryInstance) -> None:
        self.memory = memory

    def imports(self) -> dict[tuple[str, str], FunctionInstance]:
        result = {}
        for name, (params, results) in SIGNATURES.items():
            func_type = FuncType(tuple(_TYPES[c] for c in params), tuple(_TYPES[c] for c in results))
            implementation = getattr(self, name, None)
            code = self._guarded(implementation) if implementation is not None else _not_implemented
            result[(MODULE, name)] = FunctionInstance(func_type, code, name=f"{MODULE}.{name}", host=True)
        return result

    @staticmethod
    def _guarded(function: Callable[..., int | None]) -> Callable[..., int | None]:
        def call(*args: Any) -> int | None:
            try:
                return function(*args)
            except _Fault:
                return EFAULT

        return call

    # --- guest memory -------------------------------------------------------
    def _view(self) -> memoryview:
        if self.memory is None:
            raise _Fault
        return self.memory.view

    def _read(self, address: int, length: int) -> bytes:
        view = self._view()
        if address + length > len(view):
            raise _Fault
        return bytes(view[address : address + length])

    def _write(self, address: int, data: bytes) -> None:
        view = self._view()
        if address + len(data) > len(view):
            raise _Fault
        view[address : address + len(data)] = data

    def _u32(self, address: int) -> int:
        return int(struct.unpack("<I", self._read(address, 4))[0])

    def _put_u32(self, address: int, value: int) -> None:
        self._write(address, struct.pack("<I", value))

    # --- functions ------------------------------------------------------------
    def _strings(self, items: list[str], pointers: int, buffer: int) -> int:
        for item in items:
            data = item.encode() + b"\0"
            self._put_u32(pointers, buffer)
            self._write(buffer, data)
            pointers += 4
            buffer += len(data)
        return ESUCCESS

    def args_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        argv = self.config.argv
        self._put_u32(count_ptr, len(argv))
        self._put_u32(size_ptr, sum(len(a.encode()) + 1 for a in argv))
        return ESUCCESS

    def args_get(self, pointers: int, buffer: int) -> int:
        return self._strings(self.config.argv, pointers, buffer)

    def environ_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        pairs = [f"{k}={v}" for k, v in self.config.env.items()]
        self._put_u32(count_ptr, len(pairs))
        self._put_u32(size_ptr, sum(len(p.encode()) + 1 for p in pairs))
        return ESUCCESS

    def environ_get(self, pointers: int, buffer: int) -> int:
        return self._strings([f"{k}={v}" for k, v in self.config.env.items()], pointers, buffer)

    def fd_write(self, fd: int, iovs: int, iovs_len: int, written_ptr: int) -> int:
        stream = self.outputs.get(fd)
        if stream is None:
            return EBADF
        chunks = []
        for i in range(iovs_len):
            base = self._u32(iovs + 8 * i)
            length = self._u32(iovs + 8 * i + 4)
            chunks.append(self._read(base, length))
        data = b"".join(chunks)
        stream.write(data)
        stream.flush()
        self._put_u32(written_ptr, len(data))
        return ESUCCESS

    def fd_fdstat_get(self, fd: int, stat_ptr: int) -> int:
        if fd not in (0, 1, 2):
            return EBADF
        rights = RIGHTS_FD_READ if fd == 0 else RIGHTS_FD_WRITE
        # fdstat: filetype u8, pad, flags u16, pad, rights_base u64, rights_inheriting u64
        self._write(stat_ptr, struct.pack("<BxHxxxxQQ", FILETYPE_CHARACTER_DEVICE, 0, rights, 0))
        return ESUCCESS

    def fd_seek(self, fd: int, offset: int, whence: int, result_ptr: int) -> int:
        return ESPIPE if fd in (0, 1, 2) else EBADF

    def fd_close(self, fd: int) -> int:
        return ESUCCESS if fd in self.outputs or fd == 0 else EBADF

    def proc_exit(self, code: int) -> None:
        raise WasiExit(code)


def _not_implemented(*args: object) -> int:
    return ENOSYS
