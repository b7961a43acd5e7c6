"""The sandbox under attack: what a hostile client sends is answered, bounded
and never blocks the others (issue: hostile input, server side)."""

from __future__ import annotations

import contextlib
import multiprocessing
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
import python_multipart.multipart
import requests

from conftest import PASSWORD, TEST_CONFIG, Clock, fresh_seed, wait_for
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import (
    ConnectionLimits,
    PortInUse,
    SandboxError,
    SandboxServer,
    Store,
    scenario,
    worker_process,
)
from scoreganizer_client_lib.sandbox.accounts import Accounts, argon2_hasher
from scoreganizer_client_lib.sandbox.tuning import SWITCH_INTERVAL

AUTH = "X-Scoreganizer-Authorization"
RMV = "application/x-viennasweeper"


def login(sandbox: SandboxServer, name: str, password: str = PASSWORD) -> requests.Response:
    return requests.post(
        sandbox.url + "/api/obtain_token",
        data={"username": name, "password": password},
        timeout=10,
    )


def auth_for(sandbox: SandboxServer, name: str) -> dict[str, bytes]:
    response = login(sandbox, name)
    assert response.status_code == 200, response.text
    return {AUTH: f"{name}:{response.json()['token']}".encode()}


@pytest.fixture
def keyed(sandbox: SandboxServer) -> tuple[int, dict[str, bytes], str]:
    """A running tournament, a player's auth header and key."""
    scenario.add_user(sandbox.store, "host", PASSWORD)
    cup = scenario.add_tournament(sandbox.store, "Cup", "host", start="-1m", end="+1h")
    return (cup, *player_with_key(sandbox, "ann", cup))


def player_with_key(sandbox: SandboxServer, name: str, cup: int) -> tuple[dict[str, bytes], str]:
    """A new player in tournament ``cup``: their auth header and key."""
    scenario.add_user(sandbox.store, name, PASSWORD)
    auth = auth_for(sandbox, name)
    api = sandbox.url + "/api/tournaments/"
    assert requests.post(f"{api}participate/{cup}", headers=auth, timeout=30).ok
    return auth, requests.post(f"{api}gen_key/{cup}", headers=auth, timeout=30).json()["key"]


def upload(
    sandbox: SandboxServer, auth: dict[str, bytes], replay: bytes, name: str = "game.rmv"
) -> requests.Response:
    return requests.post(
        sandbox.url + "/api/scores/upload",
        headers=auth,
        files={"video": (name, replay)},
        data={"mime_type": RMV},
        timeout=10,
    )


