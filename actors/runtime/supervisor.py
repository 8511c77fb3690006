"""Supervision: every long-running coroutine of an actor process is a named, watched task.

Lifecycle. A process builds one :class:`Supervisor`, ``spawn``\\ s its agents (informers, workers,
the kubelet's sync loop ...) and calls :meth:`Supervisor.run_until_signal`. Each child is a
*coroutine factory*, not a coroutine, so that the supervisor can start it again:

- ``restart=True`` (the default, "transient" in Erlang's words): a child that raises is logged with
  its traceback and started again after an exponential backoff (0.5 s doubling to 30 s; the count
  resets once a run has lasted 60 s, so a child that crashes once a day restarts at once). A child
  that *returns* has finished its job and is not restarted.
- ``restart=False``: one-shot; a crash is logged and the child is gone.

Shutdown is ordered: :meth:`Supervisor.stop` cancels the children one by one in reverse start
order, waiting (with a timeout) for each to finish its cleanup before cancelling the next, so an
actor spawned after the informers it reads from is stopped before them.

:func:`guarded_task` is for short-lived fire-and-forget work (one reconcile side job, a callback):
named, strongly referenced until done, its exception logged. Nothing else in jetkube calls
``asyncio.create_task`` directly.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog

from actors.runtime.backoff import Backoff
from schemas.errors import InternalError

log = structlog.get_logger(__name__)

CoroFactory = Callable[[], Awaitable[Any]]

# asyncio keeps only weak references to tasks: hold guarded tasks until they finish.
_guarded: set[asyncio.Task[Any]] = set()


def guarded_task(name: str, coro: Coroutine[Any, Any, Any], *, log_errors: bool = True) -> asyncio.Task[Any]:
    """Run ``coro`` as a named task that cannot be garbage-collected while it runs.

    Its exception is logged, unless ``log_errors=False`` says the caller awaits the task and
    handles the outcome itself.
    """
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _guarded.add(task)
    task.add_done_callback(_guarded_done if log_errors else _guarded.discard)
    return task


def _guarded_done(task: asyncio.Task[Any]) -> None:
    _guarded.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("task.failed", task=task.get_name(), exc_info=exc)


@dataclass
class Child:
    """One supervised coroutine: its name, how to start it, and its keeper task."""

    name: str
    factory: CoroFactory
    restart: bool
    task: asyncio.Task[Any] | None = None
    restarts: int = 0
    backoff: Backoff = field(default_factory=lambda: Backoff(0.5, 30.0))
    last_error: str = ""  # the last crash, for health reports (actors/health)
    backing_off: bool = False  # crashed, waiting to be restarted

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


class Supervisor:
    """Runs named coroutine factories, restarts crashed ones with backoff, stops them in order."""

    def __init__(
        self,
        name: str = "supervisor",
        *,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        healthy_after: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.healthy_after = healthy_after
        self.stop_timeout = stop_timeout
        self._children: list[Child] = []
        self._stopping = False
        self._stop_requested = asyncio.Event()

    @property
    def children(self) -> list[Child]:
        """Children still known to the supervisor, in start order."""
        return list(self._children)

    def child(self, name: str) -> Child | None:
        return next((c for c in self._children if c.name == name), None)

    def spawn(self, name: str, coro_factory: CoroFactory, *, restart: bool = True) -> Child:
        """Start ``coro_factory()`` as the task ``name``; restart it on crash if ``restart``."""
        if self._stopping:
            raise InternalError(f"supervisor {self.name} is stopping: cannot start {name}")
        if any(c.name == name and c.running for c in self._children):
            raise InternalError(f"supervisor {self.name} already runs a task named {name}")
        child = Child(name, coro_factory, restart, backoff=Backoff(self.backoff_base, self.backoff_cap))
        child.task = asyncio.get_running_loop().create_task(self._keep(child), name=name)
        self._children.append(child)
        log.debug("task.spawned", supervisor=self.name, task=name, restart=restart)
        return child

    async def _keep(self, child: Child) -> None:
        """The keeper loop of one child: run, and on crash wait and run again."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                started = loop.time()
                try:
                    await child.factory()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    ran = loop.time() - started
                    if not child.restart:
                        log.error("task.crashed", task=child.name, ran=round(ran, 3), exc_info=exc)
                        return
                    if ran >= self.healthy_after:
                        child.backoff.reset()
                    delay = child.backoff.next()
                    child.restarts += 1
                    log.error(
                        "task.crashed",
                        task=child.name,
                        ran=round(ran, 3),
                        restart_in=delay,
                        restarts=child.restarts,
                        exc_info=exc,
                    )
                    child.last_error, child.backing_off = f"{type(exc).__name__}: {exc}"[:300], True
                    await asyncio.sleep(delay)
                    child.backing_off = False
                    log.info("task.restarting", task=child.name, restarts=child.restarts)
                else:
                    log.debug("task.finished", task=child.name)
                    return
        finally:
            if not self._stopping and child in self._children:
                self._children.remove(child)

    async def stop(self, timeout: float | None = None) -> None:
        """Cancel every child in reverse start order, each given ``timeout`` s to finish."""
        self._stopping = True
        self._stop_requested.set()
        per_child = self.stop_timeout if timeout is None else timeout
        for child in reversed(self._children):
            task = child.task
            if task is None or task.done():
                continue
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=per_child)
            if not done:
                log.warning("task.stop_timeout", task=child.name, timeout=per_child)
            elif not task.cancelled() and task.exception() is not None:
                log.error("task.failed_on_stop", task=child.name, exc_info=task.exception())
            else:
                log.debug("task.stopped", task=child.name)
        self._children.clear()
        log.info("supervisor.stopped", supervisor=self.name)

    def request_stop(self) -> None:
        """Ask :meth:`run_until_signal` to shut down (what SIGTERM/SIGINT do)."""
        self._stop_requested.set()

    async def run_until_signal(
        self, signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)
    ) -> None:
        """Wait for SIGTERM/SIGINT (or :meth:`request_stop`), then stop every child in order."""
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in signals:
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / platform
                log.warning("supervisor.no_signal_handler", signal=sig.name)
        try:
            await self._stop_requested.wait()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            await self.stop()

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("supervisor.signal", supervisor=self.name, signal=sig.name)
        self._stop_requested.set()
