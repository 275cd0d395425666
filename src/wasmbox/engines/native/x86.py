"""A small x86-64 assembler: the instructions the quick compiler emits, as bytes, with labels.

Only what ``quick`` needs, each encoded by the rules of the Intel SDM, volume 2
(REX prefix, ModRM, SIB, displacements): register-register and register-memory
forms of the integer instructions, the SSE2 scalar float instructions, and
``rel32`` jumps to labels patched when the code is finished.  Memory operands
are ``(base, displacement)`` or ``(base, index, displacement)`` with scale 1.
"""

from __future__ import annotations

import struct
from functools import cache

RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI = range(8)
R8, R9, R10, R11, R12, R13, R14, R15 = range(8, 16)
XMM0, XMM1, XMM2, XMM3 = range(4)

# Condition codes (the low nibble of Jcc, SETcc, CMOVcc).
O, NO, B, AE, E, NE, BE, A, S, NS, P, NP, L, GE, LE, G = range(16)  # noqa: E741 - the SDM's names

# Group-1 ALU operations: (opcode of the r/m, reg form; /digit of the immediate form).
ADD, OR, AND, SUB, XOR, CMP = (0x01, 0), (0x09, 1), (0x21, 4), (0x29, 5), (0x31, 6), (0x39, 7)
# Shifts and rotates by CL (/digit of D3).
ROL, ROR, SHL, SHR, SAR = 0, 1, 4, 5, 7

_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_JCC = [bytes((0x0F, 0x80 | cc, 0, 0, 0, 0)) for cc in range(16)]  # jcc rel32, the offset patched later


def fits_i32(value: int) -> bool:
    return -(1 << 31) <= value < (1 << 31)


