"""Waiting inside a host call without escaping the store's deadline.

A guest blocked in ``poll_oneoff``, ``fd_read`` on a pipe or ``sock_accept``
runs no wasm, so the engine's own stop checks never fire.  When the store is
interruptible (a deadline, or ``interrupt()`` wanted), these waits happen in
short slices and end with the same trap the engine would raise; otherwise
they block in the host as a plain system call would.
"""

from __future__ import annotations

import os
import select
import stat
import time

from ..errors import Trap
from ..runtime.sandbox import Sandbox

SLICE = 0.05  # seconds between stop checks while blocked


class Waits:
    def __init__(self, sandbox: Sandbox | None) -> None:
        self.sandbox = sandbox

    @property
    def interruptible(self) -> bool:
        return self.sandbox is not None and self.sandbox.interruptible

    def check(self) -> None:
        if self.sandbox is not None and self.sandbox.stop:
            raise Trap(self.sandbox.stop)

    def poll(self, poller: select.poll, timeout_ms: float | None) -> list[tuple[int, int]]:
        """``poller.poll`` that keeps checking for a stop while it waits."""
        if not self.interruptible:
            return poller.poll(timeout_ms)
        end = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000
        while True:
            self.check()
            remaining = SLICE if end is None else min(SLICE, max(0.0, end - time.monotonic()))
            ready = poller.poll(remaining * 1000)
            if ready or (end is not None and time.monotonic() >= end):
                return ready

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (remaining := end - time.monotonic()) > 0:
            self.check()
            time.sleep(min(remaining, SLICE) if self.interruptible else remaining)

    def until_readable(self, host_fd: int) -> None:
        """Before a read that may block: wait for data in slices (files never block, and a
        descriptor the guest made non-blocking must answer EAGAIN, not wait)."""
        if not self.interruptible or _never_blocks(host_fd) or not os.get_blocking(host_fd):
            return
        poller = select.poll()
        poller.register(host_fd, select.POLLIN)
        self.poll(poller, None)


def _never_blocks(host_fd: int) -> bool:
    try:
        mode = os.fstat(host_fd).st_mode
    except OSError:
        return True
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)
