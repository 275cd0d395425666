"""Module instances and instantiation (spec section "Instantiation").

``instantiate`` matches imports by type (``UnknownImportError`` or
``IncompatibleImportError``, both ``LinkError``s naming the import and its
expected and found types), allocates globals, tables and memories, has the
engine compile the functions, applies active element and data segments in
order (a failing one traps, leaving the earlier ones applied, as in Wasm 2.0)
and runs the start function.
"""

from __future__ import annotations

import bisect
import operator
import struct
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, cast

from .. import numeric
from ..binary.decode import function_instruction_offsets
from ..engines.contract import Engine
from ..errors import Exhaustion, IncompatibleImportError, Trap, TrapFrame, UnknownImportError
from ..ir import instructions as ins
from ..ir import subtyping
from ..ir.instructions import Instruction
from ..ir.legacy_exceptions import legacy_lowering, lowering_behind
from ..ir.module import Expr, Import, Module, SegmentMode
from ..ir.types import (
    PAGE_SIZE,
    DefinedType,
    ExternKind,
    FuncType,
    GlobalType,
    Limits,
    MemoryType,
    TableType,
    ValType,
    function_type,
)
from ..records import field, record
from . import frame_chunks, gc_heap
from .memory import MemoryInstance
from .objects import FunctionInstance, GlobalInstance, TableInstance, TagInstance
from .observer import Observer, OriginalPositions
from .operations import memory_init, table_init
from .sandbox import RESOURCE_LIMIT, Sandbox

Extern = FunctionInstance | TableInstance | MemoryInstance | GlobalInstance | TagInstance


@record
class ModuleInstance:
    module: Module
    sandbox: Sandbox = field(default_factory=Sandbox)
    funcs: list[FunctionInstance] = field(default_factory=list)
    tables: list[TableInstance] = field(default_factory=list)
    memories: list[MemoryInstance] = field(default_factory=list)
    globals: list[GlobalInstance] = field(default_factory=list)
    tags: list[TagInstance] = field(default_factory=list)
    exports: dict[str, Extern] = field(default_factory=dict)


class CallerAwareFunction(FunctionInstance):
    """A host function that is given the instance calling it (wasmtime's ``Caller``).

    Engines call a host function as a plain callable, ``code(*args)``, with no word of who calls, so
    the calling instance is bound ahead of time: ``instantiate`` gives every instance that imports a
    caller-aware function its own ``FunctionInstance``, whose ``code`` is ``bind(instance)``, before
    the instance's functions are compiled against their imports.  The function as defined, before
    any instance imports it (called from Python, say), runs ``bind(None)``.

    What the calling instance is, precisely: the instance that imported the function.  A specialised
    copy stays caller-aware, so an instance importing it from another's exports gets its own copy
    bound to itself; only a call through a table from a different instance (``call_indirect`` on an
    element another instance stored) reports the instance that imported it, not the one calling.
    """

    __slots__ = ("bind",)

    def __init__(
        self,
        func_type: FuncType,
        bind: Callable[[ModuleInstance | None], Callable[..., Any]],
        name: str | None = None,
        caller: ModuleInstance | None = None,
    ) -> None:
        super().__init__(func_type, bind(caller), name=name, host=True)
        self.bind = bind

    def for_caller(self, caller: ModuleInstance) -> CallerAwareFunction:
        """This function as ``caller`` imports it."""
        return CallerAwareFunction(self.type, self.bind, self.name, caller)


def _limits_match(actual: Limits, expected: Limits) -> bool:
    """Import subtyping of limits: at least as large, at most as permissive."""
    if actual.min < expected.min:
        return False
    if expected.max is None:
        return True
    return actual.max is not None and actual.max <= expected.max


ExternType = FuncType | TableType | MemoryType | GlobalType


def func_type_text(func_type: FuncType) -> str:
    """``(i32, i64) -> f32``: a function type as link errors and reprs show it."""
    params = ", ".join(t.text for t in func_type.params)
    results = func_type.results
    shown = results[0].text if len(results) == 1 else "(" + ", ".join(t.text for t in results) + ")"
    return f"({params}) -> {shown}"


