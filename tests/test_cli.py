"""The `scoreganizer` command end to end against a sandbox: through click's
runner, and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import PASSWORD, REPLAYS, Clock
from scoreganizer_client_lib.cli import main
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario

Run = Callable[..., Result]


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv("SCOREGANIZER_CONFIG_DIR", str(folder))
    monkeypatch.delenv("SCOREGANIZER_PASSWORD", raising=False)
    monkeypatch.delenv("SCOREGANIZER_SERVER", raising=False)
    return folder


@pytest.fixture
def run(sandbox: SandboxServer, config_dir: Path) -> Run:
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, server: bool = True) -> Result:
        prefix = ["--server", sandbox.url] if server else []
        return runner.invoke(main, [*prefix, *args], input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def cup(sandbox: SandboxServer) -> int:
    for name in ("host", "alice"):
        scenario.add_user(sandbox.store, name, PASSWORD)
    return scenario.add_tournament(sandbox.store, "CLI Cup", "host", start="-1m", end="+1h")


def _json(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_login_status_logout(
    run: Run, cup: int, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "Not logged in" in run("status").output
    result = run("login", "alice", input=PASSWORD + "\n")  # the prompt, no echo
    assert result.exit_code == 0 and "Logged in as alice" in result.output
    assert PASSWORD not in result.output
    (auth,) = (config_dir / "credentials").iterdir()
    assert auth.read_text().startswith("alice:")
    if os.name == "posix":
        assert auth.stat().st_mode & 0o777 == 0o600
    status = _json(run("--json", "status"))
    assert (status["user"], status["token_status"], status["refreshed"]) == ("alice", "ok", False)
    assert _json(run("--json", "logout"))["logged_out"] is True
    assert not auth.exists()
    assert _json(run("--json", "status"))["user"] is None

    wrong = run("login", "alice", "--password-stdin", input="nope\n")
    assert wrong.exit_code == 1
    assert "wrong username or password" in wrong.stderr
    assert "Traceback" not in wrong.output
    monkeypatch.setenv("SCOREGANIZER_PASSWORD", PASSWORD)
    assert _json(run("--json", "login", "alice"))["logged_in"] is True


def test_stale_token_is_refreshed(run: Run, cup: int, clock: Clock) -> None:
    run("login", "alice", "--password-stdin", input=PASSWORD)
    clock.advance(3601)
    status = _json(run("--json", "status"))
    assert status["refreshed"] is True and status["token_status"] == "ok"


def test_tournaments_join_key_upload(
    run: Run, sandbox: SandboxServer, cup: int, tmp_path: Path, clock: Clock
) -> None:
    closed = scenario.add_tournament(
        sandbox.store, "Closed", "host", start="+1h", end="+2h", closed=True
    )
    run("login", "alice", "--password-stdin", input=PASSWORD)
    listed = _json(run("--json", "tournaments", "--all"))
    assert [(t["id"], t["status"]) for t in listed] == [
        (cup, "not_participating"),
        (closed, "not_participating"),
    ]
    table = run("tournaments")
    assert "CLI Cup" in table.output and "ago" in table.output and "in 60 min" in table.output
    assert _json(run("--json", "join", str(cup)))["status"] == "participating"
    assert "Asked to join" in run("join", str(closed)).output
    assert [t["id"] for t in _json(run("--json", "tournaments", "--mine"))] == [cup, closed]
    assert _json(run("--json", "tournaments", "--upcoming"))[0]["id"] == closed

    early = run("key", str(closed))
    assert early.exit_code == 1

    key = _json(run("--json", "key", str(cup)))
    assert key["arbiter_name"] == f"alice#{key['key']}"
    plain = run("key", str(cup))
    assert plain.stdout.strip() == key["key"]
    assert f"alice#{key['key']}" in plain.stderr

    now = datetime.fromtimestamp(clock(), timezone.utc)
    good = tmp_path / "good.rmv"
    good.write_bytes(write_rmv(key=key["key"], boardgen_time=now))
    unkeyed = tmp_path / "unkeyed.rmv"
    unkeyed.write_bytes(write_rmv(seed=3, boardgen_time=now))
    broken = tmp_path / "broken.avf"
    broken.write_bytes((REPLAYS / "test_subject.avf").read_bytes()[:100])
    result = run("--json", "upload", str(good), str(unkeyed), str(broken), "--tournament", str(cup))
    assert result.exit_code == 1
    lines = json.loads(result.stdout)
    assert [line["accepted"] for line in lines] == [True, False, False]
    assert lines[1]["error"] == "replay_has_no_key"
    assert lines[2]["error"] == "replay_unreadable"
    ok = run("upload", str(good))
    assert ok.exit_code == 0 and "accepted (beginner" in ok.output
    assert sandbox.store.count("scores") == 1


def test_inspect(run: Run) -> None:
    files = sorted(str(p) for p in REPLAYS.iterdir())
    data = _json(run("--json", "inspect", *files, server=False))
    by_name = {Path(d["file"]).name: d for d in data}
    assert by_name["test_subject.rmv"]["key"] == "2_1_517cce9419171fee58a550067fed65ed"
    assert by_name["test_subject.evf"]["board"]["level"] == "expert"
    assert by_name["test_subject.avf"]["player"] == {"name": "Tommy"}
    text = run("inspect", files[0], server=False)
    assert "Minesweeper Arbiter 0.52.3" in text.output and "local clock" in text.output


def test_inspect_bad_file(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.rmv"
    bad.write_bytes(b"*rmv\x00\x02\x01")
    result = run("inspect", str(bad), server=False)
    assert result.exit_code == 1 and "unreadable" in result.output


def test_sandbox_commands(run: Run, tmp_path: Path) -> None:
    db = str(tmp_path / "hosted.sqlite3")
    assert "created" in run("sandbox", "add-user", "hal", "--password", "pw", "--db", db).output
    run("sandbox", "add-user", "ida", "--db", db, input="pw\npw\n")
    run("sandbox", "add-user", "joe", "--password", "pw", "--db", db)
    duplicate = run("sandbox", "add-user", "hal", "--password", "pw", "--db", db)
    assert duplicate.exit_code == 1 and "exists" in duplicate.output
    made = run(
        "sandbox",
        "add-tournament",
        "Hosted",
        "--host-user",
        "hal",
        "--start",
        "-5m",
        "--end",
        "+2d",
        "--closed",
        "--mode",
        "sum_timelimit",
        "--modeparams",
        "1+1+0;900",
        "--db",
        db,
    )
    assert made.exit_code == 0, made.output
    tid = made.stdout.strip()
    bad = run(
        "sandbox", "add-tournament", "X", "--host-user", "hal", "--modeparams", "1+1", "--db", db
    )
    assert bad.exit_code == 1 and "B+I+E" in bad.output
    assert _json(run("--json", "sandbox", "invite", tid, "ida", "--db", db))["status"] == "invited"
    refused = run("sandbox", "confirm", tid, "joe", "--db", db)
    assert refused.exit_code == 1 and "has not asked" in refused.output
    listed = _json(run("sandbox", "list", "--json", "--db", db))
    assert listed[0]["mode"] == "sum_timelimit" and listed[0]["open_entry"] is False
    standings = _json(run("sandbox", "standings", tid, "--json", "--db", db))
    assert standings["standings"] == []
    assert "No players yet" in run("sandbox", "standings", tid, "--db", db).output


def test_hidden_results(run: Run, tmp_path: Path) -> None:
    db = str(tmp_path / "hidden.sqlite3")
    run("sandbox", "add-user", "hal", "--password", "pw", "--db", db)
    tid = run(
        "sandbox", "add-tournament", "Secret", "--host-user", "hal", "--hide-results", "--db", db
    ).stdout.strip()
    hidden = run("sandbox", "standings", tid, "--db", db)
    assert hidden.exit_code == 1 and "hidden" in hidden.output
    assert run("sandbox", "standings", tid, "--reveal", "--db", db).exit_code == 0


def test_dead_server_is_one_line(config_dir: Path) -> None:
    result = CliRunner().invoke(main, ["--server", "http://127.0.0.1:9", "tournaments"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "cannot reach http://127.0.0.1:9" in result.output
    bad = CliRunner().invoke(main, ["--server", "ftp://x", "tournaments"])
    assert bad.exit_code == 2 and "not an http(s) server URL" in bad.output


def test_demo_in_process(config_dir: Path) -> None:
    result = CliRunner().invoke(main, ["--json", "demo", "--start-in", "1"], catch_exceptions=False)
    summary = json.loads(result.stdout)
    assert result.exit_code == 0
    assert summary["accepted"]["alice"] == [
        "alice_beginner.rmv",
        "alice_intermediate.rmv",
        "alice_expert.rmv",
    ]
    ranks = [(s["player"], s["complete"]) for s in summary["standings"]]
    assert ranks == [("alice", True), ("bob", False)]
    assert summary["seconds"] < 60


@pytest.mark.slow
def test_subprocess_help_version_and_demo(tmp_path: Path) -> None:
    env = {**os.environ, "SCOREGANIZER_CONFIG_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "scoreganizer_client_lib"]
    version = subprocess.run([*command, "--version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0 and "0.4.0" in version.stdout
    help_text = subprocess.run([*command, "--help"], capture_output=True, text=True, env=env)
    assert "watch" in help_text.stdout
    probe = (
        "import sys; sys.argv=['scoreganizer', '--help'];"
        "from scoreganizer_client_lib.cli import main\n"
        "try: main()\nexcept SystemExit: pass\n"
        "heavy = [m for m in ('requests', 'httpx', 'fastapi', 'uvicorn', "
        "'scoreganizer_client_lib.replays') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env
    )
    assert imported.stderr.strip() == "[]"
    demo = subprocess.run([*command, "demo"], capture_output=True, text=True, env=env, timeout=60)
    assert demo.returncode == 0, demo.stderr
    assert "Standings of Demo Cup" in demo.stdout and "alice" in demo.stdout


def test_quick_help_matches_the_click_application(capsys: pytest.CaptureFixture[str]) -> None:
    from scoreganizer_client_lib.cli import COMMANDS, run

    run(["--help"])
    quick = capsys.readouterr().out
    full = CliRunner().invoke(main, ["--help"], prog_name="scoreganizer", terminal_width=200).output
    assert " ".join(quick.split()) == " ".join(full.split())
    for name in COMMANDS:  # every command the fast path lists can really be run
        assert CliRunner().invoke(main, [name, "--help"]).exit_code == 0
    run(["--version"])
    assert capsys.readouterr().out == CliRunner().invoke(main, ["--version"], prog_name="x").output


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    files = [str(REPLAYS / "test_subject.avf")] * 2000  # far more than a pipe buffer holds
    command = [sys.executable, "-m", "scoreganizer_client_lib", "inspect", *files]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().strip().endswith(b"test_subject.avf")
    process.stdout.close()  # as `| head -1` does
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 1
    assert stderr == b""
