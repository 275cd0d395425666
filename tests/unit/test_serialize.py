"""Modules that travel between processes: ``Module.serialize``/``deserialize`` and pickling.

Every engine must run a module unpickled in a fresh ``spawn`` process (opcodes once lost their
identity there), and bytes that are not a whole module serialized by this wasmbox must be refused
with a typed error, never run.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import struct
import subprocess
import sys
from typing import Any

import pytest

from wasmbox import ENGINES, Instance, Module, SerializationError, Store
from wasmbox.serialize import MAGIC

FACTORIAL = """(module
  (memory (export "memory") 1)
  (data (i32.const 0) "wasm")
  (func $fac (export "fac") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
  (func (export "first") (result i32) (i32.load (i32.const 0)))
  (func (export "spin") (param i32) (result i32) (local i32)
    (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1)))"""


def run_unpickled(blob: bytes, engine: str) -> tuple[int, int, int]:
    module = pickle.loads(blob)  # noqa: S301 - our own bytes
    exports = Instance(Store(engine), module).exports
    return exports["fac"](20), exports["first"](), exports["spin"](100_000)  # type: ignore[operator]


@pytest.fixture(scope="module")
def spawn_pool() -> Any:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        yield pool


@pytest.mark.parametrize("engine", ENGINES)
def test_pickled_modules_run_in_a_spawned_process(engine: str, spawn_pool: Any) -> None:
    module = Module(FACTORIAL).compile()
    expected = run_unpickled(pickle.dumps(module), engine)
    assert expected == (2432902008176640000, int.from_bytes(b"wasm", "little"), 100_000)
    assert spawn_pool.apply(run_unpickled, (pickle.dumps(module), engine)) == expected


def test_serialize_round_trip_carries_the_machine_code() -> None:
    from wasmbox.engines.native import available

    module = Module(FACTORIAL).compile()
    data = module.serialize()
    again = Module.deserialize(data)
    assert again.imports == module.imports and again.exports == module.exports
    assert Instance(Store(), again).exports["fac"](10) == 3628800
    if available():
        from wasmbox.engines.native.engine import is_compiled

        assert is_compiled(again.ir, False)  # no compilation needed in the receiving process
        assert Module.deserialize(data).serialize() == data


def test_a_module_without_machine_code_serializes_too(tmp_path: Any) -> None:
    module = Module(FACTORIAL.replace("fac", "factorial"))
    path = tmp_path / "module.bin"
    path.write_bytes(module.serialize())
    assert Instance(Store("baseline"), Module.deserialize_file(path)).exports["factorial"](5) == 120


def header_of(data: bytes) -> tuple[dict[str, Any], int]:
    (size,) = struct.unpack_from("<I", data, len(MAGIC))
    start = len(MAGIC) + 4
    return json.loads(data[start : start + size]), start + size


def reseal(body: bytes) -> bytes:
    import hashlib

    return body + hashlib.sha256(body).digest()


def test_damaged_foreign_or_truncated_bytes_are_refused() -> None:
    data = Module(FACTORIAL).compile().serialize()
    with pytest.raises(SerializationError, match="bad magic"):
        Module.deserialize(b"\0asm\1\0\0\0")
    with pytest.raises(SerializationError):
        Module.deserialize(data[:-1])
    with pytest.raises(SerializationError):
        Module.deserialize(data[: len(data) // 2])
    for position in (len(MAGIC) + 10, len(data) // 2, len(data) - 40):
        tampered = bytearray(data)
        tampered[position] ^= 0x40
        with pytest.raises(SerializationError, match="digest mismatch"):
            Module.deserialize(bytes(tampered))
    header, end = header_of(data)
    for key, value in (("wasmbox", "0.0.1"), ("arch", "pdp11"), ("python", "cpython-27"), ("engine", "0" * 16)):
        foreign = json.dumps({**header, key: value}, sort_keys=True).encode()
        body = data[: len(MAGIC)] + struct.pack("<I", len(foreign)) + foreign + data[end:-32]
        with pytest.raises(SerializationError, match="made for another"):
            Module.deserialize(reseal(body))


def test_code_for_another_machine_is_never_linked() -> None:
    from wasmbox.engines.native import available

    if not available():
        pytest.skip("no native engine (llvmlite) here")
    from wasmbox.engines.native.engine import _adopted, adopt_checked, compiled_code, module_key

    module = Module(FACTORIAL.replace("spin", "spin2"))
    adopt_checked(module.ir, False, b"\x7fELF not really code", "some-other-cpu", "some-other-host")
    assert module_key(module.ir, False) in _adopted
    compiled_code(module.ir, False)  # drops the foreign code and compiles here
    assert Instance(Store("native"), module).exports["fac"](5) == 120


DESERIALIZE_AND_CALL = """
import json, sys
from wasmbox import Instance, Module, Store
module = Module.deserialize(open(sys.argv[1], "rb").read())
compiled = module.compiled
exports = Instance(Store(sys.argv[2]), module).exports
result = exports["fac"](20)
print(json.dumps([result, compiled, sorted(sys.modules)]))
"""


@pytest.mark.parametrize(
    ("engine", "large"), [("tiered", False), ("native", False), ("tiered", True), ("native", True)]
)
def test_deserialized_machine_code_runs_without_loading_llvm(engine: str, large: bool, tmp_path: Any) -> None:
    # A worker process with an empty code cache links the shipped object code with wasmbox's own
    # object loader: neither llvmlite nor the lowering (which builds LLVM IR) is imported.  A
    # large module (over WASMBOX_LAZY_FUNCTIONS functions, otherwise compiled function by function)
    # runs its shipped whole-module code too.
    from wasmbox.engines.native import available
    from wasmbox.engines.native.object_loader import host_supported

    if not available() or not host_supported():
        pytest.skip("the object loader links code on Linux x86-64 with llvmlite installed only")
    blob = tmp_path / "module.bin"
    blob.write_bytes(Module(FACTORIAL.replace("spin", "spin3")).compile().serialize())
    environment = dict(os.environ, WASMBOX_CACHE=str(tmp_path / "empty-cache"))
    if large:
        environment["WASMBOX_LAZY_FUNCTIONS"] = "2"
    result = subprocess.run(
        [sys.executable, "-c", DESERIALIZE_AND_CALL, str(blob), engine],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    value, compiled, modules = json.loads(result.stdout.splitlines()[-1])
    assert value == 2432902008176640000
    assert compiled  # the blob's code, not a compilation
    assert [name for name in modules if name.startswith("llvmlite")] == []
    assert "wasmbox.engines.native.lower" not in modules
    assert "wasmbox.engines.native.jit" not in modules
