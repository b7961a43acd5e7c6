"""The README's examples run as written, from a folder that is not the checkout.

- Every ``python`` block runs on its own, in a fresh empty folder, as
  ``python -c BLOCK`` in a player's environment would run it. Where there is
  ``fork``, its process is forked from a server that has imported the
  package, the sandbox and their dependencies once, instead of paying about
  0.3 s of CPU for those imports per block (``tests/example_forkserver.py``
  says what a child keeps of the server, and the tests at the end hold it to
  that); elsewhere (Windows) it is started as a process of its own.
- Every ``sh`` block runs, in the README's order, as one shell session in one
  fresh folder (``$HOME`` too): an ``export`` holds for the blocks after it.
  ``scoreganizer sandbox serve`` is started in the background (as in a second
  terminal) and the session waits until it answers. Each port 8000-8099
  the README names is replaced by a free port, so that the test does not
  depend on those being free.
- The first block, the two commands, is what CI runs itself (the test below
  checks that it is there and that ``.ci/run`` runs the second).
- A block right after ``<!-- illustration: WHY -->`` is not run (installs
  from PyPI, runs the whole test suite...); there are only a few.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest

from example_forkserver import CWD_AT_IMPORT

#: The examples start together once per process: keep them in one.
pytestmark = pytest.mark.xdist_group("readme")

ROOT = Path(__file__).parent.parent
FORKSERVER = Path(__file__).parent / "example_forkserver.py"
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(
    r"(?:^[ ]*<!-- illustration: (?P<why>[^>\n]+) -->\n)?"
    r"^[ ]*```(?P<lang>\w*)\n(?P<code>.*?)^[ ]*```",
    flags=re.DOTALL | re.MULTILINE,
)
#: Every block but the first: the two commands, which CI runs itself.
BLOCKS = [(m["lang"], m["code"], m["why"]) for m in BLOCK.finditer(README)][1:]
PYTHON = [code for lang, code, why in BLOCKS if lang == "python" and not why]
SHELL = [code for lang, code, why in BLOCKS if lang == "sh" and not why]
#: The ports the README gives local servers.
README_PORT = re.compile(r"\b80\d\d\b")
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


def test_starts_with_the_two_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    assert first_block is not None and README.index(first_block.group(0)) < README.index("---")
    demo, tests = first_block.group(1).strip().splitlines()
    assert demo.endswith("python3 -m scoreganizer_client_lib demo")
    assert tests.endswith("python3 -m pytest")
    assert tests in (ROOT / ".ci" / "run").read_text().splitlines()


def test_every_block_is_run_or_says_why_not() -> None:
    assert all(lang in ("python", "sh") for lang, _, _ in BLOCKS), [b[0] for b in BLOCKS]
    illustrations = [why for _, _, why in BLOCKS if why]
    assert len(illustrations) <= 3, illustrations
    assert PYTHON and SHELL


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


def shell_session(blocks: list[str]) -> str:
    """The README's shell blocks as one script: ``serve`` in the background."""
    ports: dict[str, str] = {}

    def free(match: re.Match[str]) -> str:
        return ports.setdefault(match.group(0), str(_free_port()))

    lines = [PROLOGUE]
    for block in blocks:
        for command in block.replace("\\\n", " ").splitlines():
            command = README_PORT.sub(free, command)
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
        for i, code in enumerate(PYTHON):
            folder = tmp_path_factory.mktemp(f"python{i}")
            if fork_server is not None:
                output = tmp_path_factory.mktemp(f"python{i}-output")
                started[f"python{i}"] = fork_server.run(textwrap.dedent(code), folder, output)
            else:  # pragma: no cover - Windows
                command = [sys.executable, "-c", textwrap.dedent(code)]
                started[f"python{i}"] = Started.popen(command, folder)
        if shutil.which("bash") is not None:
            folder = tmp_path_factory.mktemp("shell")
            started["shell"] = Started.popen(["bash", "-c", shell_session(SHELL)], folder)
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


@pytest.mark.parametrize(
    "index", range(len(PYTHON)), ids=[f"python{i}" for i in range(len(PYTHON))]
)
def test_python_examples_run(index: int, examples: dict[str, Started]) -> None:
    status, output = examples[f"python{index}"].finish()
    assert status == 0, output


@pytest.mark.skipif(shutil.which("bash") is None, reason="the README's shell is bash")
def test_shell_examples_run(examples: dict[str, Started]) -> None:
    status, output = examples["shell"].finish()
    assert status == 0, output


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
