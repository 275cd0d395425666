"""The portable engine: each wasm function is translated to Python source.

Why source translation: Python runs its own bytecode far faster than any
dispatch loop written in Python can run wasm instructions.  The operand stack
becomes local variables ``s0, s1, ...`` (slot ``i`` holds the value at stack
height ``i``), wasm locals become ``l0, l1, ...``, and pure operations on
locals and constants are kept as Python expressions until they are needed, so
``local.get 0; local.get 1; i32.add; local.set 2`` becomes one line.

Control flow: CPython allows only 20 nested loops per function, fewer than
real wasm nests blocks, so blocks cannot each become a Python loop.  Instead a
function is a dispatch over its basic blocks: ``while True: if pc == 0: ...
if pc == 1: ...``.  A basic block starts at every branch target (block end,
loop header, if/else arms) and after every conditional branch; a forward
branch sets ``pc`` and falls through the later tests.  Each wasm loop (up to
``MAX_LOOP_NESTING`` deep) gets a ``while True`` of its own holding the
dispatch of the blocks inside it, so a back-edge ``continue``s a short chain;
a branch that leaves a loop ``break``s, and the enclosing level re-dispatches.
Values carried by branches are moved into the target's slots first.

Numeric semantics come from :mod:`wasmbox.numeric`; simple operations are
inlined as expressions written here from the same rules.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable
from typing import Any

from .. import numeric, simd
from ..ir import instructions as ins
from ..ir.instructions import GC, Catch, Instruction
from ..ir.module import Module, block_signature
from ..ir.subtyping import closed_id, closed_types
from ..ir.types import DefinedType, FuncType, ValType
from ..records import field, record
from ..runtime import atomics
from ..runtime.observer import Observer
from ..runtime.sandbox import frame_units
from .expressions import (
    BEYOND_ANY_MEMORY,
    LANE_WIDTH,
    LOADS,
    PURE,
    SIMD_LOADS,
    STORES,
    TRAPPING,
    ZERO,
)
from .interp_gc import translate_gc_instruction
from .namespace import STRUCT_NAMES, simd_function_name

_SLOT_NAME = re.compile(r"\bs(\d+)\b")


MAX_LOOP_NESTING = 14  # Python loops per function; CPython's limit is 20 blocks
# With try_table, each loop level may also hold a ``try`` (and the innermost an
# ``except`` handler): two blocks per level, three for the handler.
MAX_LOOP_NESTING_WITH_TRY = 7
# Markers of the regions a ``try:`` covers, indented in one pass at the end (FunctionTranslator.indent_regions).
INDENT = "\x01"
DEDENT = "\x02"
# Blocks per ``if pc in {...}`` group of a long dispatch chain (FunctionTranslator.group_dispatch).
DISPATCH_GROUP = 16


@record
class Level:
    """A chain of basic blocks (``if pc == k:`` tests) at one indentation.

    ``kind`` is ``loop`` for a Python ``while True`` (the function's, or a
    wasm loop's own) and ``arm`` for an arm of a wasm ``if`` emitted as a
    Python ``if``.  ``segments`` are the blocks in its chain; for loop levels
    ``exits`` maps targets outside it, left for by ``break``, to the loop
    level they are dispatched in.
    """

    kind: str
    header_indent: int
    parent: Level | None = None
    segments: set[int] = field(default_factory=set)
    exits: dict[int, Level] = field(default_factory=dict)
    first_line: int = 0  # index in lines of its first segment's header
    try_sites: set[int] = field(default_factory=set)  # innermost try_table ids of the raise sites in its chain
    placeholder: int = -1  # the line that becomes its ``try:`` if it needs a handler (else stays ``pass``)

    @property
    def body_indent(self) -> int:
        return self.header_indent + 4

    @property
    def loop(self) -> Level:
        """The nearest Python loop this level's code runs in."""
        level: Level = self
        while level.kind != "loop":
            assert level.parent is not None
            level = level.parent
        return level


MAX_BR_IF_ARMS = 48


def structured_constructs(
    body: list[Instruction], max_loop_nesting: int = MAX_LOOP_NESTING
) -> tuple[set[int], set[int]]:
    """Positions of the ``if`` and ``block`` instructions that can be emitted
    as Python ``if``s, in one walk over the body.

    An ``if`` qualifies when no branch inside leaves forward to a block or
    ``if`` at or outside it (that would have to skip code after it).  A
    ``block`` qualifies when every branch to it is a ``br``/``br_if`` directly
    in its body (``br_if`` becomes "if not taken: rest of the block") and no
    branch inside leaves forward past it.  Neither may hold a loop nested too
    deep to get a Python loop of its own, nor a ``try_table``.
    """
    candidates: set[int] = set()
    rejected: set[int] = set()
    arms: dict[int, int] = {}
    stack: list[tuple[str, int]] = []
    loops = 0
    for position, instr in enumerate(body):
        name = instr.op.name
        if instr.op in ins.BLOCK_OPENERS:
            if name == "loop":
                loops += 1
                if loops > max_loop_nesting:
                    rejected.update(p for _, p in stack)
            elif name == "try_table":
                rejected.update(p for _, p in stack)
            stack.append((name, position))
            if name in ("if", "block"):
                candidates.add(position)
        elif name == "end":
            if stack and stack.pop()[0] == "loop":
                loops -= 1
        elif name in ("br", "br_if", "br_table", "br_on_null", "br_on_non_null", "br_on_cast", "br_on_cast_fail"):
            depths = [*instr.imm[0], instr.imm[1]] if name == "br_table" else [instr.imm[0]]
            for depth in depths:
                if depth >= len(stack):
                    continue  # the function's label: a return
                target = len(stack) - 1 - depth
                if stack[target][0] == "loop":
                    continue
                # Every if from the target inwards is left forward; so is
                # every block, unless this is a br/br_if straight to it.
                direct = depth == 0 and name in ("br", "br_if") and stack[target][0] == "block"
                rejected.update(p for kind, p in stack[target:] if kind == "if" or (kind == "block" and not direct))
                if direct and name == "br_if":
                    # Each br_if to a structured block nests the rest of it one Python block deeper:
                    # past MAX_BR_IF_ARMS open arms, the block goes to the dispatch loop instead
                    # (Python refuses 100 nested blocks).
                    block = stack[target][1]
                    arms[block] = arms.get(block, 0) + 1
                    if sum(arms.get(p, 0) for _, p in stack if p not in rejected) > MAX_BR_IF_ARMS:
                        rejected.add(block)
    structured = candidates - rejected
    ifs = {p for p in structured if body[p].op is ins.OP_IF}
    return ifs, structured - ifs


class UnsupportedInstruction(NotImplementedError):
    """The portable engine does not run this instruction (yet)."""


@record
class Frame:
    kind: str  # "func", "block", "loop", "if"
    base: int  # stack height below the block's values
    params: int
    results: int
    target: int  # pc of the label: loop header, or the continuation after end
    level: Level | None = None  # the dispatch level the target's block is in
    else_pc: int | None = None
    has_else: bool = False
    own_level: bool = False  # a loop with a Python while of its own
    structured: bool = False  # an if (or a block's br_ifs) emitted as Python ifs
    then_dead: bool = False
    arms: int = 0  # arms opened by a structured block's br_ifs, closed at its end
    reached: bool = False  # a br jumps to this structured block's end
    try_id: int = 0  # a try_table's id (its catch clauses are in FunctionTranslator.try_clauses)


@record
class CatchClause:
    """A try_table's catch clause, resolved against the frames enclosing the try_table."""

    tag: int | None  # tag index; None for catch_all
    with_ref: bool  # also (or only) pass the exception itself, the exnref
    target: Frame  # the construct whose label the clause branches to


@record
class Entry:
    """A compile-time operand: a Python expression; ``locals_read`` says
    which wasm locals it reads (None: it is a slot variable, always safe)."""

    expr: str
    locals_read: frozenset[int] | None = None


@record
class FunctionTranslator:
    module: Module
    func_index: int
    func_type: FuncType
    local_types: list[ValType]
    body: list[Instruction]
    types: list[DefinedType]
    func_types: list[FuncType]
    lines: list[str] = field(default_factory=list)
    stack: list[Entry] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    next_pc: int = 1
    dead: bool = False
    levels: list[Level] = field(default_factory=lambda: [Level("loop", 8, None, {0})])
    structured: set[int] = field(default_factory=set)
    structured_block_positions: set[int] = field(default_factory=set)
    position: int = 0
    loop_headers: set[int] = field(default_factory=set)
    has_memory: bool = False
    interruptible: bool = False  # compile checks of SANDBOX.stop (see runtime.sandbox)
    metered: bool = False  # compile fuel accounting (see runtime.sandbox)
    observed: bool = False  # compile ENTER/LEAVE calls to an observer (see runtime.observer)
    observe_instructions: bool = False  # and an OBSERVE call before every instruction
    # (body line, instruction position) at each instruction's first line: maps a
    # line of generated code back to the wasm instruction it came from.
    line_starts: list[tuple[int, int]] = field(default_factory=list)
    head_lines: int = 0
    pending_fuel: int = 0  # instructions emitted since fuel was last charged
    # Exception handling: try_table ids count from 1 (0: outside every try_table). A call or
    # throw inside one first sets ``et`` to the innermost id, so a level's ``except`` knows
    # which clauses apply; each id's parent is the try_table around it.
    has_try: bool = False
    try_parents: dict[int, int] = field(default_factory=dict)
    try_clauses: dict[int, list[CatchClause]] = field(default_factory=dict)
    current_try: int = 0
    max_loop_nesting: int = MAX_LOOP_NESTING
    # A function that makes calls counts its frame into the store's call accounting
    # (``CALLS``, see runtime.sandbox): ``caller_depth`` is what it found there, restored when it
    # returns, ``frame_depth`` what it counts while active, restored when it catches.  Leaves
    # cannot recurse and skip it.
    accounts_calls: bool = False
    # A function making tail calls is defined as its body, then replaced in the namespace by its
    # entry (``TAIL_ENTRY``, see runtime.tail_calls); a body's frame is ``f<index>`` for backtraces.
    makes_tail_calls: bool = False
    memories_64: tuple[bool, ...] = field(init=False)  # which memories have i64 addresses (memory64)

    def __post_init__(self) -> None:
        self.memories_64 = tuple(t.is_64 for t in self.module.memory_types())

    # --- emission -----------------------------------------------------------
    def emit(self, line: str) -> None:
        self.lines.append(" " * self.levels[-1].body_indent + line)

    def new_pc(self) -> int:
        pc = self.next_pc
        self.next_pc += 1
        return pc

    def start_segment(self, pc: int) -> None:
        """Begin basic block ``pc`` (a branch target)."""
        if not self.dead:
            self.charge_fuel()
        self.pending_fuel = 0
        level = self.levels[-1]
        level.segments.add(pc)
        self.lines.append(" " * level.header_indent + f"if pc == {pc}:")
        self.dead = False

    # --- operand stack --------------------------------------------------------
    def push_expr(self, expr: str, locals_read: frozenset[int] | None) -> None:
        """Push an expression; it is deferred when it only reads locals and
        constants and stays small, otherwise assigned to its slot now."""
        if locals_read is not None and len(expr) < 160:
            self.stack.append(Entry(expr, locals_read))
            return
        slot = f"s{len(self.stack)}"
        self.emit(f"{slot} = {expr}")
        self.stack.append(Entry(slot))

    def push_slot_value(self, expr: str) -> None:
        slot = f"s{len(self.stack)}"
        self.emit(f"{slot} = {expr}")
        self.stack.append(Entry(slot))

    def pop(self) -> Entry:
        return self.stack.pop()

    def pop_n(self, n: int) -> list[Entry]:
        if n == 0:
            return []
        taken = self.stack[-n:]
        del self.stack[-n:]
        return taken

    def materialize_all(self) -> None:
        for i, entry in enumerate(self.stack):
            if entry.locals_read is not None:
                self.emit(f"s{i} = {entry.expr}")
                self.stack[i] = Entry(f"s{i}")

    def materialize_reading(self, local: int) -> None:
        for i, entry in enumerate(self.stack):
            if entry.locals_read is not None and local in entry.locals_read:
                self.emit(f"s{i} = {entry.expr}")
                self.stack[i] = Entry(f"s{i}")

    def combine(self, template: str, operands: list[Entry]) -> tuple[str, frozenset[int] | None]:
        expr = template.format(*(e.expr for e in operands))
        reads: frozenset[int] = frozenset()
        for e in operands:
            if e.locals_read is None:
                return expr, None
            reads |= e.locals_read
        return expr, reads

    def move_to(self, base: int, values: list[Entry]) -> None:
        """Assign ``values`` to slots ``base, base+1, ...`` (all at once)."""
        targets = [f"s{base + i}" for i in range(len(values))]
        sources = [e.expr for e in values]
        if targets != sources:
            self.emit(f"{', '.join(targets)} = {', '.join(sources)}")

    # --- branches -------------------------------------------------------------
    def branch(self, depth: int) -> None:
        """Emit an unconditional branch to label ``depth`` (values on top)."""
        self.charge_fuel()
        frame = self.frames[-1 - depth]
        if frame.kind == "func":
            self.emit_return()
            return
        arity = frame.params if frame.kind == "loop" else frame.results
        values = self.stack[len(self.stack) - arity :] if arity else []
        self.move_to(frame.base, values)
        self.emit(f"pc = {frame.target}")
        assert frame.level is not None
        here = self.levels[-1].loop
        home = frame.level.loop
        if home is not here:
            here.exits[frame.target] = home
            self.emit("break")
        elif frame.kind == "loop":
            self.emit("continue")
        else:
            # Forward within this loop: the structured-if pre-pass guarantees
            # the target is in this very chain, later on.
            assert frame.level is self.levels[-1], "forward branch out of a structured if"

    def charge_fuel(self) -> None:
        """Charge the instructions counted since the last charge.  Called
        wherever a path may leave the code emitted so far, so totals are
        exact while the check runs once per basic block."""
        if self.metered and self.pending_fuel:
            self.emit(f"SANDBOX.fuel -= {self.pending_fuel}")
            self.emit('if SANDBOX.fuel < 0: raise Trap("out of fuel")')
        self.pending_fuel = 0

    def emit_stop_check(self) -> None:
        self.emit("if SANDBOX.stop: raise Trap(SANDBOX.stop)")

    def branch_falls_through(self, depth: int) -> bool:
        """Whether a branch to ``depth`` continues past the emitted code (a
        forward branch within this dispatch level) rather than leaving by
        return, continue or break."""
        frame = self.frames[-1 - depth]
        return frame.kind != "func" and frame.kind != "loop" and frame.level is self.levels[-1]

    def emit_return(self) -> None:
        self.charge_fuel()
        count = len(self.func_type.results)
        values = self.stack[len(self.stack) - count :] if count else []
        if count == 0:
            result = "None"
        elif count == 1:
            result = values[0].expr
        else:
            result = f"({', '.join(e.expr for e in values)})"
        if self.observed:
            result = f"LEAVE({self.func_index}, {result})"
        if self.accounts_calls:
            self.emit("CALLS[0] = caller_depth")
        self.emit(f"return {result}")

    # --- translation ----------------------------------------------------------
    def block_arity(self, block_type: object) -> tuple[int, int]:
        params, results = block_signature(block_type, self.types)
        return len(params), len(results)

    def translate(self) -> str:
        params = [f"l{i}" for i in range(len(self.func_type.params))]
        self.frames.append(Frame("func", 0, 0, len(self.func_type.results), 0))
        body_lines_start = len(self.lines)
        skip_depth = 0
        self.has_try = any(instr.op is ins.OP_TRY_TABLE for instr in self.body)
        self.makes_tail_calls = ins.makes_tail_calls(self.body)
        # Observed code makes its tail calls as calls (see tail_call): they nest, and count.
        calls = ins.CALL_OPS | ins.TAIL_CALL_OPS if self.observed else ins.CALL_OPS
        self.accounts_calls = any(instr.op in calls for instr in self.body)
        if self.has_try:
            self.max_loop_nesting = MAX_LOOP_NESTING_WITH_TRY
        self.structured, self.structured_block_positions = structured_constructs(self.body, self.max_loop_nesting)
        for position, instr in enumerate(self.body[:-1]):
            self.position = position
            if self.dead:
                # Skip unreachable code up to the end/else of the current block.
                name = instr.op.name
                if instr.op in ins.BLOCK_OPENERS:
                    skip_depth += 1
                    continue
                if name == "end":
                    if skip_depth:
                        skip_depth -= 1
                        continue
                elif name == "else":
                    if skip_depth:
                        continue
                else:
                    continue
            if instr.op is not ins.OP_END and instr.op is not ins.OP_ELSE:
                self.pending_fuel += 1
            self.line_starts.append((len(self.lines) - body_lines_start, position))
            # A block's end or else is reached by branches too, where its code
            # is emitted: only the function's final end is observed.
            if self.observe_instructions and instr.op is not ins.OP_END and instr.op is not ins.OP_ELSE:
                self.observe(position)
            self.instruction(instr)
        if not self.dead:
            self.line_starts.append((len(self.lines) - body_lines_start, len(self.body) - 1))
            if self.observe_instructions:
                self.observe(len(self.body) - 1)
            self.emit_return()
        body = self.lines[body_lines_start:]
        head = [f"def f{self.func_index}({', '.join(params)}):"]
        if self.interruptible:
            head.append("    if SANDBOX.stop: raise Trap(SANDBOX.stop)")
        if self.accounts_calls:
            head.append("    caller_depth = CALLS[0]")
            head.append(f"    frame_depth = caller_depth + {self.frame_units(body)}")
            head.append("    if frame_depth > CALLS[1]: raise SANDBOX.exhausted()")
            head.append("    CALLS[0] = frame_depth")
        if self.has_memory:
            head.append("    mv = M0.view")
        for i, t in enumerate(self.local_types[len(params) :], start=len(params)):
            head.append(f"    l{i} = {ZERO.get(t, 'None')}")
        if self.has_try:
            head.append("    et = 0")
        if self.observed:
            head.append(f"    ENTER({self.func_index}, {_tuple(params)})")
        tail = ""
        if self.makes_tail_calls and not self.observed:
            tail = f"f{self.func_index} = TAIL_ENTRY(f{self.func_index}, {len(params)})\n"
        if self.levels[0].segments != {0}:
            head.append("    pc = 0")
            head.append("    while True:")
            top = self.levels[0]
            top.placeholder = 0
            self.lines = [
                "        pass",
                "        if pc == 0:",
                *body,
                '        raise AssertionError("no basic block for pc")',
            ]
            self.line_starts = [(line + 2, position) for line, position in self.line_starts]
            self.group_dispatch(top, 1, len(self.lines) - 1)
            self.wrap_in_handler(top, 8)
            self.indent_regions()
            self.head_lines = len(head)
            return "\n".join(head + self.lines) + "\n" + tail
        self.lines = body
        self.indent_regions()
        body = self.lines
        self.head_lines = len(head)
        return "\n".join(head + [line[8:] for line in body]) + "\n" + tail

    def frame_units(self, body: list[str]) -> int:
        """What this function's frame costs in the store's call accounting: by its locals and the
        operand stack slots its code uses (``s0``, ``s1``, ...)."""
        slots = max((int(n) + 1 for line in body for n in _SLOT_NAME.findall(line)), default=0)
        return frame_units(len(self.local_types) + slots)

    def observe(self, position: int) -> None:
        """Call the observer with this frame's operand stack and locals, as they are now."""
        self.materialize_all()
        stack = _tuple([e.expr for e in self.stack])
        locals_ = _tuple([f"l{i}" for i in range(len(self.local_types))])
        self.emit(f"OBSERVE({self.func_index}, {position}, {stack}, {locals_})")

    def instruction(self, instr: Instruction) -> None:  # noqa: C901 - one branch per instruction family
        op = instr.op
        name = op.name
        imm = instr.imm
        if name == "local.get":
            index = imm[0]
            self.stack.append(Entry(f"l{index}", frozenset((index,))))
        elif name == "local.set" or name == "local.tee":
            index = imm[0]
            value = self.pop()
            self.materialize_reading(index)
            self.emit(f"l{index} = {value.expr}")
            if name == "local.tee":
                self.stack.append(Entry(f"l{index}", frozenset((index,))))
        elif name in ("i32.const", "i64.const"):
            mask = 0xFFFFFFFF if name == "i32.const" else 0xFFFFFFFFFFFFFFFF
            self.stack.append(Entry(str(imm[0] & mask), frozenset()))
        elif name == "f32.const":
            self.stack.append(Entry(self.float_constant(numeric.f32_from_bits(imm[0])), frozenset()))
        elif name == "f64.const":
            self.stack.append(Entry(self.float_constant(numeric.f64_from_bits(imm[0])), frozenset()))
        elif name in PURE:
            count = len(op.params) if op.params is not None else 1  # ref.is_null: one reference
            operands = self.pop_n(count)
            expr, reads = self.combine(PURE[name], operands)
            self.push_expr(expr, reads)
        elif name in TRAPPING:
            operands = self.pop_n(len(op.params or ()))
            self.push_slot_value(TRAPPING[name].format(*(e.expr for e in operands)))
        elif op.feature == ins.THREADS:
            self.atomic(name, op, imm)
        elif name in numeric.WIDE_ARITHMETIC:  # two results: the low and high halves
            operands = self.pop_n(len(op.params or ()))
            base = len(self.stack)
            function = name.replace(".", "_")
            self.emit(f"s{base}, s{base + 1} = {function}({', '.join(e.expr for e in operands)})")
            self.stack += [Entry(f"s{base}"), Entry(f"s{base + 1}")]
        elif name in LOADS:
            fmt, post = LOADS[name]
            address = self.pop()
            raw = f"{STRUCT_NAMES[fmt]}_unpack({self.view(imm[2])}, {self.address(address, imm[1], imm[2])})[0]"
            self.push_slot_value(post.format(raw))
        elif name in STORES:
            fmt, convert = STORES[name]
            value = self.pop()
            address = self.pop()
            stored = convert.format(value.expr)
            if value.expr.isdigit():
                stored = str(eval(stored, {}))  # noqa: S307 - a mask of an integer literal
            target = self.address(address, imm[1], imm[2])
            self.emit(f"{STRUCT_NAMES[fmt]}_pack({self.view(imm[2])}, {target}, {stored})")
        elif name == "nop":
            pass
        elif name == "unreachable":
            self.charge_fuel()
            self.emit('raise Trap("unreachable")')
            self.dead = True
        elif name == "drop":
            self.pop()
        elif name == "select" or name == "select_t":
            first, second, condition = self.pop_n(3)
            expr, reads = self.combine("({0} if {2} else {1})", [first, second, condition])
            self.push_expr(expr, reads)
        elif name == "global.get":
            self.push_slot_value(f"G{imm[0]}.value")
        elif name == "global.set":
            value = self.pop()
            self.emit(f"G{imm[0]}.value = {value.expr}")
        elif name == "memory.size":
            self.push_slot_value(f"M{imm[0]}.pages")
        elif name == "memory.grow":
            delta = self.pop()
            self.push_slot_value(f"M{imm[0]}.grow({delta.expr})")
            if imm[0] == 0:
                self.emit("mv = M0.view")
        elif name == "call":
            callee = self.func_types[imm[0]]
            args = self.pop_n(len(callee.params))
            self.call(f"f{imm[0]}", callee, args)
        elif name == "call_indirect":
            callee = self.types[imm[0]]
            index = self.pop()
            args = self.pop_n(len(callee.params))
            target = f"call_indirect(T{imm[1]}, {index.expr}, TYPE{imm[0]})"
            self.call(target, callee, args)
        elif name == "return_call":
            callee = self.func_types[imm[0]]
            self.tail_call(f"f{imm[0]}", callee, self.pop_n(len(callee.params)))
        elif name == "return_call_indirect":
            callee = self.types[imm[0]]
            index = self.pop()
            args = self.pop_n(len(callee.params))
            self.tail_call(f"call_indirect(T{imm[1]}, {index.expr}, TYPE{imm[0]})", callee, args)
        elif name == "call_ref" or name == "return_call_ref":
            callee = self.types[imm[0]]
            reference = self.pop()
            args = self.pop_n(len(callee.params))
            if name == "call_ref":
                self.call(f"call_ref({reference.expr})", callee, args)
            else:
                self.tail_call(f"call_ref({reference.expr})", callee, args)
        elif name == "ref.as_non_null":
            self.push_slot_value(f"ref_as_non_null({self.pop().expr})")
        elif name == "br_on_null" or name == "br_on_non_null":
            # The reference in a slot, then a conditional branch: on null without it (br_on_null),
            # on non-null with it (br_on_non_null); what falls through keeps it or drops it.
            self.push_slot_value(self.pop().expr)
            reference = self.pop()
            if name == "br_on_null":
                self.conditional_branch(f"{reference.expr} is None", imm[0])
                self.stack.append(reference)
            else:
                self.stack.append(reference)
                self.conditional_branch(f"{reference.expr} is not None", imm[0])
                self.pop()
        elif name == "return":
            self.emit_return()
            self.dead = True
        elif name in ("block", "loop", "if"):
            self.open_block(name, imm[0])
        elif name == "else":
            self.else_arm()
        elif name == "end":
            self.close_block()
        elif name == "br":
            self.materialize_all()
            target = self.frames[-1 - imm[0]]
            if target.kind == "block" and target.structured:
                # Falls out of the block's arms to the code after it.
                self.charge_fuel()
                self.move_to(target.base, self.stack[len(self.stack) - target.results :] if target.results else [])
                target.reached = True
            else:
                self.branch(imm[0])
            self.dead = True
        elif name == "br_if" and self.frames[-1 - imm[0]].kind == "block" and self.frames[-1 - imm[0]].structured:
            # br_if to a structured block: the rest of the block becomes the
            # branch-not-taken arm; the taken path moves the block's results.
            condition = self.pop()
            self.materialize_all()
            self.charge_fuel()
            target = self.frames[-1 - imm[0]]
            values = self.stack[len(self.stack) - target.results :] if target.results else []
            targets = [f"s{target.base + i}" for i in range(len(values))]
            if [e.expr for e in values] != targets:
                self.emit(f"if {condition.expr}:")
                saved = len(self.lines)
                self.move_to(target.base, values)
                for i in range(saved, len(self.lines)):
                    self.lines[i] = "    " + self.lines[i]
                self.emit("else:")
            else:
                self.emit(f"if not {condition.expr}:")
            target.arms += 1
            self.open_arm()
        elif name == "br_if":
            self.conditional_branch(self.pop().expr, imm[0])
        elif name == "br_table":
            labels, default = imm
            index = self.pop()
            self.materialize_all()
            self.charge_fuel()
            distinct = sorted(set(labels) | {default})
            if len(distinct) == 1:
                self.branch(default)
            else:
                # Map the index to a label depth with one tuple lookup, then
                # branch over the distinct depths (tables repeat targets a lot).
                table = ", ".join(str(depth) for depth in labels)
                self.emit(f"i = {index.expr}")
                self.emit(f"d = ({table},)[i] if i < {len(labels)} else {default}")
                for position, depth in enumerate(distinct):
                    keyword = "if" if position == 0 else "elif"
                    self.emit(f"{keyword} d == {depth}:" if position < len(distinct) - 1 else "else:")
                    saved = len(self.lines)
                    self.branch(depth)
                    for i in range(saved, len(self.lines)):
                        self.lines[i] = "    " + self.lines[i]
            self.dead = True
        elif op.feature in ("simd", "relaxed-simd"):
            self.simd_instruction(name, op, imm)
        elif name == "try_table":
            self.try_table(imm[0], imm[1])
        elif name == "throw":
            payload = self.pop_n(len(self.module.tag_types()[imm[0]].params))
            self.charge_fuel()
            self.mark_raise_site()
            carried = _tuple([e.expr for e in payload]) if payload else "()"
            self.emit(f"raise WasmException(TAG{imm[0]}, {carried})")
            self.dead = True
        elif name == "throw_ref":
            exception = self.pop()
            self.charge_fuel()
            self.mark_raise_site()
            self.emit(f"throw_ref({exception.expr})")
            self.dead = True
        elif name == "ref.null":
            self.stack.append(Entry("None", frozenset()))
        elif name == "ref.func":
            self.stack.append(Entry(f"F{imm[0]}", frozenset()))
        elif name == "memory.copy" and imm[0] != imm[1]:
            operands = self.pop_n(3)
            self.emit(f"memory_copy_between(M{imm[0]}, M{imm[1]}, {', '.join(e.expr for e in operands)})")
        elif name in TABLE_AND_BULK:
            count = len(op.params) if op.params is not None else TABLE_ARITY[name]
            operands = self.pop_n(count)
            call = TABLE_AND_BULK[name].format(*(e.expr for e in operands), imm=imm)
            if name in ("table.get", "table.size", "table.grow"):
                self.push_slot_value(call)
            else:
                self.emit(call)
        elif op.feature == GC:
            translate_gc_instruction(self, name, imm)
        else:
            raise UnsupportedInstruction(f"the portable engine does not run {name} yet")

    def atomic(self, name: str, op: Any, imm: tuple[Any, ...]) -> None:
        """An atomic memory instruction (threads), run by ``runtime.atomics``: the store has one
        thread, so it is an ordinary access that must be aligned."""
        operands = self.pop_n(len(op.params))
        if name == "atomic.fence":
            return
        self.charge_fuel()
        self.mark_raise_site()
        # Not ``address``'s clamp: runtime.atomics adds Python ints (no overflow), and a clamped
        # address would lose its alignment, which is tested before its bounds.
        address = f"{operands[0].expr} + {imm[1]}" if imm[1] else operands[0].expr
        call = atomics.call_template(name, f"M{imm[2]}", address, [e.expr for e in operands[1:]])
        if op.results:
            self.push_slot_value(call)
        else:
            self.emit(call)

    def simd_instruction(self, name: str, op: Any, imm: tuple[Any, ...]) -> None:
        if name == "v128.const":
            self.stack.append(Entry(repr(imm[0]), frozenset()))
        elif name in simd.OPERATIONS:
            operands = self.pop_n(len(op.params))
            placeholders = ", ".join(f"{{{i}}}" for i in range(len(operands)))
            template = f"{simd_function_name(name)}({placeholders})"
            expr, reads = self.combine(template, operands)
            self.push_expr(expr, reads)
        elif name in simd.LANE_OPERATIONS:
            operands = self.pop_n(len(op.params))
            values = [e.expr for e in operands]
            args = [values[0], str(imm[0]), *values[1:]]
            reads_all = (
                None
                if any(e.locals_read is None for e in operands)
                else frozenset().union(*(e.locals_read or frozenset() for e in operands))
            )
            self.push_expr(f"{simd_function_name(name)}({', '.join(args)})", reads_all)
        elif name == "i8x16.shuffle":
            a, b = self.pop_n(2)
            self.push_slot_value(f"shuffle({a.expr}, {b.expr}, {imm[0]!r})")
        elif name in SIMD_LOADS:
            size, template = SIMD_LOADS[name]
            address = self.pop()
            raw = f"load_bytes(M{imm[2]}, {address.expr} + {imm[1]}, {size})"
            self.push_slot_value(template.format(raw))
        elif name == "v128.store":
            value = self.pop()
            address = self.pop()
            self.emit(f"store_bytes(M{imm[2]}, {address.expr} + {imm[1]}, {value.expr})")
        elif name.startswith("v128.load") and name.endswith("_lane"):
            width = LANE_WIDTH[name[9:-5]]
            vector = self.pop()
            address = self.pop()
            lane = imm[3]
            raw = f"load_bytes(M{imm[2]}, {address.expr} + {imm[1]}, {width})"
            self.push_slot_value(f"{vector.expr}[:{lane * width}] + {raw} + {vector.expr}[{(lane + 1) * width}:]")
        elif name.startswith("v128.store") and name.endswith("_lane"):
            width = LANE_WIDTH[name[10:-5]]
            vector = self.pop()
            address = self.pop()
            lane = imm[3]
            piece = f"{vector.expr}[{lane * width}:{(lane + 1) * width}]"
            self.emit(f"store_bytes(M{imm[2]}, {address.expr} + {imm[1]}, {piece})")
        else:  # pragma: no cover - every SIMD opcode is covered above
            raise UnsupportedInstruction(f"the portable engine does not run {name} yet")

    @staticmethod
    def float_constant(value: float) -> str:
        if value != value or value in (float("inf"), float("-inf")):
            bits = numeric.f64_bits(value)
            return f"f64_from_bits({bits})"
        return repr(value)

    @staticmethod
    def view(memory: int) -> str:
        """The bytes of a memory as generated code reaches them: memory 0 through the local ``mv``
        (refreshed after anything that may grow it), any other through its instance each time."""
        return "mv" if memory == 0 else f"M{memory}.view"

    def address(self, address: Entry, offset: int, memory: int) -> str:
        """The effective address of a scalar load or store, as ``struct`` reads it.  An i64
        memory's address plus offset may pass 2^63, which ``struct`` refuses with OverflowError
        instead of its usual struct.error (the store's entry makes that error the trap): such an
        address is clamped to ``BEYOND_ANY_MEMORY``, out of bounds of every memory just the same."""
        effective = f"{address.expr} + {offset}" if offset else address.expr
        if self.memories_64[memory]:
            return f"min({effective}, {BEYOND_ANY_MEMORY})"
        return effective

    def conditional_branch(self, condition: str, depth: int) -> None:
        """Branch to label ``depth`` if ``condition`` holds (``br_if`` and the ``br_on_*``s, whose
        labels are never structured blocks: see ``_structured_blocks``)."""
        self.materialize_all()
        self.charge_fuel()
        self.emit(f"if {condition}:")
        saved = len(self.lines)
        self.branch(depth)
        for i in range(saved, len(self.lines)):
            self.lines[i] = "    " + self.lines[i]
        if self.branch_falls_through(depth):
            # A forward branch in this dispatch level only sets pc: the
            # rest of this block must then be skipped, so it starts anew.
            after = self.new_pc()
            self.emit("else:")
            self.emit(f"    pc = {after}")
            self.start_segment(after)

    def call(self, target: str, callee: FuncType, args: list[Entry]) -> None:
        self.charge_fuel()
        self.mark_raise_site()
        call = f"{target}({', '.join(e.expr for e in args)})"
        results = len(callee.results)
        base = len(self.stack)
        if results == 0:
            self.emit(call)
        elif results == 1:
            self.emit(f"s{base} = {call}")
        else:
            self.emit(f"{', '.join(f's{base + i}' for i in range(results))} = {call}")
        if self.has_memory:
            self.emit("mv = M0.view")  # the callee may have grown the memory
        for i in range(results):
            self.stack.append(Entry(f"s{base + i}"))

    def tail_call(self, target: str, callee: FuncType, args: list[Entry]) -> None:
        """``return_call``/``return_call_indirect``: return a ``TailCall`` for the entry's trampoline
        (``runtime.tail_calls``) to make, after this frame is gone: its share of the call accounting
        is given back first.  ``target`` is evaluated here, so an indirect call's traps are this
        frame's.  Observed code (trace, debug, profile) calls and returns instead, so observers see
        frames open and close as they always do (its stack then grows with each tail call)."""
        if self.observed:
            self.call(target, callee, args)
            self.emit_return()
        else:
            self.charge_fuel()
            call = f"TailCall({target}, {_tuple([e.expr for e in args]) if args else '()'})"
            if self.accounts_calls:
                self.emit(f"tail_call = {call}")
                self.emit("CALLS[0] = caller_depth")
                call = "tail_call"
            self.emit(f"return {call}")
        self.dead = True

    def open_block(self, kind: str, block_type: object) -> None:
        params, results = self.block_arity(block_type)
        condition = self.pop() if kind == "if" else None
        self.materialize_all()
        base = len(self.stack) - params
        if kind == "loop":
            self.charge_fuel()
            header = self.new_pc()
            self.loop_headers.add(header)
            self.emit(f"pc = {header}")
            loop_levels = sum(1 for level in self.levels if level.kind == "loop")
            own_level = loop_levels <= self.max_loop_nesting
            if own_level:
                self.emit("while True:")
                indent = self.levels[-1].body_indent + 4
                placeholder = -1
                if self.has_try:
                    placeholder = len(self.lines)
                    self.lines.append(" " * indent + "pass")
                self.levels.append(
                    Level("loop", indent, self.levels[-1], first_line=len(self.lines), placeholder=placeholder)
                )
            self.start_segment(header)
            if self.interruptible:
                self.emit_stop_check()
            self.frames.append(Frame("loop", base, params, results, header, self.levels[-1], own_level=own_level))
            return
        if kind == "if" and self.position in self.structured:
            assert condition is not None
            frame = Frame("if", base, params, results, -1, self.levels[-1], structured=True)
            self.frames.append(frame)
            self.charge_fuel()
            self.emit(f"if {condition.expr}:")
            self.open_arm()
            return
        if kind == "block" and self.position in self.structured_block_positions:
            self.frames.append(Frame("block", base, params, results, -1, self.levels[-1], structured=True))
            return
        end = self.new_pc()
        frame = Frame(kind, base, params, results, end, self.levels[-1])
        self.frames.append(frame)
        if kind == "if":
            then_pc = self.new_pc()
            frame.else_pc = self.new_pc()
            assert condition is not None
            self.charge_fuel()
            self.emit(f"pc = {then_pc} if {condition.expr} else {frame.else_pc}")
            self.start_segment(then_pc)

    def open_arm(self) -> None:
        """Start an arm of a structured if: a level of its own, whose first
        block needs no test (``if True:`` costs nothing: CPython drops it)."""
        parent = self.levels[-1]
        arm = Level("arm", parent.body_indent + 4, parent)
        self.levels.append(arm)
        self.lines.append(" " * arm.header_indent + "if True:")

    def close_arm(self, frame: Frame, moved: bool = False) -> None:
        if not self.dead and not moved:
            self.charge_fuel()
            self.materialize_all()
            self.move_to(frame.base, self.stack[len(self.stack) - frame.results :] if frame.results else [])
        last = self.lines[-1]
        if last.endswith(":"):  # an arm, or a block in it, with no code
            self.lines.append(" " * (len(last) - len(last.lstrip()) + 4) + "pass")
        self.levels.pop()

    def else_arm(self) -> None:
        frame = self.frames[-1]
        if frame.structured:
            self.close_arm(frame)
            frame.then_dead = self.dead
            frame.has_else = True
            del self.stack[frame.base :]
            for i in range(frame.params):
                self.stack.append(Entry(f"s{frame.base + i}"))
            self.emit("else:")
            self.open_arm()
            self.dead = False
            return
        if not self.dead:
            self.materialize_all()
            self.move_to(frame.base, self.stack[len(self.stack) - frame.results :] if frame.results else [])
            self.emit(f"pc = {frame.target}")
        del self.stack[frame.base :]
        for i in range(frame.params):
            self.stack.append(Entry(f"s{frame.base + i}"))
        frame.has_else = True
        assert frame.else_pc is not None
        self.start_segment(frame.else_pc)

    # --- exception handling ------------------------------------------------------
    def mark_raise_site(self) -> None:
        """A call or throw: say which try_table it is in, for the handler of its level."""
        if self.has_try:
            self.emit(f"et = {self.current_try}")
            if self.current_try:
                self.levels[-1].loop.try_sites.add(self.current_try)

    def try_table(self, block_type: object, catches: tuple[tuple[int, int | None, int], ...]) -> None:
        """A block whose exceptions go to its catch clauses.

        Clause labels count from the try_table's enclosing constructs, so they
        are resolved before its own frame is pushed.
        """
        clauses = []
        for kind, tag, label in catches:
            tagged = kind in (Catch.CATCH, Catch.CATCH_REF)
            with_ref = kind in (Catch.CATCH_REF, Catch.CATCH_ALL_REF)
            clauses.append(CatchClause(tag if tagged else None, with_ref, self.frames[-1 - label]))
        try_id = len(self.try_parents) + 1
        self.try_parents[try_id] = self.current_try
        self.try_clauses[try_id] = clauses
        self.open_block("block", block_type)
        self.frames[-1].try_id = try_id
        self.current_try = try_id

    def wrap_in_handler(self, level: Level, indent: int) -> None:
        """Put a loop level's chain in a ``try`` whose ``except`` runs the catch clauses that apply
        to its raise sites: those of the innermost try_table of each site, then of the try_tables
        around it, in order.  A clause moves the payload (and/or the exception, as exnref) into
        its label's slots and branches; no match re-raises.

        The chain is not indented here (levels nest, so that would cost the square of the
        function's length): its placeholder line becomes ``try:`` marked with ``INDENT``, the
        chain's end gets a ``DEDENT`` line, and ``indent_regions`` applies both at the end.
        """
        ids: set[int] = set()
        for try_id in level.try_sites:
            while try_id:
                ids.add(try_id)
                try_id = self.try_parents[try_id]
        if not ids:
            return
        pad = " " * indent
        self.lines[level.placeholder] = pad + "try:" + INDENT
        self.lines.append(DEDENT)
        self.lines.append(pad + "except WasmException as exc:")
        inner = pad + "    "
        if self.accounts_calls:
            self.lines.append(f"{inner}CALLS[0] = frame_depth")
        if self.has_memory:
            self.lines.append(inner + "mv = M0.view")  # a callee may have grown the memory
        for n, try_id in enumerate(sorted(ids)):
            self.lines.append(f"{inner}{'if' if n == 0 else 'elif'} et == {try_id}:")
            before = len(self.lines)
            self.emit_catch_clauses(level, try_id, inner + "    ")
            if len(self.lines) == before:  # a try_table without catch clauses (nor any around it): re-raise
                self.lines.append(inner + "    pass")
        self.lines.append(inner + "raise")

    def group_dispatch(self, level: Level, start: int, end: int) -> None:
        """Nest a long chain of blocks (``lines[start:end]``, each headed ``if pc == k:``) in groups
        headed ``if pc in {...}:``, so reaching a block far along tests a few groups, not every
        block before it.  Execution still runs forward through the chain: a block that falls
        into the next one finds it next, in its group or the one after."""
        pad = " " * level.header_indent
        header = pad + "if pc == "
        heads = [i for i in range(start, end) if self.lines[i].startswith(header)]
        if len(heads) <= 2 * DISPATCH_GROUP or heads[0] != start:
            return
        # Items: (the pcs they dispatch, their lines as indices into self.lines or new headers).
        items: list[tuple[list[int], list[int | str]]] = []
        for n, first in enumerate(heads):
            last = heads[n + 1] if n + 1 < len(heads) else end
            pc = int(self.lines[first][len(header) : -1])
            items.append(([pc], list(range(first, last))))
        while len(items) > DISPATCH_GROUP:
            grouped = []
            for n in range(0, len(items), DISPATCH_GROUP):
                members = items[n : n + DISPATCH_GROUP]
                pcs = sorted(pc for member in members for pc in member[0])
                lines: list[int | str] = [f"{pad}if pc in {{{', '.join(map(str, pcs))}}}:{INDENT}"]
                for member in members:
                    lines.extend(member[1])
                lines.append(DEDENT)
                grouped.append((pcs, lines))
            items = grouped
        new_lines: list[str] = []
        moved: dict[int, int] = {}
        for _, lines in items:
            for line in lines:
                if isinstance(line, int):
                    moved[line] = start + len(new_lines)
                    new_lines.append(self.lines[line])
                else:
                    new_lines.append(line)
        self.lines[start:end] = new_lines
        shift = len(new_lines) - (end - start)
        at = bisect.bisect_left(self.line_starts, (start, -1))
        self.line_starts[at:] = [
            (moved[line] if line < end else line + shift, position) for line, position in self.line_starts[at:]
        ]

    def indent_regions(self) -> None:
        """Indent each ``try``'s region (INDENT to DEDENT) by four more spaces, drop the markers,
        and move the line map with the lines."""
        lines: list[str] = []
        moved: list[int] = []
        extra = ""
        for line in self.lines:
            moved.append(len(lines))
            if line == DEDENT:
                extra = extra[4:]
                continue
            if line.endswith(INDENT):
                lines.append(extra + line[: -len(INDENT)])
                extra += "    "
                continue
            lines.append(extra + line)
        moved.append(len(lines))  # (a position whose code starts after the last line: dead code at the end)
        if len(lines) != len(self.lines):
            self.line_starts = [(moved[line], position) for line, position in self.line_starts]
        self.lines = lines

    def emit_catch_clauses(self, level: Level, try_id: int, pad: str) -> None:
        tag_types = self.module.tag_types()
        while try_id:
            for clause in self.try_clauses[try_id]:
                body = pad
                if clause.tag is not None:
                    self.lines.append(f"{pad}if exc.tag is TAG{clause.tag}:")
                    body = pad + "    "
                if self.observed:
                    self.lines.append(f"{body}CAUGHT({self.func_index})")
                target = clause.target
                count = len(tag_types[clause.tag].params) if clause.tag is not None else 0
                slots = [f"s{target.base + i}" for i in range(count + clause.with_ref)]
                if count == 1:
                    self.lines.append(f"{body}{slots[0]} = exc.payload[0]")
                elif count > 1:
                    self.lines.append(f"{body}{', '.join(slots[:count])} = exc.payload")
                if clause.with_ref:
                    self.lines.append(f"{body}{slots[-1]} = exc")
                if target.kind == "func":
                    result = "None" if not slots else slots[0] if len(slots) == 1 else f"({', '.join(slots)})"
                    if self.observed:
                        result = f"LEAVE({self.func_index}, {result})"
                    if self.accounts_calls:
                        self.lines.append(f"{body}CALLS[0] = caller_depth")
                    self.lines.append(f"{body}return {result}")
                else:
                    assert target.level is not None
                    self.lines.append(f"{body}pc = {target.target}")
                    home = target.level.loop
                    if home is level:
                        self.lines.append(f"{body}continue")
                    else:
                        level.exits[target.target] = home
                        self.lines.append(f"{body}break")
                if clause.tag is None:
                    return  # catch_all: the clauses after it never run
            try_id = self.try_parents[try_id]

    def close_loop_level(self) -> None:
        """End a loop's own ``while``: fall out to a new block, re-dispatch
        branches that left the loop."""
        inner = self.levels[-1]
        exit_pc = None
        if not self.dead:
            self.charge_fuel()
            exit_pc = self.new_pc()
            self.emit(f"pc = {exit_pc}")
            self.emit("break")
        self.lines.append(" " * inner.header_indent + "break")
        self.group_dispatch(inner, inner.first_line, len(self.lines) - 1)
        self.levels.pop()
        if len(inner.segments) == 1:
            self.drop_dispatch(inner)
        self.wrap_in_handler(inner, inner.header_indent)
        here = self.levels[-1].loop
        # Exits to this loop's own chain: loop headers are re-entered with
        # continue; forward blocks are later in the chain we are in.
        backward = sorted(t for t, home in inner.exits.items() if home is here and t in self.loop_headers)
        outside = sorted(t for t, home in inner.exits.items() if home is not here)
        if backward:
            self.emit(
                f"if pc in {tuple(backward)!r}: continue" if len(backward) > 1 else f"if pc == {backward[0]}: continue"
            )
        if outside:
            here.exits.update({t: inner.exits[t] for t in outside})
            self.emit(f"if pc in {tuple(outside)!r}: break" if len(outside) > 1 else f"if pc == {outside[0]}: break")
        if exit_pc is not None:
            self.start_segment(exit_pc)
            self.dead = False
        else:
            self.dead = True

    def drop_dispatch(self, level: Level) -> None:
        """A loop whose chain is its header alone needs no ``pc`` tests: its
        body becomes the ``while`` body, and ``pc = header`` before a
        ``continue`` goes."""
        (header,) = level.segments
        start = level.first_line
        assert self.lines[start].strip() == f"if pc == {header}:"
        body = self.lines[start + 1 :]
        kept: list[str] = []
        moved = [start]  # each old line's new index, from ``start`` (a dropped line: the next one kept)
        for position, line in enumerate(body):
            moved.append(start + len(kept))
            following = body[position + 1].strip() if position + 1 < len(body) else ""
            if line.strip() == f"pc = {header}" and following == "continue":
                continue
            indent = len(line) - len(line.lstrip())
            kept.append(line[4:] if indent > level.header_indent else line)
        moved.append(start + len(kept))  # (the end)
        self.lines[start:] = kept
        at = bisect.bisect_left(self.line_starts, (start, -1))
        self.line_starts[at:] = [(moved[line - start], position) for line, position in self.line_starts[at:]]

    def close_block(self) -> None:
        frame = self.frames.pop()
        if frame.try_id:
            self.current_try = self.try_parents[frame.try_id]
        if frame.kind == "block" and frame.structured:
            if not self.dead:
                self.charge_fuel()
                self.materialize_all()
                self.move_to(frame.base, self.stack[len(self.stack) - frame.results :] if frame.results else [])
            for _ in range(frame.arms):
                self.close_arm(frame, moved=True)
            # Reached by fallthrough or by a taken branch (if there was one).
            self.dead = self.dead and frame.arms == 0 and not frame.reached
            del self.stack[frame.base :]
            for i in range(frame.results):
                self.stack.append(Entry(f"s{frame.base + i}"))
            return
        if frame.structured:
            self.close_arm(frame)
            # Without an else, the parameters pass through unchanged.
            self.dead = self.dead and frame.has_else and frame.then_dead
            del self.stack[frame.base :]
            for i in range(frame.results):
                self.stack.append(Entry(f"s{frame.base + i}"))
            return
        if frame.kind == "loop" and frame.own_level:
            if not self.dead:
                self.materialize_all()
                self.move_to(frame.base, self.stack[len(self.stack) - frame.results :] if frame.results else [])
            self.close_loop_level()
            del self.stack[frame.base :]
            for i in range(frame.results):
                self.stack.append(Entry(f"s{frame.base + i}"))
            return
        if not self.dead:
            self.materialize_all()
            self.move_to(frame.base, self.stack[len(self.stack) - frame.results :] if frame.results else [])
        if frame.kind == "if" and not frame.has_else:
            # The implicit else passes the parameters through unchanged.
            if not self.dead:
                self.emit(f"pc = {frame.target}")
            assert frame.else_pc is not None
            self.start_segment(frame.else_pc)
        if frame.kind != "loop":
            # A block's end is a branch target, so code after it is live.  A
            # loop's end is reached only by falling through: after a branch
            # inside the loop, what follows stays unreachable.
            if not self.dead:
                self.emit(f"pc = {frame.target}")
            self.start_segment(frame.target)
        del self.stack[frame.base :]
        for i in range(frame.results):
            self.stack.append(Entry(f"s{frame.base + i}"))


TABLE_ARITY = {"table.get": 1, "table.set": 2, "table.size": 0, "table.grow": 2, "table.fill": 3}
TABLE_AND_BULK = {
    "table.get": "table_get(T{imm[0]}, {0})",
    "table.set": "table_set(T{imm[0]}, {0}, {1})",
    "table.size": "len(T{imm[0]}.elements)",
    "table.grow": "T{imm[0]}.grow({1}, {0})",
    "table.fill": "table_fill(T{imm[0]}, {0}, {1}, {2})",
    "table.copy": "table_copy(T{imm[0]}, T{imm[1]}, {0}, {1}, {2})",
    "table.init": "table_init(T{imm[1]}, ELEMS, {imm[0]}, {0}, {1}, {2})",
    "elem.drop": "ELEMS.__setitem__({imm[0]}, ())",
    "memory.copy": "memory_copy(M{imm[0]}, {0}, {1}, {2})",
    "memory.fill": "memory_fill(M{imm[0]}, {0}, {1}, {2})",
    "memory.init": "memory_init(M{imm[1]}, DATAS, {imm[0]}, {0}, {1}, {2})",
    "data.drop": "DATAS.__setitem__({imm[0]}, b'')",
}


def _tuple(items: list[str]) -> str:
    """Python source for a tuple of these expressions."""
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def translator_for(
    module: Module,
    index: int,
    func_types: list[FuncType],
    interruptible: bool = False,
    metered: bool = False,
    observer: Observer | None = None,
) -> FunctionTranslator:
    func = module.funcs[index - module.num_imported_funcs()]
    func_type = module.function_type(func.type_index)
    translator = FunctionTranslator(
        module, index, func_type, list(func_type.params) + func.locals, func.body, module.types, func_types
    )
    translator.has_memory = bool(module.memory_types())
    translator.interruptible = interruptible
    translator.metered = metered
    translator.observed = observer is not None
    translator.observe_instructions = observer is not None and observer.wants_instructions
    return translator


def translation(
    module: Module, index: int, func_types: list[FuncType], interruptible: bool
) -> tuple[Any, int, list[tuple[int, int]]]:
    """One function translated and compiled on its own: (code object, lines before its body, line map).

    Its generated lines are numbered from 1 in a code object of its own, so the
    code can be made in another process or come from the disk (``tiers``).
    """
    translator = translator_for(module, index, func_types, interruptible)
    source = translator.translate()
    code = compile(source, f"<wasm function {index}>", "exec")
    return code, translator.head_lines, translator.line_starts


def install_translation(
    namespace: dict[str, Any], index: int, code: Any, head_lines: int, line_starts: list[tuple[int, int]]
) -> Callable[..., Any]:
    """Define a translated function in an instance's namespace (where the others may already be) and
    return it; its line map goes to ``__wasm_lines__`` as the whole-module translation's do."""
    namespace.setdefault("__wasm_lines__", {})[index] = (1 + head_lines, line_starts)
    exec(code, namespace)  # noqa: S102 - translated from a validated module
    return namespace[f"f{index}"]  # type: ignore[no-any-return]


# Modules with more functions than this start on the baseline interpreter (see InterpEngine.compile).
TIERED_FUNCTIONS = int(os.environ.get("WASMBOX_TIERED_FUNCTIONS", "400"))


class InterpEngine:
    """Compiles all functions of a module instance to Python functions."""

    name = "interp"

    def compile(
        self,
        module: Module,
        namespace: dict[str, object],
        interruptible: bool = False,
        metered: bool = False,
        observer: Observer | None = None,
    ) -> dict[int, Callable[..., Any]]:
        """Translate every defined function; ``namespace`` holds the instance's
        memories (``M0``), tables (``T{i}``), globals (``G{i}``), function
        instances (``F{i}``) and imported functions' code (``f{i}``).

        The namespace also receives ``__wasm_lines__``: for each function, the
        first line of its code in the generated source and the (line,
        instruction position) starts that map a traceback back to wasm.

        A module of more than ``TIERED_FUNCTIONS`` functions is translated function
        by function as each gets hot, starting on the baseline interpreter
        (``engines.tiers``), unless fuel or an observer asks for the whole.
        """
        from .tiers import TieredFunctions, unwieldy

        if (len(module.funcs) > TIERED_FUNCTIONS or unwieldy(module)) and not metered and observer is None:
            return TieredFunctions(module, namespace, interruptible).stand_ins()
        func_types = module.func_types()
        first = module.num_imported_funcs()
        sources = []
        line_maps: dict[int, tuple[int, list[tuple[int, int]]]] = {}
        next_line = 1
        for offset in range(len(module.funcs)):
            index = first + offset
            translator = translator_for(module, index, func_types, interruptible, metered, observer)
            source = translator.translate()
            body_first_line = next_line + translator.head_lines
            line_maps[index] = (body_first_line, translator.line_starts)
            next_line += source.count("\n")
            sources.append(source)
        for i, t in enumerate(closed_types(module.types)):
            namespace[f"TYPE{i}"] = t
            namespace[f"RTT{i}"] = closed_id(t)  # GC: the canonical id objects and casts carry
        namespace["__wasm_lines__"] = line_maps
        if observer is not None:
            namespace.update(
                ENTER=observer.enter, OBSERVE=observer.instruction, LEAVE=observer.leave, CAUGHT=observer.caught
            )
        code = compile("".join(sources), "<wasm module>", "exec")
        exec(code, namespace)  # noqa: S102 - the source is generated from a validated module
        return {first + offset: namespace[f"f{first + offset}"] for offset in range(len(module.funcs))}  # type: ignore[misc]
