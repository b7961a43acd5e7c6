"""One credentials file, several programs (the command, the folder watcher,
the app): a refresh, a login or a logout saved by one is followed by the
others on their next call, with both clients, against the sandbox over real
HTTP. A refresh revokes the old token, so a client that did not follow would
be logged out although the file holds a good token."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import FAST_RETRY, PASSWORD, TEST_CONFIG, Clock, new_user
from fake_server import CLIENTS, Client, FakeServer, answer
from scoreganizer_client_lib import AUTH_HEADER, Scoreganizer
from scoreganizer_client_lib import exceptions as exc
from scoreganizer_client_lib.authfile import AuthFile
from scoreganizer_client_lib.sandbox import SandboxServer, scenario


def _cup(sandbox: SandboxServer) -> int:
    host = new_user(sandbox)
    return scenario.add_tournament(sandbox.store, f"Cup {host}", host, start="+1h", end="+2h")


@pytest.fixture
def clients(module_sandbox: tuple[SandboxServer, Clock], tmp_path: Path) -> Iterator[Any]:
    """Makes clients on the credentials file ``tmp_path / "auth.txt"``; closes them."""
    made: list[Client] = []

    def make(kind: str = "sync") -> Client:
        url = module_sandbox[0].url
        made.append(Client(kind, url, auth_filename=tmp_path / "auth.txt", retry=FAST_RETRY))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture(params=CLIENTS)
def here(request: pytest.FixtureRequest, clients: Any) -> Client:
    """The client that should follow the file (sync, then async)."""
    return clients(request.param)  # type: ignore[no-any-return]


@pytest.fixture
def elsewhere(clients: Any) -> Client:
    """Another program on the same file (the command, say)."""
    return clients("sync")  # type: ignore[no-any-return]


def log_in(client: Client, module_sandbox: tuple[SandboxServer, Clock]) -> str:
    """Log ``client`` in as a new user; the auth string."""
    return str(client("login", new_user(module_sandbox[0]), PASSWORD))


@contextmanager
def refresh_allowed(module_sandbox: tuple[SandboxServer, Clock]) -> Iterator[None]:
    """The sandbox's clock past the cooldown after which a token may be refreshed."""
    clock = module_sandbox[1]
    clock.advance(TEST_CONFIG.refresh_cooldown + 1)
    try:
        yield
    finally:
        clock.advance(-TEST_CONFIG.refresh_cooldown - 1)


def refresh_elsewhere(module_sandbox: tuple[SandboxServer, Clock], path: Path) -> str:
    """Refresh the token in ``path`` as another program does; the new auth string."""
    with (
        refresh_allowed(module_sandbox),
        Scoreganizer.from_url(module_sandbox[0].url, auth_filename=path) as other,
    ):
        return other.refresh_login()


def refresh_unseen(module_sandbox: tuple[SandboxServer, Clock], path: Path) -> str:
    """Refresh the token in ``path`` elsewhere and write the new one in its
    place, same size, same time, same file: a look at the file's stamp does
    not show it. The new auth string."""
    aside = path.with_name("aside.txt")
    old = path.read_text()
    aside.write_text(old)
    new = refresh_elsewhere(module_sandbox, aside)
    assert len(new) == len(old)
    before, stamp = path.stat(), AuthFile(path).current_stamp()
    with path.open("r+b") as handle:
        handle.write(new.encode())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert AuthFile(path).current_stamp() == stamp  # nothing to see
    return new


def status_of(sandbox: SandboxServer, auth_str: str) -> str:
    """What the server says of ``auth_str`` (asked by a client of its own)."""
    with Scoreganizer.from_url(sandbox.url) as probe:
        probe.set_auth_str(auth_str)
        return str(probe.token_status())


# -- a refresh, a login, a logout made elsewhere ----------------------------------------


def test_a_refresh_made_elsewhere_is_followed(
    module_sandbox: tuple[SandboxServer, Clock], here: Client, tmp_path: Path
) -> None:
    path, cup = tmp_path / "auth.txt", _cup(module_sandbox[0])
    old = log_in(here, module_sandbox)
    new = refresh_elsewhere(module_sandbox, path)
    assert status_of(module_sandbox[0], old) == "nonexistent"  # revoked: sending it would fail
    here("tournaments.participate", cup)  # a POST, sent once, with the new token
    assert [t.status for t in here("tournaments.my_active")] == ["participating"]
    assert here("token_status") == "ok"
    assert here.sc.auth_str == new == path.read_text()


