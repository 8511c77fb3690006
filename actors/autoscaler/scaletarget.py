"""What an HPA scales: any kind with a ``scale`` subresource, read and written the same way.

Kubernetes' scale subresource is ``{spec.replicas, status.replicas, status.selector}`` over the
owner's own fields. jetkube has no separate subresource on the wire; :func:`read_scale` and
:func:`write_replicas` are that view, generic over the kinds in :data:`SCALABLE_KINDS` (a kind that
the api does not serve yet, e.g. StatefulSet before its branch lands, is an error naming it). The
write is a compare-and-set update of ``spec.replicas`` on the revision read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas import registry
from schemas.errors import BadRequest
from schemas.labels import Selector, selector_from_dict, selector_from_map

#: Kinds whose objects have ``spec.replicas`` and a pod selector: Kubernetes' scale subresource.
SCALABLE_KINDS = frozenset({"Deployment", "ReplicaSet", "ReplicationController", "StatefulSet"})

Obj = dict[str, Any]


@dataclass(frozen=True)
class Scale:
    plural: str
    name: str
    namespace: str
    spec_replicas: int
    status_replicas: int
    selector: Selector
    obj: Obj  # the object read (its resourceVersion is what the write compares against)


def resource_of(ref: dict[str, Any]) -> registry.ResourceInfo:
    kind = str(ref.get("kind") or "")
    if kind not in SCALABLE_KINDS:
        raise BadRequest(f'the HPA controller cannot scale kind "{kind}": no scale subresource')
    info = registry.BY_KIND.get(kind)
    if info is None:
        raise BadRequest(registry.no_match_message(str(ref.get("apiVersion") or ""), kind))
    return info


def selector_of(obj: Obj) -> Selector:
    """The pod selector: a LabelSelector, or a plain map (ReplicationController)."""
    sel = (obj.get("spec") or {}).get("selector") or {}
    if "matchLabels" in sel or "matchExpressions" in sel:
        return selector_from_dict(sel)
    return selector_from_map(sel)


async def read_scale(api: Any, ref: dict[str, Any], namespace: str) -> Scale:
    info = resource_of(ref)
    obj = await api.get(info.plural, str(ref.get("name") or ""), namespace)
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return Scale(
        plural=info.plural,
        name=obj["metadata"]["name"],
        namespace=namespace,
        spec_replicas=int(spec.get("replicas", 1)),
        status_replicas=int(status.get("replicas") or 0),
        selector=selector_of(obj),
        obj=obj,
    )


async def write_replicas(api: Any, scale: Scale, replicas: int) -> Obj:
    """Set ``spec.replicas`` on the revision read (a Conflict if someone wrote in between)."""
    body = {**scale.obj, "spec": {**(scale.obj.get("spec") or {}), "replicas": replicas}}
    return dict(await api.update(scale.plural, body, scale.namespace))
