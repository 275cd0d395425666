"""What an engine is: the one interface between the runtime and the code that runs a module's functions.

The runtime (``runtime.instance.instantiate``) builds an instance's namespace and hands it, with
the validated module, to its store's engine:

- ``engine.compile(module, namespace, interruptible, metered, observer)`` returns a callable for
  every function the module defines, by function index (imports come after nothing: index
  ``module.num_imported_funcs()`` is the first defined function).  A callable takes the wasm
  arguments as Python values (i32/i64 as ints, f32/f64 as floats, references as objects) and
  returns ``None``, one value, or a tuple of them; it raises the ``wasmbox.errors`` classes:
  ``Trap``, ``Exhaustion``, ``WasmException``.
- The namespace is the instance, by name: ``M{i}`` its memories, ``T{i}`` tables, ``G{i}`` globals,
  ``TAG{i}`` tags, ``F{i}`` every function instance, ``f{i}`` the code of each imported function;
  ``SANDBOX`` (limits, depth, fuel), ``ELEMS``/``DATAS`` (passive segments) and the helpers of
  ``engines.namespace``.  An engine may add ``READY``, a list of callables the runtime calls once
  the instance is complete (segments in place), before its start function.  The engine keeps
  ``f{i}`` current for defined functions too: callers, tables and references reach a function
  through it and through ``F{i}.code``, so an engine may give a function's first call a stand-in
  (``start_lazily``) and replace its code later (``install``) without anyone holding stale code.
- What it can run: ``interruptible`` (code polls the store's interrupt flag), ``metered`` (fuel is
  counted) and ``observer`` (a tracer, debugger or profiler sees every entry, exit and instruction)
  are asked of every engine.  The portable engine (``interp``) runs every module under every
  switch; an engine that cannot honour one of them for a module hands the module to it (the
  baseline and native engines do for observers; native for what it cannot lower).

The engines, by name (``registry``): ``interp`` (Python translation), ``baseline`` (the interpreter
that prepares nothing ahead), ``native`` (LLVM machine code) and ``tiered`` (the default), the
only one that combines them: every function starts on the baseline and moves up as it runs
(``tiers``).  An engine's module is imported only when a store asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..ir.module import Module
    from ..runtime.observer import Observer


class Engine(Protocol):
    """Turns a module's functions into Python callables for one instance (see the module's docstring)."""

    name: str

    def compile(
        self,
        module: Module,
        namespace: dict[str, object],
        interruptible: bool = False,
        metered: bool = False,
        observer: Observer | None = None,
    ) -> dict[int, Callable[..., Any]]: ...


def install(namespace: dict[str, Any], index: int, code: Callable[..., Any]) -> None:
    """Make ``code`` what callers of function ``index`` reach: calls by name and through references."""
    namespace[f"f{index}"] = code
    namespace[f"F{index}"].code = code


def start_lazily(
    module: Module,
    namespace: dict[str, Any],
    index: int,
    begin: Callable[[int], Callable[..., Any]],
) -> Callable[..., Any]:
    """A stand-in for function ``index`` until its first call: then ``begin(index)`` makes its
    code, which replaces the stand-in in the namespace and the function instance, and runs."""

    def first_call(*args: Any) -> Any:
        code = begin(index)
        install(namespace, index, code)
        return code(*args)

    first_call.__name__ = f"start_f{index}"
    return first_call


def portable_engine() -> Engine:
    """The engine that runs every module under every switch (the others' fallback)."""
    from .interp import InterpEngine

    return InterpEngine()
