"""A tournament's standings as the library reads them: every line checked,
a server without standings told apart from one that answers nonsense."""

from __future__ import annotations

from typing import Any

import pytest

from fake_server import ORIGIN, FakeServer, answer
from scoreganizer_client_lib import RetryPolicy
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib.standings import MAX_ROWS, MAX_TEXT, parse_standings

pytestmark = pytest.mark.anyio
LINE = {"rank": 1, "player": "alice", "complete": True, "total": 12.5, "games": 3}


def test_a_line_as_the_sandbox_sends_it() -> None:
    found = parse_standings(
        {
            "name": "Cup",
            "mode": "sum",
            "modeparams": "",
            "standings": [
                {**LINE, "best": {"beginner": [2.5], "expert": []}},
                {"rank": 2, "player": "bob", "complete": False, "total": None, "games": 0},
            ],
        },
        7,
    )
    assert (found.tournament_id, found.name, found.modeparams) == (7, "Cup", "")
    assert found.rows[0].best == {"beginner": (2.5,), "expert": ()}
    assert found.of("bob") is not None and found.of("bob").total is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "line",
    [
        {**LINE, "rank": float("inf")},
        {**LINE, "rank": True},
        {**LINE, "rank": -1},
        {**LINE, "total": float("nan")},
        {**LINE, "total": float("-inf")},
        {**LINE, "total": "12.5"},
        {**LINE, "games": 10**30},
        {**LINE, "complete": "yes"},
        {**LINE, "player": ""},
        {**LINE, "player": "x" * (MAX_TEXT + 1)},
        {**LINE, "player": ["alice"]},
        {**LINE, "best": {"beginner": [float("inf")]}},
        {**LINE, "best": {str(n): [] for n in range(100)}},
        {k: v for k, v in LINE.items() if k != "player"},
        "alice",
    ],
)
def test_a_line_that_is_not_one_is_a_protocol_error(line: Any) -> None:
    with pytest.raises(exc.ScoreganizerProtocolError):
        parse_standings({"standings": [line]}, 1)


@pytest.mark.parametrize(
    "data", [[], {"standings": {}}, {"ranking": []}, {"standings": [LINE] * (MAX_ROWS + 1)}]
)
def test_an_answer_that_is_no_standings_is_a_protocol_error(data: Any) -> None:
    with pytest.raises(exc.ScoreganizerProtocolError):
        parse_standings(data, 1)


@pytest.mark.parametrize("status", [404, 405, 410, 501])
async def test_a_server_without_standings_names_the_tournament_s_page(status: int) -> None:
    server = FakeServer()
    server.on("GET", "/sandbox/standings/5", answer(status, body=b"<html>Not Found</html>"))
    async with server.async_client() as sc:
        with pytest.raises(exc.StandingsNotOffered) as info:
            await sc.tournaments.standings(5)
    assert info.value.page == f"{ORIGIN}/tournaments/5/"
    assert len(server.seen) == 1


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (403, b'{"error": "results_hidden"}', exc.ScoreganizerResultsHidden),
        (
            200,
            b'{"standings": [{"rank": 1, "player": "a", "total": 1e999}]}',
            exc.ScoreganizerProtocolError,
        ),
        (200, b"[" * 100_000, exc.ScoreganizerProtocolError),
        (500, b"", exc.ScoreganizerError),
    ],
)
async def test_other_answers_are_the_library_s_errors(
    status: int, body: bytes, error: type[Exception]
) -> None:
    server = FakeServer()
    server.on("GET", "/sandbox/standings/5", answer(status, body=body))
    async with server.async_client(retry=RetryPolicy.none()) as sc:
        with pytest.raises(error):
            await sc.tournaments.standings(5)
