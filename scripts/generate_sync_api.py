"""Write ``_api_sync.py`` from ``_api_async.py``: the same methods, without
``async`` and ``await``, with the ``Async`` classes renamed.

Run: ``python scripts/generate_sync_api.py`` after changing ``_api_async.py``
(``tests/test_client_surface.py`` fails until you do).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "scoreganizer_client_lib"
SOURCE = PACKAGE / "_api_async.py"
TARGET = PACKAGE / "_api_sync.py"

RENAMES = {
    "AsyncClientBase": "ClientBase",
    "AsyncTournaments": "Tournaments",
    "AsyncScores": "Scores",
}
_NAMES = re.compile(r"\b(" + "|".join(RENAMES) + r")\b")
_KEYWORDS = re.compile(r"\basync (?=def |with |for )|\bawait ")

HEADER = '''"""The public methods of both clients, blocking. GENERATED from
``_api_async.py`` by ``scripts/generate_sync_api.py``: do not edit."""'''


def generate(source: str) -> str:
    """The synchronous twin of the asynchronous ``source`` (whose module
    docstring is replaced by :data:`HEADER`)."""
    _, _, rest = source.partition('"""')
    _, _, rest = rest.partition('"""')
    return HEADER + _NAMES.sub(lambda m: RENAMES[m.group(1)], _KEYWORDS.sub("", rest))


def main() -> int:
    text = generate(SOURCE.read_text(encoding="utf-8"))
    if "--check" in sys.argv:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET.name} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
