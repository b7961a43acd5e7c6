"""The sync and the async client are the same client: the same names,
signatures and return types, from one source; and the package's surface
(0.3.1's import paths, lazy imports, ``dir()`` and ``help()``)."""

from __future__ import annotations

import importlib.util
import inspect
import pickle
import pydoc
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import scoreganizer_client_lib
from scoreganizer_client_lib import AsyncScoreganizer, Scoreganizer
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib._api_async import AsyncClientBase, AsyncScores, AsyncTournaments
from scoreganizer_client_lib._api_sync import ClientBase
from scoreganizer_client_lib.score import Scores
from scoreganizer_client_lib.tournament import Tournaments

ROOT = Path(__file__).parents[2]
PAIRS = [(ClientBase, AsyncClientBase), (Tournaments, AsyncTournaments), (Scores, AsyncScores)]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "generate_sync_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sync_api_is_generated_from_the_async_one() -> None:
    gen = _generator()
    expected = gen.generate(gen.SOURCE.read_text(encoding="utf-8"))
    assert gen.TARGET.read_text(encoding="utf-8") == expected, (
        "run: python scripts/generate_sync_api.py"
    )
    assert "await" not in expected.replace("``await``", "")


def test_the_generator_changes_code_only() -> None:
    gen = _generator()
    source = (
        '"""The async original."""\n'
        "x = 'await this, async for that'  # an async with in a comment\n"
        "async def f(c: AsyncScores) -> None:\n"
        "    async with c:\n"
        "        await g(await h())\n"
    )
    assert gen.generate(source) == (
        gen.HEADER + "\n"
        "x = 'await this, async for that'  # an async with in a comment\n"
        "def f(c: Scores) -> None:\n"
        "    with c:\n"
        "        g(h())\n"
    )
    with pytest.raises(SystemExit, match="no sync name for AsyncUploads"):
        gen.generate('"""doc"""\nclass AsyncUploads: ...\n')


def _public(cls: type) -> dict[str, Any]:
    return {
        name: value
        for klass in reversed(cls.__mro__)
        if klass.__module__.startswith("scoreganizer_client_lib")
        for name, value in vars(klass).items()
        if not name.startswith("_")
    }


def _normalized(annotation: Any) -> str:
    return str(annotation).replace("Async", "")


@pytest.mark.parametrize(("sync", "async_"), PAIRS, ids=lambda c: c.__name__)
def test_same_names_signatures_and_return_types(sync: type, async_: type) -> None:
    ours, theirs = _public(sync), _public(async_)
    assert sorted(ours) == sorted(theirs)
    for name, value in ours.items():
        other = theirs[name]
        if isinstance(value, property):
            assert _normalized(inspect.signature(value.fget).return_annotation) == _normalized(
                inspect.signature(other.fget).return_annotation
            ), name
            continue
        if not callable(value) or isinstance(value, (classmethod, staticmethod)):
            continue
        mine, yours = inspect.signature(value), inspect.signature(other)
        assert [
            (p.name, p.kind, p.default, _normalized(p.annotation)) for p in mine.parameters.values()
        ] == [
            (p.name, p.kind, p.default, _normalized(p.annotation))
            for p in yours.parameters.values()
        ], name
        assert _normalized(mine.return_annotation) == _normalized(yours.return_annotation), name
        assert value.__doc__ == other.__doc__, name
        own = name in vars(async_)
        assert inspect.iscoroutinefunction(other) is own, f"{name}: awaitable exactly when shared"


def test_the_clients_differ_only_in_their_drivers() -> None:
    sync = {n for n in dir(Scoreganizer(host="x")) if not n.startswith("_")}
    async_ = {n for n in dir(AsyncScoreganizer(host="x")) if not n.startswith("_")}
    assert sync - async_ == {"close"}
    assert async_ - sync == {"aclose", "client", "max_connections"}


def test_typed_returns_everywhere() -> None:
    for sync, async_ in PAIRS:
        for cls in (sync, async_):
            for name, value in _public(cls).items():
                if callable(value):
                    annotation = inspect.signature(value).return_annotation
                    assert annotation is not inspect.Signature.empty, f"{cls.__name__}.{name}"
                    assert "Any" not in str(annotation), f"{cls.__name__}.{name}"


