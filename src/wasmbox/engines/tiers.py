"""Tiered execution of large modules: each function starts on the baseline interpreter and moves up when hot.

A module of thousands of functions cannot wait for all of them to be
compiled (the portable engine's translation costs about 15 µs per
instruction, LLVM far more) when a run touches a tenth of them, most only a
few times.  So a function is prepared for the baseline interpreter on its
first call, and moves up once it has run enough to repay the move:

* to the portable engine's Python translation when its executed blocks reach
  ``TRANSLATE_AFTER`` per instruction of its body: the break-even rule of
  the ski-rental problem (move up once what was spent below equals the cost
  of moving), which never costs more than twice what foresight would.  With
  a translation worker (a second process, ``translation_worker``) the cost
  is paid on the other core, so the count is also capped
  (``TRANSLATE_AFTER_AT_MOST``) and only the wait remains;
* on the native engine, to machine code instead when its calls are long
  (``NATIVE_BLOCKS_PER_CALL`` blocks each, on average), it makes few calls
  itself (``NATIVE_BLOCKS_PER_CALL_OUT``) and it is not huge
  (``NATIVE_AT_MOST``): then what LLVM costs is repaid soon, and the
  Python/native crossings (microseconds) are small beside the work.  Short,
  frequent functions stay in Python, where calls between tiers cost a tenth
  of a microsecond.

A function keeps reporting while it waits (as its count doubles), so the
worker takes the hottest first.
"""

from __future__ import annotations

import atexit
import marshal
import os
import sys
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ..ir.instructions import BY_NAME, calls_itself, makes_tail_calls
from ..ir.module import Module
from ..ir.subtyping import closed_id, closed_types
from ..runtime.observer import Observer
from . import translation_cache
from .contract import install, portable_engine, start_lazily
from .translation_worker import Delivery, TranslationWorker, in_background

if TYPE_CHECKING:
    from .baseline import BaselineFunction, InstanceOperations
    from .baseline.blocks import Controls

# The Python tiers (the baseline, the portable engine's translations) are imported when a function
# first runs on one of them: a run whose functions all start on cached machine code needs neither.

# Executed blocks per body instruction before a function is translated: a block is about
# four instructions, the interpreter ~6x slower per instruction than translated code and
# translation ~100 interpreted instructions' worth per instruction.
TRANSLATE_AFTER = int(os.environ.get("WASMBOX_TRANSLATE_AFTER", "2"))
TRANSLATE_AFTER_AT_MOST = int(os.environ.get("WASMBOX_TRANSLATE_AFTER_AT_MOST", "5000"))
# Average blocks per call from which a hot function is worth machine code (native engine), and
# the largest function LLVM gets while the program waits (it costs ~0.1 ms per instruction: a
# 60,000-instruction function would hold the worker for seconds; Python translation takes one).
NATIVE_BLOCKS_PER_CALL = int(os.environ.get("WASMBOX_NATIVE_BLOCKS_PER_CALL", "500"))
NATIVE_AT_MOST = int(os.environ.get("WASMBOX_NATIVE_AT_MOST", "4000"))
# ... and the blocks it must run per call it makes itself.
NATIVE_BLOCKS_PER_CALL_OUT = int(os.environ.get("WASMBOX_NATIVE_BLOCKS_PER_CALL_OUT", "100"))


_CALL = BY_NAME["call"]
# The largest function the quick compiler takes (it is linear in a function's size: 20,000 instructions take
# ~80 ms; larger ones stay on the Python tiers).
QUICK_AT_MOST = int(os.environ.get("WASMBOX_QUICK_AT_MOST", "20000"))


