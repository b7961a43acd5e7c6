"""The app's front door, request by request (ASGI calls, no network): DNS
rebinding, cross-site requests of every kind, the secret and its cookie."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

import pytest

from scoreganizer_client_lib.app.guard import Guard

PORT = 48123
NAME = "app-0123456789abcdef.localhost"
SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret-s3cret-0"
COOKIE = f"scoreganizer_app_{PORT}={SECRET}"
OWN = f"http://{NAME}:{PORT}"


async def _reached(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"reached"})


def call(*args: Any, **kwargs: Any) -> tuple[int, dict[str, bytes]]:
    """The status and headers the guard answers a request with."""
    status, headers, _ = answer(*args, **kwargs)
    return status, headers


def answer(
    method: str = "GET",
    path: str = "/",
    query: str = "",
    host: str | None = f"{NAME}:{PORT}",
    cookie: str | bytes | None = COOKIE,
    raw_path: bytes | None = None,
    **headers: str,
) -> tuple[int, dict[str, bytes], bytes]:
    """The status, headers and body the guard answers a request with."""
    listed: list[tuple[bytes, bytes]] = []
    if host is not None:
        listed.append((b"host", host.encode("latin-1")))
    if cookie is not None:
        listed.append((b"cookie", cookie if isinstance(cookie, bytes) else cookie.encode()))
    for name, value in headers.items():
        listed.append((name.replace("_", "-").encode(), value.encode("latin-1")))
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": raw_path if raw_path is not None else path.encode(),
        "query_string": query.encode("latin-1"),
        "headers": listed,
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(Guard(_reached, SECRET, f"{NAME}:{PORT}")(scope, receive, send))
    start = sent[0]
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return start["status"], {k.decode(): v for k, v in start["headers"]}, body


def moves_on_to(body: bytes) -> bytes:
    """Where a let-in page sends the browser (its refresh, and its link)."""
    found = re.search(rb'content="0;url=([^"]*)".*<a href="([^"]*)"', body, re.DOTALL)
    assert found is not None and found[1] == found[2], body
    return html.unescape(found[1].decode()).encode("latin-1")


@pytest.mark.parametrize(
    "host",
    [
        # The same port under another name is another cookie jar: a cookie
        # the browser keeps for that name goes to every port of it.
        f"127.0.0.1:{PORT}",
        f"localhost:{PORT}",
        f"app-0123456789abcdee.localhost:{PORT}",  # another run's name
        f"{NAME}.:{PORT}",  # the same name, spelled as a rebinding page could
        f"x.{NAME}:{PORT}",
        f"127.0.0.1.:{PORT}",
        f"localhost.:{PORT}",
        f"[::1]:{PORT}",  # the app does not listen there
        f"{NAME}:{PORT + 1}",
        NAME,
        f"127.0.0.1:{PORT + 1}",
        "127.0.0.1",
        "localhost",
        f"evil.example:{PORT}",
        f"127.0.0.1:{PORT}.evil.example",
        f"127.0.0.1:{PORT}, evil.example",
        "",
        None,  # HTTP/1.0 without Host
    ],
)
def test_any_other_host_is_refused(host: str | None) -> None:
    assert call(host=host)[0] == 403


def test_the_apps_own_host_passes_in_any_case() -> None:
    assert call(host=f"{NAME}:{PORT}")[0] == 200
    assert call(host=f"{NAME.upper()}:{PORT}")[0] == 200


@pytest.mark.parametrize("path", ["/login", "/logout", "/t/1/join", "/t/1/watch", "/t/1/upload"])
@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Origin: an old form, or a request that hides where it came from
        {"origin": "null"},  # a form in a sandboxed frame or a data: page
        {"origin": "http://evil.example"},
        {"origin": f"http://127.0.0.1:{PORT + 1}"},  # another local server: same site
        {"origin": f"http://127.0.0.1:{PORT}"},  # the same port, another name
        {"origin": f"http://{NAME}:{PORT + 1}"},
        {"origin": f"https://{NAME}:{PORT}"},
        {"sec_fetch_site": "cross-site", "sec_fetch_mode": "navigate"},  # a form post, no Origin
        {"sec_fetch_site": "same-site", "sec_fetch_mode": "no-cors"},
        {"origin": OWN, "sec_fetch_site": "cross-site", "sec_fetch_mode": "no-cors"},
        {"content_type": "text/plain", "origin": "http://evil.example"},  # a "simple" request
    ],
)
def test_a_change_from_anywhere_else_is_refused(path: str, headers: dict[str, str]) -> None:
    assert call("POST", path, **headers)[0] == 403


def test_a_change_from_the_apps_own_page_passes() -> None:
    assert call("POST", "/logout", origin=OWN, sec_fetch_site="same-origin")[0] == 200
    assert call("POST", "/logout", origin=OWN.upper())[0] == 200


@pytest.mark.parametrize("path", ["/", "/t/1", "/t/1/events", "/t/1/results", "/static/app.js"])
@pytest.mark.parametrize(
    "headers",
    [
        {"sec_fetch_site": "cross-site", "sec_fetch_mode": "cors"},  # fetch, EventSource
        {"sec_fetch_site": "cross-site", "sec_fetch_mode": "no-cors"},  # <img>, <script>
        {"sec_fetch_site": "same-site", "sec_fetch_mode": "cors"},  # a page on another port
        {"origin": "http://evil.example"},
        {"origin": "null", "sec_fetch_mode": "cors"},
    ],
)
def test_reading_from_another_site_is_refused(path: str, headers: dict[str, str]) -> None:
    assert call("GET", path, **headers)[0] == 403


def test_a_link_from_elsewhere_only_opens_pages() -> None:
    """Following a link is allowed (the page then needs the cookie, which
    SameSite=Strict keeps from cross-site navigations anyway)."""
    assert call(sec_fetch_site="cross-site", sec_fetch_mode="navigate")[0] == 200
    assert call("POST", "/logout", sec_fetch_site="cross-site", sec_fetch_mode="navigate")[0] == 403


@pytest.mark.parametrize(
    "cookie",
    [
        None,
        f"scoreganizer_app_{PORT}=",
        f"scoreganizer_app_{PORT}={SECRET[:-1]}",
        f"scoreganizer_app_{PORT + 1}={SECRET}",  # another app's cookie
        f"scoreganizer_app_{PORT}={SECRET}x",
        f"scoreganizer_app_{PORT}=é".encode("latin-1"),  # not ASCII: still just wrong
        f"scoreganizer_app_{PORT}={SECRET}é".encode(),
        f"x=1; scoreganizer_app_{PORT}=\x00",
    ],
)
def test_no_good_cookie_is_403(cookie: str | bytes | None) -> None:
    assert call(cookie=cookie)[0] == 403


def test_the_cookie_among_others_passes() -> None:
    assert call(cookie=f"a=b; {COOKIE}; c=d")[0] == 200


@pytest.mark.parametrize(
    "query", ["secret=", "secret=%C3%A9", "secret=" + SECRET + "%C3%A9", "secret=%00", "x=1"]
)
def test_a_wrong_secret_in_the_address_is_403(query: str) -> None:
    assert call(query=query, cookie=None)[0] == 403


def test_the_secret_twice_is_403() -> None:
    assert call(query=f"secret={SECRET}&secret={SECRET}", cookie=None)[0] == 403


def test_the_secret_sets_a_strict_cookie_and_leaves_the_address() -> None:
    status, headers, body = answer(path="/t/3", query=f"secret={SECRET}&x=1", cookie=None)
    assert status == 200 and "location" not in headers
    assert moves_on_to(body) == b"/t/3?x=1"  # a page, not a redirect: see the guard
    cookie = headers["set-cookie"].decode()
    assert cookie.startswith(f"{COOKIE};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Max-Age" not in cookie and "Expires" not in cookie  # gone with the browser


@pytest.mark.parametrize(
    ("raw_path", "location"),
    [
        (b"//evil.example/x", b"/evil.example/x"),  # never a protocol-relative address
        (b"/\\evil.example", b"/evil.example"),
        (b"/%2F%2Fevil.example", b"/%2F%2Fevil.example"),  # stays a path
        (b"/t/%C3%A9", b"/t/%C3%A9"),  # any path: no crash on what is not Latin-1
    ],
)
def test_the_page_after_the_secret_stays_on_the_app(raw_path: bytes, location: bytes) -> None:
    status, _, body = answer(
        path=raw_path.decode("latin-1"), raw_path=raw_path, query=f"secret={SECRET}", cookie=None
    )
    assert status == 200 and moves_on_to(body) == location


def test_every_answer_forbids_framing_sniffing_and_referrers() -> None:
    for _, headers in (call(), call(cookie=None)):
        assert "frame-ancestors 'none'" in headers["content-security-policy"].decode()
        assert headers["x-frame-options"] == b"DENY"
        assert headers["x-content-type-options"] == b"nosniff"
        # never "unsafe-url": a page's address never leaves the app in a Referer
        assert headers["referrer-policy"] == b"same-origin"
        assert not any(name.startswith("access-control-") for name in headers)
