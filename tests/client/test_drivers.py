"""The two drivers, the sync client on requests and the async one on httpx,
against one scripted server (``tests/fake_server.py``), each test with both:
what only a driver shows. The protocol core's decisions (what is retried,
error codes, waits, parsing) are ``tests/protocol/test_protocol.py``'s; here,
how each driver puts them on the wire and what it makes of its HTTP library:
headers, form and multipart bodies, timeouts, the library's exceptions,
answers decoded within the cap, closing, waits, threads, and the sync API
(generated from the async one) doing what the async one does."""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from cases import KEY, LISTS, TOURNAMENT, TOURNAMENT_NEWER
from fake_server import CLIENTS, ORIGIN, Answer, Client, Failure, FakeServer, Part, answer
from scoreganizer_client_lib import AUTH_HEADER, RetryPolicy, Scoreganizer, Tournament
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib._answer_body import ACCEPT_ENCODING
from scoreganizer_client_lib.replays.testing import write_rmv

FAST = RetryPolicy(backoff=0.001, max_backoff=0.002, jitter=False)


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture(params=CLIENTS)
def client(request: pytest.FixtureRequest, server: FakeServer) -> Iterator[Client]:
    opened = server.client(request.param, retry=FAST)
    yield opened
    opened.close()


# -- the sync API does what the async one does ---------------------------------------


def _replay(folder: Path) -> Path:
    path = folder / "HI-SCORE Beg_8.33_ann.rmv"
    path.write_bytes(write_rmv(seed=3, key=KEY))
    return path


KEYED = answer(201, {"key": KEY, "key_expiry": None})
LISTED = answer(json=[TOURNAMENT, TOURNAMENT_NEWER])
STORED = answer(201, {"stored": True})
STANDINGS = {"standings": [{"rank": 1, "player": "ann", "complete": True, "total": 9.5}]}

#: Every call of the API: its arguments (made in a test's folder), what the
#: server answers (method, path, answers), and the requests it makes.
CALLS: list[tuple[str, Callable[[Path], tuple[Any, ...]], list[tuple[str, str, Answer]]]] = [
    ("login", lambda _: ("bob", "pw"), [("POST", "obtain_token", answer(json={"token": "t"}))]),
    ("token_status", lambda _: (), [("GET", "token_status", answer(json={"status": "ok"}))]),
    ("token_status_ok", lambda _: (), [("GET", "token_status", answer(json={"status": "ok"}))]),
    ("refresh_login", lambda _: (), [("POST", "refresh_token", answer(json={"token": "new"}))]),
    (
        "refresh_login_if_stale",
        lambda _: (),
        [
            ("GET", "token_status", answer(json={"status": "ok_stale"})),
            ("POST", "refresh_token", answer(json={"token": "new"})),
        ],
    ),
    ("reload_credentials", lambda _: (), []),
    ("set_auth_str", lambda _: ("bob:other",), []),
    ("logout", lambda _: (), []),
    *[
        (f"tournaments.{which}", lambda _: (), [("GET", f"tournaments/{which}", LISTED)])
        for which in LISTS
    ],
    (
        "tournaments.get",
        lambda _: ("36",),
        [("GET", "tournaments/active", answer(json=[])), ("GET", "tournaments/all", LISTED)],
    ),
    (
        "tournaments.participate",
        lambda _: (Tournament.deserialize(TOURNAMENT),),
        [("POST", "tournaments/participate/35", answer())],
    ),
    (
        "tournaments.player_confirm",
        lambda _: (35,),
        [("POST", "tournaments/player_confirm/35", answer())],
    ),
    ("tournaments.gen_key", lambda _: (35, True), [("POST", "tournaments/gen_key/35", KEYED)]),
    ("tournaments.get_key", lambda _: (35,), [("GET", "tournaments/get_key/35", KEYED)]),
    ("tournaments.wait_key", lambda _: (35,), [("POST", "tournaments/gen_key/35", KEYED)]),
    ("tournaments.key", lambda _: (35,), [("GET", "tournaments/get_key/35", KEYED)]),
    (
        "tournaments.standings",
        lambda _: (5,),
        [("GET", "/sandbox/standings/5", answer(json=STANDINGS))],
    ),
    (
        "scores.upload_file",
        lambda _: (io.BytesIO(b"RMV"), "dir/g.rmv"),
        [("POST", "scores/upload", STORED)],
    ),
    ("scores.upload_filename", lambda d: (_replay(d),), [("POST", "scores/upload", STORED)]),
    ("scores.upload_filename", lambda d: (str(_replay(d)),), [("POST", "scores/upload", STORED)]),
    ("scores.upload_replay", lambda d: (_replay(d), 35), [("POST", "scores/upload", STORED)]),
    ("scores.upload_many", lambda d: ([_replay(d)], 35), [("POST", "scores/upload", STORED)]),
]


