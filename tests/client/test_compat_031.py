"""The published scoreganizer-client-lib 0.3.1, installed from PyPI into a
folder of its own, plays the workflow against the sandbox unchanged; and the
same program runs unchanged on this library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from conftest import PASSWORD, Clock
from scoreganizer_client_lib import __version__
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario

pytestmark = pytest.mark.slow

# A program written for 0.3.1, using only its documented API.
PROGRAM = r"""
import json, sys
import scoreganizer_client_lib.version as version
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.exceptions import (
    ScoreganizerError, ScoreganizerInvalidLoginData, ScoreganizerKeyExists,
    ScoreganizerTooEarly, NetworkException,
)
host, port, tournament, replay_dir, auth_file = sys.argv[1:6]
out = {"version": version.__version__}
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
print("too early", flush=True)
sys.stdin.readline()  # the caller moves the sandbox's clock to just before the start
key = sc.tournaments.wait_key(tournament)  # waits what is left
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

#: Where the published 0.3.1 is installed, once per Python version and
#: machine: the tests of later sessions reuse it.
CACHE = (
    Path(tempfile.gettempdir())
    / f"scoreganizer-client-lib-031-py{sys.version_info[0]}{sys.version_info[1]}"
)
COMPLETE = ".installed"


def _install_031() -> Path:
    """The published 0.3.1 and what it depends on, installed by pip into a
    folder of its own (built aside, then renamed into place, so that test
    runs at the same time never see half of it)."""
    if (CACHE / COMPLETE).exists() and _usable(CACHE):
        return CACHE
    building = Path(tempfile.mkdtemp(prefix=CACHE.name + "-"))
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--timeout",
                "15",
                "--retries",
                "1",
                "--target",
                str(building),
                "scoreganizer-client-lib==0.3.1",
            ],
            check=True,
            timeout=300,
            capture_output=True,
            text=True,
        )
        (building / COMPLETE).touch()
        try:
            building.rename(CACHE)
        except OSError:  # installed meanwhile by another run, or broken (say, aged out of /tmp)
            if not ((CACHE / COMPLETE).exists() and _usable(CACHE)):
                shutil.rmtree(CACHE, ignore_errors=True)
                building.rename(CACHE)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return CACHE


def _usable(where: Path) -> bool:
    """Whether 0.3.1 and requests import from ``where`` (not from elsewhere)."""
    check = (
        "import sys, requests, scoreganizer_client_lib.scoreganizer as s\n"
        "sys.exit(not all(m.__file__.startswith(sys.argv[1]) for m in (s, requests)))"
    )
    env = {**os.environ, "PYTHONPATH": str(where)}
    command = [sys.executable, "-c", check, str(where)]
    return subprocess.run(command, env=env, check=False).returncode == 0


@pytest.fixture(scope="session")
def old_env() -> dict[str, str]:
    """An environment in which ``python`` imports the published 0.3.1 (with
    its own dependencies) instead of this library; the tests that need it are
    skipped, saying so, when PyPI cannot be reached."""
    try:
        where = _install_031()
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"PyPI cannot be reached to install 0.3.1: {exc.stderr.strip()[-300:]}")
    except subprocess.TimeoutExpired:
        pytest.skip("PyPI cannot be reached to install 0.3.1: pip timed out")
    return {**os.environ, "PYTHONPATH": str(where)}


@pytest.fixture(scope="session")
def new_env() -> dict[str, str]:
    """An environment in which ``python`` imports this library."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _play(
    env: dict[str, str], sandbox: SandboxServer, clock: Clock, tmp_path: Path
) -> dict[str, object]:
    scenario.add_user(sandbox.store, "host", PASSWORD)
    scenario.add_user(sandbox.store, "oldtimer", PASSWORD)
    start = clock() + 60
    cup = scenario.add_tournament(
        sandbox.store, "Compat", "host", start=datetime.fromtimestamp(start, timezone.utc)
    )
    proc = subprocess.Popen(
        [
            sys.executable,
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
    assert proc.stdout.readline() == "too early\n", proc.stderr.read() if proc.stderr else ""
    clock.advance(start - clock() - 0.1)  # a minute later: 0.1 s before the start
    proc.stdin.write("\n")
    proc.stdin.flush()
    first = json.loads(proc.stdout.readline() or "{}")
    assert "key" in first, proc.stderr.read() if proc.stderr else ""
    replay = tmp_path / "HI-SCORE Beg_2.17_compat.rmv"
    played = datetime.fromtimestamp(clock(), timezone.utc)  # by the sandbox's clock
    replay.write_bytes(write_rmv(key=str(first["key"]), boardgen_time=played))
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
    old_env: dict[str, str], sandbox: SandboxServer, clock: Clock, tmp_path: Path
) -> None:
    result = _play(old_env, sandbox, clock, tmp_path)
    assert result["version"] == "0.3.1"
    _check(result, sandbox)


def test_same_program_on_this_library(
    new_env: dict[str, str], sandbox: SandboxServer, clock: Clock, tmp_path: Path
) -> None:
    result = _play(new_env, sandbox, clock, tmp_path)
    assert result["version"] == __version__
    _check(result, sandbox)


# -- the same probe, run on 0.3.1 and on this library: the same behaviour --------------

PROBE = r"""
import json, pickle, sys, tempfile, os
from datetime import timedelta
import scoreganizer_client_lib as package
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib import scoreganizer as module
from scoreganizer_client_lib.exceptions import (
    ScoreganizerError, ScoreganizerTooEarly, ScoreganizerNotGeneratedYet, ScoreganizerWait,
)
port, folder = int(sys.argv[1]), sys.argv[2]
out = {}
names = ("exceptions", "score", "scoreganizer", "tournament")
out["submodules"] = [hasattr(package, name) for name in names]
names = ("DEFAULT_ADAPTER", "DEFAULT_RETRY", "build_exception")
out["module_names"] = [hasattr(module, name) for name in names]
for cls in (ScoreganizerTooEarly, ScoreganizerNotGeneratedYet, ScoreganizerWait):
    error = cls("too_early", timedelta(seconds=5))
    again = pickle.loads(pickle.dumps(error))
    out[cls.__name__] = [type(again).__name__, again.error, again.wait_time.total_seconds(),
                         [str(a) for a in again.args]]
