"""Which group versions the api serves (``--runtime-config``) and stores (``--storage-versions``).

Pure: flag text in, an :class:`ApiVersions` out (or BadRequest naming the flag and the rule), and
the two conversions the store applies to every object it writes and reads.

The seed's cluster upgrade, in jetkube's terms:

1. ``--runtime-config`` turns group versions on (``batch/v2alpha1=true``) and off
   (``extensions/v1beta1=false``, ``api/beta=false``, ``api/all=false``), spelled as
   kube-apiserver spells it. A request in a disabled version is refused (NotFound, "the server
   could not find the requested resource", as Kubernetes answers a path it does not serve).
2. ``--storage-versions apps/v1beta2,batch/v1`` picks, per group, the version objects are
   *written* in. Reads always give the current version (:func:`to_current`), whatever is stored.
3. ``jetkube convert`` rewrites manifests (schemas.convert).
4. ``jetkube migrate-storage`` rewrites stored objects into the storage version.
5. ``--runtime-config`` turns the old versions off.

Jetkube differs from Kubernetes on purpose in two places:

* The current version of each group (``v1``, ``apps/v1``, ``batch/v1``, ``coordination.k8s.io/v1``)
  cannot be turned off: jetkube's own controllers and kubelets read and write it.
* A storage version must hold its kinds *faithfully*: an object written in it and read back must
  mean the same. ``apps/v1beta2`` (Deployment, ReplicaSet, DaemonSet) and ``batch/v1beta1`` /
  ``batch/v2alpha1`` (CronJob) have the current version's fields and defaults; kinds a storage
  version does not serve (Job in ``batch/v1beta1``) stay in the current version. ``extensions/v1beta1``
  and ``apps/v1beta1`` are refused as storage versions: their defaults differ (a missing
  ``metadata.labels`` is filled from the template, revisionHistoryLimit is unlimited or 2), so an
  object read back through them could change meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas import convert, registry
from schemas.errors import BadRequest, NotFound

Obj = dict[str, Any]

#: The current ("hub") version of every kind: what controllers, kubelets and reads see.
CURRENT: dict[str, str] = {info.kind: info.api_version for info in registry.all_resources()}
CURRENT_VERSIONS: frozenset[str] = frozenset(CURRENT.values())

#: Versions an object of a kind may be stored in, besides its current one (see the module doc).
FAITHFUL: frozenset[tuple[str, str]] = frozenset(
    {
        ("Deployment", "apps/v1beta2"),
        ("ReplicaSet", "apps/v1beta2"),
        ("DaemonSet", "apps/v1beta2"),
        ("CronJob", "batch/v1beta1"),
        ("CronJob", "batch/v2alpha1"),
    }
)

#: Why a version cannot be a storage version although it is served.
UNFAITHFUL_REASON: dict[str, str] = {
    "extensions/v1beta1": (
        "its Deployment, ReplicaSet and DaemonSet defaults differ from apps/v1 (labels and selector "
        "from the template, unlimited revision history, DaemonSet OnDelete), so objects could change "
        "meaning when read back"
    ),
    "apps/v1beta1": (
        "its Deployment defaults differ from apps/v1 (revisionHistoryLimit 2, labels from the "
        "template), so objects could change meaning when read back"
    ),
}


def _group_of(gv: str) -> str:
    return gv.split("/", 1)[0] if "/" in gv else ""


def _stability(gv: str) -> str:
    version = gv.rsplit("/", 1)[-1]
    if "alpha" in version:
        return "alpha"
    if "beta" in version:
        return "beta"
    return "ga"


def known_group_versions() -> tuple[str, ...]:
    """Every group version some resource is served in, current versions first, then sorted."""
    seen: dict[str, None] = {}
    for info in registry.all_resources():
        seen.setdefault(info.api_version, None)
    for info in registry.all_resources():
        for gv in info.served:
            seen.setdefault(gv, None)
    current = [gv for gv in seen if gv in CURRENT_VERSIONS]
    others = sorted(gv for gv in seen if gv not in CURRENT_VERSIONS)
    return (*current, *others)


def kinds_served_in(gv: str) -> list[str]:
    return [info.kind for info in registry.all_resources() if gv in info.served]


# ------------------------------------------------------------------ the flags


def _truth(flag: str, key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in ("", "true"):
        return True
    if v == "false":
        return False
    raise BadRequest(f'{flag}: invalid value "{value}" for {key}: must be true or false')


def parse_runtime_config(text: str) -> dict[str, bool]:
    """``key=value`` pairs, applied in kube-apiserver's order: ``api/all``, then ``api/ga|beta|alpha``
    (and ``api/legacy``), then single group versions. The result says, for every known group
    version that the flag touched, whether it is on."""
    flag = "--runtime-config"
    known = known_group_versions()
    pairs: list[tuple[str, bool]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, _, value = part.partition("=")
        key = key.strip()
        pairs.append((key, _truth(flag, key, value)))
    out: dict[str, bool] = {}
    for key, on in pairs:
        if key == "api/all":
            out.update(dict.fromkeys(known, on))
    for key, on in pairs:
        if key in ("api/ga", "api/beta", "api/alpha"):
            wanted = key.split("/")[1]
            out.update({gv: on for gv in known if _stability(gv) == wanted})
        elif key == "api/legacy":
            out["v1"] = on
    for key, on in pairs:
        if key in ("api/all", "api/ga", "api/beta", "api/alpha", "api/legacy"):
            continue
        gv = "v1" if key in ("api/v1", "v1") else key
        if gv not in known:
            raise BadRequest(
                f'{flag}: unknown group version "{key}": known are {", ".join(known)} '
                "and api/all, api/ga, api/beta, api/alpha, api/legacy"
            )
        out[gv] = on
    return out


def parse_storage_versions(text: str) -> dict[str, str]:
    """``group/version,...`` -> {group: group/version}; one version per group."""
    flag = "--storage-versions"
    known = known_group_versions()
    out: dict[str, str] = {}
    for gv in (p.strip() for p in text.split(",")):
        if not gv:
            continue
        if gv not in known:
            raise BadRequest(f'{flag}: unknown group version "{gv}": known are {", ".join(known)}')
        group = _group_of(gv)
        if group in out and out[group] != gv:
            raise BadRequest(f"{flag}: two versions for the group {group or 'core'}: {out[group]} and {gv}")
        out[group] = gv
    return out


# ------------------------------------------------------------------ the configuration


@dataclass(frozen=True)
class ApiVersions:
    """The api process's choice of served and stored versions. ``ApiVersions()`` = jetkube's
    default: every known version served, every kind stored in its current version."""

    disabled: frozenset[str] = frozenset()
    storage: dict[str, str] = field(default_factory=dict)  # kind -> stored apiVersion, if not current
    runtime_config: str = ""
    storage_versions: str = ""

    def enabled(self, gv: str) -> bool:
        return gv not in self.disabled

    def group_versions(self) -> list[str]:
        """What ``jetkube api-versions`` prints: every served group version, sorted as kubectl does."""
        return sorted(gv for gv in known_group_versions() if self.enabled(gv))

    def storage_version(self, kind: str) -> str:
        return self.storage.get(kind) or CURRENT.get(kind, "")

    def storage_by_group(self) -> dict[str, str]:
        """group -> the storage version of its resources (current ones included), for display."""
        out: dict[str, str] = {}
        for info in registry.all_resources():
            out.setdefault(info.group, self.storage_version(info.kind))
            if info.kind in self.storage:
                out[info.group] = self.storage[info.kind]
        return out

    def check(self, gv: str, kind: str) -> None:
        """NotFound when a request speaks a disabled version (the request changes nothing)."""
        if gv in self.disabled:
            info = registry.BY_KIND.get(kind)
            served = [v for v in (info.served if info else ()) if self.enabled(v)]
            raise NotFound(
                f"the server could not find the requested resource: {gv} {kind} is disabled by "
                f"--runtime-config (served: {', '.join(served) or 'none'})"
            )

    def to_storage(self, obj: Obj) -> Obj:
        """The form written to the store: ``obj`` (current version) itself, or a shallow copy in
        the kind's storage version (faithful versions only, so the fields are the same)."""
        target = self.storage.get(obj.get("kind", "")) if self.storage else None
        if target is None or obj.get("apiVersion") == target:
            return obj
        return {**obj, "apiVersion": target}


