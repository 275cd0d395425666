"""Tiered execution of large modules: each function starts on the baseline interpreter and moves up when hot.

A module of thousands of functions cannot wait for all of them to be
translated (the portable engine spends about 10 µs per instruction, LLVM
far more) when a run touches a tenth of them, most only a few times.  So a
function is prepared for the baseline interpreter on its first call, and
translated to Python by the portable engine once it has run enough to repay
that: when its executed blocks reach ``TRANSLATE_AFTER`` per instruction of
its body.  That is the break-even rule of the ski-rental problem (move up
once what was spent below equals the cost of moving), which never costs
more than twice what perfect foresight would.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..ir.module import Module
from .baseline import BaselineFunction, InstanceOperations, install, start_lazily
from .interp import translate_function

# Executed blocks per body instruction before a function is translated: a block is about
# four instructions, the interpreter ~6x slower per instruction than translated code and
# translation ~100 interpreted instructions' worth per instruction.
TRANSLATE_AFTER = int(os.environ.get("WASMBOX_TRANSLATE_AFTER", "20"))


class TieredFunctions:
    """The functions of one instance, each on the tier it has earned."""

    def __init__(self, module: Module, namespace: dict[str, Any], interruptible: bool) -> None:
        self.module = module
        self.namespace = namespace
        self.interruptible = interruptible
        self.operations = InstanceOperations(namespace)
        self.func_types = module.func_types()
        namespace["__wasm_func_types__"] = self.func_types
        for i, t in enumerate(module.types):
            namespace[f"TYPE{i}"] = t
        self.translated = 0  # functions moved to the portable engine's code

    def stand_ins(self) -> dict[int, Callable[..., Any]]:
        """Every defined function's code until its first call."""
        first = self.module.num_imported_funcs()
        code = {}
        for index in range(first, first + len(self.module.funcs)):
            code[index] = self.namespace[f"f{index}"] = start_lazily(self.module, self.namespace, index, self.begin)
        return code

    def begin(self, index: int) -> Callable[..., Any]:
        function = BaselineFunction(
            self.module,
            index,
            self.namespace,
            self.operations,
            self.interruptible,
            on_hot=self.translate,
            hot_after=TRANSLATE_AFTER * len(self.module.funcs[index - self.module.num_imported_funcs()].body),
        )
        return function.run

    def translate(self, function: BaselineFunction) -> Callable[..., Any]:
        """Move ``function`` to the portable engine's translation; callers reach it from now on."""
        function.on_hot = None
        code = translate_function(self.module, function.index, self.namespace, self.func_types, self.interruptible)
        install(self.namespace, function.index, code)
        self.translated += 1
        return code
