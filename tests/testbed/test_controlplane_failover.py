"""The leading control plane killed: the other takes over through its leases.

Three RCs run; the control plane holding the replication controller's lease is killed (SIGKILL,
no lease released). While it is down, one RC is scaled up and a pod of another is deleted: only a
new leader can act on that. Every lease the dead one held passes to the survivor within the lease
time (6 s on the bed) plus a margin, every RC reaches its replica count again, and once converged
no RC has more pods than replicas, for a while. The scale acknowledged during the failover is
kept. The killed control plane is started again at the end and rejoins as a follower.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bus.client import ApiClient
from cli.testbed import CONTROLPLANES, Testbed, docker
from tests.testbed.helpers import bed_api, hold, pods, poll, wait_bed_whole

pytestmark = [pytest.mark.testbed, pytest.mark.docker]

NAMESPACE = "testbed-failover"
RCS = {"fo-a": 2, "fo-b": 3, "fo-c": 1}
LEASE_NAMESPACE = "kube-system"


def rc(name: str, replicas: int) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": labels,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}],
                },
            },
        },
    }


async def holders(api: ApiClient) -> dict[str, str]:
    res = await api.list("leases", namespace=LEASE_NAMESPACE)
    return {le["metadata"]["name"]: (le.get("spec") or {}).get("holderIdentity", "") for le in res["items"]}


async def counts(api: ApiClient) -> dict[str, int]:
    return {name: len(await pods(api, NAMESPACE, {"app": name})) for name in RCS}


@pytest.mark.timeout(240)
async def test_leader_killed_other_takes_over(testbed: Testbed) -> None:
    want = dict(RCS)
    async with bed_api() as api:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        await api.create("namespaces", ns)
        for name, n in RCS.items():
            await api.create("replicationcontrollers", rc(name, n), namespace=NAMESPACE)

        async def converged() -> bool:
            return await counts(api) == want

        await poll(converged, 60, f"RCs at {want}")

        leases = await holders(api)
        leader = leases["replicationcontroller-controller"]
        assert leader in CONTROLPLANES
        survivor = next(c for c in CONTROLPLANES if c != leader)
        held = sorted(name for name, who in leases.items() if who == leader)
        victim_id = testbed.container_id(leader)

        await asyncio.to_thread(docker, "kill", victim_id)
        t_kill = time.monotonic()

        # work only a live leader can do: scale one RC up, delete a pod of another
        scale = {"spec": {"replicas": 4}}
        scaled = await api.patch("replicationcontrollers", "fo-a", scale, namespace=NAMESPACE)
        assert scaled["spec"]["replicas"] == 4
        want["fo-a"] = 4
        victim_pod = (await pods(api, NAMESPACE, {"app": "fo-b"}))[0]["metadata"]["name"]
        await api.delete("pods", victim_pod, namespace=NAMESPACE, grace_period_seconds=0)

        async def taken_over() -> bool:
            now = await holders(api)
            return all(now.get(name) == survivor for name in held)

        await poll(taken_over, 30, f"{survivor} holding {held}")
        takeover = time.monotonic() - t_kill
        await poll(converged, 60, f"RCs back at {want} under {survivor}")
        converge = time.monotonic() - t_kill

        async def never_over() -> bool:
            c = await counts(api)
            return all(c[name] <= want[name] for name in want)

        await hold(never_over, 5, "no RC has more pods than replicas")
        assert await counts(api) == want
        # the scale acknowledged while the leader was dead was kept
        got = await api.get("replicationcontrollers", "fo-a", namespace=NAMESPACE)
        assert got["spec"]["replicas"] == 4
        print(f"\nleases passed {leader} -> {survivor} in {takeover:.1f}s, RCs converged in {converge:.1f}s")

        # the old leader comes back as a follower, and nothing changes hands or overshoots
        await asyncio.to_thread(docker, "start", victim_id)
        await hold(never_over, 5, "no RC over replicas with both control planes up")
        await api.delete("namespaces", NAMESPACE)
    await wait_bed_whole(testbed)
