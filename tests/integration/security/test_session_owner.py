"""An interactive exec session's input is taken only from the NATS user that opened it: with auth
on, a chunk on the kubelet's session inbox from anyone else (here the control plane's connection
with another user's inbox) is neither acknowledged nor written to the process."""

from __future__ import annotations

import asyncio
import contextlib

import nats.errors
import pytest

from actors.kubelet.session import SessionSettings, open_session
from actors.kubelet.session_client import open_session as client_session
from actors.kubelet.session_protocol import session_options
from bus.auth import CONTROLPLANE, node_subject
from bus.codec import encode
from bus.connection import Bus
from bus.rpc import Responder
from tests.integration.security.conftest import SecureCluster
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio
NODE = "n1"
SETTINGS = SessionSettings(heartbeat=0.5, ack_timeout=3)


class Sink:
    """An engine session that keeps what it is given and prints nothing until closed."""

    def __init__(self) -> None:
        self.stdin = b""
        self.closed = asyncio.Event()

    async def read(self) -> None:
        await self.closed.wait()

    async def write(self, data: bytes) -> None:
        self.stdin += data

    async def close_stdin(self) -> None:
        pass

    async def resize(self, width: int, height: int) -> None:
        pass

    async def exit_code(self) -> int:
        return 0

    async def close(self) -> None:
        self.closed.set()


async def test_only_the_opener_feeds_a_session(secure: SecureCluster) -> None:
    kubelet_bus = await secure.bus_as("node-n1")
    admin = await secure.bus_as("admin")
    spoof = await Bus.connect(
        secure.url,
        user=CONTROLPLANE,
        password=secure.creds.users[CONTROLPLANE],
        name="spoof",
        inbox_prefix="_INBOX.viewer",
    )
    secure.buses.append(spoof)
    sink = Sink()
    inboxes: list[str] = []
    async with asyncio.TaskGroup() as sessions:

        async def handle(verb: str, payload: dict, msg: object) -> object:
            reply = await open_session(
                kubelet_bus,
                sink,
                session_options(payload, attach=False),
                payload,
                msg,
                NODE,
                sessions,
                SETTINGS,
            )
            inboxes.append(reply["inbox"])
            return reply

        responder = Responder(kubelet_bus, node_subject(NODE, "*"), handle, name="test-kubelet")
        served = asyncio.ensure_future(responder.run())
        try:
            await asyncio.wait_for(responder.serving.wait(), 10)
            request = {"namespace": "default", "pod": "p", "command": ["cat"], "stdin": True}
            async with client_session(admin, NODE, "exec", request, SETTINGS) as session:
                await session.write(b"from the admin\n")

                async def written() -> bool:
                    return sink.stdin == b"from the admin\n"

                await wait_for(written, 10, "the opener's input written")
                # the stranger's chunk is dropped before its number is even looked at
                with pytest.raises(nats.errors.TimeoutError):
                    await spoof.nc.request(inboxes[0], encode({"seq": 2, "stdin": b"injected\n"}), timeout=2)
                await session.write(b"more\n")

                async def more() -> bool:
                    return sink.stdin == b"from the admin\nmore\n"

                await wait_for(more, 10, "the opener's input still taken, the stranger's not")
        finally:
            sink.closed.set()
            served.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await served
