"""The kubelet's pod sync on hollow nodes: the real planner and executor over the fake runtime,
against a real nats-server and the api actor. What is checked is what a user sees in the pod."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.hollow.fleet import HollowFleet, HollowSettings
from actors.runtime.supervisor import Supervisor
from bus.client import ApiClient
from bus.connection import Bus
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio
NODE = "hk-0"


def pod(name: str, policy: str = "Always", *, inits: list[list[str]] = (), **app: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "nodeName": NODE,
            "restartPolicy": policy,
            "initContainers": [
                {"name": f"init{i}", "image": "busybox", "command": cmd} for i, cmd in enumerate(inits)
            ],
            "containers": [{"name": "app", "image": "busybox", **app}],
        },
    }


@pytest.fixture
async def fleet(bus: Bus, control_plane: object) -> AsyncIterator[HollowFleet]:
    sup = Supervisor("test-hollow-kubelet")
    fleet = HollowFleet(bus, HollowSettings(count=1, prefix="hk-", heartbeat_interval=5))
    fleet.start(sup)
    await fleet.ready(timeout=30)
    try:
        yield fleet
    finally:
        await sup.stop()


async def status_of(api: ApiClient, name: str) -> dict[str, Any]:
    return (await api.get("pods", name, "default")).get("status") or {}


async def test_init_containers_run_in_order_then_the_app(fleet: HollowFleet, api: ApiClient) -> None:
    await api.create("pods", pod("ordered", inits=[["sh", "-c", "sleep 0.2"], ["true"]]))

    async def running() -> dict[str, Any] | None:
        st = await status_of(api, "ordered")
        return st if st.get("phase") == "Running" else None

    st = await wait_for(running, 15, "pod Running after its init containers")
    inits = st["initContainerStatuses"]
    assert [s["state"]["terminated"]["exitCode"] for s in inits] == [0, 0]
    first, second = (s["state"]["terminated"] for s in inits)
    assert first["finishedAt"] <= second["startedAt"]
    conds = {c["type"]: c["status"] for c in st["conditions"]}
    assert conds == {
        "PodScheduled": "True",
        "Initialized": "True",
        "ContainersReady": "True",
        "Ready": "True",
    }


@pytest.mark.parametrize(
    ("policy", "command", "phase", "code"),
    [
        ("Never", ["sh", "-c", "exit 3"], "Failed", 3),
        ("OnFailure", ["sh", "-c", "sleep 0.3"], "Succeeded", 0),
        ("Never", ["true"], "Succeeded", 0),
    ],
)
async def test_containers_that_exit_end_the_pod_by_its_restart_policy(
    fleet: HollowFleet, api: ApiClient, policy: str, command: list[str], phase: str, code: int
) -> None:
    await api.create("pods", pod("ends", policy, command=command))

    async def ended() -> dict[str, Any] | None:
        st = await status_of(api, "ends")
        return st if st.get("phase") == phase else None

    st = await wait_for(ended, 15, f"pod {phase}")
    [cs] = st["containerStatuses"]
    assert cs["state"]["terminated"]["exitCode"] == code and cs["restartCount"] == 0


async def test_a_container_killed_on_command_restarts_then_backs_off(
    fleet: HollowFleet, api: ApiClient
) -> None:
    await api.create("pods", pod("crashy", "Always"))
    node = fleet.nodes[NODE]
    assert node.runtime is not None

    async def running_id(restarts: int) -> str | None:
        st = await status_of(api, "crashy")
        cs = (st.get("containerStatuses") or [{}])[0]
        ok = "running" in (cs.get("state") or {}) and cs.get("restartCount") == restarts
        return str(cs["containerID"]).removeprefix("docker://") if ok else None

    cid = await wait_for(lambda: running_id(0), 15, "the first instance running")
    node.runtime.exit(cid, 2)  # first death: restarted at once
    cid = await wait_for(lambda: running_id(1), 15, "restarted once")
    node.runtime.exit(cid, 2)  # second death: a 10 s back-off

    async def backing_off() -> dict[str, Any] | None:
        st = await status_of(api, "crashy")
        cs = st["containerStatuses"][0]
        return cs if (cs["state"].get("waiting") or {}).get("reason") == "CrashLoopBackOff" else None

    cs = await wait_for(backing_off, 15, "CrashLoopBackOff")
    assert cs["lastState"]["terminated"]["exitCode"] == 2
    assert cs["state"]["waiting"]["message"].startswith("back-off 10s restarting failed container=app")


async def test_a_failing_liveness_probe_restarts_the_container(fleet: HollowFleet, api: ApiClient) -> None:
    probe = {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 1}
    await api.create("pods", pod("sick", "Always", livenessProbe=probe))
    node = fleet.nodes[NODE]
    assert node.runtime is not None

    async def running_id() -> str | None:
        cs = ((await status_of(api, "sick")).get("containerStatuses") or [{}])[0]
        return str(cs["containerID"]).removeprefix("docker://") if "running" in cs.get("state", {}) else None

    cid = await wait_for(running_id, 15, "the container running")
    node.runtime.exec_results[cid] = (1, "cat: can't open '/tmp/healthy': No such file or directory")

    async def restarted() -> dict[str, Any] | None:
        cs = ((await status_of(api, "sick")).get("containerStatuses") or [{}])[0]
        return cs if cs.get("restartCount", 0) >= 1 else None

    cs = await wait_for(restarted, 20, "a restart after the liveness probe failed")
    assert cs["lastState"]["terminated"]["exitCode"] == 137
