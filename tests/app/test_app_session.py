"""The app through a whole session, when things change under it: the server
goes away and comes back, the login changes in the command, the folder
disappears, the tournament or the player's time ends, a file cannot be
written. Every time the page says what happened."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from app_helpers import Browser, LocalApp, World, start_world
from conftest import PASSWORD, TEST_CONFIG, Clock, fresh_seed, port_for_later, wait_for
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.app import Settings
from scoreganizer_client_lib.app.folders import shown
from scoreganizer_client_lib.app.opened import OpenTournament
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # the watcher looks at its folder every 0.1 s (instead of every second)
    options = {"watch_options": {"status_every": 0.1}}
    yield from start_world(tmp_path_factory.mktemp("session"), Clock(), **options)


@pytest.fixture
def browser(world: World) -> Iterator[Browser]:
    with Browser(world.app) as client:
        yield client


def playing(
    world: World, browser: Browser, name: str | None = None, **cup: object
) -> tuple[str, int, OpenTournament]:
    """A player logged in (a new one, unless ``name``), in a running
    tournament, with their key."""
    if name is None:
        name = world.user()
        assert browser.login(name).status_code == 303
    cup.setdefault("start", "-1m")
    cup.setdefault("end", "+2h")
    tournament = world.tournament(**cup)
    browser.post(f"/t/{tournament}/join")
    browser.post(f"/t/{tournament}/key")
    opened = world.app.session.opened[tournament]
    wait_for(lambda: opened.key is not None)
    return name, tournament, opened


def save_game(folder: Path, name: str, key: str | None) -> None:
    """A replay saved as a clone saves it."""
    now = datetime.now(timezone.utc)
    (folder / name).write_bytes(write_rmv(seed=fresh_seed(), key=key, boardgen_time=now))


def verdict(opened: OpenTournament, name: str) -> str | None:
    found = [e.verdict for e in opened.feed.entries if e.file == name]
    return found[-1] if found else None


def watch_section(browser: Browser, tournament: int) -> str:
    page = browser.get(f"/t/{tournament}").text
    start = page.index('id="watch"')
    return page[start : page.index("</section>", start)]


# -- the replay folder typed in ----------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("a" * 300, "Type the folder&#39;s whole path"),
        ("/" + "a" * 300, "is not a folder this computer can open."),
        ("~nosuchuser12345/Videos", "is not a folder this computer can open."),
        ("/tmp/x\x00y", "is not a folder this computer can open."),
        ("Videos", "Type the folder&#39;s whole path"),
        ("\\\\\\", "Type the folder&#39;s whole path"),
    ],
    ids=["long name", "long path", "unknown user", "NUL", "relative", "backslashes"],
)
def test_any_folder_typed_in_gets_an_answer_in_words(
    world: World, browser: Browser, typed: str, says: str
) -> None:
    _, cup, opened = playing(world, browser)
    answer = browser.post(f"/t/{cup}/watch", data={"folder": typed}, follow_redirects=True)
    assert answer.status_code == 200
    assert says in answer.text
    assert opened.folder is None and not opened.watching


def test_a_file_is_not_a_folder(world: World, browser: Browser, tmp_path: Path) -> None:
    _, cup, _ = playing(world, browser)
    (tmp_path / "game.rmv").write_bytes(b"")
    answer = browser.post(
        f"/t/{cup}/watch", data={"folder": str(tmp_path / "game.rmv")}, follow_redirects=True
    )
    assert "is a file; type the folder it is in." in answer.text


def test_folders_show_home_as_a_tilde_except_on_windows(tmp_path: Path) -> None:
    home = tmp_path / "home" / "ralokt"
    videos = home / "Desktop" / "Minesweeper Arbiter" / "Videos"
    assert shown(videos, home, windows=False) == "~/Desktop/Minesweeper Arbiter/Videos"
    assert shown(home, home, windows=False) == "~"
    assert shown(tmp_path, home, windows=False) == str(tmp_path)
    assert shown(videos, home, windows=True) == str(videos)


def test_a_folder_under_home_can_be_typed_with_a_tilde(
    world: World, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "Videos").mkdir()
    _, cup, opened = playing(world, browser)
    browser.post(f"/t/{cup}/watch", data={"folder": "~/Videos"})
    assert opened.folder == tmp_path / "Videos" and opened.watching
    assert "Watching <code>~/Videos</code>" in watch_section(browser, cup)
    browser.post(f"/t/{cup}/unwatch")


def test_state_that_cannot_be_written_is_said_on_the_page(world: World, tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the state folder should be")
    settings = Settings(
        world.sandbox.url, tmp_path / "c.txt", tmp_path / "app", watch_state=tmp_path / "state"
    )
    folder = tmp_path / "Videos"
    folder.mkdir()
    with LocalApp(settings) as app, Browser(app) as browser:
        _, cup, opened = playing(World(world.sandbox, app, world.clock, tmp_path), browser)
        answer = browser.post(f"/t/{cup}/watch", data={"folder": str(folder)})
        assert answer.status_code == 303
        section = watch_section(browser, cup)
    assert f"Cannot keep track of the uploads in {tmp_path / 'state'}" in section
    assert not opened.watching


# -- while watching ----------------------------------------------------------------------


def test_a_folder_deleted_while_watched_is_said_and_found_again(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    _, cup, opened = playing(world, browser)
    folder = tmp_path / "Videos"
    folder.mkdir()
    browser.post(f"/t/{cup}/watch", data={"folder": str(folder)})
    shutil.rmtree(folder)
    # what the page says until then (its notes on how it watches) may come first
    wait_for(lambda: f"The folder {folder} is gone" in watch_section(browser, cup))
    folder.mkdir()
    wait_for(lambda: opened.watch_note is None)
    assert opened.watching
    browser.post(f"/t/{cup}/unwatch")


def test_a_watch_that_ends_by_itself_says_why(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    """The tournament ends, or the player's own time runs out, while the
    folder is watched: the page says so and offers no watching any more."""
    name, timed, timed_play = playing(world, browser, mode="sum_timelimit", modeparams="1+0+0;60")
    _, ending, ending_play = playing(world, browser, name)
    with world.sandbox.store.transaction() as conn:  # ends in a minute
        conn.execute("UPDATE tournaments SET end = ? WHERE id = ?", (world.clock() + 60, ending))
    browser.get(f"/t/{ending}")
    for cup in (ending, timed):
        (tmp_path / str(cup)).mkdir()
        browser.post(f"/t/{cup}/watch", data={"folder": str(tmp_path / str(cup))})
    world.player_clock.offset = 61  # a minute passes for the player
    try:
        wait_for(lambda: ending_play.stopped is not None and timed_play.stopped is not None)
        ended, expired = watch_section(browser, ending), watch_section(browser, timed)
    finally:
        world.player_clock.offset = 0
    assert "Stopped watching" in ended and "The tournament has ended." in ended
    assert "Stopped watching" in expired and "Your playing time is over." in expired
    for section in (ended, expired):
        assert "Watch folder" not in section and "as soon as you have your key" not in section


def test_a_watcher_that_fails_says_so_and_can_start_again(
    world: World, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoreganizer_client_lib.watching import SystemClock

    _, cup, opened = playing(world, browser)

    class Broken(SystemClock):
        def sleep(self, seconds: float, wake: threading.Event) -> None:
            raise ZeroDivisionError("a bug")

    monkeypatch.setitem(world.app.session.watch_options, "clock", Broken())
    browser.post(f"/t/{cup}/watch", data={"folder": str(tmp_path)})
    wait_for(lambda: opened.stopped is not None)
    section = watch_section(browser, cup)
    assert "The folder watcher failed (ZeroDivisionError: a bug)." in section
    assert ">Watch folder</button>" in section  # once more, with the same folder
    monkeypatch.undo()
    browser.post(f"/t/{cup}/watch", data={"folder": str(tmp_path)})
    assert opened.watching and opened.stopped is None
    browser.post(f"/t/{cup}/unwatch")


# -- the login, shared with the command ------------------------------------------------------


def test_a_login_or_logout_in_the_command_shows_on_the_next_page(
    world: World, browser: Browser
) -> None:
    playing(world, browser)
    other = world.user("cmd")
    command = Scoreganizer.from_url(world.sandbox.url, auth_filename=world.app.settings.credentials)
    command.login(other, PASSWORD)
    assert f"Signed in as <strong>{other}</strong>" in browser.get("/").text
    assert world.app.session.opened == {}  # another player's tournaments start afresh
    command.logout()
    assert browser.get("/").headers["location"] == "/login"


def test_another_player_s_login_taken_up_by_a_call_in_the_background_still_shows(
    world: World, browser: Browser
) -> None:
    """The client follows the credentials file in any call (here: the app's
    own, from a task of its own) before a page asks; the page still knows
    that the tournaments it had open were another player's."""
    playing(world, browser)
    other = world.user("bg")
    command = Scoreganizer.from_url(world.sandbox.url, auth_filename=world.app.settings.credentials)
    command.login(other, PASSWORD)
    session = world.app.session
    assert session.loop is not None
    asyncio.run_coroutine_threadsafe(session.sc.tournaments.active(), session.loop).result(30)
    assert session.sc.username == other  # taken up already
    assert f"Signed in as <strong>{other}</strong>" in browser.get("/").text
    assert session.opened == {}


