"""Garbage-collection decisions: which dead containers and which images go. No I/O.

Container GC follows the kubelet's (pkg/kubelet/kuberuntime/kuberuntime_gc.go), with the flags of
the seed:

* ``--minimum-container-ttl-duration`` (``min_age``, default 0: the modern kubelet's default; it
  was 1m in old versions): a dead container younger than this is never removed.
* ``--maximum-dead-containers-per-container`` (``max_per_pod_container``, default 1): dead
  attempts kept per (pod, container), the newest ones. The default keeps exactly the attempt a
  restarted container's ``lastState`` and ``logs -p`` need.
* ``--maximum-dead-containers`` (``max_containers``, default -1, no limit): dead containers kept
  on the node in all. Over it, every (pod, container) is first cut to an equal share (at least
  one), then the oldest go, whatever they belong to.

Dead containers of pods the kubelet no longer has are all removed first, whatever the limits.
"Dead" is exited or dead; a container created and never started counts only after a minute (the
kubelet may be about to start it). Sandboxes: a dead sandbox goes when its pod is gone or a newer
sandbox replaced it, once no container that stays refers to it.

Image GC: above ``high`` percent of the image filesystem used, free down to ``low`` percent,
least recently used first, never an image a container of the engine (any node, any state) uses
(the LRU selection itself is in image_gc.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from actors.kubelet import labels as L
from actors.kubelet.image_gc import bytes_to_free, images_to_remove
from actors.kubelet.types import ContainerSummary, ImageInfo
from schemas.errors import BadRequest

DEAD_STATES = frozenset({"exited", "dead"})
CREATED_GRACE_SECONDS = 60.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ContainerGCPolicy:
    min_age: float = 0.0
    max_per_pod_container: int = 1
    max_containers: int = -1


def _created(c: ContainerSummary) -> float:
    return (c.created or _EPOCH).timestamp()


def _newest_first(items: Iterable[ContainerSummary]) -> list[ContainerSummary]:
    return sorted(items, key=lambda c: (_created(c), c.attempt, c.id), reverse=True)


def is_evictable(c: ContainerSummary, now: float, min_age: float) -> bool:
    age = now - _created(c)
    if c.state in DEAD_STATES:
        return age >= min_age
    if c.state == "created":
        return age >= max(min_age, CREATED_GRACE_SECONDS)
    return False


def containers_to_remove(
    containers: Sequence[ContainerSummary],
    policy: ContainerGCPolicy,
    *,
    now: float,
    active_pods: Collection[str] | None = None,
) -> list[ContainerSummary]:
    """The app containers and sandboxes to remove, in order: gone pods' first, then oldest first.

    ``active_pods`` holds the uids of the pods the kubelet has; None means it does not know yet
    (no container is then treated as belonging to a gone pod)."""
    apps = [c for c in containers if c.type != L.TYPE_SANDBOX]
    evictable = [c for c in apps if is_evictable(c, now, policy.min_age)]

    def gone(uid: str) -> bool:
        return active_pods is not None and uid not in active_pods

    first = _newest_first(c for c in evictable if gone(c.pod_uid))
    first.reverse()
    units: dict[tuple[str, str], list[ContainerSummary]] = {}
    for c in evictable:
        if not gone(c.pod_uid):
            units.setdefault((c.pod_uid, c.container_name), []).append(c)
    for key in units:
        units[key] = _newest_first(units[key])

    removed: list[ContainerSummary] = []

    def cut(keep_each: int) -> None:
        for key, unit in units.items():
            if len(unit) > keep_each:
                removed.extend(unit[keep_each:])
                units[key] = unit[:keep_each]

    if policy.max_per_pod_container >= 0:
        cut(policy.max_per_pod_container)
    if policy.max_containers >= 0:
        total = sum(len(u) for u in units.values())
        if total > policy.max_containers and units:
            cut(max(1, policy.max_containers // len(units)))
            rest = _newest_first(c for u in units.values() for c in u)
            if len(rest) > policy.max_containers:
                removed.extend(rest[policy.max_containers :])
    removed.sort(key=lambda c: (_created(c), c.attempt, c.id))
    chosen = first + removed
    return chosen + sandboxes_to_remove(containers, chosen, now=now, active_pods=active_pods)


def sandboxes_to_remove(
    containers: Sequence[ContainerSummary],
    removed: Sequence[ContainerSummary],
    *,
    now: float,
    active_pods: Collection[str] | None = None,
) -> list[ContainerSummary]:
    gone_ids = {c.id for c in removed}
    referenced = {
        c.labels.get(L.SANDBOX_ID, "")
        for c in containers
        if c.type != L.TYPE_SANDBOX and c.id not in gone_ids
    }
    sandboxes = [c for c in containers if c.type == L.TYPE_SANDBOX]
    newest: dict[str, ContainerSummary] = {}
    for sb in sandboxes:
        best = newest.get(sb.pod_uid)
        if best is None or (_created(sb), sb.attempt) > (_created(best), best.attempt):
            newest[sb.pod_uid] = sb
    out = []
    for sb in sandboxes:
        if sb.state not in DEAD_STATES or sb.id in referenced:
            continue
        pod_gone = active_pods is not None and sb.pod_uid not in active_pods
        if pod_gone or newest[sb.pod_uid].id != sb.id:
            out.append(sb)
    return sorted(out, key=lambda c: (_created(c), c.id))


def check_image_thresholds(high: int, low: int) -> None:
    """The kubelet's validation of ``--image-gc-high-threshold`` / ``--image-gc-low-threshold``."""
    if not 0 <= high <= 100:
        raise BadRequest(f"--image-gc-high-threshold must be between 0 and 100, got {high}")
    if not 0 <= low <= 100:
        raise BadRequest(f"--image-gc-low-threshold must be between 0 and 100, got {low}")
    if low > high:
        raise BadRequest(
            f"--image-gc-low-threshold ({low}) must not be greater than --image-gc-high-threshold ({high})"
        )


def images_to_collect(
    images: Sequence[ImageInfo],
    in_use: set[str],
    last_used: Mapping[str, float],
    fs: tuple[int, int] | None,
    *,
    high: int,
    low: int,
    now: float,
    min_age: float = 0.0,
    keep: Iterable[str] = (),
) -> list[ImageInfo]:
    """The images one image GC pass removes, given the filesystem's (capacity, available)."""
    if fs is None or high >= 100:
        return []
    to_free = bytes_to_free(fs[0], fs[1], high, low)
    return images_to_remove(images, in_use, last_used, to_free, now=now, min_age_seconds=min_age, keep=keep)
