"""Where each construct of a function body ends: the one pass over a whole body the interpreter makes.

Everything else is learnt block by block as execution reaches it, but a
forward branch must know where its target construct ends before that code
was ever reached, so the openers are matched with their ``end`` (and an
``if`` with its ``else``) up front: a walk that only counts nesting.
"""

from __future__ import annotations

from ...ir import instructions as ins
from ...ir.instructions import Instruction


def match_constructs(body: list[Instruction]) -> tuple[dict[int, int], dict[int, int]]:
    """(end position of every opener, else position of every ``if`` that has one)."""
    openers = ins.BLOCK_OPENERS
    op_end, op_else, op_if = ins.OP_END, ins.OP_ELSE, ins.OP_IF
    ends: dict[int, int] = {}
    elses: dict[int, int] = {}
    open_at: list[int] = []
    for position, instr in enumerate(body):
        op = instr.op
        if op in openers:
            open_at.append(position)
        elif op is op_end:
            if open_at:
                ends[open_at.pop()] = position
        elif op is op_else:
            opener = open_at[-1]
            if body[opener].op is op_if:
                elses[opener] = position
    return ends, elses


def nesting_depth(body: list[Instruction]) -> int:
    """The deepest nesting of blocks, loops, ifs and try_tables in a body."""
    openers, op_end = ins.BLOCK_OPENERS, ins.OP_END
    depth = deepest = 0
    for instr in body:
        op = instr.op
        if op in openers:
            depth += 1
            if depth > deepest:
                deepest = depth
        elif op is op_end:
            depth -= 1
    return deepest
