"""``NativeEngine``: lower, optimise, JIT, and hand the runtime its callables."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

from ...digests import source_fingerprint
from ...ir.module import Module
from ...ir.subtyping import closed_types
from ...runtime.observer import Observer
from .. import translation_cache
from ..contract import portable_engine
from ..gc_use import uses_gc
from ..registry import native_available
from .abi import NotLowered, osr_entry_name, stub_names
from .object_loader import UnsupportedObject

OPTIMIZATION_LEVEL = 2
FAST_CODEGEN_LEVEL = 0
# (and the lowering every module goes through first: see ir.legacy_exceptions)
_SOURCES = (
    "abi.py",
    "lower.py",
    "position_lines.py",
    "simd.py",
    "tables.py",
    "jit.py",
    "host.py",
    "../../ir/legacy_exceptions.py",
)


@cache
def engine_version() -> str:
    """A fingerprint of the code that decides what machine code a module becomes (it names the code
    cache, and serialized modules carry it)."""
    levels = f"O{OPTIMIZATION_LEVEL} fast O{FAST_CODEGEN_LEVEL}".encode()
    return source_fingerprint(os.path.dirname(__file__), _SOURCES, levels)


available = native_available  # whether llvmlite can be imported here


class NativeEngine:
    """Modules of up to ``LAZY_FUNCTIONS`` functions are compiled whole, at -O2, on instantiation
    (and larger ones whose whole machine code this process already has: ``Module.compile``, or
    brought along by ``Module.deserialize``, or an earlier run left in the code cache: see
    ``whole_code_for_next_run``).

    Larger ones are tiered (``engines.tiers``): a function starts on the baseline
    interpreter, moves to the portable engine's Python when hot, and to machine
    code when its calls run long enough to repay LLVM and the crossing between
    Python and native code (``NativeTier``).  A 69 MB program thus starts at once
    and compiles only what earns it.
    """

    name = "native"

    def __init__(self) -> None:
        self.fallbacks: list[str] = []  # why modules ran on the portable engine
        self.compiled = 0  # modules compiled to machine code (whole, or tiered with a native tier)

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
        if observer is not None:
            reason = "observed runs (trace, debug, profile) use the portable engine"
        elif uses_gc(module):
            reason = "GC (struct, array and i31 references, casts) runs on the portable engine"
        code: Any = None
        if reason is None:
            try:
                from ..tiers import unwieldy

                large = len(module.funcs) > LAZY_FUNCTIONS or unwieldy(module)
                usable = has_usable_code(module, interruptible) or module_code_on_disk(module, interruptible)
                if large and not metered and not usable:
                    return self.tiered(module, namespace, interruptible)
                if metered and unwieldy(module):
                    reason = "a function too unwieldy to compile, under fuel: the portable engine meters it"
                else:
                    code = compiled_code(module, interruptible, variant=FUEL if metered else "")
            except NotLowered as error:
                reason = str(error)
        if reason is not None or code is None:
            self.fallbacks.append(reason or "not compiled")
            return portable_engine().compile(module, namespace, interruptible, metered, observer)
        for i, t in enumerate(closed_types(module.types)):
            namespace[f"TYPE{i}"] = t
        instance = NativeInstance(module, namespace, code, metered=metered)
        self.compiled += 1
        first = module.num_imported_funcs()
        return {index: instance.code(index) for index in range(first, first + len(module.funcs))}

    def tiered(
        self, module: Module, namespace: dict[str, object], interruptible: bool
    ) -> dict[int, Callable[..., Any]]:
        from ..tiers import TieredFunctions

        # (Every value type and every instruction of the feature sets the loader accepts is lowered,
        # so nothing can turn out not to compile once the program runs; LLVM loads when needed.)
        tiers = TieredFunctions(module, namespace, interruptible, NativeTier(module, namespace, interruptible))
        self.compiled += 1
        return tiers.stand_ins()


# Machine code depends only on the module (and whether it polls the stop flag): every
# instance reaches its own state through its context record, so instances of one module
# share one compilation.  Keyed by the module's bytes.
_compiled: dict[tuple[bytes, str], tuple[dict[int, int], dict[int, int], dict[int, int]]] = {}
# The object code behind each (kept for Module.serialize), and object code handed over by another
# process (Module.deserialize), linked when the module is first run.
_objects: dict[tuple[bytes, str], bytes] = {}
_adopted: dict[tuple[bytes, str], bytes] = {}
_compiling = threading.Lock()


# Variants of a module's whole-module code, as letters of its names: fuel metering compiled in, and
# "quick" code (light optimisation, fast code generation: a cold start's first machine code).
FUEL, QUICK = "f", "q"
# The whole module's optimised code with every access tested: where guard pages are on, but its guarded
# code could not be linked by wasmbox's loader (compiled_code).
TESTED = "t"


def module_key(module: Module, interruptible: bool, variant: str = "") -> tuple[bytes, str]:
    """What a module's machine code depends on: its content, the checks compiled in, how it was made
    (and "g": whether its memory accesses rely on guard pages)."""
    return module.digest(), ("i" if interruptible else "") + variant + ("g" if guarded_code(variant) else "")


def guarded_code(variant: str) -> bool:
    """Whether whole-module code of ``variant`` leaves memory bounds to guard pages: the fully
    optimised code does, where the process has them (runtime.guards); metered and quick code test."""
    from ...runtime import guards

    return not variant and guards.enabled()


def lazy_prefix(module: Module, interruptible: bool) -> str:
    """The names of a module's lazily compiled code: never those of its eager compilation (nor its
    cache files)."""
    return eager_prefix(module, interruptible) + "L"


# Modules with more functions than this are tiered (see NativeEngine).
LAZY_FUNCTIONS = int(os.environ.get("WASMBOX_LAZY_FUNCTIONS", "400"))
# Bytes of function bodies up to which a tiered module that got hot is compiled whole for the code cache
# after the program ends, so that its next run starts on machine code (Lua's interpreter: 306 KB, ~30 s
# of LLVM -O2 and 0.7 GB in the worker; a module of several MB would take many minutes and gigabytes).
WHOLE_MODULE_CODE_AT_MOST = int(os.environ.get("WASMBOX_WHOLE_MODULE_CODE_AT_MOST", str(512 * 1024)))
# ... and functions: LLVM's memory grows with their number too, whatever their size (a module of 80,000
# one-line functions, under the byte limit, took the worker 6.8 GB). Lua has 839, boolector 1,035.
WHOLE_MODULE_FUNCTIONS_AT_MOST = int(os.environ.get("WASMBOX_WHOLE_MODULE_FUNCTIONS_AT_MOST", "5000"))


def code_size(module: Module) -> int:
    """Bytes of the module's function bodies (estimated from instruction counts for bodies not read
    from a binary), without decoding a lazily decoded body, nor lowering a body of legacy exceptions (yosys:
    asked at the exit of a cold run, it decoded and lowered all 46,473 functions, ~10 s)."""
    from ...binary.decode import EncodedBody
    from ...ir.legacy_exceptions import original_function

    total = 0
    for function in map(original_function, module.funcs):
        source = function.source
        total += source.end - source.start if isinstance(source, EncodedBody) else 3 * len(function.body)
    return total


def whole_code_for_next_run(module: Module) -> bool:
    """Whether a tiered module that got hot is worth compiling whole for its next run (see
    ``WHOLE_MODULE_CODE_AT_MOST`` and ``WHOLE_MODULE_FUNCTIONS_AT_MOST``); otherwise the functions
    it ran are compiled one by one."""
    return len(module.funcs) <= WHOLE_MODULE_FUNCTIONS_AT_MOST and code_size(module) <= WHOLE_MODULE_CODE_AT_MOST


def module_code_on_disk(module: Module, interruptible: bool) -> bool:
    """Whether an earlier run left the module's whole -O2 machine code in the code cache (its marker
    beside the Python translations, then the object itself)."""
    if translation_cache.native_marker(interruptible) not in translation_cache.known(module):
        return False
    from .code_cache import code_cache

    directory = code_cache().known_directory  # (unknown: nothing cached, and no LLVM import to see it)
    return directory is not None and os.path.exists(os.path.join(directory, f"{eager_prefix(module, interruptible)}.o"))


def function_object(module: Module, index: int, interruptible: bool, prefix: str | None = None) -> bytes:
    """Object code of one function of a tiered module (any process can make it: the translation
    worker does, see engines.translation_worker), from the code cache when it was made before."""
    from .code_cache import code_cache

    prefix = prefix or lazy_prefix(module, interruptible)
    cached = code_cache().cached_object(f"{prefix}_f{index}")
    if cached is not None:  # no need to lower it at all
        return cached
    from .jit import jit
    from .lower import ModuleLowering

    lowering = ModuleLowering(module, prefix, jit().triple, interruptible, True, index)
    lowering.lower()
    return jit().fast_object(lowering.ir)


def osr_object(module: Module, index: int, position: int, interruptible: bool) -> bytes:
    """Object code of function ``index``'s entry at the ``loop`` at ``position`` (on-stack
    replacement: see lower.FunctionLowering), from the cache when it was made before."""
    from .code_cache import code_cache
    from .lower import ModuleLowering

    prefix = lazy_prefix(module, interruptible)
    lowering = ModuleLowering(module, prefix, code_cache().triple, interruptible, True, index, osr=position)
    cached = code_cache().cached_object(lowering.ir.name)
    if cached is not None:
        return cached
    from .jit import jit

    lowering.lower()
    return jit().fast_object(lowering.ir)


class LazyCode:
    """A module's functions compiled one at a time, called through the context's code table.

    Its stubs (one per signature) send native calls to functions that are not
    machine code yet into the host, which runs them on their current tier.
    """

    def __init__(self, module: Module, interruptible: bool, prefix: str, stubs_object: bytes | None = None) -> None:
        """``stubs_object``: the stubs' object code when another process made it (``stubs_object``)."""
        from .code_cache import code_cache

        self.module = module
        self.interruptible = interruptible
        self.prefix = prefix
        self.functions: dict[int, tuple[int, int]] = {}  # index -> (entry, function) addresses
        self.lock = threading.RLock()
        # Linking the worker's stubs needs their names only: no llvmlite, no lowering (importing
        # them held a cold run's first machine code back by ~0.15 s).
        self.quick_only: set[int] = set()  # functions whose code is the quick compiler's (see quick.py)
        self.quick_made: dict[int, tuple[int, int, int, dict[int, int]]] = {}  # see quick_code
        self.ahead: Any = None  # the translation worker, when it compiles quick code ahead (see quick_ahead)
        names = stub_names(module.func_types(), module.num_imported_funcs(), prefix)
        quick_stubs = None if stubs_object is not None else _quick_stubs(list(names))
        if quick_stubs is not None:
            self.stubs = quick_stubs
            return
        if stubs_object is not None:
            addresses = code_cache().add_object(stubs_object, list(names.values()))
        else:
            from .jit import jit
            from .lower import ModuleLowering

            stubs = ModuleLowering(module, prefix, jit().triple, interruptible, lazy=True)
            stubs.lower_stubs()
            addresses = jit().add(stubs.ir, list(names.values()))
        self.stubs = {t: addresses[name] for t, name in names.items()}

    def names(self, index: int) -> tuple[str, str]:
        return f"{self.prefix}_entry{index}", f"{self.prefix}_f{index}"

    def quick_code(self, index: int) -> tuple[int, int, int, dict[int, int]]:
        """The quick compiler's code of function ``index`` (made once for every instance): its address,
        its entry's (for Python), its OSR door's, and the loops the door enters (position -> operand
        stack height). Raises QuickUnsupported."""
        with self.lock:
            found = self.quick_made.get(index)
            if found is None:
                from .quick import compile_with_door, entry_code, place_all

                ahead = self.ahead
                made = None if ahead is None else ahead.take_quick(index, self.interruptible)
                if made is None:
                    if ahead is not None:  # (told first: it starts on what this function calls meanwhile)
                        ahead.skip_quick(index, self.interruptible)
                    made = compile_with_door(self.module, index, self.interruptible)
                code, door, loops = made
                entry_at = (len(code) + 15) // 16 * 16
                entry = entry_code(self.module.func_types_shared()[index], -entry_at, relative=True)
                address, entry_address = place_all([code, entry])
                found = self.quick_made[index] = (address, entry_address, address + door, loops)
            return found

    def quick(self, index: int) -> tuple[int, int]:
        """(entry, function) addresses of function ``index`` as the quick compiler's code (made now,
        unless it has code already). Raises QuickUnsupported."""
        with self.lock:
            found = self.functions.get(index)
            if found is None:
                function, entry, _, _ = self.quick_code(index)
                found = self.functions[index] = (entry, function)
                self.quick_only.add(index)
            return found

    def ensure(self, index: int, data: bytes | None = None) -> tuple[int, int]:
        """(entry, function) addresses of function ``index``, compiled here unless ``data`` (its
        object code, made elsewhere) is given; ``data`` replaces quick code."""
        with self.lock:
            found = self.functions.get(index)
            if found is None or (data is not None and index in self.quick_only):
                self.quick_only.discard(index)
                from .code_cache import code_cache

                if data is None:
                    data = function_object(self.module, index, self.interruptible, self.prefix)
                entry, function = self.names(index)
                addresses = code_cache().add_object(data, [entry, function])
                found = self.functions[index] = (addresses[entry], addresses[function])
            return found


