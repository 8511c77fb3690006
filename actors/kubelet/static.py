"""StaticPods: the kubelet's ``--manifests-dir``, and the mirror pods that show them in the api.

    StaticPods(manifests_dir, node_name, kubelet, api).run()

Three agents under one ``run()`` (supervised as one; each keeps going on its own errors):

* ``scan``: every ``poll`` seconds, looks at the folder's files (not hidden ones) by mtime and
  size, re-reads what changed, and parses each with static_plan.py (bad files are logged once per
  change and hold no pod; a missing folder is an empty one). When the set of static pods changes
  (or on the first scan) it hands the whole set to ``kubelet.set_static_pods(pods)`` (key
  ``namespace/name``), which runs, restarts (a new hash is a new uid) and stops them. The kubelet
  needs no api for this: static pods run with the control plane down.
* ``watch``: follows this node's pods through the api (``watch_node_pods``) and keeps those that
  are mirrors; a broken watch is retried with backoff.
* ``sync``: on every change seen by the other two, and every ``resync`` seconds, plans
  (static_plan.plan_mirrors) and applies: creates missing mirrors (owned by the Node, so it waits
  until the Node is registered), deletes with grace 0 the ones being deleted or outdated (they
  come back on the next pass, as in Kubernetes), and writes ``kubelet.pod_status(key)`` into each
  mirror's status when it changed.

``kubelet.set_static_pods`` and ``kubelet.pod_status`` may be plain or async functions. A kubelet
with an ``on_pod_status`` hook left unset gets one that wakes ``sync`` at once on a status change.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog

from actors.kubelet.static_plan import (
    ManifestSet,
    MirrorAction,
    is_mirror,
    merge_files,
    parse_manifest,
    plan_mirrors,
    pod_key,
)
from actors.runtime.backoff import Backoff
from bus.cancelsafe import wait_for
from bus.interfaces import ObjectApi
from schemas.errors import AlreadyExists, Conflict, Forbidden, JetkubeError, NotFound

log = structlog.get_logger(__name__)

POLL_SECONDS = 1.0
RESYNC_SECONDS = 2.0


class StaticPodHost(Protocol):
    def set_static_pods(self, pods: dict[str, dict[str, Any]]) -> Any: ...

    def pod_status(self, key: str) -> Any: ...


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


@dataclass
class _FileState:
    signature: tuple[int, int]
    result: list[dict[str, Any]] | JetkubeError


def _ignored(path: Path) -> bool:
    return path.name.startswith(".") or path.name.endswith(("~", ".swp", ".swx", ".tmp"))


def read_folder(folder: Path, known: dict[str, _FileState], node_name: str) -> dict[str, _FileState]:
    """The folder's files parsed (reusing ``known`` results of unchanged files). Blocking I/O."""
    found: dict[str, _FileState] = {}
    try:
        entries = sorted(folder.iterdir())
    except FileNotFoundError:
        return found
    for path in entries:
        if _ignored(path):
            continue
        try:
            st = path.stat()
            if not path.is_file():
                continue
            sig = (st.st_mtime_ns, st.st_size)
            old = known.get(path.name)
            if old is not None and old.signature == sig:
                found[path.name] = old
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            log.warning("static.read_failed", file=str(path), error=str(exc))
            continue
        try:
            result: list[dict[str, Any]] | JetkubeError = parse_manifest(text, node_name)
        except JetkubeError as err:
            result = err
            log.warning("static.bad_manifest", file=str(path), error=err.message)
        found[path.name] = _FileState(sig, result)
    return found


