"""The seam through which tools watch a running module (tracer, debugger, profiler).

An engine compiles observation calls into a module only when its store has
an observer, so a store without one runs exactly the code it always ran: the
hooks cost nothing when off.  With one, the engine calls

* ``enter(func_index, params)`` when a wasm function starts,
* ``instruction(func_index, position, stack, locals)`` before each executed
  instruction (``position`` indexes the function body; ``stack`` is the
  operand stack of this frame, bottom first) — only if ``wants_instructions``,
* ``leave(func_index, results)`` when it returns normally; it must return
  ``results`` unchanged.

A trap or ``proc_exit`` unwinds frames without ``leave``: the tool that
started the call is told with ``unwound()``.  An exception caught by a
``try_table`` unwinds the frames above the catching one: ``caught(func_index)``
says which function caught it (its innermost activation goes on).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..ir.legacy_exceptions import LegacyLowering
    from .instance import ModuleInstance


class Observer:
    """Receives the events; the base class ignores them all."""

    wants_instructions = False

    def attach(self, instance: ModuleInstance) -> None:
        """The instance being run, once it exists (for its memory and globals)."""

    def enter(self, func_index: int, params: tuple[Any, ...]) -> None:
        """A wasm function starts with these parameters."""

    def instruction(self, func_index: int, position: int, stack: tuple[Any, ...], locals_: tuple[Any, ...]) -> None:
        """The instruction at ``position`` is about to run."""

    def leave(self, func_index: int, results: Any) -> Any:
        """A wasm function returns ``results`` (None, one value, or a tuple)."""
        return results

    def unwound(self, reason: BaseException | None = None) -> None:
        """Every open frame ended abnormally: ``reason`` is the trap or WASI exit, when known."""

    def caught(self, func_index: int) -> None:
        """A wasm exception was caught in ``func_index``: the frames above it ended abnormally."""


class OriginalPositions(Observer):
    """An observer of a module whose bodies the engines run lowered (``ir.legacy_exceptions``):
    it is told of the original instructions at their original positions, with the original's
    locals, and of nothing the lowering added."""

    def __init__(self, inner: Observer, lowering: LegacyLowering) -> None:
        self.inner = inner
        self.lowering = lowering
        self.wants_instructions = inner.wants_instructions
        self.enter = inner.enter  # type: ignore[method-assign]
        self.leave = inner.leave  # type: ignore[method-assign]
        self.unwound = inner.unwound  # type: ignore[method-assign]
        self.caught = inner.caught  # type: ignore[method-assign]

    def attach(self, instance: ModuleInstance) -> None:
        self.inner.attach(instance)

    def instruction(self, func_index: int, position: int, stack: tuple[Any, ...], locals_: tuple[Any, ...]) -> None:
        original = self.lowering.observed_position(func_index, position)
        if original is not None:
            added = self.lowering.added_locals(func_index)
            self.inner.instruction(func_index, original, stack, locals_[: len(locals_) - added] if added else locals_)