def extern_type_text(kind: ExternKind, extern_type: ExternType) -> str:
    """An import's or extern's type in words: ``func (i32) -> i32``, ``memory (min 1, max none)``,
    ``table funcref (min 2, max 10)``, ``global (mut i64)``, ``tag (i32) -> ()``."""
    if isinstance(extern_type, FuncType):
        return f"{'tag' if kind == ExternKind.TAG else 'func'} {func_type_text(extern_type)}"
    if isinstance(extern_type, TableType):
        address = "i64 " if extern_type.is_64 else ""
        return f"table {address}{extern_type.element.text} {_limits_text(extern_type.limits)}"
    if isinstance(extern_type, MemoryType):
        shared = " shared" if extern_type.shared else ""
        if extern_type.page_size != 65536:
            shared += f" (pagesize {extern_type.page_size})"
        return f"memory {'i64 ' if extern_type.is_64 else ''}{_limits_text(extern_type.limits)}{shared}"
    value = extern_type.valtype.text
    return f"global (mut {value})" if extern_type.mutable else f"global {value}"


def _limits_text(limits: Limits) -> str:
    return f"(min {limits.min}, max {'none' if limits.max is None else limits.max})"


def current_type(extern: Extern) -> tuple[ExternKind, ExternType]:
    """What an extern is now, as import matching sees it: a table's or memory's current size is its
    minimum (spec section "Import Subtyping" matches the instance, not its declaration)."""
    if isinstance(extern, FunctionInstance):
        return ExternKind.FUNC, extern.type
    if isinstance(extern, TableInstance):
        limits = Limits(len(extern.elements), extern.type.limits.max)
        return ExternKind.TABLE, TableType(extern.type.element, limits, extern.type.is_64)
    if isinstance(extern, MemoryInstance):
        limits = Limits(extern.pages, extern.type.limits.max)
        return ExternKind.MEMORY, MemoryType(limits, extern.type.is_64, extern.type.shared, extern.type.page_size)
    if isinstance(extern, TagInstance):
        return ExternKind.TAG, extern.type
    return ExternKind.GLOBAL, extern.type


def expected_type(imp: Import, types: list[DefinedType]) -> ExternType:
    """The type an import asks for (functions and tags name theirs by index)."""
    return function_type(types[imp.desc]) if isinstance(imp.desc, int) else imp.desc


def check_import(
    imp: Import, provided: Extern, types: list[DefinedType], closed_types: list[DefinedType] | None = None
) -> None:
    """Raise ``IncompatibleImportError`` unless ``provided`` matches ``imp`` (spec section "Import
    Subtyping": the same kind; functions, tags and globals of the same type; tables and memories at
    least as large, with a maximum no larger).  ``closed_types`` are ``types`` closed, when the caller
    has them (closing a module's types once, not once per import: CPython's 649 imports spent ~0.2 s)."""
    expected = expected_type(imp, types)
    kind, found = current_type(provided)
    found_types = _defined_types(provided)
    if kind == imp.kind:
        if isinstance(expected, TableType):
            assert isinstance(found, TableType)
            # Tables are mutable: element types must match both ways (be equivalent).
            matches = (
                _equivalent(found.element, found_types, expected.element, types)
                and found.is_64 == expected.is_64
                and _limits_match(found.limits, expected.limits)
            )
        elif isinstance(expected, MemoryType):
            assert isinstance(found, MemoryType)
            # The address types must be equal (memory64): an i64 memory is no i32 memory's subtype.
            # So must the shared flags (threads).
            matches = (
                found.is_64 == expected.is_64
                and found.shared == expected.shared
                and found.page_size == expected.page_size
                and _limits_match(found.limits, expected.limits)
            )
        elif isinstance(expected, GlobalType):
            assert isinstance(found, GlobalType)
            # An immutable global may be of a subtype; a mutable one must be of an equivalent type.
            matches = found.mutable == expected.mutable and (
                _equivalent(found.valtype, found_types, expected.valtype, types)
                if expected.mutable
                else subtyping.matches(found.valtype, expected.valtype, found_types, types)
            )
        else:  # functions and tags: equal types, once closed (a function's type already is)
            assert isinstance(expected, FuncType) and isinstance(imp.desc, int)
            closed = (subtyping.closed_types(types) if closed_types is None else closed_types)[imp.desc]
            # GC: a function may be of a declared subtype of the imported type; tags must be equal.
            matches = found == closed or (
                imp.kind == ExternKind.FUNC and isinstance(found, FuncType) and subtyping.closed_matches(found, closed)
            )
        if matches:
            return
    raise IncompatibleImportError(
        imp.module, imp.name, extern_type_text(imp.kind, expected), extern_type_text(kind, found)
    )


