"""The failed-login limits of the sandbox (``sandbox/accounts.py``) where
several requests, worker processes and client addresses meet: a burst for one
name checks at most the limit of passwords, whatever the workers, and a guesser
at one address cannot lock a user out of the others."""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from conftest import PASSWORD, TEST_CONFIG, Clock
from scoreganizer_client_lib.sandbox import SandboxServer, scenario


def _login_from(sandbox: SandboxServer, address: str, name: str, password: str) -> int:
    """The HTTP status of a login sent from ``address`` (any of 127/8 is
    this machine) to the sandbox."""
    body = urllib.parse.urlencode({"username": name, "password": password})
    conn = http.client.HTTPConnection(sandbox.host, sandbox.port, timeout=30)
    conn.source_address = (address, 0)
    try:
        conn.request(
            "POST",
            "/api/obtain_token",
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_burst_for_one_name_checks_at_most_the_limit_of_passwords(tmp_path: Path) -> None:
    """40 wrong logins for one name at once, through two workers hashing four
    passwords each at a time: the limit of them are answered after a password
    check (403), the others refused unchecked (429). Each worker used to
    check the limit first and count the failure after the hash: 20 to 33
    checks."""
    config = replace(
        TEST_CONFIG,
        argon2_memory_kib=8 * 1024,  # a hash that takes a while, as a real one
        hash_workers=4,
        login_attempts_per_address=1000,
    )
    burst = 40
    with SandboxServer(tmp_path / "db.sqlite3", config=config, workers=2) as sandbox:
        scenario.add_user(sandbox.store, "ann", PASSWORD)
        together = threading.Barrier(burst)

        def guess(n: int) -> int:
            together.wait()
            return _login_from(sandbox, "127.0.0.1", "ann", f"guess {n}")

        with ThreadPoolExecutor(burst) as pool:
            statuses = list(pool.map(guess, range(burst)))
    limit = config.login_attempts_per_name
    assert sorted(statuses) == [403] * limit + [429] * (burst - limit)


def test_a_guesser_at_one_address_locks_the_user_out_of_none(
    sandbox: SandboxServer, clock: Clock
) -> None:
    """A guesser sends one wrong login each time its wait runs out; meanwhile
    the user gets in with the right password, from the address they logged in
    from before and from new ones (0 of 14 got in when the limit was the
    name's alone)."""
    scenario.add_user(sandbox.store, "ann", PASSWORD)
    assert _login_from(sandbox, "127.0.0.2", "ann", PASSWORD) == 200  # ann's usual address
    guesser, rounds = "127.0.0.66", 14
    got_in = {"known": 0, "new": 0}
    for n in range(rounds):
        for _ in range(TEST_CONFIG.login_attempts_per_name + 1):
            if _login_from(sandbox, guesser, "ann", "wrong") == 429:
                break
        else:
            raise AssertionError("the guesser was never refused")
        got_in["known"] += _login_from(sandbox, "127.0.0.2", "ann", PASSWORD) == 200
        got_in["new"] += _login_from(sandbox, f"127.0.1.{n}", "ann", PASSWORD) == 200
        clock.advance(TEST_CONFIG.login_name_refill)
    assert got_in == {"known": rounds, "new": rounds}


def test_guessers_at_many_addresses_lock_out_only_new_addresses(
    sandbox: SandboxServer,
) -> None:
    """Guessers at more addresses than one name's limit anywhere: a new
    address is refused (what the limit is for), the user's known one is not."""
    scenario.add_user(sandbox.store, "ann", PASSWORD)
    assert _login_from(sandbox, "127.0.0.2", "ann", PASSWORD) == 200
    for n in range(TEST_CONFIG.login_attempts_per_name_anywhere):
        assert _login_from(sandbox, f"127.0.2.{n}", "ann", "wrong") == 403
    assert _login_from(sandbox, "127.0.3.1", "ann", PASSWORD) == 429
    assert _login_from(sandbox, "127.0.0.2", "ann", PASSWORD) == 200