def _quick_stubs(types: list[Any]) -> dict[Any, int] | None:
    """The quick compiler's stubs for these signatures, when it makes them all (no LLVM needed)."""
    from .quick import QuickUnsupported, place_all, quick_supported, stub_code

    if not quick_supported():
        return None
    try:
        return dict(zip(types, place_all([stub_code(t) for t in types]), strict=True))
    except QuickUnsupported:
        return None


def stubs_object(module: Module, interruptible: bool) -> bytes:
    """Object code of a tiered module's stubs (one per signature; the translation worker makes it
    with the first function it compiles, so the main thread need not lower 300 stubs)."""
    from .jit import jit
    from .lower import ModuleLowering

    stubs = ModuleLowering(module, lazy_prefix(module, interruptible), jit().triple, interruptible, lazy=True)
    stubs.lower_stubs()
    return jit().fast_object(stubs.ir)


_lazy: dict[tuple[bytes, str], LazyCode] = {}


def lazy_code(module: Module, interruptible: bool, stubs: bytes | None = None) -> LazyCode:
    key = module_key(module, interruptible)
    with _compiling:
        found = _lazy.get(key)
        if found is None:
            found = _lazy[key] = LazyCode(module, interruptible, lazy_prefix(module, interruptible), stubs)
        return found


