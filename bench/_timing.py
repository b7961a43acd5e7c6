"""Shared helpers: interleaved timing, so that a noisy machine affects both
sides of a ratio alike; the one switch that runs a benchmark at its smallest
size; and the one format of a result line.

``SCOREGANIZER_BENCH_SMALLEST=1`` asks every benchmark for its smallest size
(one round, the fewest calls, files and seconds that still exercise each
path): CI runs each benchmark so (``tests/bench/test_benchmarks.py``), so that none
rots. Its figures mean nothing; the normal sizes are the measurement.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: The environment variable that asks for the smallest size.
SMALLEST = "SCOREGANIZER_BENCH_SMALLEST"


def smallest() -> bool:
    """Whether this run is asked for the smallest size."""
    return os.environ.get(SMALLEST, "") not in ("", "0")


def size(normal: T, least: T) -> T:
    """``normal``, or ``least`` when the run is asked for the smallest size."""
    return least if smallest() else normal


def per_call(func: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``func`` over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        func()
    return (time.perf_counter() - start) / calls


def ratio(
    ours: Callable[[], object],
    baseline: Callable[[], object],
    calls: int,
    rounds: int | None = None,
) -> tuple[float, float, float]:
    """Median over ``rounds`` (default 7; 1 at the smallest size) of
    (ours / baseline), alternating which goes first; also the median seconds
    per call of each."""
    rounds = rounds if rounds is not None else size(7, 1)
    ours(), baseline()  # warm up connections and caches
    ratios, a_times, b_times = [], [], []
    for i in range(rounds):
        if i % 2:
            b = per_call(baseline, calls)
            a = per_call(ours, calls)
        else:
            a = per_call(ours, calls)
            b = per_call(baseline, calls)
        ratios.append(a / b)
        a_times.append(a)
        b_times.append(b)
    return statistics.median(ratios), statistics.median(a_times), statistics.median(b_times)


def report(name: str, result: tuple[float, float, float], target: str, unit: str = "s") -> None:
    """Print one benchmark line: ``result`` is (ratio, ours, baseline), in
    seconds (shown in ms) or in ``unit``."""
    value, ours, base = result
    if unit == "s":
        times = f"ours {ours * 1e3:8.3f} ms, baseline {base * 1e3:8.3f} ms"
    else:
        times = f"ours {ours:8.1f} {unit}, baseline {base:8.1f} {unit}"
    print(f"{name:<44} ratio {value:5.2f}  ({times})  target {target}", flush=True)
