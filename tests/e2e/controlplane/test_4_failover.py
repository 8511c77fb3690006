"""Two control planes on one NATS: the leader is killed, the other takes over and an RC still converges.

Last of the package: it kills the first control plane; the second serves from then on.

The cluster is the package's (conftest.py), shared by the modules, which run in their numbered order.
"""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.controlplane.cluster import Cluster
from tests.e2e.controlplane.helpers import (
    rc,
    wait,
    wait_running,
)


async def _true(value: bool) -> bool:
    return value


async def test_leader_killed_the_other_control_plane_takes_over(cluster: Cluster, capi: Any, ns: str) -> None:
    cluster.start_controlplane("cp-b")

    async def holders() -> dict[str, str]:  # the controllers' leases (kube-node-lease has the nodes')
        return {
            lease["metadata"]["name"]: lease["spec"].get("holderIdentity") or ""
            for lease in (await capi.list("leases", "kube-system"))["items"]
        }

    leases = await holders()
    assert leases and set(leases.values()) == {"cp-a"}, leases
    await wait(lambda: _true(cluster.api_responders() == 2), 30, "cp-b's api to serve beside cp-a's")
    cluster.kill_controlplane("cp-a")
    started = time.monotonic()

    async def taken_over() -> bool:
        now = await holders()
        return set(now.values()) == {"cp-b"} and set(now) >= set(leases)

    await wait(taken_over, 30, "cp-b to hold every lease")
    takeover = time.monotonic() - started
    await capi.create("replicationcontrollers", rc("after", 2), namespace=ns)
    await wait_running(capi, ns, "after", 2)
    assert takeover < 15, f"took {takeover:.1f} s"
