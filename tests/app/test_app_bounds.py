"""What the app does with what no page of its own sends and no honest server
answers: ids no server can hold, forms past their cap, a flood of large
dropped files, a list of 100,000 tournaments. Each is bounded, and says so."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app_helpers import Browser, World, resident_mib, start_app_command, start_world
from conftest import PASSWORD, Clock
from scoreganizer_client_lib.app.filters import SHOWN_CHARACTERS, SHOWN_TOURNAMENTS
from scoreganizer_client_lib.app.forms import MAX_FORM_BYTES
from scoreganizer_client_lib.app.state import UPLOADS_AT_ONCE
from scoreganizer_client_lib.replays import MAX_REPLAY_SIZE
from scoreganizer_client_lib.sandbox import scenario


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("bounds"), Clock())


@pytest.fixture
def browser(world: World) -> Iterator[Browser]:
    with Browser(world.app) as client:
        client.login(world.user())
        yield client


# -- ids -----------------------------------------------------------------------------

PAGES = ["", "/results", "/events"]
ACTIONS = ["/join", "/confirm", "/key", "/watch", "/unwatch", "/upload"]


@pytest.mark.parametrize("tid", ["9" * 37, "9" * 19, "1" + "0" * 18, "9" * 5000])
def test_an_id_no_server_can_hold_is_a_plain_404(browser: Browser, tid: str) -> None:
    for page in PAGES:
        answer = browser.get(f"/t/{tid}{page}")
        assert answer.status_code == 404, page
        assert "No such page" in answer.text and "Traceback" not in answer.text
    for action in ACTIONS:
        assert browser.post(f"/t/{tid}{action}", content=b"x").status_code == 404, action


def test_a_tournament_the_server_does_not_have_is_a_404(browser: Browser) -> None:
    answer = browser.get(f"/t/{'9' * 18}")
    assert answer.status_code == 404 and "No such tournament" in answer.text


# -- forms ---------------------------------------------------------------------------


def test_a_form_past_its_cap_is_refused_and_changes_nothing(world: World, browser: Browser) -> None:
    """The login form and the folder form (read by the page endpoint and by
    an action): 413, and the player stays logged in with no folder watched."""
    cup = world.tournament(start="-1m", end="+2h")
    browser.get(f"/t/{cup}")
    too_long = "x" * MAX_FORM_BYTES
    assert browser.post(f"/t/{cup}/watch", data={"folder": too_long}).status_code == 413
    login = browser.post("/login", data={"username": "someone", "password": too_long})
    assert login.status_code == 413
    page = browser.get(f"/t/{cup}")
    assert page.status_code == 200 and "Log out" in page.text
    assert world.app.session.opened[cup].folder is None


# -- a long list of tournaments -------------------------------------------------------


def test_a_long_list_of_tournaments_is_cut_and_says_so(world: World, browser: Browser) -> None:
    host = world.user("host")
    for number in range(SHOWN_TOURNAMENTS + 50):
        scenario.add_tournament(
            world.sandbox.store, f"Flood {number}", host, start="+1h", end="+2h"
        )
    mine = scenario.add_tournament(
        world.sandbox.store, "Mine, last of all", host, start="+9h", end="+10h"
    )
    browser.post(f"/t/{mine}/join")
    page = browser.get("/").text
    assert page.count('<li class="card tournament">') == SHOWN_TOURNAMENTS
    assert "Mine, last of all" in page  # the player's own, however late
    not_shown = re.search(r"(\d+) more tournaments on \S+ are not listed here", page)
    assert not_shown is not None and int(not_shown[1]) >= 51


def test_a_long_name_or_location_is_cut_on_every_page(world: World, browser: Browser) -> None:
    """A server may name a tournament with megabytes: each page shows at most
    SHOWN_CHARACTERS of its name and location, the cut marked."""
    host = world.user("host")
    long = "n" * 100_000
    cup = scenario.add_tournament(
        world.sandbox.store, long, host, start="-1h", end="+1h", location="l" * 100_000
    )
    browser.post(f"/t/{cup}/join")  # the player's own: listed whatever else there is
    for page in (browser.get("/").text, browser.get(f"/t/{cup}").text):
        for letter in "nl":
            assert letter * (SHOWN_CHARACTERS - 1) + "…" in page
            assert letter * SHOWN_CHARACTERS not in page
        assert len(page) < 1024 * 1024


# -- dropped files --------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_concurrent_large_drops_leave_no_memory_behind(world: World, tmp_path: Path) -> None:
    """30 files of the largest size a replay may have, dropped at once on
    ``scoreganizer app``: once answered, the app holds at most what the drops it
    reads at once may hold (each read and sent once: two copies of a body), and
    what its server read ahead of the drops waiting their turn, not a body per
    drop (it kept 16 MiB and more per drop: 480 MiB here). The allocator may keep
    the pages of what was held at once, so the bound is that, however many
    files were dropped."""
    cup = world.tournament(start="-1m", end="+2h")
    name = world.user("dropper")
    app = start_app_command(tmp_path, world.sandbox.url, "--no-browser")
    try:
        with app.client(timeout=60) as page:
            page.get("/", params={"secret": app.secret})
            page.post("/login", data={"username": name, "password": PASSWORD})
            page.post(f"/t/{cup}/join")
            body = b"\0" * MAX_REPLAY_SIZE

            def drop(number: int) -> int:
                headers = {"x-file-name": f"drop{number}.rmv"}
                return page.post(f"/t/{cup}/upload", content=body, headers=headers).status_code

            assert drop(0) == 200  # everything a drop needs is loaded now
            settled = resident_mib(app.process.pid)
            with ThreadPoolExecutor(30) as pool:
                assert set(pool.map(drop, range(1, 31))) == {200}
            # uvicorn stops reading a waiting drop's body past 64 KiB, one read
            # (asyncio's) being up to 256 KiB
            read_ahead = 30 * (64 + 256) * 1024
            in_flight = (UPLOADS_AT_ONCE * 2 * MAX_REPLAY_SIZE + read_ahead) / 2**20
            assert resident_mib(app.process.pid) < settled + in_flight
    finally:
        app.stop()
