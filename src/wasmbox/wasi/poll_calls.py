"""``poll_oneoff`` (clocks and fd readiness) and the socket calls on preopened sockets."""

from __future__ import annotations

import os
import select
import stat
import time
from typing import TYPE_CHECKING

from ..records import record
from .abi import (
    CLOCK_MONOTONIC,
    CLOCK_REALTIME,
    EINVAL,
    ENOTSOCK,
    EVENT,
    EVENTTYPE_CLOCK,
    EVENTTYPE_FD_READ,
    EVENTTYPE_FD_WRITE,
    FDFLAG_NONBLOCK,
    FILETYPE,
    RIFLAG_RECV_PEEK,
    RIFLAG_RECV_WAITALL,
    ROFLAG_RECV_DATA_TRUNCATED,
    SDFLAG_RD,
    SDFLAG_WR,
    SOCKET_RIGHTS,
    SUBCLOCKFLAG_ABSTIME,
    SUBSCRIPTION,
    SUBSCRIPTION_CLOCK,
    SUBSCRIPTION_FD,
    SUCCESS,
    WasiError,
    errno_from_os,
)
from .blocking import Waits
from .descriptors import Descriptor, DescriptorTable
from .guest import GuestMemory

# The socket module is imported by the calls on sockets: a guest's sockets are ones the embedder
# preopened (so it is loaded already), and most programs have none.
if TYPE_CHECKING:
    import socket

CHECK_EVERY = 1024  # subscriptions read or events written between two checks of the store's stop flag
_SHUTDOWN = {SDFLAG_RD: "SHUT_RD", SDFLAG_WR: "SHUT_WR", SDFLAG_RD | SDFLAG_WR: "SHUT_RDWR"}  # socket's names


@record
class _Event:
    userdata: int
    error: int
    type: int
    nbytes: int = 0
    flags: int = 0


def clock_now(clock_id: int) -> int:
    """Nanoseconds on a WASI clock; EINVAL for an id the witx does not define."""
    readers = (time.time_ns, time.monotonic_ns, time.process_time_ns, time.thread_time_ns)
    if not 0 <= clock_id < len(readers):
        raise WasiError(EINVAL, f"unknown clock {clock_id}")
    return readers[clock_id]()


