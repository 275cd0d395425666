"""What generated code and the Python side agree on: the context record, trap codes, host entry points.

Every instance gets one context record (``Context`` in ``host.py``); native
code reaches the instance's memory, globals and the host only through it.
Field offsets here and the ``ctypes`` structure there are the same list.
"""

from __future__ import annotations

from ...ir.types import I32, I64, V128, FuncType, ValType


class NotLowered(Exception):
    """The native engine does not compile this (yet); the module runs on the portable engine."""


# (name, LLVM/ctypes kind): "ptr" or "i32"/"i64"; offsets follow C layout on 64-bit hosts.
CONTEXT_FIELDS = (
    ("mem_base", "ptr"),  # linear memory 0 (fixed base: it never moves)
    ("mem_size", "ptr"),  # -> u64 byte size, owned by the memory (updated by memory.grow)
    ("globals", "ptr"),  # -> array of pointers to 16-byte global cells
    ("stop", "ptr"),  # -> i32 set by interrupt() / the deadline timer
    ("tables", "ptr"),  # -> array of pointers to table mirrors (see TABLE_MIRROR)
    ("stack_limit", "i64"),  # lowest stack address a wasm frame may use
    ("trap_detail", "i64"),  # the element index of an undefined or uninitialized element
    ("trap", "i64"),  # nonzero: a trap is unwinding, with this code
    ("instance_id", "i64"),  # the Python side's key for host calls
    ("depth", "i64"),  # wasm calls active on this instance
    ("depth_limit", "i64"),  # the store's max_call_depth
    ("frames", "ptr"),  # -> ring of FRAME_RING u64 words: (function << 32 | instruction) per depth
    ("trap_depth", "i64"),  # depth of the frame that trapped
    ("func_refs", "ptr"),  # -> u64 handle of every function in the index space (ref.func)
    ("signatures", "ptr"),  # -> u64 process-wide signature id of each of the module's types
    ("code", "ptr"),  # -> u64 address of each function's code (lazy mode: a stub into the host until compiled)
    ("callee", "i64"),  # lazy mode: the function a call is for, read by the stub
    ("exn_tag", "i64"),  # the exception in flight is native: its tag's id (0: the host holds it as an object)
    ("exn_payload", "ptr"),  # -> u64 slots of the native exception's payload
    ("tags", "ptr"),  # -> u64 process-wide id of each tag in the module's tag index space
    ("fuel", "ptr"),  # -> i64 fuel left (metered code only): the store's, copied in and out at crossings
    ("memories", "ptr"),  # -> a MEMORY_RECORD per memory index (multiple memories; memory 0 also above)
    ("tail_args", "ptr"),  # -> u64 slots: a tail call's arguments, read by the callee's tail entry at once
    ("ref_entries", "ptr"),  # -> {ptr entries; u64 capacity}: call_ref's entries by funcref handle (host.py)
    ("function_entries", "ptr"),  # -> the process-wide FUNCTION_ENTRIES record (table.set in machine code)
)
FRAME_RING = 1024  # the innermost frames a backtrace can show
# Native wasm frames may use this much of the thread's stack below the outermost entry
# (threads get 8 MiB on Linux); past it, calls trap with "call stack exhausted".
STACK_BUDGET = 4 << 20
OFFSET = {name: index * 8 for index, (name, _) in enumerate(CONTEXT_FIELDS)}

# Trap codes written to ctx.trap, and the trap kinds they become.
TRAP_KINDS = {
    1: "unreachable",
    2: "integer divide by zero",
    3: "integer overflow",
    4: "invalid conversion to integer",
    5: "out of bounds memory access",
    6: "call stack exhausted",
    7: "host",  # a Python exception in a host call: re-raised as it was
    8: "stop",  # interrupt() or the deadline: the sandbox's reason
    9: "undefined element",
    10: "uninitialized element",
    11: "indirect call type mismatch",
    12: "exception",  # a wasm exception is unwinding; the host holds it (try_table may catch it)
    13: "null exception reference",
    14: "out of fuel",
    15: "null function reference",
    16: "null reference",
}
TRAP = {kind: code for code, kind in TRAP_KINDS.items()}

# Host entry points generated code calls by name (bound with llvm.add_symbol).
HOST_CALL = "wasmbox_host_call"  # i32 (ctx, i32 func_index, ptr slots)
CALL_INDIRECT = "wasmbox_call_indirect"  # i32 (ctx, i32 type_index, i32 table, i32 element, ptr slots)
MEMORY_GROW = "wasmbox_memory_grow"  # i64 (ctx, i64 delta, i32 memory) -> old pages or -1 of its address type
RUNTIME_OP = "wasmbox_runtime_op"  # i32 (ctx, i32 op, ptr slots): table and segment operations
REFRESH_TABLE = "wasmbox_refresh_table"  # void (ctx, ptr mirror): rebuild a mirror whose table changed
THROW_REF = "wasmbox_throw_ref"  # i32 (ctx, i64 exnref): rethrow
# call_ref: the entry (TABLE_MIRROR's layout) of the function a reference names, when ctx.ref_entries
# has none for its handle yet (null: an entry of signature 0); and the call through the host when it
# is not this instance's code.
REFERENCE_ENTRY = "wasmbox_reference_entry"  # ptr (ctx, i64 funcref handle)
CALL_REF = "wasmbox_call_ref"  # i32 (ctx, i32 type_index, i64 funcref handle, ptr slots)
CATCH = "wasmbox_catch"  # i32 (ctx, i32 tag or -1, i32 want_ref, ptr slots): 1 and the payload if it matches

