"""Reading JetStream deliveries: a snapshot of the last message per subject, and what each
delivery says about itself (its sequences, whether it is a KV tombstone).

Shared by the store's list and watch (bus/store.py), the health query's heartbeat listing and the
Secrets store's tombstone replay."""

from __future__ import annotations

import asyncio
from typing import Any

import nats.errors

from schemas.errors import ServiceUnavailable, Timeout

KV_OP = "KV-Operation"  # the KV header that marks a delete (DEL) or purge (PURGE)


def is_tombstone(headers: dict[str, str] | None) -> bool:
    """Whether a KV message deletes its key."""
    return headers is not None and headers.get(KV_OP) in ("DEL", "PURGE")


SETTLE_SECONDS = 2.0  # how long a snapshot waits for messages its consumer reported on the way


def sequences(msg: Any) -> tuple[int, int, int]:
    """A JetStream delivery's stream sequence, consumer sequence and pending count.

    Read from its reply subject as nats-py's ``msg.metadata`` does (``$JS.ACK.<stream>.<consumer>.
    <delivered>.<stream seq>.<consumer seq>.<time>.<pending>``, or the longer form with a domain
    and an account hash), without building its objects: a busy watch reads one per message."""
    tokens = msg.reply.split(".") if msg.reply else []
    if len(tokens) == 9 and tokens[0] == "$JS":
        return int(tokens[5]), int(tokens[6]), int(tokens[8])
    if len(tokens) >= 11 and tokens[0] == "$JS":
        return int(tokens[7]), int(tokens[8]), int(tokens[10])
    meta = msg.metadata  # anything else: nats-py's own reading (raises for a non-JetStream message)
    return int(meta.sequence.stream), int(meta.sequence.consumer), int(meta.num_pending)


async def _consumer_info(sub: Any, what: str) -> Any:
    """The snapshot consumer's state; a NATS failure (a server killed meanwhile) is ServiceUnavailable."""
    try:
        return await sub.consumer_info()
    except (nats.errors.Error, TimeoutError) as err:
        raise ServiceUnavailable(
            f"listing {what}: its consumer did not answer ({type(err).__name__})"
        ) from err


class ListIncomplete(ServiceUnavailable):
    """A snapshot lost a delivery on the way: retry the list (nothing was returned)."""


async def read_snapshot(
    sub: Any, inbox: asyncio.Queue[Any], listed: int, what: str, *, stall_seconds: float = 30.0
) -> tuple[dict[str, tuple[bytes, int]], int]:
    """Read a LAST_PER_SUBJECT consumer's snapshot from ``inbox``: the last live value and revision
    per subject (tombstones drop theirs), and the highest revision seen (at least ``listed``).

    Why it reads past the first "nothing pending": bus/store.py's module doc. The snapshot is whole
    or it fails: every delivery must follow the one before it (consumer sequence n+1: a lost one, or
    a consumer that nats-py recreated after a gap, is a :class:`ListIncomplete`), and once the
    consumer has said "more is coming", the more must arrive within SETTLE_SECONDS, or the consumer
    must confirm that nothing is missing; otherwise the listing fails rather than answer with what it
    has (an informer would take a missing object for a deleted one). ``what`` names the listing in
    the errors.
    """
    latest: dict[str, tuple[bytes, int]] = {}
    info = await _consumer_info(sub, what)
    # Nothing pending *and* nothing delivered yet: the snapshot is empty. (Messages the server
    # already pushed into our buffer count as delivered, not pending.)
    delivered = int(info.delivered.consumer_seq or 0) if info.delivered else 0
    if int(info.num_pending) == 0 and delivered == 0:
        return latest, listed
    read = 0  # the consumer sequence of the last message read
    settling = False
    while True:
        if inbox.empty():
            try:
                async with asyncio.timeout(SETTLE_SECONDS if settling else stall_seconds):
                    msg = await inbox.get()
            except TimeoutError:
                if not settling:
                    raise Timeout(f"listing {what} stalled") from None
                now = await _consumer_info(sub, what)
                sent = int(now.delivered.consumer_seq or 0) if now.delivered else 0
                if int(now.num_pending) == 0 and sent <= read:
                    break
                raise ListIncomplete(
                    f"listing {what} incomplete: {sent - read} delivered messages did not arrive "
                    f"within {SETTLE_SECONDS:g}s ({now.num_pending} pending)"
                ) from None
        else:
            msg = inbox.get_nowait()
        seq, consumer_seq, pending = sequences(msg)
        if consumer_seq != read + 1:
            raise ListIncomplete(
                f"listing {what} incomplete: delivery {consumer_seq} came after {read} (a message was lost)"
            )
        read = consumer_seq
        listed = max(listed, seq)
        if is_tombstone(msg.headers):
            latest.pop(msg.subject, None)
        else:
            latest[msg.subject] = (msg.data, seq)
        if pending == 0 and inbox.empty():
            # (consumer sequences: the stream's last message may be another resource's, which this
            # consumer never delivers)
            now = await _consumer_info(sub, what)
            sent = int(now.delivered.consumer_seq or 0) if now.delivered else 0
            if int(now.num_pending) == 0 and sent <= read:
                break
            settling = True
    return latest, listed
