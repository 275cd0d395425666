"""``Instance``: a module instantiated in a store, its imports given by name or in order."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..errors import LinkError
from ..runtime.instance import Extern, ModuleInstance, instantiate
from .decorator import func
from .externs import Global, Memory, Table, Tag
from .functions import Exports, Func
from .module import Module
from .store import Store


def unwrap_extern(value: object) -> Extern:
    """The runtime extern behind an import the user gave: an API object, or a Python function
    typed by its annotations (see :func:`func`)."""
    if isinstance(value, Func | Memory | Table | Global | Tag):
        return value._instance
    if callable(value):
        return func(value)._instance
    raise TypeError(f"cannot import {type(value).__name__}: expected Func, Memory, Table, Global or a function")


class Instance:
    """An instantiated module.

    ``imports``: ``{"env": {"print": func, ...}}``, or (as wasmtime-py takes them) a
    sequence with one extern per import of the module, in its order; values are
    :class:`Func`, :class:`Memory`, :class:`Table`, :class:`Global`, :class:`Tag`,
    or annotated Python functions (wrapped with :func:`func`).  A missing or
    mismatched import raises :class:`UnknownImportError` or :class:`IncompatibleImportError`
    (both :class:`LinkError`).
    """

    def __init__(
        self,
        store: Store,
        module: Module,
        imports: Mapping[str, Mapping[str, object]] | Sequence[object] | None = None,
    ) -> None:
        if imports is None or isinstance(imports, Mapping):
            resolved = {
                (module_name, name): unwrap_extern(value)
                for module_name, items in (imports or {}).items()
                for name, value in items.items()
            }
        else:
            resolved = _imports_in_order(module, imports)
        self._init(store, module, resolved)

    def _init(
        self,
        store: Store,
        module: Module,
        resolved: Mapping[tuple[str, str], Extern],
        before_start: Callable[[ModuleInstance], None] | None = None,
    ) -> None:
        self.store = store
        self.module = module
        self._instance = instantiate(module.ir, resolved, store.engine, store.sandbox, before_start, store.observer)
        self.exports = Exports(self._instance)


def _imports_in_order(module: Module, given: Sequence[object]) -> dict[tuple[str, str], Extern]:
    """wasmtime-py's form of imports: one extern per import, in the module's order."""
    wanted = module.ir.imports
    if len(given) > len(wanted):
        raise LinkError(f"{len(given)} imports given; the module has {len(wanted)}")
    resolved: dict[tuple[str, str], Extern] = {}
    for imp, value in zip(wanted, given, strict=False):
        key, extern = (imp.module, imp.name), unwrap_extern(value)
        if resolved.get(key, extern) is not extern:
            raise LinkError(f"import {imp.module}.{imp.name} appears twice; give the same extern for both")
        resolved[key] = extern
    return resolved
