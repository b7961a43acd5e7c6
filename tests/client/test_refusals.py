"""Refusals in words: each cause the client can tell apart from the replay and
the key it holds gets its own code, reason and advice; raw server codes stay
out of the words."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest

from scoreganizer_client_lib import replays
from scoreganizer_client_lib.exceptions import (
    NetworkException,
    ReplayHasNoKey,
    ReplayKeyMismatch,
    ReplayUnreadable,
    ScoreganizerError,
    ScoreganizerInvalidData,
    ScoreganizerModeConstraintViolated,
    ScoreganizerNotLoggedIn,
    ScoreganizerTournamentOver,
)
from scoreganizer_client_lib.refusals import CODES, Refusal, RefusalCode, explain_refusal
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.tournament import Tournament

NOW = datetime(2030, 5, 20, 12, 0, tzinfo=timezone.utc)
KEY = "7_5_" + "ab" * 16
CUP = Tournament(
    id=5,
    mode="sum",
    modeparams="1+1+1",
    name="Friday Cup",
    location="",
    start=NOW - timedelta(hours=1),
    end=NOW + timedelta(hours=1),
    open_entry=True,
    hide_results=False,
    status="participating",
)
INVALID = ScoreganizerInvalidData("invalid_data")


def replay(
    key: str | None = KEY, when: datetime = NOW - timedelta(minutes=5), **kw: object
) -> replays.ReplayInfo:
    return replays.inspect(write_rmv(key=key, boardgen_time=when, **kw))  # type: ignore[arg-type]


def explain(error: BaseException, info: replays.ReplayInfo | None, **kw: object) -> Refusal:
    options: dict[str, object] = {"key": KEY, "tournament": CUP, "now": NOW, **kw}
    return explain_refusal(error, replay=info, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "info", "extra", "code", "words"),
    [
        (INVALID, replay(key=None, name="Tommy"), {}, "no_key", "no tournament key"),
        (INVALID, replay(key="9_5_" + "cd" * 16), {}, "someone_elses_key", "another player's key"),
        (INVALID, replay(key="7_4_" + "cd" * 16), {}, "other_tournament_key", "tournament 4, not"),
        (INVALID, replay(key="7_5_" + "cd" * 16), {}, "wrong_key", "not your key"),
        (
            INVALID,
            replay(when=NOW - timedelta(hours=2)),
            {},
            "before_start",
            "before the tournament",
        ),
        (
            INVALID,
            replay(when=NOW - timedelta(minutes=30)),
            {"key_generated": NOW - timedelta(minutes=20)},
            "before_key",
            "before your key was",
        ),
        (INVALID, replay(), {}, "before_key", "most likely"),
        (INVALID, replay(when=NOW + timedelta(hours=2)), {}, "after_end", "after the tournament"),
        (ScoreganizerTournamentOver("tournament_over"), replay(), {}, "after_end", "ended"),
        (
            ScoreganizerModeConstraintViolated("mode_constraint_violated"),
            replay(),
            {"key_expiry": NOW - timedelta(minutes=1)},
            "key_expired",
            "playing time ran out",
        ),
        (
            ScoreganizerModeConstraintViolated("mode_constraint_violated"),
            replay(level=(10, 10, 12)),
            {},
            "custom_board",
            "custom board (10x10, 12 mines)",
        ),
        (ScoreganizerNotLoggedIn("not_logged_in"), replay(), {}, "not_logged_in", "not logged in"),
        (ScoreganizerError("not_participating"), replay(), {}, "not_participating", "participant"),
        (ScoreganizerError("who_knows"), None, {}, "server_refused", "the server refused"),
        (NetworkException("down"), None, {}, "network", "could not be reached"),
        (OSError(13, "Permission denied"), None, {}, "cannot_open", "Permission denied"),
    ],
)
def test_each_cause_in_words(
    error: BaseException,
    info: replays.ReplayInfo | None,
    extra: dict[str, object],
    code: str,
    words: str,
) -> None:
    refusal = explain(error, info, **extra)
    assert refusal.code == code and code in CODES
    assert words in refusal.reason
    for raw in ("invalid_data", "mode_constraint_violated", "not_participating", "who_knows"):
        assert raw not in str(refusal)  # raw codes never reach the player...
    if isinstance(error, ScoreganizerError):
        assert refusal.server_code == error.error  # ...but stay for --verbose


def test_the_replay_checks_before_sending() -> None:
    unkeyed = replay(key=None, name="Tommy")
    no_key = explain(ReplayHasNoKey("replay_has_no_key", "x"), unkeyed)
    assert no_key.code == "no_key" and "'Tommy'" in no_key.reason and "name#KEY" in no_key.advice
    other = explain(ReplayKeyMismatch("replay_key_mismatch", "x"), replay(key="7_4_" + "cd" * 16))
    assert other.code == "other_tournament_key" and '"Friday Cup" (5)' in other.reason
    assert explain(ReplayKeyMismatch("replay_key_mismatch", "x"), None).code == (
        "other_tournament_key"
    )


def test_unreadable_and_too_large() -> None:
    try:
        replays.inspect(b"RMV garbage")
    except replays.ReplayError as exc:
        cause = exc
    unreadable = ReplayUnreadable("replay_unreadable", "x")
    unreadable.__cause__ = cause
    refusal = explain(unreadable, None)
    assert refusal.code == "unreadable" and str(cause) in refusal.reason
    assert explain(replays.ReplayTooLarge("big"), None).code == "too_large"
    assert explain(replays.TruncatedReplay("short"), None).code == "unreadable"


def test_local_clock_replays_are_read_as_local_time() -> None:
    """An AVF's board time is the player's local clock labelled UTC: taken as
    this computer's local time it is inside the tournament, not before it."""
    local_noon = NOW.astimezone().replace(tzinfo=None).replace(tzinfo=timezone.utc)
    info = dataclasses.replace(replay(), boardgen_time=local_noon, boardgen_time_is_local=True)
    assert explain(INVALID, info).code == "before_key"