def test_a_refresh_the_file_s_stamp_does_not_show_is_found_when_the_server_refuses(
    module_sandbox: tuple[SandboxServer, Clock], here: Client, tmp_path: Path
) -> None:
    """Rewritten in place, same size, same time, same file: only the server's
    ``not_logged_in`` tells; the file is then read, the request sent again."""
    cup = _cup(module_sandbox[0])
    log_in(here, module_sandbox)
    new = refresh_unseen(module_sandbox, tmp_path / "auth.txt")
    here("tournaments.participate", cup)
    assert here.sc.auth_str == new
    assert here("token_status") == "ok"


def test_token_status_of_a_revoked_token_asks_with_the_one_saved_since(
    module_sandbox: tuple[SandboxServer, Clock], here: Client, tmp_path: Path
) -> None:
    log_in(here, module_sandbox)
    new = refresh_unseen(module_sandbox, tmp_path / "auth.txt")  # the look before misses it
    assert here("token_status") == "ok"  # "nonexistent" for the old one, then asked again
    assert here.sc.auth_str == new


def test_a_login_made_elsewhere_is_followed(
    module_sandbox: tuple[SandboxServer, Clock], here: Client, elsewhere: Client
) -> None:
    assert here("token_status") == "not_sent"  # the file is empty
    log_in(elsewhere, module_sandbox)
    assert here("tournaments.my_active") == []
    assert here.sc.username == elsewhere.sc.username
    assert here("refresh_login_if_stale") is None


def test_a_refresh_asked_here_after_a_login_made_elsewhere(
    module_sandbox: tuple[SandboxServer, Clock], here: Client, elsewhere: Client, tmp_path: Path
) -> None:
    log_in(elsewhere, module_sandbox)
    with refresh_allowed(module_sandbox):
        refreshed = here("refresh_login")  # not "log in first": the file has a login
    assert (tmp_path / "auth.txt").read_text() == refreshed


def test_a_logout_made_elsewhere_is_followed(
    module_sandbox: tuple[SandboxServer, Clock], here: Client, elsewhere: Client, tmp_path: Path
) -> None:
    log_in(here, module_sandbox)
    elsewhere("logout")
    with pytest.raises(exc.ScoreganizerNotLoggedIn):
        here("tournaments.my_active")
    assert here.sc.auth_str is None
    assert not (tmp_path / "auth.txt").exists()  # not written back by the client that followed


def test_reload_credentials_shows_who_is_logged_in_without_a_call(
    module_sandbox: tuple[SandboxServer, Clock], here: Client, elsewhere: Client
) -> None:
    assert here("reload_credentials") is False
    log_in(elsewhere, module_sandbox)
    assert here("reload_credentials") is True and here.sc.username == elsewhere.sc.username
    assert here("reload_credentials") is False


def test_the_sync_session_carries_the_credentials_followed(
    module_sandbox: tuple[SandboxServer, Clock], elsewhere: Client, tmp_path: Path
) -> None:
    log_in(elsewhere, module_sandbox)
    new = refresh_elsewhere(module_sandbox, tmp_path / "auth.txt")
    elsewhere("tournaments.active")
    assert elsewhere.sc.session.headers[AUTH_HEADER] == new  # for code using sc.session (0.3.1)


# -- what is read, and where ------------------------------------------------------------------


