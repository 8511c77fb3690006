"""Writes made on a condition on another key: "only while that key is still at revision R".

A fenced write (actors/runtime/fencecheck.py) reads the lease, checks its holder and epoch, then
writes: two steps, and a lease taken over between them lets one stale write through. JetStream's
*atomic batch publish* (nats-server 2.12+, ``allow_atomic`` on the stream) closes that window: the
messages of a batch (``Nats-Batch-Id``, ``Nats-Batch-Sequence``, ``Nats-Batch-Commit`` on the last)
are stored all together or not at all, and each keeps its own ``Nats-Expected-Last-Subject-Sequence``
check. ``Nats-Expected-Last-Subject-Sequence-Subject`` makes a message's check apply to *another*
subject than its own; so a batch of

1. a *check* message on ``$KV.<bucket>.fencechecks.<lease namespace>.<lease name>``, expecting the
   lease's subject to be at the revision the check read (its value names the lease and revision:
   the last fenced write's condition, kept one per lease by the bucket's history of 1), then
2. the write itself (or a whole batch of the scheduler's binds), each expecting its own revision,

is stored only if the lease is still exactly as read *and* every compare-and-set holds. Nothing is
written to the lease's own subject, so the holder's renewals are undisturbed; a renewal between the
read and the commit fails the batch, and the caller reads the lease again (:class:`ConditionMoved`).

When such a batch is refused the server does not say which check failed: the condition's subject is
read again; if it moved, the whole write is :class:`ConditionMoved`, else a compare-and-set lost
(for several writes, they are tried again in halves, as bus/groupcommit.py does).

**Off by default** (``JETKUBE_ATOMIC_FENCE=1`` turns it on; README "Reliability under faults"):
nats-server 2.15.1 answers an atomic batch's commit after 5-14 ms however small the batch is, and
handles a stream's batches one at a time, against 0.25 ms for a plain publish (figures and the
command in the README). A conditional write is used only inside :func:`write_condition`; the
condition is a context variable, so it reaches the store's publish through any layers in between
(admission hooks, an encrypting store) without changing their signatures.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from bus.codec import encode
from bus.pipeline import pipeline_for
from schemas.errors import LeaseLost

BATCH_ID = "Nats-Batch-Id"
BATCH_SEQUENCE = "Nats-Batch-Sequence"
BATCH_COMMIT = "Nats-Batch-Commit"
EXPECTED_LAST = "Nats-Expected-Last-Subject-Sequence"
EXPECTED_LAST_SUBJECT = "Nats-Expected-Last-Subject-Sequence-Subject"
CHECKS = "fencechecks"  # the pseudo-resource of the check messages' keys
MAX_WRITES = 999  # the server refuses atomic batches above 1,000 messages (one is the check)


@dataclass(frozen=True)
class Condition:
    """Writes made under it are stored only while ``subject`` is at ``revision``."""

    subject: str  # the full subject of the key the writes depend on (a lease's)
    revision: int
    check_subject: str  # where the check message goes
    record: bytes  # the check message's value


class ConditionMoved(LeaseLost):
    """The condition's key moved before the write was stored: nothing was written. Read it again
    (the lease may only have been renewed) and retry, or stop."""


_CONDITION: ContextVar[Condition | None] = ContextVar("jetkube_write_condition", default=None)


def current_condition() -> Condition | None:
    return _CONDITION.get()


@contextlib.contextmanager
def write_condition(condition: Condition) -> Iterator[None]:
    """The store's writes inside this block are made on ``condition`` (when the store allows it)."""
    token = _CONDITION.set(condition)
    try:
        yield
    finally:
        _CONDITION.reset(token)


def make_condition(prefix: str, key: str, check_key: str, revision: int) -> Condition:
    """``key``'s subject at ``revision``, the check message under ``check_key`` (``prefix``: the
    bucket's ``$KV.<bucket>.``)."""
    return Condition(
        subject=prefix + key,
        revision=revision,
        check_subject=prefix + check_key,
        record=encode({"key": key, "revision": revision}),
    )


async def publish_conditional(
    nc: Any, condition: Condition, writes: Sequence[tuple[str, bytes, dict[str, str]]], timeout: float
) -> int:
    """Store the check and ``writes`` as one atomic batch; the sequence of the last write.

    :class:`bus.pipeline.WrongLastSequence` when any check failed (nothing stored)."""
    pipeline = pipeline_for(nc)
    batch = uuid.uuid4().hex
    check = {
        EXPECTED_LAST: str(condition.revision),
        EXPECTED_LAST_SUBJECT: condition.subject,
        BATCH_ID: batch,
        BATCH_SEQUENCE: "1",
    }
    messages = [(condition.check_subject, condition.record, check)]
    for i, (subject, payload, headers) in enumerate(writes):
        messages.append((subject, payload, {**headers, BATCH_ID: batch, BATCH_SEQUENCE: str(i + 2)}))
    *staged, (subject, payload, headers) = messages
    for s, p, h in staged:
        await nc.publish(s, p, headers=h)
    fut = await pipeline.publish(subject, payload, {**headers, BATCH_COMMIT: "1"})
    return await pipeline.ack(fut, timeout)
