"""The dashboard's rows: kubectl's cells (shared with `jetkube get`), plus what the page acts on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from actors.dashboard.feed import Change
from actors.dashboard.stream import change_message, snapshot_message
from actors.dashboard.views import (
    headers,
    in_namespace,
    parse_namespace,
    parse_replicas,
    row,
    status_tone,
    table,
)
from schemas.errors import BadRequest
from schemas.printing.columns import columns_for

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
T0 = "2026-01-01T11:58:00Z"  # two minutes before NOW


def pod(
    name: str,
    *,
    ns: str = "default",
    node: str = "n1",
    state: dict[str, Any] | None = None,
    ready: bool = True,
    phase: str = "Running",
    restarts: int = 0,
    deleting: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "creationTimestamp": T0, "uid": f"uid-{name}"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T11:59:59Z"
    return {
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "busybox"}, {"name": "side"}]},
        "status": {
            "phase": phase,
            "podIP": "10.0.0.7",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [
                {"name": "app", "ready": ready, "restartCount": restarts, "state": state or {"running": {}}},
                {"name": "side", "ready": ready, "restartCount": 0, "state": {"running": {}}},
            ],
        },
    }


def rc(name: str, replicas: int | None, ready: int, ns: str = "default") -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"app": name}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "kind": "ReplicationController",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": T0},
        "spec": spec,
        "status": {"replicas": ready, "readyReplicas": ready},
    }


def test_a_running_pod_row_has_kubectls_cells_and_what_the_page_needs() -> None:
    r = row("pods", pod("web-1"), NOW)
    assert headers("pods") == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert r["cells"] == ["web-1", "2/2", "Running", "0", "2m", "10.0.0.7", "n1"]
    assert (r["key"], r["status"], r["tone"], r["node"]) == ("default/web-1", "Running", "ok", "n1")
    assert r["containers"] == ["app", "side"]
    assert r["created"] == T0


@pytest.mark.parametrize(
    ("kwargs", "status", "tone"),
    [
        (
            {"state": {"waiting": {"reason": "CrashLoopBackOff"}}, "ready": False, "restarts": 4},
            "CrashLoopBackOff",
            "bad",
        ),
        (
            {"state": {"waiting": {"reason": "ContainerCreating"}}, "ready": False, "phase": "Pending"},
            "ContainerCreating",
            "pending",
        ),
        (
            {"state": {"waiting": {"reason": "ErrImagePull"}}, "ready": False, "phase": "Pending"},
            "ErrImagePull",
            "bad",
        ),
        (
            {
                "state": {"terminated": {"reason": "Completed", "exitCode": 0}},
                "ready": False,
                "phase": "Succeeded",
            },
            "Completed",
            "ok",
        ),
        ({"deleting": True}, "Terminating", "pending"),
    ],
)
def test_pod_status_and_tone(kwargs: dict[str, Any], status: str, tone: str) -> None:
    r = row("pods", pod("p", **kwargs), NOW)
    assert (r["status"], r["tone"]) == (status, tone)
    assert r["cells"][2] == status  # the same text `jetkube get pods` prints


def test_the_dashboard_and_the_cli_print_the_same_cells() -> None:
    p = pod("p", restarts=2)
    cli = {c.header: c.cell(p, NOW) for c in columns_for("pods", wide=True)}
    r = row("pods", p, NOW)
    assert dict(zip(headers("pods"), r["cells"], strict=True)) == {
        "NAME": "p",
        **{h: cli[h] for h in headers("pods")[1:]},
    }


@pytest.mark.parametrize(
    ("conditions", "unschedulable", "status", "tone"),
    [
        ([{"type": "Ready", "status": "True"}], False, "Ready", "ok"),
        ([{"type": "Ready", "status": "Unknown"}], False, "NotReady", "bad"),
        ([{"type": "Ready", "status": "True"}], True, "Ready,SchedulingDisabled", "pending"),
        ([], False, "Unknown", "pending"),
    ],
)
def test_node_rows(conditions: list[dict[str, str]], unschedulable: bool, status: str, tone: str) -> None:
    node = {
        "kind": "Node",
        "metadata": {"name": "n1", "creationTimestamp": T0, "labels": {"node-role.kubernetes.io/master": ""}},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "conditions": conditions,
            "nodeInfo": {"kubeletVersion": "v1.0-jetkube"},
            "addresses": [{"type": "InternalIP", "address": "172.17.0.1"}],
        },
    }
    r = row("nodes", node, NOW)
    assert (r["key"], r["status"], r["tone"]) == ("n1", status, tone)
    assert r["cells"][:5] == ["n1", status, "master", "2m", "v1.0-jetkube"]
    assert r["cells"][5] == "172.17.0.1"


def test_a_replication_controller_row_offers_its_size_for_scaling() -> None:
    r = row("replicationcontrollers", rc("web", 3, 1), NOW)
    assert headers("replicationcontrollers") == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert r["cells"] == ["web", "3", "1", "1", "2m"]
    assert (r["replicas"], r["tone"], r["kind"]) == (3, "pending", "ReplicationController")
    assert row("replicationcontrollers", rc("web", 2, 2), NOW)["tone"] == "ok"
    assert row("replicationcontrollers", rc("web", None, 1), NOW)["replicas"] == 1  # defaulted size


def test_jobs_are_shown_but_not_scaled() -> None:
    job = {
        "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default", "creationTimestamp": T0},
        "spec": {"completions": 1, "parallelism": 1},
        "status": {"succeeded": 1, "startTime": T0, "completionTime": "2026-01-01T11:59:00Z"},
    }
    r = row("jobs", job, NOW)
    assert r["cells"] == ["pi", "1/1", "60s", "2m"]
    assert "replicas" not in r and r["tone"] == "ok"
    failed = {**job, "status": {"conditions": [{"type": "Failed", "status": "True"}]}}
    assert row("jobs", failed, NOW)["tone"] == "bad"


def test_event_rows_lead_with_last_seen_and_warnings_stand_out() -> None:
    event = {
        "kind": "Event",
        "metadata": {"name": "web-1.abc", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-1"},
        "type": "Warning",
        "reason": "BackOff",
        "message": "Back-off restarting failed container",
        "count": 3,
        "firstTimestamp": "2026-01-01T11:50:00Z",
        "lastTimestamp": T0,
    }
    r = row("events", event, NOW)
    assert headers("events") == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert r["cells"] == [
        "2m (x3 over 10m)",
        "Warning",
        "BackOff",
        "pod/web-1",
        "Back-off restarting failed container",
    ]
    assert (r["key"], r["tone"], r["created"]) == ("default/web-1.abc", "bad", T0)


def test_tables_filter_by_namespace_and_sort_by_name() -> None:
    pods = [pod("b"), pod("a"), pod("c", ns="other")]
    t = table("pods", pods, NOW, "default")
    assert [r["name"] for r in t["items"]] == ["a", "b"]
    assert t["columns"] == headers("pods")
    assert [r["key"] for r in table("pods", pods, NOW, None)["items"]] == [
        "default/a",
        "default/b",
        "other/c",
    ]
    node = {"metadata": {"name": "n1"}}
    assert in_namespace("nodes", node, "default")  # cluster-scoped kinds show in every namespace


@pytest.mark.parametrize(
    ("given", "wanted"), [(None, None), ("", None), ("*", None), ("kube-system", "kube-system")]
)
def test_parse_namespace(given: str | None, wanted: str | None) -> None:
    assert parse_namespace(given) == wanted


def test_parse_replicas_names_the_field_and_the_rule() -> None:
    assert parse_replicas({"replicas": 3}) == 3
    assert parse_replicas({"replicas": "4"}) == 4
    assert parse_replicas({"replicas": 0}) == 0
    for body, rule in (
        ({"replicas": -1}, "greater than or equal to 0"),
        ({"replicas": "three"}, "whole number"),
        ({"replicas": 2.5}, "whole number"),
        ({"replicas": True}, "whole number"),
        ({}, "whole number"),
        ([3], "whole number"),
    ):
        with pytest.raises(BadRequest, match=rf"^replicas: Invalid value: .*{rule}"):
            parse_replicas(body)


def test_status_tone() -> None:
    assert status_tone("Init:0/2") == "pending"
    assert status_tone("Init:CrashLoopBackOff") == "bad"
    assert status_tone("OOMKilled") == "bad"


def test_snapshot_and_change_messages() -> None:
    objects = {
        "nodes": [{"metadata": {"name": "n1"}}],
        "namespaces": [{"metadata": {"name": "kube-system"}}, {"metadata": {"name": "default"}}],
        "pods": [pod("a"), pod("z", ns="other")],
        "replicationcontrollers": [rc("web", 2, 2)],
        "events": [],
    }
    snap = snapshot_message(objects, "default")
    assert snap["namespaces"] == ["default", "kube-system"]
    assert snap["workloads"] == ["replicationcontrollers"]
    assert [r["key"] for r in snap["tables"]["pods"]["items"]] == ["default/a"]
    assert [r["key"] for r in snap["tables"]["nodes"]["items"]] == ["n1"]
    assert "namespaces" not in snap["tables"]

    up = change_message(Change("pods", "upsert", pod("b")), "default")
    assert up is not None and up["key"] == "default/b" and up["row"]["status"] == "Running"
    assert change_message(Change("pods", "upsert", pod("b", ns="other")), "default") is None
    gone = change_message(Change("pods", "delete", pod("b")), None)
    assert gone == {"resource": "pods", "type": "delete", "key": "default/b"}
