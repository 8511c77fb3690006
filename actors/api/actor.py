"""Wiring of the api actor: its mirrors, the node relay, the responder and the bootstrap.

``ApiActor.start(supervisor)`` spawns, in order: the namespaces and pods mirrors, the node relay,
the bootstrap (one-shot: the default namespaces), and the responder on ``jetkube.api.*`` in the
queue group ``jetkube-api`` (every replica serves; NATS spreads requests over them). Stopping the
supervisor stops them in reverse order: the responder first, so no request is half-served.

Requests pass the authorization gate (actors/api/authz/gate.py) first: the responder on
``jetkube.api.*`` serves the trusted subjects (the control plane's, or everyone's with NATS auth
off), a second one on ``jetkube.api.u.*.*`` serves authenticated users, whose identity is the
subject's user token. The gate keeps mirrors of the four RBAC kinds and writes the default
ClusterRoles and bindings at bootstrap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from actors.api.authz.gate import Gate
from actors.api.handlers import Api
from actors.api.mirror import Mirror
from actors.api.noderelay import NodeRelay
from actors.runtime.supervisor import Supervisor
from bus.cancelsafe import wait_for
from bus.client import API_PREFIX
from bus.connection import Bus
from bus.events import ensure_stream
from bus.logs import ensure_log_stream
from bus.rpc import Responder
from bus.store import Store
from schemas.errors import AlreadyExists

log = structlog.get_logger(__name__)

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public")
QUEUE_GROUP = "jetkube-api"


class ApiActor:
    def __init__(
        self,
        bus: Bus,
        store: Store,
        *,
        concurrency: int = 64,
        hooks: list[Any] | None = None,
        pods_informer: Any = None,
    ) -> None:
        self.bus = bus
        self.store = store
        self.namespaces = Mirror(store, "namespaces")
        # With the process's shared pods informer the relay reads that one copy of the pods;
        # otherwise (an api on its own) it keeps its own mirror.
        self.pods_informer = pods_informer
        self.pods: Mirror | None = None
        if pods_informer is not None:
            self.relay = NodeRelay.from_informer(bus, pods_informer)
        else:
            self.pods = Mirror(store, "pods")
            self.relay = NodeRelay(bus, self.pods)
        self.api = Api(store, namespaces=self.namespaces, pods=self.pods, relay=self.relay, bus=bus)
        self.gate = Gate(self.api, store)
        self.before_serving: list[Callable[[], Awaitable[Any]]] = []
        self.responder = Responder(
            bus,
            f"{API_PREFIX}.*",
            self.gate.handle_trusted,
            queue=QUEUE_GROUP,
            concurrency=concurrency,
            name="api",
        )
        self.user_responder = Responder(
            bus,
            f"{API_PREFIX}.u.*.*",
            self.gate.handle_user,
            queue=QUEUE_GROUP,
            concurrency=max(4, concurrency // 4),
            name="api-users",
        )

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
        """Wait until the mirrors have synced (the api answers correctly from then on)."""
        await self.namespaces.wait_synced(timeout)
        if self.pods is not None:
            await self.pods.wait_synced(timeout)
        else:
            await self.pods_informer.wait_synced(timeout)
        await self.gate.ready(timeout)
        await wait_for(self.responder.serving.wait(), timeout)
        await wait_for(self.user_responder.serving.wait(), timeout)

    def start(self, sup: Supervisor) -> None:
        sup.spawn("api.mirror.namespaces", self.namespaces.run)
        if self.pods is not None:
            sup.spawn("api.mirror.pods", self.pods.run)
        sup.spawn("api.noderelay", self.relay.run)
        self.gate.start(sup)
        sup.spawn("api.responder", self.serve)

    async def serve(self) -> None:
        """Bootstrap (idempotent), then answer requests until cancelled.

        Nothing is answered before the pod source has synced: a kubelet asking for its pods from
        an empty cache would stop containers that still have pods."""
        await self.bootstrap()
        if self.pods is not None:
            await self.pods.wait_synced(120)
        else:
            await self.pods_informer.wait_synced(120)
        for wait in self.before_serving:
            await wait()
        await self.gate.ready(120)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.responder.run(), name="api-responder")
            tg.create_task(self.user_responder.run(), name="api-user-responder")