def served_meanwhile(sandbox: SandboxServer, patch: Callable[[Callable[..., Any]], None]) -> None:
    """While the patched work is in progress, another client's GET is answered.

    ``patch`` installs a wrapper: the wrapper waits (up to 60 s) for the GET to
    be answered. Were the work done on the event loop, the GET could not be:
    it would time out (30 s) while the work is held. The bounds are for a test
    that fails, never a time a passing one takes, however loaded the machine."""
    entered, answered = threading.Event(), threading.Event()

    def hold(real: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            entered.set()
            answered.wait(60)
            return real(*args, **kwargs)

        return held

    patch(hold)
    result: list[bool] = []
    assert entered.wait(30)
    try:
        response = requests.get(sandbox.url + "/api/tournaments/all", timeout=30)
        result.append(response.status_code == 200)
    finally:
        answered.set()
    assert result == [True]


# -- 1. nothing slow on the event loop ------------------------------------------


def test_replay_parsing_is_off_the_loop(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], monkeypatch: Any
) -> None:
    _, auth, key = keyed
    replay = write_rmv(key=key, boardgen_time=datetime.now(timezone.utc))
    from scoreganizer_client_lib import replays

    with ThreadPoolExecutor(1) as pool:

        def patch(hold: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
            monkeypatch.setattr(replays, "inspect", hold(replays.inspect))
            pool.submit(upload, sandbox, auth, replay)

        served_meanwhile(sandbox, patch)


def test_multipart_parsing_is_off_the_loop(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], monkeypatch: Any
) -> None:
    _, auth, key = keyed
    replay = write_rmv(key=key, boardgen_time=datetime.now(timezone.utc))
    parser = python_multipart.multipart.MultipartParser
    with ThreadPoolExecutor(1) as pool:

        def patch(hold: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
            monkeypatch.setattr(parser, "write", hold(parser.write))
            future = pool.submit(upload, sandbox, auth, replay)
            future.add_done_callback(lambda f: f.exception())

        served_meanwhile(sandbox, patch)
        assert sandbox.store.count("scores") in (0, 1)


class WrappedHasher:
    """The sandbox's Argon2id hasher at the tests' cost, with ``verify``
    passed through ``wrap`` (while it is set)."""

    def __init__(self, wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None):
        self.real = argon2_hasher(TEST_CONFIG)
        self.wrap = wrap

    def hash(self, password: str) -> str:
        return self.real.hash(password)

    def verify(self, hash: str, password: str) -> bool:
        verify = self.real.verify if self.wrap is None else self.wrap(self.real.verify)
        return bool(verify(hash, password))


@pytest.fixture
def hashed(tmp_path: Path, clock: Clock) -> Iterator[tuple[SandboxServer, WrappedHasher]]:
    """A running sandbox whose password checks a test can wrap."""
    hasher = WrappedHasher()
    db = tmp_path / "sandbox.sqlite3"
    with SandboxServer(db, config=TEST_CONFIG, clock=clock, hasher=hasher) as sandbox:
        yield sandbox, hasher


def test_a_hasher_is_for_one_process() -> None:
    with pytest.raises(ValueError, match="one process"):
        SandboxServer(hasher=WrappedHasher(), workers=2)


def test_password_hashing_is_off_the_loop(hashed: tuple[SandboxServer, WrappedHasher]) -> None:
    sandbox, hasher = hashed
    scenario.add_user(sandbox.store, "ann", PASSWORD)
    with ThreadPoolExecutor(1) as pool:

        def patch(hold: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
            hasher.wrap = hold
            pool.submit(login, sandbox, "ann")

        served_meanwhile(sandbox, patch)


def test_hashing_is_bounded(tmp_path: Path) -> None:
    config = replace(TEST_CONFIG, hash_workers=2, login_attempts_per_name=100)
    config = replace(config, login_attempts_per_address=100)
    hasher = WrappedHasher()
    with SandboxServer(tmp_path / "db.sqlite3", config=config, hasher=hasher) as sandbox:
        scenario.add_user(sandbox.store, "ann", PASSWORD)
        lock, running, most = threading.Lock(), [0], [0]

        def counting(real: Callable[..., Any]) -> Callable[..., Any]:
            def counted(*args: Any) -> Any:
                with lock:
                    running[0] += 1
                    most[0] = max(most[0], running[0])
                try:
                    time.sleep(0.02)
                    return real(*args)
                finally:
                    with lock:
                        running[0] -= 1

            return counted

        hasher.wrap = counting
        names = [f"user{i}" for i in range(16)] + ["ann"] * 8
        with ThreadPoolExecutor(24) as pool:
            codes = list(pool.map(lambda n: login(sandbox, n, "wrong").status_code, names))
        assert codes == [403] * 24
        assert 1 <= most[0] <= 2


def test_logins_beyond_the_queue_wait(tmp_path: Path) -> None:
    config = replace(TEST_CONFIG, hash_workers=1, max_waiting_logins=2)
    release = threading.Event()
    hasher = WrappedHasher(lambda real: lambda *a: release.wait(60) and real(*a))
    with SandboxServer(tmp_path / "db.sqlite3", config=config, hasher=hasher) as sandbox:
        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(login, sandbox, f"u{i}", "x") for i in range(6)]
            wait_for(lambda: sum(f.done() for f in futures) >= 3)  # one hashes, two wait
            release.set()
            answers = [f.result() for f in futures]
        assert sorted(r.status_code for r in answers) == [403, 403, 403, 429, 429, 429]
        assert {r.json()["error"] for r in answers if r.status_code == 429} == {"too_many_attempts"}


# -- 2. bodies: only the protocol's type, cut off at the cap -----------------------


def _raw(port: int, head: str, body: Iterator[bytes] | None = None) -> tuple[bytes, int]:
    """Send ``head`` (and ``body`` while the server reads); the answer's first
    bytes and how many body bytes were sent before it came."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        sock.setblocking(False)
        answer = b""
        deadline = time.monotonic() + 10
        for chunk in body or iter(()):
            try:
                answer = sock.recv(4096)
                break
            except BlockingIOError:
                pass
            try:
                sent += sock.send(chunk)
            except (BlockingIOError, ConnectionError):
                time.sleep(0.001)
            if time.monotonic() > deadline:
                break
        sock.setblocking(True)
        with contextlib.suppress(ConnectionError):
            answer = answer or sock.recv(4096)
    return answer, sent


def _chunked(size: int, total: int) -> Iterator[bytes]:
    chunk = f"{size:x}\r\n".encode() + b"x" * size + b"\r\n"
    for _ in range(total // size):
        yield chunk


LENGTHS = ["Content-Length: 1073741824", "Transfer-Encoding: chunked"]


def _flood(port: int, path: str, content_type: str, length: str, auth: str = "") -> bytes:
    """Post up to 1 GiB to ``path``; the answer, after asserting that it came
    before more than the cap plus what sockets buffer was sent."""
    head = f"POST {path} HTTP/1.1\nHost: x\n{auth}Content-Type: {content_type}\n{length}\n"
    answer, sent = _raw(port, head, _chunked(65536, 2**30))
    assert sent < 64 * 2**20
    return answer


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize(
    ("content_type", "status"),
    [("multipart/form-data; boundary=b", b"415"), ("application/x-www-form-urlencoded", b"413")],
)
def test_login_takes_only_a_small_form(
    sandbox: SandboxServer, length: str, content_type: str, status: bytes
) -> None:
    answer = _flood(sandbox.port, "/api/obtain_token", content_type, length)
    assert answer.startswith(b"HTTP/1.1 " + status), answer
    assert b"connection: close" in answer.lower()


@pytest.mark.parametrize("length", LENGTHS)
def test_upload_is_cut_off_at_its_cap(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], length: str
) -> None:
    _, auth, _ = keyed
    multipart = "multipart/form-data; boundary=b"
    header = f"{AUTH}: {auth[AUTH].decode()}\n"
    answer = _flood(sandbox.port, "/api/scores/upload", multipart, length, header)
    assert answer.startswith(b"HTTP/1.1 413"), answer  # the cap is 256 KiB here


def test_upload_without_login_reads_nothing(sandbox: SandboxServer) -> None:
    multipart = "multipart/form-data; boundary=b"
    answer = _flood(sandbox.port, "/api/scores/upload", multipart, LENGTHS[1])
    assert answer.startswith(b"HTTP/1.1 403"), answer


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"mime_type=x&video=y"),
        ("application/json", b'{"video": "x"}'),
        ("text/plain", b"x"),
        ("", b"x"),
    ],
)
def test_upload_takes_only_multipart(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], content_type: str, body: bytes
) -> None:
    _, auth, _ = keyed
    response = requests.post(
        sandbox.url + "/api/scores/upload",
        headers={**auth, "Content-Type": content_type},
        data=body,
        timeout=30,
    )
    assert response.status_code == 415
    assert response.json()["error"] == "invalid_data"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "refresh_token"),
        ("POST", "tournaments/participate/1"),
        ("POST", "tournaments/gen_key/1"),
        ("GET", "tournaments/all"),
        ("GET", "token_status"),
    ],
)
def test_bodiless_endpoints_refuse_a_body(sandbox: SandboxServer, method: str, path: str) -> None:
    head = f"{method} /api/{path} HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n"
    answer, sent = _raw(sandbox.port, head, _chunked(65536, 2**30))
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert sent < 64 * 2**20
    empty = requests.request(method, f"{sandbox.url}/api/{path}", data=b"", timeout=30)
    assert empty.status_code != 413


def _multipart(*parts: bytes) -> bytes:
    return b"".join(b"--b\r\n" + part for part in parts) + b"--b--\r\n"


VIDEO = b'Content-Disposition: form-data; name="video"; filename="g.rmv"\r\n'
MIME = b'Content-Disposition: form-data; name="mime_type"\r\n\r\n' + RMV.encode() + b"\r\n"


@pytest.mark.parametrize(
    "body",
    [
        _multipart(*[b'Content-Disposition: form-data; name="f"\r\n\r\nv\r\n'] * 4000),
        _multipart(
            VIDEO + b"".join(b"X-%d: y\r\n" % n for n in range(20_000)) + b"\r\nx\r\n", MIME
        ),
        _multipart(VIDEO + b"X-Big: " + b"y" * 250_000 + b"\r\n\r\nx\r\n", MIME),
        _multipart(VIDEO[:-2] + b"; filename*=" + b"a" * 200_000 + b"\r\n\r\nx\r\n", MIME),
        _multipart(b"\r\n" * 100_000),
    ],
    ids=[
        "4,000 parts",
        "20,000 part headers",
        "250 kB part header",
        "200 kB file name",
        "empty parts",
    ],
)
def test_multipart_bodies_with_too_much_framing(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], body: bytes
) -> None:
    """Within the upload cap (here 320 KiB), framing is refused early and cheaply."""
    _, auth, _ = keyed
    answer = requests.post(
        sandbox.url + "/api/scores/upload",
        headers={**auth, "Content-Type": "multipart/form-data; boundary=b"},
        data=body,
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_data"
    assert sandbox.store.count("scores") == 0


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"username=ann&password=%FF%FE", 400, "invalid_data"),  # not UTF-8
        (b"&".join(b"f%d=v" % n for n in range(20)), 400, "invalid_data"),  # no login has 20
        (b"username=ann", 403, "invalid_login_data"),
        (b"username=ann&password=" + b"x" * 9000, 413, "invalid_data"),
        (b"username=%00&password=%00", 403, "invalid_login_data"),
        (b"username=ann;password=x", 403, "invalid_login_data"),  # ';' separates nothing
    ],
)
def test_login_form_edge_cases(
    sandbox: SandboxServer, body: bytes, status: int, error: str
) -> None:
    answer = requests.post(
        sandbox.url + "/api/obtain_token",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=body,
        timeout=10,
    )
    assert (answer.status_code, answer.json()["error"]) == (status, error)


# -- 4. login: no enumeration, limits ------------------------------------------


def test_unknown_user_costs_a_hash(hashed: tuple[SandboxServer, WrappedHasher]) -> None:
    sandbox, hasher = hashed
    scenario.add_user(sandbox.store, "ann", PASSWORD)
    calls: list[str] = []
    hasher.wrap = lambda real: lambda h, p: calls.append(p) or real(h, p)
    assert login(sandbox, "ann", "wrong").status_code == 403
    assert login(sandbox, "nobody", "wrong").status_code == 403
    assert calls == ["wrong", "wrong"]


def test_failed_logins_per_name(sandbox: SandboxServer, clock: Clock) -> None:
    scenario.add_user(sandbox.store, "ann", PASSWORD)
    limit, refill = TEST_CONFIG.login_attempts_per_name, TEST_CONFIG.login_name_refill
    for name in ("ann", "nobody"):  # known or not: the same answers
        codes = [login(sandbox, name, "wrong").status_code for _ in range(limit)]
        assert codes == [403] * limit
        refused = login(sandbox, name, PASSWORD)  # even the right password
        assert refused.status_code == 429
        body = refused.json()
        assert body["error"] == "too_many_attempts"
        assert 0 < body["wait"] <= refill
    clock.advance(refill)
    assert login(sandbox, "ann", PASSWORD).status_code == 200
    # a success forgives the name's failures
    assert [login(sandbox, "ann", "wrong").status_code for _ in range(limit)] == [403] * limit


def test_failed_logins_per_address(sandbox: SandboxServer, clock: Clock) -> None:
    clock.stop()  # an attempt comes back every 2 s: a slow machine's requests would get one
    limit = TEST_CONFIG.login_attempts_per_address
    codes = [login(sandbox, f"guess{i}", "wrong").status_code for i in range(limit + 1)]
    assert codes == [403] * limit + [429]
    clock.advance(TEST_CONFIG.login_address_refill)
    assert login(sandbox, "another", "wrong").status_code == 403


def test_a_forwarded_for_header_is_no_new_address(sandbox: SandboxServer, clock: Clock) -> None:
    clock.stop()  # as above
    limit = TEST_CONFIG.login_attempts_per_address
    codes = [
        requests.post(
            sandbox.url + "/api/obtain_token",
            data={"username": f"guess{i}", "password": "wrong"},
            headers={"X-Forwarded-For": f"10.0.{i}.1", "Forwarded": f"for=10.1.{i}.1"},
            timeout=30,
        ).status_code
        for i in range(limit + 1)
    ]
    assert codes == [403] * limit + [429]


def _fail_logins(accounts: Accounts, address: str, count: int) -> None:
    for n in range(count):
        with pytest.raises(SandboxError):
            accounts.obtain_token(f"guess{n}-{address}", "wrong", address)


def test_ipv6_clients_count_by_their_network(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3", TEST_CONFIG, clock=lambda: 1000.0)
    accounts = Accounts(store)
    limit = TEST_CONFIG.login_attempts_per_address
    _fail_logins(accounts, "2001:db8:1:2::1", limit)
    for same in ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2:0::9"):
        assert accounts.login_wait("fresh", same) > 0, same
    assert accounts.login_wait("fresh", "2001:db8:1:3::1") == 0  # another /64
    _fail_logins(accounts, "192.0.2.7", limit)
    assert accounts.login_wait("fresh", "::ffff:192.0.2.7") > 0  # the same IPv4 client
    assert accounts.login_wait("fresh", "192.0.2.8") == 0
    store.close()


def test_a_clock_set_back_locks_nobody_out(tmp_path: Path) -> None:
    now = [10_000.0]
    store = Store(tmp_path / "db.sqlite3", TEST_CONFIG, clock=lambda: now[0])
    accounts = Accounts(store)
    scenario.add_user(store, "ann", PASSWORD)
    for _ in range(TEST_CONFIG.login_attempts_per_name - 1):
        with pytest.raises(SandboxError):
            accounts.obtain_token("ann", "wrong", "192.0.2.1")
    now[0] -= 3600  # the server's clock is put back an hour
    assert accounts.login_wait("ann", "192.0.2.1") == 0
    assert accounts.obtain_token("ann", PASSWORD, "192.0.2.1")
    store.close()


def test_a_user_keeps_a_bounded_number_of_tokens(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3", replace(TEST_CONFIG, max_tokens_per_user=3))
    accounts = Accounts(store)
    scenario.add_user(store, "ann", PASSWORD)
    tokens = [accounts.obtain_token("ann", PASSWORD) for _ in range(5)]
    statuses = [accounts.token_status(f"ann:{token}").value for token in tokens]
    assert statuses == ["nonexistent"] * 2 + ["ok"] * 3
    assert store.count("tokens") == 3
    store.close()


def test_clients_see_a_wait(sandbox: SandboxServer) -> None:
    sc = Scoreganizer.from_url(sandbox.url)
    for _ in range(TEST_CONFIG.login_attempts_per_name):
        with pytest.raises(exc.ScoreganizerInvalidLoginData):
            sc.login("zed", "wrong")
    with pytest.raises(exc.ScoreganizerWait) as waited:
        sc.login("zed", "wrong")
    assert waited.value.error == "too_many_attempts"
    assert waited.value.wait_time > timedelta(0)


# -- 5. path parameters ------------------------------------------------------------

WEIRD_IDS = [
    "²",
    "١",
    "١٢",
    "１",
    "𝟏",
    "+1",
    "-1",
    " 1",
    "1 ",
    "1_000",
    "0x1",
    "1e3",
    "1.0",
    "0",
    "00",
    "9" * 19,
    "9" * 20,
    "9" * 5000,
    "nan",
    "∞",
    "\u00a0",
    "%00",
    "%ff",
    "%C2%B2",
    "%EF%BC%91",
]
PATHS = [
    ("POST", "/api/tournaments/participate/{}"),
    ("POST", "/api/tournaments/player_confirm/{}"),
    ("POST", "/api/tournaments/gen_key/{}"),
    ("GET", "/api/tournaments/get_key/{}"),
    ("GET", "/sandbox/standings/{}"),
]


def test_weird_ids_are_not_found(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str]
) -> None:
    _, auth, _ = keyed
    with requests.Session() as session:
        for weird in WEIRD_IDS:
            for method, path in PATHS:
                response = session.request(
                    method, sandbox.url + path.format(weird), headers=auth, timeout=30
                )
                assert response.status_code in (400, 404), (path, weird, response.text)
                assert response.json()["error"]


# -- 6. boards from the future ---------------------------------------------------


def test_board_from_the_future(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], clock: Clock
) -> None:
    _, auth, key = keyed
    now = datetime.fromtimestamp(clock(), timezone.utc)
    ahead = now + timedelta(seconds=TEST_CONFIG.clock_slack + 60)
    refused = upload(sandbox, auth, write_rmv(key=key, boardgen_time=ahead))
    assert refused.status_code == 403
    assert refused.json()["error"] == "invalid_data"
    assert "future" in refused.json()["reason"]
    within = now + timedelta(seconds=TEST_CONFIG.clock_slack / 2)
    assert upload(sandbox, auth, write_rmv(key=key, boardgen_time=within)).status_code == 201


def test_one_game_counts_once_however_its_file_is_padded(
    sandbox: SandboxServer, clock: Clock
) -> None:
    scenario.add_user(sandbox.store, "host", PASSWORD)
    cup = scenario.add_tournament(
        sandbox.store, "Three", "host", start="-1m", end="+1h", modeparams="3+0+0"
    )
    auth, key = player_with_key(sandbox, "ann", cup)
    game = write_rmv(key=key, boardgen_time=datetime.fromtimestamp(clock(), timezone.utc))
    for padding in (b"", b"\0", b"\0\0"):
        assert upload(sandbox, auth, game + padding).status_code == 201
    assert sandbox.store.count("scores") == 1
    (ann,) = requests.get(f"{sandbox.url}/sandbox/standings/{cup}", timeout=30).json()["standings"]
    assert (ann["games"], ann["complete"]) == (1, False)


def test_another_players_game_rekeyed_is_refused(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], clock: Clock
) -> None:
    cup, ann_auth, ann_key = keyed
    bob_auth, bob_key = player_with_key(sandbox, "bob", cup)
    now = datetime.fromtimestamp(clock(), timezone.utc)
    assert upload(sandbox, ann_auth, write_rmv(seed=1, key=ann_key, boardgen_time=now)).ok
    copied = upload(sandbox, bob_auth, write_rmv(seed=1, key=bob_key, boardgen_time=now))
    assert copied.status_code == 403
    assert copied.json()["error"] == "invalid_data"
    assert "already uploaded by another player" in copied.json()["reason"]
    again = upload(sandbox, ann_auth, write_rmv(seed=1, key=ann_key, boardgen_time=now))
    assert again.status_code == 201
    assert sandbox.store.count("scores") == 1


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd.rmv", "passwd.rmv"),
        ("C:\\Users\\ann\\Desktop\\Exp_12.rmv", "Exp_12.rmv"),
        ("game\u202egnp.rmv", "gamegnp.rmv"),  # a right-to-left override
        ("a\x00b\x1bc.rmv", "abc.rmv"),
        ("x" * 1000 + ".rmv", "x" * 251 + ".rmv"),
        ("///", "replay"),
    ],
)
def test_file_names_are_kept_plain(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], sent: str, kept: str
) -> None:
    _, auth, key = keyed
    replay = write_rmv(seed=fresh_seed(), key=key, boardgen_time=datetime.now(timezone.utc))
    answer = upload(sandbox, auth, replay, sent)
    assert answer.status_code == 201, answer.text
    (stored,) = sandbox.store.conn.execute("SELECT filename FROM scores").fetchone()
    assert stored == kept


def test_one_game_raced_by_two_players_is_one_players(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], clock: Clock
) -> None:
    cup, ann_auth, ann_key = keyed
    bob_auth, bob_key = player_with_key(sandbox, "bob", cup)
    now = datetime.fromtimestamp(clock(), timezone.utc)
    sends = [(ann_auth, write_rmv(seed=5, key=ann_key, boardgen_time=now))] * 6
    sends += [(bob_auth, write_rmv(seed=5, key=bob_key, boardgen_time=now))] * 6
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda sent: upload(sandbox, *sent).status_code, sends))
    assert sorted(set(answers[:6])) + sorted(set(answers[6:])) in ([201, 403], [403, 201])
    assert sandbox.store.count("scores") == 1


# -- 7. an expired token is no token -----------------------------------------------


def test_expired_token_reveals_nothing(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], clock: Clock
) -> None:
    cup, auth, _ = keyed
    listed = requests.get(sandbox.url + "/api/tournaments/active", headers=auth, timeout=30).json()
    assert [t["status"] for t in listed] == ["participating"]
    clock.advance(TEST_CONFIG.token_expires_after)
    for which in ("all", "archive"):
        listed = requests.get(
            f"{sandbox.url}/api/tournaments/{which}", headers=auth, timeout=30
        ).json()
        assert [(t["id"], t["status"]) for t in listed] == [(cup, "not_logged_in")]


def test_a_request_makes_one_worker_thread_call(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], monkeypatch: Any
) -> None:
    """SQL runs in worker threads, and a thread hop costs more than a lookup:
    each request's database work (its user's lookup included) takes one."""
    cup, auth, _ = keyed
    calls: list[object] = []
    real = anyio.to_thread.run_sync

    async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(function)
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    api = sandbox.url + "/api/"
    for method, path in [
        ("GET", "token_status"),
        ("GET", "tournaments/active"),
        ("GET", "tournaments/my_active"),
        ("POST", f"tournaments/participate/{cup}"),
        ("GET", f"tournaments/get_key/{cup}"),
    ]:
        calls.clear()
        assert requests.request(method, api + path, headers=auth, timeout=30).ok
        assert len(calls) == 1, (path, calls)


# -- what serving changes in the process --------------------------------------------


def test_an_embedded_server_leaves_the_interpreter_alone(tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.004)  # the embedding program's own choice
        with SandboxServer(tmp_path / "db.sqlite3", config=TEST_CONFIG) as sandbox:
            assert requests.get(sandbox.url + "/api/tournaments/all", timeout=30).ok
            assert sys.getswitchinterval() == pytest.approx(0.004)
        assert sys.getswitchinterval() == pytest.approx(0.004)
    finally:
        sys.setswitchinterval(before)


@pytest.fixture
def untuned() -> Iterator[None]:
    """Python's default switch interval, back as it was after the test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_serving_processes_are_tuned_first(tmp_path: Path, untuned: None) -> None:
    """The serve process tunes itself before it binds, and a worker before it
    opens the database: each fails at that step here, already tuned."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        sandbox = SandboxServer(
            tmp_path / "db.sqlite3", port=taken.getsockname()[1], config=TEST_CONFIG
        )
        with pytest.raises(PortInUse):
            sandbox.serve_forever()
    sandbox.stop()
    assert sys.getswitchinterval() == SWITCH_INTERVAL
    sys.setswitchinterval(0.005)
    report, sender = multiprocessing.Pipe(duplex=False)
    with pytest.raises(SystemExit):  # a worker process, before it serves
        worker_process.serve_in_worker(
            ("127.0.0.1", 0), str(tmp_path), None, ConnectionLimits(), False, sender
        )
    assert "unable to open database" in report.recv()  # why, for its supervisor
    assert sys.getswitchinterval() == SWITCH_INTERVAL


#: Hashes with Argon2 (8 MiB) in three threads at once, three times each, and
#: prints how much the resident memory grew (MiB); tuned as ``serve`` is, or not.
HASHING = """
import sys, threading
from argon2 import PasswordHasher
from scoreganizer_client_lib.sandbox import SandboxConfig
from scoreganizer_client_lib.sandbox.tuning import tune_serving_process
if sys.argv[1] == "tuned":
    tune_serving_process(SandboxConfig(argon2_memory_kib=8 * 1024))
hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024)
digest = hasher.hash("pw")
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
def guess():
    for _ in range(3):
        hasher.verify(digest, "pw")
start = rss()
threads = [threading.Thread(target=guess) for _ in range(3)]
[t.start() for t in threads]
[t.join() for t in threads]
print(rss() - start)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator, /proc")
def test_a_serving_process_returns_password_hashing_memory() -> None:
    grown = {
        how: float(
            subprocess.run(
                [sys.executable, "-c", HASHING, how], capture_output=True, text=True, check=True
            ).stdout
        )
        for how in ("tuned", "untuned")
    }
    assert grown["untuned"] > 16, grown  # glibc keeps the 8 MiB buffers: the test can tell
    assert grown["tuned"] < 4, grown


# -- 8. durability -------------------------------------------------------------------


def test_file_databases_commit_durably(sandbox: SandboxServer) -> None:
    assert sandbox.store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_sigkill_after_201_loses_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "db.sqlite3"
    with SandboxServer(db, config=TEST_CONFIG) as setup:
        scenario.add_user(setup.store, "host", PASSWORD)
        scenario.add_user(setup.store, "ann", PASSWORD)
        cup = scenario.add_tournament(setup.store, "Cup", "host", start="-1m", end="+1h")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scoreganizer_client_lib",
            "sandbox",
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Scoreganizer sandbox on")  # once listening
        sc = Scoreganizer.from_url(f"http://127.0.0.1:{port}")
        sc.login("ann", PASSWORD)
        sc.tournaments.participate(cup)
        key = sc.tournaments.gen_key(cup)
        replay = tmp_path / "g.rmv"
        replay.write_bytes(write_rmv(key=key, boardgen_time=datetime.now(timezone.utc)))
        sc.scores.upload_replay(replay, cup)  # 201
    finally:
        proc.kill()
        proc.wait(10)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM scores").fetchone()[0] == 1
    conn.close()


