"""The README's component example, ``examples/component_py/``, followed as its README says.

The guest (``app.py``, ``analyzer.py``) is built with componentize-py (cached by ``guests.py``), ``wasmbox
component bindgen`` writes the typed bindings into a temporary directory beside a copy of ``host.py``; then
``host.py`` and the bindings pass ``mypy --strict``, ``host.py`` prints what the component computed (checked
line by line), and wasmtime-py's ``wasmtime.component``, given the same calls, gives the same answers. The
top-level README's excerpt of ``host.py`` is type-checked and run too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import wasmbox

from . import guests, oracle_harness

EXAMPLE = guests.EXAMPLE
README = EXAMPLE.parents[1] / "README.md"
SOURCE_ROOT = str(Path(wasmbox.__file__).parents[1])  # this checkout's wasmbox, for the subprocesses
LOGGER = "example:textstats/logger@0.1.0"
ANALYZER = "example:textstats/analyzer@0.1.0"

# What host.py prints: every line is a value the component computed and the bindings converted.
EXPECTED = """\
word 'Hello'
punctuation ','
word 'world'
punctuation ':'
number 42
word 'times'
punctuation '!'
parse-number '-9223372036854775808' = -9223372036854775808
parse-number ' 17 ' = 17
parse-number '12a' fails: NOT_A_NUMBER
parse-number '99999999999999999999' fails: TOO_LARGE
parse-number '' fails: EMPTY
added [6, 11] words
count 'the' = 4, count 'dog' = None
17 words, 2 lines, 10 distinct, longest 'flat'
top: the 4, mat 3, cat 2
case-sensitive: count 'the' = 2, count 'The' = 2
empty tally: Summary(words=0, lines=0, distinct=0, longest=None, top=[])
log:
  [warning] not a number: '12a'
  [debug] added 6 words, 5 distinct so far
  [debug] added 11 words, 10 distinct so far
  [debug] added 17 words, 11 distinct so far
"""


@pytest.fixture(scope="module")
def component() -> Path:
    return guests.example_python_guest()


@pytest.fixture(scope="module")
def example_dir(component: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """host.py beside the ``textstats`` package bindgen writes, as the example's README has them."""
    directory = tmp_path_factory.mktemp("component_py")
    shutil.copy(EXAMPLE / "host.py", directory / "host.py")
    listing = re.search(r"`host.py`, its essential lines.*?```python\n(.*?)```", README.read_text(), re.S)
    assert listing is not None, "README: the example's listing of host.py"
    (directory / "readme_listing.py").write_text(
        listing.group(1).replace('"textstats.wasm"', repr(str(component)))
        + "print(tokens[:2], reason, summary, sep='\\n')\n"
    )
    command = [sys.executable, "-m", "wasmbox", "component", "bindgen", str(EXAMPLE / "textstats.wit")]
    result = subprocess.run(
        [*command, "-o", str(directory / "textstats")], capture_output=True, text=True, timeout=120, env=_env()
    )
    assert result.returncode == 0, result.stderr
    return directory


@pytest.fixture(scope="module")
def host_run(example_dir: Path, component: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "host.py", str(component)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=example_dir,
        env=_env(),
    )


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([SOURCE_ROOT, "."])}


