"""The app's front door: every request must come from the player's own
browser, on this computer, in a tab that the app itself opened.

A web app on a loopback port is reachable by every web page the player
visits (a page can send requests to ``http://127.0.0.1:PORT``) and, through
DNS rebinding, can even read the answers. So every request must pass:

- **Host**: exactly the app's own ``HOST:PORT``, where HOST is the run's
  private ``app-<random>.localhost`` name (see :mod:`.server`; a rebinding
  attack arrives with the attacker's host name, and the same port under
  ``127.0.0.1`` or ``localhost`` is another cookie jar);
- **Origin** / ``Sec-Fetch-Site``: a request another site started is refused,
  and a request that changes something (not GET/HEAD) must name our origin;
- **the secret**: a random value made for this run, in the URL the app opens
  (``?secret=...``), exchanged at once for a cookie (HttpOnly,
  SameSite=Strict) and a page that moves on to the same address without it.
  A page, not a redirect: the browser comes from the app's launch file (see
  :mod:`.launch`), another site to it, and a redirect would keep that
  navigation cross-site, without its SameSite=Strict cookie.

Refusals are a plain 403 page that says what to do. No CORS header is ever
sent. Every answer also carries headers that keep the pages from being framed,
sniffed or sent elsewhere (a strict Content-Security-Policy: only this app's
own script and style).
"""

from __future__ import annotations

import hmac
import html
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECRET_PARAM = "secret"  # noqa: S105 - the query parameter's name
SAFE_METHODS = frozenset({"GET", "HEAD"})

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # no-referrer makes Origin "null"
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]

LET_IN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0;url={location}"><title>Scoreganizer app</title></head>
<body><p><a href="{location}">Continue to the app</a></p></body></html>
"""

FORBIDDEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not allowed</title></head>
<body><h1>Not allowed</h1><p>{reason}</p>
<p>This page belongs to the Scoreganizer app running on this computer. Open the
link that <code>scoreganizer app</code> printed in its window (it contains a
secret that lets only you in).</p></body></html>
"""


class Guard:
    """ASGI middleware that refuses every request that does not come from the
    app's own page (see the module's docstring)."""

    def __init__(self, app: ASGIApp, secret: str, authority: str) -> None:
        self.app = app
        self.secret = secret
        self.authority = authority.lower()

    @property
    def cookie_name(self) -> str:
        """Per port, so that two apps on one host name (``--plain-address``)
        do not overwrite each other."""
        return f"scoreganizer_app_{self.authority.rsplit(':', 1)[-1]}"

    def refusal(self, scope: Scope) -> str | None:
        """Why the request must be refused, or None."""
        headers = _headers(scope)
        if headers.get("host", "").lower() != self.authority:
            return "This address is not the app's (wrong Host)."
        origin = headers.get("origin")
        if origin is not None and origin.lower() != f"http://{self.authority}":
            return "Another web site tried to use the app."
        if scope["method"] not in SAFE_METHODS and origin is None:
            return "A change was requested without saying where it came from (no Origin)."
        site = headers.get("sec-fetch-site")
        navigating = headers.get("sec-fetch-mode") == "navigate" and scope["method"] == "GET"
        if site in ("cross-site", "same-site") and not navigating:
            return "Another web site tried to use the app."
        return None

    def is_secret(self, value: str) -> bool:
        """Whether ``value`` is this run's secret (in constant time, whatever
        characters it holds)."""
        return hmac.compare_digest(value.encode("utf-8", "replace"), self.secret.encode())

    def has_secret(self, scope: Scope) -> bool:
        """Whether the request carries this run's secret in its cookie."""
        cookies = _headers(scope).get("cookie", "")
        for part in cookies.split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie_name and self.is_secret(value):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no WebSockets here
            return
        reason = self.refusal(scope)
        if reason is None and not self.has_secret(scope):
            if await self._exchange_secret(scope, send):
                return
            reason = "This browser has not been let in (no secret)."
        if reason is not None:
            await _respond(send, 403, FORBIDDEN_PAGE.format(reason=reason).encode())
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _exchange_secret(self, scope: Scope, send: Send) -> bool:
        """A GET with ``?secret=...``: set the cookie and move on to the same
        page without the secret in its URL. False when there is no good secret."""
        if scope["method"] != "GET":
            return False
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        given = [value for name, value in query if name == SECRET_PARAM]
        if len(given) != 1 or not self.is_secret(given[0]):
            return False
        rest = urlencode([(name, value) for name, value in query if name != SECRET_PARAM])
        # The path as it came (still %-encoded), and never "//host": a
        # redirect must stay on this app.
        path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        location = b"/" + path.lstrip(b"/\\")
        if rest:
            location += f"?{rest}".encode()
        cookie = f"{self.cookie_name}={self.secret}; Path=/; HttpOnly; SameSite=Strict"
        page = LET_IN_PAGE.format(location=html.escape(location.decode("latin-1"), quote=True))
        await _respond(send, 200, page.encode(), [(b"set-cookie", cookie.encode())])
        return True


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name; repeated ones joined (so a
    repeated Host or Origin never matches)."""
    out: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        if key in out:
            text = f"{out[key]}{'; ' if key == 'cookie' else ', '}{text}"
        out[key] = text
    return out


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
