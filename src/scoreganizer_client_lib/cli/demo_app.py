"""``demo --app``: the demo tournament, played in the browser.

A sandbox on a free port with a temporary database, a host, two rivals who
play by themselves, and you, logged in as ``alice`` in the app. Your replay
folder is made and filled in on the page; once you watch it, "your" games
land in it every few seconds (one without a key, to show a refusal), and the
standings move as the rivals play. Ctrl+C ends it and removes everything.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from ..app import AppServer, Settings
from ..app.folders import FolderMemory
from ..exceptions import ScoreganizerError
from ..replays.testing import write_rmv
from ..scoreganizer import Scoreganizer
from .app import open_app

GAMES = (  # (file name, level, keyed)
    ("Beg_1.rmv", "beginner", True),
    ("Int_1.rmv", "intermediate", True),
    ("forgot_the_key.rmv", "beginner", False),
    ("Exp_1.rmv", "expert", True),
)
PAUSE = 4.0  # seconds between two games of one player
log = logging.getLogger(__name__)
Save = Callable[[str, bytes], None]


class Players:
    """Players who play by themselves, each in a thread, until stopped."""

    def __init__(self, cup: int, stop: threading.Event, pause: float = PAUSE) -> None:
        self.cup = cup
        self.stop = stop
        self.pause = pause
        self.threads: list[threading.Thread] = []

    def add(self, sc: Scoreganizer, save: Save, games: int) -> None:
        """A player who saves ``games`` games with ``save`` once the key is there.
        Each player plays boards of their own: the sandbox refuses a game that
        another player uploaded already."""
        first_seed = len(self.threads) * len(GAMES)
        self.threads.append(
            threading.Thread(target=self._play, args=(sc, save, games, first_seed), daemon=True)
        )

    def _play(self, sc: Scoreganizer, save: Save, games: int, first_seed: int) -> None:
        try:
            key = sc.tournaments.wait_key(self.cup)
        except (ScoreganizerError, OSError) as exc:  # the demo goes on without this player
            log.warning("a demo player got no key: %s", exc)
            return
        for seed, (name, level, keyed) in enumerate(GAMES[:games], start=first_seed):
            if self.stop.wait(self.pause):
                return
            when = datetime.now(timezone.utc)
            replay = write_rmv(
                level=level, seed=seed, key=key if keyed else None, boardgen_time=when
            )
            try:
                save(name, replay)
            except (ScoreganizerError, OSError) as exc:  # as a player's refused game
                log.info("a demo game was not uploaded: %s", exc)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(5)


def run_demo(
    start_in: float = 3.0,
    *,
    port: int = 0,
    open_browser: bool = True,
    say: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    pause: float = PAUSE,
) -> None:
    """Run the demo until Ctrl+C (or until ``stop`` is set); each player
    plays a game every ``pause`` seconds."""
    from ..sandbox import SandboxServer, scenario

    stop = stop or threading.Event()
    with tempfile.TemporaryDirectory(prefix="scoreganizer-app-demo-") as tmp:
        root = Path(tmp)
        with SandboxServer(root / "sandbox.sqlite3") as sandbox:
            store = sandbox.store
            passwords = {
                name: secrets.token_urlsafe(8) for name in ("hostess", "alice", "tkolar", "kharad")
            }
            for name, password in passwords.items():
                scenario.add_user(store, name, password)
            cup = scenario.add_tournament(
                store, "Demo Cup", "hostess", start=f"+{start_in}s", end="+30m", location="sandbox"
            )
            scenario.add_tournament(store, "Next Week", "hostess", start="+7d", end="+8d")
            settings = Settings(sandbox.url, root / "credentials.txt", root / "app")
            folder = root / "replays"
            folder.mkdir()
            FolderMemory(settings.data_dir / "folders.json").set(settings.server, folder)

            players = Players(cup, stop, pause)
            alice = Scoreganizer.from_url(sandbox.url, auth_filename=settings.credentials)
            alice.login("alice", passwords["alice"])
            alice.tournaments.participate(cup)

            def save(name: str, data: bytes) -> None:  # as a clone saves a game
                (folder / name).write_bytes(data)

            players.add(alice, save, len(GAMES))
            for rival, games in (("tkolar", 3), ("kharad", 2)):
                sc = Scoreganizer.from_url(sandbox.url)
                sc.login(rival, passwords[rival])
                sc.tournaments.participate(cup)
                played = root / rival
                played.mkdir()

                def upload(
                    name: str, data: bytes, sc: Scoreganizer = sc, at: Path = played
                ) -> None:
                    (at / name).write_bytes(data)
                    sc.scores.upload_replay(at / name, cup)

                players.add(sc, upload, games)

            with AppServer(settings, port) as app:
                players.start()
                say(f"Sandbox at {sandbox.url}; you are alice, already logged in.")
                say(f"Demo Cup starts in {start_in:g} s. Open {app.open_url}")
                say(f"Click 'Watch folder' ({folder}): your games land there every {pause:g} s.")
                say("Ctrl+C ends the demo and removes everything.")
                if open_browser and not open_app(app):
                    say("No browser could be opened here: open the address above in yours.")
                try:
                    while not stop.wait(0.5):  # a plain wait() ignores Ctrl+C on Windows
                        pass
                except KeyboardInterrupt:
                    say("Stopped.")
                finally:
                    players.join()
