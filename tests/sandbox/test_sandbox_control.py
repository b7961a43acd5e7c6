"""The sandbox scripted over HTTP (``/_sandbox/``, for tests in any language)
and from the command line (``sandbox clock``, ``sandbox serve --control``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from conftest import PASSWORD, TEST_CONFIG
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib.cli import main
from scoreganizer_client_lib.sandbox import CONTROL_TOKEN_ENV, SandboxServer, Store
from scoreganizer_client_lib.sandbox.control import MAX_CONTROL_BYTES

TOKEN = "control-token-for-tests"


@pytest.fixture
def controlled(tmp_path: Path) -> Iterator[SandboxServer]:
    config = replace(TEST_CONFIG, record_requests=True, control_token=TOKEN)
    with SandboxServer(tmp_path / "sandbox.sqlite3", config=config) as server:
        yield server


class Control:
    """Requests to a sandbox's control endpoints, with the token."""

    def __init__(self, url: str, token: str = TOKEN) -> None:
        self.url = url + "/_sandbox"
        self.headers = {"Authorization": f"Bearer {token}"}

    def __call__(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: object
    ) -> requests.Response:
        return requests.request(
            method,
            self.url + path,
            headers={**self.headers, **(headers or {})},
            timeout=30,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
def control(controlled: SandboxServer) -> Control:
    return Control(controlled.url)


def test_a_scenario_built_over_http(controlled: SandboxServer, control: Control) -> None:
    alice = control("POST", "/users", json={"name": "alice", "password": PASSWORD})
    assert alice.status_code == 201 and alice.json()["name"] == "alice"
    cup = control(
        "POST", "/tournaments", json={"name": "Cup", "host": "alice", "start": "+1h", "end": "+2h"}
    )
    assert cup.status_code == 201
    cup_id = cup.json()["id"]
    sc = Scoreganizer.from_url(controlled.url, auth_filename=None)
    sc.login("alice", PASSWORD)
    sc.tournaments.participate(cup_id)
    with pytest.raises(exc.ScoreganizerTooEarly):
        sc.tournaments.gen_key(cup_id)

    moved = control("POST", "/clock", json={"advance": 3600})
    assert moved.status_code == 200
    assert sc.tournaments.gen_key(cup_id)
    now = datetime.fromisoformat(moved.json()["now"]).replace(tzinfo=timezone.utc)
    assert abs(now - controlled.clock.now()) < timedelta(seconds=5)

    sprint = control(
        "POST",
        "/tournaments",
        json={
            "name": "Sprint",
            "host": "alice",
            "start": "now",
            "end": "+1d",
            "mode": "sum_timelimit",
            "modeparams": "1+1+1;600",
            "closed": True,
            "hide_results": True,
            "location": "online",
        },
    )
    assert sprint.status_code == 201
    (listed,) = [t for t in sc.tournaments.in_progress() if t.id == sprint.json()["id"]]
    assert (listed.mode, listed.open_entry, listed.hide_results) == ("sum_timelimit", False, True)


def test_the_clock_over_http(control: Control) -> None:
    answer = control("POST", "/clock", json={"set": "2026-12-24T18:00:00Z"})
    assert answer.json()["now"].startswith("2026-12-24T18:00:0")
    assert control("GET", "/clock").json()["now"].startswith("2026-12-24T18:00:0")
    assert control("POST", "/clock", json={"set": "+1d"}).json()["now"].startswith("2026-12-25")
    real = datetime.now(timezone.utc).replace(tzinfo=None)
    reset = datetime.fromisoformat(control("POST", "/clock", json={"reset": True}).json()["now"])
    assert abs(reset - real) < timedelta(minutes=1)


def test_faults_and_the_log_over_http(controlled: SandboxServer, control: Control) -> None:
    added = control(
        "POST", "/faults", json={"path": "/api/upload_score", "status": 503, "times": 2}
    )
    assert added.status_code == 201 and added.json()["times"] == 2
    control("POST", "/faults", json={"path": "/api/tournaments/all", "drop": True})
    assert [f["path"] for f in control("GET", "/faults").json()] == [
        "/api/upload_score",
        "/api/tournaments/all",
    ]
    with pytest.raises(requests.ConnectionError):
        requests.get(controlled.url + "/api/tournaments/all", timeout=30)
    assert requests.get(controlled.url + "/api/tournaments/all", timeout=30).status_code == 200
    assert control("DELETE", "/faults").json() == {"cleared": 1}
    assert control("GET", "/faults").json() == []

    logged = control("GET", "/requests").json()
    assert [(r["method"], r["path"], r["status"]) for r in logged] == [
        ("GET", "/api/tournaments/all", None),
        ("GET", "/api/tournaments/all", 200),
    ]  # the control requests themselves are not logged
    assert logged[0]["at"].endswith("Z")
    assert control("DELETE", "/requests").json() == {"cleared": 2}
    assert control("GET", "/requests").json() == []


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/clock", {"advance": "10m"}, "advance must be a number"),
        ("/clock", {"advance": True}, "advance must be a number"),
        ("/clock", {"advance": 1, "set": "now"}, "give one of advance, set or reset"),
        ("/clock", {"set": "tomorrow"}, "not a time"),
        ("/clock", {"advance": 1e300}, "years 1 to 9999"),
        ("/clock", {"speed": 2}, "unknown argument 'speed'"),
        ("/faults", {"path": "/x", "status": 503, "times": 0}, "times must be 1 to 1000"),
        ("/faults", {"status": 503}, "path is missing"),
        ("/faults", ["/x"], "expected a JSON object"),
        ("/users", {"name": "bob"}, "password is missing"),
        ("/users", {"name": "bob", "password": 5}, "password must be a str"),
        ("/tournaments", {"name": "Cup", "host": "nobody"}, "no user 'nobody'"),
        ("/tournaments", {"name": "Cup", "host": "x", "start": 5}, "start must be a str"),
        ("/tournaments", {"name": "C", "host": "x", "mode": "race"}, "unknown mode"),
    ],
)
def test_a_wrong_control_request_says_why(
    control: Control, path: str, body: object, reason: str
) -> None:
    answer = control("POST", path, json=body)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_data" and reason in answer.json()["reason"]


