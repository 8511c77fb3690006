"""The state log: every object of the cluster in one JetStream KV bucket.

Layout (a public interface, documented in the README):

* Key ``<resource>.<namespace>.<name>`` (``_`` for cluster-scoped kinds), subject
  ``$KV.<bucket>.<key>`` on the stream ``KV_<bucket>``; the value is msgpack of the object's API
  form without ``metadata.resourceVersion``.
* ``metadata.resourceVersion`` *is* the stream sequence of the message that wrote the object (a
  revision global to the bucket, as etcd's). It is injected on every read, never stored: a message
  cannot carry its own sequence.
* Every write is compare-and-set: a publish with ``Nats-Expected-Last-Subject-Sequence`` set to the
  revision the writer read (``0`` for a create). A mismatch is a :class:`Conflict`.
* A delete is a tombstone: a message with ``KV-Operation: DEL`` whose payload is the object's last
  state, so watchers get a DELETED event with the object, as Kubernetes' watch gives. It too is
  compare-and-set on the revision the deleter saw.
* ``Jetkube-Op: create|update|delete`` tells watchers which change a message is.

Reads use JetStream's direct get on a single-server bucket; with replicas they go to the stream
leader (a follower may lag, and a client could read older than its own acknowledged write).
``list`` and ``watch`` use one ordered push consumer on the resource's subjects: ``list`` asks for
the last message per subject, keeps the last value of each key (a delete drops it) and stops when
the consumer reports nothing pending and every delivered message read, which is a consistent
snapshot at revision R (an object written during the list is in it, in its newer state: its old
message is gone from the bucket before it could be delivered, so stopping at the first "nothing
pending" could miss it); ``watch`` continues the same consumer after the snapshot (so
list-then-watch can neither miss nor repeat a change) or starts from a given revision. The bucket
keeps one message per key (history 1): a watcher from an old revision sees the latest state of
every key that changed since, which is what a level-triggered controller needs.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import copy
import os
import time
import uuid
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import nats.errors
import nats.js.errors
import structlog
from nats.js import api as jsapi

from bus.codec import decode, encode
from bus.conditional import (
    CHECKS,
    MAX_WRITES,
    Condition,
    ConditionMoved,
    current_condition,
    make_condition,
    publish_conditional,
)
from bus.connection import Bus
from bus.gcpause import pause_gc, resume_gc
from bus.groupcommit import committer_for, enable_atomic_batches
from bus.keys import object_key
from bus.pipeline import WrongLastSequence, pipeline_for
from bus.snapshot import KV_OP, is_tombstone, read_snapshot, sequences
from bus.transforms import StorageVersion, ValueTransform
from schemas.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Gone,
    InternalError,
    JetkubeError,
    NotFound,
    ServiceUnavailable,
    Timeout,
)
from schemas.labels import matches_fields, parse_field_selector, parse_selector
from schemas.status import now_rfc3339
from schemas.versions import ApiVersions

log = structlog.get_logger(__name__)

OP_HEADER = "Jetkube-Op"
EXPECTED_LAST = "Nats-Expected-Last-Subject-Sequence"
WRONG_LAST_SEQUENCE = 10071
DEFAULT_BUCKET = "jetkube"
MAX_VALUE_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True)
class WatchEvent:
    """One change: ``type`` is ADDED, MODIFIED, DELETED or BOOKMARK (end of the initial list)."""

    type: str
    object: dict[str, Any]
    revision: int
    # The stored bytes ``object`` was read from, for caches that keep bytes: ``Store.load(raw,
    # revision)`` gives ``object`` again. None where there are none (a delete, a filtered event).
    raw: bytes | None = None


def display_resource(resource: str) -> str:
    """How Kubernetes names a resource in messages: ``pods``, ``deployments.apps``."""
    try:
        from schemas.registry import lookup

        info = lookup(resource)
    except (ImportError, JetkubeError):
        return resource
    return f"{info.plural}.{info.group}" if info.group else info.plural


def not_found(resource: str, name: str) -> NotFound:
    return NotFound(f'{display_resource(resource)} "{name}" not found', details={"name": name})


def conflict(resource: str, name: str) -> Conflict:
    return Conflict(
        f'Operation cannot be fulfilled on {display_resource(resource)} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        details={"name": name},
    )


def spec_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Generation moves when anything but metadata and status changed (Kubernetes' rule)."""
    keys = (set(old) | set(new)) - {"metadata", "status", "apiVersion", "kind"}
    return any(old.get(k) != new.get(k) for k in keys)