def test_a_key_string_that_is_not_a_key_is_ignored() -> None:
    assert explain(INVALID, replay(key="9_5_" + "cd" * 16), key="garbage").code == "before_key"


def test_str_joins_reason_and_advice() -> None:
    assert str(Refusal("x", "why", "what to do")) == "why; what to do"
    assert str(Refusal("x", "why")) == "why"
    assert Refusal("x", "why", "", "c").as_json()["server_code"] == "c"


def test_refusal_codes_are_an_enum_equal_to_their_strings() -> None:
    assert set(CODES) == set(RefusalCode) and RefusalCode.NO_KEY == "no_key"
    refusal = explain(ReplayHasNoKey("replay_has_no_key", "no key"), replay(key=None))
    assert refusal.code is RefusalCode.NO_KEY
    assert json.loads(json.dumps(refusal.as_json()))["code"] == "no_key"
    assert f"{refusal.code}" == "no_key"


def test_the_servers_reason_beats_a_guess() -> None:
    """A refusal the client cannot explain from the replay and the key is
    told in the server's own words, not guessed."""
    said = ScoreganizerInvalidData(
        "invalid_data", "this game was already uploaded by another player"
    )
    refusal = explain(said, replay())
    assert refusal.code == "server_refused"
    assert refusal.reason == (
        "the server refused this replay: this game was already uploaded by another player"
    )
    assert "most likely" not in str(refusal)
    rules = ScoreganizerModeConstraintViolated(
        "mode_constraint_violated", "custom boards do not count"
    )
    assert explain(rules, None).reason.endswith("(custom boards do not count)")
    # what the client knows for sure still comes first, with its advice
    assert explain(ScoreganizerInvalidData("invalid_data", "no"), replay(key=None)).code == "no_key"


def test_a_refused_check_carries_what_it_read() -> None:
    """Callers explain a refusal from what the check read, without reading
    the replay again; a replay that cannot be read has nothing to carry."""
    import pickle

    from scoreganizer_client_lib.score import check_replay

    with pytest.raises(ReplayHasNoKey) as no_key:
        check_replay(write_rmv(seed=3, name="Ann"), "a.rmv")
    assert no_key.value.info is not None and no_key.value.info.player.name == "Ann"
    assert pickle.loads(pickle.dumps(no_key.value)).info == no_key.value.info  # noqa: S301 - our own bytes
    with pytest.raises(ReplayKeyMismatch) as mismatch:
        check_replay(write_rmv(seed=3, key=KEY), "b.rmv", tournament=999)
    assert mismatch.value.info is not None and mismatch.value.info.key is not None
    assert mismatch.value.info.key.tournament_id != 999
    with pytest.raises(ReplayUnreadable) as unreadable:
        check_replay(b"not a replay", "c.rmv")
    assert unreadable.value.info is None
