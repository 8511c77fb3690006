"""Which container a ``logs`` or ``exec`` request means: pure decisions, kubectl's error texts.

Two levels, both without I/O:

* :func:`default_container` and :func:`check_container` work on the pod object (the CLI has it):
  the only container, else the ``kubectl.kubernetes.io/default-container`` annotation, else
  kubectl's "a container name must be specified" error; a name the pod does not have is the api
  server's "container x is not valid for pod p".
* :func:`pick_instance` works on the runtime's view (the kubelet has it): among the Docker
  containers labelled with the pod and container, the current attempt, or with ``previous`` the
  one before it; kubectl's "waiting to start" and "previous terminated container" errors when
  there is none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from actors.kubelet import labels as L
from actors.kubelet.types import ContainerSummary
from schemas.errors import BadRequest

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def container_names(pod: dict[str, Any], *, init: bool = True) -> list[str]:
    spec = pod.get("spec") or {}
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    if init:
        names += [str(c.get("name")) for c in spec.get("initContainers") or []]
    return names


def default_container(pod: dict[str, Any]) -> str:
    """The container kubectl picks when ``-c`` is not given."""
    meta = pod.get("metadata") or {}
    annotated = (meta.get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    if annotated and annotated in container_names(pod):
        return str(annotated)
    names = container_names(pod, init=False)
    if len(names) == 1:
        return names[0]
    inits = [n for n in container_names(pod) if n not in names]
    message = (
        f"a container name must be specified for pod {meta.get('name')}, choose one of: [{' '.join(names)}]"
    )
    if inits:
        message += f" or one of the init containers: [{' '.join(inits)}]"
    raise BadRequest(message)


def check_container(pod: dict[str, Any], container: str | None) -> str:
    """``container`` if the pod has it (the default one when None); else the api server's error."""
    if not container:
        return default_container(pod)
    if container not in container_names(pod):
        name = (pod.get("metadata") or {}).get("name")
        raise BadRequest(f"container {container} is not valid for pod {name}")
    return container


def waiting_error(pod_name: str, container: str, reason: str = "ContainerCreating") -> BadRequest:
    return BadRequest(f'container "{container}" in pod "{pod_name}" is waiting to start: {reason}')


def _created(c: ContainerSummary) -> datetime:
    return c.created or _EPOCH


def pod_instances(
    summaries: Iterable[ContainerSummary], namespace: str, pod: str, uid: str | None = None
) -> list[ContainerSummary]:
    """The app containers of one pod. Without ``uid``, of the newest pod of that name (a pod
    deleted and created again under the same name leaves the old one's dead containers behind)."""
    mine = [
        c
        for c in summaries
        if c.namespace == namespace and c.pod_name == pod and (uid is None or c.pod_uid == uid)
    ]
    if uid is None and mine:
        newest = max(mine, key=_created).pod_uid
        mine = [c for c in mine if c.pod_uid == newest]
    return [c for c in mine if c.type == L.TYPE_CONTAINER]


def pick_instance(
    instances: Sequence[ContainerSummary], pod: str, container: str, *, previous: bool = False
) -> ContainerSummary:
    """The current attempt of ``container`` (highest attempt, then newest), or the one before it."""
    attempts = sorted(
        (c for c in instances if c.container_name == container),
        key=lambda c: (c.attempt, _created(c)),
        reverse=True,
    )
    if previous:
        if len(attempts) < 2:
            raise BadRequest(f'previous terminated container "{container}" in pod "{pod}" not found')
        return attempts[1]
    if not attempts:
        raise waiting_error(pod, container)
    return attempts[0]


def since_epoch(since_seconds: float | None, now: float) -> float | None:
    """``since`` (seconds before now, as kubectl's ``--since``) as epoch seconds for the engine."""
    if since_seconds is None or since_seconds <= 0:
        return None
    return now - float(since_seconds)


def _status_of(pod: dict[str, Any], container: str) -> dict[str, Any] | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or []:
            if cs.get("name") == container:
                return dict(cs)
    return None


def logs_precheck(pod: dict[str, Any], container: str, *, previous: bool = False) -> BadRequest | None:
    """What the kubelet answers (validateContainerLogStatus) from the pod's status alone: a
    container waiting with no terminated attempt to show, or ``-p`` with no previous one. None
    means "ask the node" (and no status yet is not an error: the node knows better)."""
    cs = _status_of(pod, container)
    if cs is None:
        return None
    name = str((pod.get("metadata") or {}).get("name"))
    last = (cs.get("lastState") or {}).get("terminated")
    state = cs.get("state") or {}
    if previous:
        if not last:
            return BadRequest(f'previous terminated container "{container}" in pod "{name}" not found')
        return None
    waiting = state.get("waiting")
    if waiting is not None and not last and not state.get("running") and not state.get("terminated"):
        reason = str(waiting.get("reason") or "ContainerCreating")
        if reason == "ErrImagePull":
            reason = "image can't be pulled"
        elif reason == "ImagePullBackOff":
            reason = "trying and failing to pull image"
        return waiting_error(name, container, reason)
    return None
