"""Guard pages: machine code's out-of-bounds accesses caught by the MMU, not by a test per access.

Why: an explicit bounds test before every load and store was most of the gap
between optimised machine code and wasmtime's (which uses guard pages), and
no arrangement of the tests closed it.  How, as wasmtime, V8 and WAVM do it:

- **Memory.** Every 32-bit memory with 64 KiB pages reserves ``RESERVATION``
  bytes of address space (4 GiB of index, 2 GiB of static offset, a page more
  for the width), readable and writable up to its size and ``PROT_NONE`` past
  it; ``grow`` opens more pages.  So ``base + zext(index) + offset`` of an
  access whose ``offset + width`` is at most ``OFFSET_LIMIT`` lands in the
  mapping, and outside the memory's size only on a guard page.
- **Machine code.** Whole-module code lowered with ``guarded`` leaves those
  accesses untested (``native.lower``), and makes them ``volatile``: LLVM then
  keeps every access, in program order (a load whose value is unused still
  traps, and a store before a faulting load has happened when it faults).
- **The fault.** A ``SIGSEGV`` handler (machine code made here with
  ``x86.Assembler``) takes a fault whose address is in a memory's reservation
  and whose instruction is in machine code this process mapped (all of it
  is in ``object_loader``'s one reservation), on a thread
  that is inside ``guarded_call``: it records the faulting instruction and
  address in the thread's slot and resumes the thread at ``guarded_call``'s
  exit, with the stack and callee-saved registers it had when it called the
  entry trampoline (no ``longjmp``, no C frame skipped but wasm's own).
  ``guarded_call`` then returns 1 and the host raises the trap.  Any other
  fault puts the previous handler back and returns, so the fault happens again
  under it (``faulthandler``'s traceback, or the default core dump).

``enabled()`` says whether this process works this way (x86-64 Linux, the
Python object loader, no ``WASMBOX_GUARD_PAGES=0``, an address space of at
least ``ADDRESS_SPACE_NEEDED``); the native engine's cache keys include it,
so code made one way is never run the other.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import resource
import sys
import threading
from functools import cache
from typing import Any

RESERVATION = (6 << 30) + (64 << 10)
# An access with offset + width up to this is inside the reservation whatever its index (< 2^32).
OFFSET_LIMIT = 2 << 30
ADDRESS_SPACE_NEEDED = 1 << 40  # RLIMIT_AS below this (a few hundred memories' worth): no guard pages
CAPACITY = 1 << 15  # regions of each kind the handler knows (memories; code mappings)

SIGSEGV = 11  # (a guard page faults with SIGSEGV; SIGBUS, a page the kernel could not supply, is not ours)
SA_SIGINFO, SA_ONSTACK = 0x4, 0x08000000
# glibc x86-64: siginfo_t.si_code at 8, .si_addr at 16; ucontext_t.uc_mcontext.gregs at 40, REG_RDI 8, REG_RIP 16.
SI_CODE, SI_ADDR = 8, 16
UC_RDI, UC_RIP = 40 + 8 * 8, 40 + 16 * 8


class _SigAction(ctypes.Structure):
    _fields_ = [
        ("handler", ctypes.c_void_p),
        ("mask", ctypes.c_uint64 * 16),
        ("flags", ctypes.c_int),
        ("restorer", ctypes.c_void_p),
    ]


class _Regions:
    """A table the handler reads: u64 count, then (low, high) pairs; a freed pair is (0, 0)."""

    def __init__(self) -> None:
        self.words = (ctypes.c_uint64 * (2 + 2 * CAPACITY))()
        self.free: list[int] = []
        self.lock = threading.Lock()

    @property
    def address(self) -> int:
        return ctypes.addressof(self.words)

    def add(self, low: int, high: int) -> int | None:
        """The slot now holding [low, high), or None when the table is full."""
        with self.lock:
            if self.free:
                slot = self.free.pop()
            elif self.words[0] < CAPACITY:
                slot = self.words[0]
            else:
                return None
            # The pair first, then the count: the handler (any thread, any time) reads a whole pair.
            self.words[2 + 2 * slot], self.words[3 + 2 * slot] = low, high
            if slot == self.words[0]:
                self.words[0] = slot + 1
            return slot

    def remove(self, slot: int) -> None:
        with self.lock:
            self.words[3 + 2 * slot] = 0
            self.words[2 + 2 * slot] = 0
            self.free.append(slot)


class _Guards:
    """What one process installed: the handler's code and tables, and each thread's slot."""

    def __init__(self) -> None:
        from ..engines.native import x86
        from ..engines.native.object_loader import CODE_ARENA, _map, _protect, code_arena

        libc = ctypes.CDLL(None, use_errno=True)
        self.memories = _Regions()
        self.code = _Regions()
        arena = code_arena()  # all machine code is in it (object_loader)
        self.code.add(arena.start, arena.start + CODE_ARENA)
        self.previous = _SigAction()  # the action ours replaced
        self.default = _SigAction()  # SIG_DFL
        key = ctypes.c_uint()
        if libc.pthread_key_create(ctypes.byref(key), None) != 0:
            raise OSError("pthread_key_create failed")
        self.key = key.value
        self._set_specific = libc.pthread_setspecific
        self._set_specific.argtypes = [ctypes.c_uint, ctypes.c_void_p]
        self.local = threading.local()
        functions = {
            name: ctypes.cast(getattr(libc, name), ctypes.c_void_p).value
            for name in ("pthread_getspecific", "sigaction", "raise")
        }
        a = x86.Assembler()
        call, resume, handler = a.label(), a.label(), a.label()
        exit_label = a.label()
        # guarded_call(entry, ctx, inputs, outputs, slot) -> 0, or 1 after a guard fault.
        a.bind(call)
        for reg in (x86.RBP, x86.RBX, x86.R12, x86.R13, x86.R14, x86.R15):
            a.push(reg)
        a.alu_imm(x86.SUB, True, x86.RSP, 24)  # the record: previous head, slot (16-byte aligned)
        a.load(True, x86.RAX, x86.R8, 0)
        a.store(True, x86.RSP, 0, x86.RAX)
        a.store(True, x86.RSP, 8, x86.R8)
        a.store(True, x86.R8, 0, x86.RSP)  # the thread's head: this record (its address is the stack)
        a.mov(True, x86.RAX, x86.RDI)
        a.mov(True, x86.RDI, x86.RSI)
        a.mov(True, x86.RSI, x86.RDX)
        a.mov(True, x86.RDX, x86.RCX)
        a.call_reg(x86.RAX)
        a.load(True, x86.RCX, x86.RSP, 8)
        a.load(True, x86.RAX, x86.RSP, 0)
        a.store(True, x86.RCX, 0, x86.RAX)
        a.alu(x86.XOR, False, x86.RAX, x86.RAX)
        a.bind(exit_label)
        a.alu_imm(x86.ADD, True, x86.RSP, 24)
        for reg in (x86.R15, x86.R14, x86.R13, x86.R12, x86.RBX, x86.RBP):
            a.pop(reg)
        a.ret()
        # resume(record): where a faulting thread continues (the handler set RIP and RDI).
        a.bind(resume)
        a.mov(True, x86.RSP, x86.RDI)
        a.load(True, x86.RCX, x86.RSP, 8)
        a.load(True, x86.RAX, x86.RSP, 0)
        a.store(True, x86.RCX, 0, x86.RAX)
        a.mov_imm(x86.RAX, 1)
        a.jmp(exit_label)
        # handler(signal, info, context)
        a.bind(handler)
        for reg in (x86.RBX, x86.R12, x86.R13):
            a.push(reg)
        a.mov(True, x86.RBX, x86.RSI)
        a.mov(True, x86.R12, x86.RDX)
        a.mov(True, x86.R13, x86.RDI)
        chain = a.label()
        self._region_test(a, x86, self.memories.address, x86.RBX, SI_ADDR, chain)
        self._region_test(a, x86, self.code.address, x86.R12, UC_RIP, chain)
        a.mov_imm(x86.RDI, self.key)
        a.mov_imm(x86.RAX, functions["pthread_getspecific"] or 0)
        a.call_reg(x86.RAX)
        a.test(True, x86.RAX, x86.RAX)
        a.jcc(x86.E, chain)
        a.load(True, x86.RCX, x86.RAX, 0)  # the innermost record
        a.test(True, x86.RCX, x86.RCX)
        a.jcc(x86.E, chain)
        a.load(True, x86.RDX, x86.R12, UC_RIP)
        a.store(True, x86.RAX, 8, x86.RDX)
        a.load(True, x86.RDX, x86.RBX, SI_ADDR)
        a.store(True, x86.RAX, 16, x86.RDX)
        a.store(True, x86.R12, UC_RDI, x86.RCX)
        a.lea_rip(x86.RDX, resume)
        a.store(True, x86.R12, UC_RIP, x86.RDX)
        done = a.label()
        a.jmp(done)
        # Not ours. A fault: the previous action back, and the fault repeats under it. A signal that
        # was sent (si_code <= 0: kill, or a previous handler raising it again after its report): the
        # default action, raised again as this handler returns (raising it for the previous handler
        # could loop, when that handler's own previous one is this).
        a.bind(chain)
        sent = a.label()
        a.load(False, x86.RAX, x86.RBX, SI_CODE)
        a.test(False, x86.RAX, x86.RAX)
        a.jcc(x86.LE, sent)
        a.mov(False, x86.RDI, x86.R13)
        a.mov_imm(x86.RSI, ctypes.addressof(self.previous))
        a.alu(x86.XOR, False, x86.RDX, x86.RDX)
        a.mov_imm(x86.RAX, functions["sigaction"] or 0)
        a.call_reg(x86.RAX)
        a.jmp(done)
        a.bind(sent)
        a.mov(False, x86.RDI, x86.R13)
        a.mov_imm(x86.RSI, ctypes.addressof(self.default))
        a.alu(x86.XOR, False, x86.RDX, x86.RDX)
        a.mov_imm(x86.RAX, functions["sigaction"] or 0)
        a.call_reg(x86.RAX)
        a.mov(False, x86.RDI, x86.R13)
        a.mov_imm(x86.RAX, functions["raise"] or 0)
        a.call_reg(x86.RAX)
        a.bind(done)
        for reg in (x86.R13, x86.R12, x86.RBX):
            a.pop(reg)
        a.ret()
        code = a.finish()
        self.page = _map(mmap.PAGESIZE)
        ctypes.memmove(self.page, code, len(code))
        _protect(self.page, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC)
        self.call = ctypes.CFUNCTYPE(
            ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
        )(self.page + a.labels[call])
        self.handler_address = self.page + a.labels[handler]
        self._sigaction = libc.sigaction
        self._sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        self.install()

    @staticmethod
    def _region_test(a: Any, x86: Any, table: int, base: int, disp: int, miss: int) -> None:
        """Code: go to ``miss`` unless the word at [base + disp] lies in a region of ``table``."""
        a.load(True, x86.RAX, base, disp)
        a.mov_imm(x86.RCX, table)
        a.load(True, x86.RDX, x86.RCX, 0)
        a.alu_imm(x86.ADD, True, x86.RCX, 16)
        loop, next_pair, found = a.label(), a.label(), a.label()
        a.bind(loop)
        a.test(True, x86.RDX, x86.RDX)
        a.jcc(x86.E, miss)
        a.alu_mem(x86.CMP, True, x86.RAX, x86.RCX, 0)
        a.jcc(x86.B, next_pair)
        a.alu_mem(x86.CMP, True, x86.RAX, x86.RCX, 8)
        a.jcc(x86.B, found)
        a.bind(next_pair)
        a.alu_imm(x86.ADD, True, x86.RCX, 16)
        a.alu_imm(x86.SUB, True, x86.RDX, 1)
        a.jmp(loop)
        a.bind(found)

    def install(self) -> None:
        """Make the handler this process's for SIGSEGV (again, when someone replaced it),
        keeping the action it replaces for faults that are not ours."""
        current = _SigAction()
        if self._sigaction(SIGSEGV, None, ctypes.byref(current)) != 0:
            raise OSError(ctypes.get_errno(), "sigaction")
        if current.handler == self.handler_address:
            return
        action = _SigAction()
        action.handler = self.handler_address
        action.flags = SA_SIGINFO | SA_ONSTACK
        # Copied into the record the handler's code points at (it was assembled with its address).
        ctypes.memmove(ctypes.addressof(self.previous), ctypes.addressof(current), ctypes.sizeof(current))
        if self._sigaction(SIGSEGV, ctypes.byref(action), None) != 0:
            raise OSError(ctypes.get_errno(), "sigaction")

    def slot(self) -> tuple[Any, int]:
        """This thread's slot, (innermost record, faulting instruction, faulting address), and its address."""
        found: tuple[Any, int] | None = getattr(self.local, "slot", None)
        if found is None:
            slot = (ctypes.c_uint64 * 3)()
            found = self.local.slot = (slot, ctypes.addressof(slot))
            if self._set_specific(self.key, found[1]) != 0:
                raise OSError("pthread_setspecific failed")
        return found


