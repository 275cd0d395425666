"""``wasmbox component wit`` prints the text ``wasm-tools component wit`` prints, on every component fixture.

The fixtures: the components in ``tests/unit/components/`` (text), every guest the tests build (the C oracle guest,
the same C through jco's preview-1 adapter, the componentize-py oracle guest and command, the zig C tour and escape
commands, the ``.wat`` HTTP and sockets probes), and every component of the Component Model's spec tests
(``../shared/component-model/test``) that a script declares valid (``module`` and ``module definition`` commands,
and the ``assert_uninstantiable`` ones, which are valid too), turned into binaries by ``wasm-tools json-from-wast``.

Normalisation, which is all the comparison allows: trailing whitespace on a line and blank lines at the end of the
text; wasm-tools runs with ``--no-docs`` (a binary component carries doc comments only in wit-component's
``package-docs`` custom section, which wasmbox does not read; none of these fixtures has one). Nothing is
reordered: wasmbox's printer writes wasm-tools' order (nested packages dependencies first, world items by class),
which these tests pin. Components wasm-tools cannot show as WIT (exports of types or values, component-typed
imports: "was not a function or instance", "failed to decode WIT") are counted, not compared.

CI compares the first valid component of each spec script: 60 of the 286 (56 equal, 4 that wasm-tools cannot
show); the whole sweep is ``slow`` (286: 264 equal, 21 not shown, 1 known difference; 40-60 s, one wasm-tools
process per component). Missing tools skip, naming them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import COMPONENT_TESTS, component_wast_files, wasm_tools

from wasmbox.component import Component
from wasmbox.component.decode import is_component
from wasmbox.component.wit_of import resolve_component
from wasmbox.wit import print_resolve
from wasmbox.wit.errors import WitError

from . import guests

UNIT_COMPONENTS = Path(__file__).resolve().parents[1] / "unit" / "components"

# Spec components whose WIT wasmbox prints differently, by "script:line", with the reason.
KNOWN_DIFFERENCES = {
    "validation/attributes.wast:30": 'wasm-tools 1.262 prints the exports `a:b/c` (external-id "☃︎") and `c` '
    '(external-id "\\u{7fff}") with `@external-id("id")`, the id of the import `a:b/c`; wasmbox prints '
    "each export's own",
}
# Unit components wasm-tools cannot show as WIT, with the reason (counted like the spec suite's, not compared).
# wasmbox refuses them too, with a WitError (an exported type has no WIT).
UNIT_NOT_SHOWN = {
    "checks.wat": 'exports the type `check-error` at the top level: "component export `check-error` was not a '
    'function or instance"',
}
# json-from-wast refuses these scripts (their syntax is older than this wasm-tools).
CANNOT_CONVERT = {"async/cancellable.wast"}


def _p2_component(stem: str) -> Callable[[], Path]:
    def build() -> Path:
        from tests.wasi.p2_harness import build_component

        return build_component(stem)

    return build


def _wat_component(stem: str, world: str) -> Callable[[], Path]:
    def build() -> Path:
        from tests.wasi.test_http_p2 import build_wat_component

        return build_wat_component(stem, world)

    return build


def _python_command() -> Path:
    from tests.wasi.p2_harness import python_command_component

    return python_command_component()


# Every component the tests build, by the name a failure shows; each builder skips without its toolchain.
BUILT: dict[str, Callable[[], Path]] = {
    "c-oracle-guest": guests.c_guest,
    "c-oracle-guest-adapted": guests.c_adapted_guest,
    "python-oracle-guest": guests.python_guest,
    "python-command": _python_command,
    "c-component-tour": _p2_component("component_tour"),
    "c-escape-command": _p2_component("escape"),
    "wat-http-fetch": _wat_component("http_fetch", "fetcher"),
    "wat-sockets-probe": _wat_component("sockets_probe", "prober"),
}


def normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n") + "\n"


def wasmbox_wit(path: Path) -> str | None:
    """wasmbox's WIT of the component at ``path``, or None when it refuses (a ``WitError``: a type export)."""
    try:
        return print_resolve(resolve_component(Component.from_file(path).ir))
    except WitError:
        return None


def wasm_tools_wit(path: Path) -> str | None:
    """wasm-tools' WIT of the component at ``path``, or None when it cannot show it as WIT."""
    result = subprocess.run([wasm_tools(), "component", "wit", "--no-docs", str(path)], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


@pytest.mark.parametrize("path", sorted(UNIT_COMPONENTS.glob("*.wat")), ids=lambda path: path.name)
def test_unit_components_wit_is_wasm_tools_wit(path: Path) -> None:
    code = "".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith(";;"))
    if not code.lstrip().startswith("(component"):
        pytest.skip("a core module (a component's inner module), not a component")
    expected = wasm_tools_wit(path)
    ours = wasmbox_wit(path)  # also for what wasm-tools cannot show: a typed refusal or text, never a crash
    if path.name in UNIT_NOT_SHOWN:
        assert expected is None, f"wasm-tools shows {path.name} now: compare it"
        assert ours is None, f"wasmbox prints WIT for {path.name}, which has none"
    else:
        assert expected is not None and ours is not None
        assert normalised(ours) == normalised(expected)


