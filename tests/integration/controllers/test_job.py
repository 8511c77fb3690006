"""Jobs run to completion, fail after backoffLimit; a CronJob fires on its schedule (fake clock)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from actors.cronjob.controller import CronJobController
from actors.job.controller import JobController
from actors.workload.timeutil import utcnow
from schemas.status import parse_time
from tests.integration.controllers.helpers import eventually, kubelet_status, pods_of, running


def job(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}},
            **spec,
        },
    }


def condition(obj: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == ctype and c["status"] == "True":
            return c
    return None


async def test_job_completes_with_parallelism(api: Any) -> None:
    async with running(api, lambda a, i: JobController(a, i, pod_backoff=0.05)):
        created = await api.create("jobs", job("pi", completions=3, parallelism=2))
        uid = created["metadata"]["uid"]
        finished: set[str] = set()

        async def step() -> bool:
            pods = await pods_of(api, uid)
            assert len(pods) <= 2
            for pod in pods:
                if pod["metadata"]["name"] not in finished:
                    finished.add(pod["metadata"]["name"])
                    await kubelet_status(api, pod, phase="Succeeded", ready=False, exit_code=0)
            j = await api.get("jobs", "pi", namespace="default")
            assert condition(j, "Complete"), j.get("status")
            return j

        j = await eventually(step, timeout=15)
        assert j["status"]["succeeded"] == 3
        assert j["status"]["completionTime"]
        assert len(finished) == 3


async def test_job_fails_after_backoff_limit(api: Any) -> None:
    async with running(api, lambda a, i: JobController(a, i, pod_backoff=0.05)):
        created = await api.create("jobs", job("bad", backoffLimit=2))
        uid = created["metadata"]["uid"]

        async def step() -> bool:
            for pod in await pods_of(api, uid):
                await kubelet_status(api, pod, phase="Failed", ready=False, exit_code=1)
            j = await api.get("jobs", "bad", namespace="default")
            cond = condition(j, "Failed")
            assert cond is not None and cond["reason"] == "BackoffLimitExceeded", j.get("status")
            return j

        j = await eventually(step, timeout=15)
        assert j["status"]["failed"] == 3


async def test_cronjob_fires_each_minute_of_a_fake_clock(api: Any) -> None:
    offset = [timedelta(0)]

    def clock() -> Any:
        return utcnow() + offset[0]

    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {
            "schedule": "*/1 * * * *",
            "concurrencyPolicy": "Allow",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "containers": [{"name": "c", "image": "busybox"}],
                        }
                    }
                }
            },
        },
    }
    async with running(api, lambda a, i: CronJobController(a, i, clock=clock)) as [ctrl]:
        cj = await api.create("cronjobs", cron)
        created = parse_time(cj["metadata"]["creationTimestamp"])
        assert created is not None
        offset[0] = (created + timedelta(minutes=1, seconds=2)) - utcnow()
        ctrl.queue.add("default/hello")

        async def jobs(n: int) -> list[dict[str, Any]]:
            items = [
                j
                for j in (await api.list("jobs", namespace="default"))["items"]
                if j["metadata"]["name"].startswith("hello-")
            ]
            assert len(items) == n
            return items

        [first] = await eventually(lambda: jobs(1))
        assert first["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
        assert first["metadata"]["ownerReferences"][0]["kind"] == "CronJob"

        async def active() -> bool:
            st = (await api.get("cronjobs", "hello", namespace="default")).get("status") or {}
            assert [r["name"] for r in st.get("active") or []] == [first["metadata"]["name"]]
            assert st["active"][0].get("uid") == first["metadata"]["uid"]
            return True

        await eventually(active)
        offset[0] += timedelta(minutes=1)
        ctrl.queue.add("default/hello")
        await eventually(lambda: jobs(2))