class PollCalls:
    memory: GuestMemory
    fds: DescriptorTable
    waits: Waits

    def poll_oneoff(self, in_ptr: int, out_ptr: int, nsubscriptions: int, nevents_ptr: int) -> int:
        """Wait until a clock subscription expires or a subscribed fd is ready.

        Regular files and embedder streams are always ready (as POSIX poll says
        of files); host pipes, ttys and sockets are asked with ``poll(2)``.
        """
        if nsubscriptions == 0:
            raise WasiError(EINVAL, "poll_oneoff needs at least one subscription")
        raw = self.memory.read(in_ptr, nsubscriptions * SUBSCRIPTION.size)
        self.memory.slice(out_ptr, nsubscriptions * EVENT.size)
        self.memory.slice(nevents_ptr, 4)
        immediate: list[_Event] = []
        clocks: list[tuple[float, int]] = []  # (monotonic deadline in s, userdata)
        waiting: dict[int, list[tuple[int, int]]] = {}  # host fd -> [(userdata, eventtype)]
        # A guest can pass millions of subscriptions: the store's stop flag is checked as they are read.
        for index, (userdata, tag, contents) in enumerate(SUBSCRIPTION.iter_unpack(raw)):
            if index % CHECK_EVERY == CHECK_EVERY - 1:
                self.waits.check()
            if tag == EVENTTYPE_CLOCK:
                clock_id, timeout, _precision, flags = SUBSCRIPTION_CLOCK.unpack_from(contents)
                try:
                    clocks.append((_deadline(clock_id, timeout, flags), userdata))
                except WasiError as error:
                    immediate.append(_Event(userdata, error.errno, tag))
            elif tag in (EVENTTYPE_FD_READ, EVENTTYPE_FD_WRITE):
                (fd,) = SUBSCRIPTION_FD.unpack_from(contents)
                try:
                    descriptor = self.fds.get(fd)
                    # witx: poll_fd_readwrite covers fd_read events "if rights::fd_read is set",
                    # fd_write events if fd_write is.
                    descriptor.require("poll_fd_readwrite", "fd_read" if tag == EVENTTYPE_FD_READ else "fd_write")
                except WasiError as error:
                    immediate.append(_Event(userdata, error.errno, tag))
                    continue
                if _always_ready(descriptor):
                    immediate.append(_Event(userdata, SUCCESS, tag, _readable_bytes(descriptor, tag)))
                else:
                    assert descriptor.host_fd is not None
                    waiting.setdefault(descriptor.host_fd, []).append((userdata, tag))
            else:
                raise WasiError(EINVAL, f"unknown subscription type {tag}")
        events = immediate or self._wait(clocks, waiting)
        for index, event in enumerate(events):
            if index % CHECK_EVERY == CHECK_EVERY - 1:
                self.waits.check()
            self.memory.put(
                EVENT, out_ptr + index * EVENT.size, event.userdata, event.error, event.type, event.nbytes, event.flags
            )
        self.memory.put_u32(nevents_ptr, len(events))
        return SUCCESS

    def _wait(self, clocks: list[tuple[float, int]], waiting: dict[int, list[tuple[int, int]]]) -> list[_Event]:
        poller = select.poll()
        for host_fd, subscribers in waiting.items():
            mask = 0
            for _, tag in subscribers:
                mask |= select.POLLIN if tag == EVENTTYPE_FD_READ else select.POLLOUT
            poller.register(host_fd, mask)
        while True:
            now = time.monotonic()
            expired = [_Event(userdata, SUCCESS, EVENTTYPE_CLOCK) for deadline, userdata in clocks if deadline <= now]
            if expired:
                return expired
            timeout_ms = None
            if clocks:
                timeout_ms = max(0.0, (min(deadline for deadline, _ in clocks) - now) * 1000)
            ready = dict(self.waits.poll(poller, timeout_ms)) if waiting else {}
            if not waiting and timeout_ms is not None:
                self.waits.sleep(timeout_ms / 1000)
            events = []
            for host_fd, revents in ready.items():
                for userdata, tag in waiting[host_fd]:
                    wanted = select.POLLIN if tag == EVENTTYPE_FD_READ else select.POLLOUT
                    hangup = revents & (select.POLLHUP | select.POLLERR)
                    if revents & wanted or hangup:
                        events.append(_Event(userdata, SUCCESS, tag, 0, 1 if hangup else 0))
            if events:
                return events

    # --- sockets --------------------------------------------------------------------
    def _socket(self, fd: int, *needed: str) -> socket.socket:
        descriptor = self.fds.get(fd)
        if descriptor.sock is None:
            raise WasiError(ENOTSOCK, f"fd {fd} is not a socket")
        descriptor.require(*needed)
        return descriptor.sock

    def sock_accept(self, fd: int, flags: int, fd_ptr: int) -> int:
        listener = self._socket(fd, "sock_accept")
        if flags & ~FDFLAG_NONBLOCK:
            raise WasiError(EINVAL, f"sock_accept flags {flags:#x}")
        self.memory.slice(fd_ptr, 4)
        if os.get_blocking(listener.fileno()):  # the host's flag: the guest may have cleared it
            self.waits.until_readable(listener.fileno())
        connection, _ = listener.accept()
        connection.setblocking(not flags & FDFLAG_NONBLOCK)
        descriptor = Descriptor(
            filetype=FILETYPE["socket_stream"],
            rights_base=SOCKET_RIGHTS,
            rights_inheriting=0,
            fdflags=flags,
            host_fd=connection.fileno(),
            sock=connection,
        )
        self.memory.put_u32(fd_ptr, self.fds.add(descriptor))
        return SUCCESS

    def sock_recv(
        self, fd: int, ri_data: int, ri_data_len: int, ri_flags: int, ro_datalen_ptr: int, ro_flags_ptr: int
    ) -> int:
        import socket

        sock = self._socket(fd, "fd_read")
        if ri_flags & ~(RIFLAG_RECV_PEEK | RIFLAG_RECV_WAITALL):
            raise WasiError(EINVAL, f"riflags {ri_flags:#x}")
        host_flags = (socket.MSG_PEEK if ri_flags & RIFLAG_RECV_PEEK else 0) | (
            socket.MSG_WAITALL if ri_flags & RIFLAG_RECV_WAITALL else 0
        )
        buffers = [b for b in self.memory.iovecs(ri_data, ri_data_len) if len(b)]
        self.memory.slice(ro_datalen_ptr, 4)
        self.memory.slice(ro_flags_ptr, 2)
        if buffers and os.get_blocking(sock.fileno()) and self.waits.interruptible and host_flags == socket.MSG_WAITALL:
            # The kernel would block until every buffer is full, past any deadline: wait in slices.
            count, message_flags = self._receive_all(sock, buffers)
        else:
            if buffers and os.get_blocking(sock.fileno()):
                self.waits.until_readable(sock.fileno())
            count, _, message_flags, _ = sock.recvmsg_into(buffers, 0, host_flags) if buffers else (0, [], 0, None)
        self.memory.put_u32(ro_datalen_ptr, count)
        truncated = ROFLAG_RECV_DATA_TRUNCATED if message_flags & socket.MSG_TRUNC else 0
        self.memory.write(ro_flags_ptr, truncated.to_bytes(2, "little"))
        return SUCCESS

    def _receive_all(self, sock: socket.socket, buffers: list[memoryview]) -> tuple[int, int]:
        """``recv`` with MSG_WAITALL, as reads that each wait in slices: until full, or the peer is done."""
        total, message_flags = 0, 0
        while buffers:
            self.waits.until_readable(sock.fileno())
            count, _, message_flags, _ = sock.recvmsg_into(buffers, 0, 0)
            if count == 0:
                break
            total += count
            while buffers and count >= len(buffers[0]):
                count -= len(buffers.pop(0))
            if buffers:
                buffers[0] = buffers[0][count:]
        return total, message_flags

    def sock_send(self, fd: int, si_data: int, si_data_len: int, si_flags: int, so_datalen_ptr: int) -> int:
        sock = self._socket(fd, "fd_write")
        if si_flags:
            raise WasiError(EINVAL, "siflags: no flags are defined, so it must be zero (witx)")
        buffers = [b for b in self.memory.iovecs(si_data, si_data_len) if len(b)]
        self.memory.slice(so_datalen_ptr, 4)
        self.memory.put_u32(so_datalen_ptr, sock.sendmsg(buffers) if buffers else 0)
        return SUCCESS

    def sock_shutdown(self, fd: int, how: int) -> int:
        sock = self._socket(fd, "sock_shutdown")
        if how not in _SHUTDOWN:
            raise WasiError(EINVAL, f"sdflags {how:#x}")
        import socket

        sock.shutdown(getattr(socket, _SHUTDOWN[how]))
        return SUCCESS


