"""Legacy exception handling lowered to Wasm 3.0's: the engines only ever run ``try_table`` and ``throw_ref``.

Design choice.  ``try``/``catch``/``catch_all``/``delegate``/``rethrow`` (the legacy appendix
of Wasm 3.0) are decoded, parsed, printed and validated as themselves, but no engine implements
them: before a module reaches an engine, this pass rewrites each body that uses them into the
instructions every engine already runs, so the interpreter, the baseline, the native code and
the tiering between them (which moves running frames by instruction position) need no second
exception model.

* ``try bt B (catch x H)* (catch_all H)? end`` becomes ``block bt`` around one block per
  handler (outermost the last), around ``try_table bt (catch x h)* (catch_all h)``: a caught
  exception leaves its handler's block with the payload, the handler runs there and branches out
  of the outer block.  Inside B a branch to the try's label reaches the try_table's end (then the
  outer block's); inside a handler, the outer block's.  A handler that some ``rethrow`` names
  catches with ``catch_ref``/``catch_all_ref`` and keeps the exception in a new ``exnref`` local;
  ``rethrow l`` becomes ``local.get`` of it and ``throw_ref``.
* ``try bt B delegate l``: an exception from B is thrown again as if from just inside label l,
  skipping every handler lexically between.  The part of the body under label l that holds the
  delegate (a block's body, an if's arm, a try's body or handler, the function's body) gets two
  blocks, ``block $x (block $d (result exnref) ... br $x) throw_ref``, and the delegating try
  becomes ``try_table bt (catch_all_ref $d)``: the exception leaves for ``$d`` and is thrown again
  there, inside label l and outside everything within it; at the function's label, to the caller.

New blocks take their parameters and results as a :class:`FuncType` written in the block type
itself (``ir.module.block_signature`` accepts one), so the module's type section, its indices and
its binary are those of the original.  New locals come after the original ones.

Positions.  Traps, backtraces and observers speak of the original body: each lowered
instruction records the original position it stands for (``None`` for the blocks and branches
the lowering adds), and ``LegacyLowering`` maps positions back; an observer is told only of the
lowered instructions that stand for an original one, once each (a ``rethrow`` is its
``local.get``; the ``throw_ref`` after it is not told again), with the operand stack the original
would have there.  So byte offsets in backtraces, and what tracers and debuggers show, are those
of the original binary.
"""

from __future__ import annotations

import threading

from .. import records
from ..records import field, record
from . import instructions as ins
from .instructions import Catch, Imm, Instruction
from .module import Expr, Function, Module, block_signature
from .types import EXNREF, FuncType, ValType

LEGACY_OPS = frozenset(op for op in ins.OPCODES if op.feature == ins.LEGACY_EXCEPTIONS)
_FUNCTION_REGION = -1  # the region (part of a body under one label) that is the function's own
_OP_LOCAL_GET, _OP_LOCAL_SET = ins.BY_NAME["local.get"], ins.BY_NAME["local.set"]
_OP_BR, _OP_BR_TABLE, _OP_THROW_REF = ins.BY_NAME["br"], ins.BY_NAME["br_table"], ins.BY_NAME["throw_ref"]


def uses_legacy_exceptions(body: Expr) -> bool:
    return not LEGACY_OPS.isdisjoint(map(ins.op_of, body))  # (a loop in C: every run asks)


@record
class LoweredBody:
    """One body after lowering, and where each of its instructions came from."""

    locals: list[ValType]
    body: Expr
    origins: list[int | None]  # per instruction: the original position it stands for
    unobserved: frozenset[int]  # positions that stand for an original an observer already saw
    added_locals: int  # exnref locals after the original ones (observers are not shown them)


@record
class _Structure:
    """What the lowering must know before it emits a construct: the handlers of each try, the
    label each delegate names, the regions delegates target and the handlers rethrows name."""

    handlers: dict[int, list[int]] = field(default_factory=dict)  # try position -> handler positions
    delegates: dict[int, int] = field(default_factory=dict)  # try position -> delegate's label
    wrapped: set[int] = field(default_factory=set)  # regions a delegate throws into
    rethrown: set[int] = field(default_factory=set)  # handlers whose exception a rethrow needs


def _structure(body: Expr) -> _Structure:
    """One pass over a valid body: a region starts at a block's opener, at ``else`` or at a handler."""
    found = _Structure()
    # Open constructs: (opener position, start of its current region).
    frames: list[list[int]] = [[_FUNCTION_REGION, _FUNCTION_REGION]]
    for position, instr in enumerate(body):
        op = instr.op
        if op in ins.BLOCK_OPENERS:
            frames.append([position, position])
            if op is ins.OP_TRY:
                found.handlers[position] = []
        elif op is ins.OP_ELSE:
            frames[-1][1] = position
        elif op in ins.LEGACY_HANDLERS:
            frames[-1][1] = position
            found.handlers[frames[-1][0]].append(position)
        elif op is ins.OP_END:
            frames.pop()
        elif op is ins.OP_DELEGATE:
            start = frames.pop()[0]
            found.delegates[start] = instr.imm[0]
            found.wrapped.add(frames[-1 - instr.imm[0]][1])
        elif op is ins.OP_RETHROW:
            found.rethrown.add(frames[-1 - instr.imm[0]][1])
    return found


