"""Over-replication: a ReplicationController scaled up and down during the faults, its pods sampled
every 100 ms, and the check that it never ran more pods than asked.

The allowance: a pod counts while it runs and has no ``deletionTimestamp``; at time t the RC may
have as many as the largest ``replicas`` it was given in the ``grace`` seconds before t (a scale
down takes the controller a moment to act on). Two leaders acting at once, or a create counted
twice, show up as samples above that.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import structlog

from cli.chaos.workload import NAMESPACE, Recorder
from schemas.errors import AlreadyExists, JetkubeError

log = structlog.get_logger(__name__)

RC_NAME = "chaos-rc"
TERMINAL = ("Succeeded", "Failed")


def allowed(scales: list[tuple[float, int]], t: float, grace: float) -> int:
    """The most pods the RC may run at ``t``: the largest replicas in effect during [t - grace, t]."""
    in_effect = [r for at, r in scales if at <= t - grace][-1:]  # the value at t - grace
    recent = [r for at, r in scales if t - grace < at <= t]
    values = in_effect + recent
    return max(values) if values else 0


def over_replicated(
    samples: list[tuple[float, int]], scales: list[tuple[float, int]], grace: float = 5.0
) -> list[tuple[float, int, int]]:
    """The samples (time, active pods, allowed) above the allowance."""
    return [(t, n, allowed(scales, t, grace)) for t, n in samples if n > allowed(scales, t, grace)]


def rc_body(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": RC_NAME},
        "spec": {
            "replicas": replicas,
            "selector": {"app": RC_NAME},
            "template": {
                "metadata": {"labels": {"app": RC_NAME}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}],
                },
            },
        },
    }


async def create_rc(api: Any, rec: Recorder, scales: list[tuple[float, int]], replicas: int = 2) -> None:
    try:
        await api.create("replicationcontrollers", rc_body(replicas), namespace=NAMESPACE)
    except AlreadyExists:
        await api.patch(
            "replicationcontrollers",
            RC_NAME,
            {"spec": {"replicas": replicas}},
            namespace=NAMESPACE,
            patch_type="merge",
        )
    scales.append((rec.now(), replicas))


async def scaler(
    api: Any, rec: Recorder, scales: list[tuple[float, int]], seed: int, stop: asyncio.Event
) -> None:
    rng = random.Random(seed * 7919)
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(8, 15))
        replicas = rng.choice((1, 2, 3))
        try:
            await api.patch(
                "replicationcontrollers",
                RC_NAME,
                {"spec": {"replicas": replicas}},
                namespace=NAMESPACE,
                patch_type="merge",
            )
        except JetkubeError:
            # unknown whether it landed: allow the larger of the two from now on
            scales.append((rec.now(), max(replicas, scales[-1][1] if scales else replicas)))
            continue
        scales.append((rec.now(), replicas))


def active(pods: list[dict[str, Any]]) -> int:
    return sum(
        1
        for p in pods
        if not (p.get("metadata") or {}).get("deletionTimestamp")
        and (p.get("status") or {}).get("phase") not in TERMINAL
    )


async def sampler(api: Any, rec: Recorder, samples: list[tuple[float, int]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            pods = (await api.list("pods", namespace=NAMESPACE, label_selector=f"app={RC_NAME}"))["items"]
            samples.append((rec.now(), active(pods)))
        except Exception as err:  # no sample while the api is unreachable (or a list failed)
            log.info("chaos.sample_failed", error=f"{type(err).__name__}: {err}"[:200])
        await asyncio.sleep(0.1)