@pytest.mark.parametrize("name", list(BUILT))
def test_built_guests_wit_is_wasm_tools_wit(name: str) -> None:
    path = BUILT[name]()
    expected = wasm_tools_wit(path)
    assert expected is not None, f"wasm-tools shows no WIT for {path}"
    ours = wasmbox_wit(path)
    assert ours is not None, f"wasmbox refuses the WIT of {path}"
    assert normalised(ours) == normalised(expected)


# --- the spec tests' components -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec_components(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every valid component of the spec scripts, by "script:line" (in script order, then line order)."""
    tool = wasm_tools()
    scripts = [path for path in component_wast_files() if str(path.relative_to(COMPONENT_TESTS)) not in CANNOT_CONVERT]
    if not scripts:
        pytest.skip(f"component tests not found at {COMPONENT_TESTS} (set WASMBOX_COMPONENT_TESTS)")
    found: dict[str, Path] = {}
    for number, script in enumerate(scripts):
        into = tmp_path_factory.mktemp(f"script{number}")
        spec = into / "spec.json"
        command = [tool, "json-from-wast", str(script), "-o", str(spec), "--wasm-dir", str(into)]
        subprocess.run(command, check=True, capture_output=True)
        relative = str(script.relative_to(COMPONENT_TESTS))
        for entry in json.loads(spec.read_text())["commands"]:
            kinds = ("module", "module_definition", "assert_uninstantiable")
            if entry["type"] in kinds and entry.get("module_type") == "binary" and "filename" in entry:
                path = into / entry["filename"]
                if is_component(path.read_bytes()):
                    found[f"{relative}:{entry['line']}"] = path
    return found


def compare_spec_components(components: dict[str, Path]) -> tuple[int, int, list[str]]:
    """(equal, not shown by wasm-tools, differences) over ``components``."""
    equal = refused = 0
    differences = []
    for key, path in components.items():
        expected = wasm_tools_wit(path)
        ours = wasmbox_wit(path)  # also for what wasm-tools cannot show: a typed refusal or text, never a crash
        if expected is None:
            refused += 1
        elif ours is None:
            differences.append(f"{key}: wasmbox refuses what wasm-tools shows:\n{expected}")
        elif normalised(ours) == normalised(expected):
            equal += 1
            assert key not in KNOWN_DIFFERENCES, f"{key} is now equal: remove it from KNOWN_DIFFERENCES"
        elif key not in KNOWN_DIFFERENCES:
            differences.append(f"{key}:\n--- wasmbox\n{ours}--- wasm-tools\n{expected}")
    return equal, refused, differences


def first_of_each_script(components: dict[str, Path]) -> dict[str, Path]:
    chosen: dict[str, Path] = {}
    for key, path in components.items():
        chosen.setdefault(key.rsplit(":", 1)[0], path)
    return {key: path for key, path in components.items() if chosen[key.rsplit(":", 1)[0]] is path}


def test_spec_components_wit_is_wasm_tools_wit_first_of_each_script(spec_components: dict[str, Path]) -> None:
    subset = first_of_each_script(spec_components)
    equal, refused, differences = compare_spec_components(subset)
    print(f"{len(subset)} components, {equal} equal, {refused} without WIT from wasm-tools")
    assert differences == []
    assert equal + refused + len(set(subset) & set(KNOWN_DIFFERENCES)) == len(subset)
    assert equal >= 56  # the subset compares what it claims to


@pytest.mark.slow
def test_spec_components_wit_is_wasm_tools_wit_all(spec_components: dict[str, Path]) -> None:
    equal, refused, differences = compare_spec_components(spec_components)
    print(f"{len(spec_components)} components, {equal} equal, {refused} without WIT from wasm-tools")
    assert differences == []
    assert equal + refused + len(KNOWN_DIFFERENCES) == len(spec_components)
    assert equal >= 264


def test_the_cli_names_the_file_and_the_reason_when_a_component_has_no_wit() -> None:
    path = UNIT_COMPONENTS / "checks.wat"
    done = subprocess.run(
        [sys.executable, "-m", "wasmbox", "component", "wit", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == (
        f"wasmbox: error: {path}: component export `check-error` is a type: a WIT world cannot export a type"
    )
