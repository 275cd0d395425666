"""Fibers: a call stack that can be left in the middle and resumed later, one running at a time.

The Component Model's cooperative threads suspend in the middle of core wasm (``waitable-set.wait``,
``thread.yield``, a blocking import call), and wasmbox's engines run core wasm as ordinary Python calls: the only
way to keep such a stack while another runs is to give it its own OS thread. A ``Fiber`` does that and hands
control back and forth with two semaphores, so exactly one of the resumer and the fiber runs at any moment:
there is no parallelism, only stacks that wait. ``resume`` runs the fiber until it calls ``suspend`` (returning
what it passed) or finishes (returning what its body returned); an exception escaping the body is raised in the
resumer, so a trap deep in a fiber surfaces where the host called in.

A fiber that is never resumed again keeps its (daemon) OS thread parked; ``abandon`` unwinds it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..runtime.sandbox import act_for, caller_identity

# Core wasm recursion inside a fiber needs the same room as on the main thread (the interpreter nests Python
# frames per wasm call); 64 MiB matches what deep component tests need without costing memory until touched.
FIBER_STACK_SIZE = 64 * 1024 * 1024


class FiberAbandoned(BaseException):
    """Raised inside a fiber that will never be resumed, so its frames unwind (not an error of the guest)."""


class Fiber:
    """A body run on its own stack, entered with ``resume`` and left with ``suspend``."""

    def __init__(self, body: Callable[[Any], Any], name: str = "wasmbox-fiber") -> None:
        self.body = body
        self.name = name
        self.started = False
        self.finished = False
        self.abandoned = False
        self._to_fiber = threading.Semaphore(0)
        self._to_resumer = threading.Semaphore(0)
        self._value: Any = None
        self._error: BaseException | None = None
        self._resumer = 0  # the (logical) thread that resumed this fiber last: the fiber acts for it

    def resume(self, value: Any = None) -> Any:
        """Run the fiber until it suspends or finishes; what it passed to ``suspend`` (or returned) comes back."""
        if self.finished:
            raise RuntimeError("resuming a finished fiber")
        self._value = value
        self._resumer = caller_identity()
        if not self.started:
            self.started = True
            previous = threading.stack_size()
            threading.stack_size(FIBER_STACK_SIZE)
            try:
                threading.Thread(target=self._run, name=self.name, daemon=True).start()
            finally:
                threading.stack_size(previous)
        else:
            self._to_fiber.release()
        self._to_resumer.acquire()
        error, self._error = self._error, None
        if error is not None:
            raise error
        return self._value

    def suspend(self, value: Any = None) -> Any:
        """Called on the fiber's own stack: give control (and ``value``) back to the resumer and wait."""
        self._value = value
        self._to_resumer.release()
        self._to_fiber.acquire()
        if self.abandoned:
            raise FiberAbandoned()
        act_for(self._resumer)
        return self._value

    def abandon(self) -> None:
        """Unwind a suspended fiber that will never run again (its frames see ``FiberAbandoned``)."""
        if not self.started or self.finished:
            return
        self.abandoned = True
        self._to_fiber.release()
        self._to_resumer.acquire()
        self._error = None

    def _run(self) -> None:
        act_for(self._resumer)
        try:
            self._value = self.body(self._value)
        except FiberAbandoned:
            self._value = None
        except BaseException as error:  # noqa: BLE001 - handed to the resumer, which raises it
            self._error = error
        self.finished = True
        self._to_resumer.release()
