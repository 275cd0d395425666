"""Validation: the spec's algorithm (Appendix "Validation Algorithm").

Instruction sequences are checked with an operand stack of value types and
a stack of control frames; ``None`` on the operand stack is the "unknown"
type that appears after an unconditional branch.  Fixed-signature opcodes
are checked from the instruction table; everything else has a rule here.
Error messages use the spec tests' words ("type mismatch", "unknown local").
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator

from . import limits
from .errors import MalformedError, ValidationError
from .ir import instructions as ins
from .ir.instructions import Catch, Imm, Instruction
from .ir.module import Expr, Module, SegmentMode, block_signature
from .ir.types import (
    EXNREF,
    F32,
    F64,
    FUNCREF,
    I32,
    I64,
    MAX_PAGES,
    V128,
    ExternKind,
    FuncType,
    GlobalType,
    Limits,
    ValType,
)

_NUMERIC_OR_VECTOR = frozenset((I32, I64, F32, F64, V128))
# Immediate kinds of fixed-signature instructions that refer to something the
# validator must check (constants and the like need nothing).
_CHECKED_KINDS = frozenset(
    (
        Imm.MEMARG,
        Imm.MEMARG_LANE,
        Imm.LANE,
        Imm.SHUFFLE,
        Imm.MEMORY,
        Imm.MEMORY_COPY,
        Imm.MEMORY_INIT,
        Imm.DATA,
        Imm.TABLE_INIT,
        Imm.ELEM,
        Imm.TABLE_COPY,
    )
)
_OP = ins.BY_NAME


class _Fail(Exception):
    """Internal: carries a message up to where the position is known."""


class Frame:
    __slots__ = ("opcode", "params", "results", "height", "unreachable")

    def __init__(self, opcode: object, params: tuple[ValType, ...], results: tuple[ValType, ...], height: int) -> None:
        self.opcode = opcode
        self.params = params
        self.results = results
        self.height = height
        self.unreachable = False

    @property
    def label_types(self) -> tuple[ValType, ...]:
        return self.params if self.opcode is ins.OP_LOOP else self.results


class Context:
    """What instructions may refer to (the spec's context C)."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.types = module.types
        self.funcs = _func_types_checked(module)
        self.tables = module.table_types()
        self.memories = module.memory_types()
        self.globals = module.global_types()
        self.num_imported_globals = len(module.imported(ExternKind.GLOBAL))
        self.tags = _tag_types_checked(module)
        self.elem_types = [seg.type for seg in module.elements]
        self.data_count = module.data_count if module.data_count is not None else len(module.datas)
        self.refs = _declared_refs(module)


def _func_types_checked(module: Module) -> list[FuncType]:
    result = []
    type_indices = [imp.desc for imp in module.imported(ExternKind.FUNC)] + [f.type_index for f in module.funcs]
    for index in type_indices:
        assert isinstance(index, int)
        if index >= len(module.types):
            raise ValidationError(f"unknown type {index}")
        result.append(module.types[index])
    return result


def _tag_types_checked(module: Module) -> list[FuncType]:
    result = []
    type_indices = [imp.desc for imp in module.imported(ExternKind.TAG)] + [t.type_index for t in module.tags]
    for index in type_indices:
        assert isinstance(index, int)
        if index >= len(module.types):
            raise ValidationError(f"unknown type {index}")
        if module.types[index].results:
            raise ValidationError("non-empty tag result type")
        result.append(module.types[index])
    return result


def _declared_refs(module: Module) -> set[int]:
    """Function indices that ``ref.func`` may name: those referenced outside
    function bodies (element segments, exports, global initialisers)."""
    refs: set[int] = set()
    ref_func = _OP["ref.func"]
    for seg in module.elements:
        for expr in seg.init:
            refs.update(i.imm[0] for i in expr if i.op is ref_func)
    for glob in module.globals:
        refs.update(i.imm[0] for i in glob.init if i.op is ref_func)
    refs.update(e.index for e in module.exports if e.kind == ExternKind.FUNC)
    return refs


def validate_module(module: Module) -> None:
    """Raise :class:`ValidationError` if ``module`` is not valid."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # validation allocates only short-lived, acyclic objects
    try:
        _validate_module(module)
    finally:
        if gc_was_enabled:
            gc.enable()


def validate_declarations(module: Module) -> Context:
    """Everything but the function bodies (limits, constant expressions, segments, start, exports);
    the context the bodies are checked in."""
    c = Context(module)
    for imp in module.imports:
        if imp.kind == ExternKind.TABLE:
            _check_limits(imp.desc.limits, 0xFFFFFFFF, "table")  # type: ignore[union-attr]
        elif imp.kind == ExternKind.MEMORY:
            _check_limits(imp.desc.limits, MAX_PAGES, "memory")  # type: ignore[union-attr]
    for table in module.tables:
        _check_limits(table.type.limits, 0xFFFFFFFF, "table")
    for memory in module.memories:
        _check_limits(memory.type.limits, MAX_PAGES, "memory")
    if len(c.memories) > 1 and ins.MULTI_MEMORY not in module.features:
        raise ValidationError("multiple memories")

    # Wasm 2.0 constant expressions read imported globals only; 3.0 also the defined globals before
    # the one being initialised (and, in segments, all of them).
    extended = ins.EXTENDED_CONST in module.features
    for index, glob in enumerate(module.globals):
        visible = c.num_imported_globals + (index if extended else 0)
        _check_const_expr(c, glob.init, glob.type.valtype, f"global {c.num_imported_globals + index}", visible)
    visible = len(c.globals) if extended else c.num_imported_globals

    for index, seg in enumerate(module.elements):
        where = f"elem segment {index}"
        for expr in seg.init:
            _check_const_expr(c, expr, seg.type, where, visible)
        if seg.mode is SegmentMode.ACTIVE:
            if seg.table >= len(c.tables):
                raise ValidationError(f"unknown table {seg.table}")
            if c.tables[seg.table].element is not seg.type:
                raise ValidationError(
                    f"type mismatch: {where} of {seg.type.text} in table of {c.tables[seg.table].element.text}"
                )
            assert seg.offset is not None
            _check_const_expr(c, seg.offset, I32, where, visible)

    for index, data in enumerate(module.datas):
        if data.mode is SegmentMode.ACTIVE:
            if data.memory >= len(c.memories):
                raise ValidationError(f"unknown memory {data.memory}")
            assert data.offset is not None
            _check_const_expr(c, data.offset, I32, f"data segment {index}", visible)

    if module.start is not None:
        if module.start >= len(c.funcs):
            raise ValidationError(f"unknown function {module.start}")
        if c.funcs[module.start] != FuncType():
            raise ValidationError("start function must have type [] -> []")

    seen: set[str] = set()
    space_sizes = {
        ExternKind.FUNC: (len(c.funcs), "function"),
        ExternKind.TABLE: (len(c.tables), "table"),
        ExternKind.MEMORY: (len(c.memories), "memory"),
        ExternKind.GLOBAL: (len(c.globals), "global"),
        ExternKind.TAG: (len(c.tags), "tag"),
    }
    for export in module.exports:
        if export.name in seen:
            raise ValidationError(f"duplicate export name {export.name!r}")
        seen.add(export.name)
        size, noun = space_sizes[export.kind]
        if export.index >= size:
            raise ValidationError(f"unknown {noun} {export.index}")
    _check_implementation_limits(module, c)
    return c


def _validate_module(module: Module) -> None:
    c = validate_declarations(module)
    first = module.num_imported_funcs()
    for offset in _bodies_to_check(module):
        func = module.funcs[offset]
        func_type = c.types[func.type_index]
        try:
            validate_function(c, func_type, func.locals, func.body)
        except MalformedError as error:  # a lazily decoded body, decoded only now
            raise MalformedError(error.message, offset=error.offset, source=module.source_name) from None
        except _Fail as failure:
            message, position = failure.args
            name = module.names.functions.get(first + offset)
            label = f" ${name}" if name else ""
            instr = func.body[position] if position < len(func.body) else None
            detail = f" (instruction {position}: {instr!r})" if instr is not None else ""
            lines = func.source_lines
            line = lines[min(position, len(lines) - 1)] if lines else None
            raise ValidationError(
                f"{message}{detail}{label and ' in' + label}",
                func_index=first + offset,
                instruction=position,
                line=line,
            ) from None


# Undecoded code (bytes of lazily decoded bodies) from which the native validator checks bodies;
# below it, Python alone (the native validator costs a JIT start-up).
NATIVE_VALIDATION_BYTES = int(os.environ.get("WASMBOX_NATIVE_VALIDATION_BYTES", str(1 << 20)))


def _bodies_to_check(module: Module) -> list[int]:
    """The defined functions whose bodies Python must validate: all of them, or, when the native
    validator checked the undecoded ones, the decoded ones and those it refused."""
    from .binary.decode import EncodedBody

    bodies: list[tuple[int, int, int]] = []
    source = None
    for index, function in enumerate(module.funcs):
        if isinstance(function.source, EncodedBody):
            source = function.source
            bodies.append((index, source.start, source.end))
    size = sum(end - start for _, start, end in bodies)
    if source is None or size < NATIVE_VALIDATION_BYTES:
        return list(range(len(module.funcs)))
    from . import native_validation  # only large modules: it costs a JIT

    if not native_validation.available():
        return list(range(len(module.funcs)))
    undecoded = [index for index, _, _ in bodies]
    refused = native_validation.refused_bodies(module, source.data, bodies, source.features, limits.MAX_LOCALS)
    pending = set(undecoded)
    return sorted({*refused, *(i for i in range(len(module.funcs)) if i not in pending)})


def _check_implementation_limits(module: Module, c: Context) -> None:
    """Counts beyond what any engine accepts (see ``wasmbox.limits``)."""
    for count, limit, what in (
        (len(module.types), limits.MAX_TYPES, "types"),
        (len(c.funcs), limits.MAX_FUNCTIONS, "functions"),
        (len(module.imports), limits.MAX_IMPORTS, "imports"),
        (len(module.exports), limits.MAX_EXPORTS, "exports"),
        (len(c.globals), limits.MAX_GLOBALS, "globals"),
        (len(c.tags), limits.MAX_TAGS, "tags"),
        (len(module.datas), limits.MAX_DATA_SEGMENTS, "data segments"),
        (len(module.elements), limits.MAX_ELEMENT_SEGMENTS, "element segments"),
        (len(c.tables), limits.MAX_TABLES, "tables"),
        (len(c.memories), limits.MAX_MEMORIES, "memories"),
    ):
        limits.check(count, limit, what)
    for index, func_type in enumerate(module.types):
        limits.check(len(func_type.params), limits.MAX_PARAMS, f"parameters of type {index}")
        limits.check(len(func_type.results), limits.MAX_RESULTS, f"results of type {index}")


def _check_limits(limits: Limits, bound: int, kind: str) -> None:
    if limits.min > bound or (limits.max is not None and limits.max > bound):
        if kind == "memory":
            raise ValidationError("memory size must be at most 65536 pages (4GiB)")
        raise ValidationError("table size must be at most 2^32-1")
    if limits.max is not None and limits.min > limits.max:
        raise ValidationError("size minimum must not be greater than maximum")


def _check_const_expr(c: Context, expr: Expr, expected: ValType, where: str, visible_globals: int) -> None:
    """A constant expression: constant instructions only, reading immutable globals among the first
    ``visible_globals``, leaving one value of the ``expected`` type."""
    global_get = _OP["global.get"]
    allowed = ins.constant_ops(c.module.features)
    for instr in expr[:-1]:
        if instr.op not in allowed:
            raise ValidationError(f"constant expression required ({where}: {instr!r})")
        if instr.op is global_get:
            index = instr.imm[0]
            if index >= visible_globals:
                raise ValidationError(f"unknown global {index}")
            if c.globals[index].mutable:
                raise ValidationError(f"constant expression required ({where}: mutable global {index})")
    try:
        validate_function(c, FuncType((), (expected,)), [], expr)
    except _Fail as failure:
        raise ValidationError(f"{failure.args[0]} ({where})") from None


def _block_signature(c: Context, block_type: object) -> tuple[tuple[ValType, ...], tuple[ValType, ...]]:
    if isinstance(block_type, int) and block_type >= len(c.types):
        raise _Fail(f"unknown type {block_type}")
    return block_signature(block_type, c.types)


def validate_function(
    c: Context,
    func_type: FuncType,
    locals_: list[ValType],
    body: Expr,
    stack_types: list[tuple[ValType | None, ...]] | None = None,
) -> None:
    """Validate one body; raises ``_Fail(message, instruction_position)``.

    ``stack_types``, when given, receives the operand stack's types before
    each instruction (``None`` for an unknown type in unreachable code): the
    tracer and debugger show typed values with it.
    """
    local_types = list(func_type.params) + locals_
    vals: list[ValType | None] = []
    ctrls: list[Frame] = [Frame(ins.OP_BLOCK, (), func_type.results, 0)]
    push = vals.append
    position = 0

    def pop(expected: ValType | None = None) -> ValType | None:
        frame = ctrls[-1]
        if len(vals) == frame.height:
            if frame.unreachable:
                return expected
            raise _Fail(
                f"type mismatch: expected {expected.text if expected else 'a value'} but the stack is empty", position
            )
        actual = vals.pop()
        if expected is not None and actual is not None and actual is not expected:
            raise _Fail(f"type mismatch: expected {expected.text}, got {actual.text}", position)
        return actual if actual is not None else expected

    def pop_all(types: tuple[ValType, ...]) -> None:
        for t in reversed(types):
            pop(t)

    def enter(opcode: object, params: tuple[ValType, ...], results: tuple[ValType, ...]) -> None:
        ctrls.append(Frame(opcode, params, results, len(vals)))
        vals.extend(params)

    def leave() -> Frame:
        frame = ctrls[-1]
        pop_all(frame.results)
        if len(vals) != frame.height:
            raise _Fail("type mismatch: values remain on the stack at the end of a block", position)
        ctrls.pop()
        return frame

    def mark_unreachable() -> None:
        frame = ctrls[-1]
        del vals[frame.height :]
        frame.unreachable = True

    def label(depth: int) -> Frame:
        if depth >= len(ctrls):
            raise _Fail(f"unknown label {depth}", position)
        return ctrls[-1 - depth]

    def check_memory_index(index: int) -> None:
        if index >= len(c.memories):
            raise _Fail(f"unknown memory {index}", position)

    def check_memory(instr: Instruction) -> None:
        check_memory_index(instr.imm[2])
        if instr.imm[0] > instr.op.align:
            raise _Fail("alignment must not be larger than natural", position)

    def check_table(index: int) -> ValType:
        if index >= len(c.tables):
            raise _Fail(f"unknown table {index}", position)
        return c.tables[index].element

    def check_func(index: int) -> FuncType:
        if index >= len(c.funcs):
            raise _Fail(f"unknown function {index}", position)
        return c.funcs[index]

    def legacy_exception_handling(instr: Instruction, position: int) -> None:
        """The legacy appendix's rules: a handler runs with the caught tag's payload and the try's
        label (so a branch to it leaves the try); ``rethrow`` names a handler's label, ``delegate``
        a label outside its try (the function's own, to hand the exception to the caller)."""
        op = instr.op
        if op is ins.OP_TRY:
            block_params, block_results = _block_signature_at(c, instr.imm[0], position)
            pop_all(block_params)
            enter(op, block_params, block_results)
        elif op is ins.OP_RETHROW:
            if label(instr.imm[0]).opcode not in ins.LEGACY_HANDLERS:
                raise _Fail("invalid rethrow label", position)
            mark_unreachable()
        else:
            frame = leave()
            if frame.opcode is not ins.OP_TRY and (op is ins.OP_DELEGATE or frame.opcode is not ins.OP_CATCH):
                raise _Fail(f"{op.name} without matching try", position)
            if op is ins.OP_DELEGATE:
                label(instr.imm[0])  # counted from outside the try
                vals.extend(frame.results)
            elif op is ins.OP_CATCH:
                tag_index = instr.imm[0]
                if tag_index >= len(c.tags):
                    raise _Fail(f"unknown tag {tag_index}", position)
                enter(op, c.tags[tag_index].params, frame.results)
            else:
                enter(op, (), frame.results)

    local_count = len(local_types)
    op_local_get = _OP["local.get"]
    instructions = enumerate(body) if stack_types is None else _recording(body, vals, stack_types)
    for position, instr in instructions:  # noqa: B007 - closures read position
        op = instr.op
        if op is op_local_get:  # the most frequent instruction by far
            index = instr.imm[0]
            if index >= local_count:
                raise _Fail(f"unknown local {index}", position)
            push(local_types[index])
            continue
        params = op.params
        if params is not None:
            # Fixed signature from the table, plus immediate checks by kind.
            kind = op.imm
            if kind in _CHECKED_KINDS:
                if kind == Imm.MEMARG or kind == Imm.MEMARG_LANE:
                    check_memory(instr)
                    if kind == Imm.MEMARG_LANE and instr.imm[3] >= op.lanes:
                        raise _Fail("invalid lane index", position)
                elif kind == Imm.LANE:
                    if instr.imm[0] >= op.lanes:
                        raise _Fail("invalid lane index", position)
                elif kind == Imm.SHUFFLE:
                    if any(lane >= 32 for lane in instr.imm[0]):
                        raise _Fail("invalid lane index", position)
                elif kind == Imm.MEMORY or kind == Imm.MEMORY_COPY:
                    for memory_index in instr.imm:
                        check_memory_index(memory_index)
                elif kind == Imm.MEMORY_INIT:
                    check_memory_index(instr.imm[1])
                    if instr.imm[0] >= c.data_count:
                        raise _Fail(f"unknown data segment {instr.imm[0]}", position)
                elif kind == Imm.DATA:
                    if instr.imm[0] >= c.data_count:
                        raise _Fail(f"unknown data segment {instr.imm[0]}", position)
                elif kind == Imm.TABLE_INIT:
                    elem_index, table_index = instr.imm
                    element = check_table(table_index)
                    if elem_index >= len(c.elem_types):
                        raise _Fail(f"unknown elem segment {elem_index}", position)
                    if c.elem_types[elem_index] is not element:
                        raise _Fail("type mismatch: element segment and table types differ", position)
                elif kind == Imm.ELEM:
                    if instr.imm[0] >= len(c.elem_types):
                        raise _Fail(f"unknown elem segment {instr.imm[0]}", position)
                elif kind == Imm.TABLE_COPY:
                    dst, src = instr.imm
                    if check_table(dst) is not check_table(src):
                        raise _Fail("type mismatch: tables of different element types", position)
            frame = ctrls[-1]
            # Fast path: the operands are on the stack with the exact types.
            count = len(params)
            available = len(vals) - frame.height
            if count == 2:
                if available >= 2 and vals[-1] is params[1] and vals[-2] is params[0]:
                    del vals[-2:]
                    vals.extend(op.results)  # type: ignore[arg-type]
                    continue
            elif count == 1:
                if available >= 1 and vals[-1] is params[0]:
                    vals.pop()
                    vals.extend(op.results)  # type: ignore[arg-type]
                    continue
            for t in reversed(params):
                if len(vals) == frame.height:
                    if frame.unreachable:
                        continue
                    raise _Fail(f"type mismatch: {op.name} expects {t.text} but the stack is empty", position)
                actual = vals.pop()
                if actual is not t and actual is not None:
                    raise _Fail(f"type mismatch: {op.name} expects {t.text}, got {actual.text}", position)
            vals.extend(op.results)  # type: ignore[arg-type]
            continue

        name = op.name
        if name == "local.get" or name == "local.set" or name == "local.tee":
            index = instr.imm[0]
            if index >= len(local_types):
                raise _Fail(f"unknown local {index}", position)
            t = local_types[index]
            if name == "local.get":
                push(t)
            elif name == "local.set":
                pop(t)
            else:
                pop(t)
                push(t)
        elif name == "global.get" or name == "global.set":
            index = instr.imm[0]
            if index >= len(c.globals):
                raise _Fail(f"unknown global {index}", position)
            g: GlobalType = c.globals[index]
            if name == "global.get":
                push(g.valtype)
            else:
                if not g.mutable:
                    raise _Fail(f"global is immutable: global.set {index}", position)
                pop(g.valtype)
        elif name == "try_table":
            block_type, catches = instr.imm
            block_params, block_results = _block_signature_at(c, block_type, position)
            for kind, tag_index, depth in catches:
                # Catch labels are relative to the block around the try_table.
                carried: tuple[ValType, ...] = ()
                if kind <= Catch.CATCH_REF:
                    if tag_index >= len(c.tags):
                        raise _Fail(f"unknown tag {tag_index}", position)
                    carried = c.tags[tag_index].params
                if kind == Catch.CATCH_REF or kind == Catch.CATCH_ALL_REF:
                    carried = (*carried, EXNREF)
                if label(depth).label_types != carried:
                    raise _Fail(f"type mismatch: catch clause to label {depth} carries {list(carried)}", position)
            pop_all(block_params)
            enter(op, block_params, block_results)
        elif name == "throw":
            tag_index = instr.imm[0]
            if tag_index >= len(c.tags):
                raise _Fail(f"unknown tag {tag_index}", position)
            pop_all(c.tags[tag_index].params)
            mark_unreachable()
        elif name == "throw_ref":
            pop(EXNREF)
            mark_unreachable()
        elif name == "try" or name == "catch" or name == "catch_all" or name == "delegate" or name == "rethrow":
            legacy_exception_handling(instr, position)
        elif name == "block" or name == "loop" or name == "if":
            block_params, block_results = _block_signature_at(c, instr.imm[0], position)
            if name == "if":
                pop(I32)
            pop_all(block_params)
            enter(op, block_params, block_results)
        elif name == "end":
            frame = leave()
            if frame.opcode is ins.OP_IF and frame.params != frame.results:
                raise _Fail("type mismatch: if without else must leave its parameters unchanged", position)
            vals.extend(frame.results)
            if not ctrls:
                if position != len(body) - 1:
                    raise _Fail("unexpected instructions after the final end", position)
                return
        elif name == "else":
            frame = leave()
            if frame.opcode is not ins.OP_IF:
                raise _Fail("else without matching if", position)
            enter(ins.OP_ELSE, frame.params, frame.results)
        elif name == "br":
            pop_all(label(instr.imm[0]).label_types)
            mark_unreachable()
        elif name == "br_if":
            pop(I32)
            types = label(instr.imm[0]).label_types
            pop_all(types)
            vals.extend(types)
        elif name == "br_table":
            pop(I32)
            labels, default = instr.imm
            default_types = label(default).label_types
            arity = len(default_types)
            for depth in labels:
                types = label(depth).label_types
                if len(types) != arity:
                    raise _Fail("type mismatch: br_table targets have different arities", position)
                saved = list(vals)
                pop_all(types)
                vals[:] = saved
            pop_all(default_types)
            mark_unreachable()
        elif name == "return":
            pop_all(func_type.results)
            mark_unreachable()
        elif name == "unreachable":
            mark_unreachable()
        elif name == "call":
            callee = check_func(instr.imm[0])
            pop_all(callee.params)
            vals.extend(callee.results)
        elif name == "call_indirect":
            callee = _indirect_callee(c, check_table, name, instr.imm, position)
            pop(I32)
            pop_all(callee.params)
            vals.extend(callee.results)
        elif name == "return_call" or name == "return_call_indirect":
            # Tail calls (Wasm 3.0): the callee's results become the caller's, so they must match.
            if name == "return_call":
                callee = check_func(instr.imm[0])
            else:
                callee = _indirect_callee(c, check_table, name, instr.imm, position)
                pop(I32)
            if callee.results != func_type.results:
                raise _Fail(f"type mismatch: {name} returns {list(callee.results)}", position)
            pop_all(callee.params)
            mark_unreachable()
        elif name == "drop":
            pop()
        elif name == "select":
            pop(I32)
            t1 = pop()
            t2 = pop()
            for operand in (t1, t2):
                if operand is not None and operand not in _NUMERIC_OR_VECTOR:
                    raise _Fail("type mismatch: select without a type needs numeric operands", position)
            if t1 is not None and t2 is not None and t1 is not t2:
                raise _Fail(f"type mismatch: select operands {t1.text} and {t2.text}", position)
            push(t1 if t1 is not None else t2)  # type: ignore[arg-type]
        elif name == "select_t":
            types = instr.imm[0]
            if len(types) != 1:
                raise _Fail("invalid result arity", position)
            pop(I32)
            pop(types[0])
            pop(types[0])
            push(types[0])
        elif name == "ref.null":
            push(instr.imm[0])
        elif name == "ref.is_null":
            operand = pop()
            if operand is not None and not operand.is_reference:
                raise _Fail(f"type mismatch: ref.is_null on {operand.text}", position)
            push(I32)
        elif name == "ref.func":
            index = instr.imm[0]
            check_func(index)
            if index not in c.refs:
                raise _Fail(f"undeclared function reference {index}", position)
            push(FUNCREF)
        elif name == "table.get":
            element = check_table(instr.imm[0])
            pop(I32)
            push(element)
        elif name == "table.set":
            element = check_table(instr.imm[0])
            pop(element)
            pop(I32)
        elif name == "table.size":
            check_table(instr.imm[0])
            push(I32)
        elif name == "table.grow":
            element = check_table(instr.imm[0])
            pop(I32)
            pop(element)
            push(I32)
        elif name == "table.fill":
            element = check_table(instr.imm[0])
            pop(I32)
            pop(element)
            pop(I32)
        else:  # pragma: no cover - every opcode without a signature is handled above
            raise AssertionError(f"no validation rule for {name}")
    raise _Fail("unexpected end of function body", len(body))


def _recording(
    body: Expr, vals: list[ValType | None], stack_types: list[tuple[ValType | None, ...]]
) -> Iterator[tuple[int, Instruction]]:
    """``enumerate(body)`` that notes the operand stack's types before each instruction."""
    for position, instr in enumerate(body):
        stack_types.append(tuple(vals))
        yield position, instr


def operand_types(module: Module, func_index: int, context: Context | None = None) -> list[tuple[ValType | None, ...]]:
    """The operand stack's types before each instruction of a defined function of a valid module."""
    function = module.funcs[func_index - module.num_imported_funcs()]
    stack_types: list[tuple[ValType | None, ...]] = []
    c = context if context is not None else Context(module)
    validate_function(c, module.types[function.type_index], function.locals, function.body, stack_types)
    return stack_types


def _indirect_callee(
    c: Context, check_table: Callable[[int], ValType], name: str, imm: tuple[int, int], position: int
) -> FuncType:
    """The type ``call_indirect`` and ``return_call_indirect`` call with, once their table is checked."""
    type_index, table_index = imm
    if check_table(table_index) is not FUNCREF:
        raise _Fail(f"type mismatch: {name} needs a funcref table", position)
    if type_index >= len(c.types):
        raise _Fail(f"unknown type {type_index}", position)
    return c.types[type_index]


def _block_signature_at(
    c: Context, block_type: object, position: int
) -> tuple[tuple[ValType, ...], tuple[ValType, ...]]:
    try:
        return _block_signature(c, block_type)
    except _Fail as failure:
        raise _Fail(failure.args[0], position) from None
