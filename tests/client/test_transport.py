"""Both clients against real local HTTP servers that misbehave on purpose:
slow answers, dropped connections, 5xx before success, redirects to other
servers, endless bodies, answers dripped a byte at a time, hostile JSON.
Every case runs with the sync and with the async client."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import hashlib
import io
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from scoreganizer_client_lib import AsyncScoreganizer, RetryPolicy, Scoreganizer
from scoreganizer_client_lib._answer_body import AnswerBody
from scoreganizer_client_lib.exceptions import (
    NetworkException,
    ScoreganizerError,
    ScoreganizerProtocolError,
    ScoreganizerRedirectRefused,
    is_transient,
)
from scoreganizer_client_lib.replays.testing import write_rmv

FAST = RetryPolicy(backoff=0.01, max_backoff=0.02, jitter=False)
CLIENTS = ["sync", "async"]


class Script:
    """What the server does with each request, in order; the last one repeats."""

    def __init__(self) -> None:
        self.actions: list[str] = ["ok"]
        self.seen: list[tuple[str, str, bytes]] = []  # path, raw auth header, body
        self.headers: list[dict[str, str]] = []  # every header of each request, lower-cased
        self.peers: list[tuple[str, int]] = []  # the client's address of each request
        self.release = threading.Event()
        self.redirect_to = ""
        self.sent = 0
        self.hung_up = threading.Event()  # the client closed a connection held by "hold"


#: Answers that are small on the wire and 16 MiB once decoded, by action:
#: the Content-Encoding the server sends, one coding per layer.
BOMBS = ("gzip", "deflate", "gzip, gzip", "deflate, deflate")


@functools.cache
def bomb(codings: str) -> bytes:
    """A 16 MiB JSON answer compressed once per coding: a few kilobytes on
    the wire (made when first asked for: it takes a fifth of a second)."""
    body = b"[" + b" " * ((16 << 20) - 2) + b"]"
    for coding in codings.split(", "):
        body = gzip.compress(body, 9) if coding == "gzip" else zlib.compress(body, 9)
    return body


DIGEST_USER, DIGEST_PASSWORD, REALM, NONCE = "staging", "s3cret", "staging", "abc123"
CHALLENGE = f'Digest realm="{REALM}", nonce="{NONCE}", qop="auth", algorithm=MD5'


def auth_header(handler: BaseHTTPRequestHandler) -> str:
    return handler.headers.get("Authorization", "")


def _digest_ok(method: str, uri: str, header: str) -> bool:
    """Whether ``header`` is a right answer to :data:`CHALLENGE` (RFC 7616, MD5, qop=auth)."""
    if not header.startswith("Digest "):
        return False
    fields = dict(
        (name.strip(), value.strip().strip('"'))
        for name, _, value in (part.partition("=") for part in header[7:].split(","))
    )

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the protocol's hash

    ha1 = md5(f"{DIGEST_USER}:{REALM}:{DIGEST_PASSWORD}")
    ha2 = md5(f"{method}:{uri}")
    expected = md5(f"{ha1}:{NONCE}:{fields.get('nc')}:{fields.get('cnonce')}:auth:{ha2}")
    return fields.get("username") == DIGEST_USER and fields.get("response") == expected


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # a head and its body in two writes, without a pause

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, payload: bytes, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(payload)

        def _drip(self, data: bytes) -> None:
            for i in range(len(data)):
                if script.release.wait(0.05):
                    return
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            # headers arrive decoded as Latin-1: encode back to get the bytes sent
            auth = self.headers.get("X-Scoreganizer-Authorization", "")
            script.seen.append((self.path, auth.encode("latin-1").decode("utf-8"), body))
            script.headers.append({name.lower(): value for name, value in self.headers.items()})
            script.peers.append(self.client_address[:2])
            action = script.actions.pop(0) if len(script.actions) > 1 else script.actions[0]
            if action == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            elif action == "slow":
                script.release.wait(5)
                self._send(200, b"[]")
            elif action == "ok":
                self._send(200, b"[]")
            elif action == "hold":  # no answer until the client hangs up
                while self.connection.recv(1024):
                    pass
                script.hung_up.set()
                self.close_connection = True
            elif action == "token":
                self._send(200, b'{"token": "t0k"}')
            elif action == "created":
                self._send(201, b"")
            elif action in ("500", "503"):
                self._send(int(action), b"")
            elif action.startswith("redirect"):
                code = int(action.removeprefix("redirect") or 302)
                self._send(code, b"", Location=script.redirect_to)
            elif action == "huge-length":
                self._send_head(200, str(10**12))
            elif action == "endless":
                self._send_head(200)
                chunk = b"[" + b"0," * 32767
                try:
                    while not script.release.is_set():
                        self.wfile.write(chunk)
                        script.sent += len(chunk)
                except OSError:
                    pass
                self.close_connection = True
            elif action == "drip-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                self._drip(b"X-Slow: " + b"a" * 100_000)
                self.close_connection = True
            elif action == "huge-header":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n")
                self.close_connection = True
            elif action == "endless-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                try:
                    while not script.release.wait(0.0001):
                        self.wfile.write(b"X-More: " + b"a" * 1000 + b"\r\n")
                except OSError:
                    pass
                self.close_connection = True
            elif action == "drip-body":
                self._send_head(200, "100000")
                self._drip(b" " * 100_000)
                self.close_connection = True
            elif action == "drip-digest":  # the 401 that a digest client reads first
                self._send_head(401, "100000", {"WWW-Authenticate": CHALLENGE})
                self._drip(b" " * 100_000)
                self.close_connection = True
            elif action == "deep":
                self._send(200, b"[" * 100_000)
            elif action == "infinite-rank":
                self._send(200, b'{"standings": [{"rank": Infinity, "player": "x"}]}')
            elif action == "huge-wait":
                self._send(403, b'{"error": "too_early", "wait": 1e308}')
            elif action in BOMBS:
                self._send(200, bomb(action), Content_Encoding=action)
            elif action == "digest":
                if _digest_ok(self.command, self.path, auth_header(self)):
                    self._send(200, b"[]")
                else:
                    self._send(401, b"", WWW_Authenticate=CHALLENGE)
            elif action == "digest-endless":
                self._send_head(401, extra={"WWW-Authenticate": CHALLENGE})
                try:
                    while not script.release.wait(0.001):  # about 64 MB/s at most
                        self.wfile.write(b" " * 65536)
                except OSError:
                    pass
                self.close_connection = True
            else:  # pragma: no cover - a test bug
                raise AssertionError(action)

        def _send_head(
            self, status: int, length: str | None = None, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            if length is not None:
                self.send_header("Content-Length", length)
            else:
                self.send_header("Connection", "close")
            self.end_headers()

        do_GET = _answer
        do_POST = _answer

    return Handler


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _serve(script: Script, host: str = "127.0.0.1") -> Iterator[int]:
    server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
    httpd = server_class((host, 0), _handler(script))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd.server_address[1]
    script.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server() -> Iterator[tuple[Script, int]]:
    script = Script()
    for port in _serve(script):
        yield script, port


@pytest.fixture
def other_server() -> Iterator[tuple[Script, int]]:
    """Another origin, that must never hear from the client."""
    script = Script()
    for port in _serve(script):
        yield script, port


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def recording_sleep(kind: str, waits: list[float]) -> Any:
    """A client's sleep (sync or async) that notes each wait and returns at once."""

    def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def async_sleep(seconds: float) -> None:
        waits.append(seconds)

    return sleep if kind == "sync" else async_sleep