# Blocks one call runs on the baseline before its loop gets an entry into machine code (native
# engine; on-stack replacement), and the largest function that gets one.
OSR_AFTER = int(os.environ.get("WASMBOX_OSR_AFTER", "20000"))
# ... when the quick compiler makes the entry (in a millisecond or two, on this thread: see native.quick).
QUICK_OSR_AFTER = int(os.environ.get("WASMBOX_QUICK_OSR_AFTER", "1000"))
OSR_AT_MOST = int(os.environ.get("WASMBOX_OSR_AT_MOST", "20000"))
# A small module's functions move to quick code sooner: they are hot after QUICK_HOT_AFTER blocks per instruction
# of their body, at most QUICK_HOT_AT_MOST, and a long call enters quick code after QUICK_FIRST_OSR_AFTER blocks.
# Quick code costs ~3 µs an instruction to make, about what the baseline spends on running one block (with
# preparing it), so the break-even count of the ski-rental rule is about one block an instruction; and a small
# module's hot functions are all quick code in the end.  (Cold, whole process, medians of 5: qsort 0.168 ->
# 0.149 s, hashmap 0.142 -> 0.136, the others unchanged; libc's printf core, 4,677 instructions, gets hot in a
# program printing 54 lines after 500 blocks instead of 5,000.)
QUICK_HOT_AFTER = int(os.environ.get("WASMBOX_QUICK_HOT_AFTER", "1"))
# ... but no function gets quick code before it has run this many blocks: making it has a fixed cost too (~0.2 ms:
# prologue, door, entry, a mapping), which a function of a few instructions called a few times never repays (a
# module of 80,000 one-line functions called six times each through a table: 20.1 s with each compiled at its
# second call, 9.5 s with this floor).
QUICK_MIN_BLOCKS = int(os.environ.get("WASMBOX_QUICK_MIN_BLOCKS", "100"))
QUICK_HOT_AT_MOST = int(os.environ.get("WASMBOX_QUICK_HOT_AT_MOST", "1000"))
QUICK_FIRST_OSR_AFTER = int(os.environ.get("WASMBOX_QUICK_FIRST_OSR_AFTER", "200"))
# Whether every hot function of a large module gets quick code (see TieredFunctions.quick_all).
QUICK_ALL_LARGE = os.environ.get("WASMBOX_QUICK_ALL_LARGE", "1") == "1"
# Whether a large module's functions start on quick code at their first call (see TieredFunctions.begin) ...
QUICK_AT_FIRST_CALL_LARGE = os.environ.get("WASMBOX_QUICK_AT_FIRST_CALL_LARGE", "1") == "1"
# ... for so many functions of an instance at most, the others waiting until they are hot: each gets a mapping
# of its own (a page at least), and a hostile module's 80,000 one-line functions called a few times each would
# cost what running them on the baseline does not (called six times each through a table: 9.5 s with this cap,
# 22.3 s without).
QUICK_AT_FIRST_CALL_AT_MOST = int(os.environ.get("WASMBOX_QUICK_AT_FIRST_CALL_AT_MOST", "4000"))
# Whether the translation worker compiles the quick code of functions likely to be called next, while the
# program starts (see TieredFunctions.plan_quick_ahead) ...
QUICK_AHEAD = os.environ.get("WASMBOX_QUICK_AHEAD", "1") == "1"
# Instructions of functions so started from which the run asks for the module's machine code for the next run
# (as its first hot function did before: a run of a few small functions, a test's, asks for nothing).
NEXT_RUN_AFTER_QUICK = int(os.environ.get("WASMBOX_NEXT_RUN_AFTER_QUICK", "2000"))
_QUICK_PLATFORM = sys.platform == "linux" and os.uname().machine == "x86_64"
# Instructions of functions a large module's run leaves compiled alone for the next run, at most (see
# TieredFunctions.large_module_for_next_run): a few minutes of the worker's time after the program ends, once
# (yosys synthesising a small datapath runs 3,700 functions; compiling them took the worker 189 s, and the next
# run took 12 s instead of 50, where it had crossed between machine code and Python 1.5 million times).
NEXT_RUN_INSTRUCTIONS = int(os.environ.get("WASMBOX_NEXT_RUN_INSTRUCTIONS", "2000000"))


# Functions whose compilation costs far more than running them on the baseline can (a hostile
# module's 50,000 locals or 30,000 nested blocks: Python's compiler and LLVM take seconds to
# minutes over them, wasmtime a fraction of a second) stay on the baseline interpreter.
UNWIELDY_LOCALS = 4096
UNWIELDY_NESTING = 1024
UNWIELDY_INSTRUCTIONS = 200_000


def unwieldy_function(locals_: int, body: list[Any]) -> bool:
    if locals_ > UNWIELDY_LOCALS or len(body) > UNWIELDY_INSTRUCTIONS:
        return True
    if len(body) <= UNWIELDY_NESTING:  # too short to nest that deep: not walked at every first call
        return False
    from .baseline.structure import nesting_depth

    return nesting_depth(body) > UNWIELDY_NESTING


def starts_on_quick_code(module: Module, index: int) -> bool:
    """Whether a large module's function ``index`` is one ``TieredFunctions.quick_at_first_call`` compiles at its
    first call (up to ``QUICK_AT_MOST`` instructions, no tail calls, not unwieldy), told from the module alone:
    the translation worker asks it of the functions it compiles ahead (see ``plan_quick_ahead``)."""
    function = module.funcs[index - module.num_imported_funcs()]
    body = function.body
    return (
        len(body) <= QUICK_AT_MOST and not makes_tail_calls(body) and not unwieldy_function(len(function.locals), body)
    )


def unwieldy(module: Module) -> bool:
    """Whether some function of ``module`` should never be compiled (see ``unwieldy_function``)."""
    return any(unwieldy_function(len(f.locals), f.body) for f in module.funcs)


def native_at_first_call(index: int) -> bool:
    """Whether function ``index`` becomes machine code at its first call (tests set this; normally
    a function must earn it)."""
    return False


# Testing the quick compiler on whole suites: "1", every function it takes starts on its code; "loops",
# functions start on the baseline and every loop enters its code at once (on-stack replacement).
QUICK_TESTING = os.environ.get("WASMBOX_QUICK_TESTING", "")


def quick_at_first_call(index: int) -> bool:
    """Whether function ``index`` becomes the quick compiler's machine code at its first call (tests
    and ``WASMBOX_QUICK_TESTING=1`` set this)."""
    return QUICK_TESTING == "1"


def quick_at_every_loop(index: int) -> bool:
    """Whether every loop of function ``index`` on the baseline enters the quick compiler's code the
    first time it is reached (tests and ``WASMBOX_QUICK_TESTING=loops`` set this)."""
    return QUICK_TESTING == "loops"


def osr_at_every_loop(index: int) -> bool:
    """Whether every loop of function ``index`` on the baseline enters machine code at once, the
    first time it is reached (tests set this, to run calls half interpreted, half native)."""
    return False


