"""What generated code and the Python side agree on: the context record, trap codes, host entry points.

Every instance gets one context record (``Context`` in ``host.py``); native
code reaches the instance's memory, globals and the host only through it.
Field offsets here and the ``ctypes`` structure there are the same list.
"""

from __future__ import annotations

# (name, LLVM/ctypes kind): "ptr" or "i32"/"i64"; offsets follow C layout on 64-bit hosts.
CONTEXT_FIELDS = (
    ("mem_base", "ptr"),  # linear memory 0 (fixed base: it never moves)
    ("mem_size", "ptr"),  # -> u64 byte size, owned by the memory (updated by memory.grow)
    ("globals", "ptr"),  # -> array of pointers to 16-byte global cells
    ("stop", "ptr"),  # -> i32 set by interrupt() / the deadline timer
    ("stack_limit", "i64"),  # lowest stack address a wasm frame may use
    ("trap", "i32"),  # nonzero: a trap is unwinding, with this code
    ("instance_id", "i32"),  # the Python side's key for host calls
)
OFFSET = {name: index * 8 for index, (name, _) in enumerate(CONTEXT_FIELDS)}
OFFSET["instance_id"] = OFFSET["trap"] + 4  # two i32s share the last word

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
}
TRAP = {kind: code for code, kind in TRAP_KINDS.items()}

# Host entry points generated code calls by name (bound with llvm.add_symbol).
HOST_CALL = "wasmbox_host_call"  # i32 (ctx, i32 func_index, ptr slots)
CALL_INDIRECT = "wasmbox_call_indirect"  # i32 (ctx, i32 type_index, i32 table, i32 element, ptr slots)
MEMORY_GROW = "wasmbox_memory_grow"  # i32 (ctx, i32 delta) -> old pages or -1
RUNTIME_OP = "wasmbox_runtime_op"  # i32 (ctx, i32 op, ptr slots): table and segment operations
