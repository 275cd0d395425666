"""The native engine: wasm functions compiled to machine code through LLVM (llvmlite).

``NativeEngine.compile`` lowers a module to LLVM IR (``lower``), optimises it
and JIT-compiles it (``jit``), and gives the runtime Python callables that
enter the machine code (``host``).  Modules that use what it does not compile
yet (SIMD, reference-typed values, exception handling) or stores that need
fuel metering or an observer run on the portable engine instead: the engine
records why in ``fallbacks``.
"""

from __future__ import annotations

from .engine import NativeEngine, available

__all__ = ["NativeEngine", "available"]