# -- user names outside ASCII ----------------------------------------------------------


@pytest.mark.parametrize("name", ["Łukasz", "日本", "jürgen"])
def test_every_endpoint_for_non_ascii_names(
    sandbox: SandboxServer, clock: Clock, name: str
) -> None:
    scenario.add_user(sandbox.store, "host", PASSWORD)
    scenario.add_user(sandbox.store, name, PASSWORD)
    cup = scenario.add_tournament(sandbox.store, "Cup", "host", start="-1m", end="+1h")
    api = sandbox.url + "/api/"
    auth = auth_for(sandbox, name)
    assert requests.get(api + "token_status", headers=auth, timeout=30).json()["status"] == "ok"
    assert requests.post(f"{api}tournaments/participate/{cup}", headers=auth, timeout=30).ok
    mine = requests.get(api + "tournaments/my_active", headers=auth, timeout=30).json()
    assert [t["status"] for t in mine] == ["participating"]
    key = requests.post(f"{api}tournaments/gen_key/{cup}", headers=auth, timeout=30).json()["key"]
    got = requests.get(f"{api}tournaments/get_key/{cup}", headers=auth, timeout=30).json()
    assert got["key"] == key
    now = datetime.fromtimestamp(clock(), timezone.utc)
    assert upload(sandbox, auth, write_rmv(key=key, boardgen_time=now)).status_code == 201
    standings = requests.get(f"{sandbox.url}/sandbox/standings/{cup}", timeout=30).json()
    assert [s["player"] for s in standings["standings"]] == [name]
    clock.advance(TEST_CONFIG.refresh_cooldown)
    refreshed = requests.post(api + "refresh_token", headers=auth, timeout=30)
    assert refreshed.status_code == 200
    assert requests.get(api + "token_status", headers=auth, timeout=30).json()["status"] == (
        "nonexistent"
    )


