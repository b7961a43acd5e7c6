"""The reference analyser, ms_toollib, run in a subprocess for the tests.

ms_toollib (Rust, used by Metasweeper) replays a game's mouse events as the
clones do. Its Python binding can kill the whole process (SIGABRT) on some
files, so the tests never call it in their own process: a worker subprocess
(this file, run as a script) reads the requests from a pipe, one after
another, and answers each with one JSON line. When the worker dies or does not
answer in time, the call returns :class:`ReferenceFailed` and the next call
starts a new worker.

>>> from reference_analyser import analyse
>>> analyse(Path("tests/data/replays/test_subject.rmv"))  # doctest: +SKIP
Reference(outcome='won', game_time=4.153, bbbv=10, bbbv_solved=10,
          clicks=Clicks(left=19, right=0, double=0, total=19))

One long-lived worker, not one process per call: on two cores a call to the
worker took 0.8 ms for a beginner RMV, a new process per call 130 ms (the
Python start and the import of ms_toollib), so the generated-games test can
afford hundreds of examples.

The figures are ms_toollib's own, at the end of the recorded events (the
dynamic counters of the last event): ``outcome`` is ``"won"`` when the
replayed game ends won, ``"lost"`` when a click opened a mine, ``"unfinished"``
otherwise; ``game_time`` is its ``rtime`` (seconds); the clicks are its
``left``, ``right``, ``double`` and their sum ``cl``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

#: The Popen of the standard library, as this module found it: a worker lives
#: across tests (it ends when its pipe closes, at the latest when the tests'
#: process exits), so the suite's per-test tracking of programs must not end it.
_Popen = subprocess.Popen

#: How long one analysis may take before the worker is ended (a real replay
#: takes milliseconds; the limit is for a worker that hangs).
TIMEOUT = 20.0
#: The largest replay sent to the worker.
MAX_SIZE = 64 * 1024 * 1024
_FORMATS = ("rmv", "avf", "evf")
_HEADER = struct.Struct(">3sI")  # format, size of the replay that follows


@dataclass(frozen=True)
class Clicks:
    """Clicks as ms_toollib counts them."""

    left: int
    right: int
    double: int
    total: int


@dataclass(frozen=True)
class Reference:
    """ms_toollib's judgement of a game."""

    outcome: str  # "won", "lost" or "unfinished"
    game_time: float  # seconds
    bbbv: int
    bbbv_solved: int
    clicks: Clicks

    @property
    def won(self) -> bool:
        """Whether ms_toollib says the game was won."""
        return self.outcome == "won"


@dataclass(frozen=True)
class ReferenceFailed:
    """ms_toollib could not judge the file: it refused it, aborted or hung.
    ``reason`` says which, in words."""

    reason: str


