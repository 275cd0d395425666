"""Outgoing ``wasi:http`` 0.2 (``wasi:http/types`` and ``wasi:http/outgoing-handler``).

A guest builds an ``outgoing-request`` (method, scheme, authority, path, headers), may write its body through
``outgoing-body``'s output stream and ``finish`` it with trailers, and passes it to ``handle`` with optional
``request-options``. ``handle`` checks the authority against the instance's ``HttpPolicy`` (deny by default:
``HTTP-request-denied``) and starts a worker thread that connects, waits for the body to be finished, sends,
and reads the response head (``http_client.py``); the ``future-incoming-response`` and its pollable are ready
when that thread ends. The response's body is read on the guest's thread, through an ``input-stream``.

The incoming-request / response-outparam / outgoing-response side (``wasi:http/incoming-handler``, a
server) is provided for linking only: no host call ever creates those resources, so the functions on them
can be reached only with a handle of another kind, which traps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..canonical_abi.values import Err, Ok, Variant
from ..errors import Trap
from .http_client import (
    HttpFailure,
    HttpPolicy,
    PreparedRequest,
    RequestBody,
    Timeouts,
    close_quietly,
    read_body,
    response_headers,
    send,
    split_authority,
)
from .http_fields import Fields, HeaderError, valid_name
from .io import InputStream, OutputStream, Pollable, StreamError
from .objects import HostObjects, with_typed_errors

if TYPE_CHECKING:
    import http.client

HTTP_RESOURCES = (
    "fields",
    "incoming-request",
    "outgoing-request",
    "request-options",
    "response-outparam",
    "incoming-response",
    "incoming-body",
    "future-trailers",
    "outgoing-response",
    "outgoing-body",
    "future-incoming-response",
)


@dataclass
class OutgoingRequest:
    headers: Fields
    method: Variant = field(default_factory=lambda: Variant("get"))
    scheme: Variant | None = None
    authority: str | None = None
    path_with_query: str | None = None
    body: RequestBody | None = None


@dataclass
class OutgoingBody:
    body: RequestBody
    stream_taken: bool = False


class BodyWriter(OutputStream):
    """The output stream of an ``outgoing-body``: bytes collect in the body until it is finished."""

    def __init__(self, body: RequestBody) -> None:
        super().__init__()
        self.body = body

    def write(self, data: bytes) -> None:
        if self.body.done.is_set():
            raise ValueError("the outgoing body is already finished")
        self.body.data += data

    def flush(self) -> None:
        pass


@dataclass
class RequestOptions:
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass
class IncomingResponse:
    status: int
    headers: Fields
    connection: http.client.HTTPConnection
    response: http.client.HTTPResponse
    body_taken: bool = False

    def close(self) -> None:
        close_quietly(self.connection)


@dataclass
class IncomingBody:
    response: IncomingResponse
    stream_taken: bool = False


class ResponseReader(InputStream):
    """The input stream of an ``incoming-body``: reads the response as the guest asks (blocking)."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        super().__init__()
        self.response = response

    def read(self, length: int) -> bytes | None:
        data = read_body(self.response, length)
        if not data and length:
            return None
        return data


@dataclass
class FutureResponse:
    """The outcome of ``handle``'s worker: ``Ok(IncomingResponse)`` or ``Err(error-code)``, once."""

    ready: threading.Event = field(default_factory=threading.Event)
    outcome: Any = None
    taken: bool = False
    dropped: bool = False  # by the guest: a response that comes later is closed unread

    def close(self) -> None:
        """The future is dropped: close its response, now if it has come, else when it does."""
        self.dropped = True
        if self.ready.is_set() and not self.taken and isinstance(self.outcome, Ok):
            self.outcome.value.close()


@dataclass
class FutureTrailers:
    response: IncomingResponse
    taken: bool = False


def method_name(method: Variant) -> str:
    if method.case == "other":
        return str(method.value)
    return method.case.upper()


