"""The explorer page in a real headless Chromium: what it shows at step N is what ``wasmbox trace --json``
says about step N.

Needs Debian's ``chromium`` (``apt-get install chromium``) and the ``playwright`` Python package
(``pip install playwright``), driven at /usr/bin/chromium: playwright's own browser download is not
used.  Screenshots go to ``$WASMBOX_ARTIFACTS/explorer`` (or a temporary directory); the test
prints where.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wasmbox.cli import main
from wasmbox.inspect.explore.recording import Recording
from wasmbox.inspect.explore.server import ExplorerServer

ROOT = Path(__file__).resolve().parents[2]
CALORIES = ROOT / "examples" / "calories" / "calories.wat"
CHROMIUM = os.environ.get("WASMBOX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if importlib.util.find_spec("playwright") is None:
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)
if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, dict[str, Any]]]:
    """The calories example recorded (saved and as a page) and traced."""
    directory = tmp_path_factory.mktemp("explore")
    trace = directory / "trace.jsonl"
    assert (
        main(["explore", "--save", str(directory / "run.json"), "--html", str(directory / "run.html"), str(CALORIES)])
        == 0
    )
    assert main(["trace", "--json", "--memory", "-o", str(trace), str(CALORIES)]) == 0
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    return directory, {r["step"]: r for r in records if r["event"] == "instr"}


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = os.environ.get("WASMBOX_ARTIFACTS")
    directory = Path(base) / "explorer" if base else tmp_path_factory.mktemp("explorer-screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    print(f"\nexplorer screenshots: {directory}")
    return directory


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def served(run: tuple[Path, dict[int, dict[str, Any]]], page: Page) -> Iterator[Page]:
    server = ExplorerServer(Recording.from_json((run[0] / "run.json").read_text()))
    server.start()
    page.goto(server.url)
    page.evaluate("window.explorer.ready")
    yield page
    server.shutdown()
    server.server_close()


def at_step(page: Page, step: int) -> None:
    page.wait_for_selector(f'#current[data-step="{step}"]', timeout=10_000)


def shown_stack(page: Page) -> list[str]:
    return list(reversed(page.eval_on_selector_all("#stack li", "items => items.map(i => i.dataset.value)")))


def highlighted_memory(page: Page) -> tuple[int, str]:
    cells = page.eval_on_selector_all(
        "#memory .cell.r, #memory .cell.w", "cells => cells.map(c => [Number(c.dataset.addr), c.textContent])"
    )
    return cells[0][0], "".join(text for _, text in cells)


def expect_step(page: Page, record: dict[str, Any], *, stack: bool = True) -> None:
    """The page shows the trace's record for this step: instruction, line, stack, memory touched."""
    current = page.eval_on_selector("#current", "node => ({...node.dataset})")
    assert current["instr"] == record["instr"] and current["func"] == record["func"]
    assert int(current["offset"]) == record["offset"] and int(current["line"]) == record["line"]
    assert page.eval_on_selector(".line.current", "node => Number(node.dataset.line)") == record["line"]
    if record["instr"] != "end":  # a function's final end is implicit, on the line of its last instruction
        assert page.inner_text(".line.current .tx").strip().startswith(record["instr"].split()[0])
    if stack:
        assert shown_stack(page) == [f"{v['type']}:{v['value']}" for v in record["stack"]]
    if "memory" in record:
        assert highlighted_memory(page) == (record["memory"]["address"], record["memory"]["bytes"])


def test_stepping_shows_what_the_trace_says(
    served: Page, run: tuple[Path, dict[int, dict[str, Any]]], screenshots: Path
) -> None:
    page, trace = served, run[1]
    first_load = min(step for step, r in trace.items() if r["instr"] == "i32.load8_u")
    for step in range(1, first_load + 1):
        page.click("#step")
        at_step(page, step)
    expect_step(page, trace[first_load])
    assert "memory" in trace[first_load] and page.locator("#memory .cell.r").count() == 1
    page.screenshot(path=str(screenshots / f"step-{first_load}-load.png"))
    page.click("#back")
    at_step(page, first_load - 1)
    expect_step(page, trace[first_load - 1])
    assert page.locator("#memory .cell.r").count() == 0


