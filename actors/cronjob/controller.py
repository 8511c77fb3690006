"""The CronJob controller: Jobs on a cron schedule.

Informers: cronjobs, jobs (by namespace). A Job event enqueues its controlling CronJob.
``reconcile(key)`` gathers the CronJob's Jobs from the cache (plus, for an active reference the
cache lacks, a direct ``get`` so a lagging cache does not drop a running Job, as Kubernetes does),
runs :func:`actors.cronjob.plan.next_actions` and writes: delete Jobs (background propagation),
create the Job, the status, events; then requeues for the next scheduled time.
"""

from __future__ import annotations

import copy
from typing import Any

import structlog

from actors.cronjob.plan import next_actions
from actors.runtime.cache import split_key
from actors.runtime.shared import SharedInformers
from actors.workload.ownership import controller_ref
from actors.workload.podutil import meta, name_of
from actors.workload.workload import NS_INDEX, Obj, WorkloadController, namespace_of
from schemas.errors import AlreadyExists, NotFound

log = structlog.get_logger(__name__)


class CronJobController(WorkloadController):
    name = "cronjob-controller"
    workers = 1

    def __init__(self, api: Any, informers: SharedInformers, **kw: Any) -> None:
        super().__init__(api, **kw)
        self.cronjobs = self.track(informers.informer("cronjobs"))
        self.jobs = self.track(informers.informer("jobs"))
        self.watch(self.cronjobs)
        self.watch(self.jobs, self._cronjob_of)

    @staticmethod
    def _cronjob_of(job: Obj) -> str | None:
        ref = controller_ref(job)
        if ref is None or ref.get("kind") != "CronJob":
            return None
        return f"{namespace_of(job)}/{ref.get('name')}"

    async def reconcile(self, key: str) -> None:
        cronjob = self.cronjobs.get(key)
        if cronjob is None:
            return
        namespace = split_key(key)[0] or "default"
        uid = meta(cronjob).get("uid")
        jobs = [
            j for j in self.jobs.by_index(NS_INDEX, namespace) if (controller_ref(j) or {}).get("uid") == uid
        ]
        known = {meta(j).get("uid") for j in jobs}
        for ref in (cronjob.get("status") or {}).get("active") or []:
            if ref.get("uid") in known or not ref.get("name"):
                continue
            try:
                job = await self.api.get("jobs", ref["name"], namespace=namespace)
            except NotFound:
                continue
            if (controller_ref(job) or {}).get("uid") == uid:
                jobs.append(job)
        out = next_actions(cronjob, jobs, self.clock())
        for name in out.delete:
            try:
                await self.api.delete("jobs", name, namespace=namespace, propagation_policy="Background")
            except NotFound:
                pass
        status = copy.deepcopy(out.status) if out.status is not None else None
        if out.create is not None:
            try:
                created = await self.api.create("jobs", out.create, namespace=namespace)
            except AlreadyExists:
                created = await self.api.get("jobs", name_of(out.create), namespace=namespace)
            log.info("cronjob.job_created", cronjob=key, job=name_of(created))
            if status is not None:  # the reference gets the uid the api gave the Job
                for ref in status.get("active") or []:
                    if ref.get("name") == name_of(created):
                        ref["uid"] = meta(created).get("uid")
                        ref["resourceVersion"] = meta(created).get("resourceVersion")
        if status is not None:
            body = copy.deepcopy(cronjob)
            body["status"] = status
            await self.api.update_status("cronjobs", body, namespace=namespace)
        for event in out.events:
            await self.record(cronjob, event.type, event.reason, event.message)
        self.requeue_after(key, out.requeue_after)
