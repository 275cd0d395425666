"""The calls the oracle makes, in order, on every guest: each export with edge-case arguments, resources through
their whole lives (construction, methods, borrows, moves, drops, use after drop), and a trap at the end."""

from __future__ import annotations

from typing import Any

from .oracle_harness import Call, Drop, NewSink, Ref, Step

NAN = float("nan")
INF = float("inf")


def point(x: int, y: int) -> dict[str, int]:
    return {"x": x, "y": y}


def shape(name: str, tag: str | None, *corners: dict[str, int]) -> dict[str, Any]:
    return {
        "name": name,
        "origin": point(-7, 9),
        "corners": list(corners),
        "tag": None if tag is None else {"some": tag},
    }


def event(case: str, value: Any = None) -> dict[str, Any]:
    return {"case": case, "value": value}


def report(seed: int) -> dict[str, Any]:
    return {
        "title": f"given {seed} ✓ ünï",
        "flag": seed % 2 == 0,
        "small": 255 - seed,
        "wide": 2**64 - 1 - seed,
        "ratio": -0.0 if seed == 0 else seed / 3,
        "letter": "𝄞",
        "words": ["one", "", "thrée"][: seed % 4],
        "raw": list(range(seed)),
        "shape": shape("tri", "t", point(1, 2), point(3, 4), point(-5, -6)),
        "event": [event("idle"), event("text", "é∑"), event("scroll", -1.5), event("key", "z")][seed % 4],
        "color": ["red", "green", "blue", "alpha-channel"][seed % 4],
        "perms": ["read", "exec"][: seed % 3],
        "mid": ["m0", "m8", "m4"][: seed % 4],
        "many": [f"b{i}" for i in range(0, 32, seed + 1)],
        "maybe": None if seed % 2 else {"some": -32768 + seed},
        "outcome": {"ok": seed} if seed % 3 else {"err": "bad ✗"},
        "pair": [-128 + seed, 3.5],
    }


INTS = [
    (0, 0, 0, 0, 0, 0, 0, 0),
    (255, -128, 65535, -32768, 2**32 - 1, -(2**31), 2**64 - 1, -(2**63)),
    (254, 127, 32767, 32767, 2**31, 2**31 - 1, 2**63, 2**63 - 1),
]
FLOATS = [(0.0, 0.0), (-0.0, -0.0), (1.5, -2.25), (INF, -INF), (NAN, NAN), (3.4028234663852886e38, 5e-324)]
BITS = [
    (0x7FC00000, 0x7FF8000000000000),  # canonical NaNs
    (0x7FC00001, 0x7FF8000000000001),  # NaNs with payloads
    (0xFFC00000, 0xFFF8000000000000),  # negative NaNs
    (0x7F800001, 0x7FF0000000000001),  # signalling NaNs
    (0x80000000, 0x8000000000000000),  # -0.0
    (0x00000001, 0x0000000000000001),  # the smallest subnormals
]
STRINGS = ["", "plain", "héllo wörld", "π≈3.14159", "🍰 emoji 🎉", "x" * 3000, "\u0000nul\u0000"]
CHARS = ["a", "\u0000", "é", "\ud7ff", "\ue000", "𝄞", "\U0010ffff"]


def values_script() -> list[Step]:
    steps: list[Step] = [Call("flip", (True,)), Call("flip", (False,))]
    steps += [Call("ints", args) for args in INTS]
    steps += [Call("floats", args) for args in FLOATS]
    steps += [Call("float-bits", args) for args in FLOATS]
    steps += [Call("bits-float", args) for args in BITS]
    steps += [Call("next-char", (c,)) for c in CHARS]
    steps += [Call("shout", (s,)) for s in STRINGS]
    steps += [Call("reverse-bytes", (b,)) for b in ([], [0], list(range(256)))]
    steps += [Call("tag-strings", (xs,)) for xs in ([], [""], STRINGS)]
    nested = [[], [None], [{"some": []}, None, {"some": [1, 2, 3]}, {"some": [2**32 - 1, 1]}]]
    steps += [Call("nested", (x,)) for x in nested]
    steps += [
        Call("option-option", (x,)) for x in (None, {"some": None}, {"some": {"some": ""}}, {"some": {"some": "ab"}})
    ]
    steps += [Call("list-of-lists", (x,)) for x in ([], [[]], [[1, -2, 3], [], [-32768, 32767]])]
    steps += [Call("swap", ((7, "ünï", -0.0),)), Call("swap", ((255, "", NAN),))]
    steps += [Call("move-shape", (shape("box", None, point(0, 0), point(2**31 - 1, 5)), 1))]
    steps += [Call("move-shape", (shape("", "tagged", *[point(i, -i) for i in range(50)]), -3))]
    events = [
        event("idle"),
        event("click", point(-27, 3)),
        event("key", "𝄞"),
        event("text", "añb"),
        event("scroll", 2.5),
    ]
    steps += [Call("next-event", (e,)) for e in [*events, event("scroll", -0.0), event("scroll", NAN)]]
    steps += [Call("next-color", (c,)) for c in ("red", "green", "blue", "alpha-channel")]
    steps += [Call("flip-small", (f,)) for f in ([], ["read"], ["read", "write", "exec"])]
    steps += [Call("flip-medium", (f,)) for f in ([], ["m8"], ["m0", "m3", "m7"])]
    steps += [Call("flip-big", (f,)) for f in ([], ["b31"], ["b0", "b15", "b16", "b30"])]
    steps += [Call("maybe-double", (x,)) for x in (None, {"some": 0}, {"some": 21}, {"some": 2**31})]
    steps += [Call("divide", args) for args in ((7, 2), (-7, 2), (1, 0), (-(2**31), -1))]
    steps += [Call("unit-result", (ok,)) for ok in (True, False)]
    steps += [Call("err-only", (x,)) for x in (4, 5)]
    steps += [Call("ok-only", (x,)) for x in (0, 12345)]
    many = (255, -128, 65535, -32768, 2**32 - 1, -(2**31), 2**64 - 1, -(2**63), -0.0, NAN, "𝄞", True, "ünï", [0, 255])
    steps += [Call("many-params", (*many, {"some": 7}, "blue", ["read", "exec"], 123456))]
    steps += [Call("many-params", (0, 0, 0, 0, 0, 0, 0, 0, 1.0, 1.0, "a", False, "", [], None, "red", [], 0))]
    steps += [Call("make-report", (seed,)) for seed in range(6)]
    steps += [Call("echo-report", (report(seed),)) for seed in range(4)]
    steps += [Call("call-host", (n,)) for n in (1, 2)]
    return steps


