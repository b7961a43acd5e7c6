"""The sandbox's policies: every choice PROTOCOL.md leaves to the sandbox."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Environment variable naming the default database file.
DB_ENV = "SCOREGANIZER_SANDBOX_DB"


@dataclass(frozen=True)
class SandboxConfig:
    """Sandbox policy; the defaults suit manual testing, tests shrink them.

    - ``token_stale_after``/``token_expires_after``: token ages (seconds) at
      which ``token_status`` says ``ok_stale`` and ``expired``.
    - ``refresh_cooldown``: a token younger than this cannot be refreshed
      (``token_too_recent``, HTTP 429).
    - ``max_upload_bytes``: larger uploads get HTTP 413 ``invalid_data``.
    - ``local_clock_slack``: for replays that only record the player's local
      clock (AVF), how far (seconds) the board time may seem to precede the key
      (the largest UTC offset is 14 h).
    - ``argon2_time_cost``/``argon2_memory_kib``: password-hashing cost
      (OWASP's minimum for Argon2id by default).
    - ``busy_timeout``: how long a request waits for another's write lock
      before answering ``retry``.
    """

    token_stale_after: float = 24 * 3600
    token_expires_after: float = 30 * 24 * 3600
    refresh_cooldown: float = 60
    max_upload_bytes: int = 8 * 1024 * 1024
    local_clock_slack: float = 14 * 3600
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    busy_timeout: float = 5.0


def default_db_path() -> Path:
    """``$SCOREGANIZER_SANDBOX_DB``, else ``sandbox.sqlite3`` in the user's data
    folder (per platform: ``%LOCALAPPDATA%`` on Windows, ``~/Library/Application
    Support`` on macOS, ``$XDG_DATA_HOME`` on Linux)."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    from platformdirs import user_data_path

    return user_data_path("scoreganizer", appauthor=False) / "sandbox.sqlite3"
