"""Where things are saved, server addresses, error codes and transient failures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import requests

from scoreganizer_client_lib import Scoreganizer, config
from scoreganizer_client_lib import exceptions as exc


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", ("127.0.0.1", 8000, False)),
        ("https://scoreganizer.net", ("scoreganizer.net", 443, True)),
        ("scoreganizer.net", ("scoreganizer.net", 443, True)),
        ("http://Example.ORG/api/", ("example.org", 80, False)),
        ("HTTPS://[::1]:8443", ("::1", 8443, True)),
        ("  http://localhost:9  ", ("localhost", 9, False)),
    ],
)
def test_parse_server_url(url: str, expected: tuple[str, int, bool]) -> None:
    address = config.parse_server_url(url)
    assert address == expected
    assert config.parse_server_url(address.url) == address  # the URL reads back the same


@pytest.mark.parametrize(
    "url", ["ftp://host", "http://", "http://host:notaport", "http://host:99999", ""]
)
def test_parse_server_url_refuses(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        config.parse_server_url(url)


def test_from_url_uses_the_parser() -> None:
    sc = Scoreganizer.from_url("http://[::1]:8000")
    assert (sc.host, sc.port, sc.https) == ("::1", 8000, False)
    assert sc.base_url == "http://[::1]:8000/api/"


def test_config_dir_and_auth_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.CONFIG_DIR_ENV, str(tmp_path))
    assert config.config_dir() == tmp_path
    path = config.auth_path("scoreganizer.net")
    assert path == tmp_path / "credentials" / "https_scoreganizer.net_443.txt"
    # every spelling of one server is one file; other servers are other files
    assert config.auth_path("https://SCOREGANIZER.net:443/api/") == path
    assert config.auth_path("http://scoreganizer.net") != path
    assert config.server_slug("http://[::1]:8000") == "http___1_8000"
    monkeypatch.delenv(config.CONFIG_DIR_ENV)
    assert config.config_dir().name == "scoreganizer"


def test_error_codes_are_the_strings() -> None:
    assert exc.ErrorCode.RETRY == "retry" and str(exc.ErrorCode.TOO_EARLY) == "too_early"
    for code, cls in exc.EXCEPTION_CLS_MAP.items():
        assert exc.ErrorCode(code).value == code
        error = exc.exception_for(code, 1.0, timedelta(0))
        assert error.error == code and isinstance(error, cls) and cls.code == code


def test_each_exception_carries_its_code() -> None:
    # the map is the server's classes by their own code, nothing spelled twice
    assert {cls.code: cls for cls in exc.SERVER_ERRORS} == exc.EXCEPTION_CLS_MAP
    assert len(exc.EXCEPTION_CLS_MAP) == len(exc.SERVER_ERRORS) == 13
    made = [
        exc.AuthFileError("disk full"),
        exc.InvalidHeaderValue("a line break"),
        exc.TournamentNotFound(7),
        exc.ScoreganizerProtocolError("not JSON"),
        exc.ScoreganizerRedirectRefused("https://elsewhere/", "another origin"),
        exc.StandingsNotOffered(7, "https://scoreganizer.net/tournament/7"),
    ]
    for error in made:
        assert error.error == type(error).code is not None


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (exc.ScoreganizerRetry("retry"), True),
        (exc.ScoreganizerError("503"), True),
        (exc.ScoreganizerError("500"), True),
        (exc.ScoreganizerError("429"), True),
        (exc.ScoreganizerError("404"), False),
        (exc.ScoreganizerInvalidData("invalid_data"), False),
        (exc.ScoreganizerTokenTooRecent("token_too_recent"), False),
        (exc.ScoreganizerNotLoggedIn("not_logged_in"), False),
        (requests.exceptions.ConnectionError("refused"), True),
        (requests.exceptions.ReadTimeout("slow"), True),
        (requests.exceptions.ChunkedEncodingError("cut"), True),
        (requests.exceptions.SSLError("bad certificate"), False),
        (requests.exceptions.InvalidURL("nope"), False),
        (ValueError("not ours"), False),
        (FileNotFoundError("not a transport failure"), False),
    ],
)
def test_is_transient(error: BaseException, transient: bool) -> None:
    assert exc.is_transient(error) is transient
    if isinstance(error, exc.ScoreganizerError):
        assert error.transient is transient
