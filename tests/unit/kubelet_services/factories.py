"""Container summaries and pods for the kubelet services' tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from actors.kubelet import labels as L
from actors.kubelet.types import ContainerSummary

T0 = 1_700_000_000.0


def summary(
    cid: str,
    container: str = "app",
    attempt: int = 0,
    *,
    state: str = "exited",
    created: float = 0.0,
    uid: str = "u1",
    pod: str = "p",
    namespace: str = "default",
    type_: str = L.TYPE_CONTAINER,
    sandbox: str = "sb1",
) -> ContainerSummary:
    labels = {L.SANDBOX_ID: sandbox} if type_ == L.TYPE_CONTAINER else {}
    return ContainerSummary(
        id=cid,
        name=cid,
        type=type_,
        node="n1",
        namespace=namespace,
        pod_name=pod,
        pod_uid=uid,
        container_name=container if type_ == L.TYPE_CONTAINER else L.SANDBOX_CONTAINER_NAME,
        attempt=attempt,
        state=state,
        created=datetime.fromtimestamp(T0 + created, tz=UTC),
        image="busybox",
        image_id="sha256:b",
        labels=labels,
    )


def pod(name: str = "p", containers: tuple[str, ...] = ("app",), **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "default", "uid": "u1"},
        "spec": {"containers": [{"name": c, "image": "busybox"} for c in containers]},
    }
    for k, v in extra.items():
        obj[k] = v
    return obj
