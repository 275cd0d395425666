"""Validation of canonical definitions (CanonicalABI.md "Canonical Definitions").

``canon lift`` and ``canon lower`` are checked against the Canonical ABI's
flattening of the function type (``flatten_functype``): the core function's
signature, and which options (``memory``, ``realloc``, ``post-return``) the
type needs.  The other built-ins are checked for their indices and given
their core function type where it is fixed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..ir.types import F32, F64, I32, I64
from ..ir.types import FuncType as CoreFuncType
from ..ir.types import ValType as CoreValType
from .ir import Canon
from .typecheck import TypeNode

if TYPE_CHECKING:
    from .validate import Scope

MAX_FLAT_PARAMS = 16
MAX_FLAT_RESULTS = 1
ENCODINGS = {
    "string-encoding=utf8": "utf8",
    "string-encoding=utf16": "utf16",
    "string-encoding=latin1+utf16": "latin1-utf16",
}
_I32_KINDS = frozenset("bool s8 u8 s16 u16 s32 u32 char enum own borrow stream future error-context".split())


def flatten(node: TypeNode) -> list[CoreValType]:
    """``flatten_type``: the core values one component value takes."""
    kind = node.kind
    if kind in _I32_KINDS:
        return [I32]
    if kind in ("s64", "u64"):
        return [I64]
    if kind == "f32":
        return [F32]
    if kind == "f64":
        return [F64]
    if kind in ("string", "map") or (kind == "list" and node.length is None):
        return [I32, I32]
    if kind == "list":
        assert node.items[0] is not None and node.length is not None
        return flatten(node.items[0]) * node.length
    if kind in ("record", "tuple"):
        return [flat for item in node.items if item is not None for flat in flatten(item)]
    if kind == "flags":
        return [I32] * ((len(node.labels) + 31) // 32)
    if kind in ("variant", "option", "result"):
        cases = node.items if kind != "option" else (None, node.items[0])
        flat: list[CoreValType] = []
        for case in cases:
            if case is None:
                continue
            for i, value in enumerate(flatten(case)):
                if i < len(flat):
                    flat[i] = _join(flat[i], value)
                else:
                    flat.append(value)
        return [I32, *flat]
    raise ValidationError(f"cannot flatten a {kind} type")


def _join(a: CoreValType, b: CoreValType) -> CoreValType:
    if a == b:
        return a
    if {a, b} == {I32, F32}:
        return I32
    return I64


def _needs_memory(node: TypeNode) -> bool:
    """Whether values of this type live (partly) in linear memory: strings and lists."""
    if node.kind in ("string", "map") or (node.kind == "list" and node.length is None):
        return True
    return any(_needs_memory(item) for item in node.items if item is not None)


def flatten_functype(func: TypeNode, context: str) -> CoreFuncType:
    params = [flat for item in func.items[:-1] if item is not None for flat in flatten(item)]
    result = func.items[-1]
    results = flatten(result) if result is not None else []
    if len(params) > MAX_FLAT_PARAMS:
        params = [I32]
    if len(results) > MAX_FLAT_RESULTS:
        if context == "lift":
            results = [I32]
        else:
            params = [*params, I32]
            results = []
    return CoreFuncType(tuple(params), tuple(results))


def _options(scope: Scope, canon: Canon) -> dict[str, object]:
    options: dict[str, object] = {}
    for option in canon.options:
        if option.name in ENCODINGS:
            previous = options.get("encoding")
            if previous is not None:
                raise ValidationError(
                    f"canonical encoding option `{previous}` conflicts with option `{ENCODINGS[option.name]}`"
                )
            options["encoding"] = ENCODINGS[option.name]
            continue
        if option.name in options:
            if option.name == "memory":
                raise ValidationError("`memory` is specified more than once")
            raise ValidationError(f"canonical option `{option.name}` is specified more than once")
        if option.name == "memory":
            assert option.index is not None
            options["memory"] = scope.get("core memory", option.index)
        elif option.name in ("realloc", "post-return", "callback"):
            assert option.index is not None
            options[option.name] = scope.get("core func", option.index)
        else:
            options[option.name] = option.index
    if "realloc" in options and "memory" not in options:
        raise ValidationError("canonical option `realloc` requires `memory` to also be specified")
    realloc = options.get("realloc")
    if realloc is not None and realloc != CoreFuncType((I32, I32, I32, I32), (I32,)):
        raise ValidationError("canonical option `realloc` uses a core function with an incorrect signature")
    return options


def check_canon(scope: Scope, canon: Canon) -> tuple[str, object]:
    """Validate one canonical definition; return the index space it adds to and the new item's type."""
    options = _options(scope, canon)
    op = canon.op
    if op == "lift":
        core_func = scope.get("core func", canon.immediate("core_func"))  # type: ignore[arg-type]
        func = scope.func_type(canon.immediate("type"))  # type: ignore[arg-type]
        _check_async(func, options)
        _check_needs(func, options, "lift")
        if "async" not in options:
            expected = flatten_functype(func, "lift")
            if isinstance(core_func, CoreFuncType) and core_func != expected:
                if core_func.params != expected.params:
                    raise ValidationError(
                        f"lowered parameter types `{_types(expected.params)}` do not match parameter types "
                        f"`{_types(core_func.params)}` of core function {canon.immediate('core_func')}"
                    )
                raise ValidationError(
                    f"lowered result types `{_types(expected.results)}` do not match result types "
                    f"`{_types(core_func.results)}` of core function {canon.immediate('core_func')}"
                )
            post_return = options.get("post-return")
            if post_return is not None and post_return != CoreFuncType(expected.results, ()):
                raise ValidationError("canonical option `post-return` uses a core function with an incorrect signature")
        return "func", func
    if op == "lower":
        lowered = scope.get("func", canon.immediate("func"))  # type: ignore[arg-type]
        assert isinstance(lowered, TypeNode)
        func = lowered
        if "post-return" in options:
            raise ValidationError("canonical option `post-return` cannot be specified for lowerings")
        _check_async(func, options)
        _check_needs(func, options, "lower")
        if "async" in options:
            return "core func", None
        return "core func", flatten_functype(func, "lower")
    if op in ("resource.new", "resource.drop", "resource.rep"):
        index = canon.immediate("type")
        node = scope.type_node(index)  # type: ignore[arg-type]
        if node.kind != "resource":
            raise ValidationError(f"type index {index} is not a resource type")
        if op in ("resource.new", "resource.rep") and (node.resource is None or node.resource.owner is not scope):
            raise ValidationError(f"type index {index} is not a local resource")
        if op == "resource.new":
            return "core func", CoreFuncType((I32,), (I32,))
        if op == "resource.rep":
            return "core func", CoreFuncType((I32,), (I32,))
        return "core func", CoreFuncType((I32,), ())
    for kind, value in zip([k for k in _kinds(op) if k != "opts"], canon.immediates, strict=True):
        if kind == "type":
            node = scope.type_node(value)  # type: ignore[arg-type]
            family = op.split(".")[0]
            if family in ("stream", "future") and node.kind != family:
                raise ValidationError(f"`{op}` requires a {family} type")
        elif kind == "core_memory":
            scope.get("core memory", value)  # type: ignore[arg-type]
        elif kind == "core_table":
            scope.get("core table", value)  # type: ignore[arg-type]
        elif kind == "core_type":
            scope.get("core type", value)  # type: ignore[arg-type]
    return "core func", None