@pytest.mark.parametrize(("call", "args", "script"), CALLS, ids=[c[0] for c in CALLS])
def test_every_call_is_the_same_with_both_clients(
    call: str,
    args: Callable[[Path], tuple[Any, ...]],
    script: list[tuple[str, str, Answer]],
    tmp_path: Path,
) -> None:
    done = {}
    for kind in CLIENTS:
        server = FakeServer()
        for method, path, answered in script:
            server.on(method, path, answered)
        client = server.client(kind, retry=FAST)
        try:
            client("set_auth_str", "alice:tok")
            result = client(call, *args(tmp_path))
            sent = [(s.method, s.path, s.header(AUTH_HEADER)) for s in server.seen]
            done[kind] = (result, sent, client.sc.auth_str)
        finally:
            client.close()
    assert done["sync"] == done["async"]
    sent = done["sync"][1]
    asked = [
        (method, path if path.startswith("/") else f"/api/{path}") for method, path, _ in script
    ]
    assert [(method, path) for method, path, _ in sent] == asked


# -- on the wire ---------------------------------------------------------------------


def test_login_sends_a_form_and_the_token_goes_in_a_header(
    client: Client, server: FakeServer
) -> None:
    server.on("POST", "obtain_token", answer(json={"token": "abc"}))
    server.on("POST", "refresh_token", answer(json={"token": "new"}))
    server.on("GET", "token_status", answer(json={"status": "ok"}))
    client("login", "bob", "pw")
    client("token_status")
    client("refresh_login")
    client("token_status")
    login, first, refresh, second = server.seen
    assert login.form() == {"username": "bob", "password": "pw"}
    assert login.header(AUTH_HEADER) is None
    assert [r.header(AUTH_HEADER) for r in (first, refresh, second)] == ["bob:abc"] * 2 + [
        "bob:new"
    ]
    assert all(r.header("accept-encoding") == ACCEPT_ENCODING for r in server.seen)
    if client.kind == "sync":  # 0.3.1 kept the header on its session, for code that uses it
        assert client.sc.session.headers[AUTH_HEADER] == "bob:new"
    assert "new" not in repr(client.sc)


def test_logged_out_no_credentials_header_is_sent(client: Client, server: FakeServer) -> None:
    server.on("GET", "token_status", answer(json={"status": "not_sent"}))
    assert client("token_status") == "not_sent"
    assert AUTH_HEADER.lower() not in server.seen[0].headers


def test_credentials_go_as_utf8(client: Client, server: FakeServer) -> None:
    server.on("GET", "token_status", answer(json={"status": "ok"}))
    client("set_auth_str", "jürgen:tok")
    assert client("token_status_ok")
    assert server.seen[0].headers[AUTH_HEADER.lower()] == "jürgen:tok".encode()


def test_an_upload_is_one_multipart_body(client: Client, server: FakeServer) -> None:
    server.on("POST", "scores/upload", answer(201))
    client("scores.upload_file", io.BytesIO(b"AVF\x00\xff"), "/some/dir/game.avf")
    mime = "application/x-minesweeper-arbiter"
    assert server.seen[0].parts() == {
        "mime_type": Part(None, None, mime.encode()),
        "video": Part("game.avf", mime, b"AVF\x00\xff"),
    }