out["error_args"] = list(ScoreganizerError("key_exists").args)

sc = Scoreganizer(host="127.0.0.1", port=port, https=False, auth_filename=os.path.join(folder, "a"))
(t,) = sc.tournaments.all()
out["tournament"] = [t.location, t.start.isoformat(), t.end.isoformat()]
out["participate"] = sc.tournaments.participate(1)
out["player_confirm"] = sc.tournaments.player_confirm(1)
replay = os.path.join(folder, "g.rmv")
open(replay, "wb").write(b"not checked")
out["upload"] = sc.scores.upload_filename(replay)
try:
    sc.refresh_login()
except ScoreganizerError as ex:
    out["refresh_before_login"] = [type(ex).__name__, ex.error]
out["status_after_500"] = sc.token_status()
try:
    sc.tournaments.gen_key(1)
except ScoreganizerError as ex:
    out["post_500"] = ex.error
sc.set_auth_str("bob:old")
sc.username = "robert"
out["refreshed"] = sc.refresh_login()
sc.auth_filename = os.path.join(folder, "b")
sc.set_auth_str("robert:later")
out["files"] = [open(os.path.join(folder, n)).read() for n in ("a", "b")]
print(json.dumps(out))
"""


class _Probed(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # a head and its body in two writes, without a pause
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 500:
            self.send_header("Retry-After", "0")  # try again at once (this library heeds it)
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.removeprefix("/api/")
        self.hits[path] = self.hits.get(path, 0) + 1
        if path == "tournaments/all":
            tournament = {
                "id": 1, "mode": "sum", "modeparams": "1+1+1", "name": "Cup",
                "location": None, "start": "2024-05-20", "end": "2024-05-21T10:00:00",
                "open_entry": True, "hide_results": False, "status": "participating",
            }  # fmt: skip
            self._reply(200, json.dumps([tournament]).encode())
        elif path == "tournaments/participate/1":
            self._reply(200, b"OK, you are in")
        elif path in ("tournaments/player_confirm/1", "scores/upload"):
            self._reply(201 if path == "scores/upload" else 200, b"")
        elif path == "refresh_token":
            if self.headers.get("X-Scoreganizer-Authorization"):
                self._reply(200, b'{"token": "new"}')
            else:
                self._reply(403, b'{"error": "not_logged_in"}')
        elif path == "token_status" and self.hits[path] % 2:
            self._reply(500, b"")  # every other time: a GET answered 500
        elif path == "token_status":
            self._reply(200, b'{"status": "not_sent"}')
        else:
            self._reply(500, b"")

    do_GET = _route
    do_POST = _route


def _probe(env: dict[str, str], tmp_path: Path) -> tuple[dict[str, object], dict[str, int]]:
    _Probed.hits = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Probed)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        result = subprocess.run(
            [sys.executable, "-c", PROBE, str(httpd.server_address[1]), str(tmp_path)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), dict(_Probed.hits)


def test_behaves_as_031(old_env: dict[str, str], new_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    theirs, their_hits = _probe(old_env, tmp_path / "old")
    ours, our_hits = _probe(new_env, tmp_path / "new")
    assert ours == theirs
    # the facts, spelled out
    assert ours["tournament"] == [None, "2024-05-20T00:00:00+00:00", "2024-05-21T10:00:00+00:00"]
    assert ours["participate"] is ours["player_confirm"] is ours["upload"] is None
    assert ours["refresh_before_login"] == ["ScoreganizerNotLoggedIn", "not_logged_in"]
    assert ours["status_after_500"] == "not_sent" and ours["post_500"] == "500"
    assert ours["refreshed"] == "robert:new" and ours["files"] == ["robert:new", "robert:later"]
    assert ours["ScoreganizerTooEarly"] == [
        "ScoreganizerTooEarly",
        "too_early",
        5.0,
        ["too_early", "0:00:05"],
    ]
    assert ours["submodules"] == [True] * 4 and ours["module_names"] == [True] * 3
    # a GET answered 500 was sent twice, a POST answered 500 once, by both
    assert our_hits["token_status"] == their_hits["token_status"] == 2
    assert our_hits["tournaments/gen_key/1"] == their_hits["tournaments/gen_key/1"] == 1
    # refresh before login: 0.3.1 asked the server; this library knows the answer
    assert their_hits["refresh_token"] == 2 and our_hits["refresh_token"] == 1
