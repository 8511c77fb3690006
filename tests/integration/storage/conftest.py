"""A control plane in this process (api with admission, scheduler, the PersistentVolume and
StatefulSet controllers, quota) on a real nats-server, with two hollow nodes that run pods."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bus.client import ApiClient
from bus.connection import Bus
from bus.embedded import free_port
from bus.store import Store
from tests.waiting import wait_for


@pytest.fixture
async def cluster(bus: Bus, store: Store) -> AsyncIterator[ApiClient]:
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.hollow.fleet import HollowFleet, HollowSettings
    from actors.runtime.supervisor import Supervisor

    sup = Supervisor("storage-test")
    settings = ControlPlaneSettings(
        retry_period=0.5,
        lease_duration=3,
        renew_deadline=2,
        controllers=(
            "scheduler",
            "persistentvolume",
            "statefulset",
            "resourcequota",
            "garbagecollector",
            "endpoints",
        ),
    )
    start_control_plane(sup, bus, store, settings)
    api = ApiClient(bus)

    async def serving() -> bool:
        try:
            await api.get("namespaces", "default")
            return True
        except Exception:
            return False

    await wait_for(serving, 30, "the api")
    fleet = HollowFleet(bus, HollowSettings(count=2, prefix=f"st-{free_port()}-"))
    fleet.start(sup)
    await fleet.ready(timeout=30)
    try:
        yield api
    finally:
        await sup.stop()
