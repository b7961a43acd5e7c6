"""A judged game in the few words an upload line or the app's feed shows.

The command and the app say the same thing of an accepted game: its time and
its speed when it was won (``4.250 s, 6.12 3BV/s``), and that it does not
count when it was lost or not finished (``lost: does not count``).

>>> from types import SimpleNamespace as Game
>>> game_summary(Game(outcome="won", won=True, game_time=4.25, bbbv_per_second=6.117))
'4.250 s, 6.12 3BV/s'
>>> game_summary(Game(outcome="lost", won=False, game_time=1.5, bbbv_per_second=2.0))
'lost: does not count'
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (startup time)
if TYPE_CHECKING:
    from .replays import ReplayInfo


def game_summary(info: ReplayInfo) -> str:
    """The game in words: ``4.250 s, 6.12 3BV/s`` for a won game,
    ``lost: does not count`` or ``unfinished: does not count`` otherwise."""
    if not info.won:
        return f"{info.outcome}: does not count"
    rate = info.bbbv_per_second
    speed = f", {rate:.2f} 3BV/s" if rate is not None else ""
    return f"{info.game_time:.3f} s{speed}"


__all__ = ["game_summary"]