def test_an_unchanged_file_is_looked_at_and_not_read(
    module_sandbox: tuple[SandboxServer, Clock],
    here: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log_in(here, module_sandbox)
    reads: list[str] = []
    real_read = AuthFile.read

    def read(self: AuthFile) -> str | None:
        reads.append(threading.current_thread().name)
        return real_read(self)

    monkeypatch.setattr(AuthFile, "read", read)
    for _ in range(5):
        here("tournaments.active")
    here("token_status")
    assert reads == []  # its own save is known: nothing to read
    refresh_elsewhere(module_sandbox, tmp_path / "auth.txt")
    reads.clear()
    here("tournaments.active")
    here("tournaments.active")
    assert len(reads) == 1
    if here.kind == "async":
        assert reads[0] != threading.current_thread().name  # off the event loop


def test_the_async_client_looks_at_the_file_on_the_loop_and_reads_it_off_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "auth.txt"
    path.write_text("ann:1")
    where: dict[str, list[str]] = {"stamp": [], "read": []}
    real_stamp, real_read = AuthFile.current_stamp, AuthFile.read

    def stamp(self: AuthFile) -> Any:
        where["stamp"].append(threading.current_thread().name)
        return real_stamp(self)

    def read(self: AuthFile) -> str | None:
        where["read"].append(threading.current_thread().name)
        return real_read(self)

    server = FakeServer()
    server.on("GET", "tournaments/all", answer(json=[]))

    async def main() -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(AuthFile, "current_stamp", stamp)
            patch.setattr(AuthFile, "read", read)
            async with server.async_client(auth_filename=path) as sc:
                await sc.tournaments.all()  # the first read
                AuthFile(path).write("ann:2")
                where["stamp"].clear()
                await sc.tournaments.all()
            assert server.seen[-1].header(AUTH_HEADER) == "ann:2"

    asyncio.run(main())
    loop_thread = threading.main_thread().name
    assert where["stamp"][0] == loop_thread  # the look (a stat: microseconds) ...
    assert where["read"] and loop_thread not in where["read"]  # ... the read off the loop


# -- what this client did wins over what it has not seen -------------------------------------


def test_a_change_made_here_that_could_not_be_saved_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.txt"
    path.write_text("ann:1")
    server = FakeServer()
    server.on("GET", "tournaments/all", answer(json=[]))

    async def main() -> None:
        async with server.async_client(auth_filename=path) as sc:
            real_write = AuthFile.write

            def full_disk(self: AuthFile, auth_str: str | None) -> None:
                raise exc.AuthFileError("no space left")

            monkeypatch.setattr(AuthFile, "write", full_disk)
            with pytest.raises(exc.AuthFileError):
                await sc.set_auth_str("ann:mine")
            monkeypatch.setattr(AuthFile, "write", real_write)
            AuthFile(path).write("bob:theirs")  # another program, later
            await sc.tournaments.all()
            assert server.seen[-1].header(AUTH_HEADER) == "ann:mine"
            await sc.set_auth_str("ann:saved")  # saved: the file is followed again
            AuthFile(path).write("bob:theirs")
            assert await sc.reload_credentials() is True and sc.auth_str == "bob:theirs"

    asyncio.run(main())


@pytest.mark.parametrize("kind", CLIENTS)
def test_auth_filename_assigned_later_is_not_read_but_followed_from_then_on(
    tmp_path: Path, kind: str
) -> None:
    """0.3.1: assigning ``auth_filename`` changes where credentials are saved
    and reads nothing; what is saved there afterwards is followed."""
    path = tmp_path / "auth.txt"
    path.write_text("ann:in-the-file")
    server = FakeServer()
    server.on("GET", "tournaments/all", answer(json=[]))
    client = server.client(kind, auth_filename=tmp_path / "first.txt")
    try:
        client("set_auth_str", "ann:in-memory")
        client.sc.auth_filename = path
        client("tournaments.all")
        assert server.seen[-1].header(AUTH_HEADER) == "ann:in-memory"
        AuthFile(path).write("ann:saved-later")
        client("tournaments.all")
        assert server.seen[-1].header(AUTH_HEADER) == "ann:saved-later"
    finally:
        client.close()


def test_a_file_that_became_a_folder_means_logged_out_until_it_is_a_file_again(
    module_sandbox: tuple[SandboxServer, Clock], here: Client, tmp_path: Path
) -> None:
    path = tmp_path / "auth.txt"
    auth = log_in(here, module_sandbox)
    path.unlink()
    path.mkdir()
    assert here("token_status") == "not_sent"  # no error from a call that needs no login
    assert "is a folder" in (here.sc.auth_file_problem or "")
    path.rmdir()
    path.write_text(auth)
    assert here("token_status") == "ok"


def test_threads_and_another_program_saving_at_once_end_with_memory_and_file_as_one(
    tmp_path: Path,
) -> None:
    """Four threads share one client (calling, and setting credentials now
    and then) while another program keeps saving its own: once all is done,
    the next call leaves the client with what the file holds."""
    path = tmp_path / "auth.txt"
    written = {None, "a:start"}
    path.write_text("a:start")
    server = FakeServer()
    server.on("GET", "tournaments/all", answer(json=[]))
    here = server.sync_client(auth_filename=path)

    def calls(worker: int) -> None:
        for i in range(40):
            if i % 10 == worker:
                here.set_auth_str(f"a:{worker}-{i}")
            else:
                here.tournaments.all()

    def elsewhere() -> None:
        other = AuthFile(path)
        for i in range(40):
            other.write(f"b:{i}")

    for worker in range(4):
        written.update(f"a:{worker}-{i}" for i in range(worker, 40, 10))
    written.update(f"b:{i}" for i in range(40))
    threads = [threading.Thread(target=calls, args=(w,)) for w in range(4)]
    threads.append(threading.Thread(target=elsewhere))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    here.tournaments.all()
    assert here.auth_str == path.read_text()
    AuthFile(path).write("b:last")
    here.tournaments.all()
    assert here.auth_str == "b:last"  # still following: its own saves were all recorded
    sent = {seen.header(AUTH_HEADER) for seen in server.seen}
    assert sent <= written | {"b:last"}  # never anything but credentials someone saved