def _types(types: tuple[CoreValType, ...]) -> str:
    """Core types as wasm-tools lists them in its messages: ``[I32, I64]``."""
    return "[" + ", ".join(t.text.upper() for t in types) + "]"


def _kinds(op: str) -> tuple[str, ...]:
    from .ir import CANON_OPS

    return CANON_OPS[op][1]


def _check_async(func: TypeNode, options: dict[str, object]) -> None:
    if "async" in options and not func.is_async:
        raise ValidationError("the `async` canonical option requires an async function type")
    if "callback" in options and "async" not in options:
        raise ValidationError("cannot specify callback without async")


def _check_needs(func: TypeNode, options: dict[str, object], context: str) -> None:
    """``memory`` when values cross through linear memory; ``realloc`` when the callee side allocates."""
    params = [item for item in func.items[:-1] if item is not None]
    result = func.items[-1]
    flat = flatten_functype(
        TypeNode("func", func.labels, func.items), context
    )  # spilled parameters or results go through memory too
    spilled_params = sum(len(flatten(p)) for p in params) > MAX_FLAT_PARAMS
    # Async functions return through `task.return` (lift) or a buffer the caller passes (lower).
    spilled_results = result is not None and len(flatten(result)) > MAX_FLAT_RESULTS and "async" not in options
    del flat
    param_memory = any(_needs_memory(p) for p in params)
    result_memory = result is not None and _needs_memory(result)
    if (param_memory or result_memory or spilled_params or spilled_results) and "memory" not in options:
        raise ValidationError("canonical option `memory` is required")
    lifting_allocates = param_memory or spilled_params
    if context == "lift" and lifting_allocates and "realloc" not in options:
        raise ValidationError("canonical option `realloc` is required")
    if context == "lower" and result_memory and "realloc" not in options:
        raise ValidationError("canonical option `realloc` is required")


