"""One LLVM JIT per process: target setup, optimisation, and adding modules."""

from __future__ import annotations

import ctypes
import threading
from functools import cache

import llvmlite.binding as llvm
from llvmlite import ir

OPTIMIZATION_LEVEL = 2


class Jit:
    def __init__(self) -> None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        self.triple = llvm.get_process_triple()
        target = llvm.Target.from_triple(self.triple)
        self.machine = target.create_target_machine(
            cpu=llvm.get_host_cpu_name(),
            features=llvm.get_host_cpu_features().flatten(),
            opt=OPTIMIZATION_LEVEL,
            codemodel="jitdefault",
        )
        from .host import CALLBACKS

        for name, callback in CALLBACKS.items():
            llvm.add_symbol(name, ctypes.cast(callback, ctypes.c_void_p).value)
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.machine)
        self.lock = threading.Lock()

    def add(self, module: ir.Module, names: list[str]) -> dict[str, int]:
        """Verify, optimise and compile ``module``; the addresses of ``names``."""
        parsed = llvm.parse_assembly(str(module))
        parsed.verify()
        options = llvm.create_pipeline_tuning_options(speed_level=OPTIMIZATION_LEVEL)
        builder = llvm.create_pass_builder(self.machine, options)
        builder.getModulePassManager().run(parsed, builder)
        with self.lock:
            self.engine.add_module(parsed)
            self.engine.finalize_object()
            return {name: self.engine.get_function_address(name) for name in names}


@cache
def jit() -> Jit:
    return Jit()
