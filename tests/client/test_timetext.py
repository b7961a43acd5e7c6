"""Times in words: the one module that formats a time for a player."""

from __future__ import annotations

from datetime import datetime, timedelta

from scoreganizer_client_lib import timetext

HERE = datetime(2026, 5, 20, 13, 37, 5).astimezone()  # a Wednesday, this computer's zone


def test_countdowns_count_days_in_the_command_and_the_app_alike() -> None:
    assert timetext.countdown(245) == "0:04:05"
    assert timetext.countdown(0.2) == "0:00:01"  # zero only when the time has come
    assert timetext.countdown(2 * 86400 + 3 * 3600 + 245) == "2 d 3:04:05"
    assert timetext.countdown(-5) == "0:00:00"


def test_relative_and_ago() -> None:
    assert timetext.relative(HERE + timedelta(hours=2), HERE) == "in 2 h"
    assert timetext.relative(HERE - timedelta(days=3), HERE) == "3 d ago"
    assert timetext.relative(HERE, HERE) == "now"
    assert timetext.ago(HERE - timedelta(seconds=12), HERE) == "12 s"
    assert timetext.ago(HERE - timedelta(minutes=125), HERE) == "2 h 5 min"
    assert timetext.ago(HERE - timedelta(days=3), HERE) == "3 d"


def test_moments_are_as_short_as_is_still_clear() -> None:
    assert timetext.clock_time(HERE, HERE + timedelta(minutes=1)) == "13:37:05"
    assert timetext.clock_time(HERE, HERE + timedelta(days=1)) == "2026-05-20 13:37:05"
    assert timetext.short_moment(HERE, HERE) == "13:37"
    assert timetext.short_moment(HERE, HERE + timedelta(days=2)) == "05-20 13:37"
    assert timetext.short_moment(HERE, HERE + timedelta(days=400)) == "2026-05-20 13:37"
    assert timetext.date_time(HERE) == "2026-05-20 13:37"
    assert timetext.day_time(HERE) == "Wed 20 May, 13:37"


def test_spans_of_play_time() -> None:
    assert timetext.time_span(timedelta(minutes=150)) == "2 h 30 min"
    assert timetext.time_span(timedelta(seconds=65)) == "1 min 5 s"
