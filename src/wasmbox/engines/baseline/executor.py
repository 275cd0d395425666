"""The baseline interpreter's executor: runs one function's blocks, makes its calls, catches its exceptions.

Why an interpreter at all, beside the portable engine's translation to Python
and the native engine's compilation: both cost far more per instruction up
front (the portable engine about 10 µs, LLVM over 50) than running an
instruction here a few times, and a large program runs most of its code
only a few times (yosys.wasm's 3,000 functions touched by a small synthesis
run 1.8 million instructions' worth of code, most of it once).  So a large
module starts here, and a function moves to a compiled tier once it has run
enough to pay for its compilation (``TieredFunctions``).

The executor is one Python function per wasm function (named ``f<index>``
in the instance's namespace, as the portable engine's functions are, so
backtraces find it), holding its frame's values in one list: parameters and
locals first, then the operand stack.
"""

from __future__ import annotations

import builtins
import sys
import types
from collections.abc import Callable
from typing import Any

from ...errors import Trap, WasmException
from ...ir.instructions import CALL_OPS, OP_TRY_TABLE, makes_tail_calls, op_of
from ...ir.module import Module
from ...runtime.operations import call_indirect, call_ref
from ...runtime.tail_calls import TailCall, tail_entry
from .blocks import CALL, CALL_INDIRECT, GOTO, JUMP, TAIL_CALL, BlockBuilder
from .operations import ZERO, InstanceOperations
from .structure import match_constructs


class BaselineFunction:
    """One function of one instance as the interpreter runs it; ``run`` is its callable."""

    def __init__(
        self,
        module: Module,
        index: int,
        namespace: dict[str, Any],
        operations: InstanceOperations,
        interruptible: bool,
        on_hot: Callable[[BaselineFunction, int, int], Callable[..., Any] | None] | None = None,
        hot_after: int = 0,
        osr_probe: Callable[[BaselineFunction, int], None] | None = None,
        metered: bool = False,
    ) -> None:
        func_types = namespace.get("__wasm_func_types__")
        if func_types is None:
            func_types = namespace["__wasm_func_types__"] = module.func_types()
        tag_types = namespace.get("__wasm_tag_types__")
        if tag_types is None:
            tag_types = namespace["__wasm_tag_types__"] = module.tag_types()
        first = namespace.get("__wasm_first_defined__")  # counted once per instance, not per function
        if first is None:
            first = namespace["__wasm_first_defined__"] = module.num_imported_funcs()
        function = module.funcs[index - first]
        self.index = index
        self.type = func_types[index]
        local_types = list(self.type.params) + function.locals
        ends, elses = match_constructs(function.body)
        sandbox = self.sandbox = namespace["SANDBOX"]
        stop_check = _stop_check(sandbox) if interruptible else None
        self.builder = BlockBuilder(
            function.body,
            self.type,
            len(local_types),
            ends,
            elses,
            module.types,
            func_types,
            tag_types,
            operations,
            stop_check,
            _fuel_charges(sandbox) if metered else None,
            index,
        )
        # Blocks executed so far; past ``hot_after`` a call tells ``on_hot`` (with the blocks the
        # call in progress has run and the block it is in; 0 and -1 at a call's start), which
        # returns the code to run instead (a compiled tier, which callers reach from then on),
        # or None while that code is being made elsewhere or the move is not decided yet.
        self.executed = 0
        self.calls = 0  # calls of it
        self.calls_out = 0  # calls it made (of other functions: recursion stays in the same code)
        self.hot_after = hot_after if on_hot is not None else sys.maxsize
        self.on_hot = on_hot
        # On-stack replacement: loop header block -> a callable that takes this frame's values
        # there and runs the rest of the call as machine code.  A call in progress that reaches
        # a header with an entry moves.  ``osr_probe`` (tests) is told of every header reached.
        self.osr: dict[int, Callable[[list[Any]], Any]] = {}
        self.osr_probe = osr_probe
        self.catches = False  # whether its body has a try_table (set by _executor)
        zeros = [ZERO.get(t) for t in local_types[len(self.type.params) :]]
        self.run = _executor(self, namespace, zeros, stop_check)
        if makes_tail_calls(function.body):
            # Its tail calls return a TailCall: its callers call the entry that makes them.
            self.run = tail_entry(self.run, len(self.type.params))


