"""``wasi:sockets``: TCP, UDP and name lookup under a per-instance policy, deny by default.

The host's functions are called from Python as a guest calls them (resource values in, ``Ok``/``Err`` out),
against echo servers on 127.0.0.1 in threads; a component built from ``components/sockets_probe.wat`` and
``.wit`` makes the same calls through the canonical ABI, and wasmtime-py runs it as the oracle for the
default policy (wasmtime-py cannot grant a network).
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from wasmbox.canonical_abi.values import Err, Ok, Record, Variant
from wasmbox.component import Component
from wasmbox.errors import Trap
from wasmbox.wasip2 import NetworkPolicy, WasiHost
from wasmbox.wasip2.network_policy import parse_rule

from .test_http_p2 import build_wat_component


class Guest:
    """One instance's sockets, clocks and streams, by function name."""

    def __init__(self, policy: NetworkPolicy | None = None) -> None:
        self.host = WasiHost(network=policy)
        self.functions: dict[str, Any] = {}
        for interface in ("tcp", "udp", "tcp-create-socket", "udp-create-socket", "ip-name-lookup", "network"):
            self.functions.update(self.host.interfaces[f"wasi:sockets/{interface}"])
        self.functions.update(self.host.interfaces["wasi:io/streams"])
        self.functions.update(self.host.interfaces["wasi:io/poll"])
        self.network = self.host.interfaces["wasi:sockets/instance-network"]["instance-network"]()

    def __call__(self, name: str, *args: Any) -> Any:
        return self.functions[name](*args)

    def wait(self, pollable: Any) -> None:
        self("[method]pollable.block", pollable)

    def connect(self, port: int, host: tuple[int, int, int, int] = (127, 0, 0, 1)) -> Any:
        """A TCP connection's (socket, input, output), or the error-code of the step that failed."""
        tcp = self("create-tcp-socket", "ipv4")
        if isinstance(tcp, Err):
            return tcp
        tcp = tcp.value
        started = self("[method]tcp-socket.start-connect", tcp, self.network, ipv4(host, port))
        if isinstance(started, Err):
            return started
        self.wait(self("[method]tcp-socket.subscribe", tcp))
        finished = self("[method]tcp-socket.finish-connect", tcp)
        return finished if isinstance(finished, Err) else (tcp, *finished.value)


def ipv4(address: tuple[int, int, int, int], port: int) -> Variant:
    return Variant("ipv4", Record({"port": port, "address": address}))


class Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


class UdpEcho(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        sock.sendto(data.upper(), self.client_address)


@pytest.fixture(scope="module")
def tcp_echo() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def udp_echo() -> Iterator[int]:
    server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), UdpEcho)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_by_default_no_socket_and_no_lookup() -> None:
    guest = Guest()
    assert guest("create-tcp-socket", "ipv4") == Err("access-denied")
    assert guest("create-udp-socket", "ipv6") == Err("access-denied")
    assert guest("resolve-addresses", guest.network, "localhost") == Err("permanent-resolver-failure")


def test_tcp_connect_send_and_receive_when_allowed(tcp_echo: int) -> None:
    guest = Guest(NetworkPolicy.of(tcp=[f"127.0.0.1:{tcp_echo}"]))
    tcp, reader, writer = guest.connect(tcp_echo)
    assert guest("[method]output-stream.blocking-write-and-flush", writer, b"hello, echo") == Ok(None)
    received = b""
    while len(received) < 11:
        chunk = guest("[method]input-stream.blocking-read", reader, 100)
        received += chunk.value
    assert received == b"hello, echo"
    assert guest("[method]input-stream.read", reader, 100) == Ok(b"")  # nothing more yet: would block
    assert guest("[method]tcp-socket.remote-address", tcp) == Ok(ipv4((127, 0, 0, 1), tcp_echo))
    local = guest("[method]tcp-socket.local-address", tcp).value
    assert local.case == "ipv4" and local.value["address"] == (127, 0, 0, 1) and local.value["port"] > 0
    assert guest("[method]tcp-socket.shutdown", tcp, "send") == Ok(None)
    assert guest("[method]input-stream.blocking-read", reader, 100) == Err(Variant("closed"))


