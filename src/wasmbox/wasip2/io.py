"""``wasi:io`` 0.2: errors, pollables and byte streams, over host files and file descriptors.

Streams here are synchronous: a write is done when it returns, so ``check-write`` always grants a fixed
budget and every pollable of a stream is ready at once. Clock pollables (``wasi:clocks``) are ready at their
instant; pollables of work done on another thread (``wasi:http`` futures) are ready when its event is set;
``poll`` sleeps until one is ready.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from ..canonical_abi.values import Err, Ok, Variant
from .objects import HostObjects

WRITE_BUDGET = 1 << 20  # what check-write grants: writes are complete when they return
MAX_READ = 1 << 20  # the most one read returns (the guest asks for at most this much per call anyway)


@dataclass
class StreamError:
    """The payload of ``last-operation-failed``: what the host saw."""

    message: str
    cause: BaseException | None = None  # what failed, for interfaces that classify errors (``http-error-code``)


class StreamFailure(Exception):
    """A host stream's failure that is not an ``OSError``; the guest sees ``last-operation-failed``."""


@dataclass
class Pollable:
    """Ready at ``deadline`` (a ``time.monotonic_ns`` value), when ``event`` is set, or at once with neither."""

    deadline: int | None = None
    event: threading.Event | None = None
    probe: Callable[[], bool] | None = None  # asked each time (a socket's readiness, say)

    def ready(self) -> bool:
        if self.probe is not None:
            return self.probe()
        if self.event is not None:
            return self.event.is_set()
        return self.deadline is None or time.monotonic_ns() >= self.deadline


class InputStream:
    """Bytes from a file object (stdin) or from a file descriptor at an offset (``read-via-stream``)."""

    def __init__(self, source: BinaryIO | None = None, fd: int | None = None, offset: int = 0) -> None:
        self.source = source
        self.fd = fd
        self.offset = offset

    def read(self, length: int) -> bytes | None:
        """Up to ``length`` bytes; None at the end of the stream."""
        length = min(length, MAX_READ)
        if self.fd is not None:
            data = os.pread(self.fd, length, self.offset)
            self.offset += len(data)
        elif self.source is not None:
            reader = getattr(self.source, "read1", self.source.read)
            data = reader(length) if length else b""
        else:
            data = b""
        if not data and length:
            return None
        return data

    def read_available(self, length: int) -> bytes | None:
        """``read``: what is there now without waiting (streams that cannot tell just read)."""
        return self.read(length)

    def pollable(self) -> Pollable:
        """Ready when a read would not block: at once for files and standard input."""
        return Pollable()


class OutputStream:
    """Bytes to a file object (stdout, stderr) or to a file descriptor at an offset, or appended."""

    def __init__(
        self, sink: BinaryIO | None = None, fd: int | None = None, offset: int = 0, append: bool = False
    ) -> None:
        self.sink = sink
        self.fd = fd
        self.offset = offset
        self.append = append

    def write(self, data: bytes) -> None:
        if self.fd is not None:
            if self.append:
                os.lseek(self.fd, 0, os.SEEK_END)
                os.write(self.fd, data)
            else:
                written = os.pwrite(self.fd, data, self.offset)
                self.offset += written
        elif self.sink is not None:
            self.sink.write(data)

    def flush(self) -> None:
        if self.sink is not None:
            self.sink.flush()