class StaticPods:
    def __init__(
        self,
        manifests_dir: str | Path,
        node_name: str,
        kubelet: StaticPodHost,
        api: ObjectApi,
        *,
        poll: float = POLL_SECONDS,
        resync: float = RESYNC_SECONDS,
    ) -> None:
        self.folder = Path(manifests_dir)
        self.node_name = node_name
        self.kubelet = kubelet
        self.api = api
        self.poll = poll
        self.resync = resync
        self.pods: dict[str, dict[str, Any]] = {}
        self.mirrors: dict[str, dict[str, Any]] = {}
        self.problems: dict[str, str] = {}
        self._files: dict[str, _FileState] = {}
        self._written: dict[str, tuple[str | None, Any]] = {}
        self._node_uid: str | None = None
        self._wake = asyncio.Event()
        self.scanned = asyncio.Event()

    async def run(self) -> None:
        log.info("static.watching", folder=str(self.folder), node=self.node_name)
        if getattr(self.kubelet, "on_pod_status", "absent") is None:
            self.kubelet.on_pod_status = self._status_changed  # type: ignore[attr-defined]
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._scan_loop(), name=f"static-scan-{self.node_name}")
            tg.create_task(self._watch_loop(), name=f"static-watch-{self.node_name}")
            tg.create_task(self._sync_loop(), name=f"static-sync-{self.node_name}")

    async def _status_changed(self, pod: dict[str, Any], status: dict[str, Any]) -> None:
        """The kubelet's hook (when it has one): a static pod's status changed; write it soon."""
        self._wake.set()

    # ------------------------------------------------------------------ files

    async def scan(self) -> bool:
        """One look at the folder; True if the static pods changed (and were handed over)."""
        files = await asyncio.to_thread(read_folder, self.folder, self._files, self.node_name)
        self._files = files
        merged: ManifestSet = merge_files([(name, st.result) for name, st in files.items()])
        for name, problem in merged.problems.items():
            if self.problems.get(name) != problem and "already defined" in problem:
                log.warning("static.duplicate", file=name, error=problem)
        self.problems = merged.problems
        changed = _hashes(merged.pods) != _hashes(self.pods) or not self.scanned.is_set()
        if changed:
            self.pods = merged.pods
            await _maybe_await(self.kubelet.set_static_pods(dict(self.pods)))
            log.info("static.pods", node=self.node_name, pods=sorted(self.pods))
            self._wake.set()
        self.scanned.set()
        return changed

    async def _scan_loop(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception:
                log.exception("static.scan_failed", folder=str(self.folder))
            await asyncio.sleep(self.poll)

    # ------------------------------------------------------------------ mirrors in the api

    async def _watch_loop(self) -> None:
        backoff = Backoff(0.5, 10.0)
        while True:
            try:
                await self._watch()
            except JetkubeError as err:
                log.warning("static.watch_failed", node=self.node_name, error=err.message)
            except Exception:
                log.exception("static.watch_failed", node=self.node_name)
            await asyncio.sleep(backoff.next())

    async def _watch(self) -> None:
        fresh: dict[str, dict[str, Any]] | None = {}
        async with contextlib.aclosing(self.api.watch_node_pods(self.node_name)) as events:
            async for event in events:
                if event.type == "BOOKMARK":
                    if fresh is not None:
                        self.mirrors, fresh = fresh, None
                    self._wake.set()
                    continue
                target = fresh if fresh is not None else self.mirrors
                key = pod_key(event.object)
                if event.type == "DELETED" or not is_mirror(event.object):
                    target.pop(key, None)
                else:
                    target[key] = event.object
                if fresh is None:
                    self._wake.set()

    async def _sync_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await wait_for(self._wake.wait(), self.resync)
            self._wake.clear()
            if not self.scanned.is_set():
                continue
            try:
                await self.sync()
            except JetkubeError as err:
                log.warning("static.sync_failed", node=self.node_name, error=err.message)
            except Exception:
                log.exception("static.sync_failed", node=self.node_name)

    async def node_uid(self) -> str | None:
        if self._node_uid is None:
            try:
                node = await self.api.get("nodes", self.node_name)
            except NotFound:
                log.info("static.waiting_for_node", node=self.node_name)
                return None
            self._node_uid = str(node["metadata"]["uid"])
        return self._node_uid

    async def sync(self) -> list[MirrorAction]:
        """One pass over the mirrors; the actions tried."""
        node_uid = await self.node_uid()
        if node_uid is None:
            return []
        statuses = {key: await _maybe_await(self.kubelet.pod_status(key)) for key in self.pods}
        actions = plan_mirrors(
            self.pods,
            dict(self.mirrors),
            statuses,
            self._written,
            node_name=self.node_name,
            node_uid=node_uid,
        )
        for action in actions:
            try:
                await self._apply(action)
            except (Conflict, AlreadyExists, NotFound) as err:
                log.debug("static.mirror_race", key=action.key, verb=action.verb, error=err.message)
            except Forbidden as err:
                # e.g. a static pod naming a Secret: the api refuses its mirror (NodeRestriction),
                # and that must not keep the other static pods from theirs
                log.warning("static.mirror_refused", key=action.key, verb=action.verb, error=err.message)
        return actions

    async def _apply(self, action: MirrorAction) -> None:
        ns, _, name = action.key.partition("/")
        if action.verb == "create":
            created = await self.api.create("pods", action.body, ns)
            self.mirrors[action.key] = created
            log.info("static.mirror_created", pod=action.key)
        elif action.verb == "delete":
            uid = (action.body.get("metadata") or {}).get("uid")
            current = self.mirrors.get(action.key)
            await self.api.delete("pods", name, ns, grace_period_seconds=0)
            if current is not None and (current.get("metadata") or {}).get("uid") == uid:
                self.mirrors.pop(action.key, None)
            self._written.pop(action.key, None)
            log.info("static.mirror_deleted", pod=action.key)
        else:
            status = action.body["status"]
            updated = await self.api.update_status("pods", action.body, ns)
            self._written[action.key] = ((updated.get("metadata") or {}).get("uid"), status)
            if (self.mirrors.get(action.key) or {}).get("metadata", {}).get("uid") == updated["metadata"].get(
                "uid"
            ):
                self.mirrors[action.key] = updated


def _hashes(pods: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {k: str(p["metadata"].get("uid")) for k, p in pods.items()}