def build(runtime_config: str = "", storage_versions: str = "") -> ApiVersions:
    """Parse and check both flags together; BadRequest naming the flag and the rule."""
    toggles = parse_runtime_config(runtime_config)
    disabled = frozenset(gv for gv, on in toggles.items() if not on)
    needed = sorted(disabled & CURRENT_VERSIONS)
    if needed:
        raise BadRequest(
            f"--runtime-config: {', '.join(needed)} cannot be disabled: jetkube's controllers and "
            "kubelets read and write the current version of every group"
        )
    storage: dict[str, str] = {}
    for group, gv in parse_storage_versions(storage_versions).items():
        if gv in disabled:
            raise BadRequest(f"--storage-versions: {gv} is disabled by --runtime-config; enable it first")
        if gv in UNFAITHFUL_REASON:
            raise BadRequest(f"--storage-versions: {gv} cannot be a storage version: {UNFAITHFUL_REASON[gv]}")
        kinds = [info for info in registry.all_resources() if info.group == group]
        stored = [info.kind for info in kinds if (info.kind, gv) in FAITHFUL]
        if gv not in CURRENT_VERSIONS and not stored:
            faithful = ", ".join(sorted({v for _, v in FAITHFUL}))
            raise BadRequest(
                f"--storage-versions: {gv} cannot be a storage version: jetkube stores only versions "
                f"that hold a kind of their group with the current fields and defaults ({faithful})"
            )
        for kind in stored:
            storage[kind] = gv
    return ApiVersions(
        disabled=disabled,
        storage=storage,
        runtime_config=runtime_config,
        storage_versions=storage_versions,
    )


