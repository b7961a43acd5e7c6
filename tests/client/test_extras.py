"""A lean base install: the library and the replay readers need no front-end
or server package, and a part whose extra is missing says which to install,
in one line, without a traceback."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

import pytest

from conftest import REPLAYS
from scoreganizer_client_lib.extras import EXTRAS

#: Every package an extra brings.
OPTIONAL = sorted({name for names in EXTRAS.values() for name in names})


def run_without(blocked: list[str], code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter where the ``blocked`` packages cannot
    be imported, as if they were not installed."""
    hide = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in blocked)
    return subprocess.run(
        [sys.executable, "-c", hide + code], capture_output=True, text=True, timeout=60
    )


def test_the_base_install_needs_no_front_end_or_server() -> None:
    base = [r for r in requires("scoreganizer-client-lib") or [] if "extra ==" not in r]
    names = {r.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip() for r in base}
    assert names == {"requests", "httpx", "sniffio", "platformdirs", "filelock"}


def test_the_library_works_without_any_extra(tmp_path: Path) -> None:
    code = """
from scoreganizer_client_lib import AsyncScoreganizer, Scoreganizer, replays
from scoreganizer_client_lib.watching import FolderWatcher
from scoreganizer_client_lib.sandbox import SandboxServer
"""
    result = run_without(OPTIONAL, code)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("scoreganizer_client_lib.extras.MissingExtra: the sandbox needs")
    lib = run_without(
        OPTIONAL,
        "from scoreganizer_client_lib import AsyncScoreganizer, Scoreganizer, replays\n"
        "from scoreganizer_client_lib.watching import FolderWatcher\n"
        "sc = Scoreganizer.from_url('http://127.0.0.1:9')\n"
        f"print(replays.inspect({str(REPLAYS / 'test_subject.rmv')!r}).board.level)\n",
    )
    assert lib.returncode == 0, lib.stderr
    assert lib.stdout == "beginner\n"


@pytest.mark.parametrize(
    ("blocked", "args", "extra"),
    [
        (["click"], ["tournaments"], "cli"),
        (["rich"], ["login", "ann"], "cli"),
        (["fastapi"], ["demo"], "sandbox"),
        (["argon2"], ["sandbox", "add-user", "ann", "--db", "x.sqlite3"], "sandbox"),
        (["multipart"], ["sandbox", "serve", "--port", "0"], "sandbox"),
        (["jinja2"], ["app", "--no-browser"], "app"),
        (["starlette"], ["demo", "--app"], "app"),
    ],
)
def test_a_missing_extra_is_one_line(
    blocked: list[str], args: list[str], extra: str, tmp_path: Path
) -> None:
    code = f"import os; os.chdir({str(tmp_path)!r}); sys.argv = ['scoreganizer', *{args!r}]\n"
    code += "from scoreganizer_client_lib.cli import run; run()"
    result = run_without(blocked, code)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and f"needs the '{extra}' extra" in line
    assert line.endswith(f"pip install 'scoreganizer-client-lib[{extra}]'")
    assert not list(tmp_path.iterdir())  # nothing was made, nothing was started


def test_the_version_needs_no_extra_and_help_says_which() -> None:
    code = "from scoreganizer_client_lib.cli import run; run(['--version']); run(['--help'])"
    result = run_without(OPTIONAL, code)
    assert result.returncode == 1
    assert result.stdout.startswith("scoreganizer, version ")
    assert result.stderr.startswith("error: the scoreganizer command needs the 'cli' extra")
