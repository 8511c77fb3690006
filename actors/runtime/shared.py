"""One informer per (resource, namespace, selectors) per process, shared by every controller.

Controllers ask the factory for the informers they need while they are built, then the process
starts them all under its supervisor::

    informers = SharedInformers(api)
    pods = informers.informer("pods")          # the same object for every caller
    informers.start(supervisor)                # one supervised agent per informer
    await informers.wait_synced(timeout=30)

An informer asked for after :meth:`SharedInformers.start` is started at once. The resources in
``compact`` (pods, by default: the one kind a cluster has 100,000 of) are cached as msgpack bytes and
decoded on each read (:class:`actors.runtime.cache.Cache`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from actors.runtime.informer import Informer
from actors.runtime.listwatch import ListWatcher
from actors.runtime.supervisor import Supervisor
from schemas.errors import Timeout

InformerKey = tuple[str, str | None, str | None, str | None]
COMPACT = frozenset({"pods"})


class SharedInformers:
    def __init__(
        self, lister_watcher: ListWatcher, *, compact: frozenset[str] = COMPACT, **informer_options: Any
    ) -> None:
        self.lister_watcher = lister_watcher
        self.compact = compact
        self._options = informer_options
        self._informers: dict[InformerKey, Informer] = {}
        self._started: set[InformerKey] = set()
        self._supervisor: Supervisor | None = None

    def informer(
        self,
        resource: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Informer:
        """The process's informer for this view of ``resource``, created on first use."""
        key = (resource, namespace, label_selector, field_selector)
        informer = self._informers.get(key)
        if informer is None:
            informer = Informer(
                self.lister_watcher,
                resource,
                namespace,
                label_selector,
                field_selector,
                compact=resource in self.compact,
                **self._options,
            )
            self._informers[key] = informer
            if self._supervisor is not None:
                self._start_one(self._supervisor, key, informer)
        return informer

    @property
    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    def start(self, supervisor: Supervisor) -> None:
        """Run every informer not yet running as a supervised agent (restarted if it crashes)."""
        self._supervisor = supervisor
        for key, informer in self._informers.items():
            if key not in self._started:
                self._start_one(supervisor, key, informer)

    def _start_one(self, supervisor: Supervisor, key: InformerKey, informer: Informer) -> None:
        supervisor.spawn(informer.name, informer.run)
        self._started.add(key)

    async def wait_synced(self, timeout: float | None = None) -> None:
        """Wait until every informer created so far has synced; :class:`Timeout` after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                for informer in list(self._informers.values()):
                    await informer.wait_synced()
        except TimeoutError:
            waiting = [i.name for i in self._informers.values() if not i.synced]
            raise Timeout(f"informers did not sync within {timeout} s: {', '.join(waiting)}") from None
