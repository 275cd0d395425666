"""Sharing linear memory with numpy: no copies either way.

``memory.buffer`` is a ``memoryview`` of the instance's linear memory, so ``numpy.frombuffer``
gives an array that *is* that memory: Python writes the input there, wasm computes in place, and
numpy reads the result where wasm left it.  Without numpy the same runs on the memoryview.

    python examples/embedding/numpy_memory.py
"""

from __future__ import annotations

import struct

from wasmbox import Instance, Module, Store

# scale(ptr, count, factor): multiply count f64 values at ptr in place; return their sum.
WAT = """(module
  (memory (export "memory") 1)
  (func (export "scale") (param $ptr i32) (param $count i32) (param $factor f64) (result f64)
    (local $sum f64) (local $value f64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $count)))
        (local.set $value (f64.mul (f64.load (local.get $ptr)) (local.get $factor)))
        (f64.store (local.get $ptr) (local.get $value))
        (local.set $sum (f64.add (local.get $sum) (local.get $value)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 8)))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $next)))
    (local.get $sum)))"""

COUNT = 8
ADDRESS = 1024


def main() -> None:
    instance = Instance(Store(), Module(WAT), {})
    memory = instance.exports["memory"]
    scale = instance.exports["scale"]
    try:
        import numpy
    except ImportError:
        numpy = None
    if numpy is not None:
        values = numpy.frombuffer(memory.buffer, dtype="<f8", count=COUNT, offset=ADDRESS)
        values[:] = numpy.arange(1, COUNT + 1)  # written straight into linear memory
        total = scale(ADDRESS, COUNT, 0.5)
        print("with numpy:", values.tolist())  # the same array shows what wasm wrote
    else:
        memory.buffer[ADDRESS : ADDRESS + 8 * COUNT] = struct.pack(f"<{COUNT}d", *range(1, COUNT + 1))
        total = scale(ADDRESS, COUNT, 0.5)
        values_read = struct.unpack_from(f"<{COUNT}d", memory.buffer, ADDRESS)
        print("without numpy:", list(values_read))
    print("sum:", total)


if __name__ == "__main__":
    main()
