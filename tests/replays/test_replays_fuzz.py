"""Damaged replays: truncated, flipped, spliced, random. The reader (and the
judge that replays the events) returns a result or raises ReplayError — never
another exception, never a hang (a hang fails through the ``timeout`` marker;
no test here measures time) — and a result's judgement holds together."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REAL_REPLAYS, REPLAYS
from scoreganizer_client_lib import replays
from scoreganizer_client_lib.replays.testing import write_avf, write_evf, write_rmv

KEY = "1_35_99a8472376717bc7a676876cf0d351e3"
FILES = (
    [path.read_bytes() for path in REAL_REPLAYS]
    + [path.read_bytes() for path in sorted((REPLAYS / "corpus").glob("*.*v"))]
    + [write_rmv(seed=5, key=KEY), write_rmv(seed=6, version=1, outcome="lost")]
    + [
        write(seed=7, key=KEY, outcome=end)
        for write in (write_avf, write_evf)
        for end in ("won", "lost")
    ]
)
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
        assert info.outcome in ("won", "lost", "unfinished") and info.won == (info.outcome == "won")
        assert 0 <= info.game_time < float("inf")
        assert 0 <= info.bbbv_solved <= info.bbbv
        clicks = info.clicks
        assert clicks.total == clicks.left + clicks.right + clicks.double
        assert all(isinstance(problem, str) and problem for problem in info.problems)


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


def test_a_first_opening_timed_after_the_end_gives_no_time_below_zero() -> None:
    """Found by the flips above: an AVF whose first release was moved 2 s later
    than the game's end was timed -0.64 s."""
    data = bytearray(write_avf(seed=7, key=KEY, outcome="lost"))
    first_release = data.index(b"]") + 1 + 8  # the events: a press, then its release
    assert data[first_release] == 5 and data[first_release + 2] == 1  # left up, 0 s
    data[first_release + 2] = 3  # 2 s
    info = replays.inspect(bytes(data))
    assert info.game_time == 0
    assert "the events' times run backwards" in info.problems
