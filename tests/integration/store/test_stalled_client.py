"""The server drops a client that stops answering its pings within seconds (bus/embedded.py's
ping_interval 3 s, ping_max 2), so a frozen api replica leaves its queue group instead of
black-holing requests for minutes. A real nats-server; the client is a raw socket that never
answers a PING, as a paused process would not."""

from __future__ import annotations

import asyncio

from bus.embedded import EmbeddedNats


async def test_a_client_that_stops_answering_pings_is_dropped_in_seconds(nats_server: EmbeddedNats) -> None:
    reader, writer = await asyncio.open_connection(nats_server.host, nats_server.port)
    try:
        assert (await reader.readline()).startswith(b"INFO ")
        writer.write(
            b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB jetkube.api.* jetkube-api 1\r\nPING\r\n'
        )
        await writer.drain()
        assert await reader.readline() == b"PONG\r\n"
        pings = 0
        async with asyncio.timeout(30):  # NATS's default would keep it for minutes (2 min x 2)
            while line := await reader.readline():  # never answered, as from a frozen process
                pings += line == b"PING\r\n"
        assert pings >= 2  # dropped for its unanswered pings, after ~9 s
    finally:
        writer.close()
