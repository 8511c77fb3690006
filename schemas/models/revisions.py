"""apps/v1 ControllerRevision: an immutable snapshot of a StatefulSet's or DaemonSet's pod template."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from schemas.models.base import K8sModel
from schemas.models.meta import ObjectMeta


class ControllerRevision(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    data: dict[str, Any] | None = None
    revision: int = Field(default=0, ge=0)


__all__ = ["ControllerRevision"]
