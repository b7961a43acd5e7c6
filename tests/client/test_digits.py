"""Numbers read from text that others wrote (answers, requests, mode
parameters): ASCII digits only, at a cost bounded by the text's length, and a
clear refusal, never Python's own "Exceeds the limit (4300 digits)"."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import httpx
import pytest

from scoreganizer_client_lib._answer_body import AnswerBody
from scoreganizer_client_lib.app.filters import mode_words, time_allowed
from scoreganizer_client_lib.cli._errors import describe_server_error
from scoreganizer_client_lib.digits import ascii_int
from scoreganizer_client_lib.exceptions import ScoreganizerProtocolError
from scoreganizer_client_lib.sandbox import Store
from scoreganizer_client_lib.sandbox.app import create_app
from scoreganizer_client_lib.sandbox.rules import parse_modeparams
from scoreganizer_client_lib.tournament import Tournament

HUGE = "9" * 5000
PADDED = "0" * 5000 + "7"
FOREIGN = "\u0662"  # ARABIC-INDIC DIGIT TWO: str.isdigit() and int() take it


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        (" 42 ", 42),
        ("1000", 1000),
        ("1001", 1001),
        ("1002", 1001),
        (HUGE, 1001),
        (PADDED, 7),
        (FOREIGN, None),
        ("\u00b2", None),
        ("", None),
        ("-1", None),
        ("1e3", None),
        ("1_000", None),
    ],
)
def test_ascii_int(text: str, expected: int | None) -> None:
    assert ascii_int(text, 1000) == expected


@pytest.mark.parametrize("declared", [HUGE, "0" * 5000 + "2" * 30])
def test_an_answers_huge_content_length_is_too_large(declared: str) -> None:
    with pytest.raises(ScoreganizerProtocolError, match=r"over 10+ bytes, more than the 1024 this"):
        AnswerBody(1024, {"content-length": declared})


@pytest.mark.parametrize("declared", [FOREIGN, PADDED, "12"])
def test_an_answers_other_content_lengths_pass(declared: str) -> None:
    AnswerBody(1024, {"content-length": declared})


def test_sandbox_modeparams_with_padded_counts() -> None:
    assert parse_modeparams("sum", PADDED + "+1+1").counts["beginner"] == 7
    with pytest.raises(ValueError, match="at most 1000 games"):
        parse_modeparams("sum", "0" * 5000 + "1001+1+1")


def _tournament(mode: str, modeparams: str) -> Tournament:
    now = datetime.now(timezone.utc)
    return Tournament(1, mode, modeparams, "Cup", None, now, now, True, False, "participating")


@pytest.mark.parametrize("count", [HUGE, FOREIGN])
def test_app_shows_unreadable_mode_parameters_as_they_came(count: str) -> None:
    params = f"{count}+1+1;600"
    assert mode_words(_tournament("sum", params)) == f"sum {params}"
    assert time_allowed(_tournament("sum_timelimit", f"1+1+1;{count}")) == "a limited time"
    assert mode_words(_tournament("sum", "1+0+2")) == "Sum of your best times: 1 beginner, 2 expert"


@pytest.mark.parametrize("error", [HUGE, FOREIGN])
def test_cli_names_a_digit_error_code_without_failing(error: str) -> None:
    words = describe_server_error(error, None, "https://example.org")
    assert words == "the server refused the request"


def test_sandbox_content_length_past_the_caps_is_refused_in_the_app() -> None:
    """The HTTP server refuses such a header first; the app does too, on
    whatever server it runs."""
    store = Store(":memory:")

    async def send(declared: bytes) -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(store))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.post(
                "/api/obtain_token",
                content=b"username=a&password=b",
                headers=[
                    (b"Content-Type", b"application/x-www-form-urlencoded"),
                    (b"Content-Length", declared),
                ],
            )

    try:
        # a header arrives as Latin-1; int() takes its superscript two for 2
        for declared, status in [(HUGE.encode(), 413), ("\u00b2".encode("latin-1"), 400)]:
            answer = asyncio.run(send(declared))
            assert (answer.status_code, answer.json()["error"]) == (status, "invalid_data")
    finally:
        store.close()
