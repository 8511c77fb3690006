"""The api's verbs: parse, convert, default, validate, admit, then compare-and-set in the store.

Every request is a msgpack map (``resource``, ``namespace``, ``name``, ``body`` and the verb's
options); :meth:`Api.handle` dispatches on the verb and returns the object (or list) for the
reply. Rules kept here, as Kubernetes keeps them:

* create: ``generateName``, the namespace must exist and not be Terminating, status is reset
  (a pod starts Pending with its QoS class), admission hooks run (ClusterIP, quota, limits...).
* update: the body's ``resourceVersion`` is the compare-and-set precondition (an update without one
  applies to the current revision). A main-resource write keeps the stored status; a status write
  (``subresource: status``) takes only ``.status``. A write that changes nothing is not written.
* patch: merge (RFC 7386), JSON (RFC 6902) or strategic merge onto the current object, retried on
  Conflict (the patch is re-applied to the new current object), as the Kubernetes api-server does;
  ``apply`` is server-side apply (``fieldManager``, ``force``): it creates a missing object.
* every write records its field manager in ``metadata.managedFields`` (schemas/managedfields.py):
  ``fieldManager`` from the request, else :data:`DEFAULT_MANAGER`.
* delete: graceful pods, finalizers and propagation policies (see ``deletion.py``).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
import functools
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from actors.api.deletion import PROTECTED_NAMESPACES, plan_delete, should_remove_after_update
from actors.api.fencing import fenced_write
from actors.api.limits import check_body, check_key_part
from actors.api.listing import stream_page_source
from actors.api.noderelay import NodeRelay
from actors.api.paging import decode_continue, encode_continue, item_key, page, parse_limit
from actors.api.podstatus import initial_pod_status
from actors.api.selectors import checked_selectors
from actors.runtime.informer import Informer
from actors.runtime.memguard import GUARD
from bus.codec import encode
from bus.events import events_snapshot, list_events, publish_event
from bus.metrics import REQUESTS
from bus.rpc import warn
from bus.store import Store
from schemas.decode import check_field_validation, normalize
from schemas.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Forbidden,
    JetkubeError,
    MethodNotAllowed,
    NotFound,
)
from schemas.labels import matches_fields, parse_field_selector, parse_selector
from schemas.managedfields import (
    CSA_UPGRADER,
    ApplyConflict,
    Entry,
    Writer,
    check_manager,
    conflict_error,
    last_applied_fields,
    prepare_apply,
    read_entries,
    record,
    same_ownership,
    write_entries,
)
from schemas.managedfields import migrate_annotations as migrate_legacy_apply
from schemas.patch import apply_patch
from schemas.registry import ResourceInfo, lookup
from schemas.versions import ApiVersions, describe, requested_version

log = structlog.get_logger(__name__)

AdmitHook = Callable[[str, dict[str, Any], dict[str, Any] | None], Awaitable[dict[str, Any]]]
PATCH_RETRIES = 8
Entries = list[Entry]  # (``Api.list`` hides the builtin inside the class)
DEFAULT_MANAGER = "jetkube"  # the field manager of a request that names none (NATS clients)
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"

FENCED_VERBS = frozenset({"create", "update", "patch", "delete"})
# the request's ``fieldValidation`` (Strict, Warn, Ignore; None: unknown fields are 422 causes among
# the others, as before the option existed), read where a write's body is decoded
_FIELD_VALIDATION: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "field_validation", default=None
)


def _decode(body: dict[str, Any], default_namespace: str) -> dict[str, Any]:
    """:func:`normalize` under the request's ``fieldValidation``; its warnings go to the reply."""
    said: list[str] = []
    obj = normalize(
        body, default_namespace=default_namespace, field_validation=_FIELD_VALIDATION.get(), warnings=said
    )
    for text in said:
        warn(text)
    return obj


def server_version() -> dict[str, str]:
    import platform
    from importlib import metadata

    try:
        version = metadata.version("jetkube")
    except metadata.PackageNotFoundError:
        version = "0.0.0"
    return {
        "gitVersion": f"v{version}",
        "platform": f"linux/{platform.machine()}",
        "pythonVersion": platform.python_version(),
    }


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choices(_NAME_CHARS, k=5))


_VERBS = frozenset(
    {"create", "get", "list", "update", "patch", "delete", "nodepods", "version", "apiversions", "migrate"}
)


