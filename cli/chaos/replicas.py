"""Over-replication: a ReplicationController scaled up and down during the faults, its pods sampled
every 100 ms, and the check that it never ran more pods than asked; and, from the same samples, that
no pod was ever seen leaving the node it was bound to (:func:`rebound`: two schedulers acting).

The allowance: a pod counts while it runs and has no ``deletionTimestamp``; at time t the RC may
have as many as the largest ``replicas`` it was given in the ``grace`` seconds before t (a scale
down takes the controller a moment to act on).

Above the allowance, a sample is judged by when its newest pod was created, as Kubernetes judges a
controller (it never *creates* past ``replicas``; it deletes the surplus of a scale-down when it
next runs): when every active pod was created while the allowance was still at least the sampled
count, the surplus is a scale-down not yet acted on (a leader frozen or just elected: counted as
``late``, and bounded by the convergence check), not over-replication. A pod created after the
allowance fell below the count is over-replication: two leaders acting at once, a stale cache, or a
create counted twice. A pod's creation time is taken late (the earlier of the second after its
``creationTimestamp`` and when the sampler first saw it), so the judgement errs towards a violation.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
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


Sample = tuple[float, int] | tuple[float, int, float]  # (t, active pods[, newest creation])


def _last_time_allowed(scales: list[tuple[float, int]], t: float, n: int, grace: float) -> float | None:
    """The latest time s <= t at which the allowance was at least ``n`` (None: never)."""
    if allowed(scales, t, grace) >= n:
        return t
    # the allowance is constant between breakpoints: check just before each one, newest first
    points = sorted({p for at, _ in scales for p in (at, at + grace) if p <= t}, reverse=True)
    for p in points:
        if allowed(scales, p - 1e-6, grace) >= n:
            return p
    return None


def judge_samples(
    samples: list[Sample], scales: list[tuple[float, int]], grace: float = 5.0
) -> tuple[list[tuple[float, int, int]], list[tuple[float, int, int]]]:
    """``(over, late)``: samples ``(t, pods, allowed)`` above the allowance, split into
    over-replication (a pod created after the allowance fell below the count) and scale-downs not
    yet acted on. A sample without a creation time counts as over-replication."""
    over: list[tuple[float, int, int]] = []
    late: list[tuple[float, int, int]] = []
    for sample in samples:
        t, n = sample[0], sample[1]
        limit = allowed(scales, t, grace)
        if n <= limit:
            continue
        newest = sample[2] if len(sample) > 2 else None
        since = _last_time_allowed(scales, t, n, grace)
        if newest is not None and since is not None and newest <= since:
            late.append((t, n, limit))
        else:
            over.append((t, n, limit))
    return over, late


def over_replicated(
    samples: list[Sample], scales: list[tuple[float, int]], grace: float = 5.0
) -> list[tuple[float, int, int]]:
    """The samples (time, active pods, allowed) that are over-replication (see :func:`judge_samples`)."""
    return judge_samples(samples, scales, grace)[0]


Binding = tuple[float, str, str, str]  # (t, pod uid, pod name, spec.nodeName or "" when unbound)


def note_bindings(
    bindings: list[Binding], last: dict[str, str], t: float, pods: list[dict[str, Any]]
) -> None:
    """Append to ``bindings`` each pod whose ``spec.nodeName`` differs from the last seen for its
    uid (``last``, updated): a pod's first sighting, its bind, and any later change."""
    for p in pods:
        meta = p.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        node = str((p.get("spec") or {}).get("nodeName") or "")
        if uid and last.get(uid) != node:
            last[uid] = node
            bindings.append((t, uid, str(meta.get("name") or ""), node))


def rebound(bindings: list[Binding]) -> list[tuple[str, str, list[tuple[float, str]]]]:
    """The pods that left the node they were bound to: ``(name, uid, [(t, nodeName), ...])``.

    A pod is bound once: ``spec.nodeName`` never changes after it is set (Kubernetes refuses the
    update). Seen on a second node, or unbound again, means two schedulers bound it (a leader that
    lost its lease acting on its stale cache beside the new one), or a write went back in time. A
    pod deleted and made again has a new uid, so it is another pod."""
    seen: dict[str, list[tuple[float, str]]] = {}
    names: dict[str, str] = {}
    for t, uid, name, node in sorted(bindings):
        seen.setdefault(uid, []).append((t, node))
        names[uid] = name
    out = []
    for uid, series in seen.items():
        first = next((i for i, (_t, node) in enumerate(series) if node), None)
        if first is not None and any(node != series[first][1] for _t, node in series[first + 1 :]):
            out.append((names[uid], uid, series))
    return sorted(out, key=lambda r: r[2][0][0])


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


def active_pods(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        p
        for p in pods
        if not (p.get("metadata") or {}).get("deletionTimestamp")
        and (p.get("status") or {}).get("phase") not in TERMINAL
    ]


def active(pods: list[dict[str, Any]]) -> int:
    return len(active_pods(pods))


def _created_epoch(pod: dict[str, Any]) -> float | None:
    stamp = (pod.get("metadata") or {}).get("creationTimestamp")
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


async def sampler(
    api: Any,
    rec: Recorder,
    samples: list[Sample],
    stop: asyncio.Event,
    bindings: list[Binding] | None = None,
) -> None:
    """Every 100 ms: (t, active pods, the newest active pod's creation time, taken late); and in
    ``bindings`` every change of a pod's node (:func:`note_bindings`)."""
    first_seen: dict[str, float] = {}
    last_node: dict[str, str] = {}
    while not stop.is_set():
        try:
            pods = (await api.list("pods", namespace=NAMESPACE, label_selector=f"app={RC_NAME}"))["items"]
            now = rec.now()
            offset = time.time() - now  # wall clock of the run's t = 0 (the bed shares this clock)
            running = active_pods(pods)
            if bindings is not None:
                note_bindings(bindings, last_node, now, pods)
            newest = 0.0
            for p in running:
                uid = str((p.get("metadata") or {}).get("uid") or "")
                seen = first_seen.setdefault(uid, now)
                stamp = _created_epoch(p)
                created = seen if stamp is None else min(seen, stamp + 1.0 - offset)
                newest = max(newest, created)
            samples.append((now, len(running), newest))
        except Exception as err:  # no sample while the api is unreachable (or a list failed)
            log.info("chaos.sample_failed", error=f"{type(err).__name__}: {err}"[:200])
        await asyncio.sleep(0.1)
