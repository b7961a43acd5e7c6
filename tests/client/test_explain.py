"""One vocabulary for failures: explain() and the front-ends that lay it out."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib.codes import StopCode, WatchCode
from scoreganizer_client_lib.explain import REASONS, explain, not_scoreganizer
from scoreganizer_client_lib.refusals import Refusal, RefusalCode
from scoreganizer_client_lib.tournament import KNOWN_STATUSES
from scoreganizer_client_lib.watching import CannotWatch, StopReason

PACKAGE = Path(exc.__file__).parent
SERVER = "https://example.org"


def test_every_server_code_has_words() -> None:
    for code in exc.EXCEPTION_CLS_MAP:
        explained = explain(exc.exception_for(code, 1.0, timedelta(0)), SERVER)
        assert explained.code == code and explained.reason == REASONS[code].replace(
            "not logged in", f"not logged in on {SERVER}"
        )


def test_the_servers_words_follow_ours() -> None:
    refused = explain(exc.ScoreganizerInvalidData("invalid_data", "already uploaded"))
    assert refused.reason == "the server refused the data (already uploaded)"
    unknown = explain(exc.ScoreganizerError("brand_new", "no reason"))
    assert (unknown.code, unknown.reason) == (
        "brand_new",
        "the server refused the request (no reason)",
    )
    hidden = explain(exc.ScoreganizerResultsHidden("results_hidden", "hidden until the end"))
    assert hidden.reason == "the host hides the results until the tournament ends"  # no echo
    own = explain(exc.TournamentNotFound(7))
    assert own.reason == "no such tournament (no tournament has the id 7)"


@pytest.mark.parametrize(
    ("failure", "words", "foreign"),
    [
        (
            exc.ScoreganizerError("404"),
            f"this does not look like a Scoreganizer server at {SERVER} (HTTP 404)",
            True,
        ),
        (exc.ScoreganizerError("501"), "(HTTP 501)", True),
        (
            exc.ScoreganizerProtocolError("not JSON"),
            f"Scoreganizer server at {SERVER} (not JSON)",
            True,
        ),
        (exc.ScoreganizerError("503"), f"the server at {SERVER} is failing (HTTP 503)", False),
        (exc.ScoreganizerNotLoggedIn("not_logged_in"), "not logged in", False),
    ],
)
def test_not_a_scoreganizer_server_is_decided_once(
    failure: exc.ScoreganizerError, words: str, foreign: bool
) -> None:
    assert not_scoreganizer(failure) is foreign
    assert words in explain(failure, SERVER).reason


def test_refusals_stops_and_watch_starts_keep_their_codes() -> None:
    refusal = Refusal(RefusalCode.NO_KEY, "no key", "put it in")
    assert explain(refusal) == (explain(refusal).__class__)(
        RefusalCode.NO_KEY, "no key", "put it in"
    )
    stop = explain(StopReason(StopCode.NOT_LOGGED_IN, "not logged in (or the login expired)"))
    assert (stop.code, stop.advice) == (StopCode.NOT_LOGGED_IN, "log in again")
    busy = explain(CannotWatch("folder_busy", '"x" is already being watched'))
    assert busy.code is WatchCode.FOLDER_BUSY and busy.reason == '"x" is already being watched'
    assert busy.advice == "stop that watcher first"


def test_an_unexpected_error_is_named_by_its_class() -> None:
    assert explain(ValueError("odd")).reason == "ValueError: odd"
    missing = explain(FileNotFoundError(2, "No such file or directory", "a.rmv"))
    assert missing.reason == "a.rmv: No such file or directory"


def _compared_or_tabled(tree: ast.AST) -> Iterator[str]:
    """The strings a module compares with or keys a table by."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            found: list[ast.expr] = [node.left, *node.comparators]
        elif isinstance(node, ast.Dict):
            found = [key for key in node.keys if key is not None]
        elif isinstance(node, (ast.Set, ast.Tuple, ast.List)):
            found = list(node.elts)
        else:
            continue
        yield from (
            c.value for c in found if isinstance(c, ast.Constant) and isinstance(c.value, str)
        )


@pytest.mark.parametrize("front_end", ["cli", "app"])
def test_the_front_ends_spell_no_server_error_code(front_end: str) -> None:
    codes = {code.value for code in exc.ErrorCode} - set(KNOWN_STATUSES)  # statuses spelled alike
    for module in sorted((PACKAGE / front_end).glob("*.py")):
        spelled = set(_compared_or_tabled(ast.parse(module.read_text(encoding="utf-8"))))
        assert spelled & codes == set(), module.name
