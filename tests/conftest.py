"""Shared fixtures: replay files, and servers on loopback ports."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPLAYS = DATA / "replays"
REAL_REPLAYS = sorted(REPLAYS.glob("test_subject*"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=[p.name for p in REAL_REPLAYS])
def real_replay(request: pytest.FixtureRequest) -> Path:
    return REPLAYS / request.param
