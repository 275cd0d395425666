"""Streams and futures (CanonicalABI.md, "Buffer State", "Stream State", "Future State").

A stream or future made by ``stream.new``/``future.new`` is one shared rendezvous object with two ends in the
handle table. A read or write that finds no partner leaves its buffer pending; the partner that arrives copies
directly between the two guests' buffers (no buffer of wasmbox's own in between) and completes its side at
once, while the pending side learns of the copy through an event on its end. Passing the readable end to
another component moves the shared object: the sender's table loses the end, the receiver's gains a new one.

Each end records what it is doing (``CopyState``); once told the other end dropped (or, for a future, once
its value passed), only dropping it is allowed. Trap messages are wasmtime's where the component tests check
them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from ..canonical_abi import AbiContext
from ..canonical_abi.codec import load, store
from ..canonical_abi.shapes import Shape, shape_of
from ..errors import Trap
from ..wit.model import Alias, Primitive, Type, TypeDef
from .waitables import Waitable

MAX_BUFFER_LENGTH = (1 << 28) - 1
NUMBER_TYPES = frozenset("u8 u16 u32 u64 s8 s16 s32 s64 f32 f64".split())


class CopyResult(enum.IntEnum):
    COMPLETED = 0
    DROPPED = 1
    CANCELLED = 2


class CopyState(enum.Enum):
    IDLE = 1
    COPYING = 2
    CANCELLING = 3
    DONE = 4


def type_key(type_: Type | None) -> object:
    """A structural key of a value type, so two components' spellings of ``(stream u8)`` compare equal;
    resources (and other types with identity) compare by identity."""
    if type_ is None:
        return None
    if isinstance(type_, Primitive):
        return type_.name
    target = type_.dealias()
    if isinstance(target, Primitive):
        return target.name
    kind = target.kind
    fields = getattr(kind, "__dataclass_fields__", None)
    if fields is None or type(kind).__name__ == "Resource":
        return ("identity", id(target))
    parts: list[object] = [type(kind).__name__]
    for name in fields:
        if name == "docs":
            continue
        parts.append(_key_of_part(getattr(kind, name)))
    return tuple(parts)


def _key_of_part(part: Any) -> object:
    if isinstance(part, Primitive | TypeDef):
        if isinstance(part, TypeDef) and isinstance(part.kind, Alias):
            return type_key(part.dealias())
        return type_key(part)
    if isinstance(part, list):
        return tuple(_key_of_part(item) for item in part)
    if hasattr(part, "__dataclass_fields__"):
        return tuple(_key_of_part(getattr(part, name)) for name in part.__dataclass_fields__ if name != "docs")
    return part


def is_none_or_number(type_: Type | None) -> bool:
    if type_ is None:
        return True
    target = type_.dealias() if isinstance(type_, TypeDef) else type_
    return isinstance(target, Primitive) and target.name in NUMBER_TYPES


class GuestBuffer:
    """A guest's buffer of ``length`` elements at ``pointer``, checked once when made (so copies cannot fail)."""

    def __init__(self, cx: AbiContext, element: Type | None, pointer: int, length: int) -> None:
        if length > MAX_BUFFER_LENGTH:
            raise Trap("buffer too long", f"stream buffer of {length} elements is longer than 2^28 - 1")
        self.cx = cx
        self.shape: Shape | None = None if element is None else shape_of(element)
        if self.shape is not None and length > 0:
            cx.check_range(pointer, length * self.shape.size, self.shape.alignment, "list")
        self.pointer = pointer
        self.length = length
        self.progress = 0

    def remain(self) -> int:
        return self.length - self.progress

    def is_zero_length(self) -> bool:
        return self.length == 0

    def read(self, count: int) -> list[Any]:
        if self.shape is None:
            values: list[Any] = [None] * count
        else:
            size = self.shape.size
            values = [load(self.cx, self.pointer + i * size, self.shape) for i in range(count)]
            self.pointer += count * size
        self.progress += count
        return values

    def write(self, values: list[Any]) -> None:
        if self.shape is not None:
            size = self.shape.size
            for i, value in enumerate(values):
                store(self.cx, value, self.shape, self.pointer + i * size)
            self.pointer += len(values) * size
        self.progress += len(values)


OnCopy = Callable[[Callable[[], None]], None]
OnCopyDone = Callable[[CopyResult], None]


class _Pending:
    """The side of a rendezvous that arrived first: its instance, buffer and how to tell it of progress."""

    def __init__(self, instance: object, buffer: GuestBuffer, on_copy: OnCopy | None, on_done: OnCopyDone) -> None:
        self.instance = instance
        self.buffer = buffer
        self.on_copy = on_copy
        self.on_done = on_done