@cache
def _guards() -> _Guards | None:
    if not _supported():
        return None
    try:
        return _Guards()
    except (OSError, MemoryError, AttributeError, ValueError):
        return None


def _supported() -> bool:
    if os.environ.get("WASMBOX_GUARD_PAGES", "1") == "0":
        return False
    if sys.platform != "linux" or os.uname().machine.lower() not in ("x86_64", "amd64"):
        return False
    if os.environ.get("WASMBOX_OBJECT_LOADER", "python") == "llvm":
        return False
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return soft == resource.RLIM_INFINITY or soft >= ADDRESS_SPACE_NEEDED


def enabled() -> bool:
    """Whether 32-bit memories get guard regions and whole-module machine code relies on them."""
    return _guards() is not None


def guards() -> _Guards:
    found = _guards()
    assert found is not None, "guard pages are not enabled in this process"
    return found


NO_ACCESS, READ_WRITE = 0, mmap.PROT_READ | mmap.PROT_WRITE


def protect(address: int, size: int, protection: int) -> None:
    """mprotect (raises OSError)."""
    from ..engines.native.object_loader import _protect

    _protect(address, size, protection)


def add_memory(base: int) -> int | None:
    """Register a memory's reservation (``RESERVATION`` bytes at ``base``); its slot, or None when
    the table is full (the caller must then not rely on the guard)."""
    return guards().memories.add(base, base + RESERVATION)


def remove_memory(slot: int) -> None:
    guards().memories.remove(slot)


def add_code(address: int, size: int) -> bool:
    """Tell the handler of machine code mapped outside ``object_loader``'s reservation (False: it
    cannot be told, and code that relies on guard pages must not be placed there)."""
    found = _guards()
    return found is None or found.code.add(address, address + size) is not None
