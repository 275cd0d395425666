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
from typing import NoReturn

from . import limits
from .errors import MalformedError, ValidationError
from .ir import instructions as ins
from .ir.instructions import Catch, Imm, Instruction
from .ir.module import Expr, Module, SegmentMode, block_signature
from .ir.subtyping import composite_matches, matches, recursion_groups
from .ir.types import (
    EXNREF,
    F32,
    F64,
    FUNCREF,
    I32,
    I64,
    PAGE_SIZE,
    V128,
    DefinedType,
    ExternKind,
    FuncType,
    GlobalType,
    HeapType,
    Limits,
    MemoryType,
    RefType,
    StructType,
    TableType,
    ValType,
    function_type,
)
from .validate_gc import GcContext, Operands, check_gc_instruction

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
_ATOMIC = frozenset(op for op in ins.OPCODES if op.feature == ins.THREADS and op.imm == Imm.MEMARG)


class _Fail(Exception):
    """Internal: carries a message up to where the position is known."""


class Frame:
    """A control frame; ``init_height`` is the length of the set-locals log when it was entered (the
    locals set inside it count as unset again after its end)."""

    __slots__ = ("opcode", "params", "results", "height", "unreachable", "init_height")

    def __init__(
        self, opcode: object, params: tuple[ValType, ...], results: tuple[ValType, ...], height: int, init_height: int
    ) -> None:
        self.opcode = opcode
        self.params = params
        self.results = results
        self.height = height
        self.unreachable = False
        self.init_height = init_height

    @property
    def label_types(self) -> tuple[ValType, ...]:
        return self.params if self.opcode is ins.OP_LOOP else self.results


