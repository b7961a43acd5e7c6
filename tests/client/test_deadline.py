"""Both clients against a local server that drips its answer, holds a connection
or never ends its headers: every call ends by its deadline, and leaves nothing behind."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from misbehaving_server import (
    CLIENTS,
    DIGEST_PASSWORD,
    DIGEST_USER,
    Script,
    all_tournaments,
    call,
)
from scoreganizer_client_lib import AsyncScoreganizer, RetryPolicy, Scoreganizer
from scoreganizer_client_lib.exceptions import (
    NetworkException,
    ScoreganizerProtocolError,
)
from scoreganizer_client_lib.replays.testing import write_rmv

# -- a deadline that holds ---------------------------------------------------------------

#: The timeout against a server that drips its answer a byte every 0.05 s: a
#: read timeout that such a byte never trips, were the server's thread kept
#: waiting close to a second on a loaded machine (0.3 s was all it had).
DRIPPED = (0.2, 1.0)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("action", ["drip-headers", "drip-body", "drip-digest"])
def test_a_dripping_server_cannot_hold_the_client(
    server: tuple[Script, int], kind: str, action: str
) -> None:
    script, port = server
    script.actions = [action]
    digest = {"digest_auth_username": DIGEST_USER, "digest_auth_password": DIGEST_PASSWORD}
    # a byte every 0.05 s never trips the read timeout, even on a loaded machine
    # where the server's thread waits its turn; the deadline (1.2 s) does
    with pytest.raises(NetworkException) as info:
        call(kind, port, all_tournaments, timeout=DRIPPED, **digest)
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
            timeout=DRIPPED if dripping else 10.0,  # the others: however loaded the machine
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
            time.sleep(sum(timeout) + 0.1)  # past the first attempt's deadline

    monkeypatch.setattr(requests.Response, "close", close_then_dawdle)
    timeout = (0.5, 1.0)  # the whole answer within 1.5 s, however loaded the machine
    with Scoreganizer(host="127.0.0.1", port=port, https=False, timeout=timeout) as sc:
        assert sc.tournaments.all() == []  # a whole answer, in time
        assert sc.tournaments.all() == []
    assert len(script.seen) == 2 and len(set(script.peers)) == 1  # one connection


@pytest.mark.parametrize("kind", CLIENTS)
def test_the_replay_sent_is_the_replay_checked(
    server: tuple[Script, int], kind: str, tmp_path: Any, opened: list[str]
) -> None:
    """A game may save over its replay at any moment: the file is read once,
    and those bytes are checked and sent."""
    script, port = server
    script.actions = ["created"]
    replay = tmp_path / "g.rmv"
    original = write_rmv(key="1_2_" + "a" * 32)
    replay.write_bytes(original)
    opened.clear()
    call(kind, port, lambda sc: sc.scores.upload_replay(replay, 2))
    assert opened.count(str(replay)) == 1
    ((_, _, body),) = script.seen
    assert original in body


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
