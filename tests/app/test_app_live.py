"""What an open tournament page shows, kept up by its live stream, against a
real sandbox over real HTTP: no update is lost whatever the timing (while
the page is drawn, connects or reconnects), the standings follow the server
and say how old they are when it is away, a finished tournament shows its
results first, and the feed sums itself up."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from app_helpers import Browser, LocalApp, World, start_world
from cases import RUNNING
from conftest import PASSWORD, TEST_CONFIG, Clock, fresh_seed, wait_for
from scoreganizer_client_lib import RetryPolicy, Scoreganizer
from scoreganizer_client_lib.app import Settings
from scoreganizer_client_lib.app.feed import FeedEntry
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario

#: Pages drawn, connected and reconnected while updates arrive.
RUNS = 40


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # the standings are read again every 0.05 s while a page is open
    yield from start_world(tmp_path_factory.mktemp("live"), Clock(), results_every=0.05)


@pytest.fixture
def browser(world: World) -> Iterator[Browser]:
    with Browser(world.app) as client:
        yield client


class Page:
    """A tournament page as a browser holds it: drawn from the page's HTML,
    then kept up by its live stream exactly as ``app.js`` applies it."""

    def __init__(self, browser: Browser, tournament: int) -> None:
        self.browser = browser
        text = browser.get(f"/t/{tournament}").text
        found = re.search(r'data-events="([^"]+)"', text)
        assert found is not None
        self.events = html.unescape(found[1])
        self.entries = dict(re.findall(r'<li id="(entry-\d+)"(.*?)</li>', text, re.S))
        self.sections = {
            name: section
            for name in ("key", "watch", "results", "summary")
            for section in re.findall(rf'id="{name}"[^>]*>(.*?)</(?:section|div)>', text, re.S)
        }
        self.last_event: str | None = None

    def apply(self, message: dict[str, object]) -> None:
        if message["reset"]:
            self.entries = {}
        for part in message["sections"]:  # type: ignore[attr-defined]
            self.sections[part["id"]] = part["html"]
        for part in message["entries"]:  # type: ignore[attr-defined]
            self.entries.pop(part["id"], None)
            self.entries[part["id"]] = part["html"]

    def listen(
        self,
        until: Callable[[Page], bool],
        hang_up_after: int | None = None,
        on_open: Callable[[], object] | None = None,
    ) -> None:
        """Follow the stream until ``until(page)``; with ``hang_up_after``,
        drop the connection after that many updates and reconnect, as a
        browser does (saying the last update it had). ``on_open`` is called
        once the first connection is open."""
        while not until(self):
            headers = {"last-event-id": self.last_event} if self.last_event else {}
            with self.browser.stream("GET", self.events, headers=headers) as stream:
                received = 0
                for line in stream.iter_lines():
                    if line.startswith("retry:") and on_open is not None:
                        on_open()
                        on_open = None
                    if line.startswith("id: "):
                        self.last_event = line[4:]
                    elif line.startswith("data: "):
                        self.apply(json.loads(line[6:]))
                        received += 1
                        if until(self) or received == hang_up_after:
                            break

    def files(self) -> set[str]:
        return {
            match
            for entry in self.entries.values()
            for match in re.findall(r'class="file">([^<]*)<', entry)
        }


def playing(world: World, browser: Browser, **cup: object) -> tuple[str, int]:
    name = world.user()
    assert browser.login(name).status_code == 303
    cup.setdefault("start", "-1m")
    cup.setdefault("end", "+2h")
    tournament = world.tournament(**cup)
    browser.post(f"/t/{tournament}/join", follow_redirects=True)
    opened = world.app.session.opened[tournament]
    wait_for(lambda: opened.key is not None)
    return name, tournament


def drop_a_game(world: World, browser: Browser, cup: int, level: str = "beginner") -> str:
    """A won game of ``level`` with the player's key, dropped on the page: its verdict."""
    key = world.app.session.opened[cup].key
    assert key is not None
    game = write_rmv(
        seed=fresh_seed(), level=level, key=key, boardgen_time=datetime.now(timezone.utc)
    )
    answer = browser.post(f"/t/{cup}/upload", content=game, headers={"x-file-name": "a.rmv"})
    return str(answer.json()["verdict"])


# -- no update is lost ------------------------------------------------------------------


