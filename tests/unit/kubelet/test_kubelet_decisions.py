"""The kubelet's pure decisions as tables: env, downward API, volume files, restarts, status, probes, node."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actors.kubelet.atomic_writer import write_atomic
from actors.kubelet.downward import field_ref_value, format_map
from actors.kubelet.envvars import ContainerConfigError, expand, referenced_objects, resolve_env
from actors.kubelet.node_status import node_status, parse_node_labels
from actors.kubelet.pod_status import ContainerView, compute_phase, compute_status, container_status
from actors.kubelet.probe_state import ProbeSpec, ProbeTracker, action_for
from actors.kubelet.restart import BackoffTable, crash_loop_message, format_duration, should_restart
from actors.kubelet.types import ContainerState, NodeCapacity
from actors.kubelet.volume_files import MountError, volume_files

POD = {
    "metadata": {
        "name": "p",
        "namespace": "ns",
        "uid": "u1",
        "labels": {"app": "x", "tier": "b"},
        "annotations": {"a": 'say "hi"'},
    },
    "spec": {"nodeName": "n1", "serviceAccountName": "sa"},
    "status": {"podIP": "10.0.0.5", "hostIP": "192.168.1.2"},
}


@pytest.mark.parametrize(
    ("text", "env", "out"),
    [
        ("$(A)-$(B)", {"A": "1", "B": "2"}, "1-2"),
        ("$(MISSING)", {}, "$(MISSING)"),
        ("$$(A)", {"A": "1"}, "$(A)"),
        ("a$", {}, "a$"),
        ("$(unclosed", {}, "$(unclosed"),
        ("$x", {}, "$x"),
    ],
)
def test_expand(text: str, env: dict, out: str) -> None:
    assert expand(text, env) == out


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("metadata.name", "p"),
        ("metadata.namespace", "ns"),
        ("metadata.uid", "u1"),
        ("metadata.labels['app']", "x"),
        ("metadata.annotations['a']", 'say "hi"'),
        ("spec.nodeName", "n1"),
        ("spec.serviceAccountName", "sa"),
        ("status.podIP", "10.0.0.5"),
        ("status.hostIP", "192.168.1.2"),
        ("metadata.labels", 'app="x"\ntier="b"'),
    ],
)
def test_field_refs(path: str, value: str) -> None:
    assert field_ref_value(POD, path) == value


def test_format_map_quotes_like_go() -> None:
    assert format_map({"b": "2", "a": 'q"uote'}) == 'a="q\\"uote"\nb="2"'


CM = {"data": {"k": "v", "other": "o"}}
SEC = {"data": {"pw": base64.b64encode(b"s3").decode()}}


@pytest.mark.parametrize(
    ("container", "objects", "expected"),
    [
        (
            {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "$(A)2"}]},
            {},
            [("A", "1"), ("B", "12")],
        ),
        (
            {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}]},
            {("configmaps", "cm"): CM},
            [("X", "v")],
        ),
        (
            {"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw"}}}]},
            {("secrets", "s"): SEC},
            [("X", "s3")],
        ),
        (
            {
                "env": [
                    {
                        "name": "X",
                        "valueFrom": {"configMapKeyRef": {"name": "no", "key": "k", "optional": True}},
                    }
                ]
            },
            {("configmaps", "no"): None},
            [],
        ),
        (
            {"envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "P_"}]},
            {("configmaps", "cm"): CM},
            [("P_k", "v"), ("P_other", "o")],
        ),
        (
            {"env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]},
            {},
            [("N", "p")],
        ),
        (
            {
                "resources": {"limits": {"cpu": "250m"}},
                "env": [
                    {
                        "name": "C",
                        "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}},
                    }
                ],
            },
            {},
            [("C", "250")],
        ),
        (
            {"env": [{"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]},
            {},
            [("C", "4")],
        ),
    ],
)
def test_resolve_env(container: dict, objects: dict, expected: list) -> None:
    assert resolve_env(POD, container, objects, allocatable={"cpu": "4"}) == expected


@pytest.mark.parametrize(
    ("container", "objects", "message"),
    [
        (
            {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}]},
            {("configmaps", "cm"): None},
            'configmap "cm" not found',
        ),
        (
            {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "nope"}}}]},
            {("configmaps", "cm"): CM},
            "couldn't find key nope in ConfigMap ns/cm",
        ),
        (
            {"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]},
            {("secrets", "s"): None},
            'secret "s" not found',
        ),
        ({"envFrom": [{"secretRef": {"name": "s"}}]}, {("secrets", "s"): None}, 'secret "s" not found'),
    ],
)
def test_resolve_env_errors(container: dict, objects: dict, message: str) -> None:
    with pytest.raises(ContainerConfigError) as err:
        resolve_env(POD, container, objects)
    assert err.value.message == message


def test_referenced_objects() -> None:
    c = {
        "envFrom": [{"secretRef": {"name": "s"}}],
        "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}],
    }
    assert referenced_objects(c) == {("secrets", "s"), ("configmaps", "cm")}


@pytest.mark.parametrize(
    ("volume", "objects", "files"),
    [
        (
            {"configMap": {"name": "cm"}},
            {("configmaps", "cm"): CM},
            {"k": (b"v", 0o644), "other": (b"o", 0o644)},
        ),
        (
            {
                "configMap": {
                    "name": "cm",
                    "items": [{"key": "k", "path": "d/f", "mode": 0o600}],
                    "defaultMode": 0o400,
                }
            },
            {("configmaps", "cm"): CM},
            {"d/f": (b"v", 0o600)},
        ),
        (
            {"secret": {"secretName": "s", "defaultMode": 0o400}},
            {("secrets", "s"): SEC},
            {"pw": (b"s3", 0o400)},
        ),
        ({"secret": {"secretName": "s", "optional": True}}, {("secrets", "s"): None}, {}),
        (
            {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
            {},
            {"labels": (b'app="x"\ntier="b"', 0o644)},
        ),
        (
            {
                "projected": {
                    "sources": [
                        {"configMap": {"name": "cm", "items": [{"key": "k", "path": "k"}]}},
                        {
                            "downwardAPI": {
                                "items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]
                            }
                        },
                    ]
                }
            },
            {("configmaps", "cm"): CM},
            {"k": (b"v", 0o644), "n": (b"p", 0o644)},
        ),
        ({"emptyDir": {}}, {}, None),
    ],
)
def test_volume_files(volume: dict, objects: dict, files: dict | None) -> None:
    assert volume_files(volume, POD, objects) == files


def test_volume_files_missing_config_map() -> None:
    with pytest.raises(MountError) as err:
        volume_files({"configMap": {"name": "late"}}, POD, {("configmaps", "late"): None})
    assert err.value.message == 'configmap "late" not found'


def test_atomic_writer_swaps_and_skips_unchanged(tmp_path: Path) -> None:
    d = tmp_path / "v"
    assert write_atomic(d, {"a": (b"1", 0o644), "sub/b": (b"2", 0o600)})
    assert (d / "a").read_text() == "1" and (d / "sub" / "b").read_text() == "2"
    assert (d / "a").is_symlink() and (d / "..data").is_symlink()
    assert not write_atomic(d, {"a": (b"1", 0o644), "sub/b": (b"2", 0o600)})
    assert write_atomic(d, {"a": (b"3", 0o644)})
    assert (d / "a").read_text() == "3" and not (d / "sub").exists()
    assert len([p for p in d.iterdir() if p.name.startswith("..") and p.is_dir() and not p.is_symlink()]) == 1


@pytest.mark.parametrize(
    ("policy", "code", "restart"),
    [
        ("Always", 0, True),
        ("Always", 1, True),
        ("OnFailure", 0, False),
        ("OnFailure", 2, True),
        ("Never", 1, False),
        ("Never", 0, False),
    ],
)
def test_should_restart(policy: str, code: int, restart: bool) -> None:
    assert should_restart(policy, code) is restart


def test_crash_back_off_doubles_caps_and_resets() -> None:
    t = BackoffTable()
    assert t.remaining("k", 100.0, 100.0) == 0  # first death: restart at once
    assert t.next("k", 100.0) == 10
    assert t.remaining("k", 101.0, 103.0) == 8  # died again at 101: wait until 111
    assert t.next("k", 111.0) == 20
    delays = [t.next("k", 111.0 + i) for i in range(6)]
    assert delays == [40, 80, 160, 300, 300, 300]
    assert t.remaining("k", 2000.0, 2000.0) == 0  # untouched for 10+ min: forgotten
    assert t.next("k", 2000.0) == 10


def test_crash_loop_message_and_durations() -> None:
    assert (
        crash_loop_message(20, "c", "p", "ns", "u")
        == "back-off 20s restarting failed container=c pod=p_ns(u)"
    )
    assert [format_duration(s) for s in (10, 80, 300)] == ["10s", "1m20s", "5m0s"]


T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)


def cs(
    running: bool,
    exit_code: int | None = None,
    *,
    oom: bool = False,
    cid: str = "abc",
    status: str = "",
    error: str = "",
) -> ContainerState:
    return ContainerState(
        id=cid,
        name="x",
        status=status or ("running" if running else "exited"),
        running=running,
        exit_code=exit_code,
        oom_killed=oom,
        started_at=T0,
        finished_at=None if running else T1,
        error=error,
        image="busybox",
        image_id="sha256:1",
    )


@pytest.mark.parametrize(
    ("view", "state", "reason"),
    [
        (ContainerView("c", "i", cs(True)), "running", None),
        (ContainerView("c", "i", cs(False, 0)), "terminated", "Completed"),
        (ContainerView("c", "i", cs(False, 1)), "terminated", "Error"),
        (ContainerView("c", "i", cs(False, 137, oom=True)), "terminated", "OOMKilled"),
        (
            ContainerView("c", "i", cs(False, 127, status="created", error="exec: nope")),
            "terminated",
            "ContainerCannotRun",
        ),
        (ContainerView("c", "i", None, waiting=("ErrImagePull", "m")), "waiting", "ErrImagePull"),
        (
            ContainerView("c", "i", cs(False, 1), waiting=("CrashLoopBackOff", "m")),
            "waiting",
            "CrashLoopBackOff",
        ),
    ],
)
def test_container_status_states(view: ContainerView, state: str, reason: str | None) -> None:
    out = container_status(view)
    assert list(out["state"]) == [state]
    assert out["state"][state].get("reason") == reason


def test_crash_looping_container_keeps_last_state_and_message() -> None:
    v = ContainerView(
        "c",
        "i",
        cs(False, 1),
        current_message="bye",
        restart_count=3,
        waiting=("CrashLoopBackOff", "back-off 20s"),
    )
    out = container_status(v)
    assert out["lastState"]["terminated"]["message"] == "bye" and out["restartCount"] == 3
    assert out["lastState"]["terminated"]["containerID"] == "docker://abc"


def st(state: str, code: int = 0, last: bool = False) -> dict:
    body = {"terminated": {"exitCode": code}} if state == "terminated" else {state: {}}
    return {"state": body, "lastState": {"terminated": {"exitCode": 1}} if last else {}}


@pytest.mark.parametrize(
    ("policy", "init", "apps", "phase"),
    [
        ("Always", [], [st("running")], "Running"),
        ("Always", [], [st("waiting")], "Pending"),
        ("Always", [], [st("waiting", last=True)], "Running"),
        ("Always", [], [st("terminated", 1)], "Running"),
        ("Never", [], [st("terminated", 0)], "Succeeded"),
        ("Never", [], [st("terminated", 0), st("terminated", 2)], "Failed"),
        ("OnFailure", [], [st("terminated", 2)], "Running"),
        ("OnFailure", [], [st("terminated", 0)], "Succeeded"),
        ("Always", [st("running")], [st("waiting")], "Pending"),
        ("Never", [st("terminated", 1)], [st("waiting")], "Failed"),
        ("Always", [st("terminated", 1)], [st("waiting")], "Pending"),
        ("Always", [st("terminated", 0)], [st("running")], "Running"),
    ],
)
def test_phase(policy: str, init: list, apps: list, phase: str) -> None:
    assert compute_phase(policy, init, apps) == phase


def test_status_conditions_and_kept_fields() -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {"restartPolicy": "Always"},
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }
    s = compute_status(
        pod,
        [],
        [ContainerView("c", "i", cs(True), ready=True)],
        pod_ip="10.1.1.1",
        host_ip="1.2.3.4",
        now="2026-01-01T00:00:00Z",
    )
    assert s["qosClass"] == "BestEffort" and s["phase"] == "Running" and s["podIP"] == "10.1.1.1"
    assert {c["type"]: c["status"] for c in s["conditions"]} == {
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
        "PodScheduled": "True",
    }
    again = compute_status(
        {**pod, "status": s},
        [],
        [ContainerView("c", "i", cs(True), ready=True)],
        pod_ip="10.1.1.1",
        host_ip="1.2.3.4",
        now="2026-01-01T00:05:00Z",
    )
    assert again == s  # stable: nothing to write


@pytest.mark.parametrize(
    ("kind", "results", "changes"),
    [
        ("liveness", [False, False, False], [None, None, False]),
        ("liveness", [False, True, False, False], [None, None, None, None]),
        ("readiness", [True], [True]),
        ("readiness", [True, False, False, False], [True, None, None, False]),
        ("startup", [False, False, True], [None, None, True]),
        ("startup", [False, False, False], [None, None, False]),
    ],
)
def test_probe_tracker(kind: str, results: list[bool], changes: list) -> None:
    t = ProbeTracker(kind, ProbeSpec(failure_threshold=3))  # type: ignore[arg-type]
    assert [t.observe(r) for r in results] == changes


def test_probe_actions() -> None:
    assert action_for("liveness", False) == "kill" and action_for("startup", False) == "kill"
    assert action_for("readiness", True) == "set_ready" and action_for("startup", True) == "started"


def test_node_status_ready_and_not_ready() -> None:
    cap = NodeCapacity(cpus=2, memory_bytes=4 * 2**30, server_version="20.10.24")
    up = node_status(None, cap, node_name="n", host_ip="1.2.3.4", ready=True, message="", now="T1")
    ready = next(c for c in up["conditions"] if c["type"] == "Ready")
    assert (
        ready["status"] == "True" and ready["reason"] == "KubeletReady" and ready["lastHeartbeatTime"] == "T1"
    )
    assert up["capacity"] == {"cpu": "2", "memory": "4194304Ki", "pods": "110"}
    assert up["nodeInfo"]["containerRuntimeVersion"] == "docker://20.10.24"
    down = node_status(up, cap, node_name="n", host_ip="1.2.3.4", ready=False, message="gone", now="T2")
    cond = next(c for c in down["conditions"] if c["type"] == "Ready")
    assert (cond["status"], cond["reason"], cond["message"], cond["lastTransitionTime"]) == (
        "False",
        "KubeletNotReady",
        "gone",
        "T2",
    )
    again = node_status(down, cap, node_name="n", host_ip="1.2.3.4", ready=False, message="gone", now="T3")
    assert next(c for c in again["conditions"] if c["type"] == "Ready")["lastTransitionTime"] == "T2"


def test_parse_node_labels() -> None:
    assert parse_node_labels("") == {}
    assert parse_node_labels("zone=a,disk=ssd") == {"zone": "a", "disk": "ssd"}
