"""The guest's file-descriptor table: what each WASI fd number stands for.

A descriptor is backed by one of three things: a host file descriptor owned
by this table (files, directories, inherited stdio, which are duplicated so a
guest closing fd 1 never closes the host's), a Python stream the embedder gave
for stdio, or a socket the embedder preopened.  Each carries the rights the
spec attaches to it; an operation whose right is missing fails with
ENOTCAPABLE before the host is asked anything.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, BinaryIO

from ..records import field, record
from .abi import EBADF, ENOTCAPABLE, ENOTDIR, FILETYPE, RIGHT, WasiError

if TYPE_CHECKING:
    import socket  # only its type: a socket descriptor holds one the embedder made


def filetype_of_mode(mode: int) -> int:
    if stat.S_ISREG(mode):
        return FILETYPE["regular_file"]
    if stat.S_ISDIR(mode):
        return FILETYPE["directory"]
    if stat.S_ISLNK(mode):
        return FILETYPE["symbolic_link"]
    if stat.S_ISCHR(mode):
        return FILETYPE["character_device"]
    if stat.S_ISBLK(mode):
        return FILETYPE["block_device"]
    if stat.S_ISSOCK(mode):
        return FILETYPE["socket_stream"]
    return FILETYPE["unknown"]  # FIFOs: WASI has no type for them


@record
class Descriptor:
    filetype: int
    rights_base: int
    rights_inheriting: int
    fdflags: int = 0
    host_fd: int | None = None
    stream: BinaryIO | None = None
    sock: socket.socket | None = None
    preopen: str | None = None  # the guest-visible name, for preopened directories
    read_only: bool = False
    listing: list[tuple[str, int, int]] = field(default_factory=list)  # readdir snapshot

    def require(self, *names: str) -> None:
        for name in names:
            if not self.rights_base & RIGHT[name]:
                raise WasiError(ENOTCAPABLE, f"descriptor lacks the {name} right")

    def directory_fd(self) -> int:
        if self.filetype != FILETYPE["directory"] or self.host_fd is None:
            raise WasiError(ENOTDIR, "not a directory descriptor")
        return self.host_fd

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        elif self.host_fd is not None:
            os.close(self.host_fd)
        self.host_fd = None


class DescriptorTable:
    """fd number -> Descriptor; new descriptors take the lowest free number, as in POSIX."""

    def __init__(self) -> None:
        self.entries: dict[int, Descriptor] = {}

    def get(self, fd: int) -> Descriptor:
        descriptor = self.entries.get(fd)
        if descriptor is None:
            raise WasiError(EBADF, f"fd {fd} is not open")
        return descriptor

    def add(self, descriptor: Descriptor) -> int:
        fd = 0
        while fd in self.entries:
            fd += 1
        self.entries[fd] = descriptor
        return fd

    def remove(self, fd: int) -> Descriptor:
        return self.entries.pop(fd) if fd in self.entries else self.get(fd)

    def close_all(self) -> None:
        for descriptor in self.entries.values():
            try:
                descriptor.close()
            except OSError:
                pass
        self.entries.clear()
