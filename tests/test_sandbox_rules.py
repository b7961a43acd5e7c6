"""The sandbox's parsing of times and mode parameters, as the hosting commands
and the plain scenario functions take them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scoreganizer_client_lib.sandbox.rules import parse_modeparams, parse_when

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("+5m", NOW + timedelta(minutes=5)),
        ("-1h", NOW - timedelta(hours=1)),
        ("+2d", NOW + timedelta(days=2)),
        ("+1.5s", NOW + timedelta(seconds=1.5)),
        ("2026-03-01T12:00:00", datetime(2026, 3, 1, 12, tzinfo=timezone.utc)),
        ("2026-03-01T12:00:00Z", datetime(2026, 3, 1, 12, tzinfo=timezone.utc)),
        ("2026-03-01T13:00:00+01:00", datetime(2026, 3, 1, 12, tzinfo=timezone.utc)),
    ],
)
def test_when(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["", "Z", "soon", "+5y", "5m", "2026-13-01"])
def test_bad_when(text: str) -> None:
    with pytest.raises(ValueError, match="not a time"):
        parse_when(text, now=NOW)


def test_modeparams() -> None:
    assert parse_modeparams("sum", "1+2+3").counts == {
        "beginner": 1,
        "intermediate": 2,
        "expert": 3,
    }
    timed = parse_modeparams("sum_timelimit", "1+1+1;600")
    assert timed.time_limit == 600


@pytest.mark.parametrize(
    ("mode", "params", "message"),
    [
        ("relay", "1+1+1", "unknown mode"),
        ("sum", "1+1", "expected B\\+I\\+E"),
        ("sum", "1+1+1;600", "no time limit"),
        ("sum_timelimit", "1+1+1", "B\\+I\\+E;SECONDS"),
        ("sum_timelimit", "1+1+1;-5", "positive"),
    ],
)
def test_bad_modeparams(mode: str, params: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_modeparams(mode, params)
