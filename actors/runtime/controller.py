"""The shape of every controller: informers -> handlers that enqueue keys -> workers -> reconcile.

A controller subclasses :class:`Controller`, asks the process's :class:`SharedInformers` for the
informers it reads, wires them with :meth:`Controller.watch` (which only enqueues keys), and writes
``reconcile(key)``: re-read the current state from the informer caches, decide (a pure function
elsewhere), act through the api. :func:`run_controller` waits for every informer to sync, then runs
``workers`` workers over the queue (see :func:`~actors.runtime.workqueue.run_workers` for how
errors and conflicts are retried); given a :class:`LeaderElector` it does so only while leading.

While a replica stands by, its informers keep running and its queue keeps collecting (deduplicated)
keys, so a newly elected leader starts from a warm cache and a full queue; before its workers
start it waits for each cache to reach the store's newest revision of that resource
(:meth:`Informer.catch_up`), so it never acts on a cache older than the old leader's last write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import structlog

from actors.runtime.cache import key_of
from actors.runtime.informer import Informer
from actors.runtime.leader import LeaderElector
from actors.runtime.workqueue import WorkQueue, run_workers

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
KeyFunc = Callable[[Obj], str | Iterable[str] | None]


def owner_key(obj: Obj, kind: str) -> str | None:
    """Key of the object's controller owner of ``kind`` (same namespace), e.g. a pod's ReplicaSet."""
    meta = obj.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == kind and ref.get("controller"):
            namespace = meta.get("namespace")
            return f"{namespace}/{ref['name']}" if namespace else ref["name"]
    return None


class Controller:
    """Base class: a named queue, the informers it needs, and ``reconcile(key)`` to implement."""

    name: str = "controller"
    workers: int = 1

    def __init__(self, *, name: str | None = None, workers: int | None = None) -> None:
        if name is not None:
            self.name = name
        if workers is not None:
            self.workers = workers
        self.queue = WorkQueue(self.name)
        self.informers: list[Informer] = []

    def watch(self, informer: Informer, keys: KeyFunc = key_of) -> Informer:
        """Enqueue ``keys(obj)`` on every add, update (old and new object) and delete of ``informer``."""

        def enqueue(obj: Obj) -> None:
            out = keys(obj)
            for key in [out] if isinstance(out, str) else out or ():
                self.queue.add(key)

        def on_update(old: dict[str, Any], new: dict[str, Any]) -> None:
            enqueue(old)
            enqueue(new)

        informer.add_handler(on_add=enqueue, on_update=on_update, on_delete=enqueue)
        if informer not in self.informers:
            self.informers.append(informer)
        return informer

    async def reconcile(self, key: str) -> None:
        raise NotImplementedError


async def run_controller(
    controller: Controller,
    *,
    sync_timeout: float | None = None,
    elector: LeaderElector | None = None,
) -> None:
    """Wait for the controller's informers to sync, then run its workers (while leading, if elected)."""
    if elector is not None:
        await elector.run(lambda: _run(controller, sync_timeout))
    else:
        await _run(controller, sync_timeout)


async def _run(controller: Controller, sync_timeout: float | None) -> None:
    log.info("controller.waiting_for_sync", controller=controller.name, informers=len(controller.informers))
    for informer in controller.informers:
        await informer.wait_synced(sync_timeout)
    # A new leader acts only on caches at least as new as the store when it took the lease: the
    # old leader's last writes (fenced, so none after the takeover) are all in them.
    for informer in controller.informers:
        await informer.catch_up()
    log.info("controller.started", controller=controller.name, workers=controller.workers)
    await run_workers(controller.queue, controller.reconcile, controller.workers, name=controller.name)
