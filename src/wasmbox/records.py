"""Record classes: the ``__init__``, ``__repr__``, ``__eq__`` and ``__hash__`` that ``dataclasses`` writes, made
without its cost at start-up.

``dataclasses.dataclass`` compiles every method it generates from source text (one ``exec`` each, about a tenth of a
millisecond) and its module imports ``inspect`` with ``ast``, ``dis`` and ``tokenize``.  For the thirty-odd classes a
``wasmbox run`` meets (the module IR, types, the sandbox, WASI's state) that came to some 20 ms of every process's
start: a fifth of a warm run of a small program, the difference between starting as fast as wasmtime-py and not.
``record`` gives the same classes the same methods as closures over a field list, with nothing compiled.

What it keeps of ``dataclass``: fields from annotations (``ClassVar`` ones left out) in definition order, bases'
fields first; defaults and ``field(default=, default_factory=, init=, repr=, compare=)``; ``kw_only`` fields after the
positional ones; ``__post_init__``; ``frozen`` (assignment raises ``FrozenInstanceError``, and equal records hash
equally); ``eq=False`` (identity); ``__match_args__``; ``replace``.  Not kept: ordering, ``slots``, ``InitVar``,
``fields()``/``asdict()`` (records are not dataclasses to ``dataclasses``' functions).  The generated ``__init__``
takes ``*args, **kwargs``, so it is a few times slower per call than ``dataclass``'s: records are for objects made
per module, type or entry, not per instruction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["FrozenInstanceError", "field", "record", "replace"]

_MISSING: Any = object()
_T = TypeVar("_T")


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen record."""


