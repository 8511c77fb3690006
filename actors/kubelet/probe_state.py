"""Probe results into decisions: thresholds and what each probe kind does. No I/O.

A :class:`ProbeTracker` counts consecutive results of one probe of one container instance.
Its ``result`` flips to failure after ``failureThreshold`` consecutive failures and back to success
after ``successThreshold`` consecutive successes, as Kubernetes' prober does. The initial result is
success for liveness (a container is alive until proven otherwise) and failure for readiness and
startup. :func:`action_for` says what the kubelet does when a result changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["liveness", "readiness", "startup"]
Action = Literal["none", "kill", "set_ready", "set_unready", "started"]


@dataclass(frozen=True)
class ProbeSpec:
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def of(cls, probe: dict[str, Any]) -> ProbeSpec:
        return cls(
            initial_delay=float(probe.get("initialDelaySeconds") or 0),
            period=float(probe.get("periodSeconds") or 10),
            timeout=float(probe.get("timeoutSeconds") or 1),
            success_threshold=int(probe.get("successThreshold") or 1),
            failure_threshold=int(probe.get("failureThreshold") or 3),
        )


class ProbeTracker:
    def __init__(self, kind: Kind, spec: ProbeSpec) -> None:
        self.kind = kind
        self.spec = spec
        self.result = kind == "liveness"
        self.successes = 0
        self.failures = 0

    def observe(self, ok: bool) -> bool | None:
        """Count one probe result; the new result when it changed, else None."""
        if ok:
            self.successes += 1
            self.failures = 0
            threshold = 1 if self.kind != "readiness" else self.spec.success_threshold
            if not self.result and self.successes >= threshold:
                self.result = True
                return True
        else:
            self.failures += 1
            self.successes = 0
            if self.result and self.failures >= self.spec.failure_threshold:
                self.result = False
                return False
            if self.kind == "startup" and not self.result and self.failures >= self.spec.failure_threshold:
                return False
        return None


def action_for(kind: Kind, result: bool) -> Action:
    if kind == "liveness":
        return "none" if result else "kill"
    if kind == "startup":
        return "started" if result else "kill"
    return "set_ready" if result else "set_unready"
