"""``demo``: a whole tournament, played as real clients would, against a
sandbox started for the occasion (temporary database, free loopback port)."""

from __future__ import annotations

import dataclasses
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from ..replays.formats import Level
from ..timetext import date_time, relative
from ._app import needs
from ._common import emit_json, table
from ._output import say as say_fitted
from ._settings import Settings

LEVELS = (Level.BEGINNER.value, Level.INTERMEDIATE.value, Level.EXPERT.value)


@click.command()
@click.option(
    "--start-in",
    type=click.FloatRange(0, 600),
    default=3.0,
    show_default=True,
    help="Seconds until the tournament starts.",
)
@click.option("--app", "in_app", is_flag=True, help="Play it yourself, in the browser app.")
@click.pass_obj
def demo(settings: Settings, start_in: float, in_app: bool) -> None:
    """Start a sandbox, create a host, two players and a tournament, then play:
    log in, list, join, wait for the start, get keys, upload keyed replays
    (one player with the sync client, one with the async client), show two
    refusals, and print the standings. Leaves nothing running.

    With --app, you play as alice in the browser app until Ctrl+C."""
    if in_app:
        needs("app")
        from .demo_app import run_demo

        run_demo(start_in, say=say_fitted)
        return
    from .. import replays
    from ..aio import AsyncScoreganizer
    from ..exceptions import ReplayHasNoKey, ScoreganizerError
    from ..refusals import explain_refusal
    from ..replays.testing import write_rmv
    from ..sandbox import SandboxServer, scenario
    from ..scoreganizer import Scoreganizer
    from .standings import standings_table
    from .tournaments import YOU

    quiet = settings.json
    started = time.monotonic()

    def say(text: str) -> None:
        for line in [] if quiet else text.splitlines():
            say_fitted(line)  # on a terminal, broken between words to fit it

    with tempfile.TemporaryDirectory(prefix="scoreganizer-demo-") as tmp:
        folder = Path(tmp)
        with SandboxServer(folder / "sandbox.sqlite3") as sandbox:
            store = sandbox.store
            say(f"1. Sandbox serving {sandbox.url}/api/ (database {folder / 'sandbox.sqlite3'})")
            passwords = {name: secrets.token_urlsafe(8) for name in ("hostess", "alice", "bob")}
            for name, password in passwords.items():
                scenario.add_user(store, name, password)
            cup = scenario.add_tournament(
                store,
                "Demo Cup",
                "hostess",
                start=f"+{start_in}s",
                end="+10m",
                modeparams="1+1+1",
                location="sandbox",
            )
            invitational = scenario.add_tournament(
                store, "Invitational", "hostess", start="+1h", end="+2h", closed=True
            )
            scenario.invite(store, invitational, "bob")
            say(
                f"2. Host 'hostess' created 'Demo Cup' (id {cup}, sum 1+1+1, starts in "
                f"{start_in:g} s) and the closed 'Invitational' (id {invitational}), inviting bob"
            )

            alice = Scoreganizer.from_url(sandbox.url, auth_filename=folder / "alice-auth.txt")
            alice.login("alice", passwords["alice"])
            say(f"3. alice logged in (sync client); token status: {alice.token_status()}")
            active = alice.tournaments.active()
            say(
                table(
                    ["ID", "NAME", "MODE", "START", "ENTRY", "ALICE"],
                    [
                        [
                            str(t.id),
                            t.name,
                            f"{t.mode} {t.modeparams}",
                            f"{date_time(t.start)} ({relative(t.start)})",
                            "open" if t.open_entry else "closed",
                            YOU.get(t.status, t.status),  # in words, as the list says it
                        ]
                        for t in active
                    ],
                )
            )
            alice.tournaments.participate(cup)
            say("4. alice joined Demo Cup; waiting for the start to get her key ...")

            waits: list[timedelta] = []

            def countdown(left: timedelta) -> None:  # called about once a second
                if not waits:
                    say(f"   too early: the server says wait {left.total_seconds():.1f} s")
                waits.append(left)

            alice_key = alice.tournaments.wait_key(cup, on_wait=countdown)
            say(f"   alice's key: {alice_key}")

            games = folder / "replays"
            games.mkdir()
            accepted: dict[str, list[str]] = {"alice": [], "bob": []}
            for seed, level in enumerate(LEVELS):
                path = games / f"alice_{level}.rmv"
                path.write_bytes(write_rmv(level=level, seed=seed, name="Alice", key=alice_key))
                info = alice.scores.upload_replay(path, cup)
                assert info is not None
                accepted["alice"].append(path.name)
                step = "5." if seed == 0 else "  "
                say(f"{step} alice played {path.name}: accepted ({info.game_time:.3f} s)")

            async def bob_plays() -> str:
                async with AsyncScoreganizer.from_url(sandbox.url) as bob:
                    await bob.login("bob", passwords["bob"])
                    mine = [t.name for t in await bob.tournaments.my_active()]
                    say(f"6. bob logged in (async client); his tournaments: {', '.join(mine)}")
                    await bob.tournaments.player_confirm(invitational)
                    await bob.tournaments.participate(cup)
                    key = str(await bob.tournaments.wait_key(cup))
                    say(f"   bob confirmed the invitation, joined Demo Cup; key {key}")
                    for seed, level in enumerate(LEVELS[:2], start=10):
                        path = games / f"bob_{level}.rmv"
                        path.write_bytes(write_rmv(level=level, seed=seed, name="Bob", key=key))
                        await bob.scores.upload_replay(path, cup)
                        accepted["bob"].append(path.name)
                        say(f"   bob uploaded {path.name}: accepted")
                    stolen = games / "alice_beginner.rmv"
                    try:
                        await bob.scores.upload_replay(stolen, cup)
                    except ScoreganizerError as exc:
                        why = explain_refusal(exc, replay=replays.inspect(stolen), key=key)
                        say(f"7. bob uploading alice's replay: refused by the server: {why}")
                    return key

            import asyncio  # here: --help imports no event loop

            asyncio.run(bob_plays())
            unkeyed = games / "forgot_the_key.rmv"
            unkeyed.write_bytes(write_rmv(seed=42, name="Alice"))
            try:
                alice.scores.upload_replay(unkeyed, cup)
            except ReplayHasNoKey as exc:
                why = explain_refusal(exc, replay=exc.info)
                say(f"8. alice uploading a replay without a key: refused unsent: {why}")

            result = alice.tournaments.standings(cup)
            say("9. Standings of Demo Cup (bob has no expert game yet, so he ranks after alice):")
            say(standings_table(result))
            elapsed = time.monotonic() - started
            say(f"Done in {elapsed:.1f} s; the sandbox has stopped and its files are removed.")
            summary: dict[str, Any] = {
                "tournament": cup,
                "accepted": accepted,
                "standings": [dataclasses.asdict(row) for row in result.rows],
                "seconds": round(elapsed, 2),
            }
            alice.close()
    if quiet:
        emit_json(summary)