class Context:
    """What instructions may refer to (the spec's context C)."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.types = module.types
        self.func_type_indices = _func_type_indices(module)
        self.funcs = _func_types_checked(module)
        self.tables = module.table_types()
        self.memories = module.memory_types()
        self.globals = module.global_types()
        self.num_imported_globals = len(module.imported(ExternKind.GLOBAL))
        self.tags = _tag_types_checked(module)
        self.elem_types = [seg.type for seg in module.elements]
        self.data_count = module.data_count if module.data_count is not None else len(module.datas)
        self.refs = _declared_refs(module)


def _func_type_indices(module: Module) -> list[int]:
    """Each function's type index (the heap type of ``ref.func``'s result)."""
    imported = [imp.desc for imp in module.imported(ExternKind.FUNC)]
    return [index for index in imported if isinstance(index, int)] + [f.type_index for f in module.funcs]


def _func_types_checked(module: Module) -> list[FuncType]:
    result = []
    type_indices = [imp.desc for imp in module.imported(ExternKind.FUNC)] + [f.type_index for f in module.funcs]
    for index in type_indices:
        assert isinstance(index, int)
        result.append(_function_type_at(module, index))
    return result


def _tag_types_checked(module: Module) -> list[FuncType]:
    result = []
    type_indices = [imp.desc for imp in module.imported(ExternKind.TAG)] + [t.type_index for t in module.tags]
    for index in type_indices:
        assert isinstance(index, int)
        tag_type = _function_type_at(module, index)
        if tag_type.results:
            raise ValidationError("non-empty tag result type")
        result.append(tag_type)
    return result


def _function_type_at(module: Module, index: int) -> FuncType:
    """The function type a function or tag declares by index (GC: the index may name a struct or array type)."""
    if index >= len(module.types):
        raise ValidationError(f"unknown type {index}")
    t = module.types[index]
    if not isinstance(t, FuncType):
        raise ValidationError(f"type mismatch: type {index} is not a function type")
    return t


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
    for table in module.tables:
        refs.update(i.imm[0] for i in table.init or () if i.op is ref_func)
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
    _check_type_section(module)
    for table_type in c.tables:
        _check_table_type(table_type, module.features)
        _check_valtype(c, table_type.element)
    for memory_type in c.memories:
        _check_memory_type(memory_type, module.features)
    for imp in module.imports:
        if imp.kind == ExternKind.GLOBAL:
            _check_valtype(c, imp.desc.valtype)  # type: ignore[union-attr]
    if len(c.memories) > 1 and ins.MULTI_MEMORY not in module.features:
        raise ValidationError("multiple memories")

    # Wasm 2.0 constant expressions read imported globals only; 3.0 also the defined globals before
    # the one being initialised (and, in segments, all of them).
    extended = ins.EXTENDED_CONST in module.features
    for index, table in enumerate(module.tables):
        where = f"table {len(c.tables) - len(module.tables) + index}"
        if table.init is not None:
            # Tables precede globals: their initializers see the imported globals only.
            _check_const_expr(c, table.init, table.type.element, where, c.num_imported_globals)
        elif not table.type.element.defaultable:
            raise ValidationError(f"type mismatch: {where} of {table.type.element.text} needs an initializer")
    for index, glob in enumerate(module.globals):
        _check_valtype(c, glob.type.valtype)
        visible = c.num_imported_globals + (index if extended else 0)
        _check_const_expr(c, glob.init, glob.type.valtype, f"global {c.num_imported_globals + index}", visible)
    visible = len(c.globals) if extended else c.num_imported_globals

    for index, seg in enumerate(module.elements):
        where = f"elem segment {index}"
        _check_valtype(c, seg.type)
        for expr in seg.init:
            _check_const_expr(c, expr, seg.type, where, visible)
        if seg.mode is SegmentMode.ACTIVE:
            if seg.table >= len(c.tables):
                raise ValidationError(f"unknown table {seg.table}")
            if not matches(seg.type, c.tables[seg.table].element, c.types):
                raise ValidationError(
                    f"type mismatch: {where} of {seg.type.text} in table of {c.tables[seg.table].element.text}"
                )
            assert seg.offset is not None
            _check_const_expr(c, seg.offset, c.tables[seg.table].address_type, where, visible)

    for index, data in enumerate(module.datas):
        if data.mode is SegmentMode.ACTIVE:
            if data.memory >= len(c.memories):
                raise ValidationError(f"unknown memory {data.memory}")
            assert data.offset is not None
            address_type = c.memories[data.memory].address_type
            _check_const_expr(c, data.offset, address_type, f"data segment {index}", visible)

    if module.start is not None:
        if module.start >= len(c.funcs):
            raise ValidationError(f"unknown function {module.start}")
        start = c.funcs[module.start]
        if start.params or start.results:  # (its type may be a subtype, or in a rec group: GC)
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
        func_type = function_type(c.types[func.type_index])
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


# Undecoded code (bytes of lazily decoded bodies) from which the native validator checks bodies even if it
# must be compiled first (~0.1 s at LLVM's fast settings); below it, Python alone ...
NATIVE_VALIDATION_BYTES = int(os.environ.get("WASMBOX_NATIVE_VALIDATION_BYTES", str(1 << 20)))
# ... unless the optimised validator is installed (native_validation.ready): then linking it costs ~1 ms, what
# Python spends validating a few KB of code, so from this size on the native one checks.
NATIVE_VALIDATION_READY_BYTES = int(os.environ.get("WASMBOX_NATIVE_VALIDATION_READY_BYTES", str(16 << 10)))


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
    if source is None or size < min(NATIVE_VALIDATION_BYTES, NATIVE_VALIDATION_READY_BYTES):
        return list(range(len(module.funcs)))
    from . import native_validation

    if not native_validation.available() or (size < NATIVE_VALIDATION_BYTES and not native_validation.ready()):
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
    for index, defined in enumerate(module.types):
        if isinstance(defined, FuncType):
            limits.check(len(defined.params), limits.MAX_PARAMS, f"parameters of type {index}")
            limits.check(len(defined.results), limits.MAX_RESULTS, f"results of type {index}")


def _check_memory_type(memory_type: MemoryType, features: frozenset[str]) -> None:
    """The spec's "Memory Types" rule: at most 2^16 pages for an i32 memory, 2^48 for an i64 one."""
    if memory_type.is_64 and ins.MEMORY64 not in features:
        raise ValidationError("64-bit memories need the memory64 feature")
    if memory_type.shared and memory_type.limits.max is None:
        raise ValidationError("shared memory must have maximum")
    if memory_type.page_size != PAGE_SIZE:
        if ins.CUSTOM_PAGE_SIZES not in features or memory_type.page_size != 1:
            raise ValidationError(f"invalid custom page size {memory_type.page_size}")
        bound = f"{memory_type.max_pages} pages of 1 byte"
        _check_limits(memory_type.limits, memory_type.max_pages, f"memory size must be at most {bound}")
        return
    bound = "2^48 pages" if memory_type.is_64 else "65536 pages (4GiB)"
    _check_limits(memory_type.limits, memory_type.max_pages, f"memory size must be at most {bound}")


