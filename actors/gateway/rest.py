"""The REST mapping: each Kubernetes call becomes one of the api's verbs over NATS.

Generic over kinds (the registry says which exist): ``GET`` a collection is ``list`` (``watch``
with ``?watch=1``), ``GET`` a name is ``get``, ``POST`` ``create``, ``PUT`` ``update``, ``PATCH``
``patch`` (JSON, merge or strategic merge by Content-Type; ``application/apply-patch+yaml`` is the
api's ``apply`` patch, server-side apply), ``DELETE`` ``delete`` (a collection:
``list`` then ``delete`` each, as kube-apiserver's deletecollection). Every call is made with an
:class:`~bus.client.ApiClient` that impersonates the HTTP user, so the api parses, defaults,
validates, admits, authorizes and compares-and-sets exactly as for the CLI. Nothing is decided here
that the api decides; what is here is translation (query parameters, DeleteOptions, Scale, Table,
watch framing) and the subresources that live on the kubelets (``pods/log``). Each write names its
field manager: ``?fieldManager=``, else the User-Agent up to its first ``/``, as kube-apiserver does.

Watches are chunked JSON lines ``{"type": ..., "object": ...}``; bookmarks only with
``allowWatchBookmarks``; an error ends the stream as an ``ERROR`` event carrying its Status (a 410
Gone for an expired revision, as Kubernetes sends it); ``timeoutSeconds`` ends it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web

from actors.api.authz.rbac import Attributes, forbidden_message
from actors.gateway import table
from actors.gateway.paths import Target, parse, verb_of
from actors.gateway.subresources import Subresources
from actors.gateway.wire import (
    APPLY_PATCH,
    PATCH_TYPES,
    USER,
    client_for,
    delete_dry_run,
    dry_run,
    dumps,
    field_manager,
    field_validation,
    json_response,
    read_body,
    status_response,
    unsupported_media,
    with_warnings,
)
from bus.client import ApiClient
from bus.connection import Bus
from schemas.errors import BadRequest, Forbidden, JetkubeError, MethodNotAllowed, NotFound

log = structlog.get_logger(__name__)

DEFAULT_WATCH_TIMEOUT = 1800.0


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _int(query: Any, name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f'{name}: Invalid value: "{raw}": must be an integer') from None


class Rest:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.subresources = Subresources(bus)
        self.watching = 0  # open watches (each holds one of the api's watch streams)

    async def handle(
        self, request: web.Request, group: str, version: str, rest: list[str]
    ) -> web.StreamResponse:
        target = parse(group, version, rest)
        api = client_for(self.bus, request[USER])
        query = request.query
        watch = _flag(query.get("watch"))
        verb = verb_of(request.method, target, watch)
        if target.subresource and target.subresource != "status":
            return await self.subresources.handle(request, api, target, verb)
        if verb == "watch":
            return await self.watch(request, api, target)
        if verb == "list":
            return await self.list(request, api, target)
        if verb == "get":
            obj = await api.call("get", self._payload(target))
            return self._object(request, target, obj)
        if verb == "create":
            if target.name is not None:
                raise MethodNotAllowed("the server does not allow this method on the requested resource")
            body = await read_body(request)
            payload = {
                "resource": target.info.plural,
                "namespace": target.namespace or ApiClient._ns(body, None),
                "body": body,
                "dryRun": dry_run(query),
                "fieldManager": field_manager(request),
                "fieldValidation": field_validation(query),
            }
            said: list[str] = []
            return with_warnings(json_response(await api.call("create", payload, warnings=said), 201), said)
        if verb == "update":
            body = await read_body(request)
            if not isinstance(body, dict):
                raise BadRequest("the request body must be an object")
            name = (body.get("metadata") or {}).get("name")
            if name not in (None, target.name):
                raise BadRequest(
                    f"the name of the object ({name}) does not match the name on the URL ({target.name})"
                )
            body = {**body, "metadata": {**(body.get("metadata") or {}), "name": target.name}}
            payload = {
                **self._payload(target),
                "body": body,
                "dryRun": dry_run(query),
                "fieldManager": field_manager(request),
                "fieldValidation": field_validation(query),
            }
            said = []
            return with_warnings(json_response(await api.call("update", payload, warnings=said)), said)
        if verb == "patch":
            apply = request.content_type == APPLY_PATCH
            patch_type = "apply" if apply else PATCH_TYPES.get(request.content_type)
            if patch_type is None:
                return status_response(unsupported_media(request.content_type))
            body = await read_body(request)
            payload = {
                **self._payload(target),
                "body": body,
                "patchType": patch_type,
                "dryRun": dry_run(query),
                "fieldManager": field_manager(request),
                "fieldValidation": field_validation(query),
            }
            if apply:
                payload["force"] = _flag(query.get("force"))
            elif query.get("force"):
                raise BadRequest("force: Invalid value: true: may not be specified for non-apply patch")
            status = 200
            if apply:  # 201 when the apply created it, as kube-apiserver answers
                status = 201 if await self._missing(api, target) else 200
            said = []
            return with_warnings(json_response(await api.call("patch", payload, warnings=said), status), said)
        if verb == "delete":
            return json_response(await self.delete(request, api, target, str(target.name)))
        if verb == "deletecollection":
            return await self.delete_collection(request, api, target)
        raise MethodNotAllowed(f'the verb "{verb}" is not supported')

    # ------------------------------------------------------------------ helpers

    @staticmethod
    async def _missing(api: ApiClient, target: Target) -> bool:
        """Is the object absent (an apply will create it)? Only the status code depends on it: a
        user who may patch but not get is answered 200."""
        try:
            await api.get(target.info.plural, str(target.name), target.namespace)
        except NotFound:
            return True
        except JetkubeError:
            return False
        return False

    @staticmethod
    def _payload(target: Target) -> dict[str, Any]:
        return {
            "resource": target.info.plural,
            "namespace": target.namespace,
            "name": target.name,
            "subresource": target.subresource,
        }

    def _object(self, request: web.Request, target: Target, obj: dict[str, Any]) -> web.Response:
        if table.wants_table(request.headers.get("Accept", "")):
            meta = {"resourceVersion": str((obj.get("metadata") or {}).get("resourceVersion", ""))}
            return json_response(table.table(target.info.plural, [obj], meta, datetime.now(UTC)))
        return json_response(obj)

    async def list(self, request: web.Request, api: ApiClient, target: Target) -> web.Response:
        q = request.query
        limit = _int(q, "limit")
        if limit is not None and limit < 0:
            raise BadRequest("limit: Invalid value: must be 0 or more")
        if limit or q.get("continue"):
            # one page of the api's own paging (actors/api/paging.py): read after the token's key
            # without holding the whole list, and the same tokens as a NATS client's
            listing = await api.call(
                "list",
                {
                    "resource": target.info.plural,
                    "namespace": target.namespace,
                    "labelSelector": q.get("labelSelector") or None,
                    "fieldSelector": q.get("fieldSelector") or None,
                    "limit": limit,
                    "continue": q.get("continue") or None,
                },
            )
        else:
            listing = await api.list(
                target.info.plural,
                target.namespace,
                q.get("labelSelector") or None,
                q.get("fieldSelector") or None,
            )
        if table.wants_table(request.headers.get("Accept", "")):
            return json_response(
                table.table(
                    target.info.plural,
                    listing.get("items") or [],
                    listing.get("metadata") or {},
                    datetime.now(UTC),
                )
            )
        return json_response(listing)

    async def delete(self, request: web.Request, api: ApiClient, target: Target, name: str) -> dict[str, Any]:
        q = request.query
        body = await read_body(request)
        opts = body if isinstance(body, dict) else {}
        dry = delete_dry_run(q, opts)
        grace = opts.get("gracePeriodSeconds")
        if grace is None:
            grace = _int(q, "gracePeriodSeconds")
        policy = opts.get("propagationPolicy") or q.get("propagationPolicy")
        if policy is None and opts.get("orphanDependents") is not None:
            policy = "Orphan" if opts["orphanDependents"] else "Background"
        pre = opts.get("preconditions") or {}
        if pre.get("uid"):
            current = await api.get(target.info.plural, name, target.namespace)
            if (current.get("metadata") or {}).get("uid") != pre["uid"]:
                from schemas.errors import Conflict

                raise Conflict(
                    f'Operation cannot be fulfilled on {target.info.plural} "{name}": Precondition failed: '
                    f"UID in precondition: {pre['uid']}, "
                    f"UID in object meta: {(current.get('metadata') or {}).get('uid')}"
                )
        return await api.delete(
            target.info.plural,
            name,
            target.namespace,
            grace_period_seconds=grace,
            propagation_policy=policy,
            resource_version=pre.get("resourceVersion"),
            dry_run=dry,
        )

    async def delete_collection(self, request: web.Request, api: ApiClient, target: Target) -> web.Response:
        q = request.query
        listing = await api.list(
            target.info.plural,
            target.namespace,
            q.get("labelSelector") or None,
            q.get("fieldSelector") or None,
        )
        removed = []
        for obj in listing.get("items") or []:
            meta = obj.get("metadata") or {}
            with contextlib.suppress(NotFound):
                one = Target(target.info, meta.get("namespace"), meta.get("name"), None)
                removed.append(await self.delete(request, api, one, str(meta.get("name"))))
        return json_response({**listing, "items": removed})

    async def watch(self, request: web.Request, api: ApiClient, target: Target) -> web.StreamResponse:
        q = request.query
        timeout = _int(q, "timeoutSeconds")
        bookmarks = _flag(q.get("allowWatchBookmarks"))
        as_table = table.wants_table(request.headers.get("Accept", ""))
        info = target.info
        fields = q.get("fieldSelector") or None
        if target.name is not None:  # GET .../pods/x?watch=1: the one object
            fields = ",".join(f for f in (fields, f"metadata.name={target.name}") if f)
        rv = q.get("resourceVersion") or None
        if rv is not None and not rv.isdigit():
            raise BadRequest(
                f'resourceVersion: Invalid value: "{rv}": must be a resourceVersion of this server'
            )
        # Authorized before the 200 goes out, so a refusal is a 403 and not an ERROR event.
        allowed = await api.can_i("watch", info.group_resource, target.namespace, target.name)
        if not allowed.get("allowed"):
            attrs = Attributes(
                "watch", info.plural, info.group, "", target.namespace or "", target.name or ""
            )
            raise Forbidden(forbidden_message(request[USER], attrs))
        events = api.watch(
            info.plural,
            target.namespace,
            q.get("labelSelector") or None,
            fields,
            rv,
        )
        response = web.StreamResponse(
            headers={"Content-Type": "application/json", "Cache-Control": "no-cache"}
        )
        response.enable_chunked_encoding()
        await response.prepare(request)

        async def send(kind: str, obj: dict[str, Any]) -> None:
            await response.write((dumps({"type": kind, "object": obj}) + "\n").encode())

        self.watching += 1
        try:
            async with (
                contextlib.aclosing(events) as stream,
                asyncio.timeout(timeout or DEFAULT_WATCH_TIMEOUT),
            ):
                async for event in stream:
                    if event.type == "BOOKMARK":
                        if bookmarks:
                            await send(
                                "BOOKMARK",
                                {
                                    "kind": info.kind,
                                    "apiVersion": info.api_version,
                                    "metadata": {"resourceVersion": str(event.revision)},
                                },
                            )
                        continue
                    obj = event.object
                    if as_table:
                        meta = {"resourceVersion": str(event.revision)}
                        obj = table.table(info.plural, [obj], meta, datetime.now(UTC))
                    await send(event.type, obj)
        except TimeoutError:
            pass
        except JetkubeError as err:
            with contextlib.suppress(ConnectionError):
                await send("ERROR", err.to_status())
        except ConnectionError:
            return response
        finally:  # also when the server cancels the handler: the client went away
            self.watching -= 1
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response