@pytest.mark.parametrize("rules", [["127.0.0.2"], ["127.0.0.1:1"], ["10.0.0.0/8"], ["[::1]"]])
def test_tcp_connect_outside_the_policy_is_denied(tcp_echo: int, rules: list[str]) -> None:
    guest = Guest(NetworkPolicy.of(tcp=rules))
    assert guest.connect(tcp_echo) == Err("access-denied")


@pytest.mark.parametrize("rules", [["127.0.0.1"], ["127.0.0.0/8"], ["*"], ["127.0.0.1:{port}"]])
def test_tcp_rules_that_cover_the_address_allow_it(tcp_echo: int, rules: list[str]) -> None:
    guest = Guest(NetworkPolicy.of(tcp=[rule.format(port=tcp_echo) for rule in rules]))
    assert isinstance(guest.connect(tcp_echo), tuple)


def test_tcp_states_and_arguments_follow_the_wit(tcp_echo: int) -> None:
    guest = Guest(NetworkPolicy.of(tcp=["*"]))
    tcp = guest("create-tcp-socket", "ipv4").value
    assert guest("[method]tcp-socket.finish-connect", tcp) == Err("not-in-progress")
    assert guest("[method]tcp-socket.local-address", tcp) == Err("invalid-state")
    assert guest("[method]tcp-socket.start-listen", tcp) == Err("invalid-state")
    assert guest("[method]tcp-socket.start-connect", tcp, guest.network, ipv4((0, 0, 0, 0), 80)) == Err(
        "invalid-argument"
    )
    v6 = Variant("ipv6", Record({"port": 80, "flow-info": 0, "address": (0, 0, 0, 0, 0, 0, 0, 1), "scope-id": 0}))
    assert guest("[method]tcp-socket.start-connect", tcp, guest.network, v6) == Err("invalid-argument")
    assert guest("[method]tcp-socket.start-connect", tcp, guest.network, ipv4((127, 0, 0, 1), tcp_echo)) == Ok(None)
    assert guest("[method]tcp-socket.start-connect", tcp, guest.network, ipv4((127, 0, 0, 1), tcp_echo)) == Err(
        "invalid-state"
    )
    assert guest("[method]tcp-socket.address-family", tcp) == "ipv4"
    assert guest("[method]tcp-socket.is-listening", tcp) is False
    assert guest("[method]tcp-socket.set-keep-alive-enabled", tcp, True) == Ok(None)
    assert guest("[method]tcp-socket.keep-alive-enabled", tcp) == Ok(True)
    assert guest("[method]tcp-socket.set-hop-limit", tcp, 0) == Err("invalid-argument")
    assert guest("[method]tcp-socket.set-hop-limit", tcp, 42) == Ok(None)
    assert guest("[method]tcp-socket.hop-limit", tcp) == Ok(42)


def test_tcp_connection_refused() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    assert Guest(NetworkPolicy.of(tcp=["127.0.0.1"])).connect(port) == Err("connection-refused")


def test_tcp_listen_and_accept_a_host_client() -> None:
    guest = Guest(NetworkPolicy.of(tcp=["127.0.0.1"]))
    listener = guest("create-tcp-socket", "ipv4").value
    assert guest("[method]tcp-socket.start-bind", listener, guest.network, ipv4((127, 0, 0, 1), 0)) == Ok(None)
    assert guest("[method]tcp-socket.finish-bind", listener) == Ok(None)
    assert guest("[method]tcp-socket.start-listen", listener) == Ok(None)
    assert guest("[method]tcp-socket.finish-listen", listener) == Ok(None)
    assert guest("[method]tcp-socket.accept", listener) == Err("would-block")
    port = guest("[method]tcp-socket.local-address", listener).value.value["port"]
    with socket.create_connection(("127.0.0.1", port)) as client:
        guest.wait(guest("[method]tcp-socket.subscribe", listener))
        accepted, reader, writer = guest("[method]tcp-socket.accept", listener).value
        client.sendall(b"ping")
        assert guest("[method]input-stream.blocking-read", reader, 10) == Ok(b"ping")
        guest("[method]output-stream.blocking-write-and-flush", writer, b"pong")
        assert client.recv(10) == b"pong"
        assert guest("[method]tcp-socket.remote-address", accepted).value.value["port"] == client.getsockname()[1]