def _check_table_type(table_type: TableType, features: frozenset[str]) -> None:
    """The spec's "Table Types" rule: at most 2^32-1 elements for an i32 table, 2^64-1 for i64."""
    if table_type.is_64 and ins.MEMORY64 not in features:
        raise ValidationError("64-bit tables need the memory64 feature")
    _check_limits(table_type.limits, table_type.max_size, f"table size must be at most 2^{32 << table_type.is_64}-1")


def _check_limits(limits: Limits, bound: int, too_large: str) -> None:
    if limits.min > bound or (limits.max is not None and limits.max > bound):
        raise ValidationError(too_large)
    if limits.max is not None and limits.min > limits.max:
        raise ValidationError("size minimum must not be greater than maximum")


def _address_signature(c: Context, instr: Instruction) -> tuple[tuple[ValType, ...], tuple[ValType, ...]] | None:
    """The stack signature of a memory or table instruction whose memory or table has an i64
    address type (memory64), or None when the table's i32 signature holds.  The address operand
    of a load or store, a memory's or table's size and a bulk operation's ranges take the address
    type; ``memory.copy``/``table.copy`` between an i32 and an i64 one take the narrower type for
    the length (the spec's ``minat``).  Lengths of segments stay i32."""
    op, imm = instr.op, instr.imm
    params, results = op.params, op.results
    assert params is not None and results is not None
    kind = op.imm
    if kind == Imm.MEMARG or kind == Imm.MEMARG_LANE:
        if not c.memories[imm[2]].is_64:
            return None
        return (I64, *params[1:]), results
    if kind == Imm.MEMORY:
        if not c.memories[imm[0]].is_64:
            return None
        if op.name == "memory.fill":
            return (I64, I32, I64), ()
        return tuple(I64 for _ in params), tuple(I64 for _ in results)
    if kind == Imm.MEMORY_COPY or kind == Imm.TABLE_COPY:
        spaces = c.memories if kind == Imm.MEMORY_COPY else c.tables
        dst, src = (spaces[index].address_type for index in imm)
        if dst is I32 and src is I32:
            return None
        return (dst, src, I64 if dst is I64 and src is I64 else I32), ()
    if kind == Imm.MEMORY_INIT or kind == Imm.TABLE_INIT:
        if not (c.memories if kind == Imm.MEMORY_INIT else c.tables)[imm[1]].is_64:
            return None
        return (I64, I32, I32), ()
    return None


def _check_type_section(module: Module) -> None:
    """The spec's "Recursive Types" rules: a type names types of its own recursion group or earlier
    ones; with GC, at most one supertype, defined before it, not final, whose structure its own
    matches (``subtyping.composite_matches``)."""
    types = module.types
    for group in recursion_groups(types):
        for index in group:
            t = types[index]
            for heap in _type_references(t):
                if heap >= group.stop:
                    raise ValidationError(f"unknown type {heap}")
            if not t.supertypes:
                continue
            if len(t.supertypes) > 1:
                raise ValidationError(f"type {index}: multiple supertypes")
            parent = t.supertypes[0]
            if parent >= index:
                raise ValidationError(f"unknown type {parent} (supertype of type {index})")
            parent_type = types[parent]
            if parent_type.final:
                raise ValidationError(f"sub type {index} does not match supertype {parent}: it is final")
            if not composite_matches(t, parent_type, types):
                raise ValidationError(f"sub type {index} does not match supertype {parent}")


def _type_references(t: DefinedType) -> list[int]:
    """The type indices a defined type's structure names."""
    if isinstance(t, FuncType):
        values: list[object] = [*t.params, *t.results]
    elif isinstance(t, StructType):
        values = [f.storage for f in t.fields]
    else:
        values = [t.element.storage]
    return [v.heap for v in values if isinstance(v, RefType) and isinstance(v.heap, int)]


