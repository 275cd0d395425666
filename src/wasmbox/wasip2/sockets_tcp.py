"""``wasi:sockets/tcp``: TCP sockets over non-blocking host sockets, with the WIT's states and start/finish pairs.

A socket moves ``unbound`` → (``bind-started`` → ``bound``) → ``connect-started`` → ``connected``, or
``bound`` → ``listen-started`` → ``listening``; an operation in the wrong state is ``invalid-state``, a
``finish-*`` without its ``start-*`` is ``not-in-progress``, and ``finish-connect`` before the host's connect
completes is ``would-block`` (``subscribe`` gives a pollable that is ready when it has). Every address the
guest binds or connects to is checked against the instance's ``NetworkPolicy`` first (``access-denied``).
The streams of a connected socket read and write the host socket: ``read`` returns what has arrived (empty if
nothing yet), ``blocking-read`` waits for data.
"""

from __future__ import annotations

import errno
import os
import select
import socket
from collections.abc import Callable
from typing import Any

from ..canonical_abi.values import Err, Ok
from .io import InputStream, OutputStream, Pollable
from .network_policy import NetworkPolicy
from .objects import HostObjects
from .socket_values import SocketError, address_value, error_code, family_name, is_unspecified, socket_address

DEFAULT_BACKLOG = 128


def _ready(sock: socket.socket, for_write: bool) -> bool:
    if sock.fileno() < 0:
        return True
    readable, writable, _ = select.select([] if for_write else [sock], [sock] if for_write else [], [], 0)
    return bool(writable if for_write else readable)


class TcpSocket:
    """One guest TCP socket: the host socket, its state, and what a pending operation found."""

    def __init__(self, family: socket.AddressFamily, sock: socket.socket | None = None, state: str = "unbound"):
        self.family = family
        if sock is None:
            sock = socket.socket(family, socket.SOCK_STREAM)
            if family == socket.AF_INET6:  # the WIT's sockets are one family: no IPv4-mapped addresses
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.sock = sock
        self.sock.setblocking(False)
        self.state = state
        self.backlog = DEFAULT_BACKLOG
        self.read_closed = False

    def close(self) -> None:
        self.sock.close()


class SocketInput(InputStream):
    """The input stream of a connected TCP socket."""

    def __init__(self, owner: TcpSocket) -> None:
        super().__init__()
        self.owner = owner

    def read_available(self, length: int) -> bytes | None:
        if self.owner.read_closed:
            return None
        try:
            data = self.owner.sock.recv(length) if length else b""
        except BlockingIOError:
            return b""
        except OSError as error:
            raise SocketError(error_code(error), str(error)) from error
        return data if data or not length else None

    def read(self, length: int) -> bytes | None:
        if length and not self.owner.read_closed:
            select.select([self.owner.sock], [], [])
        return self.read_available(length)

    def pollable(self) -> Pollable:
        return Pollable(probe=lambda: self.owner.read_closed or _ready(self.owner.sock, False))


class SocketOutput(OutputStream):
    """The output stream of a connected TCP socket: a write is sent whole before it returns."""

    def __init__(self, owner: TcpSocket) -> None:
        super().__init__()
        self.owner = owner

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            select.select([], [self.owner.sock], [])
            try:
                sent = self.owner.sock.send(view)
            except BlockingIOError:
                continue
            except OSError as error:
                raise SocketError(error_code(error), str(error)) from error
            view = view[sent:]

    def flush(self) -> None:
        pass


