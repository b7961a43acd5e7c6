"""The player's app in a real headless Chromium (Debian's package) against a
real sandbox: a whole tournament as a player clicks through it, found on the
page by accessible role and name."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import re
import stat
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import pytest

from app_helpers import (
    Browser,
    World,
    chromium_path,
    launch_chromium,
    start_app_command,
    start_world,
)
from conftest import PASSWORD, Clock, wait_for
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.app import AppServer
from scoreganizer_client_lib.app.feed import MAX_LISTENERS, FeedEntry
from scoreganizer_client_lib.app.folders import shown
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import scenario

if chromium_path() is None and not os.environ.get("CI"):
    pytest.skip(
        "Debian's chromium-headless-shell is not installed (.ci/run installs it)",
        allow_module_level=True,
    )

from playwright.sync_api import Page, expect, sync_playwright

expect.set_options(timeout=15_000)  # assertions wait for events this long at most, under load

#: How long a test waits for a replay's verdict on the page after the file is
#: saved: a bound for a test that would hang, not a time to meet (how soon it
#: shows is measured by bench/bench_app.py: a median under a second).
SHOWN_WITHIN_MS = 15_000


class Alarm:
    """How the app waits here: as long as it asks, or until the test says
    that what it waits for has come (:meth:`ring`)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._rung = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._rung.wait(), seconds)
        self._rung.clear()  # one ring ends one wait (or the next one)

    def ring(self) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self._rung.set)


@pytest.fixture(scope="module")
def alarm() -> Alarm:
    return Alarm()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, alarm: Alarm) -> Iterator[World]:
    """The sandbox and the app, for a player whose home folder holds
    Minesweeper Arbiter's replay folder (the app suggests it)."""
    tmp = tmp_path_factory.mktemp("browser")
    (tmp / "home" / "Desktop" / "Minesweeper Arbiter" / "Videos").mkdir(parents=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(tmp / "home"))
        patch.setenv("USERPROFILE", str(tmp / "home"))
        for world in start_world(tmp, Clock(), served=True, sleep=alarm):
            alarm.loop = world.app.session.loop
            yield world


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_playwright() as playwright:
        browser: Any = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Page]:
    context = chromium.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(15_000)  # a bound on waits for events, generous under load
    yield page
    context.close()


def let_in(page: Page, app: AppServer) -> None:
    """Open the app's address with its secret, and wait until the app's
    page that takes it has moved on (without the secret)."""
    page.goto(app.open_url)
    page.wait_for_url(lambda url: "secret=" not in url)


def drop_file(page: Page, name: str, content: bytes) -> None:
    """Drop a file on the page the way a file manager does."""
    page.evaluate(
        """([name, bytes]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name));
            const zone = document.getElementById("drop");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
        }""",
        [name, list(content)],
    )


