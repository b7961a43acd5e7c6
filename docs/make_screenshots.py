"""Screenshots of the player's app, light and dark, for docs/app.md.

Starts a sandbox with a small scenario and the app in front of it, drives
Debian's headless Chromium through each page and saves PNGs next to this
script (``docs/screenshots/``), or in the folder given with ``--out``. Run
from the checkout after changing a page:

    python docs/make_screenshots.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from app_helpers import Browser, launch_chromium, start_world  # noqa: E402
from conftest import PASSWORD, Clock, wait_for  # noqa: E402
from scoreganizer_client_lib import Scoreganizer  # noqa: E402
from scoreganizer_client_lib.replays import inspect  # noqa: E402
from scoreganizer_client_lib.replays.testing import write_rmv  # noqa: E402
from scoreganizer_client_lib.sandbox import scenario  # noqa: E402

OUT = Path(__file__).parent / "screenshots"
VIEWPORT = {"width": 1000, "height": 760}
#: A phone held upright (the width of most phones' browsers, in CSS pixels).
PHONE = {"width": 390, "height": 844}


def shoot(page: Page, out: Path, name: str) -> None:
    page.wait_for_load_state("load")
    time.sleep(0.3)  # a countdown tick and the fonts
    target = out / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    print(target)


def player_home(tmp: Path) -> Path:
    """A player's home folder, as the app sees it: ViennaSweeper with the
    replays of games played last week, and Minesweeper Arbiter, both
    unpacked on the Desktop."""
    home = tmp / "home" / "ralokt"
    (home / "Desktop" / "Minesweeper Arbiter 0.52.3" / "Videos").mkdir(parents=True)
    replays = home / "Desktop" / "ViennaSweeper" / "replays"
    replays.mkdir(parents=True)
    last_week = time.time() - 7 * 86400
    for seed in range(12):
        old = replays / replay_name(write_rmv(seed=100 + seed))
        old.write_bytes(write_rmv(seed=100 + seed))
        os.utime(old, (last_week, last_week))
    return home


def replay_name(content: bytes) -> str:
    """A replay's file name, from its level and time (as clones name them)."""
    info = inspect(content)
    return f"{info.board.level[:3].title()}_{info.game_time:.3f}.rmv"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="the folder of the PNGs")
    out: Path = parser.parse_args(argv).out
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = player_home(Path(tmp))
        os.environ["HOME"] = os.environ["USERPROFILE"] = str(home)  # what the app suggests
        world_run = start_world(Path(tmp), Clock(), served=True)
        world = next(world_run)
        store = world.sandbox.store
        for name in ("ralokt", "tkolar", "kharad", "hostess"):
            scenario.add_user(store, name, PASSWORD)
        weekly = scenario.add_tournament(
            store, "Weekly Sprint", "hostess", start="-5m", end="+55m", location="online"
        )
        friday = scenario.add_tournament(
            store, "Friday Cup", "hostess", start="+2h", end="+4h", modeparams="3+2+1"
        )
        invitational = scenario.add_tournament(
            store,
            "Masters Invitational",
            "hostess",
            start="+24h",
            end="+26h",
            mode="sum_timelimit",
            modeparams="1+1+1;900",
            closed=True,
        )
        scenario.invite(store, invitational, "ralokt")
        monday = scenario.add_tournament(
            store, "Monday Sprint", "hostess", start="-2h", end="+1h", location="online"
        )
        players = (
            ("tkolar", weekly, (16, 17, 18)),
            ("kharad", weekly, (21, 22)),
            ("tkolar", monday, (31, 32, 33)),
            ("kharad", monday, (41, 42, 43)),
            ("ralokt", monday, (51, 52)),
        )
        for name, cup, seeds in players:
            sc = Scoreganizer.from_url(world.sandbox.url)
            sc.login(name, PASSWORD)
            sc.tournaments.participate(cup)
            key = sc.tournaments.gen_key(cup)
            now = datetime.now(timezone.utc)
            for seed, level in zip(seeds, ("beginner", "intermediate", "expert"), strict=False):
                path = Path(tmp) / f"{name}-{seed}.rmv"
                path.write_bytes(write_rmv(level=level, seed=seed, key=key, boardgen_time=now))
                sc.scores.upload_replay(path, cup)
        with store.transaction() as conn:  # Monday's sprint ended an hour ago
            conn.execute(
                "UPDATE tournaments SET end = ? WHERE id = ?", (time.time() - 3600, monday)
            )

        with sync_playwright() as playwright:
            chromium = launch_chromium(playwright)
            contexts = {
                scheme: chromium.new_context(
                    color_scheme=scheme, viewport=VIEWPORT, device_scale_factor=1
                )
                for scheme in ("light", "dark")
            }
            for scheme, context in contexts.items():  # before anyone logs in
                page = context.new_page()
                page.goto(world.app.open_url)
                page.wait_for_url(lambda url: "secret=" not in url)  # let in, moved on
                page.get_by_role("textbox", name="Username").fill("ralokt")
                page.get_by_role("textbox", name="Password").fill("not my password")
                page.get_by_role("button", name="Log in").click()
                page.get_by_role("alert").wait_for()
                shoot(page, out, f"login-{scheme}")

            # ralokt logs in, joins, and plays a little
            with Browser(world.app) as client:
                client.login("ralokt")
                client.post(f"/t/{weekly}/join", follow_redirects=True)
                client.post(f"/t/{friday}/join", follow_redirects=True)
                opened = world.app.session.opened[weekly]
                wait_for(lambda: opened.key is not None)
                key = opened.key
                assert key is not None
                now = datetime.now(timezone.utc)
                games = [  # (level, board, keyed): the last one dropped on the page
                    ("beginner", 1, True),
                    ("intermediate", 2, True),
                    ("beginner", 3, False),
                    ("expert", 4, True),
                    ("expert", 5, True),
                ]
                folder = home / "Desktop" / "ViennaSweeper" / "replays"
                client.post(f"/t/{weekly}/watch", data={"folder": str(folder)})
                wait_for(lambda: opened.watching)
                for n, (level, seed, keyed) in enumerate(games):
                    content = write_rmv(
                        level=level, seed=seed, key=key if keyed else None, boardgen_time=now
                    )
                    name = replay_name(content)
                    if n == len(games) - 1:
                        client.post(
                            f"/t/{weekly}/upload", content=content, headers={"x-file-name": name}
                        )
                    else:  # saved by the clone in the watched folder
                        (folder / name).write_bytes(content)
                        wait_for(lambda n=n: len(opened.feed.entries) > n)

            shots = {
                "tournaments": "/",
                "tournament-waiting": f"/t/{friday}",
                "tournament-playing": f"/t/{weekly}",
                "tournament-finished": f"/t/{monday}",
            }
            for scheme, context in contexts.items():
                page = context.pages[0]
                for name, path in shots.items():
                    page.goto(world.app.url.rstrip("/") + path)
                    shoot(page, out, f"{name}-{scheme}")
                context.close()
            for scheme in ("light", "dark"):  # the same player on a phone
                context = chromium.new_context(
                    color_scheme=scheme, viewport=PHONE, device_scale_factor=1
                )
                page = context.new_page()
                page.goto(world.app.open_url)
                page.wait_for_url(lambda url: "secret=" not in url)
                for name in ("tournaments", "tournament-playing", "tournament-finished"):
                    page.goto(world.app.url.rstrip("/") + shots[name])
                    shoot(page, out, f"{name}-phone-{scheme}")
                context.close()
            chromium.close()
        world_run.close()


if __name__ == "__main__":
    main()