# Names the executor reads as globals, put in the instance's namespace (its globals, as the portable
# engine's generated code's): a global costs a call nothing, while each variable of its closure is copied
# into every frame, and into the frame object of every frame a trap or exhaustion unwinds (28 closure
# variables made a 20,000-frame exhaustion ~40% slower than 12).  Also used: ``WasmException``,
# ``TailCall``, ``call_indirect`` and ``call_ref``, which every namespace has.
UNTIERED_REPORT = (1 << 30) - 1
_EXECUTOR_GLOBALS: dict[str, Any] = {
    "GOTO": GOTO,
    "JUMP": JUMP,
    "CALL": CALL,
    "CALL_INDIRECT": CALL_INDIRECT,
    "TAIL_CALL": TAIL_CALL,
    "UNTIERED_REPORT": UNTIERED_REPORT,
    "_call_with": None,  # set below, once defined
    "__builtins__": builtins,
}


def _executor(
    function: BaselineFunction, namespace: dict[str, Any], zeros: list[Any], stop_check: Any
) -> Callable[..., Any]:
    builder = function.builder
    blocks: list[Any] = [None] * (len(builder.body) + 1)
    results = builder.results
    ns = namespace
    for name, value in _EXECUTOR_GLOBALS.items():
        namespace.setdefault(name, value)
    # The tiers read a function's counts (calls, blocks executed, calls made); without them nothing
    # does, and a call keeps none.  A call reports its blocks at ``report_at``: without the tiers,
    # every UNTIERED_REPORT blocks, a number small enough for CPython's fast one-digit comparisons.
    tiered = function.on_hot is not None
    calls = namespace["CALLS"]
    ops = set(map(op_of, builder.body))  # (one pass in C, not two in Python: every function that runs)
    accounts = not CALL_OPS.isdisjoint(ops)  # leaves cannot recurse
    function.catches = OP_TRY_TABLE in ops
    osr = function.osr
    probe = function.osr_probe

    def run(*args: Any) -> Any:
        if tiered:
            function.calls += 1
            if function.executed >= function.hot_after and function.on_hot is not None:
                moved = function.on_hot(function, 0, -1)
                if moved is not None:
                    return moved(*args)
        # The store's call accounting (see runtime.sandbox).
        caller_depth = calls[0]
        frame_depth = caller_depth + builder.units if accounts else caller_depth
        if frame_depth > calls[1]:
            raise function.sandbox.exhausted()
        calls[0] = frame_depth
        s = [*args, *zeros]
        if stop_check is not None:
            stop_check(s)
        pc = 0
        executed = 0
        calls_out = 0
        in_call = 0  # blocks of this call counted into function.executed already
        # A long call that gets hot tells on_hot from inside, so the next call may run moved.
        report_at = function.hot_after - function.executed if tiered else UNTIERED_REPORT
        resume = None
        tail_call = None
        at_call = False  # for backtraces (runtime.instance.wasm_frames): where this frame stands
        while True:
            try:
                while True:
                    block = blocks[pc]
                    if block is None:
                        block = blocks[pc] = builder.prepare(pc)
                    for op in block[0]:
                        op(s)
                    executed += 1
                    if executed >= report_at:
                        function.executed += executed
                        function.calls_out += calls_out
                        in_call += executed
                        executed = calls_out = 0
                        if function.on_hot is not None:
                            function.on_hot(function, in_call, pc)
                        hot = function.on_hot is not None
                        report_at = function.hot_after - function.executed if hot else UNTIERED_REPORT
                    kind = block[1]
                    if kind == GOTO or kind == JUMP:
                        pc = block[2] if kind == GOTO else block[2](s)
                        if pc < 0:
                            break
                        if probe is not None and pc in builder.loop_headers and pc not in osr:
                            probe(function, pc)
                        if osr and pc in osr:
                            resume = osr[pc]
                            break
                    elif kind == CALL or kind == CALL_INDIRECT:
                        calls_out += block[6]
                        if kind == CALL:
                            callee = ns[block[2]]
                        else:
                            table, expected = block[2]
                            callee = call_indirect(table, s.pop(), expected) if table is not None else call_ref(s.pop())
                        # Arguments as a plain call's (never ``callee(*list)``): CPython runs a
                        # plain call to a Python function without a C frame, so wasm recursion
                        # costs no C stack here.
                        count = block[3]
                        at_call = True
                        if count == 0:
                            value = callee()
                        elif count == 1:
                            value = callee(s.pop())
                        elif count == 2:
                            value = callee(s[-2], s[-1])
                            del s[-2:]
                        elif count == 3:
                            value = callee(s[-3], s[-2], s[-1])
                            del s[-3:]
                        else:
                            value = _call_with(count)(callee, s)
                            del s[-count:]
                        at_call = False  # noqa: F841 - read through f_locals by backtraces
                        count = block[4]
                        if count == 1:
                            s.append(value)
                        elif count:
                            s.extend(value)
                        pc = block[5]
                    elif kind == TAIL_CALL:
                        # return_call(_indirect): the callee, then this frame ends (see TAIL_CALL).
                        target = block[2]
                        at_call = True  # noqa: F841 - read through f_locals by backtraces
                        if target.__class__ is str:
                            callee = ns[target]
                        elif target[0] is not None:
                            callee = call_indirect(target[0], s.pop(), target[1])
                        else:
                            callee = call_ref(s.pop())
                        count = block[3]
                        tail_call = TailCall(callee, tuple(s[len(s) - count :]) if count else ())
                        break
                    else:
                        break
                break
            except WasmException as exception:
                if not function.catches:
                    raise  # nothing here catches: on to the caller at once
                calls[0] = frame_depth
                pc = builder.catch(exception, pc, s)
                if pc < 0:
                    break
        # Counted on the way out of a call that returns; one that traps leaves them uncounted, and
        # the store's count is restored by whoever catches (a try_table, or the store's entry).
        if tiered:
            function.executed += executed
            function.calls_out += calls_out
        calls[0] = caller_depth
        if resume is not None:  # outside the try: native code has run this call's try_tables itself
            return resume(s)
        if tail_call is not None:
            return tail_call
        if results == 0:
            return None
        if results == 1:
            return s[-1]
        return tuple(s[-results:])

    # Named f<index> with the instance's namespace as its globals, so that the
    # engines' backtraces (runtime.instance.wasm_frames) recognise its frames.
    code = run.__code__.replace(co_name=f"f{function.index}", co_qualname=f"f{function.index}")
    return types.FunctionType(code, namespace, f"f{function.index}", None, run.__closure__)


