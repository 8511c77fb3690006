"""Discovery documents, generated from the kind registry (schemas/registry.py): ``/version``,
``/api``, ``/apis``, ``/api/v1`` and ``/apis/<group>/<version>`` in the legacy (unaggregated) form,
which kubectl reads when the aggregated form is not offered. A kind added to the registry is served
and discovered with no change here. Each group is served at its storage version.

Pure: the registry in, mappings out.
"""

from __future__ import annotations

import platform
from typing import Any

from schemas.registry import ResourceInfo, all_resources

# kubectl's ``get all`` category, as Kubernetes tags these kinds.
ALL_CATEGORY = frozenset(
    {
        "pods",
        "services",
        "replicationcontrollers",
        "daemonsets",
        "deployments",
        "replicasets",
        "statefulsets",
        "jobs",
        "cronjobs",
        "horizontalpodautoscalers",
    }
)
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
READ_ONLY_VERBS = ["create", "get", "list", "watch"]  # events: kept on their own stream
SCALABLE = frozenset({"deployments", "replicasets", "replicationcontrollers", "statefulsets"})
# Kinds served by the gateway itself, beside the registry's: (group, version, resource entry).
EXTRA_RESOURCES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "authorization.k8s.io",
        "v1",
        {
            "name": "selfsubjectaccessreviews",
            "singularName": "selfsubjectaccessreview",
            "namespaced": False,
            "kind": "SelfSubjectAccessReview",
            "verbs": ["create"],
        },
    ),
    (
        "metrics.k8s.io",
        "v1beta1",
        {
            "name": "nodes",
            "singularName": "",
            "namespaced": False,
            "kind": "NodeMetrics",
            "verbs": ["get", "list"],
        },
    ),
    (
        "metrics.k8s.io",
        "v1beta1",
        {
            "name": "pods",
            "singularName": "",
            "namespaced": True,
            "kind": "PodMetrics",
            "verbs": ["get", "list"],
        },
    ),
)


def version_info(jetkube_version: str) -> dict[str, str]:
    """``/version``: the Kubernetes API level jetkube speaks, and jetkube's own version."""
    return {
        "major": "1",
        "minor": "32",
        "gitVersion": f"v1.32.0+jetkube.{jetkube_version.lstrip('v')}",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": f"python{platform.python_version()}",
        "compiler": "cpython",
        "platform": f"linux/{platform.machine()}",
    }


def _served(info: ResourceInfo) -> list[tuple[str, str]]:
    """(group, version) pairs a kind is served at: its storage version first, then older ones."""
    out = []
    for gv in info.served:
        group, _, version = gv.rpartition("/")
        out.append((group, version))
    return out


def groups() -> dict[str, list[str]]:
    """Every named group and the versions served (preferred first), from the registry and the
    extras; groups that store a kind come before legacy-only ones (extensions), so a name in both
    resolves to the current group, as kubectl resolves it against Kubernetes."""
    out: dict[str, list[str]] = {}
    storage: set[str] = set()
    for info in all_resources():
        if info.group:
            storage.add(info.group)
            out.setdefault(info.group, [])
            if info.version not in out[info.group]:
                out[info.group].insert(0, info.version)
    for info in all_resources():
        for group, version in _served(info)[1:]:
            if group and version not in out.setdefault(group, []):
                out[group].append(version)
    for group, version, _ in EXTRA_RESOURCES:
        storage.add(group)
        if version not in out.setdefault(group, []):
            out[group].append(version)
    return dict(sorted(out.items(), key=lambda kv: (kv[0] not in storage, kv[0])))


def api_versions(address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def api_group_list() -> dict[str, Any]:
    items = []
    for name, versions in groups().items():
        gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        items.append({"name": name, "versions": gvs, "preferredVersion": gvs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": items}


def api_group(name: str) -> dict[str, Any] | None:
    versions = groups().get(name)
    if not versions:
        return None
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": gvs, "preferredVersion": gvs[0]}


def _custom_scale(info: ResourceInfo) -> bool:
    if info.custom is None:
        return False
    from schemas.crd import subresources_of

    return "scale" in subresources_of(info)


def _entries(info: ResourceInfo, preferred: bool = True) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": info.plural,
        "singularName": info.singular,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": READ_ONLY_VERBS if info.plural == "events" else VERBS,
    }
    if info.short_names and preferred:  # on one group only: kubectl warns about a shared short name
        main["shortNames"] = list(info.short_names)
    if info.plural in ALL_CATEGORY and preferred:
        main["categories"] = ["all"]
    custom = ((info.custom or {}).get("spec") or {}).get("names") or {}
    if custom.get("categories") and preferred:
        main["categories"] = list(custom["categories"])
    out = [main]
    sub = {"singularName": "", "namespaced": info.namespaced}
    if info.has_status:
        out.append(
            {"name": f"{info.plural}/status", **sub, "kind": info.kind, "verbs": ["get", "patch", "update"]}
        )
    if info.plural in SCALABLE or _custom_scale(info):
        out.append(
            {
                "name": f"{info.plural}/scale",
                **sub,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }
        )
    if info.plural == "pods":
        out.append({"name": "pods/log", **sub, "kind": "Pod", "verbs": ["get"]})
        out.append({"name": "pods/exec", **sub, "kind": "PodExecOptions", "verbs": ["create", "get"]})
        out.append({"name": "pods/attach", **sub, "kind": "PodAttachOptions", "verbs": ["create", "get"]})
        out.append(
            {"name": "pods/portforward", **sub, "kind": "PodPortForwardOptions", "verbs": ["create", "get"]}
        )
        out.append(
            {
                "name": "pods/eviction",
                **sub,
                "group": "policy",
                "version": "v1",
                "kind": "Eviction",
                "verbs": ["create"],
            }
        )
    return out


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    """``APIResourceList`` of one group version (``group`` "" is the core group), or None."""
    resources: list[dict[str, Any]] = []
    for info in all_resources():
        if (group, version) in _served(info):
            resources.extend(_entries(info, preferred=(group, version) == (info.group, info.version)))
    for g, v, entry in EXTRA_RESOURCES:
        if (g, v) == (group, version):
            resources.append(entry)
    if not resources:
        return None
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