def _check_valtype(c: Context, t: ValType) -> None:
    """A value type's heap type, if a type index, names a defined type."""
    if isinstance(t, RefType) and isinstance(t.heap, int) and t.heap >= len(c.types):
        raise ValidationError(f"unknown type {t.heap}")


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
    if isinstance(block_type, RefType) and isinstance(block_type.heap, int) and block_type.heap >= len(c.types):
        raise _Fail(f"unknown type {block_type.heap}")
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
    types = c.types
    vals: list[ValType | None] = []
    ctrls: list[Frame] = [Frame(ins.OP_BLOCK, (), func_type.results, 0, 0)]
    push = vals.append
    position = 0
    # Locals of non-defaultable types (Wasm 3.0) must be set before they are read; ``unset`` marks
    # them (None: every local is defaultable), ``set_log`` the locals set since, undone per block.
    unset: list[bool] | None = None
    set_log: list[int] = []
    for index, t in enumerate(locals_):
        if not t.defaultable:
            _check_valtype_in_body(c, t)
            if unset is None:
                unset = [False] * len(local_types)
            unset[len(func_type.params) + index] = True
        elif isinstance(t, RefType):
            _check_valtype_in_body(c, t)

    def pop(expected: ValType | None = None) -> ValType | None:
        frame = ctrls[-1]
        if len(vals) == frame.height:
            if frame.unreachable:
                return expected
            raise _Fail(
                f"type mismatch: expected {expected.text if expected else 'a value'} but the stack is empty", position
            )
        actual = vals.pop()
        if (
            expected is not None
            and actual is not None
            and actual is not expected
            and not matches(actual, expected, types)
        ):
            raise _Fail(f"type mismatch: expected {expected.text}, got {actual.text}", position)
        return actual if actual is not None else expected

    def pop_reference() -> RefType | None:
        """A reference operand of any type (None: unknown, in unreachable code)."""
        operand = pop()
        if operand is not None and not isinstance(operand, RefType):
            raise _Fail(f"type mismatch: expected a reference, got {operand.text}", position)
        return operand

    def pop_all(types: tuple[ValType, ...]) -> None:
        for t in reversed(types):
            pop(t)

    def enter(opcode: object, params: tuple[ValType, ...], results: tuple[ValType, ...]) -> None:
        ctrls.append(Frame(opcode, params, results, len(vals), len(set_log)))
        vals.extend(params)

    def leave() -> Frame:
        frame = ctrls[-1]
        pop_all(frame.results)
        if len(vals) != frame.height:
            raise _Fail("type mismatch: values remain on the stack at the end of a block", position)
        ctrls.pop()
        if unset is not None:
            for index in set_log[frame.init_height :]:
                unset[index] = True
            del set_log[frame.init_height :]
        return frame

    def set_local(index: int) -> None:
        if unset is not None and unset[index]:
            unset[index] = False
            set_log.append(index)

    def check_type_index(index: int) -> FuncType:
        if index >= len(types):
            raise _Fail(f"unknown type {index}", position)
        t = types[index]
        if not isinstance(t, FuncType):
            raise _Fail(f"type mismatch: type {index} is not a function type", position)
        return t

    def check_results(callee: FuncType, name: str) -> None:
        """A tail call's callee returns what the caller returns (its results are subtypes)."""
        results = func_type.results
        if len(callee.results) != len(results) or not all(
            matches(a, b, types) for a, b in zip(callee.results, results, strict=True)
        ):
            raise _Fail(f"type mismatch: {name} returns {list(callee.results)}", position)

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
        if instr.imm[0] != instr.op.align and instr.op in _ATOMIC:
            raise _Fail("atomic alignment must be natural", position)
        if instr.imm[1] > 0xFFFFFFFF and not c.memories[instr.imm[2]].is_64:
            raise _Fail("offset out of range", position)

    def check_table(index: int) -> ValType:
        if index >= len(c.tables):
            raise _Fail(f"unknown table {index}", position)
        return c.tables[index].element

    def table_address(index: int) -> ValType:
        """The address type of a table already checked."""
        return c.tables[index].address_type

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

    def fail(message: str) -> NoReturn:
        raise _Fail(message, position)

    gc_operands = Operands(pop, pop_reference, push, lambda depth: label(depth).label_types, fail)

    def gc_context() -> GcContext:
        return GcContext(types, c.data_count, c.elem_types)

    local_count = len(local_types)
    has_64_bit = any(t.is_64 for t in c.memories) or any(t.is_64 for t in c.tables)
    op_local_get = _OP["local.get"]
    instructions = enumerate(body) if stack_types is None else _recording(body, vals, stack_types)
    for position, instr in instructions:  # noqa: B007 - closures read position
        op = instr.op
        if op is op_local_get:  # the most frequent instruction by far
            index = instr.imm[0]
            if index >= local_count:
                raise _Fail(f"unknown local {index}", position)
            if unset is not None and unset[index]:
                raise _Fail(f"uninitialized local {index}", position)
            push(local_types[index])
            continue
        params = op.params
        if params is not None:
            # Fixed signature from the table, plus immediate checks by kind.
            kind = op.imm
            results = op.results
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
                    if not matches(c.elem_types[elem_index], element, types):
                        raise _Fail("type mismatch: element segment and table types differ", position)
                elif kind == Imm.ELEM:
                    if instr.imm[0] >= len(c.elem_types):
                        raise _Fail(f"unknown elem segment {instr.imm[0]}", position)
                elif kind == Imm.TABLE_COPY:
                    dst, src = instr.imm
                    if not matches(check_table(src), check_table(dst), types):
                        raise _Fail("type mismatch: tables of different element types", position)
                if has_64_bit:
                    signature = _address_signature(c, instr)
                    if signature is not None:
                        params, results = signature
            frame = ctrls[-1]
            # Fast path: the operands are on the stack with the exact types.
            count = len(params)
            available = len(vals) - frame.height
            if count == 2:
                if available >= 2 and vals[-1] is params[1] and vals[-2] is params[0]:
                    del vals[-2:]
                    vals.extend(results)  # type: ignore[arg-type]
                    continue
            elif count == 1:
                if available >= 1 and vals[-1] is params[0]:
                    vals.pop()
                    vals.extend(results)  # type: ignore[arg-type]
                    continue
            for t in reversed(params):
                if len(vals) == frame.height:
                    if frame.unreachable:
                        continue
                    raise _Fail(f"type mismatch: {op.name} expects {t.text} but the stack is empty", position)
                actual = vals.pop()
                if actual is not t and actual is not None:
                    raise _Fail(f"type mismatch: {op.name} expects {t.text}, got {actual.text}", position)
            vals.extend(results)  # type: ignore[arg-type]
            continue

        name = op.name
        if name == "local.get" or name == "local.set" or name == "local.tee":
            index = instr.imm[0]
            if index >= len(local_types):
                raise _Fail(f"unknown local {index}", position)
            t = local_types[index]
            if name == "local.get":
                if unset is not None and unset[index]:
                    raise _Fail(f"uninitialized local {index}", position)
                push(t)
            elif name == "local.set":
                pop(t)
                set_local(index)
            else:
                pop(t)
                set_local(index)
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
                    carried = (*carried, RefType(False, HeapType.EXN))  # catch_ref: a (ref exn)
                label_types = label(depth).label_types
                if len(label_types) != len(carried) or not all(
                    matches(a, b, types) for a, b in zip(carried, label_types, strict=True)
                ):
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
        elif name == "br_on_null":
            types_ = label(instr.imm[0]).label_types
            operand = pop_reference()
            pop_all(types_)
            vals.extend(types_)
            push(None if operand is None else operand.as_nullable(False))
        elif name == "br_on_non_null":
            types_ = label(instr.imm[0]).label_types
            if not types_ or not isinstance(types_[-1], RefType):
                raise _Fail(f"type mismatch: br_on_non_null to label {instr.imm[0]} without a reference", position)
            operand = pop_reference()
            if operand is not None and not matches(operand.as_nullable(False), types_[-1], types):
                raise _Fail(f"type mismatch: br_on_non_null of {operand.text} to {types_[-1].text}", position)
            pop_all(types_[:-1])
            vals.extend(types_[:-1])
        elif name == "ref.as_non_null":
            operand = pop_reference()
            push(None if operand is None else operand.as_nullable(False))
        elif name == "call_ref" or name == "return_call_ref":
            callee = check_type_index(instr.imm[0])
            pop(RefType(True, instr.imm[0]))
            if name == "return_call_ref":
                check_results(callee, name)
                pop_all(callee.params)
                mark_unreachable()
            else:
                pop_all(callee.params)
                vals.extend(callee.results)
        elif name == "br":
            pop_all(label(instr.imm[0]).label_types)
            mark_unreachable()
        elif name == "br_if":
            pop(I32)
            types_ = label(instr.imm[0]).label_types
            pop_all(types_)
            vals.extend(types_)
        elif name == "br_table":
            pop(I32)
            labels, default = instr.imm
            default_types = label(default).label_types
            arity = len(default_types)
            for depth in labels:
                types_ = label(depth).label_types
                if len(types_) != arity:
                    raise _Fail("type mismatch: br_table targets have different arities", position)
                saved = list(vals)
                pop_all(types_)
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
            pop(table_address(instr.imm[1]))
            pop_all(callee.params)
            vals.extend(callee.results)
        elif name == "return_call" or name == "return_call_indirect":
            # Tail calls (Wasm 3.0): the callee's results become the caller's, so they must match.
            if name == "return_call":
                callee = check_func(instr.imm[0])
            else:
                callee = _indirect_callee(c, check_table, name, instr.imm, position)
                pop(table_address(instr.imm[1]))
            check_results(callee, name)
            pop_all(callee.params)
            mark_unreachable()
        elif name == "drop":
            pop()
        elif name == "select":
            pop(I32)
            t1 = pop()
            t2 = pop()
            for operand_type in (t1, t2):
                if operand_type is not None and operand_type not in _NUMERIC_OR_VECTOR:
                    raise _Fail("type mismatch: select without a type needs numeric operands", position)
            if t1 is not None and t2 is not None and t1 is not t2:
                raise _Fail(f"type mismatch: select operands {t1.text} and {t2.text}", position)
            push(t1 if t1 is not None else t2)  # type: ignore[arg-type]
        elif name == "select_t":
            types_ = instr.imm[0]
            if len(types_) != 1:
                raise _Fail("invalid result arity", position)
            _check_valtype_in_body(c, types_[0], position)
            pop(I32)
            pop(types_[0])
            pop(types_[0])
            push(types_[0])
        elif name == "ref.null":
            _check_valtype_in_body(c, instr.imm[0], position)
            push(instr.imm[0])
        elif name == "ref.is_null":
            pop_reference()
            push(I32)
        elif name == "ref.func":
            index = instr.imm[0]
            check_func(index)
            if index not in c.refs:
                raise _Fail(f"undeclared function reference {index}", position)
            push(RefType(False, c.func_type_indices[index]))
        elif name == "table.get":
            element = check_table(instr.imm[0])
            pop(table_address(instr.imm[0]))
            push(element)
        elif name == "table.set":
            element = check_table(instr.imm[0])
            pop(element)
            pop(table_address(instr.imm[0]))
        elif name == "table.size":
            check_table(instr.imm[0])
            push(table_address(instr.imm[0]))
        elif name == "table.grow":
            element = check_table(instr.imm[0])
            address_type = table_address(instr.imm[0])
            pop(address_type)
            pop(element)
            push(address_type)
        elif name == "table.fill":
            element = check_table(instr.imm[0])
            address_type = table_address(instr.imm[0])
            pop(address_type)
            pop(element)
            pop(address_type)
        elif op.feature == ins.GC:
            check_gc_instruction(gc_context(), instr, gc_operands)
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
    validate_function(c, module.function_type(function.type_index), function.locals, function.body, stack_types)
    return stack_types


def _check_valtype_in_body(c: Context, t: ValType, position: int = 0) -> None:
    if isinstance(t, RefType) and isinstance(t.heap, int) and t.heap >= len(c.types):
        raise _Fail(f"unknown type {t.heap}", position)


def _indirect_callee(
    c: Context, check_table: Callable[[int], ValType], name: str, imm: tuple[int, int], position: int
) -> FuncType:
    """The type ``call_indirect`` and ``return_call_indirect`` call with, once their table is checked."""
    type_index, table_index = imm
    if not matches(check_table(table_index), FUNCREF, c.types):
        raise _Fail(f"type mismatch: {name} needs a funcref table", position)
    if type_index >= len(c.types):
        raise _Fail(f"unknown type {type_index}", position)
    t = c.types[type_index]
    if not isinstance(t, FuncType):
        raise _Fail(f"type mismatch: type {type_index} is not a function type", position)
    return t


def _block_signature_at(
    c: Context, block_type: object, position: int
) -> tuple[tuple[ValType, ...], tuple[ValType, ...]]:
    try:
        return _block_signature(c, block_type)
    except _Fail as failure:
        raise _Fail(failure.args[0], position) from None