def _deadline(clock_id: int, timeout: int, flags: int) -> float:
    """A clock subscription's deadline on the monotonic clock, in seconds."""
    now = clock_now(clock_id)
    remaining = timeout - now if flags & SUBCLOCKFLAG_ABSTIME else timeout
    if clock_id not in (CLOCK_REALTIME, CLOCK_MONOTONIC) and flags & SUBCLOCKFLAG_ABSTIME:
        raise WasiError(EINVAL, "absolute timeouts need the realtime or monotonic clock")
    return time.monotonic() + max(remaining, 0) / 1e9


def _always_ready(descriptor: Descriptor) -> bool:
    if descriptor.host_fd is None:
        return True
    try:
        mode = os.fstat(descriptor.host_fd).st_mode
    except OSError:
        return True
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)


def _readable_bytes(descriptor: Descriptor, tag: int) -> int:
    """For a file ready to read: the bytes between the offset and the end (as wasmtime reports)."""
    if tag != EVENTTYPE_FD_READ or descriptor.host_fd is None:
        return 0
    try:
        size = os.fstat(descriptor.host_fd).st_size
        return max(0, size - os.lseek(descriptor.host_fd, 0, os.SEEK_CUR))
    except OSError as error:
        raise WasiError(errno_from_os(error)) from None
