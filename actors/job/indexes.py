"""Completion indexes of Indexed Jobs: the pod annotation, and ``status.completedIndexes`` ("1,3-5")."""

from __future__ import annotations

from typing import Any

from actors.workload.podutil import meta

INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
INDEX_LABEL = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = "JOB_COMPLETION_INDEX"


def pod_index(pod: dict[str, Any], completions: int) -> int | None:
    """The pod's completion index, None when missing or outside ``[0, completions)``."""
    value = (meta(pod).get("annotations") or {}).get(INDEX_ANNOTATION)
    if value is None:
        value = (meta(pod).get("labels") or {}).get(INDEX_LABEL)
    try:
        index = int(value) if value is not None else None
    except ValueError:
        return None
    if index is None or index < 0 or index >= completions:
        return None
    return index


def parse_indexes(text: str | None, completions: int | None = None) -> set[int]:
    out: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            start, end = int(low), int(high or low)
        except ValueError:
            continue
        out.update(range(start, end + 1))
    if completions is not None:
        out = {i for i in out if 0 <= i < completions}
    return out


def format_indexes(indexes: set[int]) -> str:
    """``{1, 3, 4, 5, 7, 9, 10}`` -> ``"1,3-5,7,9,10"``."""
    parts: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if i == j:
            parts.append(str(ordered[i]))
        else:  # as Kubernetes: a pair is "3,4", a longer run "3-5"
            parts.append(f"{ordered[i]}{',' if j == i + 1 else '-'}{ordered[j]}")
        i = j + 1
    return ",".join(parts)
