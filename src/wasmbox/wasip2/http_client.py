"""The transport under outgoing ``wasi:http``: which authorities a guest may reach, and one request sent.

``HttpPolicy`` is deny by default: a guest reaches only the authorities the embedder listed (``HOST`` for
every port of a host, ``HOST:PORT`` for one port, ``*`` for any). Authorities are compared as the guest
wrote them, before name resolution, so allowing ``localhost`` does not allow ``127.0.0.1``.

``send`` runs on a worker thread (``future-incoming-response`` is ready when it ends) and uses
``http.client``: HTTP/1.1 over TCP, or TLS for ``HTTPS``. Host failures become ``error-code`` variants
(``HttpFailure``), never exceptions the guest could see: name resolution fails as ``DNS-error``, a refused
connection as ``connection-refused``, the ``request-options`` timeouts as ``connection-timeout`` (connecting)
and ``connection-read-timeout`` (the first byte, and between bytes: wasmtime's choice too), a malformed
response as ``HTTP-protocol-error``. A request body is sent once finished, with ``content-length``, or
chunked when it has trailers. ``http.client`` does not report a response's trailers, so incoming trailers
are always ``none``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..canonical_abi.values import Record, Variant
from .http_fields import Fields
from .io import StreamFailure

if TYPE_CHECKING:  # http.client (with ssl and email) is imported on the first request: components start sooner
    import http.client

DEFAULT_PORTS = {"HTTP": 80, "HTTPS": 443}


class HttpFailure(StreamFailure):
    """A request that failed; ``code`` is the ``error-code`` variant the guest receives."""

    def __init__(self, code: Variant) -> None:
        super().__init__(code.case)
        self.code = code


def internal_error(message: str) -> Variant:
    return Variant("internal-error", message)


def split_authority(authority: str, scheme: str) -> tuple[str, int]:
    """``host[:port]`` (IPv6 hosts in brackets) as host and port, the scheme's port when none is given."""
    host, port_text = authority, ""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise HttpFailure(Variant("HTTP-request-URI-invalid"))
        host, rest = authority[1:end], authority[end + 1 :]
        if rest and not rest.startswith(":"):
            raise HttpFailure(Variant("HTTP-request-URI-invalid"))
        port_text = rest[1:]
    elif ":" in authority:
        host, _, port_text = authority.rpartition(":")
    if "@" in host or not host:
        raise HttpFailure(Variant("HTTP-request-URI-invalid"))
    if not port_text:
        return host.lower(), DEFAULT_PORTS.get(scheme, 80)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise HttpFailure(Variant("HTTP-request-URI-invalid"))
    return host.lower(), int(port_text)


@dataclass(frozen=True)
class HttpPolicy:
    """The authorities a guest may send requests to: none unless listed."""

    allowed: tuple[str, ...] = ()

    @classmethod
    def of(cls, rules: Sequence[str]) -> HttpPolicy:
        return cls(tuple(rule.strip().lower() for rule in rules if rule.strip()))

    def allows(self, host: str, port: int) -> bool:
        for rule in self.allowed:
            if rule == "*":
                return True
            rule_host, rule_port = rule, None
            if rule.startswith("["):
                rule_host, _, rest = rule[1:].partition("]")
                rule_port = rest[1:] if rest.startswith(":") else None
            elif rule.count(":") == 1:
                rule_host, _, rule_port = rule.partition(":")
            if rule_host == host and (rule_port is None or rule_port == str(port)):
                return True
        return False


@dataclass
class Timeouts:
    """``request-options`` in nanoseconds; None leaves the host's default (no limit)."""

    connect: int | None = None
    first_byte: int | None = None
    between_bytes: int | None = None


def _seconds(nanoseconds: int | None) -> float | None:
    return None if nanoseconds is None else nanoseconds / 1e9


@dataclass
class RequestBody:
    """What the guest writes to an ``outgoing-body``; the sender waits until it is finished or dropped."""

    data: bytearray = field(default_factory=bytearray)
    trailers: Fields | None = None
    done: threading.Event = field(default_factory=threading.Event)
    complete: bool = False  # finished with ``finish``, not dropped


@dataclass
class PreparedRequest:
    method: str
    scheme: str
    host: str
    port: int
    authority: str
    path: str
    headers: Fields
    body: RequestBody | None
    timeouts: Timeouts