def io_interfaces(objects: HostObjects) -> dict[str, dict[str, Any]]:
    """The functions and resource types of ``wasi:io/error``, ``wasi:io/poll`` and ``wasi:io/streams``."""
    types = objects.types

    def failure(error: Exception) -> Err:
        return Err(Variant("last-operation-failed", objects.own("error", StreamError(str(error), error))))

    def guarded(operation: Callable[[], Any]) -> Any:
        try:
            return operation()
        except (OSError, ValueError, StreamFailure) as error:
            return failure(error)

    def read(this: Any, length: int) -> Any:
        stream = objects.get("input-stream", this, InputStream)

        def run() -> Any:
            data = stream.read_available(length)
            return Err(Variant("closed")) if data is None else Ok(data)

        return guarded(run)

    def blocking_read(this: Any, length: int) -> Any:
        stream = objects.get("input-stream", this, InputStream)

        def run() -> Any:
            data = stream.read(length)
            return Err(Variant("closed")) if data is None else Ok(data)

        return guarded(run)

    def skip(this: Any, length: int) -> Any:
        stream = objects.get("input-stream", this, InputStream)

        def run() -> Any:
            data = stream.read(length)
            return Err(Variant("closed")) if data is None else Ok(len(data))

        return guarded(run)

    def write(this: Any, contents: bytes) -> Any:
        stream = objects.get("output-stream", this, OutputStream)

        def run() -> Any:
            stream.write(bytes(contents))
            return Ok(None)

        return guarded(run)

    def write_and_flush(this: Any, contents: bytes) -> Any:
        stream = objects.get("output-stream", this, OutputStream)

        def run() -> Any:
            stream.write(bytes(contents))
            stream.flush()
            return Ok(None)

        return guarded(run)

    def flush(this: Any) -> Any:
        stream = objects.get("output-stream", this, OutputStream)

        def run() -> Any:
            stream.flush()
            return Ok(None)

        return guarded(run)

    def check_write(this: Any) -> Any:
        objects.get("output-stream", this, OutputStream)
        return Ok(WRITE_BUDGET)

    def write_zeroes(this: Any, length: int) -> Any:
        return write(this, bytes(min(length, WRITE_BUDGET)))

    def write_zeroes_and_flush(this: Any, length: int) -> Any:
        return write_and_flush(this, bytes(min(length, WRITE_BUDGET)))

    def splice(this: Any, source: Any, length: int) -> Any:
        out = objects.get("output-stream", this, OutputStream)
        stream = objects.get("input-stream", source, InputStream)

        def run() -> Any:
            data = stream.read(length)
            if data is None:
                return Err(Variant("closed"))
            out.write(data)
            return Ok(len(data))

        return guarded(run)

    def subscribe_input(this: Any) -> Any:
        return objects.own("pollable", objects.get("input-stream", this, InputStream).pollable())

    def subscribe_output(this: Any) -> Any:
        objects.get("output-stream", this, OutputStream)
        return objects.own("pollable", Pollable())

    def ready(this: Any) -> bool:
        return objects.get("pollable", this, Pollable).ready()

    def block(this: Any) -> None:
        wait_for([objects.get("pollable", this, Pollable)])

    def poll(pollables: list[Any]) -> list[int]:
        if not pollables:
            from ..errors import Trap

            raise Trap("poll of nothing", "wasi:io/poll.poll was given an empty list")
        items = [objects.get("pollable", value, Pollable) for value in pollables]
        wait_for(items)
        return [index for index, item in enumerate(items) if item.ready()]

    def debug_string(this: Any) -> str:
        return objects.get("error", this, StreamError).message

    return {
        "wasi:io/error": {"error": types["error"], "[method]error.to-debug-string": debug_string},
        "wasi:io/poll": {
            "pollable": types["pollable"],
            "[method]pollable.ready": ready,
            "[method]pollable.block": block,
            "poll": poll,
        },
        "wasi:io/streams": {
            "input-stream": types["input-stream"],
            "output-stream": types["output-stream"],
            "[method]input-stream.read": read,
            "[method]input-stream.blocking-read": blocking_read,
            "[method]input-stream.skip": skip,
            "[method]input-stream.blocking-skip": skip,
            "[method]input-stream.subscribe": subscribe_input,
            "[method]output-stream.check-write": check_write,
            "[method]output-stream.write": write,
            "[method]output-stream.blocking-write-and-flush": write_and_flush,
            "[method]output-stream.flush": flush,
            "[method]output-stream.blocking-flush": flush,
            "[method]output-stream.subscribe": subscribe_output,
            "[method]output-stream.write-zeroes": write_zeroes,
            "[method]output-stream.blocking-write-zeroes-and-flush": write_zeroes_and_flush,
            "[method]output-stream.splice": splice,
            "[method]output-stream.blocking-splice": splice,
        },
    }


EVENT_POLL_INTERVAL = 0.001  # seconds between looks at event pollables while waiting


def wait_for(pollables: list[Pollable]) -> None:
    """Sleep until at least one pollable is ready."""
    while not any(item.ready() for item in pollables):
        events = [item.event for item in pollables if item.event is not None and item.probe is None]
        probes = [item for item in pollables if item.probe is not None]
        deadlines = [item.deadline for item in pollables if item.deadline is not None and item.event is None]
        pause = max(0, min(deadlines) - time.monotonic_ns()) / 1e9 if deadlines else None
        if len(events) == 1 and not deadlines and not probes:
            events[0].wait()
        elif events or probes:
            time.sleep(EVENT_POLL_INTERVAL if pause is None else min(pause, EVENT_POLL_INTERVAL))
        else:
            time.sleep(pause or 0)