def tcp_interface(objects: HostObjects, policy: NetworkPolicy, check_network: Callable[[Any], None]) -> dict[str, Any]:
    """The functions of ``wasi:sockets/tcp`` and ``create-tcp-socket``."""

    def of(this: Any) -> TcpSocket:
        return objects.get("tcp-socket", this, TcpSocket)

    def done(action: Callable[[], object]) -> Any:
        action()
        return Ok(None)

    def failing(operation: Callable[[], Any]) -> Any:
        try:
            return operation()
        except (OSError, SocketError) as error:
            return Err(error_code(error))

    def create(family: str) -> Any:
        if not policy.tcp:
            return Err("access-denied")
        return failing(
            lambda: Ok(objects.own("tcp-socket", TcpSocket(socket.AF_INET6 if family == "ipv6" else socket.AF_INET)))
        )

    def drop(rep: int) -> None:
        tcp = objects.objects.pop(rep, None)
        if isinstance(tcp, TcpSocket):
            tcp.close()

    objects.types["tcp-socket"].destructor = drop

    def target(tcp: TcpSocket, address: Any) -> tuple[Any, ...]:
        family, host_address = socket_address(address)
        if family != tcp.family:
            raise SocketError("invalid-argument", "the address is not of the socket's family")
        return host_address

    def start_bind(this: Any, network: Any, local: Any) -> Any:
        tcp = of(this)
        check_network(network)

        def run() -> Any:
            if tcp.state != "unbound":
                raise SocketError("invalid-state")
            address = target(tcp, local)
            if not policy.allows_bind("tcp", address[0], address[1]):
                raise SocketError("access-denied")
            tcp.sock.bind(address)
            tcp.state = "bind-started"
            return Ok(None)

        return failing(run)

    def finish(expected: str, then: str) -> Callable[[Any], Any]:
        def finish_operation(this: Any) -> Any:
            tcp = of(this)
            if tcp.state != expected:
                return Err("not-in-progress")
            tcp.state = then
            return Ok(None)

        return finish_operation

    def start_connect(this: Any, network: Any, remote: Any) -> Any:
        tcp = of(this)
        check_network(network)

        def run() -> Any:
            address = target(tcp, remote)
            if is_unspecified(address[0]) or address[1] == 0:
                raise SocketError("invalid-argument", "cannot connect to an unspecified address or port 0")
            if tcp.state not in ("unbound", "bound"):
                raise SocketError("invalid-state")
            if not policy.allows("tcp", address[0], address[1]):
                raise SocketError("access-denied")
            status = tcp.sock.connect_ex(address)
            if status not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                raise OSError(status, os.strerror(status))
            tcp.state = "connect-started"
            return Ok(None)

        return failing(run)

    def finish_connect(this: Any) -> Any:
        tcp = of(this)
        if tcp.state != "connect-started":
            return Err("not-in-progress")
        if not _ready(tcp.sock, True):
            return Err("would-block")
        status = tcp.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if status:
            tcp.state = "closed"
            return Err(error_code(OSError(status, "connect")))
        tcp.state = "connected"
        return Ok((objects.own("input-stream", SocketInput(tcp)), objects.own("output-stream", SocketOutput(tcp))))

    def start_listen(this: Any) -> Any:
        tcp = of(this)

        def run() -> Any:
            if tcp.state != "bound":
                raise SocketError("invalid-state")
            tcp.sock.listen(tcp.backlog)
            tcp.state = "listen-started"
            return Ok(None)

        return failing(run)

    def accept(this: Any) -> Any:
        tcp = of(this)

        def run() -> Any:
            if tcp.state != "listening":
                raise SocketError("invalid-state")
            try:
                connection, _ = tcp.sock.accept()
            except BlockingIOError:
                raise SocketError("would-block") from None
            client = TcpSocket(tcp.family, connection, "connected")
            return Ok(
                (
                    objects.own("tcp-socket", client),
                    objects.own("input-stream", SocketInput(client)),
                    objects.own("output-stream", SocketOutput(client)),
                )
            )

        return failing(run)

    def local_address(this: Any) -> Any:
        tcp = of(this)
        if tcp.state == "unbound":
            return Err("invalid-state")
        return failing(lambda: Ok(address_value(tcp.family, tcp.sock.getsockname())))

    def remote_address(this: Any) -> Any:
        tcp = of(this)
        if tcp.state != "connected":
            return Err("invalid-state")
        return failing(lambda: Ok(address_value(tcp.family, tcp.sock.getpeername())))

    def set_backlog(this: Any, value: int) -> Any:
        tcp = of(this)
        if value == 0:
            return Err("invalid-argument")
        if tcp.state in ("connect-started", "connected"):
            return Err("invalid-state")
        tcp.backlog = min(value, 1 << 16)
        if tcp.state == "listening":
            return failing(lambda: done(lambda: tcp.sock.listen(tcp.backlog)))
        return Ok(None)

    def subscribe(this: Any) -> Any:
        tcp = of(this)

        def ready() -> bool:
            if tcp.state == "connect-started":
                return _ready(tcp.sock, True)
            if tcp.state == "listening":
                return _ready(tcp.sock, False)
            return True

        return objects.own("pollable", Pollable(probe=ready))

    def shutdown(this: Any, how: str) -> Any:
        tcp = of(this)
        if tcp.state != "connected":
            return Err("invalid-state")
        mode = {"receive": socket.SHUT_RD, "send": socket.SHUT_WR, "both": socket.SHUT_RDWR}[how]
        if how in ("receive", "both"):
            tcp.read_closed = True
        return failing(lambda: done(lambda: tcp.sock.shutdown(mode)))

    def option(where: Callable[[TcpSocket], tuple[int, int]], scale: int = 1, flag: bool = False) -> tuple[Any, Any]:
        """A getter and a setter over one socket option (``scale``: guest units per host unit)."""

        def get(this: Any) -> Any:
            tcp = of(this)

            def run() -> Any:
                value = tcp.sock.getsockopt(*where(tcp))
                return Ok(bool(value) if flag else value * scale)

            return failing(run)

        def set_value(this: Any, value: Any) -> Any:
            tcp = of(this)
            if not flag and value == 0:
                return Err("invalid-argument")
            host_value = int(value) if flag else max(1, min(value // scale, (1 << 31) - 1))
            return failing(lambda: done(lambda: tcp.sock.setsockopt(*where(tcp), host_value)))

        return get, set_value

    def hop_limit(tcp: TcpSocket) -> tuple[int, int]:
        if tcp.family == socket.AF_INET6:
            return socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS
        return socket.IPPROTO_IP, socket.IP_TTL

    def fixed(level: int, name: int) -> Callable[[TcpSocket], tuple[int, int]]:
        return lambda tcp: (level, name)

    second = 1_000_000_000
    functions: dict[str, Any] = {
        "[method]tcp-socket.start-bind": start_bind,
        "[method]tcp-socket.finish-bind": finish("bind-started", "bound"),
        "[method]tcp-socket.start-connect": start_connect,
        "[method]tcp-socket.finish-connect": finish_connect,
        "[method]tcp-socket.start-listen": start_listen,
        "[method]tcp-socket.finish-listen": finish("listen-started", "listening"),
        "[method]tcp-socket.accept": accept,
        "[method]tcp-socket.local-address": local_address,
        "[method]tcp-socket.remote-address": remote_address,
        "[method]tcp-socket.is-listening": lambda this: of(this).state == "listening",
        "[method]tcp-socket.address-family": lambda this: family_name(of(this).family),
        "[method]tcp-socket.set-listen-backlog-size": set_backlog,
        "[method]tcp-socket.subscribe": subscribe,
        "[method]tcp-socket.shutdown": shutdown,
        "create-tcp-socket": create,
    }
    tcp_level = socket.IPPROTO_TCP
    for wit_name, (where, scale, flag) in {
        "keep-alive-enabled": (fixed(socket.SOL_SOCKET, socket.SO_KEEPALIVE), 1, True),
        "keep-alive-idle-time": (fixed(tcp_level, getattr(socket, "TCP_KEEPIDLE", 4)), second, False),
        "keep-alive-interval": (fixed(tcp_level, getattr(socket, "TCP_KEEPINTVL", 5)), second, False),
        "keep-alive-count": (fixed(tcp_level, getattr(socket, "TCP_KEEPCNT", 6)), 1, False),
        "hop-limit": (hop_limit, 1, False),
        "receive-buffer-size": (fixed(socket.SOL_SOCKET, socket.SO_RCVBUF), 1, False),
        "send-buffer-size": (fixed(socket.SOL_SOCKET, socket.SO_SNDBUF), 1, False),
    }.items():
        getter, setter = option(where, scale, flag)
        functions[f"[method]tcp-socket.{wit_name}"] = getter
        functions[f"[method]tcp-socket.set-{wit_name}"] = setter
    return functions