@functools.lru_cache(maxsize=512)
def _resource_label(raw: str) -> str:
    """The metric label of a request's resource: its plural, or "unknown" (bounded cardinality)."""
    if not raw:
        return ""
    try:
        return lookup(raw).plural
    except JetkubeError:
        return "unknown"


def _strip_rv(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta.pop("managedFields", None)
    return {**obj, "metadata": meta}


def _versioned(writer: Writer, obj: dict[str, Any]) -> Writer:
    """The writer with the apiVersion of what it wrote (an apply's own, else the object's)."""
    if writer.api_version:
        return writer
    return Writer(
        writer.manager,
        writer.operation,
        str(obj.get("apiVersion") or ""),
        writer.subresource,
        writer.force,
        writer.applied,
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def writer_of(verb: str, payload: dict[str, Any]) -> Writer:
    """The request's field manager: ``fieldManager`` (required for an apply), ``force`` (apply
    only) and the subresource it wrote through (``status``, or ``fieldSubresource``: ``scale``)."""
    apply = verb == "patch" and payload.get("patchType") == "apply"
    manager = check_manager(payload.get("fieldManager"), required=apply) or DEFAULT_MANAGER
    force = payload.get("force")
    if force not in (None, False, True):
        raise BadRequest("force: Invalid value: must be a boolean")
    if force and not apply:
        raise BadRequest("force: Invalid value: true: may not be specified for non-apply patch")
    sub = payload.get("subresource") or payload.get("fieldSubresource") or None
    if sub is not None and not isinstance(sub, str):
        raise BadRequest("fieldSubresource: must be a string")
    return Writer(manager, "Apply" if apply else "Update", subresource=sub, force=bool(force))


def _list_kind(info: ResourceInfo) -> str:
    return getattr(info, "list_kind", None) or f"{info.kind}List"


def _api_version(info: ResourceInfo) -> str:
    return f"{info.group}/{info.version}" if info.group else info.version


class Api:
    def __init__(
        self,
        store: Store,
        *,
        namespaces: Informer,
        relay: NodeRelay | None = None,
        bus: Any = None,
    ) -> None:
        self.store = store
        self.bus = bus if bus is not None else store.bus
        self.namespaces = namespaces
        self.relay = relay
        # objects each resource's last full read held: a list's cost (actors/api/fairness_levels.py)
        self.list_sizes: dict[str, int] = {}
        self.create_hooks: list[AdmitHook] = []
        self.update_hooks: list[AdmitHook] = []
        self.delete_hooks: list[Callable[[str, dict[str, Any]], Awaitable[None]]] = []
        self.versions = ApiVersions()  # --runtime-config and --storage-versions (schemas/versions.py)

    # ---------------------------------------------------------------- dispatch

    async def handle(self, verb: str, payload: dict[str, Any], _msg: Any = None) -> Any:
        """Dispatch, counted and timed (jetkube_api_requests_total, ..._request_duration_seconds)."""
        started = time.perf_counter()
        code = 201 if verb == "create" else 200  # as the Kubernetes api-server counts them
        try:
            GUARD.check(verb)  # --memory-limit: 503 with the reason before the process would cross it
            writes = verb in ("create", "update", "patch")
            mode = check_field_validation(payload.get("fieldValidation")) if writes else None
            token = _FIELD_VALIDATION.set(mode)
            try:
                return await self._dispatch(verb, payload)
            finally:
                _FIELD_VALIDATION.reset(token)
        except JetkubeError as err:
            code = err.code
            raise
        except Exception:
            code = 500
            raise
        finally:
            REQUESTS.observe(
                verb if verb in _VERBS else "unknown",
                _resource_label(res) if isinstance(res := payload.get("resource"), str) else "",
                code,
                time.perf_counter() - started,
            )

    async def _dispatch(self, verb: str, payload: dict[str, Any]) -> Any:
        if verb == "nodepods":
            return self.nodepods(str(payload.get("node") or ""))
        if verb == "version":
            return server_version()
        if verb == "apiversions":
            return describe(self.versions)
        if verb == "migrate":
            return await self._migrate(payload)
        resource = payload.get("resource")
        if not isinstance(resource, str) or not resource:
            raise BadRequest("resource: Required value")
        info = lookup(resource)
        self._check_versions(resource, info, payload.get("body") if verb in ("create", "update") else None)
        ns = payload.get("namespace") if info.namespaced else None
        if ns is not None and not isinstance(ns, str):
            raise BadRequest("namespace: must be a string")
        if ns:
            check_key_part(ns, "namespace")
        name = payload.get("name")
        if verb in FENCED_VERBS and payload.get("fence") is not None:
            # a controller's write under its lease: checked, and atomic with the check when the
            # store allows it (actors/runtime/fencecheck.py)
            unfenced = {k: v for k, v in payload.items() if k != "fence"}
            return await fenced_write(self.store, payload["fence"], lambda: self._dispatch(verb, unfenced))
        writer = writer_of(verb, payload) if verb in ("create", "update", "patch") else None
        if verb == "create":
            return await self.create(
                info, ns, payload.get("body"), dry_run=bool(payload.get("dryRun")), writer=writer
            )
        if verb == "list":
            limit = parse_limit(payload.get("limit"))
            after = decode_continue(payload.get("continue"))
            return await self.list(info, ns, *checked_selectors(payload), limit=limit, after=after)
        if not isinstance(name, str) or not name:
            raise BadRequest("name: Required value")
        check_key_part(name, "resource name")
        if info.namespaced and not ns:
            ns = "default"
        if verb == "get":
            return await self.get(info, ns, name)
        dry_run = bool(payload.get("dryRun"))
        if verb == "update":
            return await self.update(
                info,
                ns,
                name,
                payload.get("body"),
                payload.get("subresource"),
                dry_run=dry_run,
                writer=writer,
            )
        if verb == "patch":
            return await self.patch(
                info,
                ns,
                name,
                payload.get("body"),
                payload.get("patchType") or "merge",
                payload.get("subresource"),
                dry_run=dry_run,
                writer=writer,
            )
        if verb == "delete":
            sub = payload.get("subresource")
            if sub not in (None, "") and not (sub == "eviction" and info.plural == "pods"):
                # an eviction is a pod delete authorized as ``create pods/eviction`` (authz/gate.py)
                raise MethodNotAllowed(f'the subresource "{sub}" cannot be deleted')
            return await self.delete(
                info,
                ns,
                name,
                grace_period_seconds=payload.get("gracePeriodSeconds"),
                propagation_policy=payload.get("propagationPolicy"),
                resource_version=payload.get("resourceVersion"),
                dry_run=dry_run,
            )
        raise MethodNotAllowed(f'the verb "{verb}" is not supported')

    def _check_versions(self, resource: str, info: ResourceInfo, body: Any) -> None:
        """--runtime-config: refuse (NotFound) a request that names or sends a disabled version."""
        if not self.versions.disabled:
            return
        spelled = requested_version(resource, info)
        if spelled:
            self.versions.check(spelled, info.kind)
        if isinstance(body, dict) and isinstance(body.get("apiVersion"), str):
            self.versions.check(body["apiVersion"], str(body.get("kind") or info.kind))

    async def _migrate(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``jetkube migrate-storage``'s writes (actors/storagemigration.py); system:masters only."""
        from actors.storagemigration import StoreRewriter

        return await StoreRewriter(self.store.bus, self.versions, bucket=self.store.bucket).handle(payload)

    # ------------------------------------------------------------------ reads

    async def get(self, info: ResourceInfo, ns: str | None, name: str) -> dict[str, Any]:
        if info.plural == "events":
            for ev in await list_events(self.bus, ns):
                if ev["metadata"].get("name") == name:
                    return ev
            raise NotFound(f'events "{name}" not found')
        return await self.store.get(info.plural, ns, name)

    async def list(
        self,
        info: ResourceInfo,
        ns: str | None,
        label_selector: str | None,
        field_selector: str | None,
        *,
        limit: int | None = None,
        after: tuple[int, str] | None = None,
    ) -> dict[str, Any]:
        """A list (a page of it with ``limit``/``after``: actors/api/paging.py), never bigger
        than one reply message may carry."""
        if info.plural == "events":
            items, revision = await events_snapshot(self.bus, ns)
            if label_selector:
                sel = parse_selector(label_selector)
                items = [e for e in items if sel.matches(e["metadata"].get("labels") or {})]
            if field_selector:
                reqs = parse_field_selector(field_selector)
                items = [e for e in items if matches_fields(e, reqs)]
            matched = sum(1 for e in items if after is None or item_key(e) > after[1])
        else:
            # streamed, keeping only what the page can use (actors/api/listing.py)
            items, revision, read, matched = await stream_page_source(
                self.store,
                info.plural,
                ns,
                label_selector,
                field_selector,
                limit=limit,
                after=after[1] if after else None,
            )
            if ns is None:
                self.list_sizes[info.plural] = read
        if after is not None:
            revision = after[0]
        items, last = page(
            items,
            limit=limit,
            after=after[1] if after else None,
            budget=self._reply_budget(),
            size_of=lambda o: len(encode(o)),
        )
        meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if last is not None:
            meta["continue"] = encode_continue(revision, last)
            if not label_selector and not field_selector:  # as kube-apiserver: none with selectors
                meta["remainingItemCount"] = matched - len(items)
        return {"apiVersion": _api_version(info), "kind": _list_kind(info), "metadata": meta, "items": items}

    def _reply_budget(self) -> int:
        """What a list's items may take: the server's message limit less room for the envelope."""
        nc = getattr(self.bus, "nc", None)
        limit = int(getattr(nc, "max_payload", 0) or 1024 * 1024)
        return max(limit - 64 * 1024, limit // 2)

    def nodepods(self, node: str) -> dict[str, Any]:
        if not node:
            raise BadRequest("node: Required value")
        if self.relay is None:
            raise MethodNotAllowed("this api replica does not relay node pods")
        return self.relay.pods_on(node)

    # ----------------------------------------------------------------- writes

    async def _check_namespace(self, info: ResourceInfo, ns: str | None, name: str) -> None:
        if not info.namespaced or ns is None:
            return
        if not self.namespaces.synced:
            await self.namespaces.wait_synced(30)
        namespace = self.namespaces.objects.get(ns)
        if namespace is None:
            try:  # the mirror may lag a namespace created a moment ago
                namespace = await self.store.get("namespaces", None, ns)
            except NotFound:
                raise NotFound(f'namespaces "{ns}" not found', details={"name": ns}) from None
        if (namespace.get("metadata") or {}).get("deletionTimestamp"):
            raise Forbidden(
                f'{info.plural} "{name}" is forbidden: unable to create new content in namespace {ns} '
                "because it is being terminated"
            )

    async def create(
        self,
        info: ResourceInfo,
        ns: str | None,
        body: Any,
        *,
        dry_run: bool = False,
        writer: Writer | None = None,
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest("body: must be an object")
        check_body(body)
        body = dict(body)
        body.setdefault("apiVersion", _api_version(info))
        body.setdefault("kind", info.kind)
        meta = dict(body.get("metadata") or {})
        meta.pop("managedFields", None)  # the api records them
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = generate_name(str(meta["generateName"]))
        body["metadata"] = meta
        obj = _decode(body, ns or "default")
        if lookup(obj["kind"]).plural != info.plural:
            raise BadRequest(f"the body is a {obj['kind']}, the request is for {info.plural}")
        meta = obj["metadata"]
        if info.namespaced and ns and meta.get("namespace") != ns:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        await self._check_namespace(info, meta.get("namespace"), meta["name"])
        if info.plural == "pods":
            obj["status"] = initial_pod_status(obj)
        elif info.plural == "namespaces":
            obj["status"] = {"phase": "Active"}
        elif info.plural not in ("nodes", "events"):
            obj.pop("status", None)
        for hook in self.create_hooks:
            obj = await hook(info.plural, obj, None)
        if info.plural != "events":
            entries = record([], None, obj, _versioned(writer or Writer(DEFAULT_MANAGER), obj), _now())
            obj["metadata"]["managedFields"] = write_entries(entries)
        if dry_run:
            return obj
        if info.plural == "events":
            return await publish_event(self.bus, obj)
        return await self.store.create(info.plural, obj)

    async def update(
        self,
        info: ResourceInfo,
        ns: str | None,
        name: str,
        body: Any,
        subresource: str | None,
        *,
        dry_run: bool = False,
        writer: Writer | None = None,
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest("body: must be an object")
        check_body(body)
        if info.plural == "events":
            raise MethodNotAllowed(
                "events are kept on their own stream and cannot be changed; create a new one"
            )
        old = await self.store.get(info.plural, ns, name)
        return await self._write(info, old, body, subresource, dry_run=dry_run, writer=writer)

    async def _write(
        self,
        info: ResourceInfo,
        old: dict[str, Any],
        body: dict[str, Any],
        subresource: str | None,
        *,
        dry_run: bool = False,
        writer: Writer | None = None,
        entries: Entries | None = None,
    ) -> dict[str, Any]:
        """Write ``body`` over ``old``. ``entries``: the managedFields to record the write against
        (an apply's, with legacy annotations migrated); by default ``old``'s."""
        old_meta = old["metadata"]
        name = old_meta["name"]
        body_meta = body.get("metadata") or {}
        rv = body_meta.get("resourceVersion")
        if rv not in (None, "") and str(rv) != str(old_meta.get("resourceVersion")):
            raise Conflict(
                f'Operation cannot be fulfilled on {info.plural} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again"
            )
        if body_meta.get("name") not in (None, name):
            raise BadRequest(f'metadata.name: Invalid value: "{body_meta.get("name")}": field is immutable')
        if subresource == "status":
            merged = copy.deepcopy(old)
            merged["status"] = body.get("status")
            if merged["status"] is None:
                merged.pop("status")
        elif subresource not in (None, ""):
            raise MethodNotAllowed(f'the subresource "{subresource}" is not supported')
        else:
            merged = copy.deepcopy(body)
            merged.setdefault("apiVersion", old.get("apiVersion"))
            merged.setdefault("kind", old.get("kind"))
            meta = dict(merged.get("metadata") or {})
            for field in (
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ):
                if field in old_meta:
                    meta[field] = old_meta[field]
                else:
                    meta.pop(field, None)
            merged["metadata"] = meta
            if "status" in old and getattr(info, "has_status", True):
                merged["status"] = old["status"]
            else:
                merged.pop("status", None)
        merged["metadata"]["resourceVersion"] = old_meta["resourceVersion"]
        sent = merged["metadata"].pop("managedFields", None)
        new = _decode(merged, old_meta.get("namespace") or "default")
        new["metadata"]["resourceVersion"] = old_meta["resourceVersion"]
        for hook in self.update_hooks:
            new = await hook(info.plural, new, old)
        new["metadata"].pop("managedFields", None)
        writer = _versioned(writer or Writer(DEFAULT_MANAGER), new)
        unchanged = _strip_rv(new) == _strip_rv(old)
        cleared = sent == [{}]  # as in Kubernetes: a list of one empty entry strips them
        given = None  # managedFields the client changed: the base of this write, as in Kubernetes
        if entries is None and subresource != "status" and not cleared and isinstance(sent, list) and sent:
            if sent != old_meta.get("managedFields"):
                with contextlib.suppress(BadRequest):  # undecodable: the stored ones, as Kubernetes does
                    given = read_entries({"metadata": {"managedFields": sent}})
        if unchanged and writer.operation == "Update" and not cleared and given is None:
            return old
        owned: Entries = []
        if not cleared:
            before = read_entries(old)
            if entries is None:
                base = given if given is not None else before
                entries, new = migrate_legacy_apply(base, new, writer.api_version)
            owned = record(entries, old, new, writer, _now())
            if unchanged and same_ownership(owned, before):
                return old
        if owned:
            new["metadata"]["managedFields"] = write_entries(owned)
        if dry_run:  # everything checked and admitted; nothing written (dryRun=All)
            return new
        if should_remove_after_update(info.plural, new):
            return await self.store.delete(info.plural, old_meta.get("namespace"), name, old=old)
        return await self.store.update(info.plural, new, old=old)

    async def patch(
        self,
        info: ResourceInfo,
        ns: str | None,
        name: str,
        patch: Any,
        patch_type: str,
        subresource: str | None,
        *,
        dry_run: bool = False,
        writer: Writer | None = None,
    ) -> dict[str, Any]:
        if patch_type not in ("merge", "json", "strategic", "apply"):
            raise BadRequest(
                f'patchType: Unsupported value: "{patch_type}": supported values: '
                '"apply", "json", "merge", "strategic"'
            )
        check_body(patch)
        if info.plural == "events":
            raise MethodNotAllowed(
                "events are kept on their own stream and cannot be changed; create a new one"
            )
        if patch_type == "apply":
            return await self.apply(
                info,
                ns,
                name,
                patch,
                writer or Writer(DEFAULT_MANAGER, "Apply"),
                subresource,
                dry_run=dry_run,
            )
        for _attempt in range(PATCH_RETRIES):
            old = await self.store.get(info.plural, ns, name)
            patched = apply_patch(copy.deepcopy(old), patch, patch_type)
            if not isinstance(patched, dict):
                raise BadRequest("the patch must leave an object")
            check_body(patched)
            patched.setdefault("metadata", {})["resourceVersion"] = old["metadata"]["resourceVersion"]
            if subresource != "status" and "status" in patched and patched.get("status") != old.get("status"):
                # A patch of the main resource that touches status: Kubernetes ignores the status part.
                patched["status"] = old.get("status")
            try:
                return await self._write(info, old, patched, subresource, dry_run=dry_run, writer=writer)
            except Conflict:
                continue
        raise Conflict(f'{info.plural} "{name}" kept changing; the patch was not applied, try again')

    async def apply(
        self,
        info: ResourceInfo,
        ns: str | None,
        name: str,
        config: Any,
        writer: Writer,
        subresource: str | None,
        *,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply: create the object from the configuration, or merge the configuration
        into it, removing what this manager applied before and dropped now; another manager's field
        changed is a 409 with the fields, unless ``force`` (schemas/managedfields.py)."""
        if subresource not in (None, ""):
            raise MethodNotAllowed(f'apply to the subresource "{subresource}" is not supported')
        if not isinstance(config, dict):
            raise BadRequest("the applied configuration must be an object")
        meta = config.get("metadata") or {}
        if not isinstance(meta, dict):
            raise BadRequest("metadata: must be an object")
        if meta.get("name") not in (None, "", name):
            raise BadRequest(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        for required in ("apiVersion", "kind"):
            if not config.get(required):
                raise BadRequest(f"{required}: Required value: an applied configuration must set it")
        config = {**config, "metadata": {**meta, "name": name}}
        for _attempt in range(PATCH_RETRIES):
            try:
                old = await self.store.get(info.plural, ns, name)
            except NotFound:
                _merged, _entries, applying = prepare_apply({}, config, writer)
                try:
                    return await self.create(info, ns, config, dry_run=dry_run, writer=applying)
                except AlreadyExists:
                    continue
            merged, entries, applying = prepare_apply(old, config, writer)
            check_body(merged)
            try:
                try:
                    return await self._write(
                        info, old, merged, None, dry_run=dry_run, writer=applying, entries=entries
                    )
                except ApplyConflict as err:
                    # kubectl's first server-side apply takes over client-side apply's fields; the
                    # conflicts left, if any, are the answer (kube-apiserver's lastAppliedManager)
                    if applying.manager != CSA_UPGRADER:
                        raise
                    allowed = last_applied_fields(old)
                    left = [(e, p) for e, p in err.conflicts if p not in allowed]
                    if left:
                        raise conflict_error(left) from None
                forced = dataclasses.replace(applying, force=True)
                return await self._write(
                    info, old, merged, None, dry_run=dry_run, writer=forced, entries=entries
                )
            except ApplyConflict:
                raise
            except Conflict:  # a concurrent write: read again
                continue
        raise Conflict(f'{info.plural} "{name}" kept changing; the apply was not done, try again')

    async def delete(
        self,
        info: ResourceInfo,
        ns: str | None,
        name: str,
        *,
        grace_period_seconds: int | None,
        propagation_policy: str | None,
        resource_version: str | None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Delete (or mark for deletion: finalizers, graceful pods). ``dry_run``: every check made
        (existence, preconditions, protected namespaces, what the delete would do) and the answer
        the delete would give returned; nothing written, no delete hook run."""
        if propagation_policy not in (None, "Background", "Foreground", "Orphan"):
            raise BadRequest(
                f'propagationPolicy: Unsupported value: "{propagation_policy}": supported '
                'values: "Background", "Foreground", "Orphan"'
            )
        if info.plural == "events":
            raise MethodNotAllowed(
                "events cannot be deleted; they leave the stream when they reach its maximum age"
            )
        if info.plural == "namespaces" and name in PROTECTED_NAMESPACES:
            raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted')
        for _attempt in range(PATCH_RETRIES):
            old = await self.store.get(info.plural, ns, name)
            if resource_version and str(resource_version) != old["metadata"]["resourceVersion"]:
                raise Conflict(
                    f'Operation cannot be fulfilled on {info.plural} "{name}": the ResourceVersion in the '
                    "precondition does not match the ResourceVersion in record"
                )
            decision = plan_delete(
                info.plural,
                old,
                grace_period_seconds=grace_period_seconds,
                propagation_policy=propagation_policy,
                now=datetime.now(UTC),
            )
            try:
                if decision.action == "noop":
                    return old
                if dry_run:  # dryRun=All: the object as the delete would leave (or remove) it
                    return decision.obj if decision.action == "mark" else copy.deepcopy(old)
                if decision.action == "mark":
                    return await self.store.update(info.plural, decision.obj, old=old)
                removed = await self.store.delete(info.plural, ns, name, old=old)
                for hook in self.delete_hooks:
                    await hook(info.plural, removed)
                return removed
            except Conflict:
                continue
        raise Conflict(f'{info.plural} "{name}" kept changing; delete again')
