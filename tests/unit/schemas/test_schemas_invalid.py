"""A table of malformed manifests: each raises, and the message names the field and the rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas.decode import normalize
from schemas.errors import BadRequest, Invalid


def pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": base}


def container(**fields: Any) -> dict[str, Any]:
    return {"name": "c", "image": "busybox:1.36", **fields}


def with_meta(obj: dict[str, Any], **meta: Any) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj["metadata"].update(meta)
    return obj


def workload(
    kind: str, api_version: str = "apps/v1", labels: dict | None = None, **spec: Any
) -> dict[str, Any]:
    labels = labels if labels is not None else {"app": "a"}
    base: dict[str, Any] = {
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [container()]}},
    }
    if kind in ("Deployment", "ReplicaSet", "DaemonSet"):
        base["selector"] = {"matchLabels": {"app": "a"}}
    base.update(spec)
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "w"}, "spec": base}


def job(restart: str | None = "Never", **spec: Any) -> dict[str, Any]:
    pspec: dict[str, Any] = {"containers": [container()]}
    if restart is not None:
        pspec["restartPolicy"] = restart
    base = {"template": {"spec": pspec}, **spec}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": base}


def service(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"ports": [{"port": 80}], "selector": {"app": "a"}}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": base}


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("missing image", pod(containers=[{"name": "c"}]), "spec.containers[0].image: Required value"),
    ("missing container name", pod(containers=[{"image": "x"}]), "spec.containers[0].name: Required value"),
    ("no containers", pod(containers=[]), "spec.containers: Required value"),
    (
        "no spec",
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}},
        "spec.containers: Required value",
    ),
    (
        "bad name",
        with_meta(pod(), name="Foo_bar"),
        'metadata.name: Invalid value: "Foo_bar": a lowercase RFC 1123 subdomain must consist of',
    ),
    ("no name", {**pod(), "metadata": {}}, "metadata.name: Required value: name or generateName is required"),
    (
        "name too long",
        with_meta(pod(), name="a" * 254),
        'metadata.name: Invalid value: "' + "a" * 254 + '": must be no more than 253 characters',
    ),
    (
        "bad namespace",
        with_meta(pod(), namespace="Bad.NS"),
        'metadata.namespace: Invalid value: "Bad.NS": a lowercase RFC 1123 label',
    ),
    (
        "label value too long",
        with_meta(pod(), labels={"app": "x" * 64}),
        'metadata.labels: Invalid value: "' + "x" * 64 + '": must be no more than 63 characters',
    ),
    (
        "bad label value",
        with_meta(pod(), labels={"app": "-bad"}),
        'metadata.labels: Invalid value: "-bad": a valid label must be an empty string',
    ),
    (
        "bad label key",
        with_meta(pod(), labels={"a b": "x"}),
        'metadata.labels: Invalid value: "a b": name part',
    ),
    (
        "annotations too big",
        with_meta(pod(), annotations={"big": "x" * (256 * 1024 + 1)}),
        "metadata.annotations: Too long: must have at most 262144 bytes",
    ),
    (
        "label value not a string",
        with_meta(pod(), labels={"version": 1}),
        "metadata.labels[version]: Invalid value: 1: expected string",
    ),
    (
        "duplicate container",
        pod(containers=[container(name="a"), container(name="a")]),
        'spec.containers[1].name: Duplicate value: "a"',
    ),
    (
        "duplicate across init containers",
        pod(initContainers=[container(name="a")], containers=[container(name="a")]),
        'spec.containers[0].name: Duplicate value: "a"',
    ),
    (
        "port out of range",
        pod(containers=[container(ports=[{"containerPort": 70000}])]),
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: "
        "must be between 1 and 65535, inclusive",
    ),
    (
        "duplicate port name",
        pod(
            containers=[
                container(
                    ports=[{"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81}]
                )
            ]
        ),
        'spec.containers[0].ports[1].name: Duplicate value: "http"',
    ),
    (
        "bad port name",
        pod(containers=[container(ports=[{"name": "HTTP_port", "containerPort": 80}])]),
        'spec.containers[0].ports[0].name: Invalid value: "HTTP_port"',
    ),
    (
        "bad protocol",
        pod(containers=[container(ports=[{"containerPort": 80, "protocol": "HTTP"}])]),
        'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": '
        'supported values: "SCTP", "TCP", "UDP"',
    ),
    ("unknown field", {**pod(), "spec": {**pod()["spec"], "foo": 1}}, 'unknown field "spec.foo"'),
    ("unknown top-level field", {**pod(), "specs": {}}, 'unknown field "specs"'),
    (
        "unknown container field",
        pod(containers=[container(imagePullPolicyy="Always")]),
        'unknown field "spec.containers[0].imagePullPolicyy"',
    ),
    ("snake_case is unknown", pod(restart_policy="Never"), 'unknown field "spec.restart_policy"'),
    (
        "wrong type for port",
        pod(containers=[container(ports=[{"containerPort": "80"}])]),
        'spec.containers[0].ports[0].containerPort: Invalid value: "80": expected integer',
    ),
    (
        "command not a list",
        pod(containers=[container(command="sleep 1")]),
        "spec.containers[0].command: Invalid value",
    ),
    (
        "bad restart policy",
        pod(restartPolicy="Sometimes"),
        'spec.restartPolicy: Unsupported value: "Sometimes": '
        'supported values: "Always", "OnFailure", "Never"',
    ),
    (
        "volume mount names a missing volume",
        pod(containers=[container(volumeMounts=[{"name": "data", "mountPath": "/d"}])]),
        'spec.containers[0].volumeMounts[0].name: Not found: "data"',
    ),
    (
        "duplicate volume",
        pod(volumes=[{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]),
        'spec.volumes[1].name: Duplicate value: "v"',
    ),
    (
        "volume without source",
        pod(volumes=[{"name": "v"}]),
        "spec.volumes[0]: Required value: must specify a volume type",
    ),
    (
        "probe without handler",
        pod(containers=[container(livenessProbe={"periodSeconds": 5})]),
        "spec.containers[0].livenessProbe: Required value: must specify a handler type",
    ),
    (
        "env value and valueFrom",
        pod(
            containers=[
                container(
                    env=[
                        {"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                    ]
                )
            ]
        ),
        "spec.containers[0].env[0].valueFrom: Invalid value",
    ),
    (
        "env fieldRef unsupported",
        pod(
            containers=[container(env=[{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.foo"}}}])]
        ),
        'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.foo"',
    ),
    (
        "requests above limits",
        pod(containers=[container(resources={"limits": {"cpu": "1"}, "requests": {"cpu": "2"}})]),
        'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit',
    ),
    (
        "bad quantity",
        pod(containers=[container(resources={"limits": {"memory": "12XB"}})]),
        'spec.containers[0].resources.limits[memory]: Invalid value: "12XB": quantities must match',
    ),
    (
        "negative replicas",
        workload("Deployment", replicas=-1),
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    ),
    (
        "replicas as text",
        workload("Deployment", replicas="three"),
        'spec.replicas: Invalid value: "three": expected integer',
    ),
    (
        "selector does not match",
        workload("Deployment", labels={"app": "b"}),
        'spec.template.metadata.labels: Invalid value: {"app":"b"}: '
        "`selector` does not match template `labels`",
    ),
    (
        "apps/v1 deployment needs a selector",
        {
            **workload("Deployment"),
            "spec": {k: v for k, v in workload("Deployment")["spec"].items() if k != "selector"},
        },
        "spec.selector: Required value",
    ),
    (
        "deployment restart policy",
        workload(
            "Deployment",
            template={
                "metadata": {"labels": {"app": "a"}},
                "spec": {"restartPolicy": "Never", "containers": [container()]},
            },
        ),
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ),
    (
        "bad max surge",
        workload("Deployment", strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "abc"}}),
        'spec.strategy.rollingUpdate.maxSurge: Invalid value: "abc": a valid percent string',
    ),
    (
        "surge and unavailable both zero",
        workload("Deployment", strategy={"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}),
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
    ),
    (
        "recreate with rolling update",
        workload("Deployment", strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
        "spec.strategy.rollingUpdate: Forbidden",
    ),
    (
        "rc selector mismatch",
        workload("ReplicationController", api_version="v1", selector={"app": "z"}),
        "spec.template.metadata.labels: Invalid value",
    ),
    (
        "daemonset update strategy",
        workload("DaemonSet", updateStrategy={"type": "Sometimes"}),
        'spec.updateStrategy.type: Unsupported value: "Sometimes"',
    ),
    (
        "job without restart policy",
        job(restart=None),
        'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
    ),
    (
        "job with Always",
        job(restart="Always"),
        'spec.template.spec.restartPolicy: Unsupported value: "Always": '
        'supported values: "OnFailure", "Never"',
    ),
    (
        "negative parallelism",
        job(parallelism=-2),
        "spec.parallelism: Invalid value: -2: must be greater than or equal to 0",
    ),
    ("negative completions", job(completions=-1), "spec.completions: Invalid value: -1"),
    (
        "cronjob bad schedule",
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "cj"},
            "spec": {"schedule": "not a schedule", "jobTemplate": job()["spec"] and {"spec": job()["spec"]}},
        },
        'spec.schedule: Invalid value: "not a schedule"',
    ),
    ("service without ports", service(ports=[]), "spec.ports: Required value"),
    ("service port missing", service(ports=[{"targetPort": 80}]), "spec.ports[0].port: Required value"),
    (
        "service port out of range",
        service(ports=[{"port": 0}]),
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
    ),
    (
        "service duplicate port names",
        service(ports=[{"name": "a", "port": 80}, {"name": "a", "port": 81}]),
        'spec.ports[1].name: Duplicate value: "a"',
    ),
    (
        "service unnamed ports",
        service(ports=[{"port": 80}, {"port": 81}]),
        "spec.ports[0].name: Required value",
    ),
    (
        "service name is a DNS-1035 label",
        with_meta(service(), name="1svc"),
        'metadata.name: Invalid value: "1svc": a DNS-1035 label',
    ),
    ("service type", service(type="Internal"), 'spec.type: Unsupported value: "Internal"'),
    (
        "namespace name with a dot",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}},
        'metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label',
    ),
    (
        "secret data not base64",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "not base64!"}},
        "data[k]: Invalid value",
    ),
    (
        "configmap bad key",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a b": "x"}},
        'data[a b]: Invalid value: "a b": a valid config key',
    ),
    (
        "node taint effect",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n"},
            "spec": {"taints": [{"key": "k", "effect": "Never"}]},
        },
        'spec.taints[0].effect: Unsupported value: "Never"',
    ),
    (
        "node unschedulable as text",
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "spec": {"unschedulable": "yes"}},
        'spec.unschedulable: Invalid value: "yes": expected boolean',
    ),
    (
        "toleration seconds without NoExecute",
        pod(tolerations=[{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}]),
        "spec.tolerations[0].effect: Invalid value",
    ),
    (
        "node affinity bad operator",
        pod(
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "a", "operator": "Near", "values": ["x"]}]}
                        ]
                    }
                }
            }
        ),
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
        '.matchExpressions[0].operator: Unsupported value: "Near"',
    ),
    (
        "limitrange min above max",
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "l"},
            "spec": {"limits": [{"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}}]},
        },
        "spec.limits[0].min[cpu]: Invalid value",
    ),
]


@pytest.mark.parametrize(
    ("manifest", "expected"), [(m, e) for _, m, e in INVALID], ids=[n for n, _, _ in INVALID]
)
def test_invalid_manifest(manifest: dict[str, Any], expected: str) -> None:
    with pytest.raises(Invalid) as info:
        normalize(manifest)
    assert expected in info.value.message, info.value.message
    assert info.value.causes
    assert any(c.field in expected for c in info.value.causes if c.field), "a cause must name the field"


def test_table_is_large_enough() -> None:
    assert len(INVALID) >= 30


BAD_REQUEST: list[tuple[str, dict[str, Any], str]] = [
    ("no apiVersion", {"kind": "Pod", "metadata": {"name": "p"}}, "apiVersion not set"),
    ("no kind", {"apiVersion": "v1", "metadata": {"name": "p"}}, "kind not set"),
    ("unknown kind", {"apiVersion": "v1", "kind": "Foo"}, 'no matches for kind "Foo" in version "v1"'),
    (
        "unknown apiVersion",
        {"apiVersion": "apps/v9", "kind": "Deployment"},
        'no matches for kind "Deployment" in version "apps/v9"',
    ),
    (
        "kind in wrong group",
        {"apiVersion": "v1", "kind": "Deployment"},
        'no matches for kind "Deployment" in version "v1"',
    ),
    ("lowercase kind", {"apiVersion": "v1", "kind": "pod"}, 'no matches for kind "pod"'),
]


@pytest.mark.parametrize(
    ("manifest", "expected"), [(m, e) for _, m, e in BAD_REQUEST], ids=[n for n, _, _ in BAD_REQUEST]
)
def test_bad_request(manifest: dict[str, Any], expected: str) -> None:
    with pytest.raises(BadRequest) as info:
        normalize(manifest)
    assert expected in info.value.message


def test_invalid_carries_kind_name_and_status() -> None:
    with pytest.raises(Invalid) as info:
        normalize(pod(containers=[{"name": "c"}]))
    err = info.value
    assert err.message == 'Pod "p" is invalid: spec.containers[0].image: Required value'
    status = err.to_status()
    assert status["code"] == 422
    assert status["details"]["causes"] == [{"field": "spec.containers[0].image", "message": "Required value"}]


def test_several_causes_are_all_reported() -> None:
    bad = with_meta(pod(containers=[{"name": "A"}, {"name": "A", "image": "x"}]), name="Bad")
    with pytest.raises(Invalid) as info:
        normalize(bad)
    fields = [c.field for c in info.value.causes]
    assert "metadata.name" in fields
    assert "spec.containers[0].image" in fields
    assert "spec.containers[1].name" in fields


def test_input_is_not_changed_on_error() -> None:
    bad = pod(containers=[{"name": "c"}])
    before = copy.deepcopy(bad)
    with pytest.raises(Invalid):
        normalize(bad)
    assert bad == before
