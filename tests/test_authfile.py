"""The credentials file: created, read, rewritten atomically, private, tolerant."""

from __future__ import annotations

import errno
import logging
import os
import stat
import sys
from pathlib import Path

import pytest
import responses

from cases import BASE
from scoreganizer_client_lib import Scoreganizer
from scoreganizer_client_lib.authfile import AuthFile
from scoreganizer_client_lib.exceptions import AuthFileError

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def test_created_if_missing_and_empty_means_logged_out(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "auth.txt"
    sc = Scoreganizer(auth_filename=path)
    assert path.read_text() == ""
    assert sc.auth_str is None
    assert "X-Scoreganizer-Authorization" not in sc.session.headers


@posix_only
def test_private_mode(tmp_path: Path) -> None:
    path = tmp_path / "auth.txt"
    Scoreganizer(auth_filename=path).set_auth_str("a:b")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_read_on_start_with_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "auth.txt"
    path.write_text("carol:t0k\n")
    sc = Scoreganizer(auth_filename=str(path))
    assert sc.auth_str == "carol:t0k"
    assert sc.session.headers["X-Scoreganizer-Authorization"] == "carol:t0k"
    assert path.read_text() == "carol:t0k\n"  # reading does not rewrite


def test_rewritten_when_credentials_change(tmp_path: Path) -> None:
    path = tmp_path / "auth.txt"
    sc = Scoreganizer(host="api.test", port=8443, auth_filename=path)
    with responses.RequestsMock() as mock:
        mock.post(BASE + "obtain_token", json={"token": "one"})
        mock.post(BASE + "refresh_token", json={"token": "two"})
        sc.login("dave", "pw")
        assert path.read_text() == "dave:one"
        sc.refresh_login()
        assert path.read_text() == "dave:two"
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left
    sc.logout()
    assert not path.exists()  # logging out removes the saved credentials
    assert sc.auth_str is None and "X-Scoreganizer-Authorization" not in sc.session.headers
    sc.logout()  # twice is fine


@pytest.mark.parametrize(
    "content",
    [b"no colon here", b"two\nlines:x", b"user: spaced token", b"\xff\xfe\x00garbage", b":tok"],
)
def test_garbled_file_means_not_logged_in(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "auth.txt"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        sc = Scoreganizer(auth_filename=path)
    assert sc.auth_str is None
    assert "X-Scoreganizer-Authorization" not in sc.session.headers
    assert sc.auth_file_problem is not None and str(path) in sc.auth_file_problem
    assert "ignoring" in caplog.text


def test_token_never_in_messages(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "auth.txt"
    path.write_text("eve:SECRETTOKEN extra")
    with caplog.at_level(logging.DEBUG):
        sc = Scoreganizer(auth_filename=path)
    assert "SECRETTOKEN" not in caplog.text
    assert "SECRETTOKEN" not in (sc.auth_file_problem or "")
    sc.set_auth_str("eve:SECRETTOKEN")
    assert "SECRETTOKEN" not in repr(sc)


def test_failed_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "auth.txt"
    auth = AuthFile(path)
    auth.write("old:credentials")

    def disk_full(fd: int) -> None:  # the data reaches the disk at fsync
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(AuthFileError, match="No space left"):
        auth.write("new:credentials")
    monkeypatch.undo()
    assert path.read_text() == "old:credentials"
    assert list(tmp_path.iterdir()) == [path]


def test_crash_between_write_and_rename_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.txt"
    AuthFile(path).write("old:one")

    def crash(src: str, dst: str) -> None:
        raise OSError(errno.EIO, "simulated crash")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(AuthFileError):
        AuthFile(path).write("new:two")
    monkeypatch.undo()
    assert path.read_text() == "old:one"
    assert list(tmp_path.iterdir()) == [path]


def test_a_briefly_locked_file_is_replaced_on_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoreganizer_client_lib import _files

    auth = AuthFile(tmp_path / "auth")
    auth.write("old:token")
    real_replace, refusals = Path.replace, []

    def replace(self: Path, target: Path) -> Path:
        if len(refusals) < 2:  # a scanner holds the file for a moment
            refusals.append(target)
            raise PermissionError(errno.EACCES, "in use", str(target))
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    monkeypatch.setattr(_files, "REPLACE_PAUSES", (0.0, 0.0, 0.0))
    monkeypatch.setattr(_files, "RETRY_REPLACE", False)  # elsewhere: refused at once
    with pytest.raises(AuthFileError):
        auth.write("new:token")
    assert auth.read() == "old:token"
    monkeypatch.setattr(_files, "RETRY_REPLACE", True)
    auth.write("new:token")
    assert auth.read() == "new:token" and len(refusals) == 2  # once each
    assert [p.name for p in tmp_path.iterdir()] == ["auth"]  # no temporary file left
