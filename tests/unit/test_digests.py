"""``wasmbox.digests``: the same SHA-256 as hashlib's, whichever implementation computes it."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from wasmbox import digests


@given(st.binary(max_size=4096), st.binary(max_size=4096))
def test_small_inputs_hash_as_hashlib_does(first: bytes, second: bytes) -> None:
    ours = digests.sha256(first)
    ours.update(second)
    assert ours.digest() == hashlib.sha256(first + second).digest()
    assert ours.hexdigest() == hashlib.sha256(first + second).hexdigest()


def test_large_inputs_hash_as_hashlib_does() -> None:
    data = bytes(range(256)) * (digests.LARGE // 256 + 3)
    assert len(data) > digests.LARGE
    assert digests.sha256(data).digest() == hashlib.sha256(data).digest()
    assert digests.sha256(data[: digests.LARGE - 1]).digest() == hashlib.sha256(data[: digests.LARGE - 1]).digest()
