"""The Pod Security Standards subset, as a table of pods and the violations each level reports."""

from __future__ import annotations

from actors.admission.podsecurity import level_of, violations

HARDENED_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
POD_SC = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def pod(containers: list[dict] | None = None, **spec: object) -> dict:
    return {"spec": {"containers": containers or [{"name": "c", "image": "x"}], **spec}}


def test_privileged_allows_everything() -> None:
    assert violations("privileged", pod(hostNetwork=True, hostPID=True)) == []


def test_baseline() -> None:
    assert violations("baseline", pod()) == []
    assert violations("baseline", pod(hostNetwork=True, hostIPC=True)) == [
        "host namespaces (hostNetwork=true, hostIPC=true)"
    ]
    caps = pod([{"name": "c", "securityContext": {"capabilities": {"add": ["NET_ADMIN", "CHOWN"]}}}])
    assert violations("baseline", caps) == [
        'non-default capabilities (container "c" must not include "NET_ADMIN" '
        "in securityContext.capabilities.add)"
    ]
    two_ports = pod(
        [{"name": "w", "ports": [{"containerPort": 1, "hostPort": 80}, {"containerPort": 2, "hostPort": 81}]}]
    )
    assert violations("baseline", two_ports) == ['hostPort (container "w" uses hostPorts 80, 81)']


def test_restricted() -> None:
    ok = pod([{"name": "c", "securityContext": HARDENED_SC}], securityContext=POD_SC)
    assert violations("restricted", ok) == []
    found = violations("restricted", pod(volumes=[{"name": "d", "gitRepo": {"repository": "x"}}]))
    assert [v.split(" (")[0] for v in found] == [
        "restricted volume types",
        "allowPrivilegeEscalation != false",
        "unrestricted capabilities",
        "runAsNonRoot != true",
        "seccompProfile",
    ]
    root = pod([{"name": "c", "securityContext": {**HARDENED_SC, "runAsUser": 0}}], securityContext=POD_SC)
    assert violations("restricted", root) == ["runAsUser=0 (pod and containers must not set runAsUser=0)"]


def test_level_of_a_namespace() -> None:
    assert level_of(None) == "privileged"
    assert (
        level_of({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
        == "restricted"
    )
