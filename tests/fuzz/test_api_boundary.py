"""Fuzzing the embedding API's boundary and hostile module shapes, on every engine.

``ApiMachine`` drives random sequences of API calls (memory and table grow, reads, writes, gets,
sets; and the same operations from wasm) with adversarial values (negative, huge, floats, bools,
strings) against a model of the sizes, and checks after every step that the memory and table are
exactly what the model says: the size never drops below the minimum, and wasm's bounds checks
agree with it (the last byte loads, the next one traps).  Every step either does what the model
says or raises a typed error, with nothing changed.

``test_hostile_shapes`` builds modules of random hostile shapes (deep nesting, many locals and
parameters around the implementation limits, big tables, wide br_tables, recursion) and runs
them: only a value or a typed error may come out.

CI runs a small number of cases; ``-m slow`` runs over 100,000 steps and 1,000 shapes per engine.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import wasmbox
from wasmbox import ENGINES, Func, Instance, Memory, Module, Store, Table
from wasmbox.errors import MalformedError, OutOfBoundsError, Trap, ValidationError, WasmError

PAGE = 65536
MEMORY_MAX, TABLE_MAX = 6, 12
SOURCE = f"""(module
  (memory (export "memory") 1 {MEMORY_MAX})
  (table (export "table") 2 {TABLE_MAX} funcref)
  (func $answer (export "answer") (result i32) (i32.const 42))
  (func (export "size") (result i32) memory.size)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "table_size") (result i32) table.size)
  (func (export "table_grow") (param i32) (result i32) (table.grow (ref.func $answer) (local.get 0)))
  (func (export "call") (param i32) (result i32) (call_indirect (result i32) (local.get 0))))"""

EDGES = [0, 1, 2, 3, -1, -2, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63, -(2**63), 65535, 65536, 65537, 10**30]
INTEGERS = st.one_of(st.sampled_from(EDGES), st.integers(-(2**40), 2**40), st.integers(0, 3 * PAGE))
ODD = st.one_of(st.floats(allow_nan=True), st.booleans(), st.text(max_size=3), st.none(), st.binary(max_size=2))
VALUES = st.one_of(INTEGERS, INTEGERS, ODD)
U32 = st.one_of(st.sampled_from([0, 1, 2, 5, 0xFFFFFFFF, 0xFFFFFFFE, 0x80000000]), st.integers(0, 0xFFFFFFFF))


def as_u32(value: int) -> int:
    """How wasm sees a Python int passed for an i32 (the API accepts -2^31..2^32-1)."""
    return value & 0xFFFFFFFF


class ApiMachine(RuleBasedStateMachine):
    engine = "interp"

    def __init__(self) -> None:
        super().__init__()
        self.instance = Instance(Store(self.engine), Module(SOURCE))
        exports = self.instance.exports
        memory, table = exports["memory"], exports["table"]
        assert isinstance(memory, Memory) and isinstance(table, Table)
        self.memory, self.table, self.exports = memory, table, exports
        self.pages, self.elements = 1, 2
        self.answer = exports["answer"]

    # --- from the API ---------------------------------------------------------------------
    @rule(delta=VALUES)
    def grow_memory(self, delta: Any) -> None:
        valid = isinstance(delta, int) and not isinstance(delta, bool) and 0 <= delta <= 65536
        if not valid:
            with pytest.raises((TypeError, ValueError)):
                self.memory.grow(delta)
            return
        expected = self.pages if self.pages + delta <= MEMORY_MAX else -1
        assert self.memory.grow(delta) == expected
        if expected != -1:
            self.pages += delta

    @rule(address=VALUES, length=VALUES)
    def read(self, address: Any, length: Any) -> None:
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (address, length))
        if ints and 0 <= address and 0 <= length and address + length <= self.pages * PAGE:
            assert len(self.memory.read(address, length)) == length
        else:
            with pytest.raises((TypeError, ValueError, OutOfBoundsError)):
                self.memory.read(address, length)

    @rule(address=VALUES, data=st.binary(max_size=8))
    def write(self, address: Any, data: bytes) -> None:
        size = self.pages * PAGE
        if isinstance(address, int) and not isinstance(address, bool) and 0 <= address <= size - len(data):
            self.memory.write(address, data)
            assert self.memory.read(address, len(data)) == data
        else:
            before = bytes(self.memory.buffer)
            with pytest.raises((TypeError, ValueError, OutOfBoundsError)):
                self.memory.write(address, data)
            assert bytes(self.memory.buffer) == before

    @rule(delta=VALUES, fill=st.booleans())
    def grow_table(self, delta: Any, fill: bool) -> None:
        valid = isinstance(delta, int) and not isinstance(delta, bool) and 0 <= delta <= 0xFFFFFFFF
        value = self.answer if fill else None
        if not valid:
            with pytest.raises((TypeError, ValueError)):
                self.table.grow(delta, value)
            return
        expected = self.elements if self.elements + delta <= TABLE_MAX else -1
        assert self.table.grow(delta, value) == expected
        if expected != -1:
            self.elements += delta

    @rule(index=VALUES, value=st.sampled_from([None, "answer", "text", 5]))
    def set_and_get(self, index: Any, value: Any) -> None:
        element = self.answer if value == "answer" else value
        in_range = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < self.elements
        if not in_range or not (element is None or isinstance(element, Func)):
            with pytest.raises((TypeError, OutOfBoundsError)):
                self.table.set(index, element)
            if not in_range:
                with pytest.raises((TypeError, OutOfBoundsError)):
                    self.table.get(index)
            return
        self.table.set(index, element)
        assert self.table.get(index) == element

    # --- from wasm ------------------------------------------------------------------------
    @rule(delta=U32)
    def grow_memory_from_wasm(self, delta: int) -> None:
        expected = self.pages if self.pages + delta <= MEMORY_MAX else -1
        assert self.exports["grow"](delta - (1 << 32) if delta >= 1 << 31 else delta) == expected
        if expected != -1:
            self.pages += delta

    @rule(delta=U32)
    def grow_table_from_wasm(self, delta: int) -> None:
        expected = self.elements if self.elements + delta <= TABLE_MAX else -1
        assert self.exports["table_grow"](delta - (1 << 32) if delta >= 1 << 31 else delta) == expected
        if expected != -1:
            self.elements += delta

    @rule(address=U32, value=st.integers(0, 255))
    def store_from_wasm(self, address: int, value: int) -> None:
        argument = address - (1 << 32) if address >= 1 << 31 else address
        if address < self.pages * PAGE:
            self.exports["store"](argument, value)
            assert self.exports["load"](argument) == value
        else:
            with pytest.raises(Trap, match="out of bounds memory access"):
                self.exports["store"](argument, value)

    @rule(index=U32)
    def call_through_table(self, index: int) -> None:
        argument = index - (1 << 32) if index >= 1 << 31 else index
        element = self.table.get(index) if index < self.elements else None
        if index >= self.elements:
            with pytest.raises(Trap, match="undefined element"):
                self.exports["call"](argument)
        elif element is None:
            with pytest.raises(Trap, match="uninitialized element"):
                self.exports["call"](argument)
        else:
            assert self.exports["call"](argument) == 42

    # --- what must always hold ------------------------------------------------------------
    @invariant()
    def sizes_match_the_model(self) -> None:
        assert self.memory.size == self.pages >= 1
        assert self.exports["size"]() == self.pages
        assert len(self.memory.buffer) == self.memory.data_len == self.pages * PAGE
        assert self.table.size == self.elements >= 2 and self.exports["table_size"]() == self.elements

    @invariant()
    def bounds_checks_follow_the_true_size(self) -> None:
        last = self.pages * PAGE - 1
        self.exports["load"](last)
        with pytest.raises(Trap, match="out of bounds memory access"):
            self.exports["load"](as_u32(last + 1) - (1 << 32) if last + 1 >= 1 << 31 else last + 1)


def machine_for(engine: str, examples: int, steps: int) -> Any:
    machine = type(f"ApiMachine_{engine}", (ApiMachine,), {"engine": engine})
    machine.TestCase.settings = settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, suppress_health_check=list(HealthCheck)
    )
    return machine.TestCase


for _engine in ENGINES:
    globals()[f"TestApiBoundary_{_engine}"] = machine_for(_engine, 25, 20)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_api_boundary_at_scale(engine: str) -> None:
    """Over 100,000 steps on each engine, counted: 3,000 sequences of up to 50 steps (hypothesis ends
    many early: 2,500 made 120,358 steps on the baseline but fewer on others)."""
    counts = {"sequences": 0, "checks": 0}

    class Counted(ApiMachine):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            super().__init__()
            counts["sequences"] += 1

        @invariant()
        def count(self) -> None:  # checked after the start of a sequence and after every step
            counts["checks"] += 1

    Counted.engine = engine
    Counted.TestCase.settings = settings(
        max_examples=3_000, stateful_step_count=50, deadline=None, suppress_health_check=list(HealthCheck)
    )
    Counted.TestCase("runTest").runTest()
    steps = counts["checks"] - counts["sequences"]
    print(f"{engine}: {counts['sequences']} sequences, {steps} steps")
    assert steps >= 100_000, f"only {steps} steps in {counts['sequences']} sequences"


# --- hostile module shapes -----------------------------------------------------------------------


def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def section(ident: int, content: bytes) -> bytes:
    return bytes([ident]) + uleb(len(content)) + content


@st.composite
def hostile_module(draw: st.DrawFn) -> bytes:
    """One function (type 0: ``params`` i32s -> i32) exported as "f", of a hostile shape."""
    params = draw(st.sampled_from([0, 1, 999, 1000, 1001, 3000]))
    local_count = draw(st.sampled_from([0, 10, 49_999, 50_000, 50_001, 2**32 - 1]))
    nesting = draw(st.sampled_from([0, 1, 100, 2_000]))
    typed = draw(st.booleans())
    targets = draw(st.sampled_from([0, 1, 65_520, 65_521]))
    recurse = draw(st.booleans())
    table = draw(st.sampled_from([0, 1, 10**6, 10**7, 10**7 + 1, 2**32 - 1]))
    types = b"\x02\x60" + uleb(params) + b"\x7f" * params + b"\x01\x7f" + b"\x60\x01\x7f\x01\x7f"
    body = b"\x41\x01"  # i32.const 1
    opener = b"\x02\x01" if typed else b"\x02\x40"  # block [i32]->[i32] or an empty block
    inner = b"" if typed else b"\x1a\x41\x01"  # an empty block needs the value dropped, then made again
    body += opener * nesting
    if targets:
        body += b"\x02\x40\x41\x00\x0e" + uleb(targets) + b"\x00" * targets + b"\x00\x0b"
    if recurse:  # call f(0, ...) again, its result in place of the value the block holds
        call = b"\x41\x00" * params + b"\x10\x00"
        body += b"\x1a" + call if typed else call + b"\x1a"
    body += b"\x0b" * nesting + inner + b"\x0b"
    locals_ = b"\x01" + uleb(local_count) + b"\x7e" if local_count else b"\x00"
    entry = locals_ + body
    tables = section(4, b"\x01\x70\x00" + uleb(table)) if table else b""
    return (
        b"\0asm\1\0\0\0"
        + section(1, types)
        + section(3, b"\x01\x00")
        + tables
        + section(7, b"\x01\x01f\x00\x00")
        + section(10, b"\x01" + uleb(len(entry)) + entry)
    )


def run_shape(engine: str, data: bytes) -> None:
    try:
        module = Module(data)
    except (MalformedError, ValidationError):
        return
    store = Store(engine, fuel=200_000, deadline=20.0)
    try:
        instance = Instance(store, module)
        f = instance.exports["f"]
        assert isinstance(f, wasmbox.Func)
        f(*[0] * len(f.type.params))
    except WasmError:
        pass


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=hostile_module())
def test_hostile_shapes(engine: str, data: bytes) -> None:
    run_shape(engine, data)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=1_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=hostile_module())
def test_many_hostile_shapes(engine: str, data: bytes) -> None:
    run_shape(engine, data)
