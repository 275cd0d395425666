"""The ``func`` decorator: a host function typed by its Python annotations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ir.types import F64, I32, V128, VALTYPE_BY_TEXT, FuncType, ValType
from .functions import Caller, Func

_ANNOTATION_TYPES: dict[object, ValType] = {int: I32, float: F64, bytes: V128}
_ANNOTATION_TYPES.update({t: t for t in VALTYPE_BY_TEXT.values()})
_ANNOTATION_TYPES.update(VALTYPE_BY_TEXT)
_ANNOTATION_TYPES.update({"int": I32, "float": F64, "bytes": V128})


def _result_types(annotation: object) -> tuple[ValType, ...] | None:
    """Result types from a return annotation (also in string form, as with
    ``from __future__ import annotations``); None if not understood."""
    import inspect  # (here: ``inspect`` costs milliseconds of every start, and only @func needs it)

    if annotation in (None, "None", inspect.Signature.empty):
        return ()
    if annotation in _ANNOTATION_TYPES:
        return (_ANNOTATION_TYPES[annotation],)
    if getattr(annotation, "__origin__", None) is tuple:
        items: list[object] = list(annotation.__args__)  # type: ignore[attr-defined]
    elif isinstance(annotation, str) and annotation.startswith("tuple[") and annotation.endswith("]"):
        items = [part.strip().strip("'\"") for part in annotation[6:-1].split(",")]
    else:
        return None
    if not all(item in _ANNOTATION_TYPES for item in items):
        return None
    return tuple(_ANNOTATION_TYPES[item] for item in items)


def _is_caller_annotation(annotation: object) -> bool:
    """``Caller``, also as a string (``"Caller"``, ``"wasmbox.Caller"``: ``from __future__ import annotations``)."""
    if annotation is Caller:
        return True
    return isinstance(annotation, str) and annotation.strip("'\"").rsplit(".", 1)[-1] == "Caller"


def func(function: Callable[..., Any]) -> Func:
    """Decorator: a host function typed by its annotations.

    ``int`` means i32, ``float`` f64; use ``"i64"``, ``"f32"``, ``"externref"``
    (or the ``ValType`` members) for the others.  Return ``None`` for no
    results, a value for one, a ``tuple[...]`` annotation for several.  A first
    parameter annotated :class:`Caller` receives the calling instance; an
    ``async def`` function is awaited under :meth:`Func.call_async`.
    """
    import inspect

    signature = inspect.signature(function, eval_str=False)
    parameters = list(signature.parameters.items())
    access_caller = bool(parameters) and _is_caller_annotation(parameters[0][1].annotation)
    params = []
    for name, parameter in parameters[1:] if access_caller else parameters:
        annotation = parameter.annotation
        if isinstance(annotation, str):
            annotation = annotation.strip("'\"")
        if annotation not in _ANNOTATION_TYPES:
            raise TypeError(f"host function {function.__name__}: parameter {name} needs a wasm type annotation")
        params.append(_ANNOTATION_TYPES[annotation])
    results = _result_types(signature.return_annotation)
    if results is None:
        raise TypeError(
            f"host function {function.__name__}: unsupported return annotation {signature.return_annotation!r}"
        )
    return Func(None, FuncType(tuple(params), results), function, access_caller)
