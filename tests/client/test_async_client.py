"""The async client at the HTTP level, against `respx` mocks."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import respx

from cases import BASE, ERROR_CODES, KEY, LISTS, TOURNAMENT, TOURNAMENT_NEWER, error_body
from scoreganizer_client_lib import AsyncScoreganizer, RetryPolicy, Tournament
from scoreganizer_client_lib import exceptions as exc

pytestmark = pytest.mark.anyio
FAST = RetryPolicy(backoff=0.001, max_backoff=0.002, jitter=False)


async def _no_wait(seconds: float) -> None:
    """The fixture's client does not really wait."""


@pytest.fixture
async def sc() -> AsyncScoreganizer:
    async with AsyncScoreganizer(host="api.test", port=8443, retry=FAST, sleep=_no_wait) as client:
        await client.set_auth_str("alice:tok123")
        yield client


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


async def test_login_and_header(mock: respx.MockRouter) -> None:
    login = mock.post("obtain_token").respond(json={"token": "abc"})
    status = mock.get("token_status").respond(json={"status": "ok_stale"})
    async with AsyncScoreganizer(host="api.test", port=8443) as sc:
        assert await sc.login("bob", "pw") == "bob:abc"
        assert login.calls.last.request.content == b"username=bob&password=pw"
        assert await sc.token_status() == "ok_stale"
        assert await sc.token_status_ok()
    assert status.calls.last.request.headers["X-Scoreganizer-Authorization"] == "bob:abc"


async def test_refresh(sc: AsyncScoreganizer, mock: respx.MockRouter) -> None:
    mock.get("token_status").respond(json={"status": "ok_stale"})
    mock.post("refresh_token").respond(json={"token": "new"})
    assert await sc.refresh_login_if_stale() == "alice:new"
    assert await sc.refresh_login() == "alice:new"
    assert sc.auth_str == "alice:new"


@pytest.mark.parametrize("which", LISTS)
async def test_lists(sc: AsyncScoreganizer, mock: respx.MockRouter, which: str) -> None:
    mock.get(f"tournaments/{which}").respond(json=[TOURNAMENT, TOURNAMENT_NEWER])
    first, newer = await getattr(sc.tournaments, which)()
    assert first == Tournament.deserialize(TOURNAMENT)
    assert first.start == datetime(2024, 5, 20, 13, 37, tzinfo=timezone.utc)
    assert newer.extra == {"prize": "fame"}


@pytest.mark.parametrize("method", ["participate", "player_confirm"])
async def test_participation(sc: AsyncScoreganizer, mock: respx.MockRouter, method: str) -> None:
    route = mock.post(f"tournaments/{method}/35").respond(200)
    assert await getattr(sc.tournament, method)(Tournament.deserialize(TOURNAMENT)) is None
    assert route.called


async def test_keys(sc: AsyncScoreganizer, mock: respx.MockRouter) -> None:
    mock.post("tournaments/gen_key/35").mock(
        side_effect=[
            httpx.Response(403, json={"error": "too_early", "wait": 0.02}),
            httpx.Response(201, json={"key": KEY, "key_expiry": "2024-05-20T14:37:00"}),
            httpx.Response(403, json={"error": "key_exists"}),
        ]
    )
    mock.get("tournaments/get_key/35").respond(json={"key": KEY, "key_expiry": None})
    key, expiry = await sc.tournaments.wait_key(35, with_expiry=True)
    assert key == KEY and expiry == datetime(2024, 5, 20, 14, 37, tzinfo=timezone.utc)
    assert await sc.tournaments.wait_key("35") == KEY
    assert await sc.tournaments.get_key(35, with_expiry=True) == (KEY, None)


