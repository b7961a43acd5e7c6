"""The player's app: how fast a page loads, and how soon a saved replay's
verdict is on the page.

1. Page load on loopback, in Chromium: the tournament page (key, feed of
   20 entries, standings) from navigation to the ``load`` event, as a ratio
   against the same browser loading the app's stylesheet alone (a request
   that touches neither the Scoreganizer server nor a template), alternated.
   Also the server side: an HTTP GET of the page vs one ``tournaments.get``
   of the library against the same sandbox (the least the page must ask).
2. File saved in the watched folder -> "Accepted" shown on the open page,
   median over FILES files (default 20; 2 at the smallest size), next to file saved -> watcher's
   decision (the library's engine alone); the ratio is what the page adds.
   Target: median under one second.

Run: ``flock /tmp/bench.lock python bench/bench_app.py [FILES]``. Needs
Debian's chromium (``apt-get install chromium-headless-shell``).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from playwright.sync_api import sync_playwright  # noqa: E402

from _timing import ratio, report, size  # noqa: E402
from app_helpers import Browser, launch_chromium, start_world  # noqa: E402
from conftest import PASSWORD, Clock, wait_for  # noqa: E402
from scoreganizer_client_lib import Scoreganizer  # noqa: E402
from scoreganizer_client_lib.replays.testing import write_rmv  # noqa: E402


def main(files: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world_run = start_world(Path(tmp), Clock(), served=True)
        world = next(world_run)
        player = world.user("pat")
        cup = world.tournament(name="Bench Cup", start="-1m", end="+1h")
        with Browser(world.app) as client:
            client.login(player)
            client.post(f"/t/{cup}/join", follow_redirects=True)
            opened = world.app.session.opened[cup]
            wait_for(lambda: opened.key is not None)
            key = opened.key
            assert key is not None
            for n in range(size(20, 2)):  # a page with a full feed
                game = write_rmv(seed=100 + n, key=key, boardgen_time=datetime.now(timezone.utc))
                client.post(f"/t/{cup}/upload", content=game, headers={"x-file-name": f"{n}.rmv"})
            sc = Scoreganizer.from_url(world.sandbox.url)
            sc.login(player, PASSWORD)
            report(
                "GET tournament page vs tournaments.get",
                ratio(
                    lambda: client.get(f"/t/{cup}"), lambda: sc.tournaments.get(cup), size(10, 1)
                ),
                "reported",
            )

        folder = Path(tmp) / "replays"
        folder.mkdir()
        with sync_playwright() as playwright:
            chromium = launch_chromium(playwright)
            page = chromium.new_page()
            page.goto(world.app.open_url)
            page.wait_for_url(lambda url: "secret=" not in url)  # let in, the page moved on
            page_url = f"{world.app.url}t/{cup}"
            css_url = f"{world.app.url}static/app.css"
            report(
                "browser: tournament page load vs stylesheet",
                ratio(
                    lambda: page.goto(page_url, wait_until="load"),
                    lambda: page.goto(css_url, wait_until="load"),
                    size(5, 1),
                ),
                "reported",
            )
            page.goto(page_url)
            page.get_by_role("textbox", name="Replay folder").fill(str(folder))
            page.get_by_role("button", name="Watch folder").click()
            page.get_by_role("button", name="Stop watching").wait_for()
            shown, decided = [], []
            for n in range(files):
                name = f"game{n}.rmv"
                data = write_rmv(seed=n, key=key, boardgen_time=datetime.now(timezone.utc))
                saved = time.time()
                (folder / name).write_bytes(data)
                entry = page.locator(".entry.accepted", has_text=name)
                entry.wait_for(timeout=10_000)
                shown.append(time.time() - saved)
                found = next(e for e in opened.feed.entries if e.file == name)
                decided.append(found.at.timestamp() - saved)
                time.sleep(0.1)
            chromium.close()
        world_run.close()
    median_shown, median_decided = statistics.median(shown), statistics.median(decided)
    report(
        f"saved -> 'Accepted' on the page vs decided, {files} files",
        (median_shown / median_decided, median_shown, median_decided),
        f"median < 1000 ms (max {max(shown) * 1e3:.0f} ms)",
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else size(20, 2))