class _Label:
    """A label of the lowered body (compared by identity)."""


@record
class _Frame:
    """An original construct being lowered."""

    op: object  # its opener (None: the function)
    target: _Label  # where a branch to its original label goes, in the current region
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]
    wrapper: tuple[_Label, _Label] | None = None  # ($x, $d) around the current region, if delegated into
    outer: _Label | None = None  # a catching try: the block around it all
    handlers_seen: int = 0
    exception_local: int | None = None  # the current handler's exnref, if a rethrow needs it


def _block_type(params: tuple[ValType, ...], results: tuple[ValType, ...]) -> object:
    if not params and not results:
        return None
    if not params and len(results) == 1:
        return results[0]
    return FuncType(params, results)


class _BodyLowering:
    """Lowers one valid body: original constructs on ``frames``, labels of the lowered body on
    ``labels``; each branch's depth is counted anew from the label it means."""

    def __init__(self, module: Module, function: Function) -> None:
        self.types = module.types
        self.tag_types = module.tag_types()
        func_type = module.function_type(function.type_index)
        self.body = function.body
        self.body_locals = function.locals
        self.locals = list(function.locals)
        self.param_count = len(func_type.params)
        self.structure = _structure(self.body)
        self.out: Expr = []
        self.origins: list[int | None] = []
        self.unobserved: set[int] = set()
        self.labels: list[_Label] = []
        function_label = _Label()
        self.labels.append(function_label)
        self.frames = [_Frame(None, function_label, (), func_type.results)]

    def lower(self) -> LoweredBody:
        self.open_region(self.frames[0], _FUNCTION_REGION)
        for position, instr in enumerate(self.body):
            self.instruction(position, instr)
        added = len(self.locals) - len(self.body_locals)
        return LoweredBody(self.locals, self.out, self.origins, frozenset(self.unobserved), added)

    # --- emitting -----------------------------------------------------------
    def emit(self, instr: Instruction, origin: int | None, observed: bool = True) -> None:
        if not observed:
            self.unobserved.add(len(self.out))
        self.out.append(instr)
        self.origins.append(origin)

    def open_block(self, op: ins.Opcode, imm: tuple[object, ...], origin: int | None) -> _Label:
        self.emit(Instruction(op, imm), origin)
        label = _Label()
        self.labels.append(label)
        return label

    def close_block(self, origin: int | None) -> None:
        self.emit(ins.END, origin)
        self.labels.pop()

    def depth(self, label: _Label) -> int:
        for depth, candidate in enumerate(reversed(self.labels)):
            if candidate is label:
                return depth
        raise AssertionError("label not open")

    def branch_depth(self, original_depth: int) -> int:
        return self.depth(self.frames[-1 - original_depth].target)

    def open_region(self, frame: _Frame, start: int, params: tuple[ValType, ...] | None = None) -> None:
        """Start the part of ``frame`` beginning at ``start``; wrapped if a delegate throws into it."""
        if start not in self.structure.wrapped:
            return
        params = frame.params if params is None else params
        outside = self.open_block(ins.OP_BLOCK, (_block_type(params, frame.results),), None)
        rethrow = self.open_block(ins.OP_BLOCK, (_block_type(params, (EXNREF,)),), None)
        frame.wrapper = (outside, rethrow)

    def close_region(self, frame: _Frame) -> None:
        if frame.wrapper is None:
            return
        outside, _ = frame.wrapper
        self.emit(Instruction(_OP_BR, (self.depth(outside),)), None)
        self.close_block(None)
        self.emit(_OP_THROW_REF.bare, None)  # the delegated exception, thrown again just inside the label
        self.close_block(None)
        frame.wrapper = None

    # --- instructions -----------------------------------------------------------
    def instruction(self, position: int, instr: Instruction) -> None:
        op = instr.op
        if op is ins.OP_TRY:
            self.open_try(position, instr)
        elif op in ins.BLOCK_OPENERS:
            self.open_construct(position, instr)
        elif op is ins.OP_ELSE:
            frame = self.frames[-1]
            self.close_region(frame)
            self.emit(instr, position)
            self.open_region(frame, position)
        elif op in ins.LEGACY_HANDLERS:
            self.handler(position, instr)
        elif op is ins.OP_END:
            self.end(position)
        elif op is ins.OP_DELEGATE:
            frame = self.frames.pop()
            self.close_region(frame)
            self.close_block(position)
        elif op is ins.OP_RETHROW:
            local = self.frames[-1 - instr.imm[0]].exception_local
            assert local is not None
            self.emit(Instruction(_OP_LOCAL_GET, (local,)), position)
            self.emit(_OP_THROW_REF.bare, position, observed=False)
        elif op.imm == Imm.LABEL:
            self.emit(Instruction(op, (self.branch_depth(instr.imm[0]), *instr.imm[1:])), position)
        elif op is _OP_BR_TABLE:
            labels, default = instr.imm
            translated = tuple(self.branch_depth(depth) for depth in labels)
            self.emit(Instruction(op, (translated, self.branch_depth(default))), position)
        else:
            self.emit(instr, position)

    def open_construct(self, position: int, instr: Instruction) -> None:
        """block, loop, if, try_table: the same, with try_table's labels counted anew."""
        imm = instr.imm
        if instr.op is ins.OP_TRY_TABLE:
            block_type, catches = imm
            imm = (block_type, tuple((kind, tag, self.branch_depth(depth)) for kind, tag, depth in catches))
        params, results = block_signature(imm[0], self.types)
        label = self.open_block(instr.op, imm, position)
        frame = _Frame(instr.op, label, params, results)
        self.frames.append(frame)
        self.open_region(frame, position)

    def open_try(self, position: int, instr: Instruction) -> None:
        block_type = instr.imm[0]
        params, results = block_signature(block_type, self.types)
        delegate = self.structure.delegates.get(position)
        if delegate is not None:
            wrapper = self.frames[-1 - delegate].wrapper
            assert wrapper is not None
            clause = (Catch.CATCH_ALL_REF, None, self.depth(wrapper[1]))
            label = self.open_block(ins.OP_TRY_TABLE, (block_type, (clause,)), position)
            frame = _Frame(ins.OP_TRY, label, params, results)
        else:
            outer = self.open_block(ins.OP_BLOCK, (block_type,), None)
            handlers = self.structure.handlers[position]
            blocks: list[_Label] = []
            for handler in reversed(handlers):
                payload = self.payload(handler)
                blocks.insert(0, self.open_block(ins.OP_BLOCK, (_block_type(params, payload),), None))
            clauses = []
            for handler, block in zip(handlers, blocks, strict=True):
                tag = self.body[handler].imm[0] if self.body[handler].op is ins.OP_CATCH else None
                with_ref = handler in self.structure.rethrown
                if tag is not None:
                    kind = Catch.CATCH_REF if with_ref else Catch.CATCH
                else:
                    kind = Catch.CATCH_ALL_REF if with_ref else Catch.CATCH_ALL
                clauses.append((kind, tag, self.depth(block)))
            label = self.open_block(ins.OP_TRY_TABLE, (block_type, tuple(clauses)), position)
            frame = _Frame(ins.OP_TRY, label, params, results, outer=outer)
        self.frames.append(frame)
        self.open_region(frame, position)

    def payload(self, handler: int) -> tuple[ValType, ...]:
        """What a handler's block receives: the tag's values, and the exception if rethrown."""
        instr = self.body[handler]
        values = self.tag_types[instr.imm[0]].params if instr.op is ins.OP_CATCH else ()
        return (*values, EXNREF) if handler in self.structure.rethrown else values

    def handler(self, position: int, instr: Instruction) -> None:
        frame = self.frames[-1]
        assert frame.outer is not None
        self.close_region(frame)
        if frame.handlers_seen == 0:
            self.close_block(None)  # the try_table: its body completed
        self.emit(Instruction(_OP_BR, (self.depth(frame.outer),)), None)
        self.close_block(None)  # the handler's block: the exception arrives here
        frame.handlers_seen += 1
        frame.exception_local = None
        if position in self.structure.rethrown:
            frame.exception_local = self.param_count + len(self.locals)
            self.locals.append(EXNREF)
            self.emit(Instruction(_OP_LOCAL_SET, (frame.exception_local,)), None)
        frame.target = frame.outer
        values = self.tag_types[instr.imm[0]].params if instr.op is ins.OP_CATCH else ()
        self.open_region(frame, position, values)

    def end(self, position: int) -> None:
        frame = self.frames.pop()
        self.close_region(frame)
        if frame.op is ins.OP_TRY and frame.outer is not None and frame.handlers_seen == 0:
            self.close_block(None)  # a try without handlers: its try_table, then the outer block
        if frame.op is None:
            self.emit(ins.END, position)
        else:
            self.close_block(position)


