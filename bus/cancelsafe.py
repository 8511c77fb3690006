"""Cancellation that is never lost while nats-py waits for a reply.

Python 3.11's ``asyncio.wait_for`` drops a cancellation that arrives in the same loop turn as the
awaited future's result (CPython gh-86296, fixed in 3.12 by building ``wait_for`` on
``asyncio.timeout``). nats-py awaits every request, JetStream API call and flush with it, so a task
cancelled while its reply is landing carries on as if nothing happened: a loop of requests
cancelled once runs forever, a supervisor's stop waits out its timeout and leaves the task running,
and an ``asyncio.timeout`` around such a call never fires. Measured: a loop of ``request()``
cancelled 300 times at random moments ignored 100 of the cancels
(tests/integration/store/test_cancellation.py).

:func:`install` gives nats-py's modules (only those) the 3.12 ``wait_for``; the project's own code
uses ``asyncio.timeout`` directly. On 3.12 and later it does nothing.
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")

_NATS_MODULES = (
    "nats.aio.client",
    "nats.aio.subscription",
    "nats.js.client",
    "nats.js.manager",
    "nats.js.kv",
    "nats.js.object_store",
)


async def wait_for(aw: Awaitable[T], timeout: float | None) -> T:
    """``asyncio.wait_for`` as Python 3.12 has it: a cancellation always propagates."""
    if timeout is not None and timeout <= 0:
        fut = asyncio.ensure_future(aw)
        if fut.done():
            return fut.result()
        fut.cancel()
        try:
            await fut
        except asyncio.CancelledError as exc:
            raise TimeoutError from exc
        return fut.result()
    async with asyncio.timeout(timeout):
        return await aw


class _AsyncioWithSafeWaitFor(types.ModuleType):
    """The asyncio module as nats-py sees it: everything asyncio has, with the safe ``wait_for``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def install() -> None:
    if sys.version_info >= (3, 12):
        return
    import importlib

    shim = _AsyncioWithSafeWaitFor("asyncio")
    shim.wait_for = wait_for  # type: ignore[attr-defined]
    for name in _NATS_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, "asyncio", None) is asyncio:
            module.asyncio = shim  # type: ignore[attr-defined]
