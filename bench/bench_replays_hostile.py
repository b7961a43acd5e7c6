"""Crafted replays: is the reader linear in time and bounded in memory?

For each kind of crafted content (long runs of digits, dots, spaces, line
ends, ``#``, ``_`` and hex digits in the text fields of each format, and long
event lists), it prints:

- time: 1 MiB of crafted content against 64 KiB of the same, measured
  alternately in this process (target: ratio <= 16, and 1 MiB under 0.5 s);
- memory: the peak of what the reader allocates on a 16 MiB file of that
  kind, measured with tracemalloc in a fresh process, with the growth of the
  process's peak RSS where the platform reports it (target: under 4x the
  input plus 20 MB).

Run: ``python bench/bench_replays_hostile.py``
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
import hostile_replays as h
from _timing import ratio, report, size
from scoreganizer_client_lib import replays

TESTS = Path(__file__).parent.parent / "tests"

MIB = 1024 * 1024
#: The sizes compared for time, and the size measured for memory.
SMALL, LARGE, HUGE = size((64 * 1024, MIB, replays.MAX_REPLAY_SIZE), (4096, 64 * 1024, MIB))


def _runs(chars: str, n: int) -> bytes:
    """``n`` bytes of long runs of each of ``chars`` in turn."""
    run = max(1, n // len(chars))
    return b"".join(c.encode() * run for c in chars)[:n]


def _rmv_events(n: int) -> bytes:
    """An RMV v2 with ``n`` bytes of mouse moves before its events."""
    _, sections = h.rmv_sections(h.RMV2)
    move = bytes([1, 0, 0, 1, 0, 0, 8, 0, 8])  # code, time u24, flags, x u16, y u16
    return h.rmv(h.RMV2, events=move * (n // len(move)) + sections["events"])


def _evf_events(n: int) -> bytes:
    """An EVF with ``n`` bytes of mouse moves before its end of events."""
    move = bytes([1, 0, 0, 1, 0, 8, 0, 8])  # op, time u24, x u16, y u16
    end = len(h.EVF) - 1 - 32  # the end-of-events op, then the checksum
    return h.EVF[:end] + move * (n // len(move)) + h.EVF[end:]


KINDS: dict[str, Callable[[int], bytes]] = {
    "AVF version line: digits": h.avf_long_version,
    "AVF version line: 7.7.7…": lambda n: h.avf(footer=[*h.AVF_FOOTER_LINES[:3], b"7." * (n // 2)]),
    "AVF footer: carriage returns": lambda n: h.avf_cr_footer(len(h.AVF) + n),
    "AVF name: 1_2_1_2_…": lambda n: h.avf(
        footer=[*h.AVF_FOOTER_LINES[:2], b"1_2_" * (n // 4), h.AVF_FOOTER_LINES[3]]
    ),
    "AVF footer: runs of 7. \\r#_f": lambda n: h.avf(footer_raw=_runs("7. \r#_f", n)),
    "RMV v1 version+result+players: digits": lambda n: h.rmv(
        h.RMV1,
        version_info=b"7" * min(n // 4, 65_535),
        result=b"NICK:" + b"7" * min(n // 4, 65_000),
        players=[b"7" * 255] * (n // 2 // 256),
    ),
    "RMV v2 players: spaces, 1_2_": lambda n: h.rmv(
        h.RMV2,
        version_info=b"x" + b" " * min(n // 2, 65_533) + b"y",
        players=[b" " * 127 + b"1_2_" * 32] * (n // 2 // 256),
    ),
    "RMV v2 events": _rmv_events,
    "EVF texts: digits, dots (refused)": lambda n: h.evf(software=_runs("7.", n)),
    "EVF events": _evf_events,
}


def _inspect(data: bytes) -> None:
    with contextlib.suppress(replays.ReplayError):
        replays.inspect(data)


_MEMORY = """
import json, sys, tracemalloc
sys.path.insert(0, {tests!r})
try:
    import resource
except ImportError:
    resource = None
import hostile_replays as h
from bench_replays_hostile import KINDS, _inspect
data = KINDS[{kind!r}]({size})
_inspect(h.RMV1), _inspect(h.AVF), _inspect(h.EVF)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if resource else 0
tracemalloc.start()
_inspect(data)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) * 1024 if resource else None
print(json.dumps({{"size": len(data), "peak": peak, "rss": grown}}))
"""


def memory(kind: str, size: int) -> dict[str, int | None]:
    """Peak allocation (and RSS growth) of one inspect of a ``size`` input."""
    code = _MEMORY.format(tests=str(TESTS), kind=kind, size=size)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, int | None] = json.loads(out)
    return result


def main() -> None:
    large, small, huge = f"{LARGE // 1024} KiB", f"{SMALL // 1024} KiB", f"{HUGE >> 20} MiB"
    print(f"crafted replays: time {large} / {small} (target <= 16, 1 MiB < 500 ms);")
    print(f"memory on {huge}: peak / (4 x input + 20 MB) (target < 1)")
    print(f"{'kind':<40} {'ratio':>6} {large:>9} {small:>9}", end="   ")
    print(f"{'peak':>8} {'RSS+':>8} {'/bound':>6}")
    worst_time = worst_memory = 0.0
    worst = (0.0, 0.0, 0.0)
    for kind, build in KINDS.items():
        small, large = build(SMALL), build(LARGE)
        calls = size(5, 1)
        start = time.perf_counter()
        _inspect(large)
        if time.perf_counter() - start > 0.05:
            calls = 1
        value, t_large, t_small = ratio(
            lambda large=large: _inspect(large), lambda small=small: _inspect(small), calls
        )
        mem = memory(kind, HUGE)
        bound = 4 * mem["size"] + 20 * MIB  # type: ignore[operator]
        peak = mem["peak"] or 0
        rss = "n/a" if mem["rss"] is None else f"{mem['rss'] / MIB:6.1f}MB"
        print(
            f"{kind:<40} {value:6.2f} {t_large * 1e3:7.2f}ms {t_small * 1e3:7.2f}ms"
            f"   {peak / MIB:6.1f}MB {rss:>8} {peak / bound:6.3f}"
        )
        worst_time = max(worst_time, t_large)
        worst = max(worst, (value, t_large, t_small))
        worst_memory = max(worst_memory, peak / bound, (mem["rss"] or 0) / bound)
    report(
        f"worst kind: {LARGE // 1024} KiB vs {SMALL // 1024} KiB",
        worst,
        f"<= 16; slowest {worst_time * 1e3:.1f} ms (< 500); "
        f"memory {worst_memory:.3f} of the bound (< 1)",
    )


if __name__ == "__main__":
    main()