def _translate(err: Exception, what: str) -> JetkubeError:
    if isinstance(err, JetkubeError):
        return err
    if isinstance(err, asyncio.TimeoutError | nats.errors.TimeoutError):
        return Timeout(f"the state store did not answer in time ({what})")
    if isinstance(err, nats.js.errors.ServiceUnavailableError | nats.errors.NoRespondersError):
        return ServiceUnavailable(f"JetStream is unavailable ({what}): {err}")
    if isinstance(err, nats.errors.ConnectionClosedError | nats.errors.StaleConnectionError):
        return ServiceUnavailable(f"the NATS connection is closed ({what})")
    return InternalError(f"state store error ({what}): {err}")


class Store:
    """Typed CRUD + watch over the state bucket. Objects in and out are plain API dicts."""

    def __init__(
        self, bus: Bus, bucket: str = DEFAULT_BUCKET, *, transforms: Sequence[ValueTransform] | None = None
    ) -> None:
        """``transforms``: the value transformations (bus/transforms.py), a StorageVersion first;
        by default a StorageVersion alone."""
        self.transforms: tuple[ValueTransform, ...] = tuple(transforms or (StorageVersion(),))
        self.bus = bus
        self.js = bus.js
        self.bucket = bucket
        self.stream = f"KV_{bucket}"
        self.prefix = f"$KV.{bucket}."
        self.js_timeout = 10.0
        self.direct_reads = True  # a get from any replica (Store.open turns it off for R3 buckets)
        # A watch with no message for this long checks that its consumer still exists.
        self.watch_check_after = 30.0
        # Group commit (bus/groupcommit.py): with JETKUBE_GROUP_COMMIT=1, once Store.open has
        # allowed atomic batches on the bucket's stream.
        self.group_commit = False
        # Fenced writes atomic with their lease check (bus/conditional.py): with
        # JETKUBE_ATOMIC_FENCE=1, once Store.open has allowed atomic batches on the bucket's stream.
        self.atomic_fences = False

    @property
    def versions(self) -> ApiVersions | None:
        """The process's --storage-versions: the version each kind is written in (None: current)."""
        return self._storage_version.versions

    @versions.setter
    def versions(self, versions: ApiVersions | None) -> None:
        self._storage_version.versions = versions

    @property
    def _storage_version(self) -> StorageVersion:
        return next(t for t in self.transforms if isinstance(t, StorageVersion))

    def _stored_form(self, obj: dict[str, Any]) -> dict[str, Any]:
        for transform in self.transforms:
            obj = transform.to_stored(obj)
        return obj

    @classmethod
    async def open(cls, bus: Bus, bucket: str = DEFAULT_BUCKET, *, replicas: int = 1) -> Store:
        """Open the bucket, creating it (history 1, file storage, direct get) if it is missing."""
        store = cls(bus, bucket)
        try:
            info = await bus.js.stream_info(store.stream)
            # Any replica answers a direct get, and a follower may lag: a client could read older
            # than its own acknowledged write. With replicas, reads go to the stream leader.
            store.direct_reads = int(info.config.num_replicas or 1) <= 1
        except nats.js.errors.NotFoundError:
            store.direct_reads = replicas <= 1
            try:
                await bus.js.create_key_value(
                    bucket=bucket,
                    history=1,
                    storage=jsapi.StorageType.FILE,
                    replicas=replicas,
                    direct=True,
                    max_value_size=MAX_VALUE_SIZE,
                )
            except nats.js.errors.BadRequestError:
                await bus.js.stream_info(store.stream)  # created concurrently by another process
        except Exception as err:
            raise _translate(err, "open bucket") from err
        if os.environ.get("JETKUBE_GROUP_COMMIT") == "1":  # opt-in: see bus/groupcommit.py for why
            store.group_commit = await enable_atomic_batches(bus.js, store.stream)
        if os.environ.get("JETKUBE_ATOMIC_FENCE") == "1":  # opt-in: see bus/conditional.py for why
            store.atomic_fences = await enable_atomic_batches(bus.js, store.stream)
        return store

    def condition(self, resource: str, namespace: str | None, name: str, revision: int) -> Condition:
        """Writes conditional on the object ``resource/namespace/name`` being at ``revision``
        (used with :func:`bus.conditional.write_condition`; honoured when ``atomic_fences``)."""
        key = object_key(resource, namespace, name)
        return make_condition(self.prefix, key, f"{CHECKS}.{key.split('.', 1)[1]}", revision)

    async def _condition_moved(self, condition: Condition) -> bool:
        last = await self._last(condition.subject)
        return last is None or int(last.seq or 0) != condition.revision

    async def _conditional(
        self, condition: Condition, writes: builtins.list[tuple[str, bytes, dict[str, str]]]
    ) -> builtins.list[int | WrongLastSequence]:
        """``writes`` stored atomically with ``condition``'s check: each one's sequence, or
        WrongLastSequence for a compare-and-set that lost; ConditionMoved when the condition failed."""
        try:
            last = await publish_conditional(self.bus.nc, condition, writes, self.js_timeout)
        except WrongLastSequence:
            if await self._condition_moved(condition):
                raise ConditionMoved(
                    f"{condition.subject[len(self.prefix) :]} moved past revision {condition.revision} "
                    "before the write was stored; nothing was written"
                ) from None
            if len(writes) == 1:
                return [WrongLastSequence()]
            half = len(writes) // 2  # all or nothing, and the server does not say which lost
            return [
                *await self._conditional(condition, writes[:half]),
                *await self._conditional(condition, writes[half:]),
            ]
        return [last - (len(writes) - 1 - i) for i in range(len(writes))]

    # ------------------------------------------------------------------ reads

    def _subject(self, resource: str, namespace: str | None, name: str) -> str:
        return self.prefix + object_key(resource, namespace, name)

    def load(self, raw: bytes | None, revision: int) -> dict[str, Any]:
        """An object from its stored bytes and revision, as a read gives it (WatchEvent.raw)."""
        return self._decode_msg(raw, revision)

    def _decode_msg(self, data: bytes | None, seq: int, *, deleted: bool = False) -> dict[str, Any]:
        obj = decode(data) if data else {}
        if not isinstance(obj, dict):
            raise InternalError(f"corrupt value at revision {seq}")
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(seq)
        for transform in reversed(self.transforms):  # the one place reads transform values
            obj = transform.from_deleted(obj) if deleted else transform.from_stored(obj)
        return obj

    async def _last(self, subject: str) -> jsapi.RawStreamMsg | None:
        try:
            return await self.js.get_msg(self.stream, subject=subject, direct=self.direct_reads)
        except nats.js.errors.NotFoundError:
            return None
        except Exception as err:
            raise _translate(err, "get") from err

    async def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        msg = await self._last(self._subject(resource, namespace, name))
        if msg is None or is_tombstone(msg.headers):
            raise not_found(resource, name)
        return self._decode_msg(msg.data, int(msg.seq or 0))

    async def revision(self) -> int:
        """The bucket's current revision (last sequence of its stream)."""
        try:
            info = await self.js.stream_info(self.stream)
        except Exception as err:
            raise _translate(err, "stream info") from err
        return int(info.state.last_seq)

    async def latest_revision(self, resource: str, namespace: str | None = None) -> int:
        """The revision of the newest message of a resource (optionally one namespace); 0 if none.
        One (wildcard) last-by-subject get, from the stream leader on a replicated bucket."""
        subject = self.prefix + (f"{resource}.{namespace}.>" if namespace else f"{resource}.>")
        msg = await self._last(subject)
        return 0 if msg is None else int(msg.seq or 0)

    async def list(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Every live object of a resource (optionally one namespace), and the snapshot's revision."""
        labels = parse_selector(label_selector) if label_selector else None
        fields = parse_field_selector(field_selector) if field_selector else None
        items: list[dict[str, Any]] = []
        revision = 0
        paused = pause_gc()  # (bus/gcpause.py) every item stays: collections would traverse them all
        try:
            async with contextlib.aclosing(self.watch(resource, namespace)) as events:
                async for event in events:
                    if event.type == "BOOKMARK":
                        revision = event.revision
                        break
                    obj = event.object
                    if labels is not None and not labels.matches(obj["metadata"].get("labels") or {}):
                        continue
                    if fields is not None and not matches_fields(obj, fields):
                        continue
                    items.append(obj)
        finally:
            resume_gc(paused)
        return items, revision

    async def watch(
        self,
        resource: str,
        namespace: str | None = None,
        from_revision: int | None = None,
    ) -> AsyncGenerator[WatchEvent, None]:
        """Changes of a resource. Without ``from_revision``: the current objects (ADDED), a
        BOOKMARK with the snapshot's revision, then live changes. With it: every change after it."""
        subject = self.prefix + (f"{resource}.{namespace}.>" if namespace else f"{resource}.>")
        snapshot = from_revision is None
        # Messages are handed over by a callback into a plain queue: ``next_msg`` would create a
        # task and a timeout per message, which dominated the cost of a busy watch.
        inbox: asyncio.Queue[Any] = asyncio.Queue()

        async def deliver(msg: Any) -> None:
            inbox.put_nowait(msg)

        if not snapshot:
            await self._check_not_compacted(resource, int(from_revision or 0))
        try:
            start_rev = await self.revision() if snapshot else from_revision
            if snapshot:
                sub = await self.js.subscribe(
                    subject,
                    cb=deliver,
                    ordered_consumer=True,
                    deliver_policy=jsapi.DeliverPolicy.LAST_PER_SUBJECT,
                    stream=self.stream,
                )
            else:
                sub = await self.js.subscribe(
                    subject,
                    cb=deliver,
                    ordered_consumer=True,
                    config=jsapi.ConsumerConfig(
                        deliver_policy=jsapi.DeliverPolicy.BY_START_SEQUENCE,
                        opt_start_seq=int(from_revision or 0) + 1,
                    ),
                    stream=self.stream,
                )
        except Exception as err:
            raise _translate(err, "watch") from err
        nc = self.bus.nc
        paused = False
        try:
            if snapshot:
                paused = pause_gc()
                latest, listed = await read_snapshot(sub, inbox, int(start_rev or 0), resource)
                paused = resume_gc(paused)
                for subject in list(latest):  # let go of each one as it goes out
                    data, seq = latest.pop(subject)
                    yield WatchEvent("ADDED", self._decode_msg(data, seq), seq, data)
                yield WatchEvent("BOOKMARK", {}, listed)
                paused = resume_gc(paused)
            quiet_since = time.monotonic()
            tick = min(5.0, self.watch_check_after)
            failed_checks = 0
            while True:
                if inbox.empty():
                    if nc.is_closed:
                        raise ServiceUnavailable(f"watch of {resource} ended: the connection is closed")
                    try:
                        async with asyncio.timeout(tick):  # a timer, not a task per message
                            msg = await inbox.get()
                    except TimeoutError:
                        if time.monotonic() - quiet_since >= self.watch_check_after:
                            failed_checks = await self._check_consumer(sub, resource, failed_checks)
                            quiet_since = time.monotonic()
                        continue
                else:
                    msg = inbox.get_nowait()
                quiet_since = time.monotonic()
                yield self._event(msg)
        except (nats.errors.ConnectionClosedError, nats.errors.BadSubscriptionError) as err:
            raise ServiceUnavailable(f"watch of {resource} ended: {err}") from err
        finally:
            resume_gc(paused)
            try:
                await sub.unsubscribe()
            except (nats.errors.Error, asyncio.CancelledError):
                pass

    async def _check_not_compacted(self, resource: str, from_revision: int) -> None:
        """A watch after a revision older than the compacted one could miss deletes: 410 Gone."""
        from bus.compaction import compacted_revision

        try:
            compacted, _ = await compacted_revision(self.bus, self.stream, self.prefix)
        except Exception as err:
            raise _translate(err, "watch") from err
        if from_revision < compacted:
            raise Gone(f"too old resource version: {from_revision} ({compacted})")

    async def compact(self, retention: float) -> Any:
        """Purge delete markers older than ``retention`` seconds (bus/compaction.py)."""
        from bus.compaction import compact

        try:
            return await compact(self.bus, self.stream, self.prefix, retention)
        except JetkubeError:
            raise
        except Exception as err:
            raise _translate(err, "compact") from err

    async def _check_consumer(self, sub: Any, resource: str, failed: int) -> int:
        """A quiet watch asks whether its consumer still exists; the failed checks in a row.

        nats-py recreates an ordered consumer whose heartbeats stop (its server died) but gives up
        for good if that attempt raises, and a push consumer can stall on a lost flow-control
        reply: the watch would then wait forever. A consumer the server no longer knows, one with
        messages pending while the watch heard nothing, or three failed checks in a row end the
        watch (an informer re-lists)."""
        try:
            info = await sub.consumer_info()
        except nats.js.errors.NotFoundError as err:
            raise ServiceUnavailable(f"watch of {resource} ended: its consumer is gone") from err
        except (nats.errors.Error, TimeoutError) as err:
            log.warning("store.watch_check_failed", resource=resource, error=str(err), failed=failed + 1)
            if failed + 1 >= 3:
                raise ServiceUnavailable(f"watch of {resource} ended: its consumer does not answer") from err
            return failed + 1
        if int(info.num_pending or 0) > 0:  # messages wait, yet none came: delivery has stalled
            raise ServiceUnavailable(
                f"watch of {resource} ended: {info.num_pending} messages pending but none delivered"
            )
        return 0

    def _event(self, msg: Any) -> WatchEvent:
        seq = sequences(msg)[0]
        headers = msg.headers or {}
        if is_tombstone(headers):
            obj = (
                self._decode_msg(msg.data, seq, deleted=True)
                if msg.data
                else _stub_from_subject(msg.subject, self.prefix)
            )
            obj["metadata"]["resourceVersion"] = str(seq)
            return WatchEvent("DELETED", obj, seq)
        op = headers.get(OP_HEADER)
        kind = "ADDED" if op == "create" else "MODIFIED"
        return WatchEvent(kind, self._decode_msg(msg.data, seq), seq, msg.data)

    # ----------------------------------------------------------------- writes

    async def _publish(self, subject: str, payload: bytes, expected: int, op: str) -> int:
        headers = {EXPECTED_LAST: str(expected), OP_HEADER: op}
        if op == "delete":
            headers[KV_OP] = "DEL"
        # The connection's pipelined-ack inbox rather than js.publish: no inbox future, timeout
        # task and generic response parsing per write (bus/pipeline.py).
        try:
            condition = current_condition() if self.atomic_fences else None
            if condition is not None:  # atomic with a fence's lease check (bus/conditional.py)
                (result,) = await self._conditional(condition, [(subject, payload, headers)])
                if isinstance(result, WrongLastSequence):
                    raise result
                return result
            if self.group_commit:  # concurrent writes share one fsync (bus/groupcommit.py)
                return await committer_for(self.bus.nc).write(subject, payload, headers, self.js_timeout)
            pipeline = pipeline_for(self.bus.nc)
            return await pipeline.ack(await pipeline.publish(subject, payload, headers), self.js_timeout)
        except WrongLastSequence:
            raise _WrongLast() from None
        except JetkubeError:
            raise
        except Exception as err:
            raise _translate(err, op) from err

    async def create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new object; the store sets uid, creationTimestamp and generation."""
        stored = _prepare_new(obj)
        meta = stored["metadata"]
        name = meta.get("name")
        if not name:
            raise BadRequest("metadata.name: Required value")
        subject = self._subject(resource, meta.get("namespace"), name)
        payload = encode(self._stored_form(stored))
        try:
            seq = await self._publish(subject, payload, 0, "create")
        except _WrongLast:
            last = await self._last(subject)
            if last is None or not is_tombstone(last.headers):
                raise AlreadyExists(
                    f'{display_resource(resource)} "{name}" already exists', details={"name": name}
                ) from None
            try:
                seq = await self._publish(subject, payload, int(last.seq or 0), "create")
            except _WrongLast:
                raise AlreadyExists(
                    f'{display_resource(resource)} "{name}" already exists', details={"name": name}
                ) from None
        meta["resourceVersion"] = str(seq)
        return stored

    async def update(
        self, resource: str, obj: dict[str, Any], *, old: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Compare-and-set on ``metadata.resourceVersion``; generation moves on spec changes only."""
        meta = obj.get("metadata") or {}
        name = meta.get("name") or ""
        rv = meta.get("resourceVersion")
        if not rv:
            raise BadRequest("metadata.resourceVersion: Required value: must be specified for an update")
        if old is None:
            old = await self.get(resource, meta.get("namespace"), name)
        if str(old["metadata"].get("resourceVersion")) != str(rv):
            raise conflict(resource, name)
        stored = _prepare_update(obj, old)
        subject = self._subject(resource, meta.get("namespace"), name)
        try:
            seq = await self._publish(subject, encode(self._stored_form(stored)), int(rv), "update")
        except _WrongLast:
            raise conflict(resource, name) from None
        stored["metadata"]["resourceVersion"] = str(seq)
        return stored

    async def update_batch(
        self,
        resource: str,
        pairs: Iterable[tuple[dict[str, Any], dict[str, Any]]],
        *,
        window: int = 512,
        timeout: float = 10.0,
    ) -> builtins.list[dict[str, Any] | JetkubeError]:
        """Many compare-and-set updates in flight at once (``(new, old)`` pairs, old as read).

        Each result is the stored object or the error for that one write (Conflict when it lost).
        Used where throughput matters (the scheduler's binds, hollow nodes' heartbeats). Up to
        ``window`` writes are in flight on one reply inbox (:class:`bus.pipeline.AckPipeline`); a
        write not acknowledged within ``timeout`` seconds is a :class:`Timeout`, never a hang."""
        condition = current_condition() if self.atomic_fences else None
        if condition is not None:
            return await self._update_batch_on(condition, resource, list(pairs))
        pipeline = pipeline_for(self.bus.nc)
        items = list(pairs)
        results: list[dict[str, Any] | JetkubeError] = []
        for i in range(0, len(items), window):
            slots: list[dict[str, Any] | JetkubeError | None] = []
            sent: list[tuple[int, dict[str, Any], str, asyncio.Future[int]]] = []
            for new, old in items[i : i + window]:
                meta = new["metadata"]
                name = meta.get("name", "")
                rv = str(meta.get("resourceVersion") or "")
                if rv != str(old["metadata"].get("resourceVersion")):
                    slots.append(conflict(resource, name))
                    continue
                stored = _prepare_update(new, old)
                subject = self._subject(resource, meta.get("namespace"), name)
                headers = {EXPECTED_LAST: rv, OP_HEADER: "update"}
                fut = await pipeline.publish(
                    subject, encode(self._stored_form(stored)), headers, urgent=False
                )
                sent.append((len(slots), stored, name, fut))
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

    async def _update_batch_on(
        self, condition: Condition, resource: str, items: builtins.list[tuple[dict[str, Any], dict[str, Any]]]
    ) -> builtins.list[dict[str, Any] | JetkubeError]:
        """update_batch's writes in atomic batches with ``condition``'s check (bus/conditional.py)."""
        slots: list[dict[str, Any] | JetkubeError | None] = []
        sent: list[tuple[int, dict[str, Any], str]] = []
        writes: list[tuple[str, bytes, dict[str, str]]] = []
        for new, old in items:
            meta = new["metadata"]
            name = meta.get("name", "")
            rv = str(meta.get("resourceVersion") or "")
            if rv != str(old["metadata"].get("resourceVersion")):
                slots.append(conflict(resource, name))
                continue
            stored = _prepare_update(new, old)
            subject = self._subject(resource, meta.get("namespace"), name)
            sent.append((len(slots), stored, name))
            headers = {EXPECTED_LAST: rv, OP_HEADER: "update"}
            writes.append((subject, encode(self._stored_form(stored)), headers))
            slots.append(None)
        acks: list[int | WrongLastSequence] = []
        try:
            for i in range(0, len(writes), MAX_WRITES):
                acks.extend(await self._conditional(condition, writes[i : i + MAX_WRITES]))
        except JetkubeError:
            raise
        except Exception as err:
            raise _translate(err, "update") from err
        for (slot, stored, name), ack in zip(sent, acks, strict=True):
            if isinstance(ack, int):
                stored["metadata"]["resourceVersion"] = str(ack)
                slots[slot] = stored
            else:
                slots[slot] = conflict(resource, name)
        return [s for s in slots if s is not None]

    async def delete(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        *,
        resource_version: str | None = None,
        old: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Remove an object (a tombstone carrying its last state); CAS on the revision read."""
        if old is None:
            old = await self.get(resource, namespace, name)
        current = str(old["metadata"]["resourceVersion"])
        if resource_version is not None and str(resource_version) != current:
            raise conflict(resource, name)
        last = copy.deepcopy(old)
        last["metadata"].pop("resourceVersion", None)
        subject = self._subject(resource, namespace, name)
        try:
            seq = await self._publish(subject, encode(self._stored_form(last)), int(current), "delete")
        except _WrongLast:
            raise conflict(resource, name) from None
        last["metadata"]["resourceVersion"] = str(seq)
        return last


async def last_per_subject(bus: Bus, stream: str, subject: str) -> dict[str, tuple[bytes, int]]:
    """The last live value and revision of every subject under ``subject`` in ``stream`` (a KV
    bucket's stream, say), read as a list is: a key written while it is read is not missed."""
    inbox: asyncio.Queue[Any] = asyncio.Queue()

    async def deliver(msg: Any) -> None:
        inbox.put_nowait(msg)

    try:
        sub = await bus.js.subscribe(
            subject,
            cb=deliver,
            ordered_consumer=True,
            deliver_policy=jsapi.DeliverPolicy.LAST_PER_SUBJECT,
            stream=stream,
        )
    except Exception as err:
        raise _translate(err, "list") from err
    try:
        latest, _listed = await read_snapshot(sub, inbox, 0, subject)
        return latest
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


class _WrongLast(Exception):
    """Internal: the expected-last-sequence check failed (becomes Conflict/AlreadyExists)."""


def _stub_from_subject(subject: str, prefix: str) -> dict[str, Any]:
    from bus.keys import parse_key

    _resource, ns, name = parse_key(subject[len(prefix) :])
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"metadata": meta}


def _prepare_new(obj: dict[str, Any]) -> dict[str, Any]:
    stored = dict(obj)
    meta = dict(stored.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now_rfc3339()
    meta["generation"] = 1
    meta.pop("deletionTimestamp", None)
    stored["metadata"] = meta
    return stored


def _prepare_update(obj: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
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