class Assembler:
    def __init__(self) -> None:
        self.code = bytearray()
        self.labels: list[int] = []  # label -> position (-1 until bound)
        self.fixups: list[tuple[int, int]] = []  # (position of a rel32, label)
        self.table_fixups: list[tuple[int, int, int]] = []  # (position, label, base label)
        self.last_bind = -1  # where the latest label was bound (code may arrive there from elsewhere)

    # --- labels ---------------------------------------------------------------------------
    def label(self) -> int:
        self.labels.append(-1)
        return len(self.labels) - 1

    def bind(self, label: int) -> None:
        self.labels[label] = self.last_bind = len(self.code)

    def finish(self) -> bytes:
        code, labels, pack_into = self.code, self.labels, _I32.pack_into
        for at, label in self.fixups:
            target = labels[label]
            assert target >= 0, "a jump to a label never bound"
            pack_into(code, at, target - (at + 4))
        for at, label, base in self.table_fixups:
            assert self.labels[label] >= 0 and self.labels[base] >= 0, "a table entry for a label never bound"
            self.code[at : at + 4] = _I32.pack(self.labels[label] - self.labels[base])
        return bytes(self.code)

    def _rel32(self, label: int) -> None:
        self.fixups.append((len(self.code), label))
        self.code += b"\0\0\0\0"

    # --- encoding ---------------------------------------------------------------------------
    def _rex(self, w: bool, reg: int, index: int, base: int, force: bool = False) -> None:
        self.code += _rex(w, reg, index, base, force)

    def _rr(self, opcode: bytes, w: bool, reg: int, rm: int, prefix: bytes = b"", byte_regs: bool = False) -> None:
        """``opcode`` with ModRM naming register ``reg`` and register ``rm``."""
        self.code += _encode_rr(opcode, w, reg, rm, prefix, byte_regs)

    def _rm(
        self,
        opcode: bytes,
        w: bool,
        reg: int,
        base: int,
        disp: int,
        index: int | None = None,
        prefix: bytes = b"",
        byte_regs: bool = False,
        scale: int = 1,
    ) -> None:
        """``opcode`` with ModRM naming register ``reg`` and memory ``[base + index * scale + disp]``."""
        self.code += _encode_rm(opcode, w, reg, base, disp, index, prefix, byte_regs, scale)

    # --- moves ----------------------------------------------------------------------------
    def load(self, w: bool, reg: int, base: int, disp: int, index: int | None = None) -> None:
        """mov reg, [base + index + disp] (32 bits zero-extended, or 64)."""
        self.code += _encode_rm(b"\x8b", w, reg, base, disp, index, b"", False, 1)  # (the commonest two: no _rm)

    def store(self, w: bool, base: int, disp: int, reg: int, index: int | None = None) -> None:
        """mov [base + index + disp], reg (32 or 64 bits)."""
        self.code += _encode_rm(b"\x89", w, reg, base, disp, index, b"", False, 1)

    def store8(self, base: int, disp: int, reg: int, index: int | None = None) -> None:
        self._rm(b"\x88", False, reg, base, disp, index, byte_regs=True)

    def store16(self, base: int, disp: int, reg: int, index: int | None = None) -> None:
        self._rm(b"\x89", False, reg, base, disp, index, prefix=b"\x66")

    def load_extend(self, width: int, signed: bool, w: bool, reg: int, base: int, disp: int, index: int | None) -> None:
        """A load of 1, 2 or 4 bytes extended to 32 (w False) or 64 bits."""
        if width == 4:
            if signed:
                self._rm(b"\x63", True, reg, base, disp, index)  # movsxd
            else:
                self._rm(b"\x8b", False, reg, base, disp, index)
            return
        opcode = {(1, False): b"\x0f\xb6", (2, False): b"\x0f\xb7", (1, True): b"\x0f\xbe", (2, True): b"\x0f\xbf"}
        self._rm(opcode[width, signed], w and signed, reg, base, disp, index)

    def mov(self, w: bool, dst: int, src: int) -> None:
        self.code += _encode_rr(b"\x89", w, src, dst, b"", False)

    def mov_imm(self, dst: int, value: int) -> None:
        """dst = value (a 64-bit pattern, given signed or unsigned)."""
        value &= (1 << 64) - 1
        if value < (1 << 32):
            self.code += _MOV_IMM32[dst] + _U32.pack(value)
        elif value >= (1 << 64) - (1 << 31):
            self.code += _MOV_SIGN_EXTENDED[dst] + _I32.pack(value - (1 << 64))
        else:
            self.code += _MOV_IMM64[dst] + _U64.pack(value)

    def load_indexed(self, opcode: bytes, w: bool, reg: int, base: int, index: int, scale: int, disp: int = 0) -> None:
        """``opcode`` (mov 8B, movsxd 63) reg, [base + index * scale + disp]."""
        self._rm(opcode, w, reg, base, disp, index, scale=scale)

    def store_indexed(self, base: int, index: int, scale: int, disp: int, reg: int) -> None:
        """mov [base + index * scale + disp], reg (64 bits)."""
        self._rm(b"\x89", True, reg, base, disp, index, scale=scale)

    def sub_rsp_patchable(self) -> int:
        """sub rsp, imm32 with the immediate left to patch (a frame whose size is known later); its position."""
        self._rr(b"\x81", True, 5, RSP)
        self.code += b"\0\0\0\0"
        return len(self.code) - 4

    def store_imm32(self, w: bool, base: int, disp: int, value: int) -> None:
        """mov dword/qword [base + disp], imm32 (sign-extended to 64 bits when w)."""
        self.code += _encode_rm(b"\xc7", w, 0, base, disp, None, b"", False, 1) + _I32.pack(value)

    def lea(self, dst: int, base: int, disp: int, index: int | None = None) -> None:
        self.code += _encode_rm(b"\x8d", True, dst, base, disp, index, b"", False, 1)

    def push(self, reg: int) -> None:
        self._rex(False, 0, 0, reg)
        self.code.append(0x50 | (reg & 7))

    def pop(self, reg: int) -> None:
        self._rex(False, 0, 0, reg)
        self.code.append(0x58 | (reg & 7))

    def ret(self) -> None:
        self.code.append(0xC3)

    # --- integer arithmetic ---------------------------------------------------------------
    def alu(self, op: tuple[int, int], w: bool, dst: int, src: int) -> None:
        self.code += _encode_rr(_OPCODE_BYTE[op[0]], w, src, dst, b"", False)

    def alu_imm(self, op: tuple[int, int], w: bool, dst: int, value: int) -> None:
        if -128 <= value <= 127:
            self.code += _encode_rr(b"\x83", w, op[1], dst, b"", False) + _BYTE[value & 0xFF]
        else:
            self.code += _encode_rr(b"\x81", w, op[1], dst, b"", False) + _I32.pack(value)

    def alu_mem(self, op: tuple[int, int], w: bool, reg: int, base: int, disp: int) -> None:
        """op reg, [base + disp] (the reg-from-memory form: opcode + 2)."""
        self.code += _encode_rm(_OPCODE_BYTE[op[0] + 2], w, reg, base, disp, None, b"", False, 1)

    def cmp_mem_imm(self, w: bool, base: int, disp: int, value: int) -> None:
        """cmp [base + disp], imm8."""
        self.code += _encode_rm(b"\x83", w, 7, base, disp, None, b"", False, 1) + _BYTE[value & 0xFF]

    def imul(self, w: bool, dst: int, src: int) -> None:
        self._rr(b"\x0f\xaf", w, dst, src)

    def shift(self, kind: int, w: bool, dst: int) -> None:
        """Shift or rotate dst by CL."""
        self._rr(b"\xd3", w, kind, dst)

    def unary(self, digit: int, w: bool, reg: int) -> None:
        """F7 /digit: not (2), neg (3), div (6), idiv (7)."""
        self._rr(b"\xf7", w, digit, reg)

    def sign_extend_rax(self, w: bool) -> None:
        """cdq / cqo: rdx:rax = sign extension of eax / rax."""
        self._rex(w, 0, 0, 0)
        self.code.append(0x99)

    def bit_count(self, opcode: int, w: bool, dst: int, src: int) -> None:
        """F3 0F opcode: popcnt (B8), tzcnt (BC), lzcnt (BD)."""
        self._rr(bytes((0x0F, opcode)), w, dst, src, prefix=b"\xf3")

    def test(self, w: bool, a: int, b: int) -> None:
        self.code += _encode_rr(b"\x85", w, b, a, b"", False)

    def setcc(self, cc: int, reg: int) -> None:
        self.code += _encode_rr(_SETCC[cc], False, 0, reg, b"", True)

    def movzx8(self, dst: int, src: int) -> None:
        self.code += _encode_rr(b"\x0f\xb6", False, dst, src, b"", True)

    def movsx(self, width: int, w: bool, dst: int, src: int) -> None:
        """Sign-extend the low 8/16/32 bits of src into dst."""
        if width == 4:
            self._rr(b"\x63", True, dst, src)
        else:
            self._rr(b"\x0f\xbe" if width == 1 else b"\x0f\xbf", w, dst, src, byte_regs=True)

    def cmov(self, cc: int, w: bool, dst: int, src: int) -> None:
        self._rr(bytes((0x0F, 0x40 | cc)), w, dst, src)

    # --- control --------------------------------------------------------------------------
    def jmp(self, label: int) -> None:
        code = self.code
        self.fixups.append((len(code) + 1, label))
        code += b"\xe9\0\0\0\0"

    def jcc(self, cc: int, label: int) -> None:
        code = self.code
        self.fixups.append((len(code) + 2, label))
        code += _JCC[cc]

    def jump_stub(self, label: int, value: int, target: int) -> None:
        """At ``label``: ``mov rax, value`` (64 bits), then ``jmp target`` (a trap site's stub: the
        commonest out-of-line code, so made in one step)."""
        code = self.code
        self.labels[label] = self.last_bind = len(code)
        self.mov_imm(RAX, value)
        self.fixups.append((len(code) + 1, target))
        code += b"\xe9\0\0\0\0"

    def call_reg(self, reg: int) -> None:
        self.code += _encode_rr(b"\xff", False, 2, reg, b"", False)

    def call_mem(self, base: int, disp: int) -> None:
        self.code += _encode_rm(b"\xff", False, 2, base, disp, None, b"", False, 1)

    # --- SSE2 scalar floats ---------------------------------------------------------------
    def movq_to_xmm(self, xmm: int, reg: int) -> None:
        self._rr(b"\x0f\x6e", True, xmm, reg, prefix=b"\x66")

    def movq_from_xmm(self, reg: int, xmm: int) -> None:
        self._rr(b"\x0f\x7e", True, xmm, reg, prefix=b"\x66")

    def load_float(self, double: bool, xmm: int, base: int, disp: int) -> None:
        """movsd/movss xmm, [base + disp]."""
        self._rm(b"\x0f\x10", False, xmm, base, disp, prefix=b"\xf2" if double else b"\xf3")

    def store_float(self, double: bool, base: int, disp: int, xmm: int) -> None:
        """movsd/movss [base + disp], xmm."""
        self._rm(b"\x0f\x11", False, xmm, base, disp, prefix=b"\xf2" if double else b"\xf3")

    def float_op(self, opcode: int, double: bool, dst: int, src: int) -> None:
        """F2/F3 0F opcode: add (58), mul (59), sub (5C), div (5E), sqrt (51), cvt between widths (5A)."""
        self._rr(bytes((0x0F, opcode)), False, dst, src, prefix=b"\xf2" if double else b"\xf3")

    def ucomis(self, double: bool, a: int, b: int) -> None:
        self._rr(b"\x0f\x2e", False, a, b, prefix=b"\x66" if double else b"")

    def movaps(self, dst: int, src: int) -> None:
        """xmm dst = xmm src (the whole register)."""
        self._rr(b"\x0f\x28", False, dst, src)

    def xorps(self, dst: int, src: int) -> None:
        self._rr(b"\x0f\x57", False, dst, src)

    def cvt_int_to_float(self, double: bool, w: bool, xmm: int, reg: int) -> None:
        """cvtsi2sd/cvtsi2ss xmm, r32/r64 (signed)."""
        self._rr(b"\x0f\x2a", w, xmm, reg, prefix=b"\xf2" if double else b"\xf3")

    def cvt_float_to_int(self, double: bool, w: bool, reg: int, xmm: int) -> None:
        """cvttsd2si/cvttss2si r32/r64, xmm (truncating)."""
        self._rr(b"\x0f\x2c", w, reg, xmm, prefix=b"\xf2" if double else b"\xf3")

    def round_float(self, double: bool, dst: int, src: int, mode: int) -> None:
        """roundsd/roundss (SSE4.1): mode 0 nearest even, 1 floor, 2 ceiling, 3 toward zero; 8 keeps
        the precision exception quiet."""
        self._rr(b"\x0f\x3a\x0b" if double else b"\x0f\x3a\x0a", False, dst, src, prefix=b"\x66")
        self.code.append(mode | 8)

    def shift_imm(self, kind: int, w: bool, dst: int, count: int) -> None:
        self.code += _encode_rr(b"\xc1", w, kind, dst, b"", False) + _BYTE[count & 0x3F]

    def lea_rip(self, dst: int, label: int) -> None:
        """lea dst, [rip + label]."""
        self._rex(True, dst, 0, 0)
        self.code += b"\x8d"
        self.code.append(((dst & 7) << 3) | 5)
        self._rel32(label)

    def jmp_reg(self, reg: int) -> None:
        self._rr(b"\xff", False, 4, reg)

    def table_entry(self, label: int, base: int) -> None:
        """A 32-bit offset from label ``base`` to ``label`` (a jump table's entry)."""
        self.table_fixups.append((len(self.code), label, base))
        self.code += b"\0\0\0\0"