class SharedStream:
    """The state both ends of one stream share."""

    kind = "stream"

    def __init__(self, element: Type | None) -> None:
        self.element = element
        self.key = type_key(element)
        self.dropped = False
        self.pending: _Pending | None = None

    def _notify_pending(self, result: CopyResult) -> None:
        pending, self.pending = self.pending, None
        assert pending is not None
        pending.on_done(result)

    def cancel(self) -> None:
        self._notify_pending(CopyResult.CANCELLED)

    def drop(self) -> None:
        if not self.dropped:
            self.dropped = True
            if self.pending is not None:
                self._notify_pending(CopyResult.DROPPED)

    def _check_same_instance(self, instance: object) -> None:
        assert self.pending is not None
        if instance is self.pending.instance and not is_none_or_number(self.element):
            raise Trap("intra-component stream", f"cannot read from and write to intra-component {self.kind}")

    def read(self, instance: object, buffer: GuestBuffer, on_copy: OnCopy, on_done: OnCopyDone) -> None:
        if self.dropped:
            on_done(CopyResult.DROPPED)
            return
        if self.pending is None:
            self.pending = _Pending(instance, buffer, on_copy, on_done)
            return
        self._check_same_instance(instance)
        source = self.pending
        if source.buffer.remain() > 0:
            if buffer.remain() > 0:
                count = min(buffer.remain(), source.buffer.remain())
                buffer.write(source.buffer.read(count))
                assert source.on_copy is not None
                source.on_copy(self._forget_pending)
            on_done(CopyResult.COMPLETED)
        else:
            self._notify_pending(CopyResult.COMPLETED)
            self.pending = _Pending(instance, buffer, on_copy, on_done)

    def write(self, instance: object, buffer: GuestBuffer, on_copy: OnCopy, on_done: OnCopyDone) -> None:
        if self.dropped:
            on_done(CopyResult.DROPPED)
            return
        if self.pending is None:
            self.pending = _Pending(instance, buffer, on_copy, on_done)
            return
        self._check_same_instance(instance)
        target = self.pending
        if target.buffer.remain() > 0:
            if buffer.remain() > 0:
                count = min(buffer.remain(), target.buffer.remain())
                target.buffer.write(buffer.read(count))
                assert target.on_copy is not None
                target.on_copy(self._forget_pending)
            on_done(CopyResult.COMPLETED)
        elif buffer.is_zero_length() and target.buffer.is_zero_length():
            on_done(CopyResult.COMPLETED)
        else:
            self._notify_pending(CopyResult.COMPLETED)
            self.pending = _Pending(instance, buffer, on_copy, on_done)

    def _forget_pending(self) -> None:
        self.pending = None


class SharedFuture(SharedStream):
    """The state both ends of one future share: at most one value passes."""

    kind = "future"

    def drop(self) -> None:
        if not self.dropped:
            self.dropped = True
            if self.pending is not None:
                self._notify_pending(CopyResult.DROPPED)

    def read(self, instance: object, buffer: GuestBuffer, on_copy: OnCopy, on_done: OnCopyDone) -> None:
        if self.pending is None:
            self.pending = _Pending(instance, buffer, None, on_done)
            return
        self._check_same_instance(instance)
        buffer.write(self.pending.buffer.read(1))
        self._notify_pending(CopyResult.COMPLETED)
        on_done(CopyResult.COMPLETED)

    def write(self, instance: object, buffer: GuestBuffer, on_copy: OnCopy, on_done: OnCopyDone) -> None:
        if self.dropped:
            on_done(CopyResult.DROPPED)
            return
        if self.pending is None:
            self.pending = _Pending(instance, buffer, None, on_done)
            return
        self._check_same_instance(instance)
        self.pending.buffer.write(buffer.read(1))
        self._notify_pending(CopyResult.COMPLETED)
        on_done(CopyResult.COMPLETED)


class CopyEnd(Waitable):
    """One end of a stream or future in a handle table."""

    readable = True

    def __init__(self, shared: SharedStream) -> None:
        super().__init__()
        self.shared = shared
        self.state = CopyState.IDLE
        # The pending event reports partial progress only (`OnCopy`): the buffer is still lent to the stream.
        self.partial_progress = False

    @property
    def kind(self) -> str:
        return self.shared.kind

    def copying(self) -> bool:
        return self.state in (CopyState.COPYING, CopyState.CANCELLING)

    def copy(self, instance: object, buffer: GuestBuffer, on_copy: OnCopy, on_done: OnCopyDone) -> None:
        if self.readable:
            self.shared.read(instance, buffer, on_copy, on_done)
        else:
            self.shared.write(instance, buffer, on_copy, on_done)

    def drop(self) -> None:
        if self.copying():
            verb = "remove" if self.readable else "drop"
            raise Trap("busy end", f"cannot {verb} busy {self.kind}")
        if self.kind == "future" and not self.readable and self.state != CopyState.DONE:
            raise Trap("future not written", "cannot drop future write end without first writing a value")
        self.shared.drop()
        super().drop()

    def done_message(self) -> str:
        """Why an operation other than drop traps on an end in the DONE state."""
        if self.kind == "stream":
            if self.readable:
                return "cannot read from stream after being notified that the writable end dropped"
            return "cannot write to stream after being notified that the readable end dropped"
        if self.readable:
            return "cannot read from future after previous read succeeded"
        return "cannot write to future after previous write succeeded or readable end dropped"

    def lift_done_message(self) -> str:
        if self.kind == "stream":
            return "cannot lift stream after being notified that the writable end dropped"
        return "cannot lift future after previous read succeeded"


class ReadableEnd(CopyEnd):
    readable = True


class WritableEnd(CopyEnd):
    readable = False


def take_readable_end(table: Any, index: int, kind: str, element: Type | None) -> SharedStream:
    """Lift a stream or future: the readable end leaves the table (CanonicalABI.md, ``lift_async_value``)."""
    end = table.entry(index)
    if not isinstance(end, ReadableEnd) or end.kind != kind:
        raise Trap("not a readable end", f"handle index {index} is not the readable end of a {kind}")
    if end.shared.key != type_key(element):
        raise Trap("type mismatch", f"{kind} handle index {index} has another element type")
    if end.state == CopyState.DONE:
        raise Trap("end done", end.lift_done_message())
    if end.copying():
        raise Trap("busy end", f"cannot remove busy {kind}")
    if end.wset is not None:
        raise Trap("end in a set", f"cannot lift {kind} while it's in a waitable set")
    table.remove(index)
    return end.shared