def test_a_whole_tournament_in_the_browser(world: World, alarm: Alarm, page: Page) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    cup = world.tournament(name="Browser Cup", start="+1h", end="+2h")
    invitation = world.tournament(name="Invitation Cup", start="+1h", end="+2h", closed=True)
    scenario.invite(world.sandbox.store, invitation, alice)

    page.clock.install()  # the page's time runs, and the test moves it on
    page.goto(world.app.open_url)
    expect(page).to_have_url(world.app.url + "login")  # the secret left the address
    page.get_by_role("textbox", name="Username").fill(alice)
    page.get_by_role("textbox", name="Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.keyboard.press("Enter")  # the keyboard does it all

    invited = page.get_by_role("listitem").filter(has_text="Invitation Cup")
    expect(invited.get_by_role("button", name="Confirm invitation")).to_be_visible()

    card = page.get_by_role("listitem").filter(has_text="Browser Cup")
    expect(card).to_contain_text(re.compile(r"Starts in (1:00:00|0:59:\d\d)"))
    world.start_in(cup, 60.0)
    card.get_by_role("button", name="Join").click()
    expect(page.get_by_role("heading", name="Browser Cup")).to_be_visible()
    expect(page.get_by_text("Your key appears here by itself")).to_be_visible()

    world.start_in(cup, 0.0)  # a minute later the tournament starts: on the server,
    page.clock.fast_forward("01:00")  # on the page's clock,
    alarm.ring()  # and for the app, which waits for it
    clones = page.get_by_role("list", name="Where your key goes")  # when the tournament starts
    expect(clones).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Ends in")).to_be_visible()  # the countdown went on by itself
    key = world.app.session.opened[cup].key
    assert key is not None
    for clone, field, copied in (  # one button per clone, each copying what its field takes
        ("ViennaSweeper", "Nickname", key),
        ("Minesweeper Arbiter", "Name", f"{alice}#{key}"),
        ("Metasweeper", "Player identifier", f"{alice}#{key}"),
    ):
        line = clones.get_by_role("listitem").filter(has_text=clone)
        expect(line).to_contain_text(field)
        line.get_by_role("button", name=f"Copy for {clone}").click()
        expect(line.get_by_role("status")).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == copied
        page.clock.fast_forward("00:03")  # and "Copied" fades away
        expect(line.get_by_role("status")).to_have_text("")

    rival = Scoreganizer.from_url(world.sandbox.url)
    rival.login(bob, PASSWORD)
    rival.tournaments.participate(cup)
    bob_key = rival.tournaments.gen_key(cup)
    folder = world.home / "Desktop" / "Minesweeper Arbiter" / "Videos"
    # suggested (a button), yet the text box is a text box
    expect(page.get_by_role("button", name=re.compile("^Minesweeper Arbiter"))).to_be_visible()
    page.get_by_role("textbox", name="Replay folder").fill(str(folder))
    page.get_by_role("button", name="Watch folder").click()
    expect(page.get_by_role("button", name="Stop watching")).to_be_visible()
    expect(page.get_by_text("every replay saved there is uploaded")).to_be_visible()

    now = datetime.now(timezone.utc)
    uploads = page.get_by_role("region", name="Uploads").get_by_role(
        "list", name="Uploaded replays"
    )
    games = [
        ("good.avf", write_rmv(key=key, boardgen_time=now), "Accepted", "beginner"),
        ("nokey.rmv", write_rmv(seed=1, boardgen_time=now), "Refused", "no tournament key"),
        (
            "bobs.rmv",
            write_rmv(seed=2, key=bob_key, boardgen_time=now),
            "Refused",
            "another player",
        ),
    ]
    for name, content, verdict, words in games:  # saved as a clone saves a game
        (folder / name).write_bytes(content)
        entry = uploads.get_by_role("listitem").filter(has_text=name)
        expect(entry).to_contain_text(verdict, timeout=SHOWN_WITHIN_MS)
        expect(entry).to_contain_text(words)
    expect(page.get_by_role("table")).to_contain_text(alice)

    drop_file(
        page, "dropped.rmv", write_rmv(seed=3, level="intermediate", key=key, boardgen_time=now)
    )
    dropped = uploads.get_by_role("listitem").filter(has_text="dropped.rmv")
    expect(dropped).to_contain_text("Accepted")
    expect(dropped).to_contain_text("intermediate")
    drop_file(page, "notes.txt", b"my best games")
    expect(uploads.get_by_role("listitem").filter(has_text="notes.txt")).to_contain_text(
        "Not a replay file"
    )
    dropped_facts = dropped.locator(".facts")
    expect(dropped_facts).to_contain_text("dropped on the page")
    page.locator("#files").set_input_files(  # "choose files"
        files=[
            {
                "name": "picked.rmv",
                "mimeType": "application/octet-stream",
                "buffer": write_rmv(seed=4, level="expert", key=key, boardgen_time=now),
            }
        ]
    )
    picked = uploads.get_by_role("listitem").filter(has_text="picked.rmv")
    expect(picked).to_contain_text("Accepted")
    expect(picked.locator(".facts")).to_contain_text("chosen from your files")
    expect(picked.locator(".facts")).not_to_contain_text("dropped")
    summary = page.locator("#summary")
    expect(summary).to_contain_text("3 accepted")  # good.avf, dropped.rmv, picked.rmv
    expect(summary).to_contain_text("3 refused")

    page.reload()  # the feed is still there
    expect(uploads.get_by_role("listitem")).to_have_count(6)
    expect(uploads.get_by_role("listitem").first).to_contain_text("picked.rmv")
    page.get_by_role("button", name="Stop watching").click()
    expect(page.get_by_role("button", name="Watch folder")).to_be_visible()
    expect(page.get_by_role("textbox", name="Replay folder")).to_have_value(shown(folder))

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_what_the_player_types_survives_a_live_update(world: World, page: Page) -> None:
    name = world.user("typist")
    cup = world.tournament(name="Typing Cup", start="+1h", end="+2h")
    with Browser(world.app) as client:  # the same player, logged in by the command
        client.login(name)
        client.post(f"/t/{cup}/join")
    let_in(page, world.app)
    page.goto(f"{world.app.url}t/{cup}")
    box = page.get_by_role("textbox", name="Replay folder")
    box.fill("C:\\Users\\me\\Vid")
    box.evaluate("input => { input.dataset.before = 'yes'; }")
    opened = world.app.session.opened[cup]
    assert opened.feed.loop is not None
    opened.feed.loop.call_soon_threadsafe(opened.feed.touch, "watch")  # drawn again
    expect(page.locator("#folder:not([data-before])")).to_be_attached()
    expect(box).to_have_value("C:\\Users\\me\\Vid")
    expect(box).to_be_focused()


def test_a_page_that_loses_the_app_says_so(world: World, page: Page) -> None:
    name = world.user("leaver")
    cup = world.tournament(name="Leaving Cup", start="-1m", end="+2h")
    with Browser(world.app) as client:
        client.login(name)
        client.post(f"/t/{cup}/join")
    with AppServer(world.app.settings) as second:  # another run of the app
        let_in(page, second)
        page.goto(f"{second.url}t/{cup}")
        expect(page.get_by_role("heading", name="Leaving Cup")).to_be_visible()
        expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.get_by_role("alert")).to_contain_text("app")  # stopped: the page says so


