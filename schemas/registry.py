"""Every resource jetkube serves: names, group, storage version, scope, model.

:func:`lookup` resolves any spelling kubectl accepts (``po``, ``pods``, ``pod``, ``Pod``,
``deployments.apps``, ``deployments.v1.apps``) to a :class:`ResourceInfo`;
:func:`by_api_version_kind` resolves a manifest's ``apiVersion``/``kind`` pair. Unknown names raise
BadRequest in kubectl's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from schemas import models
from schemas.errors import BadRequest


@dataclass(frozen=True)
class ResourceInfo:
    plural: str
    singular: str
    kind: str
    group: str  # "" for the core group
    version: str  # the storage version
    namespaced: bool
    short_names: tuple[str, ...]
    served: tuple[str, ...]  # group versions accepted in manifests, storage first
    list_kind: str
    model: type[BaseModel]
    has_status: bool
    custom: Any = None  # the CustomResourceDefinition of a custom kind (schemas/crd.py)

    @property
    def api_version(self) -> str:
        """The storage group version, as written in ``apiVersion``: ``v1``, ``apps/v1``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``pods``, ``deployments.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _info(
    plural: str,
    kind: str,
    group: str,
    model: type[BaseModel],
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    old: tuple[str, ...] = (),
    status: bool = True,
    version: str = "v1",
) -> ResourceInfo:
    storage = f"{group}/{version}" if group else version
    return ResourceInfo(
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        group=group,
        version=version,
        namespaced=namespaced,
        short_names=short,
        served=(storage, *old),
        list_kind=f"{kind}List",
        model=model,
        has_status=status,
    )


RESOURCES: tuple[ResourceInfo, ...] = (
    _info("pods", "Pod", "", models.Pod, short=("po",)),
    _info("nodes", "Node", "", models.Node, namespaced=False, short=("no",)),
    _info("namespaces", "Namespace", "", models.Namespace, namespaced=False, short=("ns",)),
    _info("services", "Service", "", models.Service, short=("svc",)),
    _info("endpoints", "Endpoints", "", models.Endpoints, short=("ep",), status=False),
    _info("configmaps", "ConfigMap", "", models.ConfigMap, short=("cm",), status=False),
    _info("secrets", "Secret", "", models.Secret, status=False),
    _info("serviceaccounts", "ServiceAccount", "", models.ServiceAccount, short=("sa",), status=False),
    _info("replicationcontrollers", "ReplicationController", "", models.ReplicationController, short=("rc",)),
    _info("events", "Event", "", models.Event, short=("ev",), status=False),
    _info("resourcequotas", "ResourceQuota", "", models.ResourceQuota, short=("quota",)),
    _info("limitranges", "LimitRange", "", models.LimitRange, short=("limits",), status=False),
    _info(
        "deployments",
        "Deployment",
        "apps",
        models.Deployment,
        short=("deploy",),
        old=("extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"),
    ),
    _info(
        "replicasets",
        "ReplicaSet",
        "apps",
        models.ReplicaSet,
        short=("rs",),
        old=("extensions/v1beta1", "apps/v1beta2"),
    ),
    _info(
        "daemonsets",
        "DaemonSet",
        "apps",
        models.DaemonSet,
        short=("ds",),
        old=("extensions/v1beta1", "apps/v1beta2"),
    ),
    _info("jobs", "Job", "batch", models.Job),
    _info(
        "cronjobs", "CronJob", "batch", models.CronJob, short=("cj",), old=("batch/v1beta1", "batch/v2alpha1")
    ),
    _info(
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        "autoscaling",
        models.HorizontalPodAutoscaler,
        short=("hpa",),
        old=("autoscaling/v1",),
        version="v2",
    ),
    _info("leases", "Lease", "coordination.k8s.io", models.Lease, status=False),
    _info(
        "ingresses",
        "Ingress",
        "networking.k8s.io",
        models.Ingress,
        short=("ing",),
        old=("extensions/v1beta1", "networking.k8s.io/v1beta1"),
    ),
    _info("roles", "Role", "rbac.authorization.k8s.io", models.Role, status=False),
    _info(
        "clusterroles",
        "ClusterRole",
        "rbac.authorization.k8s.io",
        models.ClusterRole,
        namespaced=False,
        status=False,
    ),
    _info("rolebindings", "RoleBinding", "rbac.authorization.k8s.io", models.RoleBinding, status=False),
    _info(
        "clusterrolebindings",
        "ClusterRoleBinding",
        "rbac.authorization.k8s.io",
        models.ClusterRoleBinding,
        namespaced=False,
        status=False,
    ),
    _info(
        "persistentvolumes", "PersistentVolume", "", models.PersistentVolume, namespaced=False, short=("pv",)
    ),
    _info(
        "persistentvolumeclaims", "PersistentVolumeClaim", "", models.PersistentVolumeClaim, short=("pvc",)
    ),
    _info(
        "storageclasses",
        "StorageClass",
        "storage.k8s.io",
        models.StorageClass,
        namespaced=False,
        short=("sc",),
        status=False,
    ),
    _info("statefulsets", "StatefulSet", "apps", models.StatefulSet, short=("sts",)),
    _info("controllerrevisions", "ControllerRevision", "apps", models.ControllerRevision, status=False),
    _info(
        "customresourcedefinitions",
        "CustomResourceDefinition",
        "apiextensions.k8s.io",
        models.CustomResourceDefinition,
        namespaced=False,
        short=("crd", "crds"),
    ),
    _info(
        "ingressclasses",
        "IngressClass",
        "networking.k8s.io",
        models.IngressClass,
        namespaced=False,
        status=False,
    ),
)

