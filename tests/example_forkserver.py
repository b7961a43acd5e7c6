"""A fork server for the documentation's python examples (POSIX only).

``tests/test_docs.py`` starts this file's text as ``python -c SOURCE`` in a
player's environment, once. It imports what the examples import (``PRELOAD``:
the sandbox's FastAPI app alone costs 0.15 s of CPU per process), then forks a
child per example. Each child takes the example's own environment, folder and
output files and then ends this program's code and runs the example the way
``python -c EXAMPLE`` does: in a new ``__main__`` module, with
``sys.argv == ["-c"]``, and its end is the interpreter's own (non-daemon
threads joined, ``atexit`` handlers, streams flushed, the exit status of an
uncaught exception or ``SystemExit``).

What a child keeps from the server is what the imports did. So the server
records which environment variables and which current-folder reads the imports
make (``ready`` message); the test checks that none depends on what differs
between examples, apart from the folder reads of ``CWD_AT_IMPORT``, which each
child sets again to its own folder as its own import would have. The children
share the server's hash seed (``random`` is seeded again at each fork).

Protocol, over the socket on file descriptor 0 (``multiprocessing.connection``
messages): the server sends ``("ready", reads)``; then answers each
``("run", code, folder, env, stdout, stderr)`` with ``("started", pid)`` and
each ``("wait", pid)`` with ``("exited", returncode)``, ``returncode`` as
``subprocess.Popen`` gives it. End of input stops it.
"""

from __future__ import annotations

import builtins
import gc
import importlib
import importlib.machinery
import os
import sys
import threading
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

#: What the examples import, with what they import when they run.
PRELOAD = (
    "asyncio",
    "httpx",
    "requests",
    "uvicorn",
    "scoreganizer_client_lib",
    "scoreganizer_client_lib.aio",
    "scoreganizer_client_lib.app",
    "scoreganizer_client_lib.app.server",
    "scoreganizer_client_lib.app.web",
    "scoreganizer_client_lib.exceptions",
    "scoreganizer_client_lib.replays",
    "scoreganizer_client_lib.replays.testing",
    "scoreganizer_client_lib.sandbox",
    "scoreganizer_client_lib.sandbox.app",
    "scoreganizer_client_lib.sandbox.server",
    "scoreganizer_client_lib.scoreganizer",
    "scoreganizer_client_lib.watching",
)
#: Module attributes that hold the current folder at import time.
CWD_AT_IMPORT = (("multiprocessing.process", "ORIGINAL_DIR"), ("rich", "_IMPORT_CWD"))
#: Frames skipped to find the module that read the environment or the folder.
PLUMBING = {"os", "posixpath", "ntpath", "genericpath", "collections.abc", "pathlib", __name__}


def _reader() -> str:
    frame = sys._getframe(2)
    while frame.f_back is not None and frame.f_globals.get("__name__") in PLUMBING:
        frame = frame.f_back
    return str(frame.f_globals.get("__name__"))


def preload() -> list[tuple[str, str]]:
    """Import ``PRELOAD``; the environment variables (and ``cwd``) each
    importing module read, as ``(name, module)``."""
    reads: set[tuple[str, str]] = set()
    environ, getcwd = os.environ, os.getcwd

    class Watched(type(environ)):  # type: ignore[misc]
        def __getitem__(self, key: str) -> str:
            reads.add((key, _reader()))
            return str(super().__getitem__(key))

    def watched_getcwd() -> str:
        reads.add(("cwd", _reader()))
        return getcwd()

    os.environ = Watched(  # noqa: B003 - the same variables, watched
        environ._data,  # type: ignore[attr-defined]
        environ.encodekey,  # type: ignore[attr-defined]
        environ.decodekey,  # type: ignore[attr-defined]
        environ.encodevalue,  # type: ignore[attr-defined]
        environ.decodevalue,  # type: ignore[attr-defined]
    )
    os.getcwd = watched_getcwd
    try:
        for name in PRELOAD:
            importlib.import_module(name)
    finally:
        os.environ, os.getcwd = environ, getcwd
    return sorted(reads)


def become(folder: str, env: dict[str, str], stdout: str, stderr: str) -> None:
    """Turn this fork into the example's process: its own session (so that it
    can be killed with all it starts), folder, environment and output."""
    os.setsid()
    os.chdir(folder)
    os.environ.clear()
    os.environ.update(env)
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    for module, attribute in CWD_AT_IMPORT:
        if module in sys.modules:
            setattr(sys.modules[module], attribute, os.path.abspath(os.getcwd()))


def serve(
    connection: Connection, reads: list[tuple[str, str]]
) -> tuple[str, dict[str, object]] | None:
    """Answer requests until the input ends; in a child, its code and
    ``__main__`` namespace to run it in."""
    connection.send(("ready", reads))
    gc.collect()
    gc.freeze()  # the children's collections leave the preloaded objects (and their pages) alone
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return None
        if request[0] == "wait":
            _, status = os.waitpid(request[1], 0)
            connection.send(("exited", os.waitstatus_to_exitcode(status)))
            continue
        _, code, folder, env, stdout, stderr = request
        assert threading.active_count() == 1, "a fork copies only the thread that forks"
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid:
            connection.send(("started", pid))
            continue
        connection.close()
        become(folder, env, stdout, stderr)
        main = types.ModuleType("__main__")
        main.__dict__.update(
            __loader__=importlib.machinery.BuiltinImporter,
            __annotations__={},
            __builtins__=builtins,
        )
        sys.modules["__main__"] = main
        sys.orig_argv[-1] = code
        return code, main.__dict__


def main() -> None:
    reads = preload()  # before anything of the server's own, so that every read is seen
    from multiprocessing.connection import Connection

    connection = Connection(os.dup(0))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    example = serve(connection, reads)
    if example is None:
        return
    code, namespace = example
    try:
        exec(compile(code, "<string>", "exec"), namespace)  # noqa: S102 - the example itself
    except SystemExit:
        raise
    except BaseException as exc:  # reported as the interpreter does, without this frame
        if exc.__traceback__ is not None:
            exc.__traceback__ = exc.__traceback__.tb_next
        sys.excepthook(type(exc), exc, exc.__traceback__)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
