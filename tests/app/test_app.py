"""The player's web app over real HTTP against a real sandbox: the guard,
login and its failures, tournaments, actions, dropped replays, folders."""

from __future__ import annotations

import ast
import asyncio
import gc
import logging
import os
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from app_helpers import Browser, LocalApp, World, start_app_command, start_world
from cases import RUNNING
from conftest import FAST_RETRY, PASSWORD, Clock, fresh_seed, wait_for
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.app import AppServer, Settings
from scoreganizer_client_lib.app.folders import FolderMemory, suggest
from scoreganizer_client_lib.app.opened import OpenTournament
from scoreganizer_client_lib.replays.testing import write_avf, write_evf, write_rmv

ROOT = Path(__file__).parents[2]
TOURNAMENT_35 = {**RUNNING, "name": "Elsewhere Cup"}
PACKAGE = ROOT / "src" / "scoreganizer_client_lib"


class Sleep:
    """How the app waits here: as asyncio does, unless a test says otherwise."""

    def __init__(self) -> None:
        self.instead: Callable[[float], Awaitable[None]] | None = None

    async def __call__(self, seconds: float) -> None:
        await (self.instead or asyncio.sleep)(seconds)


@pytest.fixture(scope="module")
def app_sleep() -> Sleep:
    return Sleep()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, app_sleep: Sleep) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("app"), Clock(), sleep=app_sleep)


@pytest.fixture
def browser(world: World) -> Iterator[Browser]:
    with Browser(world.app) as client:
        yield client


@pytest.fixture(scope="module")
def served(world: World) -> Iterator[AppServer]:
    """The world's app served on a port, for what only a socket shows."""
    with AppServer(world.app.settings) as app:
        yield app


def logged_in(world: World, browser: Browser, prefix: str = "p") -> str:
    name = world.user(prefix)
    assert browser.login(name).status_code == 303
    return name


def joined_with_key(world: World, browser: Browser) -> tuple[int, OpenTournament]:
    """A new player, logged in, in a running tournament whose key the app
    has got: the tournament's id, and the tournament as the app opened it."""
    logged_in(world, browser)
    cup = world.tournament(start="-1m", end="+2h")
    browser.post(f"/t/{cup}/join", follow_redirects=True)
    opened = world.app.session.opened[cup]
    wait_for(lambda: opened.key is not None)
    return cup, opened


# -- the guard -----------------------------------------------------------------


def test_no_secret_is_403(world: World) -> None:
    with Browser(world.app, let_in=False) as stranger:
        for path in ("/", "/login", "/static/app.js", "/t/1"):
            answer = stranger.get(path)
            assert answer.status_code == 403, path
            assert "scoreganizer app" in answer.text
        assert stranger.get("/", params={"secret": "guess"}).status_code == 403
        assert stranger.post("/login", data={"username": "a", "password": "b"}).status_code == 403


def test_the_secret_becomes_a_cookie_and_leaves_the_url(world: World) -> None:
    with Browser(world.app, let_in=False) as client:
        answer = client.get("/login", params={"secret": world.app.secret, "expired": "1"})
        assert answer.status_code == 200
        assert 'content="0;url=/login?expired=1"' in answer.text
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert client.get("/login").status_code == 200


def test_foreign_origin_is_403(world: World, browser: Browser) -> None:
    for origin in ("http://evil.example", "http://127.0.0.1:1", "null"):
        answer = browser.post(
            "/login", data={"username": "x", "password": "y"}, headers={"origin": origin}
        )
        assert answer.status_code == 403, origin
        assert browser.get("/", headers={"origin": origin}).status_code == 403


def test_a_change_without_origin_is_403(world: World, browser: Browser) -> None:
    del browser.headers["origin"]
    assert browser.post("/logout").status_code == 403
    assert browser.get("/login").status_code == 200  # reading needs no Origin


def test_wrong_host_is_403(world: World, browser: Browser) -> None:
    port = world.app.authority.rpartition(":")[2]
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1:1", "localhost"):
        assert browser.get("/login", headers={"host": host}).status_code == 403, host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):  # the cookie's, but not its name
        assert browser.get("/login", headers={"host": host}).status_code == 403, host
    assert browser.get("/login").status_code == 200


def test_each_run_has_a_private_host_name(tmp_path: Path) -> None:
    settings = Settings("http://127.0.0.1:9", tmp_path / "c.txt", tmp_path / "app")
    first, second = AppServer(settings), AppServer(settings)
    plain = AppServer(settings, plain_address=True)
    try:
        assert re.fullmatch(r"app-[0-9a-f]{16}\.localhost", first.host_name)
        assert first.host_name != second.host_name
        assert first.url == f"http://{first.host_name}:{first.port}/"
        assert plain.url == f"http://127.0.0.1:{plain.port}/"
    finally:
        for app in (first, second, plain):
            app.stop()


