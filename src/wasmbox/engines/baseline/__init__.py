"""The baseline interpreter: runs wasm functions as chains of Python callables, prepared as they are reached.

It prepares almost nothing before running (see ``executor`` for why), so it
is the first tier of large modules on the other engines, and an engine of
its own (``Store(engine="baseline")``) that shows the stack machine plainly:
an operand stack in a list, one operation per instruction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...ir.module import Module
from ...ir.subtyping import closed_id, closed_types
from ...runtime.observer import Observer
from ..contract import install, portable_engine, start_lazily
from .executor import BaselineFunction
from .operations import InstanceOperations

__all__ = ["BaselineEngine", "BaselineFunction", "InstanceOperations", "install", "start_lazily"]


class BaselineEngine:
    """Every function runs on the baseline interpreter (prepared on its first call)."""

    name = "baseline"

    def compile(
        self,
        module: Module,
        namespace: dict[str, object],
        interruptible: bool = False,
        metered: bool = False,
        observer: Observer | None = None,
    ) -> dict[int, Callable[..., Any]]:
        if observer is not None:
            # Observation is compiled into the portable engine's code only.
            return portable_engine().compile(module, namespace, interruptible, metered, observer)
        for i, t in enumerate(closed_types(module.types)):
            namespace[f"TYPE{i}"] = t
            namespace[f"RTT{i}"] = closed_id(t)  # GC: the canonical id objects and casts carry
        operations = InstanceOperations(namespace)

        def begin(index: int) -> Callable[..., Any]:
            return BaselineFunction(module, index, namespace, operations, interruptible, metered=metered).run

        first = module.num_imported_funcs()
        code = {}
        for index in range(first, first + len(module.funcs)):
            code[index] = namespace[f"f{index}"] = start_lazily(module, namespace, index, begin)
        return code
