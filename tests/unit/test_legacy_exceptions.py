"""Legacy exception handling (the legacy appendix of Wasm 3.0): try, catch, catch_all, delegate, rethrow.

The toolchain keeps them as they are; the engines run them lowered to try_table and throw_ref
(``ir.legacy_exceptions``), which must not show: escaping exceptions, trap backtraces and observed
positions are those of the original instructions.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from wasmbox import Instance, Module, Store, Trap
from wasmbox.binary.decode import body_instruction_offsets, decode_module
from wasmbox.binary.encode import encode_module
from wasmbox.engines.interp import translation
from wasmbox.engines.translation_worker import TranslationWorker
from wasmbox.errors import MalformedError, ValidationError, WasmException
from wasmbox.inspect.objdump import objdump
from wasmbox.ir import instructions as ins
from wasmbox.ir.instructions import ALL_FEATURES, LEGACY_EXCEPTIONS, WASM_2_0, Catch
from wasmbox.ir.legacy_exceptions import LEGACY_OPS, engine_view, legacy_lowering
from wasmbox.ir.module import Module as ModuleIR
from wasmbox.ir.types import EXNREF, ValType
from wasmbox.runtime.observer import Observer
from wasmbox.text.parser import parse_module_text
from wasmbox.text.printer import print_module
from wasmbox.validate import Context, operand_types, validate_function, validate_module

ENGINES = ["interp", "baseline", "native", "tiered"]

# Every legacy form, folded and plain; delegates to a block, a try's body, a handler and the caller.
SOURCE = """(module
  (tag $e (export "e") (param i32))
  (tag $other)
  (type $pair (func (param i32 i32) (result i32)))
  (func $throw (param i32) (throw $e (local.get 0)))
  (func (export "catch") (param i32) (result i32)
    (try $t (result i32)
      (do (try (result i32) (do (call $throw (local.get 0)) (i32.const 0)) (delegate $t)))
      (catch $other (i32.const -1))
      (catch $e (i32.const 100) (i32.add))
      (catch_all (i32.const -2))))
  (func (export "rethrow") (param i32)
    try
      local.get 0
      call $throw
    catch $e
      drop
      try
        i32.const 1
        br_if 0
      catch_all
        rethrow 0
      end
      rethrow 0
    end)
  (func (export "to-caller") (param i32) (result i32)
    (block $b (result i32)
      (try (result i32) (do (call $throw (local.get 0)) (i32.const 1)) (delegate 1))))
  (func (export "to-block") (param i32) (result i32)
    (try (result i32)
      (do (block (try (do (call $throw (local.get 0))) (delegate 0))) (i32.const 0))
      (catch_all (i32.const 7))))
  (func (export "from-handler") (param i32) (result i32)
    (try (result i32)
      (do (try (result i32)
            (do (call $throw (local.get 0)) (i32.const 0))
            (catch $e (drop) (try (do (rethrow 1)) (delegate 0)) (i32.const 5))))
      (catch $e (i32.const 1000) (i32.add))))
  (func (export "params") (param i32 i32) (result i32)
    (local.get 0) (local.get 1)
    (try (type $pair)
      (do (i32.add) (call $throw) (i32.const 0))
      (catch $e (i32.const 1) (i32.add))))
  (func (export "divide") (param i32) (result i32)
    (try (result i32) (do (i32.div_u (i32.const 10) (local.get 0))) (catch_all (i32.const -1)))))