def test_auth_header_that_is_not_utf8(sandbox: SandboxServer) -> None:
    response = requests.get(
        sandbox.url + "/api/token_status", headers={AUTH: b"\xff\xfe:token"}, timeout=30
    )
    assert response.json() == {"status": "nonexistent"}


# -- already defended, and staying so ------------------------------------------------

INJECTIONS = ["x'--", "x';DROP_TABLE_users;--", 'x"OR"1"="1', "x'OR'1'='1", "x)--", "x%27"]


def test_sql_injection_in_every_field(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], clock: Clock
) -> None:
    cup, auth, key = keyed
    for text in INJECTIONS:
        scenario.add_user(sandbox.store, text, PASSWORD)
        assert login(sandbox, text, PASSWORD).status_code == 200
        assert login(sandbox, text + "' --", text).status_code == 403
        header = {AUTH: f"{text}:' OR '1'='1"}
        answer = requests.get(sandbox.url + "/api/token_status", headers=header, timeout=30)
        assert answer.json() == {"status": "nonexistent"}
        scenario.add_tournament(sandbox.store, text, "host", location=text)
    listed = requests.get(sandbox.url + "/api/tournaments/all", timeout=30).json()
    assert [t["name"] for t in listed if t["id"] != cup] == INJECTIONS
    assert [t["location"] for t in listed if t["id"] != cup] == INJECTIONS
    now = datetime.fromtimestamp(clock(), timezone.utc)
    answer = requests.post(
        sandbox.url + "/api/scores/upload",
        headers=auth,
        files={"video": ("'; DROP TABLE scores; --.rmv", write_rmv(key=key, boardgen_time=now))},
        data={"mime_type": RMV},
        timeout=30,
    )
    assert answer.status_code == 201
    (stored,) = sandbox.store.conn.execute("SELECT filename FROM scores").fetchall()
    assert stored[0] == "'; DROP TABLE scores; --.rmv"
    assert sandbox.store.count("users") == 2 + len(INJECTIONS)


