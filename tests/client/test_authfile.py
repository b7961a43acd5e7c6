"""The credentials file: created, read, rewritten atomically, private, tolerant."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import stat
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conftest import FillingDisk, needs_dev_full
from fake_server import FakeServer, answer
from scoreganizer_client_lib import AsyncScoreganizer, Scoreganizer, authfile
from scoreganizer_client_lib._files import REPLACE_PAUSES, atomic_write
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
    server = FakeServer()
    server.on("POST", "obtain_token", answer(json={"token": "one"}))
    server.on("POST", "refresh_token", answer(json={"token": "two"}))
    sc = server.sync_client(auth_filename=path)
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


@needs_dev_full
def test_failed_write_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.txt"
    disk = FillingDisk()
    auth = AuthFile(path, opener=disk)
    auth.write("old:credentials")
    disk.full = True
    with pytest.raises(AuthFileError, match="No space left"):
        auth.write("new:credentials")
    assert auth.read() == "old:credentials"
    assert path.read_text() == "old:credentials"
    assert list(tmp_path.iterdir()) == [path]


def test_crash_between_write_and_rename_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.txt"
    AuthFile(path).write("old:one")

    def crash(source: Path, target: Path) -> None:
        raise OSError(errno.EIO, "simulated crash")

    with pytest.raises(OSError, match="simulated crash"):
        atomic_write(path, b"new:two", private=True, rename=crash)
    assert path.read_text() == "old:one"
    assert list(tmp_path.iterdir()) == [path]


def test_a_briefly_locked_file_is_replaced_on_windows(tmp_path: Path) -> None:
    path = tmp_path / "auth"
    AuthFile(path).write("old:token")
    refusals: list[Path] = []
    waits: list[float] = []

    def replace(source: Path, target: Path) -> None:
        if len(refusals) < 2:  # a scanner holds the file for a moment
            refusals.append(target)
            raise PermissionError(errno.EACCES, "in use", str(target))
        source.replace(target)

    with pytest.raises(PermissionError):  # elsewhere: refused at once
        atomic_write(
            path, b"new:token", private=True, rename=replace, pauses=(), sleep=waits.append
        )
    assert AuthFile(path).read() == "old:token" and waits == []
    atomic_write(
        path, b"new:token", private=True, rename=replace, pauses=REPLACE_PAUSES, sleep=waits.append
    )
    assert AuthFile(path).read() == "new:token" and len(refusals) == 2  # once each
    assert waits == list(REPLACE_PAUSES[:1])  # the second try got through
    assert [p.name for p in tmp_path.iterdir()] == ["auth"]  # no temporary file left


# -- only ever a regular file, read within bounds, for both clients ---------------------

CLIENTS = ["sync", "async"]


def _open(kind: str, path: Path) -> Any:
    """A client of ``kind`` on the credentials file ``path``, once it has read it."""
    if kind == "sync":
        return Scoreganizer(host="api.test", port=8443, auth_filename=path)
    sc = AsyncScoreganizer(host="api.test", port=8443, auth_filename=path)
    _ = sc.auth_str  # reading it before any call reads the file
    return sc


def _set_auth_str(sc: Any, auth_str: str) -> None:
    if isinstance(sc, AsyncScoreganizer):
        asyncio.run(sc.set_auth_str(auth_str))
    else:
        sc.set_auth_str(auth_str)


def _not_regular(kind_of_path: str, tmp_path: Path) -> Path:
    path = tmp_path / "auth.txt"
    if kind_of_path == "fifo":
        os.mkfifo(path)
    elif kind_of_path == "dev-zero-link":
        path.symlink_to("/dev/zero")
    elif kind_of_path == "fifo-link":
        os.mkfifo(tmp_path / "pipe")
        path.symlink_to(tmp_path / "pipe")
    elif kind_of_path == "folder":
        path.mkdir()
    return path


@pytest.mark.timeout(10)  # a FIFO once blocked the constructor forever
@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize(
    "kind_of_path",
    [
        pytest.param("fifo", marks=posix_only),
        pytest.param("dev-zero-link", marks=posix_only),  # once: MemoryError
        pytest.param("fifo-link", marks=posix_only),
        "folder",
    ],
)
def test_only_a_regular_file_is_read(tmp_path: Path, kind: str, kind_of_path: str) -> None:
    path = _not_regular(kind_of_path, tmp_path)
    with pytest.raises(AuthFileError, match="not a regular file"):
        _open(kind, path)


@posix_only
@pytest.mark.timeout(10)
def test_a_fifo_swapped_in_after_the_check_does_not_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.txt"
    os.mkfifo(path)
    regular = os.stat_result((stat.S_IFREG | 0o600, 0, 0, 1, 0, 0, 0, 0, 0, 0))
    monkeypatch.setattr(Path, "stat", lambda self, **kw: regular)  # the race: it looked regular
    with pytest.raises(AuthFileError, match="a pipe"):
        AuthFile(path).read()


@pytest.mark.parametrize("kind", CLIENTS)
def test_an_unreadable_file_means_logged_out_until_the_next_login(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.txt"
    path.write_text("ann:tok")
    real_open = os.open

    def denied(name: Any, flags: int, *args: Any) -> int:
        if os.fspath(name) == str(path) and not flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real_open(name, flags, *args)

    monkeypatch.setattr(os, "open", denied)
    sc = _open(kind, path)
    assert sc.auth_str is None and "cannot read" in (sc.auth_file_problem or "")
    _set_auth_str(sc, "ann:new")  # written anew, private
    monkeypatch.undo()
    assert path.read_text() == "ann:new"


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_large_file_is_read_only_so_far(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.txt"
    path.write_bytes(b"a:" + b"t" * (10 * authfile.MAX_AUTH_FILE_SIZE))
    reads: list[int] = []
    real_read = os.read

    def counting_read(fd: int, size: int) -> bytes:
        reads.append(size)
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", counting_read)
    sc = _open(kind, path)
    assert sc.auth_str is None and "larger than" in (sc.auth_file_problem or "")
    assert sum(reads) <= authfile.MAX_AUTH_FILE_SIZE + 1


@posix_only
def test_readable_by_others_warns_once_and_is_tightened_on_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "auth.txt"
    path.write_text("ann:tok")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        Scoreganizer(auth_filename=path)
        sc = Scoreganizer(auth_filename=path)
    assert caplog.text.count("can be read by other users") == 1  # once
    assert "0644" in caplog.text or "644" in caplog.text
    assert sc.auth_str == "ann:tok"
    sc.set_auth_str("ann:new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@posix_only
@pytest.mark.parametrize("mode", [0o777, 0o1777])  # sticky or not: the path can be taken
def test_a_folder_every_user_can_write_to_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    path = shared / "auth.txt"
    with caplog.at_level(logging.WARNING):
        Scoreganizer(auth_filename=path).set_auth_str("ann:tok")
        assert Scoreganizer(auth_filename=path).auth_str == "ann:tok"
    assert caplog.text.count("every user can write to") == 1
    assert f"{mode:03o}" in caplog.text


@posix_only
def test_a_private_folder_gives_no_folder_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with caplog.at_level(logging.WARNING):
        Scoreganizer(auth_filename=private / "auth.txt").set_auth_str("ann:tok")
    assert caplog.text == ""


@posix_only
def test_no_mode_warning_where_modes_do_not_apply(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "auth.txt").write_text("ann:tok")
    (shared / "auth.txt").chmod(0o644)
    shared.chmod(0o777)
    file = AuthFile(shared / "auth.txt", posix_modes=False)  # Windows: the ACL decides
    with caplog.at_level(logging.WARNING):
        assert file.read() == "ann:tok"
        file.write("ann:new")
    assert caplog.text == ""


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)


def test_login_on_a_full_disk_is_logged_in_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.txt"
    server = FakeServer()
    server.on("POST", "obtain_token", answer(json={"token": "abc"}))
    sc = server.sync_client(auth_filename=path)
    _full_disk(monkeypatch)
    with pytest.raises(AuthFileError) as info:
        sc.login("dave", "pw")
    # consistent: the client is logged in, the error says the file was not saved, and where
    assert sc.auth_str == "dave:abc" and sc.session.headers["X-Scoreganizer-Authorization"]
    assert "logged in as dave" in str(info.value) and str(path) in str(info.value)
    assert "No space left" in str(info.value) and "abc" not in str(info.value)
    assert path.read_text() == ""


def test_async_login_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "auth.txt"
    server = FakeServer()
    server.on("POST", "obtain_token", answer(json={"token": "abc"}))

    async def main() -> None:
        async with server.async_client(auth_filename=path) as sc:
            assert sc.auth_str is None  # the file is read (and created) now
            _full_disk(monkeypatch)
            with pytest.raises(AuthFileError, match="logged in as dave"):
                await sc.login("dave", "pw")
            assert sc.auth_str == "dave:abc"

    asyncio.run(main())


def test_async_client_does_no_file_io_until_used(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "auth.txt"
    server = FakeServer()
    server.on("GET", "tournaments/all", answer(json=[]))

    async def main() -> None:
        async with server.async_client(auth_filename=path) as sc:
            assert not path.parent.exists()  # the constructor touched nothing
            await sc.tournaments.all()
            assert path.read_text() == ""  # read (and created, as 0.3.1 did) on first use

    asyncio.run(main())


def test_async_client_reads_the_file_off_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "auth.txt"
    path.write_text("ann:tok")
    threads: list[str] = []
    real_read = AuthFile.read

    def read(self: AuthFile) -> str | None:
        threads.append(threading.current_thread().name)
        return real_read(self)

    server = FakeServer()
    server.on("GET", "tournaments/all", answer(json=[]))

    async def main() -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(AuthFile, "read", read)
            async with server.async_client(auth_filename=path) as sc:
                await sc.tournaments.all()
            assert server.seen[-1].header("X-Scoreganizer-Authorization") == "ann:tok"

    asyncio.run(main())
    assert threads and threading.main_thread().name not in threads


def test_async_set_auth_str_and_logout_write_off_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "auth.txt"
    threads: list[str] = []
    real_write, real_delete = AuthFile.write, AuthFile.delete

    def write(self: AuthFile, auth_str: str | None) -> None:
        threads.append(threading.current_thread().name)
        real_write(self, auth_str)

    def delete(self: AuthFile) -> None:
        threads.append(threading.current_thread().name)
        real_delete(self)

    async def main() -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(AuthFile, "write", write)
            patch.setattr(AuthFile, "delete", delete)
            async with AsyncScoreganizer(auth_filename=path) as sc:
                await sc.set_auth_str("ann:tok")
                assert path.read_text() == "ann:tok" and sc.auth_str == "ann:tok"
                await sc.logout()
                assert not path.exists() and sc.auth_str is None

    asyncio.run(main())
    assert len(threads) == 2 and threading.main_thread().name not in threads


@pytest.mark.parametrize("kind", CLIENTS)
def test_saves_from_several_threads_leave_the_file_as_the_client_is(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.txt"
    sc = _open(kind, path)
    first_in, first_out = threading.Event(), threading.Event()
    real_write = AuthFile.write

    def write(self: AuthFile, auth_str: str | None) -> None:
        if auth_str == "a:1":  # the first save is slow
            first_in.set()
            first_out.wait(30)
        real_write(self, auth_str)

    monkeypatch.setattr(AuthFile, "write", write)

    one = threading.Thread(target=_set_auth_str, args=(sc, "a:1"))
    one.start()
    assert first_in.wait(30)
    two = threading.Thread(target=_set_auth_str, args=(sc, "b:2"))
    two.start()
    two.join(0.2)  # done, or waiting for the first save
    first_out.set()
    one.join(30)
    two.join(30)
    assert sc.auth_str == "b:2" and path.read_text() == "b:2"


def test_a_cancelled_login_still_saves_what_it_logged_in_with(tmp_path: Path) -> None:
    path = tmp_path / "auth.txt"
    release = threading.Event()
    server = FakeServer()
    server.on("POST", "obtain_token", answer(json={"token": "abc"}))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(1))  # one worker, kept busy below
        async with server.async_client(auth_filename=path) as sc:
            assert sc.auth_str is None  # the file is read now
            busy = loop.run_in_executor(None, release.wait, 5)
            login = asyncio.ensure_future(sc.login("dave", "pw"))
            while sc.auth_str is None:  # logged in; the save waits for the worker
                await asyncio.sleep(0)
            login.cancel()
            with pytest.raises(asyncio.CancelledError):
                await login
            release.set()
            await busy
            deadline = loop.time() + 30  # a bound for a save that never comes
            while not path.read_text():  # the save, handed over before the cancel, is made
                assert loop.time() < deadline, "the save never came"
                await asyncio.sleep(0.01)
            assert sc.auth_str == "dave:abc" and path.read_text() == "dave:abc"

    asyncio.run(main())


@pytest.mark.parametrize("read", ["first", "saved by another program"])
def test_set_auth_str_while_the_file_is_read_wins_over_the_file(tmp_path: Path, read: str) -> None:
    path = tmp_path / "auth.txt"
    path.write_text("old:tok")
    reading, read_on = threading.Event(), threading.Event()
    real_read = AuthFile.read
    slow = "old:tok" if read == "first" else "other:tok"

    def slow_read(self: AuthFile) -> str | None:
        found = real_read(self)
        if found == slow:
            reading.set()
            read_on.wait(30)
        return found

    server = FakeServer()
    server.on("GET", "tournaments/all", answer(json=[]))

    async def main() -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(AuthFile, "read", slow_read)
            async with server.async_client(auth_filename=path) as sc:
                if read != "first":
                    await sc.tournaments.all()
                    AuthFile(path).write("other:tok")
                listing = asyncio.ensure_future(sc.tournaments.all())  # reads the file
                assert await asyncio.to_thread(reading.wait, 30)
                setting = asyncio.ensure_future(sc.set_auth_str("new:tok"))
                await asyncio.sleep(0.01)
                read_on.set()
                await asyncio.gather(listing, setting)
                assert sc.auth_str == "new:tok"
            assert server.seen[-1].header("X-Scoreganizer-Authorization") == "new:tok"

    asyncio.run(main())
    assert path.read_text() == "new:tok"


def test_set_auth_str_before_first_use_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.txt"
    path.write_text("old:tok")
    server = FakeServer()
    server.on("GET", "tournaments/all", answer(json=[]))

    async def main() -> None:
        async with server.async_client(auth_filename=path) as sc:
            await sc.set_auth_str("new:tok")
            await sc.tournaments.all()
            assert sc.auth_str == "new:tok"
        assert server.seen[0].header("X-Scoreganizer-Authorization") == "new:tok"

    asyncio.run(main())
    assert path.read_text() == "new:tok"


# -- 0.3.1: username and auth_filename are assignable -------------------------------------


@pytest.mark.parametrize("kind", CLIENTS)
def test_auth_filename_assigned_later_is_where_credentials_go(tmp_path: Path, kind: str) -> None:
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    sc = _open(kind, first)
    sc.auth_filename = second
    assert sc.auth_filename == second
    _set_auth_str(sc, "bob:tok")
    assert second.read_text() == "bob:tok" and first.read_text() == ""
    sc.auth_filename = None
    _set_auth_str(sc, "bob:other")
    assert second.read_text() == "bob:tok"


def test_username_is_assignable_and_used_by_refresh() -> None:
    server = FakeServer()
    server.on("POST", "refresh_token", answer(json={"token": "new"}))
    sc = server.sync_client()
    sc.set_auth_str("bob:old")
    sc.username = "robert"
    assert sc.username == "robert" and sc.auth_str == "bob:old"
    assert sc.refresh_login() == "robert:new"
    assert server.seen[0].header("X-Scoreganizer-Authorization") == "bob:old"
    assert sc.auth_str == "robert:new"
