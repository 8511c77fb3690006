"""Shared helpers for the schemas tests."""

from __future__ import annotations

from typing import Any

import pytest


def is_subset(small: Any, big: Any, path: str = "") -> list[str]:
    """Paths where ``small`` is not contained in ``big`` (dicts by key, lists element-wise)."""
    if isinstance(small, dict):
        if not isinstance(big, dict):
            return [path or "<root>"]
        out = []
        for k, v in small.items():
            if k not in big:
                out.append(f"{path}.{k}")
            else:
                out.extend(is_subset(v, big[k], f"{path}.{k}"))
        return out
    if isinstance(small, list):
        if not isinstance(big, list) or len(small) != len(big):
            return [path]
        out = []
        for i, (a, b) in enumerate(zip(small, big, strict=True)):
            out.extend(is_subset(a, b, f"{path}[{i}]"))
        return out
    return [] if small == big else [f"{path}: {small!r} != {big!r}"]


def pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": base}


def deployment(api_version: str = "apps/v1", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "a"}},
        "template": {
            "metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]},
        },
    }
    base.update(spec)
    return {"apiVersion": api_version, "kind": "Deployment", "metadata": {"name": "d"}, "spec": base}


@pytest.fixture
def subset() -> Any:
    """``subset(small, big)`` -> the paths where small is not contained in big."""
    return is_subset