def test_a_token_refreshed_elsewhere_keeps_the_folder_watched(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    """A refresh replaces the token (the old one stops working): the app's
    watcher goes on with the new one, found in the credentials file."""
    _, cup, opened = playing(world, browser)
    browser.post(f"/t/{cup}/watch", data={"folder": str(tmp_path)})
    assert opened.watching
    command = Scoreganizer.from_url(world.sandbox.url, auth_filename=world.app.settings.credentials)
    world.clock.advance(TEST_CONFIG.refresh_cooldown + 1)
    try:
        command.refresh_login()
    finally:
        world.clock.advance(-TEST_CONFIG.refresh_cooldown - 1)
    save_game(tmp_path, "after the refresh.rmv", opened.key)
    wait_for(lambda: verdict(opened, "after the refresh.rmv") == "accepted")
    assert opened.watching and opened.stopped is None
    browser.post(f"/t/{cup}/unwatch")


def test_an_expired_login_stops_the_watch_until_the_player_logs_in_again(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    name, cup, opened = playing(world, browser)
    browser.post(f"/t/{cup}/watch", data={"folder": str(tmp_path)})
    world.clock.advance(TEST_CONFIG.token_expires_after + 1)
    try:
        save_game(tmp_path, "expired.rmv", opened.key)
        wait_for(lambda: opened.stopped is not None)
        assert opened.stopped == (
            "Not logged in (or the login expired). Log in again. Watching goes on when you do."
        )
        assert browser.get(f"/t/{cup}").headers["location"] == "/login?expired=1"
        browser.login(name)
    finally:
        world.clock.advance(-TEST_CONFIG.token_expires_after - 1)
    wait_for(lambda: verdict(opened, "expired.rmv") == "accepted")
    assert opened.watching and opened.stopped is None
    browser.post(f"/t/{cup}/unwatch")


def test_a_credentials_file_that_cannot_be_read_is_named(tmp_path: Path, world: World) -> None:
    (tmp_path / "c.txt").mkdir()
    settings = Settings(world.sandbox.url, tmp_path / "c.txt", tmp_path / "app")
    with LocalApp(settings) as app, Browser(app) as browser:
        page = browser.get("/")
        assert page.status_code == 502
        assert "Cannot use your saved login" in page.text
        assert f"{tmp_path / 'c.txt'} is a folder" in page.text


# -- the server goes away ------------------------------------------------------------------------


def test_the_server_restarting_mid_session_is_said_then_forgotten(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    port = port_for_later()  # nobody else's when the server comes back
    first = SandboxServer(db, port=port, config=TEST_CONFIG)
    first.start()
    scenario.add_user(first.store, "pat", PASSWORD)
    scenario.add_tournament(first.store, "Night Cup", "pat", start="+1h", end="+2h")
    settings = Settings(first.url, tmp_path / "c.txt", tmp_path / "app")
    with LocalApp(settings) as app, Browser(app) as browser:
        try:
            browser.login("pat")
            assert "Night Cup" in browser.get("/").text
        finally:
            first.stop()
        away = browser.get("/")
        assert away.status_code == 502 and "Cannot reach the server" in away.text
        assert 'href="/">Try again' in away.text
        with SandboxServer(db, port=port, config=TEST_CONFIG):
            back = browser.get("/")
    assert back.status_code == 200 and "Night Cup" in back.text  # still logged in


def test_an_unforeseen_failure_is_a_page_not_a_traceback(
    world: World, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    playing(world, browser)

    async def broken() -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(world.app.session, "tournaments", broken)
    page = browser.get("/")
    assert page.status_code == 500
    assert re.search(r"<h1>Something went wrong</h1>", page.text)
    assert "Traceback" not in page.text and "ZeroDivisionError" not in page.text


# -- what comes from the server and from replays is text, never markup -------------------------

MARKUP = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


def test_names_and_words_from_elsewhere_are_shown_as_text(world: World, browser: Browser) -> None:
    import json

    player = "<i>pat</i>"
    scenario.add_user(world.sandbox.store, player, PASSWORD)
    assert browser.login(player).status_code == 303
    cup = scenario.add_tournament(
        world.sandbox.store, MARKUP, world.user("host"), start="-1m", end="+2h", location=MARKUP
    )
    rival_name = "<b>rival</b>"
    scenario.add_user(world.sandbox.store, rival_name, PASSWORD)
    rival = Scoreganizer.from_url(world.sandbox.url)
    rival.login(rival_name, PASSWORD)
    rival.tournaments.participate(cup)
    rival_key = rival.tournaments.gen_key(cup)
    browser.post(f"/t/{cup}/join")
    browser.post(f"/t/{cup}/key")
    opened = world.app.session.opened[cup]
    wait_for(lambda: opened.key is not None)
    with browser.stream("GET", f"/t/{cup}/events") as events:
        lines = events.iter_lines()
        next(lines)  # the retry line
        answer = browser.post(
            f"/t/{cup}/upload",
            content=write_rmv(key=rival_key, boardgen_time=datetime.now(timezone.utc)),
            headers={"x-file-name": "%3Csvg%20onload%3Dalert(3)%3E.rmv"},
        )
        assert answer.json()["verdict"] == "refused"
        live = ""
        while "entry-" not in live:  # up to the catch-up that brings the refused file
            line = next(lines)
            if line.startswith("data:"):
                message = json.loads(line[5:])
                live += "".join(
                    p["id"] + p["html"] for p in message["sections"] + message["entries"]
                )
    for html in (browser.get("/").text, browser.get(f"/t/{cup}").text, live):
        assert "<img" not in html and "<script>alert" not in html and "<svg" not in html
        assert "<i>pat" not in html and "<b>rival" not in html
    page = browser.get(f"/t/{cup}").text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "&lt;i&gt;pat&lt;/i&gt;#" in page  # in the name to type into Arbiter


def test_a_login_that_cannot_be_saved_still_logs_in_and_says_so(
    world: World, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from scoreganizer_client_lib import authfile

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    name = world.user()
    monkeypatch.setattr(authfile, "atomic_write", disk_full)
    assert browser.login(name).status_code == 303
    page = browser.get("/").text
    assert f"Signed in as <strong>{name}</strong>" in page
    assert "No space left on device" in page and "does not see this login" in page
    again = browser.get("/").text  # said once; still logged in
    assert "No space left on device" not in again and f"<strong>{name}</strong>" in again
    monkeypatch.undo()


def test_a_watched_name_that_is_not_utf8_is_uploaded_and_shown(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    """The watcher's thread went on, and the page still renders, with the
    name's bytes shown as replacement characters."""
    if sys.platform in ("win32", "darwin"):
        pytest.skip("names here are always Unicode")
    _, cup, opened = playing(world, browser)
    browser.post(f"/t/{cup}/watch", data={"folder": str(tmp_path)})
    save_game(tmp_path, os.fsdecode(b"\xe9t\xe9\x1b[2J.rmv"), opened.key)
    wait_for(lambda: verdict(opened, "\ufffdt\ufffd\ufffd[2J.rmv") == "accepted")
    save_game(tmp_path, "after.rmv", opened.key)
    wait_for(lambda: verdict(opened, "after.rmv") == "accepted")
    page = browser.get(f"/t/{cup}")
    assert page.status_code == 200 and "\ufffdt\ufffd\ufffd[2J.rmv" in page.text
    browser.post(f"/t/{cup}/unwatch")


def test_logging_out_and_in_again_in_the_command_resumes_watching_and_the_feed(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    name, cup, opened = playing(world, browser)
    browser.post(f"/t/{cup}/watch", data={"folder": str(tmp_path)})
    save_game(tmp_path, "before.rmv", opened.key)
    wait_for(lambda: verdict(opened, "before.rmv") == "accepted")
    command = Scoreganizer.from_url(world.sandbox.url, auth_filename=world.app.settings.credentials)
    command.logout()
    assert browser.get("/").headers["location"] == "/login"
    assert not opened.watching  # nothing is sent while no one is logged in
    other = world.user("meanwhile")  # another player in between sees nothing of it
    command.login(other, PASSWORD)
    assert "before.rmv" not in browser.get(f"/t/{cup}").text
    command.login(name, PASSWORD)
    page = browser.get(f"/t/{cup}").text
    assert "before.rmv" in page and "Stop watching" in page
    assert world.app.session.opened[cup] is opened and opened.watching
    save_game(tmp_path, "after.rmv", opened.key)
    wait_for(lambda: verdict(opened, "after.rmv") == "accepted")
    browser.post(f"/t/{cup}/unwatch")


def test_one_folder_for_two_tournaments_sends_each_replay_where_its_key_says(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    name, first_cup, first = playing(world, browser)
    _, second_cup, second = playing(world, browser, name)
    for cup in (first_cup, second_cup):  # one folder, the app's one watcher
        browser.post(f"/t/{cup}/watch", data={"folder": str(tmp_path)})
        assert "already being watched" not in watch_section(browser, cup)
    assert first.watching and second.watching
    save_game(tmp_path, "first.rmv", first.key)
    save_game(tmp_path, "second.rmv", second.key)
    wait_for(lambda: verdict(first, "first.rmv") == verdict(second, "second.rmv") == "accepted")
    assert verdict(first, "second.rmv") is None and verdict(second, "first.rmv") is None
    for cup, other in ((first_cup, "second.rmv"), (second_cup, "first.rmv")):
        assert other not in browser.get(f"/t/{cup}").text  # never listed, in red or otherwise
    browser.post(f"/t/{first_cup}/unwatch")  # the second tournament's watching goes on
    assert second.watching and not first.watching
    save_game(tmp_path, "second again.rmv", second.key)
    wait_for(lambda: verdict(second, "second again.rmv") == "accepted")
    assert verdict(second, "first.rmv") in (None, "elsewhere")  # not in red
    assert 'class="entry refused"' not in browser.get(f"/t/{second_cup}").text
    browser.post(f"/t/{second_cup}/unwatch")
