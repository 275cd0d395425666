"""The preview-1 ABI: numbers, flags and record layouts from the witx.

Enumerations are written once, as names in the witx's order, so a value is
its position; flag sets likewise, a flag being ``1 << position``.  Record
layouts are ``struct`` formats whose sizes the witx fixes (``filestat`` is
64 bytes, ``fdstat`` 24, ``event`` 32, ``subscription`` 48, ``dirent`` 24).
"""

from __future__ import annotations

import errno as host_errno
import struct

MODULE = "wasi_snapshot_preview1"

ERRNO_NAMES = (
    "success 2big acces addrinuse addrnotavail afnosupport again already badf badmsg busy canceled child "
    "connaborted connrefused connreset deadlk destaddrreq dom dquot exist fault fbig hostunreach idrm ilseq "
    "inprogress intr inval io isconn isdir loop mfile mlink msgsize multihop nametoolong netdown netreset "
    "netunreach nfile nobufs nodev noent noexec nolck nolink nomem nomsg noprotoopt nospc nosys notconn notdir "
    "notempty notrecoverable notsock notsup notty nxio overflow ownerdead perm pipe proto protonosupport "
    "prototype range rofs spipe srch stale timedout txtbsy xdev notcapable"
).split()
ERRNO = {name: value for value, name in enumerate(ERRNO_NAMES)}

SUCCESS = ERRNO["success"]
E2BIG = ERRNO["2big"]
EACCES = ERRNO["acces"]
EAGAIN = ERRNO["again"]
EBADF = ERRNO["badf"]
EEXIST = ERRNO["exist"]
EFAULT = ERRNO["fault"]
EINVAL = ERRNO["inval"]
EIO = ERRNO["io"]
EISDIR = ERRNO["isdir"]
ELOOP = ERRNO["loop"]
ENAMETOOLONG = ERRNO["nametoolong"]
ENOENT = ERRNO["noent"]
ENOSYS = ERRNO["nosys"]
ENOTDIR = ERRNO["notdir"]
ENOTEMPTY = ERRNO["notempty"]
ENOTSOCK = ERRNO["notsock"]
ENOTSUP = ERRNO["notsup"]
EOVERFLOW = ERRNO["overflow"]
EPERM = ERRNO["perm"]
ESPIPE = ERRNO["spipe"]
EXDEV = ERRNO["xdev"]
ENOTCAPABLE = ERRNO["notcapable"]


def _host_errno_table() -> dict[int, int]:
    """Host errno number -> WASI errno, matched by name (EACCES is ``acces`` in the witx)."""
    table: dict[int, int] = {}
    for name, value in ERRNO.items():
        host_name = "E" + name.upper()
        number = getattr(host_errno, host_name, None)
        if number is not None:
            table.setdefault(number, value)
    # Aliases the host may report under another name.
    for alias, name in (("EWOULDBLOCK", "again"), ("EOPNOTSUPP", "notsup"), ("EDEADLOCK", "deadlk")):
        number = getattr(host_errno, alias, None)
        if number is not None:
            table.setdefault(number, ERRNO[name])
    return table


_FROM_HOST = _host_errno_table()


class WasiError(Exception):
    """A host call's failure, carried to the call boundary and returned as its errno."""

    def __init__(self, errno: int, reason: str = "") -> None:
        super().__init__(reason or ERRNO_NAMES[errno])
        self.errno = errno


def errno_from_os(error: OSError) -> int:
    """The WASI errno for a host failure; EIO for a number WASI has no name for."""
    return _FROM_HOST.get(error.errno or 0, EIO)


# --- sizes the host bounds (the witx names none; these are Linux's, which wasi-libc shares) ---
# PATH_MAX counts the terminating NUL, so the longest path is one byte less (wasmtime answers
# ENAMETOOLONG from 4096 bytes on too, where it hands Linux the whole path: path_open, path_filestat_get,
# a symlink's contents).  Every path argument and a symlink's contents are held to it.
PATH_MAX = 4096
# readv/writev refuse more buffers than this with EINVAL (POSIX: "iovcnt ... greater than {IOV_MAX}");
# wasi-libc's <limits.h> says the same number, so no libc program passes more.
IOV_MAX = 1024

# --- rights (a 64-bit flag set) ----------------------------------------------
RIGHT_NAMES = (
    "fd_datasync fd_read fd_seek fd_fdstat_set_flags fd_sync fd_tell fd_write fd_advise fd_allocate "
    "path_create_directory path_create_file path_link_source path_link_target path_open fd_readdir "
    "path_readlink path_rename_source path_rename_target path_filestat_get path_filestat_set_size "
    "path_filestat_set_times fd_filestat_get fd_filestat_set_size fd_filestat_set_times path_symlink "
    "path_remove_directory path_unlink_file poll_fd_readwrite sock_shutdown sock_accept"
).split()
RIGHT = {name: 1 << bit for bit, name in enumerate(RIGHT_NAMES)}
ALL_RIGHTS = (1 << len(RIGHT_NAMES)) - 1


