"""Writes of many threads gathered into batches (sandbox/batching.py)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from conftest import wait_for
from scoreganizer_client_lib.sandbox.batching import Batcher


class HeldWrites:
    """A write function whose first call waits until released."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, items: Sequence[int]) -> list[int]:
        if not self.batches:
            self.started.set()
            self.release.wait(60)  # longer than wait_for's bound on the test's side
        self.batches.append(list(items))
        if self.fail and len(self.batches) == 2:
            raise OSError("disk full")
        return [item * 10 for item in items]


def sent_during_a_write(writes: HeldWrites, largest: int, count: int) -> list[Future[int]]:
    """Items 1 to ``count`` sent while item 0 is being written; their results."""
    batcher = Batcher(writes, largest)
    pool = ThreadPoolExecutor(count + 1)
    first = pool.submit(batcher.submit, 0)
    assert writes.started.wait(30)
    later = [pool.submit(batcher.submit, n) for n in range(1, count + 1)]
    wait_for(lambda: batcher.waiting == count)
    writes.release.set()
    assert first.result() == 0
    pool.shutdown()
    assert batcher.submit(count + 1) == (count + 1) * 10  # still writing
    return later


def test_items_sent_during_a_write_are_written_together() -> None:
    writes = HeldWrites()
    later = sent_during_a_write(writes, largest=4, count=10)
    assert [f.result() for f in later] == [n * 10 for n in range(1, 11)]
    assert writes.batches[0] == [0]
    assert sorted(n for batch in writes.batches[1:-1] for n in batch) == list(range(1, 11))
    assert [len(batch) for batch in writes.batches[1:-1]] == [4, 4, 2]


def test_a_failed_write_fails_its_batch_only() -> None:
    later = sent_during_a_write(HeldWrites(fail=True), largest=3, count=6)
    failed = [f for f in later if f.exception() is not None]
    assert len(failed) == 3
    with pytest.raises(OSError, match="disk full"):
        failed[0].result()
    assert sorted(f.result() for f in later if f not in failed) == [40, 50, 60]
