"""How long the async client keeps the event loop from running other tasks
while it checks and uploads a 16 MiB replay.

A ticker task asks to wake every millisecond; its lateness is the loop's lag.
Ours: ``await sc.scores.upload_replay(path)``. Baseline: the same work done
the blocking way (the replay read and checked on the loop, then sent with
httpx), which is what the client did before. The server runs in its own
process.

Run: ``python bench/bench_async_lag.py`` (target: our worst lag < 10 ms).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _servers import free_port, serving
from _timing import report, size
from scoreganizer_client_lib import AsyncScoreganizer, replays
from scoreganizer_client_lib.replays.testing import write_rmv

SIZE = size(16, 1) * 1024 * 1024
KEY = "1_35_" + "ab" * 16
ROUNDS = size(9, 1)


async def lags_during(work: Callable[[], Awaitable[object]]) -> list[float]:
    """The ticker's lateness (seconds) for each tick while ``work`` runs."""
    lags: list[float] = []
    done = False

    async def ticker() -> None:
        while not done:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - start - 0.001)

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0.01)
    lags.clear()
    await work()
    done = True
    await task
    return lags


async def main() -> None:
    folder = Path(tempfile.mkdtemp())
    path = folder / "big.rmv"
    data = write_rmv(key=KEY)
    path.write_bytes(data + b"\0" * (SIZE - len(data)))  # a valid RMV, padded to the cap
    port = free_port()
    with serving([sys.executable, str(Path(__file__).parent / "upload_sink.py"), str(port)], port):
        async with (
            AsyncScoreganizer(host="127.0.0.1", port=port, https=False) as sc,
            httpx.AsyncClient() as raw,
        ):
            await sc.set_auth_str("bench:token")

            async def ours() -> object:
                return await sc.scores.upload_replay(path, 35)

            async def blocking_way() -> object:
                content = path.read_bytes()
                info = replays.inspect(content)
                return await raw.post(
                    f"http://127.0.0.1:{port}/api/scores/upload",
                    files={"video": (path.name, content, info.mime_type)},
                    data={"mime_type": info.mime_type},
                    headers={"X-Scoreganizer-Authorization": "bench:token"},
                )

            async def idle() -> object:
                return await asyncio.sleep(0.1)

            await ours(), await blocking_way()  # warm up
            worst: dict[str, list[float]] = {"ours": [], "blocking": [], "idle": []}
            works = {"ours": ours, "blocking": blocking_way, "idle": idle}
            for i in range(ROUNDS):
                for name in list(works)[i % 3 :] + list(works)[: i % 3]:
                    worst[name].append(max(await lags_during(works[name])))
    median = {name: statistics.median(values) for name, values in worst.items()}
    report(
        f"loop lag, {SIZE >> 20} MiB upload: ours vs blocking",
        (median["ours"] / median["blocking"], median["ours"], median["blocking"]),
        f"ours < 10 ms (median of {ROUNDS} worst lags; idle loop {median['idle'] * 1e3:.1f} ms)",
    )


if __name__ == "__main__":
    asyncio.run(main())
