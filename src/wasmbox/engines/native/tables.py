"""``table.set`` of a funcref table in machine code: the mirror's entry written without the host.

A guest that fills a table as it runs (a JIT of its own, a dispatch table
rebuilt per request) did one ctypes callback per ``table.set``, several
microseconds each, when all the write needs is the function's 32-byte entry
copied into the table's mirror, where ``call_indirect`` reads it.  The entry
of every function a handle names is kept by the host's handle registry
(``abi.FUNCTIONS_BASE``); machine code copies it, and logs the write for the
host, which applies it to the table's elements before Python code can read
them (``host.MirrorState.apply_log``).  Anything the fast path cannot vouch
for goes to the host as before: a mirror being rebuilt (``dirty``), entries
made before a function's code moved (``stale``), an index out of bounds
(the host traps with the spec's message), a handle without an entry, a full
log (the host applies it first: every callback does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from ...ir.instructions import Instruction
from .abi import (
    ENTRY_SIGNATURE,
    ENTRY_SIZE,
    FUNCTIONS_BASE,
    FUNCTIONS_COUNT,
    FUNCTIONS_STALE,
    LOG_CAPACITY,
    MIRROR_DIRTY,
    MIRROR_ENTRIES,
    MIRROR_LENGTH,
    MIRROR_LOG,
    MIRROR_LOG_COUNT,
)

if TYPE_CHECKING:
    from .lower import FunctionLowering

I8 = ir.IntType(8)
L32 = ir.IntType(32)
L64 = ir.IntType(64)
PTR = ir.PointerType()


def field(b: ir.IRBuilder, record: ir.Value, offset: int) -> ir.Value:
    return b.gep(record, [ir.Constant(L64, offset)], source_etype=I8)


def table_set(lowering: FunctionLowering, instr: Instruction) -> None:
    """``table.set`` of funcref table ``instr.imm[0]``: operands (index i32, handle i64) on the stack."""
    b = lowering.b
    index, handle = lowering.stack[-2:]
    table_pointers = lowering.ctx_field("tables", PTR)
    mirror = b.load(field(b, table_pointers, instr.imm[0] * 8), typ=PTR)
    functions = lowering.ctx_field("function_entries", PTR)
    element = b.zext(index, L64)
    count = b.load(field(b, mirror, MIRROR_LOG_COUNT), typ=L64)
    current = b.and_(
        b.icmp_unsigned("==", b.load(field(b, mirror, MIRROR_DIRTY), typ=L32), ir.Constant(L32, 0)),
        b.icmp_unsigned("==", b.load(field(b, functions, FUNCTIONS_STALE), typ=L32), ir.Constant(L32, 0)),
    )
    in_bounds = b.and_(
        b.icmp_unsigned("<", element, b.load(field(b, mirror, MIRROR_LENGTH), typ=L64)),
        b.icmp_unsigned("<", count, ir.Constant(L64, LOG_CAPACITY)),
    )
    described = b.icmp_unsigned("<", handle, b.load(field(b, functions, FUNCTIONS_COUNT), typ=L64))
    check = lowering.function.append_basic_block("table_set_entry")
    fast = lowering.function.append_basic_block("table_set_machine")
    slow = lowering.function.append_basic_block("table_set_host")
    done = lowering.function.append_basic_block("table_set_done")
    b.cbranch(b.and_(b.and_(current, in_bounds), described), check, slow)
    # The handle's entry: a function's (signature set), or null's (handle 0).
    b.position_at_end(check)
    source = b.gep(
        b.load(field(b, functions, FUNCTIONS_BASE), typ=PTR),
        [b.mul(handle, ir.Constant(L64, ENTRY_SIZE))],
        source_etype=I8,
    )
    signature = b.load(field(b, source, ENTRY_SIGNATURE), typ=L64)
    function_or_null = b.or_(
        b.icmp_unsigned("!=", signature, ir.Constant(L64, 0)), b.icmp_unsigned("==", handle, ir.Constant(L64, 0))
    )
    b.cbranch(function_or_null, fast, slow)
    b.position_at_end(fast)
    target = b.gep(
        b.load(field(b, mirror, MIRROR_ENTRIES), typ=PTR),
        [b.mul(element, ir.Constant(L64, ENTRY_SIZE))],
        source_etype=I8,
    )
    for offset in range(0, ENTRY_SIZE, 8):
        b.store(b.load(field(b, source, offset), typ=L64), field(b, target, offset))
    log = b.gep(b.load(field(b, mirror, MIRROR_LOG), typ=PTR), [b.mul(count, ir.Constant(L64, 16))], source_etype=I8)
    b.store(element, log)
    b.store(handle, field(b, log, 8))
    b.store(b.add(count, ir.Constant(L64, 1)), field(b, mirror, MIRROR_LOG_COUNT))
    b.branch(done)
    b.position_at_end(slow)
    lowering.runtime_op("table.set", instr)  # takes the operands off the stack
    b.branch(done)
    b.position_at_end(done)
