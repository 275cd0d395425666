"""Source lines from DWARF: the ``.debug_line`` custom section that C, C++ and Rust compilers emit with ``-g``.

WebAssembly's DWARF addresses are byte offsets into the code section's contents (counted from the
first byte after the section's size), so a row's address is compared with an instruction's offset
minus the code section's start.  The line-number program of each unit (DWARF 2 to 5) is run as the
DWARF standard describes: a small state machine whose rows map addresses to (file, line, column).
Only what lookups need is kept; anything this reader does not understand ends the unit it is in
(the rows read so far stay), so a damaged section loses lines, never raises.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass
from pathlib import PurePosixPath

# Forms that DWARF 5 file and directory entries use (DW_FORM_*).
_STRING, _LINE_STRP, _STRP, _UDATA, _DATA1, _DATA2, _DATA4, _DATA8, _DATA16, _BLOCK = (
    0x08,
    0x1F,
    0x0E,
    0x0F,
    0x0B,
    0x05,
    0x06,
    0x07,
    0x1E,
    0x09,
)
_PATH, _DIRECTORY_INDEX = 0x1, 0x2  # DW_LNCT_path, DW_LNCT_directory_index


class _Malformed(Exception):
    """The unit being read is not what this reader understands."""


@dataclass(frozen=True)
class SourceLine:
    """Where an instruction came from."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")


class _Cursor:
    def __init__(self, data: bytes, position: int = 0, end: int | None = None) -> None:
        self.data, self.position, self.end = data, position, len(data) if end is None else end

    def take(self, count: int) -> bytes:
        if self.position + count > self.end:
            raise _Malformed("truncated")
        chunk = self.data[self.position : self.position + count]
        self.position += count
        return chunk

    def u(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def uleb(self) -> int:
        result = shift = 0
        while True:
            byte = self.u(1)
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result

    def sleb(self) -> int:
        result = shift = 0
        while True:
            byte = self.u(1)
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result - (1 << shift) if byte & 0x40 else result

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.position, self.end)
        if end < 0:
            raise _Malformed("unterminated string")
        text = self.data[self.position : end].decode("utf-8", "replace")
        self.position = end + 1
        return text


def _string_at(section: bytes | None, offset: int) -> str:
    if section is None or offset >= len(section):
        raise _Malformed("string outside its section")
    return _Cursor(section, offset).cstring()


class LineTable:
    """Every row of every unit, sorted by address; ``at(offset)`` answers a code-section offset."""

    def __init__(self, rows: list[tuple[int, int, SourceLine | None]]) -> None:
        # At one address, a row with a line wins over another sequence's end (the later row, otherwise).
        rows.sort(key=lambda row: (row[0], row[2] is not None, row[1]))
        self.addresses = [address for address, _, _ in rows]
        self.lines = [line for _, _, line in rows]

    def __len__(self) -> int:
        return sum(1 for line in self.lines if line is not None)

    def at(self, address: int) -> SourceLine | None:
        """The row covering ``address`` (None past a sequence's end, or before the first row)."""
        row = self.row_at(address)
        return None if row is None else row[1]

    def row_at(self, address: int) -> tuple[int, SourceLine] | None:
        """The row covering ``address`` and the address it starts at."""
        index = bisect.bisect_right(self.addresses, address) - 1
        line = self.lines[index] if index >= 0 else None
        return None if line is None else (self.addresses[index], line)


def read_line_table(debug_line: bytes, debug_str: bytes | None = None, line_str: bytes | None = None) -> LineTable:
    """The rows of all units in a ``.debug_line`` section (the string sections serve DWARF 5)."""
    rows: list[tuple[int, int, SourceLine | None]] = []
    position = 0
    while position + 4 <= len(debug_line):
        cursor = _Cursor(debug_line, position)
        length = cursor.u(4)
        offset_size = 4
        if length == 0xFFFFFFFF:
            length, offset_size = cursor.u(8), 8
        end = min(cursor.position + length, len(debug_line))  # a truncated last unit: its rows so far
        if length == 0:
            break
        try:
            _run_unit(_Cursor(debug_line, cursor.position, end), offset_size, debug_str, line_str, rows)
        except (_Malformed, IndexError, struct.error, ZeroDivisionError):
            pass  # this unit's remaining rows are lost; the next unit is read as usual
        position = end
    return LineTable(rows)


