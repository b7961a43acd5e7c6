"""This library's sync client against a raw ``requests.Session`` doing the same
requests to the same local server: a tournament list and a replay upload.
Then what following a credentials file costs (a look at the file before
each request): each client with a credentials file against the same client
without one.

Run: ``python bench/bench_client.py`` (targets: ratio <= 1.10 against
requests, <= 1.02 for the credentials file).
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))
from _timing import per_call, ratio, report, size
from scoreganizer_client_lib import AsyncScoreganizer, Scoreganizer
from scoreganizer_client_lib.replays.testing import write_rmv

TOURNAMENTS = json.dumps(
    [
        {
            "id": i,
            "mode": "sum",
            "modeparams": "1+1+1",
            "name": f"Cup {i}",
            "location": "here",
            "start": "2024-05-20T13:37:00",
            "end": "2025-05-20T13:37:00.123456",
            "open_entry": True,
            "hide_results": False,
            "status": "participating",
        }
        for i in range(20)
    ]
).encode()
REPLAY = write_rmv(key="1_35_" + "ab" * 16)
CALLS = size(200, 2)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply(200, TOURNAMENTS)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self._reply(201, b"")


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    base = f"http://127.0.0.1:{port}/api/"
    sc = Scoreganizer(host="127.0.0.1", port=port, https=False)
    sc.set_auth_str("bench:token")
    raw = requests.Session()
    raw.headers["X-Scoreganizer-Authorization"] = "bench:token"

    def raw_list() -> object:
        response = raw.get(base + "tournaments/all", timeout=(5, 30))
        response.raise_for_status()
        return response.json()

    def raw_upload() -> object:
        response = raw.post(
            base + "scores/upload",
            timeout=(5, 30),
            files={"video": ("g.rmv", REPLAY, "application/x-viennasweeper")},
            data={"mime_type": "application/x-viennasweeper"},
        )
        response.raise_for_status()
        return response

    print(f"client benchmark against a local server on port {port}")
    report(
        "list (tournaments/all, 20 entries) vs requests",
        ratio(sc.tournaments.all, raw_list, CALLS),
        "<= 1.10",
    )
    report(
        "upload (2 KB replay) vs requests",
        ratio(lambda: sc.scores.upload_file(io.BytesIO(REPLAY), "g.rmv"), raw_upload, CALLS),
        "<= 1.10",
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "auth.txt"
        path.write_text("bench:token")
        path.chmod(0o600)
        followed = Scoreganizer(host="127.0.0.1", port=port, https=False, auth_filename=path)
        report(
            "list, credentials file vs none (sync)",
            ratio(followed.tournaments.all, sc.tournaments.all, CALLS),
            "<= 1.02",
        )
        report("list, credentials file vs none (async)", _async_ratio(port, path), "<= 1.02")
        look = per_call(followed._shared.changed, calls=size(20_000, 10))
        print(f"the look at the credentials file before each request: {look * 1e6:.1f} us")
    server.shutdown()


def _async_ratio(port: int, path: Path) -> tuple[float, float, float]:
    """:func:`ratio` for the async client, its calls run one by one on one loop."""
    loop = asyncio.new_event_loop()
    followed = AsyncScoreganizer(host="127.0.0.1", port=port, https=False, auth_filename=path)
    plain = AsyncScoreganizer(host="127.0.0.1", port=port, https=False)
    loop.run_until_complete(plain.set_auth_str("bench:token"))
    try:
        return ratio(
            lambda: loop.run_until_complete(followed.tournaments.all()),
            lambda: loop.run_until_complete(plain.tournaments.all()),
            calls=CALLS,
        )
    finally:
        loop.run_until_complete(followed.aclose())
        loop.run_until_complete(plain.aclose())
        loop.close()


if __name__ == "__main__":
    main()
