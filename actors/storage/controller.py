"""The PersistentVolume controller: binds claims to volumes, reclaims released volumes, runs the
local-path provisioner and the claim/volume protection (the ``kubernetes.io/pvc-protection`` and
``kubernetes.io/pv-protection`` finalizers).

Informers: persistentvolumeclaims, persistentvolumes, storageclasses, pods. Keys are
``pvc:<ns>/<name>`` and ``pv:<name>``: a claim's event enqueues the claim and the volume it is
bound to; a volume's event enqueues the volume and the claim its ``claimRef`` names; a class's
event enqueues every claim that is not bound; a pod's deletion (or its end) enqueues the claims it
used, so a claim being deleted loses its finalizer once no running pod uses it.

``reconcile`` re-reads everything from the caches, asks the pure plans of
:mod:`actors.storage.binding` and writes through the api with compare-and-set (a Conflict is
retried by the work queue with back-off).
"""

from __future__ import annotations

import copy
from typing import Any

import structlog

from actors.admission.storage import PV_PROTECTION, PVC_PROTECTION
from actors.runtime.cache import by_namespace, key_of
from actors.runtime.controller import Controller
from actors.runtime.shared import SharedInformers
from actors.storage import localpath
from actors.storage.binding import (
    BIND_COMPLETED,
    BOUND_BY_CONTROLLER,
    claim_key,
    claim_ref,
    name_of,
    plan_claim,
    plan_volume,
)
from schemas.errors import AlreadyExists, JetkubeError, NotFound

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
NS_INDEX = "namespace"
HELPER_POLL = 1.0


def claims_of_pod(pod: Obj) -> list[str]:
    """``ns/name`` of every claim the pod mounts."""
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    return [
        f"{ns}/{v['persistentVolumeClaim'].get('claimName')}"
        for v in (pod.get("spec") or {}).get("volumes") or []
        if v.get("persistentVolumeClaim")
    ]


