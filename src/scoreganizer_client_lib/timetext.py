"""Times and spans of time in words, as the command, the app and the
library's refusals show them (the one place that formats a time for a player;
the wire's formats are the protocol's). Moments are shown in this computer's
time zone; ``now`` is injectable wherever the text depends on it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def time_span(span: timedelta) -> str:
    """``10 min``, ``2 h 30 min``, ``1 min 5 s``, ``45 s``: a span of play
    time as a player reads it (whole seconds)."""
    seconds = max(int(span.total_seconds()), 0)
    minutes, rest = divmod(seconds, 60)
    if rest:
        return f"{minutes} min {rest} s" if minutes else f"{rest} s"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 120 else f"{minutes} min"


def countdown(seconds: float) -> str:
    """``0:04:05``, ``2 d 3:04:05``: a countdown of ``seconds`` (rounded up,
    so that it shows zero only when the time has come)."""
    whole = max(0, int(seconds + 0.999))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days} d {text}" if days else text


def relative(when: datetime, now: datetime | None = None) -> str:
    """``in 2 h``, ``3 d ago``, ``now``: ``when`` from ``now``, in its largest unit."""
    seconds = (when - _now(now)).total_seconds()
    size = abs(seconds)
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if size >= length:
            amount = f"{size / length:.0f} {unit}"
            return f"in {amount}" if seconds > 0 else f"{amount} ago"
    return "now"


def ago(when: datetime, now: datetime | None = None) -> str:
    """How long ago ``when`` was: ``12 s``, ``3 min``, ``2 h 5 min``, ``3 d``."""
    seconds = max(0, int((_now(now) - when).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 1440} d"


def date_time(when: datetime) -> str:
    """``2026-05-20 13:37``: ``when`` to the minute."""
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def day_time(when: datetime) -> str:
    """``Fri 20 May, 13:37``: ``when`` as a page shows a tournament's start and end."""
    return when.astimezone().strftime("%a %d %b, %H:%M")


def short_moment(when: datetime, now: datetime | None = None) -> str:
    """``when`` to the minute, as short as is still clear next to ``now``:
    ``14:05`` today, ``12-24 18:00`` this year, else the whole date."""
    here = when.astimezone()
    today = _now(now).astimezone()
    if here.date() == today.date():
        return here.strftime("%H:%M")
    if here.year == today.year:
        return here.strftime("%m-%d %H:%M")
    return here.strftime("%Y-%m-%d %H:%M")


def clock_time(when: datetime, now: datetime | None = None) -> str:
    """``when`` to the second: ``13:37:05`` on the day of ``now``, else with
    the date (``2026-05-20 13:37:05``)."""
    here = when.astimezone()
    if here.date() == _now(now).astimezone().date():
        return here.strftime("%H:%M:%S")
    return here.strftime("%Y-%m-%d %H:%M:%S")


__all__ = [
    "ago",
    "clock_time",
    "countdown",
    "date_time",
    "day_time",
    "relative",
    "short_moment",
    "time_span",
]
