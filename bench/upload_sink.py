"""A stand-in server for client benchmarks, cheap enough never to be the
bottleneck: asyncio streams, keep-alive, every request read whole and
answered at once (``201`` and no body to POSTs, ``[]`` to GETs). It runs in
its own process.

Run: ``python bench/upload_sink.py PORT``.
"""

from __future__ import annotations

import asyncio
import sys

CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
LISTED = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while length > 0:
                length -= len(await reader.read(min(length, 1 << 20)))
            writer.write(LISTED if head.startswith(b"GET") else CREATED)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", port, limit=1 << 20)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
