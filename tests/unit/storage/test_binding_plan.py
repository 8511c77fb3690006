"""The PersistentVolume controller's decisions as tables: state in, actions out."""

from __future__ import annotations

from typing import Any

import pytest

from actors.storage.binding import find_volume, plan_claim, plan_volume
from actors.storage.localpath import PROVISIONER, cleanup_pod, default_class, provisioned_volume, volume_node


def pv(name: str, size: str = "1Gi", **kw: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "capacity": {"storage": size},
        "accessModes": kw.pop("modes", ["ReadWriteOnce"]),
        "persistentVolumeReclaimPolicy": kw.pop("policy", "Retain"),
        "hostPath": {"path": f"/d/{name}"},
    }
    if "klass" in kw:
        spec["storageClassName"] = kw.pop("klass")
    if "ref" in kw:
        spec["claimRef"] = kw.pop("ref")
    meta: dict[str, Any] = {"name": name, "labels": kw.pop("labels", {})}
    if "annotations" in kw:
        meta["annotations"] = kw.pop("annotations")
    return {"metadata": meta, "spec": spec, "status": {"phase": kw.pop("phase", "Available")}}


def pvc(name: str = "c", size: str = "1Gi", **kw: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": kw.pop("modes", ["ReadWriteOnce"]),
        "resources": {"requests": {"storage": size}},
    }
    for key in ("storageClassName", "volumeName", "selector"):
        if key in kw:
            spec[key] = kw.pop(key)
    meta = {
        "name": name,
        "namespace": "ns",
        "uid": kw.pop("uid", "u1"),
        "annotations": kw.pop("annotations", {}),
    }
    return {"metadata": meta, "spec": spec, "status": {"phase": kw.pop("phase", "Pending")}}


REF = {"namespace": "ns", "name": "c", "uid": "u1"}


@pytest.mark.parametrize(
    ("claim", "volumes", "chosen", "why"),
    [
        (pvc(size="2Gi"), [pv("a", "1Gi"), pv("b", "5Gi"), pv("c", "3Gi")], "c", ""),
        (pvc(size="1Gi"), [pv("b", "1Gi"), pv("a", "1Gi")], "a", ""),  # ties by name
        (pvc(modes=["ReadWriteMany"]), [pv("a"), pv("b", modes=["ReadWriteMany", "ReadOnlyMany"])], "b", ""),
        (pvc(storageClassName="fast"), [pv("a"), pv("b", klass="fast")], "b", ""),
        (pvc(), [pv("a", klass="fast")], None, "1 volume: storage class differs"),
        (pvc(selector={"matchLabels": {"t": "x"}}), [pv("a"), pv("b", labels={"t": "x"})], "b", ""),
        (pvc(volumeName="a"), [pv("a", "10Gi"), pv("b")], "a", ""),
        (pvc(volumeName="zz"), [pv("a")], None, 'volume "zz" not found'),
        (pvc(), [pv("a", ref={"namespace": "ns", "name": "other", "uid": "u9"})], None, ""),
        (pvc(), [pv("z", ref=REF), pv("a")], "z", ""),  # pre-bound to this claim wins
        (pvc(), [pv("a", phase="Released")], None, ""),
        (
            pvc(size="8Gi"),
            [pv("a", "1Gi"), pv("b", "2Gi"), pv("c", modes=["ReadOnlyMany"])],
            None,
            "1 volume: access modes lack ReadWriteOnce; 2 volumes: too small (largest 2Gi, requested 8Gi)",
        ),
    ],
)
def test_find_volume(claim: dict, volumes: list[dict], chosen: str | None, why: str) -> None:
    vol, reason = find_volume(claim, volumes)
    assert (vol["metadata"]["name"] if vol else None, reason) == (chosen, why)


LOCAL = {**default_class(), "metadata": {"name": "local-path"}}
IMMEDIATE = {"metadata": {"name": "fast"}, "provisioner": "example.com/x", "volumeBindingMode": "Immediate"}


