"""Lowering validated wasm functions to LLVM IR with ``llvmlite.ir``, one method per instruction family.

The operand stack exists only at compile time: it holds LLVM SSA values.
Locals and the values that flow to a label (block results, loop parameters)
live in ``alloca`` slots, which LLVM's SROA/mem2reg turns into registers and
phi nodes.  Traps write their code to the context record and return zeros;
every call is followed by a test of that code, so a trap unwinds native
frames by ordinary returns (no setjmp/longjmp), up to the entry trampoline
that Python called.

Linear memory is bounds-checked explicitly (``FunctionLowering.effective_address``):
the end of the access, computed in 64 bits, must not pass the memory's
current size.  Except where guard pages stand for the test
(``ModuleLowering.guarded``: the whole module's optimised code, in a process
whose 32-bit memories have guard regions, see ``runtime.guards``): there a
load or store whose static offset plus width is at most 2 GiB is not tested
but made ``volatile`` (kept, and in order: see ``memory_access``), and a
fault on a guard page is the trap; the code's DWARF line tables say which
instruction faulted (``position_lines``).  Bulk operations, atomics, v128
accesses and memory64 keep their tests everywhere.
Memory 0 is reached through the context's own fields (its base and size
cell: the fast path every program uses); any other memory, with multiple
memories, through its record in ``ctx.memories`` (``abi.MEMORY_RECORD``),
one load further, which LLVM hoists out of loops like the rest.

64-bit memories (memory64) use the same scheme, reservation and all:
``MemoryInstance`` reserves a memory's whole reach up front (its maximum, or
the store's ``max_memory_pages`` when lower, or when it has none: an i64
memory without a maximum reaches 4 GiB by default, more if the store allows),
so its base never moves and its size cell is all machine code reads.  Only
the check differs (``memory64_address``): an i64 address plus a u64 offset
plus the width can pass 2^64, so both additions keep their carry and a carry
traps, where an i32 memory's terms (each below 2^33) cannot wrap and keep
their two plain additions, unchanged.  Guard pages would not help an i64
memory (no reservation covers 2^64 + offset), hence no separate fast path.

Tail calls (``return_call``, ``return_call_indirect``) are LLVM ``musttail``
calls, which the code generator must make as jumps, so a chain of them runs
in constant stack.  ``musttail`` needs the caller's and the callee's
prototypes to match, and a wasm tail call only guarantees that their
*results* match.  So a module that makes tail calls gives every defined
function a second door of one uniform prototype per result type, its *tail
entry* ``R t<index>(ctx, ptr args)``, taking its parameters from u64 slots
(the context's ``tail_args``, which a tail call fills just before it jumps;
the callee reads them before anything else).  A function that makes tail
calls is lowered as its tail entry (so its own tail calls are ``musttail``
from a matching prototype) and its ordinary door ``f<index>`` only passes
its parameters on; any other function keeps its body in ``f<index>`` and
its tail entry passes the slots on to it.  Ordinary calls, and modules
without tail calls, are lowered exactly as before.  (The alternatives: one
uniform prototype for every function would slow every ordinary call; a
trampoline through the host, every tail call.)  Tail calls that leave this
instance's machine code (an imported function, a table entry of another
instance or of the host) and tail calls in lazily compiled code (the tiers
keep functions making tail calls on the Python tiers, which trampoline) are
made as a call and a return.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from llvmlite import ir

from ...ir import instructions as ins
from ...ir.instructions import Catch, Instruction
from ...ir.module import Module, block_signature
from ...ir.types import EXNREF, F32, F64, FUNCREF, I32, I64, PAGE_SIZE, V128, ExternKind, FuncType, RefType, ValType
from ...records import field, record
from ...runtime.guards import OFFSET_LIMIT
from .abi import (
    CALL_INDIRECT,
    CALL_REF,
    CATCH,
    CONTEXT_FIELDS,
    ENTRY_CODE,
    ENTRY_CTX,
    ENTRY_SIGNATURE,
    ENTRY_SIZE,
    ENTRY_TAIL,
    FRAME_RING,
    HOST_CALL,
    MEMORY_BASE,
    MEMORY_GROW,
    MEMORY_RECORD,
    MEMORY_SIZE,
    MIRROR_DIRTY,
    MIRROR_ENTRIES,
    MIRROR_LENGTH,
    OFFSET,
    REFERENCE_ENTRY,
    REFRESH_TABLE,
    RUNTIME_OP,
    RUNTIME_OPS,
    RUNTIME_SIGNATURES,
    STACK_BUDGET,
    TABLE_OPS_64,
    THROW_REF,
    TRAP,
    NotLowered,
    osr_entry_name,
    osr_name,
    slot_count,
    slot_layout,
    stub_names,
)
from .position_lines import PositionLines

I1 = ir.IntType(1)
I8 = ir.IntType(8)
L32 = ir.IntType(32)
L64 = ir.IntType(64)
LF32 = ir.FloatType()
LF64 = ir.DoubleType()
PTR = ir.PointerType()
LV128 = ir.VectorType(I8, 16)
L64X2 = ir.VectorType(L64, 2)
# References are i64 handles into the host's registry of objects (0 is null).
# References of every type are handles (see host.HandleRegistry), 0 for null.
LLVM_TYPE: dict[ValType, ir.Type] = {I32: L32, I64: L64, F32: LF32, F64: LF64, V128: LV128}


# Branch weights of a branch one way of which almost never happens (a trap, a failed call, a stale table): LLVM
# lays that way out of line, so the common path runs straight on without a taken jump.  Without them it
# had put the depth check's trap block in the way of every call: fib 0.091 -> 0.083 s with them.
_RARE = 1
_USUAL = 1 << 20


def unlikely(branch: ir.Instruction) -> None:
    """``branch`` (a ``cbranch``) rarely goes to its first target."""
    branch.set_weights([_RARE, _USUAL])


def likely(branch: ir.Instruction) -> None:
    """``branch`` (a ``cbranch``) nearly always goes to its first target."""
    branch.set_weights([_USUAL, _RARE])


def zero(t: ir.Type) -> ir.Constant:
    if isinstance(t, ir.VectorType):
        return ir.Constant(t, [0] * t.count)
    return ir.Constant(t, 0.0 if isinstance(t, ir.FloatType | ir.DoubleType) else 0)


def llvm_type(t: ValType) -> ir.Type:
    lowered = LLVM_TYPE.get(t)
    if lowered is None and isinstance(t, RefType):
        return L64
    if lowered is None:
        raise NotLowered(f"values of type {t.text}")
    return lowered


def return_type(results: tuple[ValType, ...]) -> ir.Type:
    if not results:
        return ir.VoidType()
    if len(results) == 1:
        return llvm_type(results[0])
    return ir.LiteralStructType([llvm_type(t) for t in results])


# How many results a function can return in registers (x86-64's LLVM return convention: RAX, RDX, RCX for
# integers and references, XMM0-XMM3 for floats and vectors; AArch64 has more).  Past these LLVM returns
# through memory the caller provides, and a ``musttail`` call cannot be made: LLVM aborts the process.
RESULT_REGISTERS = {"integer": 3, "vector": 4}


def returns_in_registers(results: tuple[ValType, ...]) -> bool:
    vectors = sum(1 for t in results if t in (F32, F64, V128))
    return vectors <= RESULT_REGISTERS["vector"] and len(results) - vectors <= RESULT_REGISTERS["integer"]


# The inline-asm constraint that keeps a float in a vector register, for ``opaque``.
FLOAT_BARRIER = "=x,0" if platform.machine().lower() in ("x86_64", "amd64", "i686", "x86") else "=w,0"


# Where control may leave a straight run of code: metered code charges its fuel before these.
FUEL_BOUNDARIES = frozenset(
    ins.BY_NAME[name]
    for name in (
        "block", "loop", "if", "else", "end", "br", "br_if", "br_table", "return", "unreachable",
        "call", "call_indirect", "throw", "throw_ref", "try_table", "return_call", "return_call_indirect",
        "call_ref", "return_call_ref", "br_on_null", "br_on_non_null",
    )
)  # fmt: skip


@record
class Control:
    kind: str  # "func", "block", "loop", "if"
    height: int  # operand stack height below the construct's parameters
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]
    label: ir.Block  # where a branch to this construct goes
    end: ir.Block  # where execution continues after its end
    slots: list[ir.AllocaInstr]  # values carried to ``label``: loop parameters, else results
    end_slots: list[ir.AllocaInstr]  # values carried to ``end``
    entry_values: list[ir.Value] = field(default_factory=list)  # an if's parameters, for its else arm
    else_block: ir.Block | None = None
    reached: bool = False  # something branches to ``end`` or falls into it
    catches: bool = False  # a try_table: its catch dispatch is on the handler stack


class ModuleLowering:
    """Builds one ``ir.Module`` for a wasm module; names carry ``prefix``.

    Eagerly, the IR module holds every function, and calls between them are
    direct.  Lazily (``lazy``), it holds one function (``only``), or none but
    the per-signature stubs (``only`` None): calls go through the context's
    code table, whose entries are stubs into the host until their function
    is machine code.
    """

    def __init__(
        self,
        module: Module,
        prefix: str,
        triple: str,
        interruptible: bool,
        lazy: bool = False,
        only: int | None = None,
        osr: int | None = None,
        metered: bool = False,
        guarded: bool = False,
    ) -> None:
        """``osr``: instead of function ``only`` itself, its entry at the ``loop`` at that position
        (``osr_name``): it takes the locals and operand stack the baseline interpreter had there."""
        self.module = module
        self.prefix = prefix
        self.interruptible = interruptible
        self.metered = metered  # charge fuel per basic block (see FunctionLowering.count_fuel)
        # i32 memories have guard regions (runtime.guards): loads and stores within them go untested.
        self.guarded = guarded
        self.lazy = lazy
        self.osr = osr
        name = prefix if not lazy else f"{prefix}_stubs" if only is None else f"{prefix}_f{only}"
        if osr is not None:
            name = f"{name}_osr{osr}"
        self.ir = ir.Module(name=name)
        self.ir.triple = triple
        # Guarded code says which instruction faulted through line tables (see position_lines).
        self.lines = PositionLines(self.ir, name) if guarded else None
        self.func_types = module.func_types()
        self.first_defined = module.num_imported_funcs()
        self.global_types = module.global_types()
        # Which memories and tables have i64 addresses (memory64): see effective_address.
        self.memories_64 = tuple(t.is_64 for t in module.memory_types())
        if any(t.page_size != PAGE_SIZE for t in module.memory_types()):
            # Its memory.size/grow count 64 KiB pages (the size cell holds bytes, so bounds would hold).
            raise NotLowered("the native engine does not compile memories with custom page sizes yet")
        self.tables_64 = tuple(t.is_64 for t in module.table_types())
        self.functions: dict[int, ir.Function] = {}
        # Lazy code holds one function (or none: the stubs); a module of 46,000 functions is not
        # walked for each.
        if not lazy:
            defined: Iterable[int] = range(self.first_defined, len(self.func_types))
        else:
            defined = [only] if only is not None and only >= self.first_defined else []
        for index in defined:
            t = self.func_types[index]
            if osr is not None:
                osr_signature = ir.FunctionType(return_type(t.results), [PTR, PTR])
                self.functions[index] = mark_context(ir.Function(self.ir, osr_signature, osr_name(prefix, index, osr)))
                continue
            signature = ir.FunctionType(return_type(t.results), [PTR, *(llvm_type(p) for p in t.params)])
            # Not internal: the host reads their addresses for tables' mirrors.
            self.functions[index] = mark_context(ir.Function(self.ir, signature, f"{prefix}_f{index}"))
            if guarded:
                # A guard-page trap is told by the faulting instruction's function: each stays whole.
                self.functions[index].attributes.add("noinline")
        # Tail entries (see the module's docstring): eager whole-module code of a module making tail calls.
        self.tail_entries: dict[int, ir.Function] = {}
        if not lazy and osr is None and any(ins.makes_tail_calls(f.body) for f in module.funcs):
            for index in self.functions:
                t = self.func_types[index]
                self.tail_entries[index] = mark_context(ir.Function(self.ir, tail_signature(t), f"{prefix}_t{index}"))
                if guarded:
                    self.tail_entries[index].attributes.add("noinline")
        self.host_call = self._declare(HOST_CALL, L32, [PTR, L32, PTR])
        self.call_indirect = self._declare(CALL_INDIRECT, L32, [PTR, L32, L32, L32, PTR])
        self.memory_grow = self._declare(MEMORY_GROW, L64, [PTR, L64, L32])
        self.runtime_op = self._declare(RUNTIME_OP, L32, [PTR, L32, PTR])
        self.refresh_table = self._declare(REFRESH_TABLE, ir.VoidType(), [PTR, PTR])
        self.throw_ref = self._declare(THROW_REF, L32, [PTR, L64])
        self.reference_entry = self._declare(REFERENCE_ENTRY, PTR, [PTR, L64])
        self.call_ref = self._declare(CALL_REF, L32, [PTR, L32, L64, PTR])
        self.catch = self._declare(CATCH, L32, [PTR, L32, L32, PTR])
        self._intrinsics: dict[tuple[str, tuple[ir.Type, ...]], ir.Function] = {}
        # Type-based alias analysis: linear memory, the runtime's own records (context
        # fields, the memory's size cell) and global cells never alias one another, so
        # LLVM may keep the memory size and base in registers across a loop's stores.
        root = self.ir.add_metadata([ir.MetaDataString(self.ir, "wasmbox")])
        self.tbaa = {}
        for kind in ("memory", "runtime", "global"):
            node = self.ir.add_metadata([ir.MetaDataString(self.ir, kind), root, ir.Constant(L64, 0)])
            self.tbaa[kind] = self.ir.add_metadata([node, node, ir.Constant(L64, 0)])

    @cached_property
    def may_fault(self) -> frozenset[int]:
        """The defined functions a guard page may stop (guarded code): those with an untested access,
        and those calling one of them directly, or any function indirectly (a table entry of this
        instance is one of its functions; another instance's is entered through the host, anew)."""
        first = self.first_defined
        faulting: set[int] = set()
        callers: dict[int, list[int]] = {}
        indirect: list[int] = []
        for index, function in enumerate(self.module.funcs, first):
            for instr in function.body:
                name = instr.op.name
                if instr.op.imm == ins.Imm.MEMARG and name in ACCESS:
                    if self.untested(instr.imm[2], instr.imm[1], ACCESS[name][1]):
                        faulting.add(index)
                elif name in ("call", "return_call"):
                    callers.setdefault(instr.imm[0], []).append(index)
                elif name in _INDIRECT_CALLS:
                    indirect.append(index)
        if faulting:
            faulting.update(indirect)
        waiting = list(faulting)
        while waiting:
            for caller in callers.get(waiting.pop(), ()):
                if caller not in faulting:
                    faulting.add(caller)
                    waiting.append(caller)
        return frozenset(faulting)

    def untested(self, memory: int, offset: int, width: int) -> bool:
        """Whether a load or store of ``width`` bytes at static ``offset`` of ``memory`` is left to
        guard pages (guarded code, a 32-bit memory, an end within ``OFFSET_LIMIT``): not tested, and
        a fault there names its instruction through the line tables."""
        return self.guarded and not self.memories_64[memory] and offset + width <= OFFSET_LIMIT

    def guard_fault_possible(self, callee: int | None) -> bool:
        """Whether a call of ``callee`` (None: through a table or reference) may end at a guard page
        without returning here (see FunctionLowering.note_frame). Code that is not the guarded
        whole-module code may reach such code through tables, and lazy code through the code table
        too; a call of an import enters wasm again (if at all) through a new entry."""
        if callee is not None and callee < self.first_defined:
            return False
        if self.guarded:
            return bool(self.may_fault) if callee is None else callee in self.may_fault
        return callee is None or self.lazy

    def _declare(self, name: str, result: ir.Type, params: list[ir.Type]) -> ir.Function:
        return ir.Function(self.ir, ir.FunctionType(result, params), name)

    def intrinsic(self, name: str, result: ir.Type, params: list[ir.Type]) -> ir.Function:
        key = (name, (result, *params))
        function = self._intrinsics.get(key)
        if function is None:
            function = self._intrinsics[key] = self._declare(name, result, params)
        return function

    def lower(self) -> None:
        for index, function in self.functions.items():
            tail = self.tail_entries.get(index)
            if tail is not None and ins.makes_tail_calls(self.module.funcs[index - self.first_defined].body):
                FunctionLowering(self, index, tail, tail_body=True).lower()
                self._pass_on(function, tail, self.func_types[index], through_slots=True)
            else:
                FunctionLowering(self, index, function, self.osr).lower()
                if tail is not None:
                    self._pass_on(tail, function, self.func_types[index], through_slots=False)
            self._entry(index)

    def _pass_on(self, door: ir.Function, body: ir.Function, t: FuncType, through_slots: bool) -> None:
        """Define ``door`` as a call of ``body`` with the same parameters: from its arguments into
        slots of its own (an ordinary door to a tail entry), or from the slots it is given into
        arguments (a tail entry to an ordinary function)."""
        b = ir.IRBuilder(door.append_basic_block())
        ctx = door.args[0]
        if through_slots:
            slots = b.alloca(ir.ArrayType(L64, max(slot_count(t.params), 1)))
            for at, value, p in zip(slot_layout(t.params), door.args[1:], t.params, strict=True):
                store_slot(b, slots, at, value, p)
            result = b.call(body, [ctx, slots])
        else:
            args = door.args[1]
            values = [load_slot(b, args, at, p) for at, p in zip(slot_layout(t.params), t.params, strict=True)]
            result = b.call(body, [ctx, *values])
        if t.results:
            b.ret(result)
        else:
            b.ret_void()

    def signature(self, t: FuncType) -> ir.FunctionType:
        return ir.FunctionType(return_type(t.results), [PTR, *(llvm_type(p) for p in t.params)])

    def lower_stubs(self) -> None:
        """``stub(ctx, args...)``: native code calling a function that is not machine code (yet) calls
        through the host whatever runs it now (``f<callee>`` in the instance's namespace: a Python
        tier), with the arguments and results in u64 slots."""
        for t, name in stub_names(self.func_types, self.first_defined, self.prefix).items():
            signature = self.signature(t)
            stub = ir.Function(self.ir, signature, name)
            b = ir.IRBuilder(stub.append_basic_block())
            ctx = stub.args[0]
            callee = b.load(b.gep(ctx, [ir.Constant(L64, OFFSET["callee"])], source_etype=I8), typ=L64)
            slots = b.alloca(ir.ArrayType(L64, max(slot_count(t.params), slot_count(t.results), 1)))
            for at, value, p in zip(slot_layout(t.params), stub.args[1:], t.params, strict=True):
                store_slot(b, slots, at, value, p)
            status = b.call(self.host_call, [ctx, b.trunc(callee, L32), slots])
            failed = stub.append_basic_block("failed")
            ready = stub.append_basic_block("ready")
            unlikely(b.cbranch(b.icmp_unsigned("!=", status, ir.Constant(L32, 0)), failed, ready))
            b.position_at_end(failed)
            _return(b, signature, [zero(llvm_type(r)) for r in t.results])
            b.position_at_end(ready)
            _return(
                b,
                signature,
                [load_slot(b, slots, at, r) for at, r in zip(slot_layout(t.results), t.results, strict=True)],
            )

    def _entry(self, index: int) -> None:
        """``void entry(ctx, ptr args, ptr results)``: the C-ABI door Python calls through ctypes
        (for an OSR entry ``args`` is the state it takes, passed on as it is)."""
        t = self.func_types[index]
        name = f"{self.prefix}_entry{index}" if self.osr is None else osr_entry_name(self.prefix, index, self.osr)
        entry = ir.Function(self.ir, ir.FunctionType(ir.VoidType(), [PTR, PTR, PTR]), name)
        ctx, args, results = entry.args
        b = ir.IRBuilder(entry.append_basic_block())
        # The outermost entry sets the stack limit STACK_BUDGET below itself; nested
        # entries (wasm -> host -> wasm) keep it, and the outermost clears it on return.
        limit_pointer = b.gep(ctx, [ir.Constant(L64, OFFSET["stack_limit"])], source_etype=I8)
        limit = b.load(limit_pointer, typ=L64)
        outermost = b.icmp_unsigned("==", limit, ir.Constant(L64, 0))
        here = b.ptrtoint(b.alloca(I8), L64)
        b.store(b.select(outermost, b.sub(here, ir.Constant(L64, STACK_BUDGET)), limit), limit_pointer)
        depth_pointer = b.gep(ctx, [ir.Constant(L64, OFFSET["depth"])], source_etype=I8)
        depth = b.load(depth_pointer, typ=L64)
        if self.osr is None:
            values = [load_slot(b, args, at, p) for at, p in zip(slot_layout(t.params), t.params, strict=True)]
        else:
            values = [args]
        value = b.call(self.functions[index], [ctx, *values])
        b.store(limit, limit_pointer)
        b.store(depth, depth_pointer)
        outputs = (
            []
            if not t.results
            else [value]
            if len(t.results) == 1
            else [b.extract_value(value, i) for i in range(len(t.results))]
        )
        for at, out, r in zip(slot_layout(t.results), outputs, t.results, strict=True):
            store_slot(b, results, at, out, r)
        b.ret_void()


# Instructions a leaf may hold: control within the function, locals, globals, the memory's size, and
# the numeric, load and store instructions of the four number types (atomics excluded: waits and
# notifies call the host). Anything else may call out (calls, throws, memory.grow, table and bulk
# operations) and so needs the frame's depth in the context.
_LEAF_NAMES = frozenset(
    (
        "block", "loop", "if", "else", "end", "br", "br_if", "br_table", "return", "unreachable", "nop",
        "drop", "select", "local.get", "local.set", "local.tee", "global.get", "global.set", "memory.size",
    )
)  # fmt: skip


class VolatileLoad(ir.LoadInstr):  # type: ignore[misc]  # (llvmlite is untyped)
    """``load volatile``: a memory access that a guard page checks (FunctionLowering.memory_access)."""

    def descr(self, buf: list[str]) -> None:
        text: list[str] = []
        super().descr(text)
        buf.append("load volatile " + "".join(text)[len("load ") :])


class VolatileStore(ir.StoreInstr):  # type: ignore[misc]
    """``store volatile`` (see VolatileLoad)."""

    def descr(self, buf: list[str]) -> None:
        text: list[str] = []
        super().descr(text)
        buf.append("store volatile " + "".join(text)[len("store ") :])


def mark_context(function: ir.Function) -> ir.Function:
    """Tell LLVM that ``function``'s first argument, the context record, is always a whole record.

    With ``dereferenceable``, LLVM may load the context's fields (the memory's base and size cell,
    the table and global pointers) ahead of a loop even where the loop could leave before reaching
    the load (through a bounds test's trap): a loop's first access no longer reloads them per
    iteration."""
    context = function.args[0]
    context.attributes.dereferenceable = len(CONTEXT_FIELDS) * 8
    context.attributes.align = 8
    context.add_attribute("nonnull")
    context.add_attribute("noundef")
    return function


_INDIRECT_CALLS = frozenset(("call_indirect", "return_call_indirect", "call_ref", "return_call_ref"))


def is_leaf(body: list[Instruction]) -> bool:
    """Whether a function body calls nothing, directly or through the host (see _LEAF_NAMES)."""
    for instr in body:
        name = instr.op.name
        if name in _LEAF_NAMES:
            continue
        if name[:4] in ("i32.", "i64.", "f32.", "f64.") and "atomic" not in name:
            continue
        return False
    return True


def tail_signature(t: FuncType) -> ir.FunctionType:
    """A tail entry's prototype: the results of ``t``; parameters in u64 slots (see the module's docstring)."""
    return ir.FunctionType(return_type(t.results), [PTR, PTR])


def _return(b: ir.IRBuilder, signature: ir.FunctionType, values: list[ir.Value]) -> None:
    """Return ``values`` as a function of ``signature`` returns them (nothing, one, or a struct)."""
    if not values:
        b.ret_void()
    elif len(values) == 1:
        b.ret(values[0])
    else:
        aggregate = ir.Constant(signature.return_type, ir.Undefined)
        for i, value in enumerate(values):
            aggregate = b.insert_value(aggregate, value, i)
        b.ret(aggregate)


def slot_pointer(b: ir.IRBuilder, base: ir.Value, index: int) -> ir.Value:
    """The address of u64 slot ``index`` of an opaque pointer or an ``[N x i64]`` alloca."""
    if base.type.is_opaque:
        return b.gep(base, [ir.Constant(L64, index)], source_etype=L64)
    return b.gep(base, [ir.Constant(L32, 0), ir.Constant(L32, index)], inbounds=True)


def to_bits(b: ir.IRBuilder, value: ir.Value, t: ValType) -> ir.Value:
    """A value as the u64 the host reads (upper half zero for 32-bit types)."""
    if t is I32:
        return b.zext(value, L64)
    if t is F32:
        return b.zext(b.bitcast(value, L32), L64)
    if t is F64:
        return b.bitcast(value, L64)
    return value


def from_bits(b: ir.IRBuilder, bits: ir.Value, t: ValType) -> ir.Value:
    if t is I32:
        return b.trunc(bits, L32)
    if t is F32:
        return b.bitcast(b.trunc(bits, L32), LF32)
    if t is F64:
        return b.bitcast(bits, LF64)
    return bits


def load_slot(b: ir.IRBuilder, base: ir.Value, index: int, t: ValType) -> ir.Value:
    if t is V128:
        pair = ir.Constant(L64X2, [0, 0])
        for half in range(2):
            word = b.load(slot_pointer(b, base, index + half), typ=L64)
            pair = b.insert_element(pair, word, ir.Constant(L32, half))
        return b.bitcast(pair, LV128)
    return from_bits(b, b.load(slot_pointer(b, base, index), typ=L64), t)


def store_slot(b: ir.IRBuilder, base: ir.Value, index: int, value: ir.Value, t: ValType) -> None:
    if t is V128:
        pair = b.bitcast(value, L64X2)
        for half in range(2):
            b.store(b.extract_element(pair, ir.Constant(L32, half)), slot_pointer(b, base, index + half))
        return
    b.store(to_bits(b, value, t), slot_pointer(b, base, index))


class FunctionLowering:  # noqa: PLR0904 - one method per instruction family
    def __init__(
        self, owner: ModuleLowering, index: int, function: ir.Function, osr: int | None = None, tail_body: bool = False
    ) -> None:
        """``osr``: lower the entry at the ``loop`` at this position (on-stack replacement): the
        function's second argument holds its locals and the operand stack there, as u64 slots
        (locals first), and execution starts at that loop's header.  ``tail_body``: lower it as its
        tail entry, its parameters in the slots of its second argument."""
        self.owner = owner
        self.index = index
        self.function = function
        self.osr = osr
        self.tail_body = tail_body
        self.module = owner.module
        self.type = owner.func_types[index]
        body = self.module.funcs[index - owner.first_defined]
        self.local_types = list(self.type.params) + body.locals
        self.body = body.body
        self.leaf = is_leaf(self.body)
        self.stack: list[ir.Value] = []
        self.pending_fuel = 0  # instructions since fuel was last charged (metered code)
        self.controls: list[Control] = []
        self.traps: dict[int, ir.Block] = {}
        self.trap_words: dict[int, ir.PhiInstr] = {}
        self.handlers: list[ir.Block] = []  # catch dispatch of the enclosing try_tables, innermost last
        self.exception_tests: dict[int, ir.Block] = {}
        self.position = 0  # the instruction being lowered
        # The call site whose frame note waits for the call to fail (see note_frame), and the blocks
        # that write such notes, by failure target.
        self.noted_on_failure: int | None = None
        self.failure_notes: dict[int, tuple[ir.Block, ir.PhiInstr]] = {}
        self.lines = owner.lines.function(function) if owner.lines is not None else None

    # --- helpers ---------------------------------------------------------------------
    def ctx_field(self, name: str, t: ir.Type) -> ir.Value:
        pointer = self.b.gep(self.ctx, [ir.Constant(L64, OFFSET[name])], source_etype=I8)
        return self.tag(self.b.load(pointer, typ=t), "runtime")

    def tag(self, instruction: Any, kind: str) -> Any:
        """Mark a load or store with the alias class of what it touches (see ModuleLowering.tbaa)."""
        instruction.set_metadata("tbaa", self.owner.tbaa[kind])
        return instruction

    def trap_block(self, code: int) -> ir.Block:
        """The block every trap of one kind goes to; a phi says where it happened (for the backtrace)."""
        block = self.traps.get(code)
        if block is None:
            block = self.traps[code] = self.function.append_basic_block(f"trap{code}")
            saved = self.b.block
            self.b.position_at_end(block)
            self.trap_words[code] = self.b.phi(L64)
            depth = self.frame_depth  # (ctx.depth is the same, but for a leaf: see lower)
            self.b.store(depth, self.b.gep(self.ctx, [ir.Constant(L64, OFFSET["trap_depth"])], source_etype=I8))
            self.store_note(self.trap_words[code])
            pointer = self.b.gep(self.ctx, [ir.Constant(L64, OFFSET["trap"])], source_etype=I8)
            self.b.store(ir.Constant(L64, code), pointer)
            self.b.branch(self.unwind)
            self.b.position_at_end(saved)
        return block

    def trap_if(self, condition: ir.Value, kind: str) -> None:
        ok = self.function.append_basic_block("ok")
        unlikely(self.b.cbranch(condition, self.trap_site(kind), ok))
        self.b.position_at_end(ok)

    def trap_site(self, kind: str) -> ir.Block:
        """The trap block for ``kind``, told that the current block traps at this instruction."""
        code = TRAP[kind]
        block = self.trap_block(code)
        self.trap_words[code].add_incoming(ir.Constant(L64, (self.index << 32) | self.position), self.b.block)
        return block

    def note_frame(self, callee: int | None = None, now: bool = False) -> None:
        """Record (function, current instruction) in this frame's slot of the ring, for a backtrace
        through the call made here (``callee``: its index, None when it is not known statically).

        A trap in the callee comes back here by a return, and the failed call's path notes the
        frame then (``check_trap_after_call``), so a call that returns costs nothing. Only where a
        guard page may stop the callee (see ``ModuleLowering.may_fault``) is the note made before
        the call (``now`` for every other place that needs it at once): a guard trap leaves every
        wasm frame at once, without their returns.

        The slot is the frame's own depth, kept in a register (``frame_depth``): ``ctx.depth``
        equals it whenever this function runs, since every callee gives its frame back (or
        the catch that ends an unwind stores it again). Reading it from the context would make
        each call wait on the callee's last store there."""
        if not now and not self.owner.guard_fault_possible(callee):
            self.noted_on_failure = self.position
            return
        self.noted_on_failure = None
        self.store_note(ir.Constant(L64, (self.index << 32) | self.position))

    def store_note(self, word: ir.Value) -> None:
        """``word`` into this frame's slot of the ring."""
        slot = self.b.and_(self.frame_depth, ir.Constant(L64, FRAME_RING - 1))
        self.b.store(word, self.b.gep(self.ctx_field("frames", PTR), [slot], source_etype=L64))

    def noting_failure(self, target: ir.Block) -> ir.Block:
        """A block on a failed call's way to ``target`` that notes this frame (see note_frame): one
        per target, its word a phi of the call sites. Unless the trap is more than a ring deeper:
        the frames unwinding last would then overwrite the innermost frames' notes."""
        found = self.failure_notes.get(id(target))
        if found is None:
            b = self.b
            block = self.function.append_basic_block("note_failed_call")
            write = self.function.append_basic_block("note_failed_call_write")
            saved = b.block
            b.position_at_end(block)
            word = b.phi(L64)
            below_trap = b.sub(self.ctx_field("trap_depth", L64), self.frame_depth)
            b.cbranch(b.icmp_unsigned("<", below_trap, ir.Constant(L64, FRAME_RING)), write, target)
            b.position_at_end(write)
            self.store_note(word)
            b.branch(target)
            b.position_at_end(saved)
            found = self.failure_notes[id(target)] = (block, word)
        block, word = found
        word.add_incoming(ir.Constant(L64, (self.index << 32) | self.position), self.b.block)
        return block

    def failure_target(self) -> ir.Block:
        """Where a call that failed goes: out (unwind), or, inside a try_table, to a test that sends
        an exception (trap code 12) to the catch clauses and anything else out."""
        if not self.handlers:
            return self.unwind
        handler = self.handlers[-1]
        test = self.exception_tests.get(id(handler))
        if test is None:
            test = self.exception_tests[id(handler)] = self.function.append_basic_block("exception?")
            saved = self.b.block
            self.b.position_at_end(test)
            code = self.ctx_field("trap", L64)
            self.b.cbranch(self.b.icmp_unsigned("==", code, ir.Constant(L64, TRAP["exception"])), handler, self.unwind)
            self.b.position_at_end(saved)
        return test

    def check_trap_after_call(self) -> None:
        trapped = self.b.icmp_unsigned("!=", self.ctx_field("trap", L64), ir.Constant(L64, 0))
        ok = self.function.append_basic_block("returned")
        target = self.failure_target()
        if self.noted_on_failure == self.position:
            target = self.noting_failure(target)
        unlikely(self.b.cbranch(trapped, target, ok))
        self.b.position_at_end(ok)

    def call_intrinsic(self, name: str, result: ir.Type, args: list[ir.Value]) -> ir.Value:
        return self.b.call(self.owner.intrinsic(name, result, [a.type for a in args]), args)

    def opaque(self, value: ir.Value) -> ir.Value:
        """``value``, hidden from LLVM's folding behind an empty inline-asm barrier.

        LLVM treats signalling NaNs as quiet ones, so it folds x*1.0, x-0.0,
        x/1.0 or demote(promote(x)) to x, where wasm requires a quiet
        (arithmetic) NaN for a signalling input.  Float constants and promoted
        values pass through this barrier, so no such identity can be seen.

        The barrier reads and writes no memory (``readnone``): without that, LLVM must assume
        the asm may store anywhere, and reloads the memory's base and size after each use: a
        loop computing ``1.0 / x`` lost its hoisted bounds limits (nbody).
        """
        barrier = ir.InlineAsm(ir.FunctionType(value.type, [value.type]), "", FLOAT_BARRIER, False)
        return self.b.call(barrier, [value], attrs=("readnone", "nounwind"))

    def pop(self) -> ir.Value:
        return self.stack.pop()

    def pop_n(self, n: int) -> list[ir.Value]:
        if n == 0:
            return []
        values = self.stack[-n:]
        del self.stack[-n:]
        return values

    def block_signature(self, block_type: object) -> tuple[tuple[ValType, ...], tuple[ValType, ...]]:
        return block_signature(block_type, self.module.types)

    def slots_for(self, types: tuple[ValType, ...]) -> list[ir.AllocaInstr]:
        return [self.entry_alloca(llvm_type(t)) for t in types]

    def entry_alloca(self, t: ir.Type) -> ir.AllocaInstr:
        """A stack slot allocated in the function's first block, where SROA can promote it.

        That block holds only allocas and gets its branch to ``entry`` when the function is
        done, so each alloca is appended (inserting before a terminator costs a search of the
        block: 50,000 nested typed blocks took minutes)."""
        return self.allocas.alloca(t)

    # --- the function ------------------------------------------------------------------
    def lower(self) -> None:
        self.allocas = ir.IRBuilder(self.function.append_basic_block("allocas"))
        self.entry_block = self.function.append_basic_block("entry")
        self.b = ir.IRBuilder(self.entry_block)
        self.ctx = self.function.args[0]
        self.unwind = self.function.append_basic_block("unwind")
        self.locals = [self.b.alloca(llvm_type(t)) for t in self.local_types]
        if self.osr is not None:
            state = self.function.args[1]
            layout = slot_layout(self.local_types)
            for slot, at, t in zip(self.locals, layout, self.local_types, strict=True):
                self.b.store(load_slot(self.b, state, at, t), slot)
            self.state_slot = slot_count(self.local_types)  # where the operand stack's values start
        elif self.tail_body:
            # Read at once: the slots are the context's, which the next tail call fills again.
            params = self.type.params
            for slot, at, t in zip(self.locals, slot_layout(params), params, strict=False):
                self.b.store(load_slot(self.b, self.function.args[1], at, t), slot)
            for slot, t in list(zip(self.locals, self.local_types, strict=True))[len(params) :]:
                self.b.store(zero(llvm_type(t)), slot)
        else:
            for slot, value in zip(self.locals, self.function.args[1:], strict=False):
                self.b.store(value, slot)
            for slot, t in list(zip(self.locals, self.local_types, strict=True))[len(self.type.params) :]:
                self.b.store(zero(llvm_type(t)), slot)
        # The store's max_call_depth: one more frame, or a trap. Returns give it back; the
        # entry trampoline restores it when a trap unwinds.
        # A leaf (which calls nothing: see is_leaf) counts its frame against the limit but does not
        # store it: nothing reads ctx.depth while it runs, and its traps note their place at its own
        # depth (trap_block). Two stores fewer in every call of a comparator or an accessor.
        depth_pointer = self.b.gep(self.ctx, [ir.Constant(L64, OFFSET["depth"])], source_etype=I8)
        depth = self.b.add(self.b.load(depth_pointer, typ=L64), ir.Constant(L64, 1))
        if not self.leaf:
            self.b.store(depth, depth_pointer)
        self.frame_depth = depth
        # (No frame note here: a trap notes its own place, and every call notes its call site.)
        self.trap_if(self.b.icmp_unsigned(">", depth, self.ctx_field("depth_limit", L64)), "call stack exhausted")
        # The stack check: this frame must lie above the limit set at entry (the
        # probe is its own slot, so taking its address pins no local in memory). The slot is
        # static (in the first block): an alloca after the depth test would be a dynamic one,
        # which costs every call a frame pointer and a stack adjustment.
        here = self.b.ptrtoint(self.entry_alloca(I8), L64)
        limit = self.ctx_field("stack_limit", L64)
        self.trap_if(self.b.icmp_unsigned("<", here, limit), "call stack exhausted")
        if self.owner.interruptible:
            self.check_stop()
        body = self.function.append_basic_block("body")
        if self.osr is not None:
            # The function's own start is not entered (LLVM drops it): the OSR block, filled when
            # lowering reaches the loop, enters that loop's header.
            self.osr_block = self.function.append_basic_block("osr")
            self.b.branch(self.osr_block)
        else:
            self.b.branch(body)
        self.b.position_at_end(body)
        results = self.type.results
        ret = self.function.append_basic_block("return")
        end_slots = self.slots_for(results)
        self.controls.append(Control("func", 0, (), results, ret, ret, end_slots, end_slots))
        self.instructions()
        # unwind: a trap is in ctx.trap; return zeros.
        self.b.position_at_end(self.unwind)
        self.emit_ret([zero(llvm_type(t)) for t in results])
        self.b.position_at_end(ret)
        # Give the frame back: the caller's depth, known here without reading the context.
        if not self.leaf:
            depth_pointer = self.b.gep(self.ctx, [ir.Constant(L64, OFFSET["depth"])], source_etype=I8)
            self.b.store(self.b.sub(self.frame_depth, ir.Constant(L64, 1)), depth_pointer)
        self.emit_ret([self.b.load(slot, typ=llvm_type(t)) for slot, t in zip(end_slots, results, strict=True)])
        self.allocas.branch(self.entry_block)

    def emit_ret(self, values: list[ir.Value]) -> None:
        rtype = self.function.function_type.return_type
        if not values:
            self.b.ret_void()
        elif len(values) == 1:
            self.b.ret(values[0])
        else:
            aggregate = ir.Constant(rtype, ir.Undefined)
            for i, value in enumerate(values):
                aggregate = self.b.insert_value(aggregate, value, i)
            self.b.ret(aggregate)

    def check_stop(self) -> None:
        # An atomic load is read afresh every time: another thread sets the flag.
        flag = self.b.load_atomic(self.ctx_field("stop", PTR), "monotonic", 4, typ=L32)
        self.trap_if(self.b.icmp_unsigned("!=", flag, ir.Constant(L32, 0)), "stop")

    def instructions(self) -> None:
        """Lower the body, skipping what no path reaches (after br, return, unreachable)."""
        dead = False
        dead_depth = 0
        for position, instr in enumerate(self.body):
            self.position = position
            op = instr.op
            if dead:
                if op in ins.BLOCK_OPENERS:
                    dead_depth += 1
                elif op is ins.OP_END and dead_depth:
                    dead_depth -= 1
                elif op is ins.OP_END:
                    dead = self.end(False)
                elif op is ins.OP_ELSE and not dead_depth:
                    self.else_arm(False)
                    dead = False
                continue
            if self.owner.metered:
                self.count_fuel(op)
            dead = self.instruction(instr)

    def count_fuel(self, op: Any) -> None:
        """Every executed instruction but ``end``/``else`` costs one unit of fuel, charged (and checked)
        once per straight run of code: wherever control may leave it, the instructions counted so
        far are subtracted from the store's fuel, as the portable engine does."""
        cost = 0 if op is ins.OP_END or op is ins.OP_ELSE else 1
        if op not in FUEL_BOUNDARIES:
            self.pending_fuel += cost
            return
        amount, self.pending_fuel = self.pending_fuel + cost, 0
        if amount:
            b = self.b
            cell = self.ctx_field("fuel", PTR)
            left = b.sub(self.tag(b.load(cell, typ=L64), "runtime"), ir.Constant(L64, amount))
            self.tag(b.store(left, cell), "runtime")
            self.trap_if(b.icmp_signed("<", left, ir.Constant(L64, 0)), "out of fuel")

    # --- control ---------------------------------------------------------------------------
    def branch_to(self, depth: int) -> None:
        """Jump to label ``depth`` carrying its values from the top of the stack."""
        target = self.controls[-1 - depth]
        if target.kind == "loop":
            values, slots = self.stack[len(self.stack) - len(target.params) :], target.slots
        else:
            values, slots = self.stack[len(self.stack) - len(target.results) :], target.end_slots
            target.reached = True
        for value, slot in zip(values if slots else [], slots, strict=True):
            self.b.store(value, slot)
        self.b.branch(target.label)

    def open_block(self, kind: str, block_type: object) -> None:
        params, results = self.block_signature(block_type)
        condition = self.pop() if kind == "if" else None
        end = self.function.append_basic_block(f"{kind}_end")
        end_slots = self.slots_for(results)
        height = len(self.stack) - len(params)
        if kind == "loop":
            header = self.function.append_basic_block("loop")
            slots = self.slots_for(params)
            spilled = self.enter_by_osr(header, slots) if self.osr == self.position else None
            for value, slot in zip(self.pop_n(len(params)), slots, strict=True):
                self.b.store(value, slot)
            self.b.branch(header)
            self.b.position_at_end(header)
            if spilled is not None:
                self.stack = [self.b.load(slot, typ=t) for slot, t in spilled]
            self.stack.extend(self.b.load(s, typ=llvm_type(t)) for s, t in zip(slots, params, strict=True))
            self.controls.append(Control("loop", height, params, results, header, end, slots, end_slots))
            if self.owner.interruptible:
                self.check_stop()
            return
        control = Control(kind, height, params, results, end, end, end_slots, end_slots)
        if kind == "if":
            assert condition is not None
            then = self.function.append_basic_block("then")
            control.else_block = self.function.append_basic_block("else")
            control.entry_values = self.stack[height:]
            test = self.b.icmp_unsigned("!=", condition, ir.Constant(L32, 0))
            self.b.cbranch(test, then, control.else_block)
            self.b.position_at_end(then)
        self.controls.append(control)

    def enter_by_osr(self, header: ir.Block, param_slots: list[ir.AllocaInstr]) -> list[tuple[ir.AllocaInstr, ir.Type]]:
        """The loop OSR enters: fill the OSR block (the values below the loop's parameters from
        the state into slots of their own, the parameters into the loop's slots, then to the
        header), and spill those values on the ordinary path too, so both paths reach the header
        with them in the same slots.  Returns (slot, type) of the values below."""
        from ...validate import operand_types

        types = [t for t in operand_types(self.module, self.index)[self.position] if t is not None]
        assert len(types) == len(self.stack)  # reachable code: every type is known
        below = len(self.stack) - len(param_slots)
        spilled = [(self.entry_alloca(value.type), value.type) for value in self.stack[:below]]
        for (slot, _), value in zip(spilled, self.stack[:below], strict=True):
            self.b.store(value, slot)  # the ordinary path (never entered in this function)
        saved = self.b.block
        self.b.position_at_end(self.osr_block)
        layout = slot_layout(types)
        targets = [slot for slot, _ in spilled] + list(param_slots)
        for slot, at, t in zip(targets, layout, types, strict=True):
            self.b.store(load_slot(self.b, self.function.args[1], self.state_slot + at, t), slot)
        self.b.branch(header)
        self.b.position_at_end(saved)
        return spilled

    def close_arm(self, control: Control, reachable: bool) -> None:
        """The code of the current arm falls into the construct's end."""
        if reachable:
            values = self.pop_n(len(control.results))
            for value, slot in zip(values, control.end_slots, strict=True):
                self.b.store(value, slot)
            self.b.branch(control.end)
            control.reached = True
        del self.stack[control.height :]

    def else_arm(self, reachable: bool) -> None:
        control = self.controls[-1]
        self.close_arm(control, reachable)
        assert control.else_block is not None
        self.b.position_at_end(control.else_block)
        control.else_block = None
        self.stack.extend(control.entry_values)

    def end(self, reachable: bool) -> bool:
        """Close the innermost construct; returns whether code after it is reachable."""
        control = self.controls.pop()
        if control.catches:
            self.handlers.pop()
        if control.kind == "func":
            self.close_arm(control, reachable)
            return False
        self.close_arm(control, reachable)
        if control.else_block is not None:  # an if without else: its parameters are its results
            self.b.position_at_end(control.else_block)
            for value, slot in zip(control.entry_values, control.end_slots, strict=True):
                self.b.store(value, slot)
            self.b.branch(control.end)
            control.reached = True
        self.b.position_at_end(control.end)
        if not control.reached:
            self.b.unreachable()
            return True
        self.stack.extend(
            self.b.load(s, typ=llvm_type(t)) for s, t in zip(control.end_slots, control.results, strict=True)
        )
        return False

    # --- one instruction ---------------------------------------------------------------------
    def instruction(self, instr: Instruction) -> bool:  # noqa: C901, PLR0911, PLR0912 - one branch per family
        """Lower ``instr``; returns True when the code after it is unreachable."""
        op = instr.op
        name = op.name
        imm = instr.imm
        b = self.b
        if name == "local.get":
            self.stack.append(b.load(self.locals[imm[0]], typ=llvm_type(self.local_types[imm[0]])))
        elif name == "local.set":
            b.store(self.pop(), self.locals[imm[0]])
        elif name == "local.tee":
            b.store(self.stack[-1], self.locals[imm[0]])
        elif name in ("i32.const", "i64.const"):
            t = L32 if name == "i32.const" else L64
            bits = 32 if name == "i32.const" else 64
            self.stack.append(ir.Constant(t, imm[0] & ((1 << bits) - 1)))
        elif name == "f32.const":
            self.stack.append(self.opaque(b.bitcast(ir.Constant(L32, imm[0]), LF32)))
        elif name == "f64.const":
            self.stack.append(self.opaque(b.bitcast(ir.Constant(L64, imm[0]), LF64)))
        elif name in NUMERIC:
            operands = self.pop_n(len(op.params or ()))
            self.stack.append(NUMERIC[name](self, *operands))
        elif name in WIDE_ARITHMETIC:
            operands = self.pop_n(len(op.params or ()))
            self.stack += WIDE_ARITHMETIC[name](b, *operands)
        elif op.imm == ins.Imm.MEMARG and name in ACCESS:
            self.memory_access(name, imm[1], imm[2])
        elif name == "nop":
            pass
        elif name == "unreachable":
            b.branch(self.trap_site("unreachable"))
            return True
        elif name == "drop":
            self.pop()
        elif name in ("select", "select_t"):
            first, second, condition = self.pop_n(3)
            test = b.icmp_unsigned("!=", condition, ir.Constant(L32, 0))
            self.stack.append(b.select(test, first, second))
        elif name == "global.get":
            t = self.owner.global_types[imm[0]].valtype
            self.stack.append(self.tag(b.load(self.global_cell(imm[0]), typ=llvm_type(t)), "global"))
        elif name == "global.set":
            self.tag(b.store(self.pop(), self.global_cell(imm[0])), "global")
        elif name == "memory.size":
            size = self.tag(b.load(self.memory_size_cell(imm[0]), typ=L64), "runtime")
            pages = b.lshr(size, ir.Constant(L64, 16))
            self.stack.append(pages if self.owner.memories_64[imm[0]] else b.trunc(pages, L32))
        elif name == "memory.grow":
            # The host grows in u64 pages for either address type; an i32 memory's -1 is 0xFFFFFFFF.
            delta = self.as_u64(self.pop())
            grown = b.call(self.owner.memory_grow, [self.ctx, delta, ir.Constant(L32, imm[0])])
            self.stack.append(grown if self.owner.memories_64[imm[0]] else b.trunc(grown, L32))
            self.check_trap_after_call()
        elif name == "memory.fill":
            self.memory_fill(imm[0])
        elif name == "memory.copy":
            self.memory_copy(imm[0], imm[1])
        elif op.feature in ("simd", "relaxed-simd"):
            self.simd_instruction(name, imm)
        elif name == "ref.null":
            self.stack.append(ir.Constant(L64, 0))
        elif name == "ref.is_null":
            self.stack.append(b.zext(b.icmp_unsigned("==", self.pop(), ir.Constant(L64, 0)), L32))
        elif name == "ref.func":
            # The function's handle, registered by the host the first time (see host.HandleRegistry).
            handles = self.ctx_field("func_refs", PTR)
            known = b.load(b.gep(handles, [ir.Constant(L64, imm[0])], source_etype=L64), typ=L64)
            cached = b.block
            register = self.function.append_basic_block("ref_func_register")
            done = self.function.append_basic_block("ref_func_done")
            b.cbranch(b.icmp_unsigned("!=", known, ir.Constant(L64, 0)), done, register)
            b.position_at_end(register)
            self.runtime_op("ref.func", instr)
            registered, registered_in = self.pop(), b.block
            b.branch(done)
            b.position_at_end(done)
            handle = b.phi(L64)
            handle.add_incoming(known, cached)
            handle.add_incoming(registered, registered_in)
            self.stack.append(handle)
        elif name == "table.set" and self.module.table_types()[imm[0]].element is FUNCREF:
            from .tables import table_set

            table_set(self, instr)
        elif name in RUNTIME_OPS:
            self.runtime_op(name, instr)
        elif name == "call":
            self.call(imm[0])
        elif name == "call_indirect":
            self.indirect_call(imm[0], imm[1])
        elif name == "call_ref":
            self.reference_call(imm[0])
        elif name == "return_call_ref":
            self.return_call_ref(imm[0])
            return True
        elif name == "ref.as_non_null":
            self.trap_if(b.icmp_unsigned("==", self.stack[-1], ir.Constant(L64, 0)), "null reference")
        elif name == "br_on_null" or name == "br_on_non_null":
            # br_on_null branches without the reference, br_on_non_null with it.
            handle = self.pop() if name == "br_on_null" else self.stack[-1]
            taken = self.function.append_basic_block(name)
            after = self.function.append_basic_block(f"{name}_not")
            b.cbranch(
                b.icmp_unsigned("==" if name == "br_on_null" else "!=", handle, ir.Constant(L64, 0)), taken, after
            )
            b.position_at_end(taken)
            self.branch_to(imm[0])
            b.position_at_end(after)
            if name == "br_on_null":
                self.stack.append(handle)
            else:
                self.pop()
        elif name == "return":
            self.branch_to(len(self.controls) - 1)
            return True
        elif name == "return_call":
            self.return_call(imm[0])
            return True
        elif name == "return_call_indirect":
            self.return_call_indirect(imm[0], imm[1])
            return True
        elif name in ("block", "loop", "if"):
            self.open_block(name, imm[0])
        elif name == "try_table":
            self.try_table(*imm)
        elif name == "throw":
            self.throw(imm[0])
            return True
        elif name == "throw_ref":
            self.b.call(self.owner.throw_ref, [self.ctx, self.pop()])
            self.b.branch(self.failure_target())
            return True
        elif name == "else":
            self.else_arm(True)
        elif name == "end":
            return self.end(True)
        elif name == "br":
            self.branch_to(imm[0])
            return True
        elif name == "br_if":
            condition = self.pop()
            taken = self.function.append_basic_block("br_if")
            after = self.function.append_basic_block("br_if_not")
            b.cbranch(b.icmp_unsigned("!=", condition, ir.Constant(L32, 0)), taken, after)
            b.position_at_end(taken)
            self.branch_to(imm[0])
            b.position_at_end(after)
        elif name == "br_table":
            self.branch_table(*imm)
            return True
        else:
            raise NotLowered(f"the native engine does not compile {name} yet")
        return False

    def simd_instruction(self, name: str, imm: tuple[Any, ...]) -> None:
        from . import simd

        if name == "v128.const":
            self.stack.append(self.opaque(ir.Constant(LV128, list(bytes(imm[0])))))
        elif name in simd.SIMD:
            arity = len(ins.BY_NAME[name].params or ())
            self.stack.append(simd.SIMD[name](self, *self.pop_n(arity)))
        elif name.endswith(".splat") and not name.startswith("v128."):
            self.stack.append(simd.splat(self, name.split(".")[0], self.pop()))
        elif "extract_lane" in name:
            self.stack.append(simd.extract_lane(self, name, self.pop(), imm[0]))
        elif "replace_lane" in name:
            scalar = self.pop()
            self.stack.append(simd.replace_lane(self, name, self.pop(), imm[0], scalar))
        elif name == "i8x16.shuffle":
            a, c = self.pop_n(2)
            self.stack.append(simd.shuffle(self, a, c, imm[0]))
        elif name.startswith("v128.load") or name.startswith("v128.store"):
            simd.memory(self, name, imm)
        else:
            raise NotLowered(f"the native engine does not compile {name} yet")

    def tag_type(self, tag_index: int) -> FuncType:
        imported = [imp.desc for imp in self.module.imported(ExternKind.TAG)]
        type_indices = [*imported, *(tag.type_index for tag in self.module.tags)]
        return self.module.function_type(type_indices[tag_index])  # type: ignore[arg-type]

    def throw(self, tag_index: int) -> None:
        """Put the payload and the tag's id in the context record, then fail as a trap would: a
        ``try_table`` in machine code catches it there, with no call into the host (the host makes
        a Python exception of it only when it leaves machine code or is caught by reference)."""
        b = self.b
        t = self.tag_type(tag_index)
        values = self.pop_n(len(t.params))
        buffer = self.ctx_field("exn_payload", PTR)
        for at, value, p in zip(slot_layout(t.params), values, t.params, strict=True):
            store_slot(b, buffer, at, value, p)
        b.store(self.tag_id(tag_index), b.gep(self.ctx, [ir.Constant(L64, OFFSET["exn_tag"])], source_etype=I8))
        trap = b.gep(self.ctx, [ir.Constant(L64, OFFSET["trap"])], source_etype=I8)
        b.store(ir.Constant(L64, TRAP["exception"]), trap)
        self.note_frame(now=True)
        b.branch(self.failure_target())

    def tag_id(self, tag_index: int) -> ir.Value:
        tags = self.ctx_field("tags", PTR)
        pointer = self.b.gep(tags, [ir.Constant(L64, tag_index)], source_etype=L64)
        return self.tag(self.b.load(pointer, typ=L64), "runtime")

    def caught(self, target: Control, values: list[ir.Value]) -> None:
        """A clause matched: the exception is gone; branch to its label with ``values``."""
        b = self.b
        b.store(ir.Constant(L64, 0), b.gep(self.ctx, [ir.Constant(L64, OFFSET["exn_tag"])], source_etype=I8))
        b.store(ir.Constant(L64, 0), b.gep(self.ctx, [ir.Constant(L64, OFFSET["trap"])], source_etype=I8))
        carried = target.slots if target.kind == "loop" else target.end_slots
        if target.kind != "loop":
            target.reached = True
        for value, slot in zip(values, carried, strict=True):
            b.store(value, slot)
        b.branch(target.label)

    def try_table(self, block_type: object, catches: Any) -> None:
        """A block whose calls and throws, when an exception comes out of them, go to its catch clauses.

        Clauses are tried in order, by tag identity; a match clears the exception and branches to
        its label (relative to the try_table's enclosing blocks) with the payload and/or the
        exnref; no match passes the exception outwards.  An exception thrown by machine code
        (``exn_tag`` set: its payload in the context record) is matched here by tag id, with no
        call into the host; one the host holds as an object (from Python, or rethrown by
        reference), and every clause that wants the exnref, asks the host (``CATCH``), which makes
        the object first if needed.
        """
        b = self.b
        dispatch = self.function.append_basic_block("catch")
        outer = self.failure_target()  # where an uncaught exception goes next
        saved = b.block
        b.position_at_end(dispatch)
        # The frames the exception left did not give back their depth: this frame's is current again.
        b.store(self.frame_depth, b.gep(self.ctx, [ir.Constant(L64, OFFSET["depth"])], source_etype=I8))
        exn_tag_pointer = b.gep(self.ctx, [ir.Constant(L64, OFFSET["exn_tag"])], source_etype=I8)
        for kind, tag_index, label in catches:
            target = self.controls[-1 - label]
            payload = list(self.tag_type(tag_index).params) if kind in (Catch.CATCH, Catch.CATCH_REF) else []
            with_ref = kind in (Catch.CATCH_REF, Catch.CATCH_ALL_REF)
            next_clause = self.function.append_basic_block("next_catch")

            hosted = self.function.append_basic_block("hosted_exception")
            if not with_ref:
                native = self.function.append_basic_block("native_exception")
                in_flight = b.load(exn_tag_pointer, typ=L64)
                b.cbranch(b.icmp_unsigned("!=", in_flight, ir.Constant(L64, 0)), native, hosted)
                b.position_at_end(native)
                if kind == Catch.CATCH:
                    matched_here = self.function.append_basic_block("caught_natively")
                    b.cbranch(b.icmp_unsigned("==", in_flight, self.tag_id(tag_index)), matched_here, next_clause)
                    b.position_at_end(matched_here)
                buffer = self.ctx_field("exn_payload", PTR)
                values = [load_slot(b, buffer, at, t) for at, t in zip(slot_layout(payload), payload, strict=True)]
                self.caught(target, values)
            else:
                b.branch(hosted)
            b.position_at_end(hosted)
            types = [*payload, EXNREF] if with_ref else payload
            slots = self.entry_alloca(ir.ArrayType(L64, max(slot_count(types), 1)))
            tag_operand = ir.Constant(L32, tag_index if kind in (Catch.CATCH, Catch.CATCH_REF) else 0xFFFFFFFF)
            matched = b.call(self.owner.catch, [self.ctx, tag_operand, ir.Constant(L32, int(with_ref)), slots])
            # Still unwinding the exception, or did the host fail meanwhile (trap code changed)?
            answered = self.function.append_basic_block("catch_answered")
            unwinding = b.icmp_unsigned("==", self.ctx_field("trap", L64), ir.Constant(L64, TRAP["exception"]))
            b.cbranch(unwinding, answered, self.unwind)
            b.position_at_end(answered)
            caught = self.function.append_basic_block("caught")
            b.cbranch(b.icmp_unsigned("!=", matched, ir.Constant(L32, 0)), caught, next_clause)
            b.position_at_end(caught)
            self.caught(target, [load_slot(b, slots, at, t) for at, t in zip(slot_layout(types), types, strict=True)])
            b.position_at_end(next_clause)
        b.branch(outer)
        b.position_at_end(saved)
        self.open_block("block", block_type)
        self.controls[-1].catches = True
        self.handlers.append(dispatch)

    def global_cell(self, index: int) -> ir.Value:
        table = self.ctx_field("globals", PTR)
        entry = self.b.gep(table, [ir.Constant(L64, index * 8)], source_etype=I8)
        return self.tag(self.b.load(entry, typ=PTR), "runtime")

    def branch_table(self, labels: tuple[int, ...], default: int) -> None:
        index = self.pop()
        targets: dict[int, ir.Block] = {}
        saved = self.b.block
        for depth in {*labels, default}:
            block = targets[depth] = self.function.append_basic_block(f"br_table{depth}")
            self.b.position_at_end(block)
            self.branch_to(depth)
        self.b.position_at_end(saved)
        switch = self.b.switch(index, targets[default])
        for case, depth in enumerate(labels):
            switch.add_case(ir.Constant(L32, case), targets[depth])

    # --- calls ------------------------------------------------------------------------------
    def call(self, func_index: int) -> None:
        self.note_frame(func_index)
        t = self.owner.func_types[func_index]
        args = self.pop_n(len(t.params))
        if func_index >= self.owner.first_defined and self.owner.lazy:
            self.lazy_call(func_index, t, args)
            return
        if func_index < self.owner.first_defined:
            self.through_slots(
                t, args, lambda slots: [self.owner.host_call, [self.ctx, ir.Constant(L32, func_index), slots]]
            )
            return
        result = self.located(self.b.call(self.owner.functions[func_index], [self.ctx, *args]))
        self.check_trap_after_call()
        self.push_results(t, result)

    def lazy_call(self, func_index: int, t: FuncType, args: list[ir.Value]) -> None:
        """A call through the code table (lazy mode): the callee may still be its stub."""
        b = self.b
        b.store(ir.Constant(L64, func_index), b.gep(self.ctx, [ir.Constant(L64, OFFSET["callee"])], source_etype=I8))
        table = self.ctx_field("code", PTR)
        address = self.tag(b.load(b.gep(table, [ir.Constant(L64, func_index)], source_etype=L64), typ=L64), "runtime")
        result = b.call(b.inttoptr(address, self.owner.signature(t).as_pointer()), [self.ctx, *args])
        self.check_trap_after_call()
        self.push_results(t, result)

    def indirect_call(self, type_index: int, table_index: int) -> None:
        """call_indirect: checks against the table's mirror, then a direct native call when the
        target is this instance's own code, or a call through the host otherwise."""
        self.note_frame()
        t = self.module.function_type(type_index)
        element = self.as_u64(self.pop())
        args = self.pop_n(len(t.params))
        entry = self.table_entry(type_index, table_index, element)
        self.call_entry(t, entry, args, lambda: self.hosted_indirect_call(type_index, table_index, element, args))

    def reference_call(self, type_index: int) -> None:
        """call_ref: the entry of the function the reference names, then the call as call_indirect's."""
        self.note_frame()
        t = self.module.function_type(type_index)
        handle = self.pop()
        args = self.pop_n(len(t.params))
        entry = self.function_entry(handle)
        self.call_entry(t, entry, args, lambda: self.hosted_reference_call(type_index, handle, args))

    def function_entry(self, handle: ir.Value) -> ir.Value:
        """A function reference's entry (as a table's) from ctx.ref_entries, or the host's when there
        is none for its handle yet; once a null one has trapped."""
        b = self.b
        record = self.ctx_field("ref_entries", PTR)
        capacity = b.load(b.gep(record, [ir.Constant(L64, 8)], source_etype=I8), typ=L64)
        lookup = self.function.append_basic_block("ref_entry_lookup")
        from_host = self.function.append_basic_block("ref_entry_host")
        found = self.function.append_basic_block("ref_entry_found")
        b.cbranch(b.icmp_unsigned("<", handle, capacity), lookup, from_host)
        b.position_at_end(lookup)
        entries = b.load(record, typ=PTR)
        cached = b.gep(entries, [b.mul(handle, ir.Constant(L64, ENTRY_SIZE))], source_etype=I8)
        known = b.load(b.gep(cached, [ir.Constant(L64, ENTRY_SIGNATURE)], source_etype=I8), typ=L64)
        b.cbranch(b.icmp_unsigned("!=", known, ir.Constant(L64, 0)), found, from_host)
        b.position_at_end(from_host)
        made = b.call(self.owner.reference_entry, [self.ctx, handle])
        b.branch(found)
        b.position_at_end(found)
        entry = b.phi(PTR)
        entry.add_incoming(cached, lookup)
        entry.add_incoming(made, from_host)
        signature = b.load(b.gep(entry, [ir.Constant(L64, ENTRY_SIGNATURE)], source_etype=I8), typ=L64)
        self.trap_if(b.icmp_unsigned("==", signature, ir.Constant(L64, 0)), "null function reference")
        return entry

    def hosted_reference_call(self, type_index: int, handle: ir.Value, args: list[ir.Value]) -> None:
        """A call_ref the host makes (its results pushed): the function is not this instance's code."""
        self.through_slots(
            self.module.function_type(type_index),
            args,
            lambda slots: [self.owner.call_ref, [self.ctx, ir.Constant(L32, type_index), handle, slots]],
        )

    def call_entry(self, t: FuncType, entry: ir.Value, args: list[ir.Value], hosted: Callable[[], None]) -> None:
        """Call the function of a table entry: natively when it is this instance's code, else
        ``hosted`` makes the call through the host (pushing its results)."""
        b = self.b
        code = b.load(b.gep(entry, [ir.Constant(L64, ENTRY_CODE)], source_etype=I8), typ=L64)
        target_ctx = b.load(b.gep(entry, [ir.Constant(L64, ENTRY_CTX)], source_etype=I8), typ=PTR)
        own = b.and_(b.icmp_unsigned("!=", code, ir.Constant(L64, 0)), b.icmp_unsigned("==", target_ctx, self.ctx))
        direct = self.function.append_basic_block("call_direct")
        hosted_block = self.function.append_basic_block("call_hosted")
        joined = self.function.append_basic_block("call_joined")
        result_slots = self.slots_for(t.results)
        likely(b.cbranch(own, direct, hosted_block))
        # Same instance: a native call through the code pointer.
        b.position_at_end(direct)
        signature_type = ir.FunctionType(return_type(t.results), [PTR, *(llvm_type(p) for p in t.params)])
        result = b.call(b.inttoptr(code, signature_type.as_pointer()), [self.ctx, *args])
        self.check_trap_after_call()
        height = len(self.stack)
        self.push_results(t, result)
        for value, slot in zip(self.pop_n(len(self.stack) - height), result_slots, strict=True):
            b.store(value, slot)
        b.branch(joined)
        # Anything else (a host function, another instance's code): through the host.
        b.position_at_end(hosted_block)
        hosted()
        for value, slot in zip(self.pop_n(len(t.results)), result_slots, strict=True):
            b.store(value, slot)
        b.branch(joined)
        b.position_at_end(joined)
        self.stack.extend(b.load(s, typ=llvm_type(r)) for s, r in zip(result_slots, t.results, strict=True))

    def hosted_indirect_call(self, type_index: int, table_index: int, element: ir.Value, args: list[ir.Value]) -> None:
        """An indirect call the host makes (its results pushed): the table entry is not this instance's code."""
        element32 = self.b.trunc(element, L32)
        self.through_slots(
            self.module.function_type(type_index),
            args,
            lambda slots: [
                self.owner.call_indirect,
                [self.ctx, ir.Constant(L32, type_index), ir.Constant(L32, table_index), element32, slots],
            ],
        )

    def table_entry(self, type_index: int, table_index: int, element: ir.Value) -> ir.Value:
        """The mirror entry an indirect call calls (refreshed first if the table changed), after the
        checks that trap: an element out of range, a null one, one of another type."""
        b = self.b
        table_pointers = self.ctx_field("tables", PTR)
        mirror = b.load(b.gep(table_pointers, [ir.Constant(L64, table_index * 8)], source_etype=I8), typ=PTR)
        dirty = b.load(b.gep(mirror, [ir.Constant(L64, MIRROR_DIRTY)], source_etype=I8), typ=L32)
        refresh = self.function.append_basic_block("refresh_table")
        fresh = self.function.append_basic_block("table_fresh")
        unlikely(b.cbranch(b.icmp_unsigned("!=", dirty, ir.Constant(L32, 0)), refresh, fresh))
        b.position_at_end(refresh)
        b.call(self.owner.refresh_table, [self.ctx, mirror])
        refreshed = b.icmp_unsigned("!=", self.ctx_field("trap", L64), ir.Constant(L64, 0))
        unlikely(b.cbranch(refreshed, self.unwind, fresh))
        b.position_at_end(fresh)
        length = b.load(b.gep(mirror, [ir.Constant(L64, MIRROR_LENGTH)], source_etype=I8), typ=L64)
        self.trap_if_element(b.icmp_unsigned(">=", element, length), "undefined element", element)
        entries = b.load(b.gep(mirror, [ir.Constant(L64, MIRROR_ENTRIES)], source_etype=I8), typ=PTR)
        entry = b.gep(entries, [b.mul(element, ir.Constant(L64, ENTRY_SIZE))], source_etype=I8)
        signature = b.load(b.gep(entry, [ir.Constant(L64, ENTRY_SIGNATURE)], source_etype=I8), typ=L64)
        # The id comes from the context record, never a constant: ids are per process and
        # the machine code may come from the disk cache.
        signatures = self.ctx_field("signatures", PTR)
        expected = self.tag(
            b.load(b.gep(signatures, [ir.Constant(L64, type_index)], source_etype=L64), typ=L64), "runtime"
        )
        # One test on the way to the call: ids are never 0, so a null entry (signature 0) fails it too,
        # and only then is it told apart from one of another type.
        mismatch = self.function.append_basic_block("signature_mismatch")
        matched = self.function.append_basic_block("signature_matched")
        unlikely(b.cbranch(b.icmp_unsigned("!=", signature, expected), mismatch, matched))
        b.position_at_end(mismatch)
        self.trap_if_element(b.icmp_unsigned("==", signature, ir.Constant(L64, 0)), "uninitialized element", element)
        b.branch(self.trap_site("indirect call type mismatch"))
        b.position_at_end(matched)
        return entry

    def trap_if_element(self, condition: ir.Value, kind: str, element: ir.Value) -> None:
        """``trap_if`` for a trap whose message names the table element (ctx.trap_detail), stored only
        on the way to the trap."""
        b = self.b
        site = self.function.append_basic_block("element_trap")
        ok = self.function.append_basic_block("ok")
        unlikely(b.cbranch(condition, site, ok))
        b.position_at_end(site)
        b.store(element, b.gep(self.ctx, [ir.Constant(L64, OFFSET["trap_detail"])], source_etype=I8))
        b.branch(self.trap_site(kind))
        b.position_at_end(ok)

    # --- tail calls (see the module's docstring) ------------------------------------------------
    def return_call(self, func_index: int) -> None:
        """``return_call``: a jump to the callee's tail entry, or (no tail entry: an import, lazily
        compiled code) a call and a return."""
        target = self.owner.tail_entries.get(func_index)
        if target is None or not self.tail_body:
            self.outside_handlers(lambda: self.call(func_index))
            self.branch_to(len(self.controls) - 1)
            return
        t = self.owner.func_types[func_index]
        self.jump_to_tail_entry(target, t, self.pop_n(len(t.params)))

    def return_call_indirect(self, type_index: int, table_index: int) -> None:
        """``return_call_indirect``: the checks of call_indirect, then a jump to the entry's tail entry
        when it is this instance's code, or a call through the host and a return otherwise."""
        if not self.tail_body:
            self.outside_handlers(lambda: self.indirect_call(type_index, table_index))
            self.branch_to(len(self.controls) - 1)
            return
        t = self.module.function_type(type_index)
        element = self.as_u64(self.pop())
        args = self.pop_n(len(t.params))
        entry = self.table_entry(type_index, table_index, element)
        self.tail_call_entry(t, entry, args, lambda: self.hosted_indirect_call(type_index, table_index, element, args))

    def return_call_ref(self, type_index: int) -> None:
        """``return_call_ref``: as return_call_indirect, with the entry of the function referenced."""
        if not self.tail_body:
            self.outside_handlers(lambda: self.reference_call(type_index))
            self.branch_to(len(self.controls) - 1)
            return
        t = self.module.function_type(type_index)
        handle = self.pop()
        args = self.pop_n(len(t.params))
        entry = self.function_entry(handle)
        self.tail_call_entry(t, entry, args, lambda: self.hosted_reference_call(type_index, handle, args))

    def tail_call_entry(
        self, t: FuncType, entry: ir.Value, args: list[ir.Value], hosted_call: Callable[[], None]
    ) -> None:
        """A tail call of a table entry's function: a jump to its tail entry when it is this
        instance's code, else ``hosted_call`` calls it through the host, and a return."""
        b = self.b
        tail = b.load(b.gep(entry, [ir.Constant(L64, ENTRY_TAIL)], source_etype=I8), typ=L64)
        target_ctx = b.load(b.gep(entry, [ir.Constant(L64, ENTRY_CTX)], source_etype=I8), typ=PTR)
        own = b.and_(b.icmp_unsigned("!=", tail, ir.Constant(L64, 0)), b.icmp_unsigned("==", target_ctx, self.ctx))
        direct = self.function.append_basic_block("tail_call_direct")
        hosted = self.function.append_basic_block("tail_call_hosted")
        likely(b.cbranch(own, direct, hosted))
        b.position_at_end(direct)
        self.jump_to_tail_entry(b.inttoptr(tail, tail_signature(t).as_pointer()), t, args)
        b.position_at_end(hosted)
        self.note_frame()
        self.outside_handlers(hosted_call)
        self.branch_to(len(self.controls) - 1)

    def outside_handlers(self, call: Callable[[], None]) -> None:
        """A tail call made as a call and a return (``call`` emits it): an exception from the callee
        leaves this function as it would have after a real tail call, so the try_tables around the
        call do not catch it (core-3.0 try_table.wast, ``return-call-in-try-catch``)."""
        saved, self.handlers = self.handlers, []
        try:
            call()
        finally:
            self.handlers = saved

    def jump_to_tail_entry(self, target: ir.Value, t: FuncType, args: list[ir.Value]) -> None:
        """Put the arguments in the context's tail slots, give back this frame's depth, and leave by a
        ``musttail`` call (a jump: this frame is gone) whose results are this function's."""
        b = self.b
        if not returns_in_registers(t.results):
            # A jump cannot pass results through the caller's memory; the portable engine's tail calls can.
            raise NotLowered(f"tail calls returning {len(t.results)} values ({' '.join(r.text for r in t.results)})")
        slots = self.ctx_field("tail_args", PTR)
        for at, value, p in zip(slot_layout(t.params), args, t.params, strict=True):
            store_slot(b, slots, at, value, p)
        depth_pointer = b.gep(self.ctx, [ir.Constant(L64, OFFSET["depth"])], source_etype=I8)
        b.store(b.sub(self.frame_depth, ir.Constant(L64, 1)), depth_pointer)
        result = self.located(b.call(target, [self.ctx, slots], tail="musttail"))
        if t.results:
            b.ret(result)
        else:
            b.ret_void()

    def through_slots(self, t: FuncType, args: list[ir.Value], call: Callable[[ir.Value], list[Any]]) -> None:
        """A call the host makes: arguments and results pass through an array of u64 slots."""
        count = max(slot_count(t.params), slot_count(t.results), 1)
        slots = self.entry_alloca(ir.ArrayType(L64, count))
        for at, value, p in zip(slot_layout(t.params), args, t.params, strict=True):
            store_slot(self.b, slots, at, value, p)
        function, call_args = call(slots)
        self.b.call(function, call_args)
        # The context's trap, not the returned status: a callback that died of an exception
        # raised outside its own handler (a signal's KeyboardInterrupt on its first line)
        # returns garbage, but the runtime's unraisable hook still sets the trap (host.py).
        self.check_trap_after_call()
        self.stack.extend(
            load_slot(self.b, slots, at, r) for at, r in zip(slot_layout(t.results), t.results, strict=True)
        )

    def push_results(self, t: FuncType, result: ir.Value) -> None:
        if len(t.results) == 1:
            self.stack.append(result)
        elif len(t.results) > 1:
            self.stack.extend(self.b.extract_value(result, i) for i in range(len(t.results)))

    def runtime_op(self, name: str, instr: Instruction) -> None:
        """Table and segment bookkeeping, done by the host on integer operands and immediates."""
        operand_types, result_type = self.runtime_signature(name, instr.imm)
        operands = self.pop_n(len(operand_types))
        code = RUNTIME_OPS.index(name)
        count = 2 + len(instr.imm) + len(operands)
        slots = self.entry_alloca(ir.ArrayType(L64, count))
        self.b.store(ir.Constant(L64, code), slot_pointer(self.b, slots, 0))
        for i, value in enumerate(instr.imm):
            self.b.store(ir.Constant(L64, value), slot_pointer(self.b, slots, 1 + i))
        for i, (value, t) in enumerate(zip(operands, operand_types, strict=True)):
            store_slot(self.b, slots, 1 + len(instr.imm) + i, value, t)
        self.b.call(self.owner.runtime_op, [self.ctx, ir.Constant(L32, code), slots])
        trapped = self.b.icmp_unsigned("!=", self.ctx_field("trap", L64), ir.Constant(L64, 0))
        ok = self.function.append_basic_block("op_ok")
        unlikely(self.b.cbranch(trapped, self.unwind, ok))
        self.b.position_at_end(ok)
        if result_type is not None:
            self.stack.append(load_slot(self.b, slots, 0, result_type))

    def runtime_signature(self, name: str, imm: tuple[Any, ...]) -> tuple[tuple[ValType, ...], ValType | None]:
        """A runtime operation's operand and result types: ``RUNTIME_SIGNATURES``, with the i64 of a
        64-bit table or memory (memory64) for its indices, sizes and lengths.  The slots are u64
        either way; only the LLVM types of the values stored and loaded change."""
        operand_types, result_type = RUNTIME_SIGNATURES[name]
        if name in TABLE_OPS_64:
            return TABLE_OPS_64[name] if self.owner.tables_64[imm[0]] else (operand_types, result_type)
        if name == "table.copy":
            destination, source = (I64 if self.owner.tables_64[i] else I32 for i in imm)
            length = I64 if destination is I64 and source is I64 else I32  # the narrower address type
            return (destination, source, length), None
        if name in ("table.init", "memory.init"):
            addresses = self.owner.tables_64 if name == "table.init" else self.owner.memories_64
            if addresses[imm[1]]:
                return (I64, I32, I32), None
        return operand_types, result_type

    def as_u64(self, value: ir.Value) -> ir.Value:
        """An address, index or length as u64: an i32 one zero-extended, an i64 one as it is."""
        return value if value.type == L64 else self.b.zext(value, L64)

    # --- memory ----------------------------------------------------------------------------
    def memory_record_field(self, memory: int, field: int) -> ir.Value:
        """Where memory ``memory``'s base or size-cell pointer is stored (memory > 0)."""
        records = self.ctx_field("memories", PTR)
        return self.b.gep(records, [ir.Constant(L64, memory * MEMORY_RECORD + field)], source_etype=I8)

    def memory_base(self, memory: int) -> ir.Value:
        if memory == 0:
            return self.ctx_field("mem_base", PTR)
        return self.tag(self.b.load(self.memory_record_field(memory, MEMORY_BASE), typ=PTR), "runtime")

    def memory_size_cell(self, memory: int) -> ir.Value:
        """A pointer to the u64 byte size of memory ``memory``."""
        if memory == 0:
            return self.ctx_field("mem_size", PTR)
        return self.tag(self.b.load(self.memory_record_field(memory, MEMORY_SIZE), typ=PTR), "runtime")

    def effective_address(
        self, address: ir.Value, offset: int, width: int | ir.Value, memory: int = 0, untested: bool = False
    ) -> ir.Value:
        """The host pointer for ``width`` bytes at ``address + offset`` of memory ``memory``, trapping
        when out of bounds.

        No guard pages: ``end = zext(address) + offset + width`` in 64 bits (it cannot wrap: each term
        is below 2^33) must not exceed the memory's current byte size, read from the size cell its
        ``MemoryInstance`` keeps current on grow (and which a shared, imported memory shares).  Memory
        0's base and size cell are fields of the context itself; any other memory's are in its
        ``MEMORY_RECORD`` (``ctx.memories[index]``), one load further.  Bases never move (memories are
        reserved whole up front) and machine code never writes the records, so these loads are tagged
        "runtime" and LLVM may hoist them out of loops that only touch linear memory.

        An i64 memory (memory64) takes the same test with each sum checked for overflow: an address
        near 2^64 plus an offset must trap, never wrap to a small address (``memory64_address``)."""
        b = self.b
        if self.owner.memories_64[memory]:
            return self.memory64_address(address, offset, width, memory)
        index = b.zext(address, L64)
        start = b.add(index, ir.Constant(L64, offset))
        if untested:  # (ModuleLowering.untested)
            return b.gep(self.memory_base(memory), [start], source_etype=I8)  # a guard page traps
        size = self.tag(b.load(self.memory_size_cell(memory), typ=L64), "runtime")
        # index + offset + width <= size, tested as index <= size - (offset + width) (signed: a size below
        # offset + width makes the right side negative, and every index fails): the right side depends
        # on the size alone, so LLVM computes it once outside a loop that does not grow the memory, and
        # each access costs one compare.
        if isinstance(width, int):
            limit = b.sub(size, ir.Constant(L64, offset + width))
        else:
            limit = b.sub(b.sub(size, ir.Constant(L64, offset)), b.zext(width, L64))
        self.trap_if(b.icmp_signed(">", index, limit), "out of bounds memory access")
        return b.gep(self.memory_base(memory), [start], source_etype=I8)

    def memory64_address(self, address: ir.Value, offset: int, width: int | ir.Value, memory: int) -> ir.Value:
        """``effective_address`` for an i64 memory: ``address + offset + width`` in u64 with both
        additions' carries kept; a carry or an end past the size traps.  Offsets and addresses may be
        anything up to 2^64-1; the size is at most the memory's reservation."""
        b = self.b
        with_overflow = ir.LiteralStructType([L64, I1])
        add = self.owner.intrinsic("llvm.uadd.with.overflow.i64", with_overflow, [L64, L64])
        extent = ir.Constant(L64, width) if isinstance(width, int) else self.as_u64(width)
        first = b.call(add, [self.as_u64(address), ir.Constant(L64, offset)])
        start = b.extract_value(first, 0)
        second = b.call(add, [start, extent])
        end = b.extract_value(second, 0)
        size = self.tag(b.load(self.memory_size_cell(memory), typ=L64), "runtime")
        wrapped = b.or_(b.extract_value(first, 1), b.extract_value(second, 1))
        self.trap_if(b.or_(wrapped, b.icmp_unsigned(">", end, size)), "out of bounds memory access")
        return b.gep(self.memory_base(memory), [start], source_etype=I8)

    def memory_access(self, name: str, offset: int, memory: int) -> None:
        """A load or store. Where guard pages stand for the bounds test (ModuleLowering.guarded), the
        access is volatile: LLVM may then neither drop it (an unused load must still trap) nor move
        it past another access (what was stored before a faulting access must be in memory)."""
        stored_type, width, convert = ACCESS[name]
        guarded = self.owner.guarded and not self.owner.memories_64[memory]
        untested = self.owner.untested(memory, offset, width)
        lines = self.lines if untested else None
        if lines is not None:
            self.b.debug_metadata = lines.at(self.position)  # a fault here names this instruction
        if ".store" in name:
            value = self.pop()
            address = self.pop()
            pointer = self.effective_address(address, offset, width, memory, untested)
            if convert is not None:
                value = self.b.trunc(value, ir.IntType(width * 8))
            store = self.tag(self.b.store(value, pointer, align=1), "memory")
            if guarded:
                store.__class__ = VolatileStore
        else:
            address = self.pop()
            pointer = self.effective_address(address, offset, width, memory, untested)
            loaded = self.tag(self.b.load(pointer, typ=stored_type, align=1), "memory")
            if guarded:
                loaded.__class__ = VolatileLoad
            if convert is not None:
                loaded = convert(self.b, loaded)
            if lines is not None:
                loaded = self.keep_whole(loaded)
            self.stack.append(loaded)
        if lines is not None:
            self.b.debug_metadata = None

    def located(self, call: ir.CallInstr) -> ir.CallInstr:
        """A call of a function of this module, with the line 0 location LLVM wants on it where
        functions have line tables (see position_lines)."""
        if self.lines is not None:
            call.set_metadata("dbg", self.lines.unknown)
        return call

    def keep_whole(self, loaded: ir.Value) -> ir.Value:
        """A loaded value through an empty asm barrier, so the load stays a machine instruction of
        its own: x86 would fold it into its user (``add eax, [mem]``), whose line is the user's (see
        position_lines). The barrier comes after the extension of a narrow load, which folds into the
        load itself (``movzx``). It costs a register move at most, and LLVM's knowledge of a narrow
        load's high bits (which compiled C rarely needs: it masks nothing it has just extended)."""
        constraint = FLOAT_BARRIER if isinstance(loaded.type, (ir.FloatType, ir.DoubleType)) else "=r,0"
        barrier = ir.InlineAsm(ir.FunctionType(loaded.type, [loaded.type]), "", constraint, False)
        return self.b.call(barrier, [loaded], attrs=("readnone", "nounwind"))

    def memory_fill(self, memory: int) -> None:
        destination, value, count = self.pop_n(3)
        pointer = self.effective_address(destination, 0, count, memory)
        byte = self.b.trunc(value, I8)
        self.call_intrinsic(
            "llvm.memset.p0.i64", ir.VoidType(), [pointer, byte, self.as_u64(count), ir.Constant(I1, 0)]
        )

    def memory_copy(self, target_memory: int, source_memory: int) -> None:
        # memmove: two imports may be the same memory, so even different indices may overlap.
        destination, source, count = self.pop_n(3)
        target = self.effective_address(destination, 0, count, target_memory)
        origin = self.effective_address(source, 0, count, source_memory)
        self.call_intrinsic(
            "llvm.memmove.p0.p0.i64", ir.VoidType(), [target, origin, self.as_u64(count), ir.Constant(I1, 0)]
        )


# --- numeric instructions: name -> builder of the result from the operands ----------------------


def _binary(method: str) -> Callable[..., ir.Value]:
    return lambda f, a, c: getattr(f.b, method)(a, c)


def _compare(kind: str, predicate: str) -> Callable[..., ir.Value]:
    def lower(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
        if kind == "s":
            flag = f.b.icmp_signed(predicate, a, c)
        elif kind == "u":
            flag = f.b.icmp_unsigned(predicate, a, c)
        else:
            flag = f.b.fcmp_ordered(predicate, a, c) if predicate != "!=" else f.b.fcmp_unordered("!=", a, c)
        return f.b.zext(flag, L32)

    return lower


def _shift(method: str, bits: int) -> Callable[..., ir.Value]:
    def lower(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
        t = ir.IntType(bits)
        return getattr(f.b, method)(a, f.b.and_(c, ir.Constant(t, bits - 1)))

    return lower


def _funnel(name: str, bits: int) -> Callable[..., ir.Value]:
    t = ir.IntType(bits)
    return lambda f, a, c: f.call_intrinsic(f"llvm.{name}.i{bits}", t, [a, a, c])


def _count(name: str, bits: int) -> Callable[..., ir.Value]:
    t = ir.IntType(bits)
    if name == "ctpop":
        return lambda f, a: f.call_intrinsic(f"llvm.ctpop.i{bits}", t, [a])
    return lambda f, a: f.call_intrinsic(f"llvm.{name}.i{bits}", t, [a, ir.Constant(I1, 0)])


def _division(signed: bool, remainder: bool, bits: int) -> Callable[..., ir.Value]:
    t = ir.IntType(bits)
    minimum = ir.Constant(t, 1 << (bits - 1))
    minus_one = ir.Constant(t, (1 << bits) - 1)

    def lower(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
        b = f.b
        f.trap_if(b.icmp_unsigned("==", c, ir.Constant(t, 0)), "integer divide by zero")
        if not signed:
            return b.urem(a, c) if remainder else b.udiv(a, c)
        overflow = b.and_(b.icmp_unsigned("==", a, minimum), b.icmp_unsigned("==", c, minus_one))
        if not remainder:
            f.trap_if(overflow, "integer overflow")
            return b.sdiv(a, c)
        # INT_MIN % -1 is 0 in wasm but undefined in LLVM: divide by 1 instead.
        safe = b.select(overflow, ir.Constant(t, 1), c)
        return b.srem(a, safe)

    return lower


def _eqz(bits: int) -> Callable[..., ir.Value]:
    return lambda f, a: f.b.zext(f.b.icmp_unsigned("==", a, ir.Constant(ir.IntType(bits), 0)), L32)


def _extend_sign(from_bits: int, to: ir.Type) -> Callable[..., ir.Value]:
    return lambda f, a: f.b.sext(f.b.trunc(a, ir.IntType(from_bits)), to)


def _float_unary(intrinsic: str, t: ir.Type) -> Callable[..., ir.Value]:
    suffix = "f32" if t is LF32 else "f64"
    return lambda f, a: f.call_intrinsic(f"llvm.{intrinsic}.{suffix}", t, [a])


def _float_binary_intrinsic(intrinsic: str, t: ir.Type) -> Callable[..., ir.Value]:
    suffix = "f32" if t is LF32 else "f64"
    return lambda f, a, c: f.call_intrinsic(f"llvm.{intrinsic}.{suffix}", t, [a, c])


def _quieted(lower: Callable[..., ir.Value]) -> Callable[..., ir.Value]:
    """min/max return a NaN operand as it is; wasm wants it quiet: a NaN result becomes a + b."""

    def quiet(f: FunctionLowering, a: ir.Value, c: ir.Value) -> ir.Value:
        result = lower(f, a, c)
        unordered = f.b.fcmp_unordered("uno", a, c)
        return f.b.select(unordered, f.b.fadd(a, c), result)

    return quiet


def _negate(t: ir.Type) -> Callable[..., ir.Value]:
    """Flip the sign bit only (wasm's neg is a bit operation, NaNs included)."""
    bits = L32 if t is LF32 else L64
    sign = 1 << (bits.width - 1)
    return lambda f, a: f.b.bitcast(f.b.xor(f.b.bitcast(a, bits), ir.Constant(bits, sign)), t)


def _truncate(source: ir.Type, bits: int, signed: bool) -> Callable[..., ir.Value]:
    """Trapping float-to-int: NaN is an invalid conversion, out of range an overflow."""
    target = ir.IntType(bits)
    suffix = "f32" if source is LF32 else "f64"
    low = -(2.0 ** (bits - 1)) if signed else 0.0
    high = 2.0 ** (bits - 1) if signed else 2.0**bits

    def lower(f: FunctionLowering, a: ir.Value) -> ir.Value:
        b = f.b
        f.trap_if(b.fcmp_unordered("uno", a, a), "invalid conversion to integer")
        whole = f.call_intrinsic(f"llvm.trunc.{suffix}", source, [a])
        in_range = b.and_(
            b.fcmp_ordered(">=", whole, ir.Constant(source, low)), b.fcmp_ordered("<", whole, ir.Constant(source, high))
        )
        f.trap_if(b.not_(in_range), "integer overflow")
        return b.fptosi(whole, target) if signed else b.fptoui(whole, target)

    return lower


def _saturate(source: ir.Type, bits: int, signed: bool) -> Callable[..., ir.Value]:
    target = ir.IntType(bits)
    suffix = "f32" if source is LF32 else "f64"
    name = f"llvm.fpto{'s' if signed else 'u'}i.sat.i{bits}.{suffix}"
    return lambda f, a: f.call_intrinsic(name, target, [a])


L128 = ir.IntType(128)


def _join128(b: ir.IRBuilder, low: ir.Value, high: ir.Value) -> ir.Value:
    return b.or_(b.zext(low, L128), b.shl(b.zext(high, L128), ir.Constant(L128, 64)))


def _halves(b: ir.IRBuilder, value: ir.Value) -> list[ir.Value]:
    return [b.trunc(value, L64), b.trunc(b.lshr(value, ir.Constant(L128, 64)), L64)]


# Wide arithmetic in LLVM's i128 (two results each: the low and the high i64).
WIDE_ARITHMETIC: dict[str, Callable[..., list[ir.Value]]] = {
    "i64.add128": lambda b, a0, a1, b0, b1: _halves(b, b.add(_join128(b, a0, a1), _join128(b, b0, b1))),
    "i64.sub128": lambda b, a0, a1, b0, b1: _halves(b, b.sub(_join128(b, a0, a1), _join128(b, b0, b1))),
    "i64.mul_wide_s": lambda b, x, y: _halves(b, b.mul(b.sext(x, L128), b.sext(y, L128))),
    "i64.mul_wide_u": lambda b, x, y: _halves(b, b.mul(b.zext(x, L128), b.zext(y, L128))),
}
NUMERIC: dict[str, Callable[..., ir.Value]] = {}
for _bits, _t in ((32, L32), (64, L64)):
    _p = f"i{_bits}."
    NUMERIC.update(
        {
            _p + "add": _binary("add"),
            _p + "sub": _binary("sub"),
            _p + "mul": _binary("mul"),
            _p + "and": _binary("and_"),
            _p + "or": _binary("or_"),
            _p + "xor": _binary("xor"),
            _p + "shl": _shift("shl", _bits),
            _p + "shr_s": _shift("ashr", _bits),
            _p + "shr_u": _shift("lshr", _bits),
            _p + "rotl": _funnel("fshl", _bits),
            _p + "rotr": _funnel("fshr", _bits),
            _p + "clz": _count("ctlz", _bits),
            _p + "ctz": _count("cttz", _bits),
            _p + "popcnt": _count("ctpop", _bits),
            _p + "div_s": _division(True, False, _bits),
            _p + "div_u": _division(False, False, _bits),
            _p + "rem_s": _division(True, True, _bits),
            _p + "rem_u": _division(False, True, _bits),
            _p + "eqz": _eqz(_bits),
            _p + "eq": _compare("u", "=="),
            _p + "ne": _compare("u", "!="),
            _p + "lt_s": _compare("s", "<"),
            _p + "lt_u": _compare("u", "<"),
            _p + "gt_s": _compare("s", ">"),
            _p + "gt_u": _compare("u", ">"),
            _p + "le_s": _compare("s", "<="),
            _p + "le_u": _compare("u", "<="),
            _p + "ge_s": _compare("s", ">="),
            _p + "ge_u": _compare("u", ">="),
            _p + "extend8_s": _extend_sign(8, _t),
            _p + "extend16_s": _extend_sign(16, _t),
        }
    )
NUMERIC["i64.extend32_s"] = _extend_sign(32, L64)
for _t, _p in ((LF32, "f32."), (LF64, "f64.")):
    NUMERIC.update(
        {
            _p + "add": _binary("fadd"),
            _p + "sub": _binary("fsub"),
            _p + "mul": _binary("fmul"),
            _p + "div": _binary("fdiv"),
            _p + "sqrt": _float_unary("sqrt", _t),
            _p + "ceil": _float_unary("ceil", _t),
            _p + "floor": _float_unary("floor", _t),
            _p + "trunc": _float_unary("trunc", _t),
            _p + "nearest": _float_unary("roundeven", _t),
            _p + "abs": _float_unary("fabs", _t),
            _p + "neg": _negate(_t),
            _p + "min": _quieted(_float_binary_intrinsic("minimum", _t)),
            _p + "max": _quieted(_float_binary_intrinsic("maximum", _t)),
            _p + "copysign": _float_binary_intrinsic("copysign", _t),
            _p + "eq": _compare("f", "=="),
            _p + "ne": _compare("f", "!="),
            _p + "lt": _compare("f", "<"),
            _p + "gt": _compare("f", ">"),
            _p + "le": _compare("f", "<="),
            _p + "ge": _compare("f", ">="),
        }
    )
NUMERIC.update(
    {
        "i32.wrap_i64": lambda f, a: f.b.trunc(a, L32),
        "i64.extend_i32_s": lambda f, a: f.b.sext(a, L64),
        "i64.extend_i32_u": lambda f, a: f.b.zext(a, L64),
        "f32.demote_f64": lambda f, a: f.b.fptrunc(a, LF32),
        "f64.promote_f32": lambda f, a: f.opaque(f.b.fpext(a, LF64)),
        "i32.reinterpret_f32": lambda f, a: f.b.bitcast(a, L32),
        "i64.reinterpret_f64": lambda f, a: f.b.bitcast(a, L64),
        "f32.reinterpret_i32": lambda f, a: f.b.bitcast(a, LF32),
        "f64.reinterpret_i64": lambda f, a: f.b.bitcast(a, LF64),
    }
)
for _int_bits in (32, 64):
    for _float, _fname in ((LF32, "f32"), (LF64, "f64")):
        for _signed, _s in ((True, "s"), (False, "u")):
            NUMERIC[f"i{_int_bits}.trunc_{_fname}_{_s}"] = _truncate(_float, _int_bits, _signed)
            NUMERIC[f"i{_int_bits}.trunc_sat_{_fname}_{_s}"] = _saturate(_float, _int_bits, _signed)
            NUMERIC[f"{_fname}.convert_i{_int_bits}_{_s}"] = (
                (lambda t: lambda f, a: f.b.sitofp(a, t))(_float)
                if _signed
                else (lambda t: lambda f, a: f.b.uitofp(a, t))(_float)
            )

# Loads and stores: name -> (type in memory, width in bytes, conversion to the stack type or None).
ACCESS: dict[str, tuple[ir.Type, int, Any]] = {
    "i32.load": (L32, 4, None),
    "i64.load": (L64, 8, None),
    "f32.load": (LF32, 4, None),
    "f64.load": (LF64, 8, None),
    "i32.load8_s": (I8, 1, lambda b, v: b.sext(v, L32)),
    "i32.load8_u": (I8, 1, lambda b, v: b.zext(v, L32)),
    "i32.load16_s": (ir.IntType(16), 2, lambda b, v: b.sext(v, L32)),
    "i32.load16_u": (ir.IntType(16), 2, lambda b, v: b.zext(v, L32)),
    "i64.load8_s": (I8, 1, lambda b, v: b.sext(v, L64)),
    "i64.load8_u": (I8, 1, lambda b, v: b.zext(v, L64)),
    "i64.load16_s": (ir.IntType(16), 2, lambda b, v: b.sext(v, L64)),
    "i64.load16_u": (ir.IntType(16), 2, lambda b, v: b.zext(v, L64)),
    "i64.load32_s": (L32, 4, lambda b, v: b.sext(v, L64)),
    "i64.load32_u": (L32, 4, lambda b, v: b.zext(v, L64)),
    "i32.store": (L32, 4, None),
    "i64.store": (L64, 8, None),
    "f32.store": (LF32, 4, None),
    "f64.store": (LF64, 8, None),
    "i32.store8": (I8, 1, True),
    "i32.store16": (ir.IntType(16), 2, True),
    "i64.store8": (I8, 1, True),
    "i64.store16": (ir.IntType(16), 2, True),
    "i64.store32": (L32, 4, True),
}