def test_no_update_is_lost_while_the_page_is_drawn_connects_or_reconnects(
    world: World, browser: Browser
) -> None:
    """Updates come from another thread (as the folder watcher's do) at each
    moment of a page's life: before it is drawn, between drawing and
    connecting, while connected, and between a hang-up and the reconnection.
    Each run, the page ends with exactly the feed the app holds."""
    _, cup = playing(world, browser)
    opened = world.app.session.opened[cup]
    lost = 0
    for run in range(RUNS):
        burst = [f"run{run}-{n}.rmv" for n in range(8)]

        def all_there(page: Page, names: list[str] = burst) -> bool:
            return set(names) <= page.files()

        def watcher(names: list[str] = burst) -> None:
            for name in names:
                opened.feed.record(FeedEntry(name, "accepted"))

        thread = threading.Thread(target=watcher)
        if run % 4 == 0:
            thread.start()  # while the page is drawn
        page = Page(browser, cup)
        if run % 4 == 1:
            thread.start()  # drawn, not yet connected
        page.listen(
            all_there,
            hang_up_after=1 if run % 4 == 3 else None,  # and the page reconnects
            on_open=thread.start if run % 4 in (2, 3) else None,  # connected
        )
        thread.join()
        lost += len(set(burst) - page.files())
    assert lost == 0
    assert len(opened.feed.entries) == RUNS * 8


def test_the_key_reaches_a_page_that_connects_after_it_came(world: World, browser: Browser) -> None:
    """*Join* on a running tournament: the key arrives while the page is
    drawn or before it connects; the page still shows it, every run."""
    name = world.user()
    assert browser.login(name).status_code == 303
    shown = 0
    for _ in range(10):
        cup = world.tournament(start="-1m", end="+2h")
        browser.post(f"/t/{cup}/join")  # the key is asked for at once
        page = Page(browser, cup)
        key = world.app.session.opened[cup]
        page.listen(
            lambda p, opened=key: opened.key is not None and opened.key in p.sections["key"]
        )
        shown += 1
    assert shown == 10


