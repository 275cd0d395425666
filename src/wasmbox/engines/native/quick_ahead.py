"""Which functions the translation worker compiles ahead, as quick code, while the program starts.

A large module's functions get the quick compiler's code at their first call
(``TieredFunctions.quick_at_first_call``): Lua's interpreter compiles 440
functions, 77,000 instructions, in the first 0.3 s of a cold run, about two
thirds of that run's time.  The worker process (a fork of the program, so the
code it makes calls the same host addresses: see ``translation_worker``)
runs on the second core meanwhile; if it compiles the functions the program
is about to call, the program only places their code.

It cannot know which functions those are, so it guesses the order of first
calls: a depth-first walk of direct calls in the order they appear, from the
function the program first called.  A function's first call happens while its
first caller runs, and that caller's callees are first called in the order of
its code, so for straight-line start-up code (an interpreter's set-up, its
library's registration) this is the order of first calls.  Calls through
tables are unknown statically: the functions of element segments (what
``call_indirect`` can reach) and exports come next, each walked the same way.
Functions nothing references cannot be called and are never compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ...ir.instructions import BY_NAME
from ...ir.types import ExternKind

_CALL = BY_NAME["call"]
_REF_FUNC = BY_NAME["ref.func"]


def _roots(module: Any) -> Iterator[int]:
    """The walk's starting points after the first called function: the start function, exports, then the
    functions element segments name (in the order they are written)."""
    if module.start is not None:
        yield module.start
    for export in module.exports:
        if export.kind == ExternKind.FUNC:
            yield export.index
    for segment in module.elements:
        for expression in segment.init:
            for instruction in expression:
                if instruction.op is _REF_FUNC:
                    yield instruction.imm[0]


class FirstCallOrder:
    """Defined functions in the guessed order of their first calls (see above), from ``first_called``
    (itself left out: the program is compiling it), each once, those ``wanted`` refuses left out (their
    callees are still walked).  Bodies are decoded as the walk reaches them, so the first functions come
    at once.

    The guess is corrected as the program goes: ``program_at`` (the program compiled a function itself, so
    the walk had not reached it) moves the walk there, its callees coming next.  In Lua's cold run the
    program took the code of 125 of its 444 first calls from the walk without this, 124-191 with it (single
    runs: the count moves with timing).
    """

    def __init__(
        self, module: Any, first_called: int, wanted: Callable[[int], bool], at_most: int | None = None
    ) -> None:
        """``at_most``: so many functions, then no more (a huge module's would only fill the program's memory)."""
        self.left = at_most
        self.module = module
        self.imported = module.num_imported_funcs()
        self.wanted = wanted
        self.seen = {first_called}
        self.stack = list(reversed(_direct_callees(module, first_called - self.imported)))
        self.roots = _roots(module)
        self.reached: list[int] = []  # from program_at (another thread), taken in order
        self.taken = 0

    def program_at(self, index: int) -> None:
        """The program has just compiled function ``index`` itself."""
        self.reached.append(index)

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        if self.left is not None:
            if self.left <= 0:
                raise StopIteration
            self.left -= 1
        while True:
            while self.taken < len(self.reached):
                index = self.reached[self.taken]
                self.taken += 1
                self.seen.add(index)
                self.stack.extend(reversed(_direct_callees(self.module, index - self.imported)))
            if not self.stack:
                root = next(self.roots, None)
                if root is None:
                    raise StopIteration
                self.stack.append(root)
            index = self.stack.pop()
            if index in self.seen or index < self.imported:
                continue
            self.seen.add(index)
            self.stack.extend(reversed(_direct_callees(self.module, index - self.imported)))
            if self.wanted(index):
                return index


def _direct_callees(module: Any, defined: int) -> list[int]:
    """The functions ``call`` names in a defined function's body, in the order of its code."""
    if not 0 <= defined < len(module.funcs):
        return []
    return [instruction.imm[0] for instruction in module.funcs[defined].body if instruction.op is _CALL]
