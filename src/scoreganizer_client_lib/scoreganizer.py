"""The sync client, :class:`Scoreganizer` (requests): a thin driver over the
protocol core. Its methods are those of ``ClientBase`` (``_api_sync.py``),
which the async client shares."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import requests
from requests.adapters import BaseAdapter
from requests.auth import HTTPDigestAuth
from urllib3 import exceptions as urllib3_errors
from urllib3.util import Retry

from ._answer_body import ACCEPT_ENCODING, AnswerBody
from ._api_sync import ClientBase, OnProgress
from ._client import (
    DEFAULT_MAX_ANSWER_SIZE,
    DEFAULT_TIMEOUT,
    TimeoutSpec,
    connect_failure,
    too_slow,
)
from ._deadline import WATCHDOG, Adapter, watch
from ._protocol import (
    AUTH_HEADER,
    FailureKind,
    Request,
    Response,
    RetryPolicy,
    TransportFailure,
    check_header_value,
    same_origin,
)
from ._uploads import PathLike, UploadResult
from .config import parse_server_url
from .exceptions import build_exception

R = TypeVar("R")

#: What the default adapter's urllib3 does about retries: nothing (0.3.1 had
#: urllib3 retry; here the protocol core retries, so that an application-level
#: 429 never becomes minutes of back-off and a POST is never silently resent).
DEFAULT_RETRY = Retry(0, read=False)
#: An adapter like the one each client mounts by default (0.3.1's name). Each
#: client gets its own; pass this one as ``http_adapter`` to share a pool.
DEFAULT_ADAPTER = Adapter(max_retries=DEFAULT_RETRY)

_CHUNK = 64 * 1024


def _header_value(value: bytes) -> str | bytes:
    """A header value as requests sends it unchanged: ASCII as str (which is
    what 0.3.1 put on its session), anything else as the UTF-8 bytes."""
    return value.decode("ascii") if value.isascii() else value


def _failure(exc: requests.exceptions.RequestException) -> TransportFailure:
    """Whether a request that failed was sent, from requests' exception."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransportFailure(exc, FailureKind.CONNECT)
    if isinstance(exc, requests.exceptions.SSLError):
        return TransportFailure(exc, FailureKind.OTHER)
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = getattr(exc.args[0] if exc.args else None, "reason", None)
        # NewConnectionError: a name that did not resolve too
        connect = isinstance(reason, urllib3_errors.NewConnectionError) or isinstance(
            exc, requests.exceptions.ProxyError
        )
        return TransportFailure(exc, connect_failure(exc) if connect else FailureKind.DROPPED)
    if isinstance(exc, requests.exceptions.Timeout):
        return TransportFailure(exc, FailureKind.TIMEOUT)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return TransportFailure(exc, FailureKind.DROPPED)
    return TransportFailure(exc, FailureKind.OTHER)


def _read_body(answer: requests.Response, limit: int) -> bytes:
    """The whole (decoded) body, never past ``limit`` bytes. Failures are
    requests' exceptions, as ``iter_content`` raises them."""
    body = AnswerBody(limit, answer.headers)
    try:
        for chunk in answer.raw.stream(_CHUNK, decode_content=False):
            body.add(chunk)
    except urllib3_errors.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc) from exc
    except urllib3_errors.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
    except urllib3_errors.HTTPError as exc:  # the connection broke in the middle
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    return body.whole()


class _Session(requests.Session):
    """requests' session, which sends the client's credentials header only
    to the configured server (``home()`` gives its address): 0.3.1 kept the
    header on the public ``sc.session``, so a request made with it directly
    and redirected elsewhere would carry the token there. requests itself
    drops ``Authorization`` (and rebuilds cookies and proxy credentials) on
    such a redirect."""

    def __init__(self, home: Callable[[], str]) -> None:
        super().__init__()
        self._home = home

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send ``request``, without the credentials header when it goes to
        another origin (a redirect followed, or a direct call)."""
        if AUTH_HEADER in request.headers and not same_origin(request.url or "", self._home()):
            del request.headers[AUTH_HEADER]
        return super().send(request, **kwargs)


class _DigestAuth(HTTPDigestAuth):
    """requests' digest authentication, reading the 401 answer that it
    answers no further than the client's cap (requests reads it whole)."""

    def __init__(self, username: str, password: str, client: Scoreganizer) -> None:
        super().__init__(username, password)
        self._client = client

    def handle_401(self, r: requests.Response, **kwargs: Any) -> Any:
        if not same_origin(r.url or "", self._client.base_url):
            return r  # a redirect elsewhere asks for the password: not answered
        if 400 <= r.status_code < 500 and "digest" in r.headers.get("www-authenticate", "").lower():
            # requests reads this answer (r.content) before answering the challenge
            try:
                r._content = _read_body(r, self._client.max_answer_size)
            except BaseException:
                r.close()
                raise
        return super().handle_401(r, **kwargs)  # type: ignore[no-untyped-call]