@pytest.mark.parametrize(
    "header",
    [
        b":",
        b"ann:",
        b":token",
        b"ann:a:b",
        b"ann",
        b"ann:" + b"x" * 8000,
        b"\x01\x02:\x7f",
        b"\xff:",
        b"ann : token ",
        b"ann\t:token",
    ],
)
def test_malformed_auth_headers(
    sandbox: SandboxServer, keyed: tuple[int, dict[str, bytes], str], header: bytes
) -> None:
    status = requests.get(sandbox.url + "/api/token_status", headers={AUTH: header}, timeout=30)
    assert status.json() == {"status": "nonexistent"}
    mine = requests.get(
        sandbox.url + "/api/tournaments/my_active", headers={AUTH: header}, timeout=30
    )
    assert (mine.status_code, mine.json()["error"]) == (403, "not_logged_in")


def test_concurrent_gen_key_makes_one_key(sandbox: SandboxServer) -> None:
    scenario.add_user(sandbox.store, "host", PASSWORD)
    scenario.add_user(sandbox.store, "ann", PASSWORD)
    cup = scenario.add_tournament(sandbox.store, "Cup", "host", start="-1m", end="+1h")
    auth = auth_for(sandbox, "ann")
    requests.post(f"{sandbox.url}/api/tournaments/participate/{cup}", headers=auth, timeout=30)
    url = f"{sandbox.url}/api/tournaments/gen_key/{cup}"
    barrier = threading.Barrier(12)

    def generate(_: int) -> requests.Response:
        barrier.wait()
        return requests.post(url, headers=auth, timeout=10)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(generate, range(12)))
    assert sorted(a.status_code for a in answers) == [201] + [403] * 11
    assert {a.json()["error"] for a in answers if a.status_code == 403} == {"key_exists"}
    assert sandbox.store.count("keys") == 1


