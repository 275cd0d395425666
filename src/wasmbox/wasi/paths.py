"""Capability-safe path resolution beneath a directory descriptor.

This is the manual algorithm of the WASI path-resolution rules (CloudABI's,
Linux's ``RESOLVE_BENEATH``): a guest path is split into components and walked
one directory at a time with ``openat(O_NOFOLLOW)``, so that no host call ever
sees a path that could leave the base directory:

* an absolute path, or a symlink whose target is absolute, is refused (EPERM);
* ``..`` pops the stack of directories walked so far, and popping past the
  base is refused (EPERM), even if a later component would come back inside;
* symlinks are read with ``readlinkat`` and their components spliced into the
  walk, at most ``MAX_SYMLINK_EXPANSIONS`` times (then ELOOP, as for a loop);
* an empty path names nothing (ENOENT, as POSIX says and wasmtime answers),
  while ``"."`` names the base directory itself.

The walk is bounded: a path and each symlink's contents are shorter than
``PATH_MAX`` (the callers check paths; longer contents are refused), so at
most about 41 x 2048 components are walked, and the caller's ``check`` (the
store's stop flag) runs every ``CHECK_EVERY`` of them, so a deadline still
ends a long walk.

The result is a directory descriptor plus one final name, for the caller to
use with the ``*at`` system calls and ``follow_symlinks=False`` /
``O_NOFOLLOW``; a symlink swapped in by another process between the walk and
the call is then operated on as a link, never followed out.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..records import record
from .abi import EINVAL, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, EPERM, PATH_MAX, WasiError, errno_from_os

MAX_SYMLINK_EXPANSIONS = 40  # Linux's MAXSYMLINKS
CHECK_EVERY = 256  # components walked between two calls of the caller's stop check
_WALK_FLAGS = os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_PATH", os.O_RDONLY)


@record(frozen=True)
class Resolved:
    """Where a path leads: ``name`` inside the directory ``dir_fd``.

    ``name`` is one component, or ``"."`` for the directory itself.
    ``must_be_directory`` records a trailing slash.
    """

    dir_fd: int
    name: str
    must_be_directory: bool


def _components(path: str) -> tuple[deque[str], bool]:
    if path.startswith("/"):
        raise WasiError(EPERM, f"absolute path {path!r} is outside every capability")
    parts = path.split("/")
    trailing_slash = len(parts) > 1 and parts[-1] in ("", ".")
    return deque(part for part in parts if part not in ("", ".")), trailing_slash


def _read_link(name: str, dir_fd: int) -> str | None:
    """The target if ``name`` is a symlink, None if it is something else or absent."""
    try:
        target = os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return None
    if len(os.fsencode(target)) >= PATH_MAX:
        raise WasiError(ENAMETOOLONG, f"symlink {name!r} holds more than PATH_MAX bytes")
    return target


def _no_check() -> None:
    pass


@contextmanager
def resolve(
    base_fd: int, path: str, *, follow_final: bool, check: Callable[[], None] = _no_check
) -> Iterator[Resolved]:
    """Walk ``path`` beneath ``base_fd``; the directories opened on the way close on exit.

    ``check`` is called every ``CHECK_EVERY`` components; it raises to end the walk.
    """
    if "\0" in path:
        raise WasiError(EINVAL, "path contains a NUL byte, which no host path can hold")
    if not path:
        raise WasiError(ENOENT, "an empty path names no file")
    pending, must_be_directory = _components(path)
    follow_final = follow_final or must_be_directory
    walked: list[int] = []  # directories opened below base_fd, innermost last
    expansions = 0
    walked_components = 0
    try:
        final = "."
        while pending:
            walked_components += 1
            if walked_components % CHECK_EVERY == 0:
                check()
            component = pending.popleft()
            last = not pending
            if component == "..":
                if not walked:
                    raise WasiError(EPERM, f"{path!r} leads outside its directory capability")
                os.close(walked.pop())
                continue
            current = walked[-1] if walked else base_fd
            if last and not follow_final:
                final = component
                break
            target = _read_link(component, current)
            if target is not None:
                expansions += 1
                if expansions > MAX_SYMLINK_EXPANSIONS:
                    raise WasiError(ELOOP, f"too many symbolic links in {path!r}")
                if not target:
                    raise WasiError(ENOENT, f"symlink {component!r} is empty")  # as Linux resolves one
                spliced, slash = _components(target)
                if last and slash:
                    must_be_directory = True
                pending.extendleft(reversed(spliced))
                continue
            if last:
                final = component
                break
            try:
                walked.append(os.open(component, _WALK_FLAGS, dir_fd=current))
            except OSError as error:
                raise WasiError(errno_from_os(error)) from None
        current = walked[-1] if walked else base_fd
        if must_be_directory and final != ".":
            _require_directory(final, current)
        yield Resolved(current, final, must_be_directory)
    finally:
        for fd in walked:
            os.close(fd)


def _require_directory(name: str, dir_fd: int) -> None:
    try:
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return  # "newdir/" may name what mkdir is about to create
    except OSError as error:
        raise WasiError(errno_from_os(error)) from None
    if not stat.S_ISDIR(mode):
        raise WasiError(ENOTDIR, f"{name!r} is not a directory")
