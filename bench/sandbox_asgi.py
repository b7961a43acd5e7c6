"""The sandbox's ASGI app on the database named by ``$BENCH_SANDBOX_DB``, as an
import string for servers that load apps by name (bench_servers.py)."""

from __future__ import annotations

import os

from scoreganizer_client_lib.sandbox import Store
from scoreganizer_client_lib.sandbox.app import create_app

app = create_app(Store(os.environ["BENCH_SANDBOX_DB"]))
