"""A small third-party client: upload a folder of replays to one tournament.

Written only against scoreganizer-client-lib's public API, as an example of a
client of your own (the documentation's "Write your own client" walks through
it; ``test_uploader.py`` tests it with the library's pytest plugin)::

    python examples/uploader.py --server http://127.0.0.1:8000 --user alice --tournament 1 replays

It logs in (the password from ``$SCOREGANIZER_PASSWORD``, else asked), joins
the tournament, waits for it to start, prints the key to put in your replays,
then uploads each replay of the folder once, looking again every few seconds
until the tournament ends (or once, with ``--once``). A file the server or the
library's check refuses is reported and left alone; one the network failed to
deliver (the library already retried 503s and dropped connections) is tried
again on the next round.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.exceptions import (
    NetworkException,
    ScoreganizerError,
    ScoreganizerTournamentOver,
)
from scoreganizer_client_lib.replays import ReplayFormat

SUFFIXES = {fmt.suffix for fmt in ReplayFormat}  # .rmv, .avf, .evf


@dataclass
class Round:
    """What one look at the folder did, by file."""

    uploaded: list[Path] = field(default_factory=list)
    refused: dict[Path, str] = field(default_factory=dict)  # never sent again
    failed: dict[Path, str] = field(default_factory=dict)  # tried again next round


def upload_folder(sc: Scoreganizer, tournament: int, folder: Path, done: set[Path]) -> Round:
    """Upload the replays of ``folder`` not in ``done`` (and add them to it)."""
    result = Round()
    for path in sorted(folder.iterdir()):
        if path in done or path.suffix.lower() not in SUFFIXES or not path.is_file():
            continue
        try:
            sc.scores.upload_replay(path, tournament)  # checks the file and its key first
        except ScoreganizerTournamentOver:
            raise
        except NetworkException as exc:
            result.failed[path] = str(exc)
            continue
        except ScoreganizerError as exc:  # the check's refusals are ScoreganizerErrors too
            result.refused[path] = str(exc)
        else:
            result.uploaded.append(path)
        done.add(path)
    return result


def is_over(sc: Scoreganizer, tournament: int) -> bool:
    """Whether the tournament has ended, by the server's clock."""
    return all(t.id != tournament for t in sc.tournaments.active())


def run(
    sc: Scoreganizer,
    tournament: int,
    folder: Path,
    once: bool = False,
    pause: float = 5.0,
    sleep: Callable[[float], object] = time.sleep,
    say: Callable[[str], object] = print,
) -> int:
    """Join, wait for the key, upload until the end; the exit status."""
    sc.tournaments.participate(tournament)
    say(f"Your key: {sc.tournaments.wait_key(tournament)} (put it in your replays)")
    done: set[Path] = set()
    while True:
        try:
            this = upload_folder(sc, tournament, folder, done)
        except ScoreganizerTournamentOver:
            this = Round()
        for path in this.uploaded:
            say(f"uploaded {path.name}")
        for path, why in {**this.refused, **this.failed}.items():
            say(f"not uploaded {path.name}: {why}")
        if once:
            return 1 if this.failed else 0
        if is_over(sc, tournament):
            say("The tournament is over.")
            return 0
        sleep(pause)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="e.g. http://127.0.0.1:8000")
    parser.add_argument("--user", required=True)
    parser.add_argument("--tournament", type=int, required=True)
    parser.add_argument("--once", action="store_true", help="look at the folder once")
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"no folder {args.folder}")
    sc = Scoreganizer.from_url(args.server, auth_filename=None)
    password = os.environ.get("SCOREGANIZER_PASSWORD") or getpass.getpass()
    try:
        sc.login(args.user, password)
        return run(sc, args.tournament, args.folder, once=args.once)
    except (ScoreganizerError, NetworkException, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
