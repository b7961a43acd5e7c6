"""The watcher's parts point one way: the clock, a file's signature, the
journal, the lock, the events and the uploader protocol stand alone; timing,
scanning and the tournaments use some of them; sending uses those; the
watcher composes them all. A new module must be placed here, and a module
importing one above it fails. The package is part of the library: it imports
neither the command (``cli``), the app nor the sandbox, which are built on it."""

from __future__ import annotations

from pathlib import Path

import pytest

import scoreganizer_client_lib.watching as watching_package
from layers import assert_placed, imports

PACKAGE = Path(watching_package.__file__).parent
#: The layers built on the library, which the watcher must not import.
ABOVE = ("cli", "app", "sandbox")

#: What each module may import from inside the watching package (imports only
#: for type checkers left out), each module below the ones it imports.
ALLOWED: dict[str, set[str]] = {
    "_clock": set(),
    "_signatures": set(),
    "_journal": set(),
    "_lock": set(),
    "_events": set(),
    "_uploader": set(),
    "_tournaments": {"_events"},
    "_timing": {"_clock", "_signatures"},
    "_scanning": {"_clock", "_journal", "_signatures"},
    "_sending": {"_clock", "_events", "_journal", "_signatures", "_tournaments", "_uploader"},
    "_watcher": {
        "_clock", "_events", "_journal", "_lock", "_scanning", "_sending", "_signatures",
        "_timing", "_tournaments", "_uploader",
    },
    "__init__": {"_clock", "_events", "_tournaments", "_uploader", "_watcher"},
}  # fmt: skip


def _source(module: str) -> str:
    return (PACKAGE / f"{module}.py").read_text(encoding="utf-8")


def test_every_module_is_placed_below_what_it_imports() -> None:
    assert_placed(PACKAGE, ALLOWED)


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_imports_point_one_way(module: str) -> None:
    assert imports(_source(module))[0] <= ALLOWED[module]


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_the_watcher_imports_no_layer_built_on_it(module: str) -> None:
    assert imports(_source(module))[1].isdisjoint(ABOVE)


def test_the_check_finds_what_it_looks_for() -> None:
    """The checks themselves can fail: each of these imports is seen."""
    source = "\n".join(
        [
            "from ._watcher import FolderWatcher",
            "from .. import app",
            "from ..cli._common import client",
            "import scoreganizer_client_lib.sandbox.server",
            "def later() -> None:",
            "    from ..cli import main",  # inside a function: still an import
            "if TYPE_CHECKING:",
            "    from ._scanning import Scanner",  # for type checkers: left out
        ]
    )
    own, library = imports(source)
    assert own == {"_watcher"}
    assert library == {"app", "cli", "sandbox"}