def test_replays_saved_right_after_watch_folder_are_all_listed(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    _, cup = playing(world, browser)
    opened = world.app.session.opened[cup]
    assert opened.key is not None
    now = datetime.now(timezone.utc)
    browser.post(f"/t/{cup}/watch", data={"folder": str(tmp_path)})
    names = [f"game{n}.rmv" for n in range(4)]
    for name in names:  # saved before the page after "Watch folder" is even drawn
        (tmp_path / name).write_bytes(
            write_rmv(seed=fresh_seed(), key=opened.key, boardgen_time=now)
        )
    page = Page(browser, cup)
    page.listen(
        lambda p: p.files() >= set(names) and "4</strong> accepted" in p.sections["summary"]
    )
    browser.post(f"/t/{cup}/unwatch")


# -- the standings follow the server ----------------------------------------------------


def test_the_standings_follow_the_server_while_the_page_is_open(
    world: World, browser: Browser
) -> None:
    name, cup = playing(world, browser)
    assert drop_a_game(world, browser, cup, level="expert") == "accepted"
    page = Page(browser, cup)
    assert re.search(rf'<tr class="me"><td>1</td><td>{name}</td>', page.sections["results"])
    rival_name = world.user("rival")
    rival = Scoreganizer.from_url(world.sandbox.url)
    rival.login(rival_name, PASSWORD)
    rival.tournaments.participate(cup)
    rival_key = rival.tournaments.gen_key(cup)
    now = datetime.now(timezone.utc)  # the rival's games come after the rival's key
    for level in ("beginner", "intermediate"):  # two games that count rank above one
        replay = Path(world.home.parent) / f"{rival_name}-{level}.rmv"
        replay.write_bytes(
            write_rmv(seed=fresh_seed(), level=level, key=rival_key, boardgen_time=now)
        )
        rival.scores.upload_replay(replay, cup)
    page.listen(lambda p: f"<td>1</td><td>{rival_name}</td>" in p.sections["results"])
    assert re.search(rf'<tr class="me"><td>2</td><td>{name}</td>', page.sections["results"])


def test_standings_the_server_cannot_give_say_how_old_they_are(tmp_path: Path) -> None:
    sandbox = SandboxServer(tmp_path / "s.sqlite3", config=TEST_CONFIG)
    sandbox.start()
    scenario.add_user(sandbox.store, "pat", PASSWORD)
    cup = scenario.add_tournament(sandbox.store, "Away Cup", "pat", start="-1m", end="+1h")
    settings = Settings(sandbox.url, tmp_path / "c.txt", tmp_path / "app")
    app = LocalApp(settings, retry=RetryPolicy(attempts=1), results_every=0.05)
    with app, Browser(app) as browser:
        try:
            browser.login("pat")
            browser.post(f"/t/{cup}/join")
            page = Page(browser, cup)
            assert "<td>pat</td>" in page.sections["results"]
        finally:
            sandbox.stop()
        page.listen(lambda p: "cannot be reached" in p.sections["results"])
    results = page.sections["results"]
    assert re.search(r"these results are from \d\d:\d\d:\d\d, <time data-since=", results)
    assert "<td>pat</td>" in results  # what was last read, still shown


# -- a finished tournament ----------------------------------------------------------------


def test_a_finished_tournament_shows_its_results_first(world: World, browser: Browser) -> None:
    _, cup = playing(world, browser)
    other = world.tournament(start="-2h", end="-1h")  # finished, never joined
    world.player_clock.offset = 3 * 3600  # the first one is over too, for the player
    try:
        for tournament in (cup, other):
            page = browser.get(f"/t/{tournament}").text
            assert page.index('id="results"') < page.index("</main>")
            assert 'id="key"' not in page and 'id="drop"' not in page
            assert ">Join</button>" not in page and "Finished" in page
            assert page.index('<h2 id="results-h"') == page.index("<h2 ")
            assert ">Join</button>" not in browser.get("/").text
    finally:
        world.player_clock.offset = 0


def test_a_player_who_did_not_complete_a_finished_tournament_is_not_complete_not_yet(
    world: World, browser: Browser
) -> None:
    """A game short of the three levels: "not yet" while the tournament runs,
    "no" once it is over (it can no longer be completed)."""
    name, cup = playing(world, browser)
    assert drop_a_game(world, browser, cup) == "accepted"
    mine = rf'<tr class="me"><td>1</td><td>{name}</td>.*?<td>(\w[\w ]*)</td></tr>'
    running = re.search(mine, Page(browser, cup).sections["results"])
    assert running is not None and running[1] == "not yet"
    world.player_clock.offset = 3 * 3600  # over, for the player
    try:
        over = re.search(mine, browser.get(f"/t/{cup}").text)
        assert over is not None and over[1] == "no"
    finally:
        world.player_clock.offset = 0


def test_a_refusal_of_the_server_is_said_on_the_page_without_a_traceback(
    world: World, browser: Browser
) -> None:
    name = world.user()
    assert browser.login(name).status_code == 303
    over = world.tournament(start="-2h", end="-1h")
    window: list[logging.LogRecord] = []  # what the app's window would show
    handler = logging.Handler()
    handler.emit = window.append  # type: ignore[method-assign]
    loggers = [logging.getLogger(n) for n in ("uvicorn.error", "scoreganizer_client_lib")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        page = browser.post(f"/t/{over}/join", follow_redirects=True)
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    assert page.status_code == 200
    assert re.search(r'<p class="note" role="status">The tournament is over\.</p>', page.text)
    assert "Something went wrong" not in page.text
    assert [r.getMessage() for r in window if r.exc_info] == []


# -- the feed in words -------------------------------------------------------------------


def test_the_feed_sums_up_and_advises_once_per_kind_of_refusal(
    world: World, browser: Browser
) -> None:
    _, cup = playing(world, browser)
    opened = world.app.session.opened[cup]
    now = datetime.now(timezone.utc)
    games = [
        ("won.rmv", write_rmv(seed=fresh_seed(), key=opened.key, boardgen_time=now), "dropped"),
        ("a.rmv", write_rmv(seed=fresh_seed(), boardgen_time=now), "picked"),
        ("b.rmv", write_rmv(seed=fresh_seed(), boardgen_time=now), "dropped"),
        ("c.rmv", write_rmv(seed=fresh_seed(), boardgen_time=now), "dropped"),
    ]
    for name, content, source in games:
        browser.post(
            f"/t/{cup}/upload", content=content, headers={"x-file-name": name, "x-source": source}
        )
    page = browser.get(f"/t/{cup}").text
    summary = page[page.index('id="summary"') : page.index('id="feed"')]
    assert re.search(r"<strong>1</strong> accepted.*<strong>3</strong> refused", summary, re.S)
    advice = re.findall(r"<li><strong>(.*?)</strong>(.*?)</li>", summary)
    assert advice == [
        (
            "The replay carries no tournament key",
            " (3 replays): Put your key in the player"
            " name before the next game (ViennaSweeper: the nickname; Arbiter and Metasweeper:"
            " name#KEY).",
        )
    ]
    feed = page[page.index('id="feed"') :]
    assert feed.count("put your key in the player name") == 0  # not on every line
    assert "chosen from your files" in feed and feed.count("dropped on the page") == 3


# -- a folder typed wrong ---------------------------------------------------------------


def test_a_typo_in_the_folder_keeps_what_was_typed_and_the_error_goes_once_fixed(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    _, cup = playing(world, browser)
    typo = str(tmp_path / "Vidoes")
    page = browser.post(f"/t/{cup}/watch", data={"folder": typo}, follow_redirects=True).text
    assert f'value="{typo}"' in page and "There is no folder" in page
    again = browser.get(f"/t/{cup}").text  # a reload: the error is not news any more
    assert "There is no folder" not in again and f'value="{typo}"' not in again
    browser.post(f"/t/{cup}/watch", data={"folder": typo})
    fixed = browser.post(f"/t/{cup}/watch", data={"folder": str(tmp_path)}, follow_redirects=True)
    assert "There is no folder" not in fixed.text and "Stop watching" in fixed.text
    browser.post(f"/t/{cup}/unwatch")


def test_results_the_host_hides_are_said_to_be_hidden(world: World, browser: Browser) -> None:
    _, cup = playing(world, browser, hide_results=True)
    page = Page(browser, cup)
    assert "The host hides the results until the end." in page.sections["results"]


# -- a hostile server's standings ---------------------------------------------------------

HOSTILE_STANDINGS = {
    "Infinity": b'{"standings": [{"rank": Infinity, "player": "x", "total": 1, "games": 1}]}',
    "deep JSON": b"[" * 100_000,
}


@pytest.mark.parametrize("hostile", HOSTILE_STANDINGS, ids=list(HOSTILE_STANDINGS))
def test_standings_a_hostile_server_sends_are_said_not_crashed_on(
    tmp_path: Path, hostile: str
) -> None:
    from fake_server import FakeServer, answer

    server = FakeServer("https://scoreganizer.test:443")
    cup = {**RUNNING, "name": "Hostile Cup"}
    server.on("POST", "obtain_token", answer(json={"token": "t0k"}))
    server.on("GET", "token_status", answer(json={"status": "ok"}))
    server.on("GET", "tournaments/active", answer(json=[cup]))
    server.on("GET", "/sandbox/standings/35", answer(body=HOSTILE_STANDINGS[hostile]))
    settings = Settings(server.origin, tmp_path / "c.txt", tmp_path / "app")
    options = {"retry": RetryPolicy(attempts=1), "transport": server.transport()}
    with LocalApp(settings, **options) as app, Browser(app) as browser:
        browser.login("pat")
        page = browser.get("/t/35")
    assert page.status_code == 200
    assert "The server&#39;s answer was not standings" in page.text


def test_a_page_never_waits_for_a_slow_server_s_standings() -> None:
    """The first reading is waited for a little; a server slower than that
    (one that drips its answer) is read on in the background, and the page
    hears when the standings come."""
    from scoreganizer_client_lib.app.results import Results
    from scoreganizer_client_lib.standings import Standings
    from scoreganizer_client_lib.watching import SystemClock

    async def scenario() -> list[str]:
        answer = asyncio.Event()
        seen: list[str] = []

        async def slow() -> Standings:
            await answer.wait()
            return Standings(35, ())

        results = Results(slow, lambda: seen.append("changed"), SystemClock(), [True])
        await results.first(wait=0.01)  # a page drawn meanwhile says "Reading the results…"
        seen.append(f"drawn with {results.standings}")
        answer.set()
        await results.refresh()
        seen.append(f"then {results.standings}")
        return seen

    assert asyncio.run(scenario()) == [
        "drawn with None",
        "changed",
        "then Standings(tournament_id=35, rows=(), name=None, mode=None, modeparams=None)",
    ]