def lower_body(module: Module, function: Function) -> LoweredBody | None:
    """A body without legacy exception handling, or None if it has none to lower."""
    if not uses_legacy_exceptions(function.body):
        return None
    return _BodyLowering(module, function).lower()


def original_function(function: Function) -> Function:
    """The function of the original module that ``function``, of a lowering's view (see LegacyLowering),
    stands for, or ``function`` itself: what its size can be told from without lowering (or decoding) it."""
    source = function.source
    return source.lowering.original.funcs[source.offset] if isinstance(source, _LoweredSource) else function


class _LoweredSource:
    """A function of the engines' view, lowered on first use (as a lazily decoded body is decoded)."""

    start = 0
    end = 0

    def __init__(self, lowering: LegacyLowering, offset: int) -> None:
        self.lowering = lowering
        self.offset = offset

    def decode(self) -> tuple[list[ValType], Expr]:
        return self.lowering.lowered(self.offset)


class LegacyLowering:
    """A module as the engines see it (``module``: each body lowered on first use) and the way back
    from its positions to the original's."""

    def __init__(self, original: Module) -> None:
        self.original = original
        self._bodies: dict[int, LoweredBody | None] = {}
        self._lock = threading.Lock()
        functions = [Function(f.type_index, source=_LoweredSource(self, i)) for i, f in enumerate(original.funcs)]
        binary = original.binary
        if binary is None:
            # The digest (the key of compiled code) and the translation worker, which decodes and
            # lowers the module itself, take the original's bytes (imported here: ir is below binary).
            from ..binary.encode import encode_module

            binary = encode_module(original)
        self.module = records.replace(
            original, funcs=functions, features=original.features | {ins.EXCEPTIONS}, binary=binary
        )
        self.first_defined = original.num_imported_funcs()

    def lowered(self, offset: int) -> tuple[list[ValType], Expr]:
        """Defined function ``offset``'s locals and body without legacy instructions."""
        function = self.original.funcs[offset]
        lowered = self._body(offset)
        return (function.locals, function.body) if lowered is None else (lowered.locals, lowered.body)

    def _body(self, offset: int) -> LoweredBody | None:
        with self._lock:
            if offset not in self._bodies:
                self._bodies[offset] = lower_body(self.original, self.original.funcs[offset])
            return self._bodies[offset]

    def original_position(self, func_index: int, position: int) -> int | None:
        """The original instruction that lowered ``position`` of function ``func_index`` stands for."""
        lowered = self._lowered_function(func_index)
        if lowered is None:
            return position
        return lowered.origins[position] if position < len(lowered.origins) else None

    def observed_position(self, func_index: int, position: int) -> int | None:
        """The original position an observer is told of for lowered ``position`` (None: nothing)."""
        lowered = self._lowered_function(func_index)
        if lowered is None:
            return position
        if position in lowered.unobserved or position >= len(lowered.origins):
            return None
        return lowered.origins[position]

    def added_locals(self, func_index: int) -> int:
        """How many locals the lowering added after function ``func_index``'s own."""
        lowered = self._lowered_function(func_index)
        return 0 if lowered is None else lowered.added_locals

    def _lowered_function(self, func_index: int) -> LoweredBody | None:
        offset = func_index - self.first_defined
        return self._body(offset) if 0 <= offset < len(self.original.funcs) else None


