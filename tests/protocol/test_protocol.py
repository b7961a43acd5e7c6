"""The sans-I/O protocol core, driven directly with scripted answers: no
sockets, no HTTP library, no mocks. Every operation, every error code, every
malformed answer. (CI checks that this covers every line and branch of the
``_protocol`` package.)"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from cases import ERROR_CODES, KEY, TOURNAMENT, TOURNAMENT_NEWER, error_body
from scoreganizer_client_lib import _protocol as p
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib._protocol import core as operations

BASE = "https://api.test:8443/api/"
NO_JITTER = p.RetryPolicy(jitter=False)


def answer(status: int = 200, body: object = None, **headers: str) -> p.Response:
    """A scripted answer; ``body`` as JSON unless it is bytes."""
    raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    return p.Response(status, raw, timedelta(seconds=0.5), headers)


def failure(kind: p.FailureKind) -> p.TransportFailure:
    return p.TransportFailure(ConnectionError(f"transport: {kind.value}"), kind)


class Script:
    """Plays a driver: answers each request with the next scripted outcome
    and records what the operation asked for. A look at the credentials file
    (``CheckCredentials``) takes the next of ``saved`` (what another program
    saved meanwhile), when there is one."""

    def __init__(
        self, *outcomes: p.Response | p.TransportFailure, credentials: p.Credentials | None = None
    ) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[p.Request] = []
        self.sleeps: list[p.Sleep] = []
        self.checks: list[p.CheckCredentials] = []
        self.credentials = credentials
        self.saved: list[str | None] = []
        self.steps: list[str] = []

    def run(self, operation: p.Operation[Any]) -> Any:
        outcome: p.Outcome = None
        while True:
            try:
                step = operation.send(outcome)
            except StopIteration as stop:
                assert not self.outcomes, f"unused answers: {self.outcomes}"
                return stop.value
            if isinstance(step, p.Sleep):
                self.sleeps.append(step)
                outcome = None
            elif isinstance(step, p.CheckCredentials):
                self.checks.append(step)
                self.steps.append("thorough check" if step.thorough else "check")
                if self.saved:
                    assert self.credentials is not None
                    self.credentials.set(self.saved.pop(0))
                outcome = None
            else:
                self.requests.append(step)
                self.steps.append(f"{step.method} {step.headers.get(p.AUTH_HEADER)!r}")
                outcome = self.outcomes.pop(0)

    @property
    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.split('/api/', 1)[1]}" for r in self.requests]


def core(auth_str: str | None = "alice:tok", retry: p.RetryPolicy = NO_JITTER) -> p.ProtocolCore:
    return p.ProtocolCore(p.Credentials(auth_str), BASE, retry, now=lambda: 1_000_000.0)


def run(operation: p.Operation[Any], *outcomes: p.Response | p.TransportFailure) -> Any:
    return Script(*outcomes).run(operation)


# -- wire values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-20T13:37:00", datetime(2024, 5, 20, 13, 37, tzinfo=timezone.utc)),
        ("2024-05-20T13:37:00.250000", datetime(2024, 5, 20, 13, 37, 0, 250000, timezone.utc)),
        ("2024-05-20", datetime(2024, 5, 20, tzinfo=timezone.utc)),  # a date alone: aware
        ("2024-05-20T15:37:00+02:00", datetime(2024, 5, 20, 13, 37, tzinfo=timezone.utc)),
        ("2024-05-20T13:37:00Z", datetime(2024, 5, 20, 13, 37, tzinfo=timezone.utc)),
        ("2024-05-20T13:37:00z", datetime(2024, 5, 20, 13, 37, tzinfo=timezone.utc)),
    ],
)
def test_parse_datetime(text: str, expected: datetime) -> None:
    parsed = p.parse_datetime(text)
    assert parsed == expected and parsed.tzinfo is timezone.utc


@pytest.mark.parametrize(
    "text", ["yesterday", "", "Z", "ZZ", "2024-13-01", None, 17, "9" * 10_000 + "z"]
)
def test_parse_datetime_refuses(text: Any) -> None:
    with pytest.raises(exc.ScoreganizerProtocolError, match="not an ISO 8601"):
        p.parse_datetime(text)


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_parse_datetime_refuses_what_utc_cannot_hold(text: str) -> None:
    with pytest.raises(exc.ScoreganizerProtocolError, match="out of range"):
        p.parse_datetime(text)


def test_format_datetime() -> None:
    aware = datetime(2024, 5, 20, 15, 37, tzinfo=timezone(timedelta(hours=2)))
    assert p.format_datetime(aware) == "2024-05-20T13:37:00"
    assert p.format_datetime(datetime(2024, 5, 20, 13, 37)) == "2024-05-20T13:37:00"


def test_token_status_ok_is_exactly_ok_and_ok_stale() -> None:
    assert [s.value for s in p.TokenStatus if s.is_ok] == ["ok", "ok_stale"]
    assert p.token_status_ok("ok") and p.token_status_ok("ok_stale")
    for status in ("okay_but_new", "ok ", "OK", "expired", "not_sent", ""):
        assert not p.token_status_ok(status)
    assert str(p.TokenStatus.OK_STALE) == "ok_stale" and str(p.WaitReason.BACKOFF) == "backoff"


def test_values_between_core_and_driver() -> None:
    file = p.UploadFile("video", "g.rmv", b"12345", "application/x-viennasweeper")
    request = p.Request("POST", BASE + "scores/upload", file=file, headers={"X": b"secret"})
    assert request.size == 5 and p.Request("GET", BASE).size == 0
    assert "secret" not in repr(request) and "scores/upload" in repr(request)
    response = p.Response(200, b"[]", headers={"Retry-After": "3", "CONTENT-TYPE": "x"})
    assert response.headers == {"retry-after": "3", "content-type": "x"}  # names lower-cased
    assert repr(response) == "Response(200, 2 bytes)"
    assert p.Response(204, b"").headers == {}
    assert "timeout" in repr(failure(p.FailureKind.TIMEOUT))
    sleep = p.Sleep(1.5, p.WaitReason.TOO_EARLY)
    assert sleep.remaining == 1.5 and repr(sleep) == "Sleep(1.500, too_early)"
    assert p.tournament_id("35") == 35


def test_credentials() -> None:
    creds = p.Credentials()
    assert creds.headers() == {} and creds.username is None
    creds.set("Łukasz:tök")
    assert creds.headers() == {p.AUTH_HEADER: "Łukasz:tök".encode()}  # UTF-8 on the wire
    assert creds.username == "Łukasz" and "tök" not in repr(creds)
    creds.set("")
    assert creds.auth_str is None and creds.username is None


def test_credentials_count_their_changes() -> None:
    creds = p.Credentials()
    assert creds.snapshot() == (None, 0)
    creds.set("ann:1")
    assert creds.snapshot() == ("ann:1", 1) and p.Credentials("ann:1").version == 1
    # what was read from a file is taken only while nothing changed here since
    assert creds.replace_unless_changed(0, "bob:2") is None and creds.auth_str == "ann:1"
    assert creds.replace_unless_changed(1, "ann:1") == 1  # the same: no change
    assert creds.replace_unless_changed(1, "bob:2") == 2 and creds.username == "bob"
    assert creds.replace_unless_changed(2, None) == 3 and creds.auth_str is None


def test_a_request_replaced_in_part() -> None:
    file = p.UploadFile("video", "g.rmv", b"1", "x")
    request = p.Request("POST", BASE + "a", {"k": "v"}, file, {"H": b"1"}, idempotent=False)
    moved = request.replace(url=BASE + "b")
    assert (moved.url, moved.headers, moved.data, moved.file) == (
        BASE + "b",
        {"H": b"1"},
        {"k": "v"},
        file,
    )
    other = request.replace(headers={"H": b"2"})
    assert (other.url, other.headers, other.method, other.idempotent) == (
        BASE + "a",
        {"H": b"2"},
        "POST",
        False,
    )
    assert repr(p.CheckCredentials(True)) == "CheckCredentials(thorough=True)"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("a.rmv",), "application/x-viennasweeper"),
        (("a.AVF",), "application/x-minesweeper-arbiter"),
        (("a.evf",), "application/x-metasweeper"),
        (("a.txt",), "application/x-viennasweeper"),  # 0.3.1's fallback
        (("noext",), "application/x-viennasweeper"),
        (("a.rmv", ".evf"), "application/x-metasweeper"),  # ext wins over the suffix
        (("a.rmv", "avf", "text/x"), "text/x"),  # mime_type wins over everything
    ],
)
def test_mime_type_for(args: tuple[str, ...], expected: str) -> None:
    assert p.mime_type_for(*args) == expected


# -- retry policy ------------------------------------------------------------------


def test_the_named_policies() -> None:
    """Where a person waits, a refused connection is said at once and every
    wait ends within 5 s; a watcher hears of a failure within a second."""
    person, watcher = p.RetryPolicy.interactive(), p.RetryPolicy.quick()
    refused = p.TransportFailure(OSError("refused"), p.FailureKind.REFUSED)
    assert p.RetryPolicy().delay(1, 0, p.Request("GET", BASE), refused) is not None
    assert person.delay(1, 0, p.Request("GET", BASE), refused) is None
    assert (person.attempts, person.budget, watcher.attempts, watcher.budget) == (3, 5.0, 2, 1.0)


def test_retry_policy_settings() -> None:
    policy = p.RetryPolicy(attempts=2, rng=random.Random(1))
    assert p.RetryPolicy.none().attempts == 1
    assert policy.replace(attempts=3) == p.RetryPolicy(attempts=3)  # rng is not compared
    assert policy != p.RetryPolicy() and policy != "a policy"
    assert repr(policy).startswith("RetryPolicy(attempts=2, backoff=0.5") and "rng" not in repr(
        policy
    )
    with pytest.raises(TypeError):
        hash(policy)


def test_jitter_comes_from_the_policy_s_own_random_source() -> None:
    get = p.Request("GET", BASE)
    drop = failure(p.FailureKind.CONNECT)
    first = [p.RetryPolicy(rng=random.Random(7)).delay(n, 0, get, drop) for n in (1, 2, 3)]
    again = [p.RetryPolicy(rng=random.Random(7)).delay(n, 0, get, drop) for n in (1, 2, 3)]
    assert first == again  # deterministic under test
    assert all(c / 2 <= d <= c for d, c in zip(first, (0.5, 1.0, 2.0), strict=True))  # type: ignore[operator]
    assert [NO_JITTER.delay(n, 0, get, drop) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert p.RetryPolicy(max_backoff=0.7, jitter=False).delay(3, 0, get, drop) == 0.7


@pytest.mark.parametrize(
    ("method", "idempotent", "outcome", "retried"),
    [
        ("POST", False, failure(p.FailureKind.CONNECT), True),  # nothing was sent
        ("POST", False, failure(p.FailureKind.REFUSED), True),
        ("GET", True, failure(p.FailureKind.DROPPED), True),
        ("POST", False, failure(p.FailureKind.DROPPED), False),  # might have been done
        ("GET", True, failure(p.FailureKind.TIMEOUT), False),  # the server may still work on it
        ("GET", True, failure(p.FailureKind.OTHER), False),
        ("GET", True, answer(500), True),  # 0.3.1 retried GETs on 500 too
        ("GET", True, answer(502), True),
        ("GET", True, answer(503), True),
        ("GET", True, answer(504), True),
        ("POST", False, answer(500), False),  # ...but never POSTs
        ("POST", False, answer(503), False),
        ("POST", True, answer(503), True),  # uploads and logins are safe to repeat
        ("GET", True, answer(404), False),
        ("GET", True, answer(403, {"error": "retry"}), False),  # an application answer
        ("GET", True, answer(429), False),  # no Retry-After: not retried
        ("POST", False, answer(429, **{"Retry-After": "2"}), True),
        ("POST", False, answer(429, {"error": "token_too_recent"}, **{"Retry-After": "2"}), False),
    ],
)
def test_what_is_retried(
    method: str, idempotent: bool, outcome: p.Response | p.TransportFailure, retried: bool
) -> None:
    request = p.Request(method, BASE, idempotent=idempotent)
    assert (NO_JITTER.delay(1, 0.0, request, outcome) is not None) is retried


def test_a_refused_connection_is_retried_unless_the_policy_says_not() -> None:
    get, never = p.Request("GET", BASE), NO_JITTER.replace(refused=False)
    assert never.delay(1, 0.0, get, failure(p.FailureKind.REFUSED)) is None
    assert never.delay(1, 0.0, get, failure(p.FailureKind.CONNECT)) == 0.5  # a timeout, say


def test_attempts_and_budget_bound_the_retries() -> None:
    get, busy = p.Request("GET", BASE), answer(503)
    assert NO_JITTER.delay(3, 0, get, busy) == 2.0
    assert NO_JITTER.delay(4, 0, get, busy) is None  # 4 sends in all
    assert NO_JITTER.delay(2, 59.5, get, busy) is None  # 1 s more would pass the 60 s budget
    long_wait = answer(503, **{"Retry-After": "3600"})
    assert NO_JITTER.delay(1, 0, get, long_wait) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),  # any case of the header name
        ({"retry-after": " 1.5 "}, 1.5),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "nan"}, 0.5),  # not a wait: the back-off instead
        ({"Retry-After": "soon"}, 0.5),
        ({"Retry-After": ""}, 0.5),
        # an HTTP date, against the answer's own Date (clocks may differ)...
        (
            {
                "Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT",
                "Date": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
            10.0,
        ),
        # ...else against the core's clock
        ({"Retry-After": "Mon, 12 Jan 1970 13:46:50 GMT"}, 10.0),
        ({"Retry-After": "Mon, 12 Jan 1970 13:46:50 GMT", "Date": "garbage"}, 10.0),
        ({"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}, 0.0),  # in the past: at once
        # a year past datetime's range: not a date
        ({"Retry-After": "Wed, 21 Oct 99999 07:28:00 GMT"}, 0.5),
        (
            {
                "Retry-After": "Mon, 12 Jan 1970 13:46:50 GMT",
                "Date": "Wed, 21 Oct 99999 07:28:00 GMT",
            },
            10.0,
        ),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float) -> None:
    request = p.Request("GET", BASE)
    assert NO_JITTER.delay(1, 0, request, answer(503, **headers), now=1_000_000.0) == expected


# -- error answers -----------------------------------------------------------------


@pytest.mark.parametrize(("code", "wait", "cls"), ERROR_CODES)
def test_every_error_code(code: str, wait: object, cls: type[exc.ScoreganizerError]) -> None:
    error = p.error_from_response(403, json.dumps(error_body(code, wait)).encode(), timedelta(0))
    assert type(error) is cls and error.error == code
    if wait is not None:
        assert isinstance(error, exc.ScoreganizerWait)
        assert error.wait_time == timedelta(seconds=float(wait))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (404, b"", "404"),  # empty: the status is the code
        (502, b"<html>Bad Gateway</html>", "502"),  # a proxy's page
        (500, b"\xff\xfe", "500"),
        (403, b"[1, 2]", "403"),  # not an object
        (403, b'{"detail": "no code"}', "403"),
        (403, b'{"error": null}', "403"),
        (403, b"[" * 100_000, "403"),  # too deep to parse: not an error object
    ],
)
def test_error_answers_without_a_usable_code(status: int, body: bytes, code: str) -> None:
    error = p.error_from_response(status, body, timedelta(0))
    assert type(error) is exc.ScoreganizerError and error.error == code


def test_the_servers_reason_is_carried_by_the_exception() -> None:
    body = b'{"error": "invalid_data", "reason": "already uploaded by another player"}'
    error = p.error_from_response(403, body, timedelta(0))
    assert type(error) is exc.ScoreganizerInvalidData
    assert error.message == "already uploaded by another player"
    assert str(error) == "invalid_data: already uploaded by another player"
    body = b'{"error": "too_early", "wait": 5, "reason": "starts at six"}'
    error = p.error_from_response(403, body, timedelta(0))
    assert isinstance(error, exc.ScoreganizerTooEarly) and error.message == "starts at six"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("null", None),
        ("42", None),
        ('["a"]', None),
        ('"   "', None),
        ('"two\\n  lines"', "two lines"),  # one line, whatever the server sent
        ('"\\u001b]0;owned\\u0007 \\u202ereversed"', "\ufffd]0;owned\ufffd \ufffdreversed"),
        ('"' + "x" * 100_000 + '"', "x" * (exc.MAX_REASON_LENGTH - 1) + "\N{HORIZONTAL ELLIPSIS}"),
    ],
)
def test_a_reason_is_inert_and_bounded(reason: str, expected: str | None) -> None:
    body = b'{"error": "invalid_data", "reason": ' + reason.encode() + b"}"
    error = p.error_from_response(403, body, timedelta(0))
    assert type(error) is exc.ScoreganizerInvalidData and error.message == expected


@pytest.mark.parametrize(
    "wait", [b'"soon"', b"[5]", b"true", b"NaN", b"1e999", b'"' + b"9" * 100 + b'"']
)
def test_a_code_that_takes_no_wait_ignores_it(wait: bytes) -> None:
    error = p.error_from_response(
        403, b'{"error": "key_exists", "wait": ' + wait + b"}", timedelta(0)
    )
    assert type(error) is exc.ScoreganizerKeyExists  # as 0.3.1: wait_key then gets the key


def test_wait_is_compensated_by_elapsed_time_never_below_zero() -> None:
    error = p.error_from_response(403, b'{"error": "too_early", "wait": 10}', timedelta(seconds=3))
    assert isinstance(error, exc.ScoreganizerTooEarly) and error.wait_time == timedelta(seconds=7)
    error = p.error_from_response(403, b'{"error": "too_early", "wait": 1}', timedelta(seconds=3))
    assert isinstance(error, exc.ScoreganizerWait) and error.wait_time == timedelta(0)
    error = p.error_from_response(403, b'{"error": "too_early", "wait": -50}', timedelta(0))
    assert isinstance(error, exc.ScoreganizerWait) and error.wait_time == timedelta(0)


@pytest.mark.parametrize(
    "body",
    [
        b'{"error": "too_early", "wait": 1e308}',  # timedelta overflows
        b'{"error": "too_early", "wait": "1e308"}',
        b'{"error": "too_early", "wait": NaN}',
        b'{"error": "too_early", "wait": "nan"}',
        b'{"error": "too_early", "wait": Infinity}',
        b'{"error": "too_early", "wait": 400000000}',  # more than ten years
        b'{"error": "too_early", "wait": "soon"}',
        b'{"error": "too_early", "wait": true}',
        b'{"error": "too_early", "wait": [5]}',
        b'{"error": "too_early", "wait": "' + b"9" * 100 + b'"}',
        b'{"error": "something_new", "wait": 1e999}',
        b'{"error": 42}',
        b'{"error": ""}',
        b'{"error": "two words"}',
        b'{"error": "\\u001b[31mred"}',  # terminal escapes in a code
        b'{"error": "' + b"x" * 5000 + b'"}',
    ],
)
def test_hostile_error_answers_are_protocol_errors(body: bytes) -> None:
    error = p.error_from_response(403, body, timedelta(0))
    assert type(error) is exc.ScoreganizerProtocolError and error.error == "invalid_response"
    assert len(str(error)) < 300


# -- exchanges: retries and redirects -------------------------------------------------


def test_transport_failures_are_retried_then_raised() -> None:
    script = Script(failure(p.FailureKind.CONNECT), answer(503), answer(200, []))
    assert script.run(core().tournaments("all")) == []
    assert [s.seconds for s in script.sleeps] == [0.5, 1.0]
    assert all(s.reason is p.WaitReason.BACKOFF for s in script.sleeps)
    dead = failure(p.FailureKind.CONNECT)
    with pytest.raises(ConnectionError) as info:
        run(core().tournaments("all"), *[dead] * 4)
    assert info.value is dead.exception  # the driver's own exception


def test_a_driver_that_answers_nothing_is_a_bug() -> None:
    operation = core().tournaments("all")
    next(operation)
    with pytest.raises(RuntimeError, match="sent nothing back"):
        operation.send(None)


def test_requests_carry_the_credentials_and_their_nature() -> None:
    script = Script(answer(200, {"status": "ok"}))
    script.run(core().token_status())
    script.outcomes.append(answer(200))
    script.run(core(None).participate(3))
    get, post = script.requests
    assert get.headers == {p.AUTH_HEADER: b"alice:tok"} and get.idempotent
    assert post.headers == {} and not post.idempotent
    assert get.url == BASE + "token_status"


def test_redirect_within_the_origin_is_followed() -> None:
    script = Script(
        answer(301, **{"Location": "/api/v2/tournaments/all"}),
        answer(307, **{"location": "HTTPS://api.test:8443/api/v3/tournaments/all"}),
        answer(200, [TOURNAMENT]),
    )
    assert len(script.run(core().tournaments("all"))) == 1
    assert script.paths == [
        "GET tournaments/all",
        "GET v2/tournaments/all",
        "GET v3/tournaments/all",
    ]
    assert all(r.headers for r in script.requests)

    upload = Script(answer(308, **{"Location": "upload2"}), answer(201))
    upload.run(core().upload("g.rmv", b"RMV", "application/x-viennasweeper"))
    assert upload.paths == ["POST scores/upload", "POST scores/upload2"]
    assert upload.requests[1].file is upload.requests[0].file


@pytest.mark.parametrize(
    ("location", "sent_to"),
    [
        # urllib3 reads the host of these as "evil.test": the URL sent is rebuilt
        # on the configured server, so every parser reads the same host
        ("https://evil.test\\@api.test:8443/api/x", "https://api.test:8443/api/x"),
        ("https://evil.test%5C@api.test:8443/api/x", "https://api.test:8443/api/x"),
        ("https://user:pw@api.test:8443/api/x", "https://api.test:8443/api/x"),
        ("/api/a b\\c\t?q=1 2#frag", "https://api.test:8443/api/a%20b%5Cc?q=1%202"),
        ("https://api.test:8443", "https://api.test:8443/"),
    ],
)
def test_a_followed_redirect_goes_to_the_configured_server(location: str, sent_to: str) -> None:
    script = Script(answer(302, **{"Location": location}), answer(200, []))
    script.run(core().tournaments("all"))
    assert script.requests[1].url == sent_to


@pytest.mark.parametrize(
    ("location", "advice"),
    [
        ("https://evil.test/steal", ""),
        ("//evil.test:8443/api/x", ""),  # scheme-relative
        ("https://api.test:9999/api/x", ""),  # another port
        ("http://api.test:8443/api/x", ""),  # a downgrade
        ("https://api.test.evil.test:8443/api/", ""),
        ("https://api.test:notaport/", ""),
    ],
)
def test_redirect_to_another_origin_is_refused(location: str, advice: str) -> None:
    with pytest.raises(exc.ScoreganizerRedirectRefused) as info:
        run(core().login("alice", "pw"), answer(307, **{"Location": location}))
    assert info.value.error == "redirect_refused"
    assert isinstance(info.value, exc.ScoreganizerProtocolError)
    assert "not the configured server" in str(info.value)
    assert info.value.location.startswith(("https://", "http://"))


def test_http_to_https_on_the_same_host_is_refused_with_advice() -> None:
    plain = p.ProtocolCore(p.Credentials("a:t"), "http://api.test:80/api/", NO_JITTER)
    with pytest.raises(exc.ScoreganizerRedirectRefused) as info:
        run(
            plain.tournaments("all"),
            answer(301, **{"Location": "https://api.test/api/tournaments/all"}),
        )
    assert "use https://api.test:443" in str(info.value)
    assert info.value.location == "https://api.test/api/tournaments/all"


def test_redirect_that_drops_a_post_s_data_is_refused() -> None:
    with pytest.raises(exc.ScoreganizerRedirectRefused, match="drops the request's data"):
        run(core().login("alice", "pw"), answer(302, **{"Location": "/api/elsewhere"}))


def test_redirect_loops_end() -> None:
    loop = [answer(302, **{"Location": "/api/tournaments/all"})] * (operations.MAX_REDIRECTS + 1)
    with pytest.raises(exc.ScoreganizerProtocolError, match="redirects"):
        run(core().tournaments("all"), *loop)


def test_a_redirect_status_without_location_is_an_error_answer() -> None:
    with pytest.raises(exc.ScoreganizerError) as info:
        run(core().tournaments("all"), answer(302))
    assert info.value.error == "302"


# -- operations ----------------------------------------------------------------------


def test_login_sets_the_credentials() -> None:
    creds = p.Credentials()
    script = Script(answer(200, {"token": "abc"}))
    assert script.run(p.ProtocolCore(creds, BASE).login("Łukasz", "pw")) == "Łukasz:abc"
    assert creds.auth_str == "Łukasz:abc"
    (request,) = script.requests
    assert request.data == {"username": "Łukasz", "password": "pw"} and request.idempotent


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": None},
        {"token": ""},
        {"token": 5},
        {"token": "a b"},  # a space would split the header
        {"token": "a\r\nX-Evil: 1"},  # header injection
        {"token": "x" * 5000},
        [],
        "token",
    ],
)
def test_login_refuses_a_malformed_token(body: object) -> None:
    creds = p.Credentials()
    with pytest.raises(exc.ScoreganizerProtocolError):
        run(p.ProtocolCore(creds, BASE).login("bob", "pw"), answer(200, body))
    assert creds.auth_str is None  # nothing half-set


def test_login_refuses_non_json() -> None:
    with pytest.raises(exc.ScoreganizerProtocolError, match="not JSON"):
        run(core().login("bob", "pw"), answer(200, b"<html>"))
    with pytest.raises(exc.ScoreganizerProtocolError, match="not JSON"):
        run(core().login("bob", "pw"), answer(200, b"[" * 100_000))  # RecursionError inside


def test_login_error() -> None:
    with pytest.raises(exc.ScoreganizerInvalidLoginData):
        run(core().login("bob", "no"), answer(403, {"error": "invalid_login_data"}))


def test_token_status() -> None:
    assert run(core().token_status(), answer(200, {"status": "ok_stale"})) is p.TokenStatus.OK_STALE
    new = run(core().token_status(), answer(200, {"status": "okay_but_new"}))
    assert isinstance(new, p.TokenStatus) and new == "okay_but_new" and str(new) == "okay_but_new"
    assert not new.is_ok  # typed as a status, known or not
    with pytest.raises(ValueError, match="not a valid TokenStatus"):
        p.TokenStatus(5)  # type: ignore[arg-type]
    assert run(core().token_status_ok(), answer(200, {"status": "ok"})) is True
    assert run(core().token_status_ok(), answer(200, {"status": "okay_but_new"})) is False
    with pytest.raises(exc.ScoreganizerProtocolError):
        run(core().token_status(), answer(200, {"state": "ok"}))


def test_refresh_keeps_the_username() -> None:
    creds = p.Credentials("alice:old")
    creds.username = "alice2"  # assigned, as 0.3.1 allowed
    script = Script(answer(200, {"token": "new"}))
    assert script.run(p.ProtocolCore(creds, BASE).refresh_login()) == "alice2:new"
    assert creds.auth_str == "alice2:new" and creds.username == "alice2"
    assert script.requests[0].headers == {p.AUTH_HEADER: b"alice:old"}


def test_refresh_before_login_sends_nothing() -> None:
    script = Script()
    with pytest.raises(exc.ScoreganizerNotLoggedIn, match="log in first"):
        script.run(core(None).refresh_login())
    assert script.requests == []


def test_refresh_if_stale() -> None:
    stale = Script(answer(200, {"status": "ok_stale"}), answer(200, {"token": "new"}))
    assert stale.run(core().refresh_login_if_stale()) == "alice:new"
    assert stale.paths == ["GET token_status", "POST refresh_token"]
    assert run(core().refresh_login_if_stale(), answer(200, {"status": "ok"})) is None


@pytest.mark.parametrize(
    "which", ["all", "archive", "in_progress", "upcoming", "active", "my_active"]
)
def test_tournament_lists(which: str) -> None:
    script = Script(answer(200, [TOURNAMENT, TOURNAMENT_NEWER]))
    first, newer = script.run(core().tournaments(which))
    assert script.paths == [f"GET tournaments/{which}"]
    assert first.id == 35 and newer.extra == {"prize": "fame"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", b"Infinity"),
        ("id", b"1e400"),
        ("id", b"NaN"),
        ("id", b"[1]"),
        ("start", b'"9999-12-31T23:59:59-01:00"'),
        ("end", b"17"),
    ],
)
def test_a_malformed_tournament_is_a_protocol_error(field: str, value: bytes) -> None:
    good = json.dumps({**TOURNAMENT, field: "HERE"}).encode()
    body = b"[" + good.replace(b'"HERE"', value) + b"]"
    with pytest.raises(exc.ScoreganizerProtocolError):
        run(core().tournaments("all"), answer(200, body))


def test_a_tournament_may_have_no_location_but_lacks_no_field() -> None:
    dated = {**TOURNAMENT, "location": None, "start": "2024-05-20", "end": "2024-05-21"}
    (found,) = run(core().tournaments("all"), answer(200, [dated]))
    assert found.location is None and found.start == datetime(2024, 5, 20, tzinfo=timezone.utc)
    lacking = {k: v for k, v in TOURNAMENT.items() if k not in ("mode", "status")}
    with pytest.raises(exc.ScoreganizerProtocolError, match="lacks") as info:
        run(core().tournaments("all"), answer(200, [lacking]))
    assert "mode" in str(info.value) and "status" in str(info.value)


@pytest.mark.parametrize("body", [{"tournaments": []}, None, "[]"])
def test_tournament_list_that_is_not_a_list(body: object) -> None:
    with pytest.raises(exc.ScoreganizerProtocolError, match="list"):
        run(core().tournaments("all"), answer(200, body if body is not None else b"null"))


def test_get_one_tournament() -> None:
    active = Script(answer(200, [TOURNAMENT_NEWER, TOURNAMENT]))
    assert active.run(core().get_tournament(35)).id == 35
    assert active.paths == ["GET tournaments/active"]
    archived = Script(answer(200, []), answer(200, [TOURNAMENT]))
    assert archived.run(core().get_tournament(35)).id == 35
    assert archived.paths == ["GET tournaments/active", "GET tournaments/all"]
    with pytest.raises(exc.TournamentNotFound) as info:
        run(core().get_tournament(7), answer(200, [TOURNAMENT]), answer(200, [TOURNAMENT]))
    assert info.value.tournament_id == 7


@pytest.mark.parametrize("action", ["participate", "player_confirm"])
@pytest.mark.parametrize("body", [b"", b"OK", b"<html>joined</html>", b'{"status": "requested"}'])
def test_participation_takes_any_2xx_as_success(action: str, body: bytes) -> None:
    script = Script(answer(200, body))
    assert script.run(getattr(core(), action)(35)) is None
    assert script.paths == [f"POST tournaments/{action}/35"]


def test_participation_error() -> None:
    with pytest.raises(exc.ScoreganizerNotLoggedIn):
        run(core().participate(35), answer(403, {"error": "not_logged_in"}))


def test_keys() -> None:
    expiring = {"key": KEY, "key_expiry": "2024-05-20T14:37:00"}
    key, expiry = run(core().gen_key(35), answer(201, expiring))
    assert key == KEY and expiry == datetime(2024, 5, 20, 14, 37, tzinfo=timezone.utc)
    assert run(core().get_key(35), answer(200, {"key": KEY, "key_expiry": None})) == (KEY, None)
    assert run(core().get_key(35), answer(200, {"key": KEY})) == (KEY, None)


@pytest.mark.parametrize(
    "body",
    [
        {"key": KEY, "key_expiry": 5},
        {"key": KEY, "key_expiry": "soon"},
        {"key": None},
        {"key": "a b"},
    ],
)
def test_malformed_keys(body: object) -> None:
    with pytest.raises(exc.ScoreganizerProtocolError):
        run(core().gen_key(35), answer(201, body))


def test_key_fetches_else_generates_asking_first() -> None:
    asked: list[str] = []
    expiring = {"key": KEY, "key_expiry": None}
    script = Script(answer(200, expiring))
    assert script.run(core().key(35, before_generating=lambda: asked.append("?"))) == (KEY, None)
    assert script.paths == ["GET tournaments/get_key/35"] and asked == []  # it existed
    script = Script(answer(403, {"error": "not_generated"}), answer(201, expiring))
    assert script.run(core().key(35, before_generating=lambda: asked.append("?"))) == (KEY, None)
    assert script.paths == ["GET tournaments/get_key/35", "POST tournaments/gen_key/35"]
    assert asked == ["?"]
    raced = Script(  # generated elsewhere between the two questions
        answer(403, {"error": "not_generated"}),
        answer(403, {"error": "key_exists"}),
        answer(200, expiring),
    )
    assert raced.run(core().key(35)) == (KEY, None)
    with pytest.raises(exc.ScoreganizerTooEarly):
        run(
            core().key(35),
            answer(403, {"error": "not_generated_yet", "wait": 5}),
            answer(403, {"error": "too_early", "wait": 5}),
        )


def test_key_that_is_refused_before_generating_asks_nothing_more() -> None:
    def no() -> None:
        raise KeyError("the player said no")

    script = Script(answer(403, {"error": "not_generated_yet", "wait": 5}))
    with pytest.raises(KeyError):
        script.run(core().key(35, wait=True, before_generating=no))
    assert script.paths == ["GET tournaments/get_key/35"]


def test_key_with_wait_waits_for_the_start() -> None:
    script = Script(
        answer(403, {"error": "not_generated_yet", "wait": 0.5}),
        answer(403, {"error": "too_early", "wait": 0.5}),
        answer(201, {"key": KEY, "key_expiry": None}),
    )
    assert script.run(core().key(35, wait=True)) == (KEY, None)
    assert [s.reason for s in script.sleeps] == [p.WaitReason.TOO_EARLY]


def test_wait_key_waits_in_slices_then_generates() -> None:
    script = Script(
        answer(403, {"error": "too_early", "wait": 2.75}),
        answer(201, {"key": KEY, "key_expiry": None}),
    )
    assert script.run(core().wait_key(35, slice_seconds=1.0)) == (KEY, None)
    slices = [(s.seconds, s.remaining) for s in script.sleeps]
    assert slices == [(1.0, 2.25), (1.0, 1.25), (0.25, 0.25)]  # 2.75 s - 0.5 s elapsed
    assert all(s.reason is p.WaitReason.TOO_EARLY for s in script.sleeps)


def test_wait_key_waits_at_least_a_little() -> None:
    script = Script(
        answer(403, {"error": "too_early", "wait": 0}),
        answer(403, {"error": "too_early", "wait": 0.1}),
        answer(403, {"error": "key_exists"}),
        answer(200, {"key": KEY, "key_expiry": None}),
    )
    assert script.run(core().wait_key(35)) == (KEY, None)
    never_a_tight_loop = [operations.MIN_START_WAIT] * 2
    assert [s.seconds for s in script.sleeps] == never_a_tight_loop
    assert script.paths[-1] == "GET tournaments/get_key/35"


def test_wait_key_other_errors_end_it() -> None:
    with pytest.raises(exc.ScoreganizerTournamentOver):
        run(core().wait_key(35), answer(403, {"error": "tournament_over"}))


def test_upload() -> None:
    script = Script(answer(201))
    script.run(core().upload("g.rmv", b"RMV-BYTES", "application/x-viennasweeper"))
    (request,) = script.requests
    assert request.method == "POST" and request.idempotent
    assert request.data == {"mime_type": "application/x-viennasweeper"}
    assert request.file is not None and request.file.field == "video"
    assert (request.file.filename, request.file.content) == ("g.rmv", b"RMV-BYTES")


@pytest.mark.parametrize(
    "body", [b"", b"  ", b"created", b'{"id": 5}', b"\xff", b"[1]", b'{"stored": "no"}']
)
def test_upload_takes_any_2xx_as_success(body: bytes) -> None:
    assert run(core().upload("g.rmv", b"x", "m"), answer(201, body)) is None  # it says nothing


@pytest.mark.parametrize(("body", "stored"), [({"stored": True}, True), ({"stored": False}, False)])
def test_upload_says_whether_the_game_was_new(body: object, stored: bool) -> None:
    assert run(core().upload("g.rmv", b"x", "m"), answer(201, body)) is stored


def test_upload_retry_answers() -> None:
    retry = answer(403, {"error": "retry"})
    script = Script(retry, retry, answer(201))
    script.run(core().upload("g.rmv", b"x", "m", tries=3))
    assert [s.reason for s in script.sleeps] == [p.WaitReason.RETRY_ANSWER] * 2
    assert [s.seconds for s in script.sleeps] == [operations.UPLOAD_RETRY_PAUSE] * 2
    with pytest.raises(exc.ScoreganizerRetry):
        run(core().upload("g.rmv", b"x", "m", tries=2), retry, retry)
    with pytest.raises(exc.ScoreganizerInvalidData):
        run(core().upload("g.rmv", b"x", "m"), answer(403, {"error": "invalid_data"}))


# -- credentials that other programs share (a credentials file) ----------------------


def shared(auth_str: str | None = "alice:old") -> tuple[p.ProtocolCore, Script]:
    """A core whose credentials live in a file, and a driver for it."""
    creds = p.Credentials(auth_str)
    sharing = p.ProtocolCore(creds, BASE, NO_JITTER)
    sharing.shared_credentials = True
    return sharing, Script(credentials=creds)


NOT_LOGGED_IN = answer(403, {"error": "not_logged_in"})


def test_credentials_kept_only_here_are_never_looked_for() -> None:
    own, script = core(), Script()
    script.outcomes = [answer(200, [])]
    script.run(own.tournaments("all"))
    script.outcomes = [NOT_LOGGED_IN]
    with pytest.raises(exc.ScoreganizerNotLoggedIn):
        script.run(own.participate(3))
    script.outcomes = [answer(200, {"status": "expired"})]
    assert script.run(own.token_status()) == "expired"
    assert script.run(own.reload_credentials()) is False
    assert script.checks == [] and len(script.requests) == 3


def test_shared_credentials_are_looked_at_before_each_request() -> None:
    sharing, script = shared()
    script.outcomes = [answer(200, []), answer(200, [])]
    script.saved = ["alice:old", "alice:new"]  # unchanged, then refreshed elsewhere
    with pytest.raises(exc.TournamentNotFound):
        script.run(sharing.get_tournament(7))  # asks for "active", then "all"
    assert script.steps == ["check", "GET b'alice:old'", "check", "GET b'alice:new'"]


@pytest.mark.parametrize(
    ("name", "answered"),
    [
        ("participate", answer(200, b"")),  # a POST that is never sent twice otherwise
        ("gen_key", answer(201, {"key": KEY, "key_expiry": None})),
        ("my_active", answer(200, [])),
        ("upload", answer(201, b"")),
        ("refresh_login", answer(200, {"token": "newer"})),
    ],
)
def test_refused_credentials_are_sent_again_once_when_the_file_has_others(
    name: str, answered: p.Response
) -> None:
    sharing, script = shared()
    operation = {
        "participate": lambda: sharing.participate(3),
        "gen_key": lambda: sharing.gen_key(3),
        "my_active": lambda: sharing.tournaments("my_active"),
        "upload": lambda: sharing.upload("g.rmv", b"1", "x"),
        "refresh_login": sharing.refresh_login,
    }[name]()
    script.outcomes = [NOT_LOGGED_IN, answered]
    script.saved = ["alice:old", "alice:new"]  # refreshed elsewhere after the first look
    script.run(operation)
    first, again = script.requests
    assert script.steps == [
        "check",
        f"{first.method} b'alice:old'",
        "thorough check",  # the server refused: the file is read whatever its stamp
        f"{first.method} b'alice:new'",
    ]
    assert (again.url, again.data, again.file, again.idempotent) == (
        first.url,
        first.data,
        first.file,
        first.idempotent,
    )


def test_refused_credentials_that_the_file_also_holds_are_final() -> None:
    sharing, script = shared()
    script.outcomes = [NOT_LOGGED_IN]
    with pytest.raises(exc.ScoreganizerNotLoggedIn):
        script.run(sharing.participate(3))
    assert script.steps == ["check", "POST b'alice:old'", "thorough check"]


def test_refused_credentials_are_looked_for_once_per_request() -> None:
    sharing, script = shared()
    script.outcomes = [NOT_LOGGED_IN, NOT_LOGGED_IN]
    script.saved = [
        "alice:old",
        "alice:new",
        "alice:newer",
    ]  # another program refreshing again and again
    with pytest.raises(exc.ScoreganizerNotLoggedIn):
        script.run(sharing.participate(3))
    assert script.steps == ["check", "POST b'alice:old'", "thorough check", "POST b'alice:new'"]


@pytest.mark.parametrize(
    "refused",
    [
        answer(403, {"error": "not_participating"}),  # refused, but not for the credentials
        answer(403, b"<html>forbidden</html>"),
        answer(500, {"error": "not_logged_in"}),  # not a refusal: a broken server
    ],
)
def test_other_refusals_do_not_look_for_credentials(refused: p.Response) -> None:
    sharing, script = shared()
    script.outcomes = [refused]
    script.saved = ["alice:old", "alice:new"]
    with pytest.raises(exc.ScoreganizerError):
        script.run(sharing.participate(3))
    assert script.steps == ["check", "POST b'alice:old'"]


def test_a_refused_redirected_request_is_sent_again_where_it_went() -> None:
    sharing, script = shared()
    script.outcomes = [answer(307, location=BASE + "moved"), NOT_LOGGED_IN, answer(200, b"")]
    script.saved = ["alice:old", "alice:new"]
    script.run(sharing.participate(3))
    assert [r.url for r in script.requests] == [
        BASE + "tournaments/participate/3",
        BASE + "moved",
        BASE + "moved",
    ]
    assert script.requests[2].headers == {p.AUTH_HEADER: b"alice:new"}


@pytest.mark.parametrize("status", ["nonexistent", "expired"])
def test_token_status_asks_again_with_a_token_saved_elsewhere(status: str) -> None:
    sharing, script = shared()
    script.outcomes = [answer(200, {"status": status}), answer(200, {"status": "ok"})]
    script.saved = ["alice:old", "alice:new"]
    assert script.run(sharing.token_status()) is p.TokenStatus.OK
    assert script.steps == ["check", "GET b'alice:old'", "thorough check", "GET b'alice:new'"]

    script.outcomes, script.steps = [answer(200, {"status": status})], []
    assert script.run(sharing.token_status()) == status  # the file holds no other
    assert script.steps == ["check", "GET b'alice:new'", "thorough check"]

    script.outcomes, script.steps = [answer(200, {"status": "ok_stale"})], []
    assert script.run(sharing.token_status()) is p.TokenStatus.OK_STALE
    assert script.steps == ["check", "GET b'alice:new'"]


def test_refresh_looks_for_a_login_made_elsewhere_first() -> None:
    sharing, script = shared(None)
    script.outcomes = [answer(200, {"token": "new"})]
    script.saved = ["alice:elsewhere"]
    assert script.run(sharing.refresh_login()) == "alice:new"
    assert script.steps == ["check", "POST b'alice:elsewhere'"]  # one look, not two

    sharing, script = shared(None)
    with pytest.raises(exc.ScoreganizerNotLoggedIn, match="log in first"):
        script.run(sharing.refresh_login())
    assert script.steps == ["check"]


def test_reload_credentials_says_whether_they_changed() -> None:
    sharing, script = shared()
    script.saved = ["alice:old", "bob:2", None]
    assert script.run(sharing.reload_credentials()) is False
    assert script.run(sharing.reload_credentials()) is True
    assert script.run(sharing.reload_credentials()) is True  # logged out elsewhere
    assert script.steps == ["thorough check"] * 3 and script.requests == []


# -- standings, header values, origins ------------------------------------------------


def test_standings_are_read_and_checked() -> None:
    line = {"rank": 1, "player": "ann", "complete": False, "total": 4.2, "games": 1}
    body = {"name": "Cup", "standings": [{**line, "best": {"beginner": [4.2]}}]}
    script = Script(answer(200, body))
    standings = script.run(core().standings(35))
    assert [r.url for r in script.requests] == [
        BASE.removesuffix("/api/") + "/sandbox/standings/35"
    ]
    assert standings.name == "Cup" and standings.of("ann").best == {"beginner": (4.2,)}
    with pytest.raises(exc.ScoreganizerProtocolError):
        run(core().standings(35), answer(200, {"standings": [{**line, "total": "fast"}]}))


@pytest.mark.parametrize("status", [404, 405, 410, 501])
def test_a_server_without_standings_names_the_tournaments_page(status: int) -> None:
    with pytest.raises(exc.StandingsNotOffered) as raised:
        run(core().standings(35), answer(status, b"<html>not here</html>"))
    assert raised.value.tournament_id == 35


def test_hidden_standings_are_an_error_answer() -> None:
    with pytest.raises(exc.ScoreganizerError) as raised:
        run(core().standings(35), answer(403, {"error": "results_hidden"}))
    assert raised.value.error == "results_hidden"


@pytest.mark.parametrize("value", ["zq9\r\nX-Evil: 1", "zq9\n", " zq9", "zq9\x00", "\udc80"])
def test_a_header_value_that_would_break_the_header_is_refused(value: str) -> None:
    with pytest.raises(exc.InvalidHeaderValue) as raised:
        p.check_header_value(value, "the user name")
    assert "zq9" not in str(raised.value)  # never shown: it may hold a token
    assert p.check_header_value("ann:tok-1", "x") == "ann:tok-1"


def test_same_origin_compares_scheme_host_and_port() -> None:
    base = "https://scoreganizer.net:443/api/"
    assert p.same_origin("https://scoreganizer.net/x", base)
    assert not p.same_origin("http://scoreganizer.net:443/x", base)
    assert not p.same_origin("https://evil.example/x", base)
    assert not p.same_origin("https://scoreganizer.net:8443/x", base)