def assert_runs(code: str, cwd: Path | None = None) -> None:
    """``code`` succeeds in a fresh interpreter (what it imports is all its own)."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd)
    assert result.returncode == 0, result.stderr


def test_importing_the_async_client_does_not_import_requests() -> None:
    code = (
        "import sys\n"
        "from scoreganizer_client_lib import AsyncScoreganizer\n"
        "from scoreganizer_client_lib.exceptions import ScoreganizerError\n"
        "AsyncScoreganizer(auth_filename='not-read-yet.txt')\n"
        "assert 'requests' not in sys.modules, sorted(m for m in sys.modules if 'requests' in m)\n"
        "from scoreganizer_client_lib.exceptions import NetworkException\n"
        "import requests\n"
        "assert NetworkException is requests.exceptions.RequestException\n"
    )
    assert_runs(code, cwd=ROOT / "tests")
    assert not (ROOT / "tests" / "not-read-yet.txt").exists()  # no file I/O in __init__


def test_what_the_async_client_uses_imports_no_sync_client() -> None:
    """The model and the refusals in words serve both clients: importing them,
    or explaining a refusal that is no OSError (the network failures are),
    loads neither requests nor the sync client."""
    code = (
        "import sys\n"
        "from scoreganizer_client_lib.refusals import explain_refusal\n"
        "from scoreganizer_client_lib.tournament import Tournament\n"
        "from scoreganizer_client_lib.exceptions import ReplayHasNoKey\n"
        "assert explain_refusal(ReplayHasNoKey('no_key', 'x')).code == 'no_key'\n"
        "sync = {'requests', 'scoreganizer_client_lib._api_sync'} & set(sys.modules)\n"
        "assert not sync, sync\n"
        "assert explain_refusal(OSError(2, 'gone')).code == 'cannot_open'\n"
        "from scoreganizer_client_lib.tournament import Tournaments\n"
        "import requests\n"
        "assert explain_refusal(requests.ConnectionError()).code == 'network'\n"
    )
    assert_runs(code, cwd=ROOT / "tests")


def test_a_sync_watcher_loads_no_asyncio(tmp_path: Path) -> None:
    """The command watches with the sync client: importing the watcher and
    wrapping a sync client loads no event loop (asyncio is for an
    :class:`~scoreganizer_client_lib.watching.AsyncUploader`)."""
    code = (
        "import sys\n"
        "from scoreganizer_client_lib import Scoreganizer\n"
        "from scoreganizer_client_lib.watching import FolderWatcher, SyncUploader\n"
        "SyncUploader(Scoreganizer(auth_filename='credentials.txt'))\n"
        "loaded = {'asyncio', 'concurrent.futures'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    assert_runs(code, cwd=tmp_path)  # where the sync client makes its credentials file


def test_importing_the_package_imports_no_client() -> None:
    code = (
        "import sys, scoreganizer_client_lib as s\n"
        "lazy = {'requests', 'httpx', 'scoreganizer_client_lib.replays._inspect'}\n"
        "assert not lazy & set(sys.modules)\n"
        "from scoreganizer_client_lib import Scoreganizer\n"
        "assert 'httpx' not in sys.modules and 'dataclasses' not in sys.modules, 'lazy'\n"
        "assert 'scoreganizer_client_lib.replays._inspect' not in sys.modules\n"
    )
    assert_runs(code)


def test_submodules_are_package_attributes_as_in_031() -> None:
    code = (
        "import scoreganizer_client_lib as s\n"
        "assert s.exceptions.ScoreganizerError and s.score.Scores and s.tournament.Tournament\n"
        "assert s.scoreganizer.Scoreganizer is s.Scoreganizer\n"
        "assert s.scoreganizer.DEFAULT_ADAPTER.max_retries.total == 0\n"
        "assert s.scoreganizer.DEFAULT_RETRY is not None and s.scoreganizer.build_exception\n"
        "assert s.version.__version__ == s.__version__\n"
    )
    assert_runs(code)
    with pytest.raises(AttributeError):
        _ = scoreganizer_client_lib.nothing_here  # type: ignore[attr-defined]


def test_dir_and_help_show_the_public_classes() -> None:
    names = dir(scoreganizer_client_lib)
    for name in ("Scoreganizer", "AsyncScoreganizer", "RetryPolicy", "Tournament", "config"):
        assert name in names
    # the wire's header name, for servers built on the package (the sandbox)
    assert scoreganizer_client_lib.AUTH_HEADER == "X-Scoreganizer-Authorization"
    text = pydoc.render_doc(scoreganizer_client_lib, renderer=pydoc.plaintext)
    for name in ("class Scoreganizer", "class AsyncScoreganizer", "class RetryPolicy"):
        assert name in text


ALL_ERRORS: list[exc.ScoreganizerError] = [
    exc.ScoreganizerError("something"),
    exc.ScoreganizerError("something", "with a message"),
    exc.ScoreganizerWait("too_many_attempts", timedelta(seconds=3)),
    exc.ScoreganizerTooEarly("too_early", timedelta(seconds=5)),
    exc.ScoreganizerNotGeneratedYet("not_generated_yet", timedelta(seconds=1)),
    exc.ScoreganizerKeyExists("key_exists"),
    exc.ScoreganizerProtocolError("not JSON"),
    exc.ScoreganizerRedirectRefused("https://elsewhere/", "redirected"),
    exc.AuthFileError("cannot write"),
    exc.TournamentNotFound(7),
    exc.ReplayUnreadable("replay_unreadable", "bad", "a.rmv"),
    exc.ReplayHasNoKey("replay_has_no_key", "no key"),
]


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda e: type(e).__name__)
def test_every_exception_survives_pickling(error: exc.ScoreganizerError) -> None:
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(again) is type(error) and vars(again) == vars(error)
    assert again.args == error.args and str(again) == str(error)


def test_import_paths_and_names_of_031() -> None:
    import requests

    from scoreganizer_client_lib.scoreganizer import Scoreganizer as AtOldPath

    assert AtOldPath is Scoreganizer
    assert exc.InvalidLoginData is exc.ScoreganizerInvalidLoginData
    assert exc.NetworkException is requests.exceptions.RequestException
    assert issubclass(exc.ScoreganizerError, Exception)


@pytest.mark.parametrize("client", [Scoreganizer, AsyncScoreganizer])
def test_defaults_and_aliases_of_031(client: type) -> None:
    sc = client()
    assert (sc.host, sc.port, sc.https, sc.timeout) == ("scoreganizer.net", 443, True, (5.0, 30.0))
    assert sc.base_url == sc._base_url == "https://scoreganizer.net:443/api/"  # 0.3.1's name
    assert sc._url("tournaments/all") == "https://scoreganizer.net:443/api/tournaments/all"
    assert client(host="localhost", port=8000, https=False).base_url == (
        "http://localhost:8000/api/"
    )
    assert sc.tournament is sc.tournaments and sc.score is sc.scores


def test_a_wait_can_be_awaited() -> None:
    import asyncio

    async def waiting() -> int:
        wait = exc.ScoreganizerTooEarly("too_early", timedelta(seconds=0.01))
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(ticker())
        await wait.do_wait_async()
        task.cancel()
        return ticks

    assert asyncio.run(waiting()) > 1  # the loop kept running while waiting


def test_args_as_in_031() -> None:
    wait = timedelta(seconds=5)
    assert exc.ScoreganizerTooEarly("too_early", wait).args == ("too_early", wait)
    assert exc.ScoreganizerKeyExists("key_exists").args == ("key_exists",)
    assert exc.ScoreganizerWait("x", wait, "message").args == ("x", wait)


@pytest.mark.parametrize("client", [Scoreganizer, AsyncScoreganizer])
def test_from_url_takes_the_constructors_arguments_by_name_and_no_others(client: type) -> None:
    """A misspelt argument is an error (for the type checker too: no
    ``**kwargs``), not something silently passed on."""
    from_url = inspect.signature(client.from_url).parameters
    made = inspect.signature(client.__init__).parameters
    assert not any(p.kind is p.VAR_KEYWORD for p in from_url.values())
    assert set(from_url) == {"url"} | set(made) - {"self", "host", "port", "https"}
    for name, parameter in from_url.items():
        if name != "url":
            assert parameter.default == made[name].default, name
            assert parameter.annotation == made[name].annotation, name
    with pytest.raises(TypeError, match="timout"):
        client.from_url("http://127.0.0.1:9", timout=5)
    sc = client.from_url("http://127.0.0.1:9", timeout=5)
    assert (sc.host, sc.port, sc.https, sc.timeout) == ("127.0.0.1", 9, False, (5.0, 5.0))
