"""One LLVM JIT per process: target setup, optimisation, adding modules, and the on-disk code cache.

Compiled object code is cached on disk (``$WASMBOX_CACHE``, default
``~/.cache/wasmbox/native``) under a directory named for the engine version
(a hash of the lowering's own source, so any change to how wasm is lowered
starts a fresh cache), the LLVM version and the host CPU, and a file named for
the module's content hash.  A hit skips LLVM's optimisation and code
generation, which are most of the compile time.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from functools import cache

import llvmlite.binding as llvm
from llvmlite import ir

from ...cache_location import cache_base, write_atomically
from ..sealed import seal
from .code_cache import code_cache, record_host
from .engine import FAST_CODEGEN_LEVEL, OPTIMIZATION_LEVEL, engine_version


class Jit:
    def __init__(self) -> None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        self.triple = llvm.get_process_triple()
        target = llvm.Target.from_triple(self.triple)
        cpu, features = llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()
        self.machine = target.create_target_machine(
            cpu=cpu, features=features, opt=OPTIMIZATION_LEVEL, codemodel="jitdefault"
        )
        # Code only wasmbox's object loader links (the guarded whole-module code: runtime.guards) calls
        # and reads its constants with 32-bit displacements (the small code model, position-independent:
        # jump tables are relative too); the loader gives far external functions a stub.
        self.near_machine = target.create_target_machine(
            cpu=cpu, features=features, opt=OPTIMIZATION_LEVEL, codemodel="small", reloc="pic"
        )
        # Lazily compiled functions are compiled while the program waits: a light pipeline
        # (SROA, instcombine, simplifycfg) and LLVM's fast instruction selection.
        self.fast_machine = target.create_target_machine(
            cpu=cpu, features=features, opt=FAST_CODEGEN_LEVEL, codemodel="jitdefault"
        )
        from .host import CALLBACKS

        for name, callback in CALLBACKS.items():
            llvm.add_symbol(name, ctypes.cast(callback, ctypes.c_void_p).value)
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.machine)
        self.lock = threading.Lock()
        base = cache_base()
        machine_key = hashlib.sha256(f"{self.triple} {cpu} {features}".encode()).hexdigest()[:12]
        llvm_version = ".".join(map(str, llvm.llvm_version_info))
        self.cache = os.path.join(base, f"{engine_version()}-llvm{llvm_version}-{machine_key}")
        self.engine.set_object_cache(self._store, self._load)
        record_host(self.cache, self.triple)  # later processes find the cache without loading LLVM
        code_cache().use(self.cache, self.triple)

    @property
    def cache_hits(self) -> int:
        return code_cache().hits

    # --- the object cache (MCJIT asks before compiling and tells after) ----------------------
    def _path(self, module: llvm.ModuleRef) -> str:
        return os.path.join(self.cache, f"{module.name}.o")

    def _load(self, module: llvm.ModuleRef) -> bytes | None:
        if not module.name.startswith("w"):  # only wasm modules (not the JIT's empty first one)
            return None
        return self.cached_object(module.name)

    def _store(self, module: llvm.ModuleRef, buffer: bytes) -> None:
        if module.name.startswith("w"):
            self._write(self._path(module), buffer)

    def add(self, module: ir.Module, names: list[str]) -> dict[str, int]:
        """Verify, optimise and compile ``module`` (or take its code from the cache); the addresses of ``names``."""
        parsed = llvm.parse_assembly(str(module))
        parsed.name = module.name
        if self.cached_object(module.name) is None:
            parsed.verify()
            options = llvm.create_pipeline_tuning_options(speed_level=OPTIMIZATION_LEVEL)
            builder = llvm.create_pass_builder(self.machine, options)
            builder.getModulePassManager().run(parsed, builder)
        with self.lock:
            self.engine.add_module(parsed)
            self.engine.finalize_object()
            return {name: self.engine.get_function_address(name) for name in names}

    def optimized_object(self, module: ir.Module, near: bool = False) -> bytes:
        """Object code for ``module`` at full optimisation, written to the cache (for code another
        process, or a later run, will load: see ``native_validation``). ``near``: of the small code
        model, for wasmbox's object loader only."""
        machine = self.near_machine if near else self.machine
        parsed = llvm.parse_assembly(str(module))
        parsed.name = module.name
        parsed.verify()
        options = llvm.create_pipeline_tuning_options(speed_level=OPTIMIZATION_LEVEL)
        builder = llvm.create_pass_builder(machine, options)
        builder.getModulePassManager().run(parsed, builder)
        data: bytes = machine.emit_object(parsed)
        self._write(self._path(parsed), data)
        return data

    def cached_object(self, name: str) -> bytes | None:
        """The cached object code of the IR module ``name``, if any (a damaged file is removed)."""
        return code_cache().cached_object(name)

    def add_object(self, data: bytes, names: list[str]) -> dict[str, int]:
        with self.lock:
            self.engine.add_object_file(llvm.ObjectFileRef.from_data(data))
            self.engine.finalize_object()
            return {name: self.engine.get_function_address(name) for name in names}

    def fast_object(self, module: ir.Module) -> bytes:
        """Object code for ``module``, compiled quickly (lazy functions: light optimisation, fast
        code generation) or taken from the cache; any process may load it (see ``add_object``)."""
        path = os.path.join(self.cache, f"{module.name}.o")
        data = self.cached_object(module.name)
        if data is None:
            parsed = llvm.parse_assembly(str(module))
            passes = llvm.create_new_module_pass_manager()
            passes.add_sroa_pass()
            passes.add_instruction_combine_pass()
            passes.add_simplify_cfg_pass()
            passes.run(parsed, llvm.create_pass_builder(self.fast_machine, llvm.create_pipeline_tuning_options(1)))
            data = self.fast_machine.emit_object(parsed)
            self._write(path, data)
        return data

    def _write(self, path: str, data: bytes) -> None:
        try:
            os.makedirs(self.cache, exist_ok=True)
            write_atomically(path, seal(data))
        except OSError:
            pass  # a read-only or full disk only costs the next run a compile


@cache
def jit() -> Jit:
    return Jit()
