"""``wasi:filesystem`` 0.2 (``types`` and ``preopens``) over host file descriptors.

Capabilities and path resolution are the preview-1 layer's (``wasmbox.wasi.paths``): a guest reaches only
beneath the directories it was given; absolute paths, ``..`` past the base and symlinks that lead out are
refused, with every component walked by ``openat(O_NOFOLLOW)``. A directory descriptor carries the flags it
was opened with: without ``mutate-directory`` nothing beneath it is created, removed, renamed or opened for
writing. Host failures become ``error-code`` values, never exceptions the guest could see.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..canonical_abi.values import Err, Ok
from ..wasi.abi import ERRNO_NAMES, WasiError, errno_from_os
from ..wasi.paths import resolve
from .io import InputStream, OutputStream, StreamError
from .objects import HostObjects

_ERROR_CODES = {
    "acces": "access", "again": "would-block", "already": "already", "badf": "bad-descriptor", "busy": "busy",
    "deadlk": "deadlock", "dquot": "quota", "exist": "exist", "fbig": "file-too-large",
    "ilseq": "illegal-byte-sequence", "inprogress": "in-progress", "intr": "interrupted", "inval": "invalid",
    "io": "io", "isdir": "is-directory", "loop": "loop", "mlink": "too-many-links", "msgsize": "message-size",
    "nametoolong": "name-too-long", "nodev": "no-device", "noent": "no-entry", "nolck": "no-lock",
    "nomem": "insufficient-memory", "nospc": "insufficient-space", "notdir": "not-directory",
    "notempty": "not-empty", "notrecoverable": "not-recoverable", "notsup": "unsupported", "nosys": "unsupported",
    "notty": "no-tty", "nxio": "no-such-device", "overflow": "overflow", "perm": "not-permitted", "pipe": "pipe",
    "rofs": "read-only", "spipe": "invalid-seek", "txtbsy": "text-file-busy", "xdev": "cross-device",
    "notcapable": "not-permitted",
}  # fmt: skip


class FilesystemError(Exception):
    """A failed operation, with the ``error-code`` the guest receives."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def error_code(error: BaseException) -> str:
    if isinstance(error, FilesystemError):
        return error.code
    if isinstance(error, WasiError):
        return _ERROR_CODES.get(ERRNO_NAMES[error.errno], "io")
    if isinstance(error, OSError):
        return _ERROR_CODES.get(ERRNO_NAMES[errno_from_os(error)], "io")
    return "io"


@dataclass
class Descriptor:
    """An open file or directory and the flags (``read``, ``write``, ``mutate-directory``) it grants."""

    fd: int
    is_directory: bool
    flags: frozenset[str]

    def require(self, flag: str) -> None:
        if flag not in self.flags:
            raise FilesystemError("not-permitted" if flag == "mutate-directory" else "bad-descriptor")

    def directory(self) -> int:
        if not self.is_directory:
            raise FilesystemError("not-directory")
        return self.fd


@dataclass
class DirectoryEntries:
    entries: Iterator[dict[str, Any]]