def test_cross_site_fetch_is_403_even_with_the_cookie(browser: Browser) -> None:
    headers = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors"}
    assert browser.get("/", headers=headers).status_code == 403
    navigate = {"sec-fetch-site": "same-origin", "sec-fetch-mode": "navigate"}
    assert browser.get("/login", headers=navigate).status_code == 200


def test_answers_carry_protective_headers_and_no_cors(browser: Browser) -> None:
    answer = browser.get("/login", headers={"origin": browser.headers["origin"]})
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert not any(name.startswith("access-control-") for name in answer.headers)


@pytest.mark.parametrize(
    "path",
    [
        "/static/../opened.py",
        "/static/..%2fplay.py",
        "/static/%2e%2e/opened.py",
        "/static/%2e%2e%2fguard.py",
        "/static/..%5cplay.py",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/t/1/../../static/../web.py",
    ],
)
def test_no_file_outside_the_apps_own_is_served(served: AppServer, path: str) -> None:
    import socket

    with Browser(served) as browser:
        cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as raw:
        raw.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {served.authority}\r\n"
            f"Cookie: {cookie}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 404 ")
    assert b"No such page" in answer and b"import" not in answer


def test_listens_on_loopback_only(served: AppServer) -> None:
    assert served.address == ("127.0.0.1", served.port)


# -- logging in ----------------------------------------------------------------


def test_login_shares_the_commands_credentials(world: World, browser: Browser) -> None:
    name = logged_in(world, browser)
    stored = world.app.settings.credentials.read_text()
    assert stored.startswith(f"{name}:")
    command = Scoreganizer.from_url(world.sandbox.url, auth_filename=world.app.settings.credentials)
    assert command.username == name and command.token_status_ok()
    page = browser.get("/")
    assert f"Signed in as <strong>{name}</strong>" in page.text
    assert browser.post("/logout").headers["location"] == "/login"
    assert not world.app.settings.credentials.exists()
    assert browser.get("/").headers["location"] == "/login"