async def test_get_one_tournament(sc: AsyncScoreganizer, mock: respx.MockRouter) -> None:
    active = mock.get("tournaments/active").respond(json=[TOURNAMENT])
    every = mock.get("tournaments/all").respond(json=[TOURNAMENT, TOURNAMENT_NEWER])
    assert await sc.tournaments.get(35) == Tournament.deserialize(TOURNAMENT)
    assert not every.called
    assert (await sc.tournaments.get("36")).extra == {"prize": "fame"}
    with pytest.raises(exc.TournamentNotFound):
        await sc.tournaments.get(99)
    assert active.call_count == 3 and every.call_count == 2


async def test_wait_key_counts_down_with_the_injected_sleep(mock: respx.MockRouter) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    mock.post("tournaments/gen_key/35").mock(
        side_effect=[
            httpx.Response(403, json={"error": "too_early", "wait": 2.5}),
            httpx.Response(201, json={"key": KEY, "key_expiry": None}),
        ]
    )
    heard: list[float] = []
    async with AsyncScoreganizer(host="api.test", port=8443, sleep=sleep) as sc:
        key = await sc.tournaments.wait_key(
            35, on_wait=lambda left: heard.append(left.total_seconds())
        )
    assert key == KEY
    assert len(slept) == len(heard) == 3 and sum(slept) == pytest.approx(heard[0])
    assert all(s <= 1.0 for s in slept)


async def test_logout_removes_the_credentials_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.txt"
    path.write_text("ann:tok")
    async with AsyncScoreganizer(auth_filename=path) as sc:
        assert sc.username == "ann"
        await sc.logout()
        assert sc.auth_str is None
    assert not path.exists()


@pytest.mark.parametrize(("code", "wait", "cls"), ERROR_CODES)
async def test_error_codes(
    sc: AsyncScoreganizer, mock: respx.MockRouter, code: str, wait: object, cls: type
) -> None:
    mock.post("tournaments/gen_key/35").respond(403, json=error_body(code, wait))
    with pytest.raises(exc.ScoreganizerError) as info:
        await sc.tournaments.gen_key(35)
    assert type(info.value) is cls and info.value.error == code


async def test_upload_retry_and_mime(
    sc: AsyncScoreganizer, mock: respx.MockRouter, tmp_path: Path
) -> None:
    route = mock.post("scores/upload").mock(
        side_effect=[
            httpx.Response(403, json={"error": "retry"}),
            httpx.Response(201),
            httpx.Response(201),
        ]
    )
    await sc.scores.upload_file(io.BytesIO(b"EVFBYTES"), "dir/x.evf")
    assert route.call_count == 2
    for call in route.calls:
        assert b"EVFBYTES" in call.request.content
        assert b"application/x-metasweeper" in call.request.content
    replay = tmp_path / "y.avf"
    replay.write_bytes(b"AVF")
    await sc.scores.upload_filename(replay)
    assert b"application/x-minesweeper-arbiter" in route.calls.last.request.content


async def test_upload_invalid_data_final(sc: AsyncScoreganizer, mock: respx.MockRouter) -> None:
    route = mock.post("scores/upload").respond(403, json={"error": "invalid_data"})
    with pytest.raises(exc.ScoreganizerInvalidData):
        await sc.scores.upload_file(io.BytesIO(b"x"), "x.rmv")
    assert route.call_count == 1


async def test_network_errors_are_network_exception(
    sc: AsyncScoreganizer, mock: respx.MockRouter
) -> None:
    route = mock.get("tournaments/all").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(exc.NetworkException) as info:
        await sc.tournaments.all()
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert route.call_count == FAST.attempts  # connection failures are retried
    mock.get("tournaments/active").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(exc.NetworkException):
        await sc.tournaments.active()


async def test_5xx_then_success(sc: AsyncScoreganizer, mock: respx.MockRouter) -> None:
    route = mock.get("tournaments/all").mock(
        side_effect=[httpx.Response(504), httpx.Response(200, json=[])]
    )
    assert await sc.tournaments.all() == []
    assert route.call_count == 2


