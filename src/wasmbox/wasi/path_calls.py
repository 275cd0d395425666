"""The ``path_*`` functions: every path is resolved beneath its directory capability.

Each call resolves its guest path with ``paths.resolve`` and then makes one
``*at`` system call on the final component without following symlinks, so
nothing outside the preopened directories can be named, read or changed.
Every path argument (and a symlink's contents) is ENAMETOOLONG from
``PATH_MAX`` bytes on, before its bytes are read.
"""

from __future__ import annotations

import os
import stat
from contextlib import AbstractContextManager

from .abi import (
    DIRECTORY_RIGHTS,
    EINVAL,
    EISDIR,
    ENOENT,
    ENOTCAPABLE,
    ENOTDIR,
    EPERM,
    FDFLAG_APPEND,
    FDFLAG_DSYNC,
    FDFLAG_NONBLOCK,
    FDFLAG_RSYNC,
    FDFLAG_SYNC,
    FILE_RIGHTS,
    FILESTAT,
    FILETYPE,
    LOOKUP_SYMLINK_FOLLOW,
    OFLAG_CREAT,
    OFLAG_DIRECTORY,
    OFLAG_EXCL,
    OFLAG_TRUNC,
    RIGHT,
    SUCCESS,
    WasiError,
)
from .blocking import Waits
from .descriptors import Descriptor, DescriptorTable, filetype_of_mode
from .fd_calls import filestat_values, new_times
from .guest import GuestMemory
from .paths import Resolved, resolve

_HOST_FDFLAGS = (
    (FDFLAG_APPEND, os.O_APPEND),
    (FDFLAG_DSYNC, getattr(os, "O_DSYNC", 0)),
    (FDFLAG_NONBLOCK, os.O_NONBLOCK),
    (FDFLAG_RSYNC, getattr(os, "O_RSYNC", 0)),
    (FDFLAG_SYNC, getattr(os, "O_SYNC", 0)),
)
_HOST_OFLAGS = (
    (OFLAG_CREAT, os.O_CREAT),
    (OFLAG_DIRECTORY, os.O_DIRECTORY),
    (OFLAG_EXCL, os.O_EXCL),
    (OFLAG_TRUNC, os.O_TRUNC),
)
_READ_RIGHTS = RIGHT["fd_read"] | RIGHT["fd_readdir"]
_WRITE_RIGHTS = RIGHT["fd_write"] | RIGHT["fd_allocate"] | RIGHT["fd_filestat_set_size"]
# The rights a new descriptor's sync flags need its directory to pass on (witx: fd_datasync "includes
# the right to invoke path_open with fdflags::dsync", fd_sync "with fdflags::rsync and fdflags::dsync";
# fdflags::sync needs fd_sync as in cloudabi-utils' path_open, which the rights model comes from).
_SYNC_FLAG_RIGHTS = (
    (FDFLAG_DSYNC, RIGHT["fd_datasync"] | RIGHT["fd_sync"]),
    (FDFLAG_RSYNC, RIGHT["fd_sync"]),
    (FDFLAG_SYNC, RIGHT["fd_sync"]),
)


def _host_flags(flags: int, table: tuple[tuple[int, int], ...]) -> int:
    result = 0
    for wasi, host in table:
        if flags & wasi:
            result |= host  # not +: O_RSYNC and O_SYNC share bits on Linux
    return result


def _lookup_follows(flags: int) -> bool:
    if flags & ~LOOKUP_SYMLINK_FOLLOW:
        raise WasiError(EINVAL, f"lookupflags {flags:#x}")
    return bool(flags & LOOKUP_SYMLINK_FOLLOW)


