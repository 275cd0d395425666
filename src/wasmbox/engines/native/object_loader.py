"""Link an ELF64 x86-64 relocatable object into this process without LLVM.

A warm run's machine code is already compiled: the code cache holds LLVM's
object files.  Linking them through llvmlite costs its import (a 180 MB
shared library, ~30 ms) before the first native instruction.  The objects
wasmbox's lowering makes are simple, and this module links exactly that
shape, refusing anything else (``UnsupportedObject``: the caller then links
with LLVM):

* sections: code (``.ltext``/``.text``, the large code model's and the
  default's), read-only data (``.rodata``, ``.rodata.cst*``, ``.lrodata*``),
  and ``.eh_frame``, which is not loaded (wasm traps unwind by return codes,
  never through native frames: see ``lower``), nor its relocations applied;
  no writable, TLS, COMDAT or common data (each refused);
* relocations (System V x86-64 psABI, §4.4): ``R_X86_64_64`` (S + A),
  ``R_X86_64_PC32``/``PLT32`` (S + A - P, in 32 bits), ``R_X86_64_32``/``32S``
  (S + A, in 32 bits), checked for range; any other type is refused;
* external symbols: what ``resolve`` returns (the host callbacks, the C
  library's ``memmove``/``memset``/``memcpy``); a name it does not know is
  refused.  Code of the small code model (the guarded code: see ``jit``)
  calls them with 32-bit displacements (``R_X86_64_PLT32``), which cannot
  reach them: each such symbol gets a stub after the code, ``jmp *[rip]``
  and its address, and the calls go there;
* ``.debug_line``, when there is one, is kept with its addresses relocated
  (``line_at``: which wasm instruction a machine instruction is, see
  ``position_lines``); no other debug section is read.

Layout: one anonymous mapping, the code pages first (the stubs at their
end), then the read-only data.  It is written while read-write, then made read+execute (code) and
read-only (data): no page is ever writable and executable at once (W^X).  The
mapping lives as long as the process, as MCJIT's does.
"""

from __future__ import annotations

import bisect
import ctypes
import mmap
import os
import struct
import sys
import threading
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...inspect.dwarf_lines import LineTable

_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")

ET_REL, EM_X86_64 = 1, 62
SHT_PROGBITS, SHT_SYMTAB, SHT_RELA, SHT_NOBITS, SHT_REL = 1, 2, 4, 8, 9
SHT_X86_64_UNWIND = 0x70000001
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_GROUP, SHF_TLS = 0x1, 0x2, 0x4, 0x200, 0x400
SHN_UNDEF, SHN_LORESERVE, SHN_ABS = 0, 0xFF00, 0xFFF1
STB_GLOBAL, STB_WEAK = 1, 2
STT_TLS, STT_GNU_IFUNC = 6, 10
R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_32, R_X86_64_32S = 1, 2, 4, 10, 11
_PAGE = mmap.PAGESIZE


class UnsupportedObject(Exception):
    """The object needs something this loader does not do (the caller links it with LLVM)."""


@cache
def host_supported() -> bool:
    """Whether objects can be linked here: Linux on x86-64 (the psABI above, ``mmap``/``mprotect``)."""
    return sys.platform == "linux" and os.uname().machine in ("x86_64", "amd64")


class _Section:
    __slots__ = ("name", "kind", "flags", "offset", "size", "link", "info", "align", "address")

    def __init__(self, fields: tuple[int, ...], name: str) -> None:
        _, self.kind, self.flags, _, self.offset, self.size, self.link, self.info, self.align, _ = fields
        self.name = name
        self.address = 0  # where it is loaded (0: not loaded)


def _name(data: bytes, table_offset: int, offset: int) -> str:
    start = table_offset + offset
    return data[start : data.index(b"\0", start)].decode()


def _sections(data: bytes) -> list[_Section]:
    if len(data) < _HEADER.size:
        raise UnsupportedObject("not an ELF object")
    ident, e_type, machine, _, _, _, shoff, _, _, _, _, shentsize, shnum, shstrndx = _HEADER.unpack_from(data)
    if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:  # ELFCLASS64, little-endian
        raise UnsupportedObject("not a 64-bit little-endian ELF object")
    if e_type != ET_REL or machine != EM_X86_64 or shentsize != _SECTION.size or shnum == 0:
        raise UnsupportedObject("not an x86-64 relocatable object")
    raw = [_SECTION.unpack_from(data, shoff + i * _SECTION.size) for i in range(shnum)]
    names = raw[shstrndx][4]
    return [_Section(fields, _name(data, names, fields[0])) for fields in raw]


