"""A control plane on an authenticated nats-server, as ``jetkube up`` runs it: every role of
bus/auth.py has a user, Secrets are encrypted at rest, and tests connect as any of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bus.auth import ADMIN, CONTROLPLANE, HOLLOW, VIEWER, Credentials, authorization_block, node_user
from bus.client import ApiClient
from bus.connection import Bus
from bus.embedded import EmbeddedNats, free_port
from bus.store import Store

NODES = ("n1", "n2", "n2.example")
USERS = (ADMIN, CONTROLPLANE, VIEWER, HOLLOW, "bob", *(node_user(n) for n in NODES))


@dataclass
class SecureCluster:
    server: EmbeddedNats
    creds: Credentials
    key_file: Path
    store: Store  # raw, as the control plane sees the bucket
    actor: object
    buses: list[Bus] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    async def bus_as(self, user: str) -> Bus:
        bus = await Bus.connect(self.url, user=user, password=self.creds.users[user], name=f"test-{user}")
        self.buses.append(bus)
        return bus

    async def client(self, user: str, **kw: object) -> ApiClient:
        return ApiClient(await self.bus_as(user), timeout=5, **kw)  # type: ignore[arg-type]


@pytest.fixture
def secure_server(tmp_path: Path) -> Iterator[tuple[EmbeddedNats, Credentials]]:
    creds = Credentials.load_or_create(tmp_path / "auth.json", *USERS)
    server = EmbeddedNats(
        data_dir=tmp_path / "nats", port=free_port(), extra_config=authorization_block(creds.users)
    )
    server.start()
    try:
        yield server, creds
    finally:
        server.stop()


@pytest.fixture
async def secure(
    secure_server: tuple[EmbeddedNats, Credentials], tmp_path: Path
) -> AsyncIterator[SecureCluster]:
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.runtime.supervisor import Supervisor

    server, creds = secure_server
    bus = await Bus.connect(server.url, user=CONTROLPLANE, password=creds.users[CONTROLPLANE], name="test-cp")
    store = await Store.open(bus)
    sup = Supervisor()
    key_file = tmp_path / "encryption.json"
    settings = ControlPlaneSettings(controllers=("none",), encryption_key_file=str(key_file))
    actor = start_control_plane(sup, bus, store, settings)
    await actor.ready()
    cluster = SecureCluster(server, creds, key_file, store, actor)
    try:
        yield cluster
    finally:
        for b in cluster.buses:
            await b.close()
        await sup.stop()
        await bus.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
