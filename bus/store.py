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

import builtins
import copy
import os
from collections.abc import AsyncGenerator, Iterable, Sequence
from typing import Any

import nats.js.errors
import structlog
from nats.js import api as jsapi

from bus.caswrites import EXPECTED_LAST, OP_HEADER, prepare_new, prepare_update, update_batch_pipelined
from bus.codec import decode, encode
from bus.conditional import CHECKS, Condition, current_condition, make_condition
from bus.connection import Bus
from bus.fencedwrites import update_batch_fenced, write_fenced
from bus.groupcommit import committer_for, enable_atomic_batches
from bus.keys import object_key
from bus.pipeline import WrongLastSequence, pipeline_for
from bus.snapshot import KV_OP, is_tombstone
from bus.storeerrors import conflict, display_resource, not_found
from bus.storeerrors import translate as _translate
from bus.storewatch import WatchEvent, check_consumer, last_per_subject, list_objects, watch_events
from bus.transforms import StorageVersion, ValueTransform
from schemas.errors import AlreadyExists, BadRequest, InternalError, JetkubeError
from schemas.versions import ApiVersions

log = structlog.get_logger(__name__)

# What other modules import from here (bus.store stays the one place to import the store from).
__all__ = [
    "DEFAULT_BUCKET",
    "EXPECTED_LAST",
    "KV_OP",
    "MAX_VALUE_SIZE",
    "OP_HEADER",
    "Store",
    "WatchEvent",
    "last_per_subject",
]

WRONG_LAST_SEQUENCE = 10071
DEFAULT_BUCKET = "jetkube"
MAX_VALUE_SIZE = 8 * 1024 * 1024


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

    async def _conditional(
        self, condition: Condition, writes: builtins.list[tuple[str, bytes, dict[str, str]]]
    ) -> builtins.list[int | WrongLastSequence]:
        """``writes`` stored atomically with ``condition``'s check (bus/fencedwrites.py)."""
        return await write_fenced(self, condition, writes)

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
        """Every live object of a resource (optionally one namespace), and the snapshot's revision
        (bus/storewatch.py)."""
        return await list_objects(self, resource, namespace, label_selector, field_selector)

    def watch(
        self,
        resource: str,
        namespace: str | None = None,
        from_revision: int | None = None,
    ) -> AsyncGenerator[WatchEvent, None]:
        """Changes of a resource. Without ``from_revision``: the current objects (ADDED), a
        BOOKMARK with the snapshot's revision, then live changes. With it: every change after it
        (bus/storewatch.py)."""
        return watch_events(self, resource, namespace, from_revision)

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
        """A quiet watch asks whether its consumer still exists (bus/storewatch.py)."""
        return await check_consumer(sub, resource, failed)

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
        stored = prepare_new(obj)
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
        stored = prepare_update(obj, old)
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
            return await update_batch_fenced(self, condition, resource, list(pairs))
        return await update_batch_pipelined(self, resource, pairs, window, timeout)

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


class _WrongLast(Exception):
    """Internal: the expected-last-sequence check failed (becomes Conflict/AlreadyExists)."""
