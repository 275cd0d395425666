"""``NativeEngine``: lower, optimise, JIT, and hand the runtime its callables."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable
from typing import Any

from ...ir.module import Module
from ...runtime.observer import Observer
from ..interp import InterpEngine

_modules = itertools.count(1)


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
        from .jit import jit
        from .lower import ModuleLowering, NotLowered

        reason = None
        if metered:
            reason = "fuel metering runs on the portable engine"
        elif observer is not None:
            reason = "observed runs (trace, debug, profile) use the portable engine"
        if reason is None:
            compiler = jit()
            prefix = f"w{next(_modules)}"
            lowering = ModuleLowering(module, prefix, compiler.triple, interruptible)
            try:
                lowering.lower()
            except NotLowered as error:
                reason = str(error)
        if reason is not None:
            self.fallbacks.append(reason)
            return InterpEngine().compile(module, namespace, interruptible, metered, observer)
        for i, t in enumerate(module.types):
            namespace[f"TYPE{i}"] = t
        entries = compiler.add(lowering.ir, [f"{prefix}_entry{index}" for index in lowering.functions])
        instance = NativeInstance(
            module,
            namespace,
            {index: entries[f"{prefix}_entry{index}"] for index in lowering.functions},
        )
        self.compiled += 1
        return {index: instance.code(index) for index in lowering.functions}
