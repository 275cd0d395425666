"""The same fan-out on dask.distributed: a local cluster of worker processes, the module sent once.

``client.scatter`` pickles the compiled module to each worker once (machine code
included: see ``process_pool.py``); every task then finds it there.  Each
worker keeps one instance per module.  Run: ``python examples/dask_cluster.py
[WORKERS] [TASKS]`` (needs ``pip install "dask[distributed]"``).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from wasmbox import Instance, Module, Store

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from process_pool import PRIMES  # noqa: E402 - the example's module, shared with process_pool.py

_instances: dict[bytes, tuple[Instance, bool]] = {}


def count(module: Module, bounds: tuple[int, int]) -> tuple[int, int, bool, float]:
    """One task: count the primes in ``bounds`` with this worker's instance of ``module``."""
    key = module.ir.digest()
    if key not in _instances:
        _instances[key] = (Instance(Store(), module), not module.compiled)
    instance, compiled_here = _instances[key]
    started = time.perf_counter()
    result = instance.exports["count_primes"](*bounds)
    return result, os.getpid(), compiled_here, time.perf_counter() - started  # type: ignore[return-value]


def main(workers: int = 2, tasks: int = 8, limit: int = 400_000) -> int:
    from dask.distributed import Client, LocalCluster

    module = Module(PRIMES).compile()
    step = limit // tasks
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            shipped: Any = client.scatter(module, broadcast=True)
            futures = client.map(count, [shipped] * tasks, [(i * step, (i + 1) * step) for i in range(tasks)])
            results = client.gather(futures)
    total = sum(result for result, *_ in results)
    print(f"primes below {limit}: {total}")
    for pid in sorted({pid for _, pid, _, _ in results}):
        compiled, first = next((c, t) for _, p, c, t in results if p == pid)
        print(f"worker {pid}: compiled there: {'yes' if compiled else 'no'}, first call {first * 1000:.1f} ms")
    return total


if __name__ == "__main__":
    main(*(int(argument) for argument in sys.argv[1:3]))
