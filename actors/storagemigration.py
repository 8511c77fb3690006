"""``jetkube migrate-storage``: rewrite every stored object in its kind's storage version.

What Kubernetes' ``update-storage-objects.sh`` (and later the storage-version migrator) does, step
4 of the seed's API upgrade: after ``--storage-versions`` changed, objects written before still sit
in the old version. Reads convert them (schemas.versions.to_current), so nothing is wrong, but the
old version cannot be dropped from the code until nothing is stored in it.

Two halves: :class:`StorageMigration` runs in the CLI (it reads the bucket, as any admin client
may) and :class:`StoreRewriter` in the api (``jetkube.api.migrate``, system:masters only), which
alone may write the bucket once NATS auth is on.

Lifecycle of one run:

1. The target: the api's storage versions (asked on ``jetkube.api.apiversions``, so the run
   follows what the api replicas are configured with).
2. The keys: the live keys of every resource that has more than one version (a complete list of
   each, as bus/store.py reads one, so that a key rewritten meanwhile is not missed), sorted.
3. Each key, in order, one request to the api: it reads the raw stored message (direct get), and
   if its ``apiVersion`` is not the storage version, writes it back converted, compare-and-set on
   the revision just read. A Conflict means someone wrote it meanwhile: read again and decide
   again (the new value may be in the storage version already). A key deleted meanwhile is skipped.
4. Progress is a record in the state bucket (``storagemigrations._.storage``): the target, the last
   key done, counts. It is written (compare-and-set too) every :data:`CHECKPOINT_EVERY` objects, so
   a run killed half-way resumes after the last checkpoint when started again with the same
   target; the few objects done after it are looked at again and skipped, as they are converted.
   Two runs at once: the second loses the compare-and-set on the record and stops.

The rewrite keeps the object as it is (uid, generation, labels, status); only the message is new,
so watchers see a MODIFIED event with an unchanged object and a new resourceVersion, as they do
in Kubernetes during a storage migration.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import nats.js.errors
import structlog

from bus.codec import decode, encode
from bus.connection import Bus
from bus.keys import object_key
from bus.pipeline import WrongLastSequence, pipeline_for
from bus.store import DEFAULT_BUCKET, EXPECTED_LAST, KV_OP, OP_HEADER, Store
from schemas import registry
from schemas.errors import BadRequest, Conflict, InternalError, ServiceUnavailable
from schemas.versions import ApiVersions, migrated, needs_migration

log = structlog.get_logger(__name__)

PROGRESS_KEY = object_key("storagemigrations", None, "storage")
CHECKPOINT_EVERY = 25
MAX_RETRIES = 16

ProgressCallback = Callable[[int, int, str], None]


@dataclass
class MigrationResult:
    total: int = 0  # keys looked at in this run (after a resume: the remaining ones)
    migrated: int = 0  # rewritten
    conflicts: int = 0  # compare-and-set lost and retried
    resumed_after: str = ""  # the key a resumed run started after ("" for a fresh run)
    already_done: int = 0  # keys a previous run had done (resume)
    target: dict[str, str] = field(default_factory=dict)


def migratable_resources() -> list[registry.ResourceInfo]:
    """Resources whose objects may be stored in more than one version."""
    return [info for info in registry.all_resources() if len(info.served) > 1]


def target_of(versions: ApiVersions) -> dict[str, str]:
    return {info.kind: versions.storage_version(info.kind) for info in migratable_resources()}


class StoreRewriter:
    """The api's side: raw reads and compare-and-set rewrites on the state bucket.

    Runs in the api process (``jetkube.api.migrate``), the only one allowed to write the bucket
    once NATS auth is on; the client walks the keys and asks for each."""

    def __init__(self, bus: Bus, versions: ApiVersions, *, bucket: str = DEFAULT_BUCKET) -> None:
        self.bus = bus
        self.versions = versions
        self.stream = f"KV_{bucket}"
        self.prefix = f"$KV.{bucket}."

    async def raw(self, key: str) -> tuple[dict[str, Any] | None, int]:
        """The stored value of ``key`` as written (no conversion), and its revision (0: none)."""
        return await raw_get(self.bus, self.stream, self.prefix, key)

    async def _cas(self, key: str, value: dict[str, Any], last: int, op: str = "update") -> int:
        pipeline = pipeline_for(self.bus.nc)
        headers = {EXPECTED_LAST: str(last), OP_HEADER: op}
        try:
            return await pipeline.ack(await pipeline.publish(self.prefix + key, encode(value), headers), 10.0)
        except WrongLastSequence:
            raise Conflict(f"{key} changed while it was being migrated") from None

    async def rewrite(self, key: str) -> dict[str, Any]:
        """Rewrite one key in its storage version if it is not: ``{rewritten, conflicts}``."""
        if not key.startswith(tuple(f"{info.plural}." for info in migratable_resources())):
            raise BadRequest(f"key: {key!r} is not the key of an object with several versions")
        conflicts = 0
        for _ in range(MAX_RETRIES):
            value, rev = await self.raw(key)
            if value is None or not needs_migration(value, self.versions):
                return {"rewritten": False, "conflicts": conflicts}
            new = migrated(value, self.versions)
            (new.get("metadata") or {}).pop("resourceVersion", None)
            try:
                await self._cas(key, new, rev)
                return {"rewritten": True, "conflicts": conflicts}
            except Conflict:
                conflicts += 1
        raise InternalError(f"{key} kept changing; run migrate-storage again")

    async def save_progress(self, record: dict[str, Any], last: int) -> int:
        try:
            return await self._cas(PROGRESS_KEY, record, last, "create" if last == 0 else "update")
        except Conflict:
            raise Conflict(
                "another migrate-storage run is writing the progress record; let it finish, or run "
                "this one again afterwards"
            ) from None

    async def handle(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``jetkube.api.migrate``: ``{key}`` rewrites one object; ``{progress, last}`` checkpoints."""
        if isinstance(payload.get("progress"), dict):
            return {"revision": await self.save_progress(payload["progress"], int(payload.get("last") or 0))}
        key = payload.get("key")
        if not isinstance(key, str) or not key:
            raise BadRequest("key: Required value")
        return await self.rewrite(key)


