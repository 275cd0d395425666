"""``wasi:sockets/udp``: UDP sockets over non-blocking host sockets, under the instance's ``NetworkPolicy``.

A socket is bound (``start-bind``/``finish-bind``), then ``stream`` gives the datagram streams, connected to
one remote address or not; calling ``stream`` again replaces them (the old ones then fail with
``invalid-state``), except that a connected socket cannot be made unconnected again (``not-supported``:
Python cannot dissolve a UDP connection). ``send`` refuses a datagram to an address outside the policy
(``access-denied``) and ``receive`` drops those from one: a guest allowed to talk to one server hears nobody
else. ``receive`` returns what has arrived (perhaps nothing); the streams' pollables are ready when it would
not.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..canonical_abi.values import Err, Ok, Record
from .io import Pollable
from .network_policy import NetworkPolicy
from .objects import HostObjects
from .socket_values import SocketError, address_value, error_code, family_name, is_unspecified, socket_address

SEND_PERMIT = 64  # datagrams ``check-send`` grants; a send is done when it returns
MAX_DATAGRAM = 65535


class UdpSocket:
    def __init__(self, family: socket.AddressFamily) -> None:
        self.family = family
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        if family == socket.AF_INET6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.state = "unbound"
        self.remote: tuple[Any, ...] | None = None
        self.generation = 0  # which ``stream`` call the live streams came from

    def close(self) -> None:
        self.sock.close()

    def readable(self) -> bool:
        return self.sock.fileno() < 0 or bool(select.select([self.sock], [], [], 0)[0])


@dataclass
class DatagramStream:
    owner: UdpSocket
    generation: int

    def live(self) -> UdpSocket:
        if self.owner.generation != self.generation or self.owner.sock.fileno() < 0:
            raise SocketError("invalid-state", "the socket's streams were replaced or it was closed")
        return self.owner


class IncomingDatagrams(DatagramStream):
    pass


class OutgoingDatagrams(DatagramStream):
    pass


def udp_interface(objects: HostObjects, policy: NetworkPolicy, check_network: Callable[[Any], None]) -> dict[str, Any]:
    """The functions of ``wasi:sockets/udp`` and ``create-udp-socket``."""

    def of(this: Any) -> UdpSocket:
        return objects.get("udp-socket", this, UdpSocket)

    def done(action: Callable[[], object]) -> Any:
        action()
        return Ok(None)

    def failing(operation: Callable[[], Any]) -> Any:
        try:
            return operation()
        except (OSError, SocketError) as error:
            return Err(error_code(error))

    def create(family: str) -> Any:
        if not policy.udp:
            return Err("access-denied")
        return failing(
            lambda: Ok(objects.own("udp-socket", UdpSocket(socket.AF_INET6 if family == "ipv6" else socket.AF_INET)))
        )

    def drop(rep: int) -> None:
        udp = objects.objects.pop(rep, None)
        if isinstance(udp, UdpSocket):
            udp.close()

    objects.types["udp-socket"].destructor = drop

    def target(udp: UdpSocket, address: Any) -> tuple[Any, ...]:
        family, host_address = socket_address(address)
        if family != udp.family:
            raise SocketError("invalid-argument", "the address is not of the socket's family")
        return host_address

    def start_bind(this: Any, network: Any, local: Any) -> Any:
        udp = of(this)
        check_network(network)

        def run() -> Any:
            if udp.state != "unbound":
                raise SocketError("invalid-state")
            address = target(udp, local)
            if not policy.allows_bind("udp", address[0], address[1]):
                raise SocketError("access-denied")
            udp.sock.bind(address)
            udp.state = "bind-started"
            return Ok(None)

        return failing(run)

    def finish_bind(this: Any) -> Any:
        udp = of(this)
        if udp.state != "bind-started":
            return Err("not-in-progress")
        udp.state = "bound"
        return Ok(None)

    def stream(this: Any, remote: Any) -> Any:
        udp = of(this)

        def run() -> Any:
            if udp.state != "bound":
                raise SocketError("invalid-state")
            if remote is None:
                if udp.remote is not None:  # Python has no way to dissolve a UDP connection (AF_UNSPEC)
                    raise SocketError("not-supported", "a connected UDP socket cannot be disconnected here")
            else:
                address = target(udp, remote)
                if is_unspecified(address[0]) or address[1] == 0:
                    raise SocketError("invalid-argument", "cannot connect to an unspecified address or port 0")
                if not policy.allows("udp", address[0], address[1]):
                    raise SocketError("access-denied")
                udp.sock.connect(address)
                udp.remote = address
            udp.generation += 1
            return Ok(
                (
                    objects.own("incoming-datagram-stream", IncomingDatagrams(udp, udp.generation)),
                    objects.own("outgoing-datagram-stream", OutgoingDatagrams(udp, udp.generation)),
                )
            )

        return failing(run)

    def receive(this: Any, max_results: int) -> Any:
        incoming = objects.get("incoming-datagram-stream", this, IncomingDatagrams)

        def run() -> Any:
            udp = incoming.live()
            datagrams: list[Record] = []
            while len(datagrams) < max_results:
                try:
                    data, sender = udp.sock.recvfrom(MAX_DATAGRAM)
                except BlockingIOError:
                    break
                if not policy.allows("udp", sender[0], sender[1]):
                    continue  # from an address the guest may not hear
                datagrams.append(Record({"data": data, "remote-address": address_value(udp.family, sender)}))
            return Ok(datagrams)

        return failing(run)

    def check_send(this: Any) -> Any:
        outgoing = objects.get("outgoing-datagram-stream", this, OutgoingDatagrams)
        return failing(lambda: outgoing.live() and Ok(SEND_PERMIT))

    def send(this: Any, datagrams: list[Any]) -> Any:
        outgoing = objects.get("outgoing-datagram-stream", this, OutgoingDatagrams)
        sent = 0
        try:
            udp = outgoing.live()
            if len(datagrams) > SEND_PERMIT:
                raise SocketError("invalid-argument", "more datagrams than check-send permitted")
            for datagram in datagrams:
                remote = datagram["remote-address"] if isinstance(datagram, Record) else datagram.remote_address
                address = target(udp, remote) if remote is not None else udp.remote
                if address is None or (udp.remote is not None and remote is not None and address != udp.remote):
                    raise SocketError("invalid-argument", "no address, or not the connected one")
                if not policy.allows("udp", address[0], address[1]):
                    raise SocketError("access-denied")
                data = bytes(datagram["data"] if isinstance(datagram, Record) else datagram.data)
                if udp.remote is not None:
                    udp.sock.send(data)
                else:
                    udp.sock.sendto(data, address)
                sent += 1
        except (OSError, SocketError) as error:
            if sent == 0:
                return Err(error_code(error))
        return Ok(sent)

    def local_address(this: Any) -> Any:
        udp = of(this)
        if udp.state == "unbound":
            return Err("invalid-state")
        return failing(lambda: Ok(address_value(udp.family, udp.sock.getsockname())))

    def remote_address(this: Any) -> Any:
        udp = of(this)
        if udp.remote is None:
            return Err("invalid-state")
        return failing(lambda: Ok(address_value(udp.family, udp.sock.getpeername())))

    def option(where: Callable[[UdpSocket], tuple[int, int]]) -> tuple[Any, Any]:
        def get(this: Any) -> Any:
            udp = of(this)
            return failing(lambda: Ok(udp.sock.getsockopt(*where(udp))))

        def set_value(this: Any, value: int) -> Any:
            udp = of(this)
            if value == 0:
                return Err("invalid-argument")
            return failing(lambda: done(lambda: udp.sock.setsockopt(*where(udp), min(value, (1 << 31) - 1))))

        return get, set_value

    def hop_limit(udp: UdpSocket) -> tuple[int, int]:
        if udp.family == socket.AF_INET6:
            return socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS
        return socket.IPPROTO_IP, socket.IP_TTL

    functions: dict[str, Any] = {
        "create-udp-socket": create,
        "[method]udp-socket.start-bind": start_bind,
        "[method]udp-socket.finish-bind": finish_bind,
        "[method]udp-socket.stream": stream,
        "[method]udp-socket.local-address": local_address,
        "[method]udp-socket.remote-address": remote_address,
        "[method]udp-socket.address-family": lambda this: family_name(of(this).family),
        "[method]udp-socket.subscribe": lambda this: objects.own("pollable", Pollable()),
        "[method]incoming-datagram-stream.receive": receive,
        "[method]incoming-datagram-stream.subscribe": lambda this: objects.own(
            "pollable", Pollable(probe=objects.get("incoming-datagram-stream", this, IncomingDatagrams).owner.readable)
        ),
        "[method]outgoing-datagram-stream.check-send": check_send,
        "[method]outgoing-datagram-stream.send": send,
        "[method]outgoing-datagram-stream.subscribe": lambda this: objects.own("pollable", Pollable()),
    }
    for wit_name, where in {
        "unicast-hop-limit": hop_limit,
        "receive-buffer-size": lambda udp: (socket.SOL_SOCKET, socket.SO_RCVBUF),
        "send-buffer-size": lambda udp: (socket.SOL_SOCKET, socket.SO_SNDBUF),
    }.items():
        getter, setter = option(where)
        functions[f"[method]udp-socket.{wit_name}"] = getter
        functions[f"[method]udp-socket.set-{wit_name}"] = setter
    return functions
