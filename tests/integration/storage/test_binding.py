"""PersistentVolumes and claims against a real nats-server: binding, phases, reclaim, protection,
bad input and quota, as a user sees them through the api."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from schemas.errors import Forbidden, Invalid, NotFound
from tests.waiting import wait_for


def pv(name: str, size: str, *, policy: str = "Retain", modes: list[str] | None = None, **spec: Any) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": spec.pop("labels", {})},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": modes or ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": policy,
            "storageClassName": "",
            "hostPath": {"path": f"/tmp/jetkube-test-{name}"},
            **spec,
        },
    }


def pvc(name: str, size: str, *, modes: list[str] | None = None, **spec: Any) -> dict:
    body: dict[str, Any] = {
        "accessModes": modes or ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
        "storageClassName": "",
    }
    body.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": body}


async def phase(api: Any, resource: str, name: str, namespace: str | None = None) -> str | None:
    try:
        obj = await api.get(resource, name, namespace)
    except NotFound:
        return None
    return (obj.get("status") or {}).get("phase")


async def events_of(api: Any, name: str, namespace: str = "default") -> list[dict[str, Any]]:
    items = (await api.list("events", namespace))["items"]
    return [e for e in items if (e.get("involvedObject") or {}).get("name") == name]


async def test_claim_binds_the_smallest_fitting_volume_and_releases_it(cluster: Any) -> None:
    api = cluster
    await api.create("persistentvolumes", pv("small", "1Gi"))
    await api.create("persistentvolumes", pv("big", "10Gi"))
    await api.create("persistentvolumes", pv("mid", "5Gi"))
    await api.create("persistentvolumes", pv("rwx", "3Gi", modes=["ReadWriteMany"]))
    await wait_for(
        lambda: _all_phase(api, ["small", "big", "mid", "rwx"], "Available"), 10, "volumes Available"
    )

    await api.create("persistentvolumeclaims", pvc("data", "2Gi"), namespace="default")
    await wait_for(lambda: _is(api, "persistentvolumeclaims", "data", "Bound", "default"), 10, "claim Bound")
    claim = await api.get("persistentvolumeclaims", "data", "default")
    assert claim["spec"]["volumeName"] == "mid", "the smallest volume that fits, with the mode asked"
    assert claim["status"]["capacity"] == {"storage": "5Gi"}
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    await wait_for(lambda: _is(api, "persistentvolumes", "mid", "Bound"), 10, "volume Bound")
    volume = await api.get("persistentvolumes", "mid")
    assert volume["spec"]["claimRef"]["name"] == "data"
    assert volume["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]

    # a claim that names its volume gets that one, or waits
    await api.create("persistentvolumeclaims", pvc("named", "1Gi", volumeName="big"), namespace="default")
    await wait_for(lambda: _is(api, "persistentvolumeclaims", "named", "Bound", "default"), 10, "named Bound")
    assert (await api.get("persistentvolumeclaims", "named", "default"))["spec"]["volumeName"] == "big"

    # by selector
    await api.create("persistentvolumes", pv("fast", "2Gi", labels={"tier": "fast"}))
    sel = pvc("picky", "1Gi", selector={"matchLabels": {"tier": "fast"}})
    await api.create("persistentvolumeclaims", sel, namespace="default")
    await wait_for(lambda: _is(api, "persistentvolumeclaims", "picky", "Bound", "default"), 10, "picky Bound")
    assert (await api.get("persistentvolumeclaims", "picky", "default"))["spec"]["volumeName"] == "fast"

    # Retain: the claim deleted, the volume is Released and keeps its claimRef
    await api.delete("persistentvolumeclaims", "data", namespace="default")
    await wait_for(lambda: _gone(api, "persistentvolumeclaims", "data", "default"), 10, "claim gone")
    await wait_for(lambda: _is(api, "persistentvolumes", "mid", "Released"), 10, "volume Released")
    # a new claim does not get a Released volume
    await api.create("persistentvolumeclaims", pvc("again", "4Gi"), namespace="default")
    await wait_for(lambda: _has_event(api, "again", "FailedBinding"), 10, "FailedBinding for again")
    assert await phase(api, "persistentvolumeclaims", "again", "default") == "Pending"


async def test_too_large_claim_stays_pending_with_the_reason(cluster: Any) -> None:
    api = cluster
    await api.create("persistentvolumes", pv("one", "1Gi"))
    await api.create("persistentvolumes", pv("two", "2Gi"))
    await api.create("persistentvolumeclaims", pvc("huge", "100Gi"), namespace="default")
    events = await wait_for(lambda: _has_event(api, "huge", "FailedBinding"), 10, "FailedBinding event")
    message = events[0]["message"]
    assert message.startswith("no persistent volumes available for this claim and no storage class is set")
    assert "2 volumes: too small (largest 2Gi, requested 100Gi)" in message
    assert await phase(api, "persistentvolumeclaims", "huge", "default") == "Pending"


async def test_delete_policy_without_a_deleter_fails_the_volume(cluster: Any) -> None:
    api = cluster
    await api.create("persistentvolumes", pv("static", "1Gi", policy="Delete"))
    await api.create("persistentvolumeclaims", pvc("c", "1Gi"), namespace="default")
    await wait_for(lambda: _is(api, "persistentvolumeclaims", "c", "Bound", "default"), 10, "claim Bound")
    await api.delete("persistentvolumeclaims", "c", namespace="default")
    await wait_for(lambda: _is(api, "persistentvolumes", "static", "Failed"), 10, "volume Failed")
    volume = await api.get("persistentvolumes", "static")
    assert "no deletable volume plugin matched" in volume["status"]["message"]


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        (
            pvc("bad", "1Gi", modes=["ReadWriteSometimes"]),
            "spec.accessModes",
            'Unsupported value: "ReadWriteSometimes"',
        ),
        (pvc("bad", "-1Gi"), "spec.resources[storage]", "must be greater than zero"),
        (pvc("bad", "1Gi", storageClassName="nope"), "spec.storageClassName", 'Not found: "nope"'),
    ],
)
async def test_bad_claims_are_refused_and_nothing_is_stored(
    cluster: Any, body: dict[str, Any], field: str, rule: str
) -> None:
    api = cluster
    with pytest.raises(Invalid) as err:
        await api.create("persistentvolumeclaims", body, namespace="default")
    assert f"{field}: " in err.value.message and rule in err.value.message, err.value.message
    with pytest.raises(NotFound):
        await api.get("persistentvolumeclaims", "bad", "default")


async def test_claim_in_use_is_kept_until_its_pods_are_gone(cluster: Any) -> None:
    api = cluster
    await api.create("persistentvolumes", pv("held", "1Gi"))
    await api.create("persistentvolumeclaims", pvc("held", "1Gi"), namespace="default")
    await wait_for(lambda: _is(api, "persistentvolumeclaims", "held", "Bound", "default"), 10, "claim Bound")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "user"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "held"}}],
        },
    }
    await api.create("pods", pod, namespace="default")
    await wait_for(lambda: _is(api, "pods", "user", "Running", "default"), 20, "pod Running")
    await api.delete("persistentvolumeclaims", "held", namespace="default")
    claim = await api.get("persistentvolumeclaims", "held", "default")
    assert claim["metadata"].get("deletionTimestamp"), "Terminating while the pod uses it"
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    await api.delete("pods", "user", namespace="default", grace_period_seconds=0)
    await wait_for(lambda: _gone(api, "persistentvolumeclaims", "held", "default"), 15, "claim removed")
    await wait_for(lambda: _is(api, "persistentvolumes", "held", "Released"), 10, "volume Released")


async def test_quota_on_storage_requests_and_claim_count(cluster: Any) -> None:
    api = cluster
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "disk"},
        "spec": {"hard": {"requests.storage": "3Gi", "persistentvolumeclaims": "2"}},
    }
    await api.create("resourcequotas", quota, namespace="default")
    await api.create("persistentvolumeclaims", pvc("q1", "2Gi"), namespace="default")
    with pytest.raises(Forbidden) as err:
        await api.create("persistentvolumeclaims", pvc("q2", "2Gi"), namespace="default")
    assert (
        "exceeded quota: disk, requested: requests.storage=2Gi, used: requests.storage=2Gi"
        in err.value.message
    )
    await api.create("persistentvolumeclaims", pvc("q3", "1Gi"), namespace="default")
    with pytest.raises(Forbidden) as err:
        await api.create("persistentvolumeclaims", pvc("q4", "1Mi"), namespace="default")
    assert "persistentvolumeclaims=1" in err.value.message


async def _all_phase(api: Any, names: list[str], want: str) -> bool:
    return all([await phase(api, "persistentvolumes", n) == want for n in names])


async def _is(api: Any, resource: str, name: str, want: str, namespace: str | None = None) -> bool:
    return await phase(api, resource, name, namespace) == want


async def _gone(api: Any, resource: str, name: str, namespace: str | None = None) -> bool:
    with contextlib.suppress(NotFound):
        await api.get(resource, name, namespace)
        return False
    return True


async def _has_event(api: Any, name: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in await events_of(api, name) if e.get("reason") == reason]


async def test_up_makes_local_path_the_default_class_once(cluster: Any, store: Any, tmp_path: Any) -> None:
    from actors.storage.localpath import ensure_default_class

    assert await ensure_default_class(store, str(tmp_path)) is True
    assert await ensure_default_class(store, "/elsewhere") is False, "an existing class is kept"
    klass = await cluster.get("storageclasses", "local-path")
    assert klass["provisioner"] == "rancher.io/local-path"
    assert klass["volumeBindingMode"] == "WaitForFirstConsumer" and klass["reclaimPolicy"] == "Delete"
    assert klass["parameters"] == {"nodePath": str(tmp_path)}
    plain = pvc("plain", "1Gi")
    del plain["spec"]["storageClassName"]
    await cluster.create("persistentvolumeclaims", plain, namespace="default")
    claim = await cluster.get("persistentvolumeclaims", "plain", "default")
    assert claim["spec"]["storageClassName"] == "local-path", "the default class"
