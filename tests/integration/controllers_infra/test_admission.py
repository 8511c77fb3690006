"""Admission through the api actor: ClusterIP/NodePort claims, ResourceQuota, LimitRange, and the
quota controller keeping status.used current."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.admission.hooks import Admission
from actors.admission.quota_controller import ResourceQuotaController
from actors.runtime.supervisor import Supervisor
from schemas.errors import Forbidden, Invalid, NotFound
from tests.integration.controllers_infra.helpers import eventually, gone, running


async def wire(actor: Any, store: Any) -> tuple[Admission, Supervisor]:
    sup = Supervisor()
    admission = Admission(store)
    admission.start(sup)
    await admission.ready(10)
    actor.api.create_hooks.append(admission.admit_create)
    actor.api.update_hooks.append(admission.admit_update)
    actor.api.delete_hooks.append(admission.after_delete)
    return admission, sup


@pytest.fixture
async def admitted(control_plane: Any, store: Any, api: Any) -> AsyncIterator[Any]:
    _admission, sup = await wire(control_plane, store)
    try:
        yield api
    finally:
        await sup.stop()


def service(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("ports", [{"port": 80, "targetPort": 8080}])
    spec.setdefault("selector", {"app": name})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


async def test_cluster_ip_allocation_and_release(admitted: Any, store: Any) -> None:
    api = admitted
    svc = await api.create("services", service("a"))
    ip = svc["spec"]["clusterIP"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12")
    assert (await store.get("ipallocations", None, ip))["spec"] == {"namespace": "default", "name": "a"}

    with pytest.raises(Invalid) as info:
        await api.create("services", service("b", clusterIP=ip))
    assert (
        str(info.value.causes[0])
        == f'spec.clusterIP: Invalid value: "{ip}": provided IP is already allocated'
    )

    headless = await api.create("services", service("h", clusterIP="None"))
    assert headless["spec"]["clusterIP"] == "None"

    await api.delete("services", "a", namespace="default")
    with pytest.raises(NotFound):
        await store.get("ipallocations", None, ip)
    again = await api.create("services", service("b", clusterIP=ip))
    assert again["spec"]["clusterIP"] == ip


async def test_node_port_allocation(admitted: Any) -> None:
    api = admitted
    svc = await api.create("services", service("np", type="NodePort"))
    port = svc["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    with pytest.raises(Invalid) as info:
        await api.create("services", service("np2", type="NodePort", ports=[{"port": 80, "nodePort": port}]))
    assert str(info.value.causes[0]) == (
        f"spec.ports[0].nodePort: Invalid value: {port}: provided port is already allocated"
    )


async def test_concurrent_creates_never_share_an_ip(admitted: Any) -> None:
    api = admitted
    created = await asyncio.gather(*(api.create("services", service(f"s{i}")) for i in range(20)))
    ips = [s["spec"]["clusterIP"] for s in created]
    assert len(set(ips)) == 20


async def test_two_replicas_race_for_one_requested_ip(control_plane: Any, store: Any) -> None:
    one, two = Admission(store), Admission(store)  # two api replicas, their mirrors not even started
    results = await asyncio.gather(
        one.admit_create("services", service("x", clusterIP="10.96.0.50"), None),
        two.admit_create("services", service("y", clusterIP="10.96.0.50"), None),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Invalid", "dict"]


QUOTA = {
    "apiVersion": "v1",
    "kind": "ResourceQuota",
    "metadata": {"name": "compute-quota", "namespace": "default"},
    "spec": {"hard": {"requests.cpu": "2", "pods": "3"}},
}


def cpu_pod(name: str, cpu: str | None) -> dict[str, Any]:
    resources = {"requests": {"cpu": cpu}} if cpu else {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "resources": resources}]},
    }


async def test_quota_enforced_and_status_kept_current(admitted: Any) -> None:
    api = admitted
    async with running(api, ResourceQuotaController):
        await api.create("resourcequotas", QUOTA)

        async def used(expected: dict[str, str]) -> bool:
            q = await api.get("resourcequotas", "compute-quota", namespace="default")
            return (q.get("status") or {}).get("used") == expected

        await eventually(lambda: used({"requests.cpu": "0", "pods": "0"}))
        await api.create("pods", cpu_pod("one", "1"))
        await eventually(lambda: used({"requests.cpu": "1", "pods": "1"}))
        with pytest.raises(Forbidden) as info:
            await api.create("pods", cpu_pod("two", "2"))
        assert info.value.message == (
            'pods "two" is forbidden: exceeded quota: compute-quota, requested: requests.cpu=2, '
            "used: requests.cpu=1, limited: requests.cpu=2"
        )
        with pytest.raises(Forbidden) as info:
            await api.create("pods", cpu_pod("bare", None))
        assert info.value.message == (
            'pods "bare" is forbidden: failed quota: compute-quota: must specify requests.cpu'
        )
        await api.delete("pods", "one", namespace="default")
        await eventually(lambda: gone(api, "pods", "one", "default"))
        await eventually(lambda: used({"requests.cpu": "0", "pods": "0"}))
        await api.create("pods", cpu_pod("two", "2"))


async def test_limit_range_defaults(admitted: Any) -> None:
    api = admitted
    await api.create(
        "limitranges",
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "limits", "namespace": "default"},
            "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}, "max": {"cpu": "1"}}]},
        },
    )

    want = {"limits": {"cpu": "500m"}, "requests": {"cpu": "500m"}}

    async def defaulted() -> bool:  # a dry run: an attempt before admission saw the range stores nothing
        pod = await api.create("pods", cpu_pod("d", None), dry_run=True)
        return pod["spec"]["containers"][0]["resources"] == want

    await eventually(defaulted, timeout=5)
    pod = await api.create("pods", cpu_pod("d", None))
    assert pod["spec"]["containers"][0]["resources"] == want
    with pytest.raises(Forbidden, match="maximum cpu usage per Container is 1, but limit is 2"):
        pod = cpu_pod("big", None)
        pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2"}}
        await api.create("pods", pod)
