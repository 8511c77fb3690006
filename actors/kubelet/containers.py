"""Start and stop one container of a pod: image, environment, create, start, hooks, probes.

:meth:`ContainerRunner.start` is the whole path of one container instance: the pull policy (with
the image back-off: ErrImagePull, then ImagePullBackOff), the environment (ConfigMap and Secret
references fetched fresh; a missing one is CreateContainerConfigError), ``$(VAR)`` expansion of
command and args, the volume mounts, create and start (a start failure, e.g. a command missing from
the image, is RunContainerError), then the postStart hook (its failure kills the container:
FailedPostStartHook) and the probes. It returns the container id, or the waiting reason and
message the pod's status shows instead. Events follow Kubernetes' texts.

:meth:`ContainerRunner.stop` is the way down: Killing, the preStop hook bounded by the grace
period, then SIGTERM and SIGKILL when what is left of the grace runs out.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import structlog

from actors.kubelet import labels as L
from actors.kubelet import naming
from actors.kubelet.context import KubeletContext
from actors.kubelet.docker_errors import ImageNeverPull, ImagePullError
from actors.kubelet.envvars import (
    ContainerConfigError,
    expand_command,
    referenced_objects,
    resolve_env,
    service_env,
)
from actors.kubelet.handlers import run_action
from actors.kubelet.image_problem import image_problem
from actors.kubelet.plan import grace_of
from actors.kubelet.prober import Prober
from actors.kubelet.types import SandboxInfo
from actors.kubelet.volumes import VolumeManager, fetch_objects
from actors.metrics.instruments import CONTAINER_STARTS
from bus.interfaces import ObjectApi
from schemas.errors import AlreadyExists, DockerError, JetkubeError, NotFound, ServiceUnavailable

log = structlog.get_logger(__name__)


async def fetch_services(api: ObjectApi, namespace: str) -> list[dict[str, Any]]:
    """The Services of ``namespace`` and ``default/kubernetes`` (for the service env variables);
    none when the api cannot say (the container still starts, as without service links)."""
    try:
        items = list((await api.list("services", namespace)).get("items") or [])
        if namespace != "default":
            items += [
                s
                for s in (await api.list("services", "default")).get("items") or []
                if (s.get("metadata") or {}).get("name") == "kubernetes"
            ]
    except JetkubeError as exc:
        log.warning("kubelet.service_env_unavailable", namespace=namespace, error=exc.message)
        return []
    return items


Obj = dict[str, Any]
MIN_GRACE_AFTER_PRESTOP = 2.0
PULL_ERROR_SHOWN = 2.0  # seconds ErrImagePull shows before ImagePullBackOff


@dataclass
class Started:
    container_id: str | None
    waiting: tuple[str, str] | None = None


def pod_key(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


class ContainerRunner:
    def __init__(self, ctx: KubeletContext, prober: Prober) -> None:
        self.ctx = ctx
        self.prober = prober

    async def _image(self, pod: Obj, c: Obj) -> tuple[str, str] | None:
        image = str(c["image"])
        policy = str(
            c.get("imagePullPolicy")
            or (
                "Always"
                if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1]
                else "IfNotPresent"
            )
        )
        rt = self.ctx.runtime
        bkey = f"{pod['metadata'].get('uid')}/{image}"
        if policy != "Always" and await rt.image_id(image):
            self.ctx.event(pod, "Normal", "Pulled", f'Container image "{image}" already present on machine')
            return None
        if policy == "Never":
            msg = image_problem(image, ImageNeverPull(image)).message  # names `jetkube images build`
            self.ctx.event(pod, "Warning", "ErrImageNeverPull", msg)
            return ("ErrImageNeverPull", msg)
        now = time.time()
        entry = self.ctx.pull_backoff.entries.get(bkey)
        if entry is not None and self.ctx.pull_backoff.remaining(bkey, entry.last_update, now) > 0:
            left = self.ctx.pull_backoff.remaining(bkey, entry.last_update, now)
            self.ctx.enqueue_after(pod_key(pod), min(left, PULL_ERROR_SHOWN) + 0.05)
            last_error = self.ctx.pull_errors.get(bkey, "")
            if now - entry.last_update < PULL_ERROR_SHOWN:
                return ("ErrImagePull", last_error)  # what the last attempt said, for a moment
            self.ctx.event(pod, "Normal", "BackOff", f'Back-off pulling image "{image}"')
            return ("ImagePullBackOff", f'Back-off pulling image "{image}": ErrImagePull: {last_error}')
        self.ctx.event(pod, "Normal", "Pulling", f'Pulling image "{image}"')
        t0 = time.monotonic()
        try:
            pulled = await rt.ensure_image(image, policy)  # type: ignore[arg-type]
        except ImagePullError as exc:
            delay = self.ctx.pull_backoff.next(bkey, time.time())
            message = image_problem(image, exc).message  # names `jetkube images build` when it can
            self.ctx.pull_errors[bkey] = message
            self.ctx.event(pod, "Warning", "Failed", message)
            self.ctx.event(pod, "Warning", "Failed", "Error: ErrImagePull")
            self.ctx.enqueue_after(pod_key(pod), min(delay, PULL_ERROR_SHOWN) + 0.05)
            return ("ErrImagePull", message)
        self.ctx.pull_backoff.entries.pop(bkey, None)
        self.ctx.pull_errors.pop(bkey, None)
        took = time.monotonic() - t0
        if pulled:
            self.ctx.event(pod, "Normal", "Pulled", f'Successfully pulled image "{image}" in {took:.3f}s')
        else:  # no registry answered: the engine's own copy is used (see DockerRuntime.ensure_image)
            self.ctx.event(pod, "Normal", "Pulled", f'Container image "{image}" already present on machine')
        return None

    async def start(
        self,
        pod: Obj,
        c: Obj,
        sandbox: SandboxInfo,
        attempt: int,
        volumes: dict[str, str],
        pod_ip: str,
    ) -> Started:
        key = pod_key(pod)
        name = str(c["name"])
        waiting = await self._image(pod, c)
        if waiting is not None:
            return Started(None, waiting)
        try:
            refs = referenced_objects(c)
            objects = (
                await fetch_objects(self.ctx.api, pod["metadata"].get("namespace") or "default", refs)
                if refs
                else {}
            )
            namespace = pod["metadata"].get("namespace") or "default"
            services = await (
                self.ctx.services(namespace) if self.ctx.services else fetch_services(self.ctx.api, namespace)
            )
            env = resolve_env(
                pod, c, objects, allocatable=self.ctx.allocatable, base_env=service_env(pod, services)
            )
        except ContainerConfigError as exc:
            self.ctx.event(pod, "Warning", "Failed", f"Error: {exc.message}")
            return Started(None, ("CreateContainerConfigError", exc.message))
        spec = expand_command(c, dict(env))
        mounts = VolumeManager.mounts(c, volumes)
        try:
            cid = await self.ctx.runtime.create_container(
                sandbox, pod, spec, attempt, env=env, mounts=mounts, node_name=self.ctx.node_name
            )
        except AlreadyExists:
            existing = await self._existing(pod, name, attempt)
            if existing is None:
                raise
            cid = existing
        except DockerError as exc:
            if isinstance(exc, ServiceUnavailable):
                raise
            self.ctx.event(pod, "Warning", "Failed", f"Error: {exc.message}")
            return Started(None, ("CreateContainerError", exc.message))
        self.ctx.event(pod, "Normal", "Created", f"Created container {name}")
        try:
            await self.ctx.runtime.start(cid)
        except JetkubeError as exc:
            if isinstance(exc, ServiceUnavailable):
                raise
            engine = (exc.details or {}).get("engineMessage") or exc.message
            msg = f"failed to start container {cid[:12]}: {engine}"
            self.ctx.event(pod, "Warning", "Failed", f"Error: {msg}")
            return Started(cid, ("RunContainerError", msg))
        self.ctx.event(pod, "Normal", "Started", f"Started container {name}")
        CONTAINER_STARTS.labels(self.ctx.node_name).inc()
        hook = (c.get("lifecycle") or {}).get("postStart")
        if hook:
            ok, message = await run_action(self.ctx.runtime, cid, hook, c, pod_ip, grace_of(pod) or 30)
            if not ok:
                self.ctx.event(
                    pod, "Warning", "FailedPostStartHook", f"PostStartHook failed: {message}".rstrip()
                )
                await self.stop(
                    pod, c, cid, grace_of(pod), f"FailedPostStartHook: container {name}", run_pre_stop=False
                )
                return Started(cid, ("PostStartHookError", message))
        self.prober.ensure(key, pod, c, cid, pod_ip)
        return Started(cid)

    async def _existing(self, pod: Obj, name: str, attempt: int) -> str | None:
        """The id of the container made earlier for this attempt (adoption after a crash)."""
        meta = pod["metadata"]
        want = naming.container_name(
            self.ctx.node_name, meta.get("namespace") or "default", meta["name"], name, meta["uid"], attempt
        )
        for s in await self.ctx.runtime.list(self.ctx.node_name, meta["uid"]):
            if s.name == want or (
                s.container_name == name and s.attempt == attempt and s.type == L.TYPE_CONTAINER
            ):
                return s.id
        return None

    async def stop(
        self,
        pod: Obj,
        c: Obj,
        cid: str,
        grace: float,
        message: str | None = None,
        *,
        run_pre_stop: bool = True,
    ) -> None:
        """Killing event, preStop (bounded by ``grace``), SIGTERM, SIGKILL once the grace is spent."""
        name = str(c.get("name"))
        self.prober.stop(cid)
        self.ctx.event(pod, "Normal", "Killing", message or f"Stopping container {name}")
        t0 = time.monotonic()
        hook = (c.get("lifecycle") or {}).get("preStop") if run_pre_stop else None
        if hook and grace > 0:
            pod_ip = str((pod.get("status") or {}).get("podIP") or "")
            try:
                async with asyncio.timeout(grace):
                    ok, out = await run_action(self.ctx.runtime, cid, hook, c, pod_ip, grace)
                if not ok:
                    self.ctx.event(pod, "Warning", "FailedPreStopHook", f"PreStopHook failed: {out}".rstrip())
            except TimeoutError:
                log.info("prestop.timeout", pod=pod_key(pod), container=name, grace=grace)
        left = grace - (time.monotonic() - t0)
        if hook and grace > 0:
            left = max(left, MIN_GRACE_AFTER_PRESTOP)
        try:
            await self.ctx.runtime.stop(cid, max(0.0, left))
        except NotFound:
            pass
