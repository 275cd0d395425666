"""What a guest may do on the network through ``wasi:sockets``: nothing, unless the embedder says so.

A ``NetworkPolicy`` holds three lists, all empty by default:

- ``tcp`` and ``udp``: address rules, each ``ADDRESS[/PREFIX][:PORT]`` (IPv6 in brackets when a port follows:
  ``[::1]:8080``, ``[fd00::/8]``), or ``*`` for every address and port. A rule without a port covers every
  port. The guest may connect (TCP), send to and receive from (UDP), bind and listen on (TCP) the addresses
  the rules of that protocol cover; binding port 0 (an ephemeral port, as a client does before sending) is
  allowed on any address once the protocol has a rule at all.
- ``ip_name_lookup``: the names ``resolve-addresses`` may resolve (compared without case), or ``*`` for any.

wasmtime's equivalents are coarser: ``-S inherit-network`` (``*`` for TCP and UDP here) and
``-S allow-ip-name-lookup`` (``*`` for names). A refused socket operation is the WIT's ``access-denied``; a
refused lookup ``permanent-resolver-failure``, as on wasmtime.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AddressRule:
    network: Network | None  # None: every address
    port: int | None  # None: every port

    def covers(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is None:
            return True
        try:
            address = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return address.version == self.network.version and address in self.network


def parse_rule(text: str) -> AddressRule:
    """One ``--allow-tcp``/``--allow-udp`` rule; ValueError naming the rule if it is not one."""
    rule = text.strip()
    if rule == "*":
        return AddressRule(None, None)
    port: str | None = None
    if rule.startswith("["):
        address, _, rest = rule[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"network rule `{text}`: expected `[ADDRESS]:PORT`")
            port = rest[1:]
    elif rule.count(":") == 1:
        address, _, port = rule.partition(":")
    else:
        address = rule
    try:
        network = ipaddress.ip_network(address, strict=False)
    except ValueError:
        raise ValueError(f"network rule `{text}`: `{address}` is not an IP address or network") from None
    if port is not None and (not port.isdigit() or not 0 < int(port) < 65536):
        raise ValueError(f"network rule `{text}`: `{port}` is not a port (1-65535)")
    return AddressRule(network, int(port) if port is not None else None)


@dataclass(frozen=True)
class NetworkPolicy:
    """The addresses (per protocol) and names a guest may use; deny by default."""

    tcp: tuple[AddressRule, ...] = ()
    udp: tuple[AddressRule, ...] = ()
    ip_name_lookup: tuple[str, ...] = ()

    @classmethod
    def of(cls, tcp: Sequence[str] = (), udp: Sequence[str] = (), ip_name_lookup: Sequence[str] = ()) -> NetworkPolicy:
        return cls(
            tuple(parse_rule(rule) for rule in tcp),
            tuple(parse_rule(rule) for rule in udp),
            tuple(name.strip().lower().rstrip(".") for name in ip_name_lookup if name.strip()),
        )

    def rules(self, protocol: str) -> tuple[AddressRule, ...]:
        return self.tcp if protocol == "tcp" else self.udp

    def allows(self, protocol: str, host: str, port: int) -> bool:
        """May the guest connect or send to, or bind to, ``host:port`` over ``protocol``?"""
        return any(rule.covers(host, port) for rule in self.rules(protocol))

    def allows_bind(self, protocol: str, host: str, port: int) -> bool:
        if port == 0 and self.rules(protocol):
            return True
        return self.allows(protocol, host, port)

    def allows_lookup(self, name: str) -> bool:
        key = name.lower().rstrip(".")
        return any(allowed in ("*", key) for allowed in self.ip_name_lookup)