def test_binding_a_fixed_port_outside_the_policy_is_denied() -> None:
    guest = Guest(NetworkPolicy.of(tcp=["127.0.0.1:1"]))
    tcp = guest("create-tcp-socket", "ipv4").value
    assert guest("[method]tcp-socket.start-bind", tcp, guest.network, ipv4((127, 0, 0, 1), 8080)) == Err(
        "access-denied"
    )


def udp_pair(guest: Guest, remote: Variant | None) -> tuple[Any, Any, Any]:
    udp = guest("create-udp-socket", "ipv4").value
    assert guest("[method]udp-socket.start-bind", udp, guest.network, ipv4((127, 0, 0, 1), 0)) == Ok(None)
    assert guest("[method]udp-socket.finish-bind", udp) == Ok(None)
    incoming, outgoing = guest("[method]udp-socket.stream", udp, remote).value
    return udp, incoming, outgoing


def test_udp_round_trip_when_allowed(udp_echo: int) -> None:
    guest = Guest(NetworkPolicy.of(udp=[f"127.0.0.1:{udp_echo}"]))
    server = ipv4((127, 0, 0, 1), udp_echo)
    udp, incoming, outgoing = udp_pair(guest, server)
    assert guest("[method]outgoing-datagram-stream.check-send", outgoing) == Ok(64)
    datagrams = [Record({"data": b"one", "remote-address": None}), Record({"data": b"two", "remote-address": server})]
    assert guest("[method]outgoing-datagram-stream.send", outgoing, datagrams) == Ok(2)
    received: list[Any] = []
    while len(received) < 2:
        guest.wait(guest("[method]incoming-datagram-stream.subscribe", incoming))
        received += guest("[method]incoming-datagram-stream.receive", incoming, 10).value
    assert sorted(bytes(datagram["data"]) for datagram in received) == [b"ONE", b"TWO"]
    assert all(datagram["remote-address"] == server for datagram in received)
    assert guest("[method]udp-socket.remote-address", udp) == Ok(server)