# Where a module keeps its lowering (and a view the lowering that made it): an attribute outside the
# record's fields, so comparing, copying and printing modules never see it.
_ATTRIBUTE = "_legacy_lowering"
_NOTHING_TO_LOWER = "nothing to lower"
_cache_lock = threading.Lock()


def legacy_lowering(module: Module) -> LegacyLowering | None:
    """The lowering the engines need for ``module``, made once; None when it has no legacy
    instruction (known without decoding only when every body is decoded already; otherwise each
    body is lowered, or passed through, on first use)."""
    if ins.LEGACY_EXCEPTIONS not in module.features:
        return None
    known = vars(module).get(_ATTRIBUTE)
    if isinstance(known, LegacyLowering):
        return None if known.module is module else known
    if known == _NOTHING_TO_LOWER:
        return None
    with _cache_lock:
        known = vars(module).get(_ATTRIBUTE)
        if known is None:
            if any(not f.decoded or uses_legacy_exceptions(f.body) for f in module.funcs):
                known = LegacyLowering(module)
                vars(known.module)[_ATTRIBUTE] = known
            else:
                known = _NOTHING_TO_LOWER
            vars(module)[_ATTRIBUTE] = known
    return known if isinstance(known, LegacyLowering) else None


def engine_view(module: Module) -> Module:
    """``module`` as engines run it: without legacy exception handling."""
    lowering = legacy_lowering(module)
    return module if lowering is None else lowering.module


def lowering_behind(view: Module) -> LegacyLowering | None:
    """The lowering that made ``view``, if it is an engine view (for mapping positions back)."""
    known = vars(view).get(_ATTRIBUTE)
    return known if isinstance(known, LegacyLowering) and known.module is view else None
