"""A sandbox you script, from Python: its clock, faults and request log, over
real HTTP and a real SQLite file, shared by every process on the file."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from conftest import PASSWORD, TEST_CONFIG
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, Store
from scoreganizer_client_lib.sandbox.faults import MAX_FAULTS, Fault
from scoreganizer_client_lib.sandbox.recording import MAX_REQUESTS, RequestLog

HOUR = 3600


@pytest.fixture
def scripted(tmp_path: Path) -> SandboxServer:
    """A sandbox that logs its requests, with a host and a player."""
    from dataclasses import replace

    config = replace(
        TEST_CONFIG, record_requests=True, token_stale_after=86400, token_expires_after=30 * 86400
    )
    with SandboxServer(tmp_path / "sandbox.sqlite3", config=config) as server:
        server.add_user("host", PASSWORD)
        server.add_user("ann", PASSWORD)
        yield server


def player(sandbox: SandboxServer, **kwargs: object) -> Scoreganizer:
    sc = Scoreganizer.from_url(sandbox.url, auth_filename=None, **kwargs)  # type: ignore[arg-type]
    sc.login("ann", PASSWORD)
    return sc


# -- the clock -------------------------------------------------------------------


def test_a_tournament_an_hour_away_starts_when_the_clock_is_advanced(
    scripted: SandboxServer,
) -> None:
    cup = scripted.add_tournament("Cup", "host", start="+1h", end="+2h")
    ann = player(scripted)
    ann.tournaments.participate(cup)
    with pytest.raises(exc.ScoreganizerTooEarly):
        ann.tournaments.gen_key(cup)
    assert [t.id for t in ann.tournaments.upcoming()] == [cup]

    before = scripted.clock.now()
    after = scripted.clock.advance(timedelta(hours=1))
    assert after - before >= timedelta(hours=1)
    assert [t.id for t in ann.tournaments.in_progress()] == [cup]
    key = ann.tournaments.gen_key(cup)
    assert ann.tournaments.get_key(cup) == key

    scripted.clock.advance(HOUR)  # seconds, too
    assert [t.id for t in ann.tournaments.archive()] == [cup]
    with pytest.raises(exc.ScoreganizerTournamentOver):
        ann.tournaments.participate(cup)


def test_relative_times_count_from_the_sandbox_clock(scripted: SandboxServer) -> None:
    moved = scripted.clock.set(datetime(2030, 1, 1, 12, tzinfo=timezone.utc))
    assert moved.replace(microsecond=0) == datetime(2030, 1, 1, 12, tzinfo=timezone.utc)
    cup = scripted.add_tournament("Cup", "host", start="+1h", end="+2h")
    (listed,) = player(scripted).tournaments.upcoming()
    assert listed.id == cup and listed.start.replace(second=0, microsecond=0) == datetime(
        2030, 1, 1, 13, tzinfo=timezone.utc
    )
    naive = scripted.clock.set(datetime(2031, 5, 5))  # naive: UTC, as on the wire
    assert naive.date().isoformat() == "2031-05-05" and naive.tzinfo is timezone.utc


def test_keys_expire_and_boards_are_checked_on_the_sandbox_clock(
    scripted: SandboxServer, tmp_path: Path
) -> None:
    cup = scripted.add_tournament(
        "Sprint", "host", start="now", end="+1d", mode="sum_timelimit", modeparams="1+1+1;600"
    )
    ann = player(scripted)
    ann.tournaments.participate(cup)
    key, expiry = ann.tournaments.gen_key(cup, with_expiry=True)
    assert expiry is not None
    assert expiry - scripted.clock.now() <= timedelta(seconds=600)

    # a board played now on the sandbox's clock, an hour ahead of the real one
    scripted.clock.advance(300)
    game = tmp_path / "game.rmv"
    game.write_bytes(write_rmv(seed=1, key=key, boardgen_time=scripted.clock.now()))
    ann.scores.upload_filename(game)

    scripted.clock.advance(600)  # past the key's ten minutes
    late = tmp_path / "late.rmv"
    late.write_bytes(write_rmv(seed=2, key=key, boardgen_time=scripted.clock.now()))
    with pytest.raises(exc.ScoreganizerModeConstraintViolated):
        ann.scores.upload_filename(late)


def test_tokens_grow_stale_and_expire_with_the_clock(scripted: SandboxServer) -> None:
    ann = player(scripted)
    assert ann.token_status() == "ok"
    scripted.clock.advance(scripted.store.config.token_stale_after)
    assert ann.token_status() == "ok_stale"
    scripted.clock.advance(scripted.store.config.token_expires_after)
    assert ann.token_status() == "expired"


def test_the_clock_is_shared_by_every_store_on_the_file(scripted: SandboxServer) -> None:
    other = Store(scripted.store.path, TEST_CONFIG)
    try:
        scripted.clock.advance(2 * HOUR)
        assert abs(other.clock.offset - 2 * HOUR) < 1e-6
        other.clock.reset()
        assert scripted.clock.offset == 0
    finally:
        other.close()


@pytest.mark.parametrize(
    ("move", "message"),
    [
        (lambda c: c.advance(float("inf")), "finite"),
        (lambda c: c.advance("10m"), "seconds or a timedelta"),
        (lambda c: c.advance(True), "seconds or a timedelta"),
        (lambda c: c.advance(timedelta(days=4_000_000)), "years 1 to 9999"),
        (lambda c: c.set("2030-01-01"), "expected a datetime"),
    ],
)
def test_a_clock_that_cannot_move_says_why(scripted: SandboxServer, move, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        move(scripted.clock)
    assert scripted.clock.offset == 0


# -- faults ----------------------------------------------------------------------


def test_faults_are_consumed_in_order_then_the_api_answers(scripted: SandboxServer) -> None:
    url = scripted.url + "/api/token_status"
    scripted.faults.add("/api/token_status", status=503, times=2)
    scripted.faults.add("/api/token_status", status=502, body="<h1>Bad gateway</h1>")
    scripted.faults.add("/api/tournaments/all", status=500)  # another path: untouched
    answers = [requests.get(url, timeout=30) for _ in range(4)]
    assert [a.status_code for a in answers] == [503, 503, 502, 200]
    assert answers[0].content == b""
    assert answers[2].text == "<h1>Bad gateway</h1>"
    assert answers[2].headers["content-type"] == "text/html; charset=utf-8"
    assert answers[3].json() == {"status": "not_sent"}
    assert [f.path for f in scripted.faults.waiting()] == ["/api/tournaments/all"]
    assert scripted.faults.clear() == 1
    assert requests.get(scripted.url + "/api/tournaments/all", timeout=30).status_code == 200


def test_a_fault_can_name_a_method_and_a_path_prefix(scripted: SandboxServer) -> None:
    scripted.faults.add("/api/tournaments/*", method="POST", status=503, times=2)
    assert requests.get(scripted.url + "/api/tournaments/all", timeout=30).status_code == 200
    first = requests.post(scripted.url + "/api/tournaments/participate/1", timeout=30)
    second = requests.post(scripted.url + "/api/tournaments/gen_key/9", timeout=30)
    assert first.status_code == second.status_code == 503
    assert not scripted.faults


def test_a_proxy_page_with_its_own_type(scripted: SandboxServer) -> None:
    scripted.faults.add(
        "/api/tournaments/all", status=504, body="Gateway Timeout", content_type="text/plain"
    )
    sc = Scoreganizer.from_url(scripted.url, auth_filename=None, sleep=lambda s: None)
    assert sc.tournaments.all() == []  # a 504 is retried; the second answer is the API's
    (logged,) = [r for r in scripted.requests if r.status == 504]
    assert logged.path == "/api/tournaments/all"


def test_the_protocols_refusals(scripted: SandboxServer) -> None:
    ann = player(scripted)
    scripted.faults.add("/api/refresh_token", error="token_too_recent")
    with pytest.raises(exc.ScoreganizerTokenTooRecent):
        ann.refresh_login()
    scripted.faults.add("/api/tournaments/all", error="retry", wait=30)
    with pytest.raises(exc.ScoreganizerRetry):
        ann.tournaments.all()
    answer = requests.post(scripted.url + "/api/refresh_token", timeout=30)
    assert answer.status_code == 403 and answer.json() == {"error": "not_logged_in"}
    scripted.faults.add("/api/refresh_token", error="token_too_recent")
    answer = requests.post(scripted.url + "/api/refresh_token", timeout=30)
    assert answer.status_code == 429 and answer.json() == {"error": "token_too_recent"}


def test_a_dropped_connection_gets_no_answer(scripted: SandboxServer) -> None:
    scripted.faults.add("/api/token_status", drop=True)
    with pytest.raises(requests.ConnectionError, match="without response"):
        requests.get(scripted.url + "/api/token_status", timeout=30)
    assert [(r.path, r.status) for r in scripted.requests] == [("/api/token_status", None)]
    # the library's client sends a GET again after a dropped connection
    scripted.faults.add("/api/tournaments/all", drop=True)
    sleeps: list[float] = []
    assert Scoreganizer.from_url(scripted.url, sleep=sleeps.append).tournaments.all() == []
    assert len(sleeps) == 1


def test_a_dropped_upload_is_sent_again(scripted: SandboxServer, tmp_path: Path) -> None:
    cup = scripted.add_tournament("Cup", "host", start="now", end="+1h")
    ann = player(scripted, sleep=lambda s: None)
    ann.tournaments.participate(cup)
    key = ann.tournaments.gen_key(cup)
    game = tmp_path / "game.rmv"
    game.write_bytes(write_rmv(seed=3, key=key, boardgen_time=scripted.clock.now()))
    scripted.faults.add("/api/scores/upload", drop=True)
    scripted.faults.add("/api/scores/upload", status=503)
    ann.scores.upload_filename(game)
    statuses = [r.status for r in scripted.requests if r.path == "/api/scores/upload"]
    assert statuses == [None, 503, 201]
    assert scripted.store.count("scores") == 1


def test_a_delay_holds_the_answer(scripted: SandboxServer) -> None:
    scripted.faults.add("/api/token_status", delay=0.5)
    with pytest.raises(requests.ReadTimeout):
        requests.get(scripted.url + "/api/token_status", timeout=(5, 0.05))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"path": "api/x", "status": 503}, "must start with /"),
        ({"path": "/" + "a" * 300, "status": 503}, "at most 256"),
        ({"path": "/a b", "status": 503}, "printable ASCII"),
        ({"path": "/x", "status": 503, "times": 0}, "times must be 1 to 1000"),
        ({"path": "/x", "status": 503, "times": 10**6}, "times must be 1 to 1000"),
        ({"path": "/x", "status": 99}, "status must be 200 to 599"),
        ({"path": "/x", "status": True}, "status must be int"),
        ({"path": "/x", "delay": 3600}, "delay must be 0 to 60"),
        ({"path": "/x", "delay": float("nan")}, "delay must be 0 to 60"),
        ({"path": "/x", "status": 502, "body": "x" * (64 * 1024 + 1)}, "at most 65536 bytes"),
        ({"path": "/x", "body": "<html>"}, "a body needs its status"),
        ({"path": "/x", "status": 502, "content_type": "text/html"}, "type of a body"),
        ({"path": "/x", "status": 502, "body": "x", "content_type": "a\r\nb"}, "printable"),
        ({"path": "/x", "drop": True, "status": 503}, "no status, body or error"),
        ({"path": "/x", "error": "Not A Code"}, "a code such as"),
        ({"path": "/x", "error": "retry", "wait": -1}, "wait must be 0 to"),
        ({"path": "/x", "status": 503, "wait": 5}, "wait belongs to an error"),
        ({"path": "/x", "method": "BREW", "status": 503}, "method must be one of"),
        ({"path": "/x"}, "a fault needs"),
    ],
)
def test_a_fault_that_cannot_be_answered_is_refused(
    scripted: SandboxServer, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        scripted.faults.add(**arguments)  # type: ignore[arg-type]
    assert not scripted.faults


def test_faults_are_bounded(scripted: SandboxServer) -> None:
    for _ in range(MAX_FAULTS):
        scripted.faults.add("/api/token_status", status=503)
    with pytest.raises(ValueError, match="clear them first"):
        scripted.faults.add("/api/token_status", status=503)
    assert len(scripted.faults) == MAX_FAULTS


def test_faults_survive_a_round_trip_through_json() -> None:
    fault = Fault("/api/x", status=502, body="<p>down</p>", times=3)
    assert Fault.from_json(json.loads(json.dumps(fault.as_json()))) == fault
    with pytest.raises(ValueError, match="unknown argument 'colour'"):
        Fault.from_json({"path": "/x", "status": 503, "colour": "red"})


# -- the request log --------------------------------------------------------------


def test_the_log_says_what_was_asked_and_answered_never_a_secret(
    scripted: SandboxServer, tmp_path: Path
) -> None:
    cup = scripted.add_tournament("Cup", "host", start="now", end="+1h")
    ann = player(scripted)
    ann.tournaments.participate(cup)
    key = ann.tournaments.gen_key(cup)
    game = tmp_path / "game.rmv"
    game.write_bytes(write_rmv(seed=4, key=key, boardgen_time=scripted.clock.now()))
    ann.scores.upload_filename(game)
    scripted.clock.advance(TEST_CONFIG.refresh_cooldown)
    ann.refresh_login()
    requests.get(scripted.url + "/api/token_status?token=secret-in-a-query", timeout=30)

    logged = [(r.method, r.path, r.status) for r in scripted.requests]
    assert logged == [
        ("POST", "/api/obtain_token", 200),
        ("POST", f"/api/tournaments/participate/{cup}", 200),
        ("POST", f"/api/tournaments/gen_key/{cup}", 201),
        ("POST", "/api/scores/upload", 201),
        ("POST", "/api/refresh_token", 200),
        ("GET", "/api/token_status", 200),
    ]
    times = [r.at for r in scripted.requests]
    assert times == sorted(times) and times[-1] - times[0] >= timedelta(seconds=60)
    token = ann.auth_str.split(":", 1)[1]
    everything = json.dumps([r.as_json() for r in scripted.requests])
    stored = sqlite3.connect(scripted.store.path).execute("SELECT * FROM requests").fetchall()
    for secret in (PASSWORD, token, "secret-in-a-query", key):
        assert secret not in everything and secret not in repr(stored)


def test_the_log_keeps_the_last_requests() -> None:
    store = Store(":memory:", TEST_CONFIG)
    log = RequestLog(store)
    for n in range(MAX_REQUESTS + 5):
        log.record("GET", f"/api/{n}", 200)
    entries = log.entries()
    assert len(entries) == MAX_REQUESTS
    assert entries[0].path == "/api/5" and entries[-1].path == f"/api/{MAX_REQUESTS + 4}"
    log.record("GET", "/" + "x" * 10_000, 200)
    assert len(log[-1].path) == 256
    assert log.clear() == MAX_REQUESTS
    store.close()


def test_a_sandbox_that_does_not_record_says_so(sandbox: SandboxServer) -> None:
    with pytest.raises(RuntimeError, match="record_requests"):
        list(sandbox.requests)


def test_start_and_end_count_from_one_moment(scripted: SandboxServer) -> None:
    # +1h and +1h are the same time, not a tournament of a few microseconds
    with pytest.raises(ValueError, match="must end after it starts"):
        scripted.add_tournament("Blink", "host", start="+1h", end="+1h")
