"""Spans of time in words, as the command and the app show them."""

from __future__ import annotations

from datetime import timedelta


def time_span(span: timedelta) -> str:
    """``10 min``, ``2 h 30 min``, ``1 min 5 s``, ``45 s``: a span of play
    time as a player reads it (whole seconds)."""
    seconds = max(int(span.total_seconds()), 0)
    minutes, rest = divmod(seconds, 60)
    if rest:
        return f"{minutes} min {rest} s" if minutes else f"{rest} s"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 120 else f"{minutes} min"


__all__ = ["time_span"]
