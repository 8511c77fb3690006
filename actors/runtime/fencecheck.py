"""The stored side of fenced writes (actors/runtime/fencing.py): a write that carries a fencing token
is made only while the token's lease still names its holder and epoch. The api checks the tokens of
the controllers' writes here (actors/api/fencing.py); the scheduler, which writes to the store
itself, checks its own before each batch of binds.

The token ``{"lease": "<namespace>/<name>", "holder": <identity>, "epoch": <leaseTransitions>}``
is checked against the lease as stored, read from the stream leader (``Store.get``), just before
the write. By default a check and a write are two steps: a write could still land if this api
replica froze between them for longer than a lease; the request's deadline (bus/rpc.py), checked on
arrival and again here, narrows that to the time of one store write. With ``JETKUBE_ATOMIC_FENCE=1``
(:func:`fenced_write`, bus/conditional.py) the write is stored only if the lease is still at the
revision the check read, in one atomic batch: no window, at the price of a slower write.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bus.conditional import ConditionMoved, write_condition
from schemas.errors import BadRequest, LeaseLost, NotFound

T = TypeVar("T")
MOVED_RETRIES = 5  # the lease moved under an atomic write this often (renewals): give up, LeaseLost


def parse_token(token: Any) -> tuple[str, str, str, int]:
    """``(namespace, name, holder, epoch)`` of a token; BadRequest naming the bad field."""
    if not isinstance(token, dict):
        raise BadRequest("fence: must be an object with lease, holder and epoch")
    lease = token.get("lease")
    if not isinstance(lease, str) or lease.count("/") != 1 or not all(lease.split("/")):
        raise BadRequest('fence.lease: must be "<namespace>/<name>"')
    holder = token.get("holder")
    if not isinstance(holder, str) or not holder:
        raise BadRequest("fence.holder: Required value")
    epoch = token.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise BadRequest("fence.epoch: must be a non-negative integer")
    namespace, name = lease.split("/")
    return namespace, name, holder, epoch


def fence_refusal(lease: dict[str, Any] | None, holder: str, epoch: int) -> str | None:
    """Why a write under (holder, epoch) must be refused given the stored lease; ``None``: allowed."""
    if lease is None:
        return "the lease does not exist"
    spec = lease.get("spec") or {}
    current = spec.get("holderIdentity") or ""
    if current != holder:
        return f"the lease is held by {current or 'nobody'}, not {holder}"
    if int(spec.get("leaseTransitions") or 0) != epoch:
        return f"the lease's epoch is {spec.get('leaseTransitions')}, not {epoch}"
    return None


async def check_fence(store: Any, token: Any, deadline: float | None = None) -> int:
    """Raise :class:`LeaseLost` unless the token's lease still names its holder and epoch; the
    lease's revision as read."""
    namespace, name, holder, epoch = parse_token(token)
    try:
        lease = await store.get("leases", namespace, name)
    except NotFound:
        lease = None
    why = fence_refusal(lease, holder, epoch)
    if why is None and deadline is not None and time.time() > deadline:
        why = "the request's deadline passed while the lease was checked"
    if why is not None:
        raise LeaseLost(f"lease {namespace}/{name}: {why}; the write was refused")
    return int(((lease or {}).get("metadata") or {}).get("resourceVersion") or 0)


async def fenced_write(
    store: Any, token: Any, write: Callable[[], Awaitable[T]], deadline: float | None = None
) -> T:
    """``write()`` under the token's lease: refused (:class:`LeaseLost`) unless the lease names the
    token's holder and epoch. With ``store.atomic_fences`` the store's writes inside ``write`` are
    stored only while the lease is still at the revision checked (bus/conditional.py); a lease that
    moved meanwhile (a renewal, or a takeover) is checked again and the write retried."""
    namespace, name, _holder, _epoch = parse_token(token)
    for _attempt in range(MOVED_RETRIES):
        revision = await check_fence(store, token, deadline)
        if not getattr(store, "atomic_fences", False):
            return await write()
        try:
            with write_condition(store.condition("leases", namespace, name, revision)):
                return await write()
        except ConditionMoved:
            continue
    raise LeaseLost(f"lease {namespace}/{name}: it kept moving while the write was made; nothing was written")
