"""The sandbox: a local Scoreganizer-compatible server on SQLite.

Every ``/api/`` endpoint of docs/protocol.md with the same wire format and rules,
so that clients (ours, the published 0.3.1, anyone's) can be developed and
tested on one machine::

    from scoreganizer_client_lib import Scoreganizer
    from scoreganizer_client_lib.sandbox import SandboxServer, scenario

    with SandboxServer() as sandbox:
        scenario.add_user(sandbox.store, "alice", "secret")
        sc = Scoreganizer.from_url(sandbox.url)
        sc.login("alice", "secret")

Needs the ``sandbox`` extra (``pip install scoreganizer-client-lib[sandbox]``).
The policies docs/protocol.md leaves open are in :class:`SandboxConfig` and the
docstrings of :mod:`.rules` and :mod:`.accounts`. Layers: :mod:`.app` (HTTP)
calls :mod:`.rules` and :mod:`.accounts` (every policy), which call
:mod:`.store` (rows in SQLite: the file, its connections and transactions in
:mod:`.database`, the schema in :mod:`.schema`, the standings' statements in
:mod:`.ranking`, SQLite's failures in :mod:`.sqlite_errors`).
"""

from __future__ import annotations

from ..extras import require

require("sandbox")  # MissingExtra, an ImportError that says what to install

from .accounts import Accounts, User
from .config import CONTROL_TOKEN_ENV, MIN_CONTROL_TOKEN, SandboxConfig, default_db_path
from .errors import SandboxError
from .rules import Rules, Standings, parse_when
from .server import ConnectionLimits, PortInUse, SandboxServer
from .sqlite_errors import Busy, DamagedDatabase, NoDatabase
from .store import Store

__all__ = [
    "CONTROL_TOKEN_ENV",
    "MIN_CONTROL_TOKEN",
    "Accounts",
    "Busy",
    "ConnectionLimits",
    "DamagedDatabase",
    "NoDatabase",
    "PortInUse",
    "Rules",
    "SandboxConfig",
    "SandboxError",
    "SandboxServer",
    "Standings",
    "Store",
    "User",
    "default_db_path",
    "parse_when",
]
