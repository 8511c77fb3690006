"""Subresources other than ``status``: ``scale``, ``pods/log``, ``pods/eviction``, ``pods/binding``.

* ``scale`` reads the object and answers an ``autoscaling/v1`` Scale; a PUT or PATCH of the Scale
  becomes an update of the object's ``spec.replicas`` at the revision read (compare-and-set: a
  Scale that carries a stale resourceVersion is a Conflict).
* ``pods/portforward`` is SPDY over WebSocket to the pod's kubelet (portforward.py).
* ``pods/log`` asks the pod's kubelet over NATS (actors/kubelet/server_client.py), as
  ``jetkube logs`` does, after the api has authorized ``get`` on ``pods/log`` for the user.
  Follow streams the lines as they come (chunked text).
* ``pods/eviction`` deletes the pod with the Eviction's DeleteOptions (``kubectl drain``).
* ``pods/binding`` sets ``spec.nodeName`` of an unbound pod, as the scheduler's bind does: an
  ``update`` through the api at the revision read (compare-and-set), so a pod is never bound twice.
  Its callers (kubectl, an outside scheduler) hold no jetkube lease and send no fencing token;
  jetkube's own scheduler binds in the store and fences its binds itself (actors/scheduler/actor.py).
* ``serviceaccounts/token`` is a TokenRequest (the api's ``token`` verb: ``kubectl create token``).
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from aiohttp import web

from actors.gateway.paths import Target
from actors.gateway.wire import (
    PATCH_TYPES,
    delete_dry_run,
    field_manager,
    json_response,
    read_body,
    require_pod_right,
)
from actors.kubelet.server_client import node_logs
from actors.kubelet.server_select import check_container, logs_precheck
from bus.client import ApiClient
from bus.connection import Bus
from schemas.errors import BadRequest, Conflict, MethodNotAllowed, NotFound
from schemas.labels import selector_from_dict, selector_from_map
from schemas.patch import apply_patch

SCALABLE = frozenset({"deployments", "replicasets", "replicationcontrollers", "statefulsets"})
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The ``autoscaling/v1`` Scale of a scalable object (pure)."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    selector = spec.get("selector") or {}
    if isinstance(selector, dict) and ("matchLabels" in selector or "matchExpressions" in selector):
        text = str(selector_from_dict(selector))
    else:
        text = str(selector_from_map(selector)) if selector else ""
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": int(spec.get("replicas", 1) or 0)},
        "status": {"replicas": int((obj.get("status") or {}).get("replicas") or 0), "selector": text},
    }


def custom_scale(info: Any) -> dict[str, Any] | None:
    """A CRD kind's ``scale`` subresource (its replica paths), or None."""
    if getattr(info, "custom", None) is None:
        return None
    from schemas.crd import subresources_of

    scale = subresources_of(info).get("scale")
    return scale if isinstance(scale, dict) else None


def custom_scale_of(obj: dict[str, Any], scale: dict[str, Any]) -> dict[str, Any]:
    """The ``autoscaling/v1`` Scale of a custom object, read at its CRD's paths (pure)."""
    from schemas.crd import json_path

    meta = obj.get("metadata") or {}
    status_path = scale.get("statusReplicasPath")
    selector_path = scale.get("labelSelectorPath")
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": int(json_path(obj, str(scale.get("specReplicasPath") or "")) or 0)},
        "status": {
            "replicas": int((json_path(obj, str(status_path)) if status_path else 0) or 0),
            "selector": str((json_path(obj, str(selector_path)) if selector_path else "") or ""),
        },
    }


def _set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = [p for p in path.strip().lstrip("$").split(".") if p]
    cur = obj
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = value


