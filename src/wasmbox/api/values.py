"""Values crossing between Python and wasm.

i32/i64 are (signed) ints, f32/f64 floats, v128 16 bytes (or an int), funcref a :class:`Func` or
None, externref any Python object (None is null), GC references (anyref, eqref, structs, arrays,
i31) the objects of ``runtime.gc_heap`` as the program made them.  Engines hold i32/i64 unsigned, f32 rounded to
single precision and a funcref as a ``FunctionInstance``; these functions convert both ways.
"""

from __future__ import annotations

from .. import numeric
from ..ir.subtyping import CLOSED_BASE, is_function_reference, top_heap
from ..ir.types import F32, F64, I32, I64, V128, HeapType, RefType, ValType


def to_runtime(value: object, t: ValType, what: str) -> object:
    """Convert a Python value for a wasm parameter of type ``t``."""
    if t is I32 or t is I64:
        bits = 32 if t is I32 else 64
        if not isinstance(value, int):
            raise TypeError(f"{what}: expected an int for {t.text}, got {type(value).__name__}")
        if not -(1 << (bits - 1)) <= value < (1 << bits):
            raise TypeError(f"{what}: {value} does not fit in {t.text}")
        return value & ((1 << bits) - 1)
    if t is F32 or t is F64:
        if not isinstance(value, int | float):
            raise TypeError(f"{what}: expected a float for {t.text}, got {type(value).__name__}")
        try:
            number = float(value)
        except OverflowError:
            raise TypeError(f"{what}: {value} is too large for {t.text}") from None
        return numeric.f32_round(number) if t is F32 else number
    if t is V128:
        if isinstance(value, int):
            return (value & ((1 << 128) - 1)).to_bytes(16, "little")
        if not isinstance(value, bytes | bytearray) or len(value) != 16:
            raise TypeError(f"{what}: expected 16 bytes or an int for v128")
        return bytes(value)
    if is_function_reference(t):
        if value is None:
            if not t.defaultable:
                raise TypeError(f"{what}: expected a Func for {t.text}, got None")
            return None
        # A funcref is a Func, and a Func converts its arguments here: the package's one import
        # cycle, closed when a funcref first crosses.
        from .functions import Func

        if not isinstance(value, Func):
            raise TypeError(f"{what}: expected a Func or None for funcref, got {type(value).__name__}")
        return value._instance
    if value is None and not t.defaultable:
        raise TypeError(f"{what}: expected a value for {t.text}, got None")
    if value is not None and isinstance(t, RefType) and top_heap(t.heap) is HeapType.ANY:
        # GC references: a struct, array or i31 the program made (they keep their identity through
        # Python), of the parameter's type; any other Python value must be externref.
        from ..runtime import gc_heap

        # (a type index of the defining module, not closed, is checked by kind only)
        heap = t.heap if isinstance(t.heap, HeapType) or t.heap >= CLOSED_BASE else HeapType.ANY
        if not gc_heap.is_internal(value) or not gc_heap.ref_test(value, t.nullable, heap):
            raise TypeError(f"{what}: expected a GC reference of type {t.text}, got {type(value).__name__}")
    return value  # externref: any object


def from_runtime(value: object, t: ValType) -> object:
    """Convert a run-time value of type ``t`` for Python: i32/i64 signed, a funcref as a :class:`Func`."""
    # Engines may hold i32 results of comparisons as Python bools (they are
    # ints); users get plain ints.
    if t is I32:
        return numeric.signed32(int(value))  # type: ignore[call-overload]
    if t is I64:
        return numeric.signed64(int(value))  # type: ignore[call-overload]
    if is_function_reference(t):
        from .functions import Func  # see to_runtime

        return None if value is None else Func._wrap(value)  # type: ignore[arg-type]
    return value


def default_value(t: ValType) -> object:
    """The zero of a value type, in the engines' representation."""
    if t is F32 or t is F64:
        return 0.0
    if t is V128:
        return bytes(16)
    return None if t.is_reference else 0
