"""Component functions: ``canon lift`` (core → component) and ``canon lower`` (component → core).

A component function takes and returns Python values (``wasmbox.canonical_abi.values``). A lifted function
lowers its arguments into its instance's memory and core values, calls the core function, lifts the results
and runs ``post-return``; a lowered function is the mirror image, a core host function that lifts its
arguments from the calling instance, calls the component function and lowers the result back. A call from
one component into another is a lowered function calling a lifted one, with Python values in between.

The rules the canonical ABI adds around a call hold here: an instance cannot be re-entered while it runs
(``may_enter``); borrowed handles a call receives must be dropped before it returns; handles lent to a call
cannot be dropped or moved until it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..canonical_abi import MAX_FLAT_PARAMS, MAX_FLAT_RESULTS, AbiContext, Err, Ok, shape_of
from ..canonical_abi.codec import HandleHooks, lift_values, lower_values
from ..canonical_abi.shapes import HandleShape, Shape
from ..errors import Trap
from ..ir.types import F32, F64, I32, I64, FuncType, ValType
from ..wit.model import ResultOf, TypeDef
from .resources import CallScope, ResourceHandle, ResourceValue, check_handle, runtime_resource
from .type_space import FuncSignature

if TYPE_CHECKING:
    from .instance import ComponentInstance

_CORE_TYPES: dict[str, ValType] = {"i32": I32, "i64": I64, "f32": F32, "f64": F64}


class ComponentFunction(Protocol):
    """What every component function offers: its signature and a call with Python values."""

    signature: FuncSignature

    def call_values(self, args: Sequence[Any]) -> list[Any]: ...


class CanonicalOptions:
    """``canon lift``/``lower`` options, resolved to the core items they name."""

    def __init__(
        self,
        memory: Any = None,
        realloc: Any = None,
        post_return: Any = None,
        string_encoding: str = "utf8",
    ) -> None:
        self.memory = memory
        self.realloc = realloc
        self.post_return = post_return
        self.string_encoding = string_encoding

    def context(self, handles: HandleHooks) -> AbiContext:
        realloc = None
        if self.realloc is not None:
            core_realloc = self.realloc

            def realloc(old: int, old_size: int, alignment: int, size: int) -> int:
                return int(core_realloc(old, old_size, alignment, size)) % (1 << 32)

        return AbiContext(self.memory, realloc, self.string_encoding, 4, handles)


class InstanceHandles:
    """Handle hooks for values crossing into or out of one component instance during one call."""

    def __init__(self, instance: ComponentInstance, scope: CallScope) -> None:
        self.instance = instance
        self.scope = scope

    def lift(self, shape: HandleShape, index: int) -> Any:
        if shape.kind != "handle" or shape.resource is None:
            raise Trap("unsupported", f"{shape.kind}s are not supported yet")
        resource = runtime_resource(shape.resource)
        table = self.instance.handles
        if shape.borrowed:
            handle = table.get(index)
            check_handle(handle, resource, index)
            if handle.own:
                handle.lends += 1
                self.scope.lenders.append(handle)
            return ResourceValue(resource, handle.rep)
        handle = table.get(index)
        check_handle(handle, resource, index)
        if not handle.own:
            raise Trap("not an owning handle", "cannot pass a borrowed handle as an owned one")
        if handle.lends:
            raise Trap("resource has borrows", "cannot remove owned resource while borrowed")
        table.remove(index)
        resource.host_receives(handle.rep)
        return ResourceValue(resource, handle.rep)

    def lower(self, shape: HandleShape, value: Any) -> int:
        if shape.kind != "handle" or shape.resource is None:
            raise Trap("unsupported", f"{shape.kind}s are not supported yet")
        resource = runtime_resource(shape.resource)
        value = getattr(value, "resource_value", value)  # a typed binding's resource object stands for its value
        if not isinstance(value, ResourceValue) or value.resource is not resource:
            raise TypeError(f"expected a resource of type `{resource.name}`, got {value!r}")
        if shape.borrowed:
            if resource.owner is self.instance:
                return value.rep  # the implementer gets the representation itself
            self.scope.borrows += 1
            return self.instance.handles.add(ResourceHandle(resource, value.rep, own=False, scope=self.scope))
        resource.host_releases(value.rep)
        return self.instance.handles.add(ResourceHandle(resource, value.rep, own=True))


def _shapes(signature: FuncSignature) -> tuple[list[Shape], list[Shape]]:
    params = [shape_of(type_) for _, type_ in signature.params]
    results = [] if signature.result is None else [shape_of(signature.result)]
    return params, results


def _core_results(value: Any, count: int) -> list[Any]:
    if count == 0:
        return []
    if count == 1:
        return [value]
    return list(value)


class LiftedFunction:
    """``canon lift``: a core function of ``instance`` made a component function."""

    def __init__(
        self, instance: ComponentInstance, core: Any, signature: FuncSignature, options: CanonicalOptions
    ) -> None:
        self.instance = instance
        self.core = core
        self.signature = signature
        self.options = options
        self.param_shapes, self.result_shapes = _shapes(signature)
        flat_results = sum(len(shape.flat) for shape in self.result_shapes)
        self.core_result_count = 1 if flat_results > MAX_FLAT_RESULTS else flat_results

    def call_values(self, args: Sequence[Any]) -> list[Any]:
        instance = self.instance
        if instance.running:
            raise Trap("cannot enter component instance", "cannot enter component instance: it is running")
        if instance.poisoned:
            raise Trap("cannot enter component instance", "cannot enter component instance: it trapped earlier")
        scope = CallScope()
        cx = self.options.context(InstanceHandles(instance, scope))
        flat_args = lower_values(cx, args, self.param_shapes, MAX_FLAT_PARAMS)
        instance.running = True
        try:
            core_results = _core_results(self.core(*flat_args), self.core_result_count)
            results = lift_values(cx, core_results, self.result_shapes, MAX_FLAT_RESULTS)
            if self.options.post_return is not None:
                instance.may_leave = False
                try:
                    self.options.post_return(*core_results)
                finally:
                    instance.may_leave = True
            scope.finish()
        except Trap:
            instance.poisoned = True
            raise
        finally:
            instance.running = False
        return results

    def __call__(self, *args: Any) -> Any:
        """Call with Python values; a ``result`` comes back as its ok value, its error raised as ``Err``."""
        return unwrap_result(self.signature, self.call_values(args))


def unwrap_result(signature: FuncSignature, results: list[Any]) -> Any:
    if not results:
        return None
    value = results[0]
    result_type = signature.result
    if isinstance(result_type, TypeDef) and isinstance(result_type.dealias(), TypeDef):
        target = result_type.dealias()
        assert isinstance(target, TypeDef)
        if isinstance(target.kind, ResultOf):
            if isinstance(value, Err):
                raise value
            assert isinstance(value, Ok)
            return value.value
    return value


class HostFunction:
    """A Python function given as a component import, with the type the import declares."""

    def __init__(self, function: Callable[..., Any], signature: FuncSignature, name: str) -> None:
        self.function = function
        self.signature = signature
        self.name = name

    def call_values(self, args: Sequence[Any]) -> list[Any]:
        result_type = self.signature.result
        target = result_type.dealias() if isinstance(result_type, TypeDef) else result_type
        returns_result = isinstance(target, TypeDef) and isinstance(target.kind, ResultOf)
        try:
            value = self.function(*args)
        except Err as error:
            if not returns_result:
                raise Trap("host function failed", f"host function {self.name} raised Err({error.value!r})") from None
            return [error]
        except (Trap, TypeError) as error:
            if isinstance(error, Trap):
                raise
            raise Trap("host function failed", f"host function {self.name} raised TypeError: {error}") from error
        if result_type is None:
            return []
        if returns_result and not isinstance(value, Ok | Err):
            value = Ok(value)
        return [value]


def lower_function(caller: ComponentInstance, callee: ComponentFunction, options: CanonicalOptions) -> Any:
    """``canon lower``: ``callee`` as a core host function of the calling instance (an API ``Func``)."""
    from ..api import Func

    param_shapes, result_shapes = _shapes(callee.signature)
    flat_params = [core for shape in param_shapes for core in shape.flat]
    flat_results = [core for shape in result_shapes for core in shape.flat]
    params_in_memory = len(flat_params) > MAX_FLAT_PARAMS
    results_in_memory = len(flat_results) > MAX_FLAT_RESULTS
    core_params = ["i32"] if params_in_memory else flat_params
    core_results = flat_results
    if results_in_memory:
        core_params = [*core_params, "i32"]
        core_results = []
    core_type = FuncType(tuple(_CORE_TYPES[c] for c in core_params), tuple(_CORE_TYPES[c] for c in core_results))

    callee_instance = callee.instance if isinstance(callee, LiftedFunction) else None
    if callee_instance is not None and (callee_instance.contains(caller) or caller.contains(callee_instance)):
        # A parent and a component nested in it may not call each other (for now: CanonicalABI.md, "may_enter").
        def refuse(*core_args: Any) -> Any:
            raise Trap("cannot enter component instance", "cannot enter component instance: a parent and its child")

        return Func(None, core_type, refuse)

    def trampoline(*core_args: Any) -> Any:
        check_may_leave(caller)
        scope = CallScope()
        cx = options.context(InstanceHandles(caller, scope))
        unsigned = [_unsigned(value, kind) for value, kind in zip(core_args, core_params, strict=True)]
        out_pointer = unsigned.pop() if results_in_memory else None
        args = lift_values(cx, unsigned, param_shapes, MAX_FLAT_PARAMS)
        was_running = caller.running
        caller.running = True  # the caller cannot be re-entered while it waits
        try:
            results = callee.call_values(args)
        finally:
            caller.running = was_running
        scope.finish()
        flat = lower_values(cx, results, result_shapes, MAX_FLAT_RESULTS, out_pointer)
        if not core_results:
            return None
        return flat[0] if len(flat) == 1 else tuple(flat)

    return Func(None, core_type, trampoline)


def check_may_leave(instance: ComponentInstance) -> None:
    if not instance.may_leave:
        raise Trap("cannot leave component instance", "cannot leave component instance during post-return")


def _unsigned(value: Any, kind: str) -> Any:
    if kind == "i32":
        return int(value) % (1 << 32)
    if kind == "i64":
        return int(value) % (1 << 64)
    return value