def test_concurrent_refresh_one_wins(sandbox: SandboxServer, clock: Clock) -> None:
    scenario.add_user(sandbox.store, "ann", PASSWORD)
    auth = auth_for(sandbox, "ann")
    clock.advance(TEST_CONFIG.refresh_cooldown)
    barrier = threading.Barrier(12)

    def refresh(_: int) -> requests.Response:
        barrier.wait()
        return requests.post(sandbox.url + "/api/refresh_token", headers=auth, timeout=10)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(refresh, range(12)))
    assert sorted(a.status_code for a in answers) == [200] + [403] * 11
    (won,) = [a.json()["token"] for a in answers if a.status_code == 200]
    status = requests.get(
        sandbox.url + "/api/token_status", headers={AUTH: f"ann:{won}".encode()}, timeout=30
    )
    assert status.json() == {"status": "ok"}
    assert sandbox.store.count("tokens") == 1


def test_hidden_standings_stay_hidden(sandbox: SandboxServer, clock: Clock) -> None:
    scenario.add_user(sandbox.store, "host", PASSWORD)
    cup = scenario.add_tournament(
        sandbox.store, "Secret", "host", start="-1m", end="+1h", hide_results=True
    )
    url = f"{sandbox.url}/sandbox/standings/{cup}"
    hidden = requests.get(url, timeout=30)
    assert (hidden.status_code, hidden.json()["error"]) == (403, "results_hidden")
    clock.advance(3600)
    assert requests.get(url, timeout=30).status_code == 200


def test_two_hundred_clients_at_once(sandbox: SandboxServer) -> None:
    import asyncio

    async def client(path: str) -> bytes:
        """A connection of its own, one request: the answer's status line.
        (Plain sockets: an HTTP library's pool of 200 connections costs four
        times the server's work.)"""
        reader, writer = await asyncio.open_connection(sandbox.host, sandbox.port)
        try:
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {sandbox.host}:{sandbox.port}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            answer = await reader.read()  # until the server closes
        finally:
            writer.close()
            await writer.wait_closed()
        return answer.split(b"\r\n", 1)[0]

    async def crowd() -> list[bytes]:
        paths = ["/api/tournaments/active", "/api/token_status"] * 100
        return await asyncio.wait_for(asyncio.gather(*map(client, paths)), 30)

    assert asyncio.run(crowd()) == [b"HTTP/1.1 200 OK"] * 200
