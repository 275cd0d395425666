"""The baseline interpreter's operations: one Python callable per non-control instruction.

Each operation takes the frame's value list ``s`` (locals first, then the
operand stack) and changes it in place.  Operations without immediates are
shared functions; those with immediates are closures, made once per distinct
immediate and cached, so preparing a block mostly looks callables up.

The arithmetic is not written again here: the functions are generated from
the portable engine's expression templates (``PURE``, ``TRAPPING``, ``LOADS``,
``STORES``), which follow :mod:`wasmbox.numeric`, so both engines share one
statement of each instruction's semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache, partial
from typing import Any, TypeVar

from ... import numeric, simd
from ...ir import instructions as ins
from ...ir.types import F32, F64, I32, I64, V128, DefinedType, ValType
from ...runtime import atomics
from ...runtime.operations import (
    call_indirect,
    load_bytes,
    memory_copy,
    memory_copy_between,
    memory_fill,
    memory_init,
    ref_as_non_null,
    store_bytes,
    table_copy,
    table_fill,
    table_get,
    table_init,
    table_set,
)
from ..expressions import LANE_WIDTH, LOADS, PURE, SIMD_LOADS, STORES, TRAPPING
from ..namespace import STRUCT_NAMES, base_namespace
from .gc_operations import gc_operation

Operation = Callable[[list[Any]], None]

_NAMESPACE = base_namespace()

K = TypeVar("K")
V = TypeVar("V")


class Generated(Mapping[K, V]):
    """A table of generated functions whose keys are known at once and whose functions are made
    on first use: compiling all of them on import cost 60 ms of every start, and a module uses a
    fraction of the instruction set."""

    def __init__(self, makers: dict[K, Callable[[], V]]) -> None:
        self._makers = makers
        self._made: dict[K, V] = {}

    def __getitem__(self, key: K) -> V:
        found = self._made.get(key)
        if found is None:
            found = self._made[key] = self._makers[key]()
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._makers

    def __iter__(self) -> Iterator[K]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)

    def add(self, key: K, value: V) -> None:
        self._makers[key] = lambda: value


def _generated(source: str, name: str) -> Any:
    """The function ``name`` that ``source`` defines: compiled ahead (``prebuilt``, the same text) when
    it is one of the common ones, else compiled now (~25 us each: CPython's compile, not the text)."""
    found = _prebuilt().get(source)
    if found is not None:
        return found
    namespace = dict(_NAMESPACE)
    exec(source, namespace)  # noqa: S102 - generated here from the engine's own templates
    return namespace[name]


@cache
def _prebuilt() -> dict[str, Any]:
    """``prebuilt``'s functions by their source; they read the helpers (``_NAMESPACE``, complete by the
    first operation made) as their module's globals, put there now."""
    from . import prebuilt

    vars(prebuilt).update(_NAMESPACE)
    return prebuilt.BY_SOURCE


def _operand_count(name: str) -> int:
    op = ins.BY_NAME[name]
    return len(op.params) if op.params is not None else 1  # ref.is_null: one reference


def _fixed_operation(name: str, template: str) -> Operation:
    """``s[-1] = template(operands)`` with the operands popped from the stack."""
    return _generated(_fixed_source(name, template), "op")  # type: ignore[no-any-return]


def _fixed_source(name: str, template: str) -> str:
    count = _operand_count(name)
    lines = ["def op(s):"]
    if count == 1:
        operands = ["a"]
        lines.append("    a = s[-1]")
    elif count == 2:
        operands = ["a", "b"]
        lines += ["    b = s.pop()", "    a = s[-1]"]
    else:
        operands = ["a", "b", "c"]
        lines += ["    c = s.pop()", "    b = s.pop()", "    a = s[-1]"]
    lines.append(f"    s[-1] = {template.format(*operands)}")
    return "\n".join(lines) + "\n"


_fixed_makers: dict[str, Callable[[], Operation]] = {
    name: partial(_fixed_operation, name, template) for name, template in {**PURE, **TRAPPING}.items()
}
for _name, _function in simd.OPERATIONS.items():
    _placeholders = ", ".join(f"{{{i}}}" for i in range(_operand_count(_name)))
    _NAMESPACE[f"simd_{_name.replace('.', '_')}"] = _function
    _fixed_makers[_name] = partial(_fixed_operation, _name, f"simd_{_name.replace('.', '_')}({_placeholders})")
FIXED: Generated[str, Operation] = Generated(_fixed_makers)


def _fused_factory(name: str, template: str, operand: str) -> Callable[[Any], Operation]:
    """A binary operation whose right operand comes from a local (``operand`` "local") or a constant
    ("const") instead of the stack: ``local.get``/``*.const`` and the operation as one callable."""
    return _generated(_fused_source(template, operand), "make")  # type: ignore[no-any-return]


def _fused_source(template: str, operand: str) -> str:
    right = "s[x]" if operand == "local" else "x"
    return f"def make(x):\n    def op(s):\n        s[-1] = {template.format('s[-1]', right)}\n    return op\n"


# Binary integer operations (the commonest in compiled code: address arithmetic, compares) with
# a fused form per kind of right operand; templates that read an operand twice are left alone.
FUSED: Generated[tuple[str, str], Callable[[Any], Operation]] = Generated(
    {
        (name, kind): partial(_fused_factory, name, template, kind)
        for name, template in PURE.items()
        if name[:3] in ("i32", "i64") and _operand_count(name) == 2
        if template.count("{1}") == 1 and template.count("{0}") == 1
        for kind in ("local", "const")
    }
)


def _load_from_local_factory(name: str) -> Callable[[Any, int, int], Operation]:
    return _generated(_load_from_local_source(name), "make")  # type: ignore[no-any-return]


def _load_from_local_source(name: str) -> str:
    fmt, post = LOADS[name]
    unpack = f"{STRUCT_NAMES[fmt]}_unpack"
    source = (
        "def make(memory, offset, x):\n"
        f"    unpack = {unpack}\n"
        "    def op(s):\n"
        f"        s.append({post.format('unpack(memory.view, s[x] + offset)[0]')})\n"
        "    return op\n"
    )
    return source


# A load whose address is a local: ``local.get`` and the load as one callable.
LOAD_FROM_LOCAL: Generated[str, Callable[[Any, int, int], Operation]] = Generated(
    {name: partial(_load_from_local_factory, name) for name in LOADS}
)


def _drop(s: list[Any]) -> None:
    s.pop()


def _select(s: list[Any]) -> None:
    condition = s.pop()
    second = s.pop()
    if not condition:
        s[-1] = second


def _wide_operation(function: Callable[..., tuple[int, int]], count: int) -> Operation:
    """A wide-arithmetic instruction: ``count`` i64 operands replaced by the (low, high) result."""

    def op(s: list[Any]) -> None:
        s[-count:] = function(*s[-count:])

    return op


for _name, _wide in numeric.WIDE_ARITHMETIC.items():
    FIXED.add(_name, _wide_operation(_wide, _operand_count(_name)))
FIXED.add("drop", _drop)
FIXED.add("select", _select)
FIXED.add("select_t", _select)


def _load_factory(name: str) -> Callable[[Any, int], Operation]:
    return _generated(_load_source(name), "make")  # type: ignore[no-any-return]


def _load_source(name: str) -> str:
    fmt, post = LOADS[name]
    unpack = f"{STRUCT_NAMES[fmt]}_unpack"
    source = (
        "def make(memory, offset):\n"
        f"    unpack = {unpack}\n"
        "    def op(s):\n"
        f"        s[-1] = {post.format('unpack(memory.view, s[-1] + offset)[0]')}\n"
        "    return op\n"
    )
    return source


def _store_factory(name: str) -> Callable[[Any, int], Operation]:
    return _generated(_store_source(name), "make")  # type: ignore[no-any-return]


def _store_source(name: str) -> str:
    fmt, convert = STORES[name]
    pack = f"{STRUCT_NAMES[fmt]}_pack"
    source = (
        "def make(memory, offset):\n"
        f"    pack = {pack}\n"
        "    def op(s):\n"
        "        value = s.pop()\n"
        f"        pack(memory.view, s.pop() + offset, {convert.format('value')})\n"
        "    return op\n"
    )
    return source


def _simd_load_factory(name: str) -> Callable[[Any, int], Operation]:
    size, template = SIMD_LOADS[name]
    source = (
        "def make(memory, offset):\n"
        "    def op(s):\n"
        f"        s[-1] = {template.format(f'load_bytes(memory, s[-1] + offset, {size})')}\n"
        "    return op\n"
    )
    return _generated(source, "make")  # type: ignore[no-any-return]


MEMORY_FACTORIES: Generated[str, Callable[[Any, int], Operation]] = Generated(
    {
        **{name: partial(_load_factory, name) for name in LOADS},
        **{name: partial(_store_factory, name) for name in STORES},
        **{name: partial(_simd_load_factory, name) for name in SIMD_LOADS},
    }
)


def common_sources() -> list[str]:
    """The sources of the operations ``prebuilt`` compiles ahead: every scalar pure and trapping
    operation, their fused forms, and the scalar loads and stores (SIMD's are made when used)."""
    sources = [_fixed_source(name, template) for name, template in {**PURE, **TRAPPING}.items()]
    sources += [_fused_source(PURE[name], kind) for name, kind in FUSED]
    sources += [_load_from_local_source(name) for name in LOADS]
    sources += [_load_source(name) for name in LOADS]
    sources += [_store_source(name) for name in STORES]
    return sources


# An i64 memory's address and offset may each pass 2^63, which ``struct`` refuses with
# OverflowError rather than its struct.error (the store's entry makes that one the trap): both are
# clamped to this, so their sum stays below 2^63 and is still out of bounds of every memory.
_BEYOND_ANY_MEMORY = 1 << 61


def _clamped(operation: Operation, address_slot: int) -> Operation:
    """A scalar load (address at ``s[-1]``) or store (at ``s[-2]``) of an i64 memory."""

    def op(s: list[Any]) -> None:
        if s[address_slot] > _BEYOND_ANY_MEMORY:
            s[address_slot] = _BEYOND_ANY_MEMORY
        operation(s)

    return op


def _v128_store(memory: Any, offset: int) -> Operation:
    def op(s: list[Any]) -> None:
        value = s.pop()
        store_bytes(memory, s.pop() + offset, value)

    return op


MEMORY_FACTORIES.add("v128.store", _v128_store)


def _lane_load(memory: Any, offset: int, lane: int, width: int) -> Operation:
    def op(s: list[Any]) -> None:
        vector = s.pop()
        raw = load_bytes(memory, s[-1] + offset, width)
        s[-1] = vector[: lane * width] + raw + vector[(lane + 1) * width :]

    return op


def _lane_store(memory: Any, offset: int, lane: int, width: int) -> Operation:
    def op(s: list[Any]) -> None:
        vector = s.pop()
        store_bytes(memory, s.pop() + offset, vector[lane * width : (lane + 1) * width])

    return op


def _constant(value: object) -> Operation:
    def op(s: list[Any]) -> None:
        s.append(value)

    return op


def _local_get(index: int) -> Operation:
    def op(s: list[Any]) -> None:
        s.append(s[index])

    return op


def _local_set(index: int) -> Operation:
    def op(s: list[Any]) -> None:
        s[index] = s.pop()

    return op


def _local_tee(index: int) -> Operation:
    def op(s: list[Any]) -> None:
        s[index] = s[-1]

    return op


_LOCAL_GET = [_local_get(i) for i in range(64)]
_LOCAL_SET = [_local_set(i) for i in range(64)]
_LOCAL_TEE = [_local_tee(i) for i in range(64)]
_CONSTANTS: dict[tuple[type, object], Operation] = {}


def constant(value: object) -> Operation:
    """Push ``value``; small integer constants are shared."""
    key = (type(value), value)
    if isinstance(value, int) and -256 <= value <= 0xFFFF:
        found = _CONSTANTS.get(key)
        if found is None:
            found = _CONSTANTS[key] = _constant(value)
        return found
    return _constant(value)


def local_operation(name: str, index: int) -> Operation:
    if index < 64:
        return (_LOCAL_GET if name == "local.get" else _LOCAL_SET if name == "local.set" else _LOCAL_TEE)[index]
    return (_local_get if name == "local.get" else _local_set if name == "local.set" else _local_tee)(index)


def fused(name: str, kind: str, value: Any) -> Operation | None:
    """The fused form of binary operation ``name`` with its right operand from a local or a
    constant (``kind``), if it has one; small operands' forms are shared."""
    factory = FUSED.get((name, kind))
    if factory is None:
        return None
    if kind == "local" and value < 64 or kind == "const" and -256 <= value <= 0xFFFF:
        key = (name, kind, value)
        found = _FUSED_CACHE.get(key)
        if found is None:
            found = _FUSED_CACHE[key] = factory(value)
        return found
    return factory(value)


_FUSED_CACHE: dict[tuple[str, str, Any], Operation] = {}


class InstanceOperations:
    """Operations that reach one instance's state (memory, globals, tables, segments),
    made on first use and shared by all its functions."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self._cache: dict[tuple[object, ...], Operation] = {}

    def get(self, name: str, imm: tuple[Any, ...]) -> Operation:
        key = (name, *imm)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._make(name, imm)
        return found

    def gc(self, name: str, imm: tuple[Any, ...], types: Sequence[DefinedType]) -> Operation:
        """A GC instruction's operation (see ``gc_operations``)."""
        key = ("gc", name, *imm)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = gc_operation(name, imm, types, self.namespace)
        return found

    def load_from_local(self, name: str, offset: int, memory: int, local: int) -> Operation | None:
        """``local.get`` and a load as one operation, or None for an i64 memory (its address must be
        clamped first, see ``_clamped``, and a local cannot be clamped in place)."""
        if self.namespace[f"M{memory}"].type.is_64:
            return None
        key = ("load_from_local", name, offset, memory, local)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = LOAD_FROM_LOCAL[name](self.namespace[f"M{memory}"], offset, local)
        return found

    def _make(self, name: str, imm: tuple[Any, ...]) -> Operation:  # noqa: C901 - one branch per family
        ns = self.namespace
        factory = MEMORY_FACTORIES.get(name)
        if factory is not None:
            addressed = ns[f"M{imm[2]}"]
            if addressed.type.is_64 and (name in LOADS or name in STORES):
                return _clamped(factory(addressed, min(imm[1], _BEYOND_ANY_MEMORY)), -1 if name in LOADS else -2)
            return factory(addressed, imm[1])
        if name in atomics.ACCESSES:
            return _atomic(name, ns[f"M{imm[2]}"] if name != "atomic.fence" else None, imm)
        # Every memory is reached the same way (through its instance): memory 0 has no faster path here.
        memory: Any = ns[f"M{imm[1] if name == 'memory.init' else imm[0]}"] if name.startswith("memory.") else None
        if name == "global.get":
            glob = ns[f"G{imm[0]}"]
            return _global_get(glob)
        if name == "global.set":
            return _global_set(ns[f"G{imm[0]}"])
        if name == "memory.size":
            return lambda s: s.append(memory.pages)
        if name == "memory.grow":
            return lambda s: s.__setitem__(-1, memory.grow(s[-1]))
        if name == "memory.fill":
            return _three(lambda d, v, n: memory_fill(memory, d, v, n))
        if name == "memory.copy":
            if imm[0] != imm[1]:
                source = ns[f"M{imm[1]}"]
                return _three(lambda d, src, n: memory_copy_between(memory, source, d, src, n))
            return _three(lambda d, src, n: memory_copy(memory, d, src, n))
        if name == "memory.init":
            datas, segment = ns["DATAS"], imm[0]
            return _three(lambda d, src, n: memory_init(memory, datas, segment, d, src, n))
        if name == "data.drop":
            datas, segment = ns["DATAS"], imm[0]
            return lambda s: datas.__setitem__(segment, b"")
        if name == "ref.null":
            return _constant(None)
        if name == "ref.func":
            return _constant(ns[f"F{imm[0]}"])
        if name == "ref.as_non_null":
            return lambda s: s.__setitem__(-1, ref_as_non_null(s[-1]))
        if name.startswith("table."):
            return self._table(name, imm)
        if name == "elem.drop":
            elements, segment = ns["ELEMS"], imm[0]
            return lambda s: elements.__setitem__(segment, ())
        if name in simd.LANE_OPERATIONS:
            return _lane_operation(simd.LANE_OPERATIONS[name], imm[0], _operand_count(name))
        if name == "i8x16.shuffle":
            lanes = imm[0]

            def shuffle(s: list[Any]) -> None:
                b = s.pop()
                s[-1] = simd.shuffle(s[-1], b, lanes)

            return shuffle
        if name.startswith("v128.load") and name.endswith("_lane"):
            return _lane_load(ns[f"M{imm[2]}"], imm[1], imm[3], LANE_WIDTH[name[9:-5]])
        if name.startswith("v128.store") and name.endswith("_lane"):
            return _lane_store(ns[f"M{imm[2]}"], imm[1], imm[3], LANE_WIDTH[name[10:-5]])
        raise NotImplementedError(f"the baseline interpreter does not run {name}")

    def _table(self, name: str, imm: tuple[Any, ...]) -> Operation:
        ns = self.namespace
        if name == "table.copy":
            dst, src = ns[f"T{imm[0]}"], ns[f"T{imm[1]}"]
            return _three(lambda d, s_, n: table_copy(dst, src, d, s_, n))
        if name == "table.init":
            table, elements, segment = ns[f"T{imm[1]}"], ns["ELEMS"], imm[0]
            return _three(lambda d, s_, n: table_init(table, elements, segment, d, s_, n))
        table = ns[f"T{imm[0]}"]
        if name == "table.get":
            return lambda s: s.__setitem__(-1, table_get(table, s[-1]))
        if name == "table.set":

            def table_set_op(s: list[Any]) -> None:
                value = s.pop()
                table_set(table, s.pop(), value)

            return table_set_op
        if name == "table.size":
            return lambda s: s.append(len(table.elements))
        if name == "table.grow":

            def table_grow(s: list[Any]) -> None:
                delta = s.pop()
                s[-1] = table.grow(delta, s[-1])

            return table_grow
        if name == "table.fill":
            return _three(lambda d, v, n: table_fill(table, d, v, n))
        raise NotImplementedError(f"the baseline interpreter does not run {name}")


def _atomic(name: str, memory: Any, imm: tuple[Any, ...]) -> Operation:
    """An atomic memory instruction (threads) as a stack operation; ``runtime.atomics`` runs it."""
    if memory is None:  # atomic.fence: one thread has nothing to order
        return lambda s: None
    # The offset whole (runtime.atomics adds Python ints, which cannot overflow): clamped, it would
    # change the address's alignment, which is tested before its bounds.
    run = atomics.operation(name, memory, imm[1])
    count = _operand_count(name)
    if not ins.BY_NAME[name].results:

        def store(s: list[Any]) -> None:
            run(*s[-count:])
            del s[-count:]

        return store

    def access(s: list[Any]) -> None:
        s[-count:] = [run(*s[-count:])]

    return access


def _global_get(glob: Any) -> Operation:
    def op(s: list[Any]) -> None:
        s.append(glob.value)

    return op


def _global_set(glob: Any) -> Operation:
    def op(s: list[Any]) -> None:
        glob.value = s.pop()

    return op


def _three(function: Callable[[Any, Any, Any], None]) -> Operation:
    def op(s: list[Any]) -> None:
        c = s.pop()
        b = s.pop()
        function(s.pop(), b, c)

    return op


def _lane_operation(function: Callable[..., Any], lane: int, count: int) -> Operation:
    if count == 1:

        def unary(s: list[Any]) -> None:
            s[-1] = function(s[-1], lane)

        return unary

    def binary(s: list[Any]) -> None:
        value = s.pop()
        s[-1] = function(s[-1], lane, value)

    return binary


def constant_value(name: str, imm: tuple[Any, ...]) -> object:
    """The run-time value a ``*.const`` pushes."""
    if name == "i32.const":
        return imm[0] & numeric.MASK32
    if name == "i64.const":
        return imm[0] & numeric.MASK64
    if name == "f32.const":
        return numeric.f32_from_bits(imm[0])
    if name == "f64.const":
        return numeric.f64_from_bits(imm[0])
    return imm[0]  # v128.const: 16 bytes


ZERO: dict[ValType, object] = {I32: 0, I64: 0, F32: 0.0, F64: 0.0, V128: bytes(16)}

__all__ = [
    "FIXED",
    "LOAD_FROM_LOCAL",
    "InstanceOperations",
    "ZERO",
    "call_indirect",
    "constant",
    "constant_value",
    "fused",
    "local_operation",
]