def _defined_types(extern: Extern) -> Sequence[DefinedType]:
    """The type list type indices in an extern's type refer to (its defining module's)."""
    if isinstance(extern, TableInstance | GlobalInstance):
        return extern.defined_types
    return ()


def _equivalent(a: ValType, a_types: Sequence[DefinedType], b: ValType, b_types: Sequence[DefinedType]) -> bool:
    return subtyping.matches(a, b, a_types, b_types) and subtyping.matches(b, a, b_types, a_types)


def evaluate_const(
    expr: Expr,
    globals_: list[GlobalInstance],
    funcs: list[FunctionInstance],
    types: Sequence[DefinedType] = (),
    type_ids: Sequence[int] = (),
) -> object:
    """Evaluate a validated constant expression: usually one constant instruction; with extended
    constant expressions (Wasm 3.0) a short stack program of constants, global reads and i32/i64
    add, sub and mul, which wrap as in code; with GC also allocations and conversions (``types``
    and their canonical ``type_ids`` say what to allocate)."""
    if len(expr) == 2 and expr[0].op.feature != ins.GC:  # the common case: one instruction and end
        return _constant(expr[0], globals_, funcs)
    stack: list[Any] = []
    for instr in expr[:-1]:
        arithmetic = _CONST_ARITHMETIC.get(instr.op.name)
        if instr.op.feature == ins.GC:
            gc_heap.evaluate_constant(instr.op.name, instr.imm, stack, types, type_ids)
        elif arithmetic is None:
            stack.append(_constant(instr, globals_, funcs))
        else:
            operation, mask = arithmetic
            right = stack.pop()
            stack.append(operation(stack.pop(), right) & mask)
    return stack[-1]


_CONST_ARITHMETIC: dict[str, tuple[Callable[[int, int], int], int]] = {
    "i32.add": (operator.add, numeric.MASK32),
    "i32.sub": (operator.sub, numeric.MASK32),
    "i32.mul": (operator.mul, numeric.MASK32),
    "i64.add": (operator.add, numeric.MASK64),
    "i64.sub": (operator.sub, numeric.MASK64),
    "i64.mul": (operator.mul, numeric.MASK64),
}


def _constant(instr: Instruction, globals_: list[GlobalInstance], funcs: list[FunctionInstance]) -> object:
    name = instr.op.name
    if name == "i32.const":
        return instr.imm[0] & numeric.MASK32
    if name == "i64.const":
        return instr.imm[0] & numeric.MASK64
    if name == "f32.const":
        return numeric.f32_from_bits(instr.imm[0])
    if name == "f64.const":
        return numeric.f64_from_bits(instr.imm[0])
    if name == "v128.const":
        return instr.imm[0]
    if name == "ref.null":
        return None
    if name == "ref.func":
        return funcs[instr.imm[0]]
    if name == "global.get":
        return globals_[instr.imm[0]].value
    raise Trap(f"unsupported constant instruction {name}")