@dataclass
class FilesystemHost:
    """The preopened directories (guest name, host path, writable) and the descriptors made from them."""

    objects: HostObjects
    preopens: list[tuple[str, str, bool]] = field(default_factory=list)
    opened: list[tuple[Descriptor, str]] = field(default_factory=list)

    def open_preopens(self) -> None:
        for guest, host, writable in self.preopens:
            fd = os.open(host, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            flags = {"read", "mutate-directory"} if writable else {"read"}
            self.opened.append((Descriptor(fd, True, frozenset(flags)), guest))

    def close(self) -> None:
        for descriptor, _ in self.opened:
            os.close(descriptor.fd)
        self.opened.clear()


def _file_type(mode: int) -> str:
    for test, name in (
        (stat_module.S_ISDIR, "directory"),
        (stat_module.S_ISREG, "regular-file"),
        (stat_module.S_ISLNK, "symbolic-link"),
        (stat_module.S_ISCHR, "character-device"),
        (stat_module.S_ISBLK, "block-device"),
        (stat_module.S_ISFIFO, "fifo"),
        (stat_module.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "unknown"


def _datetime(ns: int) -> dict[str, int]:
    return {"seconds": ns // 1_000_000_000, "nanoseconds": ns % 1_000_000_000}


def _stat_record(result: os.stat_result) -> dict[str, Any]:
    return {
        "type": _file_type(result.st_mode),
        "link-count": result.st_nlink,
        "size": result.st_size,
        "data-access-timestamp": _datetime(result.st_atime_ns),
        "data-modification-timestamp": _datetime(result.st_mtime_ns),
        "status-change-timestamp": _datetime(result.st_ctime_ns),
    }


def _hash(result: os.stat_result) -> dict[str, int]:
    digest = hashlib.sha256(f"{result.st_dev}:{result.st_ino}".encode()).digest()
    return {"lower": int.from_bytes(digest[:8], "little"), "upper": int.from_bytes(digest[8:16], "little")}


def _timestamp(value: Any, now: int) -> int | None:
    """A ``new-timestamp`` as nanoseconds, or None for no change."""
    case = getattr(value, "case", None)
    if case == "now":
        return now
    if case == "timestamp":
        moment = value.value
        seconds = moment["seconds"] if isinstance(moment, dict) else moment.seconds
        nanoseconds = moment["nanoseconds"] if isinstance(moment, dict) else moment.nanoseconds
        return int(seconds) * 1_000_000_000 + int(nanoseconds)
    return None


def _set_times(path: Any, access: Any, modification: Any, **where: Any) -> None:
    now = time.time_ns()
    new_access = _timestamp(access, now)
    new_modification = _timestamp(modification, now)
    if new_access is None and new_modification is None:
        return
    current = os.stat(path, **where)
    times = (
        current.st_atime_ns if new_access is None else new_access,
        current.st_mtime_ns if new_modification is None else new_modification,
    )
    os.utime(path, ns=times, **where)


def filesystem_interfaces(host: FilesystemHost) -> dict[str, dict[str, Any]]:
    """The functions and resource types of ``wasi:filesystem/types`` and ``wasi:filesystem/preopens``."""
    objects = host.objects

    def descriptor(value: Any) -> Descriptor:
        return objects.get("descriptor", value, Descriptor)

    def result(operation: Callable[[], Any]) -> Any:
        """Run ``operation``; its value is ``ok``, a failure the ``error-code`` in ``error``."""
        try:
            return Ok(operation())
        except (FilesystemError, WasiError, OSError) as error:
            return Err(error_code(error))

    def at(base: Descriptor, path: str, follow: bool, action: Callable[[str, int], Any]) -> Any:
        with resolve(base.directory(), path, follow_final=follow) as where:
            return action(where.name, where.dir_fd)

    def follows(path_flags: Any) -> bool:
        return "symlink-follow" in set(path_flags)

    def read_via_stream(this: Any, offset: int) -> Any:
        d = descriptor(this)

        def run() -> Any:
            d.require("read")
            return objects.own("input-stream", InputStream(fd=d.fd, offset=offset))

        return result(run)

    def write_via_stream(this: Any, offset: int) -> Any:
        d = descriptor(this)

        def run() -> Any:
            d.require("write")
            return objects.own("output-stream", OutputStream(fd=d.fd, offset=offset))

        return result(run)

    def append_via_stream(this: Any) -> Any:
        d = descriptor(this)

        def run() -> Any:
            d.require("write")
            return objects.own("output-stream", OutputStream(fd=d.fd, append=True))

        return result(run)

    def get_type(this: Any) -> Any:
        d = descriptor(this)
        return result(lambda: _file_type(os.fstat(d.fd).st_mode))

    def get_flags(this: Any) -> Any:
        return Ok(frozenset(descriptor(this).flags))

    def set_size(this: Any, size: int) -> Any:
        d = descriptor(this)

        def run() -> None:
            d.require("write")
            os.ftruncate(d.fd, size)

        return result(run)

    def set_times(this: Any, access: Any, modification: Any) -> Any:
        d = descriptor(this)
        return result(lambda: _set_times(d.fd, access, modification))

    def read(this: Any, length: int, offset: int) -> Any:
        d = descriptor(this)

        def run() -> Any:
            d.require("read")
            data = os.pread(d.fd, min(length, 1 << 24), offset)
            return (data, len(data) < length)

        return result(run)

    def write(this: Any, buffer: bytes, offset: int) -> Any:
        d = descriptor(this)

        def run() -> int:
            d.require("write")
            return os.pwrite(d.fd, bytes(buffer), offset)

        return result(run)

    def sync(this: Any) -> Any:
        d = descriptor(this)
        return result(lambda: os.fsync(d.fd) if not d.is_directory else None)

    def read_directory(this: Any) -> Any:
        d = descriptor(this)

        def run() -> Any:
            fd = d.directory()
            names = sorted(os.listdir(fd))

            def entries() -> Iterator[dict[str, Any]]:
                for name in names:
                    try:
                        kind = _file_type(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
                    except OSError:
                        continue  # removed since the listing
                    yield {"type": kind, "name": name}

            return objects.own("directory-entry-stream", DirectoryEntries(entries()))

        return result(run)

    def read_directory_entry(this: Any) -> Any:
        stream = objects.get("directory-entry-stream", this, DirectoryEntries)
        return Ok(next(stream.entries, None))

    def create_directory_at(this: Any, path: str) -> Any:
        d = descriptor(this)

        def run() -> None:
            d.require("mutate-directory")
            at(d, path, False, lambda name, dir_fd: os.mkdir(name, dir_fd=dir_fd))

        return result(run)

    def stat(this: Any) -> Any:
        d = descriptor(this)
        return result(lambda: _stat_record(os.fstat(d.fd)))

    def stat_at(this: Any, path_flags: Any, path: str) -> Any:
        d = descriptor(this)
        follow = follows(path_flags)
        return result(
            lambda: at(d, path, follow, lambda n, fd: _stat_record(os.stat(n, dir_fd=fd, follow_symlinks=False)))
        )

    def set_times_at(this: Any, path_flags: Any, path: str, access: Any, modification: Any) -> Any:
        d = descriptor(this)
        follow = follows(path_flags)

        def run() -> None:
            d.require("mutate-directory")
            at(d, path, follow, lambda n, fd: _set_times(n, access, modification, dir_fd=fd, follow_symlinks=False))

        return result(run)

    def link_at(this: Any, old_flags: Any, old_path: str, new_base: Any, new_path: str) -> Any:
        d, target = descriptor(this), descriptor(new_base)

        def run() -> None:
            # Both sides, as for rename: a link made from a read-only directory into a writable one would be a
            # second, writable name for a file the guest was only allowed to read.
            d.require("mutate-directory")
            target.require("mutate-directory")
            with resolve(d.directory(), old_path, follow_final=follows(old_flags)) as old:
                with resolve(target.directory(), new_path, follow_final=False) as new:
                    os.link(old.name, new.name, src_dir_fd=old.dir_fd, dst_dir_fd=new.dir_fd, follow_symlinks=False)

        return result(run)

    def open_at(this: Any, path_flags: Any, path: str, open_flags: Any, flags: Any) -> Any:
        d = descriptor(this)
        wanted = set(flags) & {"read", "write", "mutate-directory"}
        how = set(open_flags)

        def run() -> Any:
            if ("write" in wanted or "mutate-directory" in wanted or how & {"create", "truncate"}) and (
                "mutate-directory" not in d.flags
            ):
                raise FilesystemError("not-permitted")
            mode = os.O_RDWR if {"read", "write"} <= wanted else os.O_WRONLY if "write" in wanted else os.O_RDONLY
            os_flags = mode | os.O_CLOEXEC
            if "create" in how:
                os_flags |= os.O_CREAT
            if "exclusive" in how:
                os_flags |= os.O_EXCL
            if "truncate" in how:
                os_flags |= os.O_TRUNC
            if "directory" in how:
                os_flags |= os.O_DIRECTORY
            if not follows(path_flags):
                os_flags |= os.O_NOFOLLOW
            fd = at(d, path, follows(path_flags), lambda name, dir_fd: os.open(name, os_flags, 0o666, dir_fd=dir_fd))
            is_directory = stat_module.S_ISDIR(os.fstat(fd).st_mode)
            granted = frozenset(wanted if not is_directory else wanted | ({"read"} & set(d.flags)))
            return objects.own("descriptor", Descriptor(fd, is_directory, granted))

        return result(run)

    def readlink_at(this: Any, path: str) -> Any:
        """The link's contents, unless they are absolute: those name the host's file system and would reveal
        where the sandbox lives (``not-permitted``, as the preview-1 layer and wasmtime answer)."""
        d = descriptor(this)

        def run() -> str:
            contents: str = at(d, path, False, lambda name, dir_fd: os.readlink(name, dir_fd=dir_fd))
            if contents.startswith("/"):
                raise FilesystemError("not-permitted")
            return contents

        return result(run)

    def remove_directory_at(this: Any, path: str) -> Any:
        d = descriptor(this)

        def run() -> None:
            d.require("mutate-directory")
            at(d, path, False, lambda name, dir_fd: os.rmdir(name, dir_fd=dir_fd))

        return result(run)

    def rename_at(this: Any, old_path: str, new_base: Any, new_path: str) -> Any:
        d, target = descriptor(this), descriptor(new_base)

        def run() -> None:
            d.require("mutate-directory")
            target.require("mutate-directory")
            with resolve(d.directory(), old_path, follow_final=False) as old:
                with resolve(target.directory(), new_path, follow_final=False) as new:
                    os.rename(old.name, new.name, src_dir_fd=old.dir_fd, dst_dir_fd=new.dir_fd)

        return result(run)

    def symlink_at(this: Any, old_path: str, new_path: str) -> Any:
        d = descriptor(this)

        def run() -> None:
            d.require("mutate-directory")
            if old_path.startswith("/"):
                raise FilesystemError("not-permitted")
            at(d, new_path, False, lambda name, dir_fd: os.symlink(old_path, name, dir_fd=dir_fd))

        return result(run)

    def unlink_file_at(this: Any, path: str) -> Any:
        d = descriptor(this)

        def run() -> None:
            d.require("mutate-directory")
            at(d, path, False, lambda name, dir_fd: os.unlink(name, dir_fd=dir_fd))

        return result(run)

    def is_same_object(this: Any, other: Any) -> bool:
        first, second = os.fstat(descriptor(this).fd), os.fstat(descriptor(other).fd)
        return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)

    def metadata_hash(this: Any) -> Any:
        d = descriptor(this)
        return result(lambda: _hash(os.fstat(d.fd)))

    def metadata_hash_at(this: Any, path_flags: Any, path: str) -> Any:
        d = descriptor(this)
        follow = follows(path_flags)
        return result(lambda: at(d, path, follow, lambda n, fd: _hash(os.stat(n, dir_fd=fd, follow_symlinks=False))))

    def advise(this: Any, offset: int, length: int, advice: Any) -> Any:
        descriptor(this)
        return Ok(None)

    def filesystem_error_code(error: Any) -> Any:
        objects.get("error", error, StreamError)
        return None  # a stream's failure keeps only the host's message, not an error-code

    def get_directories() -> list[tuple[Any, str]]:
        return [(objects.own("descriptor", d), guest) for d, guest in host.opened]

    methods: dict[str, Callable[..., Any]] = {
        "read-via-stream": read_via_stream,
        "write-via-stream": write_via_stream,
        "append-via-stream": append_via_stream,
        "advise": advise,
        "sync-data": sync,
        "get-flags": get_flags,
        "get-type": get_type,
        "set-size": set_size,
        "set-times": set_times,
        "read": read,
        "write": write,
        "read-directory": read_directory,
        "sync": sync,
        "create-directory-at": create_directory_at,
        "stat": stat,
        "stat-at": stat_at,
        "set-times-at": set_times_at,
        "link-at": link_at,
        "open-at": open_at,
        "readlink-at": readlink_at,
        "remove-directory-at": remove_directory_at,
        "rename-at": rename_at,
        "symlink-at": symlink_at,
        "unlink-file-at": unlink_file_at,
        "is-same-object": is_same_object,
        "metadata-hash": metadata_hash,
        "metadata-hash-at": metadata_hash_at,
    }
    types: dict[str, Any] = {
        "descriptor": objects.types["descriptor"],
        "directory-entry-stream": objects.types["directory-entry-stream"],
        "[method]directory-entry-stream.read-directory-entry": read_directory_entry,
        "filesystem-error-code": filesystem_error_code,
    }
    types.update({f"[method]descriptor.{name}": function for name, function in methods.items()})
    return {"wasi:filesystem/types": types, "wasi:filesystem/preopens": {"get-directories": get_directories}}