class Subresources:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def handle(
        self, request: web.Request, api: ApiClient, target: Target, verb: str
    ) -> web.StreamResponse:
        plural, sub = target.info.plural, target.subresource
        if target.name is None:
            raise NotFound("the server could not find the requested resource")
        if sub == "scale" and (plural in SCALABLE or custom_scale(target.info) is not None):
            if verb == "get":
                return json_response(self.scale(target, await api.get(plural, target.name, target.namespace)))
            if verb in ("update", "patch"):
                body = await read_body(request)
                return json_response(await self.write_scale(request, api, target, verb, body))
        if plural == "pods" and sub == "exec" and verb in ("get", "create"):
            from actors.gateway.streaming import exec_websocket

            return await exec_websocket(request, self.bus, api, target)
        if plural == "serviceaccounts" and sub == "token" and verb == "create":
            body = await read_body(request)
            spec = body.get("spec") if isinstance(body, dict) else None
            answer = await api.request_token(target.namespace or "default", target.name, spec or {})
            return json_response(answer, 201)
        if plural == "pods" and sub == "attach" and verb in ("get", "create"):
            from actors.gateway.streaming import attach_websocket

            return await attach_websocket(request, self.bus, api, target)
        if plural == "pods" and sub == "portforward" and verb in ("get", "create"):
            from actors.gateway.portforward import portforward_websocket

            return await portforward_websocket(request, self.bus, api, target)
        if plural == "pods" and sub == "log" and verb == "get":
            return await self.logs(request, api, target)
        if plural == "pods" and sub == "eviction" and verb == "create":
            return json_response(await self.evict(request, api, target, await read_body(request)), 201)
        if plural == "pods" and sub == "binding" and verb == "create":
            return json_response(await self.bind(api, target, await read_body(request)), 201)
        if plural in ("namespaces",) and sub == "finalize":
            raise MethodNotAllowed("namespaces/finalize is not served: the namespace controller finalizes")
        raise NotFound("the server could not find the requested resource")

    async def write_scale(
        self, request: web.Request, api: ApiClient, target: Target, verb: str, body: Any
    ) -> dict[str, Any]:
        obj = await api.get(target.info.plural, str(target.name), target.namespace)
        current = self.scale(target, obj)
        if verb == "patch":
            patch_type = PATCH_TYPES.get(request.content_type)
            if patch_type is None:
                raise BadRequest(f'Content-Type: Unsupported value: "{request.content_type}"')
            wanted = apply_patch(
                copy.deepcopy(current), body, "merge" if patch_type == "strategic" else patch_type
            )
        else:
            wanted = body
        if not isinstance(wanted, dict):
            raise BadRequest("the request body must be a Scale")
        rv = (wanted.get("metadata") or {}).get("resourceVersion")
        if rv not in (None, "") and str(rv) != str(current["metadata"].get("resourceVersion")):
            raise Conflict(
                f'Operation cannot be fulfilled on {target.info.group_resource} "{target.name}": '
                "the object has been modified; please apply your changes to the latest version and try again"
            )
        replicas = (wanted.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise BadRequest("spec.replicas: Required value: must be an integer")
        new = copy.deepcopy(obj)
        custom = custom_scale(target.info)
        _set_path(new, str((custom or {}).get("specReplicasPath") or ".spec.replicas"), replicas)
        payload = {
            "resource": target.info.plural,
            "namespace": target.namespace,
            "name": str(target.name),
            "body": new,
            "fieldManager": field_manager(request),
            "fieldSubresource": "scale",  # recorded in the writer's managedFields entry
        }
        return self.scale(target, await api.call("update", payload))

    @staticmethod
    def scale(target: Target, obj: dict[str, Any]) -> dict[str, Any]:
        custom = custom_scale(target.info)
        return custom_scale_of(obj, custom) if custom is not None else scale_of(obj)

    async def logs(self, request: web.Request, api: ApiClient, target: Target) -> web.StreamResponse:
        q = request.query
        ns = target.namespace or "default"
        await require_pod_right(api, "get", "pods/log", ns, target.name)
        pod = await api.get("pods", str(target.name), ns)
        container = check_container(pod, q.get("container") or None)
        previous = q.get("previous") in ("true", "1")
        problem = logs_precheck(pod, container, previous=previous)
        if problem is not None:
            raise problem
        meta = pod.get("metadata") or {}
        node = (pod.get("spec") or {}).get("nodeName")
        follow = q.get("follow") in ("true", "1")
        payload = {
            "namespace": ns,
            "pod": meta.get("name"),
            "uid": (meta.get("annotations") or {}).get(MIRROR_ANNOTATION) or meta.get("uid"),
            "container": container,
            "tail": int(q["tailLines"]) if q.get("tailLines") else None,
            "since": int(q["sinceSeconds"]) if q.get("sinceSeconds") else None,
            "previous": previous,
            "follow": follow,
            "timestamps": q.get("timestamps") in ("true", "1"),
        }
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        if not node:
            await response.prepare(request)
            await response.write_eof()
            return response
        lines: asyncio.Queue[list[str] | None] = asyncio.Queue()
        limit = int(q["limitBytes"]) if q.get("limitBytes") else None

        async def read() -> None:
            try:
                await node_logs(self.bus, node, payload, lines.put_nowait)
            finally:
                lines.put_nowait(None)

        if not follow:  # the whole answer first, so an error is still an HTTP error
            got: list[str] = []
            await node_logs(self.bus, node, payload, got.extend)
            text = "".join(line + "\n" for line in got)
            return web.Response(text=text[:limit] if limit else text, content_type="text/plain")
        response.enable_chunked_encoding()
        await response.prepare(request)
        async with asyncio.TaskGroup() as tg:
            reader = tg.create_task(read(), name=f"gateway-logs-{ns}-{target.name}")
            try:
                while (chunk := await lines.get()) is not None:
                    await response.write("".join(line + "\n" for line in chunk).encode())
            except ConnectionError:
                pass
            finally:
                reader.cancel()
        return response

    async def evict(self, request: web.Request, api: ApiClient, target: Target, body: Any) -> dict[str, Any]:
        """An Eviction: the pod deleted with its deleteOptions, authorized by the api as
        ``create pods/eviction`` (not ``delete pods``), as Kubernetes does."""
        opts = (body or {}).get("deleteOptions") or {} if isinstance(body, dict) else {}
        if not isinstance(opts, dict):
            raise BadRequest("deleteOptions: must be an object")
        await api.delete(
            "pods",
            str(target.name),
            target.namespace,
            grace_period_seconds=opts.get("gracePeriodSeconds"),
            resource_version=(opts.get("preconditions") or {}).get("resourceVersion"),
            dry_run=delete_dry_run(request.query, opts),
            subresource="eviction",
        )
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    async def bind(self, api: ApiClient, target: Target, body: Any) -> dict[str, Any]:
        node = ((body or {}).get("target") or {}).get("name") if isinstance(body, dict) else None
        if not node:
            raise BadRequest("target.name: Required value")
        pod = await api.get("pods", str(target.name), target.namespace)
        bound = (pod.get("spec") or {}).get("nodeName")
        if bound:
            raise Conflict(
                f'Operation cannot be fulfilled on pods/binding "{target.name}": '
                f'pod {target.name} is already assigned to node "{bound}"'
            )
        new = copy.deepcopy(pod)
        new["spec"]["nodeName"] = node
        await api.update("pods", new, target.namespace)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
