"""A WASI 0.2 command written in Python, for componentize-py: the world ``cli-app`` of cli_app.wit.

Built by tests/wasi/p2_harness.py (``componentize-py -d WIT -w cli-app componentize app``); ``wit_world`` is
generated at build time. It reads its arguments and environment (through ``wasi:cli/environment``, and as
CPython sees them), stdin, writes stdout and stderr, makes a small tree in the preopened ``/data`` (directories,
files, an append, a rename, a removal, a relative symlink), lists it back, and ends with the status its
arguments ask for: ``fail`` returns ``run``'s error, ``exit`` calls ``sys.exit(3)``, ``crash`` raises.
"""

# ruff: noqa
# mypy: ignore-errors
import os
import sys

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import environment


def tree(root):
    lines = []
    for folder, directories, files in os.walk(root):
        directories.sort()
        for name in sorted(directories + files):
            path = os.path.join(folder, name)
            kind = "link" if os.path.islink(path) else "dir" if os.path.isdir(path) else "file"
            size = os.lstat(path).st_size if kind == "file" else 0
            lines.append(f"{kind} {os.path.relpath(path, root)} {size}")
    return lines


class Run(exports.Run):
    def run(self) -> None:
        arguments = environment.get_arguments()
        variables = environment.get_environment()
        print(f"arguments {arguments!r}")
        print(f"sys.argv {sys.argv!r}")
        for key, value in sorted(variables):
            print(f"env {key}={value!r}")
        print(f"os.environ GREETING={os.environ.get('GREETING')!r}")
        data = sys.stdin.buffer.read()
        lines = data.count(b"\n")
        print(f"stdin {len(data)} bytes, {lines} lines, upper {data.upper()!r}")
        sys.stderr.write(f"warning: {len(arguments)} arguments\n")
        sys.stderr.flush()

        os.makedirs("/data/out/nested", exist_ok=True)
        with open("/data/out/hello.txt", "w") as handle:
            handle.write("hello from python\n")
        with open("/data/out/hello.txt", "a") as handle:
            handle.write(" ".join(arguments[1:]) + "\n")
        with open("/data/out/nested/bytes.bin", "wb") as handle:
            handle.write(bytes(range(256)) + data)
        with open("/data/out/doomed.txt", "w") as handle:
            handle.write("gone soon")
        os.remove("/data/out/doomed.txt")
        os.rename("/data/input.txt", "/data/out/moved.txt")
        os.symlink("hello.txt", "/data/out/link")
        with open("/data/out/link") as handle:
            print(f"through the link: {handle.read()!r}")
        for line in tree("/data"):
            print(line)
        try:
            open("/data/../escape.txt", "w")
        except OSError as error:
            print(f"escape refused: errno {error.errno}")
        try:
            os.listdir("/")
            print("root:", sorted(os.listdir("/")))
        except OSError as error:
            print(f"root refused: errno {error.errno}")
        sys.stdout.flush()

        if "crash" in arguments:
            raise RuntimeError("asked to crash")
        if "exit" in arguments:
            sys.exit(3)
        if "fail" in arguments:
            raise Err(None)