def instantiate(
    module: Module,
    imports: Mapping[tuple[str, str], Extern],
    engine: Engine,
    sandbox: Sandbox | None = None,
    before_start: Callable[[ModuleInstance], None] | None = None,
    observer: Observer | None = None,
) -> ModuleInstance:
    """Instantiate a validated module; ``imports`` maps (module, name) to externs.

    A ``CallerAwareFunction`` among the imports is specialised for this instance (see that class).
    ``before_start`` sees the instance once its exports exist and its segments
    are in place, before the start function runs: host modules that need the
    guest's memory (WASI) bind it there.
    """
    if sandbox is None:
        sandbox = Sandbox()
    frame_chunks.install()  # wasm calls are Python calls on the Python engines: see frame_chunks
    instance = ModuleInstance(module, sandbox)
    # Function instances carry closed types: an indirect call compares them with another module's.
    runtime_types = subtyping.closed_types(module.types)
    for imp in module.imports:
        provided = imports.get((imp.module, imp.name))
        if provided is None:
            expected = extern_type_text(imp.kind, expected_type(imp, module.types))
            raise UnknownImportError(imp.module, imp.name, expected)
        check_import(imp, provided, module.types, runtime_types)
        if isinstance(provided, CallerAwareFunction):
            # Its own copy, bound to this instance, before the engine compiles calls to it.
            provided = provided.for_caller(instance)
        if imp.kind == ExternKind.FUNC:
            instance.funcs.append(provided)  # type: ignore[arg-type]
        elif imp.kind == ExternKind.TABLE:
            instance.tables.append(provided)  # type: ignore[arg-type]
        elif imp.kind == ExternKind.MEMORY:
            instance.memories.append(provided)  # type: ignore[arg-type]
        elif imp.kind == ExternKind.TAG:
            instance.tags.append(provided)  # type: ignore[arg-type]
        else:
            instance.globals.append(provided)  # type: ignore[arg-type]

    first = module.num_imported_funcs()
    # GC: constant expressions allocating structs and arrays tag them with their canonical ids.
    allocates = any(not isinstance(t, FuncType) for t in module.types)
    type_ids = [subtyping.closed_id(t) for t in runtime_types] if allocates else []
    for offset, func in enumerate(module.funcs):
        name = module.names.functions.get(first + offset)
        instance.funcs.append(
            FunctionInstance(
                function_type(runtime_types[func.type_index]), _not_compiled, instance, first + offset, name
            )
        )
    for glob in module.globals:
        value = evaluate_const(glob.init, instance.globals, instance.funcs, module.types, type_ids)
        instance.globals.append(GlobalInstance(glob.type, value, module.types))
    for tag in module.tags:
        instance.tags.append(TagInstance(function_type(runtime_types[tag.type_index])))
    for table in module.tables:
        if table.type.limits.min > sandbox.max_table_elements:
            raise Trap(RESOURCE_LIMIT, f"{RESOURCE_LIMIT}: table of {table.type.limits.min} elements")
        # A table initializer (Wasm 3.0) gives every element its value; without one they are null.
        initial = (
            None
            if table.init is None
            else evaluate_const(table.init, instance.globals, instance.funcs, module.types, type_ids)
        )
        instance.tables.append(TableInstance(table.type, initial, sandbox.max_table_elements, module.types))
    for memory in module.memories:
        # The store's limit counts 64 KiB pages; a memory of custom page size (1 byte) counts its own.
        if memory.type.limits.min * memory.type.page_size > sandbox.max_memory_pages * PAGE_SIZE:
            raise Trap(RESOURCE_LIMIT, f"{RESOURCE_LIMIT}: memory of {memory.type.limits.min} pages")
        instance.memories.append(MemoryInstance(memory.type, sandbox.max_memory_pages))
    sandbox.check_new_instance()

    namespace: dict[str, object] = _engine_namespace(engine)
    for i, function in enumerate(instance.funcs):
        namespace[f"F{i}"] = function
        if i < first:
            namespace[f"f{i}"] = function.code if observer is None else _observed_import(observer, i, function.code)
    for i, table_instance in enumerate(instance.tables):
        namespace[f"T{i}"] = table_instance
    for i, memory_instance in enumerate(instance.memories):
        namespace[f"M{i}"] = memory_instance
    for i, global_instance in enumerate(instance.globals):
        namespace[f"G{i}"] = global_instance
    for i, tag_instance in enumerate(instance.tags):
        namespace[f"TAG{i}"] = tag_instance
    elements: list[Any] = [
        [evaluate_const(e, instance.globals, instance.funcs, module.types, type_ids) for e in seg.init]
        for seg in module.elements
    ]
    datas: list[bytes] = [seg.init for seg in module.datas]
    # Engines run the module without legacy exception handling (lowered to try_table); positions
    # they report are mapped back to the original's (see ir.legacy_exceptions).
    lowering = legacy_lowering(module)
    engine_module = module if lowering is None else lowering.module
    if lowering is not None and observer is not None:
        observer = OriginalPositions(observer, lowering)
    namespace["__wasm_names__"] = module.names.functions
    namespace["__wasm_module__"] = engine_module
    namespace["SANDBOX"] = sandbox
    namespace["CALLS"] = sandbox.calls
    namespace["ELEMS"] = elements
    namespace["DATAS"] = datas
    compiled = engine.compile(engine_module, namespace, sandbox.interruptible, sandbox.fuel is not None, observer)
    for index, code in compiled.items():
        instance.funcs[index].code = code

    for export in module.exports:
        spaces: list[list[Any]] = [instance.funcs, instance.tables, instance.memories, instance.globals, instance.tags]
        instance.exports[export.name] = spaces[export.kind][export.index]

    # Active segments are table.init / memory.init of the whole segment, then
    # a drop; declarative ones are dropped at once.
    for index, seg in enumerate(module.elements):
        if seg.mode is SegmentMode.ACTIVE:
            assert seg.offset is not None
            start = evaluate_const(seg.offset, instance.globals, instance.funcs)
            assert isinstance(start, int)
            table_init(instance.tables[seg.table], elements, index, start, 0, len(elements[index]))
        if seg.mode is not SegmentMode.PASSIVE:
            elements[index] = []
    for index, data in enumerate(module.datas):
        if data.mode is SegmentMode.ACTIVE:
            assert data.offset is not None
            start = evaluate_const(data.offset, instance.globals, instance.funcs)
            assert isinstance(start, int)
            memory_init(instance.memories[data.memory], datas, index, start, 0, len(data.init))
            datas[index] = b""
    for ready in cast("list[Callable[[], object]]", namespace.get("READY", [])):
        ready()
    if before_start is not None:
        before_start(instance)
    if module.start is not None:
        call_function(instance.funcs[module.start], [])
    return instance