def rights(*names: str) -> int:
    value = 0
    for name in names:
        value |= RIGHT[name]
    return value


# What each kind of descriptor can ever do; a descriptor's rights are a subset.
FILE_RIGHTS = rights(
    "fd_datasync",
    "fd_read",
    "fd_seek",
    "fd_fdstat_set_flags",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "fd_advise",
    "fd_allocate",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "poll_fd_readwrite",
)
DIRECTORY_RIGHTS = rights(
    "fd_fdstat_set_flags",
    "fd_sync",
    "fd_advise",
    "path_create_directory",
    "path_create_file",
    "path_link_source",
    "path_link_target",
    "path_open",
    "fd_readdir",
    "path_readlink",
    "path_rename_source",
    "path_rename_target",
    "path_filestat_get",
    "path_filestat_set_size",
    "path_filestat_set_times",
    "fd_filestat_get",
    "fd_filestat_set_times",
    "path_symlink",
    "path_remove_directory",
    "path_unlink_file",
)
# A read-only preopen: no right that creates, changes or removes anything.
WRITE_RIGHTS = rights(
    "fd_datasync",
    "fd_write",
    "fd_allocate",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "path_create_directory",
    "path_create_file",
    "path_link_source",
    "path_link_target",
    "path_rename_source",
    "path_rename_target",
    "path_filestat_set_size",
    "path_filestat_set_times",
    "path_symlink",
    "path_remove_directory",
    "path_unlink_file",
)
STREAM_RIGHTS = rights("fd_read", "fd_write", "fd_fdstat_set_flags", "fd_filestat_get", "poll_fd_readwrite")
SOCKET_RIGHTS = STREAM_RIGHTS | rights("sock_shutdown", "sock_accept")

# --- enumerations --------------------------------------------------------------
FILETYPE_NAMES = (
    "unknown block_device character_device directory regular_file socket_dgram socket_stream symbolic_link"
).split()
FILETYPE = {name: value for value, name in enumerate(FILETYPE_NAMES)}

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME, CLOCK_THREAD_CPUTIME = range(4)
WHENCE_SET, WHENCE_CUR, WHENCE_END = range(3)
ADVICE_NAMES = ("normal", "sequential", "random", "willneed", "dontneed", "noreuse")
EVENTTYPE_CLOCK, EVENTTYPE_FD_READ, EVENTTYPE_FD_WRITE = range(3)
PREOPENTYPE_DIR = 0

SIGNAL_NAMES = (
    "none hup int quit ill trap abrt bus fpe kill usr1 segv usr2 pipe alrm term chld cont stop tstp ttin ttou "
    "urg xcpu xfsz vtalrm prof winch poll pwr sys"
).split()

# --- flag sets -------------------------------------------------------------------
FDFLAG_APPEND, FDFLAG_DSYNC, FDFLAG_NONBLOCK, FDFLAG_RSYNC, FDFLAG_SYNC = (1 << i for i in range(5))
OFLAG_CREAT, OFLAG_DIRECTORY, OFLAG_EXCL, OFLAG_TRUNC = (1 << i for i in range(4))
LOOKUP_SYMLINK_FOLLOW = 1
FSTFLAG_ATIM, FSTFLAG_ATIM_NOW, FSTFLAG_MTIM, FSTFLAG_MTIM_NOW = (1 << i for i in range(4))
SUBCLOCKFLAG_ABSTIME = 1
EVENTRWFLAG_HANGUP = 1
RIFLAG_RECV_PEEK, RIFLAG_RECV_WAITALL = 1, 2
ROFLAG_RECV_DATA_TRUNCATED = 1
SDFLAG_RD, SDFLAG_WR = 1, 2

# --- record layouts (little-endian, witx alignment) ---------------------------------
FDSTAT = struct.Struct("<BxHxxxxQQ")  # filetype, fs_flags, rights_base, rights_inheriting
FILESTAT = struct.Struct("<QQBxxxxxxxQQQQQ")  # dev, ino, filetype, nlink, size, atim, mtim, ctim
PRESTAT = struct.Struct("<BxxxI")  # tag (dir), pr_name_len
DIRENT = struct.Struct("<QQIBxxx")  # d_next, d_ino, d_namlen, d_type
IOVEC = struct.Struct("<II")  # buf, buf_len
SUBSCRIPTION = struct.Struct("<QB7x32s")  # userdata, tag, union contents
SUBSCRIPTION_CLOCK = struct.Struct("<I4xQQH")  # id, timeout, precision, flags
SUBSCRIPTION_FD = struct.Struct("<I")  # file_descriptor
EVENT = struct.Struct("<QHBxxxxxQHxxxxxx")  # userdata, error, type, nbytes, flags
assert (FDSTAT.size, FILESTAT.size, DIRENT.size, SUBSCRIPTION.size, EVENT.size) == (24, 64, 24, 48, 32)