"""


def exports_on(engine: str, source: str | bytes = SOURCE, observer: Observer | None = None) -> Any:
    return Instance(Store(engine=engine, observer=observer), Module(source)).exports


# --- the toolchain ------------------------------------------------------------------------------


def test_opcodes_and_feature() -> None:
    codes = {name: ins.BY_NAME[name].code for name in ("try", "catch", "rethrow", "delegate", "catch_all")}
    assert codes == {"try": 0x06, "catch": 0x07, "rethrow": 0x09, "delegate": 0x18, "catch_all": 0x19}
    assert {op.name for op in LEGACY_OPS} == set(codes)
    assert LEGACY_EXCEPTIONS in ALL_FEATURES and LEGACY_EXCEPTIONS not in WASM_2_0


def test_round_trip_text_binary_text() -> None:
    module = parse_module_text(SOURCE)
    validate_module(module)
    binary = encode_module(module)
    decoded = decode_module(binary)
    assert decoded == module
    text = print_module(decoded)
    assert encode_module(parse_module_text(text)) == binary
    assert print_module(parse_module_text(text)) == text
    for line in ("try (result i32)", "catch 1", "catch_all", "delegate 1", "rethrow 0", "try (type 0)"):
        assert line in text


def test_objdump_indents_handlers_like_else() -> None:
    binary = encode_module(parse_module_text("(module (tag) (func try nop catch 0 try delegate 1 catch_all end))"))
    listing = [
        line.split("| ", 1)[1] for line in objdump(binary, "m.wasm", False, False, True).splitlines() if "| " in line
    ]
    assert listing == ["try", "  nop", "catch 0", "  try", "  delegate 1", "catch_all", "end", "end"]


def test_folded_and_plain_forms_are_the_same_instructions() -> None:
    folded = "(module (tag) (func (try $l (do (nop)) (catch 0 (rethrow $l)) (catch_all)) (try (do) (delegate 0))))"
    plain = "(module (tag) (func try $l nop catch 0 rethrow $l catch_all end try delegate 0))"
    assert parse_module_text(folded).funcs[0].body == parse_module_text(plain).funcs[0].body


@pytest.mark.parametrize(
    "text",
    [
        "(module (func (catch_all)))",
        "(module (func (try (do) (catch_all) (catch_all))))",
        "(module (func (try (do) (delegate))))",
        "(module (tag) (func try catch_all catch 0 end))",
        "(module (tag) (func try catch 0 delegate 0))",
    ],
)
def test_misplaced_handlers_are_malformed_text(text: str) -> None:
    with pytest.raises(MalformedError, match="unexpected token"):
        parse_module_text(text)


@pytest.mark.parametrize(
    "body",
    [
        b"\x07\x00\x0b",  # catch outside a try
        b"\x06\x40\x19\x07\x00\x0b\x0b",  # catch after catch_all
        b"\x06\x40\x07\x00\x18\x00\x0b",  # delegate after a catch
        b"\x02\x40\x18\x00\x0b",  # delegate closing a block
        b"\x04\x40\x19\x0b\x0b",  # catch_all in an if
    ],
)
def test_misplaced_handlers_are_malformed_binary(body: bytes) -> None:
    module = parse_module_text("(module (tag) (func))")
    binary = bytearray(encode_module(module))
    assert binary.endswith(b"\x0a\x04\x01\x02\x00\x0b")  # code: one entry, no locals, end
    entry = b"\x00" + body
    binary[-6:] = b"\x0a" + bytes((len(entry) + 2,)) + b"\x01" + bytes((len(entry),)) + entry
    with pytest.raises(MalformedError):
        decode_module(bytes(binary))


def test_wasm_2_0_does_not_know_the_opcodes() -> None:
    with pytest.raises(MalformedError, match="feature legacy-exceptions is not enabled"):
        parse_module_text("(module (func try end))", features=WASM_2_0)
    binary = encode_module(parse_module_text("(module (func try end))"))
    with pytest.raises(MalformedError, match="illegal opcode 06"):
        decode_module(binary, WASM_2_0)


def test_the_feature_is_switched_apart_from_try_table() -> None:
    """``legacy-exceptions`` builds on ``exceptions`` (tags); either may be read without the other's forms."""
    exceptions_only = WASM_2_0 | {ins.EXCEPTIONS}
    with pytest.raises(MalformedError, match="feature legacy-exceptions is not enabled"):
        Module(SOURCE, features=exceptions_only)
    module = Module(SOURCE, features=exceptions_only | {LEGACY_EXCEPTIONS})
    assert module.features == exceptions_only | {LEGACY_EXCEPTIONS}
    exports: Any = Instance(Store(), module).exports
    assert exports["catch"](5) == 105


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("(rethrow 0)", "invalid rethrow label"),
        ("(block (rethrow 0))", "invalid rethrow label"),
        ("(try (do (rethrow 0)) (catch_all))", "invalid rethrow label"),
        ("(try (do) (delegate 1))", "unknown label"),
        ("(try (do) (catch 1))", "unknown tag"),
        ("(try (result i32) (do (i32.const 1)) (catch 0))", "type mismatch"),
        ("(try (do) (catch 0 (drop) (drop)))", "type mismatch"),
    ],
)
def test_invalid_legacy_exception_handling(body: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_module(parse_module_text(f"(module (tag (param i32)) (func {body}))"))


def test_handlers_get_the_payload_and_rethrow_may_name_an_outer_handler() -> None:
    validate_module(
        parse_module_text(
            """(module (tag (param i32 i64))
              (func (result i32) (try (result i32) (do (i32.const 0)) (catch 0 (drop))))
              (func (try (do) (catch_all (try (do) (catch_all (rethrow 1)))))))"""
        )
    )


# --- the lowering ---------------------------------------------------------------------------------


def test_lowered_bodies_are_valid_and_free_of_legacy_instructions() -> None:
    module = parse_module_text(SOURCE)
    validate_module(module)
    view = engine_view(module)
    assert view is not module and view.binary == encode_module(module) and view.digest() == module.digest()
    context = Context(view)
    for function in view.funcs:
        assert not any(instr.op in LEGACY_OPS for instr in function.body)
        validate_function(context, view.types[function.type_index], function.locals, function.body)
    assert view.types == module.types  # new block types are written in place, not added


def test_rethrown_handlers_keep_their_exception_in_a_new_local() -> None:
    """Both handlers of "rethrow" are rethrown: each catches with its exnref, kept in a local after
    the function's own; each rethrow reads its handler's and stands for the original rethrow."""
    module = parse_module_text(SOURCE)
    view = engine_view(module)
    lowering = legacy_lowering(module)
    assert lowering is not None
    original, lowered = module.funcs[2].body, view.funcs[2].body
    assert view.funcs[2].locals == module.funcs[2].locals + [EXNREF] * 2
    throws = [position for position, instr in enumerate(lowered) if instr.op.name == "throw_ref"]
    rethrown = [lowered[position - 1] for position in throws]
    assert [instr.op.name for instr in rethrown] == ["local.get", "local.get"]
    assert sorted(instr.imm[0] for instr in rethrown) == [1, 2]  # after the parameter
    assert [original[lowering.original_position(2, position) or 0].op.name for position in throws] == ["rethrow"] * 2
    catches = [instr.imm[1] for instr in lowered if instr.op is ins.OP_TRY_TABLE]
    assert [[kind for kind, _, _ in clauses] for clauses in catches] == [[Catch.CATCH_REF], [Catch.CATCH_ALL_REF]]


def test_the_code_size_of_a_lazily_decoded_view_lowers_nothing() -> None:
    """What the tiers ask of a whole module (``code_size``, at a cold run's exit) is told from the original
    bodies' bytes: nothing is decoded or lowered for it (yosys: all 46,473 functions, ~10 s, before)."""
    from wasmbox.engines.native.engine import code_size

    binary = encode_module(parse_module_text(SOURCE))
    module = decode_module(binary, ALL_FEATURES, lazy=True)
    module.binary = binary  # (as load_module keeps it)
    view = engine_view(module)
    assert view is not module and not any(f.decoded for f in module.funcs + view.funcs)
    assert code_size(view) == code_size(module) > 0
    assert not any(f.decoded for f in module.funcs + view.funcs)


def test_modules_without_legacy_instructions_run_as_they_are() -> None:
    module = parse_module_text("(module (func (result i32) (i32.const 1)))")
    assert legacy_lowering(module) is None and engine_view(module) is module


# --- every engine -------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_handlers_delegates_and_rethrows(engine: str) -> None:
    exports = exports_on(engine)
    assert exports["catch"](5) == 105
    assert exports["to-block"](3) == 7
    assert exports["from-handler"](4) == 1004
    assert exports["params"](2, 3) == 6


# Delegates into a loop, into each arm of an if and into a try_table's body; a br_table crossing the
# blocks a delegate adds; a rethrow from blocks nested in a handler.
TARGETS = """(module
  (tag $e (param i32))
  (func $throw (param i32) (throw $e (local.get 0)))
  (func (export "loop") (param i32) (result i32)
    (try (result i32)
      (do (loop $l (result i32)
            (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))
            (try (do (call $throw (i32.const 7))) (delegate $l))
            (i32.const 0)))
      (catch $e (local.get 0) (i32.add))))
  (func (export "if") (param i32) (result i32)
    (try (result i32)
      (do (if (result i32) (local.get 0)
            (then (try (result i32)
                    (do (try (result i32) (do (call $throw (i32.const 1)) (i32.const 0)) (delegate 1)))
                    (catch $e (i32.const 100) (i32.add))))
            (else (try (result i32)
                    (do (try (result i32) (do (call $throw (i32.const 2)) (i32.const 0)) (delegate 1)))
                    (catch $e (i32.const 100) (i32.add))))))
      (catch $e (i32.const 1000) (i32.add))))
  (func (export "try_table") (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (try (result i32)
          (do (try (result i32) (do (call $throw (i32.const 3)) (i32.const 0)) (delegate 1)))
          (catch $e (i32.const 50) (i32.add))))))
  (func (export "br_table") (param i32) (result i32)
    (block $a (result i32)
      (block $b (result i32)
        (try $t (result i32)
          (do (try (do (nop)) (delegate $t))
              (br_table $a $b $t (i32.const 10) (local.get 0)))
          (catch_all (i32.const 0)))
        (i32.add (i32.const 1)))
      (i32.add (i32.const 2))))
  (func (export "rethrow-deep") (param i32) (result i32)
    (try (result i32)
      (do (try (result i32)
            (do (call $throw (local.get 0)) (i32.const 0))
            (catch $e (drop) (block (block (rethrow 2))) (i32.const 0))))
      (catch $e (i32.const 1000) (i32.add)))))
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_delegate_targets_and_branches_across_the_added_blocks(engine: str) -> None:
    exports = exports_on(engine, TARGETS)
    assert exports["loop"](3) == 7  # the loop ran down to 0, then the delegated exception left it
    assert (exports["if"](1), exports["if"](0)) == (1001, 1002)  # the handlers inside the arms are skipped
    assert exports["try_table"]() == 3  # caught by the try_table, not by the try between
    assert [exports["br_table"](i) for i in range(3)] == [10, 12, 13]
    assert exports["rethrow-deep"](5) == 1005


@pytest.mark.parametrize("engine", ENGINES)
def test_the_host_sees_an_escaping_legacy_exception_as_wasm_exception(engine: str) -> None:
    exports = exports_on(engine)
    for name in ("rethrow", "to-caller"):
        with pytest.raises(WasmException) as caught:
            exports[name](42)
        assert caught.value.payload == (42,)
        assert caught.value.tag is exports["e"]._instance  # the module's own tag


@pytest.mark.parametrize("engine", ENGINES)
def test_trap_backtraces_name_the_original_instruction(engine: str) -> None:
    """A trap inside a try's body is reported at i32.div_u's byte offset in the binary, though the
    engine ran a lowered body with blocks in front of it."""
    binary = encode_module(parse_module_text(SOURCE))
    exports = exports_on(engine, binary)
    assert exports["divide"](2) == 5
    with pytest.raises(Trap, match="integer divide by zero") as trap:
        exports["divide"](0)  # a trap is no exception: catch_all lets it through
    ir = decode_module(binary)
    function = ir.funcs[-1]
    position = next(i for i, instr in enumerate(function.body) if instr.op.name == "i32.div_u")
    assert function.body_offset is not None
    expected = body_instruction_offsets(binary, function.body_offset)[position]
    assert trap.value.frames[0].name == "func[7]"
    assert trap.value.frames[0].offset == expected


class Positions(Observer):
    wants_instructions = True

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    def instruction(self, func_index: int, position: int, stack: tuple[Any, ...], locals_: tuple[Any, ...]) -> None:
        self.seen.append((func_index, position))


def test_observers_see_original_positions_only() -> None:
    observer = Positions()
    exports = exports_on("tiered", observer=observer)
    assert exports["from-handler"](4) == 1004
    ir = parse_module_text(SOURCE)
    first = ir.num_imported_funcs()
    names = [(index, ir.funcs[index - first].body[position].op.name) for index, position in observer.seen]
    handler = [name for index, name in names if index == first + 5]
    # try, try, local.get, call (throws); caught by $e: drop, try, rethrow (delegated); caught by the
    # outer $e: i32.const, i32.add; the function's end.  Nothing the lowering added, no position twice.
    assert handler == ["try", "try", "local.get", "call", "drop", "try", "rethrow", "i32.const", "i32.add", "end"]


LOOPS = """(module
  (tag $e (param i32))
  (func $throw (param i32) (throw $e (local.get 0)))
  (func (export "sum") (param i32) (result i32) (local i32)
    (loop $next
      (try
        (do (call $throw (local.get 0)))
        (catch $e (local.get 1) (i32.add) (local.set 1)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if $next (local.get 0)))
    (local.get 1))
  (func (export "inside") (param i32) (result i32) (local i32)
    (try (result i32)
      (do
        (loop $next
          (try (do (call $throw (local.get 0))) (delegate 1))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br_if $next (local.get 0)))
        (i32.const -1))
      (catch $e (i32.const 1000) (i32.add))))
  (func (export "divide") (param i32) (result i32) (local i32)
    (loop $next
      (try
        (do (local.set 1 (i32.div_u (i32.const 100) (local.get 0))))
        (catch_all (rethrow 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if $next (i32.ge_s (local.get 0) (i32.const 0))))
    (local.get 1)))
"""


@pytest.mark.parametrize("mode", ["hot", "osr"])
def test_loops_with_legacy_handlers_move_up_the_tiers(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run long enough to move to the Python and machine code tiers ("hot"), or entering machine code
    at every loop with the frame as the baseline left it ("osr": the operand stack of the lowered
    body at its loop); results and the trap's offset are those of the original."""
    from wasmbox.engines import tiers
    from wasmbox.engines.native import available, engine

    if mode == "osr":
        if not available():
            pytest.skip("on-stack replacement enters machine code: it needs llvmlite")
        monkeypatch.setattr(engine, "LAZY_FUNCTIONS", 0)
        monkeypatch.setattr(tiers, "osr_at_every_loop", lambda index: True)
        monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 10**6)
    else:
        monkeypatch.setattr(tiers, "TRANSLATE_AFTER", 1)
    binary = encode_module(parse_module_text(LOOPS))
    exports = exports_on("tiered", binary)
    for _ in range(3):
        assert exports["sum"](2000) == 2000 * 2001 // 2
        assert exports["inside"](500) == 1500
    with pytest.raises(Trap, match="integer divide by zero") as trap:
        exports["divide"](300)
    function = decode_module(binary).funcs[-1]
    position = next(i for i, instr in enumerate(function.body) if instr.op.name == "i32.div_u")
    assert function.body_offset is not None
    assert trap.value.frames[0].offset == body_instruction_offsets(binary, function.body_offset)[position]


def test_the_translation_worker_lowers_as_the_main_process_does() -> None:
    """The worker decodes the module's bytes itself: it must lower them to the same bodies, or the
    code it sends back would not fit the frames (and positions) of the main process."""
    binary = encode_module(parse_module_text(SOURCE))
    view = engine_view(decode_module(binary))
    worker = TranslationWorker(binary, ALL_FEATURES)
    delivered: list[Any] = []
    arrived = threading.Event()

    def deliver(kind: str, code: Any, extra: Any) -> None:
        delivered.append((kind, code, extra))
        arrived.set()

    try:
        from_handler = 5
        assert worker.request("python", from_handler, False, 1.0, deliver)
        assert arrived.wait(120), "the worker sent nothing"
    finally:
        worker.close()
    kind, code, _ = delivered[0]
    expected, _, _ = translation(view, from_handler, view.func_types(), False)
    assert kind == "python" and code.co_code == expected.co_code and code.co_consts == expected.co_consts


def test_compiled_ahead_serialized_and_run_elsewhere() -> None:
    """``Module.compile`` makes the machine code of the lowered bodies; a deserialized module runs it."""
    from wasmbox.engines.native import available

    if not available():
        pytest.skip("machine code needs llvmlite")
    module = Module(SOURCE).compile()
    assert module.compiled
    again = Module.deserialize(module.serialize())
    assert again.compiled
    exports: Any = Instance(Store(engine="native"), again).exports
    assert (exports["catch"](5), exports["from-handler"](4)) == (105, 1004)


class Stacks(Observer):
    """Checks every observed operand stack against the original body's types at that position."""

    wants_instructions = True

    def __init__(self, module: ModuleIR) -> None:
        self.module = module
        self.types: dict[int, list[tuple[ValType | None, ...]]] = {}
        self.checked = 0

    def instruction(self, func_index: int, position: int, stack: tuple[Any, ...], locals_: tuple[Any, ...]) -> None:
        if func_index not in self.types:
            self.types[func_index] = operand_types(self.module, func_index)
        expected = self.types[func_index][position]
        assert len(stack) == len(expected), (func_index, position, stack, expected)
        function = self.module.funcs[func_index - self.module.num_imported_funcs()]
        assert len(locals_) == len(self.module.func_types()[func_index].params) + len(function.locals)
        self.checked += 1


@pytest.mark.parametrize(
    ("source", "calls"),
    [
        (SOURCE, [("catch", 5), ("to-block", 3), ("from-handler", 4), ("params", 2, 3), ("divide", 2)]),
        (TARGETS, [("loop", 3), ("if", 1), ("if", 0), ("try_table",), ("br_table", 2), ("rethrow-deep", 5)]),
        (LOOPS, [("sum", 20), ("inside", 5)]),
    ],
    ids=["forms", "targets", "loops"],
)
def test_observed_stacks_and_locals_are_the_originals(source: str, calls: list[tuple[Any, ...]]) -> None:
    """At every instruction an observer is told of, the stack holds as many values as the original
    body has there, and the locals are the function's own: the tracer and debugger type them so."""
    observer = Stacks(parse_module_text(source))
    exports = exports_on("tiered", source, observer)
    for name, *args in calls:
        exports[name](*args)
    assert observer.checked > 40
