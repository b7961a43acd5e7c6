"""Both clients against a local server that times out, drops connections and answers
5xx before success: what is tried again, what is final, and what a failure says
about whether the request went out."""

from __future__ import annotations

import asyncio
import io
import ssl

import pytest

from misbehaving_server import (
    CLIENTS,
    FAST,
    Script,
    all_tournaments,
    call,
    recording_sleep,
)
from scoreganizer_client_lib.exceptions import (
    NetworkException,
    ScoreganizerError,
    is_transient,
)

# -- timeouts and retries ----------------------------------------------------------------


@pytest.mark.parametrize("kind", CLIENTS)
def test_read_timeout_is_not_resent(server: tuple[Script, int], kind: str) -> None:
    script, port = server
    script.actions = ["slow"]
    with pytest.raises(NetworkException):
        call(kind, port, all_tournaments, timeout=(1, 0.3))
    assert len(script.seen) == 1  # the server may still be working on it


@pytest.mark.parametrize("kind", CLIENTS)
def test_dropped_connection_then_ok(server: tuple[Script, int], kind: str) -> None:
    script, port = server
    script.actions = ["drop", "drop", "ok"]
    assert call(kind, port, all_tournaments) == []
    assert len(script.seen) == 3


@pytest.mark.parametrize("kind", CLIENTS)
def test_dropped_connection_on_a_post_that_is_not_safe_to_repeat(
    server: tuple[Script, int], kind: str
) -> None:
    script, port = server
    script.actions = ["drop", "created"]
    with pytest.raises(NetworkException):
        call(kind, port, lambda sc: sc.tournaments.gen_key(3))
    assert len(script.seen) == 1  # a key might have been made: not asked twice


@pytest.mark.parametrize("kind", CLIENTS)
def test_upload_503_then_201_resends_file(server: tuple[Script, int], kind: str) -> None:
    script, port = server
    script.actions = ["503", "503", "created"]
    call(kind, port, lambda sc: sc.scores.upload_file(io.BytesIO(b"THE-REPLAY"), "g.rmv"))
    assert len(script.seen) == 3
    assert all(b"THE-REPLAY" in body for _, _, body in script.seen)


@pytest.mark.parametrize("kind", CLIENTS)
def test_get_500_is_retried_post_500_is_not(server: tuple[Script, int], kind: str) -> None:
    script, port = server
    script.actions = ["500", "ok"]
    assert call(kind, port, all_tournaments) == []
    script.actions, script.seen = ["500", "ok"], []
    with pytest.raises(ScoreganizerError) as info:
        call(kind, port, lambda sc: sc.tournaments.participate(3))
    assert info.value.error == "500" and len(script.seen) == 1


@pytest.mark.parametrize("kind", CLIENTS)
def test_persistent_503_gives_up(server: tuple[Script, int], kind: str) -> None:
    script, port = server
    script.actions = ["503"]
    with pytest.raises(ScoreganizerError) as info:
        call(kind, port, all_tournaments)
    assert info.value.error == "503" and info.value.transient
    assert len(script.seen) == FAST.attempts


@pytest.mark.parametrize("kind", CLIENTS)
def test_dead_server_is_network_exception(kind: str, refused_port: int) -> None:
    with pytest.raises(NetworkException) as info:
        call(kind, refused_port, all_tournaments)
    assert info.value.__class__.__name__ == "ConnectionError"


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("refused", [True, False])
def test_a_refused_connection_is_tried_again_as_the_policy_says(
    kind: str, refused: bool, refused_port: int
) -> None:
    waits: list[float] = []
    retry, sleep = FAST.replace(refused=refused), recording_sleep(kind, waits)
    with pytest.raises(NetworkException):
        call(kind, refused_port, all_tournaments, retry=retry, sleep=sleep)
    assert len(waits) == (FAST.attempts - 1 if refused else 0)


@pytest.mark.parametrize("kind", CLIENTS)
def test_https_to_a_plain_http_server_is_final(server: tuple[Script, int], kind: str) -> None:
    waits: list[float] = []
    with pytest.raises(NetworkException) as info:
        call(kind, server[1], all_tournaments, https=True, sleep=recording_sleep(kind, waits))
    assert waits == [] and not is_transient(info.value)  # a second handshake fails the same


# -- what a failure means: sent or not ---------------------------------------------------


def test_sync_failures_say_whether_the_request_went_out(refused_port: int) -> None:
    import requests

    from scoreganizer_client_lib._protocol import FailureKind
    from scoreganizer_client_lib.scoreganizer import _failure

    with pytest.raises(requests.exceptions.ConnectionError) as refused:
        requests.get(f"http://127.0.0.1:{refused_port}/", timeout=30)
    assert _failure(refused.value).kind is FailureKind.REFUSED  # nothing was sent
    dropped = requests.exceptions.ConnectionError("Connection aborted.")
    assert _failure(dropped).kind is FailureKind.DROPPED
    assert _failure(requests.exceptions.ReadTimeout()).kind is FailureKind.TIMEOUT
    assert _failure(requests.exceptions.ConnectTimeout()).kind is FailureKind.CONNECT
    assert _failure(requests.exceptions.SSLError()).kind is FailureKind.OTHER
    assert _failure(requests.exceptions.ChunkedEncodingError()).kind is FailureKind.DROPPED
    assert _failure(requests.exceptions.InvalidHeader()).kind is FailureKind.OTHER


def test_async_failures_say_whether_the_request_went_out() -> None:
    import httpx
    import requests

    from scoreganizer_client_lib._protocol import FailureKind
    from scoreganizer_client_lib.aio import _failure

    refused = httpx.ConnectError("[Errno 111] Connection refused")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    no_tls = httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number")
    no_tls.__cause__ = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    cases = [
        (refused, FailureKind.REFUSED, requests.exceptions.ConnectionError),
        (no_tls, FailureKind.OTHER, requests.exceptions.SSLError),  # final, as for sync
        (httpx.ConnectError("no route"), FailureKind.CONNECT, requests.exceptions.ConnectionError),
        (httpx.ConnectTimeout("slow"), FailureKind.CONNECT, requests.exceptions.ConnectTimeout),
        (httpx.PoolTimeout("busy"), FailureKind.CONNECT, requests.exceptions.ConnectTimeout),
        (httpx.ReadTimeout("slow"), FailureKind.TIMEOUT, requests.exceptions.ReadTimeout),
        (httpx.ReadError("reset"), FailureKind.DROPPED, requests.exceptions.ConnectionError),
        (httpx.RemoteProtocolError("x"), FailureKind.DROPPED, requests.exceptions.ConnectionError),
        (httpx.InvalidURL("bad host"), FailureKind.OTHER, requests.exceptions.InvalidURL),
        (httpx.UnsupportedProtocol("ftp"), FailureKind.OTHER, requests.exceptions.RequestException),
    ]
    for error, kind, wrapped in cases:
        failure = asyncio.run(_failure(error))
        assert failure.kind is kind and type(failure.exception) is wrapped, error
        assert failure.exception.__cause__ is error
    late = asyncio.run(_failure(None, "no complete answer"))
    assert late.kind is FailureKind.TIMEOUT and isinstance(late.exception, NetworkException)