def _observed_import(observer: Observer, index: int, code: Callable[..., Any]) -> Callable[..., Any]:
    """An imported function as an observed module sees it: entered and left like its own."""

    def call(*args: Any) -> Any:
        observer.enter(index, args)
        return observer.leave(index, code(*args))

    return call


def _not_compiled(*args: object) -> object:
    raise Trap("function called before its module finished instantiating")


_NAMESPACES: dict[str, dict[str, object]] = {}


def _engine_namespace(engine: Engine) -> dict[str, object]:
    from ..engines.namespace import base_namespace

    base = _NAMESPACES.get(engine.name)
    if base is None:
        base = _NAMESPACES[engine.name] = base_namespace()
    return dict(base)


def call_function(function: FunctionInstance, args: list[object]) -> object:
    """Call with run-time values under the store's sandbox; Python-level
    failures become wasm traps, and every trap gets its wasm backtrace."""
    owner = function.module
    if not isinstance(owner, ModuleInstance):  # a host function: no wasm of any store runs here
        return function.code(*args)
    sandbox = owner.sandbox
    state = sandbox.enter()
    try:
        return function.code(*args)
    except Trap as trap:
        if not trap.frames:
            trap.frames = wasm_frames(trap.__traceback__)
        if sandbox.collection_paused:
            # A call stack ran out of depth: its Python traceback is thousands of engine frames that
            # say nothing the wasm backtrace does not.  Dropped here, they are freed before the
            # garbage collector runs again, so it never walks them (see ``Sandbox.exhausted``).
            trap.__traceback__ = None
        raise
    except RecursionError as error:
        exhausted = Exhaustion("call stack exhausted")
        exhausted.frames = wasm_frames(error.__traceback__)
        raise exhausted from None
    except struct.error as error:
        out_of_bounds = Trap("out of bounds memory access")
        out_of_bounds.frames = wasm_frames(error.__traceback__)
        raise out_of_bounds from None
    finally:
        sandbox.leave(state)


