"""Write ``_api_sync.py`` from ``_api_async.py``: the same methods, without
``async`` and ``await``, with the ``Async`` classes renamed.

Run: ``python scripts/generate_sync_api.py`` after changing ``_api_async.py``
(``tests/client/test_client_surface.py`` fails until you do); ``--check`` only says
whether ``_api_sync.py`` is current.

The keywords are found as Python tokens, so text in strings and comments is
left alone; a class name that starts with ``Async`` and is not in
:data:`RENAMES` stops the generator (it would leave the sync client calling
the async class).
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
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

HEADER = '''"""The public methods of both clients, blocking. GENERATED from
``_api_async.py`` by ``scripts/generate_sync_api.py``: do not edit."""'''


def _names(source: str) -> list[tokenize.TokenInfo]:
    return [
        token
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.NAME
    ]


def generate(source: str) -> str:
    """The synchronous twin of the asynchronous ``source`` (whose module
    docstring is replaced by :data:`HEADER`)."""
    lines = source.splitlines(keepends=True)
    # the keywords and the space after each, last first so positions hold
    for token in reversed(_names(source)):
        if token.string in ("async", "await"):
            row, col = token.start
            line = lines[row - 1]
            lines[row - 1] = line[:col] + line[token.end[1] :].removeprefix(" ")
        elif token.string.startswith("Async") and token.string not in RENAMES:
            raise SystemExit(f"{SOURCE.name}:{token.start[0]}: no sync name for {token.string}")
    text = _NAMES.sub(lambda m: RENAMES[m.group(1)], "".join(lines))
    _, _, rest = text.partition('"""')
    _, _, rest = rest.partition('"""')
    return HEADER + rest


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
