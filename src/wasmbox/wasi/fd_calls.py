"""The ``fd_*`` functions: reading, writing and inspecting open descriptors."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from .abi import (
    ADVICE_NAMES,
    DIRENT,
    EBADF,
    EINVAL,
    ENAMETOOLONG,
    ENOTCAPABLE,
    ENOTSUP,
    ESPIPE,
    FDFLAG_APPEND,
    FDFLAG_NONBLOCK,
    FDSTAT,
    FILESTAT,
    FILETYPE,
    FSTFLAG_ATIM,
    FSTFLAG_ATIM_NOW,
    FSTFLAG_MTIM,
    FSTFLAG_MTIM_NOW,
    PREOPENTYPE_DIR,
    PRESTAT,
    RIGHT,
    SUCCESS,
    WHENCE_CUR,
    WHENCE_END,
    WHENCE_SET,
    WasiError,
)
from .blocking import Waits
from .descriptors import Descriptor, DescriptorTable, filetype_of_mode
from .guest import GuestMemory

_ADVICE = [getattr(os, f"POSIX_FADV_{name.upper()}", 0) for name in ADVICE_NAMES]
_WHENCE = {WHENCE_SET: os.SEEK_SET, WHENCE_CUR: os.SEEK_CUR, WHENCE_END: os.SEEK_END}
_FDFLAG_ALL = 0b11111
CHECK_EVERY = 1024  # directory entries listed or written between two checks of the store's stop flag


def _require_tell(descriptor: Descriptor) -> None:
    """fd_tell, or fd_seek, which "implies rights::fd_tell" (witx)."""
    if not descriptor.rights_base & (RIGHT["fd_tell"] | RIGHT["fd_seek"]):
        raise WasiError(ENOTCAPABLE, "descriptor lacks the fd_tell right")


def signed64(value: int) -> int:
    """A wasm i64 (carried unsigned) as the signed ``filedelta`` the witx says it is."""
    return value - (1 << 64) if value >= 1 << 63 else value


def filestat_values(st: os.stat_result) -> tuple[int, ...]:
    return (
        st.st_dev,
        st.st_ino,
        filetype_of_mode(st.st_mode),
        st.st_nlink,
        st.st_size,
        st.st_atime_ns,
        st.st_mtime_ns,
        st.st_ctime_ns,
    )


def new_times(current: os.stat_result, atim: int, mtim: int, flags: int) -> tuple[int, int]:
    """The (atime, mtime) in ns that ``*_filestat_set_times`` asks for; EINVAL for contradictory flags."""
    if flags & ~0b1111 or (flags & FSTFLAG_ATIM and flags & FSTFLAG_ATIM_NOW):
        raise WasiError(EINVAL, "fst_flags ask for both a time and now")
    if flags & FSTFLAG_MTIM and flags & FSTFLAG_MTIM_NOW:
        raise WasiError(EINVAL, "fst_flags ask for both a time and now")
    now = time.time_ns()
    access = atim if flags & FSTFLAG_ATIM else now if flags & FSTFLAG_ATIM_NOW else current.st_atime_ns
    modify = mtim if flags & FSTFLAG_MTIM else now if flags & FSTFLAG_MTIM_NOW else current.st_mtime_ns
    return access, modify


class FdCalls:
    memory: GuestMemory
    fds: DescriptorTable
    waits: Waits

    def _host_fd(self, descriptor: Descriptor) -> int:
        if descriptor.host_fd is None:
            raise WasiError(ESPIPE, "a stream given by the embedder has no host file")
        return descriptor.host_fd

    # --- data ---------------------------------------------------------------------
    def fd_read(self, fd: int, iovs: int, iovs_len: int, nread_ptr: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_read")
        buffers = list(self.memory.iovecs(iovs, iovs_len))
        self.memory.slice(nread_ptr, 4)  # every pointer is checked before anything happens
        self.memory.put_u32(nread_ptr, self._read_into(descriptor, buffers))
        return SUCCESS

    def _read_into(self, descriptor: Descriptor, buffers: list[memoryview]) -> int:
        buffers = [b for b in buffers if len(b)]
        if not buffers:
            return 0
        if descriptor.stream is not None:
            total = 0
            for buffer in buffers:
                read = getattr(descriptor.stream, "read1", descriptor.stream.read)
                data = read(len(buffer))
                buffer[: len(data)] = data
                total += len(data)
                if len(data) < len(buffer):
                    break
            return total
        host_fd = self._host_fd(descriptor)
        if not descriptor.fdflags & FDFLAG_NONBLOCK:
            self.waits.until_readable(host_fd)
        return os.readv(host_fd, buffers)

    def fd_write(self, fd: int, iovs: int, iovs_len: int, nwritten_ptr: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_write")
        buffers = [b for b in self.memory.iovecs(iovs, iovs_len) if len(b)]
        self.memory.slice(nwritten_ptr, 4)
        written = 0
        if descriptor.stream is not None:
            for buffer in buffers:  # one at a time: a guest's gigabytes are not copied all at once
                descriptor.stream.write(bytes(buffer))
                written += len(buffer)
            descriptor.stream.flush()
        elif buffers:
            written = os.writev(self._host_fd(descriptor), buffers)
        self.memory.put_u32(nwritten_ptr, written)
        return SUCCESS

    def fd_pread(self, fd: int, iovs: int, iovs_len: int, offset: int, nread_ptr: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_read", "fd_seek")
        buffers = [b for b in self.memory.iovecs(iovs, iovs_len) if len(b)]
        self.memory.slice(nread_ptr, 4)
        count = os.preadv(self._host_fd(descriptor), buffers, signed64(offset)) if buffers else 0
        self.memory.put_u32(nread_ptr, count)
        return SUCCESS

    def fd_pwrite(self, fd: int, iovs: int, iovs_len: int, offset: int, nwritten_ptr: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_write", "fd_seek")
        buffers = [b for b in self.memory.iovecs(iovs, iovs_len) if len(b)]
        self.memory.slice(nwritten_ptr, 4)
        count = os.pwritev(self._host_fd(descriptor), buffers, signed64(offset)) if buffers else 0
        self.memory.put_u32(nwritten_ptr, count)
        return SUCCESS

    def fd_seek(self, fd: int, offset: int, whence: int, newoffset_ptr: int) -> int:
        descriptor = self.fds.get(fd)
        if whence not in _WHENCE:
            raise WasiError(EINVAL, f"whence {whence}")
        delta = signed64(offset)
        # A seek that only asks where we are needs fd_tell, which fd_seek implies (witx).
        if delta == 0 and whence == WHENCE_CUR:
            _require_tell(descriptor)
        else:
            descriptor.require("fd_seek")
        self.memory.slice(newoffset_ptr, 8)
        position = os.lseek(self._host_fd(descriptor), delta, _WHENCE[whence])
        self.memory.put_u64(newoffset_ptr, position)
        return SUCCESS

    def fd_tell(self, fd: int, offset_ptr: int) -> int:
        descriptor = self.fds.get(fd)
        _require_tell(descriptor)
        self.memory.slice(offset_ptr, 8)
        self.memory.put_u64(offset_ptr, os.lseek(self._host_fd(descriptor), 0, os.SEEK_CUR))
        return SUCCESS

    # --- synchronisation and allocation -------------------------------------------
    def fd_sync(self, fd: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_sync")
        if descriptor.stream is not None:
            descriptor.stream.flush()
        else:
            os.fsync(self._host_fd(descriptor))
        return SUCCESS

    def fd_datasync(self, fd: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_datasync")
        if descriptor.stream is not None:
            descriptor.stream.flush()
        else:
            os.fdatasync(self._host_fd(descriptor))
        return SUCCESS

    def fd_advise(self, fd: int, offset: int, length: int, advice: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_advise")
        if advice >= len(_ADVICE):
            raise WasiError(EINVAL, f"advice {advice}")
        os.posix_fadvise(self._host_fd(descriptor), signed64(offset), signed64(length), _ADVICE[advice])
        return SUCCESS

    def fd_allocate(self, fd: int, offset: int, length: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_allocate")
        os.posix_fallocate(self._host_fd(descriptor), signed64(offset), signed64(length))
        return SUCCESS

    # --- status -------------------------------------------------------------------
    def fd_fdstat_get(self, fd: int, stat_ptr: int) -> int:
        d = self.fds.get(fd)
        self.memory.put(FDSTAT, stat_ptr, d.filetype, d.fdflags, d.rights_base, d.rights_inheriting)
        return SUCCESS

    def fd_fdstat_set_flags(self, fd: int, flags: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_fdstat_set_flags")
        if flags & ~_FDFLAG_ALL:
            raise WasiError(EINVAL, f"fdflags {flags:#x}")
        if flags & ~(FDFLAG_APPEND | FDFLAG_NONBLOCK) != descriptor.fdflags & ~(FDFLAG_APPEND | FDFLAG_NONBLOCK):
            raise WasiError(ENOTSUP, "the sync flags can only be chosen when a file is opened")
        if descriptor.host_fd is not None:
            import fcntl

            host_flags = fcntl.fcntl(descriptor.host_fd, fcntl.F_GETFL) & ~(os.O_APPEND | os.O_NONBLOCK)
            host_flags |= (os.O_APPEND if flags & FDFLAG_APPEND else 0) | (
                os.O_NONBLOCK if flags & FDFLAG_NONBLOCK else 0
            )
            fcntl.fcntl(descriptor.host_fd, fcntl.F_SETFL, host_flags)
        descriptor.fdflags = flags
        return SUCCESS

    def fd_fdstat_set_rights(self, fd: int, base: int, inheriting: int) -> int:
        descriptor = self.fds.get(fd)
        # Rights can only be dropped, never gained (witx: "can only remove rights").
        if base & ~descriptor.rights_base or inheriting & ~descriptor.rights_inheriting:
            raise WasiError(ENOTCAPABLE, "fd_fdstat_set_rights cannot add rights")
        descriptor.rights_base, descriptor.rights_inheriting = base, inheriting
        return SUCCESS

    def fd_filestat_get(self, fd: int, buf: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_filestat_get")
        if descriptor.host_fd is None:
            values: tuple[int, ...] = (0, 0, descriptor.filetype, 0, 0, 0, 0, 0)
        else:
            values = filestat_values(os.fstat(self._host_fd(descriptor)))
        self.memory.put(FILESTAT, buf, *values)
        return SUCCESS

    def fd_filestat_set_size(self, fd: int, size: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_filestat_set_size")
        os.ftruncate(self._host_fd(descriptor), signed64(size))
        return SUCCESS

    def fd_filestat_set_times(self, fd: int, atim: int, mtim: int, flags: int) -> int:
        descriptor = self.fds.get(fd)
        descriptor.require("fd_filestat_set_times")
        host_fd = self._host_fd(descriptor)
        os.utime(host_fd, ns=new_times(os.fstat(host_fd), atim, mtim, flags))
        return SUCCESS

    # --- the table itself -----------------------------------------------------------
    def fd_close(self, fd: int) -> int:
        self.fds.remove(fd).close()
        return SUCCESS

    def fd_renumber(self, fd: int, to: int) -> int:
        self.fds.get(fd)
        self.fds.get(to)
        if fd != to:
            self.fds.remove(to).close()
            self.fds.entries[to] = self.fds.remove(fd)
        return SUCCESS

    def fd_prestat_get(self, fd: int, buf: int) -> int:
        descriptor = self.fds.get(fd)
        if descriptor.preopen is None:
            raise WasiError(EBADF, f"fd {fd} is not a preopened directory")
        self.memory.put(PRESTAT, buf, PREOPENTYPE_DIR, len(descriptor.preopen.encode()))
        return SUCCESS

    def fd_prestat_dir_name(self, fd: int, path: int, path_len: int) -> int:
        descriptor = self.fds.get(fd)
        if descriptor.preopen is None:
            raise WasiError(EBADF, f"fd {fd} is not a preopened directory")
        name = descriptor.preopen.encode()
        if path_len < len(name):
            raise WasiError(ENAMETOOLONG, "buffer shorter than the preopen's name")
        self.memory.write(path, name)
        return SUCCESS

    # --- directories ------------------------------------------------------------------
    def fd_readdir(self, fd: int, buf: int, buf_len: int, cookie: int, bufused_ptr: int) -> int:
        """Entries from ``cookie`` on; a full buffer (bufused == buf_len) tells the guest to ask again.

        The listing is read afresh when a walk starts (cookie 0) and kept until
        then, so cookies stay stable across the calls of one walk.
        """
        descriptor = self.fds.get(fd)
        descriptor.require("fd_readdir")
        host_fd = descriptor.directory_fd()
        self.memory.slice(buf, buf_len)
        self.memory.slice(bufused_ptr, 4)
        if cookie == 0 or not descriptor.listing:
            descriptor.listing = _list_directory(host_fd, self.waits.check)
        out = bytearray()
        for index in range(cookie, len(descriptor.listing)):
            if (index - cookie) % CHECK_EVERY == CHECK_EVERY - 1:
                self.waits.check()
            name, inode, filetype = descriptor.listing[index]
            encoded = name.encode("utf-8", "surrogateescape")
            out += DIRENT.pack(index + 1, inode, len(encoded), filetype) + encoded
            if len(out) >= buf_len:
                break
        data = bytes(out[:buf_len])
        self.memory.write(buf, data)
        self.memory.put_u32(bufused_ptr, len(data))
        return SUCCESS


def _list_directory(host_fd: int, check: Callable[[], None]) -> list[tuple[str, int, int]]:
    """``.``, ``..`` and the directory's entries in the host's order, with inode and type.

    A guest can fill a directory with as many entries as the file system holds, so ``check``
    (the store's stop flag) runs every ``CHECK_EVERY`` entries.
    """
    own = os.fstat(host_fd)
    directory = FILETYPE["directory"]
    # ".." reports the directory's own inode: the parent of a preopen lies outside the sandbox.
    entries = [(".", own.st_ino, directory), ("..", own.st_ino, directory)]
    with os.scandir(host_fd) as scan:
        for entry in scan:
            if len(entries) % CHECK_EVERY == 0:
                check()
            if entry.is_symlink():
                filetype = FILETYPE["symbolic_link"]
            elif entry.is_dir(follow_symlinks=False):
                filetype = directory
            elif entry.is_file(follow_symlinks=False):
                filetype = FILETYPE["regular_file"]
            else:
                filetype = filetype_of_mode(entry.stat(follow_symlinks=False).st_mode)
            entries.append((entry.name, entry.inode(), filetype))
    return entries
