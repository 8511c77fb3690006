"""The Job controller: pods to completion, failure policy, deadlines, TTL after finish.

Informers: jobs, pods (by namespace). Pod events enqueue their Job (with expectations); Job events
enqueue the Job. ``reconcile(key)`` runs :func:`actors.job.plan.plan` and writes: delete pods,
create pods (slow-start batches; Indexed pods named ``<job>-<index>-xxxxx``), the status (CAS),
events, and, once ``ttlSecondsAfterFinished`` has passed, deletes the Job with background
propagation (its pods go through the garbage collector). ``requeue_after`` covers the active
deadline, the pod backoff after failures and the TTL.

``pod_backoff`` (seconds, default 10) is the base of the delay before failed pods are replaced;
tests and small clusters may lower it.
"""

from __future__ import annotations

import copy
from typing import Any

import structlog

from actors.job.plan import POD_BACKOFF_BASE, plan, selector_of
from actors.runtime.cache import key_of, split_key
from actors.runtime.shared import SharedInformers
from actors.workload.podutil import name_of
from actors.workload.selector import labels_of, selector_matcher
from actors.workload.workload import NS_INDEX, Obj, WorkloadController, namespace_of
from schemas.errors import NotFound

log = structlog.get_logger(__name__)


class JobController(WorkloadController):
    name = "job-controller"
    workers = 2

    def __init__(
        self, api: Any, informers: SharedInformers, *, pod_backoff: float = POD_BACKOFF_BASE, **kw: Any
    ) -> None:
        super().__init__(api, **kw)
        self.pod_backoff = pod_backoff
        self.jobs = self.track(informers.informer("jobs"))
        self.pods = self.track(informers.informer("pods"))
        self.watch(self.jobs)
        self.watch_owned_pods(self.pods, self.jobs, "Job", self._owners_matching)

    def _owners_matching(self, pod: Obj) -> list[str]:
        return [
            key_of(job)
            for job in self.jobs.by_index(NS_INDEX, namespace_of(pod))
            if selector_matcher(selector_of(job))(labels_of(pod))
        ]

    async def reconcile(self, key: str) -> None:
        job = self.jobs.get(key)
        if job is None:
            self.expectations.forget(key)
            return
        namespace = split_key(key)[0] or "default"
        pods = self.pods.by_index(NS_INDEX, namespace)
        out = plan(
            job,
            pods,
            self.clock(),
            needs_sync=self.expectations.satisfied(key),
            backoff_base=self.pod_backoff,
        )
        by_name = {name_of(p): p for p in pods}
        if out.delete:
            await self.delete_pods(key, job, [by_name[n] for n in out.delete if n in by_name])
        if out.create:
            log.info("job.creating", job=key, count=len(out.create))
            await self.create_pods(key, job, out.create)
        if out.status is not None:
            body = copy.deepcopy(job)
            body["status"] = out.status
            await self.api.update_status("jobs", body, namespace=namespace)
        for event in out.events:
            await self.record(job, event.type, event.reason, event.message)
        if out.delete_job:
            log.info("job.ttl_expired", job=key)
            try:
                await self.api.delete(
                    "jobs", name_of(job), namespace=namespace, propagation_policy="Background"
                )
            except NotFound:
                pass
            return
        self.requeue_after(key, out.requeue_after)
