"""Can a login's timing tell whether a user exists? A wrong password for a
user who exists against any password for one who does not, over HTTP, at the
sandbox's full Argon2id cost, alternating the two.

The sandbox runs in this process (a background thread) with the failed-login
limits lifted, so that every attempt is checked. Target: ratio 1.0 (within
the noise, about 0.9-1.1); before the fix an unknown user was answered 3.6
times faster (no hash was computed).

Run: ``python bench/bench_sandbox_login.py [ATTEMPTS]`` (default 10 per round).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import requests

from _timing import ratio, report, size
from scoreganizer_client_lib.sandbox import SandboxConfig, SandboxServer, scenario

UNLIMITED = SandboxConfig(
    login_attempts_per_name=10**9,
    login_attempts_per_name_anywhere=10**9,
    login_attempts_per_address=10**9,
)


def main() -> None:
    attempts = int(sys.argv[1]) if len(sys.argv) > 1 else size(10, 1)
    with (
        tempfile.TemporaryDirectory(prefix="sandbox-login-") as tmp,
        SandboxServer(Path(tmp) / "db.sqlite3", config=UNLIMITED) as sandbox,
        requests.Session() as session,
    ):
        scenario.add_user(sandbox.store, "alice", "the right password")
        url = sandbox.url + "/api/obtain_token"

        def attempt(name: str) -> None:
            answer = session.post(url, data={"username": name, "password": "wrong"}, timeout=30)
            assert answer.status_code == 403, answer.text

        result = ratio(lambda: attempt("nobody"), lambda: attempt("alice"), attempts)
    print("sandbox login timing: unknown user vs known user with a wrong password")
    report("obtain_token (unknown vs known user)", result, "1.0 (0.9-1.1)")


if __name__ == "__main__":
    main()
