"""The Event a plan asks for: what a reconciler records on the object it reconciled.

Plans stay pure and say only ``Event(type, reason, message)``; the reconciler records it through
:class:`bus.events.EventRecorder` against the object, as Kubernetes' controllers do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    type: str  # "Normal" or "Warning"
    reason: str
    message: str
