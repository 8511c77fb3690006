"""PV, PVC, StorageClass and StatefulSet: defaults, validation in Kubernetes' words, kubectl's columns,
admission (default class, unknown class, finalizers) and the scheduler's reading of claims."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from actors.admission.storage import admit_claim, admit_volume
from actors.scheduler.volumes import UNBOUND_IMMEDIATE, check_claims, select_node, with_volume_affinity
from cli.commands.rollout import statefulset_status
from schemas.decode import normalize
from schemas.errors import Invalid
from schemas.printing.columns import columns_for
from schemas.registry import lookup

PV = {
    "apiVersion": "v1",
    "kind": "PersistentVolume",
    "metadata": {"name": "pv1"},
    "spec": {
        "capacity": {"storage": "5Gi"},
        "accessModes": ["ReadWriteOnce"],
        "hostPath": {"path": "/srv/a"},
    },
}
PVC = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "c"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}
SC = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "fast"},
    "provisioner": "x.io/y",
}
STS = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "web"},
    "spec": {
        "serviceName": "web",
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "c", "image": "i", "volumeMounts": [{"name": "www", "mountPath": "/d"}]}
                ]
            },
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "www"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            }
        ],
    },
}


def edit(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    *parents, last = path.split(".")
    cur = out
    for p in parents:
        cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
    if value is None:
        cur.pop(last, None)
    else:
        cur[last] = value
    return out


def test_registry_names_and_scopes() -> None:
    assert (lookup("pv").plural, lookup("pv").namespaced) == ("persistentvolumes", False)
    assert (lookup("pvc").plural, lookup("pvc").namespaced) == ("persistentvolumeclaims", True)
    assert (lookup("sc").group_resource, lookup("sc").namespaced) == ("storageclasses.storage.k8s.io", False)
    assert (lookup("sts").api_version, lookup("statefulsets.apps").short_names) == ("apps/v1", ("sts",))


def test_defaults() -> None:
    assert normalize(PV)["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert normalize(PVC)["spec"]["volumeMode"] == "Filesystem"
    sc = normalize(SC)
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")
    spec = normalize(STS)["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["replicas"] == 1 and spec["persistentVolumeClaimRetentionPolicy"]["whenScaled"] == "Retain"


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (
            edit(PVC, "spec.accessModes", ["ReadWriteSometimes"]),
            'spec.accessModes: Unsupported value: "ReadWriteSometimes"',
        ),
        (
            edit(PVC, "spec.accessModes", []),
            "spec.accessModes: Required value: at least 1 access mode is required",
        ),
        (
            edit(PVC, "spec.resources.requests.storage", "-1Gi"),
            'spec.resources[storage]: Invalid value: "-1Gi": must be greater than zero',
        ),
        (edit(PVC, "spec.resources", None), "spec.resources[storage]: Required value"),
        (edit(PVC, "spec.storageClassName", "Bad_Name"), 'spec.storageClassName: Invalid value: "Bad_Name"'),
        (edit(PV, "spec.capacity", None), "spec.capacity: Required value"),
        (
            edit(PV, "spec.capacity.storage", "-1"),
            'spec.capacity[storage]: Invalid value: "-1": must be greater than or equal to 0',
        ),
        (edit(PV, "spec.hostPath", None), "spec: Required value: must specify a volume type"),
        (
            edit(PV, "spec.persistentVolumeReclaimPolicy", "Shred"),
            'spec.persistentVolumeReclaimPolicy: Unsupported value: "Shred"',
        ),
        (
            edit(edit(PV, "spec.hostPath", None), "spec.local", {"path": "/x"}),
            "spec.nodeAffinity: Required value: Local volume requires node affinity",
        ),
        (edit(SC, "volumeBindingMode", "Later"), 'volumeBindingMode: Unsupported value: "Later"'),
        (edit(SC, "provisioner", None), "provisioner: Required value"),
        (
            edit(STS, "spec.podManagementPolicy", "Random"),
            'spec.podManagementPolicy: Unsupported value: "Random"',
        ),
        (
            edit(STS, "spec.updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}),
            "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1",
        ),
        (
            edit(STS, "spec.volumeClaimTemplates.0.spec.accessModes", ["Nope"]),
            'spec.volumeClaimTemplates[0].spec.accessModes: Unsupported value: "Nope"',
        ),
        (edit(STS, "spec.selector", None), "spec.selector: Required value"),
    ],
)
def test_invalid(manifest: dict[str, Any], expected: str) -> None:
    with pytest.raises(Invalid) as info:
        normalize(manifest)
    assert expected in info.value.message, info.value.message


def test_statefulset_template_may_mount_its_claims() -> None:
    assert normalize(STS)["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["name"] == "www"


NOW = datetime(2026, 12, 7, tzinfo=UTC)


def row(plural: str, obj: dict[str, Any]) -> list[str]:
    return [c.cell(obj, NOW) for c in columns_for(plural, wide=False)]


def test_columns_as_kubectl() -> None:
    created = {"creationTimestamp": "2026-12-06T23:00:00Z"}
    volume = {
        "metadata": {"name": "pv1", **created},
        "spec": {
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "fast",
            "claimRef": {"namespace": "ns", "name": "c"},
        },
        "status": {"phase": "Bound"},
    }
    assert [c.header for c in columns_for("persistentvolumes", False)] == [
        "CAPACITY",
        "ACCESS MODES",
        "RECLAIM POLICY",
        "STATUS",
        "CLAIM",
        "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS",
        "REASON",
        "AGE",
    ]
    assert row("persistentvolumes", volume) == [
        "5Gi",
        "RWO,RWX",
        "Retain",
        "Bound",
        "ns/c",
        "fast",
        "<unset>",
        "",
        "60m",
    ]
    claim = {
        "metadata": {"name": "c", **created},
        "spec": {"volumeName": "pv1", "storageClassName": "fast"},
        "status": {"phase": "Bound", "capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"]},
    }
    assert [c.header for c in columns_for("persistentvolumeclaims", False)] == [
        "STATUS",
        "VOLUME",
        "CAPACITY",
        "ACCESS MODES",
        "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS",
        "AGE",
    ]
    assert row("persistentvolumeclaims", claim) == ["Bound", "pv1", "5Gi", "RWO", "fast", "<unset>", "60m"]
    pending = {
        "metadata": {"name": "p", **created},
        "spec": {"storageClassName": "fast"},
        "status": {"phase": "Pending"},
    }
    assert row("persistentvolumeclaims", pending) == ["Pending", "", "", "", "fast", "<unset>", "60m"]
    sc = {
        "metadata": {"name": "fast", **created},
        "provisioner": "x.io/y",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }
    assert row("storageclasses", sc) == ["x.io/y", "Delete", "WaitForFirstConsumer", "false", "60m"]
    sts = {"metadata": {"name": "web", **created}, "spec": {"replicas": 3}, "status": {"readyReplicas": 2}}
    assert row("statefulsets", sts) == ["2/3", "60m"]


CLASSES = [
    {"metadata": {"name": "slow", "creationTimestamp": "2026-01-01T00:00:00Z"}},
    {
        "metadata": {
            "name": "local-path",
            "creationTimestamp": "2026-01-02T00:00:00Z",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        }
    },
]


def test_admission_fills_the_default_class_and_protects() -> None:
    out = admit_claim(copy.deepcopy(PVC), CLASSES)
    assert out["spec"]["storageClassName"] == "local-path"
    assert out["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert out["status"] == {"phase": "Pending"}
    explicit_none = edit(PVC, "spec.storageClassName", "")
    assert admit_claim(explicit_none, CLASSES)["spec"]["storageClassName"] == "", '"" asks for no class'
    assert admit_volume(copy.deepcopy(PV))["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    with pytest.raises(Invalid) as err:
        admit_claim(edit(PVC, "spec.storageClassName", "gold"), CLASSES)
    assert (
        err.value.message == 'PersistentVolumeClaim "c" is invalid: spec.storageClassName: Not found: "gold"'
    )


def _pod(*claims: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"volumes": [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims]},
    }


def test_scheduler_reads_claims() -> None:
    wffc = {"metadata": {"name": "lp"}, "volumeBindingMode": "WaitForFirstConsumer"}
    claims = {
        "ns/bound": {"metadata": {"name": "bound"}, "spec": {"volumeName": "v1"}},
        "ns/late": {"metadata": {"name": "late"}, "spec": {"storageClassName": "lp"}},
        "ns/now": {"metadata": {"name": "now"}, "spec": {}},
    }
    affinity = [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]}]
    volumes = {"v1": {"spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": affinity}}}}}
    get = (claims.get, volumes.get, {"lp": wffc}.get)
    assert check_claims(_pod("missing"), *get).error == 'persistentvolumeclaim "missing" not found'
    assert check_claims(_pod("now"), *get).error == UNBOUND_IMMEDIATE
    check = check_claims(_pod("bound", "late"), *get)
    assert (check.error, check.terms, check.delayed) == (None, [affinity], [("ns", "late")])
    pod = {
        "spec": {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                        ]
                    }
                }
            }
        }
    }
    merged = with_volume_affinity(pod, check.terms)
    terms = merged["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms == [
        {
            "matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["a"]},
                affinity[0]["matchExpressions"][0],
            ]
        }
    ]
    assert (
        "affinity" not in pod["spec"]
        or pod["spec"]["affinity"]["nodeAffinity"] is not merged["spec"]["affinity"]["nodeAffinity"]
    )
    annotated = select_node(claims["ns/late"], "n2")
    assert annotated is not None and annotated["metadata"]["annotations"] == {
        "volume.kubernetes.io/selected-node": "n2"
    }
    assert select_node(annotated, "n2") is None


@pytest.mark.parametrize(
    ("status", "spec", "line", "done"),
    [
        ({}, {"replicas": 3}, "Waiting for statefulset spec update to be observed...", False),
        (
            {"observedGeneration": 1, "readyReplicas": 1},
            {"replicas": 3},
            "Waiting for 2 pods to be ready...",
            False,
        ),
        (
            {
                "observedGeneration": 1,
                "readyReplicas": 3,
                "updatedReplicas": 1,
                "currentRevision": "a",
                "updateRevision": "b",
            },
            {"replicas": 3},
            "waiting for statefulset rolling update to complete 1 pods at revision b...",
            False,
        ),
        (
            {
                "observedGeneration": 1,
                "readyReplicas": 3,
                "currentReplicas": 3,
                "currentRevision": "b",
                "updateRevision": "b",
            },
            {"replicas": 3},
            "statefulset rolling update complete 3 pods at revision b...",
            True,
        ),
        (
            {"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1},
            {"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}},
            "partitioned roll out complete: 1 new pods have been updated...",
            True,
        ),
    ],
)
def test_rollout_status_lines(status: dict[str, Any], spec: dict[str, Any], line: str, done: bool) -> None:
    sts = {"metadata": {"name": "web", "generation": 1}, "spec": spec, "status": status}
    assert statefulset_status(sts) == (line, done)


def test_describe_claim_volume_and_statefulset() -> None:
    from cli.describe.kinds import describe

    claim = {
        "metadata": {"name": "c", "namespace": "ns", "finalizers": ["kubernetes.io/pvc-protection"]},
        "spec": {"volumeName": "pv1", "storageClassName": "local-path"},
        "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]},
    }
    text = describe("persistentvolumeclaims", claim, [], NOW, {"pods": [{"metadata": {"name": "web-0"}}]})
    assert "Status:        Bound\n" in text and "Used By:       web-0\n" in text
    assert "Finalizers:    [kubernetes.io/pvc-protection]\n" in text
    volume = {
        "metadata": {"name": "pv1"},
        "spec": {"hostPath": {"path": "/x", "type": "DirectoryOrCreate"}},
        "status": {},
    }
    text = describe("persistentvolumes", volume, [], NOW)
    assert "  Type:          HostPath (bare host directory volume)\n" in text
    assert "  HostPathType:  DirectoryOrCreate\n" in text
    sts = normalize(STS)
    text = describe("statefulsets", sts, [], NOW)
    assert "Replicas:           1 desired | 0 total\n" in text and "  Partition:        0\n" in text
    assert "  Access Modes:  [ReadWriteOnce]\n" in text


def test_updates_kubernetes_forbids() -> None:
    from actors.admission.storage import update_errors

    claim = {
        "metadata": {"name": "c"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    bound = edit(edit(claim, "spec.volumeName", "pv1"), "spec.storageClassName", "local-path")
    assert update_errors("persistentvolumeclaims", bound, claim) == [], "the binder sets volumeName once"
    assert [
        e.field for e in update_errors("persistentvolumeclaims", edit(bound, "spec.volumeName", "pv2"), bound)
    ] == ["spec"]
    assert [
        e.field
        for e in update_errors(
            "persistentvolumeclaims", edit(bound, "spec.accessModes", ["ReadWriteMany"]), bound
        )
    ] == ["spec"]
    resized = update_errors(
        "persistentvolumeclaims", edit(bound, "spec.resources.requests.storage", "2Gi"), bound
    )
    assert [e.field for e in resized] == ["spec.resources.requests.storage"]
    volume = normalize(PV)
    assert (
        update_errors(
            "persistentvolumes", edit(volume, "spec.persistentVolumeReclaimPolicy", "Delete"), volume
        )
        == []
    )
    moved = update_errors("persistentvolumes", edit(volume, "spec.hostPath.path", "/elsewhere"), volume)
    assert [str(e) for e in moved] == [
        "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation"
    ]
    sts = normalize(STS)
    assert update_errors("statefulsets", edit(sts, "spec.replicas", 5), sts) == []
    changed = update_errors("statefulsets", edit(sts, "spec.volumeClaimTemplates", []), sts)
    assert changed and "updates to statefulset spec for fields other than 'replicas'" in str(changed[0])
