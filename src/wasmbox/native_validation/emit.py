"""The native validator's code, built with ``llvmlite.ir``: the spec's validation algorithm over body bytes.

One function, ``validate_body(ctx, data, start, end, type_index)``, decodes
and validates one code entry (locals and instructions) straight from the
binary, with an operand stack of value-type codes (0 is the unknown type of
unreachable code) and a stack of control frames, as ``wasmbox.validate``
does over decoded instructions.  It answers 0 when the body is well formed
and valid, 1 otherwise.  It never says why: a body it refuses is decoded and
validated again by the Python code, which has the words for the error (and
is the arbiter: the native validator may refuse what it is unsure of, never
accept what Python would refuse).

Every read is bounded by ``end``, every stack by its capacity; running out
of either is a refusal, so no input makes it touch memory it does not own.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from ..ir.types import EXNREF, EXTERNREF, FUNCREF, NUMBER_TYPES, NumType, ValType, type_code
from ..limits import MAX_BR_TABLE_TARGETS
from .tables import (
    CONTEXT_OFFSET,
    FC_BASE,
    FC_LIMIT,
    FD_BASE,
    FD_LIMIT,
    FRAME_FIELDS,
    FRAME_SIZE,
    FUNCTION_NAME,
    OP_ENTRY_FIELDS,
    Immediate,
    Kind,
)

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()
NUMERIC_OR_VECTOR = (NumType.I32, NumType.I64, NumType.F32, NumType.F64, NumType.V128)
REFERENCES = (FUNCREF, EXTERNREF, EXNREF)


def const(value: int, t: ir.IntType = I64) -> ir.Constant:
    return ir.Constant(t, value)


class ValidatorEmitter:
    """Emits ``validate_body`` into an IR module; one method per part of the algorithm."""

    def __init__(self, module_name: str, triple: str) -> None:
        self.module = ir.Module(name=module_name)
        self.module.triple = triple
        signature = ir.FunctionType(I32, [PTR, PTR, I64, I64, I64])
        self.function = ir.Function(self.module, signature, FUNCTION_NAME)
        self.ctx, self.data, start, self.end, self.type_index = self.function.args
        self.b = ir.IRBuilder(self.function.append_basic_block("entry"))
        self.fail = self.function.append_basic_block("refuse")
        # A 256-byte table whose entry i is i: a one-value type list for any value type code.
        identity = ir.GlobalVariable(self.module, ir.ArrayType(I8, 256), "codes")
        identity.initializer = ir.Constant(ir.ArrayType(I8, 256), list(range(256)))
        identity.global_constant = True
        identity.linkage = "private"  # addressed relative to the code: no GOT, so wasmbox's object loader links it
        self.codes = identity
        self.pos = self.variable("pos", start)
        self.vsp = self.variable("vsp", const(0))
        self.csp = self.variable("csp", const(0))
        self.memory_index = self.variable("memory", const(0))  # a memarg's (see memarg)
        self.table_index = self.variable("table", const(0))  # the last table immediate read (see table_type)
        self.offset = self.variable("offset", const(0))  # a memarg's
        # A fixed-signature instruction's operand and result types: the table's, until an immediate
        # names a 64-bit memory or table (memory64), whose address type replaces them (see fixed).
        self.operand_types = [self.variable(f"operand{i}", const(0)) for i in range(3)]
        self.result_type = self.variable("result", const(0))
        self.fields = {
            name: self.b.load(
                self.b.gep(self.ctx, [const(offset)], source_etype=I8),
                typ=I64 if "capacity" in name or name in _COUNTS else PTR,
            )
            for name, offset in CONTEXT_OFFSET.items()
        }

    # --- plumbing ---------------------------------------------------------------------------
    def variable(self, name: str, initial: ir.Value) -> ir.AllocaInstr:
        slot = self.b.alloca(I64, name=name)
        self.b.store(initial, slot)
        return slot

    def get(self, slot: ir.AllocaInstr) -> ir.Value:
        return self.b.load(slot, typ=I64)

    def set(self, slot: ir.AllocaInstr, value: ir.Value) -> None:
        self.b.store(value, slot)

    def block(self, name: str) -> ir.Block:
        return self.function.append_basic_block(name)

    def refuse_if(self, condition: ir.Value) -> None:
        ok = self.block("ok")
        self.b.cbranch(condition, self.fail, ok)
        self.b.position_at_end(ok)

    def when(self, condition: ir.Value, then: Callable[[], None]) -> None:
        """Emit ``then`` under ``condition``; code after continues on both paths."""
        body, after = self.block("then"), self.block("after")
        self.b.cbranch(condition, body, after)
        self.b.position_at_end(body)
        then()
        if not self.b.block.is_terminated:
            self.b.branch(after)
        self.b.position_at_end(after)

    def count_loop(self, count: ir.Value, body: Callable[[ir.Value], None], down: bool = False) -> None:
        """``for i in range(count)`` (or reversed), ``i`` an i64."""
        index = self.variable("i", const(0))
        head, work, done = self.block("loop"), self.block("loop_body"), self.block("loop_done")
        self.b.branch(head)
        self.b.position_at_end(head)
        i = self.get(index)
        self.b.cbranch(self.b.icmp_unsigned("<", i, count), work, done)
        self.b.position_at_end(work)
        body(self.b.sub(self.b.sub(count, const(1)), i) if down else i)
        self.set(index, self.b.add(self.get(index), const(1)))
        self.b.branch(head)
        self.b.position_at_end(done)

    def byte_at(self, base: ir.Value, index: ir.Value) -> ir.Value:
        return self.b.zext(self.b.load(self.b.gep(base, [index], source_etype=I8), typ=I8), I64)

    def i32_at(self, base: ir.Value, index: ir.Value) -> ir.Value:
        return self.b.sext(self.b.load(self.b.gep(base, [index], source_etype=I32), typ=I32), I64)

    # --- reading the body ----------------------------------------------------------------------
    def read_byte(self) -> ir.Value:
        pos = self.get(self.pos)
        self.refuse_if(self.b.icmp_unsigned(">=", pos, self.end))
        self.set(self.pos, self.b.add(pos, const(1)))
        return self.byte_at(self.data, pos)

    def peek_byte(self) -> ir.Value:
        pos = self.get(self.pos)
        self.refuse_if(self.b.icmp_unsigned(">=", pos, self.end))
        return self.byte_at(self.data, pos)

    def skip(self, count: int) -> None:
        pos = self.b.add(self.get(self.pos), const(count))
        self.refuse_if(self.b.icmp_unsigned(">", pos, self.end))
        self.set(self.pos, pos)

    def read_unsigned(self, bits: int = 32) -> ir.Value:
        """An unsigned LEB128 of at most ``bits`` bits, with the reference decoder's rules
        (at most ceil(bits/7) bytes, unused bits of the last byte zero)."""
        result = self.variable("leb", const(0))
        shift = self.variable("shift", const(0))
        head, done = self.block("leb"), self.block("leb_done")
        self.b.branch(head)
        self.b.position_at_end(head)
        byte = self.read_byte()
        s = self.get(shift)
        remaining = self.b.sub(const(bits), s)
        # The last allowed byte may only use the bits left. The shift amount is taken only for that byte: a
        # 64-bit LEB's first byte leaves 64 bits, and `shl` by 64 is poison in LLVM (an optimised build then
        # judged memory64 offsets at random, whatever `last` said: `and i1 false, poison` is poison).
        last = self.b.icmp_signed("<", remaining, const(7))
        limit = self.b.shl(const(1), self.b.select(last, remaining, const(0)))
        too_large = self.b.icmp_unsigned(">=", self.b.and_(byte, const(0x7F)), limit)
        self.refuse_if(self.b.and_(last, too_large))
        self.set(result, self.b.or_(self.get(result), self.b.shl(self.b.and_(byte, const(0x7F)), s)))
        self.set(shift, self.b.add(s, const(7)))
        more = self.b.icmp_unsigned(">=", byte, const(0x80))
        again = self.block("leb_more")
        self.b.cbranch(more, again, done)
        self.b.position_at_end(again)
        self.refuse_if(self.b.icmp_signed("<=", self.b.sub(const(bits), self.get(shift)), const(0)))
        self.b.branch(head)
        self.b.position_at_end(done)
        return self.get(result)

    def read_signed(self, bits: int) -> ir.Value:
        """A signed LEB128 of at most ``bits`` bits (unused bits of the last byte repeat the sign);
        the value for ``bits`` up to 33, else 0 (constants are only skipped)."""
        result = self.variable("sleb", const(0))
        shift = self.variable("sshift", const(0))
        head, done = self.block("sleb"), self.block("sleb_done")
        self.b.branch(head)
        self.b.position_at_end(head)
        byte = self.read_byte()
        s = self.get(shift)
        remaining = self.b.sub(const(bits), s)
        last = self.b.icmp_signed("<", remaining, const(7))
        # mask of the bits past the value's sign in the last byte: (-1 << (remaining - 1)) & 0x7F
        mask = self.b.and_(self.b.shl(const(-1), self.b.sub(remaining, const(1))), const(0x7F))
        unused = self.b.and_(byte, mask)
        bad = self.b.and_(self.b.icmp_unsigned("!=", unused, const(0)), self.b.icmp_unsigned("!=", unused, mask))
        self.refuse_if(self.b.and_(last, bad))
        if bits <= 33:
            self.set(result, self.b.or_(self.get(result), self.b.shl(self.b.and_(byte, const(0x7F)), s)))
        self.set(shift, self.b.add(s, const(7)))
        more = self.b.icmp_unsigned(">=", byte, const(0x80))
        again, finish = self.block("sleb_more"), self.block("sleb_sign")
        self.b.cbranch(more, again, finish)
        self.b.position_at_end(again)
        self.refuse_if(self.b.icmp_signed("<=", self.b.sub(const(bits), self.get(shift)), const(0)))
        self.b.branch(head)
        self.b.position_at_end(finish)
        if bits <= 33:
            negative = self.b.icmp_unsigned("!=", self.b.and_(byte, const(0x40)), const(0))
            extended = self.b.sub(self.get(result), self.b.shl(const(1), self.get(shift)))
            self.set(result, self.b.select(negative, extended, self.get(result)))
        self.b.branch(done)
        self.b.position_at_end(done)
        return self.get(result)

    def read_index(self, limit: ir.Value) -> ir.Value:
        index = self.read_unsigned()
        self.refuse_if(self.b.icmp_unsigned(">=", index, limit))
        return index

    def is_one_of(self, code: ir.Value, types: tuple[ValType, ...]) -> ir.Value:
        result: ir.Value = ir.Constant(I1, 0)
        for t in types:
            result = self.b.or_(result, self.b.icmp_unsigned("==", code, const(type_code(t))))
        return result

    def is_value_type(self, code: ir.Value) -> ir.Value:
        plain = (*NUMBER_TYPES, FUNCREF, EXTERNREF)
        exnref = self.b.and_(
            self.b.icmp_unsigned("==", code, const(type_code(EXNREF))),
            self.b.icmp_unsigned("!=", self.fields["exceptions"], const(0)),
        )
        return self.b.or_(self.is_one_of(code, plain), exnref)

    def read_value_type(self) -> ir.Value:
        code = self.read_byte()
        self.refuse_if(self.b.not_(self.is_value_type(code)))
        return code

    def read_reference_type(self) -> ir.Value:
        code = self.read_value_type()
        self.refuse_if(self.b.not_(self.is_one_of(code, REFERENCES)))
        return code

    def single_type(self, code: ir.Value) -> ir.Value:
        """A pointer to a one-element type list holding ``code``."""
        return self.b.gep(self.codes, [const(0), code], inbounds=True)

    def read_block_type(self) -> tuple[ir.Value, ir.Value, ir.Value, ir.Value]:
        """(params pointer, params count, results pointer, results count)."""
        params_at = self.variable("bt_pa", const(0))
        params = self.variable("bt_p", const(0))
        results_at = self.variable("bt_ra", const(0))
        results = self.variable("bt_r", const(0))
        code = self.peek_byte()
        empty, value, indexed, done = (
            self.block("bt_empty"),
            self.block("bt_value"),
            self.block("bt_index"),
            self.block("bt_done"),
        )
        not_empty = self.block("bt_not_empty")
        self.b.cbranch(self.b.icmp_unsigned("==", code, const(0x40)), empty, not_empty)
        self.b.position_at_end(empty)
        self.skip(1)
        self.b.branch(done)
        self.b.position_at_end(not_empty)
        self.b.cbranch(self.is_value_type(code), value, indexed)
        self.b.position_at_end(value)
        self.skip(1)
        self.set(results_at, self.b.ptrtoint(self.single_type(code), I64))
        self.set(results, const(1))
        self.b.branch(done)
        self.b.position_at_end(indexed)
        index = self.read_signed(33)
        self.refuse_if(self.b.icmp_signed("<", index, const(0)))
        self.refuse_if(self.b.icmp_signed(">=", index, self.fields["types"]))
        type_data = self.b.ptrtoint(self.fields["type_data"], I64)
        self.set(params_at, self.b.add(type_data, self.i32_at(self.fields["type_params_at"], index)))
        self.set(params, self.i32_at(self.fields["type_params"], index))
        self.set(results_at, self.b.add(type_data, self.i32_at(self.fields["type_results_at"], index)))
        self.set(results, self.i32_at(self.fields["type_results"], index))
        self.b.branch(done)
        self.b.position_at_end(done)
        return (
            self.b.inttoptr(self.get(params_at), PTR),
            self.get(params),
            self.b.inttoptr(self.get(results_at), PTR),
            self.get(results),
        )

    def function_type(self, type_index: ir.Value) -> tuple[ir.Value, ir.Value, ir.Value, ir.Value]:
        type_data = self.fields["type_data"]
        return (
            self.b.gep(type_data, [self.i32_at(self.fields["type_params_at"], type_index)], source_etype=I8),
            self.i32_at(self.fields["type_params"], type_index),
            self.b.gep(type_data, [self.i32_at(self.fields["type_results_at"], type_index)], source_etype=I8),
            self.i32_at(self.fields["type_results"], type_index),
        )

    # --- the operand and control stacks -------------------------------------------------------
    def frame_field(self, depth_from_top: ir.Value, name: str) -> ir.Value:
        """The address of a field of the frame ``depth_from_top`` below the innermost."""
        index = self.b.sub(self.b.sub(self.get(self.csp), const(1)), depth_from_top)
        offset = self.b.add(self.b.mul(index, const(FRAME_SIZE)), const(8 * FRAME_FIELDS.index(name)))
        return self.b.gep(self.fields["frames"], [offset], source_etype=I8)

    def frame(self, name: str, depth: ir.Value | None = None) -> ir.Value:
        return self.b.load(self.frame_field(depth if depth is not None else const(0), name), typ=I64)

    def push(self, code: ir.Value) -> None:
        vsp = self.get(self.vsp)
        self.refuse_if(self.b.icmp_unsigned(">=", vsp, self.fields["values_capacity"]))
        self.b.store(self.b.trunc(code, I8), self.b.gep(self.fields["values"], [vsp], source_etype=I8))
        self.set(self.vsp, self.b.add(vsp, const(1)))

    def pop(self, expected: ir.Value | None = None) -> ir.Value:
        """Pop a value (of type ``expected`` if given); its type, 0 when unknown."""
        result = self.variable("popped", const(0))
        at_floor, take, done = self.block("pop_floor"), self.block("pop_take"), self.block("pop_done")
        vsp = self.get(self.vsp)
        self.b.cbranch(self.b.icmp_unsigned("==", vsp, self.frame("height")), at_floor, take)
        self.b.position_at_end(at_floor)
        # Below a frame's base only an unreachable frame has values: of any type.
        self.refuse_if(self.b.icmp_unsigned("==", self.frame("unreachable"), const(0)))
        if expected is not None:
            self.set(result, expected)
        self.b.branch(done)
        self.b.position_at_end(take)
        top = self.b.sub(vsp, const(1))
        self.set(self.vsp, top)
        actual = self.byte_at(self.fields["values"], top)
        if expected is not None:
            mismatch = self.b.and_(
                self.b.icmp_unsigned("!=", actual, expected), self.b.icmp_unsigned("!=", actual, const(0))
            )
            self.refuse_if(mismatch)
            actual = self.b.select(self.b.icmp_unsigned("==", actual, const(0)), expected, actual)
        self.set(result, actual)
        self.b.branch(done)
        self.b.position_at_end(done)
        return self.get(result)

    def pop_types(self, types: ir.Value, count: ir.Value) -> None:
        self.count_loop(count, lambda i: self.pop(self.byte_at(types, i)), down=True)

    def push_types(self, types: ir.Value, count: ir.Value) -> None:
        self.count_loop(count, lambda i: self.push(self.byte_at(types, i)))

    def check_top(self, types: ir.Value, count: ir.Value) -> None:
        """What ``pop_types`` checks, leaving the stack as it is (br_table's other labels)."""
        saved = self.get(self.vsp)
        self.pop_types(types, count)
        self.set(self.vsp, saved)

    def same_types(self, a: ir.Value, a_count: ir.Value, b: ir.Value, b_count: ir.Value) -> None:
        self.refuse_if(self.b.icmp_unsigned("!=", a_count, b_count))
        self.count_loop(
            a_count, lambda i: self.refuse_if(self.b.icmp_unsigned("!=", self.byte_at(a, i), self.byte_at(b, i)))
        )

    def enter(self, kind: int, params: ir.Value, n_params: ir.Value, results: ir.Value, n_results: ir.Value) -> None:
        csp = self.get(self.csp)
        self.refuse_if(self.b.icmp_unsigned(">=", csp, self.fields["frames_capacity"]))
        self.set(self.csp, self.b.add(csp, const(1)))
        values = {
            "kind": const(kind),
            "height": self.get(self.vsp),
            "unreachable": const(0),
            "params_at": self.b.ptrtoint(params, I64),
            "params": n_params,
            "results_at": self.b.ptrtoint(results, I64),
            "results": n_results,
        }
        for name, value in values.items():
            self.b.store(value, self.frame_field(const(0), name))
        self.push_types(params, n_params)

    def frame_types(self, which: str, depth: ir.Value | None = None) -> tuple[ir.Value, ir.Value]:
        return self.b.inttoptr(self.frame(f"{which}_at", depth), PTR), self.frame(which, depth)

    def leave(self) -> tuple[ir.Value, ...]:
        """Close the innermost frame: its results must be exactly what is left above its base.
        Returns (kind, params ptr, params count, results ptr, results count)."""
        kind = self.frame("kind")
        params, n_params = self.frame_types("params")
        results, n_results = self.frame_types("results")
        self.pop_types(results, n_results)
        self.refuse_if(self.b.icmp_unsigned("!=", self.get(self.vsp), self.frame("height")))
        self.set(self.csp, self.b.sub(self.get(self.csp), const(1)))
        return kind, params, n_params, results, n_results

    def label_types(self, depth: ir.Value) -> tuple[ir.Value, ir.Value]:
        self.refuse_if(self.b.icmp_unsigned(">=", depth, self.get(self.csp)))
        is_loop = self.b.icmp_unsigned("==", self.frame("kind", depth), const(Kind.LOOP))
        params, n_params = self.frame_types("params", depth)
        results, n_results = self.frame_types("results", depth)
        return self.b.select(is_loop, params, results), self.b.select(is_loop, n_params, n_results)

    def mark_unreachable(self) -> None:
        self.set(self.vsp, self.frame("height"))
        self.b.store(const(1), self.frame_field(const(0), "unreachable"))

    # --- the function ---------------------------------------------------------------------------
    def emit(self) -> ir.Module:
        b = self.b
        params, n_params, results, n_results = self.function_type(self.type_index)
        locals_, count = self.fields["locals"], self.variable("locals", n_params)
        self.refuse_if(b.icmp_unsigned(">", n_params, self.fields["locals_capacity"]))
        self.count_loop(
            n_params, lambda i: b.store(b.trunc(self.byte_at(params, i), I8), b.gep(locals_, [i], source_etype=I8))
        )
        total = self.variable("declared", const(0))

        def declaration(_: ir.Value) -> None:
            n = self.read_unsigned()
            code = self.read_value_type()
            self.set(total, b.add(self.get(total), n))
            self.refuse_if(b.icmp_unsigned(">", self.get(total), self.fields["max_locals"]))
            first = self.get(count)
            self.refuse_if(b.icmp_unsigned(">", b.add(first, n), self.fields["locals_capacity"]))
            self.count_loop(n, lambda i: b.store(b.trunc(code, I8), b.gep(locals_, [b.add(first, i)], source_etype=I8)))
            self.set(count, b.add(first, n))

        self.count_loop(self.read_unsigned(), declaration)
        self.local_count = self.get(count)
        self.results, self.n_results = results, n_results
        self.enter(0, results, const(0), results, n_results)
        self.dispatch_loop()
        self.b.position_at_end(self.fail)
        self.b.ret(ir.Constant(I32, 1))
        return self.module

    def dispatch_loop(self) -> None:
        b = self.b
        head = self.block("instruction")
        self.head = head
        b.branch(head)
        b.position_at_end(head)
        code = self.read_byte()
        index = self.variable("opcode", code)
        self.when(
            b.icmp_unsigned("==", code, const(0xFC)),
            lambda: self.set(index, b.add(const(FC_BASE), self.read_index(const(FC_LIMIT)))),
        )
        self.when(
            b.icmp_unsigned("==", code, const(0xFD)),
            lambda: self.set(index, b.add(const(FD_BASE), self.read_index(const(FD_LIMIT)))),
        )
        self.entry = b.gep(self.fields["ops"], [b.mul(self.get(index), const(16))], source_etype=I8)
        kind = self.entry_field("kind")
        cases = {
            Kind.FIXED: self.fixed,
            Kind.UNREACHABLE: self.mark_unreachable,
            Kind.BLOCK: lambda: self.open_block(Kind.BLOCK),
            Kind.LOOP: lambda: self.open_block(Kind.LOOP),
            Kind.IF: lambda: self.open_block(Kind.IF),
            Kind.ELSE: self.else_,
            Kind.END: self.end_,
            Kind.BR: self.br,
            Kind.BR_IF: self.br_if,
            Kind.BR_TABLE: self.br_table,
            Kind.RETURN: self.return_,
            Kind.CALL: self.call,
            Kind.CALL_INDIRECT: self.call_indirect,
            Kind.RETURN_CALL: self.return_call,
            Kind.RETURN_CALL_INDIRECT: self.return_call_indirect,
            Kind.THROW: self.throw,
            Kind.THROW_REF: self.throw_ref,
            Kind.TRY_TABLE: self.try_table,
            Kind.TRY: lambda: self.open_block(Kind.TRY),
            Kind.CATCH: lambda: self.handler(Kind.CATCH),
            Kind.CATCH_ALL: lambda: self.handler(Kind.CATCH_ALL),
            Kind.DELEGATE: self.delegate,
            Kind.RETHROW: self.rethrow,
            Kind.DROP: lambda: self.pop(),
            Kind.SELECT: self.select,
            Kind.SELECT_T: self.select_t,
            Kind.LOCAL_GET: lambda: self.push(self.local_type()),
            Kind.LOCAL_SET: lambda: self.pop(self.local_type()),
            Kind.LOCAL_TEE: self.local_tee,
            Kind.GLOBAL_GET: self.global_get,
            Kind.GLOBAL_SET: self.global_set,
            Kind.REF_NULL: lambda: self.push(self.read_reference_type()),
            Kind.REF_IS_NULL: self.ref_is_null,
            Kind.REF_FUNC: self.ref_func,
            Kind.TABLE_GET: self.table_get,
            Kind.TABLE_SET: self.table_set,
            Kind.TABLE_SIZE: self.table_size,
            Kind.TABLE_GROW: self.table_grow,
            Kind.TABLE_FILL: self.table_fill,
        }
        switch = b.switch(kind, self.fail)
        for value, emit_case in cases.items():
            block = self.block(f"k{value.name.lower()}")
            switch.add_case(ir.Constant(I64, int(value)), block)
            b.position_at_end(block)
            emit_case()
            if not b.block.is_terminated:
                b.branch(head)

    def entry_field(self, name: str) -> ir.Value:
        return self.byte_at(self.entry, const(OP_ENTRY_FIELDS.index(name)))

    # --- instructions -----------------------------------------------------------------------------
    def fixed(self) -> None:
        """An instruction with a fixed signature: its immediate, then its operands and result."""
        b = self.b
        for i, slot in enumerate(self.operand_types):
            self.set(slot, self.entry_field(f"pop{i}"))
        self.set(self.result_type, self.entry_field("push"))
        immediate = self.entry_field("immediate")
        switch = b.switch(immediate, self.fail)
        after = self.block("fixed_stack")
        for kind, emit_immediate in {
            Immediate.NONE: lambda: None,
            Immediate.MEMARG: self.memarg,
            Immediate.MEMARG_LANE: self.memarg_lane,
            Immediate.LANE: self.lane,
            Immediate.I32: lambda: self.read_signed(32),
            Immediate.I64: lambda: self.read_signed(64),
            Immediate.F32: lambda: self.skip(4),
            Immediate.F64: lambda: self.skip(8),
            Immediate.V128: lambda: self.skip(16),
            Immediate.SHUFFLE: self.shuffle,
            Immediate.MEMORY: self.memory_operation,
            Immediate.MEMORY_COPY: self.memory_copy,
            Immediate.MEMORY_INIT: self.memory_init,
            Immediate.DATA: self.data_index,
            Immediate.ELEM: lambda: self.read_index(self.fields["elems"]),
            Immediate.TABLE_INIT: self.table_init,
            Immediate.TABLE_COPY: self.table_copy,
        }.items():
            block = self.block(f"imm_{kind.name.lower()}")
            switch.add_case(ir.Constant(I64, int(kind)), block)
            b.position_at_end(block)
            emit_immediate()
            b.branch(after)
        b.position_at_end(after)
        pops = self.entry_field("pops")
        for i in (2, 1, 0):
            self.when(b.icmp_unsigned(">", pops, const(i)), self.operand_popper(i))
        self.when(
            b.icmp_unsigned("!=", self.entry_field("pushes"), const(0)), lambda: self.push(self.get(self.result_type))
        )

    def operand_popper(self, index: int) -> Callable[[], None]:
        def pop_operand() -> None:
            self.pop(self.get(self.operand_types[index]))

        return pop_operand

    def memarg_lane(self) -> None:
        self.memarg()
        self.lane()

    def memory_reference(self) -> ir.Value:
        """The memory index of memory.size/grow/fill/copy/init: any known memory with multiple
        memories (Wasm 3.0), else the zero byte that names memory 0.  Its address type's code."""
        multi = self.b.icmp_unsigned("!=", self.fields["multi_memory"], const(0))
        self.set(self.memory_index, const(0))
        self.when(multi, lambda: self.set(self.memory_index, self.read_index(self.fields["memories"])))
        self.when(self.b.not_(multi), self.need_memory_zero_byte)
        return self.byte_at(self.fields["memory_addresses"], self.get(self.memory_index))

    def need_memory_zero_byte(self) -> None:
        self.need_memory()
        self.zero_byte()

    def memory_operation(self) -> None:
        """memory.size/grow/fill: the memory's address type for the size, the delta and fill's range
        (fill's value stays i32)."""
        address = self.memory_reference()
        b = self.b
        pops = self.entry_field("pops")
        self.when(b.icmp_unsigned(">=", pops, const(1)), lambda: self.set(self.operand_types[0], address))
        self.when(b.icmp_unsigned("==", pops, const(3)), lambda: self.set(self.operand_types[2], address))
        pushes = b.icmp_unsigned("!=", self.entry_field("pushes"), const(0))
        self.when(pushes, lambda: self.set(self.result_type, address))

    def memory_copy(self) -> None:
        self.copy_operands(self.memory_reference(), self.memory_reference())

    def copy_operands(self, destination: ir.Value, source: ir.Value) -> None:
        """memory.copy/table.copy: each range in its own address type, the length in the narrower."""
        b = self.b
        wide = const(NumType.I64.value)
        both_wide = b.and_(b.icmp_unsigned("==", destination, wide), b.icmp_unsigned("==", source, wide))
        self.set(self.operand_types[0], destination)
        self.set(self.operand_types[1], source)
        self.set(self.operand_types[2], b.select(both_wide, wide, const(NumType.I32.value)))

    def memory_init(self) -> None:
        self.data_index()
        self.set(self.operand_types[0], self.memory_reference())

    def table_size(self) -> None:
        self.table_type()
        self.push(self.table_address())

    def need_memory(self) -> None:
        self.refuse_if(self.b.icmp_unsigned("==", self.fields["memories"], const(0)))

    def zero_byte(self) -> None:
        self.refuse_if(self.b.icmp_unsigned("!=", self.read_byte(), const(0)))

    def memarg(self) -> None:
        """Alignment flags, a memory index when bit 6 is set (multiple memories only), the offset.
        Flags of 128 and more leave an alignment above any natural one, so they are refused."""
        b = self.b
        flags = self.read_unsigned()
        named = b.and_(
            b.icmp_unsigned("!=", self.fields["multi_memory"], const(0)),
            b.icmp_unsigned("!=", b.and_(flags, const(64)), const(0)),
        )
        memory = self.memory_index
        self.set(memory, const(0))
        self.when(named, lambda: self.set(memory, self.read_unsigned()))
        align = b.select(named, b.sub(flags, const(64)), flags)
        # The offset: a u64 with memory64 (an i32 memory's must be below 2^32), else a u32.
        memory64 = b.icmp_unsigned("!=", self.fields["memory64"], const(0))
        self.when(memory64, lambda: self.set(self.offset, self.read_unsigned(64)))
        self.when(b.not_(memory64), lambda: self.set(self.offset, self.read_unsigned()))
        self.refuse_if(b.icmp_unsigned(">=", self.get(memory), self.fields["memories"]))
        self.refuse_if(b.icmp_unsigned(">", align, self.entry_field("align")))
        address = self.byte_at(self.fields["memory_addresses"], self.get(memory))
        narrow = b.icmp_unsigned("!=", address, const(NumType.I64.value))
        self.refuse_if(b.and_(narrow, b.icmp_unsigned(">", self.get(self.offset), const(0xFFFFFFFF))))
        self.set(self.operand_types[0], address)  # loads', stores' and lane accesses' address

    def lane(self) -> None:
        self.refuse_if(self.b.icmp_unsigned(">=", self.read_byte(), self.entry_field("lanes")))

    def shuffle(self) -> None:
        self.count_loop(const(16), lambda _: self.refuse_if(self.b.icmp_unsigned(">=", self.read_byte(), const(32))))

    def data_index(self) -> None:
        self.refuse_if(self.b.icmp_unsigned("==", self.fields["has_data_count"], const(0)))
        self.read_index(self.fields["data_count"])

    def table_type(self) -> ir.Value:
        """Read a table index: the table's element type (its address type: ``table_address``)."""
        index = self.read_index(self.fields["tables"])
        self.set(self.table_index, index)
        return self.byte_at(self.fields["table_types"], index)

    def table_address(self) -> ir.Value:
        """The address type code of the table ``table_type`` read last (i64 for a 64-bit table)."""
        return self.byte_at(self.fields["table_addresses"], self.get(self.table_index))

    def table_init(self) -> None:
        element = self.byte_at(self.fields["elem_types"], self.read_index(self.fields["elems"]))
        self.refuse_if(self.b.icmp_unsigned("!=", element, self.table_type()))
        self.set(self.operand_types[0], self.table_address())

    def table_copy(self) -> None:
        destination = self.table_type()
        destination_address = self.table_address()
        source = self.table_type()
        self.refuse_if(self.b.icmp_unsigned("!=", destination, source))
        self.copy_operands(destination_address, self.table_address())

    def open_block(self, kind: int) -> None:
        params, n_params, results, n_results = self.read_block_type()
        if kind == Kind.IF:
            self.pop(const(NumType.I32.value))
        self.pop_types(params, n_params)
        self.enter(kind, params, n_params, results, n_results)

    def else_(self) -> None:
        self.refuse_if(self.b.icmp_unsigned("!=", self.frame("kind"), const(Kind.IF)))
        _, params, n_params, results, n_results = self.leave()
        self.enter(Kind.ELSE, params, n_params, results, n_results)

    def end_(self) -> None:
        b = self.b
        kind, params, n_params, results, n_results = self.leave()
        # An if without else passes its parameters through: they must be its results.
        self.when(
            b.icmp_unsigned("==", kind, const(Kind.IF)), lambda: self.same_types(params, n_params, results, n_results)
        )
        self.push_types(results, n_results)
        finished, more = self.block("final_end"), self.block("inner_end")
        b.cbranch(b.icmp_unsigned("==", self.get(self.csp), const(0)), finished, more)
        b.position_at_end(finished)
        self.refuse_if(b.icmp_unsigned("!=", self.get(self.pos), self.end))
        b.ret(ir.Constant(I32, 0))
        b.position_at_end(more)

    def br(self) -> None:
        self.pop_types(*self.label_types(self.read_unsigned()))
        self.mark_unreachable()

    def br_if(self) -> None:
        types, count = self.label_types(self.read_unsigned())
        self.pop(const(NumType.I32.value))
        self.pop_types(types, count)
        self.push_types(types, count)

    def br_table(self) -> None:
        b = self.b
        count = self.read_unsigned()
        self.refuse_if(b.icmp_unsigned(">", count, b.sub(self.end, self.get(self.pos))))
        self.refuse_if(b.icmp_unsigned(">", count, const(MAX_BR_TABLE_TARGETS)))  # Python names the limit
        labels_at = self.get(self.pos)
        self.count_loop(count, lambda _: self.read_unsigned())
        default_types, default_count = self.label_types(self.read_unsigned())
        after = self.get(self.pos)
        self.pop(const(NumType.I32.value))
        self.set(self.pos, labels_at)

        def label(_: ir.Value) -> None:
            types, n = self.label_types(self.read_unsigned())
            self.refuse_if(b.icmp_unsigned("!=", n, default_count))
            self.check_top(types, n)

        self.count_loop(count, label)
        self.set(self.pos, after)
        self.pop_types(default_types, default_count)
        self.mark_unreachable()

    def return_(self) -> None:
        self.pop_types(self.results, self.n_results)
        self.mark_unreachable()

    def call(self) -> None:
        index = self.read_index(self.fields["funcs"])
        params, n_params, results, n_results = self.function_type(self.i32_at(self.fields["func_types"], index))
        self.pop_types(params, n_params)
        self.push_types(results, n_results)

    def call_indirect(self) -> None:
        params, n_params, results, n_results = self.indirect_type()
        self.pop_types(params, n_params)
        self.push_types(results, n_results)

    def indirect_type(self) -> tuple[ir.Value, ir.Value, ir.Value, ir.Value]:
        """Read call_indirect's immediates, check its table and pop the element index: the callee's type."""
        type_index = self.read_index(self.fields["types"])
        element = self.table_type()
        self.refuse_if(self.b.icmp_unsigned("!=", element, const(type_code(FUNCREF))))
        self.pop(self.table_address())
        return self.function_type(type_index)

    def tail_call(self, params: ir.Value, n_params: ir.Value, results: ir.Value, n_results: ir.Value) -> None:
        """A tail call's callee must return what this function returns; then it is ``return``-like."""
        self.same_types(results, n_results, self.results, self.n_results)
        self.pop_types(params, n_params)
        self.mark_unreachable()

    def return_call(self) -> None:
        index = self.read_index(self.fields["funcs"])
        self.tail_call(*self.function_type(self.i32_at(self.fields["func_types"], index)))

    def return_call_indirect(self) -> None:
        self.tail_call(*self.indirect_type())

    def tag_params(self, tag: ir.Value) -> tuple[ir.Value, ir.Value]:
        params, n_params, _, _ = self.function_type(self.i32_at(self.fields["tag_types"], tag))
        return params, n_params

    def throw(self) -> None:
        self.pop_types(*self.tag_params(self.read_index(self.fields["tags"])))
        self.mark_unreachable()

    def throw_ref(self) -> None:
        self.pop(const(type_code(EXNREF)))
        self.mark_unreachable()

    def try_table(self) -> None:
        b = self.b
        params, n_params, results, n_results = self.read_block_type()

        def clause(_: ir.Value) -> None:
            kind = self.read_byte()
            self.refuse_if(b.icmp_unsigned(">", kind, const(3)))
            tagged = b.icmp_unsigned("<=", kind, const(1))
            with_ref = b.or_(b.icmp_unsigned("==", kind, const(1)), b.icmp_unsigned("==", kind, const(3)))
            payload = self.variable("payload", const(0))
            payload_at = self.variable("payload_at", b.ptrtoint(self.fields["type_data"], I64))

            def read_tag() -> None:
                types, count = self.tag_params(self.read_index(self.fields["tags"]))
                self.set(payload_at, b.ptrtoint(types, I64))
                self.set(payload, count)

            self.when(tagged, read_tag)
            label, n_label = self.label_types(self.read_unsigned())
            carried = self.get(payload)
            self.refuse_if(b.icmp_unsigned("!=", n_label, b.add(carried, b.zext(with_ref, I64))))
            self.count_loop(
                carried,
                lambda i: self.refuse_if(
                    b.icmp_unsigned(
                        "!=", self.byte_at(b.inttoptr(self.get(payload_at), PTR), i), self.byte_at(label, i)
                    )
                ),
            )
            self.when(
                with_ref,
                lambda: self.refuse_if(b.icmp_unsigned("!=", self.byte_at(label, carried), const(type_code(EXNREF)))),
            )

        self.count_loop(self.read_unsigned(), clause)
        self.pop_types(params, n_params)
        self.enter(Kind.TRY_TABLE, params, n_params, results, n_results)

    def either_kind(self, kind: ir.Value, first: int, second: int) -> ir.Value:
        b = self.b
        return b.or_(b.icmp_unsigned("==", kind, const(first)), b.icmp_unsigned("==", kind, const(second)))

    def handler(self, kind: int) -> None:
        """Legacy ``catch x``/``catch_all``: ends a try's body or its previous catch; the handler
        gets the tag's values and keeps the try's results."""
        self.refuse_if(self.b.not_(self.either_kind(self.frame("kind"), Kind.TRY, Kind.CATCH)))
        _, _, _, results, n_results = self.leave()
        params, n_params = self.fields["type_data"], const(0)
        if kind == Kind.CATCH:
            params, n_params = self.tag_params(self.read_index(self.fields["tags"]))
        self.enter(kind, params, n_params, results, n_results)

    def delegate(self) -> None:
        """Legacy ``delegate l``: ends a try's body (no handler before it); l counts from outside."""
        b = self.b
        self.refuse_if(b.icmp_unsigned("!=", self.frame("kind"), const(Kind.TRY)))
        _, _, _, results, n_results = self.leave()
        self.refuse_if(b.icmp_unsigned(">=", self.read_unsigned(), self.get(self.csp)))
        self.push_types(results, n_results)

    def rethrow(self) -> None:
        """Legacy ``rethrow l``: l must be a catch or catch_all handler's label."""
        depth = self.read_unsigned()
        self.refuse_if(self.b.icmp_unsigned(">=", depth, self.get(self.csp)))
        self.refuse_if(self.b.not_(self.either_kind(self.frame("kind", depth), Kind.CATCH, Kind.CATCH_ALL)))
        self.mark_unreachable()

    def select(self) -> None:
        b = self.b
        self.pop(const(NumType.I32.value))
        first = self.pop()
        second = self.pop()
        for operand in (first, second):
            known = b.icmp_unsigned("!=", operand, const(0))
            self.refuse_if(b.and_(known, b.not_(self.is_one_of(operand, NUMERIC_OR_VECTOR))))
        both = b.and_(b.icmp_unsigned("!=", first, const(0)), b.icmp_unsigned("!=", second, const(0)))
        self.refuse_if(b.and_(both, b.icmp_unsigned("!=", first, second)))
        self.push(b.select(b.icmp_unsigned("!=", first, const(0)), first, second))

    def select_t(self) -> None:
        self.refuse_if(self.b.icmp_unsigned("!=", self.read_unsigned(), const(1)))
        code = self.read_value_type()
        self.pop(const(NumType.I32.value))
        self.pop(code)
        self.pop(code)
        self.push(code)

    def local_type(self) -> ir.Value:
        return self.byte_at(self.fields["locals"], self.read_index(self.local_count))

    def local_tee(self) -> None:
        code = self.local_type()
        self.pop(code)
        self.push(code)

    def global_get(self) -> None:
        index = self.read_index(self.fields["globals"])
        self.push(self.byte_at(self.fields["global_types"], index))

    def global_set(self) -> None:
        index = self.read_index(self.fields["globals"])
        self.refuse_if(self.b.icmp_unsigned("==", self.byte_at(self.fields["global_mutable"], index), const(0)))
        self.pop(self.byte_at(self.fields["global_types"], index))

    def ref_is_null(self) -> None:
        operand = self.pop()
        known = self.b.icmp_unsigned("!=", operand, const(0))
        self.refuse_if(self.b.and_(known, self.b.not_(self.is_one_of(operand, REFERENCES))))
        self.push(const(NumType.I32.value))

    def ref_func(self) -> None:
        index = self.read_index(self.fields["funcs"])
        self.refuse_if(self.b.icmp_unsigned("==", self.byte_at(self.fields["declared"], index), const(0)))
        self.push(const(type_code(FUNCREF)))

    def table_get(self) -> None:
        element = self.table_type()
        self.pop(self.table_address())
        self.push(element)

    def table_set(self) -> None:
        element = self.table_type()
        self.pop(element)
        self.pop(self.table_address())

    def table_grow(self) -> None:
        element = self.table_type()
        address = self.table_address()
        self.pop(address)
        self.pop(element)
        self.push(address)

    def table_fill(self) -> None:
        element = self.table_type()
        address = self.table_address()
        self.pop(address)
        self.pop(element)
        self.pop(address)


_COUNTS = frozenset(
    (
        "types",
        "funcs",
        "globals",
        "tables",
        "memories",
        "data_count",
        "has_data_count",
        "elems",
        "tags",
        "exceptions",
        "multi_memory",
        "max_locals",
        "memory64",
    )
)


def validator_module(name: str, triple: str) -> ir.Module:
    return ValidatorEmitter(name, triple).emit()
