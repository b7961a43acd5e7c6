"""A pytest plugin for testing Scoreganizer clients against a real sandbox.

Installed with the package (the ``pytest11`` entry point); its fixtures need
the ``sandbox`` extra and skip, saying so, where it is missing:

- ``scoreganizer_sandbox``: a running sandbox of the test's own (a throwaway
  database, a free loopback port), its :class:`~.sandbox.SandboxServer`:
  ``.url``, ``.clock``, ``.faults``, ``.requests``, ``.add_user(name,
  password)``, ``.add_tournament(name, host=..., start=..., end=..., mode=...,
  modeparams=...)``; its control token (``.config.control_token``) opens the
  ``/_sandbox/`` endpoints to programs in other languages.
- ``scoreganizer_player``: a :class:`~.Scoreganizer` logged in as a new user of
  that sandbox (password :data:`PLAYER_PASSWORD`);
- ``async_scoreganizer_player``: the same with :class:`~.aio.AsyncScoreganizer`
  (an async fixture: mark the test ``@pytest.mark.anyio``);
- ``scoreganizer_sandbox_config``: the sandbox's :class:`~.sandbox.SandboxConfig`
  (:func:`sandbox_config`); a project overrides it to change the policy.

The players wait by moving the sandbox's clock instead of sleeping: a client
told ``too_early`` for a tournament an hour away waits that hour in no time,
and a retry's back-off costs nothing. Passwords are hashed cheaply and refused
logins answered at once, so a test takes milliseconds. Every test gets a new
sandbox: nothing one test does (users, faults, the clock) reaches another.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .aio import AsyncScoreganizer
    from .sandbox import SandboxConfig, SandboxServer
    from .scoreganizer import Scoreganizer

#: The password of the players the fixtures log in.
PLAYER_PASSWORD = "player password"  # noqa: S105 (a test sandbox's)
_players = itertools.count(1)


def sandbox_config() -> SandboxConfig:
    """The fixtures' sandbox policy: cheap password hashing, refused logins
    answered at once, requests logged, a fresh control token."""
    from .sandbox import SandboxConfig

    return SandboxConfig(
        argon2_time_cost=1,
        argon2_memory_kib=64,
        hash_workers=1,
        refused_login_delay=0,
        record_requests=True,
        control_token=secrets.token_urlsafe(24),
    )


def _needs_the_extra() -> None:
    """Skip the test, saying which extra to install, where the sandbox's is missing."""
    try:
        import scoreganizer_client_lib.sandbox  # noqa: F401
    except ImportError as exc:  # MissingExtra: says which extra to install
        pytest.skip(str(exc))


@pytest.fixture
def scoreganizer_sandbox_config() -> SandboxConfig:
    """The policy of ``scoreganizer_sandbox``: :func:`sandbox_config`. Override
    this fixture to change it, e.g. with ``dataclasses.replace(sandbox_config(),
    token_stale_after=60)``."""
    _needs_the_extra()
    return sandbox_config()


@pytest.fixture
def scoreganizer_sandbox(scoreganizer_sandbox_config: SandboxConfig) -> Iterator[SandboxServer]:
    """A running sandbox for this test alone, with a clock to move, faults to
    set up and a log of the requests it answered."""
    _needs_the_extra()
    from .sandbox import SandboxServer

    with SandboxServer(":memory:", config=scoreganizer_sandbox_config) as sandbox:
        yield sandbox


def new_player(sandbox: SandboxServer) -> str:
    """A new user of ``sandbox`` (password :data:`PLAYER_PASSWORD`); the name."""
    name = f"player{next(_players)}"
    sandbox.add_user(name, PLAYER_PASSWORD)
    return name


@pytest.fixture
def scoreganizer_player(scoreganizer_sandbox: SandboxServer) -> Iterator[Scoreganizer]:
    """A sync client logged in as a new user; it waits by moving the clock."""
    from .scoreganizer import Scoreganizer

    name = new_player(scoreganizer_sandbox)
    client = Scoreganizer.from_url(
        scoreganizer_sandbox.url, auth_filename=None, sleep=scoreganizer_sandbox.clock.advance
    )
    try:
        client.login(name, PLAYER_PASSWORD)
        yield client
    finally:
        client.close()


@pytest.fixture
async def async_scoreganizer_player(
    scoreganizer_sandbox: SandboxServer,
) -> AsyncIterator[AsyncScoreganizer]:
    """An async client logged in as a new user; it waits by moving the clock."""
    from .aio import AsyncScoreganizer

    clock = scoreganizer_sandbox.clock

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    name = new_player(scoreganizer_sandbox)
    async with AsyncScoreganizer.from_url(
        scoreganizer_sandbox.url, auth_filename=None, sleep=sleep
    ) as client:
        await client.login(name, PLAYER_PASSWORD)
        yield client
