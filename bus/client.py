"""The api client: every read and write of the CLI, the controllers and the kubelets.

Writes and reads go to the api actor over request/reply on ``jetkube.api.<verb>`` (public
subjects; payloads in the README). Watches read the state bucket's stream directly (the api's
cache is not in the way of a watch, and any NATS subscriber may do the same), filtering labels and
fields on the client. A kubelet follows only its own pods through ``watch_node_pods``, fed by the
api actor's node relay on ``jetkube.nodepods.<node>``, so its cost does not grow with the cluster.

On an authenticated bus (``bus.identity``) requests go to the user's own subjects
``jetkube.api.u.<user>.<verb>`` (bus/auth.py), and a user without raw read access to the state
bucket (``bus.raw_reads``), an impersonating client (``impersonate``, kubectl's ``--as``) and every
read of Secrets (encrypted at rest; the api decrypts) list through the api and watch through the
api's streaming watch (``watch`` verb: the api sends batches of events to an inbox of the client's,
each acknowledged, with heartbeats, as the kubelet's log stream does).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator
from typing import Any

import nats.errors
import structlog

from bus.chunkstream import ChunkReceiver, PeerGone
from bus.codec import decode
from bus.connection import Bus
from bus.rpc import request
from bus.store import Store, WatchEvent
from bus.watchfilter import SelectorFilter
from schemas.errors import ServiceUnavailable, Timeout

log = structlog.get_logger(__name__)

API_PREFIX = "jetkube.api"
NODEPODS_PREFIX = "jetkube.nodepods"
SAFE_TO_RETRY = frozenset({"get", "list", "nodepods", "version", "apiversions", "cani"})  # reads
NODE_RESYNC_SECONDS = 10.0  # a kubelet re-lists its pods this often even when its stream looks whole


WATCH_SILENCE_LIMIT = 40.0  # no chunk, not even a heartbeat, for this long: the api is gone
VIA_API_ALWAYS = frozenset({"secrets"})  # encrypted at rest: only the api can read them


LIST_PAGE = 500  # items per page of a list through the api (kubectl's --chunk-size default)


class ApiClient:
    def __init__(
        self,
        bus: Bus,
        *,
        timeout: float = 15.0,
        user: str | None = None,
        impersonate: str | None = None,
        impersonate_groups: list[str] | None = None,
        local: bool = False,
    ) -> None:
        """``local``: hand requests to an api replica serving in this process on the same
        connection without going through NATS, when there is one (bus/local.py; the gateway)."""
        self.bus = bus
        self.local = local
        self.timeout = timeout
        self.user = user
        self.impersonate = impersonate
        self.impersonate_groups = impersonate_groups
        self._store: Store | None = None

    def subject(self, verb: str) -> str:
        identity = getattr(self.bus, "identity", None)
        if identity and identity != "controlplane":  # the control plane uses the trusted subjects
            return f"{API_PREFIX}.u.{identity}.{verb}"
        return f"{API_PREFIX}.{verb}"

    def _raw(self, plural: str) -> bool:
        raw = bool(getattr(self.bus, "raw_reads", True))
        return raw and not self.impersonate and plural not in VIA_API_ALWAYS

    async def call(
        self,
        verb: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        warnings: list[str] | None = None,
    ) -> Any:
        """One api request; the reply's warnings (``fieldValidation: Warn``) go to ``warnings``."""
        if self.user:
            payload = {**payload, "user": self.user}
        if self.impersonate:
            who = {"user": self.impersonate, "groups": self.impersonate_groups}
            payload = {**payload, "impersonate": who}
        return await request(
            self.bus,
            self.subject(verb),
            payload,
            timeout=timeout or self.timeout,
            retry=verb in SAFE_TO_RETRY,
            local=self.local,
            warnings=warnings,
        )

    async def can_i(
        self, verb: str, resource: str, namespace: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """``{"allowed": bool, "reason": str}``: may this client's user do ``verb`` on ``resource``?"""
        return await self.call(
            "cani", {"verb": verb, "resource": resource, "namespace": namespace, "name": name}
        )

    async def request_token(
        self, namespace: str, service_account: str, spec: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A TokenRequest (``create serviceaccounts/token``): its ``status.token`` is a signed token
        of the ServiceAccount; ``spec`` may bind it to a pod (``boundObjectRef``) and set
        ``expirationSeconds`` and ``audiences``."""
        return await self.call(
            "token",
            {"namespace": namespace, "name": service_account, "body": {"spec": spec or {}}},
        )

    @staticmethod
    def _ns(obj: dict[str, Any] | None, namespace: str | None) -> str | None:
        if namespace is not None:
            return namespace
        if isinstance(obj, dict) and isinstance(obj.get("metadata"), dict):
            return obj["metadata"].get("namespace")
        return None

    async def create(
        self, resource: str, obj: dict[str, Any], namespace: str | None = None, *, dry_run: bool = False
    ) -> dict[str, Any]:
        return await self.call(
            "create",
            {"resource": resource, "namespace": self._ns(obj, namespace), "body": obj, "dryRun": dry_run},
        )

    async def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        return await self.call("get", {"resource": resource, "namespace": namespace, "name": name})

    async def list(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> dict[str, Any]:
        """A consistent snapshot of a resource, read straight from the state bucket's stream (as
        watches are), so a list is not bounded by one NATS message: 100,000 pods are ~90 MB.
        Events live on their own stream and are listed by the api."""
        from schemas.registry import lookup

        info = lookup(resource)
        if info.plural == "events" or not self._raw(info.plural):
            return await self._paged_list(resource, namespace, label_selector, field_selector)
        store = await self._watch_store()
        items, revision = await store.list(
            info.plural, namespace if info.namespaced else None, label_selector, field_selector
        )
        return {
            "apiVersion": f"{info.group}/{info.version}" if info.group else info.version,
            "kind": info.list_kind or f"{info.kind}List",
            "metadata": {"resourceVersion": str(revision)},
            "items": items,
        }

    async def _paged_list(
        self, resource: str, namespace: str | None, label_selector: str | None, field_selector: str | None
    ) -> dict[str, Any]:
        """The api's list, page by page (``limit``/``continue``), joined: as kubectl pages."""
        request: dict[str, Any] = {
            "resource": resource,
            "namespace": namespace,
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
            "limit": LIST_PAGE,
        }
        first: dict[str, Any] | None = None
        items: list[dict[str, Any]] = []
        while True:
            got = await self.call("list", request, timeout=max(self.timeout, 120.0))
            first = first or got
            items.extend(got.get("items") or [])
            token = (got.get("metadata") or {}).get("continue")
            if not token:
                break
            request = {**request, "continue": token}
        meta = {k: v for k, v in (first.get("metadata") or {}).items() if k != "continue"}
        return {**first, "metadata": meta, "items": items}

    async def update(
        self, resource: str, obj: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        return await self.call(
            "update",
            {
                "resource": resource,
                "namespace": self._ns(obj, namespace),
                "name": obj["metadata"]["name"],
                "body": obj,
            },
        )

    async def update_status(
        self, resource: str, obj: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        return await self.call(
            "update",
            {
                "resource": resource,
                "namespace": self._ns(obj, namespace),
                "name": obj["metadata"]["name"],
                "body": obj,
                "subresource": "status",
            },
        )

    async def patch(
        self,
        resource: str,
        name: str,
        patch: Any,
        patch_type: str = "merge",
        namespace: str | None = None,
        subresource: str | None = None,
        field_manager: str | None = None,
    ) -> dict[str, Any]:
        payload = {
            "resource": resource,
            "namespace": namespace,
            "name": name,
            "body": patch,
            "patchType": patch_type,
            "subresource": subresource,
        }
        if field_manager:
            payload["fieldManager"] = field_manager
        return await self.call("patch", payload)

    async def apply(
        self,
        resource: str,
        name: str,
        config: dict[str, Any],
        *,
        field_manager: str,
        namespace: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply of ``config`` as ``field_manager`` (creates a missing object); another
        manager's field changed is a Conflict naming it, unless ``force``."""
        return await self.call(
            "patch",
            {
                "resource": resource,
                "namespace": self._ns(config, namespace),
                "name": name,
                "body": config,
                "patchType": "apply",
                "fieldManager": field_manager,
                "force": force,
                "dryRun": dry_run,
            },
        )

    async def delete(
        self,
        resource: str,
        name: str,
        namespace: str | None = None,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        resource_version: str | None = None,
        *,
        dry_run: bool = False,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """Delete; ``dry_run``: checked, answered, nothing changed; ``subresource="eviction"``:
        a pod eviction (authorized as ``create pods/eviction``)."""
        payload: dict[str, Any] = {
            "resource": resource,
            "namespace": namespace,
            "name": name,
            "gracePeriodSeconds": grace_period_seconds,
            "propagationPolicy": propagation_policy,
            "resourceVersion": resource_version,
        }
        if dry_run:
            payload["dryRun"] = True
        if subresource:
            payload["subresource"] = subresource
        return await self.call("delete", payload)

    async def version(self) -> dict[str, Any]:
        return await self.call("version", {})

    async def pods_on_node(self, node_name: str) -> dict[str, Any]:
        return await self.call("nodepods", {"node": node_name})

    # ----------------------------------------------------------------- watch

    async def _watch_store(self) -> Store:
        if self._store is None:
            self._store = Store(self.bus)
        return self._store

    async def watch(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | int | None = None,
    ) -> AsyncGenerator[WatchEvent, None]:
        """Changes of a resource. Without ``resource_version``: the current objects as ADDED, a
        BOOKMARK, then changes; with one: every change after that revision."""
        from schemas.registry import lookup

        info = lookup(resource)
        if info.plural == "events" or not self._raw(info.plural):  # events: as their list does
            async with contextlib.aclosing(
                self._watch_via_api(info.plural, namespace, label_selector, field_selector, resource_version)
            ) as via_api:
                async for event in via_api:
                    yield event
            return
        keep = SelectorFilter(label_selector, field_selector)
        store = await self._watch_store()
        rev = int(resource_version) if resource_version not in (None, "", "0", 0) else None
        ns = namespace if info.namespaced else None
        async with contextlib.aclosing(store.watch(info.plural, ns, rev)) as events:
            async for event in events:
                kept = keep(event)
                if kept is not None:
                    yield kept

    async def _watch_via_api(
        self,
        plural: str,
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None,
        resource_version: str | int | None,
    ) -> AsyncGenerator[WatchEvent, None]:
        """The api's streaming watch: chunks ``{"events": [[type, object, revision], ...]}`` (an
        empty list is a heartbeat) or ``{"error": Status}`` arrive as requests on our inbox; each
        is acknowledged with an empty reply, which is also how the api learns we are still here."""
        from schemas.errors import from_status

        async with ChunkReceiver(self.bus, what="watch chunk from the api") as stream:
            await self.call(
                "watch",
                {
                    "resource": plural,
                    "namespace": namespace,
                    "labelSelector": label_selector,
                    "fieldSelector": field_selector,
                    "resourceVersion": None if resource_version is None else str(resource_version),
                    "stream": stream.inbox,
                },
            )
            while True:
                try:
                    chunk = await stream.receive(WATCH_SILENCE_LIMIT)
                except PeerGone:
                    raise ServiceUnavailable(
                        f"the api stopped sending the watch of {plural} "
                        f"(nothing for {WATCH_SILENCE_LIMIT:g}s)"
                    ) from None
                await chunk.ack()
                if "error" in chunk.body:
                    raise from_status(chunk.body["error"])
                for kind, obj, revision in chunk.body.get("events") or []:
                    yield WatchEvent(kind, obj, int(revision))

    async def watch_node_pods(
        self, node_name: str, *, resync_seconds: float = NODE_RESYNC_SECONDS, tick: float = 1.0
    ) -> AsyncGenerator[WatchEvent, None]:
        """The pods bound to one node: their current list as ADDED, a BOOKMARK, then changes.

        Subscribes before listing, so nothing falls between. The relay's messages are plain NATS
        publishes, so the stream is checked (bus/nodestream.py): a jump in a relay's sequence
        numbers, a relay never heard (a restarted api), a reconnect of this connection, and every
        ``resync_seconds`` anyway, the node's pods are listed again and the differences come out as
        events (a pod deleted in the gap as DELETED). Repeats and older states are dropped."""
        from bus.nodestream import NodeView, RelaySequences, Verdict

        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def on_msg(msg: Any) -> None:
            await queue.put(msg)

        try:
            sub = await self.bus.nc.subscribe(f"{NODEPODS_PREFIX}.{node_name}", cb=on_msg)
        except nats.errors.Error as err:
            raise ServiceUnavailable(f"cannot subscribe at {self.bus.url}: {err}") from err
        view = NodeView()
        relays = RelaySequences()

        async def relist(why: str) -> list[tuple[str, dict[str, Any]]]:
            listing = await self.pods_on_node(node_name)
            meta = listing.get("metadata") or {}
            relays.listed(meta.get("relay"), int(meta.get("relaySeq") or 0))
            found = view.corrections(listing.get("items") or [], int(meta.get("resourceVersion") or 0))
            if why not in ("start", "periodic") or found:
                log.info("nodepods.relisted", node=node_name, why=why, changes=len(found))
            return found

        try:
            for kind, pod in await relist("start"):
                yield WatchEvent(kind, pod, int(pod["metadata"]["resourceVersion"]))
            yield WatchEvent("BOOKMARK", {}, view.listed)
            reconnects = self.bus.reconnects
            pending = ""  # a re-list that failed, to try again
            next_resync = time.monotonic() + resync_seconds
            while True:
                why = ""
                msg = None
                try:
                    async with asyncio.timeout(tick):
                        msg = await queue.get()
                except TimeoutError:
                    pass
                if self.bus.reconnects != reconnects:
                    reconnects = self.bus.reconnects
                    why = "reconnected"
                elif time.monotonic() >= next_resync:
                    why = "periodic"
                data = decode(msg.data) if msg is not None else None
                if isinstance(data, dict):
                    verdict = relays.judge(data.get("relay"), data.get("seq"))
                    if verdict in (Verdict.GAP, Verdict.NEW_RELAY):
                        why = why or verdict.value
                why = why or pending
                if why:
                    next_resync = time.monotonic() + resync_seconds
                    try:
                        found = await relist(why)
                    except (ServiceUnavailable, Timeout) as err:  # e.g. a restarted api not serving yet
                        log.info("nodepods.relist_failed", node=node_name, why=why, error=str(err))
                        pending = why  # again at the next tick; relayed events still apply meanwhile
                        next_resync = time.monotonic()
                    else:
                        pending = ""
                        for kind, pod in found:
                            yield WatchEvent(kind, pod, int(pod["metadata"]["resourceVersion"]))
                if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
                    continue
                obj = data["object"]
                if view.accept(str(data.get("type")), obj):
                    yield WatchEvent(data["type"], obj, int(obj["metadata"]["resourceVersion"]))
        finally:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()