# A memory as native code sees it, one record per memory index: {ptr base; ptr -> u64 byte size}.
# Memory 0 is also in the context's own fields (mem_base, mem_size): the fast path, one load fewer.
# Every access is checked explicitly against the size (no guard pages): see FunctionLowering.
MEMORY_BASE, MEMORY_SIZE, MEMORY_RECORD = 0, 8, 16

# A table as native code sees it: {u64 length; ptr entries; i32 dirty; u64 log_count; ptr log};
# each entry is {ptr code; u64 signature; ptr ctx; ptr tail}: the function's native code and its
# instance's context (0 when it is not native code), its signature's process-wide id (0: null),
# and its tail entry (``return_call_indirect``'s target; 0 when its module makes no tail calls).
# ``table.set`` in machine code writes the entry itself and logs {u64 index; u64 handle} for the
# host, which applies the log to the table's elements before any Python code can read them.
MIRROR_LENGTH, MIRROR_ENTRIES, MIRROR_DIRTY, MIRROR_LOG_COUNT, MIRROR_LOG = 0, 8, 16, 24, 32
ENTRY_CODE, ENTRY_SIGNATURE, ENTRY_CTX, ENTRY_TAIL, ENTRY_SIZE = 0, 8, 16, 24, 32
LOG_CAPACITY = 256  # writes logged before machine code hands table.set to the host (which applies the log)

# Every reference handle's table entry, as ``table.set`` copies it into a mirror: {ptr entries;
# u64 count; i32 stale}; entry ``h`` describes handle ``h`` when it is a function (signature 0:
# not a function, or no handle; handle 0, null, is all zeros).  ``stale``: a function's code
# moved since the entries were made (the host makes them again on its next table.set).
FUNCTIONS_BASE, FUNCTIONS_COUNT, FUNCTIONS_STALE = 0, 8, 16


def slot_layout(types: tuple[ValType, ...] | list[ValType]) -> list[int]:
    """The first u64 slot of each value: a v128 takes two slots, everything else one."""
    layout, next_slot = [], 0
    for t in types:
        layout.append(next_slot)
        next_slot += 2 if t is V128 else 1
    return layout


def slot_count(types: tuple[ValType, ...] | list[ValType]) -> int:
    return sum(2 if t is V128 else 1 for t in types)


# Runtime operations done by the host on integer operands (table/segment bookkeeping).
# name -> (operand types, result type or None); references travel as handles (I64).
RUNTIME_SIGNATURES: dict[str, tuple[tuple[ValType, ...], ValType | None]] = {
    "table.size": ((), I32),
    "ref.func": ((), I64),
    "table.copy": ((I32, I32, I32), None),
    "table.init": ((I32, I32, I32), None),
    "elem.drop": ((), None),
    "memory.init": ((I32, I32, I32), None),
    "data.drop": ((), None),
    "table.get": ((I32,), I64),
    "table.set": ((I32, I64), None),
    "table.grow": ((I64, I32), I32),
    "table.fill": ((I32, I64, I32), None),
}
RUNTIME_OPS = tuple(RUNTIME_SIGNATURES)
# The table operations' signatures on a 64-bit table (memory64): i64 indices, sizes and counts.
TABLE_OPS_64: dict[str, tuple[tuple[ValType, ...], ValType | None]] = {
    "table.size": ((), I64),
    "table.get": ((I64,), I64),
    "table.set": ((I64, I64), None),
    "table.grow": ((I64, I64), I64),
    "table.fill": ((I64, I64, I64), None),
}


# --- symbol names: what code made in one process is linked by in another ------------------------
# (here, not in ``lower``, so that linking worker-made code imports neither llvmlite nor the lowering)


def osr_name(prefix: str, index: int, position: int) -> str:
    return f"{prefix}_f{index}_osr{position}"


def osr_entry_name(prefix: str, index: int, position: int) -> str:
    return f"{prefix}_entry{index}_osr{position}"


def stub_names(func_types: list[FuncType], first_defined: int, prefix: str) -> dict[FuncType, str]:
    """One stub per distinct signature of the module's own functions (``func_types``: the function
    index space, whose definitions start at ``first_defined``)."""
    types = {func_types[i] for i in range(first_defined, len(func_types))}
    return {t: f"{prefix}_stub{n}" for n, t in enumerate(sorted(types, key=repr))}
