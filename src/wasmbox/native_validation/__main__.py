"""``python -m wasmbox.native_validation``: build and install the optimised native validator now.

An installation does this once (``.ci/run`` and the README's install line do),
as it byte-compiles its Python; otherwise the first large module, or an idle
translation worker, builds it.  Prints where it went.
"""

from __future__ import annotations

import sys

from . import available, build_optimized, installed_path


def main() -> int:
    if not available():
        print("wasmbox: the native validator needs llvmlite, which is not installed", file=sys.stderr)
        return 1
    path = build_optimized()
    if path is None:
        where = installed_path() or "(no host key: /proc/cpuinfo or llvmlite's library not found)"
        print(f"wasmbox: built the validator into the code cache only; {where} is not writable", file=sys.stderr)
        return 0
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