# --- sizes in linear memory (CanonicalABI.md "Alignment", "Element Size"), for 64-bit pointers -------------

MAX_VALUE_SIZE = 1 << 28
POINTER_SIZE = 8
_SIZES = {"bool": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "s32": 4, "u32": 4, "f32": 4, "char": 4}
_SIZES.update({"s64": 8, "u64": 8, "f64": 8, "own": 4, "borrow": 4, "stream": 4, "future": 4, "error-context": 4})


def _cases(node: TypeNode) -> tuple[TypeNode | None, ...]:
    """The payloads of a type that despecializes to a variant."""
    if node.kind == "enum":
        return (None,) * len(node.labels)
    if node.kind == "option":
        return (None, node.items[0])
    return node.items


def _discriminant_size(count: int) -> int:
    return 1 if count <= 1 << 8 else 2 if count <= 1 << 16 else 4


def alignment(node: TypeNode) -> int:
    kind = node.kind
    if kind in _SIZES:
        return _SIZES[kind]
    if kind in ("string", "map") or (kind == "list" and node.length is None):
        return POINTER_SIZE
    if kind == "list":
        assert node.items[0] is not None
        return alignment(node.items[0])
    if kind in ("record", "tuple"):
        return max(alignment(item) for item in node.items if item is not None)
    if kind == "flags":
        return elem_size(node)
    cases = _cases(node)
    return max([_discriminant_size(len(cases))] + [alignment(case) for case in cases if case is not None])


def _align_to(offset: int, align: int) -> int:
    return -(-offset // align) * align


def elem_size(node: TypeNode) -> int:
    kind = node.kind
    if kind in _SIZES:
        return _SIZES[kind]
    if kind in ("string", "map") or (kind == "list" and node.length is None):
        return 2 * POINTER_SIZE
    if kind == "list":
        assert node.items[0] is not None and node.length is not None
        return node.length * elem_size(node.items[0])
    if kind in ("record", "tuple"):
        size = 0
        for item in node.items:
            assert item is not None
            size = _align_to(size, alignment(item)) + elem_size(item)
        return _align_to(size, alignment(node))
    if kind == "flags":
        return 1 if len(node.labels) <= 8 else 2 if len(node.labels) <= 16 else 4
    cases = _cases(node)
    payload_align = max([1] + [alignment(case) for case in cases if case is not None])
    size = _align_to(_discriminant_size(len(cases)), payload_align)
    size += max([0] + [elem_size(case) for case in cases if case is not None])
    return _align_to(size, alignment(node))


def check_value_size(node: TypeNode) -> None:
    """Binary.md: every defined value type's ``elem_size`` must be below 2**28."""
    if node.kind in ("func", "resource", "instance", "component"):
        return
    if elem_size(node) >= MAX_VALUE_SIZE:
        raise ValidationError(f"type exceeds maximum byte size of {MAX_VALUE_SIZE}")
