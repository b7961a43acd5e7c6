"""The sync client at the HTTP level, against `responses` mocks."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import responses
from requests.adapters import HTTPAdapter
from responses import matchers

from cases import BASE, ERROR_CODES, KEY, LISTS, TOURNAMENT, TOURNAMENT_NEWER, error_body
from scoreganizer_client_lib import RetryPolicy, Scoreganizer, TokenStatus, Tournament
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib.scoreganizer import Scoreganizer as ScoreganizerAtOldPath
from scoreganizer_client_lib.tournament import Tournaments, parse_datetime

FAST = RetryPolicy(backoff=0.001, max_backoff=0.002, jitter=False)
SLEPT: list[float] = []  # the fixture's client sleeps here instead of really waiting


@pytest.fixture
def sc() -> Scoreganizer:
    client = Scoreganizer(host="api.test", port=8443, retry=FAST, sleep=SLEPT.append)
    client.set_auth_str("alice:tok123")
    return client


@pytest.fixture
def mock() -> responses.RequestsMock:
    with responses.RequestsMock() as rsps:
        yield rsps


def test_import_paths_of_031() -> None:
    assert ScoreganizerAtOldPath is Scoreganizer
    assert exc.InvalidLoginData is exc.ScoreganizerInvalidLoginData
    assert exc.NetworkException is requests.exceptions.RequestException
    assert issubclass(exc.ScoreganizerError, Exception)


def test_defaults_and_base_url() -> None:
    sc = Scoreganizer()
    assert (sc.host, sc.port, sc.https) == ("scoreganizer.net", 443, True)
    assert sc._url("tournaments/all") == "https://scoreganizer.net:443/api/tournaments/all"
    assert Scoreganizer(host="localhost", port=8000, https=False).base_url == (
        "http://localhost:8000/api/"
    )
    assert sc.timeout == (5.0, 30.0)
    assert Scoreganizer(timeout=2).timeout == (2.0, 2.0)
    assert Scoreganizer(timeout=(1, None)).timeout == (1, None)


def test_aliases_and_session() -> None:
    adapter = HTTPAdapter()
    sc = Scoreganizer(http_adapter=adapter)
    assert sc.tournament is sc.tournaments
    assert sc.score is sc.scores
    assert isinstance(sc.tournaments, Tournaments)
    assert isinstance(sc.session, requests.Session)
    assert sc.session.get_adapter("https://x/") is adapter
    assert sc.session.get_adapter("http://x/") is adapter


def test_login_stores_credentials(mock: responses.RequestsMock) -> None:
    sc = Scoreganizer(host="api.test", port=8443)
    mock.post(
        BASE + "obtain_token",
        json={"token": "abc"},
        match=[matchers.urlencoded_params_matcher({"username": "bob", "password": "pw"})],
    )
    mock.get(
        BASE + "token_status",
        json={"status": "ok"},
        match=[matchers.header_matcher({"X-Scoreganizer-Authorization": "bob:abc"})],
    )
    assert sc.login("bob", "pw") == "bob:abc"
    assert sc.username == "bob"
    assert sc.session.headers["X-Scoreganizer-Authorization"] == "bob:abc"
    assert sc.token_status_ok()
    assert "abc" not in repr(sc)


def test_no_header_when_logged_out(mock: responses.RequestsMock) -> None:
    sc = Scoreganizer(host="api.test", port=8443)
    mock.get(BASE + "token_status", json={"status": "not_sent"})
    assert sc.token_status() == "not_sent"
    assert "X-Scoreganizer-Authorization" not in mock.calls[0].request.headers


@pytest.mark.parametrize(
    ("status", "ok"),
    [
        ("ok", True),
        ("ok_stale", True),
        ("expired", False),
        ("nonexistent", False),
        ("not_sent", False),
        ("brand_new", False),
    ],
)
def test_token_status(
    sc: Scoreganizer, mock: responses.RequestsMock, status: str, ok: bool
) -> None:
    mock.get(BASE + "token_status", json={"status": status})
    mock.get(BASE + "token_status", json={"status": status})
    result = sc.token_status()
    assert result == status
    assert isinstance(result, TokenStatus)  # a status this version does not know too
    assert sc.token_status_ok() is ok


def test_refresh_login(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    mock.post(BASE + "refresh_token", json={"token": "new"})
    assert sc.refresh_login() == "alice:new"
    assert sc.session.headers["X-Scoreganizer-Authorization"] == "alice:new"


def test_refresh_login_if_stale(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    mock.get(BASE + "token_status", json={"status": "ok"})
    assert sc.refresh_login_if_stale() is None
    mock.get(BASE + "token_status", json={"status": "ok_stale"})
    mock.post(BASE + "refresh_token", json={"token": "fresh"})
    assert sc.refresh_login_if_stale() == "alice:fresh"


@pytest.mark.parametrize("which", LISTS)
def test_lists(sc: Scoreganizer, mock: responses.RequestsMock, which: str) -> None:
    mock.get(BASE + f"tournaments/{which}", json=[TOURNAMENT, TOURNAMENT_NEWER])
    first, newer = getattr(sc.tournaments, which)()
    assert isinstance(first, Tournament)
    assert first.id == 35 and int(first) == 35
    assert first.start == datetime(2024, 5, 20, 13, 37, tzinfo=timezone.utc)
    assert first.end.microsecond == 250000 and first.end.tzinfo is timezone.utc
    assert newer.status == "spectating"
    assert newer.extra == {"prize": "fame"}


@pytest.mark.parametrize(
    "wire",
    ["2024-05-20T13:37:00", "2024-05-20T13:37:00Z", "2024-05-20T15:37:00+02:00"],
)
def test_wire_datetimes_are_aware_utc(wire: str) -> None:
    assert parse_datetime(wire) == datetime(2024, 5, 20, 13, 37, tzinfo=timezone.utc)
    assert parse_datetime(wire).tzinfo is timezone.utc


@pytest.mark.parametrize("wire", ["", "Z", "ZZ", "yesterday", "2024-13-01T00:00:00Z"])
def test_bad_wire_datetimes(wire: str) -> None:
    with pytest.raises(exc.ScoreganizerProtocolError, match="ISO 8601"):
        parse_datetime(wire)


@pytest.mark.parametrize("method", ["participate", "player_confirm"])
@pytest.mark.parametrize("ref", [35, "35", Tournament.deserialize(TOURNAMENT)])
def test_participation(
    sc: Scoreganizer, mock: responses.RequestsMock, method: str, ref: object
) -> None:
    mock.post(BASE + f"tournaments/{method}/35", body=b"")
    assert getattr(sc.tournaments, method)(ref) is None


def test_keys(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    body = {"key": KEY, "key_expiry": "2024-05-20T14:37:00"}
    mock.post(BASE + "tournaments/gen_key/35", json=body, status=201)
    mock.post(BASE + "tournaments/gen_key/35", json={"key": KEY, "key_expiry": None}, status=201)
    mock.get(BASE + "tournaments/get_key/35", json=body)
    mock.get(BASE + "tournaments/get_key/35", json=body)
    assert sc.tournaments.gen_key(35) == KEY
    assert sc.tournaments.gen_key(35, with_expiry=True) == (KEY, None)
    assert sc.tournaments.get_key(35) == KEY
    _, expiry = sc.tournaments.get_key(35, with_expiry=True)
    assert expiry == datetime(2024, 5, 20, 14, 37, tzinfo=timezone.utc)


def test_wait_key_waits_then_generates(mock: responses.RequestsMock) -> None:
    slept: list[float] = []
    sc = Scoreganizer(host="api.test", port=8443, retry=FAST, sleep=slept.append)
    mock.post(BASE + "tournaments/gen_key/35", json={"error": "too_early", "wait": 0.0}, status=403)
    mock.post(BASE + "tournaments/gen_key/35", json={"key": KEY, "key_expiry": None}, status=201)
    waits: list[timedelta] = []
    assert sc.tournaments.wait_key(35, on_wait=waits.append) == KEY
    # no time left by the server's clock: still not asked again in a tight loop
    assert waits == [timedelta(seconds=0.25)] and slept == [0.25]


def test_wait_key_counts_down_with_the_injected_sleep(mock: responses.RequestsMock) -> None:
    slept: list[float] = []
    sc = Scoreganizer(host="api.test", port=8443, retry=FAST, sleep=slept.append)
    mock.post(BASE + "tournaments/gen_key/35", json={"error": "too_early", "wait": 2.5}, status=403)
    mock.post(BASE + "tournaments/gen_key/35", json={"key": KEY, "key_expiry": None}, status=201)
    heard: list[tuple[float, int]] = []
    # the hook is called by the client between sleeps, not inside the protocol core
    key = sc.tournaments.wait_key(
        35, on_wait=lambda left: heard.append((left.total_seconds(), len(slept)))
    )
    assert key == KEY
    assert slept[:2] == [1.0, 1.0] and 0.4 < slept[2] <= 0.5
    assert [n for _, n in heard] == [0, 1, 2]  # once before each sleep
    assert heard[0][0] > heard[1][0] > heard[2][0] > 0
    assert sum(slept) == pytest.approx(heard[0][0])


def test_wait_key_without_hook_sleeps_once(mock: responses.RequestsMock) -> None:
    slept: list[float] = []
    sc = Scoreganizer(host="api.test", port=8443, retry=FAST, sleep=slept.append)
    mock.post(
        BASE + "tournaments/gen_key/35", json={"error": "too_early", "wait": 3600}, status=403
    )
    mock.post(BASE + "tournaments/gen_key/35", json={"key": KEY, "key_expiry": None}, status=201)
    assert sc.tournaments.wait_key(35) == KEY
    assert len(slept) == 1 and 3599 < slept[0] <= 3600


def test_get_one_tournament(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    mock.get(BASE + "tournaments/active", json=[TOURNAMENT])
    mock.get(BASE + "tournaments/all", json=[TOURNAMENT, TOURNAMENT_NEWER])
    assert sc.tournaments.get(35) == Tournament.deserialize(TOURNAMENT)
    assert len(mock.calls) == 1  # found among the active ones: `all` is not asked
    assert sc.tournaments.get("36").extra == {"prize": "fame"}
    with pytest.raises(exc.TournamentNotFound) as info:
        sc.tournaments.get(Tournament.deserialize({**TOURNAMENT, "id": 99}))
    assert info.value.error == "tournament_not_found" and "99" in str(info.value)
    assert isinstance(info.value, exc.ScoreganizerClientError)


def test_wait_key_existing_key(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    mock.post(BASE + "tournaments/gen_key/35", json={"error": "key_exists"}, status=403)
    mock.get(BASE + "tournaments/get_key/35", json={"key": KEY, "key_expiry": None})
    assert sc.tournaments.wait_key(35) == KEY


@pytest.mark.parametrize(("code", "wait", "cls"), ERROR_CODES)
def test_error_codes(
    sc: Scoreganizer, mock: responses.RequestsMock, code: str, wait: object, cls: type
) -> None:
    mock.get(BASE + "tournaments/get_key/35", json=error_body(code, wait), status=403)
    with pytest.raises(exc.ScoreganizerError) as info:
        sc.tournaments.get_key(35)
    assert type(info.value) is cls
    assert info.value.error == code
    assert code in str(info.value)
    if wait is not None:
        assert isinstance(info.value, exc.ScoreganizerWait)
        assert timedelta(0) <= info.value.wait_time <= timedelta(seconds=float(wait))
        assert info.value.wait_time > timedelta(seconds=float(wait) - 5)


def test_empty_error_body_is_status_code(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    mock.get(BASE + "tournaments/all", body=b"", status=404)
    with pytest.raises(exc.ScoreganizerError) as info:
        sc.tournaments.all()
    assert info.value.error == "404"


def test_garbage_success_body(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    mock.get(BASE + "tournaments/all", body=b"<html>proxy</html>", status=200)
    with pytest.raises(exc.ScoreganizerProtocolError):
        sc.tournaments.all()
    mock.get(BASE + "tournaments/active", json=[{"id": 1}], status=200)
    with pytest.raises(exc.ScoreganizerProtocolError, match="lacks"):
        sc.tournaments.active()


def _upload_calls(mock: responses.RequestsMock) -> list[bytes]:
    return [bytes(call.request.body) for call in mock.calls]


@pytest.mark.parametrize(
    ("filename", "ext", "mime", "expected"),
    [
        ("game.rmv", None, None, "application/x-viennasweeper"),
        ("game.avf", None, None, "application/x-minesweeper-arbiter"),
        ("game.EVF", None, None, "application/x-metasweeper"),
        ("game.rmv", "evf", None, "application/x-metasweeper"),
        ("game.rmv", "avf", "application/x-custom", "application/x-custom"),
        ("game.txt", None, None, "application/x-viennasweeper"),
    ],
)
def test_upload_mime_types(
    sc: Scoreganizer,
    mock: responses.RequestsMock,
    filename: str,
    ext: str | None,
    mime: str | None,
    expected: str,
) -> None:
    mock.post(BASE + "scores/upload", status=201)
    sc.scores.upload_file(io.BytesIO(b"REPLAY"), f"/some/dir/{filename}", ext=ext, mime_type=mime)
    (body,) = _upload_calls(mock)
    assert b'name="mime_type"\r\n\r\n' + expected.encode() in body
    assert f'name="video"; filename="{filename}"'.encode() in body
    assert b"REPLAY" in body


def test_upload_retry_resends_whole_file(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    for _ in range(3):
        mock.post(BASE + "scores/upload", json={"error": "retry"}, status=403)
    mock.post(BASE + "scores/upload", status=201)
    sc.scores.upload_file(io.BytesIO(b"WHOLE-FILE"), "a.rmv")
    bodies = _upload_calls(mock)
    assert len(bodies) == 4 and SLEPT[-3:] == [0.3] * 3
    assert all(b"WHOLE-FILE" in body for body in bodies)


def test_upload_retry_gives_up_after_tries(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    mock.post(BASE + "scores/upload", json={"error": "retry"}, status=403)
    with pytest.raises(exc.ScoreganizerRetry):
        sc.scores.upload_file(io.BytesIO(b"x"), "a.rmv", tries=3)
    assert len(mock.calls) == 3


def test_upload_invalid_data_is_final(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    mock.post(BASE + "scores/upload", json={"error": "invalid_data"}, status=403)
    with pytest.raises(exc.ScoreganizerInvalidData):
        sc.scores.upload_file(io.BytesIO(b"x"), "a.rmv")
    assert len(mock.calls) == 1


def test_upload_filename_accepts_paths(
    sc: Scoreganizer, mock: responses.RequestsMock, tmp_path: Path
) -> None:
    replay = tmp_path / "HI-SCORE Beg_8.33_ralokt.avf"
    replay.write_bytes(b"AVFDATA")
    mock.post(BASE + "scores/upload", status=201)
    mock.post(BASE + "scores/upload", status=201)
    sc.scores.upload_filename(replay)
    sc.scores.upload_filename(str(replay))
    for body in _upload_calls(mock):
        assert b"application/x-minesweeper-arbiter" in body
        assert b'filename="HI-SCORE Beg_8.33_ralokt.avf"' in body


def test_transport_retry_on_502_then_success(
    sc: Scoreganizer, mock: responses.RequestsMock
) -> None:
    mock.get(BASE + "tournaments/all", status=502)
    mock.get(BASE + "tournaments/all", status=503, headers={"Retry-After": "0"})
    mock.get(BASE + "tournaments/all", json=[])
    assert sc.tournaments.all() == []
    assert len(mock.calls) == 3


def test_token_too_recent_is_not_retried(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    mock.post(
        BASE + "refresh_token",
        json={"error": "token_too_recent"},
        status=429,
        headers={"Retry-After": "0"},
    )
    with pytest.raises(exc.ScoreganizerTokenTooRecent):
        sc.refresh_login()
    assert len(mock.calls) == 1


def test_429_with_retry_after_is_retried_within_budget(
    sc: Scoreganizer, mock: responses.RequestsMock
) -> None:
    mock.get(
        BASE + "tournaments/all",
        json={"error": "slow_down"},
        status=429,
        headers={"Retry-After": "0"},
    )
    mock.get(BASE + "tournaments/all", json=[])
    assert sc.tournaments.all() == []
    mock.get(
        BASE + "tournaments/upcoming",
        json={"error": "slow_down"},
        status=429,
        headers={"Retry-After": "600"},
    )
    with pytest.raises(exc.ScoreganizerError):
        sc.tournaments.upcoming()  # 600 s is past the 60 s budget: no wait
    mock.get(BASE + "tournaments/archive", json={"error": "slow_down"}, status=429)
    with pytest.raises(exc.ScoreganizerError):
        sc.tournaments.archive()  # no Retry-After: not retried
    assert len(mock.calls) == 4


def test_gives_up_after_attempts(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    mock.get(BASE + "tournaments/all", status=503)
    with pytest.raises(exc.ScoreganizerError) as info:
        sc.tournaments.all()
    assert info.value.error == "503"
    assert len(mock.calls) == FAST.attempts


@pytest.mark.parametrize("body", [b"", b"OK", b"<html>done</html>"])
def test_any_2xx_is_success_where_031_did_not_read_the_body(
    sc: Scoreganizer, mock: responses.RequestsMock, body: bytes
) -> None:
    mock.post(BASE + "tournaments/participate/35", body=body)
    mock.post(BASE + "tournaments/player_confirm/35", body=body)
    mock.post(BASE + "scores/upload", body=body, status=201)
    assert sc.tournaments.participate(35) is None
    assert sc.tournaments.player_confirm(35) is None
    assert sc.scores.upload_file(io.BytesIO(b"RMV"), "g.rmv") is None


def test_location_null_and_date_only(sc: Scoreganizer, mock: responses.RequestsMock) -> None:
    mock.get(
        BASE + "tournaments/all",
        json=[{**TOURNAMENT, "location": None, "start": "2024-05-20", "end": "2024-05-21"}],
    )
    (t,) = sc.tournaments.all()
    assert t.location is None
    assert t.start == datetime(2024, 5, 20, tzinfo=timezone.utc)


def test_refresh_before_login_sends_nothing(mock: responses.RequestsMock) -> None:
    with pytest.raises(exc.ScoreganizerNotLoggedIn, match="log in first"):
        Scoreganizer(host="api.test", port=8443).refresh_login()
    assert len(mock.calls) == 0


def test_token_status_ok_is_exactly_ok_and_ok_stale(
    sc: Scoreganizer, mock: responses.RequestsMock
) -> None:
    mock.get(BASE + "token_status", json={"status": "okay_but_new"})
    assert sc.token_status() == "okay_but_new" and sc.token_status_ok() is False


def test_retry_after_header_in_any_case_is_honoured(mock: responses.RequestsMock) -> None:
    slept: list[float] = []
    sc = Scoreganizer(host="api.test", port=8443, sleep=slept.append)
    mock.get(BASE + "tournaments/all", status=503, headers={"Retry-After": "7"})
    mock.get(BASE + "tournaments/all", json=[])
    assert sc.tournaments.all() == []
    assert slept == [7.0]


def test_a_refused_check_carries_what_it_read() -> None:
    """Callers explain a refusal from what the check read, without reading
    the replay again; a replay that cannot be read has nothing to carry."""
    import pickle

    from scoreganizer_client_lib.replays.testing import write_rmv
    from scoreganizer_client_lib.score import check_replay

    with pytest.raises(exc.ReplayHasNoKey) as no_key:
        check_replay(write_rmv(seed=3, name="Ann"), "a.rmv")
    assert no_key.value.info is not None and no_key.value.info.player.name == "Ann"
    assert pickle.loads(pickle.dumps(no_key.value)).info == no_key.value.info  # noqa: S301 - our own bytes
    with pytest.raises(exc.ReplayKeyMismatch) as mismatch:
        check_replay(write_rmv(seed=3, key=KEY), "b.rmv", tournament=999)
    assert mismatch.value.info is not None and mismatch.value.info.key is not None
    assert mismatch.value.info.key.tournament_id != 999
    with pytest.raises(exc.ReplayUnreadable) as unreadable:
        check_replay(b"not a replay", "c.rmv")
    assert unreadable.value.info is None
