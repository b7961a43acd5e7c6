"""Damaged replays: truncated, flipped, spliced, random. The reader returns a
result or raises ReplayError — never another exception, never a hang (a hang
fails through the ``timeout`` marker; no test here measures time)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REAL_REPLAYS
from scoreganizer_client_lib import replays
from scoreganizer_client_lib.replays.testing import write_rmv

FILES = [path.read_bytes() for path in REAL_REPLAYS] + [
    write_rmv(seed=5, key="1_35_99a8472376717bc7a676876cf0d351e3")
]
pytestmark = pytest.mark.timeout(60)
BOUNDED = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _read(data: bytes) -> None:
    try:
        info = replays.inspect(data)
    except replays.ReplayError as exc:
        assert str(exc)  # a message that says something
    else:
        assert info.size == len(data)
        assert info.board.width > 0 and info.board.height > 0


@BOUNDED
@given(st.sampled_from(FILES), st.data())
def test_truncated(original: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(original)))
    _read(original[:cut])


@BOUNDED
@given(
    st.sampled_from(FILES),
    st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=12
    ),
)
def test_flipped_bytes(original: bytes, flips: list[tuple[float, int]]) -> None:
    data = bytearray(original)
    for where, value in flips:
        data[int(where * len(data))] = value
    _read(bytes(data))


@BOUNDED
@given(st.sampled_from(FILES), st.sampled_from(FILES), st.floats(0, 1), st.floats(0, 1))
def test_spliced(a: bytes, b: bytes, x: float, y: float) -> None:
    _read(a[: int(x * len(a))] + b[int(y * len(b)) :])


@BOUNDED
@given(
    st.sampled_from(
        [
            b"",
            b"*rmv\x00\x01",
            b"*rmv\x00\x02",
            b"\x34\x13\x07\x09\x0d\x06",
            b"\x03\xe0\x00",
            b"\x00\x80",
            b"\x02",
        ]
    ),
    st.binary(max_size=4096),
)
def test_random_bytes_behind_real_headers(prefix: bytes, tail: bytes) -> None:
    _read(prefix + tail)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(FILES), st.integers(1, 200))
def test_header_kept_body_repeated(original: bytes, copies: int) -> None:
    _read(original[:64] + original[64:200] * copies)


def test_pathological_sizes_are_linear() -> None:
    # Large inputs built to make naive readers scan again and again.
    for data in (
        b"*rmv\x00\x01" + b"\xff" * 2_000_000,
        b"\x34\x13\x07\x09\x0d\x03" + b"\x01\x01" * 10 + b"[0|" + b"x" * 2_000_000,
        b"\x03\x00\x00\x10\x1e\x00\x63\x1e" + b"\x01" * 2_000_000,
        bytes(range(256)) * 8000,
    ):
        _read(data)
