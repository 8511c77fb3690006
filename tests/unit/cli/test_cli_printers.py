"""Printers as tables: ages, pod status, columns per kind, table layout, -o parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cli.printers.age import human_duration
from cli.printers.columns import columns_for, node_status, service_external_ip, service_ports
from cli.printers.output import Group, TableOptions, parse_output, render_data, render_tables
from cli.printers.podstatus import pod_ready, pod_restarts, pod_status_reason
from schemas.errors import BadRequest
from schemas.registry import lookup

NOW = datetime(2024, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (182, "3m2s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 300, "3h5m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (2 * 86400 + 3 * 3600, "2d3h"),
        (3 * 86400, "3d"),
        (30 * 86400, "30d"),
        (800 * 86400, "2y70d"),
        (3000 * 86400, "8y"),
    ],
)
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def cs(state, ready=False, restarts=0, last=None):
    out = {"name": "c", "ready": ready, "restartCount": restarts, "state": state}
    if last:
        out["lastState"] = last
    return out


def pod(phase="Running", statuses=(), inits=(), init_specs=0, containers=1, deleting=False, reason=None):
    p = {
        "metadata": {"name": "p", "creationTimestamp": "2024-01-09T00:00:00Z"},
        "spec": {
            "containers": [{"name": f"c{i}"} for i in range(containers)],
            "initContainers": [{"name": f"i{i}"} for i in range(init_specs)],
        },
        "status": {"phase": phase, "containerStatuses": list(statuses), "initContainerStatuses": list(inits)},
    }
    if deleting:
        p["metadata"]["deletionTimestamp"] = "2024-01-10T00:00:00Z"
    if reason:
        p["status"]["reason"] = reason
    return p


POD_STATUS = [
    ("pending", pod("Pending"), "Pending"),
    ("running", pod(statuses=[cs({"running": {}}, ready=True)]), "Running"),
    ("crashloop", pod(statuses=[cs({"waiting": {"reason": "CrashLoopBackOff"}})]), "CrashLoopBackOff"),
    ("image pull", pod("Pending", [cs({"waiting": {"reason": "ImagePullBackOff"}})]), "ImagePullBackOff"),
    (
        "completed",
        pod("Succeeded", [cs({"terminated": {"reason": "Completed", "exitCode": 0}})]),
        "Completed",
    ),
    ("error", pod("Failed", [cs({"terminated": {"reason": "Error", "exitCode": 1}})]), "Error"),
    ("oom", pod("Running", [cs({"terminated": {"reason": "OOMKilled", "exitCode": 137}})]), "OOMKilled"),
    ("exit code", pod("Failed", [cs({"terminated": {"exitCode": 3}})]), "ExitCode:3"),
    ("signal", pod("Failed", [cs({"terminated": {"exitCode": 0, "signal": 9}})]), "Signal:9"),
    ("terminating", pod(statuses=[cs({"running": {}}, ready=True)], deleting=True), "Terminating"),
    ("init 0/1", pod("Pending", inits=[cs({"running": {}})], init_specs=1), "Init:0/1"),
    (
        "init waiting",
        pod("Pending", inits=[cs({"waiting": {"reason": "ErrImagePull"}})], init_specs=1),
        "Init:ErrImagePull",
    ),
    (
        "init failed",
        pod("Pending", inits=[cs({"terminated": {"exitCode": 2}})], init_specs=1),
        "Init:ExitCode:2",
    ),
    (
        "init done",
        pod("Running", [cs({"running": {}}, True)], [cs({"terminated": {"exitCode": 0}})], 1),
        "Running",
    ),
    ("evicted", pod("Failed", reason="Evicted"), "Evicted"),
]


@pytest.mark.parametrize(("name", "obj", "status"), POD_STATUS, ids=[p[0] for p in POD_STATUS])
def test_pod_status(name, obj, status):
    assert pod_status_reason(obj) == status


def test_pod_ready_and_restarts():
    p = pod(
        containers=2,
        statuses=[
            cs({"running": {}}, True, 2, {"terminated": {"finishedAt": "2024-01-09T23:59:00Z"}}),
            cs({"waiting": {"reason": "X"}}, False, 1),
        ],
    )
    assert pod_ready(p) == "1/2"
    assert pod_restarts(p, NOW) == "3 (60s ago)"
    assert pod_restarts(pod(), NOW) == "0"


@pytest.mark.parametrize(
    ("conditions", "unschedulable", "text"),
    [
        ([{"type": "Ready", "status": "True"}], False, "Ready"),
        ([{"type": "Ready", "status": "False"}], False, "NotReady"),
        ([{"type": "Ready", "status": "Unknown"}], True, "NotReady,SchedulingDisabled"),
        ([], False, "Unknown"),
    ],
)
def test_node_status(conditions, unschedulable, text):
    assert (
        node_status({"spec": {"unschedulable": unschedulable}, "status": {"conditions": conditions}}) == text
    )


def test_service_columns():
    svc = {
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.96.0.5",
            "ports": [{"port": 80, "nodePort": 30080}, {"port": 53, "protocol": "UDP"}],
        }
    }
    assert service_ports(svc) == "80:30080/TCP,53/UDP"
    assert service_external_ip(svc) == "<none>"
    assert service_external_ip({"spec": {"type": "LoadBalancer"}}) == "<pending>"


@pytest.mark.parametrize(
    ("plural", "wide", "headers"),
    [
        ("pods", False, ["READY", "STATUS", "RESTARTS", "AGE"]),
        (
            "pods",
            True,
            ["READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
        ),
        ("nodes", False, ["STATUS", "ROLES", "AGE", "VERSION"]),
        ("services", False, ["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]),
        ("deployments", False, ["READY", "UP-TO-DATE", "AVAILABLE", "AGE"]),
        ("replicationcontrollers", False, ["DESIRED", "CURRENT", "READY", "AGE"]),
        (
            "daemonsets",
            False,
            ["DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"],
        ),
        ("jobs", False, ["COMPLETIONS", "DURATION", "AGE"]),
        ("cronjobs", False, ["SCHEDULE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]),
        ("events", False, ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]),
        ("configmaps", False, ["DATA", "AGE"]),
        ("secrets", False, ["TYPE", "DATA", "AGE"]),
    ],
)
def test_columns(plural, wide, headers):
    assert [c.header for c in columns_for(plural, wide)] == headers


def test_table_layout_with_namespace_and_labels():
    p = pod(statuses=[cs({"running": {}}, True)])
    p["metadata"].update(namespace="default", labels={"b": "2", "a": "1"})
    lines = render_tables(
        [Group(lookup("pods"), [p])], TableOptions(with_namespace=True, show_labels=True), NOW
    )
    assert lines == [
        "NAMESPACE   NAME   READY   STATUS    RESTARTS   AGE   LABELS",
        "default     p      1/1     Running   0          24h   a=1,b=2",
    ]


def test_table_with_kind():
    lines = render_tables(
        [Group(lookup("deploy"), [{"metadata": {"name": "d"}, "spec": {"replicas": 2}}])],
        TableOptions(with_kind=True),
        NOW,
    )
    assert lines[1].split()[:2] == ["deployment.apps/d", "0/2"]


@pytest.mark.parametrize(
    ("flag", "fmt", "arg"),
    [
        (None, "table", ""),
        ("wide", "wide", ""),
        ("yaml", "yaml", ""),
        ("jsonpath={.a}", "jsonpath", "{.a}"),
        ("go-template={{.a}}", "go-template", "{{.a}}"),
        ("custom-columns=A:.a", "custom-columns", "A:.a"),
    ],
)
def test_parse_output(flag, fmt, arg):
    spec = parse_output(flag)
    assert (spec.format, spec.arg) == (fmt, arg)


def test_parse_output_rejects():
    with pytest.raises(BadRequest, match="unable to match a printer"):
        parse_output("xml")


def test_render_data_list_and_single():
    objs = [{"kind": "Pod", "metadata": {"name": "a"}}, {"kind": "Pod", "metadata": {"name": "b"}}]
    assert render_data(parse_output("jsonpath={.items[*].metadata.name}"), objs, single=False) == "a b"
    assert render_data(parse_output("go-template={{.metadata.name}}"), objs[:1], single=True) == "a"
    assert render_data(parse_output("yaml"), objs[:1], single=True).startswith("kind: Pod")
    assert timedelta(0) is not None
