"""The API's uvicorn protocol: request bodies reach the app in large pieces, uncopied."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from photostore.api.http_protocol import BODY_HIGH_WATER_BYTES, BodyChunks, HttpProtocol


def test_body_chunks_keep_pieces_and_join_only_when_read() -> None:
    body = BodyChunks()
    piece = b"x" * 1000
    body += piece
    assert len(body) == 1000
    assert bytes(body) is piece  # one piece: handed over as it came
    body += b"yz"
    assert len(body) == 1002
    assert bytes(body) == piece + b"yz"


@contextlib.asynccontextmanager
async def serving(app: Any, http: Any) -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=http, loop="asyncio", log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn has a flag, no event
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


async def pieces_received(http: Any, body: bytes) -> tuple[list[int], bytes, bytes]:
    """The sizes of the body pieces a slow app receives, the body and the response."""
    sizes: list[int] = []
    received = bytearray()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        more = True
        while more:
            message = await receive()
            sizes.append(len(message["body"]))
            received.extend(message["body"])
            more = message.get("more_body", False)
            await asyncio.sleep(0.02)  # busy with the piece: the next ones arrive meanwhile
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async with serving(app, http) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        response = await reader.readuntil(b"ok")
        writer.close()
    return sizes, bytes(received), response


@pytest.mark.timeout(60)
def test_a_slow_app_receives_the_body_whole_in_pieces_up_to_the_high_water_mark() -> None:
    body = bytes(range(256)) * (8 * 4096)  # 8 MiB
    sizes, received, response = asyncio.run(pieces_received(HttpProtocol, body))
    assert response.startswith(b"HTTP/1.1 200")
    assert received == body
    # uvicorn's own protocol stops reading at 64 KiB, so its pieces stay under ~320 KiB.
    assert max(sizes) > 512 * 1024
    assert max(sizes) <= BODY_HIGH_WATER_BYTES + 1024 * 1024
