"""Image garbage collection decisions (the kubelet's ``--image-gc-high/low-threshold``). No I/O.

When the image filesystem is at least ``high`` percent used, free enough to get down to ``low``
percent, removing the least recently used images first and never one a container (of any node:
the engine may be shared) still uses. "Used" is the last time a container was created from the
image; images never seen in use count as used when first seen (so a freshly pulled image is not
removed before its container starts), as the kubelet's image manager does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from actors.kubelet.types import ImageInfo


def bytes_to_free(capacity: int, available: int, high_percent: int, low_percent: int) -> int:
    """0 below the high threshold; else what brings usage down to the low threshold."""
    if capacity <= 0:
        return 0
    used = capacity - available
    if used * 100 < high_percent * capacity:
        return 0
    return max(0, used - (low_percent * capacity) // 100)


@dataclass
class ImageUsage:
    """Last-used times of images (epoch seconds), kept by the runtime in memory."""

    last_used: dict[str, float] = field(default_factory=dict)

    def mark_used(self, image_id: str, when: float) -> None:
        if image_id and when > self.last_used.get(image_id, 0.0):
            self.last_used[image_id] = when

    def observe(self, image_ids: Iterable[str], now: float) -> None:
        """Record images seen for the first time as used now."""
        for i in image_ids:
            self.last_used.setdefault(i, now)

    def forget(self, image_id: str) -> None:
        self.last_used.pop(image_id, None)


def images_to_remove(
    images: Sequence[ImageInfo],
    in_use: set[str],
    last_used: Mapping[str, float],
    to_free: int,
    *,
    now: float,
    min_age_seconds: float = 0.0,
    keep: Iterable[str] = (),
) -> list[ImageInfo]:
    """Least recently used first, skipping images in use, used within ``min_age_seconds``, or tagged
    with one of ``keep`` (e.g. the pause image), until ``to_free`` bytes are covered."""
    if to_free <= 0:
        return []
    keep_set = set(keep)
    candidates = [
        img
        for img in images
        if img.id not in in_use
        and not keep_set.intersection(img.tags)
        and now - last_used.get(img.id, now) >= min_age_seconds
    ]
    candidates.sort(key=lambda img: (last_used.get(img.id, now), img.id))
    chosen: list[ImageInfo] = []
    freed = 0
    for img in candidates:
        if freed >= to_free:
            break
        chosen.append(img)
        freed += img.size
    return chosen