def http_interfaces(objects: HostObjects, policy: HttpPolicy) -> dict[str, dict[str, Any]]:
    """The functions and resource types of ``wasi:http/types`` and ``wasi:http/outgoing-handler``."""
    types = {name: objects.add_type(name) for name in HTTP_RESOURCES}

    def header_result(change: Callable[[], None]) -> Any:
        try:
            change()
        except HeaderError as error:
            return Err(Variant(error.case))
        return Ok(None)

    # fields

    def fields_new() -> Any:
        return objects.own("fields", Fields())

    def fields_from_list(entries: list[tuple[str, bytes]]) -> Any:
        try:
            return Ok(objects.own("fields", Fields.from_list(list(entries))))
        except HeaderError as error:
            return Err(Variant(error.case))

    def fields_of(this: Any) -> Fields:
        return objects.get("fields", this, Fields)

    def fields_set(this: Any, name: str, values: list[bytes]) -> Any:
        fields = fields_of(this)
        return header_result(lambda: fields.set(name, [bytes(value) for value in values]))

    def fields_delete(this: Any, name: str) -> Any:
        fields = fields_of(this)
        return header_result(lambda: fields.delete(name))

    def fields_append(this: Any, name: str, value: bytes) -> Any:
        fields = fields_of(this)
        return header_result(lambda: fields.append(name, bytes(value)))

    # outgoing-request

    def request_new(headers: Any) -> Any:
        fields = fields_of(headers)
        objects.drop(headers.rep)  # the request takes the fields over; they are its headers from now on
        return objects.own("outgoing-request", OutgoingRequest(fields.copy(mutable=False)))

    def request_of(this: Any) -> OutgoingRequest:
        return objects.get("outgoing-request", this, OutgoingRequest)

    def request_body(this: Any) -> Any:
        request = request_of(this)
        if request.body is not None:
            return Err(None)
        request.body = RequestBody()
        return Ok(objects.own("outgoing-body", OutgoingBody(request.body)))

    def set_method(this: Any, method: Variant) -> Any:
        if method.case == "other" and not valid_name(str(method.value)):
            return Err(None)
        request_of(this).method = Variant(method.case, method.value)
        return Ok(None)

    def set_scheme(this: Any, scheme: Variant | None) -> Any:
        if scheme is not None and scheme.case == "other" and not valid_name(str(scheme.value)):
            return Err(None)
        request_of(this).scheme = scheme
        return Ok(None)

    def set_authority(this: Any, authority: str | None) -> Any:
        if authority is not None:
            try:
                split_authority(authority, "HTTP")
            except HttpFailure:
                return Err(None)
        request_of(this).authority = authority
        return Ok(None)

    def set_path(this: Any, path: str | None) -> Any:
        if path is not None and (any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in path) or path.startswith("//")):
            return Err(None)
        request_of(this).path_with_query = path
        return Ok(None)

    def request_headers(this: Any) -> Any:
        return objects.own("fields", request_of(this).headers.copy(mutable=False))

    # request-options

    def options_of(this: Any) -> Timeouts:
        return objects.get("request-options", this, RequestOptions).timeouts

    def option_setter(name: str) -> Callable[[Any, int | None], Any]:
        def set_timeout(this: Any, duration: int | None) -> Any:
            setattr(options_of(this), name, duration)
            return Ok(None)

        return set_timeout

    def option_getter(name: str) -> Callable[[Any], int | None]:
        def get_timeout(this: Any) -> int | None:
            value: int | None = getattr(options_of(this), name)
            return value

        return get_timeout

    # outgoing-body

    def body_write(this: Any) -> Any:
        body = objects.get("outgoing-body", this, OutgoingBody)
        if body.stream_taken:
            return Err(None)
        body.stream_taken = True
        return Ok(objects.own("output-stream", BodyWriter(body.body)))

    def body_finish(this: Any, trailers: Any) -> Any:
        body = objects.get("outgoing-body", this, OutgoingBody)
        objects.drop(this.rep)
        if trailers is not None:
            body.body.trailers = fields_of(trailers).copy(mutable=False)
            objects.drop(trailers.rep)
        body.body.complete = True
        body.body.done.set()
        return Ok(None)

    def drop_outgoing_body(rep: int) -> None:
        body = objects.objects.pop(rep, None)
        if isinstance(body, OutgoingBody):
            body.body.done.set()  # dropped without ``finish``: the request fails (HTTP-request-body-size)

    types["outgoing-body"].destructor = drop_outgoing_body

    # outgoing-handler

    def handle(request_value: Any, options_value: Any) -> Any:
        request = request_of(request_value)
        objects.drop(request_value.rep)
        timeouts = Timeouts()
        if options_value is not None:
            timeouts = Timeouts(**vars(options_of(options_value)))
            objects.drop(options_value.rep)
        scheme = request.scheme.case if request.scheme is not None else "HTTP"
        if scheme not in ("HTTP", "HTTPS") or not request.authority:
            return Err(Variant("HTTP-request-URI-invalid"))
        try:
            host, port = split_authority(request.authority, scheme)
        except HttpFailure as failure:
            return Err(failure.code)
        if not policy.allows(host, port):
            return Err(Variant("HTTP-request-denied"))
        prepared = PreparedRequest(
            method_name(request.method),
            scheme,
            host,
            port,
            request.authority,
            request.path_with_query or "/",
            request.headers,
            request.body,
            timeouts,
        )
        future = FutureResponse()
        threading.Thread(target=_run_request, args=(prepared, future), daemon=True, name="wasi-http").start()
        return Ok(objects.own("future-incoming-response", future))

    # future-incoming-response

    def future_of(this: Any) -> FutureResponse:
        return objects.get("future-incoming-response", this, FutureResponse)

    def future_subscribe(this: Any) -> Any:
        return objects.own("pollable", Pollable(event=future_of(this).ready))

    def future_get(this: Any) -> Any:
        future = future_of(this)
        if not future.ready.is_set():
            return None
        if future.taken:
            return Err(None)
        future.taken = True
        outcome = future.outcome
        if isinstance(outcome, Ok):
            return Ok(Ok(objects.own("incoming-response", outcome.value)))
        return Ok(outcome)

    def drop_future(rep: int) -> None:
        future = objects.objects.pop(rep, None)
        if isinstance(future, FutureResponse):
            future.close()

    types["future-incoming-response"].destructor = drop_future

    # incoming-response, incoming-body, future-trailers

    def response_of(this: Any) -> IncomingResponse:
        return objects.get("incoming-response", this, IncomingResponse)

    def response_consume(this: Any) -> Any:
        response = response_of(this)
        if response.body_taken:
            return Err(None)
        response.body_taken = True
        return Ok(objects.own("incoming-body", IncomingBody(response)))

    def drop_incoming_response(rep: int) -> None:
        response = objects.objects.pop(rep, None)
        if isinstance(response, IncomingResponse) and not response.body_taken:
            response.close()

    types["incoming-response"].destructor = drop_incoming_response

    def drop_incoming_body(rep: int) -> None:
        body = objects.objects.pop(rep, None)
        if isinstance(body, IncomingBody):
            body.response.close()

    types["incoming-body"].destructor = drop_incoming_body

    def body_stream(this: Any) -> Any:
        body = objects.get("incoming-body", this, IncomingBody)
        if body.stream_taken:
            return Err(None)
        body.stream_taken = True
        return Ok(objects.own("input-stream", ResponseReader(body.response.response)))

    def body_finish_incoming(this: Any) -> Any:
        body = objects.get("incoming-body", this, IncomingBody)
        objects.drop(this.rep)
        body.response.close()
        return objects.own("future-trailers", FutureTrailers(body.response))

    def trailers_get(this: Any) -> Any:
        trailers = objects.get("future-trailers", this, FutureTrailers)
        if trailers.taken:
            return Err(None)
        trailers.taken = True
        return Ok(Ok(None))  # http.client drops a response's trailers (see http_client.py)

    def http_error_code(error: Any) -> Any:
        cause = objects.get("error", error, StreamError).cause
        return cause.code if isinstance(cause, HttpFailure) else None

    def unreachable(name: str) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            raise Trap("no such resource", f"wasi:http `{name}`: this host never creates the resource it needs")

        return call

    server_side = {
        name: unreachable(name)
        for name in (
            "[method]incoming-request.method",
            "[method]incoming-request.path-with-query",
            "[method]incoming-request.scheme",
            "[method]incoming-request.authority",
            "[method]incoming-request.headers",
            "[method]incoming-request.consume",
            "[method]response-outparam.send-informational",
            "[static]response-outparam.set",
            "[constructor]outgoing-response",
            "[method]outgoing-response.status-code",
            "[method]outgoing-response.set-status-code",
            "[method]outgoing-response.headers",
            "[method]outgoing-response.body",
        )
    }

    http_types: dict[str, Any] = {
        **types,
        "http-error-code": http_error_code,
        "[constructor]fields": fields_new,
        "[static]fields.from-list": fields_from_list,
        "[method]fields.get": lambda this, name: fields_of(this).get(name),
        "[method]fields.has": lambda this, name: fields_of(this).has(name),
        "[method]fields.set": fields_set,
        "[method]fields.delete": fields_delete,
        "[method]fields.append": fields_append,
        "[method]fields.entries": lambda this: list(fields_of(this).entries),
        "[method]fields.clone": lambda this: objects.own("fields", fields_of(this).copy()),
        "[constructor]outgoing-request": request_new,
        "[method]outgoing-request.body": request_body,
        "[method]outgoing-request.method": lambda this: request_of(this).method,
        "[method]outgoing-request.set-method": set_method,
        "[method]outgoing-request.path-with-query": lambda this: request_of(this).path_with_query,
        "[method]outgoing-request.set-path-with-query": set_path,
        "[method]outgoing-request.scheme": lambda this: request_of(this).scheme,
        "[method]outgoing-request.set-scheme": set_scheme,
        "[method]outgoing-request.authority": lambda this: request_of(this).authority,
        "[method]outgoing-request.set-authority": set_authority,
        "[method]outgoing-request.headers": request_headers,
        "[constructor]request-options": lambda: objects.own("request-options", RequestOptions()),
        "[method]outgoing-body.write": body_write,
        "[static]outgoing-body.finish": body_finish,
        "[method]future-incoming-response.subscribe": future_subscribe,
        "[method]future-incoming-response.get": future_get,
        "[method]incoming-response.status": lambda this: response_of(this).status,
        "[method]incoming-response.headers": lambda this: objects.own("fields", response_of(this).headers.copy(False)),
        "[method]incoming-response.consume": response_consume,
        "[method]incoming-body.stream": body_stream,
        "[static]incoming-body.finish": body_finish_incoming,
        "[method]future-trailers.subscribe": lambda this: objects.own("pollable", Pollable()),
        "[method]future-trailers.get": trailers_get,
        **server_side,
    }
    for name, attribute in (
        ("connect-timeout", "connect"),
        ("first-byte-timeout", "first_byte"),
        ("between-bytes-timeout", "between_bytes"),
    ):
        http_types[f"[method]request-options.{name}"] = option_getter(attribute)
        http_types[f"[method]request-options.set-{name}"] = option_setter(attribute)
    return {
        "wasi:http/types": with_typed_errors("wasi:http/types", http_types),
        "wasi:http/outgoing-handler": with_typed_errors("wasi:http/outgoing-handler", {"handle": handle}),
    }


def _run_request(request: PreparedRequest, future: FutureResponse) -> None:
    """The worker behind a ``future-incoming-response``: its outcome, then the event that makes it ready."""
    try:
        connection, response = send(request)
        future.outcome = Ok(IncomingResponse(response.status, response_headers(response), connection, response))
    except HttpFailure as failure:
        future.outcome = Err(failure.code)
    finally:
        future.ready.set()
    if future.dropped:
        future.close()
