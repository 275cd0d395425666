"""``Store``: the engine a group of instances runs on and the limits their guests run under."""

from __future__ import annotations

from ..engines.registry import DEFAULT_ENGINE, ENGINE_CLASSES
from ..runtime.observer import Observer
from ..runtime.sandbox import DEFAULT_MAX_TABLE_ELEMENTS, Sandbox

ENGINES: tuple[str, ...] = tuple(ENGINE_CLASSES)


class Store:
    """Owns the runtime objects of a group of instances, picks the engine and
    sets the limits guests run under.

    ``engine``: one of :data:`ENGINES`, or ``"auto"`` for the fastest one
    available on this machine.  Limits: ``max_memory_pages`` and
    ``max_table_elements`` (growing past them fails, as ``memory.grow``
    returning -1), ``max_instances``, ``max_call_depth`` (deeper recursion
    raises :class:`Exhaustion`), ``deadline`` (seconds of wall-clock time per
    call into wasm; a :class:`Trap` "deadline exceeded" when it passes),
    ``interruptible`` (allows :meth:`interrupt`) and ``fuel`` (every executed
    instruction but ``end``/``else`` costs one unit; a :class:`Trap` "out of
    fuel" when none is left).  Checks are compiled in only when asked for, so
    code that needs none runs at full speed.  ``observer`` (a
    :class:`wasmbox.runtime.observer.Observer`) sees every function entry and
    exit, and every instruction if it asks to: the tracer, debugger and
    profiler are observers.

    A store has no feature switch: what modules may use is chosen when a :class:`Module` is read
    (``Module(source, features="2.0")``), once and apart from any store; a store runs every module
    that validated, on whichever engine it has.
    """

    def __init__(
        self,
        engine: str = "auto",
        *,
        max_memory_pages: int = 65536,
        max_table_elements: int = DEFAULT_MAX_TABLE_ELEMENTS,
        max_instances: int | None = None,
        max_call_depth: int = 20_000,
        deadline: float | None = None,
        interruptible: bool = False,
        fuel: int | None = None,
        observer: Observer | None = None,
    ) -> None:
        if engine == "auto":
            engine = DEFAULT_ENGINE
        if engine not in ENGINE_CLASSES:
            raise ValueError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")
        self.engine_name = engine
        self.engine = ENGINE_CLASSES[engine]()
        self.sandbox = Sandbox(
            max_memory_pages=max_memory_pages,
            max_table_elements=max_table_elements,
            max_instances=max_instances,
            max_call_depth=max_call_depth,
            deadline=deadline,
            interruptible=interruptible,
            fuel=fuel,
        )
        self.observer = observer

    def fuel_remaining(self) -> int | None:
        """Fuel left, or None for a store created without fuel.  (Fuel is
        charged per basic block, so a trap may overdraw it; that reads as 0.)"""
        fuel = self.sandbox.fuel
        return None if fuel is None else max(fuel, 0)

    def add_fuel(self, amount: int) -> None:
        """Top up the fuel of a metered store."""
        if self.sandbox.fuel is None:
            raise RuntimeError("this store was not created with fuel")
        if amount < 0:
            raise ValueError("fuel can only be added")
        self.sandbox.fuel += amount

    def interrupt(self) -> None:
        """Stop the running wasm call (from any thread): it raises a
        :class:`Trap` "interrupted".  Needs ``interruptible=True`` or a deadline."""
        if not self.sandbox.interruptible:
            raise RuntimeError("this store was not created with interruptible=True")
        self.sandbox.interrupt()
