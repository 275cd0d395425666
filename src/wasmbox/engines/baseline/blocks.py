"""Preparing a function for the baseline interpreter, one basic block at a time, as execution first reaches it.

A block is a straight run of operations (see ``operations``) and how it ends.
Blocks start at position 0 and after every instruction that may transfer
control: ``loop`` (its header is a branch target), ``if``/``else``, every
``end``, branches, calls (the executor makes them itself, so that one wasm
call is one Python frame), ``throw``.  A ``block`` or ``try_table`` opener
needs no split: only a block's last instruction can raise a wasm exception,
so the catch clauses that apply to a block are those open at its end.  A
``throw`` that a clause of the same function catches is a branch, made
without a Python exception.

Each block start is reached with a known control context: the constructs
around it (their stack bases and arities) and the stack height.  Preparing a
block records the context of every block it can lead to, so no pass over the
whole body is needed beyond matching openers with their ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ...errors import Trap, WasmException
from ...ir import instructions as ins
from ...ir.instructions import Catch
from ...ir.module import block_signature
from ...ir.types import DefinedType, FuncType
from ...records import record
from ...runtime.sandbox import frame_units
from .gc_operations import cast_test, gc_effect
from .operations import FIXED, LOAD_FROM_LOCAL, InstanceOperations, constant, constant_value, fused, local_operation

# How a block ends, for the executor.
JUMP = 0  # (ops, JUMP, terminator): terminator(s) returns the next block's start
# A call's last element says whether it counts as a call out (1), or is the function calling itself
# (0): the tiers keep a function that calls out a lot off machine code, which would cross back into
# Python at each call, but a recursive call from machine code stays in machine code.
CALL = 1  # (ops, CALL, namespace key, params, results, next, calls out)
CALL_INDIRECT = 2  # (ops, CALL_INDIRECT, (table, type), params, results, next, 1); (None, None): call_ref
RETURN = 3  # (ops, RETURN): the results are on top of the stack
GOTO = 4  # (ops, GOTO, next block's start): no test, no values to move
# (ops, TAIL_CALL, namespace key or (table, type), params): return_call(_indirect, _ref); the executor
# returns a runtime.tail_calls.TailCall for its entry to make the call once its frame is gone.
TAIL_CALL = 5

Terminator = Callable[[list[Any]], int]
Block = tuple[Any, ...]


class Construct(NamedTuple):
    """An open block, loop, if, try_table or the function itself, as a branch sees it."""

    kind: str  # "func", "block", "loop", "if", "try"
    opener: int  # position of its opening instruction (-1 for the function)
    base: int  # length of the value list below its parameters (locals included)
    params: int
    results: int
    end: int  # position of its end
    try_id: int = 0


class Controls(NamedTuple):
    """The constructs open at a point, innermost first, as a persistent linked list: entering a
    construct shares everything around it (a tuple per block start made 30,000 nested blocks cost
    the square of that in time and memory)."""

    construct: Construct  # the innermost
    outer: Controls | None
    innermost_try: int  # id of the innermost try_table among them (0: none)

    def inside(self, construct: Construct) -> Controls:
        return Controls(construct, self, construct.try_id if construct.kind == "try" else self.innermost_try)

    def at(self, depth: int) -> Controls:
        """The constructs from label ``depth`` outwards."""
        node = self
        for _ in range(depth):
            assert node.outer is not None
            node = node.outer
        return node

    def labels(self, deepest: int) -> list[Controls]:
        """``at(0)`` to ``at(deepest)`` in one walk (a br_table's targets)."""
        nodes = [self]
        for _ in range(deepest):
            outer = nodes[-1].outer
            assert outer is not None
            nodes.append(outer)
        return nodes

    def around(self) -> Controls:
        assert self.outer is not None
        return self.outer


@record
class CatchTarget:
    """A catch clause, resolved: which tag (None: any), whether the exnref goes too, where to."""

    tag: Any  # the TagInstance compared by identity, or None
    payload: int  # values the tag carries (0 for catch_all)
    with_ref: bool
    length: int  # the value list is cut to this length, then the values pushed
    target: int  # the block to continue at; -1: return from the function


# Stack effect (results - params) of instructions with a fixed signature or simple rule.
EFFECT: dict[ins.Opcode, int] = {
    op: len(op.results) - len(op.params) for op in ins.OPCODES if op.params is not None and op.results is not None
}
for _name, _effect in {
    "local.get": 1,
    "local.set": -1,
    "local.tee": 0,
    "global.get": 1,
    "global.set": -1,
    "drop": -1,
    "select": -2,
    "select_t": -2,
    "ref.null": 1,
    "ref.is_null": 0,
    "ref.func": 1,
    "ref.as_non_null": 0,
    "table.get": 0,
    "table.set": -2,
    "table.grow": -1,
    "table.size": 1,
    "table.fill": -3,
}.items():
    EFFECT[ins.BY_NAME[_name]] = _effect

_LOCALS = frozenset(ins.BY_NAME[n] for n in ("local.get", "local.set", "local.tee"))
_LOCAL_GET, _I32_CONST, _I64_CONST = ins.BY_NAME["local.get"], ins.BY_NAME["i32.const"], ins.BY_NAME["i64.const"]
_CONSTANTS = frozenset(ins.BY_NAME[n] for n in ("i32.const", "i64.const", "f32.const", "f64.const", "v128.const"))
_OP = ins.BY_NAME
_BR_ON_CAST = frozenset((_OP["br_on_cast"], _OP["br_on_cast_fail"]))


class BlockBuilder:
    """Prepares the blocks of one function of one instance."""

    def __init__(
        self,
        body: list[ins.Instruction],
        func_type: FuncType,
        local_count: int,
        ends: dict[int, int],
        elses: dict[int, int],
        types: list[DefinedType],
        func_types: list[FuncType],
        tag_types: list[FuncType],
        operations: InstanceOperations,
        stop_check: Callable[[list[Any]], None] | None,
        fuel: Callable[[int], Callable[[list[Any]], None]] | None = None,
        index: int = -1,
    ) -> None:
        """``fuel``: for a metered store, the operation that charges a block's instructions (all
        but ``end``/``else``), put first in every block; ``index``: the function's own (a call of
        it is recursion, not a call out)."""
        self.index = index
        self.body = body
        self.fuel = fuel
        self.ends = ends
        self.elses = elses
        self.types = types
        self.func_types = func_types
        self.tag_types = tag_types
        self.operations = operations
        self.namespace = operations.namespace
        self.stop_check = stop_check
        self.results = len(func_type.results)
        function = Construct("func", -1, local_count, 0, self.results, len(body) - 1)
        # Block start -> (the constructs open there, the value list's length there).
        self.contexts: dict[int, tuple[Controls, int]] = {0: (Controls(function, None, 0), local_count)}
        self.try_parents: dict[int, int] = {}
        self.try_catches: dict[int, list[CatchTarget]] = {}
        self.block_try: dict[int, int] = {}  # block start -> innermost try_table id
        self.loop_headers: set[int] = set()
        # What a frame costs in the store's call accounting: by the longest value list (locals and
        # operand stack) the blocks prepared so far can make, so it grows as blocks are reached.
        self.longest = local_count
        self.units = frame_units(local_count)
        # Block start -> (its operations, the instruction each came from, its last instruction).
        self.positions: dict[int, tuple[tuple[Any, ...], tuple[int, ...], int]] = {}
        self.own: dict[int, Block] = {}  # block start -> the block alone (``prepare`` may add the next)

    def block_signature(self, block_type: object) -> tuple[int, int]:
        params, results = block_signature(block_type, self.types)
        return len(params), len(results)

    def position_of(self, block: int, operation: Any, at_call: bool) -> int | None:
        """The instruction a frame was at: in ``block``, the ``operation`` that raised, or its last
        instruction (a call in progress, a branch)."""
        found = self.positions.get(block)
        if found is None:
            return None
        ops, positions, last = found
        if not at_call:
            for op, position in zip(ops, positions, strict=True):
                if op is operation:
                    return position
        return last

    def reach(self, start: int, controls: Controls, length: int) -> None:
        if start not in self.contexts:
            self.contexts[start] = (controls, length)

    def branch(self, label: Controls, length: int) -> Terminator:
        """The terminator of a branch to ``label`` (the constructs from the target outwards) taken
        with the value list at ``length``."""
        target = label.construct
        if target.kind == "func":
            return _returning
        if target.kind == "loop":
            start, arity = target.opener + 1, target.params
            self.reach(start, label, target.base + arity)
        else:
            start, arity = target.end + 1, target.results
            self.reach(start, label.around(), target.base + arity)
        return _jump(start, length, target.base, arity)

    def prepare(self, start: int) -> Block:
        """The block the executor runs from ``start``: its own, and when that ends in a plain ``GOTO``
        to a block that is not a loop header, that block's operations and ending too (one dispatch
        fewer; loop headers stay blocks of their own for their stop checks and machine-code entries)."""
        block = self.own_block(start)
        if block[1] != GOTO:
            return block
        target = block[2]
        if target < 0 or target == start or target in self.loop_headers:
            return block
        following = self.own_block(target)
        # A Python operation never raises a wasm exception, so the clauses that apply are the last block's.
        self.block_try[start] = self.block_try[target]
        if not block[0]:  # nothing of its own (an ``end``): the next block itself, shared
            self.positions[start] = self.positions[target]
            return following
        ops, positions, _ = self.positions[start]
        following_ops, following_positions, last = self.positions[target]
        self.positions[start] = (ops + following_ops, positions + following_positions, last)
        return (block[0] + following[0], *following[1:])

    def own_block(self, start: int) -> Block:
        found = self.own.get(start)
        if found is None:
            found = self.own[start] = self.make_block(start)
        return found

    def make_block(self, start: int) -> Block:
        """Make the block starting at ``start`` (its context must be known: execution got here)."""
        controls, length = self.contexts[start]
        innermost_try = controls.innermost_try
        self.block_try[start] = innermost_try
        body = self.body
        operations: list[Callable[[list[Any]], None]] = []
        op_positions: list[int] = []  # the instruction each operation came from (for backtraces)
        if start in self.loop_headers and self.stop_check is not None:
            operations.append(self.stop_check)
            op_positions.append(start)
        position = start
        last: tuple[str, Any] | None = None  # ("local", index) or ("const", value) just pushed
        while True:
            instr = body[position]
            op = instr.op
            effect = EFFECT.get(op)
            if effect is None and op.feature == ins.GC and op not in _BR_ON_CAST:
                effect = gc_effect(op.name, instr.imm, self.types)
            if effect is not None:
                # A local.get or integer constant just before is fused into what consumes it
                # (a binary operation's right operand, a load's address) where a fused form exists.
                pushed = last
                last = None
                if op in _LOCALS:
                    operations.append(local_operation(op.name, instr.imm[0]))
                    op_positions.append(position)
                    if op is _LOCAL_GET:
                        last = ("local", instr.imm[0])
                elif op in _CONSTANTS:
                    value = constant_value(op.name, instr.imm)
                    operations.append(constant(value))
                    op_positions.append(position)
                    if op is _I32_CONST or op is _I64_CONST:
                        last = ("const", value)
                elif op is not _NOP:
                    name = op.name
                    combined = None
                    if pushed is not None:
                        if name in LOAD_FROM_LOCAL:
                            if pushed[0] == "local":
                                combined = self.operations.load_from_local(name, instr.imm[1], instr.imm[2], pushed[1])
                        else:
                            combined = fused(name, *pushed)
                    if combined is not None:
                        operations[-1] = combined
                        op_positions[-1] = position
                    elif op.feature == ins.GC:
                        operations.append(self.operations.gc(name, instr.imm, self.types))
                        op_positions.append(position)
                    else:
                        fixed = FIXED.get(name)
                        operations.append(fixed if fixed is not None else self.operations.get(name, instr.imm))
                        op_positions.append(position)
                length += effect
                if length > self.longest:
                    self.longest = length
                    self.units = frame_units(length)
                position += 1
                continue
            last = None
            name = op.name
            following = position + 1
            if name == "block":
                params, results = self.block_signature(instr.imm[0])
                base = length - params
                controls = controls.inside(Construct("block", position, base, params, results, self.ends[position]))
                position = following
                continue
            if name == "try_table":
                # No split: only a block's last instruction can raise a wasm exception (operations
                # do not call), so the try_tables around it are the block's.
                controls = self.try_table(position, instr.imm, controls, length)
                self.block_try[start] = controls.innermost_try
                position = following
                continue
            ops = tuple(operations)
            if self.fuel is not None:
                ops = (self.fuel(position - start + (0 if op is _END or op is _ELSE else 1)), *ops)
                op_positions.insert(0, start)
            self.positions[start] = (ops, tuple(op_positions), position)
            if name == "loop":
                params, results = self.block_signature(instr.imm[0])
                loop = Construct("loop", position, length - params, params, results, self.ends[position])
                self.loop_headers.add(following)
                self.reach(following, controls.inside(loop), length)
                return (ops, GOTO, following)
            if name == "if":
                params, results = self.block_signature(instr.imm[0])
                length -= 1
                construct = Construct("if", position, length - params, params, results, self.ends[position])
                inside = controls.inside(construct)
                self.reach(following, inside, length)
                if position in self.elses:
                    other = self.elses[position] + 1
                    self.reach(other, inside, length)
                else:
                    other = construct.end + 1
                    self.reach(other, controls, construct.base + results)
                return (ops, JUMP, _if(following, other))
            if name == "else":
                construct = controls.construct
                after = construct.end + 1
                self.reach(after, controls.around(), construct.base + construct.results)
                return (ops, GOTO, after)
            if name == "end":
                construct = controls.construct
                if construct.kind == "func":
                    return (ops, RETURN)
                self.reach(following, controls.around(), construct.base + construct.results)
                return (ops, GOTO, following)
            if name == "br":
                terminator = self.branch(controls.at(instr.imm[0]), length)
                target = getattr(terminator, "start", None)
                return (ops, GOTO, target) if target is not None else (ops, JUMP, terminator)
            if name == "br_if":
                length -= 1
                taken = self.branch(controls.at(instr.imm[0]), length)
                self.reach(following, controls, length)
                return (ops, JUMP, _branch_if(taken, following))
            if name == "br_on_null":
                # Null: the branch without the reference; else on with it.
                taken = self.branch(controls.at(instr.imm[0]), length - 1)
                self.reach(following, controls, length)
                return (ops, JUMP, _branch_on_null(taken, following))
            if name == "br_on_non_null":
                # Non-null: the branch with the reference; else on without it.
                taken = self.branch(controls.at(instr.imm[0]), length)
                self.reach(following, controls, length - 1)
                return (ops, JUMP, _branch_on_non_null(taken, following))
            if name == "br_on_cast" or name == "br_on_cast_fail":
                # The reference stays on either way; the label takes it when the test says so.
                taken = self.branch(controls.at(instr.imm[0]), length)
                self.reach(following, controls, length)
                test = cast_test(instr.imm[2], self.namespace)
                return (ops, JUMP, _branch_on_cast(test, name == "br_on_cast", taken, following))
            if name == "br_table":
                length -= 1
                labels, default = instr.imm
                nodes = controls.labels(max((default, *labels)))
                by_depth = {depth: self.branch(nodes[depth], length) for depth in {*labels, default}}
                return (ops, JUMP, _branch_table([by_depth[d] for d in labels], by_depth[default]))
            if name == "return":
                return (ops, RETURN)
            if name == "unreachable":
                return (ops, JUMP, _unreachable)
            if name == "call":
                t = self.func_types[instr.imm[0]]
                self.reach(following, controls, length - len(t.params) + len(t.results))
                out = 0 if instr.imm[0] == self.index else 1
                return (ops, CALL, f"f{instr.imm[0]}", len(t.params), len(t.results), following, out)
            if name == "call_indirect":
                t = self.types[instr.imm[0]]
                self.reach(following, controls, length - 1 - len(t.params) + len(t.results))
                target = (self.namespace[f"T{instr.imm[1]}"], self.namespace[f"TYPE{instr.imm[0]}"])
                return (ops, CALL_INDIRECT, target, len(t.params), len(t.results), following, 1)
            if name == "call_ref":
                t = self.types[instr.imm[0]]
                self.reach(following, controls, length - 1 - len(t.params) + len(t.results))
                return (ops, CALL_INDIRECT, (None, None), len(t.params), len(t.results), following, 1)
            if name == "return_call_ref":
                return (ops, TAIL_CALL, (None, None), len(self.types[instr.imm[0]].params))
            if name == "return_call":
                return (ops, TAIL_CALL, f"f{instr.imm[0]}", len(self.func_types[instr.imm[0]].params))
            if name == "return_call_indirect":
                target = (self.namespace[f"T{instr.imm[1]}"], self.namespace[f"TYPE{instr.imm[0]}"])
                return (ops, TAIL_CALL, target, len(self.types[instr.imm[0]].params))
            if name == "throw":
                tag = self.namespace[f"TAG{instr.imm[0]}"]
                count = len(self.tag_types[instr.imm[0]].params)
                clause = self.clause_for(tag, controls.innermost_try)
                if clause is None:
                    return (ops, JUMP, _throw(tag, count))
                # Caught in this function: a branch to the clause's label, no Python exception.
                if clause.with_ref:
                    return (ops, JUMP, _throw_caught_with_ref(tag, count, clause))
                terminator = _jump(clause.target, length, clause.length, clause.payload)
                target = getattr(terminator, "start", None)
                return (ops, GOTO, target) if target is not None else (ops, JUMP, terminator)
            if name == "throw_ref":
                if controls.innermost_try:
                    return (ops, JUMP, _throw_ref_here(self, controls.innermost_try))
                return (ops, JUMP, _throw_ref)
            raise NotImplementedError(f"the baseline interpreter does not run {name}")

    def try_table(self, position: int, imm: tuple[Any, ...], controls: Controls, length: int) -> Controls:
        """Open a try_table (its clauses resolved against the constructs around it): the constructs
        open inside it."""
        block_type, clauses = imm
        params, results = self.block_signature(block_type)
        try_id = len(self.try_parents) + 1
        self.try_parents[try_id] = controls.innermost_try
        catches = []
        for kind, tag_index, label in clauses:
            tagged = kind in (Catch.CATCH, Catch.CATCH_REF)
            with_ref = kind in (Catch.CATCH_REF, Catch.CATCH_ALL_REF)
            payload = len(self.tag_types[tag_index].params) if tagged else 0
            tag = self.namespace[f"TAG{tag_index}"] if tagged else None
            node = controls.at(label)
            target = node.construct
            if target.kind == "func":
                catches.append(CatchTarget(tag, payload, with_ref, target.base, -1))
                continue
            if target.kind == "loop":
                start, inside = target.opener + 1, node
            else:
                start, inside = target.end + 1, node.around()
            self.reach(start, inside, target.base + payload + with_ref)
            catches.append(CatchTarget(tag, payload, with_ref, target.base, start))
        self.try_catches[try_id] = catches
        construct = Construct("try", position, length - params, params, results, self.ends[position], try_id)
        return controls.inside(construct)

    def clause_for(self, tag: Any, try_id: int) -> CatchTarget | None:
        """The clause that catches an exception of ``tag`` thrown inside try_table ``try_id``: the
        first matching clause of it, then of the try_tables around it (None: none in this function)."""
        while try_id:
            for clause in self.try_catches[try_id]:
                if clause.tag is None or tag is clause.tag:
                    return clause
            try_id = self.try_parents[try_id]
        return None

    def catch(self, exception: WasmException, block: int, s: list[Any]) -> int:
        """Where an exception raised in ``block`` continues (a call's, or a ``throw_ref``'s): the
        clause ``clause_for`` its tag finds; re-raised if none."""
        return self.catch_inside(exception, self.block_try.get(block, 0), s)

    def catch_inside(self, exception: WasmException, try_id: int, s: list[Any]) -> int:
        clause = self.clause_for(exception.tag, try_id)
        if clause is None:
            raise exception
        del s[clause.length :]
        if clause.payload:
            s.extend(exception.payload)
        if clause.with_ref:
            s.append(exception)
        return clause.target


_NOP, _END, _ELSE = _OP["nop"], ins.OP_END, ins.OP_ELSE


def _returning(s: list[Any]) -> int:
    return -1


class _Goto:
    """A branch that moves no values: the executor reads ``start`` (GOTO) instead of calling it."""

    __slots__ = ("start",)

    def __init__(self, start: int) -> None:
        self.start = start

    def __call__(self, s: list[Any]) -> int:
        return self.start


def _jump(start: int, length: int, base: int, arity: int) -> Terminator:
    """Branch to ``start`` keeping the top ``arity`` values on the stack at ``base``."""
    if length - arity == base:
        return _Goto(start)
    if arity == 0:

        def drop(s: list[Any]) -> int:
            del s[base:]
            return start

        return drop

    def move(s: list[Any]) -> int:
        s[base:] = s[-arity:]
        return start

    return move


def _if(then: int, other: int) -> Terminator:
    return lambda s: then if s.pop() else other


def _branch_if(taken: Terminator, following: int) -> Terminator:
    if isinstance(taken, _Goto):
        start = taken.start

        def branch_if_goto(s: list[Any]) -> int:
            return start if s.pop() else following

        return branch_if_goto

    def branch_if(s: list[Any]) -> int:
        if s.pop():
            return taken(s)
        return following

    return branch_if


def _branch_on_null(taken: Terminator, following: int) -> Terminator:
    def branch_on_null(s: list[Any]) -> int:
        if s[-1] is None:
            s.pop()
            return taken(s)
        return following

    return branch_on_null


def _branch_on_non_null(taken: Terminator, following: int) -> Terminator:
    def branch_on_non_null(s: list[Any]) -> int:
        if s[-1] is not None:
            return taken(s)
        s.pop()
        return following

    return branch_on_non_null


def _branch_on_cast(test: Callable[[object], bool], when: bool, taken: Terminator, following: int) -> Terminator:
    def branch_on_cast(s: list[Any]) -> int:
        return taken(s) if test(s[-1]) is when else following

    return branch_on_cast


def _branch_table(labels: list[Terminator], default: Terminator) -> Terminator:
    count = len(labels)

    def branch_table(s: list[Any]) -> int:
        index = s.pop()
        return (labels[index] if index < count else default)(s)

    return branch_table


def _unreachable(s: list[Any]) -> int:
    raise Trap("unreachable")


def _throw(tag: Any, count: int) -> Terminator:
    def throw(s: list[Any]) -> int:
        payload = tuple(s[len(s) - count :]) if count else ()
        raise WasmException(tag, payload)

    return throw


def _throw_caught_with_ref(tag: Any, count: int, clause: CatchTarget) -> Terminator:
    """A ``throw`` that a ``catch_ref``/``catch_all_ref`` of this function catches: the exnref is
    made, but nothing is raised."""
    length, payload, target = clause.length, clause.payload, clause.target

    def throw_caught(s: list[Any]) -> int:
        values = tuple(s[len(s) - count :]) if count else ()
        del s[length:]
        if payload:
            s.extend(values)
        s.append(WasmException(tag, values))
        return target

    return throw_caught


def _throw_ref_here(builder: BlockBuilder, try_id: int) -> Terminator:
    """A ``throw_ref`` inside try_table ``try_id``: a clause of this function that catches it is
    taken without raising."""
    catch_inside = builder.catch_inside

    def throw_ref(s: list[Any]) -> int:
        exception = s.pop()
        if exception is None:
            raise Trap("null exception reference")
        return catch_inside(exception, try_id, s)

    return throw_ref


def _throw_ref(s: list[Any]) -> int:
    exception = s.pop()
    if exception is None:
        raise Trap("null exception reference")
    raise exception