def test_a_retried_upload_sends_the_whole_file_again(client: Client, server: FakeServer) -> None:
    retry = answer(403, {"error": "retry"})
    server.on("POST", "scores/upload", retry, retry, answer(201))
    client("scores.upload_file", io.BytesIO(b"WHOLE-FILE"), "a.evf")
    assert [s.parts()["video"].content for s in server.seen] == [b"WHOLE-FILE"] * 3


@pytest.mark.parametrize(
    ("given", "sent"),
    [(None, (None, None)), (2, (2.0, 2.0)), ((1, None), (1, None)), ((3, 4.5), (3, 4.5))],
)
@pytest.mark.parametrize("kind", CLIENTS)
def test_timeouts_reach_the_http_library(
    server: FakeServer, kind: str, given: Any, sent: tuple[float | None, float | None]
) -> None:
    server.on("GET", "tournaments/all", answer(json=[]))
    for client in (server.client(kind, timeout=given), server.client(kind)):
        client("tournaments.all")
        client.close()
    assert [s.timeout for s in server.seen] == [sent, (5.0, 30.0)]  # the default


# -- what each driver makes of its HTTP library -----------------------------------------


@pytest.mark.parametrize(
    ("failure", "call", "sends", "error"),
    [
        (Failure.REFUSED, "refresh_login", FAST.attempts, requests.exceptions.ConnectionError),
        (
            Failure.CONNECT_TIMEOUT,
            "refresh_login",
            FAST.attempts,
            requests.exceptions.ConnectTimeout,
        ),
        (Failure.DROPPED, "tournaments.all", FAST.attempts, requests.exceptions.ConnectionError),
        (Failure.DROPPED, "refresh_login", 1, requests.exceptions.ConnectionError),  # done, maybe
        (Failure.READ_TIMEOUT, "tournaments.all", 1, requests.exceptions.ReadTimeout),
    ],
)
def test_the_http_library_s_failures_are_network_exceptions(
    client: Client,
    server: FakeServer,
    failure: Failure,
    call: str,
    sends: int,
    error: type[Exception],
) -> None:
    """What failed decides what is retried: nothing sent (retried), the
    connection dropped (retried when sending twice does no harm), no answer
    in time (never); both clients raise the same ``NetworkException``."""
    server.on("GET", "tournaments/all", failure)
    server.on("POST", "refresh_token", failure)
    client("set_auth_str", "alice:tok")
    with pytest.raises(exc.NetworkException) as info:
        client(call)
    assert type(info.value) is error and len(server.seen) == sends
    if client.kind == "async":  # httpx's exception is the cause
        assert type(info.value.__cause__).__module__.startswith("httpx")


@pytest.mark.parametrize(
    ("failure", "sends", "error"),
    [
        (Failure.DROPPED, FAST.attempts, exc.NetworkException),
        (Failure.READ_TIMEOUT, 1, requests.exceptions.ReadTimeout),
    ],
)
def test_an_answer_that_stops_halfway_is_a_network_exception(
    client: Client, server: FakeServer, failure: Failure, sends: int, error: type[Exception]
) -> None:
    """The connection breaks, or the server stops sending, after the head
    and part of the body: a GET is sent again when the connection broke,
    never after a timeout (the answer may still be coming)."""
    server.on("GET", "tournaments/all", answer(json=[TOURNAMENT], then=failure))
    with pytest.raises(error) as info:
        client("tournaments.all")
    assert isinstance(info.value, exc.NetworkException) and len(server.seen) == sends


def test_an_error_answer_is_the_library_s_exception(client: Client, server: FakeServer) -> None:
    server.on("POST", "tournaments/gen_key/35", answer(403, {"error": "too_early", "wait": 120}))
    with pytest.raises(exc.ScoreganizerTooEarly) as info:
        client("tournaments.gen_key", 35)
    assert timedelta(0) < info.value.wait_time <= timedelta(seconds=120)


def test_headers_reach_the_core_in_any_case(client: Client, server: FakeServer) -> None:
    server.on(
        "GET",
        "tournaments/all",
        answer(503, headers={"rEtRy-AfTeR": "7"}),
        answer(json=[]),
    )
    assert client("tournaments.all") == []
    assert client.slept == [7.0]


