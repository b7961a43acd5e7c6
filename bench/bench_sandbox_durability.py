"""What durable commits cost: an accepted upload (parse, checks, one commit)
on a database file with ``synchronous=FULL`` (the default: an acknowledged
upload survives an OS crash) against ``NORMAL`` (the last commits may be lost
then), in this process, alternating the two.

Run: ``python bench/bench_sandbox_durability.py [UPLOADS]`` (default 200 per
round). Prints the ratio and the cost per upload of each; the difference is
the price of an fsync per commit on this disk.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from _timing import ratio, report, size
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxConfig, Store, scenario
from scoreganizer_client_lib.sandbox.accounts import User
from scoreganizer_client_lib.sandbox.rules import Rules

CHEAP_HASH = SandboxConfig(argon2_time_cost=1, argon2_memory_kib=8192)
ROUNDS = size(7, 1)


def uploader(db: Path, synchronous: str, uploads: int) -> Callable[[], None]:
    """A function that uploads the next new replay to a fresh database."""
    store = Store(db, replace(CHEAP_HASH, synchronous=synchronous))
    scenario.add_user(store, "host", "pw")
    uid = scenario.add_user(store, "ann", "pw")
    cup = scenario.add_tournament(store, "Cup", "host", start="-1m", end="+1d")
    rules, ann = Rules(store), User(uid, "ann")
    rules.participate(ann, cup)
    key = rules.gen_key(ann, cup)["key"]
    now = datetime.now(timezone.utc)
    replays = iter(
        [write_rmv(seed=n, key=key, boardgen_time=now) for n in range((ROUNDS + 1) * uploads)]
    )
    counter = itertools.count()

    def upload() -> None:
        assert rules.upload(
            ann, f"g{next(counter)}.rmv", "application/x-viennasweeper", next(replays)
        )

    return upload


def main() -> None:
    uploads = int(sys.argv[1]) if len(sys.argv) > 1 else size(200, 2)
    with tempfile.TemporaryDirectory(prefix="sandbox-durability-") as tmp:
        full = uploader(Path(tmp) / "full.sqlite3", "FULL", uploads)
        normal = uploader(Path(tmp) / "normal.sqlite3", "NORMAL", uploads)
        result = ratio(full, normal, uploads, ROUNDS)
    print("sandbox durability: an accepted upload, FULL vs NORMAL synchronous")
    report("upload (synchronous=FULL vs NORMAL)", result, "reported")
    print(f"cost of durability per upload: {(result[1] - result[2]) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