# Encodings, made once each: a function's code repeats a few hundred distinct ones (the compiler is
# bound by how fast it makes them).
@cache
def _rex(w: bool, reg: int, index: int, base: int, force: bool = False) -> bytes:
    value = 0x40 | (8 if w else 0) | ((reg >> 3) << 2) | ((index >> 3) << 1) | (base >> 3)
    return bytes((value,)) if value != 0x40 or force else b""


@cache
def _encode_rr(opcode: bytes, w: bool, reg: int, rm: int, prefix: bytes, byte_regs: bool) -> bytes:
    rex = _rex(w, reg, 0, rm, force=byte_regs and (reg >= 4 or rm >= 4))
    return prefix + rex + opcode + bytes((0xC0 | ((reg & 7) << 3) | (rm & 7),))


@cache
def _encode_rm(
    opcode: bytes,
    w: bool,
    reg: int,
    base: int,
    disp: int,
    index: int | None,
    prefix: bytes,
    byte_regs: bool,
    scale: int,
) -> bytes:
    out = bytearray(prefix)
    out += _rex(w, reg, index or 0, base, force=byte_regs and reg >= 4)
    out += opcode
    r = (reg & 7) << 3
    short = -128 <= disp <= 127
    mod = 0 if disp == 0 and (base & 7) != RBP else (0x40 if short else 0x80)
    if index is not None:
        out.append(mod | r | 4)
        out.append({1: 0, 2: 0x40, 4: 0x80, 8: 0xC0}[scale] | ((index & 7) << 3) | (base & 7))
    elif (base & 7) == RSP:
        out.append(mod | r | 4)
        out.append(0x24)
    else:
        out.append(mod | r | (base & 7))
    if mod == 0x40:
        out.append(disp & 0xFF)
    elif mod == 0x80:
        out += _I32.pack(disp)
    return bytes(out)


# mov reg, imm32 (zero-extended); mov reg, imm32 sign-extended to 64 bits; movabs reg, imm64: each
# register's bytes before the immediate.
_MOV_IMM32 = [_rex(False, 0, 0, r) + bytes((0xB8 | (r & 7),)) for r in range(16)]
_MOV_SIGN_EXTENDED = [_rex(True, 0, 0, r) + bytes((0xC7, 0xC0 | (r & 7))) for r in range(16)]
_MOV_IMM64 = [_rex(True, 0, 0, r) + bytes((0xB8 | (r & 7),)) for r in range(16)]
_OPCODE_BYTE = [bytes((k,)) for k in range(256)]
_BYTE = _OPCODE_BYTE
_SETCC = [bytes((0x0F, 0x90 | cc)) for cc in range(16)]