def _connect_failure(error: OSError) -> Variant:
    import ssl

    if isinstance(error, socket.gaierror):
        # wasmtime reports a name without addresses as "address not available"; so does this host
        unknown = error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
        rcode = "address not available" if unknown else (error.strerror or str(error))
        return Variant("DNS-error", Record({"rcode": rcode, "info-code": None}))
    if isinstance(error, TimeoutError):
        return Variant("connection-timeout")
    if isinstance(error, ConnectionRefusedError):
        return Variant("connection-refused")
    if isinstance(error, ssl.SSLCertVerificationError):
        return Variant("TLS-certificate-error")
    if isinstance(error, ssl.SSLError):
        return Variant("TLS-protocol-error")
    return Variant("destination-unavailable")


def transfer_failure(error: BaseException) -> Variant:
    """The ``error-code`` for a failure after connecting: sending, waiting for the response, reading its body.
    A read that outlasts ``first-byte-timeout`` or ``between-bytes-timeout`` is ``connection-read-timeout``,
    as wasmtime reports both."""
    import http.client

    if isinstance(error, TimeoutError):
        return Variant("connection-read-timeout")
    if isinstance(error, http.client.IncompleteRead):
        return Variant("HTTP-response-incomplete")
    if isinstance(error, http.client.HTTPException):
        return Variant("HTTP-protocol-error")
    if isinstance(error, ConnectionError):
        return Variant("connection-terminated")
    if isinstance(error, OSError):
        return internal_error(str(error))
    return internal_error(f"{type(error).__name__}: {error}")


def _encode_trailers(trailers: Fields) -> bytes:
    return b"".join(name.encode("ascii") + b": " + value + b"\r\n" for name, value in trailers.entries)


def send(request: PreparedRequest) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """Connect, send the request once its body is finished, and read the status line and headers."""
    import http.client

    timeouts = request.timeouts
    connection: http.client.HTTPConnection
    if request.scheme == "HTTPS":
        connection = http.client.HTTPSConnection(request.host, request.port, timeout=_seconds(timeouts.connect))
    else:
        connection = http.client.HTTPConnection(request.host, request.port, timeout=_seconds(timeouts.connect))
    try:
        connection.connect()
    except OSError as error:
        connection.close()
        raise HttpFailure(_connect_failure(error)) from error
    try:
        body = request.body
        if body is not None:
            body.done.wait()
            if not body.complete:
                raise HttpFailure(Variant("HTTP-request-body-size", len(body.data)))
        assert connection.sock is not None
        connection.sock.settimeout(_seconds(timeouts.first_byte))
        connection.putrequest(request.method, request.path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", request.authority)
        for name, value in request.headers.entries:
            connection.putheader(name, value)
        chunked = body is not None and body.trailers is not None
        data = bytes(body.data) if body is not None else b""
        declared = request.headers.get("content-length")
        if declared and (chunked or declared != [str(len(data)).encode()]):
            raise HttpFailure(Variant("HTTP-request-body-size", len(data)))  # the body is not what was declared
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        elif not request.headers.has("content-length") and (data or request.method in ("POST", "PUT", "PATCH")):
            connection.putheader("Content-Length", str(len(data)))
        connection.endheaders()
        if chunked and body is not None and body.trailers is not None:
            chunk = f"{len(data):x}\r\n".encode() + data + b"\r\n" if data else b""
            connection.send(chunk + b"0\r\n" + _encode_trailers(body.trailers) + b"\r\n")
        elif data:
            connection.send(data)
        response = connection.getresponse()
        if connection.sock is not None:
            connection.sock.settimeout(_seconds(timeouts.between_bytes))
        return connection, response
    except HttpFailure:
        connection.close()
        raise
    except Exception as error:  # every failure of the exchange reaches the guest as an error-code
        connection.close()
        raise HttpFailure(transfer_failure(error)) from error


def response_headers(response: http.client.HTTPResponse) -> Fields:
    """The response's header fields, immutable, as bytes (``http.client`` decodes them as latin-1)."""
    entries: list[tuple[str, bytes]] = [
        (name.lower(), value.encode("latin-1")) for name, value in response.getheaders()
    ]
    return Fields(entries, mutable=False)


def read_body(response: http.client.HTTPResponse, length: int) -> bytes:
    """Up to ``length`` bytes of the body (b"" at its end); failures as ``HttpFailure``."""
    try:
        data = response.read1(length) if length else b""
    except Exception as error:  # a read failure reaches the guest as a stream error with its error-code
        raise HttpFailure(transfer_failure(error)) from error
    if not data and length and response.length:  # the connection ended before content-length bytes came
        raise HttpFailure(Variant("HTTP-response-incomplete"))
    return data


def close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except OSError:
        pass
