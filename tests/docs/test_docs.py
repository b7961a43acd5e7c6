"""Every code block of the README and of ``docs/`` is run or checked here.

How to write a block that the tests take (the kind is the fence's language):

- ``python``: runs on its own, in a fresh empty folder, as ``python -c BLOCK``
  in a player's environment would run it; it must exit 0 and needs no network
  but loopback (start a ``SandboxServer``). CI also type-checks every python
  block with ``mypy --strict`` (``tests/docs_examples.py`` writes them out).
- ``sh``: a page's ``sh`` blocks run, in the page's order, as one bash session
  (``set -euo pipefail``) in one fresh folder, which is ``$HOME`` too: an
  ``export`` holds for the page's later blocks, never for another page.
  ``scoreganizer sandbox serve --port N`` is started in the background (as in
  a second terminal) and the session waits until it answers; what it prints
  goes to ``serve.log`` in the session's folder. Each port 8000-8099 a page
  names is replaced by a free port. Needs bash, curl and Python, nothing else.
- ``http``: in ``docs/protocol.md`` only, a request and the server's answer,
  which ``tests/docs/test_protocol_doc.py`` sends to a sandbox and compares.
- ``json``: must parse as JSON (in ``docs/protocol.md``: be an answer shown
  in one of its exchanges).
- An illustration (installs from PyPI, serves until Ctrl+C, runs the whole
  suite...) says so on the page, in the paragraph right before its block:
  ``_Illustration: WHY._``. It is not run but checked: python is compiled
  (and type-checked in CI), sh is parsed by ``bash -n``, every ``scoreganizer``
  command in it is parsed with ``--help`` added (its subcommand and options
  exist), and every ``*.py`` file it names exists.
- The README's first block, the two commands, is what CI runs itself (a test
  below checks that ``.ci/run`` does).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import port_for_later
from docs_examples import README, ROOT, Block, all_blocks

#: The examples start together once per process: keep them in one.
pytestmark = pytest.mark.xdist_group("docs")

#: Every block but the README's first: the two commands, which CI runs itself.
BLOCKS = all_blocks()[1:]
PYTHON = [block for block in BLOCKS if block.lang == "python" and not block.why]
SHELL_PAGES = sorted({block.page for block in BLOCKS if block.lang == "sh" and not block.why})
ILLUSTRATIONS = [block for block in BLOCKS if block.why]
JSON = [block for block in BLOCKS if block.lang == "json"]
#: The ports the pages give local servers.
LOCAL_PORT = re.compile(r"\b80\d\d\b")
#: The shell session's own pieces: stop on the first failure, stop the
#: background servers at the end, and wait for each one to answer.
PROLOGUE = """set -euo pipefail
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
wait_for_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing answers on port $1" >&2
  return 1
}
"""


def the_two_commands() -> tuple[str, str]:
    """The README's first block: the demo, then the tests."""
    first = all_blocks()[0]
    assert first.page == "README.md" and first.lang == "sh" and not first.why
    text = README.read_text(encoding="utf-8")
    assert text.index(first.code) < text.index("\n---\n"), "the two commands come first"
    demo, tests = first.code.strip().splitlines()
    return demo, tests


def test_the_readme_starts_with_the_two_commands_that_ci_runs() -> None:
    demo, tests = the_two_commands()
    assert demo.endswith("-m scoreganizer_client_lib demo")
    assert tests.endswith("-m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert shlex.quote(demo) in ci and shlex.quote(tests) in ci


def test_the_install_section_says_what_is_published_and_how_to_install_this_version() -> None:
    from scoreganizer_client_lib import __version__

    readme = README.read_text(encoding="utf-8")
    install = readme[readme.index("\n## Install\n") :]
    install = install[: install.index("\n## ", 1)]
    assert "**What is on PyPI is 0.3.1, the library only**" in install
    assert f"**This version, {__version__}, is not published yet.**" in install
    for missing in ("async client", "`scoreganizer` command", "app", "sandbox", "`[all]`"):
        assert missing in install
    assert "_Illustration: " in install and "python3 -m venv .venv" in install


def test_every_block_is_run_or_checked() -> None:
    assert {block.lang for block in BLOCKS} <= {"python", "sh", "http", "json"}
    http = [block for block in BLOCKS if block.lang == "http"]
    assert all(block.page == "docs/protocol.md" and not block.why for block in http)
    assert len(ILLUSTRATIONS) <= 6, [block.id for block in ILLUSTRATIONS]
    assert PYTHON and SHELL_PAGES


def test_the_code_cites_the_projects_own_protocol_page() -> None:
    assert (ROOT / "docs" / "protocol.md").is_file()
    cites = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "src").rglob("*.py"))
        if "PROTOCOL.md" in path.read_text(encoding="utf-8")
    ]
    assert cites == [], "cite docs/protocol.md, the project's page"


