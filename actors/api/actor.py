"""Wiring of the api actor: its informers, the node relay, the responder and the bootstrap.

The api reads small views of current state at admission time (namespaces, the RBAC kinds, the
admission plugins' services, quotas and limit ranges) and the node relay follows every pod: all
from the process's shared informers (actors/runtime/shared.py), one per resource, which the
control plane's controllers read too. An api on its own (tests) makes and starts its own set.

``ApiActor.start(supervisor)`` spawns, in order: its own informers (if it made them), the node relay,
the bootstrap (one-shot: the default namespaces), and the responder on ``jetkube.api.*`` in the
queue group ``jetkube-api`` (every replica serves; NATS spreads requests over them). Stopping the
supervisor stops them in reverse order: the responder first, so no request is half-served.

Requests pass the authorization gate (actors/api/authz/gate.py) first: the responder on
``jetkube.api.*`` serves the trusted subjects (the control plane's, or everyone's with NATS auth
off), a second one on ``jetkube.api.u.*.*`` serves authenticated users, whose identity is the
subject's user token. The gate reads informers of the four RBAC kinds and writes the default
ClusterRoles and bindings at bootstrap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from actors.api.authz.gate import Gate
from actors.api.compactor import Compactor
from actors.api.crds import CustomKinds
from actors.api.fairness import FairResponder
from actors.api.handlers import Api
from actors.api.noderelay import NodeRelay
from actors.runtime.listwatch import StoreListWatcher
from actors.runtime.shared import SharedInformers
from actors.runtime.supervisor import Supervisor
from bus.cancelsafe import wait_for
from bus.client import API_PREFIX
from bus.connection import Bus
from bus.events import ensure_stream
from bus.logs import ensure_log_stream
from bus.store import Store
from schemas.errors import AlreadyExists

log = structlog.get_logger(__name__)

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
QUEUE_GROUP = "jetkube-api"


class ApiActor:
    def __init__(
        self,
        bus: Bus,
        store: Store,
        *,
        concurrency: int = 64,
        hooks: list[Any] | None = None,
        informers: SharedInformers | None = None,
    ) -> None:
        self.bus = bus
        self.store = store
        # The process's shared informers (the control plane's), or this api's own.
        self.own_informers = informers is None
        self.informers = informers or SharedInformers(StoreListWatcher(store))
        self.namespaces = self.informers.informer("namespaces")
        self.pods = self.informers.informer("pods")
        self.relay = NodeRelay.from_informer(bus, self.pods)
        self.compactor = Compactor(store)  # delete markers older than the retention go
        self.api = Api(store, namespaces=self.namespaces, relay=self.relay, bus=bus)
        self.gate = Gate(self.api, store, self.informers)
        self.crds = self.informers.informer("customresourcedefinitions")
        CustomKinds(self.api, self.crds)  # the CRDs' kinds, served by this process (crds.py)
        self.before_serving: list[Callable[[], Awaitable[Any]]] = []
        # per-flow queues with a share reserved for the control plane and kubelets (fairness.py)
        self.responder = FairResponder(
            bus,
            f"{API_PREFIX}.*",
            self.gate.handle_trusted,
            queue=QUEUE_GROUP,
            concurrency=concurrency,
            name="api",
            count_of=self.count_of,
        )
        self.user_responder = FairResponder(
            bus,
            f"{API_PREFIX}.u.*.*",
            self.gate.handle_user,
            queue=QUEUE_GROUP,
            concurrency=max(4, concurrency // 4),
            name="api-users",
            count_of=self.count_of,
        )

    def count_of(self, resource: str) -> int:
        """The objects a list of ``resource`` reads, for its cost (actors/api/fairness_levels.py):
        the pods informer's count (the api follows every pod), else the last full list's."""
        known = self.api.list_sizes.get(resource, 0)
        if resource == "pods" and self.pods.synced:
            return max(known, len(self.pods.objects))
        return known

    async def bootstrap(self) -> None:
        await ensure_stream(self.bus)
        await ensure_log_stream(self.bus)  # the kubelets publish to it; they may not create streams
        for name in DEFAULT_NAMESPACES:
            try:
                await self.store.create(
                    "namespaces",
                    {
                        "apiVersion": "v1",
                        "kind": "Namespace",
                        "metadata": {"name": name},
                        "spec": {"finalizers": ["kubernetes"]},
                        "status": {"phase": "Active"},
                    },
                )
                log.info("api.namespace_created", namespace=name)
            except AlreadyExists:
                pass
        await self.gate.bootstrap()

    async def ready(self, timeout: float = 30.0) -> None:
        """Wait until the informers have synced (the api answers correctly from then on)."""
        await self.namespaces.wait_synced(timeout)
        await self.pods.wait_synced(timeout)
        await self.crds.wait_synced(timeout)
        await self.gate.ready(timeout)
        await wait_for(self.responder.serving.wait(), timeout)
        await wait_for(self.user_responder.serving.wait(), timeout)

    def start(self, sup: Supervisor) -> None:
        if self.own_informers:
            self.informers.start(sup)
        sup.spawn("api.noderelay", self.relay.run)
        sup.spawn("api.compactor", self.compactor.run)
        sup.spawn("api.responder", self.serve)

    async def serve(self) -> None:
        """Bootstrap (idempotent), then answer requests until cancelled.

        Nothing is answered before the pod source has synced: a kubelet asking for its pods from
        an empty cache would stop containers that still have pods."""
        await self.bootstrap()
        await self.pods.wait_synced(120)
        for wait in self.before_serving:
            await wait()
        await self.gate.ready(120)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.responder.run(), name="api-responder")
            tg.create_task(self.user_responder.run(), name="api-user-responder")