async def test_replays_are_read_and_checked_off_the_loop(
    sc: AsyncScoreganizer, mock: respx.MockRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from scoreganizer_client_lib import _api_async
    from scoreganizer_client_lib.replays.testing import write_rmv

    path = tmp_path / "g.rmv"
    path.write_bytes(write_rmv(key=KEY))
    threads: list[threading.Thread] = []
    real = _api_async.prepare_replay

    def prepare(*args: object) -> object:
        threads.append(threading.current_thread())
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_api_async, "prepare_replay", prepare)
    mock.post("scores/upload").respond(201)
    info = await sc.scores.upload_replay(path, 35)
    assert info is not None and str(info.key) == KEY
    assert threads and threads[0] is not threading.main_thread()


async def test_large_answers_are_parsed_off_the_loop(
    sc: AsyncScoreganizer, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from scoreganizer_client_lib import tournament

    threads: list[threading.Thread] = []
    real = tournament.Tournament.deserialize_many.__func__  # type: ignore[attr-defined]

    def deserialize_many(cls: type, data: list[dict[str, object]]) -> object:
        threads.append(threading.current_thread())
        return real(cls, data)

    monkeypatch.setattr(tournament.Tournament, "deserialize_many", classmethod(deserialize_many))
    mock.get("tournaments/all").respond(json=[TOURNAMENT] * 3000)  # about 800 KB
    mock.get("tournaments/active").respond(json=[TOURNAMENT])
    assert len(await sc.tournaments.all()) == 3000
    assert len(await sc.tournaments.active()) == 1
    big, small = threads
    assert big is not threading.main_thread() and small is threading.main_thread()


async def test_a_wait_can_be_awaited() -> None:
    import asyncio
    from datetime import timedelta

    wait = exc.ScoreganizerTooEarly("too_early", timedelta(seconds=0.01))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.ensure_future(ticker())
    await wait.do_wait_async()
    task.cancel()
    assert ticks > 1  # the loop kept running while waiting


@pytest.mark.parametrize("body", [b"", b"OK", b"<html>done</html>"])
async def test_any_2xx_is_success_where_031_did_not_read_the_body(
    sc: AsyncScoreganizer, mock: respx.MockRouter, body: bytes
) -> None:
    mock.post("tournaments/participate/35").respond(200, content=body)
    mock.post("tournaments/player_confirm/35").respond(200, content=body)
    mock.post("scores/upload").respond(201, content=body)
    assert await sc.tournaments.participate(35) is None
    assert await sc.tournaments.player_confirm(35) is None
    assert await sc.scores.upload_file(io.BytesIO(b"RMV"), "g.rmv") is None


async def test_location_null_and_date_only(sc: AsyncScoreganizer, mock: respx.MockRouter) -> None:
    mock.get("tournaments/all").respond(
        json=[{**TOURNAMENT, "location": None, "start": "2024-05-20", "end": "2024-05-21"}]
    )
    (t,) = await sc.tournaments.all()
    assert t.location is None
    assert t.start == datetime(2024, 5, 20, tzinfo=timezone.utc)


async def test_refresh_before_login_is_a_clear_error(mock: respx.MockRouter) -> None:
    route = mock.post("refresh_token").respond(json={"token": "new"})
    async with AsyncScoreganizer(host="api.test", port=8443) as sc:
        with pytest.raises(exc.ScoreganizerNotLoggedIn, match="log in first"):
            await sc.refresh_login()
    assert not route.called


async def test_non_ascii_user_header_is_utf8(mock: respx.MockRouter) -> None:
    route = mock.get("token_status").respond(json={"status": "ok"})
    async with AsyncScoreganizer(host="api.test", port=8443) as sc:
        await sc.set_auth_str("jürgen:tok")
        assert await sc.token_status_ok()
    sent = [
        value
        for name, value in route.calls.last.request.headers.raw
        if name.lower() == b"x-scoreganizer-authorization"
    ]
    assert sent == ["jürgen:tok".encode()]
