"""Shared helpers: interleaved timing, so that a noisy machine affects both
sides of a ratio alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def per_call(func: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``func`` over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        func()
    return (time.perf_counter() - start) / calls


def ratio(
    ours: Callable[[], object], baseline: Callable[[], object], calls: int, rounds: int = 7
) -> tuple[float, float, float]:
    """Median over ``rounds`` of (ours / baseline), alternating which goes
    first; also the median seconds per call of each."""
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


def report(name: str, result: tuple[float, float, float], target: str) -> None:
    """Print one benchmark line."""
    value, ours, base = result
    times = f"ours {ours * 1e3:8.3f} ms, baseline {base * 1e3:8.3f} ms"
    print(f"{name:<44} ratio {value:5.2f}  ({times})  target {target}")
