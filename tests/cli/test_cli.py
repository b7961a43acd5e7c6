"""The `scoreganizer` command end to end against a sandbox: through click's
runner, and as a real subprocess. Each test reads the command's real output."""

from __future__ import annotations

import http.server
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from conftest import PASSWORD, REAL_REPLAYS, REPLAYS, TEST_CONFIG, Clock, fresh_seed, wait_for
from scoreganizer_client_lib import replays
from scoreganizer_client_lib.cli import Settings, main
from scoreganizer_client_lib.replays.testing import write_avf, write_evf, write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario
from scoreganizer_client_lib.score import UploadResult

Run = Callable[..., Result]
COMMAND = [sys.executable, "-m", "scoreganizer_client_lib"]
ISO_WITH_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d")
_names = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """One sandbox for the module; each test makes its own users and tournaments."""
    db = tmp_path_factory.mktemp("cli") / "sandbox.sqlite3"
    with SandboxServer(db, config=TEST_CONFIG) as sandbox:
        scenario.add_user(sandbox.store, "host", PASSWORD)
        yield sandbox


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv("SCOREGANIZER_CONFIG_DIR", str(folder))
    for name in ("SCOREGANIZER_PASSWORD", "SCOREGANIZER_SERVER", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def run(server: SandboxServer, config_dir: Path) -> Run:
    """The command in-process, with ``--server`` put before the subcommand."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, **kwargs: object) -> Result:
        args = ("--server", server.url, *args)
        return runner.invoke(main, args, input=input, prog_name="scoreganizer", **kwargs)

    return invoke


@pytest.fixture
def host(config_dir: Path) -> Run:
    """The command in-process, as a host runs its sandbox commands (no --server)."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, **kwargs: object) -> Result:
        return runner.invoke(main, args, input=input, prog_name="scoreganizer", **kwargs)

    return invoke


@pytest.fixture
def player(server: SandboxServer) -> str:
    """A new user, with PASSWORD."""
    name = f"p{next(_names)}"
    scenario.add_user(server.store, name, PASSWORD)
    return name


def _login(run: Run, user: str) -> None:
    assert run("login", user, "--password-stdin", input=PASSWORD).exit_code == 0


def _json(result: Result) -> object:
    """The command's JSON output; every time in it has its offset."""
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for text in re.findall(r'"(\d{4}-\d\d-\d\d[T ][^"]*)"', result.stdout):
        assert ISO_WITH_OFFSET.fullmatch(text), f"a time without its offset: {text}"
    return data


def _cup(server: SandboxServer, **kwargs: object) -> int:
    name = str(kwargs.pop("name", f"Cup {next(_names)}"))
    kwargs.setdefault("start", "-1m")
    return scenario.add_tournament(server.store, name, "host", **kwargs)  # type: ignore[arg-type]


def _replay(folder: Path, name: str, key: str | None = None) -> Path:
    path = folder / name
    now = datetime.now(timezone.utc)
    path.write_bytes(write_rmv(key=key, seed=fresh_seed(), boardgen_time=now))
    return path


# -- account -------------------------------------------------------------------


def test_login_status_logout(
    run: Run, server: SandboxServer, player: str, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("status").output == (
        f"Not logged in on {server.url}: no login is stored for this server; "
        f"run 'scoreganizer --server {server.url} login USER'.\n"
    )
    result = run("login", player, input=PASSWORD + "\n")  # the prompt, no echo
    assert result.exit_code == 0 and f"Logged in as {player}" in result.output
    assert PASSWORD not in result.output
    (auth,) = (config_dir / "credentials").iterdir()
    assert auth.read_text().startswith(f"{player}:")
    if os.name == "posix":
        assert auth.stat().st_mode & 0o777 == 0o600
    status = _json(run("--json", "status"))
    assert (status["user"], status["token_status"], status["refreshed"]) == (player, "ok", False)
    assert _json(run("--json", "logout"))["logged_out"] is True
    assert not auth.exists()
    assert _json(run("--json", "status"))["user"] is None
    assert "Was not logged in" in run("logout").output

    wrong = run("login", player, "--password-stdin", input="nope\n")
    assert wrong.exit_code == 1
    assert wrong.stderr == "error: wrong username or password\n"
    monkeypatch.setenv("SCOREGANIZER_PASSWORD", PASSWORD)
    assert _json(run("--json", "login", player))["logged_in"] is True


def test_only_a_successful_login_writes_a_credentials_file(
    run: Run, player: str, config_dir: Path
) -> None:
    run("status")
    run("tournaments")
    run("upload", str(REPLAYS / "test_subject.rmv"))
    run("logout")
    run("login", player, "--password-stdin", input="wrong\n")
    CliRunner().invoke(main, ["--server", "http://127.0.0.1:9", "status"])
    assert not config_dir.exists() or not any(config_dir.rglob("*.txt"))
    _login(run, player)
    assert len(list(config_dir.rglob("*.txt"))) == 1


def test_stale_token_is_refreshed(sandbox: SandboxServer, clock: Clock, config_dir: Path) -> None:
    scenario.add_user(sandbox.store, "alice", PASSWORD)
    runner = CliRunner()
    args = ["--server", sandbox.url]
    runner.invoke(main, [*args, "login", "alice", "--password-stdin"], input=PASSWORD)
    clock.advance(3601)
    status = _json(runner.invoke(main, [*args, "--json", "status"]))
    assert status["refreshed"] is True and status["token_status"] == "ok"


def test_a_garbled_credentials_file_is_reported_once(
    run: Run, server: SandboxServer, config_dir: Path
) -> None:
    from scoreganizer_client_lib.cli._common import auth_path

    path = auth_path(server.url)
    path.parent.mkdir(parents=True)
    path.write_text("not a credentials line\n")
    result = run("status")
    assert result.exit_code == 0
    assert result.stderr.count("does not hold one 'username:token' line") == 1, result.stderr
    assert result.stderr.startswith("warning: ")


# -- global options, usage, errors ---------------------------------------------


def test_global_options_are_accepted_after_the_subcommand(
    server: SandboxServer, config_dir: Path
) -> None:
    cup = _cup(server, start="+1h", end="+2h")
    runner = CliRunner()
    listed = runner.invoke(main, ["tournaments", "--upcoming", "--json", "--server", server.url])
    assert cup in [t["id"] for t in _json(listed)]  # type: ignore[union-attr]
    dead = runner.invoke(main, ["tournaments", "-v", "--server", "http://127.0.0.1:9"])
    assert dead.exit_code == 1 and dead.exception is not None  # --verbose: the traceback
    quiet = runner.invoke(main, ["tournaments", "--server", "http://127.0.0.1:9"])
    assert quiet.exit_code == 1 and quiet.exception is not None  # the sys.exit(1)
    assert quiet.stderr.startswith("error: cannot reach http://127.0.0.1:9")


def test_conflicting_lists_are_an_error(run: Run) -> None:
    result = run("tournaments", "--all", "--archive")
    assert result.exit_code == 2
    assert "error: choose one list: --all and --archive cannot be combined" in result.stderr


def test_every_error_has_one_prefix(run: Run, player: str) -> None:
    usage = run("key", "not-a-number")
    command = run("join", "1")  # not logged in
    unknown = run("frobnicate")
    for result in (usage, command, unknown):
        assert result.exit_code != 0
        assert "Error:" not in result.output
        assert result.stderr.splitlines()[-1].startswith("error: ")
    assert "Try 'scoreganizer key --help' for help." in usage.stderr


def test_not_logged_in_says_what_to_run(run: Run, server: SandboxServer) -> None:
    cup = _cup(server)
    for args in (["join", str(cup)], ["key", str(cup)], ["confirm", str(cup)]):
        result = run(*args)
        assert result.exit_code == 1
        assert f"run 'scoreganizer --server {server.url} login USER'" in result.stderr


@pytest.fixture(scope="module")
def not_scoreganizer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A plain static file server, as ``python -m http.server`` is."""
    folder = tmp_path_factory.mktemp("static")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_server_that_is_not_scoreganizer(not_scoreganizer: str, config_dir: Path) -> None:
    runner = CliRunner()
    for args in (["tournaments"], ["login", "x", "--password-stdin"]):
        result = runner.invoke(main, ["--server", not_scoreganizer, *args], input="pw\n")
        assert result.exit_code == 1
        assert result.stderr.startswith(
            f"error: this does not look like a Scoreganizer server at {not_scoreganizer}"
        ), result.stderr


def test_https_to_a_plain_http_server_suggests_http(
    server: SandboxServer, config_dir: Path
) -> None:
    address = server.url.removeprefix("http://")
    for typed in (address, f"https://{address}"):  # with the scheme or without
        result = CliRunner().invoke(main, ["--server", typed, "tournaments"])
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: could not speak HTTPS to {address}; did you mean http://{address}?\n"
        )


def test_an_untrusted_certificate_is_not_taken_for_plain_http() -> None:
    import ssl

    from requests.exceptions import SSLError
    from urllib3.exceptions import MaxRetryError
    from urllib3.exceptions import SSLError as Urllib3SSLError

    from scoreganizer_client_lib.cli._errors import describe

    inner = Urllib3SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    failure = SSLError(MaxRetryError(None, "/api/", reason=inner))  # type: ignore[arg-type]
    settings = Settings("https://example.test:443", as_json=False, verbose=False)
    assert describe(failure, settings) == (
        "could not speak HTTPS to example.test:443: its certificate is not one to trust"
    )
    plain = SSLError(MaxRetryError(None, "/api/", reason=Urllib3SSLError("wrong version")))  # type: ignore[arg-type]
    assert describe(plain, settings).endswith("did you mean http://example.test:443?")


def test_standings_of_a_tournament(
    run: Run, server: SandboxServer, player: str, tmp_path: Path
) -> None:
    cup, key = _keyed_player(run, server, player)
    game = _replay(tmp_path, "mine.rmv", key)
    assert run("upload", str(game)).exit_code == 0
    shown = run("standings", str(cup), env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].endswith("(sum 1+1+1)")
    assert lines[1].split() == ["#", "PLAYER", "TOTAL", "GAMES", "COMPLETE", "BEST", "TIMES"]
    mine = next(line for line in lines if f"{player} (you)" in line)
    assert mine.split()[0] == "1" and " beg " in f" {mine} "
    listed = _json(run("--json", "standings", str(cup)))
    assert listed["rows"][0]["player"] == player  # type: ignore[index]
    assert listed["rows"][0]["games"] == 1  # type: ignore[index]

    hidden = _cup(server, name="Secret", hide_results=True)
    refused = run("standings", str(hidden))
    assert refused.exit_code == 1
    assert refused.stderr == "error: the host hides the results until the tournament ends\n"


def test_standings_where_the_server_shows_none(not_scoreganizer: str, config_dir: Path) -> None:
    result = CliRunner().invoke(main, ["--server", not_scoreganizer, "standings", "7"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the server offers no standings for tournament 7; its results are on "
        f"{not_scoreganizer}/tournaments/7/\n"
    )


def test_dead_server_is_one_line(config_dir: Path) -> None:
    waits: list[float] = []
    waiting = Settings("", sleep=waits.append)
    result = CliRunner().invoke(
        main, ["--server", "http://127.0.0.1:9", "tournaments"], obj=waiting
    )
    assert result.exit_code == 1 and waits == []  # nothing listens there: said at once
    assert result.output == "error: cannot reach http://127.0.0.1:9: could not connect " + (
        "(is the address right, is it running?)\n"
    )
    bad = CliRunner().invoke(main, ["--server", "ftp://x", "tournaments"])
    assert bad.exit_code == 2 and "error: Invalid value for --server: not an http(s)" in bad.output


# -- tournaments, join, key -------------------------------------------------------


def test_tournaments_join_key(run: Run, server: SandboxServer, player: str) -> None:
    cup = _cup(server, name="CLI Cup")
    closed = _cup(server, name="Closed", start="+1h", end="+2h", closed=True)
    _login(run, player)
    listed = _json(run("--json", "tournaments", "--all"))
    statuses = {t["id"]: t["status"] for t in listed}  # type: ignore[union-attr]
    assert (statuses[cup], statuses[closed]) == ("not_participating", "not_participating")
    for tournament in listed:  # type: ignore[union-attr]
        assert ISO_WITH_OFFSET.fullmatch(tournament["start"]), tournament
        assert ISO_WITH_OFFSET.fullmatch(tournament["end"]), tournament
    text = run("tournaments").output
    assert "CLI Cup" in text and "running, ends" in text and "starts" in text
    assert "(in 60 min)" in text
    assert run("join", str(cup)).stdout == f'Joined "CLI Cup" ({cup}).\n'  # no wire code
    assert _json(run("--json", "join", str(cup)))["status"] == "participating"
    assert 'Asked to join "Closed"' in run("join", str(closed)).output
    assert [t["id"] for t in _json(run("--json", "tournaments", "--mine"))] == [cup, closed]

    waiting = run("key", str(closed), "--wait")  # not in yet: fails at once, no countdown
    assert waiting.exit_code == 1
    assert waiting.stderr == 'error: you asked to join "Closed"; the host has not let you in yet\n'

    key = _json(run("--json", "key", str(cup)))
    assert key["arbiter_name"] == f"{player}#{key['key']}"  # type: ignore[index]
    plain = run("key", str(cup))
    assert plain.stdout.strip() == key["key"]  # type: ignore[index]
    value = key["key"]  # type: ignore[index]
    assert plain.stderr.splitlines()[:3] == [  # each clone's field, as the app's buttons copy it
        f"  ViennaSweeper: set the nickname to {value}",
        f"  Minesweeper Arbiter: set the name to {player}#{value}",
        f"  Metasweeper: set the player identifier to {player}#{value}",
    ]
    assert "   " not in plain.stderr
    assert "no tournament has the id 999999" in run("key", "999999").stderr


def test_key_wait_checks_participation_first(run: Run, server: SandboxServer, player: str) -> None:
    later = _cup(server, name="Later Cup", start="+1h", end="+2h")
    invited = _cup(server, name="Invitational", start="+1h", end="+2h", closed=True)
    scenario.invite(server.store, invited, player)
    _login(run, player)
    # Both are refused before any wait: a wait for the start (an hour away) would fail by
    # the test's own timeout.
    result = run("key", str(later), "--wait")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: you have not joined \"Later Cup\": run 'scoreganizer join {later}'\n"
    )
    result = run("key", str(invited), "--wait")
    assert f"run 'scoreganizer confirm {invited}'" in result.stderr


def test_key_expiry_in_json_has_an_offset(run: Run, server: SandboxServer, player: str) -> None:
    cup = _cup(server, mode="sum_timelimit", modeparams="1+1+1;600")
    _login(run, player)
    run("join", str(cup))
    key = _json(run("--json", "key", str(cup), "--yes"))
    assert ISO_WITH_OFFSET.fullmatch(key["key_expiry"])  # type: ignore[index]


def test_the_list_keeps_what_a_player_needs_at_80_columns(
    run: Run, server: SandboxServer, player: str
) -> None:
    """Time of day, how far off, whether it runs: never cut, however long the
    names; the name gives way."""
    now = datetime.now(timezone.utc)
    soon = _cup(server, name="Soon " * 20, start=now + timedelta(minutes=3), end="+2h")
    running = _cup(server, name="Running " * 20, mode="sum_timelimit", modeparams="1+1+1;600")
    _login(run, player)
    run("join", str(running))
    lines = run("tournaments", env={"COLUMNS": "80"}).output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].split() == ["ID", "NAME", "MODE", "WHEN", "(LOCAL", "TIME)", "ENTRY", "YOU"]
    rows = {line.split()[0]: line for line in lines[2:]}
    start = (now + timedelta(minutes=3)).astimezone().strftime("%H:%M")
    assert f"starts {start} (in 3 min)" in rows[str(soon)]
    assert rows[str(soon)].split()[-3:] == ["open", "not", "joined"]
    assert "running, ends " in rows[str(running)] and "(in 60 min)" in rows[str(running)]
    assert rows[str(running)].split()[-2:] == ["open", "joined"]


def test_key_in_a_time_limited_tournament_asks_first(
    run: Run, server: SandboxServer, player: str
) -> None:
    cup = _cup(server, name="Timed", mode="sum_timelimit", modeparams="1+1+1;600")
    _login(run, player)
    run("join", str(cup))
    unasked = run("key", str(cup))  # nobody at a terminal to ask: nothing starts
    assert unasked.exit_code == 1
    assert unasked.stderr == (
        'error: getting your key for "Timed" starts your 10 min of play now; add --yes to '
        "start it\n"
    )
    assert "of play the moment the tournament starts" in run("key", str(cup), "--wait").stderr
    key = run("key", str(cup), "--yes")
    assert key.exit_code == 0 and "Uploads count until" in key.stderr
    again = run("key", str(cup))  # the time runs already: nothing to ask
    assert again.exit_code == 0 and again.stdout == key.stdout


def test_key_after_the_end_says_uploads_no_longer_count(
    sandbox: SandboxServer, clock: Clock, config_dir: Path
) -> None:
    scenario.add_user(sandbox.store, "host", PASSWORD)
    scenario.add_user(sandbox.store, "ann", PASSWORD)
    now = datetime.now(timezone.utc)
    over = scenario.add_tournament(
        sandbox.store, "Over", "host", start=now - timedelta(hours=2), end=now - timedelta(hours=1)
    )
    clock.advance(-90 * 60)  # the server: mid-tournament; this computer: an hour after it

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["--server", sandbox.url, *args], input=PASSWORD)

    run("login", "ann", "--password-stdin")
    run("join", str(over))
    got = run("key", str(over))
    assert got.exit_code == 0 and got.stdout.count("_") == 2  # the key itself
    assert got.stderr == "  the tournament ended 1 h ago: uploads no longer count.\n"


def test_tables_fit_the_terminal(run: Run, server: SandboxServer) -> None:
    _cup(server, name="A very long tournament name " * 6, start="+1h", end="+2h")
    result = run("tournaments", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "…" in result.output
    assert not re.search(r"\d\d:\d\d:\d\d", result.output)  # minutes, never microseconds


# -- upload -------------------------------------------------------------------


def _keyed_player(run: Run, server: SandboxServer, player: str) -> tuple[int, str]:
    cup = _cup(server)
    _login(run, player)
    run("join", str(cup))
    key = _json(run("--json", "key", str(cup)))["key"]  # type: ignore[index]
    return cup, key


def test_upload(run: Run, server: SandboxServer, player: str, tmp_path: Path) -> None:
    cup, key = _keyed_player(run, server, player)
    good = _replay(tmp_path, "good.rmv", key)
    unkeyed = _replay(tmp_path, "unkeyed.rmv")
    broken = tmp_path / "broken.avf"
    broken.write_bytes((REPLAYS / "test_subject.avf").read_bytes()[:100])
    missing = tmp_path / "missing.rmv"
    files = [str(p) for p in (good, unkeyed, broken, missing)]
    result = run("--json", "upload", *files, "--tournament", str(cup))
    assert result.exit_code == 1
    lines = json.loads(result.stdout)
    assert [line["accepted"] for line in lines] == [True, False, False, False]
    assert [line["outcome"] for line in lines] == ["accepted"] + ["not_uploaded"] * 3
    assert lines[0]["already_uploaded"] is False
    assert [line.get("error") for line in lines[1:]] == ["replay_has_no_key"] + [
        "replay_unreadable"
    ] * 2

    text = run("upload", *files)
    assert text.exit_code == 1
    out = text.stdout.splitlines()
    # the same game again: the server had it (and counts it once)
    assert re.fullmatch(r"beginner, \d+\.\d{3} s, \d+\.\d\d 3BV/s", lines[0]["summary"])
    assert out[0] == f"{good}: already uploaded ({lines[0]['summary']})"
    assert out[1].startswith(f"{unkeyed}: not uploaded: this replay has no tournament key (")
    assert out[2].startswith(f"{broken}: not uploaded: not a readable replay")
    assert out[3].startswith(f"{missing}: not uploaded: cannot read the file (")
    assert out[4] == "1 accepted, 3 not uploaded."
    for line in out[1:4]:
        path = line.split(": ")[0]
        assert line.count(Path(path).name) == 1, line  # the file name is not repeated
    assert server.store.count("scores") >= 1


def test_upload_when_logged_out_gives_every_file_its_line(
    run: Run, server: SandboxServer, player: str, tmp_path: Path
) -> None:
    _cup_id, key = _keyed_player(run, server, player)
    run("logout")
    good = _replay(tmp_path, "good.rmv", key)
    unkeyed = _replay(tmp_path, "unkeyed.rmv")
    result = run("upload", str(good), str(unkeyed))
    assert result.exit_code == 1
    hint = f"run 'scoreganizer --server {server.url} login USER'"
    assert result.stdout.splitlines() == [
        f"{good}: not uploaded: not logged in on {server.url} (or the login expired): {hint}",
        f"{unkeyed}: not uploaded: this replay has no tournament key (player name 'Player'); put "
        "your key in the player name before the next game (ViennaSweeper: the nickname; Arbiter "
        "and Metasweeper: name#KEY)",
        "0 accepted, 2 not uploaded.",
    ]
    single = run("upload", str(good))
    assert single.stdout.splitlines()[0].startswith(f"{good}: not uploaded: not logged in")


def test_upload_with_an_expired_login(
    run: Run, server: SandboxServer, player: str, tmp_path: Path, config_dir: Path
) -> None:
    _cup_id, key = _keyed_player(run, server, player)
    (auth,) = config_dir.rglob("*.txt")
    auth.write_text(f"{player}:{'0' * 40}")  # a token the server does not know
    files = [str(_replay(tmp_path, f"g{n}.rmv", key)) for n in range(3)]
    result = run("upload", *files)
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    said = f"not uploaded: not logged in on {server.url} (or the login expired)"
    assert all(said in line for line in out[:3])
    assert out[3] == "0 accepted, 3 not uploaded."


def test_upload_to_a_dead_server_is_not_a_refusal(
    run: Run, server: SandboxServer, player: str, tmp_path: Path
) -> None:
    _cup_id, key = _keyed_player(run, server, player)
    good = _replay(tmp_path, "good.rmv", key)
    from scoreganizer_client_lib.cli._common import auth_path

    dead = "http://127.0.0.1:9"
    auth_path(dead).write_text(auth_path(server.url).read_text())
    result = CliRunner().invoke(main, ["--server", dead, "upload", str(good), str(good)])
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    assert out[0] == f"{good}: not uploaded: cannot reach {dead}: could not connect " + (
        "(is the address right, is it running?)"
    )
    assert "refused" not in result.stdout


def test_refusals_are_in_words(
    run: Run, server: SandboxServer, player: str, tmp_path: Path
) -> None:
    cup, key = _keyed_player(run, server, player)
    other = _cup(server, name="Other Cup")
    mine = _replay(tmp_path, "mine.rmv", key)
    wrong_cup = run("upload", str(mine), "--tournament", str(other))
    assert wrong_cup.stdout.splitlines()[0] == (
        f'{mine}: not uploaded: this replay\'s key is for tournament {cup}, not "Other Cup" '
        f"({other}); an old game? Set this tournament's key in the clone before playing"
    )
    early = tmp_path / "early.rmv"  # a board from before the key (and after the start)
    early.write_bytes(
        write_rmv(
            key=key,
            seed=fresh_seed(),
            boardgen_time=datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=30),
        )
    )
    refused = run("upload", str(early))
    assert refused.exit_code == 1
    assert refused.stdout.splitlines()[0] == (
        f"{early}: refused: the server refused this replay: the board was generated before "
        "the key was"
    )  # the server's own words, where the client could only guess
    thief = f"p{next(_names)}"
    scenario.add_user(server.store, thief, PASSWORD)
    _login(run, thief)
    run("join", str(cup))
    run("key", str(cup))
    stolen = run("upload", str(mine))
    line = stolen.stdout.splitlines()[0]
    assert line.startswith(f"{mine}: refused: this replay carries another player's key (player #")
    assert line.endswith("not yours; only the player whose key is in a replay can upload it")
    assert "invalid_data" not in stolen.output  # no raw codes...
    verbose = run("upload", str(mine), "--verbose")
    assert verbose.stdout.splitlines()[0].endswith(" [invalid_data]")  # ... unless asked for


def test_upload_shows_the_judged_game_and_refuses_an_edited_file(
    run: Run, server: SandboxServer, player: str, tmp_path: Path
) -> None:
    cup, key = _keyed_player(run, server, player)
    now = datetime.now(timezone.utc)
    won, lost, edited = tmp_path / "won.evf", tmp_path / "lost.avf", tmp_path / "edited.avf"
    won.write_bytes(write_evf(key=key, seed=fresh_seed(), boardgen_time=now))
    lost.write_bytes(write_avf(key=key, seed=fresh_seed(), boardgen_time=now, outcome="lost"))
    edited.write_bytes(write_avf(key=key, seed=fresh_seed(), boardgen_time=now, claimed_time=1.07))
    judged = replays.inspect(won)
    assert judged.bbbv_per_second is not None

    result = run("upload", str(won), str(lost), str(edited))
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    assert out[0] == (
        f"{won}: accepted (beginner, {judged.game_time:.3f} s, {judged.bbbv_per_second:.2f} 3BV/s)"
    )
    assert out[1] == f"{lost}: accepted (beginner, lost: does not count)"
    assert out[2].startswith(
        f"{edited}: not uploaded: this replay disagrees with its own game: the file claims "
        "a time of 1.07 s"
    )
    assert out[2].endswith("send it anyway ('scoreganizer upload --force') and the server decides")
    assert out[3] == "2 accepted, 1 not uploaded."
    as_json = _json(run("--json", "upload", str(won)))[0]  # type: ignore[index]
    assert as_json["game"]["outcome"] == "won" and as_json["game"]["problems"] == []

    forced = run("upload", "--force", str(edited))
    assert forced.exit_code == 1
    assert forced.stdout.splitlines()[0].startswith(
        f"{edited}: refused: the server refused this replay: the replay disagrees with its "
        "own game: the file claims a time of 1.07 s"
    )  # the server judges it as the command did, and says why in words
    (mine,) = [e for e in scenario.standings(server.store, cup).entries if e.player == player]
    assert mine.games == 1 and mine.best["beginner"] == [judged.game_time]  # the lost game: no


def test_inspect_shows_outcome_time_3bv_clicks_and_problems(run: Run, tmp_path: Path) -> None:
    lost, edited = tmp_path / "lost.evf", tmp_path / "edited.rmv"
    lost.write_bytes(write_evf(seed=5, outcome="lost"))
    edited.write_bytes(write_rmv(seed=6, claimed_time=1.07))
    text = run("inspect", str(lost), str(edited))
    assert text.exit_code == 0
    info = replays.inspect(lost)
    clicks = info.clicks
    lines = text.stdout.splitlines()
    assert lines[6:10] == [
        f"  game: lost in {info.game_time:.3f} s, does not count",
        f"  3BV: {info.bbbv_solved} of {info.bbbv} solved, {info.bbbv_per_second:.2f} 3BV/s",
        f"  clicks: {clicks.total} (left {clicks.left}, right {clicks.right}, double "
        f"{clicks.double}), IOE {info.ioe:.2f}",
        "  problems: none",
    ]
    edited_lines = lines[lines.index(str(edited)) :]
    assert (
        edited_lines[6].startswith("  game: won in ")
        and "(the file claims 1.070 s)" in (edited_lines[6])
    )
    assert edited_lines[9].startswith("  problem: the file claims a time of 1.07 s")
    data = _json(run("--json", "inspect", str(lost), str(edited)))
    first, second = data  # type: ignore[misc]
    assert {k: first[k] for k in ("outcome", "won", "bbbv", "bbbv_solved")} == {
        "outcome": "lost",
        "won": False,
        "bbbv": info.bbbv,
        "bbbv_solved": info.bbbv_solved,
    }
    assert first["clicks"] == {
        "left": clicks.left,
        "right": clicks.right,
        "double": clicks.double,
        "total": clicks.total,
    }
    assert first["bbbv_per_second"] == info.bbbv_per_second and first["ioe"] == info.ioe
    assert first["problems"] == [] and second["claimed_time"] == 1.07
    assert second["problems"] and "1.07 s" in second["problems"][0]


def test_refusals_after_the_time_is_up(
    sandbox: SandboxServer, clock: Clock, config_dir: Path, tmp_path: Path
) -> None:
    scenario.add_user(sandbox.store, "host", PASSWORD)
    scenario.add_user(sandbox.store, "ann", PASSWORD)
    limited = scenario.add_tournament(
        sandbox.store,
        "Quick",
        "host",
        start="-1m",
        end="+1h",
        mode="sum_timelimit",
        modeparams="1+1+1;60",
    )
    ending = scenario.add_tournament(sandbox.store, "Ending", "host", start="-1m", end="+5m")
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, ["--server", sandbox.url, *args], input=PASSWORD)

    run("login", "ann", "--password-stdin")
    keys = {}
    for tid in (limited, ending):
        run("join", str(tid))
        keys[tid] = _json(run("--json", "key", str(tid), "--yes"))["key"]  # type: ignore[index]
    clock.advance(600)  # past the time limit and the end
    games = {tid: tmp_path / f"game{tid}.rmv" for tid in keys}
    later = datetime.fromtimestamp(clock(), timezone.utc)
    for tid, path in games.items():
        path.write_bytes(write_rmv(key=keys[tid], seed=fresh_seed(), boardgen_time=later))
    expired = run("upload", str(games[limited])).stdout.splitlines()[0]
    assert expired.startswith(f"{games[limited]}: refused: your playing time ran out at ")
    assert expired.endswith("in this tournament each player has a fixed time from getting the key")
    over = run("upload", str(games[ending])).stdout.splitlines()[0]
    assert over.startswith(f"{games[ending]}: refused: the tournament ended at ")


def test_an_interrupted_upload_prints_its_summary(
    run: Run, server: SandboxServer, player: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoreganizer_client_lib.cli import upload

    _cup_id, key = _keyed_player(run, server, player)
    files = [str(_replay(tmp_path, f"g{n}.rmv", key)) for n in range(3)]
    line = upload.Uploader.result

    def interrupted_at_the_second(
        self: upload.Uploader, outcome: UploadResult
    ) -> upload.FileResult:
        if Path(outcome.path).name == "g1.rmv":
            raise KeyboardInterrupt
        return line(self, outcome)

    monkeypatch.setattr(upload.Uploader, "result", interrupted_at_the_second)
    result = run("upload", *files)
    assert result.exit_code == 130
    out = result.stdout.splitlines()
    assert len(out) == 2 and out[0].startswith(f"{files[0]}: accepted (")
    assert out[1] == "1 accepted, 2 not uploaded."
    assert result.stderr == "stopped\n"


def _on_a_terminal(
    args: list[str],
    columns: int,
    config_dir: Path,
    cwd: Path,
    status: int = 0,
    interrupt_at: bytes | None = None,
    before_interrupt: Callable[[bytes], None] | None = None,
) -> list[str]:
    """What the command run with ``args`` on a pseudo-terminal ``columns``
    wide leaves on its screen (lines right-stripped); it must end with
    ``status``, by itself or after Ctrl+C once it printed ``interrupt_at``
    (and ``before_interrupt``, given what it printed, has returned)."""
    import pty

    pyte = pytest.importorskip("pyte")
    primary, secondary = pty.openpty()
    env = {**os.environ, "SCOREGANIZER_CONFIG_DIR": str(config_dir), "COLUMNS": str(columns)}
    process = subprocess.Popen(
        [*COMMAND, *args], stdout=secondary, stderr=secondary, env=env, cwd=cwd
    )
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        output += chunk
        if interrupt_at is not None and interrupt_at in output:
            if before_interrupt is not None:
                before_interrupt(output)
            process.send_signal(signal.SIGINT)
            interrupt_at = None
    os.close(primary)
    assert process.wait(timeout=60) == status, output
    terminal = pyte.Screen(columns, 40)
    pyte.ByteStream(terminal).feed(output.replace(b"\n", b"\r\n"))
    return [line.rstrip() for line in terminal.display]


def _answers(url: str) -> bool:
    """Whether a server answers ``url`` with any HTTP status."""
    try:
        requests.get(url, timeout=5)
    except requests.exceptions.RequestException:
        return False
    return True


def _words(lines: list[str]) -> list[str]:
    """The words on a screen, in order (a word the terminal cut in two is two)."""
    return " ".join(lines).split()


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_upload_progress_bar_keeps_lines_whole(
    run: Run, server: SandboxServer, player: str, tmp_path: Path, config_dir: Path
) -> None:
    _cup_id, key = _keyed_player(run, server, player)
    # short names (the folder is the working one): a whole line fits 100 columns
    files = [_replay(tmp_path, f"game{n}.rmv", key).name for n in range(6)]
    shown = _on_a_terminal(["--server", server.url, "upload", *files], 100, config_dir, tmp_path)
    for path in files:  # every file's line stays whole, on a line of its own
        assert any(line.startswith(f"{path}: accepted (") for line in shown), shown
    assert "6 accepted." in shown
    assert not any("Uploading" in line for line in shown)  # the bar went away at the end


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_long_lines_break_between_words_on_a_terminal(
    run: Run, server: SandboxServer, player: str, tmp_path: Path, config_dir: Path
) -> None:
    """Above the upload's progress bar, and in what inspect shows, a line
    longer than the terminal is broken between words (the terminal cut
    'nick|name' and a token's quote off its value)."""
    _cup_id, key = _keyed_player(run, server, player)
    _replay(tmp_path, "keyed.rmv", key)
    _replay(tmp_path, "unkeyed.rmv")
    upload = ["--server", server.url, "upload", "keyed.rmv", "unkeyed.rmv"]
    refused = run("upload", str(tmp_path / "unkeyed.rmv")).stdout.splitlines()[0]
    for columns in (60, 80):
        shown = _on_a_terminal(upload, columns, config_dir, tmp_path, status=1)
        assert " ".join(refused.split()[1:]) in " ".join(_words(shown)), shown
        inspected = _on_a_terminal(["inspect", "keyed.rmv"], columns, config_dir, tmp_path)
        assert f"'{key}'" in _words(inspected), inspected  # the token's value, whole
        assert max(map(len, shown + inspected)) <= columns


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_the_sandbox_banner_breaks_between_words_on_a_terminal(
    tmp_path: Path, config_dir: Path
) -> None:
    serve = ["sandbox", "serve", "--port", "0", "--workers", "1", "--db", "t.sqlite3"]
    shown = _on_a_terminal(serve, 60, config_dir, tmp_path, status=130, interrupt_at=b"stops.")
    words = _words(shown)
    assert words[:3] == ["Scoreganizer", "sandbox", "on"]
    for word in ("(database", "t.sqlite3,", "1", "worker);", "/api/openapi.json.", "Ctrl+C"):
        assert word in words, shown  # whole, not cut by the terminal's edge
    assert shown[1].startswith("    ")  # the lines after the first indented, as every line


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_the_app_says_where_it_is_in_whole_words_on_a_terminal(
    server: SandboxServer, tmp_path: Path, config_dir: Path
) -> None:
    app = ["--server", server.url, "app", "--no-browser", "--port", "0"]

    def serving(printed: bytes) -> None:  # Ctrl+C once the app answers, not while it starts
        port = re.search(rb"localhost:(\d+)/", printed)
        assert port is not None, printed
        wait_for(lambda: _answers(f"http://127.0.0.1:{int(port[1])}/"))

    shown = _on_a_terminal(
        app, 80, config_dir, tmp_path, status=130, interrupt_at=b"app.", before_interrupt=serving
    )
    assert "Ctrl+C stops the app." in " ".join(_words(shown)), shown
    assert "app." in _words(shown)  # 82 characters: the terminal cut 'ap|p.'


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_the_demo_reads_in_whole_words_on_a_terminal(tmp_path: Path, config_dir: Path) -> None:
    """The README's first command, at 80 columns: the terminal cut 'anot|her
    player's key' and 'no to|urnament key'; alice's place in each tournament
    reads as 'tournaments' says it."""
    words = " ".join(_words(_on_a_terminal(["demo", "--start-in", "0"], 80, config_dir, tmp_path)))
    assert "this replay carries another player's key" in words
    assert "this replay has no tournament key" in words
    assert "Standings of Demo Cup" in words
    assert "not joined" in words and "not_participating" not in words  # words, not codes


# -- hosting (the sandbox subcommands) ------------------------------------------


def test_sandbox_commands(host: Run, tmp_path: Path) -> None:
    db = str(tmp_path / "hosted.sqlite3")
    assert host("sandbox", "init", "--db", db).exit_code == 0
    assert "created" in host("sandbox", "add-user", "hal", "--password", "pw", "--db", db).output
    host("sandbox", "add-user", "ida", "--db", db, input="pw\npw\n")
    host("sandbox", "add-user", "joe", "--password", "pw", "--db", db)
    duplicate = host("sandbox", "add-user", "hal", "--password", "pw", "--db", db)
    assert duplicate.exit_code == 1 and "exists" in duplicate.output
    made = host(
        "--json",
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
    tid = str(_json(made)["id"])  # type: ignore[index]
    bad = host(
        "sandbox", "add-tournament", "X", "--host-user", "hal", "--modeparams", "1+1", "--db", db
    )
    assert bad.exit_code == 1 and "B+I+E" in bad.output
    nobody = host("sandbox", "add-tournament", "X", "--host-user", "nobody", "--db", db)
    assert nobody.exit_code == 1 and nobody.stderr == "error: no user 'nobody'\n"
    assert _json(host("--json", "sandbox", "invite", tid, "ida", "--db", db))["status"] == "invited"
    refused = host("sandbox", "confirm", tid, "joe", "--db", db)
    assert refused.exit_code == 1 and "has not asked" in refused.output
    listed = _json(host("sandbox", "list", "--json", "--db", db))
    assert listed[0]["mode"] == "sum_timelimit" and listed[0]["open_entry"] is False  # type: ignore[index]
    assert ISO_WITH_OFFSET.fullmatch(listed[0]["start"])  # type: ignore[index]
    assert not re.search(r"\d\d:\d\d:\d\d", host("sandbox", "list", "--db", db).stdout)
    standings = _json(host("sandbox", "standings", tid, "--json", "--db", db))
    assert standings["standings"] == []  # type: ignore[index]
    assert "No players yet" in host("sandbox", "standings", tid, "--db", db).output


def test_hidden_results(host: Run, tmp_path: Path) -> None:
    db = str(tmp_path / "hidden.sqlite3")
    host("sandbox", "init", "--db", db)
    host("sandbox", "add-user", "hal", "--password", "pw", "--db", db)
    made = host(
        "sandbox", "add-tournament", "Secret", "--host-user", "hal", "--hide-results", "--db", db
    )
    assert made.stdout == 'Tournament "Secret" created (id 1).\n'
    tid = "1"
    hidden = host("sandbox", "standings", tid, "--db", db)
    assert hidden.exit_code == 1 and "hidden" in hidden.output
    assert host("sandbox", "standings", tid, "--reveal", "--db", db).exit_code == 0


def test_sandbox_commands_refuse_a_server_they_would_ignore(
    host: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "hosted.sqlite3")
    host("sandbox", "init", "--db", db)
    for args in (
        ["--server", "http://127.0.0.1:9", "sandbox", "add-user", "hal", "--password", "p"],
        ["sandbox", "add-user", "hal", "--password", "p", "--server", "http://127.0.0.1:9"],
    ):
        refused = host(*args, "--db", db)
        assert refused.exit_code == 2
        assert refused.stderr.endswith(
            "error: the sandbox commands work on a database file (--db), not through a server: "
            "drop --server (to serve one: 'scoreganizer sandbox serve --port PORT')\n"
        )
    assert "hal" not in host("sandbox", "list", "--db", db).output
    monkeypatch.setenv("SCOREGANIZER_SERVER", "http://127.0.0.1:9")  # set for other commands
    assert host("sandbox", "add-user", "hal", "--password", "p", "--db", db).exit_code == 0


# -- inspect, demo, help, pipes ----------------------------------------------------


def test_inspect(run: Run, tmp_path: Path) -> None:
    files = [str(p) for p in REAL_REPLAYS]
    data = _json(run("--json", "inspect", *files))
    by_name = {Path(d["file"]).name: d for d in data}  # type: ignore[union-attr]
    assert by_name["test_subject.rmv"]["key"] == "2_1_517cce9419171fee58a550067fed65ed"
    assert by_name["test_subject.evf"]["board"]["level"] == "expert"
    assert by_name["test_subject.avf"]["player"] == {"name": "Tommy"}
    text = run("inspect", files[0])
    assert "Minesweeper Arbiter 0.52.3" in text.output and "local clock" in text.output
    made = _replay(tmp_path, "made.rmv")  # a clone that records no version
    for line in run("inspect", *files, str(made)).stdout.splitlines():
        assert "  " not in line.strip(), line  # no gaps where a field is missing
    bad = tmp_path / "bad.rmv"
    bad.write_bytes(b"*rmv\x00\x02\x01")
    result = run("inspect", str(bad), str(tmp_path / "none.rmv"))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith(f"{bad}: not a readable replay (")
    assert result.stdout.splitlines()[1].startswith(f"{tmp_path / 'none.rmv'}: cannot read the")


def test_demo_in_process(config_dir: Path) -> None:
    result = CliRunner().invoke(main, ["--json", "demo", "--start-in", "0.5"])
    summary = json.loads(result.stdout)
    assert result.exit_code == 0
    assert summary["accepted"]["alice"] == [
        "alice_beginner.rmv",
        "alice_intermediate.rmv",
        "alice_expert.rmv",
    ]
    ranks = [(s["player"], s["complete"]) for s in summary["standings"]]
    assert ranks == [("alice", True), ("bob", False)]
    bad = CliRunner().invoke(main, ["demo", "--start-in", "-5"])
    assert bad.exit_code == 2
    assert "error: Invalid value for '--start-in': -5.0 is not in the range" in bad.stderr


@pytest.mark.slow
def test_subprocess_version_and_demo(tmp_path: Path) -> None:
    env = {**os.environ, "SCOREGANIZER_CONFIG_DIR": str(tmp_path)}
    version = subprocess.run([*COMMAND, "--version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0 and "0.4.0" in version.stdout
    demo = subprocess.run(  # the README's first command, starting at once (the wait for
        # the start is test_demo_in_process's)
        [*COMMAND, "demo", "--start-in", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert demo.returncode == 0, demo.stderr
    assert "Standings of Demo Cup" in demo.stdout and "alice" in demo.stdout


@pytest.mark.parametrize("group", [[], ["sandbox"]], ids=["scoreganizer", "sandbox"])
def test_a_group_alone_shows_its_help(host: Run, group: list[str]) -> None:
    """Not one 'error:' line holding the whole help, its line breaks made
    inert (click 8.2 reports a group without a subcommand as a usage error)."""
    shown = host(*group)
    assert shown.exit_code == 2
    assert shown.stdout == "" and "error:" not in shown.stderr and "\ufffd" not in shown.stderr
    assert shown.stderr.startswith(f"Usage: {' '.join(['scoreganizer', *group])} [OPTIONS]")
    assert "\nCommands:\n" in shown.stderr


def test_version_is_answered_without_click_and_help_fits_the_terminal() -> None:
    probe = (
        "import sys; from scoreganizer_client_lib.cli import run\n"
        "run(['--version'])\n"
        "heavy = [m for m in ('click', 'requests', 'httpx', 'rich', "
        "'scoreganizer_client_lib.replays') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)"
    )
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert imported.stderr.strip() == "[]"
    for columns in ("60", "100"):
        shown = subprocess.run(
            [*COMMAND, "tournaments", "--help"],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": columns},
        )
        assert shown.returncode == 0 and "--archive" in shown.stdout
        assert max(len(line) for line in shown.stdout.splitlines()) <= int(columns)


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    files = [str(REPLAYS / "test_subject.avf")] * 2000  # far more than a pipe buffer holds
    process = subprocess.Popen(
        [*COMMAND, "inspect", *files], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().strip().endswith(b"test_subject.avf")
    process.stdout.close()  # as `| head -1` does
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 1
    assert stderr == b""


# -- interrupts -------------------------------------------------------------------


def _until(process: subprocess.Popen[str], text: str) -> str:
    """Read stderr until ``text`` appears (bounded by the test's timeout)."""
    assert process.stderr is not None
    seen = ""
    while text not in seen:
        char = process.stderr.read(1)
        assert char, f"ended before {text!r}: {seen!r}"
        seen += char
    return seen


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupting_key_wait(
    server: SandboxServer, player: str, config_dir: Path, signum: int, status: int
) -> None:
    cup = _cup(server, name="Interrupted", start="+1h", end="+2h")
    env = {**os.environ, "SCOREGANIZER_CONFIG_DIR": str(config_dir)}
    base = [*COMMAND, "--server", server.url]
    subprocess.run(
        [*base, "login", player, "--password-stdin"],
        input=PASSWORD,
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run([*base, "join", str(cup)], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [*base, "key", str(cup), "--wait"], stderr=subprocess.PIPE, text=True, env=env
    )
    _until(process, "Waiting for the start")
    process.send_signal(signum)
    assert process.wait(timeout=30) == status
    assert process.stderr is not None
    rest = process.stderr.read()
    assert rest.strip().splitlines()[-1] == "stopped"
    assert "Traceback" not in rest and "Aborted" not in rest


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_interrupting_the_password_prompt(server: SandboxServer, config_dir: Path) -> None:
    env = {**os.environ, "SCOREGANIZER_CONFIG_DIR": str(config_dir)}
    process = subprocess.Popen(
        [*COMMAND, "--server", server.url, "login", "someone"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # no terminal: the prompt reads standard input
    )
    _until(process, "Password:")
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    assert process.stderr is not None
    rest = process.stderr.read()
    assert rest.strip() == "stopped", rest
    assert not any(config_dir.rglob("*.txt"))


def test_a_login_the_server_no_longer_knows_says_what_to_run(
    run: Run, server: SandboxServer, player: str, config_dir: Path
) -> None:
    cup = _cup(server)
    _login(run, player)
    (credentials,) = config_dir.rglob("*.txt")
    credentials.write_text(f"{player}:{'0' * 32}\n")  # a token the server never issued
    result = run("key", str(cup))
    assert result.exit_code == 1
    assert f"run 'scoreganizer --server {server.url} login USER'" in result.stderr
    assert run("status").stdout.startswith(
        f"Not logged in on {server.url}: the server no longer knows this login; run "
    )  # in words, not a token status
