"""``NativeEngine``: lower, optimise, JIT, and hand the runtime its callables."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Callable
from typing import Any

from ...ir.module import Module
from ...runtime.observer import Observer
from ..interp import InterpEngine
from .abi import NotLowered


def available() -> bool:
    """Whether llvmlite can be imported here."""
    return importlib.util.find_spec("llvmlite") is not None


class NativeEngine:
    name = "native"

    def __init__(self) -> None:
        self.fallbacks: list[str] = []  # why modules ran on the portable engine
        self.compiled = 0  # modules compiled to machine code

    def compile(
        self,
        module: Module,
        namespace: dict[str, object],
        interruptible: bool = False,
        metered: bool = False,
        observer: Observer | None = None,
    ) -> dict[int, Callable[..., Any]]:
        from .host import NativeInstance

        reason = None
        if metered:
            reason = "fuel metering runs on the portable engine"
        elif observer is not None:
            reason = "observed runs (trace, debug, profile) use the portable engine"
        code: Any = None
        if reason is None:
            try:
                if len(module.funcs) > LAZY_FUNCTIONS:
                    code = lazy_code(module, interruptible)
                else:
                    code = compiled_code(module, interruptible)
            except NotLowered as error:
                reason = str(error)
        if reason is not None or code is None:
            self.fallbacks.append(reason or "not compiled")
            return InterpEngine().compile(module, namespace, interruptible, metered, observer)
        for i, t in enumerate(module.types):
            namespace[f"TYPE{i}"] = t
        instance = NativeInstance(module, namespace, code)
        self.compiled += 1
        first = module.num_imported_funcs()
        return {index: instance.code(index) for index in range(first, first + len(module.funcs))}


# Machine code depends only on the module (and whether it polls the stop flag): every
# instance reaches its own state through its context record, so instances of one module
# share one compilation.  Keyed by the module's bytes.
_compiled: dict[tuple[bytes, bool], tuple[dict[int, int], dict[int, int]]] = {}
_compiling = threading.Lock()


def module_key(module: Module, interruptible: bool) -> tuple[bytes, bool]:
    from ...binary.encode import encode_module

    binary = module.binary if module.binary is not None else encode_module(module)
    return hashlib.sha256(binary).digest(), interruptible


# Modules with more functions than this compile each function on its first call, so a
# large program starts at once and compiles only what it runs.
LAZY_FUNCTIONS = int(os.environ.get("WASMBOX_LAZY_FUNCTIONS", "400"))


class LazyCode:
    """A module compiled function by function: its stubs at once, each function on first call."""

    def __init__(self, module: Module, interruptible: bool, prefix: str) -> None:
        from .jit import jit
        from .lower import ModuleLowering

        self.module = module
        self.interruptible = interruptible
        self.prefix = prefix
        self.functions: dict[int, tuple[int, int]] = {}  # index -> (entry, function) addresses
        self.lock = threading.RLock()
        stubs = ModuleLowering(module, prefix, jit().triple, interruptible, lazy=True)
        stubs.lower_stubs()
        names = stubs.stub_names()
        addresses = jit().add(stubs.ir, list(names.values()))
        self.stubs = {t: addresses[name] for t, name in names.items()}

    def ensure(self, index: int) -> tuple[int, int]:
        with self.lock:
            found = self.functions.get(index)
            if found is None:
                from .jit import jit
                from .lower import ModuleLowering

                entry, function = f"{self.prefix}_entry{index}", f"{self.prefix}_f{index}"
                cached = jit().cached_object(f"{self.prefix}_f{index}")
                if cached is not None:  # no need to lower it at all
                    addresses = jit().add_object(cached, [entry, function])
                else:
                    lowering = ModuleLowering(self.module, self.prefix, jit().triple, self.interruptible, True, index)
                    lowering.lower()
                    addresses = jit().add_fast(lowering.ir, [entry, function])
                found = self.functions[index] = (addresses[entry], addresses[function])
            return found


_lazy: dict[tuple[bytes, bool], LazyCode] = {}


def lazy_code(module: Module, interruptible: bool) -> LazyCode:
    from .lower import llvm_type

    key = module_key(module, interruptible)
    with _compiling:
        found = _lazy.get(key)
        if found is None:
            # Nothing may turn out not to compile once the program runs: check the types now
            # (every instruction of the feature sets the loader accepts is lowered).
            for t in module.func_types():
                for value_type in (*t.params, *t.results):
                    llvm_type(value_type)
            # A prefix of its own: lazy code must never be taken for the eager compilation's (nor its cache files).
            prefix = f"w{key[0].hex()[:24]}{'i' if interruptible else ''}L"
            found = _lazy[key] = LazyCode(module, interruptible, prefix)
        return found


def compiled_code(module: Module, interruptible: bool) -> tuple[dict[int, int], dict[int, int]]:
    """(entry trampoline, function) addresses by function index, compiling on first sight."""
    from .jit import jit
    from .lower import ModuleLowering

    key = module_key(module, interruptible)
    with _compiling:
        found = _compiled.get(key)
        if found is not None:
            return found
        compiler = jit()
        # Names come from the module's content, so cached object code matches them in any process.
        prefix = f"w{key[0].hex()[:24]}{'i' if interruptible else ''}"
        lowering = ModuleLowering(module, prefix, compiler.triple, interruptible)
        lowering.lower()
        names = [f"{prefix}_{kind}{index}" for index in lowering.functions for kind in ("entry", "f")]
        addresses = compiler.add(lowering.ir, names)
        result = (
            {index: addresses[f"{prefix}_entry{index}"] for index in lowering.functions},
            {index: addresses[f"{prefix}_f{index}"] for index in lowering.functions},
        )
        _compiled[key] = result
        return result
