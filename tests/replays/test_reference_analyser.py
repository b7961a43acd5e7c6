"""The reference analyser's runner: ms_toollib's figures for real replays, and
a clear failure, never a dead test process, when it aborts or hangs."""

from __future__ import annotations

import sys

import pytest

from conftest import REPLAYS
from reference_analyser import Clicks, Reference, ReferenceAnalyser, ReferenceFailed, analyse

pytestmark = pytest.mark.slow


def test_real_replays_are_judged_as_ms_toollib_judges_them() -> None:
    assert analyse(REPLAYS / "test_subject.rmv") == Reference(
        outcome="won",
        game_time=4.153,
        bbbv=10,
        bbbv_solved=10,
        clicks=Clicks(left=19, right=0, double=0, total=19),
    )
    evf = analyse((REPLAYS / "test_subject.evf").read_bytes(), "evf")
    assert isinstance(evf, Reference)
    assert (evf.won, evf.game_time, evf.bbbv, evf.bbbv_solved) == (True, 69.597, 167, 167)
    assert evf.clicks.total == evf.clicks.left + evf.clicks.right + evf.clicks.double


def test_an_abort_is_a_failure_and_the_next_file_gets_a_new_worker() -> None:
    truncated = (REPLAYS / "test_subject.avf").read_bytes()[:100]  # ms_toollib aborts on it
    with ReferenceAnalyser() as analyser:
        failed = analyser.analyse(truncated, "avf")
        assert isinstance(failed, ReferenceFailed)
        assert "aborted" in failed.reason and "signal" in failed.reason
        again = analyser.analyse((REPLAYS / "test_subject_2.rmv").read_bytes(), "rmv")
        assert isinstance(again, Reference) and again.bbbv == 32
        assert analyser.started == 2


def test_a_worker_that_hangs_is_ended_after_the_timeout() -> None:
    hangs = [sys.executable, "-c", "import sys, time; sys.stdin.buffer.read(7); time.sleep(600)"]
    with ReferenceAnalyser(command=hangs, timeout=0.5) as analyser:
        failed = analyser.analyse(b"*rmv", "rmv")
        assert failed == ReferenceFailed("ms_toollib did not answer in 0.5 s")
        assert analyser.started == 1


def test_an_unknown_format_is_a_mistake_of_the_caller() -> None:
    with pytest.raises(ValueError, match="not a replay format"):
        analyse(b"", "mvf")