def _osr_code(
    instance: Any, module: Module, prefix: str, interruptible: bool, index: int, position: int, data: bytes | None
) -> Callable[[list[Any]], Any]:
    """Link function ``index``'s entry at the loop at ``position`` (its object code ``data``, or made
    now) into ``instance``: a callable taking the baseline's frame (see NativeInstance.osr_code)."""
    from ...validate import operand_types
    from .code_cache import code_cache

    if data is None:
        data = osr_object(module, index, position, interruptible)
    name = osr_entry_name(prefix, index, position)
    address = code_cache().add_object(data, [name])[name]
    function = module.funcs[index - module.num_imported_funcs()]
    local_types = [*module.function_type(function.type_index).params, *function.locals]
    stack = [t for t in operand_types(module, index)[position] if t is not None]
    return instance.osr_code(index, address, local_types + stack)  # type: ignore[no-any-return]


class NativeTier:
    """The machine-code tier of one tiered instance of a large module, function by function (see
    ``engines.tiers``).

    Its native side (context record, code table, globals as native cells) is made
    when its first function becomes machine code, so a run that never gets there
    keeps Python's plain globals.
    """

    whole = False

    def __init__(self, module: Module, namespace: dict[str, object], interruptible: bool) -> None:
        self.module = module
        self.namespace = namespace
        self.interruptible = interruptible
        self.lock = threading.Lock()
        self._instance: Any = None
        self.functions = 0  # functions made machine code
        self.osr_entries = 0  # entries at loops of calls in progress (on-stack replacement)
        self.quick_refused: set[int] = set()  # functions the quick compiler does not compile
        self._on_disk: frozenset[str] | None = None

    @property
    def prefix(self) -> str:
        return lazy_prefix(self.module, self.interruptible)

    def cached(self, index: int) -> bool:
        """Whether function ``index``'s machine code is in the code cache (an earlier run made it)."""
        return self.function_on_disk(index)

    def function_on_disk(self, index: int) -> bool:
        """Whether an earlier run made function ``index`` machine code on its own (it was hot then)."""
        if self._on_disk is None:
            from .code_cache import code_cache

            directory = code_cache().known_directory  # (unknown: nothing cached, and no LLVM import to see it)
            try:
                self._on_disk = frozenset(os.listdir(directory)) if directory is not None else frozenset()
            except OSError:
                self._on_disk = frozenset()
        return f"{self.prefix}_f{index}.o" in self._on_disk

    def instance(self, stubs: bytes | None = None) -> Any:
        from .host import NativeInstance

        with self.lock:
            if self._instance is None:
                code = lazy_code(self.module, self.interruptible, stubs)
                self._instance = NativeInstance(self.module, self.namespace, code, private_globals=True)
            return self._instance

    def osr(
        self, index: int, position: int, data: bytes | None = None, stubs: bytes | None = None
    ) -> Callable[[list[Any]], Any]:
        """Function ``index``'s entry at the loop at ``position`` (``data``: its object code, if made
        elsewhere), as a callable taking the baseline's frame (see NativeInstance.osr_code)."""
        code = _osr_code(self.instance(stubs), self.module, self.prefix, self.interruptible, index, position, data)
        self.osr_entries += 1
        return code

    def compile_function(self, index: int, data: bytes | None = None, stubs: bytes | None = None) -> Callable[..., Any]:
        """Make function ``index`` machine code on its own (from ``data`` if the worker made it, with
        ``stubs`` the first time): native callers reach it through the code table at once; the
        callable is for Python callers."""
        instance = self.instance(stubs)
        instance.compile_function(index, data)
        self.functions += 1
        return instance.code(index)  # type: ignore[no-any-return]

    def compile(self, index: int, data: bytes | None = None, stubs: bytes | None = None) -> Callable[..., Any]:
        """Function ``index`` as machine code, from its first call (its code is cached, or tests ask)."""
        return self.compile_function(index, data, stubs)

    def on_next_entry(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` (once) at the next call into this instance's machine code from Python."""
        self.instance().entry_hook = callback

    def take_quick_from(self, worker: Any) -> None:
        """Quick code is made ahead by ``worker`` (a ``TranslationWorker``): ask it before compiling."""
        lazy = self.instance().lazy
        if lazy is not None:
            lazy.ahead = worker

    def quick_made_ahead(self, index: int) -> int | None:
        """The instructions of function ``index`` if the worker made its quick code ahead (not yet taken)."""
        instance = self._instance
        lazy = None if instance is None else instance.lazy
        if lazy is None or lazy.ahead is None or index in lazy.quick_made:
            return None
        return lazy.ahead.quick_size(index, self.interruptible)  # type: ignore[no-any-return]

    def quick_function(self, index: int) -> Callable[..., Any] | None:
        """Function ``index`` as the quick compiler's machine code, made now (see quick.py), until
        LLVM's arrives; None when the quick compiler cannot make it."""
        from .quick import QuickUnsupported, quick_supported

        if not quick_supported() or index in self.quick_refused:
            return None
        try:
            instance = self.instance()
            with self.lock:  # (the whole module's code, once linked, is used instead)
                whole = getattr(self, "_whole_code", False)
                if not whole:
                    instance.compile_function(index, quick=True)
        except QuickUnsupported:
            self.quick_refused.add(index)
            return None
        if whole:
            return self.compile(index)
        self.functions += 1
        return instance.code(index)  # type: ignore[no-any-return]

    def quick_osr(self, index: int, position: int) -> Callable[[list[Any]], Any] | None:
        """Function ``index``'s entry at the loop at ``position`` as quick code (see ``osr``), or None.
        The function's one compilation serves its first calls and all its loops (its OSR door)."""
        from ...validate import operand_types
        from .quick import QuickUnsupported, entry_code, place, quick_supported

        if not quick_supported() or index in self.quick_refused:
            return None
        try:
            _, _, door, loops = lazy_code(self.module, self.interruptible).quick_code(index)
        except QuickUnsupported:
            self.quick_refused.add(index)  # (nor does its first call get quick code)
            return None
        height = loops.get(position)
        if height is None:
            return None
        t = self.module.func_types_shared()[index]
        entry = place(entry_code(t, door, loop=position))
        function = self.module.funcs[index - self.module.num_imported_funcs()]
        local_types = [*t.params, *function.locals]
        # The operand stack's types: validating the body again tells them, but a loop on an empty stack
        # (nearly all) has none to tell.
        stack = [t for t in operand_types(self.module, index)[position] if t is not None] if height else []
        self.osr_entries += 1
        return self.instance().osr_code(index, entry, local_types + stack)  # type: ignore[no-any-return]


class WholeModuleTier(NativeTier):
    """The machine-code tier of a tiered instance of a small module: function by function first, then
    the whole module at once.

    A small module compiles whole in a second or two, and compiled whole its
    functions call one another directly (and LLVM inlines across them), where
    a function compiled alone calls through the code table; so when the
    module has been hot a while its whole machine code is made (by the
    translation worker, meanwhile the program runs on) and every function
    moves at once.  Until it arrives, the module is tiered as a large one is
    (``NativeTier``): a hot function with long calls gets its own quickly
    compiled code, and a long call in progress an entry at its loop
    (on-stack replacement), each ready in tens of milliseconds where the whole
    module takes seconds.  Both kinds of code run on one native side (one
    context record, one code table): the whole module's code replaces the
    functions' entries in it (``NativeInstance.use_module_code``), and code
    compiled alone, entries at loops included, calls through the table, so
    it calls the whole module's code from then on.
    """

    whole = True

    def __init__(self, module: Module, namespace: dict[str, object], interruptible: bool) -> None:
        super().__init__(module, namespace, interruptible)
        self._whole_code = False  # the whole module's code is linked into the native side

    def ready(self) -> bool:
        """Whether the whole module's machine code runs here."""
        return self._whole_code

    def cached(self, index: int) -> bool:
        """Whether this process has the module's machine code (another instance made it)."""
        return is_compiled(self.module, self.interruptible) or is_compiled(self.module, self.interruptible, QUICK)

    def on_disk(self) -> bool:
        """Whether an earlier run left the module's machine code in the code cache."""
        from .code_cache import code_cache

        directory = code_cache().known_directory  # (unknown: nothing cached, and no LLVM import to see it)
        object_name = f"{eager_prefix(self.module, self.interruptible)}.o"
        return directory is not None and os.path.exists(os.path.join(directory, object_name))

    def load(self, data: bytes | None = None, variant: str = "") -> Any:
        """The instance's native side with the whole module's code, linked once (``data``: the module's
        object code of ``variant``, if the worker made it; else from the cache or compiled here)."""
        from .host import NativeInstance, mark_mirrors_stale

        with self.lock:
            if not self._whole_code:
                if not data and not variant and not is_compiled(self.module, self.interruptible):
                    if is_compiled(self.module, self.interruptible, QUICK):
                        variant = QUICK  # another instance made the quick code: use it too
                code = compiled_code(self.module, self.interruptible, data, variant)
                if self._instance is None:
                    self._instance = NativeInstance(self.module, self.namespace, code, private_globals=True)
                else:  # functions compiled alone ran first: the whole module's code takes their place
                    self._instance.use_module_code(code)
                self._whole_code = True
                mark_mirrors_stale()  # table entries of these functions may now call them directly
            return self._instance

    def compile(self, index: int, data: bytes | None = None, stubs: bytes | None = None) -> Callable[..., Any]:
        """Function ``index`` on the whole module's code (which is linked, or made, now)."""
        from .host import mark_mirrors_stale

        self.functions += 1
        code = self.load(data).code(index)
        # The caller installs it next: table entries then rebuilt call it directly, not through the host
        # (which a chain of return_call_indirect would have nested in, one host call per call).
        mark_mirrors_stale()
        return code  # type: ignore[no-any-return]

    def compile_function(self, index: int, data: bytes | None = None, stubs: bytes | None = None) -> Callable[..., Any]:
        """Function ``index`` compiled alone (see the class), unless the whole module's code is here
        already (code for one function that arrives after it is not used)."""
        with self.lock:
            whole = self._whole_code
        if whole:
            return self.compile(index)
        return super().compile_function(index, data, stubs)


def eager_prefix(module: Module, interruptible: bool, variant: str = "") -> str:
    """The names of a module's whole-module compilation: from its content, so cached object code and
    code made by another process match them."""
    digest, flags = module_key(module, interruptible, variant)
    return f"w{digest.hex()[:24]}{flags}"


def module_object(module: Module, interruptible: bool, variant: str = "") -> bytes:
    """Object code of the whole module at full optimisation, from the code cache when a run made it
    before (then nothing is lowered: loading it costs what reading the file costs).  Any process can
    make it: the translation worker does, for tiered modules.  Raises NotLowered."""
    from .code_cache import code_cache

    prefix = eager_prefix(module, interruptible, variant)
    data = code_cache().cached_object(prefix)
    if data is None:
        from .jit import jit
        from .lower import ModuleLowering

        compiler = jit()
        lowering = ModuleLowering(
            module, prefix, compiler.triple, interruptible, metered=FUEL in variant, guarded=guarded_code(variant)
        )
        lowering.lower()
        if QUICK in variant:
            return compiler.fast_object(lowering.ir)
        data = compiler.optimized_object(lowering.ir, near=lowering.guarded)
    if not variant:
        # Marked whether made now or found: the marker lives under the portable engine's version, which
        # can change while this engine's does not (its object is then found, and must still be marked,
        # or no later run would look for it).
        translation_cache.mark_native(module, interruptible)
    return data


def module_object_for_cache(module: Module, interruptible: bool) -> None:
    """``module_object`` for the code cache only (a worker's work after its program ended), unless
    another process is making the same object now: runs of one program started back to back, before
    the first one's worker was done, each left a worker compiling it, and the runs after them
    slowed down under the pile (bf small: 0.09 -> 0.40 s over six runs). The one holding the lock
    (``flock``, released when its process ends, whatever the way) makes it for all of them."""
    from .jit import jit

    directory = jit().cache
    try:
        import fcntl

        os.makedirs(directory, exist_ok=True)
        lock = open(os.path.join(directory, f"{eager_prefix(module, interruptible)}.making"), "wb")  # noqa: SIM115
    except (ImportError, OSError):
        module_object(module, interruptible)
        return
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # another process makes it
        module_object(module, interruptible)


def compiled_code(
    module: Module, interruptible: bool, data: bytes | None = None, variant: str = ""
) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """(entry trampoline, function, tail entry) addresses by function index, compiling on first sight
    (``data``: the module's object code, when another process made it).  Tail entries exist when the
    module makes tail calls (see lower.ModuleLowering)."""
    from .code_cache import code_cache

    key = module_key(module, interruptible, variant)
    with _compiling:
        found = _compiled.get(key)
        if found is not None:
            return found
        if data is None:
            data = _adopted.pop(key, None)
            made_on = _adopted_machines.pop(key, None)
            if data is not None and made_on is not None and not _made_here(*made_on):
                data = None  # made for another CPU or LLVM: never run it
        if data is None:
            data = module_object(module, interruptible, variant)
        prefix = eager_prefix(module, interruptible, variant)
        first = module.num_imported_funcs()
        indices = range(first, first + len(module.funcs))
        # Tail entries are looked up by name (0: absent), so cached object code is loaded without
        # decoding a body to see whether the module makes tail calls.
        names = [f"{prefix}_{kind}{index}" for index in indices for kind in ("entry", "f", "t")]
        try:
            addresses = code_cache().add_object(data, names, own_loader=guarded_code(variant))
        except UnsupportedObject:
            # Code relying on guard pages that wasmbox's loader cannot link (LLVM's would put it outside
            # the code reservation the guard-page handler knows): the module's tested code instead.
            data = module_object(module, interruptible, TESTED)
            prefix = eager_prefix(module, interruptible, TESTED)
            names = [f"{prefix}_{kind}{index}" for index in indices for kind in ("entry", "f", "t")]
            addresses = code_cache().add_object(data, names)
        result = (
            {index: addresses[f"{prefix}_entry{index}"] for index in indices},
            {index: addresses[f"{prefix}_f{index}"] for index in indices},
            {index: addresses[f"{prefix}_t{index}"] for index in indices if addresses[f"{prefix}_t{index}"]},
        )
        _compiled[key] = result
        _objects[key] = data
        return result


def is_compiled(module: Module, interruptible: bool, variant: str = "") -> bool:
    """Whether this process has the module's whole-module machine code already (or was handed it)."""
    key = module_key(module, interruptible, variant)
    return key in _compiled or key in _adopted


def has_usable_code(module: Module, interruptible: bool) -> bool:
    """Whether this process has whole-module machine code for the module that runs here: made here,
    or handed over (``adopt_checked``) for this machine.  Code handed over for another machine is
    dropped now, so a large module then tiers instead of compiling whole at its first call."""
    key = module_key(module, interruptible)
    with _compiling:
        if key in _compiled:
            return True
        if key not in _adopted:
            return False
        made_on = _adopted_machines.get(key)
        if made_on is not None and not _made_here(*made_on):
            del _adopted[key]
            del _adopted_machines[key]
            return False
        return True


def object_code(module: Module, interruptible: bool) -> bytes | None:
    """The module's whole-module object code, if this process has it."""
    key = module_key(module, interruptible)
    return _objects.get(key) or _adopted.get(key)


def machine_fingerprint() -> str:
    """What machine code depends on besides the module and the lowering: LLVM and the CPU (the code
    cache's directory; a serialized module's code is checked against it when it is linked)."""
    from .code_cache import code_cache

    return os.path.basename(code_cache().directory)


def _made_here(fingerprint: str, host: str | None) -> bool:
    """Whether machine code made on a machine of ``fingerprint`` (and host key ``host``, see
    ``code_cache.host_key``) runs here.  The same host key says so without loading LLVM; else the
    fingerprint is compared with this machine's (which asks LLVM unless the host index knows it)."""
    from .code_cache import host_key

    if host is not None and host == host_key():
        return True
    return fingerprint == machine_fingerprint()


def adopt_checked(module: Module, interruptible: bool, data: bytes, fingerprint: str, host: str | None) -> None:
    """``adopt`` code made on a machine of ``fingerprint`` and host key ``host``: checked when it is
    linked; made for another CPU or LLVM, it is dropped there and the module compiled here instead."""
    key = module_key(module, interruptible)
    if key not in _compiled:
        _adopted[key] = data
        _adopted_machines[key] = (fingerprint, host)


_adopted_machines: dict[tuple[bytes, str], tuple[str, str | None]] = {}
