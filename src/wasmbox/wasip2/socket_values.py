"""What ``wasi:sockets`` functions share: their ``error-code`` for a host failure, and addresses both ways.

``ip-socket-address`` values become Python socket addresses (``(host, port)`` for IPv4, ``(host, port,
flowinfo, scope_id)`` for IPv6) and back. ``SocketError`` carries the ``error-code`` enum case a function
answers with; ``error_code`` maps an ``OSError`` to one (the mapping wasmtime's host uses: ``EACCES`` and
``EPERM`` are ``access-denied``, ``EADDRINUSE`` ``address-in-use``, ...; anything else ``unknown``).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any

from ..canonical_abi.values import Record, Variant
from .io import StreamFailure

_ERRNO_CODES = {
    errno.EACCES: "access-denied",
    errno.EPERM: "access-denied",
    errno.EAFNOSUPPORT: "not-supported",
    errno.EOPNOTSUPP: "not-supported",
    errno.EPROTONOSUPPORT: "not-supported",
    errno.EINVAL: "invalid-argument",
    errno.ENOMEM: "out-of-memory",
    errno.ENOBUFS: "out-of-memory",
    errno.ETIMEDOUT: "timeout",
    errno.EAGAIN: "would-block",
    errno.EINPROGRESS: "would-block",
    errno.EALREADY: "concurrency-conflict",
    errno.EMFILE: "new-socket-limit",
    errno.ENFILE: "new-socket-limit",
    errno.EADDRNOTAVAIL: "address-not-bindable",
    errno.EADDRINUSE: "address-in-use",
    errno.ENETUNREACH: "remote-unreachable",
    errno.EHOSTUNREACH: "remote-unreachable",
    errno.ENETDOWN: "remote-unreachable",
    errno.ECONNREFUSED: "connection-refused",
    errno.ECONNRESET: "connection-reset",
    errno.EPIPE: "connection-reset",
    errno.ECONNABORTED: "connection-aborted",
    errno.EMSGSIZE: "datagram-too-large",
}


class SocketError(StreamFailure):
    """A refused or failed socket operation; ``code`` is the ``error-code`` case the guest receives."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


def error_code(error: BaseException) -> str:
    if isinstance(error, SocketError):
        return error.code
    if isinstance(error, OSError) and error.errno is not None:
        return _ERRNO_CODES.get(error.errno, "unknown")
    return "unknown"


def family_of(name: str) -> socket.AddressFamily:
    return socket.AF_INET6 if name == "ipv6" else socket.AF_INET


def family_name(family: int) -> str:
    return "ipv6" if family == socket.AF_INET6 else "ipv4"


def _field(value: Any, label: str) -> Any:
    return value[label] if isinstance(value, (Record, dict)) else getattr(value, label.replace("-", "_"))


def socket_address(value: Variant) -> tuple[socket.AddressFamily, tuple[Any, ...]]:
    """An ``ip-socket-address`` as a family and a Python socket address."""
    fields = value.value
    port = int(_field(fields, "port"))
    if value.case == "ipv4":
        return socket.AF_INET, (".".join(str(part) for part in _field(fields, "address")), port)
    host = str(ipaddress.IPv6Address(b"".join(int(part).to_bytes(2, "big") for part in _field(fields, "address"))))
    return socket.AF_INET6, (host, port, int(_field(fields, "flow-info")), int(_field(fields, "scope-id")))


def address_value(family: int, address: tuple[Any, ...]) -> Variant:
    """A Python socket address as an ``ip-socket-address``."""
    if family == socket.AF_INET:
        parts = tuple(int(part) for part in str(address[0]).split("."))
        return Variant("ipv4", Record({"port": address[1], "address": parts}))
    packed = ipaddress.IPv6Address(str(address[0]).split("%")[0]).packed
    words = tuple(int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2))
    flow = address[2] if len(address) > 2 else 0
    scope = address[3] if len(address) > 3 else 0
    return Variant("ipv6", Record({"port": address[1], "flow-info": flow, "address": words, "scope-id": scope}))


def ip_address_value(text: str) -> Variant:
    """An address (no port) as an ``ip-address``."""
    address = ipaddress.ip_address(text.split("%")[0])
    if isinstance(address, ipaddress.IPv4Address):
        return Variant("ipv4", tuple(address.packed))
    packed = address.packed
    return Variant("ipv6", tuple(int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2)))


def is_unspecified(host: str) -> bool:
    return ipaddress.ip_address(host.split("%")[0]).is_unspecified