def call(kind: str, port: int, operation: Callable[[Any], Any], **options: Any) -> Any:
    """Build a client of ``kind`` for the local server and run ``operation``
    on it (awaiting it for the async client)."""
    options = {
        "host": "127.0.0.1",
        "port": port,
        "https": False,
        "retry": FAST,
        "sleep": recording_sleep(kind, []),  # the back-off is policy: no waiting for it
        **options,
    }
    if kind == "sync":
        with Scoreganizer(**options) as sc:
            return operation(sc)

    async def main() -> Any:
        async with AsyncScoreganizer(**options) as sc:
            return await operation(sc)

    return asyncio.run(main())


def all_tournaments(sc: Any) -> Any:
    return sc.tournaments.all()


def all_tournaments_as_alice(sc: Any) -> Any:
    """``all_tournaments`` with credentials set first."""
    if isinstance(sc, Scoreganizer):
        sc.set_auth_str("alice:tok")
        return sc.tournaments.all()

    async def both() -> Any:
        await sc.set_auth_str("alice:tok")
        return await sc.tournaments.all()

    return both()


# -- timeouts and retries ------------------------------------------------------------


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
def test_dead_server_is_network_exception(kind: str) -> None:
    with pytest.raises(NetworkException) as info:
        call(kind, _free_port(), all_tournaments)
    assert info.value.__class__.__name__ == "ConnectionError"


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("refused", [True, False])
def test_a_refused_connection_is_tried_again_as_the_policy_says(kind: str, refused: bool) -> None:
    waits: list[float] = []
    retry, sleep = FAST.replace(refused=refused), recording_sleep(kind, waits)
    with pytest.raises(NetworkException):
        call(kind, _free_port(), all_tournaments, retry=retry, sleep=sleep)
    assert len(waits) == (FAST.attempts - 1 if refused else 0)