class Listener(http.server.BaseHTTPRequestHandler):
    """Another program on this computer's loopback interface (another user's,
    say): it keeps the cookies browsers send it."""

    cookies: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.cookies.append(self.headers.get("cookie", ""))
        body = b"<!doctype html><title>elsewhere</title><p>elsewhere</p>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_apps_cookie_goes_to_no_other_local_port(world: World, page: Page) -> None:
    """Browsers keep cookies per host name, whatever the port: the app's
    cookie must not reach a server on another port of 127.0.0.1 or localhost."""
    with Browser(world.app) as client:  # logged in, so that the app shows its list
        client.login(world.user("neighbour"))
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(world.app.open_url)
        expect(page).to_have_url(world.app.url)  # let in: the cookie is set
        expect(page.get_by_role("heading", name="Not allowed")).to_be_hidden()
        assert re.fullmatch(r"app-[0-9a-f]{16}\.localhost", world.app.host_name)
        for host in ("127.0.0.1", "localhost"):
            page.goto(f"http://{host}:{other.server_address[1]}/")
            expect(page.get_by_text("elsewhere")).to_be_visible()
        page.goto(world.app.url)
        expect(page.get_by_role("heading", name="Tournaments")).to_be_visible()  # still let in
    finally:
        other.shutdown()
        other.server_close()
    assert len(Listener.cookies) == 2
    assert not any(world.app.secret in cookie for cookie in Listener.cookies)


BROWSER_SCRIPT = """#!{python}
import json, sys
with open({record!r}, "a") as out:
    out.write(json.dumps(sys.argv) + "\\n")
"""


@pytest.mark.skipif(os.name == "nt", reason="the opener is a script run by its #! line")
def test_no_secret_is_on_the_command_line_of_what_the_app_starts(
    world: World, page: Page, tmp_path: Path
) -> None:
    """``scoreganizer app`` starts the browser on a private launch file: the
    browser's command line (which every user can read) holds neither the
    secret nor the run's host name, and the file lets a real browser in."""
    record = tmp_path / "argv.jsonl"
    opener = tmp_path / "browser"
    opener.write_text(BROWSER_SCRIPT.format(python=sys.executable, record=str(record)))
    opener.chmod(0o700)
    app = start_app_command(tmp_path / "config", world.sandbox.url, env={"BROWSER": str(opener)})
    try:
        name = app.authority.rsplit(":", 1)[0]
        wait_for(lambda: record.exists() and record.read_text().endswith("\n"))
        argv = json.loads(record.read_text().splitlines()[0])
        assert not any(app.secret in arg or name in arg for arg in argv), argv
        launch = Path(urllib.request.url2pathname(argv[-1].removeprefix("file://")))
        assert launch.is_file() and app.secret in launch.read_text()
        assert stat.S_IMODE(launch.stat().st_mode) == 0o600
        page.goto(argv[-1])
        expect(page).to_have_url(f"http://{app.authority}/login")
        expect(page.get_by_role("button", name="Log in")).to_be_visible()  # let in
    finally:
        app.stop()
    assert not launch.exists()  # gone with the app