def test_wrong_password_says_so_and_never_shows_or_logs_it(
    world: World, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    name = world.user()
    secret_word = "hunter2-not-the-password"
    with caplog.at_level(logging.DEBUG):
        page = browser.login(name, secret_word)
    assert page.status_code == 200
    assert "Wrong username or password." in page.text
    assert secret_word not in page.text and secret_word not in caplog.text
    assert f'value="{name}"' in page.text  # the name stays typed in


def test_empty_fields(browser: Browser) -> None:
    assert "Enter your username and password." in browser.login("", "").text


def test_dead_server_on_login_and_pages(tmp_path: Path) -> None:
    settings = Settings("http://127.0.0.1:9", tmp_path / "c.txt", tmp_path / "app")
    settings.credentials.write_text("ghost:token")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    with LocalApp(settings, timeout=2.0, sleep=sleep) as app, Browser(app) as client:
        page = client.get("/")
        assert page.status_code == 502
        assert "Cannot reach the server" in page.text and "http://127.0.0.1:9" in page.text
        assert "Cannot reach http://127.0.0.1:9: could not connect" in client.login("a", "b").text
    assert waits == []  # nothing listens there: said at once


@pytest.fixture(scope="module")
def not_scoreganizer() -> Iterator[str]:
    """A web server that is not Scoreganizer (``python -m http.server``)."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ROOT / "docs"))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(5)


def test_a_server_that_is_not_scoreganizer_is_named(tmp_path: Path, not_scoreganizer: str) -> None:
    settings = Settings(f"http://{not_scoreganizer}", tmp_path / "c.txt", tmp_path / "app")
    settings.credentials.write_text("ghost:token")
    with LocalApp(settings) as app, Browser(app) as client:
        page = client.get("/")
        assert page.status_code == 502 and "Not a Scoreganizer server" in page.text
        message = f"This does not look like a Scoreganizer server at http://{not_scoreganizer} ("
        assert message in client.login("a", "b").text


def test_https_to_a_plain_http_server_suggests_http(tmp_path: Path, not_scoreganizer: str) -> None:
    settings = Settings(f"https://{not_scoreganizer}", tmp_path / "c.txt", tmp_path / "app")
    with LocalApp(settings) as app, Browser(app) as client:
        text = client.login("a", "b").text
    assert (
        f"If this server does not speak HTTPS, start the app for http://{not_scoreganizer}." in text
    )


def test_expired_login_asks_to_log_in_again(world: World, browser: Browser) -> None:
    logged_in(world, browser)
    world.clock.advance(7201)  # TEST_CONFIG: tokens expire after 2 h
    try:
        answer = browser.get("/")
        assert answer.headers["location"] == "/login?expired=1"
        assert "Your login has expired" in browser.get("/login?expired=1").text
    finally:
        world.clock.advance(-7201)


# -- tournaments and actions -----------------------------------------------------


def test_tournament_list_has_the_action_that_applies(world: World, browser: Browser) -> None:
    name = logged_in(world, browser)
    open_cup = world.tournament(name="Open Cup", start="+1h", end="+2h")
    invited_cup = world.tournament(name="Invited Cup", start="+1h", end="+2h", closed=True)
    closed_cup = world.tournament(name="Closed Cup", start="-1m", end="+2h", closed=True)
    from scoreganizer_client_lib.sandbox import scenario

    scenario.invite(world.sandbox.store, invited_cup, name)
    browser.post(f"/t/{closed_cup}/join")
    page = browser.get("/").text
    card = {t: page[page.index(f">{t} Cup</a>") :][:1500] for t in ("Open", "Invited", "Closed")}
    assert f'action="/t/{open_cup}/join"' in card["Open"] and ">Join</button>" in card["Open"]
    assert ">Confirm invitation</button>" in card["Invited"]
    assert "Waiting for the host" in card["Closed"] and "Running" in card["Closed"]
    assert re.search(r"Starts in <time [^>]*>(0:59:\d\d|1:00:00)</time>", card["Open"])
    assert 'data-reload-every="20"' in browser.get(f"/t/{closed_cup}").text  # until let in
    browser.post(f"/t/{invited_cup}/confirm")
    assert "Joined" in browser.get(f"/t/{invited_cup}").text


def test_the_key_comes_by_itself_at_the_start(
    world: World, browser: Browser, app_sleep: Sleep
) -> None:
    name = logged_in(world, browser)
    cup = world.tournament(start="+1h", end="+2h")
    waits: list[float] = []
    started = threading.Event()

    async def sleep(seconds: float) -> None:  # until the test has seen the page
        waits.append(seconds)
        await asyncio.to_thread(started.wait, 10)

    app_sleep.instead = sleep
    try:
        page = browser.post(f"/t/{cup}/join", follow_redirects=True).text
        assert "Your key appears here by itself when the tournament starts" in page
        opened = world.app.session.opened[cup]
        wait_for(lambda: waits != [])  # the app waits for the start...
        world.start_in(cup, -1)  # ...which comes
    finally:
        started.set()
        app_sleep.instead = None
    wait_for(lambda: opened.key is not None)
    assert 3500 < waits[0] <= 3600
    page = browser.get(f"/t/{cup}").text
    assert opened.key is not None and opened.key.split("_")[1] == str(cup)
    assert f'<p id="key-text" class="key">{opened.key}</p>' in page
    assert f"{name}#{opened.key}" in page and 'aria-label="Copy for Minesweeper Arbiter"' in page


class NoKeyGenerated(httpx.AsyncBaseTransport):
    """The network to the server, where the first ``failures`` requests to
    generate a key cannot connect."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.network = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/gen_key/" in request.url.path and self.failures > 0:
            self.failures -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.network.handle_async_request(request)

    async def aclose(self) -> None:
        await self.network.aclose()


def test_a_key_the_server_cannot_be_reached_for_is_tried_again_and_said_meanwhile(
    world: World,
) -> None:
    cup = world.tournament(start="-1m", end="+2h")
    pauses: list[float] = []
    paused, go_on = threading.Event(), threading.Event()

    async def sleep(seconds: float) -> None:  # until the test has seen the page
        pauses.append(seconds)
        paused.set()
        await asyncio.to_thread(go_on.wait, 60)

    options = {"retry": FAST_RETRY.replace(attempts=1), "sleep": sleep}
    app = LocalApp(world.app.settings, transport=NoKeyGenerated(2), **options)
    with app, Browser(app) as browser:
        logged_in(world, browser)
        browser.post(f"/t/{cup}/join", follow_redirects=True)  # the key is wanted
        try:
            assert paused.wait(30)
            page = browser.get(f"/t/{cup}").text
            assert "Cannot reach the server to get your key; trying again." in page
        finally:
            go_on.set()
        opened = app.session.opened[cup]
        wait_for(lambda: opened.key is not None)
        assert f'<p id="key-text" class="key">{opened.key}</p>' in browser.get(f"/t/{cup}").text
    assert pauses[:2] == [1.0, 2.0]  # waits that grow, while the server is away


def test_timelimit_key_waits_for_the_player(world: World, browser: Browser) -> None:
    logged_in(world, browser)
    cup = world.tournament(start="-1m", end="+2h", mode="sum_timelimit", modeparams="1+0+0;600")
    page = browser.post(f"/t/{cup}/join", follow_redirects=True).text
    assert "You have <strong>10 min</strong> to play" in page and ">Get my key</button>" in page
    assert "counted from the moment you press" in page
    assert world.app.session.opened[cup].key is None
    browser.post(f"/t/{cup}/key")
    opened = world.app.session.opened[cup]
    wait_for(lambda: opened.key is not None)
    page = browser.get(f"/t/{cup}").text
    assert "Your time ends in" in page and re.search(r">0:(09:5\d|10:00)</time>", page)


def test_timelimit_key_before_the_start_says_when_it_can_be_had(
    world: World, browser: Browser
) -> None:
    logged_in(world, browser)
    cup = world.tournament(start="+1h", end="+3h", mode="sum_timelimit", modeparams="1+0+0;600")
    page = browser.post(f"/t/{cup}/join", follow_redirects=True).text
    assert re.search(r"You can get your key in <time [^>]*>(0:59:\d\d|1:00:00)</time>", page)
    assert '<div class="get-key" hidden>' in page  # shown by the countdown at the start
    assert "appears here by itself" not in page
    assert world.app.session.opened[cup].key is None


def test_unknown_tournament(world: World, browser: Browser) -> None:
    logged_in(world, browser)
    page = browser.get("/t/99999")
    assert page.status_code == 404 and "No such tournament" in page.text


# -- uploads -------------------------------------------------------------------------


def drop(browser: Browser, cup: int, name: str, content: bytes) -> dict[str, str]:
    answer = browser.post(
        f"/t/{cup}/upload", content=content, headers={"x-file-name": name.replace(" ", "%20")}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_dropped_replays_get_verdicts_in_words(world: World, browser: Browser) -> None:
    cup, opened = joined_with_key(world, browser)
    rival = Scoreganizer.from_url(world.sandbox.url)
    rival.login(world.user("rival"), PASSWORD)
    rival.tournaments.participate(cup)
    rival_key = rival.tournaments.gen_key(cup)
    now = datetime.now(timezone.utc)
    good = drop(
        browser, cup, "my game.rmv", write_rmv(seed=fresh_seed(), key=opened.key, boardgen_time=now)
    )
    assert good["file"] == "my game.rmv" and good["verdict"] == "accepted"
    nokey = drop(browser, cup, "nokey.rmv", write_rmv(seed=3, boardgen_time=now))
    assert nokey["verdict"] == "refused" and "no tournament key" in nokey["reason"]
    theirs = drop(browser, cup, "theirs.rmv", write_rmv(seed=4, key=rival_key, boardgen_time=now))
    assert theirs["verdict"] == "refused" and "another player's key" in theirs["reason"]
    early = drop(
        browser,
        cup,
        "early.rmv",
        write_rmv(seed=fresh_seed(), key=opened.key, boardgen_time=now - timedelta(hours=1)),
    )
    assert early["verdict"] == "refused" and "before the tournament started" in early["reason"]
    junk = drop(browser, cup, "../../junk.rmv", b"not a replay")
    assert junk["file"] == "junk.rmv" and junk["verdict"] == "refused"
    assert "not a readable replay" in junk["reason"]
    page = browser.get(f"/t/{cup}").text
    feed = page[page.index('id="feed"') :]
    assert [m for m in re.findall(r'data-verdict="(\w+)"', feed)] == [
        "refused",
        "refused",
        "refused",
        "refused",
        "accepted",
    ]
    assert "another player&#39;s key" in feed
    assert "1 beginner" in page  # the results table is there too
    assert re.search(r'<tr class="me"><td>1</td>', page)


def test_the_feed_says_a_lost_game_does_not_count_and_refuses_an_edited_one(
    world: World, browser: Browser
) -> None:
    cup, opened = joined_with_key(world, browser)
    now = datetime.now(timezone.utc)
    lost = write_evf(seed=fresh_seed(), key=opened.key, boardgen_time=now, outcome="lost")
    assert drop(browser, cup, "lost.evf", lost)["verdict"] == "accepted"
    edited = write_avf(seed=fresh_seed(), key=opened.key, boardgen_time=now, claimed_time=1.07)
    refused = drop(browser, cup, "edited.avf", edited)
    assert refused["verdict"] == "refused"
    assert refused["reason"].startswith("this replay disagrees with its own game: the file claims")
    page = browser.get(f"/t/{cup}").text
    feed = page[page.index('id="feed"') :]
    lost_entry = feed[feed.index("lost.evf") :]
    assert "lost: does not count" in lost_entry[: lost_entry.index("</li>")]
    assert "disagrees with its own game" in feed
    assert "3BV/s" not in lost_entry[: lost_entry.index("</li>")]


def test_too_large_drop_is_refused_in_the_feed(world: World, browser: Browser) -> None:
    logged_in(world, browser)
    cup = world.tournament(start="-1m", end="+2h")
    browser.post(f"/t/{cup}/join")
    answer = browser.post(
        f"/t/{cup}/upload",
        content=b"x" * (16 * 1024 * 1024 + 1),
        headers={"x-file-name": "huge.rmv"},
    )
    assert answer.status_code == 413
    assert answer.json()["reason"] == "the file is too large to be a replay (over 16 MiB)"
    assert "huge.rmv" in browser.get(f"/t/{cup}").text  # the page says so too


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../x.rmv", "x.rmv"),
        ("..%5C..%5Cx.rmv", "x.rmv"),
        ("C:%5CUsers%5Cme%5CVideos%5Cgame.avf", "game.avf"),
        ("CON.rmv", "CON.rmv"),  # a Windows device name: never opened as a file
        ("nul", "nul"),
        ("a%00b%0D%0Ac%E2%80%AE.rmv", "abc.rmv"),  # no control or invisible characters
        ("game.rmv.%20.%20", "game.rmv"),
        ("%F0%9F%98%80" * 120 + ".rmv", "\U0001f600" * 49 + ".rmv"),  # 200 bytes of UTF-8
        ("x" * 5000 + ".evf", "x" * 196 + ".evf"),
        ("..", "replay"),
        ("%ZZ.rmv", "%ZZ.rmv"),
    ],
    ids=range(11),
)
def test_dropped_file_names_are_plain_base_names(sent: str, shown: str) -> None:
    from urllib.parse import unquote

    from scoreganizer_client_lib.app.opened import safe_name

    assert safe_name(unquote(sent)) == shown