@pytest.mark.parametrize("kind", CLIENTS)
def test_https_to_a_plain_http_server_is_final(server: tuple[Script, int], kind: str) -> None:
    waits: list[float] = []
    with pytest.raises(NetworkException) as info:
        call(kind, server[1], all_tournaments, https=True, sleep=recording_sleep(kind, waits))
    assert waits == [] and not is_transient(info.value)  # a second handshake fails the same


# -- a deadline that holds -------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("action", ["drip-headers", "drip-body", "drip-digest"])
def test_a_dripping_server_cannot_hold_the_client(
    server: tuple[Script, int], kind: str, action: str
) -> None:
    script, port = server
    script.actions = [action]
    digest = {"digest_auth_username": DIGEST_USER, "digest_auth_password": DIGEST_PASSWORD}
    # a byte every 0.05 s never trips the 0.3 s read timeout; the deadline does
    with pytest.raises(NetworkException) as info:
        call(kind, port, all_tournaments, timeout=(0.2, 0.3), **digest)
    assert "no complete answer" in str(info.value)
    assert len(script.seen) == 1  # not re-sent


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("action", ["gzip, gzip", "deep", "infinite-rank", "drip-body"])
def test_hostile_standings_are_refused_within_bounds(
    server: tuple[Script, int], kind: str, action: str
) -> None:
    script, port = server
    script.actions = [action]
    dripping = action == "drip-body"  # cut by the attempt's deadline
    with pytest.raises(NetworkException if dripping else ScoreganizerProtocolError):
        call(
            kind,
            port,
            lambda sc: sc.tournaments.standings(1),
            timeout=(0.2, 0.3) if dripping else 10.0,  # the others: however loaded the machine
            max_answer_size=256 * 1024,
            retry=RetryPolicy.none(),
        )
    assert [path for path, _, _ in script.seen] == ["/sandbox/standings/1"]