# ------------------------------------------------------------------ conversion on read


def to_current(obj: Obj) -> Obj:
    """A stored object in its kind's current version (changed in place; returned).

    The one place where reads convert: every object the store decodes passes here. An object in
    its current version (nearly always) costs one set lookup."""
    api_version = obj.get("apiVersion")
    if api_version in CURRENT_VERSIONS or api_version is None:
        return obj
    info = registry.BY_KIND.get(obj.get("kind", ""))
    if info is None or api_version == info.api_version or api_version not in info.served:
        return obj
    return convert.to_storage(obj, info)


def needs_migration(obj: Obj, versions: ApiVersions) -> bool:
    """Whether a stored object is in another version than its kind's storage version."""
    kind = obj.get("kind")
    if not isinstance(kind, str) or kind not in CURRENT:
        return False
    return obj.get("apiVersion") != versions.storage_version(kind)


def migrated(obj: Obj, versions: ApiVersions) -> Obj:
    """A stored object rewritten in its kind's storage version (through the current version)."""
    return versions.to_storage(to_current(obj))


def from_status(data: dict[str, Any]) -> ApiVersions:
    """An :class:`ApiVersions` from the api's ``apiversions`` answer (``jetkube migrate-storage``)."""
    return build(str(data.get("runtimeConfig") or ""), str(data.get("storageVersions") or ""))


def describe(versions: ApiVersions) -> dict[str, Any]:
    """The api's ``apiversions`` answer."""
    return {
        "groupVersions": versions.group_versions(),
        "storage": versions.storage_by_group(),
        "runtimeConfig": versions.runtime_config,
        "storageVersions": versions.storage_versions,
    }


def spelled_in(info: registry.ResourceInfo, api_version: str) -> str:
    """The resource name that carries a manifest's version to the api (``deployments.v1beta1.extensions``),
    or the plain plural for the current version, so the api can refuse a disabled one."""
    if api_version == info.api_version or api_version not in info.served:
        return info.plural
    group, _, version = api_version.rpartition("/")
    return f"{info.plural}.{version}.{group}" if group else f"{info.plural}.{version}"


def requested_version(spelling: str, info: registry.ResourceInfo) -> str | None:
    """The group version a resource name spells (``deployments.v1beta1.extensions`` ->
    ``extensions/v1beta1``, ``pods.v1`` -> ``v1``), or None when it names none."""
    low = spelling.lower()
    for gv in info.served:
        group, _, version = gv.rpartition("/")
        if low.endswith(f".{version}.{group}" if group else f".{version}"):
            return gv
    return None
