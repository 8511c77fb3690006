"""The labels jetkube puts on every container it creates, and the filters that find them again.

Labels are the kubelet's memory: a restarted kubelet lists the engine by ``io.jetkube.node`` and
adopts what it finds, so everything it needs to recognise a container (pod, container, attempt,
sandbox) is written here at creation. Several kubelets may share one engine; each filters on its
own node name and never touches another's containers. ``io.jetkube.cluster`` (the cluster id of
``jetkube up``'s data dir, cli/datadir.py) tells apart the clusters sharing one engine, so that
``jetkube down`` removes one cluster's containers and no other's.
"""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "io.jetkube."
NODE = "io.jetkube.node"
CLUSTER = "io.jetkube.cluster"
POD_NAMESPACE = "io.jetkube.pod.namespace"
POD_NAME = "io.jetkube.pod.name"
POD_UID = "io.jetkube.pod.uid"
CONTAINER_NAME = "io.jetkube.container.name"
CONTAINER_ATTEMPT = "io.jetkube.container.attempt"
TYPE = "io.jetkube.type"
SANDBOX_ID = "io.jetkube.sandbox.id"
TERMINATION_MESSAGE_PATH = "io.jetkube.container.termination-message-path"

TYPE_SANDBOX = "sandbox"
TYPE_CONTAINER = "container"
SANDBOX_CONTAINER_NAME = "POD"  # as dockershim names it; never a valid container name (uppercase)


def pod_labels(node: str, namespace: str, pod_name: str, pod_uid: str) -> dict[str, str]:
    return {NODE: node, POD_NAMESPACE: namespace, POD_NAME: pod_name, POD_UID: pod_uid}


def sandbox_labels(
    node: str, namespace: str, pod_name: str, pod_uid: str, attempt: int = 0
) -> dict[str, str]:
    return {
        **pod_labels(node, namespace, pod_name, pod_uid),
        CONTAINER_NAME: SANDBOX_CONTAINER_NAME,
        CONTAINER_ATTEMPT: str(attempt),
        TYPE: TYPE_SANDBOX,
    }


def container_labels(
    node: str,
    namespace: str,
    pod_name: str,
    pod_uid: str,
    container_name: str,
    attempt: int,
    *,
    sandbox_id: str,
    termination_message_path: str = "",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    labels = {
        **(extra or {}),
        **pod_labels(node, namespace, pod_name, pod_uid),
        CONTAINER_NAME: container_name,
        CONTAINER_ATTEMPT: str(attempt),
        TYPE: TYPE_CONTAINER,
        SANDBOX_ID: sandbox_id,
    }
    if termination_message_path:
        labels[TERMINATION_MESSAGE_PATH] = termination_message_path
    return labels


def list_filters(
    node: str,
    pod_uid: str | None = None,
    type_: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, list[str]]:
    """The engine-side filter for ``GET /containers/json`` and ``/events`` (label equality, ANDed)."""
    wanted = [f"{NODE}={node}"]
    wanted += [f"{k}={v}" for k, v in (extra or {}).items()]
    if pod_uid is not None:
        wanted.append(f"{POD_UID}={pod_uid}")
    if type_ is not None:
        wanted.append(f"{TYPE}={type_}")
    return {"label": wanted}