class ReferenceAnalyser:
    """One worker subprocess running ms_toollib, restarted when it dies.

    ``command`` starts the worker (by default this file as a script, with the
    running interpreter); ``timeout`` bounds each analysis. Not thread-safe:
    one caller at a time. Use as a context manager or call :meth:`close`.
    """

    def __init__(self, command: list[str] | None = None, timeout: float = TIMEOUT) -> None:
        self.command = command or [sys.executable, os.fspath(Path(__file__).resolve())]
        self.timeout = timeout
        self.started = 0  # workers started so far
        self._process: subprocess.Popen[bytes] | None = None
        self._answers: queue.Queue[bytes] = queue.Queue()
        self._reader: threading.Thread | None = None
        # The worker's folder: ms_toollib writes crash.log into the current
        # folder when it panics, which tells what went wrong.
        self._folder = tempfile.TemporaryDirectory(prefix="ms_toollib-")

    def __enter__(self) -> ReferenceAnalyser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def analyse(self, data: bytes, fmt: str) -> Reference | ReferenceFailed:
        """ms_toollib's judgement of ``data`` read as ``fmt`` (``"rmv"``,
        ``"avf"`` or ``"evf"``), or why it has none."""
        fmt = fmt.lower()
        if fmt not in _FORMATS:
            raise ValueError(f"not a replay format: {fmt!r}")
        if len(data) > MAX_SIZE:
            return ReferenceFailed(f"larger than {MAX_SIZE} bytes")
        process = self._worker()
        assert process.stdin is not None
        try:
            process.stdin.write(_HEADER.pack(fmt.encode(), len(data)) + data)
            process.stdin.flush()
        except OSError:
            return self._died(process)
        try:
            line = self._answers.get(timeout=self.timeout)
        except queue.Empty:
            self._end(process, kill=True)
            return ReferenceFailed(f"ms_toollib did not answer in {self.timeout:g} s")
        if not line:  # the worker's stdout closed: it died
            return self._died(process)
        answer = json.loads(line)
        if "failed" in answer:
            return ReferenceFailed(answer["failed"])
        answer["clicks"] = Clicks(**answer["clicks"])
        return Reference(**answer)

    def close(self) -> None:
        """End the worker, if one runs, and remove its folder."""
        if self._process is not None:
            self._end(self._process)
        self._folder.cleanup()

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        if self._process is not None:
            self._end(self._process)
        self._answers = queue.Queue()
        process = _Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=self._folder.name,
        )
        self._reader = threading.Thread(
            target=_lines, args=(process.stdout, self._answers.put), daemon=True
        )
        self._reader.start()
        self._process = process
        self.started += 1
        return process

    def _died(self, process: subprocess.Popen[bytes]) -> ReferenceFailed:
        code = self._end(process)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        crash_log = Path(self._folder.name) / "crash.log"
        said = ""
        if crash_log.exists():
            lines = crash_log.read_text("utf-8", "replace").splitlines()
            crash_log.unlink()
            said = next((f": {line[:300]}" for line in lines if line.startswith("message:")), "")
        return ReferenceFailed(f"ms_toollib aborted (its process {how}){said}")

    def _end(self, process: subprocess.Popen[bytes], kill: bool = False) -> int:
        if kill:
            process.kill()
        if process.stdin is not None:
            with contextlib.suppress(OSError):  # a dead worker's pipe
                process.stdin.close()
        try:
            code = process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if self._reader is not None:
            self._reader.join(timeout=2)  # it reads to the end of the closed pipe
        if process.stdout is not None:
            process.stdout.close()
        if self._process is process:
            self._process = None
        return code


def _lines(stream: IO[bytes], put: Any) -> None:
    """Hand each line of ``stream`` to ``put``, then ``b""`` at its end."""
    for line in stream:
        put(line)
    put(b"")


_shared: ReferenceAnalyser | None = None


def analyse(source: bytes | Path, fmt: str | None = None) -> Reference | ReferenceFailed:
    """ms_toollib's judgement of a replay (its bytes or its path), by the
    worker this process shares; ``fmt`` defaults to the path's suffix."""
    global _shared
    if isinstance(source, Path):
        fmt = fmt or source.suffix.lstrip(".")
        source = source.read_bytes()
    if fmt is None:
        raise ValueError("the format of a replay given as bytes")
    if _shared is None:
        _shared = ReferenceAnalyser()
        atexit.register(_shared.close)
    return _shared.analyse(source, str(getattr(fmt, "value", fmt)))


# -- the worker ------------------------------------------------------------------


def _judge(ms_toollib: Any, data: bytes, fmt: str) -> dict[str, Any]:
    cls = {"rmv": ms_toollib.RmvVideo, "avf": ms_toollib.AvfVideo, "evf": ms_toollib.EvfVideo}
    video = cls[fmt](raw_data=list(data), file_name=f"replay.{fmt}")
    video.parse()
    video.analyse()
    events = video.events
    if not events:
        return {"failed": "ms_toollib found no events"}
    last = events[-1].key_dynamic_params
    if video.is_completed:
        outcome = "won"
    elif any(event.useful_level == 4 for event in events):  # 4: the click opened a mine
        outcome = "lost"
    else:
        outcome = "unfinished"
    return {
        "outcome": outcome,
        "game_time": video.rtime,
        "bbbv": video.bbbv,
        "bbbv_solved": last.bbbv_solved,
        "clicks": {
            "left": last.left,
            "right": last.right,
            "double": last.double,
            "total": last.left + last.right + last.double,
        },
    }


def _serve() -> None:
    """Answer requests from stdin until it closes: a header (format, size),
    the replay's bytes; one JSON line each on the original stdout."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever ms_toollib prints goes to stderr, not into the answers
    import ms_toollib

    requests = sys.stdin.buffer
    while True:
        header = requests.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        fmt, size = _HEADER.unpack(header)
        data = requests.read(size)
        try:
            answer = _judge(ms_toollib, data, fmt.decode())
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a Rust panic arrives as a BaseException
            answer = {"failed": f"ms_toollib refused it: {type(exc).__name__}: {exc}"[:500]}
        answers.write(json.dumps(answer).encode() + b"\n")
        answers.flush()


if __name__ == "__main__":
    _serve()
