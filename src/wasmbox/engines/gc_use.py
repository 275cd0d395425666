"""Whether a module uses GC (Wasm 3.0): the native engine and the tiering layer keep such modules
on the Python engines (the native engine does not lower GC's types and instructions; it hands
the whole module to the portable engine, see NOTES.md).  A module of its own so that asking costs
no import of the native engine (llvmlite)."""

from __future__ import annotations

from ..ir import instructions as ins
from ..ir.module import Module
from ..ir.types import GC_HEAP_TYPES, FuncType, RefType

GC_OPS = frozenset(op for op in ins.OPCODES if op.feature == ins.GC)


def uses_gc(module: Module) -> bool:
    """Whether a module declares GC types (struct, array, recursion groups, sub-types), values of
    GC's heap types (any, eq, i31, struct, array, none) or uses GC instructions: the native engine
    does not lower them, and hands such a module whole to the portable engine (issue 15).  Bodies
    still undecoded passed the native validator, which refuses GC, so only decoded ones are read."""
    for t in module.types:
        if not isinstance(t, FuncType) or t.rec is not None or t.supertypes or not t.final:
            return True
        if any(isinstance(v, RefType) and v.heap in GC_HEAP_TYPES for v in (*t.params, *t.results)):
            return True
    declared = [t.element for t in module.table_types()] + [g.valtype for g in module.global_types()]
    if any(isinstance(t, RefType) and t.heap in GC_HEAP_TYPES for t in declared):
        return True
    for function in module.funcs:
        if not function.decoded:
            continue
        if any(isinstance(t, RefType) and t.heap in GC_HEAP_TYPES for t in function.locals):
            return True
        if not GC_OPS.isdisjoint(map(ins.op_of, function.body)):  # (a loop in C: every run asks)
            return True
    return any(not GC_OPS.isdisjoint(map(ins.op_of, g.init)) for g in module.globals)
