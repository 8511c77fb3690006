"""The store's fenced writes: writes stored atomically with a lease check (bus/conditional.py).

With ``JETKUBE_ATOMIC_FENCE=1`` (``Store.atomic_fences``) a write made under a fence's condition
goes out as an atomic batch whose first message checks that the lease is still at the revision
the writer checked. The server refuses the whole batch when one compare-and-set in it loses and
does not say which: a refused batch whose condition still holds is split in halves until each
write's own outcome is known.

Split out of bus/store.py to keep the store's modules small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bus.caswrites import batch_update
from bus.conditional import MAX_WRITES, Condition, ConditionMoved, publish_conditional
from bus.pipeline import WrongLastSequence
from bus.storeerrors import conflict, translate
from schemas.errors import Conflict, JetkubeError

if TYPE_CHECKING:
    from bus.store import Store


async def condition_moved(store: Store, condition: Condition) -> bool:
    """Whether ``condition``'s subject is no longer at its revision."""
    last = await store._last(condition.subject)
    return last is None or int(last.seq or 0) != condition.revision


async def write_fenced(
    store: Store, condition: Condition, writes: list[tuple[str, bytes, dict[str, str]]]
) -> list[int | WrongLastSequence]:
    """``writes`` stored atomically with ``condition``'s check: each one's sequence, or
    WrongLastSequence for a compare-and-set that lost; ConditionMoved when the condition failed."""
    try:
        last = await publish_conditional(store.bus.nc, condition, writes, store.js_timeout)
    except WrongLastSequence:
        if await condition_moved(store, condition):
            raise ConditionMoved(
                f"{condition.subject[len(store.prefix) :]} moved past revision {condition.revision} "
                "before the write was stored; nothing was written"
            ) from None
        if len(writes) == 1:
            return [WrongLastSequence()]
        half = len(writes) // 2  # all or nothing, and the server does not say which lost
        return [
            *await write_fenced(store, condition, writes[:half]),
            *await write_fenced(store, condition, writes[half:]),
        ]
    return [last - (len(writes) - 1 - i) for i in range(len(writes))]


async def update_batch_fenced(
    store: Store, condition: Condition, resource: str, items: list[tuple[dict[str, Any], dict[str, Any]]]
) -> list[dict[str, Any] | JetkubeError]:
    """update_batch's writes in atomic batches with ``condition``'s check (bus/conditional.py)."""
    slots: list[dict[str, Any] | JetkubeError | None] = []
    sent: list[tuple[int, dict[str, Any], str]] = []
    writes: list[tuple[str, bytes, dict[str, str]]] = []
    for new, old in items:
        write = batch_update(store, resource, new, old)
        if isinstance(write, Conflict):
            slots.append(write)
            continue
        subject, stored, payload, headers = write
        sent.append((len(slots), stored, new["metadata"].get("name", "")))
        writes.append((subject, payload, headers))
        slots.append(None)
    acks: list[int | WrongLastSequence] = []
    try:
        for i in range(0, len(writes), MAX_WRITES):
            acks.extend(await write_fenced(store, condition, writes[i : i + MAX_WRITES]))
    except JetkubeError:
        raise
    except Exception as err:
        raise translate(err, "update") from err
    for (slot, stored, name), ack in zip(sent, acks, strict=True):
        if isinstance(ack, int):
            stored["metadata"]["resourceVersion"] = str(ack)
            slots[slot] = stored
        else:
            slots[slot] = conflict(resource, name)
    return [s for s in slots if s is not None]