class Field:
    """One field of a record: its name, default (or default factory) and which methods use it."""

    __slots__ = ("name", "default", "default_factory", "init", "repr", "compare", "kw_only")

    def __init__(
        self,
        default: Any = _MISSING,
        default_factory: Any = _MISSING,
        init: bool = True,
        repr: bool = True,  # noqa: A002 - dataclasses' parameter name
        compare: bool = True,
        kw_only: bool = False,
    ) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare
        self.kw_only = kw_only

    def named(self, name: str, kw_only: bool) -> Field:
        copy = Field(self.default, self.default_factory, self.init, self.repr, self.compare, self.kw_only or kw_only)
        copy.name = name
        return copy

    def has_default(self) -> bool:
        return self.default is not _MISSING or self.default_factory is not _MISSING

    def default_value(self) -> Any:
        return self.default if self.default is not _MISSING else self.default_factory()


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] = _MISSING,
    init: bool = True,
    repr: bool = True,  # noqa: A002 - dataclasses' parameter name
    compare: bool = True,
    kw_only: bool = False,
) -> Any:
    """A field's options, as ``dataclasses.field`` takes them."""
    return Field(default, default_factory, init, repr, compare, kw_only)


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(*, frozen: bool = False, eq: bool = True, kw_only: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(field,))
def record(
    cls: type[_T] | None = None, /, *, frozen: bool = False, eq: bool = True, kw_only: bool = False
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """Make ``cls`` a record class (used as ``@record`` or ``@record(frozen=True, ...)``)."""

    def make(cls: type[_T]) -> type[_T]:
        _build(cls, frozen, eq, kw_only)
        return cls

    return make if cls is None else make(cls)


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of record ``obj`` with ``changes`` to its fields (``dataclasses.replace``)."""
    fields: dict[str, Field] = type(obj).__record_fields__  # type: ignore[attr-defined]
    values = {}
    for name, spec in fields.items():
        if not spec.init:
            if name in changes:
                raise ValueError(f"field {name} is declared with init=False, it cannot be specified with replace()")
            continue
        values[name] = changes.pop(name) if name in changes else obj.__dict__[name]
    if changes:
        raise TypeError(
            f"{type(obj).__qualname__}.__init__() got an unexpected keyword argument {next(iter(changes))!r}"
        )
    return type(obj)(**values)


def _is_class_var(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return isinstance(text, str) and (text.startswith("ClassVar") or text.startswith("typing.ClassVar"))


def _build(cls: type, frozen: bool, eq: bool, kw_only: bool) -> None:
    fields: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        fields.update(base.__dict__.get("__record_fields__", {}))
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_class_var(annotation):
            continue
        value = cls.__dict__.get(name, _MISSING)
        spec = (value if isinstance(value, Field) else Field(default=value)).named(name, kw_only)
        if spec.default is not _MISSING:
            setattr(cls, name, spec.default)  # as dataclass leaves it: the default, readable on the class
        elif name in cls.__dict__:
            delattr(cls, name)
        fields.pop(name, None)  # a redefined field keeps its new place, as in dataclasses
        fields[name] = spec
    cls.__record_fields__ = fields  # type: ignore[attr-defined]
    init_fields = [f for f in fields.values() if f.init and not f.kw_only] + [
        f for f in fields.values() if f.init and f.kw_only
    ]
    positional = [f.name for f in fields.values() if f.init and not f.kw_only]
    later = [f for f in fields.values() if not f.init and f.has_default()]
    cls.__init__ = _make_init(cls, init_fields, positional, later)  # type: ignore[misc]
    setattr(cls, "__match_args__", tuple(positional))  # noqa: B010 - mypy refuses the assignment
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _make_repr([f.name for f in fields.values() if f.repr])  # type: ignore[assignment]
    compared = tuple(f.name for f in fields.values() if f.compare)
    if eq and "__eq__" not in cls.__dict__:
        cls.__eq__ = _make_eq(compared)  # type: ignore[method-assign, assignment]
    if eq and "__hash__" not in cls.__dict__:
        cls.__hash__ = _make_hash(compared) if frozen else None  # type: ignore[assignment, method-assign]
    if frozen:
        names = frozenset(fields)

        def __setattr__(self: Any, name: str, value: Any) -> None:
            if type(self) is cls or name in names:
                raise FrozenInstanceError(f"cannot assign to field {name!r}")
            object.__setattr__(self, name, value)

        def __delattr__(self: Any, name: str) -> None:
            if type(self) is cls or name in names:
                raise FrozenInstanceError(f"cannot delete field {name!r}")
            object.__delattr__(self, name)

        cls.__setattr__ = __setattr__  # type: ignore[method-assign, assignment]
        cls.__delattr__ = __delattr__  # type: ignore[method-assign, assignment]


def _make_init(cls: type, init_fields: list[Field], positional: list[str], later: list[Field]) -> Callable[..., None]:
    name = f"{cls.__qualname__}.__init__()"
    known = {f.name: f for f in init_fields}
    count = len(positional)
    post_init = getattr(cls, "__post_init__", None) is not None

    every_field_positional = count == len(init_fields)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if every_field_positional and not kwargs and len(args) == count:
            # Every field given, in order (the common call: 575 opcodes at start-up), set at once.
            self.__dict__.update(zip(positional, args, strict=True))
            for spec in later:
                self.__dict__[spec.name] = spec.default_value()
            if post_init:
                self.__post_init__()
            return
        if len(args) > count:
            raise TypeError(f"{name} takes {count + 1} positional arguments but {len(args) + 1} were given")
        values = dict(zip(positional, args, strict=False))
        for key, value in kwargs.items():
            if key not in known:
                raise TypeError(f"{name} got an unexpected keyword argument {key!r}")
            if key in values:
                raise TypeError(f"{name} got multiple values for argument {key!r}")
            values[key] = value
        if len(values) < len(known):
            for spec in init_fields:
                if spec.name not in values:
                    if not spec.has_default():
                        raise TypeError(f"{name} missing 1 required argument: {spec.name!r}")
                    values[spec.name] = spec.default_value()
        for spec in later:
            values[spec.name] = spec.default_value()
        self.__dict__.update(values)
        if post_init:
            self.__post_init__()

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


_repr_running = threading.local()


def _make_repr(names: list[str]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        running: set[int] = _repr_running.__dict__.setdefault("ids", set())
        if id(self) in running:
            return "..."
        running.add(id(self))
        try:
            shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        finally:
            running.discard(id(self))
        return f"{type(self).__qualname__}({shown})"

    return __repr__


def _make_eq(names: tuple[str, ...]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        mine, theirs = self.__dict__, other.__dict__
        return tuple(mine[name] for name in names) == tuple(theirs[name] for name in names)

    return __eq__


def _make_hash(names: tuple[str, ...]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        state = self.__dict__
        return hash(tuple(state[name] for name in names))

    return __hash__