class Scoreganizer(ClientBase):
    """A client for the Scoreganizer API (blocking, on ``requests``).

    A drop-in for 0.3.1's class of the same name. Beyond it, keyword-only:

    - ``timeout``: seconds or a ``(connect, read)`` pair, default ``(5, 30)``;
      None waits forever. Each attempt must also end within ``connect + read``
      seconds in all (plus a second per 32 KiB it sends), however slowly the
      server drips its answer.
    - ``retry``: a :class:`RetryPolicy` (transport failures and 5xx answers
      of requests that are safe to repeat are retried with jittered back-off,
      bounded in time).
    - ``sleep``: how the client waits (``time.sleep`` unless given), so that
      tests and applications can drive its waits.
    - ``max_answer_size``: the most bytes read of one answer (32 MiB); a
      longer answer raises ``ScoreganizerProtocolError``.

    ``http_adapter`` (any requests transport adapter: an ``HTTPAdapter``,
    or a ``BaseAdapter`` of your own that answers without a network, e.g. in
    tests) is mounted for http and https as given; by default an adapter
    without urllib3 retries (retrying is the protocol core's job).
    Redirects to another server are never followed (see the README's
    "Security").
    """

    def __init__(
        self,
        host: str = "scoreganizer.net",
        port: int = 443,
        https: bool = True,
        digest_auth_username: str | None = None,
        digest_auth_password: str | None = None,
        http_adapter: BaseAdapter | None = None,
        auth_filename: str | os.PathLike[str] | None = None,
        *,
        timeout: TimeoutSpec = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], object] | None = None,
        max_answer_size: int = DEFAULT_MAX_ANSWER_SIZE,
    ) -> None:
        self.session: requests.Session = _Session(lambda: self.base_url)
        if digest_auth_username is not None and digest_auth_password is not None:
            check_header_value(digest_auth_username, "the digest user name")
            self.session.auth = _DigestAuth(digest_auth_username, digest_auth_password, self)
        adapter = http_adapter if http_adapter is not None else Adapter(max_retries=DEFAULT_RETRY)
        watch(getattr(adapter, "poolmanager", None))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._adapter = adapter
        self._sleep_function = sleep if sleep is not None else time.sleep
        super().__init__(host, port, https, auth_filename, timeout, retry, max_answer_size)
        self._init_namespaces()
        self._shared.load()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        digest_auth_username: str | None = None,
        digest_auth_password: str | None = None,
        http_adapter: BaseAdapter | None = None,
        auth_filename: str | os.PathLike[str] | None = None,
        timeout: TimeoutSpec = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], object] | None = None,
        max_answer_size: int = DEFAULT_MAX_ANSWER_SIZE,
    ) -> Scoreganizer:
        """A client for the server at ``url``, e.g. ``http://127.0.0.1:8000``
        (``host:port`` alone means HTTPS); the other arguments are the
        constructor's."""
        host, port, https = parse_server_url(url)
        return cls(
            host,
            port,
            https,
            digest_auth_username,
            digest_auth_password,
            http_adapter,
            auth_filename,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            max_answer_size=max_answer_size,
        )

    # -- the driver ----------------------------------------------------------

    def _apply_auth(self, auth_str: str | None) -> None:
        # On the session too, for code that uses ``sc.session`` directly (0.3.1).
        if auth_str:
            self.session.headers[AUTH_HEADER] = _header_value(auth_str.encode("utf-8"))
        else:
            self.session.headers.pop(AUTH_HEADER, None)

    def _send(self, request: Request) -> Response | TransportFailure:
        files: Any = None
        if request.file is not None:
            part = request.file
            files = {part.field: (part.filename, part.content, part.content_type)}
        budget = self._attempt_budget(request)
        deadline = WATCHDOG.start(budget) if budget is not None else None
        try:
            with self.session.request(
                request.method,
                request.url,
                data=request.data,
                files=files,
                headers={
                    "Accept-Encoding": ACCEPT_ENCODING,
                    **{name: _header_value(value) for name, value in request.headers.items()},
                },
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            ) as answer:
                try:
                    body = _read_body(answer, self.max_answer_size)
                finally:  # before the connection goes back to the pool, for another thread
                    WATCHDOG.finish(deadline)
            outcome: Response | TransportFailure = Response(
                answer.status_code, body, answer.elapsed, answer.headers
            )
        except requests.exceptions.RequestException as exc:
            outcome = _failure(exc)
        finally:
            WATCHDOG.finish(deadline)
        if deadline is not None and deadline.expired:
            late = requests.exceptions.ReadTimeout(too_slow(request, budget or 0.0))
            late.__cause__ = outcome.exception if isinstance(outcome, TransportFailure) else None
            return TransportFailure(late, FailureKind.TIMEOUT)
        return outcome

    def _sleep(self, seconds: float) -> None:
        self._sleep_function(seconds)

    def _blocking(self, function: Callable[..., R], *args: Any) -> R:
        return function(*args)

    def _write(self, function: Callable[[], None]) -> None:
        function()

    def _map(
        self,
        function: Callable[[PathLike], Any],
        items: list[PathLike],
        concurrency: int,
        on_done: OnProgress | None,
    ) -> list[UploadResult]:
        from concurrent.futures import ThreadPoolExecutor, as_completed

        workers = max(1, min(concurrency, len(items)))
        if isinstance(self._adapter, Adapter):
            self._adapter.ensure_pool_size(workers)
        results: list[UploadResult] = [None] * len(items)  # type: ignore[list-item]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(function, item): index for index, item in enumerate(items)}
            try:
                for done, future in enumerate(as_completed(futures), 1):
                    results[futures[future]] = result = future.result()
                    if on_done is not None:
                        on_done(result, done, len(items))
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return results

    # -- lifetime ------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> Scoreganizer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["DEFAULT_ADAPTER", "DEFAULT_RETRY", "Scoreganizer", "build_exception"]