def test_answers_are_decoded_by_the_client_within_its_cap(server: FakeServer) -> None:
    """The client reads the bytes as sent and decodes them itself (bounded):
    the HTTP library's own decoder has no bound."""
    big = b"[" + b" " * 5000 + b"]"
    zipped = answer(body=gzip.compress(big), headers={"Content-Encoding": "gzip"})
    server.on("GET", "tournaments/all", zipped)
    server.on("GET", "tournaments/active", answer(body=big))
    for kind in CLIENTS:
        roomy = server.client(kind, max_answer_size=len(big))
        assert roomy("tournaments.all") == []
        roomy.close()
        tight = server.client(kind, max_answer_size=len(big) - 1, retry=RetryPolicy.none())
        for which in ("all", "active"):
            with pytest.raises(exc.ScoreganizerProtocolError, match="longer than"):
                tight(f"tournaments.{which}")
        tight.close()


def test_closing_the_client_closes_its_http_session(server: FakeServer) -> None:
    for kind in CLIENTS:
        server.closed = False
        client = server.client(kind)
        assert not server.closed
        client.close()
        assert server.closed, kind

    async def with_async() -> None:
        async with server.async_client():
            assert not server.closed

    server.closed = False
    asyncio.run(with_async())
    assert server.closed
    server.closed = False
    with server.sync_client():
        assert not server.closed
    assert server.closed


def test_the_sync_client_mounts_the_adapter_it_is_given(server: FakeServer) -> None:
    adapter = server.adapter()
    sc = Scoreganizer.from_url(ORIGIN, http_adapter=adapter)
    assert isinstance(sc.session, requests.Session)
    assert sc.session.get_adapter("https://x/") is adapter
    assert sc.session.get_adapter("http://x/") is adapter


# -- waits and threads ----------------------------------------------------------------


def test_wait_key_counts_down_with_the_injected_sleep(client: Client, server: FakeServer) -> None:
    server.on(
        "POST", "tournaments/gen_key/35", answer(403, {"error": "too_early", "wait": 2.5}), KEYED
    )
    heard: list[tuple[float, int]] = []
    key = client(
        "tournaments.wait_key",
        35,
        on_wait=lambda left: heard.append((left.total_seconds(), len(client.slept))),
    )
    assert key == KEY
    # the hook is called by the client between its sleeps: once before each
    assert client.slept[:2] == [1.0, 1.0] and 0 < client.slept[2] <= 0.5
    assert [n for _, n in heard] == [0, 1, 2]
    assert heard[0][0] > heard[1][0] > heard[2][0] > 0
    assert sum(client.slept) == pytest.approx(heard[0][0])


class WatchedPath(os.PathLike[str]):
    """A path that keeps which threads looked it up (to open it, to stat it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.threads: list[threading.Thread] = []

    def __fspath__(self) -> str:
        self.threads.append(threading.current_thread())
        return str(self.path)


@pytest.mark.anyio
async def test_replays_are_read_and_checked_off_the_loop(
    server: FakeServer, tmp_path: Path
) -> None:
    replay = WatchedPath(_replay(tmp_path))
    server.on("POST", "scores/upload", answer(201))
    async with server.async_client() as sc:
        info = await sc.scores.upload_replay(replay, 35)
    assert info is not None and str(info.key) == KEY
    assert replay.threads and threading.main_thread() not in replay.threads


@pytest.mark.anyio
async def test_large_answers_are_parsed_off_the_loop(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoreganizer_client_lib import tournament

    threads: list[threading.Thread] = []
    real = tournament.Tournament.deserialize_many.__func__  # type: ignore[attr-defined]

    def deserialize_many(cls: type, data: list[dict[str, object]]) -> object:
        threads.append(threading.current_thread())
        return real(cls, data)

    monkeypatch.setattr(tournament.Tournament, "deserialize_many", classmethod(deserialize_many))
    server.on("GET", "tournaments/all", answer(json=[TOURNAMENT] * 3000))  # about 800 KB
    server.on("GET", "tournaments/active", answer(json=[TOURNAMENT]))
    async with server.async_client() as sc:
        assert len(await sc.tournaments.all()) == 3000
        assert len(await sc.tournaments.active()) == 1
    big, small = threads
    assert big is not threading.main_thread() and small is threading.main_thread()
