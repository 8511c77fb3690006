"""The scheduler: binds pending pods to nodes (issue 4, item 1).

Pure decision (no I/O), usable and tested on its own:

- :class:`~actors.scheduler.nodeinfo.NodeCache`: node state in numpy arrays, updated incrementally
  (``set_node``/``remove_node``, ``assume``/``forget``, ``add_pod``/``remove_pod``);
- :class:`~actors.scheduler.decide.Scheduler`: ``decide(pod) -> Decision(node_name, reasons)`` and
  ``schedule(pod)`` (decide + assume); ``Decision.message`` is kube-scheduler's FailedScheduling text;
- :mod:`~actors.scheduler.filters`, :mod:`~actors.scheduler.scores`: the filters and scores;
- :mod:`~actors.scheduler.interpod`, :mod:`~actors.scheduler.spread`: the rules that depend on
  where other pods are (inter-pod affinity and anti-affinity, topology spread), applied on top of
  the per-class vectors at each decision and skipped for pods they do not concern.

The actor: :class:`~actors.scheduler.actor.SchedulerActor` and
:func:`~actors.scheduler.actor.run_scheduler` (leader-elected singleton on the ``kube-scheduler``
lease).
"""

from actors.scheduler.actor import LEASE_NAME, SchedulerActor, run_scheduler
from actors.scheduler.decide import Decision, Scheduler
from actors.scheduler.nodeinfo import NodeCache
from actors.scheduler.podinfo import PodInfo, pod_info
from actors.scheduler.scores import Weights

__all__ = [
    "LEASE_NAME",
    "Decision",
    "NodeCache",
    "PodInfo",
    "Scheduler",
    "SchedulerActor",
    "Weights",
    "pod_info",
    "run_scheduler",
]