def _refuse_slash_on_new_link(target: Resolved) -> None:
    """A trailing slash on the name a symlink or hard link would get: only an existing name may have one.

    POSIX resolves "name/" only to an existing directory or to a directory about to be created;
    a new symlink or link is neither, so a missing name is ENOENT (an existing file was already
    ENOTDIR, an existing directory gets EEXIST from the call itself).
    """
    if target.must_be_directory and target.name != ".":
        try:
            os.stat(target.name, dir_fd=target.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            raise WasiError(ENOENT, f"{target.name!r}/ names no directory and a link is not one") from None


def _require_directory_entry(target: Resolved) -> None:
    """ENOTDIR unless ``target`` names a directory (ENOENT if it names nothing)."""
    mode = os.stat(target.name, dir_fd=target.dir_fd, follow_symlinks=False).st_mode
    if not stat.S_ISDIR(mode):
        raise WasiError(ENOTDIR, f"{target.name!r} is not a directory")


class PathCalls:
    memory: GuestMemory
    fds: DescriptorTable
    waits: Waits

    def _directory(self, fd: int, *needed: str) -> int:
        descriptor = self.fds.get(fd)
        host_fd = descriptor.directory_fd()
        descriptor.require(*needed)
        return host_fd

    def _resolve(self, base_fd: int, path: str, *, follow_final: bool) -> AbstractContextManager[Resolved]:
        return resolve(base_fd, path, follow_final=follow_final, check=self.waits.check)

    def path_open(
        self,
        fd: int,
        dirflags: int,
        path: int,
        path_len: int,
        oflags: int,
        rights_base: int,
        rights_inheriting: int,
        fdflags: int,
        opened_fd_ptr: int,
    ) -> int:
        parent = self.fds.get(fd)
        needed = ["path_open"]
        if oflags & OFLAG_CREAT:
            needed.append("path_create_file")
        if oflags & OFLAG_TRUNC:
            needed.append("path_filestat_set_size")
        base_fd = self._directory(fd, *needed)
        if oflags & ~0b1111 or fdflags & ~0b11111:
            raise WasiError(EINVAL, "unknown oflags or fdflags")
        if oflags & OFLAG_DIRECTORY and oflags & (OFLAG_CREAT | OFLAG_EXCL | OFLAG_TRUNC):
            # path_open neither creates nor truncates a directory.  The witx is silent on these
            # combinations and Linux's answer depends on its version; wasmtime's is EINVAL.
            raise WasiError(EINVAL, "oflags::directory with creat, excl or trunc")
        # A new descriptor can hold only rights its directory passes on (witx: fs_rights_inheriting);
        # rights that apply to no file or directory (the socket ones) are simply not granted.
        if (rights_base | rights_inheriting) & (FILE_RIGHTS | DIRECTORY_RIGHTS) & ~parent.rights_inheriting:
            raise WasiError(ENOTCAPABLE, "path_open asks for rights the directory does not pass on")
        for flag, allowed_by in _SYNC_FLAG_RIGHTS:
            if fdflags & flag and not parent.rights_inheriting & allowed_by:
                raise WasiError(ENOTCAPABLE, "the directory passes on no right to the sync flag asked for")
        guest_path = self.memory.path(path, path_len)
        self.memory.slice(opened_fd_ptr, 4)
        writes = bool(rights_base & _WRITE_RIGHTS or oflags & OFLAG_TRUNC)
        reads = bool(rights_base & _READ_RIGHTS) or not writes
        host_flags = os.O_CLOEXEC | os.O_NOFOLLOW | (os.O_RDWR if reads and writes else os.O_WRONLY if writes else 0)
        host_flags |= _host_flags(oflags, _HOST_OFLAGS) | _host_flags(fdflags, _HOST_FDFLAGS)
        with self._resolve(base_fd, guest_path, follow_final=_lookup_follows(dirflags)) as target:
            if target.must_be_directory:
                if oflags & OFLAG_CREAT:
                    # "name/" with creat: what would be made is a file, not a directory (open(2): EISDIR).
                    raise WasiError(EISDIR, f"{guest_path!r} ends in a slash, and creat makes a file")
                host_flags |= os.O_DIRECTORY
            try:
                host_fd = os.open(target.name, host_flags, 0o666, dir_fd=target.dir_fd)
            except IsADirectoryError:
                # fd_write on a directory is EISDIR, as open(2) says and wasi-testsuite checks; the
                # other writing rights (fd_allocate, fd_filestat_set_size) do not apply to a directory
                # and are dropped, as the witx allows: open it for what does apply.
                if rights_base & RIGHT["fd_write"] or oflags & (OFLAG_CREAT | OFLAG_TRUNC) or fdflags & FDFLAG_APPEND:
                    raise
                read_only = host_flags & ~(os.O_WRONLY | os.O_RDWR) | os.O_DIRECTORY
                host_fd = os.open(target.name, read_only, dir_fd=target.dir_fd)
        try:
            filetype = filetype_of_mode(os.fstat(host_fd).st_mode)
        except OSError:
            os.close(host_fd)
            raise
        # Only the rights that apply to what was opened: a directory has no offset (no fd_seek or
        # fd_tell) and is not read or written as a file.
        kind_rights = DIRECTORY_RIGHTS if filetype == FILETYPE["directory"] else FILE_RIGHTS
        descriptor = Descriptor(
            filetype=filetype,
            rights_base=rights_base & kind_rights,
            rights_inheriting=rights_inheriting & parent.rights_inheriting,
            fdflags=fdflags,
            host_fd=host_fd,
            read_only=parent.read_only,
        )
        self.memory.put_u32(opened_fd_ptr, self.fds.add(descriptor))
        return SUCCESS

    def path_create_directory(self, fd: int, path: int, path_len: int) -> int:
        base_fd = self._directory(fd, "path_create_directory")
        with self._resolve(base_fd, self.memory.path(path, path_len), follow_final=False) as target:
            os.mkdir(target.name, 0o777, dir_fd=target.dir_fd)
        return SUCCESS

    def path_remove_directory(self, fd: int, path: int, path_len: int) -> int:
        base_fd = self._directory(fd, "path_remove_directory")
        with self._resolve(base_fd, self.memory.path(path, path_len), follow_final=False) as target:
            os.rmdir(target.name, dir_fd=target.dir_fd)
        return SUCCESS

    def path_unlink_file(self, fd: int, path: int, path_len: int) -> int:
        base_fd = self._directory(fd, "path_unlink_file")
        with self._resolve(base_fd, self.memory.path(path, path_len), follow_final=False) as target:
            os.unlink(target.name, dir_fd=target.dir_fd)
        return SUCCESS

    def path_filestat_get(self, fd: int, flags: int, path: int, path_len: int, buf: int) -> int:
        base_fd = self._directory(fd, "path_filestat_get")
        self.memory.slice(buf, FILESTAT.size)
        follow = _lookup_follows(flags)
        with self._resolve(base_fd, self.memory.path(path, path_len), follow_final=follow) as target:
            st = os.stat(target.name, dir_fd=target.dir_fd, follow_symlinks=False)
        self.memory.put(FILESTAT, buf, *filestat_values(st))
        return SUCCESS

    def path_filestat_set_times(
        self, fd: int, flags: int, path: int, path_len: int, atim: int, mtim: int, fst_flags: int
    ) -> int:
        base_fd = self._directory(fd, "path_filestat_set_times")
        follow = _lookup_follows(flags)
        with self._resolve(base_fd, self.memory.path(path, path_len), follow_final=follow) as target:
            current = os.stat(target.name, dir_fd=target.dir_fd, follow_symlinks=False)
            times = new_times(current, atim, mtim, fst_flags)
            os.utime(target.name, ns=times, dir_fd=target.dir_fd, follow_symlinks=False)
        return SUCCESS

    def path_readlink(self, fd: int, path: int, path_len: int, buf: int, buf_len: int, bufused_ptr: int) -> int:
        """The link's contents, unless they are absolute: those name the host's file system (EPERM).

        A guest cannot make such a link (``path_symlink`` refuses absolute contents), but the host
        can; its contents would reveal host paths the sandbox hides, so they are refused as
        following them is (path-resolution.md) and as wasmtime does.
        """
        base_fd = self._directory(fd, "path_readlink")
        self.memory.slice(buf, buf_len)
        self.memory.slice(bufused_ptr, 4)
        with self._resolve(base_fd, self.memory.path(path, path_len), follow_final=False) as target:
            contents = os.fsencode(os.readlink(target.name, dir_fd=target.dir_fd))
        if contents.startswith(b"/"):
            raise WasiError(EPERM, "the symlink holds an absolute host path")
        # Like readlink(2): a short buffer gets the first buf_len bytes.
        self.memory.write(buf, contents[:buf_len])
        self.memory.put_u32(bufused_ptr, min(len(contents), buf_len))
        return SUCCESS

    def path_symlink(self, old_path: int, old_len: int, fd: int, new_path: int, new_len: int) -> int:
        base_fd = self._directory(fd, "path_symlink")
        contents = self.memory.path(old_path, old_len)
        if contents.startswith("/"):
            raise WasiError(EPERM, "a symlink may not hold an absolute path")
        with self._resolve(base_fd, self.memory.path(new_path, new_len), follow_final=False) as target:
            _refuse_slash_on_new_link(target)
            os.symlink(contents, target.name, dir_fd=target.dir_fd)
        return SUCCESS

    def path_link(
        self, old_fd: int, old_flags: int, old_path: int, old_len: int, new_fd: int, new_path: int, new_len: int
    ) -> int:
        old_base = self._directory(old_fd, "path_link_source")
        new_base = self._directory(new_fd, "path_link_target")
        follow = _lookup_follows(old_flags)
        old_name = self.memory.path(old_path, old_len)
        new_name = self.memory.path(new_path, new_len)
        with (
            self._resolve(old_base, old_name, follow_final=follow) as source,
            self._resolve(new_base, new_name, follow_final=False) as destination,
        ):
            _refuse_slash_on_new_link(destination)
            os.link(
                source.name,
                destination.name,
                src_dir_fd=source.dir_fd,
                dst_dir_fd=destination.dir_fd,
                follow_symlinks=False,
            )
        return SUCCESS

    def path_rename(self, fd: int, old_path: int, old_len: int, new_fd: int, new_path: int, new_len: int) -> int:
        old_base = self._directory(fd, "path_rename_source")
        new_base = self._directory(new_fd, "path_rename_target")
        old_name = self.memory.path(old_path, old_len)
        new_name = self.memory.path(new_path, new_len)
        with (
            self._resolve(old_base, old_name, follow_final=False) as source,
            self._resolve(new_base, new_name, follow_final=False) as destination,
        ):
            if destination.must_be_directory and not source.must_be_directory:
                # "new/" can only name a directory: rename(2) refuses to move anything else there.
                _require_directory_entry(source)
            os.rename(source.name, destination.name, src_dir_fd=source.dir_fd, dst_dir_fd=destination.dir_fd)
        return SUCCESS
