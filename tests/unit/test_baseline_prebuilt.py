"""The baseline's common operations compiled ahead (``engines/baseline/prebuilt.py``).

The file is written by ``python -m wasmbox.engines.baseline.prebuild`` from the same templates the
operations are made from at run time; it must be what that writes now, and the operations must come from
it rather than from ``compile``.
"""

from __future__ import annotations

import pytest

from wasmbox.engines.baseline import operations, prebuild, prebuilt


def test_prebuilt_is_what_prebuild_writes() -> None:
    assert prebuild.TARGET.read_text() == prebuild.text(), (
        "engines/baseline/prebuilt.py is stale: run python -m wasmbox.engines.baseline.prebuild"
    )


def test_every_common_source_is_prebuilt_from_its_own_text() -> None:
    sources = operations.common_sources()
    assert len(sources) > 150
    for source in sources:
        function = prebuilt.BY_SOURCE[source]
        compiled: dict[str, object] = {}
        exec(source, dict(operations._NAMESPACE), compiled)  # noqa: S102 - the engine's own template
        (made,) = compiled.values()
        assert function.__code__.co_code == made.__code__.co_code, source  # type: ignore[attr-defined]
        assert function.__code__.co_names == made.__code__.co_names, source  # type: ignore[attr-defined]


def test_operations_come_from_prebuilt_not_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("compiled at run time")

    monkeypatch.setattr(operations, "exec", refuse, raising=False)  # _generated's exec, as a module global
    divide = operations.FIXED["i32.div_s"]
    assert divide is prebuilt.BY_SOURCE[operations._fixed_source("i32.div_s", operations.TRAPPING["i32.div_s"])]
    stack = [7, 2]
    divide(stack)
    assert stack == [3]


def test_a_changed_template_is_compiled_not_taken_from_prebuilt() -> None:
    source = operations._fixed_source("i32.add", "(({0} + {1} + 1) & 0xFFFFFFFF)")
    assert source not in operations._prebuilt()
    operation = operations._generated(source, "op")
    stack = [5, 6]
    operation(stack)
    assert stack == [12]