def _run_unit(
    c: _Cursor,
    offset_size: int,
    debug_str: bytes | None,
    line_str: bytes | None,
    rows: list[tuple[int, int, SourceLine | None]],
) -> None:
    version = c.u(2)
    if not 2 <= version <= 5:
        raise _Malformed(f"DWARF version {version}")
    address_size = 4
    if version >= 5:
        address_size = c.u(1)
        c.u(1)  # segment selector size
    header_length = c.u(offset_size)
    program = c.position + header_length
    minimum_length = c.u(1)
    if version >= 4:
        c.u(1)  # maximum operations per instruction (VLIW only)
    default_is_stmt = c.u(1)
    line_base = struct.unpack("b", c.take(1))[0]
    line_range = c.u(1)
    opcode_base = c.u(1)
    argument_counts = [c.u(1) for _ in range(opcode_base - 1)]
    if version >= 5:
        directories = [entry[0] for entry in _entries_v5(c, offset_size, debug_str, line_str)]
        files = [(path, directory) for path, directory in _entries_v5(c, offset_size, debug_str, line_str)]
    else:
        directories = [""]
        while (name := c.cstring()) != "":
            directories.append(name)
        files = [("", 0)]  # DWARF 4 and earlier count files from 1
        while (name := c.cstring()) != "":
            directory = c.uleb()
            c.uleb(), c.uleb()  # modification time, length
            files.append((name, directory))
    c.position = program
    names: dict[int, str] = {}

    def file_name(index: int) -> str:
        name = names.get(index)
        if name is None:
            path, directory = files[index] if index < len(files) else (f"file{index}", 0)
            base = directories[directory] if directory < len(directories) else ""
            name = names[index] = str(PurePosixPath(base, path)) if base and not path.startswith("/") else path
        return name

    address, file, line, column, is_stmt = 0, 1, 1, 0, default_is_stmt

    def emit() -> None:
        rows.append((address, len(rows), SourceLine(file_name(file), line, column)))

    while c.position < c.end:
        opcode = c.u(1)
        if opcode >= opcode_base:  # special opcode: advance address and line, then a row
            adjusted = opcode - opcode_base
            address += (adjusted // line_range) * minimum_length
            line += line_base + adjusted % line_range
            emit()
        elif opcode == 0:  # extended opcode
            size = c.uleb()
            sub_end = c.position + size
            sub = c.u(1) if size else 0
            if sub == 1:  # end_sequence: past here, no line
                rows.append((address, len(rows), None))
                address, file, line, column, is_stmt = 0, 1, 1, 0, default_is_stmt
            elif sub == 2:
                address = c.u(size - 1 if size - 1 in (4, 8) else address_size)
            c.position = sub_end
        elif opcode == 1:  # copy
            emit()
        elif opcode == 2:
            address += c.uleb() * minimum_length
        elif opcode == 3:
            line += c.sleb()
        elif opcode == 4:
            file = c.uleb()
        elif opcode == 5:
            column = c.uleb()
        elif opcode == 6:
            is_stmt = 1 - is_stmt
        elif opcode == 8:  # const_add_pc
            address += ((255 - opcode_base) // line_range) * minimum_length
        elif opcode == 9:
            address += c.u(2)
        else:  # 7, 10, 11, 12 and unknown standard opcodes: skip their operands
            for _ in range(argument_counts[opcode - 1]):
                c.uleb()


def _entries_v5(c: _Cursor, offset_size: int, debug_str: bytes | None, line_str: bytes | None) -> list[tuple[str, int]]:
    """A DWARF 5 directory or file table: (path, directory index) per entry."""
    formats = [(c.uleb(), c.uleb()) for _ in range(c.u(1))]
    entries = []
    for _ in range(c.uleb()):
        path, directory = "", 0
        for content, form in formats:
            value = _form_value(c, form, offset_size, debug_str, line_str)
            if content == _PATH and isinstance(value, str):
                path = value
            elif content == _DIRECTORY_INDEX and isinstance(value, int):
                directory = value
        entries.append((path, directory))
    return entries


def _form_value(c: _Cursor, form: int, offset_size: int, debug_str: bytes | None, line_str: bytes | None) -> object:
    if form == _STRING:
        return c.cstring()
    if form == _LINE_STRP:
        return _string_at(line_str, c.u(offset_size))
    if form == _STRP:
        return _string_at(debug_str, c.u(offset_size))
    if form == _UDATA:
        return c.uleb()
    sizes = {_DATA1: 1, _DATA2: 2, _DATA4: 4, _DATA8: 8, _DATA16: 16}
    if form in sizes:
        return c.u(sizes[form])
    if form == _BLOCK:
        return c.take(c.uleb())
    raise _Malformed(f"form {form:#x}")


def module_line_table(customs: list[tuple[str, bytes]]) -> LineTable | None:
    """The line table of a module's custom sections ((name, data) pairs), or None without ``.debug_line``."""
    sections = dict(customs)
    debug_line = sections.get(".debug_line")
    if debug_line is None:
        return None
    return read_line_table(debug_line, sections.get(".debug_str"), sections.get(".debug_line_str"))
