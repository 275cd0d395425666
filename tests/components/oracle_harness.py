"""Running one script of calls on wasmbox and on wasmtime-py's ``wasmtime.component``, with the same host.

Values are written once, in a neutral form, and converted for each runtime by the *type* of the parameter as
wasmtime reports it (``Func.type``): wasmtime's types are the schema, so a wrong type in wasmbox shows as a
difference, not as an agreement with itself. Results come back the same way into the neutral form, which is
plain JSON:

- integers, bools, strings, chars as themselves; ``list<u8>`` as a list of ints; tuples as lists;
- floats as their bit patterns (``"f32:7fc00000"``), so -0.0 and NaN payloads are compared exactly;
- records as dicts by WIT label, variants as ``{"case": c, "value": v}``, enums as the case, flags as a sorted
  list, options as ``None`` or ``{"some": v}``, results as ``{"ok": v}`` or ``{"err": v}``;
- host resources (``sink``) as ``{"sink": rep}``; guest resources (``counter``) as ``{"counter": n}``, n counting
  the counters this side has seen, in order.

Every host import logs its call (arguments in the neutral form) and the host's destructor logs its drops; the
logs are compared as they are. Errors are compared as "this call failed" (the messages differ by design:
wasmtime's host API wraps them), with the message kept for the report.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "oracle:everything/host@0.1.0"
API = "oracle:everything/api@0.1.0"
SINK_TYPE = 7  # wasmtime's identifier of the host-defined resource type


@dataclass(frozen=True)
class Ref:
    """A resource an earlier step kept under ``name`` (see ``Call.keep``)."""

    name: str


@dataclass(frozen=True)
class NewSink:
    """A sink the host creates for this argument (its representation is the host's next number)."""

    prefix: str


@dataclass(frozen=True)
class Call:
    export: str
    args: tuple[Any, ...] = ()
    keep: str | None = None  # keep the (resource) result under this name
    fails: bool = False  # the call must fail (a trap, or a refusal before entering) on both runtimes


@dataclass(frozen=True)
class Drop:
    """The host drops a resource it owns."""

    name: str


Step = Call | Drop


class SinkHost:
    """The host's side of ``oracle:everything/host``: the same logic for both runtimes, logging every call."""

    def __init__(self) -> None:
        self.log: list[Any] = []
        self.sinks: dict[int, tuple[str, list[str]]] = {}
        self.next_rep = 100

    def new_sink(self, prefix: str, via: str) -> int:
        self.next_rep += 1
        self.sinks[self.next_rep] = (prefix, [])
        self.log.append([via, prefix, self.next_rep])
        return self.next_rep

    def write(self, rep: int, message: str) -> int:
        self.log.append(["sink.write", rep, message])
        messages = self.sinks[rep][1]
        messages.append(message)
        return len(messages)

    def name(self, rep: int) -> str:
        self.log.append(["sink.name", rep])
        return f"{self.sinks[rep][0]}#{rep}"

    def destroy(self, rep: int) -> None:
        self.log.append(["sink.destructor", rep])
        del self.sinks[rep]

    def message(self, text: str) -> None:
        self.log.append(["log", text])

    def mix(self, a: int, b: int, c: float, d: str, e: list[str], f: int | None) -> tuple[int, str]:
        self.log.append(["mix", a, b, float_bits(c, 32), d, e, f])
        return ((a * 1_000_003 + b) & 0xFFFF_FFFF_FFFF_FFFF, f"{d}{len(e)}{''.join(e)}{f}")

    def fetch(self, key: str) -> tuple[bool, bytes | str]:
        self.log.append(["fetch", key])
        if int(key.rsplit("-", 1)[1]) % 2 == 0:
            return True, key.encode()[-3:] + b"\x00\xff"
        return False, f"no {key} here"


def float_bits(value: float, width: int) -> str:
    """A float as its bits; every NaN as ``nan``: the canonical ABI lifts NaNs canonical (CanonicalABI.md,
    ``canonicalize_nan32``), wasmtime passes their bits through (wasmbox's are checked canonical apart)."""
    if math.isnan(value):
        return f"f{width}:nan"
    if width == 32:
        return "f32:" + struct.pack("<f", value)[::-1].hex()
    return "f64:" + struct.pack("<d", value)[::-1].hex()


def kind(ty: Any) -> str:
    return type(ty).__name__


def is_bytes(ty: Any) -> bool:
    return kind(ty) == "ListType" and kind(ty.element) == "U8"


@dataclass
class Outcome:
    """What one step gave on one runtime."""

    value: Any = None
    error: str | None = None

    def summary(self) -> Any:
        return {"error": True} if self.error is not None else {"value": self.value}


@dataclass
class Run:
    """Everything one runtime did for one script: the outcome of each step, and the host's log."""

    outcomes: list[Outcome] = field(default_factory=list)
    host_log: list[Any] = field(default_factory=list)


class Side:
    """One runtime behind the neutral form: subclasses convert values and make the calls."""

    def __init__(self, host: SinkHost) -> None:
        self.host = host
        self.kept: dict[str, Any] = {}
        self.counters: list[Any] = []  # guest resources seen, in order: their neutral form is the position

    def run(self, script: Sequence[Step], types: Callable[[str], Any]) -> Run:
        run = Run()
        for step in script:
            try:
                if isinstance(step, Drop):
                    self.drop(self.kept[step.name])
                    run.outcomes.append(Outcome(value="dropped"))
                    continue
                function_type = types(step.export)
                params = [ty for _, ty in function_type.params]
                args = [self.lower(ty, arg) for ty, arg in zip(params, step.args, strict=True)]
                raw = self.call(step.export, args)
                result_type = function_type.result
                value = None if result_type is None else self.lift(result_type, raw)
                if step.keep is not None:
                    self.kept[step.keep] = self.kept_form(raw)
                run.outcomes.append(Outcome(value=value))
            except Exception as error:  # noqa: BLE001 - every failure is an outcome to compare
                run.outcomes.append(Outcome(error=f"{type(error).__name__}: {str(error).splitlines()[0]}"))
        run.host_log = list(self.host.log)
        return run

    def counter_number(self, value: Any) -> dict[str, int]:
        for number, seen in enumerate(self.counters):
            if self.same_resource(seen, value):
                return {"counter": number}
        self.counters.append(value)
        return {"counter": len(self.counters) - 1}

    # Subclass hooks.
    def kept_form(self, raw: Any) -> Any:
        return raw

    def call(self, export: str, args: list[Any]) -> Any:
        raise NotImplementedError

    def drop(self, value: Any) -> None:
        raise NotImplementedError

    def same_resource(self, a: Any, b: Any) -> bool:
        raise NotImplementedError

    def lower(self, ty: Any, value: Any) -> Any:
        raise NotImplementedError

    def lift(self, ty: Any, value: Any) -> Any:
        raise NotImplementedError


# ---- wasmtime ----------------------------------------------------------------------------------------------


_WASMTIME_ENGINE: Any = None


def wasmtime_component(path: Path) -> Any:
    """The component compiled by wasmtime, its machine code cached beside the built component (CPython's takes
    10-20 s to compile)."""
    global _WASMTIME_ENGINE
    import wasmtime
    from tests.wasi.p2_harness import compiled_by_wasmtime

    if _WASMTIME_ENGINE is None:
        _WASMTIME_ENGINE = wasmtime.Engine()
    return compiled_by_wasmtime(_WASMTIME_ENGINE, path)


class WasmtimeSide(Side):
    def __init__(self, path: Path, wasi: bool = False) -> None:
        import wasmtime
        from wasmtime import component as wc

        super().__init__(SinkHost())
        self.wc = wc
        component = wasmtime_component(path)
        self.engine = _WASMTIME_ENGINE
        self.store = wasmtime.Store(self.engine)
        linker = wc.Linker(self.engine)
        if wasi:  # componentize-py's CPython imports WASI 0.2 (nothing in the script reaches it)
            self.store.set_wasi(wasmtime.WasiConfig())
            linker.add_wasip2()
        host = self.host
        own = wc.ResourceHost.own

        def fetch(_store: Any, key: str) -> Any:
            return host.fetch(key)[1]  # result<list<u8>, string> is untagged in wasmtime-py: bytes or str

        with linker.root() as root, root.add_instance(HOST) as interface:
            interface.add_resource("sink", wc.ResourceType.host(SINK_TYPE), lambda _store, rep: host.destroy(rep))
            interface.add_func("[constructor]sink", lambda _s, p: own(host.new_sink(p, "sink.constructor"), SINK_TYPE))
            interface.add_func("[method]sink.write", lambda s, sink, m: host.write(sink.to_host(s).rep, m))
            interface.add_func("[method]sink.name", lambda s, sink: host.name(sink.to_host(s).rep))
            interface.add_func("log", lambda _s, text: host.message(text))
            interface.add_func("mix", lambda _s, *args: host.mix(*args))
            interface.add_func("fetch", fetch)
            interface.add_func("open-sink", lambda _s, p: own(host.new_sink(p, "open-sink"), SINK_TYPE))
        self.instance = linker.instantiate(self.store, component)
        self.interface = self.instance.get_export_index(self.store, API)
        self.funcs: dict[str, Any] = {}
        self.host_forms: dict[int, Any] = {}  # id of a ResourceAny lifted -> the ResourceHost it became

    def kept_form(self, raw: Any) -> Any:
        # ``ResourceAny.to_host`` takes a host resource out of wasmtime's table: what remains is the ResourceHost.
        return self.host_forms.get(id(raw), raw)

    def func(self, export: str) -> Any:
        if export not in self.funcs:
            index = self.instance.get_export_index(self.store, export, self.interface)
            assert index is not None, f"wasmtime: no export {export}"
            self.funcs[export] = self.instance.get_func(self.store, index)
        return self.funcs[export]

    def function_type(self, export: str) -> Any:
        return self.func(export).type(self.store)

    def call(self, export: str, args: list[Any]) -> Any:
        func = self.func(export)
        result = func(self.store, *args)
        func.post_return(self.store)
        return result

    def drop(self, value: Any) -> None:
        if isinstance(value, self.wc.ResourceHost):
            self.host.destroy(value.rep)  # a host resource the host holds: dropping it is the host's own business
        else:
            value.drop(self.store)

    def same_resource(self, a: Any, b: Any) -> bool:
        return a is b

    def lower(self, ty: Any, value: Any) -> Any:
        wc = self.wc
        name = kind(ty)
        if isinstance(value, Ref):
            return self.kept[value.name]
        if isinstance(value, NewSink):
            return wc.ResourceHost.own(self.host.new_sink(value.prefix, "host.new"), SINK_TYPE)
        if is_bytes(ty):
            return bytes(value)
        if name == "ListType":
            return [self.lower(ty.element, item) for item in value]
        if name == "TupleType":
            return tuple(self.lower(t, item) for t, item in zip(ty.elements, value, strict=True))
        if name == "RecordType":
            record = wc.Record()
            for label, field_type in ty.fields:
                setattr(record, label, self.lower(field_type, value[label]))
            return record
        if name == "FlagsType":
            return set(value)
        if name in ("VariantType", "OptionType", "ResultType"):
            if name == "OptionType":
                case, payload = ("none", None) if value is None else ("some", value["some"])
            elif name == "ResultType":
                case = "ok" if "ok" in value else "err"
                payload = value[case]
            else:
                case, payload = value["case"], value.get("value")
            case_type = dict(ty._cases())[case]
            lowered = None if case_type is None else self.lower(case_type, payload)
            return wc.Variant(case, lowered) if ty._tagged() else lowered
        return value

    def lift(self, ty: Any, value: Any) -> Any:
        name = kind(ty)
        if name in ("F32", "F64"):
            return float_bits(value, 32 if name == "F32" else 64)
        if is_bytes(ty):
            return list(value)
        if name == "ListType":
            return [self.lift(ty.element, item) for item in value]
        if name == "TupleType":
            return [self.lift(t, item) for t, item in zip(ty.elements, value, strict=True)]
        if name == "RecordType":
            return {label: self.lift(field_type, getattr(value, label)) for label, field_type in ty.fields}
        if name == "FlagsType":
            return sorted(value)
        if name in ("VariantType", "OptionType", "ResultType"):
            cases = ty._cases()
            if ty._tagged():
                case, payload = value.tag, value.payload
            else:
                case, payload = self._untagged_case(cases, value), value
            case_type = dict(cases)[case]
            lifted = None if case_type is None else self.lift(case_type, payload)
            if name == "OptionType":
                return None if case == "none" else {"some": lifted}
            if name == "ResultType":
                return {case: lifted}
            return {"case": case, "value": lifted}
        if name in ("OwnType", "BorrowType"):
            if value.type == self.wc.ResourceType.host(SINK_TYPE):
                host_form = value.to_host(self.store)
                self.host_forms[id(value)] = host_form
                return {"sink": host_form.rep}
            return self.counter_number(value)
        return value

    @staticmethod
    def _untagged_case(cases: list[tuple[str, Any]], value: Any) -> str:
        for case, case_type in cases:
            if case_type is None:
                if value is None:
                    return case
                continue
            classes: set[type] = set()
            case_type.add_classes(classes)
            if isinstance(value, tuple(classes)):
                return case
        raise AssertionError(f"no case of {cases} fits {value!r}")


# ---- wasmbox -----------------------------------------------------------------------------------------------


class WasmboxSide(Side):
    def __init__(self, path: Path, engine: str, wasi: bool = False) -> None:
        from wasmbox import Store
        from wasmbox.component import Component, Err, Ok, ResourceValue, RuntimeResource

        super().__init__(SinkHost())
        host = self.host
        self.sink = RuntimeResource("sink", destructor=host.destroy)
        sink = self.sink

        def fetch(key: str) -> Any:
            ok, value = host.fetch(key)
            return Ok(value) if ok else Err(value)

        imports = {
            HOST: {
                "sink": sink,
                "[constructor]sink": lambda prefix: ResourceValue(sink, host.new_sink(prefix, "sink.constructor")),
                "[method]sink.write": lambda value, message: host.write(value.rep, message),
                "[method]sink.name": lambda value: host.name(value.rep),
                "log": host.message,
                "mix": host.mix,
                "fetch": fetch,
                "open-sink": lambda prefix: ResourceValue(sink, host.new_sink(prefix, "open-sink")),
            }
        }
        self.component = Component.from_file(path)
        if wasi:
            from wasmbox.wasip2 import WasiHost

            imports = {**WasiHost().imports_for(self.component), **imports}
        self.instance = self.component.instantiate(imports, Store(engine))
        self.exports = self.instance.exports[API]
        self.resource_value = ResourceValue
        self.Ok, self.Err = Ok, Err

    def call(self, export: str, args: list[Any]) -> Any:
        results = self.exports[export].call_values(args)
        return results[0] if results else None

    def drop(self, value: Any) -> None:
        value.drop()

    def same_resource(self, a: Any, b: Any) -> bool:
        return bool(a is b or (a.resource is b.resource and a.rep == b.rep))

    def lower(self, ty: Any, value: Any) -> Any:
        from wasmbox.component import Record, Some, Variant

        name = kind(ty)
        if isinstance(value, Ref):
            return self.kept[value.name]
        if isinstance(value, NewSink):
            return self.resource_value(self.sink, self.host.new_sink(value.prefix, "host.new"))
        if is_bytes(ty):
            return bytes(value)
        if name == "ListType":
            return [self.lower(ty.element, item) for item in value]
        if name == "TupleType":
            return tuple(self.lower(t, item) for t, item in zip(ty.elements, value, strict=True))
        if name == "RecordType":
            return Record({label: self.lower(field_type, value[label]) for label, field_type in ty.fields})
        if name == "FlagsType":
            return frozenset(value)
        if name == "OptionType":
            if value is None:
                return None
            inner = self.lower(ty.payload, value["some"])
            return Some(inner) if kind(ty.payload) == "OptionType" else inner
        if name == "ResultType":
            case = "ok" if "ok" in value else "err"
            case_type = ty.ok if case == "ok" else ty.err
            lowered = None if case_type is None else self.lower(case_type, value[case])
            return self.Ok(lowered) if case == "ok" else self.Err(lowered)
        if name == "VariantType":
            case_type = dict(ty.cases)[value["case"]]
            payload = None if case_type is None else self.lower(case_type, value.get("value"))
            return Variant(value["case"], payload)
        return value

    def lift(self, ty: Any, value: Any) -> Any:
        from wasmbox.component import Some

        name = kind(ty)
        if name in ("F32", "F64"):
            width = 32 if name == "F32" else 64
            if math.isnan(value):  # the spec's canonical NaN: 0x7fc00000 as f32, 0x7ff8000000000000 as f64
                assert struct.pack("<d", value) == struct.pack("<d", math.nan), f"a NaN lifted as {value!r}"
            return float_bits(value, width)
        if is_bytes(ty):
            assert isinstance(value, bytes), f"list<u8> lifted as {type(value).__name__}"
            return list(value)
        if name == "ListType":
            return [self.lift(ty.element, item) for item in value]
        if name == "TupleType":
            assert isinstance(value, tuple), f"tuple lifted as {type(value).__name__}"
            return [self.lift(t, item) for t, item in zip(ty.elements, value, strict=True)]
        if name == "RecordType":
            return {label: self.lift(field_type, value[label]) for label, field_type in ty.fields}
        if name == "FlagsType":
            assert isinstance(value, frozenset)
            return sorted(value)
        if name == "OptionType":
            if value is None:
                return None
            if kind(ty.payload) == "OptionType":
                assert isinstance(value, Some), f"a nested option lifted as {value!r}"
                value = value.value
            return {"some": self.lift(ty.payload, value)}
        if name == "ResultType":
            case = "ok" if isinstance(value, self.Ok) else "err"
            assert isinstance(value, self.Ok | self.Err), f"a result lifted as {value!r}"
            case_type = ty.ok if case == "ok" else ty.err
            return {case: None if case_type is None else self.lift(case_type, value.value)}
        if name == "VariantType":
            case_type = dict(ty.cases)[value.case]
            return {"case": value.case, "value": None if case_type is None else self.lift(case_type, value.value)}
        if name in ("OwnType", "BorrowType"):
            if value.resource is self.sink:
                return {"sink": value.rep}
            return self.counter_number(value)
        return value
