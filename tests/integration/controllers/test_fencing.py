"""Fenced controller writes on a real control plane (actors/runtime/fencing.py, actors/api/fencing.py).

A control plane with only the ReplicationController controller runs in this process on a real
nats-server. Its writes carry its lease's token; once the lease is taken over (here: rewritten by
hand as another replica would), a write with the old token is refused and nothing is stored; when
the lease comes back, the controller catches up and acts again.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bus.client import ApiClient
from bus.connection import Bus
from bus.store import Store
from schemas.errors import Conflict, LeaseLost, NotFound
from tests.waiting import wait_for as eventually

LEASE = "replicationcontroller-controller"


def rc(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "fenced", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"app": "fenced"},
            "template": {
                "metadata": {"labels": {"app": "fenced"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }


@pytest.fixture
async def api(bus: Bus, store: Store) -> AsyncIterator[ApiClient]:
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.runtime.supervisor import Supervisor

    sup = Supervisor("fencing-test")
    settings = ControlPlaneSettings(
        retry_period=0.3, lease_duration=3, renew_deadline=2, controllers=("replicationcontroller",)
    )
    start_control_plane(sup, bus, store, settings)
    client = ApiClient(bus)

    async def serving() -> bool:
        try:
            await client.get("namespaces", "default")
            return True
        except Exception:
            return False

    await eventually(serving, 30, "the api")
    try:
        yield client
    finally:
        await sup.stop()


async def rewrite_lease(
    store: Store, *, transitions: int, **spec: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The controller's lease as read, and as rewritten with ``spec`` (compare-and-set, retried
    while the holder's renewals get in between)."""
    for _ in range(50):
        lease = await store.get("leases", "kube-system", LEASE)
        new = copy.deepcopy(lease)
        new["spec"].update(spec, leaseTransitions=lease["spec"]["leaseTransitions"] + transitions)
        try:
            return lease, await store.update("leases", new)
        except Conflict:
            continue
    raise AssertionError("the lease kept changing under 50 compare-and-set attempts")


async def pods(api: ApiClient) -> list[dict[str, Any]]:
    return (await api.list("pods", namespace="default", label_selector="app=fenced"))["items"]


async def test_a_write_under_a_lost_lease_is_refused_and_the_leader_resumes_when_it_returns(
    api: ApiClient, store: Store
) -> None:
    await api.create("replicationcontrollers", rc(2))

    async def count(n: int) -> bool:
        return len(await pods(api)) == n

    await eventually(lambda: count(2), 30, "the fenced controller's two pods")
    # another replica takes the lease over (as it would after this one froze past the lease); the
    # holder renews every retry period, so the compare-and-set is retried on a conflict
    lease, taken = await rewrite_lease(
        store, holderIdentity="usurper", leaseDurationSeconds=3600, transitions=1
    )
    holder = lease["spec"]["holderIdentity"]
    token = {"lease": f"kube-system/{LEASE}", "holder": holder, "epoch": lease["spec"]["leaseTransitions"]}
    stray = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stray", "namespace": "default"}}
    with pytest.raises(LeaseLost, match="held by usurper"):
        await api.call(
            "create", {"resource": "configmaps", "namespace": "default", "body": stray, "fence": token}
        )
    with pytest.raises(NotFound):
        await api.get("configmaps", "stray", namespace="default")

    # the lease is released: the controller takes it back (a new epoch) and acts on the scale-up
    await api.patch("replicationcontrollers", "fenced", {"spec": {"replicas": 3}}, namespace="default")
    released = {**taken, "spec": {**taken["spec"], "holderIdentity": "", "leaseDurationSeconds": 1}}
    await store.update("leases", released)  # nobody renews a lease held by "usurper"
    # the elector retries every few seconds and the new leader first catches its caches up: 60 s
    # under CI's load (it failed once at 30 s with three workers on two cores)
    await eventually(lambda: count(3), 60, "the third pod once the lease is back")
    back = await store.get("leases", "kube-system", LEASE)
    assert back["spec"]["holderIdentity"] == holder
    assert back["spec"]["leaseTransitions"] == lease["spec"]["leaseTransitions"] + 2