def values_sample_script() -> list[Step]:
    """The first call of each export in ``values_script``, and the NaN cases: what the CPython guest runs by
    default (its interpreter runs on wasmbox's engines at ~0.2-3 s a call; the whole script is ``slow``)."""
    seen: set[str] = set()
    sample: list[Step] = []
    for step in values_script():
        assert isinstance(step, Call)
        if step.export not in seen or any(isinstance(arg, float) and arg != arg for arg in step.args):
            seen.add(step.export)
            sample.append(step)
    return sample


def guest_resource_script(big_add: int = -(2**63)) -> list[Step]:
    """The guest's resource through its life; the last step uses a dropped one, which both refuse. (wasmtime
    then refuses to enter the instance again, wasmbox refuses before entering: nothing is compared after it.)
    ``big_add`` is added to a counter at 8: the default makes it wrap to a negative."""
    return [
        # The guest's resource: constructor, methods, a static, a borrow of the same type, drops and use after drop.
        Call("[constructor]counter", (5,), keep="c"),
        Call("[method]counter.add", (Ref("c"), 3)),
        Call("[method]counter.add", (Ref("c"), big_add)),
        Call("[method]counter.get", (Ref("c"),)),
        Call("[static]counter.zero", (), keep="z"),
        Call("[method]counter.absorb", (Ref("z"), Ref("c"))),
        Call("[method]counter.get", (Ref("z"),)),
        Call("counters-dropped"),
        Drop("c"),
        Call("counters-dropped"),
        Drop("z"),
        Call("counters-dropped"),
        Call("[constructor]counter", (-1,), keep="d"),
        Call("[method]counter.absorb", (Ref("d"), Ref("c")), fails=True),  # lending a dropped one: refused
    ]


def guest_resource_nonnegative_script() -> list[Step]:
    """``guest_resource_script`` with every counter value the guest returns non-negative (the largest s64 instead
    of a wrap to a negative one): componentize-js 0.23.0 aborts the guest (``mozalloc_abort``, on wasmtime as on
    wasmbox) when an export returns a negative s64 as a core i64; through memory it passes (its imports' negative
    s64 arguments abort too: bytecodealliance/ComponentizeJS#343)."""
    return guest_resource_script(big_add=2**63 - 9)


def dropped_counter_script() -> list[Step]:
    """The host calls a method of a counter it dropped: refused."""
    return [
        Call("[constructor]counter", (2,), keep="c"),
        Drop("c"),
        Call("[method]counter.get", (Ref("c"),), fails=True),
    ]


def host_resource_script() -> list[Step]:
    """The host's resource lent, moved, made and kept by the guest; then the guest uses a handle it dropped: a
    trap, after which neither runtime enters the instance again."""
    return [
        Call("use-sink", (NewSink("lent"), "hello")),
        Call("consume-sink", (NewSink("given"),)),
        Call("fresh-sink", ("made",), keep="f"),
        Call("use-sink", (Ref("f"), "again")),
        Drop("f"),
        Call("keep-sink", ("k1",)),
        Call("keep-sink", ("k2",)),
        Call("release-kept"),
        Call("release-kept"),
        Call("call-host", (3,)),
        # The guest uses a handle it dropped: a trap, and the instance cannot be entered again.
        Call("misuse-sink", (NewSink("doomed"),), fails=True),
        Call("flip", (True,), fails=True),
    ]
