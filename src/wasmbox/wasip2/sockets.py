"""``wasi:sockets`` 0.2 under a deny-by-default network policy.

Components built by common toolchains import the sockets interfaces whether or not they use the network
(componentize-py's CPython does), so they must link. With the network denied — the default, and the only
policy implemented so far — every way to get a socket or an address answers ``access-denied``: creating a
TCP or UDP socket, and name lookup. The functions on sockets themselves are provided for linking but cannot
be reached, since no socket can exist; if a handle of another kind is passed they trap.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..canonical_abi.values import Err
from ..errors import Trap
from .objects import HostObjects

SOCKET_RESOURCES = (
    "network",
    "tcp-socket",
    "udp-socket",
    "incoming-datagram-stream",
    "outgoing-datagram-stream",
    "resolve-address-stream",
)


class _Network:
    """The one network a denied host hands out: it grants nothing."""


def _unreachable(name: str) -> Any:
    def call(*args: Any) -> Any:
        raise Trap("no socket", f"wasi:sockets `{name}` called, but the network is denied and no socket exists")

    return call


class _DeniedInterface(Mapping[str, Any]):
    """An interface whose named entry points are given, and whose every other function is unreachable."""

    def __init__(self, entries: dict[str, Any], resources: dict[str, Any]) -> None:
        self.entries = {**entries, **resources}

    def __getitem__(self, name: str) -> Any:
        if name in self.entries:
            return self.entries[name]
        return _unreachable(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def socket_interfaces(objects: HostObjects) -> dict[str, Mapping[str, Any]]:
    """The ``wasi:sockets`` interfaces with the network denied."""
    resources = {name: objects.add_type(name) for name in SOCKET_RESOURCES}

    def denied(*args: Any) -> Err:
        return Err("access-denied")

    def network() -> Any:
        return objects.own("network", _Network())

    interfaces: dict[str, dict[str, Any]] = {
        "wasi:sockets/network": {},
        "wasi:sockets/instance-network": {"instance-network": network},
        "wasi:sockets/tcp-create-socket": {"create-tcp-socket": denied},
        "wasi:sockets/udp-create-socket": {"create-udp-socket": denied},
        "wasi:sockets/ip-name-lookup": {"resolve-addresses": denied},
        "wasi:sockets/tcp": {},
        "wasi:sockets/udp": {},
    }
    return {name: _DeniedInterface(entries, resources) for name, entries in interfaces.items()}