def test_host_and_generated_bindings_pass_mypy_strict(example_dir: Path) -> None:
    pytest.importorskip("mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "host.py", "readme_listing.py", "textstats"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=example_dir,
        env={**_env(), "MYPYPATH": SOURCE_ROOT},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_host_prints_what_the_component_computed(host_run: subprocess.CompletedProcess[str]) -> None:
    assert host_run.returncode == 0, host_run.stderr
    assert host_run.stdout == EXPECTED
    assert "instantiated and first call in" in host_run.stderr


def test_readme_listing_runs_as_its_comments_say(example_dir: Path) -> None:
    """The README's excerpt of host.py, run against the built component (and type-checked above)."""
    result = subprocess.run(
        [sys.executable, "readme_listing.py"], capture_output=True, text=True, timeout=600, cwd=example_dir, env=_env()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[warning] not a number: '12a'",
        "[debug] added 6 words, 5 distinct so far",
        "[TokenWord(value='Hello'), TokenPunctuation(value=',')]",
        "ParseError.NOT_A_NUMBER",
        "Summary(words=6, lines=1, distinct=5, longest='The', top=[WordCount(word='the', count=2), "
        "WordCount(word='cat', count=1), WordCount(word='mat', count=1)])",
    ]


def test_wasmtime_gives_the_same_answers(component: Path, host_run: subprocess.CompletedProcess[str]) -> None:
    """The calls of host.py made through wasmtime-py's dynamic component API, printed as host.py prints them."""
    pytest.importorskip("wasmtime", reason="wasmtime-py (pip install wasmtime) is the oracle")
    assert host_run.stdout == _wasmtime_transcript(component)


def _wasmtime_transcript(path: Path) -> str:
    import wasmtime
    from wasmtime import component as wc

    compiled = oracle_harness.wasmtime_component(path)
    store = wasmtime.Store(oracle_harness._WASMTIME_ENGINE)
    store.set_wasi(wasmtime.WasiConfig())  # CPython inside imports WASI 0.2; nothing here reaches it
    linker = wc.Linker(oracle_harness._WASMTIME_ENGINE)
    linker.add_wasip2()
    log: list[str] = []
    with linker.root() as root, root.add_instance(LOGGER) as logger:
        logger.add_func("log", lambda _store, level, message: log.append(f"[{level}] {message}"))
    instance = linker.instantiate(store, compiled)
    interface = instance.get_export_index(store, ANALYZER)

    def call(name: str, *args: Any) -> Any:
        func = instance.get_func(store, instance.get_export_index(store, name, interface))
        result = func(store, *args)
        func.post_return(store)
        return result

    lines: list[str] = []
    for token in call("tokenize", "Hello, world: 42 times!"):  # variants come back tagged
        lines.append(f"{token.tag} {token.payload if token.tag == 'number' else repr(token.payload)}")
    for text in ("-9223372036854775808", " 17 ", "12a", "99999999999999999999", ""):
        outcome = call("parse-number", text)  # result<s64, parse-error> is untagged: an int or the enum's case
        if isinstance(outcome, int):
            lines.append(f"parse-number {text!r} = {outcome}")
        else:
            lines.append(f"parse-number {text!r} fails: {outcome.upper().replace('-', '_')}")

    def summary_text(summary: Any) -> tuple[str, str]:
        top = [(entry.word, entry.count) for entry in summary.top]
        return (
            f"{summary.words} words, {summary.lines} lines, {summary.distinct} distinct, longest {summary.longest!r}",
            f"Summary(words={summary.words}, lines={summary.lines}, distinct={summary.distinct}, "
            f"longest={summary.longest!r}, top={top})",
        )

    text = "The cat sat on the mat.\nThe mat was flat, and the cat was fat: 2 cats, 1 mat!\n"
    tally = call("[constructor]tally", "folded")
    added = [call("[method]tally.add", tally, line) for line in text.splitlines(keepends=True)]
    lines.append(f"added {added} words")
    the, dog = (call("[method]tally.count", tally, word) for word in ("the", "dog"))
    lines.append(f"count 'the' = {the}, count 'dog' = {dog}")
    summary = call("[method]tally.summary", tally, 3)
    lines.append(summary_text(summary)[0])
    lines.append("top: " + ", ".join(f"{entry.word} {entry.count}" for entry in summary.top))
    tally.drop(store)
    sensitive = call("[constructor]tally", "sensitive")
    call("[method]tally.add", sensitive, text)
    counts = [call("[method]tally.count", sensitive, word) for word in ("the", "The")]
    lines.append(f"case-sensitive: count 'the' = {counts[0]}, count 'The' = {counts[1]}")
    sensitive.drop(store)
    empty = call("[constructor]tally", "sensitive")
    lines.append(f"empty tally: {summary_text(call('[method]tally.summary', empty, 2))[1]}")
    empty.drop(store)
    lines.append("log:")
    lines += [f"  {line}" for line in log]
    return "\n".join(lines) + "\n"
