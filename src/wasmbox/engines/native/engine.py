"""``NativeEngine``: lower, optimise, JIT, and hand the runtime its callables."""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Callable
from typing import Any

from ...ir.module import Module
from ...runtime.observer import Observer
from ..interp import InterpEngine


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
        from .lower import NotLowered

        reason = None
        if metered:
            reason = "fuel metering runs on the portable engine"
        elif observer is not None:
            reason = "observed runs (trace, debug, profile) use the portable engine"
        code = None
        if reason is None:
            try:
                code = compiled_code(module, interruptible)
            except NotLowered as error:
                reason = str(error)
        if reason is not None or code is None:
            self.fallbacks.append(reason or "not compiled")
            return InterpEngine().compile(module, namespace, interruptible, metered, observer)
        for i, t in enumerate(module.types):
            namespace[f"TYPE{i}"] = t
        entries, functions = code
        instance = NativeInstance(module, namespace, entries, functions)
        self.compiled += 1
        return {index: instance.code(index) for index in functions}


# Machine code depends only on the module (and whether it polls the stop flag): every
# instance reaches its own state through its context record, so instances of one module
# share one compilation.  Keyed by the module's bytes.
_compiled: dict[tuple[bytes, bool], tuple[dict[int, int], dict[int, int]]] = {}
_compiling = threading.Lock()


def compiled_code(module: Module, interruptible: bool) -> tuple[dict[int, int], dict[int, int]]:
    """(entry trampoline, function) addresses by function index, compiling on first sight."""
    from ...binary.encode import encode_module
    from .jit import jit
    from .lower import ModuleLowering

    binary = module.binary if module.binary is not None else encode_module(module)
    key = (hashlib.sha256(binary).digest(), interruptible)
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
