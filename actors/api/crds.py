"""The custom kinds this api process serves: kept equal to the cluster's CustomResourceDefinitions.

The CRD informer's events register and unregister kinds in the process's registry
(schemas/crd.py), so a replica serves a CRD's objects once it has seen the CRD; the replica that
creates a CRD registers it before it answers, so a client may create objects of the new kind at
once (as kube-apiserver does once the CRD is Established). A new CRD's status says its names are
accepted and it is established; deleting a CRD deletes its objects, as Kubernetes does.
"""

from __future__ import annotations

from typing import Any

import structlog

from actors.runtime.informer import Informer
from schemas import crd as crds
from schemas import registry
from schemas.errors import FieldError, Invalid, NotFound

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
RESOURCE = "customresourcedefinitions"


class CustomKinds:
    def __init__(self, api: Any, informer: Informer) -> None:
        self.api = api
        informer.add_handler(
            on_add=self._register, on_update=lambda _old, new: self._register(new), on_delete=self._forget
        )
        api.create_hooks.append(self.admit)
        api.update_hooks.append(self.admit)
        api.delete_hooks.append(self.after_delete)

    def _register(self, crd: Obj) -> None:
        try:
            info = crds.register(crd)
            log.debug("api.custom_kind_served", kind=info.kind, group=info.group)
        except (KeyError, TypeError, ValueError) as exc:  # a CRD stored before its rules were checked
            log.warning(
                "api.custom_kind_unusable", crd=(crd.get("metadata") or {}).get("name"), error=str(exc)
            )

    def _forget(self, crd: Obj) -> None:
        crds.unregister(str((crd.get("metadata") or {}).get("name") or ""))

    async def admit(self, plural: str, obj: Obj, old: Obj | None) -> Obj:
        if plural != RESOURCE:
            return obj
        names = (obj.get("spec") or {}).get("names") or {}
        group = str((obj.get("spec") or {}).get("group") or "")
        holder = registry.BY_PLURAL.get(str(names.get("plural") or ""))
        if holder is not None and holder.custom is not None and holder.group != group:
            raise Invalid(
                "CustomResourceDefinition",
                str((obj.get("metadata") or {}).get("name") or ""),
                [
                    FieldError(
                        "spec.names.plural",
                        f"Invalid value: {names.get('plural')!r}: group {holder.group} holds it",
                    )
                ],
            )
        if old is not None:
            if (old.get("spec") or {}).get("group") != group or (
                (old.get("spec") or {}).get("names") or {}
            ).get("plural") != names.get("plural"):
                raise Invalid(
                    "CustomResourceDefinition",
                    str((obj.get("metadata") or {}).get("name") or ""),
                    [FieldError("spec", "Invalid value: group and names.plural are immutable")],
                )
        obj = {**obj, "status": {**((old or {}).get("status") or {}), **crds.status_of(obj)}}
        self._register(obj)  # served by this replica before the client hears of it
        return obj

    async def after_delete(self, plural: str, removed: Obj) -> None:
        if plural != RESOURCE:
            return
        name = str((removed.get("metadata") or {}).get("name") or "")
        info = registry.custom_resource(name)
        self._forget(removed)
        if info is None:
            return
        store = self.api.store
        items, _revision = await store.list(info.plural, None)
        for item in items:
            meta = item.get("metadata") or {}
            try:
                await store.delete(info.plural, meta.get("namespace"), str(meta.get("name")))
            except NotFound:
                pass