@pytest.mark.parametrize(
    ("claim", "volumes", "expect"),
    [
        # an unbound claim and a fitting volume: claimRef first, then the claim
        (pvc(), [pv("a")], {"bind_volume": "a", "volume_name": "a", "phase": "Bound"}),
        # a volume already pre-bound with our uid: only the claim is written
        (pvc(), [pv("a", ref=REF)], {"bind_volume": None, "volume_name": "a", "phase": "Bound"}),
        # bound and its volume agrees: nothing
        (pvc(volumeName="a", phase="Bound"), [pv("a", ref=REF, phase="Bound")], {"phase": None}),
        # bound but the volume is gone: Lost
        (pvc(volumeName="a", phase="Bound"), [], {"phase": "Lost", "event": "ClaimLost"}),
        # no volume, no class: Pending with FailedBinding
        (pvc(size="9Gi"), [pv("a")], {"phase": None, "event": "FailedBinding"}),
        # WaitForFirstConsumer without a node yet: wait
        (pvc(storageClassName="local-path"), [], {"provision": False, "event": "WaitForFirstConsumer"}),
        # the scheduler chose a node: provision there
        (
            pvc(storageClassName="local-path", annotations={"volume.kubernetes.io/selected-node": "n1"}),
            [],
            {"provision": True, "node": "n1"},
        ),
        # a class whose provisioner this controller does not run
        (pvc(storageClassName="fast"), [], {"provision": False, "event": "ExternalProvisioning"}),
        # being deleted: nothing (protection is elsewhere)
        (
            {**pvc(), "metadata": {**pvc()["metadata"], "deletionTimestamp": "t"}},
            [pv("a")],
            {"bind_volume": None},
        ),
    ],
)
def test_plan_claim(claim: dict, volumes: list[dict], expect: dict[str, Any]) -> None:
    out = plan_claim(claim, volumes, [LOCAL, IMMEDIATE], {PROVISIONER})
    got = {
        "bind_volume": out.bind_volume,
        "volume_name": out.volume_name,
        "phase": (out.claim_status or {}).get("phase"),
        "event": out.event[1] if out.event else None,
        "provision": out.provision,
        "node": out.selected_node,
    }
    assert {k: got[k] for k in expect} == expect


PROVISIONED = {"pv.kubernetes.io/provisioned-by": PROVISIONER}


@pytest.mark.parametrize(
    ("volume", "claims", "phase", "delete", "finalizer"),
    [
        (pv("a", phase="Pending"), [], "Available", False, None),
        (pv("a", ref=REF, phase="Available"), [pvc(volumeName="a", phase="Bound")], "Bound", False, None),
        (pv("a", ref={"namespace": "ns", "name": "c"}), [], None, False, None),  # pre-bound, claim to come
        (pv("a", ref=REF, phase="Bound"), [], "Released", False, None),  # Retain
        (pv("a", ref=REF, phase="Bound"), [pvc(uid="new")], "Released", False, None),  # same name, new claim
        (
            pv("a", ref=REF, phase="Bound", policy="Delete", annotations=PROVISIONED),
            [],
            "Released",
            True,
            None,
        ),
        (pv("a", ref=REF, phase="Bound", policy="Delete"), [], "Failed", False, None),  # no deleter
        (pv("a", ref=REF, phase="Bound", policy="Recycle"), [], "Failed", False, None),
        (
            {
                **pv("a", phase="Released"),
                "metadata": {
                    "name": "a",
                    "deletionTimestamp": "t",
                    "finalizers": ["kubernetes.io/pv-protection"],
                },
            },
            [],
            None,
            False,
            "kubernetes.io/pv-protection",
        ),
    ],
)
def test_plan_volume(
    volume: dict, claims: list[dict], phase: str | None, delete: bool, finalizer: str | None
) -> None:
    out = plan_volume(volume, claims, {PROVISIONER})
    assert ((out.status or {}).get("phase"), out.delete, out.remove_finalizer) == (phase, delete, finalizer)


def test_local_path_volume_and_its_cleanup_pod() -> None:
    klass = {**default_class(), "parameters": {"nodePath": "/srv/lp/"}}
    claim = pvc("data", "2Gi", uid="abc", storageClassName="local-path")
    volume = provisioned_volume(claim, klass, "node-1")
    assert volume["metadata"]["name"] == "pvc-abc"
    assert volume["spec"]["hostPath"] == {"path": "/srv/lp/pvc-abc_ns_data", "type": "DirectoryOrCreate"}
    assert volume["spec"]["capacity"] == {"storage": "2Gi"}
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert volume["spec"]["claimRef"]["uid"] == "abc"
    assert volume_node(volume) == "node-1"
    helper = cleanup_pod(volume)
    assert helper is not None
    assert helper["spec"]["nodeName"] == "node-1"
    assert helper["spec"]["containers"][0]["command"] == ["rm", "-rf", "/data/pvc-abc_ns_data"]
    assert helper["spec"]["volumes"][0]["hostPath"]["path"] == "/srv/lp"
