"""Sandbox latency as the database grows: each endpoint at 10, 1k, 10k and 100k
users, tournaments and scores, with its growth per 10x.

Each database is built in bulk with SQL straight into the sandbox schema (the
store migrates an empty file first; ``populate`` is the only place that knows
the tables), then served by ``scoreganizer sandbox serve`` in its own process
and asked one request at a time on one keep-alive connection. The latency is
the median after a warm-up request.

Shape at size N: N users; N tournaments of which 13 are active (the first one
running) and the rest over; N scores in tournament 1, three per player (one per
level); the measuring user takes part in every active tournament, has a key
for tournaments 1 and 3 (running) and N scores of their own in tournament 3, so
that ``scores/upload`` adds to a tournament of N scores and ``upload (own N)``
to a player's N scores. Scores carry their game's digest and tournaments the
games they count, as the sandbox writes them.

Run: ``python bench/bench_scale.py [SIZES...]`` (default 10 1000 10000 100000;
10 100 at the smallest size).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import _load
from _servers import environment_note, free_port, sandbox_command, serving
from _timing import report, size
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import Store
from scoreganizer_client_lib.sandbox.ranking import Ranking

ACTIVE = 13
GEN_KEY_USERS = 40
PASSWORD = "pw"
TOKEN = "bench-token-of-user-one"
AUTH = {"X-Scoreganizer-Authorization": f"u1:{TOKEN}"}
KEY = "1_1_" + "ab" * 16
OWN_KEY = "1_3_" + "cd" * 16
RMV = "application/x-viennasweeper"
COUNTED = Ranking({"beginner": 1, "intermediate": 1, "expert": 1})
LEVELS = ("beginner", "intermediate", "expert")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def populate(db: Path, size: int, now: float) -> None:
    """Fill a migrated, empty sandbox database for ``size`` (see the module doc)."""
    Store(db).close()  # creates and migrates the schema
    from argon2 import PasswordHasher

    password_hash = PasswordHasher().hash(PASSWORD)  # the server's default cost
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    users = [(f"u{i}", password_hash, now) for i in range(1, size + 1)]
    users += [(f"g{j}", password_hash, now) for j in range(GEN_KEY_USERS)]
    conn.executemany("INSERT INTO users (name, password_hash, created) VALUES (?, ?, ?)", users)
    gen_key_ids = [size + 1 + j for j in range(GEN_KEY_USERS)]
    tokens = [(1, _digest(TOKEN), now)]
    tokens += [(uid, _digest(f"g-token-{uid}"), now) for uid in gen_key_ids]
    conn.executemany("INSERT INTO tokens (user_id, digest, created) VALUES (?, ?, ?)", tokens)

    tournaments = []
    for t in range(1, size + 1):
        if t == 1:
            start, end = now - 3600, now + 86400
        elif t <= ACTIVE:  # running or upcoming, alternately
            start = now - 600 if t % 2 else now + 3600 * t
            end = start + 86400
        else:  # over, spread over the past years
            start = now - 86400 * (2 + t % 2000) - t
            end = start + 7200
        tournaments.append((f"Cup {t}", 1, "sum", "1+1+1", "", start, end, 1, 0))
    conn.executemany(
        "INSERT INTO tournaments (name, host_id, mode, modeparams, location, start, end,"
        " open_entry, hide_results) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        tournaments,
    )

    players = max(1, size // 3)
    parts = {(t, 1) for t in range(1, min(size, ACTIVE) + 1)}
    parts |= {(1, 2 + p % max(1, size - 1)) for p in range(players)}
    parts |= {(1, uid) for uid in gen_key_ids}
    conn.executemany(
        "INSERT INTO participations (tournament_id, user_id, status)"
        " VALUES (?, ?, 'participating')",
        sorted(parts),
    )
    conn.executemany(
        "INSERT INTO keys (tournament_id, user_id, key, created, expiry) VALUES (?, 1, ?, ?, NULL)",
        [(1, KEY, now - 600), (3, OWN_KEY, now - 600)],
    )
    scores = []
    for i in range(size):
        player = 2 + (i // 3) % max(1, size - 1)
        game_time = 1.0 + (i * 7919 % 100_000) / 1000
        level = LEVELS[i % 3]
        scores.append((1, player, _digest(f"score {i}"), _digest(f"game {i}"), "g.rmv", RMV,
                       level, game_time, 1, now, b""))  # fmt: skip
        scores.append((3, 1, _digest(f"own {i}"), _digest(f"own game {i}"), "g.rmv", RMV,
                       level, game_time, i % 2, now, b""))  # fmt: skip
    conn.executemany(
        "INSERT INTO scores (tournament_id, user_id, sha256, game, filename, mime_type, level,"
        " game_time, won, uploaded, replay) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        scores,
    )
    # the games each tournament counts, as the rules write them; written last,
    # so that the scores' trigger leaves the standings to the first request
    conn.executemany(
        "INSERT INTO counted VALUES (?, ?, ?, ?)",
        [row for t in range(1, size + 1) for row in COUNTED.rows(t)],
    )
    conn.execute("COMMIT")
    conn.close()


def endpoints(size: int, reps: int) -> dict[str, list[bytes]]:
    """The requests to time, per endpoint (``reps`` of each, plus a warm-up)."""
    n = reps + 1
    now = datetime.now(timezone.utc)
    uploads = [
        _load.post_multipart(
            "/api/scores/upload",
            {"video": ("g.rmv", write_rmv(seed=size * 1000 + i, key=KEY, boardgen_time=now))},
            {"mime_type": RMV},
            AUTH,
        )
        for i in range(n)
    ]
    own_uploads = [
        _load.post_multipart(
            "/api/scores/upload",
            {
                "video": (
                    "g.rmv",
                    write_rmv(seed=size * 1000 + 500 + i, key=OWN_KEY, boardgen_time=now),
                )
            },
            {"mime_type": RMV},
            AUTH,
        )
        for i in range(n)
    ]
    gen_keys = [
        _load.post_form(
            "/api/tournaments/gen_key/1",
            {},
            {"X-Scoreganizer-Authorization": f"g{j}:g-token-{size + 1 + j}"},
        )
        for j in range(GEN_KEY_USERS)
    ]
    lists = ["active", "upcoming", "in_progress", "all", "archive"]
    found = {f"tournaments/{name}": [_load.get(f"/api/tournaments/{name}")] * n for name in lists}
    return {
        **found,
        "tournaments/my_active": [_load.get("/api/tournaments/my_active", AUTH)] * n,
        "sandbox/standings/1": [_load.get("/sandbox/standings/1")] * n,
        "token_status": [_load.get("/api/token_status", AUTH)] * n,
        "get_key/1": [_load.get("/api/tournaments/get_key/1", AUTH)] * n,
        "scores/upload": uploads,
        "upload (own N)": own_uploads,
        "gen_key/1": gen_keys,
        "obtain_token": [
            _load.post_form("/api/obtain_token", {"username": "u1", "password": PASSWORD})
        ]
        * min(n, 6),
    }


def measure(size: int, reps: int, budget: float) -> dict[str, float]:
    """Median latency (seconds) of each endpoint at ``size``."""
    with tempfile.TemporaryDirectory(prefix="sandbox-scale-") as tmp:
        db = Path(tmp) / "scale.sqlite3"
        started = time.perf_counter()
        populate(db, size, time.time())
        built = time.perf_counter() - started
        requests = endpoints(size, reps)
        port = free_port()
        with serving(sandbox_command(db, port, "--workers", "1"), port) as server:
            print(
                f"  size {size:>7}: built in {built:5.1f} s"
                f" ({db.stat().st_size / 2**20:.1f} MiB), serving",
                flush=True,
            )
            medians = {}
            for name, batch in requests.items():
                _load.sequential(server.host, server.port, batch[:1], 1, 0)  # warm-up
                result = _load.sequential(server.host, server.port, batch[1:], 3, budget)
                bad = {s: c for s, c in result.statuses.items() if s >= 300}
                if bad:
                    raise RuntimeError(f"{name} at size {size}: answers {bad}")
                medians[name] = result.median
        return medians


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or size([10, 1000, 10_000, 100_000], [10, 100])
    print(f"sandbox scale benchmark: {environment_note()}; median ms per request, one client")
    table: dict[str, list[float]] = {}
    reps, budget = size(200, 2), size(1.5, 0.1)
    for rows in sizes:
        for name, seconds in measure(rows, reps, budget).items():
            table.setdefault(name, []).append(seconds)
    fmt: Callable[[float], str] = lambda s: f"{s * 1e3:9.2f}"  # noqa: E731
    header = f"{'endpoint':<24}" + "".join(f"{rows:>9}" for rows in sizes) + "   per 10x"
    print(header)
    for name, times in table.items():
        decades = math.log10(sizes[-1] / sizes[0]) if len(sizes) > 1 else 0
        growth = (times[-1] / times[0]) ** (1 / decades) if decades else 1.0
        steps = "  ".join(
            f"{(b / a) ** (1 / math.log10(sizes[i + 1] / sizes[i])):.2f}"
            for i, (a, b) in enumerate(itertools.pairwise(times))
        )
        print(f"{name:<24}" + "".join(fmt(t) for t in times) + f"   {growth:5.2f}  ({steps})")
    print("per 10x: latency growth per tenfold size over the whole range (and per step)")
    name, times = max(table.items(), key=lambda item: item[1][-1] / item[1][0])
    report(
        f"fastest growing: {name}, {sizes[-1]} vs {sizes[0]}",
        (times[-1] / times[0], times[-1], times[0]),
        "reported",
    )


if __name__ == "__main__":
    main()
