"""Component binary decoding and encoding: the preamble, sections, typed errors with offsets."""

from __future__ import annotations

import pytest

from wasmbox.binary.decode import decode_module
from wasmbox.binary.leb128 import encode_unsigned as uleb
from wasmbox.component import types as t
from wasmbox.component.decode import PREAMBLE, decode_component, is_component
from wasmbox.component.encode import encode_component
from wasmbox.component.ir import (
    AliasSection,
    Canon,
    CanonOption,
    CanonSection,
    Component,
    ComponentExport,
    ComponentImport,
    ComponentSection,
    CoreInstanceSection,
    CoreInstantiate,
    CoreModuleSection,
    ExportSection,
    ImportSection,
    TypeSection,
)
from wasmbox.errors import MalformedError
from wasmbox.ir.types import I32

EMPTY_CORE_MODULE = b"\x00asm\x01\x00\x00\x00"


def section(section_id: int, payload: bytes) -> bytes:
    return bytes((section_id,)) + uleb(len(payload)) + payload


def test_preamble_tells_components_from_core_modules() -> None:
    assert is_component(PREAMBLE)
    assert not is_component(EMPTY_CORE_MODULE)
    assert decode_component(PREAMBLE).sections == []


def test_every_section_kind_round_trips() -> None:
    func_type = t.FuncType((("x", t.PrimType.U32),), t.PrimType.STRING)
    component = Component(
        [
            CoreModuleSection(decode_module(EMPTY_CORE_MODULE), EMPTY_CORE_MODULE),
            CoreInstanceSection([CoreInstantiate(0, ())]),
            TypeSection([t.Record((("a", t.PrimType.U8),)), func_type, t.ResourceType(I32, None)]),
            ImportSection([ComponentImport(t.ExternName("f"), t.ExternType(t.ExternSort.FUNC, 1))]),
            AliasSection([t.Alias(t.SortKind(t.Sort.CORE, t.CoreSort.MEMORY), t.CoreExportAlias(0, "mem"))]),
            CanonSection([Canon("lower", (0,), (CanonOption("memory", 0), CanonOption("string-encoding=utf16")))]),
            ComponentSection(Component([])),
            ExportSection(
                [ComponentExport(t.ExternName("r", 2, ((0, "a:b/c"),)), t.SortIndex(t.SortKind(t.Sort.TYPE), 2))]
            ),
        ]
    )
    encoded = encode_component(component)
    decoded = decode_component(encoded)
    assert [type(s) for s in decoded.sections] == [type(s) for s in component.sections]
    assert decoded.sections[2:] == component.sections[2:]
    assert encode_component(decoded) == encoded


@pytest.mark.parametrize(
    ("data", "message", "offset"),
    [
        (b"\x00asm\x0d\x00\x02\x00", "unknown binary layer", 6),
        (b"\x00asm\x0e\x00\x01\x00", "unknown binary version", 4),
        (PREAMBLE + section(13, b""), "malformed section id", 8),
        (PREAMBLE + section(7, b"\x01\x72"), "unexpected end-of-file", None),
        (PREAMBLE + b"\xff", "malformed section id", 8),
        (PREAMBLE + section(7, b"\x01\x55"), "invalid leading byte (0x55) for component defined type", 11),
        (
            PREAMBLE + section(6, b"\x01\x01\x02\x00\x00"),
            "invalid leading byte (0x1) for component outer alias kind",
            11,
        ),
        (PREAMBLE + section(7, b"\x01\x72\x00") + b"\x07\x05", "unexpected end-of-file", 14),
    ],
)
def test_malformed_components_say_what_and_where(data: bytes, message: str, offset: int | None) -> None:
    with pytest.raises(MalformedError) as info:
        decode_component(data)
    assert message in info.value.message
    if offset is not None:
        assert info.value.offset == offset


def test_nested_core_module_errors_are_placed_in_the_component() -> None:
    broken = b"\x00asm\x01\x00\x00\x00\x01\x01"  # a type section whose size runs past the end
    with pytest.raises(MalformedError) as info:
        decode_component(PREAMBLE + section(1, broken))
    assert info.value.offset is not None and info.value.offset >= 10


def test_section_size_must_match_its_contents() -> None:
    with pytest.raises(MalformedError, match="section size mismatch"):
        decode_component(PREAMBLE + section(7, b"\x01\x7f\x7f"))


def test_canon_table_drives_both_directions() -> None:
    canon = Canon("waitable-set.wait", (True, 3))
    data = PREAMBLE + section(8, b"\x01" + b"\x20\x01\x03")
    assert decode_component(data).sections == [CanonSection([canon])]
    assert encode_component(Component([CanonSection([canon])])) == data