_CALLERS: dict[int, Callable[[Callable[..., Any], list[Any]], Any]] = {}


def _call_with(count: int) -> Callable[[Callable[..., Any], list[Any]], Any]:
    """``caller(callee, s)`` calls ``callee`` with the top ``count`` values of ``s`` as a plain call
    (no C frame, unlike ``callee(*values)``)."""
    caller = _CALLERS.get(count)
    if caller is None:
        arguments = ", ".join(f"s[{i - count}]" for i in range(count))
        scope: dict[str, Any] = {}
        exec(f"def caller(callee, s):\n    return callee({arguments})\n", scope)  # noqa: S102
        caller = _CALLERS[count] = scope["caller"]
    return caller


_EXECUTOR_GLOBALS["_call_with"] = _call_with


def _fuel_charges(sandbox: Any) -> Callable[[int], Callable[[list[Any]], None]]:
    """The operation charging ``count`` instructions of fuel (one per count, shared)."""
    charges: dict[int, Callable[[list[Any]], None]] = {}

    def charge_for(count: int) -> Callable[[list[Any]], None]:
        found = charges.get(count)
        if found is None:

            def charge(s: list[Any]) -> None:
                sandbox.fuel -= count
                if sandbox.fuel < 0:
                    raise Trap("out of fuel")

            found = charges[count] = charge
        return found

    return charge_for


def _stop_check(sandbox: Any) -> Callable[[list[Any]], None]:
    def check(s: list[Any]) -> None:
        if sandbox.stop:
            raise Trap(sandbox.stop)

    return check
