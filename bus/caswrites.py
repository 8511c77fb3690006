"""The store's compare-and-set writes, apart from the publish itself (bus/store.py).

Every write to the state bucket is a publish with ``Nats-Expected-Last-Subject-Sequence`` set to
the revision the writer read (``0`` for a create) and ``Jetkube-Op`` naming the change for
watchers. Here: the headers, what the store sets on an object it creates or updates (uid,
creationTimestamp, generation, which moves on spec changes only, as Kubernetes moves it), and
``Store.update_batch``'s many updates in flight at once on one reply inbox (bus/pipeline.py).

Split out of bus/store.py to keep the store's modules small; ``bus.store`` re-exports the headers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bus.codec import encode
from bus.pipeline import WrongLastSequence, pipeline_for
from bus.storeerrors import conflict
from schemas.errors import Conflict, JetkubeError
from schemas.status import now_rfc3339

if TYPE_CHECKING:
    from bus.store import Store

OP_HEADER = "Jetkube-Op"
EXPECTED_LAST = "Nats-Expected-Last-Subject-Sequence"


def spec_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Generation moves when anything but metadata and status changed (Kubernetes' rule)."""
    keys = (set(old) | set(new)) - {"metadata", "status", "apiVersion", "kind"}
    return any(old.get(k) != new.get(k) for k in keys)


def prepare_new(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as a create stores it: a new uid, creationTimestamp, generation 1."""
    stored = dict(obj)
    meta = dict(stored.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now_rfc3339()
    meta["generation"] = 1
    meta.pop("deletionTimestamp", None)
    stored["metadata"] = meta
    return stored


def prepare_update(obj: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """The object as an update of ``old`` stores it: old's uid and creationTimestamp, the
    generation moved if the spec changed."""
    stored = dict(obj)
    meta = dict(stored.get("metadata") or {})
    old_meta = old.get("metadata") or {}
    meta.pop("resourceVersion", None)
    meta["uid"] = old_meta.get("uid")
    meta["creationTimestamp"] = old_meta.get("creationTimestamp")
    generation = int(old_meta.get("generation") or 1)
    meta["generation"] = generation + 1 if spec_changed(old, stored) else generation
    stored["metadata"] = meta
    return stored


def batch_update(
    store: Store, resource: str, new: dict[str, Any], old: dict[str, Any]
) -> tuple[str, dict[str, Any], bytes, dict[str, str]] | Conflict:
    """One update of a batch, as it goes out: its subject, the object stored, its payload and
    headers; the Conflict when ``new`` was not made from ``old`` (another resourceVersion)."""
    meta = new["metadata"]
    rv = str(meta.get("resourceVersion") or "")
    if rv != str(old["metadata"].get("resourceVersion")):
        return conflict(resource, meta.get("name", ""))
    stored = prepare_update(new, old)
    subject = store._subject(resource, meta.get("namespace"), meta.get("name", ""))
    headers = {EXPECTED_LAST: rv, OP_HEADER: "update"}
    return subject, stored, encode(store._stored_form(stored)), headers


async def update_batch_pipelined(
    store: Store,
    resource: str,
    pairs: Iterable[tuple[dict[str, Any], dict[str, Any]]],
    window: int,
    timeout: float,
) -> list[dict[str, Any] | JetkubeError]:
    """``Store.update_batch`` without a fence: up to ``window`` writes in flight on one reply
    inbox (:class:`bus.pipeline.AckPipeline`), each window sent in one write."""
    pipeline = pipeline_for(store.bus.nc)
    items = list(pairs)
    results: list[dict[str, Any] | JetkubeError] = []
    for i in range(0, len(items), window):
        slots: list[dict[str, Any] | JetkubeError | None] = []
        sent: list[tuple[int, dict[str, Any], str, asyncio.Future[int]]] = []
        for new, old in items[i : i + window]:
            write = batch_update(store, resource, new, old)
            if isinstance(write, Conflict):
                slots.append(write)
                continue
            subject, stored, payload, headers = write
            fut = await pipeline.publish(subject, payload, headers, urgent=False)
            sent.append((len(slots), stored, new["metadata"].get("name", ""), fut))
            slots.append(None)
        pipeline.flush_batch()  # the whole window in one write
        acks = await pipeline.settle([f for _, _, _, f in sent], timeout)
        for (slot, stored, name, _), ack in zip(sent, acks, strict=True):
            if isinstance(ack, int):
                stored["metadata"]["resourceVersion"] = str(ack)
                slots[slot] = stored
            elif isinstance(ack, WrongLastSequence):
                slots[slot] = conflict(resource, name)
            else:
                slots[slot] = ack
        results.extend(s for s in slots if s is not None)
    return results