def pod_active(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


class PersistentVolumeController(Controller):
    name = "persistentvolume-binder-controller"
    workers = 2

    def __init__(self, api: Any, informers: SharedInformers, *, recorder: Any | None = None) -> None:
        super().__init__()
        self.api = api
        self.recorder = recorder
        self.provisioners = {localpath.PROVISIONER}
        self.claims = informers.informer("persistentvolumeclaims")
        self.volumes = informers.informer("persistentvolumes")
        self.classes = informers.informer("storageclasses")
        self.pods = informers.informer("pods")
        self.pods.add_index(NS_INDEX, by_namespace)
        self.watch(self.claims, self._claim_keys)
        self.watch(self.volumes, self._volume_keys)
        self.watch(self.classes, lambda _c: [f"pvc:{key_of(c)}" for c in self.claims.list() if not _bound(c)])
        self.informers.append(self.pods)
        self.pods.add_handler(
            on_add=lambda _p: None,
            on_update=self._pod_updated,
            on_delete=lambda p: self._enqueue_claims(p),
        )

    # -- keys --------------------------------------------------------------------------------

    @staticmethod
    def _claim_keys(claim: Obj) -> list[str]:
        keys = [f"pvc:{key_of(claim)}"]
        volume = (claim.get("spec") or {}).get("volumeName")
        if volume:
            keys.append(f"pv:{volume}")
        return keys

    def _volume_keys(self, volume: Obj) -> list[str]:
        keys = [f"pv:{name_of(volume)}"]
        ref = (volume.get("spec") or {}).get("claimRef")
        if ref:
            keys.append(f"pvc:{ref.get('namespace') or 'default'}/{ref.get('name')}")
        return keys

    def _enqueue_claims(self, pod: Obj) -> None:
        for key in claims_of_pod(pod):
            self.queue.add(f"pvc:{key}")
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if labels.get("app") == "local-path-helper" and labels.get("volume"):
            self.queue.add(f"pv:{labels['volume']}")

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if pod_active(old) != pod_active(new) or (new.get("metadata") or {}).get("deletionTimestamp"):
            self._enqueue_claims(new)

    # -- reconcile ---------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "pvc":
            claim = self.claims.get(rest)
            if claim is not None:
                await self._sync_claim(claim)
        elif kind == "pv":
            volume = self.volumes.get(rest)
            if volume is not None:
                await self._sync_volume(volume)

    async def _event(self, obj: Obj, event: tuple[str, str, str] | None) -> None:
        if event is None or self.recorder is None:
            return
        try:
            await self.recorder.record(obj, *event)
        except Exception as exc:  # an event lost is not a reason to fail a sync
            log.warning("event.failed", reason=event[1], exc_info=exc)

    async def _sync_claim(self, claim: Obj) -> None:
        meta = claim.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            await self._protect_claim(claim)
            return
        classes = self.classes.list()
        out = plan_claim(claim, self.volumes.list(), classes, self.provisioners)
        namespace = meta.get("namespace") or "default"
        if out.bind_volume is not None:
            volume = copy.deepcopy(self.volumes.get(out.bind_volume))
            if volume is None:
                return
            volume["spec"]["claimRef"] = claim_ref(claim)
            volume["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
            await self.api.update("persistentvolumes", volume)
            log.info("storage.volume_claimed", volume=out.bind_volume, claim=claim_key(claim))
        if out.volume_name is not None and (claim.get("spec") or {}).get("volumeName") != out.volume_name:
            body = copy.deepcopy(claim)
            body["spec"]["volumeName"] = out.volume_name
            body["metadata"].setdefault("annotations", {})[BIND_COMPLETED] = "yes"
            body["metadata"]["annotations"][BOUND_BY_CONTROLLER] = "yes"
            claim = await self.api.update("persistentvolumeclaims", body, namespace=namespace)
        if out.claim_status is not None and out.claim_status != claim.get("status"):
            body = copy.deepcopy(claim)
            body["status"] = out.claim_status
            await self.api.update_status("persistentvolumeclaims", body, namespace=namespace)
            if out.claim_status.get("phase") == "Bound":
                log.info("storage.claim_bound", claim=claim_key(claim), volume=out.volume_name)
        if out.provision:
            await self._provision(claim, out.selected_node)
        await self._event(claim, out.event)

    async def _provision(self, claim: Obj, node: str | None) -> None:
        klass = self.classes.get(str((claim.get("spec") or {}).get("storageClassName") or ""))
        if klass is None:
            return
        if node is None:
            await self._event(
                claim,
                (
                    "Warning",
                    "ProvisioningFailed",
                    "configuration error, no node was specified: local-path needs "
                    "volumeBindingMode WaitForFirstConsumer",
                ),
            )
            return
        volume = localpath.provisioned_volume(claim, klass, node)
        try:
            await self.api.create("persistentvolumes", volume)
        except AlreadyExists:
            return
        log.info("storage.provisioned", claim=claim_key(claim), volume=name_of(volume), node=node)
        await self._event(
            claim,
            (
                "Normal",
                "ProvisioningSucceeded",
                f"Successfully provisioned volume {name_of(volume)}",
            ),
        )

    async def _protect_claim(self, claim: Obj) -> None:
        """Drop the pvc-protection finalizer once no pod that is not finished uses the claim."""
        meta = claim.get("metadata") or {}
        if PVC_PROTECTION not in (meta.get("finalizers") or ()):
            return
        namespace = meta.get("namespace") or "default"
        key = claim_key(claim)
        users = [
            p for p in self.pods.by_index(NS_INDEX, namespace) if pod_active(p) and key in claims_of_pod(p)
        ]
        if users:
            log.info("storage.claim_in_use", claim=key, pods=[name_of(p) for p in users])
            return
        body = copy.deepcopy(claim)
        body["metadata"]["finalizers"] = [f for f in meta.get("finalizers") or () if f != PVC_PROTECTION]
        try:
            await self.api.update("persistentvolumeclaims", body, namespace=namespace)
        except NotFound:
            return

    async def _sync_volume(self, volume: Obj) -> None:
        out = plan_volume(volume, self.claims.list(), self.provisioners, PV_PROTECTION)
        if out.remove_finalizer is not None:
            body = copy.deepcopy(volume)
            body["metadata"]["finalizers"] = [
                f for f in body["metadata"].get("finalizers") or () if f != out.remove_finalizer
            ]
            try:
                await self.api.update("persistentvolumes", body)
            except NotFound:
                pass
            return
        if out.status is not None:
            body = copy.deepcopy(volume)
            body["status"] = out.status
            volume = await self.api.update_status("persistentvolumes", body)
            log.info("storage.volume_phase", volume=name_of(volume), phase=out.status.get("phase"))
        await self._event(volume, out.event)
        if out.delete:
            await self._reclaim(volume)

    async def _reclaim(self, volume: Obj) -> None:
        """Delete a released local-path volume: its directory through a helper pod, then itself."""
        helper = localpath.cleanup_pod(volume)
        if helper is not None:
            key = f"{localpath.HELPER_NAMESPACE}/{localpath.helper_name(volume)}"
            current = self.pods.get(key)
            if current is None:
                try:
                    await self.api.create("pods", helper, namespace=localpath.HELPER_NAMESPACE)
                except AlreadyExists:
                    pass
                self.queue.add_after(f"pv:{name_of(volume)}", HELPER_POLL)
                return
            phase = (current.get("status") or {}).get("phase")
            if phase not in ("Succeeded", "Failed"):
                self.queue.add_after(f"pv:{name_of(volume)}", HELPER_POLL)
                return
            await self._delete_quietly("pods", name_of(current), localpath.HELPER_NAMESPACE)
            if phase == "Failed":
                await self._event(
                    volume,
                    (
                        "Warning",
                        "VolumeFailedDelete",
                        f"helper pod {name_of(current)} failed to remove the data",
                    ),
                )
                self.queue.add_after(f"pv:{name_of(volume)}", 10 * HELPER_POLL)
                return
        log.info("storage.volume_deleted", volume=name_of(volume))
        await self._delete_quietly("persistentvolumes", name_of(volume), None)

    async def _delete_quietly(self, resource: str, name: str, namespace: str | None) -> None:
        try:
            await self.api.delete(resource, name, namespace=namespace, grace_period_seconds=0)
        except NotFound:
            pass
        except JetkubeError as err:
            log.warning("storage.delete_failed", resource=resource, name=name, error=err.message)
            raise


def _bound(claim: Obj) -> bool:
    return ((claim.get("status") or {}).get("phase")) == "Bound"