def test_slider_scrubs_to_a_store(served: Page, run: tuple[Path, dict[int, dict[str, Any]]], screenshots: Path) -> None:
    page, trace = served, run[1]
    store = max(step for step, r in trace.items() if r["instr"] == "i32.store8")
    page.locator("#slider").fill(str(store))
    at_step(page, store)
    expect_step(page, trace[store])
    assert page.locator("#memory .cell.w").count() == 1
    page.screenshot(path=str(screenshots / f"step-{store}-store.png"))
    page.locator("#slider").fill(str(len(trace)))
    at_step(page, len(trace))
    assert page.inner_text("#output") == "most calories: 24000\n"
    assert "fd_write(i32:1, i32:0, i32:2, i32:32) → i32:0" in page.inner_text("#calls")
    page.screenshot(path=str(screenshots / "end.png"))


def test_clicking_a_line_sets_a_breakpoint_to_run_to(
    served: Page, run: tuple[Path, dict[int, dict[str, Any]]], screenshots: Path
) -> None:
    page, trace = served, run[1]
    calls = sorted(step for step, r in trace.items() if r["instr"] == "call $max")
    line = trace[calls[0]]["line"]
    page.click(f'.line[data-line="{line}"] .ln')
    assert page.locator(".line.bp").count() == 1
    page.click("#run")
    at_step(page, calls[0])
    expect_step(page, trace[calls[0]], stack=False)  # a call's trace line shows the stack after it returned
    assert page.eval_on_selector_all("#frames li", "items => items.map(i => i.firstChild.textContent)") == [
        "$max",
        "$solve",
        "$start",
    ]
    page.screenshot(path=str(screenshots / f"step-{calls[0]}-breakpoint.png"))
    page.click("#run")
    at_step(page, calls[1])
    page.click("#out")  # lands just after $max's end ran, back in $solve
    out = min(step for step, r in trace.items() if step > calls[1] and r["func"] == "$max" and r["instr"] == "end")
    at_step(page, out)
    expect_step(page, trace[out], stack=False)  # the trace shows $max's result, the page $solve's stack


def test_self_contained_page_works_from_a_file(page: Page, run: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    directory, trace = run
    page.goto((directory / "run.html").as_uri())
    page.evaluate("window.explorer.ready")
    fd_write = page.eval_on_selector_all(
        "#call-target option", "options => options.find(o => o.textContent.startsWith('$fd_write')).value"
    )
    page.select_option("#call-target", fd_write)
    page.click("#find-call")
    step = next(step for step, r in trace.items() if r["instr"] == "call $fd_write")
    at_step(page, step)
    expect_step(page, trace[step])
    page.fill("#write-address", "0x5f")
    page.click("#to-start")
    at_step(page, 0)
    page.click("#find-write")
    written = next(
        s for s, r in sorted(trace.items()) if r.get("memory", {}).get("address") == 0x5F and "store" in r["instr"]
    )
    at_step(page, written)
    expect_step(page, trace[written])


def test_a_c_program_shows_its_c_line(page: Page, tmp_path: Path, screenshots: Path) -> None:
    """The C example keeps its DWARF line table: a step in main shows wordcount.c's line and its text."""
    program = ROOT / "examples" / "wasi_c" / "wordcount.wasm"
    saved, html = tmp_path / "run.json", tmp_path / "run.html"
    assert main(["explore", "--save", str(saved), "--html", str(html), "--limit", "3000", str(program)]) == 0
    recording = Recording.from_json(saved.read_text())
    texts = recording.info["source_lines"]
    wanted = {i for i, text in enumerate(texts) if text.startswith("wordcount.c:")}
    functions = recording.info["functions"]
    index = next(  # the first instruction run whose line is in wordcount.c (step index + 1 on the page)
        i
        for i in range(recording.steps)
        if (src := functions[recording.func[i]].get("src")) and src[recording.position[i]] in wanted
    )
    step = index + 1
    page.goto(html.as_uri())
    page.evaluate("window.explorer.ready")
    page.fill("#position", str(step))
    page.press("#position", "Enter")
    at_step(page, step)
    shown = page.get_attribute("#current", "data-source") or ""
    assert shown.startswith("wordcount.c:") and "  " in shown, shown
    assert page.inner_text("#current .source").startswith("wordcount.c:")
    assert shown == texts[functions[recording.func[index]]["src"][recording.position[index]]]
    page.screenshot(path=str(screenshots / "c-source-line.png"))