def test_a_finished_attempt_s_connection_is_left_alone(
    server: tuple[Script, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the answer is read, the deadline lets go of the connection before
    it goes back to the pool, where another thread may take it at once: the
    next request goes out on that connection, although the first attempt's
    deadline passed meanwhile (a cut one would be dropped by the pool)."""
    import requests

    script, port = server
    real_close = requests.Response.close

    def close_then_dawdle(self: requests.Response) -> None:
        real_close(self)  # the connection is back in the pool
        if len(script.seen) == 1:
            time.sleep(0.3)  # past the first attempt's deadline (0.15 s)

    monkeypatch.setattr(requests.Response, "close", close_then_dawdle)
    with Scoreganizer(host="127.0.0.1", port=port, https=False, timeout=(0.05, 0.1)) as sc:
        assert sc.tournaments.all() == []  # a whole answer, in time
        assert sc.tournaments.all() == []
    assert len(script.seen) == 2 and len(set(script.peers)) == 1  # one connection


@pytest.mark.parametrize("kind", CLIENTS)
def test_the_replay_sent_is_the_replay_checked(
    server: tuple[Script, int], kind: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoreganizer_client_lib import _uploads

    script, port = server
    script.actions = ["created"]
    replay = tmp_path / "g.rmv"
    original = write_rmv(key="1_2_" + "a" * 32)
    replay.write_bytes(original)
    real_check = _uploads.check_replay

    def check_while_rewritten(content: bytes, *args: Any) -> Any:
        replay.write_bytes(b"rewritten while being checked")  # a game saved over it
        return real_check(content, *args)

    monkeypatch.setattr(_uploads, "check_replay", check_while_rewritten)
    call(kind, port, lambda sc: sc.scores.upload_replay(replay, 2))
    ((_, _, body),) = script.seen
    assert original in body and b"rewritten" not in body


@pytest.mark.parametrize("operation", ["upload", "wait_key"])
def test_a_cancelled_async_call_leaves_nothing_behind(
    server: tuple[Script, int], tmp_path: Any, operation: str
) -> None:
    script, port = server
    script.actions = ["hold", "ok"]
    replay = tmp_path / "g.rmv"
    replay.write_bytes(write_rmv(key="1_2_" + "a" * 32))

    async def main() -> None:
        async with AsyncScoreganizer(host="127.0.0.1", port=port, https=False) as sc:
            if operation == "upload":
                call = asyncio.ensure_future(sc.scores.upload_replay(replay))
            else:
                call = asyncio.ensure_future(sc.tournaments.wait_key(2))
            while not script.seen:
                await asyncio.sleep(0.005)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert others == []
            assert await asyncio.to_thread(script.hung_up.wait, 30)  # the connection is closed
            assert await sc.tournaments.all() == []  # and the client goes on

    asyncio.run(main())


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("action", ["huge-header", "endless-headers"])
def test_headers_without_end_are_a_network_error(
    server: tuple[Script, int], kind: str, action: str
) -> None:
    script, port = server
    script.actions = [action]
    with pytest.raises(NetworkException):
        call(kind, port, all_tournaments, retry=RetryPolicy.none())


# -- bounded memory ----------------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", CLIENTS)
def test_an_endless_answer_is_cut_at_the_cap(server: tuple[Script, int], kind: str) -> None:
    script, port = server
    script.actions = ["endless"]
    with pytest.raises(ScoreganizerProtocolError, match="longer than the 262144 bytes"):
        call(kind, port, all_tournaments, max_answer_size=256 * 1024)


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_declared_length_over_the_cap_is_refused_unread(
    server: tuple[Script, int], kind: str
) -> None:
    script, port = server
    script.actions = ["huge-length"]
    with pytest.raises(ScoreganizerProtocolError, match="1000000000000 bytes"):
        call(kind, port, all_tournaments)


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("action", ["deep", "huge-wait"])
def test_hostile_json_is_a_protocol_error(
    server: tuple[Script, int], kind: str, action: str
) -> None:
    script, port = server
    script.actions = [action]
    with pytest.raises(ScoreganizerProtocolError):
        call(kind, port, lambda sc: sc.tournaments.gen_key(3))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("encoding", BOMBS)
def test_a_compressed_answer_is_capped_on_its_decoded_size(
    server: tuple[Script, int], kind: str, encoding: str
) -> None:
    script, port = server
    script.actions = [encoding]
    cap = 256 * 1024
    bomb(encoding)  # made before memory is traced
    tracemalloc.start()
    try:
        with pytest.raises(ScoreganizerProtocolError, match=f"longer than the {cap} bytes"):
            call(kind, port, all_tournaments, max_answer_size=cap)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 16 MiB once decoded: never decoded whole, only as far as the cap
    assert peak < 4 * 1024 * 1024, f"{peak / 2**20:.1f} MiB"


def _coded(data: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.compress(data)
    if coding == "deflate":
        return zlib.compress(data)
    if coding == "raw deflate":  # what some servers send as "deflate"
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return packer.compress(data) + packer.flush()
    return data


@pytest.mark.parametrize(
    ("header", "codings"),
    [
        ("gzip", ["gzip"]),
        ("x-gzip", ["gzip"]),
        ("deflate", ["deflate"]),
        ("Deflate", ["raw deflate"]),
        ("gzip, deflate", ["gzip", "deflate"]),
        ("identity", []),
        ("", []),
        (", ,gzip,,", ["gzip"]),
        ("br", []),  # not asked for: kept as it came
    ],
)
@pytest.mark.parametrize("piece", [1, 7, 1 << 20])
def test_answers_are_decoded_piece_by_piece(header: str, codings: list[str], piece: int) -> None:
    data = b'{"tokens": ["' + b"x" * 200_000 + b'"]}'
    wire = data
    for coding in codings:
        wire = _coded(wire, coding)
    body = AnswerBody(1 << 20, {"content-encoding": header, "content-length": str(len(wire))})
    for at in range(0, len(wire), piece):
        body.add(wire[at : at + piece])
    assert body.whole() == data


def test_broken_or_piled_up_codings_are_protocol_errors() -> None:
    with pytest.raises(ScoreganizerProtocolError, match="gzip coding is broken"):
        AnswerBody(1 << 20, {"content-encoding": "gzip"}).add(b"not gzip at all")
    with pytest.raises(ScoreganizerProtocolError, match="more than 5 codings"):
        AnswerBody(1 << 20, {"content-encoding": ", ".join(["gzip"] * 6)})


@pytest.mark.parametrize("kind", CLIENTS)
def test_digest_authentication(server: tuple[Script, int], kind: str) -> None:
    script, port = server
    script.actions = ["digest"]
    digest = {"digest_auth_username": DIGEST_USER, "digest_auth_password": DIGEST_PASSWORD}
    assert call(kind, port, all_tournaments, **digest) == []
    assert len(script.seen) == 2  # challenged once, then answered
    script.seen = []
    call(kind, port, lambda sc: sc.scores.upload_file(io.BytesIO(b"THE-REPLAY"), "g.rmv"), **digest)
    assert len(script.seen) == 2 and all(b"THE-REPLAY" in body for _, _, body in script.seen)
    with pytest.raises(ScoreganizerError) as info:
        call(kind, port, all_tournaments)  # no digest credentials: the 401 is the answer
    assert info.value.error == "401"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", CLIENTS)
def test_an_endless_digest_challenge_is_cut_at_the_cap(
    server: tuple[Script, int], kind: str
) -> None:
    script, port = server
    script.actions = ["digest-endless"]
    digest = {"digest_auth_username": DIGEST_USER, "digest_auth_password": DIGEST_PASSWORD}
    with pytest.raises(ScoreganizerProtocolError, match="longer than the 262144 bytes"):
        call(kind, port, all_tournaments, max_answer_size=256 * 1024, timeout=(1, 2), **digest)


# -- credentials go only to the configured server ------------------------------------------


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("code", ["302", "307"])
def test_no_redirect_to_another_server(
    server: tuple[Script, int], other_server: tuple[Script, int], kind: str, code: str
) -> None:
    script, port = server
    elsewhere, other_port = other_server
    script.actions = ["redirect" + code]
    script.redirect_to = f"http://127.0.0.1:{other_port}/api/obtain_token"
    with pytest.raises(ScoreganizerRedirectRefused) as info:
        call(kind, port, lambda sc: sc.login("alice", "secret password"))
    assert info.value.location == script.redirect_to
    assert f"127.0.0.1:{other_port}" in str(info.value)
    assert elsewhere.seen == []  # neither the password nor a token went there

    script.actions = ["redirect" + code]
    script.redirect_to = f"http://127.0.0.1:{other_port}/api/tournaments/all"
    with pytest.raises(ScoreganizerRedirectRefused):
        call(kind, port, all_tournaments_as_alice)
    assert elsewhere.seen == []


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{other}\\@127.0.0.1:{port}/api/tournaments/all",
        "http://127.0.0.1:{other}\\\\@127.0.0.1:{port}/api/tournaments/all",
        "http://evil.invalid\\@127.0.0.1:{port}/api/tournaments/all",
        "http://u:p@127.0.0.1:{port}/api/tournaments/all",
        "/\\127.0.0.1:{other}/api/tournaments/all",
        "http:127.0.0.1:{other}/api/tournaments/all",
        "http://127.0.0.1:{port}/\t/127.0.0.1:{other}/",
    ],
)
def test_a_location_that_url_parsers_read_differently_goes_nowhere_else(
    server: tuple[Script, int], other_server: tuple[Script, int], kind: str, location: str
) -> None:
    script, port = server
    elsewhere, other_port = other_server
    script.actions = ["redirect302", "ok"]
    script.redirect_to = location.format(port=port, other=other_port)
    # refused, followed on the configured server, or (httpx) a location it cannot
    # parse: never sent elsewhere
    with contextlib.suppress(ScoreganizerRedirectRefused, NetworkException):
        call(kind, port, all_tournaments_as_alice)
    assert elsewhere.seen == []
    assert len(script.seen) in (1, 2) and all(auth == "alice:tok" for _, auth, _ in script.seen)


#: What a program that uses the client's public session adds itself.
OWN_CREDENTIALS = {"Authorization": "Bearer own", "Cookie": "session=own"}


def test_the_sync_session_keeps_the_token_home(
    server: tuple[Script, int], other_server: tuple[Script, int]
) -> None:
    """0.3.1's public ``sc.session`` carries the token as a session header: a
    plain ``sc.session.get()`` redirected elsewhere (or sent there) leaves it
    behind, and the other credential headers too, while the configured
    server still gets it."""
    script, port = server
    elsewhere, other_port = other_server
    script.actions = ["redirect302", "ok"]
    script.redirect_to = f"http://127.0.0.1:{other_port}/api/tournaments/all"
    with Scoreganizer("127.0.0.1", port, False) as sc:
        sc.set_auth_str("alice:tok")
        answer = sc.session.get(f"{sc.base_url}tournaments/all", headers=OWN_CREDENTIALS)
        assert answer.status_code == 200
        sc.session.get(f"http://127.0.0.1:{other_port}/direct")
    assert script.seen[0][1] == "alice:tok"
    assert [path for path, _, _ in elsewhere.seen] == ["/api/tournaments/all", "/direct"]
    for headers in elsewhere.headers:
        assert not {"x-scoreganizer-authorization", "authorization", "cookie"} & set(headers)


def test_the_async_session_keeps_the_token_home(
    server: tuple[Script, int], other_server: tuple[Script, int]
) -> None:
    """The async client's ``sc.session`` carries no token itself; one a
    program sets on a request stays home when the request is redirected."""
    from scoreganizer_client_lib import AUTH_HEADER

    script, port = server
    elsewhere, other_port = other_server
    script.actions = ["redirect302", "ok"]
    script.redirect_to = f"http://127.0.0.1:{other_port}/api/tournaments/all"

    async def main() -> None:
        async with AsyncScoreganizer("127.0.0.1", port, False) as sc:
            headers = {AUTH_HEADER: "alice:tok", **OWN_CREDENTIALS}
            url = f"{sc.base_url}tournaments/all"
            answer = await sc.session.get(url, headers=headers, follow_redirects=True)
            assert answer.status_code == 200

    asyncio.run(main())
    assert script.seen[0][1] == "alice:tok"
    assert [path for path, _, _ in elsewhere.seen] == ["/api/tournaments/all"]
    assert not {"x-scoreganizer-authorization", "authorization", "cookie"} & set(
        elsewhere.headers[0]
    )


def test_a_digest_challenge_from_elsewhere_is_not_answered(
    server: tuple[Script, int], other_server: tuple[Script, int]
) -> None:
    """The digest password answers only the configured server's challenge,
    also through ``sc.session`` following a redirect."""
    script, port = server
    elsewhere, other_port = other_server
    script.actions = ["redirect302"]
    script.redirect_to = f"http://127.0.0.1:{other_port}/api/tournaments/all"
    elsewhere.actions = ["digest"]
    with Scoreganizer("127.0.0.1", port, False, DIGEST_USER, DIGEST_PASSWORD) as sc:
        assert sc.session.get(f"{sc.base_url}tournaments/all").status_code == 401
    assert [auth_of.get("authorization", "") for auth_of in elsewhere.headers] == [""]


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize(
    "bad", ["alice:s3cr3t\r\nX-Evil: 1", "alice:s3cr3t\n", "ali\x00ce:s3cr3t", " alice:s3cr3t"]
)
def test_a_header_value_with_a_line_break_is_the_librarys_error(
    server: tuple[Script, int], kind: str, bad: str
) -> None:
    """CR, LF and other control characters never reach the HTTP library (whose
    own ``InvalidHeader`` a caller would not expect): the credentials, a user
    name at login and a digest user name are refused before anything is sent."""
    from scoreganizer_client_lib.exceptions import InvalidHeaderValue

    script, port = server
    with pytest.raises(InvalidHeaderValue, match="credentials") as info:
        call(kind, port, lambda sc: sc.set_auth_str(bad))
    assert "s3cr3t" not in str(info.value)
    user = bad.partition(":")[0] + "\r\n"
    with pytest.raises(InvalidHeaderValue, match="user name"):
        call(kind, port, lambda sc: sc.login(user, "pw"))
    with pytest.raises(InvalidHeaderValue, match="digest user name"):
        call(kind, port, all_tournaments, digest_auth_username=user, digest_auth_password="pw")
    assert script.seen == []


def test_a_header_value_refused_leaves_the_credentials_as_they_were(tmp_path: Any) -> None:
    from scoreganizer_client_lib.exceptions import InvalidHeaderValue

    sc = Scoreganizer("127.0.0.1", 1, False, auth_filename=tmp_path / "auth")
    sc.set_auth_str("alice:tok")
    with pytest.raises(InvalidHeaderValue):
        sc.set_auth_str("bob:tok\r\nX: y")
    assert sc.auth_str == "alice:tok"
    assert (tmp_path / "auth").read_text() == "alice:tok"


@pytest.mark.parametrize("kind", CLIENTS)
def test_redirect_within_the_server_is_followed(server: tuple[Script, int], kind: str) -> None:
    script, port = server
    script.actions = ["redirect301", "ok"]
    script.redirect_to = "/api/v2/tournaments/all"
    assert call(kind, port, all_tournaments) == []
    assert [path for path, _, _ in script.seen] == [
        "/api/tournaments/all",
        "/api/v2/tournaments/all",
    ]


@pytest.mark.parametrize("kind", CLIENTS)
def test_upgrade_to_https_is_not_followed(server: tuple[Script, int], kind: str) -> None:
    script, port = server
    script.actions = ["redirect301"]
    script.redirect_to = "https://127.0.0.1/api/tournaments/all"
    with pytest.raises(ScoreganizerRedirectRefused, match=r"use https://127\.0\.0\.1:443"):
        call(kind, port, all_tournaments)


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("host", ["::1", "[::1]"])  # 0.3.1 wanted the brackets written
def test_an_ipv6_server(kind: str, host: str) -> None:
    script = Script()
    script.actions = ["redirect302", "ok"]
    for port in _serve(script, "::1"):
        script.redirect_to = f"http://[::1]:{port}/api/v2/tournaments/all"
        assert call(kind, port, all_tournaments, host=host) == []
    assert [path for path, _, _ in script.seen] == [
        "/api/tournaments/all",
        "/api/v2/tournaments/all",
    ]


# -- user names outside ASCII -----------------------------------------------------------------


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("user", ["Łukasz", "日本", "jürgen"])
def test_credentials_go_as_utf8(server: tuple[Script, int], kind: str, user: str) -> None:
    script, port = server
    script.actions = ["token", "ok"]

    def login_then_list(sc: Any) -> Any:
        if isinstance(sc, Scoreganizer):
            sc.login(user, "pw")
            return sc.tournaments.all()

        async def both() -> Any:
            await sc.login(user, "pw")
            return await sc.tournaments.all()

        return both()

    assert call(kind, port, login_then_list) == []
    assert script.seen[1][1] == f"{user}:t0k"


# -- what a failure means: sent or not ---------------------------------------------------


def test_sync_failures_say_whether_the_request_went_out() -> None:
    import requests

    from scoreganizer_client_lib._protocol import FailureKind
    from scoreganizer_client_lib.scoreganizer import _failure

    with pytest.raises(requests.exceptions.ConnectionError) as refused:
        requests.get(f"http://127.0.0.1:{_free_port()}/", timeout=1)
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
