"""Uploading many replays at once with ``AsyncScoreganizer.scores.upload_many``.

Against a server that is never the bottleneck (``upload_sink.py``, its own
process), so that the numbers are the client's:

1. Throughput at concurrency 32 against concurrency 8 (target >= 1.0: more
   concurrency must never make it slower, as an undersized pool did).
2. At concurrency 32, against a raw ``httpx.AsyncClient`` sending the same
   multipart requests, 32 at a time (target >= 0.95). Ours also reads and
   checks each replay before sending it.

Then, for reference, the same against the sandbox (its own process), whose
own cost grows with concurrency. The sides alternate in each round.

Run: ``python bench/bench_upload_many.py``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _servers import environment_note, free_port, sandbox_command, serving
from _timing import report, size
from scoreganizer_client_lib import AsyncScoreganizer, Scoreganizer
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxConfig, scenario
from scoreganizer_client_lib.sandbox.store import Store

FILES = size(128, 4)
ROUNDS = size(9, 1)
MIME = "application/x-viennasweeper"


def prepare(folder: Path) -> tuple[Path, int]:
    db = folder / "sandbox.sqlite3"
    store = Store(str(db), SandboxConfig())
    scenario.add_user(store, "host", "pw")
    scenario.add_user(store, "player", "pw")
    cup = scenario.add_tournament(store, "Many", "host", start="-1m", end="+1d")
    store.close()
    return db, cup


async def compare(url: str, auth: str, paths: list[Path], cup: int) -> dict[str, float]:
    """Median files per second of each side: one client per side for the
    whole run (steady state, connections open), the sides alternating."""
    async with (
        AsyncScoreganizer.from_url(url) as ours,
        httpx.AsyncClient(headers={"X-Scoreganizer-Authorization": auth}) as raw,
    ):
        await ours.set_auth_str(auth)

        async def upload_many(concurrency: int) -> None:
            results = await ours.scores.upload_many(paths, cup, concurrency=concurrency)
            assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]

        async def raw_many(concurrency: int) -> None:
            gate = asyncio.Semaphore(concurrency)

            async def one(path: Path) -> None:
                async with gate:
                    content = await asyncio.to_thread(path.read_bytes)
                    answer = await raw.post(
                        f"{url}/api/scores/upload",
                        files={"video": (path.name, content, MIME)},
                        data={"mime_type": MIME},
                    )
                    assert answer.status_code == 201, answer.text

            await asyncio.gather(*(one(p) for p in paths))

        sides = {
            "ours c8": lambda: upload_many(8),
            "ours c32": lambda: upload_many(32),
            "raw httpx c8": lambda: raw_many(8),
            "raw httpx c32": lambda: raw_many(32),
        }
        for side in sides.values():  # warm up; the first round stores the replays
            await side()
        rates: dict[str, list[float]] = {name: [] for name in sides}
        for i in range(ROUNDS):
            for name in list(sides)[i % 4 :] + list(sides)[: i % 4]:
                start = time.perf_counter()
                await sides[name]()
                rates[name].append(len(paths) / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def show(title: str, median: dict[str, float], targets: bool) -> None:
    print(title)
    for name, rate in median.items():
        print(f"  {name:<16} {rate:7.1f} files/s")
    ours, raw = median["ours c32"], median["raw httpx c32"]
    report(
        "  concurrency 32 / concurrency 8",
        (ours / median["ours c8"], ours, median["ours c8"]),
        ">= 1.00" if targets else "none",
        "files/s",
    )
    report(
        "  ours / raw httpx, concurrency 32",
        (ours / raw, ours, raw),
        ">= 0.95" if targets else "none",
        "files/s",
    )


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    db, cup = prepare(folder)
    port = free_port()
    with serving(sandbox_command(db, port), port) as served:
        sc = Scoreganizer.from_url(served.url)
        auth = sc.login("player", "pw")
        sc.tournaments.participate(cup)
        key = sc.tournaments.gen_key(cup)
        when = datetime.now(timezone.utc) + timedelta(seconds=1)
        paths = []
        for seed in range(FILES):
            path = folder / f"game{seed}.rmv"
            path.write_bytes(write_rmv(seed=seed, key=key, boardgen_time=when))
            paths.append(path)
        time.sleep(1)
        on_sandbox = asyncio.run(compare(served.url, auth, paths, cup))
    port = free_port()
    sink = [sys.executable, str(Path(__file__).parent / "upload_sink.py"), str(port)]
    with serving(sink, port) as served:
        on_sink = asyncio.run(compare(served.url, auth, paths, cup))
    print(f"upload_many, {FILES} replays per round ({environment_note()})")
    show("against a server that is not the bottleneck (upload_sink.py):", on_sink, True)
    show("against the sandbox (for reference):", on_sandbox, False)


if __name__ == "__main__":
    main()
