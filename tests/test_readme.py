"""The README's examples run as written, from a folder that is not the checkout.

- Every ``python`` block runs on its own, in a fresh empty folder.
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
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

#: The examples start together once per process: keep them in one.
pytestmark = pytest.mark.xdist_group("readme")

ROOT = Path(__file__).parent.parent
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
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Example]]:
    """Every runnable example, started at once (they are independent): each
    test then waits for its own."""
    commands = {
        f"python{i}": [sys.executable, "-c", textwrap.dedent(c)] for i, c in enumerate(PYTHON)
    }
    if shutil.which("bash") is not None:
        commands["shell"] = ["bash", "-c", shell_session(SHELL)]
    started = {}
    for name, command in commands.items():
        folder = tmp_path_factory.mktemp(name)
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=_env(folder),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a group of its own, servers included
        )
        started[name] = Example(process, folder)
    yield started
    for example in started.values():
        if example.process.poll() is None:
            _kill_group(example.process)
        example.process.communicate()


def _kill_group(process: subprocess.Popen[str]) -> None:
    """End an example that was not waited for, with whatever it started (a
    killed shell runs no trap: its servers would outlive the tests)."""
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    else:  # pragma: no cover - Windows
        process.kill()


class Example(NamedTuple):
    process: subprocess.Popen[str]
    folder: Path

    def finish(self) -> tuple[int, str]:
        """The exit status and everything printed (the server's log too)."""
        out, err = self.process.communicate(timeout=120)
        log = self.folder / "serve.log"
        server = f"\nserver:\n{log.read_text()}" if log.exists() else ""
        return self.process.returncode, f"{out}\n{err}{server}"


@pytest.mark.parametrize(
    "index", range(len(PYTHON)), ids=[f"python{i}" for i in range(len(PYTHON))]
)
def test_python_examples_run(index: int, examples: dict[str, Example]) -> None:
    status, output = examples[f"python{index}"].finish()
    assert status == 0, output


@pytest.mark.skipif(shutil.which("bash") is None, reason="the README's shell is bash")
def test_shell_examples_run(examples: dict[str, Example]) -> None:
    status, output = examples["shell"].finish()
    assert status == 0, output