BY_KIND: dict[str, ResourceInfo] = {r.kind: r for r in RESOURCES}
BY_PLURAL: dict[str, ResourceInfo] = {r.plural: r for r in RESOURCES}

_NAMES: dict[str, ResourceInfo] = {}


def _spellings(r: ResourceInfo) -> list[str]:
    out = []
    for n in (r.plural, r.singular, r.kind.lower(), *r.short_names):
        out.append(n)
        if r.group:
            out.append(f"{n}.{r.group}")
            for gv in r.served:
                g, v = gv.split("/")
                out.append(f"{n}.{v}.{g}")
                out.append(f"{n}.{g}")
        else:
            out.append(f"{n}.v1")
    return out


for _r in RESOURCES:
    for _n in _spellings(_r):
        _NAMES[_n] = _r
_BUILTIN_NAMES = dict(_NAMES)
_BUILTIN_KINDS = dict(BY_KIND)
_CUSTOM: dict[str, ResourceInfo] = {}  # "<plural>.<group>" -> the custom kind a CRD serves


def builtin(plural: str) -> ResourceInfo | None:
    r = BY_PLURAL.get(plural)
    return r if r is not None and r.custom is None else None


def custom_resource(name: str) -> ResourceInfo | None:
    """The custom kind of CRD ``name`` (``<plural>.<group>``), if this process knows it."""
    return _CUSTOM.get(name)


_GENERATION = [0]


def generation() -> int:
    """A number that changes whenever the custom kinds change (caches of the served kinds key on it)."""
    return _GENERATION[0]


def _rebuild() -> None:
    _GENERATION[0] += 1
    _NAMES.clear()
    _NAMES.update(_BUILTIN_NAMES)
    BY_KIND.clear()
    BY_KIND.update(_BUILTIN_KINDS)
    BY_PLURAL.clear()
    BY_PLURAL.update({r.plural: r for r in RESOURCES})
    for r in _CUSTOM.values():
        for n in _spellings(r):
            if n not in _BUILTIN_NAMES:  # a built-in keeps its spellings (``svc``, ``event``)
                _NAMES[n] = r
        BY_KIND.setdefault(r.kind, r)
        BY_PLURAL.setdefault(r.plural, r)


def register_custom(info: ResourceInfo) -> None:
    """Serve a CRD's kind in this process (schemas/crd.py makes ``info``)."""
    _CUSTOM[f"{info.plural}.{info.group}"] = info
    _rebuild()


def unregister_custom(name: str) -> None:
    if _CUSTOM.pop(name, None) is not None:
        _rebuild()


def lookup(name: str) -> ResourceInfo:
    """Any spelling of a resource, case-insensitive. Raises BadRequest for unknown names."""
    info = _NAMES.get(name.lower())
    if info is None:
        raise BadRequest(f'the server doesn\'t have a resource type "{name}"')
    return info


def by_api_version_kind(api_version: str, kind: str) -> tuple[ResourceInfo, bool]:
    """The resource a manifest's ``apiVersion``/``kind`` names, and whether that version is served.

    Raises BadRequest (``no matches for kind "Foo" in version "v1"``) when no version serves the kind.
    """
    info = BY_KIND.get(kind)
    if info is not None and api_version not in info.served:
        group = api_version.rpartition("/")[0]
        info = next((r for r in _CUSTOM.values() if r.kind == kind and r.group == group), info)
    if info is None:
        raise BadRequest(no_match_message(api_version, kind))
    return info, api_version in info.served


def no_match_message(api_version: str, kind: str) -> str:
    return f'no matches for kind "{kind}" in version "{api_version}"'


def all_resources() -> tuple[ResourceInfo, ...]:
    """The built-in kinds, then the custom kinds this process knows (sorted by group)."""
    if not _CUSTOM:
        return RESOURCES
    return RESOURCES + tuple(sorted(_CUSTOM.values(), key=lambda r: (r.group, r.plural)))
