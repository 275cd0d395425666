"""``wasi:sockets`` 0.2: TCP, UDP and name lookup on host sockets, under a deny-by-default ``NetworkPolicy``.

Components built by common toolchains import the sockets interfaces whether or not they use the network
(componentize-py's CPython does), so they always link. What a guest may reach is the instance's
``NetworkPolicy`` (``network_policy.py``): with the default, empty one, creating a TCP or UDP socket answers
``access-denied`` and resolving a name ``permanent-resolver-failure`` (what wasmtime answers when lookup is
not allowed; the WIT lists no ``access-denied`` for it). TCP is ``sockets_tcp.py``,
UDP ``sockets_udp.py``; this module gives the network resource, name lookup and ``network-error-code``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..canonical_abi.values import Err, Ok, Variant
from .io import Pollable, StreamError
from .network_policy import NetworkPolicy
from .objects import HostObjects, with_typed_errors
from .socket_values import SocketError, error_code, ip_address_value
from .sockets_tcp import tcp_interface
from .sockets_udp import udp_interface

SOCKET_RESOURCES = (
    "network",
    "tcp-socket",
    "udp-socket",
    "incoming-datagram-stream",
    "outgoing-datagram-stream",
    "resolve-address-stream",
)

MAX_NAME = 255  # a DNS name's most octets (RFC 1035 section 2.3.4)


class _Network:
    """The network an instance is given; what it grants is the instance's policy."""


@dataclass
class ResolvedAddresses:
    addresses: list[Variant] = field(default_factory=list)
    failure: str | None = None  # an error-code to give instead of the first address


def _lookup_error(error: socket.gaierror) -> str:
    if error.errno == socket.EAI_AGAIN:
        return "temporary-resolver-failure"
    if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
        return "name-unresolvable"
    return "permanent-resolver-failure"


def resolve(name: str) -> ResolvedAddresses:
    """The addresses ``name`` resolves to, each once, in the resolver's order (an IP literal: itself)."""
    try:
        return ResolvedAddresses([ip_address_value(str(ipaddress.ip_address(name.strip("[]"))))])
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        return ResolvedAddresses(failure=_lookup_error(error))
    except (OSError, UnicodeError):
        return ResolvedAddresses(failure="permanent-resolver-failure")
    seen: list[str] = []
    for _, _, _, _, address in infos:
        if address[0] not in seen:
            seen.append(str(address[0]))
    return ResolvedAddresses([ip_address_value(text) for text in seen])


def _valid_name(name: str) -> bool:
    if not name or len(name) > MAX_NAME:
        return False
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        pass
    return all(label and len(label) < 64 and label.replace("-", "").isalnum() for label in name.rstrip(".").split("."))


def socket_interfaces(objects: HostObjects, policy: NetworkPolicy | None = None) -> dict[str, Mapping[str, Any]]:
    """The ``wasi:sockets`` interfaces, granting what ``policy`` allows (nothing by default)."""
    policy = policy or NetworkPolicy()
    resources = {name: objects.add_type(name) for name in SOCKET_RESOURCES}

    def network() -> Any:
        return objects.own("network", _Network())

    def check_network(value: Any) -> None:
        objects.get("network", value, _Network)

    def resolve_addresses(network_value: Any, name: str) -> Any:
        check_network(network_value)
        if not policy.allows_lookup(name):
            return Err("permanent-resolver-failure")  # wasmtime's answer when lookup is not allowed
        if not _valid_name(name):
            return Err("invalid-argument")
        return Ok(objects.own("resolve-address-stream", resolve(name)))

    def resolve_next(this: Any) -> Any:
        stream = objects.get("resolve-address-stream", this, ResolvedAddresses)
        if stream.failure is not None:
            failure, stream.failure = stream.failure, None
            return Err(failure)
        return Ok(stream.addresses.pop(0) if stream.addresses else None)

    def network_error_code(error: Any) -> Any:
        cause = objects.get("error", error, StreamError).cause
        if isinstance(cause, (SocketError, OSError)):
            return error_code(cause)
        return None

    tcp = tcp_interface(objects, policy, check_network)
    udp = udp_interface(objects, policy, check_network)
    interfaces: dict[str, dict[str, Any]] = {
        "wasi:sockets/network": {"network": resources["network"], "network-error-code": network_error_code},
        "wasi:sockets/instance-network": {"instance-network": network},
        "wasi:sockets/tcp-create-socket": {"create-tcp-socket": tcp.pop("create-tcp-socket")},
        "wasi:sockets/udp-create-socket": {"create-udp-socket": udp.pop("create-udp-socket")},
        "wasi:sockets/ip-name-lookup": {
            "resolve-address-stream": resources["resolve-address-stream"],
            "resolve-addresses": resolve_addresses,
            "[method]resolve-address-stream.resolve-next-address": resolve_next,
            "[method]resolve-address-stream.subscribe": lambda this: objects.own("pollable", Pollable()),
        },
        "wasi:sockets/tcp": {"tcp-socket": resources["tcp-socket"], **tcp},
        "wasi:sockets/udp": {
            "udp-socket": resources["udp-socket"],
            "incoming-datagram-stream": resources["incoming-datagram-stream"],
            "outgoing-datagram-stream": resources["outgoing-datagram-stream"],
            **udp,
        },
    }
    return {name: with_typed_errors(name, functions) for name, functions in interfaces.items()}
