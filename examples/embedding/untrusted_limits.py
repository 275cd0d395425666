"""Running code you do not trust: fuel, a deadline, a memory cap and a call-depth limit.

Each guest below misbehaves in one way; each is stopped by the store's limit, as a typed error
the host catches, and the host goes on.

    python examples/embedding/untrusted_limits.py
"""

from __future__ import annotations

from wasmbox import Instance, Module, Store
from wasmbox.errors import Exhaustion, Trap

GUEST = Module("""(module
  (memory (export "memory") 1)
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "hog") (result i32) (memory.grow (i32.const 100)))
  (func $dive (export "dive") (param i32) (result i32)
    (i32.add (i32.const 1) (call $dive (local.get 0))))
  (func (export "honest") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))""")


def main() -> None:
    fuelled = Instance(Store(fuel=100_000), GUEST, {}).exports
    try:
        fuelled["spin"]()
    except Trap as trap:
        print("spin with 100000 fuel:", trap.kind)

    timed = Instance(Store(deadline=0.2), GUEST, {}).exports
    try:
        timed["spin"]()
    except Trap as trap:
        print("spin with a 0.2 s deadline:", trap.kind)

    capped = Instance(Store(max_memory_pages=16), GUEST, {}).exports
    print("grow by 100 pages past a 16-page cap returns", capped["hog"]())

    shallow = Instance(Store(max_call_depth=1_000), GUEST, {}).exports
    try:
        shallow["dive"](0)
    except Exhaustion as exhausted:
        print("endless recursion with max_call_depth=1000:", exhausted.kind)

    store = Store(fuel=1_000)
    honest = Instance(store, GUEST, {}).exports["honest"]
    print("an honest guest still runs: honest(21) =", honest(21), "fuel left:", store.fuel_remaining())


if __name__ == "__main__":
    main()
