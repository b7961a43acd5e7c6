"""The app's modules point one way: the endpoints (pages, actions, live)
use what they share (state, answers, sections), which use the session and
the tournaments it opened; web.py only wires them. A new module must be
placed here, and a module importing one above it fails."""

from __future__ import annotations

from pathlib import Path

import pytest

import scoreganizer_client_lib.app as app_package
from layers import assert_placed, imports

PACKAGE = Path(app_package.__file__).parent

#: What each module may import from inside the app package (imports only
#: for type checkers left out), each module below the ones it imports.
ALLOWED: dict[str, set[str]] = {
    "settings": set(),
    "sentences": set(),
    "folders": set(),
    "feed": set(),
    "results": set(),
    "forms": set(),
    "guard": set(),
    "launch": set(),
    "filters": {"feed", "folders", "results", "sentences"},
    "opened": {"feed", "folders", "results", "sentences"},
    "session": {"settings", "folders", "opened", "results", "sentences"},
    "state": {"filters", "folders", "opened", "session"},
    "answers": {"folders", "sentences", "state"},
    "sections": {"filters", "folders", "opened", "state"},
    "pages": {"answers", "filters", "forms", "sections", "state"},
    "actions": {"answers", "feed", "folders", "forms", "opened", "sentences", "state"},
    "live": {"answers", "feed", "opened", "sections", "state"},
    "web": {"actions", "answers", "live", "pages", "session", "state"},
    "server": {"guard", "launch", "session", "settings", "web"},
    "__init__": {"server", "settings"},
}


def _app_imports(module: str) -> set[str]:
    """The app modules ``module`` imports (``from .x import ...``)."""
    return imports((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))[0]


def test_every_module_is_placed_below_what_it_imports() -> None:
    assert_placed(PACKAGE, ALLOWED)


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_imports_point_one_way(module: str) -> None:
    assert _app_imports(module) <= ALLOWED[module]
