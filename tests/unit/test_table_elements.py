"""A table's paged elements: the same answers as a plain list, with storage only for pages written.

A table of ten million elements that a guest barely writes must not cost ten
million list slots (issue 12: 80 MB and ~0.1 s before the first instruction).
These tests drive ``TableElements`` and a plain list through the same random
operations and compare every element, and pin what makes creation cheap: every
page of a new table is one shared object until it is written.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wasmbox import Instance, Module, Store
from wasmbox.engines.native import available
from wasmbox.errors import Trap
from wasmbox.ir.types import FUNCREF, Limits, TableType
from wasmbox.runtime.objects import TableInstance
from wasmbox.runtime.table_elements import PAGE_SIZE, TableElements

ENGINES = ["interp", "baseline"] + (["native"] if available() else [])

# Sizes around page boundaries, so that partial first and last pages are exercised.
SIZES = st.sampled_from([0, 1, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1, 3 * PAGE_SIZE + 7])
VALUES = st.sampled_from([None, "a", "b", 7])


class Watcher:
    """Records what the elements said changed."""

    def __init__(self) -> None:
        self.notices: list[tuple[str, int, int]] = []

    def set(self, index: int) -> None:
        self.notices.append(("set", index, 1))

    def set_range(self, start: int, count: int) -> None:
        self.notices.append(("set", start, count))

    def appended(self, old_length: int) -> None:
        self.notices.append(("appended", old_length, 0))

    def changed(self) -> None:
        self.notices.append(("changed", 0, 0))


def operations(size: int) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    span = 4 * PAGE_SIZE + size
    index = st.integers(0, span)
    count = st.integers(0, 2 * PAGE_SIZE + 3)
    return st.lists(
        st.one_of(
            st.tuples(st.just("set"), index, VALUES),
            st.tuples(st.just("fill"), index, count, VALUES),
            st.tuples(st.just("copy"), index, index, count),
            st.tuples(st.just("grow"), st.integers(0, 2 * PAGE_SIZE + 1), VALUES),
        ),
        max_size=25,
    )


@settings(max_examples=300, deadline=None)
@given(data=st.data(), size=SIZES, initial=VALUES)
def test_paged_elements_answer_as_a_list_does(data: st.DataObject, size: int, initial: object) -> None:
    elements, model = TableElements(size, initial), [initial] * size
    for operation in data.draw(operations(size)):
        kind = operation[0]
        if kind == "set" and operation[1] < len(model):
            elements[operation[1]] = operation[2]
            model[operation[1]] = operation[2]
        elif kind == "fill" and operation[1] + operation[2] <= len(model):
            elements.fill(operation[1], operation[2], operation[3])
            model[operation[1] : operation[1] + operation[2]] = [operation[3]] * operation[2]
        elif kind == "copy" and max(operation[1], operation[2]) + operation[3] <= len(model):
            _, dst, src, count = operation
            elements.write(dst, elements.read(src, count))
            model[dst : dst + count] = model[src : src + count]
        elif kind == "grow":
            elements.grow(operation[1], operation[2])
            model.extend([operation[2]] * operation[1])
    assert len(elements) == len(model)
    assert list(elements) == model
    assert [elements[i] for i in range(len(model))] == model
    assert list(elements.present()) == [(i, v) for i, v in enumerate(model) if v is not None]
    if elements.all_null():  # (a written page may hold only nulls too: then it is merely not known)
        assert all(value is None for value in model)


def test_a_new_table_of_ten_million_shares_one_page() -> None:
    elements = TableElements(10_000_000)
    assert len(elements) == 10_000_000
    assert len({id(page) for page in elements.pages}) == 1
    assert elements.all_null() and next(elements.present(), None) is None


def test_a_write_gives_only_its_page_storage() -> None:
    elements = TableElements(10_000_000)
    elements[9_999_999] = "f"
    assert sum(type(page) is list for page in elements.pages) == 1
    assert elements[9_999_999] == "f" and elements[9_999_998] is None and elements[0] is None
    assert list(elements.present()) == [(9_999_999, "f")]
    assert not elements.all_null()


def test_filling_whole_pages_shares_them_again() -> None:
    elements = TableElements(100 * PAGE_SIZE)
    elements.fill(0, 100 * PAGE_SIZE, "f")
    assert len({id(page) for page in elements.pages}) == 1
    assert elements[0] == elements[100 * PAGE_SIZE - 1] == "f"


@pytest.mark.parametrize("index", [-1, 5, 1 << 40])
def test_an_index_outside_the_table_never_wraps(index: int) -> None:
    elements = TableElements(5, "x")
    with pytest.raises(IndexError):
        elements[index]
    with pytest.raises(IndexError):
        elements[index] = "y"
    assert list(elements) == ["x"] * 5


def test_the_watcher_hears_where_each_write_went() -> None:
    elements = TableElements(3 * PAGE_SIZE)
    watcher = elements.watcher = Watcher()
    elements[4] = "a"
    elements.fill(PAGE_SIZE - 2, 5, "b")
    elements.write(1, ["c", "d"])
    elements.grow(2, None)
    elements.set_quietly(0, "e")  # machine code's own write: no notice
    assert watcher.notices == [
        ("set", 4, 1),
        ("set", PAGE_SIZE - 2, 5),
        ("set", 1, 2),
        ("appended", 3 * PAGE_SIZE, 0),
    ]


def test_growing_a_partial_page_sets_the_entries_past_its_old_end() -> None:
    table = TableInstance(TableType(FUNCREF, Limits(PAGE_SIZE + 3)), "old")
    assert table.grow(PAGE_SIZE, "new") == PAGE_SIZE + 3
    assert list(table.elements) == ["old"] * (PAGE_SIZE + 3) + ["new"] * PAGE_SIZE


WRITES = """(module
  (type $r (func (result i32)))
  (table $t 10000000 funcref)
  (func $seven (result i32) (i32.const 7))
  (elem declare func $seven)
  (func (export "size") (result i32) (table.size $t))
  (func (export "write-then-call") (param $i i32) (result i32)
    (table.set $t (local.get $i) (ref.func $seven))
    (call_indirect $t (type $r) (local.get $i)))
  (func (export "call") (param $i i32) (result i32) (call_indirect $t (type $r) (local.get $i)))
)"""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_huge_table_is_written_and_called_through_on_every_engine(engine: str) -> None:
    instance = Instance(Store(engine), Module(WRITES), {})
    assert instance.exports["size"]() == 10_000_000  # type: ignore[operator]
    for index in (0, 63, 64, 5_000_001, 9_999_999):
        assert instance.exports["write-then-call"](index) == 7  # type: ignore[operator]
    assert instance.exports["call"](9_999_999) == 7  # type: ignore[operator]
    with pytest.raises(Trap, match="uninitialized element"):
        instance.exports["call"](9_999_998)  # type: ignore[operator]
    with pytest.raises(Trap, match="undefined element"):
        instance.exports["call"](10_000_000)  # type: ignore[operator]
