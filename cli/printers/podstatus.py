"""A pod's READY, STATUS and RESTARTS: moved to :mod:`schemas.printing.podstatus` (the dashboard
shares them); this module keeps the CLI's import path."""

from schemas.printing.podstatus import pod_ready, pod_restarts, pod_status_reason, readiness_gates

__all__ = ["pod_ready", "pod_restarts", "pod_status_reason", "readiness_gates"]