def test_control_bodies_are_json_and_bounded(control: Control) -> None:
    answer = control("POST", "/clock", data=b"advance=5")
    assert answer.status_code == 415
    answer = control("POST", "/clock", data=b"{", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["reason"] == "the body is not JSON"
    big = b'{"path": "/x", "status": 502, "body": "' + b"x" * MAX_CONTROL_BYTES + b'"}'
    answer = control("POST", "/faults", data=big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer é"],
)
def test_without_the_token_the_answer_is_401(
    controlled: SandboxServer, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization.encode()}
    for method, path in [("GET", "/clock"), ("POST", "/clock"), ("DELETE", "/faults")]:
        answer = requests.request(
            method,
            controlled.url + "/_sandbox" + path,
            headers=headers,
            json={"advance": 9},
            timeout=30,
        )
        assert answer.status_code == 401, (method, path)
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["error"] == "unauthorized"
    assert controlled.clock.offset == 0


def test_without_control_the_endpoints_do_not_exist(sandbox: SandboxServer) -> None:
    for method, path in [("GET", "/clock"), ("POST", "/faults"), ("GET", "/requests")]:
        answer = requests.request(
            method,
            sandbox.url + "/_sandbox" + path,
            headers={"Authorization": "Bearer anything"},
            timeout=30,
        )
        assert answer.status_code == 404 and answer.json() == {"error": "not_found"}


def test_the_control_token_is_not_in_the_openapi_description(controlled: SandboxServer) -> None:
    described = requests.get(controlled.url + "/openapi.json", timeout=30).text
    assert "/_sandbox" not in described and TOKEN not in described
    assert TOKEN not in repr(controlled.config)


# -- the command ---------------------------------------------------------------------


def clock_command(db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["sandbox", "clock", *args, "--db", str(db)])
    return result.exit_code, result.output


def test_the_clock_command_moves_a_running_servers_clock(
    controlled: SandboxServer,
) -> None:
    db = controlled.store.path
    controlled.add_user("host", PASSWORD)
    cup = controlled.add_tournament("Cup", "host", start="+10m", end="+1h")
    assert [
        t["id"]
        for t in requests.get(controlled.url + "/api/tournaments/upcoming", timeout=30).json()
    ] == [cup]

    code, output = clock_command(db, "+10m")
    assert code == 0 and output.startswith("Sandbox time: ") and "600 s ahead" in output
    listed = requests.get(controlled.url + "/api/tournaments/in_progress", timeout=30).json()
    assert [t["id"] for t in listed] == [cup]

    code, output = clock_command(db, "-1h")  # not an option: a step back
    assert code == 0 and "3000 s behind" in output
    code, output = clock_command(db, "2030-06-01T12:00:00")
    assert code == 0 and "Sandbox time: 2030-06-01 12:00:0" in output
    code, output = clock_command(db, "reset")
    assert code == 0 and "0 s ahead" in output
    code, output = clock_command(db)
    assert code == 0 and "0 s ahead" in output


def test_the_clock_command_refuses_nonsense(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    Store(db).close()
    code, output = clock_command(db, "next tuesday")
    assert code == 1 and "not a time: 'next tuesday'" in output
    code, output = clock_command(db, "+99999999999d")
    assert code == 1 and "years 1 to 9999" in output
    code, output = clock_command(tmp_path / "none.sqlite3", "+1h")
    assert code == 1 and "no sandbox database" in output


def test_the_clock_command_speaks_json(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    Store(db).close()
    result = CliRunner().invoke(main, ["--json", "sandbox", "clock", "+1h", "--db", str(db)])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert abs(found["offset"] - 3600) < 1e-6
    assert datetime.fromisoformat(found["now"]).tzinfo is None  # the wire's UTC


def url_clock(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["sandbox", "clock", *args, "--url", url])
    return result.exit_code, result.output


def test_the_clock_command_moves_a_server_through_its_control_endpoint(
    controlled: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONTROL_TOKEN_ENV, TOKEN)
    code, output = url_clock(controlled.url, "+10m")
    assert code == 0 and "600 s ahead" in output, output
    assert abs(controlled.clock.offset - 600) < 1
    code, output = url_clock(controlled.url, "-1h")
    assert code == 0 and "3000 s behind" in output
    assert "3000 s behind" in url_clock(controlled.url)[1]  # shown, not moved
    code, output = url_clock(controlled.url, "reset")
    assert code == 0 and "0 s ahead" in output and controlled.clock.offset == 0
    code, output = url_clock(controlled.url, "whenever")
    assert code == 1 and "not a time: 'whenever'" in output


def test_the_clock_command_says_what_a_server_did_not_do(
    controlled: SandboxServer, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONTROL_TOKEN_ENV, raising=False)
    code, output = url_clock(controlled.url, "+1h")
    assert code == 1 and f"set ${CONTROL_TOKEN_ENV} to the server's control token" in output
    monkeypatch.setenv(CONTROL_TOKEN_ENV, "not-the-token-at-all")
    code, output = url_clock(controlled.url, "+1h")
    assert code == 1 and "refused the control token" in output
    code, output = url_clock(sandbox.url, "+1h")  # served without --control
    assert code == 1 and "start the sandbox with 'serve --control'" in output
    code, output = url_clock("ftp://example.org", "+1h")
    assert code == 1 and "not an http(s) server URL" in output
    result = CliRunner().invoke(main, ["sandbox", "clock", "--url", sandbox.url, "--db", "x.db"])
    assert result.exit_code == 2 and "give --url or --db, not both" in result.output
    assert controlled.clock.offset == 0 and sandbox.clock.offset == 0


def test_the_clock_command_reads_a_bounded_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    import http.server
    import threading

    class Flood(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{" + b" " * 10_000_000)

        def log_message(self, *args: object) -> None:
            pass

    monkeypatch.setenv(CONTROL_TOKEN_ENV, TOKEN)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flood)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        code, output = url_clock(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1 and "answered HTTP 200, not a sandbox's answer" in output
    port = server.server_address[1]  # nothing listens there now
    code, output = url_clock(f"http://127.0.0.1:{port}")
    assert code == 1 and "cannot reach" in output


def test_a_chosen_control_token_must_be_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONTROL_TOKEN_ENV, "short")
    result = CliRunner().invoke(
        main, ["sandbox", "serve", "--control", "--port", "0", "--db", str(tmp_path / "s.db")]
    )
    assert result.exit_code == 1
    assert f"${CONTROL_TOKEN_ENV} is too short: give at least 16 characters" in result.output


def _serve(db: Path, *options: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "scoreganizer_client_lib", "sandbox", "serve", "--port", "0",
         "--db", str(db), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.mark.slow
def test_serve_control_prints_a_new_token(tmp_path: Path) -> None:
    proc = _serve(tmp_path / "sandbox.sqlite3", "--workers", "1", "--control")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[3]
        token_line = proc.stdout.readline()
        assert token_line.startswith("Control token: ")
        token = token_line.split()[2]
        assert len(token) >= 32
        assert Control(url, token)("GET", "/clock").status_code == 200
        assert Control(url, token[:-1])("GET", "/clock").status_code == 401
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


@pytest.mark.slow
def test_serve_control_with_workers_shares_clock_and_faults(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    token = "a-token-the-script-chose"
    proc = _serve(db, "--workers", "2", "--control", env={CONTROL_TOKEN_ENV: token})
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        url = banner.split()[3]
        token_line = proc.stdout.readline()
        assert token_line == f"Control token: the one in ${CONTROL_TOKEN_ENV}\n"
        control = Control(url, token)
        assert requests.get(url + "/_sandbox/clock", timeout=30).status_code == 401

        control("POST", "/users", json={"name": "alice", "password": PASSWORD})
        cup = control(
            "POST",
            "/tournaments",
            json={"name": "Cup", "host": "alice", "start": "+1h", "end": "+2h"},
        )
        assert cup.status_code == 201
        control("POST", "/faults", json={"path": "/api/tournaments/all", "status": 503, "times": 3})
        # new connections, so that both workers answer
        statuses = [
            requests.get(
                url + "/api/tournaments/all", timeout=30, headers={"Connection": "close"}
            ).status_code
            for _ in range(8)
        ]
        assert statuses == [503] * 3 + [200] * 5

        assert clock_command(db, "+1h")[0] == 0  # the command, on the same file
        sc = Scoreganizer.from_url(url, auth_filename=None)
        sc.login("alice", PASSWORD)
        for _ in range(4):  # whichever worker answers, the tournament has started
            assert [t.id for t in sc.tournaments.in_progress()] == [cup.json()["id"]]
        logged = control("GET", "/requests").json()
        assert [r["status"] for r in logged[:8]] == statuses
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


def sandbox_command(*args: str, as_json: bool = False) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*(["--json"] if as_json else []), "sandbox", *args])
    return result.exit_code, result.output


@pytest.fixture(params=["db", "url"])
def target(
    request: pytest.FixtureRequest, controlled: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """The command's options for the controlled sandbox: its file, or its URL."""
    monkeypatch.setenv(CONTROL_TOKEN_ENV, TOKEN)
    if request.param == "db":
        return ["--db", str(controlled.store.path)]
    return ["--url", controlled.url]


def test_faults_and_the_log_from_the_command(controlled: SandboxServer, target: list[str]) -> None:
    code, output = sandbox_command(
        "add-fault", "/api/tournaments/all", "--status", "503", "--times", "2", *target
    )
    assert (code, output) == (0, "The next 2 requests to /api/tournaments/all: HTTP 503.\n")
    code, output = sandbox_command(
        "add-fault", "/api/tournaments/*", "--method", "GET", "--delay", "0.01", "--drop", *target
    )
    assert (
        output
        == "The next request to /api/tournaments/*: delay 0.01 s, then drop the connection.\n"
    )
    code, output = sandbox_command("faults", *target)
    assert code == 0
    lines = output.splitlines()
    assert lines[0].split() == ["METHOD", "PATH", "LEFT", "ANSWER"]
    assert lines[2].split()[:3] == ["any", "/api/tournaments/all", "2"]  # under a rule
    assert lines[3].split()[:3] == ["GET", "/api/tournaments/*", "1"]

    statuses = []
    for _ in range(4):
        try:
            statuses.append(
                requests.get(controlled.url + "/api/tournaments/all", timeout=30).status_code
            )
        except requests.ConnectionError:
            statuses.append(None)
    assert statuses == [503, 503, None, 200]
    assert sandbox_command("faults", *target)[1] == "No faults.\n"

    code, output = sandbox_command("requests", *target, as_json=True)
    assert [(r["path"], r["status"]) for r in json.loads(output)] == [
        ("/api/tournaments/all", 503),
        ("/api/tournaments/all", 503),
        ("/api/tournaments/all", None),
        ("/api/tournaments/all", 200),
    ]
    code, output = sandbox_command("requests", *target)
    assert output.splitlines()[0].split() == ["TIME", "(UTC)", "METHOD", "PATH", "STATUS"]
    assert output.splitlines()[4].endswith("dropped")
    assert sandbox_command("requests", "--clear", *target)[1] == "Requests forgotten: 4.\n"
    assert sandbox_command("requests", *target)[1] == "No requests.\n"

    sandbox_command("add-fault", "/api/token_status", "--error", "token_too_recent", *target)
    assert sandbox_command("faults", "--clear", *target)[1] == "Faults cleared: 1.\n"


def test_a_fault_the_command_cannot_add(controlled: SandboxServer, target: list[str]) -> None:
    code, output = sandbox_command("add-fault", "/x", "--body", "<h1>down</h1>", *target)
    assert code == 1 and "a body needs its status" in output
    code, output = sandbox_command("add-fault", "/x", "--delay", "3600", *target)
    assert code == 1 and "delay must be 0 to 60 seconds" in output
    code, output = sandbox_command("add-fault", "/x", *target)
    assert code == 1 and "a fault needs a status, error, body, drop or delay" in output
    assert not controlled.faults
