"""``Linker``: definitions collected by (module, name), and modules instantiated against them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DuplicateDefinitionError, LinkError, Trap, UnknownImportError
from ..ir.types import ExternKind, FuncType
from ..runtime.instance import Extern, call_function, expected_type, extern_type_text
from ..runtime.objects import FunctionInstance
from .functions import ExternObject, Func, host_function, wrap_extern
from .instance import Instance, unwrap_extern
from .module import Module
from .store import Store
from .values import default_value
from .wasi_imports import with_own_wasi

if TYPE_CHECKING:
    from ..wasi import WasiConfig, WasiInstance


class Linker:
    """Collects definitions by (module, name) and instantiates modules against them.

    Defining a name that is already defined raises :class:`DuplicateDefinitionError` unless
    ``allow_shadowing`` is set (then the later definition replaces the earlier), as in wasmtime.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.allow_shadowing = False
        self._definitions: dict[tuple[str, str], Extern] = {}
        self._wasi: WasiInstance | None = None
        self._wasi_defaults: dict[tuple[str, str], FunctionInstance] = {}

    def _check_free(self, names: Iterator[tuple[str, str]] | Sequence[tuple[str, str]]) -> None:
        if not self.allow_shadowing:
            for module, name in names:
                if (module, name) in self._definitions:
                    raise DuplicateDefinitionError(module, name)

    def _define(self, items: Mapping[tuple[str, str], Extern]) -> None:
        """Define all of ``items`` or, when one is already defined and shadowing is off, none."""
        self._check_free(list(items))
        self._definitions.update(items)

    def define(self, module: str, name: str, extern: object) -> None:
        """Define ``module.name`` as ``extern``: a Func, Memory, Table, Global, Tag or an annotated
        Python function."""
        self._define({(module, name): unwrap_extern(extern)})

    def define_func(
        self, module: str, name: str, func_type: FuncType, function: Callable[..., Any], access_caller: bool = False
    ) -> None:
        """Define ``module.name`` as a host function of ``func_type`` (``Func(store, func_type,
        function, access_caller)``)."""
        self._define({(module, name): host_function(func_type, function, access_caller)})

    def define_instance(self, name: str, instance: Instance) -> None:
        """Define every export of ``instance`` under the module name ``name``."""
        self._define({(name, export): extern for export, extern in instance._instance.exports.items()})

    def define_module(self, name: str, module: Module) -> None:
        """Define the exports of ``module`` under ``name``, as wasmtime does.

        A reactor (a module without a ``_start`` export) is instantiated now, its ``_initialize``
        export (if any) is called, and its exports are defined.  A command (one with ``_start``)
        gets a fresh instance for every call of one of its exported functions, so that no call
        sees another's state; only its functions are defined.  Its imports are resolved against
        the definitions made so far.
        """
        exports = module.exports
        if not any(export == ("_start", "func") for export in exports):
            self._check_free([(name, export.name) for export in exports])
            instance = self.instantiate(module)
            initialize = instance.exports.get("_initialize")
            if isinstance(initialize, Func):
                initialize()
            self.define_instance(name, instance)
            return
        for imp in module.ir.imports:
            if (imp.module, imp.name) not in self._definitions:
                raise UnknownImportError(
                    imp.module, imp.name, extern_type_text(imp.kind, expected_type(imp, module.ir.types))
                )
        snapshot = (dict(self._definitions), self._wasi, dict(self._wasi_defaults))

        def command_export(export_name: str) -> Callable[..., object]:
            def call(*args: object) -> object:
                function = self._instantiate(module, *snapshot)._instance.exports[export_name]
                assert isinstance(function, FunctionInstance)
                return call_function(function, list(args))

            return call

        self._define(
            {
                (name, export.name): FunctionInstance(
                    export.type, command_export(export.name), name=f"{name}.{export.name}", host=True
                )
                for export in exports
                if isinstance(export.type, FuncType)
            }
        )

    def define_wasi(self, config: WasiConfig | None = None) -> WasiInstance:
        """Offer ``wasi_snapshot_preview1`` to modules instantiated here; returns its state.

        The returned ``WasiInstance`` owns the host descriptors the guest opens;
        ``close()`` releases them (they are also closed when it is collected).  A second
        ``define_wasi`` raises ``DuplicateDefinitionError`` unless ``allow_shadowing`` is set.
        """
        from ..wasi import WasiConfig, WasiInstance

        wasi = WasiInstance(config if config is not None else WasiConfig(), self.store.sandbox)
        defaults = wasi.imports()
        try:
            self._define(defaults)
        except DuplicateDefinitionError:
            wasi.close()
            raise
        self._wasi, self._wasi_defaults = wasi, defaults
        return wasi

    def _define_missing_functions(self, module: Module, code: Callable[[FuncType, str], Callable[..., object]]) -> None:
        """Define every function import of ``module`` not yet defined as ``code(type, name)``."""
        for imp in module.ir.imports:
            key = (imp.module, imp.name)
            if imp.kind == ExternKind.FUNC and key not in self._definitions:
                func_type = expected_type(imp, module.ir.types)
                assert isinstance(func_type, FuncType)
                name = f"{imp.module}.{imp.name}"
                self._definitions[key] = FunctionInstance(func_type, code(func_type, name), name=name, host=True)

    def define_unknown_imports_as_traps(self, module: Module) -> None:
        """Define every function import of ``module`` not yet defined as a function that traps
        ("unknown import") when called."""

        def trapping(func_type: FuncType, name: str) -> Callable[..., object]:
            message = f"unknown import {name} was called (defined as a trap)"

            def trap(*args: object) -> object:
                raise Trap("unknown import", message)

            return trap

        self._define_missing_functions(module, trapping)

    def define_unknown_imports_as_default_values(self, module: Module) -> None:
        """Define every function import of ``module`` not yet defined as a function that returns
        zeros (null for references)."""

        def returning_zeros(func_type: FuncType, name: str) -> Callable[..., object]:
            zeros = tuple(default_value(t) for t in func_type.results)
            result = zeros[0] if len(zeros) == 1 else (zeros or None)
            return lambda *args: result

        self._define_missing_functions(module, returning_zeros)

    def get(self, module: str, name: str) -> ExternObject:
        """What ``module.name`` is defined as (``LinkError`` if nothing is)."""
        extern = self._definitions.get((module, name))
        if extern is None:
            raise LinkError(f"{module}.{name} is not defined in this linker")
        return wrap_extern(extern)

    def get_default(self, name: str) -> Func:
        """The default function of the module defined as ``name`` (wasmtime's convention: its
        export named ``""``, else ``_start``), or a function doing nothing if it has neither."""
        for export in ("", "_start"):
            extern = self._definitions.get((name, export))
            if isinstance(extern, FunctionInstance):
                return Func._wrap(extern)
        return Func(self.store, FuncType(), lambda: None)

    def instantiate(self, module: Module) -> Instance:
        """Instantiate ``module`` with this linker's definitions as its imports (each instance gets
        WASI functions of its own, on its own memory)."""
        return self._instantiate(module, self._definitions, self._wasi, self._wasi_defaults)

    def _instantiate(
        self,
        module: Module,
        definitions: Mapping[tuple[str, str], Extern],
        wasi: WasiInstance | None,
        wasi_defaults: Mapping[tuple[str, str], FunctionInstance],
    ) -> Instance:
        definitions, bind = with_own_wasi(module.ir, definitions, wasi, wasi_defaults)
        instance = Instance.__new__(Instance)
        instance._init(self.store, module, definitions, bind)
        return instance
