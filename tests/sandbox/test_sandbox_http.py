"""The sandbox at the raw HTTP level: malformed requests get JSON errors (never
a 500), concurrency loses nothing, a restart loses nothing, OpenAPI is served."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from conftest import FAST_RETRY, PASSWORD, TEST_CONFIG, port_for_later
from scoreganizer_client_lib import RetryPolicy, Scoreganizer
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario

ENDPOINTS = [
    ("POST", "obtain_token"),
    ("GET", "token_status"),
    ("POST", "refresh_token"),
    ("GET", "tournaments/all"),
    ("GET", "tournaments/archive"),
    ("GET", "tournaments/in_progress"),
    ("GET", "tournaments/upcoming"),
    ("GET", "tournaments/active"),
    ("GET", "tournaments/my_active"),
    ("POST", "tournaments/participate/{id}"),
    ("POST", "tournaments/player_confirm/{id}"),
    ("POST", "tournaments/gen_key/{id}"),
    ("GET", "tournaments/get_key/{id}"),
    ("POST", "scores/upload"),
]


@pytest.fixture
def auth(sandbox: SandboxServer) -> dict[str, str]:
    scenario.add_user(sandbox.store, "host", PASSWORD)
    scenario.add_tournament(sandbox.store, "T", "host", start="-1m", end="+1h")
    token = requests.post(
        sandbox.url + "/api/obtain_token",
        data={"username": "host", "password": PASSWORD},
        timeout=30,
    ).json()["token"]
    return {"X-Scoreganizer-Authorization": f"host:{token}"}


BAD_IDS = ["abc", "-1", "0", "1.5", "99999999999999999999999", "%00", "1%20", "9223372036854775808"]


def _assert_json_error(response: requests.Response) -> None:
    assert response.status_code < 500, (
        response.request.method,
        response.request.url,
        response.text,
    )
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body["error"], str) and body["error"]


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_bad_ids(sandbox: SandboxServer, auth: dict[str, str], bad_id: str) -> None:
    for method, path in ENDPOINTS:
        if "{id}" in path:
            url = f"{sandbox.url}/api/{path.format(id=bad_id)}"
            response = requests.request(method, url, headers=auth, timeout=30)
            _assert_json_error(response)
            assert response.status_code == 404


def test_wrong_methods_and_paths(sandbox: SandboxServer, auth: dict[str, str]) -> None:
    for method, path in ENDPOINTS:
        other = "GET" if method == "POST" else "POST"
        response = requests.request(other, f"{sandbox.url}/api/{path.format(id=1)}", timeout=30)
        _assert_json_error(response)
        assert response.json()["error"] == "method_not_allowed"
    for path in ["/api/nope", "/api/tournaments/mine", "/api/", "/api/scores/upload/1"]:
        response = requests.get(sandbox.url + path, timeout=30)
        _assert_json_error(response)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, b""),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\ngarbage"),
        ({"Content-Type": "multipart/form-data"}, b"no boundary"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"video=abc&mime_type="),
        ({"Content-Type": "application/json"}, b'{"video": 1}'),
        (
            {"Content-Type": "multipart/form-data; boundary=b"},
            b'--b\r\nContent-Disposition: form-data; name="video"\r\n\r\nnot a file\r\n--b--\r\n',
        ),
        ({"Content-Type": "text/plain"}, bytes(range(256)) * 10),
    ],
)
def test_garbage_bodies(
    sandbox: SandboxServer, auth: dict[str, str], headers: dict[str, str], body: bytes
) -> None:
    for method, path in ENDPOINTS:
        if method == "POST":
            url = f"{sandbox.url}/api/{path.format(id=1)}"
            response = requests.post(url, headers={**auth, **headers}, data=body, timeout=30)
            _assert_json_error(response)


def test_missing_and_wrong_fields(sandbox: SandboxServer, auth: dict[str, str]) -> None:
    url = sandbox.url + "/api/"
    cases = [
        requests.post(url + "obtain_token", data={"username": "host"}, timeout=30),
        requests.post(url + "obtain_token", data={"password": "x"}, timeout=30),
        requests.post(url + "scores/upload", headers=auth, data={"mime_type": "x"}, timeout=30),
        requests.post(
            url + "scores/upload", headers=auth, files={"video": ("a.rmv", b"x")}, timeout=30
        ),
        requests.post(
            url + "scores/upload",
            headers=auth,
            files={"video": ("a.rmv", b"x")},
            data={"mime_type": "text/html"},
            timeout=30,
        ),
        requests.get(
            url + "token_status", headers={"X-Scoreganizer-Authorization": "nocolon"}, timeout=30
        ),
        requests.get(
            url + "tournaments/my_active",
            headers={"X-Scoreganizer-Authorization": "host:" + "x" * 5000},
            timeout=30,
        ),
    ]
    for response in cases:
        _assert_json_error(response)
    assert [r.status_code for r in cases[:2]] == [403, 403]
    assert cases[5].json() == {"status": "nonexistent"}


def test_openapi_describes_the_api(sandbox: SandboxServer) -> None:
    spec = requests.get(sandbox.url + "/api/openapi.json", timeout=30).json()
    assert requests.get(sandbox.url + "/openapi.json", timeout=30).json() == spec  # both places
    paths = set(spec["paths"])
    for method, path in ENDPOINTS:
        openapi_path = "/api/" + path.replace("{id}", "{tournament}")
        assert openapi_path in paths
        assert method.lower() in spec["paths"][openapi_path]
    upload = spec["paths"]["/api/scores/upload"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]


def _keyed_players(sandbox: SandboxServer, count: int) -> tuple[int, list[Scoreganizer]]:
    scenario.add_user(sandbox.store, "host", PASSWORD)
    cup = scenario.add_tournament(sandbox.store, "Busy", "host", start="-1m", end="+1h")
    clients = []
    for i in range(count):
        scenario.add_user(sandbox.store, f"p{i}", PASSWORD)
        sc = Scoreganizer.from_url(sandbox.url, retry=PATIENT)
        sc.login(f"p{i}", PASSWORD)
        sc.tournaments.participate(cup)
        clients.append(sc)
    return cup, clients


#: A client that takes the sandbox's "retry" (a write waited past its busy
#: timeout, as many writers at once on a loaded machine do) as the protocol
#: means it: try again, a little later, up to 20 times.
PATIENT = RetryPolicy(attempts=20, backoff=0.05, max_backoff=0.5, jitter=False)


def test_twenty_clients_upload_at_once(sandbox: SandboxServer, tmp_path: Path) -> None:
    cup, clients = _keyed_players(sandbox, 20)
    barrier = threading.Barrier(20)

    def play(index: int) -> list[str]:
        sc = clients[index]
        barrier.wait()
        key = sc.tournaments.wait_key(cup)  # 20 key generations at once
        now = datetime.now(timezone.utc)  # a board is generated after its key
        files = []
        for seed in range(3):
            path = tmp_path / f"p{index}_{seed}.rmv"
            path.write_bytes(write_rmv(seed=index * 10 + seed, key=key, boardgen_time=now))
            files.append(path)
        for path in files + files[:2]:  # two duplicates each
            sc.scores.upload_replay(path, cup)
        return [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]

    with ThreadPoolExecutor(20) as pool:
        digests = [d for batch in pool.map(play, range(20)) for d in batch]
    stored = [r[0] for r in sandbox.store.conn.execute("SELECT sha256 FROM scores")]
    assert sorted(stored) == sorted(digests)  # each accepted replay exactly once
    assert sandbox.store.count("keys") == 20


def test_same_replay_raced(sandbox: SandboxServer, tmp_path: Path) -> None:
    cup, (sc,) = _keyed_players(sandbox, 1)
    key = sc.tournaments.gen_key(cup)
    path = tmp_path / "same.rmv"
    path.write_bytes(write_rmv(key=key, boardgen_time=datetime.now(timezone.utc)))
    clients = [Scoreganizer.from_url(sandbox.url, retry=FAST_RETRY) for _ in range(10)]
    for client in clients:
        client.set_auth_str(sc.auth_str)
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda c: c.scores.upload_replay(path, cup), clients))
    assert sandbox.store.count("scores") == 1


def test_restart_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    port = port_for_later()  # nobody else's when the server comes back
    first = SandboxServer(db, port=port, config=TEST_CONFIG)
    first.start()
    scenario.add_user(first.store, "host", PASSWORD)
    scenario.add_user(first.store, "ann", PASSWORD)
    cup = scenario.add_tournament(first.store, "Long", "host", start="-1m", end="+1h")
    second = SandboxServer(db, port=port, config=TEST_CONFIG)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the server is back after a few retries
        slept.append(seconds)
        if len(slept) == 3:
            second.start()

    sc = Scoreganizer.from_url(
        first.url,
        retry=RetryPolicy(attempts=30, backoff=0.1, max_backoff=0.3, jitter=False),
        sleep=sleep,
    )
    sc.login("ann", PASSWORD)
    sc.tournaments.participate(cup)
    key = sc.tournaments.gen_key(cup)
    now = datetime.now(timezone.utc)
    paths = []
    for seed in range(6):
        path = tmp_path / f"g{seed}.rmv"
        path.write_bytes(write_rmv(seed=seed, key=key, boardgen_time=now))
        paths.append(path)
    for path in paths[:3]:
        sc.scores.upload_replay(path, cup)

    first.stop()
    for path in paths[3:]:  # sent while the server is down: the retries carry them
        sc.scores.upload_replay(path, cup)
    assert len(slept) == 3
    assert sc.tournaments.get_key(cup) == key  # the token and key survived
    assert second.store.count("scores") == 6
    second.stop()


def test_in_memory_sandbox_under_concurrency() -> None:
    """The default throwaway database is as safe as a file: uploads while
    another thread reads the store never meet a locked table."""
    with SandboxServer(config=TEST_CONFIG) as sandbox:
        cup, clients = _keyed_players(sandbox, 6)
        keys = [sc.tournaments.gen_key(cup) for sc in clients]
        now = datetime.now(timezone.utc)  # after the keys (a board older than its key is refused)
        replays = [
            (sc, write_rmv(seed=i * 100 + n, key=keys[i], boardgen_time=now))
            for i, sc in enumerate(clients)
            for n in range(15)
        ]
        done = threading.Event()
        counts: list[int] = []

        def read() -> None:
            while not done.is_set():
                counts.append(sandbox.store.count("scores"))

        reader = threading.Thread(target=read)
        reader.start()

        def send(job: tuple[Scoreganizer, bytes]) -> int:
            sc, replay = job
            response = requests.post(
                sandbox.url + "/api/scores/upload",
                headers={"X-Scoreganizer-Authorization": sc.auth_str or ""},
                files={"video": ("g.rmv", replay)},
                data={"mime_type": "application/x-viennasweeper"},
                timeout=10,
            )
            return response.status_code

        try:
            with ThreadPoolExecutor(6) as pool:
                statuses = list(pool.map(send, replays))
        finally:
            done.set()
            reader.join(30)
        assert not reader.is_alive()
        assert statuses == [201] * len(replays)
        assert sandbox.store.count("scores") == len(replays)
        assert counts and counts == sorted(counts)
