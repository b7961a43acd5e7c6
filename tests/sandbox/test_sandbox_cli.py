"""The sandbox's hosting commands as a host uses them: a database that must
exist, help that reads whole, standings that rank players without games last."""

from __future__ import annotations

import contextlib
import importlib
import itertools
import pkgutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import PASSWORD, TEST_CONFIG
from scoreganizer_client_lib.cli import main
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import DamagedDatabase, Store, scenario
from scoreganizer_client_lib.sandbox.accounts import User
from scoreganizer_client_lib.sandbox.rules import Rules
from scoreganizer_client_lib.sandbox.sqlite_errors import first_damage

Run = Callable[..., Result]
HOSTING = [
    ["add-user", "ann", "--password", "pw"],
    ["add-tournament", "Cup", "--host-user", "ann"],
    ["invite", "1", "ann"],
    ["confirm", "1", "ann"],
    ["standings", "1"],
    ["list"],
]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.delenv("SCOREGANIZER_SANDBOX_DB", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, ["sandbox", *args], prog_name="scoreganizer")

    return invoke


@pytest.mark.parametrize("command", HOSTING, ids=[c[0] for c in HOSTING])
def test_hosting_needs_a_database(run: Run, tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "Typo Folder" / "sandbox.sqlite3"
    result = run(*command, "--db", str(typo))
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: no sandbox database at {typo} (create it with:"
        f" scoreganizer sandbox init --db '{typo}')\n"
    )
    assert not typo.parent.exists()  # no folder made either


def test_a_file_that_is_not_a_database(run: Run, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\n" * 100)
    result = run("list", "--db", str(notes))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {notes} is not a sandbox database (")
    assert notes.read_text() == "shopping list\n" * 100


def test_init_then_hosting(run: Run, tmp_path: Path) -> None:
    db = str(tmp_path / "new" / "sandbox.sqlite3")
    assert run("init", "--db", db).stdout == f"Sandbox database created: {db}\n"
    assert run("init", "--db", db).stdout == f"Sandbox database ready: {db}\n"
    assert run("add-user", "ann", "--password", "pw", "--db", db).exit_code == 0
    made = run("add-tournament", "Cup", "--host-user", "ann", "--db", db)
    assert made.stdout == 'Tournament "Cup" created (id 1).\n'  # not a bare 1
    assert "Cup" in run("list", "--db", db).stdout


def test_the_list_keeps_start_and_end_whole_at_80_columns(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host's list shortens the name, not the times (the terminal's 80
    columns left 'YYYY-MM-DD 0…', without the time of day)."""
    db = str(tmp_path / "hosted.sqlite3")
    run("init", "--db", db)
    run("add-user", "hostess", "--password", "pw", "--db", db)
    made = ["add-tournament", "Friday Cup of the Long Names Club", "--host-user", "hostess"]
    run(*made, "--start", "2026-12-07T05:37", "--end", "2026-12-07T11:05", "--db", db)
    monkeypatch.setenv("COLUMNS", "80")
    lines = run("list", "--db", db).stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert "2026-12-07 05:37  2026-12-07 11:05" in lines[2], lines


def test_help_lines_are_whole(run: Run) -> None:
    help_text = run("--help").stdout
    commands = help_text[help_text.index("Commands:") :]
    assert "..." not in commands
    assert "init" in commands


def test_every_command_written_for_the_group_is_in_it(run: Run) -> None:
    """The group's commands live in modules by job; each one written there
    is a subcommand, and shown by --help."""
    import click

    import scoreganizer_client_lib.cli.sandbox as package

    written = {
        command.name
        for info in pkgutil.iter_modules(package.__path__)
        for command in vars(importlib.import_module(f"{package.__name__}.{info.name}")).values()
        if isinstance(command, click.Command) and command is not package.sandbox
    }
    assert len(written) == 12
    assert written == set(package.sandbox.commands)
    listed = run("--help").stdout.split("Commands:")[1]
    assert {line.split()[0] for line in listed.splitlines() if line.strip()} == written


def test_players_without_games_rank_last(run: Run, tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    store = Store(db)
    rules = Rules(store)
    scenario.add_user(store, "host", PASSWORD)
    cup = scenario.add_tournament(
        store, "Secret", "host", start="-1m", end="+1h", hide_results=True
    )
    for name in ("aaron", "zoe"):
        rules.participate(User(scenario.add_user(store, name, PASSWORD), name), cup)
    zoe = User(store.user("zoe")["id"], "zoe")
    key = rules.gen_key(zoe, cup)["key"]
    replay = write_rmv(key=key, boardgen_time=datetime.now(timezone.utc))
    rules.upload(zoe, "g.rmv", "application/x-viennasweeper", replay)
    store.close()
    result = run("standings", str(cup), "--reveal", "--db", str(db))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    zoe_line = next(i for i, line in enumerate(lines) if "zoe" in line)
    aaron_line = next(i for i, line in enumerate(lines) if "aaron" in line)
    assert zoe_line < aaron_line
    assert "0.000" not in lines[aaron_line]
    assert lines[aaron_line].split()[:3] == ["2", "aaron", "-"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "--start",
            "+99999999999d",
            "error: time '+99999999999d' is out of range (years 1 to 9999)",
        ),
        ("--end", "+" + "9" * 400 + "s", "is out of range (years 1 to 9999)"),
        ("--modeparams", "9" * 4301 + "+1+1", "at most 1000 games of a level count"),
    ],
)
def test_tournament_times_and_params_out_of_range(
    run: Run, tmp_path: Path, option: str, value: str, message: str
) -> None:
    db = str(tmp_path / "sandbox.sqlite3")
    run("init", "--db", db)
    run("add-user", "ann", "--password", "pw", "--db", db)
    result = run("add-tournament", "Cup", "--host-user", "ann", option, value, "--db", db)
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr) < 200


def _damaged_database(path: Path) -> None:
    """A sandbox database at ``path`` with a page of junk in its middle."""
    store = Store(path, replace(TEST_CONFIG, synchronous="OFF"))
    host = scenario.add_user(store, "host", PASSWORD)
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO tournaments (name, host_id, mode, modeparams, start, end,"
            " open_entry, hide_results) VALUES (?, ?, 'sum', '1+1+1', 0, 60, 1, 0)",
            [(f"Cup {n}", host) for n in range(2000)],
        )
    page_size = store.conn.execute("PRAGMA page_size").fetchone()[0]
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.close()  # the last connection folds the log into the file
    with path.open("r+b") as file:
        file.seek(page_size * (pages // 2))
        file.write(b"\xa5" * page_size)


def test_a_damaged_database_is_refused_saying_what_to_do(run: Run, tmp_path: Path) -> None:
    """A damaged page in the middle of the file: the hosting commands and
    ``serve`` refuse it in one line that says how to recover (``serve`` used
    to serve from it)."""
    db = tmp_path / "sandbox.sqlite3"
    _damaged_database(db)
    with pytest.raises(DamagedDatabase):
        Store(db)
    listed = run("list", "--db", str(db))
    assert listed.exit_code == 1
    assert listed.stderr.startswith(f"error: the sandbox database {db} is damaged (")
    assert listed.stderr.endswith(" .recover | sqlite3 recovered.sqlite3'\n")
    assert listed.stderr.count("\n") == 1
    serve = subprocess.Popen(
        [sys.executable, "-m", "scoreganizer_client_lib", "sandbox", "serve", "--port", "0",
         "--workers", "2", "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    out, err = serve.communicate(timeout=60)
    assert (serve.returncode, out) == (1, "")  # no banner: not served
    assert err == listed.stderr


def test_the_check_at_start_is_bounded_in_time(tmp_path: Path) -> None:
    """Out of time, the check stops where it is and finds nothing to refuse;
    given no time, it does not start."""
    db = tmp_path / "sandbox.sqlite3"
    _damaged_database(db)
    later = itertools.chain([0.0], itertools.repeat(11.0))  # 11 s pass at once
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert first_damage(conn, 10, clock=lambda: next(later)) is None
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)  # no harm done
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert first_damage(conn, 10) is not None
    Store(db, replace(TEST_CONFIG, startup_check_seconds=0)).close()
