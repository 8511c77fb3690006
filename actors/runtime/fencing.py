"""Fenced writes: a controller writes only while its lease is surely its own.

Leader election alone does not stop two leaders acting at once: a leader frozen for longer than its
lease (SIGSTOP, ``docker pause``, a GC pause, a slow disk) wakes up with its workers mid-reconcile
and its caches stale, and could write before its renewer notices that a standby took over. So every
write a controller makes carries a fencing token, checked twice:

1. **Here, before sending** (:class:`FencedApiClient`): the elector's :meth:`LeaderElector.fence`
   is ``None`` once the last successful renewal was sent more than ``renew_deadline`` ago (by the
   monotonic clock, which runs on while the process is frozen), and the write fails with
   :class:`~schemas.errors.LeaseLost` without leaving the process.
2. **In the api** (``actors/api/fencing.py``): the token names the lease, the holder and its epoch
   (``leaseTransitions``); the api refuses the write when the stored lease has another holder or
   epoch. That covers a write sent just before the freeze and delivered after the takeover.

Reads are not fenced. A controller that is not under a lease (tests, ``bind`` left unset) writes
unfenced, as before.
"""

from __future__ import annotations

from typing import Any

from actors.runtime.leader import LeaderElector
from bus.client import SAFE_TO_RETRY, ApiClient
from bus.connection import Bus
from schemas.errors import LeaseLost

UNFENCED_VERBS = SAFE_TO_RETRY | {"watch", "cani"}


class Fence:
    """The elector a controller's writes answer to; bound when the controller is put under a lease."""

    def __init__(self) -> None:
        self.elector: LeaderElector | None = None

    def bind(self, elector: LeaderElector) -> None:
        self.elector = elector

    def token(self) -> dict[str, Any] | None:
        """The token to send, ``None`` when unbound; :class:`LeaseLost` when the lease is not ours."""
        if self.elector is None:
            return None
        token = self.elector.fence()
        if token is None:
            raise LeaseLost(
                f"lease {self.elector.name!r}: {self.elector.identity} no longer holds it surely "
                "(not renewed within the renew deadline, or taken over); the write was not sent"
            )
        return token


class FencedApiClient(ApiClient):
    """An :class:`~bus.client.ApiClient` whose writes carry ``fence``'s token (``"fence"`` field)."""

    def __init__(self, bus: Bus, fence: Fence, **kwargs: Any) -> None:
        super().__init__(bus, **kwargs)
        self.fence = fence

    async def call(
        self,
        verb: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        warnings: list[str] | None = None,
    ) -> Any:
        if verb not in UNFENCED_VERBS:
            token = self.fence.token()
            if token is not None:
                payload = {**payload, "fence": token}
        return await super().call(verb, payload, timeout=timeout, warnings=warnings)
