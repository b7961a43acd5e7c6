"""Both clients' credentials go only to the configured server: redirects,
URLs that parsers read differently, the session's own requests, digest
challenges from elsewhere, header values with line breaks; and how a user
name outside ASCII goes on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import pytest

from misbehaving_server import (
    CLIENTS,
    DIGEST_PASSWORD,
    DIGEST_USER,
    Script,
    all_tournaments,
    all_tournaments_as_alice,
    call,
    serve,
)
from scoreganizer_client_lib import AsyncScoreganizer, Scoreganizer
from scoreganizer_client_lib.exceptions import (
    NetworkException,
    ScoreganizerRedirectRefused,
)

# -- credentials go only to the configured server ----------------------------------------


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
    for port in serve(script, "::1"):
        script.redirect_to = f"http://[::1]:{port}/api/v2/tournaments/all"
        assert call(kind, port, all_tournaments, host=host) == []
    assert [path for path, _, _ in script.seen] == [
        "/api/tournaments/all",
        "/api/v2/tournaments/all",
    ]


# -- user names outside ASCII ------------------------------------------------------------


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
