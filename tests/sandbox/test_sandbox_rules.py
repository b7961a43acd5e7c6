"""The sandbox's parsing of times and mode parameters, as the hosting commands
and the plain scenario functions take them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoreganizer_client_lib.sandbox.rules import (
    MAX_COUNTED,
    ModeParams,
    parse_modeparams,
    parse_when,
)

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


@pytest.mark.parametrize("text", ["", "Z", "soon", "+5y", "5m", "2026-13-01", "+\u0665m"])
def test_bad_when(text: str) -> None:
    with pytest.raises(ValueError, match="not a time"):
        parse_when(text, now=NOW)


@pytest.mark.parametrize(
    "text",
    [
        "+99999999999d",
        "-99999999999d",
        "+" + "9" * 400 + "s",  # past a float's range
        "+" + "9" * 5000 + ".5h",  # past Python's int conversion limit
    ],
)
def test_when_out_of_range_is_named(text: str) -> None:
    with pytest.raises(ValueError, match="out of range \\(years 1 to 9999\\)") as refused:
        parse_when(text, now=NOW)
    assert text[:12] in str(refused.value) and len(str(refused.value)) < 120


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_datetimes_past_utcs_range_are_named(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_when(text, now=NOW)


DIGITS = st.text("0123456789", min_size=1, max_size=6000)
WHENS = st.one_of(
    st.text(),
    st.builds("{}{}{}".format, st.sampled_from("+-"), DIGITS, st.sampled_from("smhdx")),
    st.builds(
        "{}{}".format,
        st.datetimes().map(datetime.isoformat),
        st.sampled_from(["", "Z", "+01:00", "-14:00", "+23:59", "x"]),
    ),
)


@settings(max_examples=300, deadline=None)
@given(WHENS)
def test_any_when_is_a_time_or_a_clear_error(text: str) -> None:
    try:
        found = parse_when(text, now=NOW)
    except ValueError as exc:
        assert len(str(exc)) < 400 and ("not a time" in str(exc) or "out of range" in str(exc))
    else:
        assert found.tzinfo is not None


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
        ("sum_timelimit", "1+1+1;nan", "B\\+I\\+E;SECONDS"),
        ("sum_timelimit", "1+1+1;inf", "B\\+I\\+E;SECONDS"),
        ("sum_timelimit", "1+1+1;" + "9" * 400, "at most 31622400 seconds"),
        ("sum", "1001+0+0", f"at most {MAX_COUNTED} games"),
        ("sum", "9" * 4301 + "+1+1", f"at most {MAX_COUNTED} games"),
        ("sum", "\u0661+1+1", "expected B\\+I\\+E"),
    ],
)
def test_bad_modeparams(mode: str, params: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_modeparams(mode, params)


MODEPARAMS = st.one_of(
    st.text(),
    st.builds(
        "{}+{}+{}{}".format,
        DIGITS,
        DIGITS,
        DIGITS,
        st.one_of(st.just(""), st.text().map(";".__add__), DIGITS.map(";".__add__)),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["sum", "sum_timelimit", "relay", ""]), MODEPARAMS)
def test_any_modeparams_are_read_or_clearly_refused(mode: str, params: str) -> None:
    try:
        found = parse_modeparams(mode, params)
    except ValueError as exc:
        assert len(str(exc)) < 400 and ("modeparams" in str(exc) or "mode" in str(exc))
    else:
        assert isinstance(found, ModeParams)
        assert all(0 <= n <= MAX_COUNTED for n in found.counts.values())