class TieredFunctions:
    """The functions of one instance, each on the tier it has earned.

    ``native`` (a ``NativeTier``) is given by the native engine; without it the
    portable engine's translation is the top tier.
    """

    def __init__(self, module: Module, namespace: dict[str, Any], interruptible: bool, native: Any = None) -> None:
        self.module = module
        self.namespace = namespace
        self.interruptible = interruptible
        self.native = native
        self._operations: InstanceOperations | None = None
        self.func_types = module.func_types()
        self.first = module.num_imported_funcs()
        namespace["__wasm_func_types__"] = self.func_types
        namespace["__tiers__"] = self  # for tools and tests: what each function runs on
        self.baseline: dict[int, BaselineFunction] = {}
        for i, t in enumerate(closed_types(module.types)):
            namespace[f"TYPE{i}"] = t
            namespace[f"RTT{i}"] = closed_id(t)  # GC: the canonical id objects and casts carry
        self._worker: TranslationWorker | None | bool = False  # False: not asked for yet
        # Small modules translate hot functions here (a few milliseconds each); the worker makes
        # large modules' translations and all machine code.
        self.translations_worker = len(module.funcs) > WORKER_FUNCTIONS
        self.module_requested = False  # whole-module machine code asked for (small modules)
        self.ran: set[int] = set()  # functions called in this run
        self.unwieldy = False  # a function that must not be compiled has run: no whole-module code
        self.module_timer: threading.Timer | None = None
        self.module_due = False  # the timer asked for the module's code; the main thread makes it
        self.translated = 0  # functions moved to the portable engine's code
        self.from_disk = 0  # of which the disk cache had the code (hot in an earlier run)
        self.requested: set[int] = set()  # asked of the worker, not arrived yet
        self.osr_requested: set[tuple[int, int]] = set()  # (function, loop position)
        # Moved to a compiled tier: new calls run there; a call in progress on the baseline goes on
        # reporting, so that it can still get a way out (on-stack replacement) if it runs long.
        self.moved: set[int] = set()
        self.on_disk = translation_cache.known(module)
        # Hot functions get the quick compiler's machine code at once (see native.quick); a small module
        # then asks LLVM for nothing but its whole code, once it has run a while (a short run starts no
        # worker at all: forking one costs the program ~10 ms, and more in copied pages after).
        self._quick: bool | None = None  # (see quick: asked when a function first gets hot)
        self._quick_all: bool | None = None  # (see quick_all)
        self.tail_calls: dict[int, bool] = {}  # see makes_tail_calls
        self.quick_noted = False  # this run made quick code (see quick_code_made)
        self.quick_at_start = 0  # instructions of functions started on quick code (see quick_at_first_call)
        self.quick_started = 0  # and how many
        self.quick_ahead_planned = False  # see plan_quick_ahead

    @property
    def quick(self) -> bool:
        """Whether hot functions get the quick compiler's code (the native tier, on a host it runs on);
        found out at the first hot report, so a run on cached machine code never imports it."""
        if self._quick is None:
            self._quick = self.native is not None and _quick_supported()
        return self._quick

    @property
    def quick_first(self) -> bool:
        """Whether this small module's hot functions get quick code and LLVM's only whole (see hot)."""
        return self.quick and self.native.whole  # type: ignore[no-any-return]

    @property
    def quick_all(self) -> bool:
        """Whether every hot function gets quick code (with its direct callees that have run), and a long call
        enters it though it calls out (see hot).  A small module's do; a large module's too (unless
        ``WASMBOX_QUICK_ALL_LARGE=0``: then only those with long calls, the others staying on the Python tiers),
        since the quick compiler takes exceptions: calls among hot functions stay in machine code.  Measured
        cold, whole process: yosys (datapath) 55.1 -> 42.6 s, Lua 1.80 -> 1.16 s, boolector (SMT) 3.15 ->
        1.47 s.  (Before it took exceptions, a third of yosys's functions stayed on the Python tiers, and
        crossings between them and quick code made yosys 10-30% slower this way: NOTES, twelfth session.)"""
        if self._quick_all is None:
            self._quick_all = self.quick and (self.native.whole or QUICK_ALL_LARGE)
        return self._quick_all

    @property
    def quick_first_likely(self) -> bool:
        """Whether this small module's hot functions will get quick code (``quick_first``), told without
        importing the quick compiler (asked at every first call on the baseline: see ``begin``)."""
        return self.native is not None and self.native.whole and _QUICK_PLATFORM

    @property
    def osr_after(self) -> int:
        if not self.quick:
            return OSR_AFTER
        return QUICK_FIRST_OSR_AFTER if self.quick_first else QUICK_OSR_AFTER

    @property
    def operations(self) -> InstanceOperations:
        """The baseline's operations on this instance (made when a function first runs there)."""
        if self._operations is None:
            from .baseline import InstanceOperations

            self._operations = InstanceOperations(self.namespace)
        return self._operations

    @property
    def worker(self) -> TranslationWorker | None:
        """The module's translation worker, started when first needed (a module that never gets
        hot starts no process)."""
        if self._worker is False:
            self._worker = translation_worker(self.module)
        return self._worker  # type: ignore[return-value]

    def makes_tail_calls(self, index: int) -> bool:
        """Whether function ``index`` makes tail calls: such a function stays off code compiled function
        by function (its tail calls would nest there: see native.lower), on the Python tiers, whose
        tail calls run in constant stack; whole-module machine code takes it.  (Asked at every hot report
        of the function: found once.)"""
        found = self.tail_calls.get(index)
        if found is None:
            found = self.tail_calls[index] = makes_tail_calls(self.module.funcs[index - self.first].body)
        return found

    def size(self, index: int) -> int:
        return max(len(self.module.funcs[index - self.first].body), 1)

    def stand_ins(self) -> dict[int, Callable[..., Any]]:
        """Every defined function's code until its first call."""
        code = {}
        for index in range(self.first, self.first + len(self.module.funcs)):
            code[index] = self.namespace[f"f{index}"] = start_lazily(self.module, self.namespace, index, self.begin)
        return code

    def start_on_module_code(self) -> bool:
        """A small module an earlier run made machine code for was hot then: every function starts on
        that code (loaded now, once).  Asked when the instance is complete (``READY``), so that loading
        the code is part of making the instance, as it is in wasmtime, rather than of its first call;
        and again at a first call, for an instance that did not ask.  Whether the code is installed."""
        if self.native is None or not self.native.whole or self.module_requested:
            return False
        if translation_cache.native_marker(self.interruptible) not in self.on_disk or not self.native.on_disk():
            return False
        self.module_requested = True
        self.install_module(None)
        return True

    def begin(self, index: int) -> Callable[..., Any]:
        """A function's first call: on the tier an earlier run left it on (its code on disk), else
        on the baseline interpreter."""
        self.ran.add(index)
        if quick_at_first_call(index) and self.quick and not self.makes_tail_calls(index):
            quick = self.native.quick_function(index)
            if quick is not None:
                self.install_quick(index, quick)
                return quick  # type: ignore[no-any-return]
        per_function = self.native is not None and not self.native.whole
        wanted = self.native is not None and (native_at_first_call(index) or self.native.cached(index))
        # (The tail-call check decodes a lazily decoded body: asked only when machine code is wanted.)
        if wanted and not (per_function and self.makes_tail_calls(index)):
            return self.native.compile(index)  # type: ignore[no-any-return]
        if self.start_on_module_code():
            return self.namespace[f"f{index}"]  # type: ignore[no-any-return]
        if self.native is not None and self.native.whole and self.native.function_on_disk(index):
            self.machine_code_for_next_run()  # it was hot in an earlier run, compiled on its own then
        if f"f{index}{'i' if self.interruptible else ''}.code" in self.on_disk:
            found = translation_cache.load(self.module, index, self.interruptible)
            if found is not None:
                self.translated += 1
                self.from_disk += 1
                if self.from_disk == 1:
                    self.machine_code_for_next_run()
                from .interp import install_translation

                return install_translation(self.namespace, index, *found)
        if self.quick_ahead_planned and self.quick_at_first_call_open():
            size = self.native.quick_made_ahead(index)  # (the worker checked what the body must be)
            if size is not None:
                quick = self.start_on_quick_code(index, size)
                if quick is not None:
                    return quick
        function_ir = self.module.funcs[index - self.first]
        unwieldy_here = unwieldy_function(len(function_ir.locals), function_ir.body)
        if not unwieldy_here and self.quick_at_first_call(index):
            if not self.quick_ahead_planned:
                self.plan_quick_ahead(index)
            quick = self.start_on_quick_code(index, self.size(index))
            if quick is not None:
                return quick
        if self.quick_first_likely:
            limit = min(QUICK_HOT_AFTER * self.size(index), QUICK_HOT_AT_MOST)
        else:
            limit = min(TRANSLATE_AFTER * self.size(index), TRANSLATE_AFTER_AT_MOST)
        if unwieldy_here:
            limit = sys.maxsize  # it stays here (and the whole module stays off LLVM)
            self.unwieldy = True
        osr_allowed = self.native is not None and not self.makes_tail_calls(index)
        probe = None
        if osr_allowed and osr_at_every_loop(index):
            probe = self.enter_loop_now
        elif osr_allowed and quick_at_every_loop(index) and self.quick:
            probe = self.enter_loop_quick
        from .baseline import BaselineFunction

        function = BaselineFunction(
            self.module,
            index,
            self.namespace,
            self.operations,
            self.interruptible,
            on_hot=self.hot,
            hot_after=limit,
            osr_probe=probe,
        )
        self.baseline[index] = function
        return function.run

    def quick_at_first_call(self, index: int) -> bool:
        """Whether function ``index`` of a large module starts on quick code at its first call, with no time on
        the baseline: every function the quick compiler takes (up to ``QUICK_AT_MOST`` instructions, no tail
        calls; unless ``WASMBOX_QUICK_AT_FIRST_CALL_LARGE=0``).

        A large module's functions used to start on the baseline and move up when hot (the ski-rental rule
        of ``QUICK_HOT_AFTER``), but a program of many small functions that call one another, such as an
        interpreter, pays on the way: every function's blocks prepared and run in Python before it is hot,
        and every call between a function already in machine code and one still in Python crossing the
        host (microseconds each).  Compiled at once (as V8's Liftoff compiles each function at its first
        call), calls stay in machine code from the start.  Measured cold, whole process, Lua's interpreter
        (839 functions): ``workload.lua 200`` 0.66 -> 0.48 s, ``workload.lua 100000`` 14.9 -> 5.4 s;
        boolector's SMT run unchanged.  A small module keeps the rule: its one-off functions (libc's
        start-up, a ``printf`` called once) would cost more to compile than to run (fib +8 ms), and its
        long runs move to the whole module's LLVM code anyway.  A long-running call in quick code stays
        there; LLVM's code for the module comes for the next run (``large_module_for_next_run``)."""
        open_here = self.quick_at_first_call_open()
        return open_here and self.size(index) <= QUICK_AT_MOST and not self.makes_tail_calls(index)

    def quick_at_first_call_open(self) -> bool:
        """What ``quick_at_first_call`` asks of the instance rather than of the function."""
        return (
            QUICK_AT_FIRST_CALL_LARGE
            and self.quick_started < QUICK_AT_FIRST_CALL_AT_MOST
            and self.native is not None
            and not self.native.whole
            and self.quick_all
        )

    def start_on_quick_code(self, index: int, size: int) -> Callable[..., Any] | None:
        """Function ``index`` (of ``size`` instructions) starts on quick code, unless the quick compiler refuses it."""
        quick = self.native.quick_function(index)
        if quick is None:
            return None
        self.install_quick(index, quick)
        self.quick_started += 1
        self.quick_at_start += size
        if self.quick_at_start >= NEXT_RUN_AFTER_QUICK and self not in _wanted_next_run:
            self.large_module_for_next_run()  # (as a hot function of a large module would)
        return quick  # type: ignore[no-any-return]

    def plan_quick_ahead(self, first_called: int) -> None:
        """The first function to start on quick code is being compiled: from here on, the translation worker
        (forked now, if it was not yet) compiles on the second core the quick code of the functions the program
        will likely call next, and the program takes what is made when it gets there (``native.quick_ahead``).
        Measured cold, whole process: Lua's interpreter ``workload.lua 200`` 381 -> 321 ms, boolector's SMT run
        0.92 -> 0.62 s (BENCHMARKS.md, session 19)."""
        self.quick_ahead_planned = True
        if not QUICK_AHEAD:
            return
        self.native.instance()  # (first: its host callbacks exist before a worker is forked; see plan_quick)
        worker = self.worker
        if worker is not None and worker.plan_quick(first_called, self.interruptible):
            self.native.take_quick_from(worker)

    def enter_loop_now(self, function: BaselineFunction, header: int) -> None:
        """Tests: give the loop whose header is ``header`` its machine-code entry at once."""
        position = header - 1
        function.osr[header] = self.native.osr(function.index, position)

    def enter_loop_quick(self, function: BaselineFunction, header: int) -> None:
        """Tests: give the loop whose header is ``header`` the quick compiler's entry at once (when it
        compiles the function)."""
        position = header - 1
        entry = self.native.quick_osr(function.index, position)
        if entry is not None:
            function.osr[header] = entry

    def innermost_loop(self, function: BaselineFunction, block: int) -> int | None:
        """The position of the innermost ``loop`` around ``block`` (a block start), if any."""
        context = function.builder.contexts.get(block)
        if context is None:
            return None
        node: Controls | None = context[0]
        while node is not None:
            if node.construct.kind == "loop":
                return node.construct.opener
            node = node.outer
        return None

    def osr_wanted(self, function: BaselineFunction, running: int, block: int) -> None:
        """A long call in progress: ask for an entry into machine code at the loop it is in."""
        if running < self.osr_after or self.size(function.index) > OSR_AT_MOST or self.makes_tail_calls(function.index):
            return
        native_callees = self.native is not None and self.native.whole and self.native.ready()  # all machine code
        if function.calls_out * NATIVE_BLOCKS_PER_CALL_OUT > function.executed and not (
            native_callees or self.quick_all
        ):
            return  # it calls out too much: machine code would cross back into Python all the time
        position = self.innermost_loop(function, block)
        if position is None or position + 1 in function.osr or (function.index, position) in self.osr_requested:
            return
        self.osr_requested.add((function.index, position))
        kind = f"osr:{position}"
        header = position + 1
        # The quick compiler's entry at once, LLVM's when it arrives (a small module's: with its whole code).
        quick = self.native.quick_osr(function.index, position) if self.quick else None
        if quick is not None:
            function.osr[header] = quick
            if self.quick_first:
                self.quick_callees(function.index)
                self.quick_code_made()
                return
        if self.worker is not None:

            def deliver(_: str, payload: Any, stubs: Any) -> None:
                function.osr[header] = self.native.osr(function.index, position, payload, stubs)

            if self.worker.request(kind, function.index, self.interruptible, float(running), deliver):
                return
        function.osr[header] = self.native.osr(function.index, position)

    def hot(self, function: BaselineFunction, running: int, block: int) -> Callable[..., Any] | None:
        """``function`` ran enough to move up (``running``: blocks of the call in progress, 0 at
        a call's start; ``block``: where it is): to machine code if its calls are long (native
        engine), else to the portable engine's Python.  A call in progress long enough gets an
        entry into machine code at the loop it is in (on-stack replacement), so it need not
        finish on the baseline.

        With a worker the code is made there and installed when it arrives
        (None now: the function stays on the baseline meanwhile and reports
        again when its count doubles).  Without one it is made here, at once,
        and returned to run instead.
        """
        index = function.index
        # Report again when the count doubles, but a long call at least every OSR_AFTER blocks (so it
        # finds its way into machine code soon after that arrives).
        function.hot_after = max(min(2 * function.executed, function.executed + self.osr_after), function.hot_after + 1)
        if self.module_due:  # no worker: made here, on the main thread (see request_module)
            self.module_due = False
            from .native.engine import QUICK

            self.install_module(None, QUICK)
            return self.namespace[f"f{index}"] if not running else None  # type: ignore[no-any-return]
        if self.native is not None and self.module_timer is None and not self.unwieldy and not self.quick_first:
            # The module computes: its worker starts now, on this thread (so it can be a copy of
            # this process, see TranslationWorker), ready for the machine code asked for next.
            self.worker  # noqa: B018 - started, not used yet
            if not self.native.whole and self not in _wanted_next_run:
                self.large_module_for_next_run()
        if self.native is not None and self.native.whole and self.module_timer is None and not self.unwieldy:
            # Machine code for the whole module once it has run a while (a short run never pays
            # for LLVM; the code is made off the main thread and arrives as the program goes on).
            self.module_timer = threading.Timer(MODULE_NATIVE_AFTER, self.request_module)
            self.module_timer.daemon = True
            self.module_timer.start()
        if self.native is not None and running:
            self.osr_wanted(function, running, block)
        if index in self.moved:
            return None  # new calls run its new code; only a call still in progress reports
        eligible = (
            self.native is not None
            and self.size(index) <= NATIVE_AT_MOST
            and not self.makes_tail_calls(index)
            # its own calls would cross from machine code to Python at microseconds each
            and function.calls_out * NATIVE_BLOCKS_PER_CALL_OUT <= function.executed
        )
        completed = function.calls - (1 if running else 0)
        long_calls = running >= NATIVE_BLOCKS_PER_CALL or (
            completed > 0 and function.executed - running >= NATIVE_BLOCKS_PER_CALL * completed
        )
        # Quick code costs less to make than the Python translation (~3 µs an instruction, against ~15), so
        # every hot function gets it (see quick_all), and calls among them stay in machine code.  A large
        # module's function with long calls also asks the worker for LLVM's code of its own.
        quick_wanted = self.quick_all or (eligible and long_calls)
        if quick_wanted and self.quick and self.size(index) <= QUICK_AT_MOST and not self.makes_tail_calls(index):
            if function.executed < QUICK_MIN_BLOCKS:
                return None  # (it reports again when its count doubles: see QUICK_MIN_BLOCKS)
            quick = self.native.quick_function(index)
            if quick is not None:
                self.install_quick(index, quick)
                if self.quick_all:
                    self.quick_callees(index)
                if self.quick_first:
                    self.quick_code_made()  # (a small module's LLVM code comes whole, see request_module)
                elif eligible and long_calls and index not in self.requested:
                    # A large module's long-running function: LLVM's code of its own replaces it.
                    worker = self.worker
                    deliver = self._deliverer(function)
                    if worker is not None and worker.request(
                        "native", index, self.interruptible, function.executed / self.size(index), deliver
                    ):
                        self.requested.add(index)
                return quick  # type: ignore[no-any-return]
        if eligible and not completed and not long_calls and index not in self.requested:
            return None  # its first call, not long yet: decide when it is longer or has ended
        # A recursive function's calls are short, but the calls it makes of itself stay in its machine
        # code: only the outermost of a recursion crosses from Python (fib: 0.2 s, not 1 s, to native).
        recursive = eligible and not long_calls and calls_itself(self.module.funcs[index - self.first].body, index)
        kind = "native" if eligible and (long_calls or recursive) else "python"
        priority = function.executed / self.size(index)
        worker = self.worker if kind == "native" or self.translations_worker else None
        if index in self.requested:
            if worker is not None:
                worker.prioritize(kind, index, self.interruptible, priority)
            return None
        if worker is not None and worker.request(kind, index, self.interruptible, priority, self._deliverer(function)):
            self.requested.add(index)
            if not (recursive and not self.translations_worker):
                return None
            # Its calls are short: the portable engine's Python (made here, in milliseconds) runs them
            # until the machine code arrives, not the baseline (fib(22) ends before it does).
            kind = "python"
        self.moved.add(index)
        if kind == "native":
            code = self.native.compile_function(index)
        else:
            from .interp import install_translation, translation

            code_object, head_lines, line_starts = translation(self.module, index, self.func_types, self.interruptible)
            translation_cache.store(
                self.module, index, self.interruptible, marshal.dumps(code_object), head_lines, line_starts
            )
            code = install_translation(self.namespace, index, code_object, head_lines, line_starts)
            self.translated += 1
        install(self.namespace, index, code)
        return code  # type: ignore[no-any-return]

    def request_module(self, at_entry: bool = False) -> None:
        """A small module has run a while (on the timer's thread): ask the worker for its whole
        machine code (made while the program goes on), or load an earlier run's copy from the code
        cache.  Without a worker the main thread makes it at the next report (``module_due``): LLVM
        compiling on a daemon thread could still be at it when the process exits."""
        if self.module_requested:
            return
        on_disk = translation_cache.native_marker(self.interruptible) in translation_cache.known(self.module)
        if self.quick_first and not on_disk and not at_entry and self._worker is False and not self.computing():
            # Idle now (its hot calls were short): asked at the next call into machine code from Python,
            # on that thread, where the worker can be a copy of the process (this thread would have to
            # start a fresh interpreter; a program that calls its module now and then would start one for
            # nothing).
            self.native.on_next_entry(lambda: self.request_module(at_entry=True))
            return
        self.module_requested = True
        worker = self.worker if not on_disk else None
        if worker is not None:

            def deliver(_: str, payload: Any, variant: Any) -> None:
                self.install_module(payload, variant)

            if worker.request("module", -1, self.interruptible, -1.0, deliver):
                return
        if not on_disk:
            self.module_due = True
            return

        def load() -> None:
            try:
                self.install_module(None)
            except Exception:  # noqa: BLE001 - the module stays on the Python tiers
                pass

        in_background(load)

    def install_quick(self, index: int, code: Callable[..., Any]) -> None:
        """Function ``index`` runs ``code`` (quick code) from now on. A small module's table mirrors are
        made again before machine code's next indirect call, so that call finds it there rather than
        going through the host (a large module's tables can be large: rebuilt once per compiled function
        they would cost more than they save; instead the first indirect call of it through the host
        mends its entry: ``native.host._heal_entry``)."""
        self.moved.add(index)
        install(self.namespace, index, code)
        if self.quick_first:
            from .native.host import mark_mirrors_stale

            mark_mirrors_stale()

    def quick_callees(self, index: int) -> None:
        """Quick code for the functions function ``index`` (now quick code) calls directly and that have
        run already: from machine code, a call of a function still on the baseline crosses into Python
        (microseconds each), and they would get hot one after the other, crossing meanwhile."""
        body = self.module.funcs[index - self.first].body
        for instr in body:
            if instr.op is not _CALL:
                continue
            callee = instr.imm[0]
            if callee not in self.baseline or callee in self.moved or self.size(callee) > QUICK_AT_MOST:
                continue
            if self.makes_tail_calls(callee):
                continue
            quick = self.native.quick_function(callee)
            if quick is not None:
                self.install_quick(callee, quick)

    def computing(self) -> bool:
        """Whether wasm code of this store is running now (on the baseline or Python tiers, or as machine code)."""
        native_side = self.native._instance if self.native is not None else None
        return self.namespace["CALLS"][0] > 0 or (native_side is not None and native_side.ctx.depth > 0)

    def quick_code_made(self) -> None:
        """A small module got hot in this run (a function became quick code, which is not cached). The
        second run that does leaves the module's -O2 object for the runs after it
        (``machine_code_for_next_run``); the first only notes it on disk."""
        if self.quick_noted:
            return
        self.quick_noted = True
        if translation_cache.hot_marker(self.interruptible) in self.on_disk:
            self.machine_code_for_next_run()
        else:
            translation_cache.mark_hot(self.module, self.interruptible)

    def machine_code_for_next_run(self) -> None:
        """An earlier run made this small module's hot functions Python code or machine code of
        their own, and this run calls them again: a module run more than once, hot each time.  If
        this run ends before it asks for the module's machine code (a short program: see
        ``hot``), its worker makes the -O2 object for the code cache after the program has exited,
        so that the next run starts on machine code (loading it costs less than preparing the
        baseline and running on Python: BENCHMARKS.md, session 8).  Once per module and cache: the
        object then exists."""
        if self.native is None or not self.native.whole:
            return
        if translation_cache.native_marker(self.interruptible) in self.on_disk and self.native.on_disk():
            return
        _wanted_next_run.add(self)  # (weakly: an instance dropped before the exit asks for nothing)

    def large_module_for_next_run(self) -> None:
        """A large module got hot: its worker leaves machine code for the next run in the code cache
        after the program has exited (``request_for_next_run``).

        If the module is not too large to compile whole (a medium program, such as an interpreter
        of a few hundred functions), that is the whole module's -O2 object, and the next run starts
        on it as a small module's does: function by function, a long-running function that calls
        many small ones (an interpreter's loop) never reaches machine code, its calls would cross
        into Python at every call, and a run spends its time in the one call of it.  Otherwise
        (LLVM would take minutes and gigabytes over the whole) it is every function this run ran,
        each compiled alone, the hottest first, up to ``NEXT_RUN_INSTRUCTIONS`` instructions a run:
        the next run starts each of them on machine code, where calls between them stay."""
        _wanted_next_run.add(self)

    def request_for_next_run(self) -> None:
        """At exit: ask the worker for the next run's machine code (see ``machine_code_for_next_run``
        and ``large_module_for_next_run``)."""
        if self.module_requested or self.unwieldy:
            return  # this run asked for the code already (the worker finishes it), or it must not be compiled
        worker = self.worker
        if worker is None:
            return
        from .native.engine import whole_code_for_next_run

        if self.native.whole or whole_code_for_next_run(self.module):
            worker.request("module-cache", -1, self.interruptible, -1.0, lambda *_: None)
        else:
            worker.request_all("native", self.functions_for_next_run(), self.interruptible)
        worker.detach()

    def functions_for_next_run(self) -> list[tuple[int, float]]:
        """(function, priority) of the functions this run ran that the next run should find as machine
        code of their own: not yet in the code cache, not making tail calls (see ``makes_tail_calls``),
        not over ``OSR_AT_MOST`` instructions; the hottest first (a translation found in the cache was
        hot in an earlier run), up to ``NEXT_RUN_INSTRUCTIONS`` instructions."""
        candidates = []
        for index in self.ran:
            if self.native.function_on_disk(index):
                continue
            function_ir = self.module.funcs[index - self.first]
            if function_ir.decoded:
                size = self.size(index)
                if self.makes_tail_calls(index):
                    continue
            else:  # (its code came from the cache: estimated from its bytes, not decoded at exit)
                size = max(_encoded_size(function_ir) // 3, 1)
            if size > OSR_AT_MOST:
                continue
            function = self.baseline.get(index)
            priority = function.executed / size if function is not None else float(sys.maxsize)
            candidates.append((priority, index, size))
        chosen = []
        budget = NEXT_RUN_INSTRUCTIONS
        for priority, index, size in sorted(candidates, reverse=True):
            if size > budget:
                continue
            budget -= size
            chosen.append((index, priority))
        return chosen

    def install_module(self, data: bytes | None, variant: str = "") -> None:
        """Every function to the whole module's machine code (``data``: its object code of ``variant``,
        from the worker)."""
        instance = self.native.load(data, variant)
        for index in range(self.first, self.first + len(self.module.funcs)):
            install(self.namespace, index, instance.code(index))
            self.moved.add(index)
            self.requested.discard(index)

    def _deliverer(self, function: BaselineFunction) -> Delivery:
        index = function.index

        def deliver(kind: str, payload: Any, extra: Any) -> None:
            if kind == "native":
                code = self.native.compile_function(index, payload, extra)
            else:
                from .interp import install_translation

                code = install_translation(self.namespace, index, payload, *extra)
                self.translated += 1
            install(self.namespace, index, code)
            self.moved.add(index)
            self.requested.discard(index)

        return deliver


_wanted_next_run: weakref.WeakSet[TieredFunctions] = weakref.WeakSet()


@atexit.register
def _request_machine_code_for_next_runs() -> None:
    for tiers in list(_wanted_next_run):
        try:
            tiers.request_for_next_run()
        except Exception:  # noqa: BLE001, S112 - only a later run's speed depends on it
            continue


# One worker per module that gets hot (instances of a module share it); none when
# disabled (WASMBOX_TRANSLATION_WORKER=0), on one core, or when it cannot start.
WORKER_FUNCTIONS = int(os.environ.get("WASMBOX_WORKER_FUNCTIONS", "400"))
# Seconds a small module runs before its whole machine code is asked for.
MODULE_NATIVE_AFTER = float(os.environ.get("WASMBOX_MODULE_NATIVE_AFTER", "0.2"))
_workers: dict[int, TranslationWorker | None] = {}
_workers_lock = threading.Lock()


def translation_worker(module: Module) -> TranslationWorker | None:
    key = id(module)
    with _workers_lock:
        if key in _workers:
            return _workers[key]
        worker = None
        enabled = os.environ.get("WASMBOX_TRANSLATION_WORKER", "1") != "0" and (os.cpu_count() or 1) > 1
        if enabled:
            # The worker decodes the module itself: from the bytes it came from, or the ones it encodes to
            # (the same function indices either way).
            binary = module.binary
            if binary is None:
                from ..binary.encode import encode_module

                binary = encode_module(module)
            try:
                worker = TranslationWorker(binary, _features_of(module), module)
            except OSError:
                worker = None
        _workers[key] = worker
        if worker is not None:
            # A module dropped while the program runs stops its worker; at exit the worker is only
            # detached (see TranslationWorker.detach), so it can finish the code cache's work.
            weakref.finalize(module, _forget, key, worker).atexit = False
        return worker


def _forget(key: int, worker: TranslationWorker) -> None:
    worker.close()
    with _workers_lock:
        _workers.pop(key, None)


def _quick_supported() -> bool:
    from .native.quick import quick_supported

    return quick_supported()


def _encoded_size(function: Any) -> int:
    """Bytes of a function's body not decoded yet (of a lowering's view: its original's)."""
    from ..binary.decode import EncodedBody
    from ..ir.legacy_exceptions import original_function

    source = original_function(function).source
    return source.end - source.start if isinstance(source, EncodedBody) else 0


def _features_of(module: Module) -> frozenset[str]:
    from ..binary.decode import EncodedBody

    for function in module.funcs:
        if isinstance(function.source, EncodedBody):
            return function.source.features
    return module.features


class TieredEngine:
    """The default engine: every module starts at once and moves up as it runs.

    Functions start on the baseline interpreter at their first call; hot ones
    move to the portable engine's Python; and hot functions whose calls are
    long move to machine code of their own, made off the main thread by the
    module's worker (started, a copy of this process, when the module first
    gets hot), long calls in progress entering it at their loops.  That path
    is the same for every module; a small module's whole code, which takes
    seconds to make, follows once the module has run a while
    (``WholeModuleTier``) and replaces its functions' own code.  No module
    waits for LLVM before its first instruction.  Fuel and observers are compiled into the portable engine's
    code, so such stores run on it.
    """

    name = "tiered"

    def compile(
        self,
        module: Module,
        namespace: dict[str, object],
        interruptible: bool = False,
        metered: bool = False,
        observer: Observer | None = None,
    ) -> dict[int, Callable[..., Any]]:
        from .registry import native_available as available

        if observer is not None:
            return portable_engine().compile(module, namespace, interruptible, metered, observer)
        if metered:
            # Fuel is compiled into the code: machine code where there is some, else the portable engine.
            if available():
                from .native import NativeEngine

                return NativeEngine().compile(module, namespace, interruptible, metered)  # type: ignore[no-any-return]
            return portable_engine().compile(module, namespace, interruptible, metered)
        native: Any = None
        from .gc_use import uses_gc

        if available() and not uses_gc(module):  # GC stays on the Python tiers (see NativeEngine)
            from .native.engine import (
                LAZY_FUNCTIONS,
                NativeTier,
                WholeModuleTier,
                has_usable_code,
                module_code_on_disk,
            )

            # A large module tiers function by function, unless its whole machine code is here
            # already (``Module.compile``, shipped by ``Module.deserialize``, or left in the code cache
            # by an earlier run: see ``TieredFunctions.large_module_for_next_run``): then it runs that.
            large = (
                len(module.funcs) > LAZY_FUNCTIONS
                and not has_usable_code(module, interruptible)
                and not module_code_on_disk(module, interruptible)
            )
            tier = NativeTier if large else WholeModuleTier
            native = tier(module, namespace, interruptible)
        functions = TieredFunctions(module, namespace, interruptible, native)  # type: ignore[arg-type]
        if native is not None and native.whole:
            cast("list[Callable[[], object]]", namespace.setdefault("READY", [])).append(functions.start_on_module_code)
        return functions.stand_ins()
