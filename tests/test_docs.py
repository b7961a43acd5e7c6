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
  which ``tests/test_protocol_doc.py`` sends to a sandbox and compares.
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

Where there is ``fork``, each python block's process is forked from a server
that has imported the package, the sandbox and their dependencies once,
instead of paying about 0.3 s of CPU for those imports per block
(``tests/example_forkserver.py`` says what a child keeps of the server, and
the tests at the end hold it to that); elsewhere (Windows) it is started as a
process of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docs_examples import README, ROOT, Block, all_blocks
from example_forkserver import CWD_AT_IMPORT

#: The examples start together once per process: keep them in one.
pytestmark = pytest.mark.xdist_group("docs")

FORKSERVER = Path(__file__).parent / "example_forkserver.py"
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def shell_session(page: str) -> str:
    """A page's shell blocks as one script: ``serve`` in the background."""
    ports: dict[str, str] = {}

    def free(match: re.Match[str]) -> str:
        return ports.setdefault(match.group(0), str(_free_port()))

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
def fork_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer | None]:
    """Where the python examples start from; None without ``fork`` (Windows),
    where each is a process of its own, as a player starts it."""
    if not hasattr(os, "fork"):  # pragma: no cover - Windows
        yield None
        return
    server = ForkServer(tmp_path_factory.mktemp("forkserver"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def examples(
    tmp_path_factory: pytest.TempPathFactory, fork_server: ForkServer | None
) -> Iterator[dict[str, Started]]:
    """Every runnable example, started at once (they are independent): each
    test then waits for its own."""
    started: dict[str, Started] = {}
    try:
        for block in PYTHON:
            folder = tmp_path_factory.mktemp("python")
            if fork_server is not None:
                output = tmp_path_factory.mktemp("python-output")
                started[block.id] = fork_server.run(block.code, folder, output)
            else:  # pragma: no cover - Windows
                started[block.id] = Started.popen([sys.executable, "-c", block.code], folder)
        if shutil.which("bash") is not None:
            for page in SHELL_PAGES:
                folder = tmp_path_factory.mktemp("shell")
                script = shell_session(page)
                started[f"sh:{page}"] = Started.popen(["bash", "-c", script], folder)
        yield started
    finally:
        for example in started.values():
            example.end()


def _kill_group(pid: int) -> None:
    """End an example that was not waited for, with whatever it started (a
    killed shell runs no trap: its servers would outlive the tests)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


class Started:
    """An example under way, in a session of its own."""

    def __init__(self, folder: Path, pid: int) -> None:
        self.folder = folder
        self.pid = pid
        self.returncode: int | None = None

    @staticmethod
    def popen(command: list[str], folder: Path) -> Started:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=_env(folder),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a group of its own, servers included
        )
        return Popened(folder, process)

    def finish(self) -> tuple[int, str]:
        """The exit status and everything printed (the server's log too)."""
        status, out, err = self._wait()
        log = self.folder / "serve.log"
        server = f"\nserver:\n{log.read_text()}" if log.exists() else ""
        return status, f"{out}\n{err}{server}"

    def _wait(self) -> tuple[int, str, str]:
        raise NotImplementedError

    def end(self) -> None:
        """Kill it if it was not waited for, and reap it."""
        raise NotImplementedError


class Popened(Started):
    def __init__(self, folder: Path, process: subprocess.Popen[str]) -> None:
        super().__init__(folder, process.pid)
        self.process = process

    def _wait(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=TIMEOUT)
        return self.process.returncode, out, err

    def end(self) -> None:
        if self.process.poll() is None:
            if hasattr(os, "killpg"):
                _kill_group(self.process.pid)
            else:  # pragma: no cover - Windows
                self.process.kill()
        self.process.communicate()


class Forked(Started):
    def __init__(self, folder: Path, pid: int, server: ForkServer, output: Path) -> None:
        super().__init__(folder, pid)
        self.server = server
        self.output = output

    def _wait(self) -> tuple[int, str, str]:
        killed = False
        if self.returncode is None:
            self.returncode, killed = self.server.wait(self.pid)
        out, err = (
            (self.output / name).read_text(errors="replace") for name in ("stdout", "stderr")
        )
        if killed:
            pytest.fail(f"still running after {TIMEOUT} s:\n{out}\n{err}")
        return self.returncode, out, err

    def end(self) -> None:
        if self.returncode is None:
            _kill_group(self.pid)  # not reaped yet: the pid is still its own
            self.returncode, _ = self.server.wait(self.pid)


#: Seconds an example may take.
TIMEOUT = 120


class ForkServer:
    """``tests/example_forkserver.py``, started as ``python -c SOURCE`` in a
    player's environment: it has imported what the examples import, and forks
    each example from there (as ``python -c EXAMPLE`` runs it, without paying
    those imports again)."""

    def __init__(self, folder: Path) -> None:
        ours, theirs = socket.socketpair()
        with ours, theirs, (folder / "server.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", FORKSERVER.read_text(encoding="utf-8")],
                cwd=folder,
                env=_env(folder),
                stdin=theirs,
                stdout=log,
                stderr=log,
            )
            self.connection = Connection(os.dup(ours.fileno()))
        self.log = folder / "server.log"
        self.import_reads = self._receive("ready")

    def _receive(self, kind: str) -> Any:
        if not self.connection.poll(TIMEOUT):
            self.close()
            pytest.fail(f"the fork server did not answer:\n{self.log.read_text()}")
        try:
            answer, value = self.connection.recv()
        except EOFError:
            self.close()
            pytest.fail(f"the fork server ended:\n{self.log.read_text()}")
        assert answer == kind, (answer, value)
        return value

    def run(self, code: str, folder: Path, output: Path) -> Forked:
        request = (str(folder), _env(folder), str(output / "stdout"), str(output / "stderr"))
        self.connection.send(("run", code, *request))
        return Forked(folder, self._receive("started"), self, output)

    def wait(self, pid: int) -> tuple[int, bool]:
        """Its exit status, and whether it was killed (with all it started)
        for running longer than ``TIMEOUT``."""
        self.connection.send(("wait", pid))
        in_time = self.connection.poll(TIMEOUT)
        if not in_time:
            _kill_group(pid)
        return int(self._receive("exited")), not in_time

    def close(self) -> None:
        self.connection.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.mark.parametrize("block", PYTHON, ids=[block.id for block in PYTHON])
def test_python_examples_run(block: Block, examples: dict[str, Started]) -> None:
    status, output = examples[block.id].finish()
    assert status == 0, f"{block.page}, line {block.line}:\n{output}"


@pytest.mark.skipif(shutil.which("bash") is None, reason="the pages' shell is bash")
@pytest.mark.parametrize("page", SHELL_PAGES)
def test_shell_examples_run(page: str, examples: dict[str, Started]) -> None:
    status, output = examples[f"sh:{page}"].finish()
    assert status == 0, f"{page}:\n{output}"


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork server without fork")

#: What the server's imports may read of what differs between examples, and
#: why that is harmless.
IMPORT_READS_ALLOWED = {
    # set again by each child:
    *(("cwd", module) for module, _ in CWD_AT_IMPORT),
    # whether a user base exists (any HOME has one) and the cached value of
    # get_config_var("userbase"), which only installers read:
    ("HOME", "sysconfig"),
}


@needs_fork
def test_the_servers_imports_depend_on_nothing_an_example_sets(fork_server: ForkServer) -> None:
    one, other = _env(Path("one")), _env(Path("other"))
    differ = {key for key in one.keys() | other.keys() if one.get(key) != other.get(key)}
    assert differ >= {"HOME", "SCOREGANIZER_CONFIG_DIR", "SCOREGANIZER_SANDBOX_DB"}
    reads = {(what, module) for what, module in fork_server.import_reads}
    assert ("cwd", "multiprocessing.process") in reads  # the watch sees reads
    assert {(what, m) for what, m in reads if what in differ | {"cwd"}} <= IMPORT_READS_ALLOWED


PROBE = """
import atexit, multiprocessing.process, os, sys, threading, time
print(sorted(globals()), __name__, sys.argv, sys.orig_argv[1:], sys.path[0])
print(os.getcwd() == os.environ["HOME"] == multiprocessing.process.ORIGINAL_DIR, os.listdir())
print(sorted(os.environ.items()) == sorted(_env.items()))
atexit.register(print, "atexit ran")
threading.Thread(target=lambda: (time.sleep(0.1), print("thread joined"))).start()
print("Zoë", file=sys.stderr)
def fail():
    raise SystemExit(3) if sys.argv[1:] else 1 / 0
fail()
"""


@needs_fork
def test_a_forked_example_runs_as_python_c_runs_it(fork_server: ForkServer, tmp_path: Path) -> None:
    """The same program, forked and started: the same namespace, arguments,
    folder, environment, end (threads, atexit) and output."""
    folder, output = tmp_path / "folder", tmp_path / "output"
    folder.mkdir()
    output.mkdir()
    probe = PROBE.replace("_env.items()", f"{_env(folder)!r}.items()")
    forked = fork_server.run(probe, folder, output).finish()
    started = Started.popen([sys.executable, "-c", probe], folder).finish()
    assert forked == started
    status, output = forked
    assert status == 1
    assert "True []\nTrue\nthread joined\natexit ran\n" in output
    assert output.endswith("line 10, in fail\nZeroDivisionError: division by zero\n")


@needs_fork
def test_a_forked_example_that_is_not_waited_for_ends_with_what_it_started(
    fork_server: ForkServer, tmp_path: Path
) -> None:
    (tmp_path / "output").mkdir()
    code = (
        "import subprocess, time\n"
        "print(subprocess.Popen(['sleep', '600']).pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    example = fork_server.run(code, tmp_path, tmp_path / "output")
    stdout = tmp_path / "output" / "stdout"
    for _ in range(1000):
        if stdout.exists() and stdout.read_text().endswith("\n"):
            break
        time.sleep(0.01)
    sleeper = int(stdout.read_text())
    example.end()
    assert example.returncode == -signal.SIGKILL
    for _ in range(1000):  # killed, then reaped by whoever inherited it
        if not _alive(sleeper):
            break
        time.sleep(0.01)
    assert not _alive(sleeper)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except ProcessLookupError:
        return False
    except FileNotFoundError:  # no /proc (macOS): its reaper is prompt
        return True
    return state != "Z"  # a zombie is dead, whoever reaps it