@pytest.mark.parametrize("block", JSON, ids=[block.id for block in JSON])
def test_json_blocks_parse(block: Block) -> None:
    json.loads(block.code)


def _commands(code: str) -> list[str]:
    """A shell block's commands, one a line, continuations joined."""
    return [line.strip() for line in code.replace("\\\n", " ").splitlines() if line.strip()]


@pytest.mark.parametrize("block", ILLUSTRATIONS, ids=[block.id for block in ILLUSTRATIONS])
def test_illustrations_are_checked(block: Block) -> None:
    if block.lang == "python":
        compile(block.code, block.id, "exec")
        return
    assert block.lang == "sh", block.id
    if shutil.which("bash") is not None:
        parsed = subprocess.run(["bash", "-n"], input=block.code, capture_output=True, text=True)
        assert parsed.returncode == 0, parsed.stderr
    from scoreganizer_client_lib.cli import main

    for command in _commands(block.code):
        words = shlex.split(command, comments=True)
        if words[:1] == ["scoreganizer"]:
            parsed = CliRunner().invoke(main, [*words[1:], "--help"])
            assert parsed.exit_code == 0, f"{command}: {parsed.output}"
        for word in words:
            if word.endswith(".py") and "/" in word:
                assert (ROOT / word).is_file(), f"{command}: no {word}"


def _env(home: Path) -> dict[str, str]:
    """A player's environment: the installed command first on PATH, a fresh
    home and config folder, nothing that points at the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOREGANIZER_")}
    scripts = Path(sys.executable).parent
    env.update(
        PATH=f"{scripts}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        SCOREGANIZER_CONFIG_DIR=str(home / "config"),
        SCOREGANIZER_SANDBOX_DB=str(home / "sandbox.sqlite3"),
    )
    return env


def shell_session(page: str) -> str:
    """A page's shell blocks as one script: ``serve`` in the background."""
    ports: dict[str, str] = {}

    def free(match: re.Match[str]) -> str:
        return ports.setdefault(match.group(0), str(port_for_later()))

    lines = [PROLOGUE]
    for block in BLOCKS:
        if block.page != page or block.lang != "sh" or block.why:
            continue
        for command in block.code.replace("\\\n", " ").splitlines():
            command = LOCAL_PORT.sub(free, command)
            if re.match(r"\s*scoreganizer sandbox serve\b", command):
                port = re.search(r"--port (\d+)", command)
                assert port is not None, f"say which port: {command}"
                command = command.split("#", 1)[0].rstrip()
                lines.append(f"{command} >> serve.log 2>&1 &\nwait_for_port {port.group(1)}")
            else:
                lines.append(command)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Started]]:
    """Every runnable example, started at once (they are independent): each
    test then waits for its own."""
    started: dict[str, Started] = {}
    try:
        for block in PYTHON:
            folder = tmp_path_factory.mktemp("python")
            started[block.id] = Started([sys.executable, "-c", block.code], folder)
        if shutil.which("bash") is not None:
            for page in SHELL_PAGES:
                folder = tmp_path_factory.mktemp("shell")
                script = shell_session(page)
                started[f"sh:{page}"] = Started(["bash", "-c", script], folder)
        yield started
    finally:
        for example in started.values():
            example.end()


#: Seconds an example may take.
TIMEOUT = 120


class Started:
    """An example under way, as ``python -c BLOCK`` (or the page's shell
    session), in a player's environment and a session of its own."""

    def __init__(self, command: list[str], folder: Path) -> None:
        self.folder = folder
        self.process = subprocess.Popen(
            command,
            cwd=folder,
            env=_env(folder),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a group of its own, servers included
        )

    def finish(self) -> tuple[int, str]:
        """The exit status and everything printed (the server's log too)."""
        out, err = self.process.communicate(timeout=TIMEOUT)
        log = self.folder / "serve.log"
        server = f"\nserver:\n{log.read_text()}" if log.exists() else ""
        return self.process.returncode, f"{out}\n{err}{server}"

    def end(self) -> None:
        """Kill it, with whatever it started, if it was not waited for (a
        killed shell runs no trap: its servers would outlive the tests)."""
        if self.process.poll() is None:
            if hasattr(os, "killpg"):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            else:  # pragma: no cover - Windows
                self.process.kill()
        self.process.communicate()


@pytest.mark.parametrize("block", PYTHON, ids=[block.id for block in PYTHON])
def test_python_examples_run(block: Block, examples: dict[str, Started]) -> None:
    status, output = examples[block.id].finish()
    assert status == 0, f"{block.page}, line {block.line}:\n{output}"


@pytest.mark.skipif(shutil.which("bash") is None, reason="the pages' shell is bash")
@pytest.mark.parametrize("page", SHELL_PAGES)
def test_shell_examples_run(page: str, examples: dict[str, Started]) -> None:
    status, output = examples[f"sh:{page}"].finish()
    assert status == 0, f"{page}:\n{output}"
