"""What the scheduler reads from a pod: requests, non-zero requests, ports, owner, signatures."""

from __future__ import annotations

import pytest

from actors.scheduler.podinfo import DEFAULT_MEMORY, DEFAULT_MILLI_CPU, pod_info, pod_requests


def container(cpu: str | None = None, mem: str | None = None, *, limits: dict | None = None) -> dict:
    req = {k: v for k, v in (("cpu", cpu), ("memory", mem)) if v is not None}
    return {"name": "c", "resources": {"requests": req, **({"limits": limits} if limits else {})}}


REQUESTS = [
    ("one container", {"containers": [container("250m", "64Mi")]}, (250, 64 * 2**20, 250, 64 * 2**20)),
    (
        "two containers add",
        {"containers": [container("1", "1Gi"), container("0.5", "1G")]},
        (1500, 2**30 + 10**9, 1500, 2**30 + 10**9),
    ),
    (
        "no requests: non-zero defaults",
        {"containers": [container()]},
        (0, 0, DEFAULT_MILLI_CPU, DEFAULT_MEMORY),
    ),
    (
        "limits default the requests",
        {"containers": [container(limits={"cpu": "2", "memory": "1Mi"})]},
        (2000, 2**20, 2000, 2**20),
    ),
    (
        "init container max",
        {"containers": [container("100m")], "initContainers": [container("1")]},
        (1000, 0, 1000, DEFAULT_MEMORY),
    ),
    (
        "overhead added",
        {"containers": [container("100m")], "overhead": {"cpu": "50m"}},
        (150, 0, 150, DEFAULT_MEMORY + 0),
    ),
    ("rounded up", {"containers": [container("0.0001")]}, (1, 0, 1, DEFAULT_MEMORY)),
    ("malformed counts 0", {"containers": [container("lots")]}, (0, 0, DEFAULT_MILLI_CPU, DEFAULT_MEMORY)),
]


@pytest.mark.parametrize(("case", "spec", "expected"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_requests(case: str, spec: dict, expected: tuple) -> None:
    assert pod_requests(spec) == expected


def test_ports_owner_and_class_key() -> None:
    p = {
        "metadata": {
            "name": "x",
            "namespace": "ns",
            "ownerReferences": [{"kind": "ReplicaSet", "name": "r", "uid": "u1", "controller": True}],
        },
        "spec": {
            "containers": [
                {"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}]}
            ]
        },
    }
    info = pod_info(p)
    assert info.key == "ns/x" and info.owner == "u1" and info.ports == (("UDP", 8080, "0.0.0.0"),)
    q = {**p, "metadata": {**p["metadata"], "name": "y"}}
    assert pod_info(q).class_key == info.class_key
