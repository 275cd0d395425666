"""The quick compiler: wasm functions straight to x86-64 machine code in one pass, without LLVM.

A cold run cannot wait for LLVM: importing it and setting it up takes the
translation worker ~0.15 s before the first function is compiled, longer than
whole short programs take on wasmtime.  So a hot function first gets this
compiler's code, made on the spot in about a millisecond (as V8's Liftoff and
wasmtime's Winch do), and LLVM's optimised code replaces it when it arrives.

The code keeps to the conventions of the LLVM lowering (``lower.py``), so the
two call each other freely through the context's code table, and the host
calls both the same way:

* ``f(ctx, params...) -> result`` in the System V C calling convention (integers
  and references in RSI, RDX, RCX, R8, R9, floats in XMM0-7, the rest on the
  stack; the result in RAX or XMM0); a trap writes its code to ``ctx.trap``
  and returns zeros, and every caller tests ``ctx.trap`` after a call;
* the frame's depth is counted against ``ctx.depth_limit`` and the stack
  against ``ctx.stack_limit``; each call notes its call site in the frame
  ring, and each trap its place, so backtraces read the same;
* ``entry(ctx, args, results)`` is the door Python calls (u64 slots), and one
  stub per signature sends a call of a function that is not machine code yet
  into the host (``ctx.callee`` names it); an entry at a loop (on-stack
  replacement) takes the baseline's locals and operand stack in u64 slots.

It is a plain stack machine: every local and every operand-stack value has a
slot in the frame (``[rbp - 48 - 8k]``), and each instruction loads its
operands into registers and stores its result back.  RBX holds the context,
R12 the base of memory 0, R13 its size cell, R14 the frame's depth and R15 its
slot in the frame ring.  Slower than LLVM's code (three to five times on the
bench programs), but 50 to 100 times faster than the Python tiers.

Exceptions take the LLVM lowering's way too: ``throw`` puts the payload and
the tag's id in the context record and leaves as a failed call does; a
``try_table``'s handler (out of line) takes what fails in it, matches an
exception thrown by machine code by tag id there, and asks the host
(``CATCH``) for one the host holds as an object or a clause that wants the
exnref.  An exnref is a handle, held as a 64-bit integer.

Functions using anything outside its repertoire (SIMD, references other than
exnref, multiple results, multiple or 64-bit memories, tail calls, bulk memory
and table instructions other than memory.fill/copy, the float min/max) raise
``QuickUnsupported`` and keep to the other tiers.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from functools import cache
from typing import Any

from ...ir import instructions as ins
from ...ir.instructions import Catch
from ...ir.module import Module, block_signature
from ...ir.types import EXNREF, F32, F64, I32, I64, PAGE_SIZE, FuncType, HeapType, RefType, ValType
from . import x86
from .abi import (
    CALL_INDIRECT,
    CATCH,
    ENTRY_CODE,
    ENTRY_CTX,
    ENTRY_SIGNATURE,
    FRAME_RING,
    HOST_CALL,
    MEMORY_GROW,
    MIRROR_DIRTY,
    MIRROR_ENTRIES,
    MIRROR_LENGTH,
    OFFSET,
    REFRESH_TABLE,
    STACK_BUDGET,
    THROW_REF,
    TRAP,
    NotLowered,
    slot_layout,
)
from .x86 import (
    ADD,
    AND,
    CMP,
    OR,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
    RAX,
    RBP,
    RBX,
    RCX,
    RDI,
    RDX,
    RSI,
    RSP,
    SUB,
    XMM0,
    XMM1,
    XOR,
    Assembler,
)


class QuickUnsupported(NotLowered):
    """The quick compiler does not compile this function (it stays on the other tiers)."""


@cache
def quick_supported() -> bool:
    """Whether quick code runs here: Linux on x86-64 with the bit-count and rounding instructions it
    uses (LZCNT, TZCNT, POPCNT, ROUNDSD: every x86-64 CPU of the last decade)."""
    from .object_loader import host_supported

    if not host_supported():
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return {"abm", "bmi1", "popcnt", "sse4_1"} <= flags
    except OSError:
        return False
    return False


INTEGER_ARGUMENTS = (RSI, RDX, RCX, R8, R9)  # after RDI, the context
FLOAT_ARGUMENTS = tuple(range(8))  # XMM0-7
SAVED = (RBX, R12, R13, R14, R15)  # pushed after RBP
FIRST_SLOT = -8 * (len(SAVED) + 1)  # the first slot's displacement from RBP
_NUMBERS = (I32, I64, F32, F64)


def slot(k: int) -> int:
    return FIRST_SLOT - 8 * k


def _is_float(t: ValType) -> bool:
    return t is F32 or t is F64


def _is_exception_reference(t: ValType) -> bool:
    """An exnref (nullable or not): a handle, 64 bits, held and passed as an integer (0: null)."""
    return isinstance(t, RefType) and t.heap in (HeapType.EXN, HeapType.NOEXN)


def _check_types(types: tuple[ValType, ...] | list[ValType], what: str) -> None:
    for t in types:
        if t not in _NUMBERS and not _is_exception_reference(t):
            raise QuickUnsupported(f"{what} of type {t.text}")


@cache
def argument_places(params: tuple[ValType, ...]) -> tuple[tuple[tuple[bool, int], ...], tuple[int, ...]]:
    """Where each parameter travels in the C calling convention: (float, register) for those in
    registers (in order; register -1: on the stack), and the parameter indices passed on the stack (in
    order).  (Once per signature: every call site asks.)"""
    ints, floats = list(INTEGER_ARGUMENTS), list(FLOAT_ARGUMENTS)
    places: list[tuple[bool, int]] = []
    on_stack: list[int] = []
    for i, p in enumerate(params):
        pool = floats if _is_float(p) else ints
        if pool:
            places.append((_is_float(p), pool.pop(0)))
        else:
            places.append((_is_float(p), -1))
            on_stack.append(i)
    return tuple(places), tuple(on_stack)


def _callback_address(name: str) -> int:
    from .host import CALLBACKS

    return ctypes.cast(CALLBACKS[name], ctypes.c_void_p).value or 0


def _libc_address(name: str) -> int:
    function = ctypes.memmove if name == "memmove" else ctypes.memset
    return ctypes.cast(function, ctypes.c_void_p).value or 0


def embedded_addresses() -> list[int]:
    """Every address of this process that quick code holds (the host callbacks, the C library's ``memmove``
    and ``memset``): code made by another process runs here only if its are the same (a forked translation
    worker's are, when the callbacks existed before the fork: see ``translation_worker.plan_quick``)."""
    from .host import CALLBACKS

    return [_callback_address(name) for name in sorted(CALLBACKS)] + [_libc_address("memmove"), _libc_address("memset")]


class _Control:
    __slots__ = ("kind", "base", "params", "results", "label", "end", "else_label", "reached", "handler")

    def __init__(self, kind: str, base: int, params: int, results: int, label: int, end: int) -> None:
        self.kind = kind
        self.base = base  # operand-stack height below the construct's parameters
        self.params = params
        self.results = results
        self.label = label  # where a branch to it goes (a loop's header, else its end)
        self.end = end
        self.else_label: int | None = None
        self.reached = False  # a branch goes to its end
        self.handler: int | None = None  # a try_table's: where a failed call or a throw in it goes


# Conditions of the integer comparisons (after cmp a, b).
_COMPARE = {
    "eq": x86.E, "ne": x86.NE, "lt_s": x86.L, "lt_u": x86.B, "gt_s": x86.G, "gt_u": x86.A,
    "le_s": x86.LE, "le_u": x86.BE, "ge_s": x86.GE, "ge_u": x86.AE,
}  # fmt: skip
_ALU = {"add": ADD, "sub": SUB, "and": AND, "or": OR, "xor": XOR}
_SHIFTS = {"shl": x86.SHL, "shr_s": x86.SAR, "shr_u": x86.SHR, "rotl": x86.ROL, "rotr": x86.ROR}
_FLOAT_BINARY = {"add": 0x58, "mul": 0x59, "sub": 0x5C, "div": 0x5E}
_ROUNDING = {"nearest": 0, "floor": 1, "ceil": 2, "trunc": 3}
# Memory accesses: name -> (width in bytes, sign-extended, 64-bit result).
_LOADS = {
    "i32.load": (4, False, False), "i64.load": (8, False, True), "f32.load": (4, False, False),
    "f64.load": (8, False, True), "i32.load8_s": (1, True, False), "i32.load8_u": (1, False, False),
    "i32.load16_s": (2, True, False), "i32.load16_u": (2, False, False), "i64.load8_s": (1, True, True),
    "i64.load8_u": (1, False, True), "i64.load16_s": (2, True, True), "i64.load16_u": (2, False, True),
    "i64.load32_s": (4, True, True), "i64.load32_u": (4, False, True),
}  # fmt: skip
_STORES = {
    "i32.store": 4, "i64.store": 8, "f32.store": 4, "f64.store": 8, "i32.store8": 1, "i32.store16": 2,
    "i64.store8": 1, "i64.store16": 2, "i64.store32": 4,
}  # fmt: skip
# Float-to-integer truncation bounds: (lowest allowed, whether it is allowed itself, first too high).
_TRUNCATION = {
    ("i32", True, False): (-(2.0**31), True, 2.0**31),
    ("i32", True, True): (-(2.0**31) - 1, False, 2.0**31),
    ("i32", False, False): (-1.0, False, 2.0**32),
    ("i32", False, True): (-1.0, False, 2.0**32),
    ("i64", True, False): (-(2.0**63), True, 2.0**63),
    ("i64", True, True): (-(2.0**63), True, 2.0**63),
    ("i64", False, False): (-1.0, False, 2.0**64),
    ("i64", False, True): (-1.0, False, 2.0**64),
}


_LOCAL_GET = ins.BY_NAME["local.get"]


@cache
def _family(name: str) -> tuple[bool, bool, str] | None:
    """(integer, 64 bits, operation) of an ``iNN.``/``fNN.`` instruction's name other than a load, a store or
    a constant: the families ``integer`` and ``float`` compile; None for any other name."""
    if name in _LOADS or name in _STORES or name.endswith(".const") or name[:4] not in ("i32.", "i64.", "f32.", "f64."):
        return None
    return name[0] == "i", name[1:3] == "64", name[4:]


def _immediate(value: int, wide: bool) -> int | None:
    """A constant operand as an instruction's signed 32-bit immediate (any i32 fits; an i64 if it
    sign-extends from 32 bits), else None."""
    if not wide:
        value &= 0xFFFFFFFF
        return value - (1 << 32) if value >= 1 << 31 else value
    signed = value - (1 << 64) if value >= 1 << 63 else value
    return signed if x86.fits_i32(signed) else None


def _float_bits(value: float, double: bool) -> int:
    return int.from_bytes(struct.pack("<d" if double else "<f", value), "little")


class FunctionCompiler:
    """One function to machine code; see the module's docstring.

    With ``osr`` it is the function's door for on-stack replacement instead:
    ``door(ctx, state, position)`` enters the loop at ``position`` with the
    locals and operand stack in the u64 slots ``state`` (one compilation
    serves every loop of the function: ``loops`` says which were reachable).
    """

    def __init__(self, module: Module, index: int, interruptible: bool, osr: bool = False) -> None:
        self.module = module
        self.index = index
        self.interruptible = interruptible
        self.osr = osr
        self.func_types = module.func_types_shared()
        first = self.first_defined = module.num_imported_funcs()
        function = module.funcs[index - first]
        self.type = self.func_types[index]
        if len(self.type.results) > 1:
            raise QuickUnsupported("multiple results")
        _check_types(self.type.params, "a parameter")
        _check_types(self.type.results, "a result")
        _check_types(function.locals, "a local")
        self.local_types = [*self.type.params, *function.locals]
        self.body = function.body
        self.locals = len(self.local_types)
        memories = module.memory_types()
        self.memory = bool(memories) and not memories[0].is_64 and memories[0].page_size == PAGE_SIZE
        self.global_types = module.global_types()
        self.a = Assembler()
        self.height = 0
        # Values pushed without code (see push_virtual): stack position -> (is a local, local index or bits).
        self.virtual: dict[int, tuple[bool, int]] = {}
        self.max_height = 0
        self.scratch = 1  # u64 slots at RSP for calls through the host
        self.controls: list[_Control] = []
        self.trap_sites: list[tuple[int, int, int, int | None]] = []  # (label, word, code, detail register)
        self.out_of_line: list[Any] = []  # code emitted after the body (branch-table targets)
        self.loops: dict[int, tuple[int, int]] = {}  # position of each reachable loop -> (header, height)
        self.door = 0  # the OSR door's offset in the code
        self.held: tuple[int, int, int] = (-1, RAX, -1)  # (stack position, register, code length): see put_result
        self.held_float: tuple[int, int, int] = (-1, XMM0, -1)  # the same for a float result in an XMM register
        self.position = 0

    # --- slots ----------------------------------------------------------------------------------
    # (The methods below run for nearly every instruction: written for CPython's speed, the compiler's own.)
    def stack_slot(self, k: int) -> int:
        return FIRST_SLOT - 8 * (self.locals + k)

    def push(self) -> int:
        """Make room for a value that code stores in its slot next; the slot's displacement."""
        position = self.height
        self.height = position + 1
        if position >= self.max_height:
            self.max_height = position + 1
        if self.virtual:
            self.virtual.pop(position, None)
        return FIRST_SLOT - 8 * (self.locals + position)

    def push_virtual(self, is_local: bool, value: int) -> None:
        """Push a local's value or a constant without code: its users read it from where it is."""
        position = self.height
        self.height = position + 1
        if position >= self.max_height:
            self.max_height = position + 1
        self.virtual[position] = (is_local, value)

    def pop(self, count: int = 1) -> None:
        virtual = self.virtual
        if virtual:
            if count == 1:
                virtual.pop(self.height - 1, None)
            else:
                for position in range(self.height - count, self.height):
                    virtual.pop(position, None)
        self.height -= count

    def set_height(self, base: int, height: int) -> None:
        """Where control flow joins at a construct's end (or else): the values from ``base`` up are in
        their slots (those below were put there when it opened: see materialize_all)."""
        for position in [p for p in self.virtual if p >= base]:
            del self.virtual[position]
        self.height = height
        self.max_height = max(self.max_height, self.height)

    def top(self, depth: int = 0) -> int:
        return self.stack_slot(self.height - 1 - depth)

    def put_result(self, operands: int, reg: int) -> None:
        """Pop ``operands`` values and push ``reg``'s as the result (stored in its slot; the next
        instruction may take it from ``reg`` still: see load_top)."""
        a = self.a
        a.store(True, RBP, self.result(operands), reg)
        self.held = (self.height - 1, reg, len(a.code))

    def load_top(self, reg: int, w: bool = True, depth: int = 0) -> None:
        """The value ``depth`` below the top into ``reg`` (32 bits zero-extended, or 64)."""
        position = self.height - 1 - depth
        value = self.virtual.get(position)
        if value is None:
            held = self.held
            if held[0] == position and held[2] == len(self.a.code) and self.a.last_bind < held[2]:
                # Stored by the instruction just before, from a register nothing has touched since (and no
                # label bound since: no other way in): a register move, not a load through memory.
                if reg != held[1] or not w:
                    self.a.mov(w, reg, held[1])
                return
            self.a.load(w, reg, RBP, FIRST_SLOT - 8 * (self.locals + position))
        elif value[0]:
            self.a.load(w, reg, RBP, FIRST_SLOT - 8 * value[1])
        else:
            self.a.mov_imm(reg, value[1] if w else value[1] & 0xFFFFFFFF)

    def load_top_float(self, double: bool, xmm: int, depth: int = 0) -> None:
        """The float ``depth`` below the top into ``xmm`` (a constant goes through RAX)."""
        position = self.height - 1 - depth
        value = self.virtual.get(position)
        if value is None:
            held = self.held_float
            if held[0] == position and held[2] == len(self.a.code) and self.a.last_bind < held[2]:
                if xmm != held[1]:  # (see load_top)
                    self.a.movaps(xmm, held[1])
                return
            self.a.load_float(double, xmm, RBP, self.stack_slot(position))
        elif value[0]:
            self.a.load_float(double, xmm, RBP, slot(value[1]))
        else:
            self.a.mov_imm(RAX, value[1])
            self.a.movq_to_xmm(xmm, RAX)

    def write_slot(self, position: int) -> None:
        """Store the value at ``position`` into its own slot, if it is not there (state unchanged: for
        one path of control flow only)."""
        value = self.virtual.get(position)
        if value is not None:
            self.load_top(RAX, True, self.height - 1 - position)
            self.a.store(True, RBP, self.stack_slot(position), RAX)

    def materialize(self, position: int) -> None:
        self.write_slot(position)
        self.virtual.pop(position, None)

    def materialize_all(self) -> None:
        """Every value into its slot: before control flow that may join (blocks, loops)."""
        for position in sorted(p for p in self.virtual if p < self.height):
            self.materialize(position)
        self.virtual.clear()

    def result(self, operands: int) -> int:
        """Pop ``operands`` values and make room for the result; its slot's displacement."""
        virtual = self.virtual
        position = self.height - operands
        if virtual:
            for at in range(position, max(self.height, position + 1)):
                virtual.pop(at, None)
        self.height = position + 1
        if position >= self.max_height:
            self.max_height = position + 1
        return FIRST_SLOT - 8 * (self.locals + position)

    def word(self) -> int:
        return (self.index << 32) | self.position

    # --- traps ------------------------------------------------------------------------------------
    def trap_if(self, cc: int, kind: str, detail: int | None = None) -> None:
        label = self.a.label()
        self.trap_sites.append((label, self.word(), TRAP[kind], detail))
        self.a.jcc(cc, label)

    def trap_now(self, kind: str) -> None:
        label = self.a.label()
        self.trap_sites.append((label, self.word(), TRAP[kind], None))
        self.a.jmp(label)

    def note_frame(self) -> None:
        self.a.mov_imm(RAX, self.word())
        self.a.store(True, R15, 0, RAX)

    def failure_target(self) -> int:
        """Where a call that failed, or a throw, goes: the innermost try_table's handler (which takes
        exceptions and sends anything else on out), or out."""
        for control in reversed(self.controls):
            if control.handler is not None:
                return control.handler
        return self.unwind

    def check_trap(self) -> None:
        self.a.cmp_mem_imm(True, RBX, OFFSET["trap"], 0)
        self.a.jcc(x86.NE, self.failure_target())

    def check_stop(self) -> None:
        a = self.a
        a.load(True, RAX, RBX, OFFSET["stop"])
        a.cmp_mem_imm(False, RAX, 0, 0)
        self.trap_if(x86.NE, "stop")

    # --- the function ---------------------------------------------------------------------------
    def compile(self) -> bytes:
        """The function's code: its entry at offset 0, and with ``osr`` its OSR door at ``door``."""
        a = self.a
        self.unwind = a.label()
        self.epilogue = a.label()
        self.frame_patches: list[int] = []
        self.prologue(door=False)
        results = len(self.type.results)
        self.controls.append(_Control("func", 0, 0, results, self.epilogue, self.epilogue))
        self.body_code()
        # The return: the result (in RAX) to its register, the caller's depth back.
        a.bind(self.epilogue)
        if results and _is_float(self.type.results[0]):
            a.movq_to_xmm(XMM0, RAX)
        a.lea(RCX, R14, -1)
        a.store(True, RBX, OFFSET["depth"], RCX)
        exit_label = a.label()
        a.bind(exit_label)
        a.lea(RSP, RBP, -8 * len(SAVED))
        for reg in reversed(SAVED):
            a.pop(reg)
        a.pop(RBP)
        a.ret()
        # A trap unwinds: zeros returned, the code in ctx.trap (the entry gives the depth back).
        a.bind(self.unwind)
        a.alu(XOR, False, RAX, RAX)
        a.xorps(XMM0, XMM0)
        a.jmp(exit_label)
        if self.osr and self.loops:  # (a function without loops is never entered there)
            self.door = len(a.code)
            self.position = 0
            self.prologue(door=True)
            self.enter_loops()
        for emit in self.out_of_line:
            emit()
        # Each trap site notes its place (RAX) and goes to its kind's one tail, which records the trap.
        tails: dict[tuple[int, int | None], int] = {}
        for label, word, code, detail in self.trap_sites:
            tail = tails.get((code, detail))
            if tail is None:
                tail = tails[code, detail] = a.label()
            a.jump_stub(label, word, tail)
        for (code, detail), tail in tails.items():
            a.bind(tail)
            if detail is not None:
                a.store(True, RBX, OFFSET["trap_detail"], detail)
            a.store(True, R15, 0, RAX)
            a.store(True, RBX, OFFSET["trap_depth"], R14)
            a.store_imm32(True, RBX, OFFSET["trap"], code)
            a.jmp(self.unwind)
        size = 8 * (self.locals + self.max_height + self.scratch)
        if size % 16 != 8:
            size += 8
        for at in self.frame_patches:
            a.code[at : at + 4] = size.to_bytes(4, "little")
        return a.finish()

    def prologue(self, door: bool) -> None:
        """Frame, context registers, parameters (not for the OSR door: its state comes in RSI, the loop's
        position in RDX), the depth and stack checks."""
        a = self.a
        a.push(RBP)
        a.mov(True, RBP, RSP)
        for reg in SAVED:
            a.push(reg)
        # The frame's size is known at the end: an imm32 patched then (8 mod 16: six pushes).
        self.frame_patches.append(a.sub_rsp_patchable())
        a.mov(True, RBX, RDI)
        # (The parameters stay in their registers until the checks are done: nothing is written to the
        # frame before the stack check has said it lies within the budget.)
        if self.memory:
            a.load(True, R12, RBX, OFFSET["mem_base"])
            a.load(True, R13, RBX, OFFSET["mem_size"])
        # Depth: one more frame, against the limit; its slot in the ring.
        a.load(True, R14, RBX, OFFSET["depth"])
        a.alu_imm(ADD, True, R14, 1)
        a.store(True, RBX, OFFSET["depth"], R14)
        a.load(True, R15, RBX, OFFSET["frames"])
        a.mov(True, RAX, R14)
        a.alu_imm(AND, True, RAX, FRAME_RING - 1)
        a.shift_imm(x86.SHL, True, RAX, 3)
        a.alu(ADD, True, R15, RAX)
        a.alu_mem(CMP, True, R14, RBX, OFFSET["depth_limit"])
        self.trap_if(x86.A, "call stack exhausted")
        a.alu_mem(CMP, True, RSP, RBX, OFFSET["stack_limit"])
        self.trap_if(x86.B, "call stack exhausted")
        if not door:
            self.take_parameters()
        if self.interruptible:
            self.check_stop()

    def take_parameters(self) -> None:
        a = self.a
        places, on_stack = argument_places(self.type.params)
        for i, (is_float, reg) in enumerate(places):
            if reg < 0:
                continue
            if is_float:
                a.store_float(True, RBP, slot(i), reg)
            else:
                a.store(True, RBP, slot(i), reg)
        for k, i in enumerate(on_stack):
            a.load(True, RAX, RBP, 16 + 8 * k)
            a.store(True, RBP, slot(i), RAX)
        if self.locals > len(self.type.params):
            a.alu(XOR, False, RAX, RAX)
            for i in range(len(self.type.params), self.locals):
                a.store(True, RBP, slot(i), RAX)

    def enter_loops(self) -> None:
        """The OSR door's dispatch (RSI: the state, RDX: the loop's position): the loop's locals and
        operand stack from the state's u64 slots into the frame's slots (one copying loop for all), then
        to its header."""
        a = self.a
        copy = a.label()
        for position, (header, height) in self.loops.items():
            skip = a.label()
            a.alu_imm(CMP, False, RDX, position)
            a.jcc(x86.NE, skip)
            a.mov_imm(RCX, self.locals + height)
            a.lea_rip(R11, header)
            a.jmp(copy)
            a.bind(skip)
        self.trap_now("unreachable")  # (the baseline asks only for loops it is in)
        # slot(k) = [rbp + FIRST_SLOT - 8k] = state[k] for k < rcx; then on to the header in R11.
        a.bind(copy)
        done = a.label()
        again = a.label()
        a.alu(XOR, False, RAX, RAX)
        a.test(True, RCX, RCX)
        a.jcc(x86.E, done)
        a.bind(again)
        a.load_indexed(b"\x8b", True, RDX, RSI, RAX, 8)  # mov rdx, [rsi + rax*8]
        a.mov(True, R10, RAX)
        a.unary(3, True, R10)  # neg
        a.store_indexed(RBP, R10, 8, FIRST_SLOT, RDX)  # mov [rbp + r10*8 + FIRST_SLOT], rdx
        a.alu_imm(ADD, True, RAX, 1)
        a.alu(CMP, True, RAX, RCX)
        a.jcc(x86.B, again)
        a.bind(done)
        a.jmp_reg(R11)

    def body_code(self) -> None:
        dead = False
        dead_depth = 0
        handlers = _HANDLERS
        for position, instr in enumerate(self.body):
            self.position = position
            op = instr.op
            if op is _LOCAL_GET and not dead:  # (a third of all instructions: pushed here, without a call)
                height = self.height
                self.height = height + 1
                if height >= self.max_height:
                    self.max_height = height + 1
                self.virtual[height] = (True, instr.imm[0])  # (not held in a local: call_indirect replaces it)
                continue
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
            handler = handlers.get(op)
            if handler is None:
                raise QuickUnsupported(f"the quick compiler does not compile {op.name}")
            dead = handler[0](self, instr.imm, handler[1]) is True

    # --- control --------------------------------------------------------------------------------
    def move_values(self, count: int, to: int) -> None:
        """Copy the top ``count`` values to the slots of the stack positions from ``to`` up (a branch's
        values; the compile-time state is left as it is: the branch is one path)."""
        start = self.height - count
        for k in range(count):
            if start == to:
                self.write_slot(start + k)
                continue
            self.load_top(RAX, True, count - 1 - k)
            self.a.store(True, RBP, self.stack_slot(to + k), RAX)

    def branch(self, depth: int) -> None:
        target = self.controls[-1 - depth]
        if target.kind == "func":
            self.return_()
            return
        count = target.params if target.kind == "loop" else target.results
        if target.kind != "loop":
            target.reached = True
        self.move_values(count, target.base)
        self.a.jmp(target.label)

    def return_(self) -> None:
        if self.type.results:
            self.load_top(RAX)
        self.a.jmp(self.epilogue)

    def open_block(self, kind: str, block_type: object) -> None:
        params, results = block_signature(block_type, self.module.types)
        a = self.a
        self.materialize_all()  # (control may join here from elsewhere, or come back)
        if kind == "if":
            if params:
                raise QuickUnsupported("an if with parameters")
            self.load_top(RAX, False)
            self.pop()
        end = a.label()
        base = self.height - len(params)
        if kind == "loop":
            header = a.label()
            a.bind(header)
            self.loops[self.position] = (header, self.height)
            if self.interruptible:
                self.check_stop()
            control = _Control(kind, base, len(params), len(results), header, end)
        else:
            control = _Control(kind, base, len(params), len(results), end, end)
        if kind == "if":
            control.else_label = a.label()
            a.test(False, RAX, RAX)
            a.jcc(x86.E, control.else_label)
        self.controls.append(control)

    def else_arm(self, reachable: bool) -> None:
        control = self.controls[-1]
        if reachable:
            for position in range(control.base, control.base + control.results):
                self.write_slot(position)
            self.a.jmp(control.end)
            control.reached = True
        assert control.else_label is not None
        self.a.bind(control.else_label)
        control.else_label = None
        self.set_height(control.base, control.base + control.params)

    def end(self, reachable: bool) -> bool:
        """Close the innermost construct; returns whether the code after it is unreachable."""
        control = self.controls.pop()
        if control.kind == "func":
            if reachable:
                self.return_()
            return True
        if reachable:
            for position in range(control.base, control.base + control.results):
                self.write_slot(position)
            control.reached = True
        if control.else_label is not None:  # an if without else (no parameters, so no results)
            self.a.bind(control.else_label)
            control.reached = True
        self.a.bind(control.end)
        self.set_height(control.base, control.base + control.results)
        return not control.reached

    def branch_table(self, labels: tuple[int, ...], default: int) -> None:
        a = self.a
        self.load_top(RAX, False)
        self.pop()
        targets = [*labels, default]
        stubs = [a.label() for _ in targets]
        heights = self.height
        # Each target its own stub (a branch carries its values to its own place).
        a.alu_imm(CMP, False, RAX, len(labels))
        a.jcc(x86.AE, stubs[-1])
        if labels:
            table = a.label()
            a.lea_rip(RCX, table)
            a.load_indexed(b"\x63", True, RDX, RCX, RAX, 4)  # movsxd rdx, [rcx + rax*4]
            a.alu(ADD, True, RCX, RDX)
            a.jmp_reg(RCX)
            a.bind(table)
            for stub in stubs[:-1]:
                a.table_entry(stub, table)
        for stub, depth in zip(stubs, targets, strict=True):
            a.bind(stub)
            assert self.height == heights
            self.branch(depth)

    # --- exceptions -------------------------------------------------------------------------------
    def tag_type(self, tag_index: int) -> FuncType:
        t = self.module.tag_types()[tag_index]
        _check_types(t.params, "an exception's value")
        return t

    def throw(self, tag_index: int) -> None:
        """The payload and the tag's id into the context record, then out as a failed call goes: a
        try_table of this function or of a caller in machine code catches it there, without the host
        (as the LLVM lowering's code does: the same record)."""
        a = self.a
        params = self.tag_type(tag_index).params
        self.note_frame()
        a.load(True, RCX, RBX, OFFSET["exn_payload"])
        for k, at in enumerate(slot_layout(params)):
            self.load_top(RAX, True, len(params) - 1 - k)
            a.store(True, RCX, 8 * at, RAX)
        self.pop(len(params))
        a.load(True, RAX, RBX, OFFSET["tags"])
        a.load(True, RAX, RAX, 8 * tag_index)
        a.store(True, RBX, OFFSET["exn_tag"], RAX)
        a.store_imm32(True, RBX, OFFSET["trap"], TRAP["exception"])
        a.jmp(self.failure_target())

    def try_table(self, block_type: object, catches: Any) -> None:
        """A block whose failed calls and throws go to its handler (out of line): an exception is tried
        against the clauses in order (by tag id when machine code threw it, through the host when the host
        holds it as an object or a clause wants the exnref); a match clears it and branches to the clause's
        label with the payload and/or exnref; anything else goes on to the enclosing handler, or out."""
        targets = [self.controls[-1 - label] for _, _, label in catches]  # (labels of the enclosing blocks)
        outer = self.failure_target()
        self.open_block("block", block_type)
        handler = self.controls[-1].handler = self.a.label()
        position = self.position
        clauses = []
        for (kind, tag_index, _), target in zip(catches, targets, strict=True):
            tagged = kind in (Catch.CATCH, Catch.CATCH_REF)
            payload = list(self.tag_type(tag_index).params) if tagged else []
            with_ref = kind in (Catch.CATCH_REF, Catch.CATCH_ALL_REF)
            count = target.params if target.kind == "loop" else target.results
            assert count == len(payload) + with_ref, "validated: a clause's values fit its label"
            if target.kind != "loop":
                target.reached = True
            self.max_height = max(self.max_height, target.base + count)
            self.scratch = max(self.scratch, len(payload) + 1)
            clauses.append((kind, tag_index, payload, with_ref, target))

        def handle() -> None:
            self.position = position
            a = self.a
            a.bind(handler)
            a.cmp_mem_imm(True, RBX, OFFSET["trap"], TRAP["exception"])
            a.jcc(x86.NE, self.unwind)  # a trap: not for catching
            # The frames the exception left did not give their depth back: this frame's is current again.
            a.store(True, RBX, OFFSET["depth"], R14)
            for kind, tag_index, payload, with_ref, target in clauses:
                self.catch_clause(kind, tag_index, payload, with_ref, target)
            a.jmp(outer)

        self.out_of_line.append(handle)

    def catch_clause(self, kind: int, tag_index: int, payload: list[ValType], with_ref: bool, target: _Control) -> None:
        a = self.a
        next_clause = a.label()
        hosted = a.label()
        if not with_ref:
            # Thrown by machine code (exn_tag: the tag's id, the payload in the context record).
            a.load(True, RAX, RBX, OFFSET["exn_tag"])
            a.test(True, RAX, RAX)
            a.jcc(x86.E, hosted)
            if kind == Catch.CATCH:
                a.load(True, RCX, RBX, OFFSET["tags"])
                a.alu_mem(CMP, True, RAX, RCX, 8 * tag_index)
                a.jcc(x86.NE, next_clause)
            a.load(True, RSI, RBX, OFFSET["exn_payload"])
            self.caught(target, RSI, slot_layout(payload))
        # Held by the host as an object, or wanted by reference: the host matches it.
        a.bind(hosted)
        types: list[ValType] = [*payload, EXNREF] if with_ref else payload
        a.mov(True, RDI, RBX)
        a.mov_imm(RSI, tag_index if kind in (Catch.CATCH, Catch.CATCH_REF) else 0xFFFFFFFF)
        a.mov_imm(RDX, int(with_ref))
        a.mov(True, RCX, RSP)
        a.mov_imm(RAX, _callback_address(CATCH))
        a.call_reg(RAX)
        a.cmp_mem_imm(True, RBX, OFFSET["trap"], TRAP["exception"])
        a.jcc(x86.NE, self.unwind)  # the host failed meanwhile
        a.test(False, RAX, RAX)
        a.jcc(x86.E, next_clause)
        self.caught(target, RSP, slot_layout(types))
        a.bind(next_clause)

    def caught(self, target: _Control, source: int, layout: list[int]) -> None:
        """A clause matched: the exception is gone; its values (u64 slots at ``source``) to the label's
        places, and there."""
        a = self.a
        a.alu(XOR, False, RAX, RAX)
        a.store(True, RBX, OFFSET["exn_tag"], RAX)
        a.store(True, RBX, OFFSET["trap"], RAX)
        if target.kind == "func":  # the function's own label: a return
            if layout:
                a.load(True, RAX, source, 8 * layout[0])
            a.jmp(self.epilogue)
            return
        for k, at in enumerate(layout):
            a.load(True, RAX, source, 8 * at)
            a.store(True, RBP, self.stack_slot(target.base + k), RAX)
        a.jmp(target.label)

    # --- calls ------------------------------------------------------------------------------------
    def pass_arguments(self, t: FuncType, first: int) -> int:
        """Load the arguments (the stack values from position ``first``) into their registers and
        stack places; the bytes of stack passed (to give back after the call)."""
        a = self.a
        places, on_stack = argument_places(t.params)
        extra = 8 * len(on_stack)
        extra += extra % 16
        depth = self.height - 1 - first  # of the first argument
        if extra:
            a.alu_imm(SUB, True, RSP, extra)
            for k, i in enumerate(on_stack):
                self.load_top(RAX, True, depth - i)
                a.store(True, RSP, 8 * k, RAX)
        for i, (is_float, reg) in enumerate(places):
            if reg < 0:
                continue
            if is_float:
                self.load_top_float(True, reg, depth - i)
            else:
                self.load_top(reg, True, depth - i)
        a.mov(True, RDI, RBX)
        return extra

    def take_result(self, t: FuncType) -> None:
        if t.results:
            at = self.push()
            if _is_float(t.results[0]):
                self.a.store_float(True, RBP, at, XMM0)
            else:
                self.a.store(True, RBP, at, RAX)

    def call(self, func_index: int) -> None:
        a = self.a
        t = self.func_types[func_index]
        _check_types(t.params, "a callee's parameter")
        _check_types(t.results, "a callee's result")
        if len(t.results) > 1:
            raise QuickUnsupported("a callee with multiple results")
        self.note_frame()
        first = self.height - len(t.params)
        if func_index < self.first_defined:
            self.through_host(t, first, lambda: self.host_call(func_index))
            return
        a.store_imm32(True, RBX, OFFSET["callee"], func_index)
        extra = self.pass_arguments(t, first)
        a.load(True, RAX, RBX, OFFSET["code"])
        a.call_mem(RAX, 8 * func_index)
        if extra:
            a.alu_imm(ADD, True, RSP, extra)
        self.check_trap()
        self.pop(self.height - first)
        self.take_result(t)

    def host_call(self, func_index: int) -> None:
        a = self.a
        a.mov(True, RDI, RBX)
        a.mov_imm(RSI, func_index)
        a.mov(True, RDX, RSP)
        a.mov_imm(RAX, _callback_address(HOST_CALL))
        a.call_reg(RAX)

    def through_host(self, t: FuncType, first: int, call: Any) -> None:
        """A call the host makes: arguments and results in u64 slots at RSP."""
        a = self.a
        self.scratch = max(self.scratch, len(t.params), len(t.results))
        depth = self.height - 1 - first
        for i in range(len(t.params)):
            self.load_top(RAX, True, depth - i)
            a.store(True, RSP, 8 * i, RAX)
        call()
        self.check_trap()
        self.pop(self.height - first)
        if t.results:
            a.load(True, RAX, RSP, 0)
            self.put_result(0, RAX)

    def call_indirect(self, type_index: int, table_index: int) -> None:
        a = self.a
        t = self.module.function_type(type_index)
        _check_types(t.params, "a callee's parameter")
        _check_types(t.results, "a callee's result")
        if len(t.results) > 1:
            raise QuickUnsupported("a callee with multiple results")
        if self.module.table_types()[table_index].is_64:
            raise QuickUnsupported("a 64-bit table")
        self.note_frame()
        self.materialize(self.height - 1)
        element_slot = self.top()
        self.pop()
        first = self.height - len(t.params)
        # The table's mirror, made current if the table changed.
        a.load(True, RSI, RBX, OFFSET["tables"])
        a.load(True, RSI, RSI, 8 * table_index)
        a.cmp_mem_imm(False, RSI, MIRROR_DIRTY, 0)
        fresh = a.label()
        a.jcc(x86.E, fresh)
        a.mov(True, RDI, RBX)
        a.mov_imm(RAX, _callback_address(REFRESH_TABLE))
        a.call_reg(RAX)
        self.check_trap()
        a.load(True, RSI, RBX, OFFSET["tables"])
        a.load(True, RSI, RSI, 8 * table_index)
        a.bind(fresh)
        a.load(False, RCX, RBP, element_slot)
        a.alu_mem(CMP, True, RCX, RSI, MIRROR_LENGTH)
        self.trap_if(x86.AE, "undefined element", detail=RCX)
        a.load(True, RDX, RSI, MIRROR_ENTRIES)
        a.mov(True, RAX, RCX)
        a.shift_imm(x86.SHL, True, RAX, 5)  # ENTRY_SIZE 32
        a.alu(ADD, True, RDX, RAX)
        a.load(True, RAX, RDX, ENTRY_SIGNATURE)
        a.load(True, R8, RBX, OFFSET["signatures"])
        a.alu_mem(CMP, True, RAX, R8, 8 * type_index)
        mismatch = a.label()
        a.jcc(x86.NE, mismatch)
        hosted = a.label()
        joined = a.label()
        a.load(True, R11, RDX, ENTRY_CODE)
        a.test(True, R11, R11)
        a.jcc(x86.E, hosted)
        a.alu_mem(CMP, True, RBX, RDX, ENTRY_CTX)
        a.jcc(x86.NE, hosted)
        # This instance's own machine code: called directly.
        extra = self.pass_arguments(t, first)
        a.call_reg(R11)
        if extra:
            a.alu_imm(ADD, True, RSP, extra)
        self.check_trap()
        arguments = dict(self.virtual)  # (the hosted path reads the arguments as they were)
        self.pop(self.height - first)
        self.take_result(t)
        result_slot = self.top() if t.results else 0
        a.jmp(joined)
        # Anything else: through the host.
        a.bind(hosted)
        self.height = first + len(t.params)
        self.virtual = arguments

        def hosted_call() -> None:
            a.mov(True, RDI, RBX)
            a.mov_imm(RSI, type_index)
            a.mov_imm(RDX, table_index)
            a.load(False, RCX, RBP, element_slot)
            a.mov(True, R8, RSP)
            a.mov_imm(RAX, _callback_address(CALL_INDIRECT))
            a.call_reg(RAX)

        self.through_host(t, first, hosted_call)
        assert not t.results or self.top() == result_slot
        a.bind(joined)

        position = self.position

        def mismatched() -> None:
            self.position = position
            a.bind(mismatch)
            a.test(True, RAX, RAX)
            self.trap_if(x86.E, "uninitialized element", detail=RCX)
            self.trap_now("indirect call type mismatch")

        self.out_of_line.append(mismatched)

    # --- memory -----------------------------------------------------------------------------------
    def address(self, offset: int, width: int, depth: int) -> tuple[int, int]:
        """Check an access of ``width`` bytes at the address ``depth`` below the top plus ``offset``;
        the (index register, displacement) to reach it from R12, the memory's base."""
        if not self.memory:
            raise QuickUnsupported("a memory of another kind (64-bit, custom pages)")
        a = self.a
        self.load_top(RAX, False, depth)  # zero-extended
        end = offset + width
        if end < (1 << 31):
            a.lea(RCX, RAX, end)
        else:
            a.mov_imm(RCX, end)
            a.alu(ADD, True, RCX, RAX)
        a.alu_mem(CMP, True, RCX, R13, 0)
        self.trap_if(x86.A, "out of bounds memory access")
        if offset < (1 << 31):
            return RAX, offset
        a.lea(RAX, RCX, -width)
        return RAX, 0

    def bulk(self, copy: bool) -> None:
        """memory.fill / memory.copy: the ranges checked, then the C library's memset / memmove."""
        a = self.a
        self.load_top(RAX, False, 2)
        self.load_top(RCX, False)
        a.lea(RDX, RAX, 0, RCX)
        a.alu_mem(CMP, True, RDX, R13, 0)
        self.trap_if(x86.A, "out of bounds memory access")
        if copy:
            self.load_top(RSI, False, 1)
            a.lea(RDX, RSI, 0, RCX)
            a.alu_mem(CMP, True, RDX, R13, 0)
            self.trap_if(x86.A, "out of bounds memory access")
            a.lea(RSI, R12, 0, RSI)
        else:
            self.load_top(RSI, False, 1)
        a.lea(RDI, R12, 0, RAX)
        a.mov(True, RDX, RCX)
        a.mov_imm(RAX, _libc_address("memmove" if copy else "memset"))
        a.call_reg(RAX)
        self.pop(3)

    # --- one instruction --------------------------------------------------------------------------
    # Each instruction's compiler, found in ``_HANDLERS`` by its opcode: ``handler(self, imm, static)``,
    # with what is fixed per opcode (a width, an encoding, a condition code) worked out once, when the
    # table is made, not per instruction (comparing names cost a fifth of the compiler's ~2.5 us an
    # instruction). A handler returns True when the code after it is unreachable.
    def local_set(self, imm: Any, tee: bool) -> None:
        a = self.a
        # Values standing for the local's old value are stored first.
        if self.virtual:
            key, top = (True, imm[0]), self.height - 1
            for position in [p for p, v in self.virtual.items() if p < top and v == key]:
                self.materialize(position)
        self.load_top(RAX)
        a.store(True, RBP, FIRST_SLOT - 8 * imm[0], RAX)
        if not tee:
            self.pop()
        else:  # (the value stays on the stack, in its slot or where it was, and in RAX)
            self.held = (self.height - 1, RAX, len(a.code))

    def constant(self, imm: Any, mask: int) -> None:
        self.push_virtual(False, imm[0] & mask)

    def load_instruction(self, imm: Any, spec: tuple[int, bool, bool]) -> None:
        if imm[2] != 0:
            raise QuickUnsupported("multiple memories")
        width, signed, wide = spec
        index, disp = self.address(imm[1], width, 0)
        a = self.a
        if width == 8:
            a.load(True, RDX, R12, disp, index)
        else:
            a.load_extend(width, signed, wide, RDX, R12, disp, index)
        self.put_result(1, RDX)

    def store_instruction(self, imm: Any, width: int) -> None:
        if imm[2] != 0:
            raise QuickUnsupported("multiple memories")
        a = self.a
        self.load_top(RDX, True)
        index, disp = self.address(imm[1], width, 1)
        if width == 8:
            a.store(True, R12, disp, RDX, index)
        elif width == 4:
            a.store(False, R12, disp, RDX, index)
        elif width == 2:
            a.store16(R12, disp, RDX, index)
        else:
            a.store8(R12, disp, RDX, index)
        self.pop(2)

    def block_instruction(self, imm: Any, kind: str) -> None:
        self.open_block(kind, imm[0])

    def else_instruction(self, imm: Any, _: None) -> None:
        self.else_arm(True)

    def end_instruction(self, imm: Any, _: None) -> bool:
        return self.end(True)

    def br(self, imm: Any, _: None) -> bool:
        self.branch(imm[0])
        return True

    def br_if(self, imm: Any, _: None) -> None:
        a = self.a
        self.load_top(RAX, False)
        self.pop()
        a.test(False, RAX, RAX)
        target = self.controls[-1 - imm[0]]
        count = target.params if target.kind == "loop" else target.results
        in_place = all(p not in self.virtual for p in range(target.base, target.base + count))
        if target.kind != "func" and self.height - count == target.base and in_place:
            if target.kind != "loop":
                target.reached = True
            a.jcc(x86.NE, target.label)
        else:
            skip = a.label()
            a.jcc(x86.E, skip)
            self.branch(imm[0])
            a.bind(skip)

    def br_table(self, imm: Any, _: None) -> bool:
        self.branch_table(*imm)
        return True

    def return_instruction(self, imm: Any, _: None) -> bool:
        self.return_()
        return True

    def unreachable(self, imm: Any, _: None) -> bool:
        self.trap_now("unreachable")
        return True

    def nop(self, imm: Any, _: None) -> None:
        pass

    def drop(self, imm: Any, _: None) -> None:
        self.pop()

    def select(self, imm: Any, typed: bool) -> None:
        if typed and any(t not in _NUMBERS and not _is_exception_reference(t) for t in imm[0]):
            raise QuickUnsupported("select of references")
        a = self.a
        self.load_top(RDX, False)
        self.load_top(RAX, True, 2)
        self.load_top(RCX, True, 1)
        a.test(False, RDX, RDX)
        a.cmov(x86.E, True, RAX, RCX)
        self.put_result(3, RAX)

    def global_cell(self, index: int) -> ValType:
        """The address of global ``index``'s cell into RAX; its type (numbers only)."""
        t = self.global_types[index].valtype
        if t not in _NUMBERS:  # (a reference global's cell holds a handle the host keeps alive: pin)
            raise QuickUnsupported(f"a global of type {t.text}")
        self.a.load(True, RAX, RBX, OFFSET["globals"])
        self.a.load(True, RAX, RAX, 8 * index)
        return t

    def global_get(self, imm: Any, _: None) -> None:
        t = self.global_cell(imm[0])
        self.a.load(t in (I64, F64), RAX, RAX, 0)
        self.put_result(0, RAX)

    def global_set(self, imm: Any, _: None) -> None:
        t = self.global_cell(imm[0])
        self.load_top(RCX)
        self.pop()
        self.a.store(t in (I64, F64), RAX, 0, RCX)

    def memory_size(self, imm: Any, _: None) -> None:
        if imm[0] != 0 or not self.memory:
            raise QuickUnsupported("multiple memories")
        self.a.load(True, RAX, R13, 0)
        self.a.shift_imm(x86.SHR, True, RAX, 16)
        self.put_result(0, RAX)

    def memory_grow(self, imm: Any, _: None) -> None:
        if imm[0] != 0 or not self.memory:
            raise QuickUnsupported("multiple memories")
        a = self.a
        self.note_frame()
        self.load_top(RSI, False)
        a.mov(True, RDI, RBX)
        a.alu(XOR, False, RDX, RDX)
        a.mov_imm(RAX, _callback_address(MEMORY_GROW))
        a.call_reg(RAX)
        self.check_trap()
        self.put_result(1, RAX)

    def bulk_instruction(self, imm: Any, copy: bool) -> None:
        if any(imm) or not self.memory:
            raise QuickUnsupported("multiple memories")
        self.bulk(copy)

    def call_instruction(self, imm: Any, _: None) -> None:
        self.call(imm[0])

    def try_table_instruction(self, imm: Any, _: None) -> None:
        self.try_table(*imm)

    def throw_instruction(self, imm: Any, _: None) -> bool:
        self.throw(imm[0])
        return True

    def throw_ref(self, imm: Any, _: None) -> bool:
        a = self.a
        self.note_frame()
        self.load_top(RSI)
        self.pop()
        a.mov(True, RDI, RBX)
        a.mov_imm(RAX, _callback_address(THROW_REF))
        a.call_reg(RAX)
        a.jmp(self.failure_target())  # (the trap: the exception, or a null reference's)
        return True

    def ref_null(self, imm: Any, _: None) -> None:
        if not _is_exception_reference(imm[0]):
            raise QuickUnsupported("the quick compiler does not compile ref.null")
        self.push_virtual(False, 0)

    def ref_is_null(self, imm: Any, _: None) -> None:  # (the only references here are exnrefs: see _check_types)
        a = self.a
        self.load_top(RAX)
        a.alu(XOR, False, RCX, RCX)
        a.test(True, RAX, RAX)
        a.setcc(x86.E, RCX)
        self.put_result(1, RCX)

    def call_indirect_instruction(self, imm: Any, _: None) -> None:
        self.call_indirect(imm[0], imm[1])

    def integer_instruction(self, imm: Any, family: tuple[str, bool]) -> None:
        self.integer(*family)

    def float_instruction(self, imm: Any, family: tuple[str, bool]) -> None:
        self.float(*family)

    def integer_alu(self, imm: Any, spec: tuple[bool, tuple[int, int], int]) -> None:
        """The commonest integer family, add/sub/and/or/xor and the comparisons: ``integer``'s first case,
        with its operation's encoding (and a comparison's condition, else -1) looked up once."""
        wide, operation, condition = spec
        a = self.a
        self.load_top(RAX, wide, 1)
        right = self.virtual.get(self.height - 1)
        if right is None:
            self.load_top(RCX, wide)
            a.alu(operation, wide, RAX, RCX)
        elif right[0]:
            a.alu_mem(operation, wide, RAX, RBP, FIRST_SLOT - 8 * right[1])
        else:
            constant = _immediate(right[1], wide)
            if constant is None:
                self.load_top(RCX, wide)
                a.alu(operation, wide, RAX, RCX)
            else:
                a.alu_imm(operation, wide, RAX, constant)
        if condition >= 0:
            a.setcc(condition, RAX)
            a.movzx8(RAX, RAX)
        self.put_result(2, RAX)

    def integer(self, op: str, wide: bool) -> None:  # noqa: C901, PLR0912 - one branch per family
        a = self.a
        if op in _ALU or op in _COMPARE or op == "mul" or op in _SHIFTS or op[:3] in ("div", "rem"):
            self.load_top(RAX, wide, 1)
            right = self.virtual.get(self.height - 1)
            constant = _immediate(right[1], wide) if right is not None and not right[0] else None
            if constant is not None and (op in _ALU or op in _COMPARE):
                a.alu_imm(_ALU.get(op, CMP), wide, RAX, constant)
            elif constant is not None and op in _SHIFTS:
                a.shift_imm(_SHIFTS[op], wide, RAX, constant & (63 if wide else 31))
            elif right is not None and right[0] and (op in _ALU or op in _COMPARE):
                a.alu_mem(_ALU.get(op, CMP), wide, RAX, RBP, slot(right[1]))
            else:
                self.load_top(RCX, wide)
                if op in _ALU or op in _COMPARE:
                    a.alu(_ALU.get(op, CMP), wide, RAX, RCX)
                elif op == "mul":
                    a.imul(wide, RAX, RCX)
                elif op in _SHIFTS:
                    a.shift(_SHIFTS[op], wide, RAX)
                else:
                    self.division(op, wide)
            if op in _COMPARE:
                a.setcc(_COMPARE[op], RAX)
                a.movzx8(RAX, RAX)
            self.put_result(2, RAX)
            return
        self.load_top(RAX, wide)
        if op == "eqz":
            a.test(wide, RAX, RAX)
            a.setcc(x86.E, RAX)
            a.movzx8(RAX, RAX)
        elif op in ("clz", "ctz", "popcnt"):
            a.bit_count({"clz": 0xBD, "ctz": 0xBC, "popcnt": 0xB8}[op], wide, RAX, RAX)
        elif op == "extend8_s":
            a.movsx(1, wide, RAX, RAX)
            if not wide:
                a.mov(False, RAX, RAX)
        elif op == "extend16_s":
            a.movsx(2, wide, RAX, RAX)
            if not wide:
                a.mov(False, RAX, RAX)
        elif op == "extend32_s" or op == "extend_i32_s":
            a.movsx(4, True, RAX, RAX)
        elif op == "extend_i32_u":
            a.mov(False, RAX, RAX)
        elif op == "wrap_i64":
            a.mov(False, RAX, RAX)
        elif op in ("reinterpret_f32", "reinterpret_f64"):
            pass
        elif op.startswith("trunc_f") or op.startswith("trunc_sat_f"):
            self.truncate(op, wide)
            return
        else:
            raise QuickUnsupported(f"the quick compiler does not compile {'i64' if wide else 'i32'}.{op}")
        self.put_result(1, RAX)

    def division(self, op: str, wide: bool) -> None:
        """RAX op RCX, the result in RAX, trapping as wasm does."""
        a = self.a
        a.test(wide, RCX, RCX)
        self.trap_if(x86.E, "integer divide by zero")
        if op.endswith("_u"):
            a.alu(XOR, False, RDX, RDX)
            a.unary(6, wide, RCX)
            if op.startswith("rem"):
                a.mov(True, RAX, RDX)
            return
        minus_one = a.label()
        done = a.label()
        a.alu_imm(CMP, wide, RCX, -1)
        a.jcc(x86.E, minus_one)
        a.sign_extend_rax(wide)
        a.unary(7, wide, RCX)
        if op.startswith("rem"):
            a.mov(True, RAX, RDX)
        a.jmp(done)
        a.bind(minus_one)
        if op.startswith("rem"):
            a.alu(XOR, False, RAX, RAX)  # x rem -1 is 0 (idiv would fault on the lowest value)
        else:
            # x / -1 is -x, except the lowest value, which overflows.
            a.mov_imm(RDX, 1 << (63 if wide else 31))
            a.alu(CMP, wide, RAX, RDX)
            self.trap_if(x86.E, "integer overflow")
            a.unary(3, wide, RAX)
        a.bind(done)
        if not wide:
            a.mov(False, RAX, RAX)

    def truncate(self, op: str, wide: bool) -> None:
        """iNN.trunc_fMM_s/u: the float's integer part, trapping on NaN and out of range; and
        iNN.trunc_sat_fMM_s/u, which gives 0 for NaN and the nearest bound out of range instead."""
        a = self.a
        saturating = op.startswith("trunc_sat")
        double = (op[10:13] if saturating else op[6:9]) == "f64"
        signed = op.endswith("_s")
        bits = 64 if wide else 32
        low, low_allowed, high = _TRUNCATION["i64" if wide else "i32", signed, double]
        lowest = -(1 << (bits - 1)) if signed else 0
        highest = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        done = a.label()
        self.load_top_float(double, XMM0)
        if saturating:
            a.alu(XOR, False, RAX, RAX)  # (before the flags are set: xor changes them)
            a.ucomis(double, XMM0, XMM0)
            a.jcc(x86.P, done)
        else:
            a.ucomis(double, XMM0, XMM0)
            self.trap_if(x86.P, "invalid conversion to integer")
        # (mov and movq leave the flags alone: each bound is loaded, then compared, then tested.)
        a.mov_imm(RAX, _float_bits(high, double))
        a.movq_to_xmm(XMM1, RAX)
        a.ucomis(double, XMM0, XMM1)  # value >= high: too high
        if saturating:
            a.mov_imm(RAX, highest)
            a.jcc(x86.AE, done)
        else:
            self.trap_if(x86.AE, "integer overflow")
        a.mov_imm(RAX, _float_bits(low, double))
        a.movq_to_xmm(XMM1, RAX)
        a.ucomis(double, XMM0, XMM1)
        too_low = x86.B if low_allowed else x86.BE
        if saturating:
            a.mov_imm(RAX, lowest & ((1 << bits) - 1))
            a.jcc(too_low, done)
        else:
            self.trap_if(too_low, "integer overflow")
        if wide and not signed:
            # Values from 2^63 up: less 2^63, converted, and the top bit set again.
            big = a.label()
            a.mov_imm(RAX, _float_bits(2.0**63, double))
            a.movq_to_xmm(XMM1, RAX)
            a.ucomis(double, XMM0, XMM1)
            a.jcc(x86.AE, big)
            a.cvt_float_to_int(double, True, RAX, XMM0)
            a.jmp(done)
            a.bind(big)
            a.float_op(0x5C, double, XMM0, XMM1)
            a.cvt_float_to_int(double, True, RAX, XMM0)
            a.mov_imm(RCX, 1 << 63)
            a.alu(XOR, True, RAX, RCX)
        else:
            a.cvt_float_to_int(double, wide or not signed, RAX, XMM0)
            if not wide:
                a.mov(False, RAX, RAX)
        a.bind(done)
        self.put_result(1, RAX)

    def float(self, op: str, double: bool) -> None:  # noqa: C901, PLR0912 - one branch per family
        a = self.a
        sign = 1 << (63 if double else 31)
        operands = 1
        in_xmm = True  # the result is in XMM0 (else in RAX)
        if op in _FLOAT_BINARY:
            self.load_top_float(double, XMM0, 1)
            self.load_top_float(double, XMM1)
            operands = 2
            a.float_op(_FLOAT_BINARY[op], double, XMM0, XMM1)
        elif op in ("eq", "ne", "lt", "gt", "le", "ge"):
            # ucomis sets CF/ZF/PF; an unordered pair (a NaN) sets all three.
            first, second = (0, 1) if op in ("lt", "le") else (1, 0)
            self.load_top_float(double, XMM0, first)
            self.load_top_float(double, XMM1, second)
            operands = 2
            in_xmm = False
            a.ucomis(double, XMM0, XMM1)
            if op == "eq" or op == "ne":
                a.setcc(x86.E if op == "eq" else x86.NE, RAX)
                a.setcc(x86.NP if op == "eq" else x86.P, RCX)
                a.alu(AND if op == "eq" else OR, False, RAX, RCX)
            else:
                a.setcc(x86.A if op in ("lt", "gt") else x86.AE, RAX)
            a.movzx8(RAX, RAX)
        elif op == "copysign":
            in_xmm = False
            self.load_top(RAX, True, 1)
            self.load_top(RCX, True)
            operands = 2
            a.mov_imm(RDX, sign)
            a.alu(AND, True, RCX, RDX)
            a.mov_imm(RDX, sign - 1)
            a.alu(AND, True, RAX, RDX)
            a.alu(OR, True, RAX, RCX)
        elif op in ("neg", "abs"):
            in_xmm = False
            self.load_top(RAX, True)
            if op == "neg":
                a.mov_imm(RCX, sign)
                a.alu(XOR, True, RAX, RCX)
            else:
                a.mov_imm(RCX, sign - 1)
                a.alu(AND, True, RAX, RCX)
        elif op == "sqrt" or op in _ROUNDING:
            self.load_top_float(double, XMM0)
            if op == "sqrt":
                a.float_op(0x51, double, XMM0, XMM0)
            else:
                a.round_float(double, XMM0, XMM0, _ROUNDING[op])
        elif op.startswith("convert_i"):
            source_wide = op[9:11] == "64"
            signed = op.endswith("_s")
            self.load_top(RAX, source_wide)
            if source_wide and not signed:
                self.convert_u64(double)
            else:
                # An unsigned i32 is a non-negative i64.
                a.cvt_int_to_float(double, source_wide or not signed, XMM0, RAX)
        elif op == "promote_f32" or op == "demote_f64":
            self.load_top_float(not double, XMM0)
            a.float_op(0x5A, not double, XMM0, XMM0)
        elif op in ("reinterpret_i32", "reinterpret_i64"):
            return  # the same bits
        else:
            raise QuickUnsupported(f"the quick compiler does not compile {'f64' if double else 'f32'}.{op}")
        if in_xmm:  # (an f32 fills its slot's low half: every reader of an f32 reads only that)
            a.store_float(double, RBP, self.result(operands), XMM0)
            self.held_float = (self.height - 1, XMM0, len(a.code))  # (see put_result)
            return
        if not double and op not in ("eq", "ne", "lt", "gt", "le", "ge"):
            a.mov(False, RAX, RAX)
        self.put_result(operands, RAX)

    def convert_u64(self, double: bool) -> None:
        """XMM0 = RAX as an unsigned 64-bit integer, rounded as wasm rounds it."""
        a = self.a
        big = a.label()
        done = a.label()
        a.test(True, RAX, RAX)
        a.jcc(x86.S, big)
        a.cvt_int_to_float(double, True, XMM0, RAX)
        a.jmp(done)
        a.bind(big)
        # Halve it keeping the lowest bit (round to odd), convert, double.
        a.mov(True, RCX, RAX)
        a.shift_imm(x86.SHR, True, RCX, 1)
        a.alu_imm(AND, False, RAX, 1)
        a.alu(OR, True, RCX, RAX)
        a.cvt_int_to_float(double, True, XMM0, RCX)
        a.float_op(0x58, double, XMM0, XMM0)
        a.bind(done)


_Handler = Callable[[FunctionCompiler, Any, Any], "bool | None"]


def _make_handlers() -> dict[ins.Opcode, tuple[_Handler, Any]]:
    """Each opcode the quick compiler takes -> (its handler, what the handler needs to know of it)."""
    f = FunctionCompiler
    named: dict[str, tuple[_Handler, Any]] = {
        "local.set": (f.local_set, False), "local.tee": (f.local_set, True),
        "i32.const": (f.constant, 0xFFFFFFFF), "f32.const": (f.constant, 0xFFFFFFFF),
        "i64.const": (f.constant, 0xFFFFFFFFFFFFFFFF), "f64.const": (f.constant, 0xFFFFFFFFFFFFFFFF),
        "block": (f.block_instruction, "block"), "loop": (f.block_instruction, "loop"),
        "if": (f.block_instruction, "if"), "else": (f.else_instruction, None), "end": (f.end_instruction, None),
        "br": (f.br, None), "br_if": (f.br_if, None), "br_table": (f.br_table, None),
        "return": (f.return_instruction, None), "unreachable": (f.unreachable, None), "nop": (f.nop, None),
        "drop": (f.drop, None), "select": (f.select, False), "select_t": (f.select, True),
        "global.get": (f.global_get, None), "global.set": (f.global_set, None),
        "memory.size": (f.memory_size, None), "memory.grow": (f.memory_grow, None),
        "memory.fill": (f.bulk_instruction, False), "memory.copy": (f.bulk_instruction, True),
        "call": (f.call_instruction, None), "call_indirect": (f.call_indirect_instruction, None),
        "try_table": (f.try_table_instruction, None), "throw": (f.throw_instruction, None),
        "throw_ref": (f.throw_ref, None), "ref.null": (f.ref_null, None), "ref.is_null": (f.ref_is_null, None),
    }  # fmt: skip
    named.update((name, (f.load_instruction, spec)) for name, spec in _LOADS.items())
    named.update((name, (f.store_instruction, width)) for name, width in _STORES.items())
    handlers: dict[ins.Opcode, tuple[_Handler, Any]] = {}
    for name, opcode in ins.BY_NAME.items():
        family = _family(name)
        if family is None:
            if name in named:
                handlers[opcode] = named[name]
            continue
        integer, wide, operation = family
        if integer and (operation in _ALU or operation in _COMPARE):
            handlers[opcode] = (f.integer_alu, (wide, _ALU.get(operation, CMP), _COMPARE.get(operation, -1)))
        elif integer:
            handlers[opcode] = (f.integer_instruction, (operation, wide))
        else:
            handlers[opcode] = (f.float_instruction, (operation, wide))
    return handlers


_HANDLERS = _make_handlers()


def compile_function(module: Module, index: int, interruptible: bool) -> bytes:
    """Machine code of function ``index`` (no OSR door). Raises QuickUnsupported."""
    return FunctionCompiler(module, index, interruptible).compile()


def compile_with_door(module: Module, index: int, interruptible: bool) -> tuple[bytes, int, dict[int, int]]:
    """Machine code of function ``index`` with its door for on-stack replacement (see FunctionCompiler):
    the code, the door's offset in it, and the loops the door enters (position -> the operand stack's
    height there, which is 0 for nearly every loop a compiler emits: an OSR entry then needs no
    types but the locals'). Raises QuickUnsupported."""
    compiler = FunctionCompiler(module, index, interruptible, osr=True)
    code = compiler.compile()
    return code, compiler.door, {position: height for position, (_, height) in compiler.loops.items()}


# --- doors: entries from Python, stubs into the host --------------------------------------------
def entry_code(t: FuncType, target: int, loop: int | None = None, relative: bool = False) -> bytes:
    """``entry(ctx, args, results)`` calling the function at ``target`` with the arguments in the u64
    slots ``args`` (``loop``: an OSR door, passed ``args`` itself and the loop's position) and its
    result into ``results``; the outermost entry sets the stack limit and every entry gives back the
    depth.  With ``relative``, ``target`` is the function's offset from this code's start (placed
    together)."""
    if relative and loop is None:  # (every function's first call: the signature's two halves, made once)
        head, tail = _relative_entry_halves(t)
        return head + b"\xe8" + (target - (len(head) + 5)).to_bytes(4, "little", signed=True) + tail
    a = Assembler()
    _entry_head(a, t, loop)
    if relative:
        a.code.append(0xE8)
        a.code += (target - (len(a.code) + 4)).to_bytes(4, "little", signed=True)
    else:
        a.mov_imm(RAX, target)
        a.call_reg(RAX)
    _entry_tail(a, t)
    return a.finish()


@cache
def _relative_entry_halves(t: FuncType) -> tuple[bytes, bytes]:
    """An entry's code before and after its ``call rel32`` (see entry_code), which only the target changes."""
    head = Assembler()
    _entry_head(head, t, None)
    tail = Assembler()
    _entry_tail(tail, t)
    return head.finish(), tail.finish()


def _entry_head(a: Assembler, t: FuncType, loop: int | None) -> None:
    """An entry's frame, stack limit, depth and arguments (see entry_code): all before its call."""
    a.push(RBP)
    a.mov(True, RBP, RSP)
    for reg in (RBX, R12, R13, R14):
        a.push(reg)
    a.mov(True, RBX, RDI)
    a.mov(True, R12, RDX)
    a.mov(True, R13, RSI)
    a.load(True, R14, RBX, OFFSET["stack_limit"])
    keep = a.label()
    a.test(True, R14, R14)
    a.jcc(x86.NE, keep)
    a.lea(RAX, RSP, -STACK_BUDGET)
    a.store(True, RBX, OFFSET["stack_limit"], RAX)
    a.bind(keep)
    a.load(True, RAX, RBX, OFFSET["depth"])
    a.push(RAX)
    if loop is not None:
        places: tuple[tuple[bool, int], ...] = ((False, RSI),)
        on_stack: tuple[int, ...] = ()
    else:
        places, on_stack = argument_places(t.params)
    extra = 8 + 8 * len(on_stack)  # (the pushed depth: 16 more keeps the alignment)
    extra += extra % 16
    a.alu_imm(SUB, True, RSP, extra - 8)
    for k, i in enumerate(on_stack):
        a.load(True, RAX, R13, 8 * i)
        a.store(True, RSP, 8 * k, RAX)
    if loop is not None:
        a.mov(True, RSI, R13)
        a.mov_imm(RDX, loop)
    else:
        for i, (is_float, reg) in enumerate(places):
            if reg < 0:
                continue
            if is_float:
                a.load_float(True, reg, R13, 8 * i)
            else:
                a.load(True, reg, R13, 8 * i)
    a.mov(True, RDI, RBX)


def _entry_tail(a: Assembler, t: FuncType) -> None:
    """An entry's result, stack limit and depth given back, and return: all after its call."""
    if t.results:
        if _is_float(t.results[0]):
            a.store_float(t.results[0] is F64, R12, 0, XMM0)
        else:
            a.store(t.results[0] is I64 or t.results[0] not in _NUMBERS, R12, 0, RAX)
    a.store(True, RBX, OFFSET["stack_limit"], R14)
    a.load(True, RAX, RBP, -8 * 5)  # the depth pushed above
    a.store(True, RBX, OFFSET["depth"], RAX)
    a.lea(RSP, RBP, -8 * 4)
    for reg in (R14, R13, R12, RBX):
        a.pop(reg)
    a.pop(RBP)
    a.ret()


def stub_code(t: FuncType) -> bytes:
    """``stub(ctx, args...)``: a call of a function that is not machine code yet, made through the host
    (``ctx.callee`` names it) with the arguments and results in u64 slots."""
    _check_types(t.params, "a parameter")
    _check_types(t.results, "a result")
    if len(t.results) > 1:
        raise QuickUnsupported("multiple results")
    a = Assembler()
    a.push(RBP)
    a.mov(True, RBP, RSP)
    a.push(RBX)
    count = max(len(t.params), len(t.results), 1)
    size = 8 * count
    if size % 16 == 0:
        size += 8
    a.alu_imm(SUB, True, RSP, size)
    a.mov(True, RBX, RDI)
    places, on_stack = argument_places(t.params)
    for i, (is_float, reg) in enumerate(places):
        if reg < 0:
            continue
        if is_float:
            a.store_float(True, RSP, 8 * i, reg)
        else:
            a.store(True, RSP, 8 * i, reg)
    for k, i in enumerate(on_stack):
        a.load(True, RAX, RBP, 16 + 8 * k)
        a.store(True, RSP, 8 * i, RAX)
    a.mov(True, RDI, RBX)
    a.load(False, RSI, RBX, OFFSET["callee"])
    a.mov(True, RDX, RSP)
    a.mov_imm(RAX, _callback_address(HOST_CALL))
    a.call_reg(RAX)
    failed = a.label()
    done = a.label()
    a.test(False, RAX, RAX)
    a.jcc(x86.NE, failed)
    if t.results:
        a.load(True, RAX, RSP, 0)
        a.movq_to_xmm(XMM0, RAX)
    a.jmp(done)
    a.bind(failed)
    a.alu(XOR, False, RAX, RAX)
    a.xorps(XMM0, XMM0)
    a.bind(done)
    a.load(True, RBX, RBP, -8)
    a.mov(True, RSP, RBP)
    a.pop(RBP)
    a.ret()
    return a.finish()


# Executable memory: code is written while the pages are writable, then they become read+execute.


def place(code: bytes) -> int:
    """Copy ``code`` into pages of its own, made executable (never writable and executable at once);
    its address.  The pages live as long as the process, as the linked objects' do."""
    return place_all([code])[0]


def place_all(codes: list[bytes]) -> list[int]:
    """``place`` for several pieces of code, in one mapping (each at a 16-byte boundary); their addresses."""
    import mmap

    from .object_loader import _map, _protect

    offsets, total = [], 0
    for code in codes:
        offsets.append(total)
        total += (len(code) + 15) // 16 * 16
    size = max((total + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE, mmap.PAGESIZE)
    address = _map(size)
    for offset, code in zip(offsets, codes, strict=True):
        ctypes.memmove(address + offset, code, len(code))
    _protect(address, size, mmap.PROT_READ | mmap.PROT_EXEC)
    return [address + offset for offset in offsets]
