"""The ``metadata.code.branch_hint`` custom section of a module from text.

Branch hints (``(@metadata.code.branch_hint "\\01")`` before an ``if`` or
``br_if``) tell an engine which way a branch usually goes.  Their binary form
is a custom section standing before the code section: for each hinted
function (by increasing index) its index and its hints, each the byte offset of
the instruction from the start of the function's body (the local declarations
included), the hint's size (1) and its value.  The offsets come from the one
encoder, so they match the bytes :func:`~wasmbox.binary.encode.encode_module`
writes.
"""

from __future__ import annotations

from ..binary.leb128 import encode_unsigned as uleb
from ..ir.module import CustomSection, Module

SECTION_NAME = "metadata.code.branch_hint"
BEFORE_CODE = 12  # the id of the data count section, which the code section follows


def branch_hint_section(module: Module, hints: dict[int, list[tuple[int, int]]]) -> CustomSection:
    """The section for ``hints``: function index -> (instruction index in its
    body, hint value) pairs in instruction order."""
    from ..binary.encode import encode_instruction, function_body  # only modules with hints need the encoder

    imported = module.num_imported_funcs()
    payload = bytearray(uleb(len(hints)))
    for func_index in sorted(hints):
        function = module.funcs[func_index - imported]
        offset = len(function_body(function)) - sum(len(encode_instruction(i)) for i in function.body)
        entries = hints[func_index]
        payload += uleb(func_index) + uleb(len(entries))
        position = 0
        for instruction_index, value in entries:
            while position < instruction_index:
                offset += len(encode_instruction(function.body[position]))
                position += 1
            payload += uleb(offset) + b"\x01" + bytes((value,))
    return CustomSection(SECTION_NAME, bytes(payload), BEFORE_CODE)
