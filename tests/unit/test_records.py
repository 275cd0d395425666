"""``wasmbox.records``: record classes behave as the same classes made by ``dataclasses`` do.

Each check defines a class twice, once with ``@record`` and once with ``@dataclass``, and compares
what a program can observe: construction, defaults, equality, hashing, ``repr``, freezing,
``replace`` and pickling.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import ClassVar

import pytest

from wasmbox import records
from wasmbox.ir.types import I32, I64, FuncType, Limits, MemoryType
from wasmbox.records import FrozenInstanceError, field, record


@record(frozen=True, kw_only=True)
class Base:
    final: bool = True
    supertypes: tuple[int, ...] = ()
    note: str = field(default="", compare=False)


@record(frozen=True)
class Signature(Base):
    params: tuple[str, ...] = ()
    results: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataBase:
    final: bool = True
    supertypes: tuple[int, ...] = ()
    note: str = dataclasses.field(default="", compare=False)


@dataclasses.dataclass(frozen=True)
class DataSignature(DataBase):
    params: tuple[str, ...] = ()
    results: tuple[str, ...] = ()


@record
class Entry:
    name: str
    items: list[int] = field(default_factory=list)
    hidden: int = field(default=0, repr=False)
    shared: ClassVar[int] = 7
    derived: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.derived = len(self.name)


@dataclasses.dataclass
class DataEntry:
    name: str
    items: list[int] = dataclasses.field(default_factory=list)
    hidden: int = dataclasses.field(default=0, repr=False)
    shared: ClassVar[int] = 7
    derived: int = dataclasses.field(init=False, default=0)

    def __post_init__(self) -> None:
        self.derived = len(self.name)


def _same_repr(made: object, reference: object) -> None:
    assert repr(made) == repr(reference).replace("Data", "", 1)


def test_positional_then_keyword_only_fields_as_dataclasses_order_them() -> None:
    signature = Signature(("i32",), ("i64",), final=False, supertypes=(3,))
    reference = DataSignature(("i32",), ("i64",), final=False, supertypes=(3,))
    assert Signature.__match_args__ == DataSignature.__match_args__ == ("params", "results")
    _same_repr(signature, reference)
    with pytest.raises(TypeError):
        Signature(("i32",), ("i64",), False)  # type: ignore[misc]  # final is keyword-only
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Signature(colour=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values"):
        Signature(("i32",), params=("i64",))  # type: ignore[misc]


def test_equality_and_hashing_skip_fields_not_compared() -> None:
    one, two = Signature(("i32",), note="a"), Signature(("i32",), note="b")
    assert one == two and hash(one) == hash(two)
    assert one != Signature(("i64",))
    assert len({one, two, Signature(("i64",))}) == 2
    assert DataSignature(("i32",), note="a") == DataSignature(("i32",), note="b")
    assert (one == DataSignature(("i32",))) is False  # another class is never equal


def test_a_frozen_record_refuses_assignment_and_deletion() -> None:
    signature = Signature()
    with pytest.raises(FrozenInstanceError):
        signature.params = ("i32",)  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del signature.final  # type: ignore[misc]
    with pytest.raises(AttributeError):  # as dataclasses' FrozenInstanceError is one
        signature.final = False  # type: ignore[misc]


def test_defaults_factories_post_init_and_class_variables() -> None:
    first, second = Entry("abc"), Entry("de", [1])
    reference = DataEntry("abc")
    first.items.append(5)
    assert (first.items, Entry("x").items, second.items) == ([5], [], [1])  # a fresh list each time
    assert (first.derived, second.derived) == (3, 2)
    _same_repr(Entry("abc"), reference)  # hidden and derived as dataclasses show them (derived shown)
    assert Entry.shared == 7 and "shared" not in vars(Entry("q"))
    assert Entry("a") == Entry("a") and Entry("a") != Entry("a", [1])
    with pytest.raises(TypeError):
        hash(Entry("a"))  # equality without freezing: unhashable, as with dataclasses
    with pytest.raises(TypeError, match="missing 1 required argument: 'name'"):
        Entry()  # type: ignore[call-arg]


def test_replace_makes_a_changed_copy() -> None:
    signature = Signature(("i32",), final=False, note="kept")
    changed = records.replace(signature, results=("f64",))
    assert changed == Signature(("i32",), ("f64",), final=False) and changed.note == "kept"
    assert signature.results == ()
    with pytest.raises(ValueError, match="init=False"):
        records.replace(Entry("a"), derived=3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        records.replace(signature, colour=1)


def test_records_pickle_and_unpickle_equal() -> None:
    for value in (
        Signature(("i32",), final=False),
        Entry("abc", [1, 2]),
        FuncType((I32,), (I64,)),
        MemoryType(Limits(1, 2)),
    ):
        copy = pickle.loads(pickle.dumps(value))
        assert copy == value and type(copy) is type(value)


def test_the_ir_types_are_records_with_their_former_reprs() -> None:
    assert repr(Limits(1, 2)) == "Limits(min=1, max=2)"
    assert FuncType((I32,)) == FuncType(params=(I32,)) != FuncType((I32,), final=False)
    assert hash(FuncType((I32,), written_sub=True)) == hash(FuncType((I32,)))  # written_sub is not compared