BACKTRACE_FRAMES = 256  # innermost frames a trap's backtrace shows


def wasm_frames(traceback: TracebackType | None) -> list[TrapFrame]:
    """The wasm functions in a Python traceback, innermost first.

    Engines compile functions named ``f<index>`` into a namespace holding the
    module (``__wasm_module__``, as the engines run it: see ir.legacy_exceptions),
    its function names (``__wasm_names__``) and a map from generated lines to
    instructions (``__wasm_lines__``).
    """
    entries = []
    while traceback is not None:
        entries.append(traceback)
        traceback = traceback.tb_next
    found = []  # innermost first; only the tip of a deep recursion is looked at (a trap at depth
    for entry in reversed(entries):  # 20,000 once spent most of its time describing frames)
        frame = entry.tb_frame
        code_name = frame.f_code.co_name
        if code_name.startswith("f") and code_name[1:].isdigit() and "__wasm_names__" in frame.f_globals:
            found.append((frame, int(code_name[1:]), entry.tb_lineno))
            if len(found) == BACKTRACE_FRAMES:
                break
    frames = []
    described: dict[tuple[int, int, int | None], TrapFrame] = {}  # a recursion repeats its frames
    for frame, index, line in found:
        namespace = frame.f_globals
        executing: Any = frame.f_locals.get("function")
        if hasattr(executing, "builder"):  # the baseline interpreter: it knows its block and operation
            locals_ = frame.f_locals
            position = executing.builder.position_of(locals_.get("pc"), locals_.get("op"), locals_.get("at_call"))
        else:  # translated code: its line
            position = _instruction_at(namespace.get("__wasm_lines__"), index, line)
        key = (id(namespace), index, position)
        description = described.get(key)
        if description is None:
            description = described[key] = _describe_frame(namespace, index, position)
        frames.append(description)
    return frames


def _instruction_at(line_maps: Any, func_index: int, line: int) -> int | None:
    if not line_maps or func_index not in line_maps:
        return None
    first_line, starts = line_maps[func_index]
    relative = line - first_line
    at = bisect.bisect_right(starts, (relative, float("inf"))) - 1
    return starts[at][1] if at >= 0 else None


def _describe_frame(namespace: dict[str, Any], func_index: int, position: int | None) -> TrapFrame:
    names = namespace["__wasm_names__"]
    name = f"${names[func_index]}" if func_index in names else f"func[{func_index}]"
    module = namespace.get("__wasm_module__")
    if position is None or not isinstance(module, Module):
        return TrapFrame(func_index, name)
    lowering = lowering_behind(module)
    if lowering is not None:  # the engines ran a lowered body: name the original instruction
        module = lowering.original
        position = lowering.original_position(func_index, position)
        if position is None:
            return TrapFrame(func_index, name)
    offsets = namespace.get("__wasm_offsets__")
    if offsets is None:
        offsets = namespace["__wasm_offsets__"] = function_instruction_offsets(module, module.binary)
    function_offsets = offsets.get(func_index, [])
    offset = function_offsets[position] if position < len(function_offsets) else None
    line = None
    defined = func_index - module.num_imported_funcs()
    if not 0 <= defined < len(module.funcs):  # an imported function's frame has no body to point into
        return TrapFrame(func_index, name, offset)
    lines = module.funcs[defined].source_lines
    if lines is not None and position < len(lines):
        line = lines[position]
    return TrapFrame(func_index, name, offset, line, module.source_name)