def test_odd_dropped_files_get_a_verdict_and_nothing_is_written(
    world: World, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    logged_in(world, browser)
    cup = world.tournament(start="-1m", end="+2h")
    browser.post(f"/t/{cup}/join")

    def no_disk(*args: object, **kwargs: object) -> None:
        raise AssertionError("a dropped file went to disk")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", no_disk)
    monkeypatch.setattr(tempfile, "mkstemp", no_disk)
    game = write_rmv(seed=9, boardgen_time=datetime.now(timezone.utc))
    for name in ("CON.rmv", "nul", "..%5C..%5Cx.rmv"):
        answer = drop(browser, cup, name, game)
        assert answer["verdict"] == "refused", name
    assert "no tournament key" in drop(browser, cup, "CON.rmv", game)["reason"]
    photo = drop(browser, cup, "holiday.jpg", b"\xff\xd8\xff" + b"x" * 1000)
    assert photo["reason"] == "not a replay file (only .rmv, .avf and .evf files are uploaded)"
    assert "not a readable replay" in drop(browser, cup, "empty.avf", b"")["reason"]


def test_a_dropped_replay_while_the_server_is_away_says_to_drop_it_again(
    world: World, browser: Browser
) -> None:
    cup, opened = joined_with_key(world, browser)
    world.sandbox.faults.add("/api/scores/upload", drop=True)  # the server is away
    answer = drop(browser, cup, "late.rmv", write_rmv(key=opened.key))
    assert answer["verdict"] == "waiting"
    assert answer["reason"] == "the server could not be reached"
    assert answer["advice"] == "drop it here again once the server answers"


# -- folders ---------------------------------------------------------------------------


def test_a_folder_that_does_not_exist_is_named_and_not_created(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    logged_in(world, browser)
    cup = world.tournament(start="+1h", end="+2h")
    browser.post(f"/t/{cup}/join")
    typo = tmp_path / "Typo Folder"
    page = browser.post(f"/t/{cup}/watch", data={"folder": str(typo)}, follow_redirects=True)
    assert f"There is no folder &#34;{typo}&#34;." in page.text
    assert not typo.exists()
    assert (
        "Type the folder"
        in browser.post(f"/t/{cup}/watch", data={"folder": " "}, follow_redirects=True).text
    )


def test_suggested_folders_of_the_three_clones(tmp_path: Path) -> None:
    home = tmp_path / "home"
    program_files = tmp_path / "Program Files"
    arbiter = home / "Desktop" / "Minesweeper Arbiter 0.52.3" / "Videos"
    vienna = home / "Documents" / "ViennaSweeper" / "replays"
    meta = program_files / "Metasweeper" / "replay"
    for folder in (arbiter, vienna, meta):
        folder.mkdir(parents=True)
    (meta / "b_0_1.234_3_2.431_alice.evf").write_bytes(b"")
    (home / "Desktop" / "Arbiter notes").mkdir()  # no Videos inside: not suggested
    found = suggest(home, {"ProgramFiles": str(program_files)})
    assert [(s.clone, s.path, s.replays) for s in found] == [
        ("Metasweeper", meta, 1),
        ("Minesweeper Arbiter", arbiter, 0),
        ("ViennaSweeper", vienna, 0),
    ]
    assert suggest(tmp_path / "nobody", {}) == []


def test_suggested_folders_on_windows_include_onedrive(tmp_path: Path) -> None:
    """Windows often moves Desktop and Documents into OneDrive."""
    onedrive = tmp_path / "OneDrive"
    vienna = onedrive / "Desktop" / "ViennaSweeper 3.1" / "replays"
    vienna.mkdir(parents=True)
    (vienna / "game.rmv").write_bytes(b"")
    found = suggest(tmp_path / "home", {"OneDrive": str(onedrive), "SystemDrive": "C:"})
    assert [(s.clone, s.path, s.replays) for s in found] == [("ViennaSweeper", vienna, 1)]


def test_the_chosen_folder_is_remembered_per_server(tmp_path: Path) -> None:
    memory = FolderMemory(tmp_path / "folders.json")
    memory.set("http://127.0.0.1:8000", tmp_path / "a")
    memory.set("https://scoreganizer.net:443", tmp_path / "b")
    again = FolderMemory(tmp_path / "folders.json")
    assert again.get("http://127.0.0.1:8000") == tmp_path / "a"
    assert again.get("https://scoreganizer.net:443") == tmp_path / "b"
    assert again.get("http://elsewhere:1") is None
    (tmp_path / "folders.json").write_text("{garbled")
    assert again.get("http://127.0.0.1:8000") is None


# -- the layers ----------------------------------------------------------------------


def imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(absolute module, imported names) of every import in a package file."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts if parts[-1] == "__init__" else parts[:-1]
    package = [p for p in package if p != "__init__"]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            yield module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def test_the_app_imports_neither_the_command_nor_the_sandbox() -> None:
    """(Its use of the library's public names only: tests/cli/test_cli_layers.py.)"""
    for path in (PACKAGE / "app").rglob("*.py"):
        for module, _ in imports(path):
            inside = module.split(".")[1:] if module.startswith("scoreganizer_client_lib") else []
            assert inside[:1] not in (["cli"], ["sandbox"]), f"{path.name}: {module}"


def test_the_library_never_imports_the_app() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] in ("app", "cli"):
            continue
        for module, _ in imports(path):
            assert not module.startswith("scoreganizer_client_lib.app"), path


def test_importing_the_library_does_not_load_the_web_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, scoreganizer_client_lib, scoreganizer_client_lib.cli;"
        "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_demo_app_serves_the_demo_cup() -> None:
    import threading

    from scoreganizer_client_lib.cli.demo_app import run_demo

    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=run_demo,
        kwargs={"start_in": 0.2, "open_browser": False, "say": lines.append, "stop": stop},
    )
    thread.start()
    try:
        wait_for(lambda: any("Open http" in line for line in lines))
        url = next(line for line in lines if "Open http" in line).split("Open ", 1)[1]
        address, query = url.split("?", 1)
        name = address.removeprefix("http://").strip("/")
        listening = f"http://127.0.0.1:{name.rsplit(':', 1)[1]}/"
        with httpx.Client(follow_redirects=True, headers={"host": name}) as client:
            assert client.get(f"{listening}?{query}").status_code == 200  # let in
            page = client.get(listening).text
        assert "Signed in as <strong>alice</strong>" in page and "Demo Cup" in page
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()


