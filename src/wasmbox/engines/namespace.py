"""The names every engine's generated code may use, besides the instance's own.

Generated Python (the portable engine's translations, the baseline's operations) and the runtime
both reach helpers by name in one flat namespace per instance: numeric operations, memory and
table operations, SIMD lanes, struct packers.  They are gathered here, apart from any engine, so
that an instance whose functions all run machine code builds its namespace without importing the
Python engines.
"""

from __future__ import annotations

import math
import struct

from .. import numeric, simd
from ..errors import Exhaustion, Trap, WasmException
from ..runtime import atomics, gc_heap
from ..runtime.operations import (
    call_indirect,
    call_ref,
    load_bytes,
    memory_copy,
    memory_copy_between,
    memory_fill,
    memory_init,
    ref_as_non_null,
    store_bytes,
    table_copy,
    table_fill,
    table_get,
    table_init,
    table_set,
)
from ..runtime.tail_calls import TailCall, tail_entry

# struct formats of loads and stores -> the namespace name of their packer (``S_4_unpack`` ...).
STRUCT_NAMES = {
    fmt: f"S_{'bBhHiIqQfd'.index(fmt[1])}" for fmt in ("<b", "<B", "<h", "<H", "<i", "<I", "<q", "<Q", "<f", "<d")
}


def simd_function_name(name: str) -> str:
    """The namespace name of a SIMD operation's Python function."""
    return "v_" + name.replace(".", "_")


def throw_ref(exception: WasmException | None) -> None:
    """``throw_ref``: raise the exception again (the same object, so catching it by identity works)."""
    if exception is None:
        raise Trap("null exception reference")
    raise exception


def base_namespace() -> dict[str, object]:
    """The names generated code may use, besides the instance's own."""
    namespace: dict[str, object] = {name: getattr(numeric, name) for name in dir(numeric) if not name.startswith("_")}
    namespace.update(atomics.NAMESPACE)
    namespace.update(
        Trap=Trap,
        Exhaustion=Exhaustion,
        WasmException=WasmException,
        throw_ref=throw_ref,
        fabs=math.fabs,
        copysign=math.copysign,
        table_get=table_get,
        table_set=table_set,
        table_fill=table_fill,
        table_copy=table_copy,
        table_init=table_init,
        memory_copy=memory_copy,
        memory_copy_between=memory_copy_between,
        memory_fill=memory_fill,
        memory_init=memory_init,
        call_indirect=call_indirect,
        call_ref=call_ref,
        ref_as_non_null=ref_as_non_null,
        TailCall=TailCall,
        TAIL_ENTRY=tail_entry,
        load_bytes=load_bytes,
        store_bytes=store_bytes,
        shuffle=simd.shuffle,
        load_extend=simd.load_extend,
        V128_ZERO=bytes(16),
    )
    namespace.update(gc_heap.OPERATIONS)
    for name, function in {**simd.OPERATIONS, **simd.LANE_OPERATIONS}.items():
        namespace[simd_function_name(name)] = function
    for fmt, name in STRUCT_NAMES.items():
        packer = struct.Struct(fmt)
        namespace[name] = packer
        namespace[f"{name}_unpack"] = packer.unpack_from
        namespace[f"{name}_pack"] = packer.pack_into
    return namespace
