"""The published scoreganizer-client-lib 0.3.1, installed from PyPI into its own
virtual environment, plays the workflow against the sandbox unchanged; and the
same program runs unchanged on this library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import PASSWORD
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario

pytestmark = pytest.mark.slow

# A program written for 0.3.1, using only its documented API.
PROGRAM = r"""
import json, sys
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.exceptions import (
    ScoreganizerError, ScoreganizerInvalidLoginData, ScoreganizerKeyExists,
    ScoreganizerTooEarly, NetworkException,
)
host, port, tournament, replay_dir, auth_file = sys.argv[1:6]
out = {}
sc = Scoreganizer(host=host, port=int(port), https=False, auth_filename=auth_file)
out["status_before"] = sc.token_status()
out["ok_before"] = sc.token_status_ok()
try:
    sc.login("oldtimer", "wrong password")
except ScoreganizerInvalidLoginData as ex:
    out["bad_login"] = ex.error
out["auth"] = sc.login("oldtimer", sys.stdin.readline().strip()).split(":")[0]
out["ok"] = sc.token_status_ok()
out["active"] = [(t.id, t.status) for t in sc.tournaments.active()]
sc.tournaments.participate(tournament)
out["mine"] = [(t.id, t.status, t.start.tzinfo is not None) for t in sc.tournaments.my_active()]
try:
    sc.tournaments.gen_key(tournament)
except ScoreganizerTooEarly as ex:
    out["too_early"] = ex.wait_time.total_seconds() > 0
key = sc.tournaments.wait_key(tournament)
out["key"] = key
try:
    sc.tournaments.gen_key(tournament)
except ScoreganizerKeyExists as ex:
    out["key_exists"] = ex.error
out["get_key"] = sc.tournaments.get_key(int(tournament), with_expiry=True)[0] == key
print(json.dumps(out), flush=True)
# the caller now writes a replay keyed with `key`
path = sys.stdin.readline().strip()
sc.scores.upload_filename(path)
with open(path, "rb") as f:
    sc.scores.upload_file(f, path)
out["uploaded"] = True
sc2 = Scoreganizer(host=host, port=int(port), https=False, auth_filename=auth_file)
out["reused_auth_file"] = sc2.token_status()
print(json.dumps(out))
"""


@pytest.fixture(scope="session")
def old_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with the published 0.3.1 (and nothing of ours)."""
    where = tmp_path_factory.mktemp("venv031")
    venv.create(where, with_pip=True)
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "scoreganizer-client-lib==0.3.1",
        ],
        check=True,
        timeout=300,
    )
    return python


def _play(python: Path, sandbox: SandboxServer, tmp_path: Path) -> dict[str, object]:
    scenario.add_user(sandbox.store, "host", PASSWORD)
    scenario.add_user(sandbox.store, "oldtimer", PASSWORD)
    cup = scenario.add_tournament(sandbox.store, "Compat", "host", start="+2s", end="+1h")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [
            str(python),
            "-c",
            PROGRAM,
            "127.0.0.1",
            str(sandbox.port),
            str(cup),
            str(tmp_path),
            str(tmp_path / "auth.txt"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(PASSWORD + "\n")
    proc.stdin.flush()
    first = json.loads(proc.stdout.readline() or "{}")
    assert "key" in first, proc.stderr.read() if proc.stderr else ""
    replay = tmp_path / "HI-SCORE Beg_2.17_compat.rmv"
    replay.write_bytes(write_rmv(key=str(first["key"]), boardgen_time=datetime.now(timezone.utc)))
    out, err = proc.communicate(str(replay) + "\n", timeout=60)
    assert proc.returncode == 0, err
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    result["cup"] = cup
    return result


def _check(result: dict[str, object], sandbox: SandboxServer) -> None:
    cup = result["cup"]
    assert result["status_before"] == "not_sent"
    assert result["ok_before"] is False
    assert result["bad_login"] == "invalid_login_data"
    assert result["auth"] == "oldtimer"
    assert result["ok"] is True
    assert result["active"] == [[cup, "not_participating"]]
    assert result["mine"] == [[cup, "participating", True]]
    assert result["too_early"] is True
    assert result["key_exists"] == "key_exists"
    assert result["get_key"] is True
    assert result["uploaded"] is True
    assert result["reused_auth_file"] == "ok"
    assert sandbox.store.count("scores") == 1  # the same replay twice: stored once


def test_published_031_against_sandbox(
    old_python: Path, sandbox: SandboxServer, tmp_path: Path
) -> None:
    check = subprocess.run(
        [
            str(old_python),
            "-c",
            "import scoreganizer_client_lib.version as v, sys;sys.stdout.write(v.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert check.stdout == "0.3.1"
    _check(_play(old_python, sandbox, tmp_path), sandbox)


def test_same_program_on_this_library(sandbox: SandboxServer, tmp_path: Path) -> None:
    _check(_play(Path(sys.executable), sandbox, tmp_path), sandbox)