async def raw_get(bus: Bus, stream: str, prefix: str, key: str) -> tuple[dict[str, Any] | None, int]:
    try:
        msg = await bus.js.get_msg(stream, subject=prefix + key, direct=True)
    except nats.js.errors.NotFoundError:
        return None, 0
    except (TimeoutError, nats.errors.Error) as err:
        raise ServiceUnavailable(f"cannot read {key} from the state store: {err}") from err
    if msg.headers and msg.headers.get(KV_OP) in ("DEL", "PURGE"):
        return None, int(msg.seq)
    value = decode(msg.data) if msg.data else None
    return (value if isinstance(value, dict) else None), int(msg.seq)


class StorageMigration:
    """The client's side: walk the keys, ask the api to rewrite each, checkpoint the progress.

    ``qps`` (objects per second, 0 = no limit) spares a busy store."""

    def __init__(
        self,
        api: Any,
        versions: ApiVersions,
        *,
        bucket: str = DEFAULT_BUCKET,
        qps: float = 0.0,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.api = api
        self.bus: Bus = api.bus
        self.versions = versions
        self.bucket = bucket
        self.stream = f"KV_{bucket}"
        self.prefix = f"$KV.{bucket}."
        self.qps = qps
        self.on_progress = on_progress
        self._progress_rev = 0

    async def _keys(self) -> list[str]:
        """Every stored key of every migratable kind, sorted. Read as a list is (bus/store.py):
        a key rewritten while it is read is still in it (nats-py's KV watch, used before, stops
        at the first "nothing pending" and could miss it, leaving that object unmigrated)."""
        store = Store(self.bus, self.bucket)
        keys: list[str] = []
        for info in migratable_resources():
            items, _revision = await store.list(info.plural)
            for obj in items:
                meta = obj.get("metadata") or {}
                keys.append(object_key(info.plural, meta.get("namespace"), str(meta.get("name"))))
        return sorted(keys)

    async def _load_progress(self) -> dict[str, Any] | None:
        value, rev = await raw_get(self.bus, self.stream, self.prefix, PROGRESS_KEY)
        self._progress_rev = rev
        return value

    async def _save_progress(self, record: dict[str, Any]) -> None:
        answer = await self.api.call("migrate", {"progress": record, "last": self._progress_rev})
        self._progress_rev = int(answer["revision"])

    async def run(self) -> MigrationResult:
        target = target_of(self.versions)
        result = MigrationResult(target=target)
        previous = await self._load_progress()
        start_after = ""
        if previous and not previous.get("finished") and previous.get("target") == target:
            start_after = str(previous.get("lastKey") or "")
            result.resumed_after = start_after
            result.already_done = int(previous.get("done") or 0)
        keys = [k for k in await self._keys() if k > start_after]
        result.total = len(keys)
        record: dict[str, Any] = {
            "target": target,
            "lastKey": start_after,
            "done": result.already_done,
            "total": result.already_done + len(keys),
            "migrated": int((previous or {}).get("migrated") or 0) if start_after else 0,
            "finished": False,
            "startedAt": (previous or {}).get("startedAt") if start_after else time.time(),
        }
        await self._save_progress(record)
        log.info("migration.started", keys=len(keys), resumed_after=start_after or None, target=target)
        pace = 1.0 / self.qps if self.qps > 0 else 0.0
        next_at = time.monotonic()
        for i, key in enumerate(keys, 1):
            if pace:
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at = max(next_at, time.monotonic() - pace) + pace
            answer = await self.api.call("migrate", {"key": key})
            rewritten = bool(answer.get("rewritten"))
            result.migrated += rewritten
            result.conflicts += int(answer.get("conflicts") or 0)
            record["migrated"] += rewritten
            record["done"] += 1
            record["lastKey"] = key
            if i % CHECKPOINT_EVERY == 0:
                await self._save_progress(record)
            if self.on_progress is not None:
                self.on_progress(result.already_done + i, record["total"], key)
        record["finished"] = True
        record["finishedAt"] = time.time()
        await self._save_progress(record)
        log.info("migration.finished", migrated=result.migrated, conflicts=result.conflicts)
        return result


async def progress(bus: Bus, bucket: str = DEFAULT_BUCKET) -> dict[str, Any] | None:
    """The progress record of the last run, or None (``jetkube migrate-storage --status``)."""
    value, _ = await raw_get(bus, f"KV_{bucket}", f"$KV.{bucket}.", PROGRESS_KEY)
    return value