def test_the_demo_rivals_games_all_count(caplog: pytest.LogCaptureFixture) -> None:
    """Each demo player plays boards of their own: no rival's game is refused
    as one another player uploaded already, and a refused game (the one
    without a key) does not end a player's opened."""
    from scoreganizer_client_lib.cli.demo_app import run_demo

    caplog.set_level(logging.INFO, logger="scoreganizer_client_lib.cli.demo_app")
    lines: list[str] = []
    stop = threading.Event()
    options = {"start_in": 0.1, "open_browser": False, "say": lines.append, "stop": stop}
    thread = threading.Thread(target=run_demo, kwargs={**options, "pause": 0.01})
    thread.start()
    try:
        wait_for(lambda: any(line.startswith("Sandbox at ") for line in lines))
        line = next(line for line in lines if line.startswith("Sandbox at "))
        url = line.removeprefix("Sandbox at ").split(";", 1)[0]

        def counted() -> dict[str, int]:
            body = httpx.get(f"{url}/sandbox/standings/1").json()
            return {row["player"]: row["games"] for row in body["standings"]}

        def refused() -> list[str]:
            return [r.getMessage() for r in caplog.records if "not uploaded" in r.getMessage()]

        # tkolar plays Beg, Int and then the game without a key; kharad Beg and Int
        wait_for(lambda: bool(refused()))
        wait_for(lambda: counted() == {"tkolar": 2, "kharad": 2, "alice": 0})
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    assert len(refused()) == 1 and "no tournament key" in refused()[0]