def test_udp_sends_outside_the_policy_are_denied_and_datagrams_from_outside_dropped(udp_echo: int) -> None:
    guest = Guest(NetworkPolicy.of(udp=[f"127.0.0.1:{udp_echo}"]))
    udp, incoming, outgoing = udp_pair(guest, None)
    elsewhere = Record({"data": b"x", "remote-address": ipv4((127, 0, 0, 1), udp_echo + 1)})
    assert guest("[method]outgoing-datagram-stream.send", outgoing, [elsewhere]) == Err("access-denied")
    port = guest("[method]udp-socket.local-address", udp).value.value["port"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.sendto(b"unwanted", ("127.0.0.1", port))
        stranger.sendto(b"unwanted", ("127.0.0.1", port))
    allowed = Record({"data": b"wanted", "remote-address": ipv4((127, 0, 0, 1), udp_echo)})
    assert guest("[method]outgoing-datagram-stream.send", outgoing, [allowed]) == Ok(1)
    received: list[Any] = []
    while not received:
        guest.wait(guest("[method]incoming-datagram-stream.subscribe", incoming))
        received = guest("[method]incoming-datagram-stream.receive", incoming, 10).value
    assert [bytes(datagram["data"]) for datagram in received] == [b"WANTED"]


def test_udp_default_denies_and_states() -> None:
    guest = Guest(NetworkPolicy.of(udp=["127.0.0.1"]))
    udp = guest("create-udp-socket", "ipv4").value
    assert guest("[method]udp-socket.stream", udp, None) == Err("invalid-state")  # not bound
    assert guest("[method]udp-socket.finish-bind", udp) == Err("not-in-progress")
    _, incoming, _ = udp_pair(guest, None)
    assert guest("[method]incoming-datagram-stream.receive", incoming, 5) == Ok([])


def lookup(guest: Guest, name: str) -> Any:
    stream = guest("resolve-addresses", guest.network, name)
    if isinstance(stream, Err):
        return stream
    addresses = []
    while (next_address := guest("[method]resolve-address-stream.resolve-next-address", stream.value)) != Ok(None):
        if isinstance(next_address, Err):
            return next_address
        addresses.append(next_address.value)
    return addresses


def test_lookup_of_localhost_when_allowed_and_denied() -> None:
    allowed = lookup(Guest(NetworkPolicy.of(ip_name_lookup=["LocalHost"])), "localhost")
    assert Variant("ipv4", (127, 0, 0, 1)) in allowed or Variant("ipv6", (0, 0, 0, 0, 0, 0, 0, 1)) in allowed
    denied = Err("permanent-resolver-failure")
    assert lookup(Guest(NetworkPolicy.of(ip_name_lookup=["example.org"])), "localhost") == denied


def test_lookup_literals_bad_names_and_unknown_names() -> None:
    guest = Guest(NetworkPolicy.of(ip_name_lookup=["*"]))
    assert lookup(guest, "10.1.2.3") == [Variant("ipv4", (10, 1, 2, 3))]
    assert lookup(guest, "::2") == [Variant("ipv6", (0, 0, 0, 0, 0, 0, 0, 2))]
    assert lookup(guest, "not a name") == Err("invalid-argument")
    assert lookup(guest, "") == Err("invalid-argument")
    assert lookup(guest, "no-such-host.invalid") in (Err("name-unresolvable"), Err("permanent-resolver-failure"))


def test_a_handle_of_another_kind_traps() -> None:
    guest = Guest(NetworkPolicy.of(tcp=["*"]))
    with pytest.raises(Trap):
        guest("[method]tcp-socket.start-connect", guest.network, guest.network, ipv4((127, 0, 0, 1), 80))


@pytest.mark.parametrize(
    ("rule", "host", "port", "covered"),
    [
        ("127.0.0.1", "127.0.0.1", 5, True),
        ("127.0.0.1:80", "127.0.0.1", 80, True),
        ("127.0.0.1:80", "127.0.0.1", 81, False),
        ("10.0.0.0/8", "10.200.3.4", 1, True),
        ("10.0.0.0/8", "11.0.0.1", 1, False),
        ("[::1]:53", "::1", 53, True),
        ("::1", "::1", 9, True),
        ("[fd00::/8]", "fd12::1", 9, True),
        ("127.0.0.1", "::ffff:127.0.0.1", 1, True),
        ("*", "192.0.2.1", 7, True),
    ],
)
def test_address_rules(rule: str, host: str, port: int, covered: bool) -> None:
    assert parse_rule(rule).covers(host, port) is covered


@pytest.mark.parametrize("rule", ["localhost", "127.0.0.1:0", "127.0.0.1:http", "[::1]x", "300.1.1.1"])
def test_bad_rules_are_refused_naming_the_rule(rule: str) -> None:
    with pytest.raises(ValueError, match="network rule"):
        parse_rule(rule)


# A component making the calls, on wasmbox and on wasmtime.


def call_probe(policy: NetworkPolicy, export: str, *args: Any) -> Any:
    host = WasiHost(network=policy)
    component = Component.from_file(build_wat_component("sockets_probe", "prober"))
    try:
        return Ok(component.instantiate(host.imports_for(component)).exports[export](*args))
    except Err as error:
        return error


def call_probe_on_wasmtime(export: str, *args: Any) -> Any:
    wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is the oracle for these tests")
    from wasmtime import component as wc

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = wc.Linker(engine)
    linker.add_wasip2()
    instance = linker.instantiate(
        store, wc.Component.from_file(engine, str(build_wat_component("sockets_probe", "prober")))
    )
    function = instance.get_func(store, export)
    assert function is not None
    return function(store, *args)


def test_component_tcp_echo_allowed_and_denied(tcp_echo: int) -> None:
    address = ipv4((127, 0, 0, 1), tcp_echo)
    assert call_probe(NetworkPolicy.of(tcp=["127.0.0.1"]), "tcp-echo", address, b"through the ABI") == Ok(
        b"through the ABI"
    )
    assert call_probe(NetworkPolicy.of(tcp=["127.0.0.2"]), "tcp-echo", address, b"x") == Err("access-denied")


def test_component_lookup_allowed_and_denied() -> None:
    found = call_probe(NetworkPolicy.of(ip_name_lookup=["localhost"]), "lookup", "localhost")
    loopbacks = {Variant("ipv4", (127, 0, 0, 1)), Variant("ipv6", (0, 0, 0, 0, 0, 0, 0, 1))}
    assert isinstance(found, Ok) and found.value and set(found.value) <= loopbacks
    assert call_probe(NetworkPolicy(), "lookup", "localhost") == Err("permanent-resolver-failure")


def test_component_default_policy_agrees_with_wasmtimes(tcp_echo: int) -> None:
    pytest.importorskip("wasmtime", reason="wasmtime-py is the oracle for these tests")
    from wasmtime import component as wc

    target = wc.Record()
    target.port = tcp_echo
    target.address = (127, 0, 0, 1)
    assert call_probe_on_wasmtime("tcp-echo", wc.Variant("ipv4", target), b"x") == "access-denied"
    assert call_probe(NetworkPolicy(), "tcp-echo", ipv4((127, 0, 0, 1), tcp_echo), b"x") == Err("access-denied")
    assert call_probe_on_wasmtime("lookup", "localhost") == "permanent-resolver-failure"
    assert call_probe(NetworkPolicy(), "lookup", "localhost") == Err("permanent-resolver-failure")


def test_cli_allow_tcp_and_lookup_options(tcp_echo: int, capfd: pytest.CaptureFixture[str]) -> None:
    from wasmbox.cli import main

    probe = str(build_wat_component("sockets_probe", "prober"))
    address = f"ipv4({{port: {tcp_echo}, address: (127, 0, 0, 1)}})"
    assert (
        main(["run", "--allow-tcp", f"127.0.0.1:{tcp_echo}", "--invoke", "tcp-echo", probe, address, "[104, 105]"]) == 0
    )
    assert capfd.readouterr().out.strip() == "ok([104, 105])"
    assert main(["run", "--invoke", "tcp-echo", probe, address, "[104, 105]"]) == 1
    assert capfd.readouterr().out.strip() == "err(access-denied)"
    assert main(["run", "--allow-ip-name-lookup", "localhost", "--invoke", "lookup", probe, '"localhost"']) == 0
    assert capfd.readouterr().out.startswith("ok([")
    assert main(["run", "--allow-udp", "localhost", "--invoke", "lookup", probe, '"localhost"']) == 2
    assert "network rule `localhost`" in capfd.readouterr().err


def test_ipv6_listen_accept_and_addresses() -> None:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    guest = Guest(NetworkPolicy.of(tcp=["[::1]"]))
    listener = guest("create-tcp-socket", "ipv6").value
    loopback = Variant("ipv6", Record({"port": 0, "flow-info": 0, "address": (0, 0, 0, 0, 0, 0, 0, 1), "scope-id": 0}))
    assert guest("[method]tcp-socket.start-bind", listener, guest.network, loopback) == Ok(None)
    assert guest("[method]tcp-socket.finish-bind", listener) == Ok(None)
    assert guest("[method]tcp-socket.start-listen", listener) == Ok(None)
    assert guest("[method]tcp-socket.finish-listen", listener) == Ok(None)
    assert guest("[method]tcp-socket.is-listening", listener) is True
    local = guest("[method]tcp-socket.local-address", listener).value
    assert local.case == "ipv6" and local.value["address"] == (0, 0, 0, 0, 0, 0, 0, 1)
    with socket.create_connection(("::1", local.value["port"])) as client:
        guest.wait(guest("[method]tcp-socket.subscribe", listener))
        accepted, reader, _ = guest("[method]tcp-socket.accept", listener).value
        assert guest("[method]tcp-socket.address-family", accepted) == "ipv6"
        assert guest("[method]tcp-socket.remote-address", accepted).value.value["port"] == client.getsockname()[1]
        client.sendall(b"six")
        assert guest("[method]input-stream.blocking-read", reader, 10) == Ok(b"six")