def test_the_key_reaches_the_page_after_join_every_time(world: World, page: Page) -> None:
    """*Join* on a running tournament: the key is there by itself, whether
    it arrives before the page is drawn, before its live stream connects, or
    after (the page stayed on "Getting your key…" in 3 runs of 5)."""
    with Browser(world.app) as client:  # the player, logged in by the command
        client.login(world.user("joiner"))
    let_in(page, world.app)
    for run in range(5):
        cup = world.tournament(name=f"Running Cup {run}", start="-1m", end="+2h")
        page.goto(world.app.url)
        card = page.get_by_role("listitem").filter(has_text=f"Running Cup {run}")
        card.get_by_role("button", name="Join").click()
        expect(page.get_by_role("list", name="Where your key goes")).to_be_visible()
        key = world.app.session.opened[cup].key
        assert key is not None
        expect(page.locator("#key-text")).to_have_text(key)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_fits_a_phone(world: World, chromium: Any, scheme: str) -> None:
    """At 390 px: the header keeps each of its pieces on one line, the key
    and the clones' codes run the width of the card, nothing scrolls
    sideways."""
    name = world.user("phone")
    cup = world.tournament(name="Pocket Cup", start="-1m", end="+2h")
    with Browser(world.app) as client:
        client.login(name)
        client.post(f"/t/{cup}/join", follow_redirects=True)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
    try:
        phone = context.new_page()
        phone.set_default_timeout(15_000)
        let_in(phone, world.app)
        phone.goto(f"{world.app.url}t/{cup}")
        expect(phone.get_by_role("list", name="Where your key goes")).to_be_visible()

        def lines(locator: Any) -> float:
            box = locator.bounding_box()
            height = locator.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
            return float(box["height"]) / float(height)

        log_out = phone.get_by_role("button", name="Log out")
        assert lines(phone.locator(".brand")) < 1.5
        assert lines(phone.locator(".who strong")) < 1.5
        assert lines(log_out) < 2  # its padding, one line of text
        assert phone.locator(".who").bounding_box()["height"] < 50
        card = phone.locator("#key").bounding_box()
        for code in phone.locator(".clone-text").all():
            assert code.bounding_box()["width"] > card["width"] * 0.7
        assert phone.evaluate("document.scrollingElement.scrollWidth") <= 390
    finally:
        context.close()


def test_updates_made_while_the_page_is_cut_off_arrive_when_it_reconnects(
    world: World, page: Page
) -> None:
    """The page's stream is ended (more pages opened than are kept) in the
    same moment as five replays are recorded, so that it cannot carry them:
    the browser reconnects by itself, says which update it had last, and
    gets them then (no reload)."""
    cup = world.tournament(name="Flaky Cup", start="-1m", end="+2h")
    with Browser(world.app) as client:
        client.login(world.user("flaky"))
        client.post(f"/t/{cup}/join", follow_redirects=True)
    let_in(page, world.app)
    page.goto(f"{world.app.url}t/{cup}")
    feed = page.get_by_role("list", name="Uploaded replays")
    opened = world.app.session.opened[cup]
    loop = opened.feed.loop
    assert loop is not None
    opened.feed.record(FeedEntry("online.rmv", "accepted"))
    expect(feed.get_by_role("listitem")).to_have_count(1)
    page.evaluate("window.drawnOnce = true")  # gone if the page were loaded again

    async def cut_off() -> list[Any]:
        others = [opened.feed.listen() for _ in range(MAX_LISTENERS)]
        for n in range(5):
            opened.feed.record(FeedEntry(f"meanwhile{n}.rmv", "accepted"))
        return others

    others = asyncio.run_coroutine_threadsafe(cut_off(), loop).result(30)
    expect(feed.get_by_role("listitem")).to_have_count(6, timeout=15_000)
    expect(page.get_by_role("alert")).to_be_hidden()
    assert page.evaluate("window.drawnOnce") is True
    for listener in others:
        loop.call_soon_threadsafe(opened.feed.forget, listener)