def test_a_folder_picked_early_is_watched_from_the_key_on(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    logged_in(world, browser)
    cup = world.tournament(start="-1m", end="+2h", mode="sum_timelimit", modeparams="1+0+0;600")
    browser.post(f"/t/{cup}/join", follow_redirects=True)
    page = browser.post(f"/t/{cup}/watch", data={"folder": str(tmp_path)}, follow_redirects=True)
    assert "as soon as you have your key" in page.text and ">Stop watching</button>" in page.text
    opened = world.app.session.opened[cup]
    assert not opened.watching
    browser.post(f"/t/{cup}/key")
    wait_for(lambda: opened.watching)
    assert opened.key is not None
    (tmp_path / "game.rmv").write_bytes(
        write_rmv(seed=fresh_seed(), key=opened.key, boardgen_time=datetime.now(timezone.utc))
    )
    wait_for(lambda: any(e.verdict == "accepted" for e in opened.feed.entries))
    assert world.app.session.folders.get(world.app.settings.server) == tmp_path.resolve()
    browser.post(f"/t/{cup}/unwatch")
    assert not opened.watching and opened.folder is None


def sync_clients() -> int:
    """The sync clients alive in this process (each its own HTTP stack)."""
    gc.collect()
    return sum(isinstance(o, Scoreganizer) for o in gc.get_objects())


def watch_and_upload(browser: Browser, opened: OpenTournament, folder: Path) -> None:
    """Watch ``folder`` for ``opened`` and see a replay saved there accepted."""
    folder.mkdir()
    browser.post(f"/t/{opened.id}/watch", data={"folder": str(folder)})
    wait_for(lambda: opened.watching)
    assert opened.key is not None
    game = write_rmv(seed=fresh_seed(), key=opened.key, boardgen_time=datetime.now(timezone.utc))
    (folder / "game.rmv").write_bytes(game)
    wait_for(lambda: any(e.verdict == "accepted" for e in opened.feed.entries))


def test_watched_folders_upload_with_the_app_s_own_client(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    """Two folders watched, each replay uploaded, and no second HTTP stack:
    the watchers send through the app's async client, on its event loop."""
    first, opened = joined_with_key(world, browser)
    second = world.tournament(start="-1m", end="+2h")
    browser.post(f"/t/{second}/join", follow_redirects=True)
    also = world.app.session.opened[second]
    wait_for(lambda: also.key is not None)
    before = sync_clients()
    watch_and_upload(browser, opened, tmp_path / "first")
    watch_and_upload(browser, also, tmp_path / "second")
    assert sync_clients() == before
    for cup in (first, second):
        browser.post(f"/t/{cup}/unwatch")


def test_a_folder_another_watcher_holds_is_refused_in_words(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    from scoreganizer_client_lib.watching import FolderWatcher

    name = logged_in(world, browser)
    cup = world.tournament(start="-1m", end="+2h")
    browser.post(f"/t/{cup}/join", follow_redirects=True)
    opened = world.app.session.opened[cup]
    wait_for(lambda: opened.key is not None)
    command = Scoreganizer.from_url(world.sandbox.url)
    command.login(name, PASSWORD)
    other = FolderWatcher(
        command,
        tmp_path,
        command.tournaments.get(cup),
        state_dir=world.app.settings.watch_dir,
        holder="scoreganizer watch",
    )
    with other:  # holds the folder's lock, as `scoreganizer watch` would
        page = browser.post(
            f"/t/{cup}/watch", data={"folder": str(tmp_path)}, follow_redirects=True
        )
    problem = re.search(r'<p class="problem" role="alert">(.*?)</p>', page.text)
    assert problem is not None and "is already being watched by" in problem.group(1)
    assert "scoreganizer watch" in problem.group(1)
    assert not opened.watching


def test_a_server_without_standings_gets_a_link_and_is_not_asked_again(tmp_path: Path) -> None:
    from fake_server import FakeServer, answer
    from scoreganizer_client_lib.app.session import Session

    server = FakeServer("https://scoreganizer.net:443")
    server.on("GET", "tournaments/active", answer(json=[TOURNAMENT_35]))
    server.on("GET", "/sandbox/standings/35", answer(404, body=b"<html>Not Found</html>"))

    async def twice() -> list[str]:
        settings = Settings(server.origin, tmp_path / "c.txt", tmp_path / "app")
        session = Session(settings, transport=server.transport())
        await session.start()
        shown = []
        for _ in range(2):
            opened = await session.open(35)
            assert opened is not None
            await opened.results.first()
            shown.append(f"{opened.results.offered} {opened.results.elsewhere}")
        await session.close()
        return shown

    assert asyncio.run(twice()) == ["False https://scoreganizer.net:443/tournaments/35/"] * 2
    assert len(server.calls("GET", "/sandbox/standings/35")) == 1


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_the_command_prints_the_address_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    app = start_app_command(tmp_path, "http://127.0.0.1:9", "--no-browser")
    try:
        assert app.lines[0].strip() == "Scoreganizer app for http://127.0.0.1:9"
        opened = app.lines[1].strip()
        assert re.fullmatch(
            r"Open http://app-[0-9a-f]{16}\.localhost:\d+/\?secret=[\w-]{43}", opened
        )
        with app.client() as client:  # serving already: the guard answers
            assert client.get("/").status_code == 403
    finally:
        err = app.stop()
    assert app.process.returncode == 130 and err.strip().endswith("stopped"), err


@pytest.mark.parametrize(
    ("opens", "expected"),
    [(lambda url: True, True), (lambda url: False, False), ("raise", False)],
    ids=["opened", "no browser", "browser error"],
)
def test_a_browser_that_cannot_be_opened_is_not_an_error(
    monkeypatch: pytest.MonkeyPatch, opens: object, expected: bool
) -> None:
    import webbrowser

    from scoreganizer_client_lib.cli.app import open_browser

    def failing(url: str) -> bool:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "open", failing if opens == "raise" else opens)
    assert open_browser("http://127.0.0.1:1/?secret=x") is expected


def test_the_feed_holds_bounded_memory_for_any_number_of_pages() -> None:
    from scoreganizer_client_lib.app.feed import MAX_ENTRIES, MAX_LISTENERS, Feed, FeedEntry

    async def many() -> None:
        feed = Feed(asyncio.get_running_loop())
        pages = [feed.listen() for _ in range(MAX_LISTENERS + 5)]  # none of them reads
        for n in range(MAX_ENTRIES * 3):
            feed.record(FeedEntry(f"{n}.rmv", "accepted"))
        assert len(feed.entries) == MAX_ENTRIES
        assert len(feed.since(0, feed.id).entries) == MAX_ENTRIES  # all a late page is sent
        assert [page.is_set() for page in pages] == [True] * 5 + [False] * MAX_LISTENERS
        assert feed.listeners == MAX_LISTENERS

    asyncio.run(many())


def test_on_windows_the_apps_port_is_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows lets a second program bind a listening port (SO_REUSEADDR) and
    take its connections, the secret with them, unless it is exclusive."""
    import socket

    from scoreganizer_client_lib import _serving
    from scoreganizer_client_lib.app import server

    options: list[tuple[int, int, int]] = []

    class Recording(socket.socket):
        def setsockopt(self, *option: object) -> None:  # type: ignore[override]
            options.append(option)  # type: ignore[arg-type]

    monkeypatch.setattr(_serving, "EXCLUSIVE_PORT", True)
    monkeypatch.setattr(socket, "SO_EXCLUSIVEADDRUSE", -5, raising=False)
    monkeypatch.setattr(socket, "socket", Recording)
    server.listen(0).close()
    assert options == [(socket.SOL_SOCKET, -5, 1)]


def test_an_app_that_stops_ends_its_pages_live_updates(world: World) -> None:
    """An open page's event stream ends properly when the app stops (the
    page then says the app is gone), instead of the stop waiting for it and
    cutting it off."""
    cup = world.tournament(start="-1m", end="+2h")
    with AppServer(world.app.settings) as app, Browser(app) as client:
        logged_in(world, client)
        with client.stream("GET", f"/t/{cup}/events") as events:
            lines = events.iter_lines()
            assert next(lines) == "retry: 1000"
            app.stop()
            rest = list(lines)  # and no error: the stream ended whole
            assert rest[-1] == "" and all(line.startswith(("id:", "data:", "")) for line in rest)
