"""The judge: every real replay is replayed from its mouse events, judged as
the reference analyser (ms_toollib, in a subprocess) judges it, and accused of
nothing; a file whose claims were edited, or that plays on after its end, is
named for it.

The corpus (``tests/data/replays``, sources in its ``SOURCES.md``) holds real
replays from public repositories: ViennaSweeper RMV v1 and v2, Arbiter AVF
0.49 and 0.52, Metasweeper EVF v3 and v4; won and lost games; and three of
them written again as EVF v0 by ms_toollib, the library Metasweeper saves with.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REAL_REPLAYS, REPLAYS
from reference_analyser import Reference, analyse
from scoreganizer_client_lib import replays
from scoreganizer_client_lib.replays import _game

CORPUS_DIR = REPLAYS / "corpus"
CORPUS = sorted(CORPUS_DIR.iterdir()) + REAL_REPLAYS
#: The two files whose player fields are not the UTF-8 their format demands
#: (ms_toollib aborts on both).
REFUSED = {
    "viennasweeper-4.0.0_rmv1_exp_invalid-utf8.rmv",
    "viennasweeper-5.0.0a2_rmv2_invalid-utf8.rmv",
}
#: The one real file whose own claims are wrong: Arbiter wrote 2.61 s (the
#: score field and the RealTime line) for a game its events time at 14.52 s.
WRONG_CLAIMS = {
    "arbiter-0.52.3_beg_claims-2.61s-events-14.52s.avf": (
        "the file claims a time of 2.61 s, but its events take 14.52 s",
        "the file's RealTime line claims 2.61 s, but its events take 14.52 s",
    )
}


def _corpus(name: str) -> bytes:
    return (CORPUS_DIR / name).read_bytes()


def _edit(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1, old
    return data.replace(old, new)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_a_genuine_replay_is_accused_of_nothing(path: Path) -> None:
    if path.name in REFUSED:
        with pytest.raises(replays.CorruptReplay, match="not valid UTF-8"):
            replays.inspect(path)
        return
    info = replays.inspect(path)
    assert info.problems == WRONG_CLAIMS.get(path.name, ())
    assert info.outcome in ("won", "lost") and info.won is (info.outcome == "won")


@pytest.mark.slow
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_ms_toollib_judges_the_game_alike(path: Path) -> None:
    reference = analyse(path)
    if path.name in REFUSED:
        assert not isinstance(reference, Reference)  # it aborts where we refuse
        return
    assert isinstance(reference, Reference), reference
    info = replays.inspect(path)
    assert info.outcome == reference.outcome
    assert info.game_time == pytest.approx(reference.game_time, abs=0.005)
    assert (info.bbbv, info.bbbv_solved) == (reference.bbbv, reference.bbbv_solved)
    assert info.clicks == replays.Clicks(**vars(reference.clicks))


def test_the_corpus_covers_every_clone_and_both_results() -> None:
    read = [replays.inspect(p) for p in CORPUS if p.name not in REFUSED]
    kinds = {(i.format.name, i.format_version) for i in read}
    assert kinds >= {("RMV", 1), ("RMV", 2), ("AVF", 49), ("AVF", 52), ("EVF", 3), ("EVF", 4)}
    assert ("EVF", 0) in kinds  # written by ms_toollib from real games (SOURCES.md)
    assert {i.format for i in read if i.outcome == "lost"} == {
        replays.ReplayFormat.AVF,
        replays.ReplayFormat.EVF,
    }


def test_an_edited_arbiter_score_is_named() -> None:
    data = _corpus("arbiter-0.52.3_beg_won.avf")
    assert replays.inspect(data).problems == ()
    info = replays.inspect(_edit(data, b"B28T4.07", b"B28T2.07"))
    assert (info.game_time, info.claimed_time) == (3.07, 1.07)
    assert info.problems == ("the file claims a time of 1.07 s, but its events take 3.07 s",)
    info = replays.inspect(_edit(data, b"B28T4.07", b"B27T4.07"))
    assert info.problems == ("the file claims a 3BV of 27, but its board's 3BV is 28",)


def test_a_lost_arbiter_game_is_lost() -> None:
    # AVF records no result: the replay finds the mine opened, 11 of 180 3BV in.
    info = replays.inspect(_corpus("arbiter-0.52.3_exp_lost.avf"))
    assert (info.outcome, info.won, info.bbbv, info.bbbv_solved) == ("lost", False, 180, 11)
    assert info.problems == ()
    assert info.bbbv_per_second == pytest.approx(11 / info.game_time)


def test_the_events_time_a_game_whose_claim_is_wrong() -> None:
    info = replays.inspect(_corpus("arbiter-0.52.3_beg_claims-2.61s-events-14.52s.avf"))
    assert (info.game_time, info.claimed_time, info.outcome) == (14.52, 2.61, "won")


def test_files_the_readers_refused_before_are_read() -> None:
    # Arbiter 0.49 has no "|" before its score field; EVF v4 is Metasweeper's newest.
    old = replays.inspect(_corpus("arbiter-0.49.5_exp_won.avf"))
    assert (old.clone_version, old.bbbv, old.game_time, old.claimed_time) == (
        "0.49.5",
        248,
        101.34,
        101.34,
    )
    new = replays.inspect(_corpus("metasweeper-3.3.1_evf4_custom_lost.evf"))
    assert (new.format_version, new.outcome, new.bbbv, new.bbbv_solved) == (4, "lost", 24, 19)
    assert new.clicks == replays.Clicks(20, 24, 0, 44)


def test_an_rmv_result_or_time_edited_is_named() -> None:
    data = (REPLAYS / "test_subject_2.rmv").read_bytes()
    end = bytes([16]) + (6303).to_bytes(3, "big")
    info = replays.inspect(_edit(data, end, bytes([15]) + end[1:]))
    assert info.problems == ("the file claims the game was lost, but its events show it won",)
    info = replays.inspect(_edit(data, end, bytes([16]) + (5303).to_bytes(3, "big")))
    assert info.problems == ("the file claims a time of 5.303 s, but its events take 6.303 s",)


def test_rmv_board_events_must_show_what_the_mouse_opened() -> None:
    data = bytearray((REPLAYS / "test_subject_2.rmv").read_bytes())
    info = replays.inspect(bytes(data))
    # The first board event that opens a 1 (code 19) is made to open a 2.
    at = data.index(bytes([19]), len(data) - info.size + 200)
    while not (data[at + 1] < 8 and data[at + 2] < 8 and data[at - 9] in (2, 3, 1, 28)):
        at = data.index(bytes([19]), at + 1)
    data[at], original_col = 20, data[at + 1]
    assert "the board events do not show what the mouse events opened" in (
        replays.inspect(bytes(data)).problems
    )
    data[at], data[at + 1] = 19, 200
    assert "a board event lies off the board" in replays.inspect(bytes(data)).problems
    data[at + 1] = original_col
    flag = data.index(bytes([13]), at)  # a flag event after it
    while data[flag - 3] not in range(9, 28) and data[flag - 9] not in range(1, 8):
        flag = data.index(bytes([13]), flag + 1)
    data[flag] = 11  # shown closed instead
    assert replays.inspect(bytes(data)).problems == (
        "the board events do not show the flags the mouse events placed",
    )


def test_an_evf_summary_or_time_edited_is_named() -> None:
    data = bytearray((REPLAYS / "test_subject.evf").read_bytes())
    data[1] &= 0x7F  # the "completed" flag
    assert replays.inspect(bytes(data)).problems == (
        "the file claims the game was not won, but its events show it won",
    )
    data[1] |= 0x80
    data[12:15] = (59597).to_bytes(3, "big")  # the game time, ms
    assert replays.inspect(bytes(data)).problems == (
        "the file claims a time of 59.597 s, but its events take 69.597 s",
    )


def _avf_events(data: bytes) -> tuple[int, int]:
    """Where an AVF's mouse events start, and where their end record is, read
    from the format: after the text block (up to "]"), 8-byte records of
    code, x high, seconds low, x low, hundredths, y high, seconds high, y low;
    the first one's seconds read 1 (x high is 0 or 1 on any board), and a
    record whose two seconds bytes are zero ends them."""
    after_text = data.index(b"]") + 1
    start = next(k for k in range(after_text, len(data)) if data[k + 1] <= 1 and data[k + 2] == 1)
    end = next(k for k in range(start, len(data), 8) if data[k + 2] == data[k + 6] == 0)
    return start, end


def test_avf_times_running_backwards_and_clicks_after_the_end_are_named() -> None:
    data = _corpus("arbiter-0.52.3_beg_won.avf")
    start, end = _avf_events(data)
    last_click = max(k for k in range(start, end, 8) if data[k] == 5)
    backwards = bytearray(data)
    backwards[last_click + 2], backwards[last_click + 6] = 2, 0  # 1 s after the start
    assert "the events' times run backwards" in replays.inspect(bytes(backwards)).problems
    late = data[end - 8 : end]
    click = bytes([3]) + late[1:] + bytes([5]) + late[1:]
    after = replays.inspect(data[:end] + click + data[end:])
    assert after.problems == ("mouse buttons are pressed after the game ended",)
    # A button released after the end (the other one of a chord) is no click.
    assert replays.inspect(data[:end] + click[8:] + data[end:]).problems == ()


def test_a_mine_count_that_does_not_match_the_mines_is_named() -> None:
    data = bytearray(_corpus("arbiter-0.52.3_custom-8x11_won.avf"))
    assert data[5] == 6  # custom: columns - 1, rows - 1, a 16-bit mine count
    data[8:10] = (8).to_bytes(2, "big")
    data[10 + 14 : 10 + 16] = data[10:12]  # the eighth mine is the first again
    info = replays.inspect(bytes(data))
    assert "the file says the board has 8 mines, but its mine list holds 7" in info.problems
    evf = bytearray((REPLAYS / "test_subject.evf").read_bytes())
    evf[5:7] = (100).to_bytes(2, "big")  # v3: the mine count, after the board's size
    assert replays.inspect(bytes(evf)).problems == (
        "the file says the board has 100 mines, but its mine list holds 99",
    )


def test_the_engine_counts_3bv_and_chords_as_the_rules_say() -> None:
    # 3x3 with one mine in the corner: one opening, no isolated number.
    board = _game.Board(3, 3, [0])
    assert (board.mines, board.bbbv) == (1, 1)
    assert board.unpadded(board.numbers) == [-1, 1, 0, 1, 1, 0, 0, 0, 0]
    game = _game.Game(board)
    for event in (_game.LEFT_DOWN, _game.LEFT_UP):
        game.step(event, 8, 100)
    assert (game.outcome, game.bbbv_solved, game.left, game.start_ms) == ("won", 1, 1, 100)
    # 3x2 with a mine top left: M 1 0 / 1 1 0, an opening and an isolated 1.
    board = _game.Board(3, 2, [0])
    assert (board.bbbv, board.unpadded(board.numbers)) == (2, [-1, 1, 0, 1, 1, 0])
    game = _game.Game(board, question_marks=True)
    game.step(_game.LEFT_DOWN, 1, 0)
    game.step(_game.LEFT_UP, 1, 0)
    assert (game.bbbv_solved, game.start_ms) == (0, 0)  # a 1 next to an opening
    for _ in range(3):  # flag, question mark, closed
        game.step(_game.RIGHT_DOWN, 0, 10)
        game.step(_game.RIGHT_UP, 0, 10)
    assert game.showing()[0] == _game.CLOSED and game.right == 3
    game.step(_game.RIGHT_DOWN, 0, 20)
    game.step(_game.RIGHT_UP, 0, 20)
    game.step(_game.MIDDLE_DOWN, 1, 30)
    game.step(_game.MIDDLE_UP, 1, 30)
    assert (game.outcome, game.bbbv_solved, game.double) == ("won", 2, 1)
    assert (game.left, game.right, game.elapsed_ms) == (1, 4, 30)


def test_more_button_events_than_any_real_game_are_refused_and_moves_are_not_counted() -> None:
    data = _corpus("arbiter-0.52.3_beg_won.avf")
    start, _ = _avf_events(data)
    second = data[start + 8 : start + 16]
    click = bytes([3]) + second[1:] + bytes([5]) + second[1:]  # on the cell the game opened
    move = bytes([1]) + second[1:]
    before, after = data[: start + 16], data[start + 16 :]
    pairs = _game.MAX_BUTTON_EVENTS // 2 - 100  # the game itself has under 200
    info = replays.inspect(before + click * pairs + move * 500_000 + after)
    assert info.problems == () and info.clicks.left == replays.inspect(data).clicks.left + pairs
    with pytest.raises(replays.CorruptReplay, match="more than 100,000 mouse button events"):
        replays.inspect(before + click * (_game.MAX_BUTTON_EVENTS // 2) + after)


def test_an_evf4_game_state_event_that_disagrees_is_named() -> None:
    data = _corpus("metasweeper-3.3.1_evf4_custom_lost.evf")
    end = data.rindex(bytes([3, 83, 0, 0, 0, 0, 0])) + 6  # the last release, then the end
    said = data[:end] + bytes([83, 0]) + data[end:]  # "fail", 0 ms later
    assert replays.inspect(said).problems == ()
    said = data[:end] + bytes([82, 0]) + data[end:]  # "win"
    assert replays.inspect(said).problems == (
        "the file records the game won, but its events show it lost",
    )


def test_an_unfinished_game_may_claim_more_time_than_its_clicks_took() -> None:
    # ViennaSweeper's clock runs until the game is abandoned (a key restarts it).
    data = (REPLAYS / "test_subject_2.rmv").read_bytes()
    end = bytes([16]) + (6303).to_bytes(3, "big")
    last_click = data.rindex(bytes([3]), 0, data.index(end))  # cut the game before it
    cut = data[:last_click] + bytes([17]) + (9000).to_bytes(3, "big")
    info = replays.inspect(cut)
    assert (info.outcome, info.claimed_time, info.problems) == ("unfinished", 9.0, ())
    shorter = replays.inspect(data[:last_click] + bytes([17]) + (100).to_bytes(3, "big"))
    assert shorter.problems[-1].startswith("the file claims a time of 0.1 s, but its events take")
