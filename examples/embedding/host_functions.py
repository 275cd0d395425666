"""Host functions: wasm calls Python, Python calls wasm.

The module imports two functions from the host: ``env.clamp`` (plain values in and out) and
``env.log`` (which reads a string out of the calling instance's memory through ``Caller``).
``score`` sums the clamped squares of 1..n and logs a message on the way.

    python examples/embedding/host_functions.py
"""

from __future__ import annotations

import wasmbox
from wasmbox import Caller, Instance, Module, Store

WAT = """(module
  (import "env" "clamp" (func $clamp (param i32 i32) (result i32)))
  (import "env" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "summing squares")
  (func (export "score") (param $n i32) (result i32)
    (local $total i32)
    (call $log (i32.const 0) (i32.const 15))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $total (i32.add (local.get $total)
          (call $clamp (i32.mul (local.get $n) (local.get $n)) (i32.const 50))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $total)))"""

calls: list[tuple[int, int]] = []


@wasmbox.func
def clamp(value: int, limit: int) -> int:
    calls.append((value, limit))
    return min(value, limit)


@wasmbox.func
def log(caller: Caller, address: int, length: int) -> None:
    print("guest says:", caller["memory"].read(address, length).decode())


def main() -> None:
    instance = Instance(Store(), Module(WAT), {"env": {"clamp": clamp, "log": log}})
    score = instance.exports["score"]
    print("score(10) =", score(10))  # 1 + 4 + 9 + 16 + 25 + 36 + 49 + 50 * 3
    print("clamp was called", len(calls), "times; first with", calls[0])


if __name__ == "__main__":
    main()
