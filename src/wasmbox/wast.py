"""Running ``.wast`` spec scripts, strictly, like the reference interpreter.

Results are compared bit for bit (floats by bit pattern, ``nan:canonical`` /
``nan:arithmetic`` by the spec's rules); an ``assert_trap`` must end in a
:class:`Trap` whose kind matches the expected message; ``assert_invalid`` and
``assert_malformed`` must fail with ``ValidationError`` / ``MalformedError``.
Nothing is skipped: a command the runtime cannot run counts as failed, except
commands that need a component instance, which count apart as *unsupported*
(components are decoded, parsed and validated, not yet instantiated).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import numeric
from .engines.registry import ENGINE_CLASSES
from .errors import Exhaustion, LinkError, MalformedError, Trap, ValidationError, WasmError, WasmException
from .ir.instructions import ALL_FEATURES
from .ir.module import Module
from .ir.types import (
    EXTERNREF,
    F32,
    F64,
    FUNCREF,
    I32,
    I64,
    V128,
    FuncType,
    GlobalType,
    HeapType,
    Limits,
    MemoryType,
    RefType,
    TableType,
    ValType,
)
from .runtime import gc_heap
from .runtime.instance import Extern, ModuleInstance, call_function, instantiate
from .runtime.memory import MemoryInstance
from .runtime.objects import FunctionInstance, GlobalInstance, TableInstance
from .runtime.sandbox import Sandbox
from .text.script import Action, Command, Value, parse_script
from .validate import validate_module

if TYPE_CHECKING:
    from .component.script import ComponentScript

ENGINES = ENGINE_CLASSES


class Unsupported(Exception):
    """A command wasmbox cannot run yet (component instantiation); counted apart, never as passed."""


@dataclass(frozen=True)
class ExternRef:
    """The host reference ``(ref.extern N)`` of the spec scripts."""

    number: int


def spectest_module() -> dict[str, Extern]:
    """The ``spectest`` host module every spec script may import from."""

    def printer(*args: object) -> None:
        return None

    def host(*params: ValType) -> FunctionInstance:
        return FunctionInstance(FuncType(params, ()), printer, name="print", host=True)

    return {
        "print": host(),
        "print_i32": host(I32),
        "print_i64": host(I64),
        "print_f32": host(F32),
        "print_f64": host(F64),
        "print_i32_f32": host(I32, F32),
        "print_f64_f64": host(F64, F64),
        "global_i32": GlobalInstance(GlobalType(I32), 666),
        "global_i64": GlobalInstance(GlobalType(I64), 666),
        "global_f32": GlobalInstance(GlobalType(F32), numeric.f32_round(666.6)),
        "global_f64": GlobalInstance(GlobalType(F64), 666.6),
        "table": TableInstance(TableType(FUNCREF, Limits(10, 20))),
        "table64": TableInstance(TableType(FUNCREF, Limits(10, 20), is_64=True)),
        "memory": MemoryInstance(MemoryType(Limits(1, 2))),
        "shared_memory": MemoryInstance(MemoryType(Limits(1, 2), shared=True)),  # threads
    }


ANYREF = RefType(True, HeapType.ANY)
# The classes of the run-time values each GC result pattern accepts.
GC_PATTERN_TYPES: dict[str, type | tuple[type, ...]] = {
    "ref.struct": gc_heap.Struct,
    "ref.array": gc_heap.Array,
    "ref.i31": gc_heap.I31,
    "ref.eq": (gc_heap.Struct, gc_heap.Array, gc_heap.I31),
    "ref.any": object,
}


def to_runtime(value: Value) -> object:
    t = value.type
    if t in (I32, I64):
        return value.value
    if t is F32:
        return numeric.f32_from_bits(value.value)  # type: ignore[arg-type]
    if t is F64:
        return numeric.f64_from_bits(value.value)  # type: ignore[arg-type]
    if t is EXTERNREF:
        return None if value.value is None else ExternRef(value.value)  # type: ignore[arg-type]
    if t is V128:
        return value.value
    if t is ANYREF and value.value is not None:  # ref.host N
        return gc_heap.Internalized(ExternRef(value.value))  # type: ignore[arg-type]
    return None


def _float_matches(bits: int, expected: Value, fmt_bits: int) -> bool:
    if fmt_bits == 32:
        exponent, quiet, sign_mask = 0x7F800000, 0x00400000, 0x7FFFFFFF
    else:
        exponent, quiet, sign_mask = 0x7FF0000000000000, 0x0008000000000000, 0x7FFFFFFFFFFFFFFF
    if expected.pattern == "nan:canonical":
        return bits & sign_mask == exponent | quiet
    if expected.pattern == "nan:arithmetic":
        return bits & (exponent | quiet) == exponent | quiet
    return bits == expected.value


def result_matches(actual: object, expected: Value) -> bool:
    t = expected.type
    if t in (I32, I64):
        return isinstance(actual, int) and int(actual) == expected.value
    if t is F32:
        return isinstance(actual, float) and _float_matches(numeric.f32_bits(actual), expected, 32)
    if t is F64:
        return isinstance(actual, float) and _float_matches(numeric.f64_bits(actual), expected, 64)
    if t is V128:
        if not isinstance(actual, bytes | bytearray) or len(actual) != 16:
            return False
        if expected.lanes is None or expected.shape is None:
            return bytes(actual) == expected.value
        width = 16 // len(expected.lanes)
        for i, lane in enumerate(expected.lanes):
            chunk = int.from_bytes(actual[i * width : (i + 1) * width], "little")
            if expected.shape.startswith("f"):
                if not _float_matches(chunk, lane, width * 8):
                    return False
            elif chunk != lane.value:
                return False
        return True
    if expected.pattern == "null":
        return actual is None
    if expected.pattern == "ref.func":
        return isinstance(actual, FunctionInstance)
    if expected.pattern == "ref.extern":
        return isinstance(actual, ExternRef | gc_heap.Externalized)
    if expected.pattern in GC_PATTERN_TYPES:
        return isinstance(actual, GC_PATTERN_TYPES[expected.pattern])
    if t is ANYREF and expected.value is not None:
        return actual == gc_heap.Internalized(ExternRef(expected.value))  # type: ignore[arg-type]
    if t is EXTERNREF:
        return actual == (None if expected.value is None else ExternRef(expected.value))  # type: ignore[arg-type]
    return actual is None if expected.value is None else actual == expected.value


def describe(value: object) -> str:
    if isinstance(value, float):
        return f"{value!r} (0x{numeric.f64_bits(value):016x})"
    return repr(value)


@dataclass
class ScriptResult:
    path: str
    passed: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    unsupported: int = 0
    unsupported_notes: list[str] = field(default_factory=list)
    engine: Any = None  # the engine that ran it (the native one records its fallbacks)


class ScriptRunner:
    """Runs the commands of one script against one engine."""

    def __init__(
        self, engine_name: str = "interp", features: frozenset[str] = ALL_FEATURES, sandbox: Sandbox | None = None
    ) -> None:
        self.engine = ENGINES[engine_name]()
        self.features = features
        self.sandbox = sandbox or Sandbox()
        self.registry: dict[str, dict[str, Extern]] = {"spectest": spectest_module()}
        self.instances: dict[str, ModuleInstance] = {}
        self.current: ModuleInstance | None = None
        self.definitions: dict[str, Module] = {}  # (module definition $M ...) by name
        self.last_definition: Module | None = None
        self.component_names: set[str] = set()  # components (and their definitions) by name
        self.current_is_component = False
        self.components: ComponentScript | None = None  # made at the first component command

    def imports(self) -> dict[tuple[str, str], Extern]:
        return {(module, name): extern for module, externs in self.registry.items() for name, extern in externs.items()}

    def instantiate(self, command: Command) -> ModuleInstance:
        assert command.module is not None
        module = command.module.load(self.features)
        validate_module(module)
        return instantiate(module, self.imports(), self.engine, self.sandbox)

    def load_component(self, command: Command) -> None:
        """Decode or parse a component and validate it."""
        from .component.validate import validate_component

        assert command.module is not None
        validate_component(command.module.load_component(self.features))

    def run_component(self, command: Command) -> None:
        """The component commands, run by :class:`~wasmbox.component.script.ComponentScript`; what it
        cannot run yet (async built-ins, ...) counts as :class:`Unsupported`."""
        from .component.script import ComponentScript
        from .component.type_space import ComponentUnsupported

        kind = command.kind
        name = command.module.name if command.module is not None else command.name
        if kind in ("component", "component_instance"):
            self.current_is_component = True
            self.current = None
            if kind == "component_instance" and command.name:
                self.component_names.add(command.name)
        if kind in ("component", "component_definition") and name:
            self.component_names.add(name)
        if self.components is None:
            self.components = ComponentScript(self.features)
        try:
            self.components.run(command)
        except ComponentUnsupported as error:
            raise Unsupported(str(error)) from None

    def targets_component(self, command: Command) -> bool:
        action = command.action
        if action is None or command.kind == "register":
            return False
        if action.module is None:
            return self.current_is_component
        return action.module in self.component_names

    def run(self, command: Command) -> None:
        """Run one command; raise AssertionError describing a failure."""
        kind = command.kind
        if kind.startswith("component"):
            self.run_component(command)
            return
        if command.module is not None and command.module.is_component:
            if kind in ("assert_invalid", "assert_malformed"):
                expected_error = ValidationError if kind == "assert_invalid" else MalformedError
                try:
                    self.load_component(command)
                except expected_error:
                    return
                except WasmError as error:
                    raise AssertionError(f"expected {expected_error.__name__}, got {error!r}") from None
                raise AssertionError(f"component accepted; expected {command.message!r}")
            self.run_component(command)  # assert_uninstantiable / assert_unlinkable of a component
            return
        if self.targets_component(command):
            self.run_component(command)
            return
        if kind == "module":
            self.current_is_component = False
            instance = self.instantiate(command)
            self.current = instance
            if command.module is not None and command.module.name:
                self.instances[command.module.name] = instance
        elif kind == "module_definition":
            assert command.module is not None
            module = command.module.load(self.features)
            validate_module(module)
            self.last_definition = module
            if command.module.name:
                self.definitions[command.module.name] = module
        elif kind == "module_instance":
            assert command.action is not None
            definition = self.definition_for(command.action.module)
            instance = instantiate(definition, self.imports(), self.engine, self.sandbox)
            self.current = instance
            self.current_is_component = False
            if command.name:
                self.instances[command.name] = instance
        elif kind == "register":
            assert command.action is not None and command.name is not None
            instance = self.instance_for(command.action.module)
            self.registry[command.name] = instance.exports
        elif kind == "action":
            assert command.action is not None
            self.perform(command.action)
        elif kind == "assert_return":
            assert command.action is not None
            results = self.perform(command.action)
            if command.alternatives is not None:
                if not any(self.results_match(results, option) for option in command.alternatives):
                    raise AssertionError(f"result {[describe(r) for r in results]} matches no alternative")
            elif not self.results_match(results, command.expected or []):
                expected = [self.show(e) for e in command.expected or []]
                raise AssertionError(f"result {[describe(r) for r in results]}, expected {expected}")
        elif kind in ("assert_trap", "assert_exhaustion"):
            assert command.action is not None
            expected_class = Exhaustion if kind == "assert_exhaustion" else Trap
            self.expect_trap(lambda: self.perform(command.action), expected_class, command.message or "")  # type: ignore[arg-type]
        elif kind == "assert_exception":
            assert command.action is not None
            try:
                self.perform(command.action)
            except WasmException:
                return
            raise AssertionError("returned normally; expected an uncaught exception")
        elif kind == "assert_uninstantiable":
            self.expect_trap(lambda: self.instantiate(command), Trap, command.message or "")
        elif kind == "assert_unlinkable":
            try:
                self.instantiate(command)
            except LinkError:
                return
            raise AssertionError(f"module linked; expected link error {command.message!r}")
        elif kind in ("assert_invalid", "assert_malformed"):
            assert command.module is not None
            expected_error = ValidationError if kind == "assert_invalid" else MalformedError
            try:
                validate_module(command.module.load(self.features))
            except expected_error:
                return
            except WasmError as error:
                raise AssertionError(f"expected {expected_error.__name__}, got {error!r}") from None
            raise AssertionError(f"module accepted; expected {command.message!r}")
        else:
            raise AssertionError(f"the runner does not support {kind}")

    @staticmethod
    def show(value: Value) -> str:
        return value.pattern or repr(value.value)

    def results_match(self, results: list[object], expected: list[Value]) -> bool:
        return len(results) == len(expected) and all(
            result_matches(r, e) for r, e in zip(results, expected, strict=True)
        )

    @staticmethod
    def expect_trap(run: Callable[[], object], expected: type[Trap], message: str) -> None:
        try:
            run()
        except expected as trap:
            if not str(trap).startswith(message):
                raise AssertionError(f"trapped with {trap.kind!r}, expected {message!r}") from None
            return
        except Trap as trap:
            raise AssertionError(f"trapped with {trap.kind!r} ({type(trap).__name__}), expected {message!r}") from None
        raise AssertionError(f"returned normally; expected trap {message!r}")

    def definition_for(self, name: str | None) -> Module:
        if name is None:
            if self.last_definition is None:
                raise AssertionError("no module defined")
            return self.last_definition
        if name not in self.definitions:
            raise AssertionError(f"unknown module definition {name}")
        return self.definitions[name]

    def instance_for(self, name: str | None) -> ModuleInstance:
        if name is None:
            if self.current is None:
                raise AssertionError("no module instantiated")
            return self.current
        if name not in self.instances:
            raise AssertionError(f"unknown module {name}")
        return self.instances[name]

    def perform(self, action: Action) -> list[object]:
        instance = self.instance_for(action.module)
        extern = instance.exports.get(action.name)
        if action.kind == "get":
            if not isinstance(extern, GlobalInstance):
                raise AssertionError(f"no exported global {action.name!r}")
            return [extern.value]
        if not isinstance(extern, FunctionInstance):
            raise AssertionError(f"no exported function {action.name!r}")
        result = call_function(extern, [to_runtime(arg) for arg in action.args])
        count = len(extern.type.results)
        if count == 0:
            return []
        if count > 1:
            return list(result)  # type: ignore[call-overload, no-any-return]
        return [result]


def run_script(
    path: Path, engine: str = "interp", features: frozenset[str] = ALL_FEATURES, sandbox: Sandbox | None = None
) -> ScriptResult:
    result = ScriptResult(str(path))
    runner = ScriptRunner(engine, features, sandbox)
    result.engine = runner.engine
    try:
        commands = parse_script(path.read_bytes(), str(path))
    except WasmError as error:
        result.failed += 1
        result.failures.append(f"{path}: cannot parse script: {error}")
        return result
    for command in commands:
        try:
            runner.run(command)
            result.passed += 1
        except Unsupported as reason:
            result.unsupported += 1
            result.unsupported_notes.append(f"{path}:{command.line}: {command.kind}: unsupported: {reason}")
        except Exception as error:  # noqa: BLE001 - every failure of a command is reported, none stops the run
            result.failed += 1
            result.failures.append(f"{path}:{command.line}: {command.kind}: {type(error).__name__}: {error}")
            if command.kind == "module":
                runner.current = None  # later commands on this module fail too
    return result
