"""The sandbox's policies: every choice docs/protocol.md leaves to the sandbox."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Environment variable naming the default database file.
DB_ENV = "SCOREGANIZER_SANDBOX_DB"
#: Environment variable holding the control token of ``serve --control``
#: (a script that starts the server then knows it), and its shortest length.
CONTROL_TOKEN_ENV = "SCOREGANIZER_SANDBOX_CONTROL_TOKEN"  # noqa: S105 (a name)
MIN_CONTROL_TOKEN = 16


@dataclass(frozen=True)
class SandboxConfig:
    """Sandbox policy; the defaults suit manual testing, tests shrink them.

    - ``token_stale_after``/``token_expires_after``: token ages (seconds) at
      which ``token_status`` says ``ok_stale`` and ``expired``.
    - ``refresh_cooldown``: a token younger than this cannot be refreshed
      (``token_too_recent``, HTTP 429).
    - ``max_tokens_per_user``: logging in more often than this drops the
      user's oldest tokens.
    - ``max_upload_bytes``: larger uploads get HTTP 413 ``invalid_data``.
    - ``clock_slack``: how far (seconds) a replay's board time may lie in the
      future of the server's clock (clocks differ a little); beyond it the
      upload is ``invalid_data``.
    - ``local_clock_slack``: for replays that only record the player's local
      clock (AVF), how far (seconds) the board time may seem to precede the key
      or lie in the future (the largest UTC offsets are 12 and 14 h).
    - ``argon2_time_cost``/``argon2_memory_kib``: password-hashing cost
      (OWASP's minimum for Argon2id by default).
    - ``hash_workers``: passwords hashed at the same time (each takes
      ``argon2_memory_kib`` and a core), in threads of their own;
      ``max_waiting_logins`` more may wait, further ones are answered
      ``too_many_attempts``.
    - ``login_attempts_per_name``/``login_name_refill``: failed logins allowed
      in a row for one user name (known or not) from one client address, and
      the seconds after which one more is allowed; beyond them HTTP 429
      ``too_many_attempts`` with a ``wait``.
      ``login_attempts_per_name_anywhere``: the same for one user name from
      all the addresses it never logged in from (refilled as fast).
      ``login_attempts_per_address``/``login_address_refill``: the same per
      client address, whatever the names. A refused login is answered after
      ``refused_login_delay`` seconds (at most its wait), so that guessing on
      many connections at once gets few answers.
    - ``busy_timeout``: how long a request waits for another's write lock
      before answering ``retry``.
    - ``startup_check_seconds``: opening a database file checks it for
      damage (SQLite's ``quick_check``) for at most this long (0: not at all).
    - ``synchronous``: SQLite's ``synchronous`` for a database file: ``FULL``
      (an acknowledged change survives an OS crash or power loss) or
      ``NORMAL`` (faster; the last changes may be lost then).
    - ``record_requests``: log every answered request (method, path, status,
      time) in the database, for :class:`~.recording.RequestLog`.
    - ``control_token``: serve the control endpoints ``/_sandbox/`` (clock,
      faults, request log, users, tournaments) to requests that send
      ``Authorization: Bearer`` this token; None: they do not exist (404).
    """

    token_stale_after: float = 24 * 3600
    token_expires_after: float = 30 * 24 * 3600
    refresh_cooldown: float = 60
    max_tokens_per_user: int = 100
    max_upload_bytes: int = 8 * 1024 * 1024
    clock_slack: float = 300
    local_clock_slack: float = 14 * 3600
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    hash_workers: int = field(default_factory=lambda: max(1, (os.cpu_count() or 2) // 2))
    max_waiting_logins: int = 64
    login_attempts_per_name: int = 5
    login_name_refill: float = 60
    login_attempts_per_name_anywhere: int = 20
    login_attempts_per_address: int = 30
    login_address_refill: float = 2
    refused_login_delay: float = 1.0
    busy_timeout: float = 5.0
    synchronous: str = "FULL"
    startup_check_seconds: float = 10.0
    record_requests: bool = False
    control_token: str | None = field(default=None, repr=False)


def default_db_path() -> Path:
    """``$SCOREGANIZER_SANDBOX_DB``, else ``sandbox.sqlite3`` in the user's data
    folder (per platform: ``%LOCALAPPDATA%`` on Windows, ``~/Library/Application
    Support`` on macOS, ``$XDG_DATA_HOME`` on Linux)."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    from platformdirs import user_data_path

    return user_data_path("scoreganizer", appauthor=False) / "sandbox.sqlite3"