class _Layout:
    """Where each loaded section goes: code first, then read-only data, each at its alignment."""

    def __init__(self, sections: list[_Section], stubs: int = 0) -> None:
        """``stubs``: how many call stubs (``_STUB`` bytes each) to place after the code."""
        self.code: list[tuple[_Section, int]] = []
        self.data: list[tuple[_Section, int]] = []
        end = 0
        for executable in (True, False):
            for section in sections:
                if not section.flags & SHF_ALLOC or section.kind == SHT_X86_64_UNWIND or section.size == 0:
                    continue
                if section.kind != SHT_PROGBITS or section.flags & (SHF_WRITE | SHF_TLS | SHF_GROUP):
                    raise UnsupportedObject(f"section {section.name} (writable, TLS, COMDAT or not bits)")
                if bool(section.flags & SHF_EXECINSTR) != executable:
                    continue
                align = max(section.align, 1)
                end = (end + align - 1) // align * align
                (self.code if executable else self.data).append((section, end))
                end += section.size
            if executable:
                self.stubs = (end + _STUB - 1) // _STUB * _STUB
                end = self.stubs + stubs * _STUB
                self.code_size = (end + _PAGE - 1) // _PAGE * _PAGE
                end = self.code_size
        self.size = max((end + _PAGE - 1) // _PAGE * _PAGE, _PAGE)


# A call stub: ``jmp *0(%rip)`` and the target's address. Code of the small code model calls an
# external function (a host callback, the C library's memmove) with a 32-bit displacement, which cannot
# reach it from the code reservation; the call goes to the function's stub in the image instead.
_STUB = 16
_STUB_JUMP = bytes((0xFF, 0x25, 0, 0, 0, 0))


@cache
def _libc() -> ctypes.CDLL:
    """The C library's mmap, mprotect and munmap (made on first use: only Linux gets here).

    Called with the GIL held (``PyDLL``): they return at once, and code arriving from the worker is
    linked on a thread of its own while the program runs, where every release of the GIL meant
    waiting up to the switch interval (5 ms) for it again (three calls an object)."""
    libc = ctypes.PyDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    return libc


_MAP_FAILED = ctypes.c_void_p(-1).value


# Every mapping of machine code comes from one reservation (taken in page multiples, never given
# back), so one address range holds all the code this process made: the guard-page handler
# (runtime.guards) takes a fault as wasm's only when the faulting instruction is in it.
CODE_ARENA = 4 << 30
PROT_NONE = 0  # (not exported by CPython 3.11's mmap)


class _Arena:
    def __init__(self) -> None:
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_NORESERVE", 0x4000)
        address = _libc().mmap(None, CODE_ARENA, PROT_NONE, flags, -1, 0)
        if address is None or address == _MAP_FAILED:
            raise MemoryError(os.strerror(ctypes.get_errno()))
        self.start = self.next = int(address)
        self.lock = threading.Lock()

    def take(self, size: int) -> int:
        """``size`` bytes (a page multiple), readable and writable: from the reservation, or when
        that is used up, a mapping of their own, which the guard-page handler is told of."""
        with self.lock:
            if self.next + size <= self.start + CODE_ARENA:
                address, self.next = self.next, self.next + size
                _protect(address, size, mmap.PROT_READ | mmap.PROT_WRITE)
                return address
        protection, flags = mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
        address = _libc().mmap(None, size, protection, flags, -1, 0)
        if address is None or address == _MAP_FAILED:
            raise MemoryError(os.strerror(ctypes.get_errno()))
        from ...runtime import guards

        if not guards.add_code(int(address), size):
            _libc().munmap(address, size)
            raise MemoryError("too many mappings of machine code for the guard-page handler")
        return int(address)


@cache
def code_arena() -> _Arena:
    return _Arena()


def _map(size: int) -> int:
    return code_arena().take(size)


def _protect(address: int, size: int, protection: int) -> None:
    if size and _libc().mprotect(address, size, protection) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def link_object(data: bytes, resolve: Callable[[str], int | None]) -> dict[str, int]:
    """Load ``data`` (an ELF64 x86-64 relocatable object) into executable memory; the addresses of
    its global symbols.  ``resolve`` gives the address of an external symbol (None: unknown).
    Raises ``UnsupportedObject`` when the object is not of the shape above (nothing stays mapped)."""
    if not host_supported():
        raise UnsupportedObject("not Linux on x86-64")
    sections = _sections(data)
    symbol_tables = [s for s in sections if s.kind == SHT_SYMTAB]
    if len(symbol_tables) != 1 or any(s.kind == SHT_REL for s in sections):
        raise UnsupportedObject("expected one symbol table and RELA relocations")
    table = symbol_tables[0]
    strings = sections[table.link].offset
    symbols = [_SYMBOL.unpack_from(data, table.offset + i * _SYMBOL.size) for i in range(table.size // _SYMBOL.size)]
    called = _called_externals(data, sections, symbols)
    layout = _Layout(sections, len(called))
    image = bytearray(layout.size)
    placed = layout.code + layout.data
    for section, at in placed:
        image[at : at + section.size] = data[section.offset : section.offset + section.size]
    offsets = {id(section): at for section, at in placed}
    stubs: dict[int, int] = {}  # symbol index -> its stub's place in the image
    for number, index in enumerate(called):
        stubs[index] = at = layout.stubs + number * _STUB
        name = _name(data, strings, symbols[index][0])
        address = resolve(name)
        if address is None:
            raise UnsupportedObject(f"unknown external symbol {name}")
        image[at : at + _STUB] = _STUB_JUMP + struct.pack("<Q", address) + bytes(_STUB - 14)

    # Where each symbol is, relative to the image's start (loaded) or absolute (external, ABS).
    def value(index: int) -> tuple[int, bool]:
        name_offset, info, _, shndx, st_value, _ = symbols[index]
        if info & 0xF in (STT_TLS, STT_GNU_IFUNC):
            raise UnsupportedObject("TLS or indirect-function symbol")
        if shndx == SHN_UNDEF:
            name = _name(data, strings, name_offset)
            address = resolve(name)
            if address is None:
                raise UnsupportedObject(f"unknown external symbol {name}")
            return address, True
        if shndx == SHN_ABS:
            return st_value, True
        if shndx >= SHN_LORESERVE:
            raise UnsupportedObject("common or special symbol")
        at = offsets.get(id(sections[shndx]))
        if at is None:
            raise UnsupportedObject(f"symbol in section {sections[shndx].name}, which is not loaded")
        return at + st_value, False

    relocations: list[tuple[int, int, int, bool, int]] = []  # (place, type, value, absolute, addend)
    line_addresses: list[tuple[int, int]] = []  # (place in .debug_line, address in the image)
    for section in sections:
        if section.kind != SHT_RELA:
            continue
        target = sections[section.info]
        target_at = offsets.get(id(target))
        if target.name == ".debug_line":
            line_addresses = _line_addresses(data, section, target, value)
            continue
        if target_at is None:
            if target.kind == SHT_X86_64_UNWIND or not target.flags & SHF_ALLOC:
                continue  # .eh_frame (not loaded), or a non-allocated section's
            raise UnsupportedObject(f"relocations of {target.name}")
        for i in range(section.size // _RELA.size):
            offset, info, addend = _RELA.unpack_from(data, section.offset + i * _RELA.size)
            kind = info & 0xFFFFFFFF
            if kind not in (R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_32, R_X86_64_32S):
                raise UnsupportedObject(f"relocation type {kind} in {target.name}")
            if offset + (8 if kind == R_X86_64_64 else 4) > target.size:
                raise UnsupportedObject(f"relocation past the end of {target.name}")
            stub = stubs.get(info >> 32) if kind == R_X86_64_PLT32 else None
            symbol_value, absolute = (stub, False) if stub is not None else value(info >> 32)
            relocations.append((target_at + offset, kind, symbol_value, absolute, addend))
    exported_values = {}
    for index, (name_offset, info, _, shndx, _, _) in enumerate(symbols):
        if info >> 4 in (STB_GLOBAL, STB_WEAK) and shndx != SHN_UNDEF and name_offset:
            exported_values[_name(data, strings, name_offset)] = value(index)

    base = _map(layout.size)
    try:
        _relocate(image, base, relocations)
        ctypes.memmove(base, (ctypes.c_char * layout.size).from_buffer(image), layout.size)
        _protect(base, layout.code_size, mmap.PROT_READ | mmap.PROT_EXEC)
        _protect(base + layout.code_size, layout.size - layout.code_size, mmap.PROT_READ)
    except BaseException:
        _protect(base, layout.size, PROT_NONE)  # (the arena keeps its pages: nothing else is freed)
        raise
    debug_line = next((s for s in sections if s.name == ".debug_line" and s.kind == SHT_PROGBITS), None)
    if debug_line is not None and line_addresses:
        program = bytearray(data[debug_line.offset : debug_line.offset + debug_line.size])
        for place, at in line_addresses:
            struct.pack_into("<Q", program, place, base + at)
        _keep_lines(base, layout.code_size, bytes(program))
    return {name: (at if absolute else base + at) for name, (at, absolute) in exported_values.items()}


def _called_externals(data: bytes, sections: list[_Section], symbols: list[tuple[int, ...]]) -> list[int]:
    """The external symbols the object calls with a 32-bit displacement (R_X86_64_PLT32 in loaded
    code): each gets a stub (``_STUB``)."""
    called: dict[int, None] = {}
    for section in sections:
        if section.kind != SHT_RELA:
            continue
        target = sections[section.info]
        if not target.flags & SHF_ALLOC or target.kind == SHT_X86_64_UNWIND:
            continue
        for i in range(section.size // _RELA.size):
            _, info, _ = _RELA.unpack_from(data, section.offset + i * _RELA.size)
            if info & 0xFFFFFFFF == R_X86_64_PLT32 and symbols[info >> 32][3] == SHN_UNDEF:
                called[info >> 32] = None
    return list(called)


def _line_addresses(
    data: bytes, relocations: _Section, debug_line: _Section, value: Callable[[int], tuple[int, bool]]
) -> list[tuple[int, int]]:
    """Where ``.debug_line`` names a code address (its sequences' ``DW_LNE_set_address``), and which
    (relative to the image): R_X86_64_64 against loaded code. Anything else drops the line table,
    never the object (positions are diagnostics; see position_lines)."""
    found = []
    for i in range(relocations.size // _RELA.size):
        offset, info, addend = _RELA.unpack_from(data, relocations.offset + i * _RELA.size)
        if info & 0xFFFFFFFF != R_X86_64_64 or offset + 8 > debug_line.size:
            return []
        try:
            at, absolute = value(info >> 32)
        except UnsupportedObject:
            return []
        if absolute:
            return []
        found.append((offset, at + addend))
    return found


# The line tables of linked code (see position_lines): (code start, code end, .debug_line with its
# addresses where the code is), sorted by start; each read into rows at its first lookup.
_lines: list[tuple[int, int, bytes]] = []
_line_tables: dict[int, LineTable] = {}
_lines_lock = threading.Lock()


def _keep_lines(start: int, size: int, program: bytes) -> None:
    with _lines_lock:
        bisect.insort(_lines, (start, start + size, program))


def line_at(address: int) -> tuple[int, int] | None:
    """(the address where its row starts, the line) for the machine instruction at ``address``,
    from the line table of the object linked there; None without one, or without a row there."""
    from ...inspect.dwarf_lines import read_line_table

    with _lines_lock:
        index = bisect.bisect_right(_lines, (address, 1 << 64)) - 1
        if index < 0 or not _lines[index][0] <= address < _lines[index][1]:
            return None
        start, _, program = _lines[index]
        table = _line_tables.get(start)
        if table is None:
            table = _line_tables[start] = read_line_table(program)
    row = table.row_at(address)
    return None if row is None else (row[0], row[1].line)


def _relocate(image: bytearray, base: int, relocations: list[tuple[int, int, int, bool, int]]) -> None:
    """Apply ``relocations`` (place, type, symbol value, whether absolute, addend) to ``image``, to be
    copied to ``base`` (psABI §4.4.1: S + A, or S + A - P for the PC-relative types)."""
    for place, kind, symbol_value, absolute, addend in relocations:
        target_address = symbol_value if absolute else base + symbol_value
        if kind == R_X86_64_64:
            struct.pack_into("<Q", image, place, (target_address + addend) & 0xFFFFFFFFFFFFFFFF)
            continue
        result = target_address + addend - (base + place if kind in (R_X86_64_PC32, R_X86_64_PLT32) else 0)
        if kind == R_X86_64_32:
            if not 0 <= result < 1 << 32:
                raise UnsupportedObject("R_X86_64_32 out of range")
            struct.pack_into("<I", image, place, result)
        else:
            if not -(1 << 31) <= result < 1 << 31:
                raise UnsupportedObject("32-bit relocation out of range")
            struct.pack_into("<i", image, place, result)
