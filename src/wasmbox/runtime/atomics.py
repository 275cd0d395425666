"""The threads proposal's atomic memory instructions, for the one thread a store runs.

wasmbox runs each store on one thread, so an atomic access is an ordinary
access with the proposal's extra rules (proposal overview, "Atomic Memory
Accesses" and "Wait and Notify Operators"):

* the effective address must be a multiple of the access size, else the
  instruction traps ("unaligned atomic"); the alignment is checked before the
  bounds, as the reference interpreter does;
* read-modify-write and compare-exchange return the old value (zero-extended
  from a narrow access) and store the new one;
* ``memory.atomic.wait32/64`` trap on an unshared memory; with a value other
  than the expected one they return 1 ("not-equal"); otherwise they would wait
  for a notify no other thread can send, so they return 2 ("timed-out");
* ``memory.atomic.notify`` wakes nobody (no thread waits): it returns 0.

:data:`ACCESSES` describes every atomic instruction of the table; the portable
engine emits :func:`call_template`'s expressions, the baseline engine calls
:func:`operation`'s functions, so both run the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import Trap
from ..ir import instructions as ins
from ..records import record
from .operations import load_bytes, store_bytes

UNALIGNED = "unaligned atomic"
NOT_EQUAL = 1
TIMED_OUT = 2
READ_MODIFY_WRITE: dict[str, Callable[[int, int], int]] = {
    "add": lambda old, value: old + value,
    "sub": lambda old, value: old - value,
    "and": lambda old, value: old & value,
    "or": lambda old, value: old | value,
    "xor": lambda old, value: old ^ value,
    "xchg": lambda old, value: value,
}


@record(frozen=True)
class AtomicAccess:
    """What one atomic instruction does: ``kind`` is load, store, rmw, cmpxchg, wait, notify or
    fence; ``size`` the bytes it accesses (its natural alignment); ``modify`` an rmw's operation."""

    kind: str
    size: int
    modify: Callable[[int, int], int] | None = None


def _access(op: ins.Opcode) -> AtomicAccess:
    name = op.name
    size = 1 << op.align
    if name == "atomic.fence":
        return AtomicAccess("fence", 0)
    if name.startswith("memory.atomic.wait"):
        return AtomicAccess("wait", size)
    if name == "memory.atomic.notify":
        return AtomicAccess("notify", size)
    if ".atomic.load" in name:
        return AtomicAccess("load", size)
    if ".atomic.store" in name:
        return AtomicAccess("store", size)
    verb = name.rsplit(".", 1)[1].removesuffix("_u")
    if verb == "cmpxchg":
        return AtomicAccess("cmpxchg", size)
    return AtomicAccess("rmw", size, READ_MODIFY_WRITE[verb])


ACCESSES: dict[str, AtomicAccess] = {op.name: _access(op) for op in ins.OPCODES if op.feature == ins.THREADS}


def _aligned(address: int, size: int) -> int:
    if address % size:
        raise Trap(UNALIGNED)
    return address


def atomic_load(memory: Any, address: int, size: int) -> int:
    return int.from_bytes(load_bytes(memory, _aligned(address, size), size), "little")


def atomic_store(memory: Any, address: int, size: int, value: int) -> None:
    store_bytes(memory, _aligned(address, size), (value & ((1 << 8 * size) - 1)).to_bytes(size, "little"))


def atomic_rmw(memory: Any, address: int, size: int, modify: Callable[[int, int], int], value: int) -> int:
    old = atomic_load(memory, address, size)
    atomic_store(memory, address, size, modify(old, value & ((1 << 8 * size) - 1)))
    return old


def atomic_cmpxchg(memory: Any, address: int, size: int, expected: int, replacement: int) -> int:
    old = atomic_load(memory, address, size)
    if old == expected & ((1 << 8 * size) - 1):
        atomic_store(memory, address, size, replacement)
    return old


def atomic_wait(memory: Any, address: int, size: int, expected: int, timeout: int) -> int:
    loaded = atomic_load(memory, address, size)
    if not memory.type.shared:
        raise Trap("expected shared memory")
    return NOT_EQUAL if loaded != expected & ((1 << 8 * size) - 1) else TIMED_OUT


def atomic_notify(memory: Any, address: int, count: int) -> int:
    atomic_load(memory, address, 4)  # the address is checked: aligned and in bounds
    return 0


def call_template(name: str, memory: str, address: str, operands: list[str]) -> str:
    """A Python expression running atomic instruction ``name`` (for generated code: the
    functions above and ``READ_MODIFY_WRITE`` must be in its namespace)."""
    access = ACCESSES[name]
    size = access.size
    if access.kind == "fence":
        return "None"
    if access.kind == "rmw":
        verb = name.rsplit(".", 1)[1].removesuffix("_u")
        return f"atomic_rmw({memory}, {address}, {size}, READ_MODIFY_WRITE[{verb!r}], {operands[0]})"
    if access.kind == "notify":
        return f"atomic_notify({memory}, {address}, {operands[0]})"
    return f"atomic_{access.kind}({memory}, {address}, {size}{''.join(', ' + o for o in operands)})"


NAMESPACE: dict[str, object] = {
    "atomic_load": atomic_load,
    "atomic_store": atomic_store,
    "atomic_rmw": atomic_rmw,
    "atomic_cmpxchg": atomic_cmpxchg,
    "atomic_wait": atomic_wait,
    "atomic_notify": atomic_notify,
    "READ_MODIFY_WRITE": READ_MODIFY_WRITE,
}


def operation(name: str, memory: Any, offset: int) -> Callable[..., Any]:
    """The atomic instruction ``name`` on ``memory`` with the memarg's ``offset``, as a function of
    its operands (address first) returning its result (None for stores and fences)."""
    operands = [f"v{i}" for i in range(len(ins.BY_NAME[name].params or ()) - 1)]
    if ACCESSES[name].kind == "fence":
        return lambda: None
    source = f"lambda address, {', '.join(operands)}: " if operands else "lambda address: "
    source += call_template(name, "memory", f"address + {offset}", operands)
    return eval(source, {**NAMESPACE, "memory": memory})  # type: ignore[no-any-return]  # noqa: S307 - from our template
