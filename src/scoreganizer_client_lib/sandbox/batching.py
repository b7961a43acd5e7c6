"""Writes of many threads gathered into one: the first thread to arrive
writes what every thread waiting meanwhile brought, in one statement and one
commit, and hands each its result; a thread that arrives while a write is
under way waits for it, and writes the next batch if its own item was not in
it. A commit's flush to disk and its trip through the interpreter lock are
then paid once per batch instead of once per item."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Entry(Generic[T, R]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False


class Batcher(Generic[T, R]):
    """Calls ``write(items)`` (a result per item, in order) for batches of at
    most ``largest`` items given to :meth:`submit` by any threads."""

    def __init__(self, write: Callable[[Sequence[T]], Sequence[R]], largest: int) -> None:
        self._write = write
        self._largest = largest
        self._waiting: list[_Entry[T, R]] = []
        self._writing = False
        self._turn = threading.Condition(threading.Lock())

    @property
    def waiting(self) -> int:
        """Items given to :meth:`submit` and not yet taken into a batch."""
        with self._turn:
            return len(self._waiting)

    def submit(self, item: T) -> R:
        """``item``'s result, once written (or what writing its batch raised)."""
        entry: _Entry[T, R] = _Entry(item)
        with self._turn:
            self._waiting.append(entry)
        while True:
            with self._turn:
                while self._writing and not entry.done:
                    self._turn.wait()
                if entry.done:
                    break
                self._writing = True  # the oldest items first: this one's turn comes
                batch = self._waiting[: self._largest]
                del self._waiting[: self._largest]
            self._write_batch(batch)
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[return-value]

    def _write_batch(self, batch: list[_Entry[T, R]]) -> None:
        try:
            results = self._write([entry.item for entry in batch])
        except BaseException as exc:  # every item's caller gets it
            for entry in batch:
                entry.error = exc
        else:
            for entry, result in zip(batch, results, strict=True):
                entry.result = result
        with self._turn:
            for entry in batch:
                entry.done = True
            self._writing = False
            self._turn.notify_all()
