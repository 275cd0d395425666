"""The baseline interpreter runs a block that ends in a plain jump together with the block it jumps to.

What that must not change: where a trap says it happened (the instruction of the
second half), and loops, which stay blocks of their own.
"""

from __future__ import annotations

import pytest

from wasmbox import Instance, Module, Store
from wasmbox.errors import Trap

SOURCE = """(module
  (func (export "divide") (param i32) (result i32)
    (block (local.set 0 (i32.add (local.get 0) (i32.const 1))))
    (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $done
      (loop $l
        (block (local.set $i (i32.add (local.get $i) (i32.const 1))))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
    (local.get $i)))"""


def test_a_trap_after_a_jump_names_its_own_instruction() -> None:
    frames = {}
    for engine in ("interp", "baseline"):
        with pytest.raises(Trap, match="integer divide by zero") as raised:
            Instance(Store(engine), Module(SOURCE), {}).exports["divide"](0xFFFFFFFF)  # type: ignore[operator]
        frames[engine] = [(frame.func_index, frame.offset, frame.line) for frame in raised.value.frames]
    assert frames["baseline"] == frames["interp"]
    assert frames["baseline"][0][2] == 4  # the i32.div_u's line


def test_loops_around_joined_blocks_still_run_each_round() -> None:
    count = Instance(Store("baseline"), Module(SOURCE), {}).exports["count"]
    assert [count(n) for n in (1, 5, 1000)] == [1, 5, 1000]  # type: ignore[operator]
