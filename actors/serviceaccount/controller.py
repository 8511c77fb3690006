"""The serviceaccount controller: a ``default`` ServiceAccount and the ``kube-root-ca.crt``
ConfigMap in every active namespace (Kubernetes' serviceaccounts-controller and
root-ca-cert-publisher in one).

Informers: namespaces, serviceaccounts, configmaps. Every event is keyed by its namespace, so a
deleted ``default`` ServiceAccount or an edited ``kube-root-ca.crt`` is put back at once.

The CA comes from the gateway: it writes ``kube-system/kube-root-ca.crt`` with its cluster CA when
it starts (actors/gateway/incluster.py); this controller copies that ConfigMap's ``ca.crt`` into
every other namespace, which is what a pod's token volume mounts as ``ca.crt``. Without a gateway
there is no CA and only the ServiceAccounts are made.
"""

from __future__ import annotations

from typing import Any

import structlog

from actors.runtime.controller import Controller
from actors.runtime.shared import SharedInformers
from schemas.errors import AlreadyExists, Conflict, Forbidden, NotFound

log = structlog.get_logger(__name__)

DEFAULT_SA = "default"
ROOT_CA = "kube-root-ca.crt"
CA_SOURCE_NAMESPACE = "kube-system"
CA_KEY = "ca.crt"

Obj = dict[str, Any]


def _ns_key(obj: Obj) -> str | None:
    meta = obj.get("metadata") or {}
    name, ns = meta.get("name"), meta.get("namespace")
    if ns is None:  # a Namespace
        return str(name)
    if name in (DEFAULT_SA, ROOT_CA):
        return str(ns)
    return None


def _ca_key(obj: Obj) -> list[str] | str | None:
    """A change of the source CA concerns every namespace; any other ConfigMap only its own."""
    meta = obj.get("metadata") or {}
    if meta.get("name") == ROOT_CA and meta.get("namespace") == CA_SOURCE_NAMESPACE:
        return [CA_SOURCE_NAMESPACE, "*"]
    return _ns_key(obj)


class ServiceAccountController(Controller):
    name = "serviceaccount-controller"
    workers = 2

    def __init__(self, api: Any, informers: SharedInformers, *, workers: int | None = None) -> None:
        super().__init__(workers=workers)
        self.api = api
        self.namespaces = self.watch(informers.informer("namespaces"), _ns_key)
        self.accounts = self.watch(informers.informer("serviceaccounts"), _ns_key)
        self.configmaps = self.watch(informers.informer("configmaps"), _ca_key)

    def root_ca(self) -> str | None:
        source = self.configmaps.get(f"{CA_SOURCE_NAMESPACE}/{ROOT_CA}")
        return ((source or {}).get("data") or {}).get(CA_KEY)

    async def reconcile(self, key: str) -> None:
        if key == "*":
            for ns in list(self.namespaces.objects):
                self.queue.add(ns)
            return
        namespace = self.namespaces.get(key)
        if namespace is None or (namespace.get("status") or {}).get("phase") == "Terminating":
            return
        if (namespace.get("metadata") or {}).get("deletionTimestamp"):
            return
        if self.accounts.get(f"{key}/{DEFAULT_SA}") is None:
            await self._create(
                "serviceaccounts",
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": DEFAULT_SA, "namespace": key},
                },
            )
        ca = self.root_ca()
        if ca is None or key == CA_SOURCE_NAMESPACE:
            return
        current = self.configmaps.get(f"{key}/{ROOT_CA}")
        if current is None:
            await self._create(
                "configmaps",
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": ROOT_CA, "namespace": key},
                    "data": {CA_KEY: ca},
                },
            )
        elif (current.get("data") or {}) != {CA_KEY: ca}:
            try:
                await self.api.update("configmaps", {**current, "data": {CA_KEY: ca}})
            except (Conflict, NotFound):
                self.queue.add(key)

    async def _create(self, resource: str, obj: Obj) -> None:
        try:
            await self.api.create(resource, obj)
            log.info("serviceaccount.created", resource=resource, namespace=obj["metadata"]["namespace"])
        except AlreadyExists:
            pass
        except (NotFound, Forbidden):  # the namespace went away, or is being deleted
            pass
