"""Pod Security admission: the namespace label ``pod-security.kubernetes.io/enforce`` picks a level.

Levels as the Kubernetes Pod Security Standards define them (the subset jetkube's kubelet can
honour): ``privileged`` (no checks; also the default when the label is absent), ``baseline``
(no host namespaces, no privileged containers, no hostPath volumes, no host ports, no capabilities
beyond the default set) and ``restricted`` (baseline, plus: only ephemeral/config volume types,
``allowPrivilegeEscalation: false``, ``capabilities.drop: [ALL]`` (only NET_BIND_SERVICE may be
added), ``runAsNonRoot: true``, no ``runAsUser: 0``, a ``RuntimeDefault`` or ``Localhost`` seccomp
profile). A refused pod gets Kubernetes' message::

    pods "x" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must
    not set securityContext.privileged=true)

:func:`violations` is pure; :class:`PodSecurity` is the api hook (create of pods, and updates that
change the spec), reading namespace labels from the namespaces informer, or from the store when the
informer has not seen the namespace yet (as Kubernetes' plugin falls back from its lister to a live
get). Only ``enforce`` is implemented (``warn``/``audit`` labels are ignored); workloads are checked
when their pods are made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schemas.errors import BadRequest, Forbidden, NotFound

if TYPE_CHECKING:
    from bus.store import Store

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")
BASELINE_CAPS = frozenset(
    "AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL MKNOD NET_BIND_SERVICE SETFCAP SETGID SETPCAP "
    "SETUID SYS_CHROOT".split()
)
RESTRICTED_VOLUMES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
)

Obj = dict[str, Any]


def _containers(spec: Obj) -> list[Obj]:
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _baseline(spec: Obj) -> list[str]:
    out: list[str] = []
    host = [f"{f}=true" for f in ("hostNetwork", "hostPID", "hostIPC") if spec.get(f)]
    if host:
        out.append(f"host namespaces ({', '.join(host)})")
    for c in _containers(spec):
        if (c.get("securityContext") or {}).get("privileged"):
            out.append(
                f'privileged (container "{c.get("name")}" must not set securityContext.privileged=true)'
            )
    paths = [v.get("name") for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    if paths:
        shown = ", ".join(f'"{p}"' for p in paths)
        out.append(f"hostPath volumes (volume{'s' if len(paths) > 1 else ''} {shown})")
    for c in _containers(spec):
        ports = [p.get("hostPort") for p in c.get("ports") or [] if p.get("hostPort")]
        if ports:
            shown = ", ".join(str(p) for p in ports)
            out.append(
                f'hostPort (container "{c.get("name")}" uses hostPort{"s" if len(ports) > 1 else ""} {shown})'
            )
    for c in _containers(spec):
        added = ((c.get("securityContext") or {}).get("capabilities") or {}).get("add") or []
        bad = [cap for cap in added if cap not in BASELINE_CAPS]
        if bad:
            shown = ", ".join(f'"{b}"' for b in bad)
            out.append(
                f'non-default capabilities (container "{c.get("name")}" must not include {shown} '
                "in securityContext.capabilities.add)"
            )
    return out


def _restricted(spec: Obj) -> list[str]:
    out: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    for v in spec.get("volumes") or []:
        kinds = [k for k in v if k != "name"]
        bad = [k for k in kinds if k not in RESTRICTED_VOLUMES and k != "hostPath"]
        if bad:
            out.append(
                f'restricted volume types (volume "{v.get("name")}" uses restricted volume type "{bad[0]}")'
            )
    containers = _containers(spec)
    for c in containers:
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(
                f'allowPrivilegeEscalation != false (container "{c.get("name")}" must set '
                "securityContext.allowPrivilegeEscalation=false)"
            )
    for c in containers:
        caps = (c.get("securityContext") or {}).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []) or any(
            a != "NET_BIND_SERVICE" for a in caps.get("add") or []
        ):
            out.append(
                f'unrestricted capabilities (container "{c.get("name")}" must set '
                'securityContext.capabilities.drop=["ALL"])'
            )
    non_root = [
        c.get("name")
        for c in containers
        if (c.get("securityContext") or {}).get("runAsNonRoot") is False
        or (
            (c.get("securityContext") or {}).get("runAsNonRoot") is None
            and pod_sc.get("runAsNonRoot") is not True
        )
    ]
    if non_root:
        shown = ", ".join(f'"{n}"' for n in non_root)
        out.append(
            f"runAsNonRoot != true (pod or container{'s' if len(non_root) > 1 else ''} {shown} must set "
            "securityContext.runAsNonRoot=true)"
        )
    if pod_sc.get("runAsUser") == 0 or any(
        (c.get("securityContext") or {}).get("runAsUser") == 0 for c in containers
    ):
        out.append("runAsUser=0 (pod and containers must not set runAsUser=0)")
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    bad_seccomp = [
        c.get("name")
        for c in containers
        if ((c.get("securityContext") or {}).get("seccompProfile") or {}).get("type", pod_seccomp)
        not in ("RuntimeDefault", "Localhost")
    ]
    if bad_seccomp:
        shown = ", ".join(f'"{n}"' for n in bad_seccomp)
        out.append(
            f"seccompProfile (pod or container{'s' if len(bad_seccomp) > 1 else ''} {shown} must set "
            'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
        )
    return out


def violations(level: str, pod: Obj) -> list[str]:
    """Every rule of ``level`` the pod breaks, in Kubernetes' words (empty: admitted)."""
    if level == "privileged":
        return []
    spec = pod.get("spec") or {}
    found = _baseline(spec)
    if level == "restricted":
        found += _restricted(spec)
    return found


def level_of(namespace: Obj | None) -> str:
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    level = labels.get(ENFORCE_LABEL, "privileged")
    return level if level in LEVELS else "privileged"


def check_namespace_labels(ns: Obj) -> None:
    labels = (ns.get("metadata") or {}).get("labels") or {}
    value = labels.get(ENFORCE_LABEL)
    if value is not None and value not in LEVELS:
        raise BadRequest(
            f'metadata.labels[{ENFORCE_LABEL}]: Unsupported value: "{value}": supported values: '
            '"privileged", "baseline", "restricted"'
        )


class PodSecurity:
    """The api hook: ``api.create_hooks.append(psa.admit)``, ``api.update_hooks.append(psa.admit)``.

    ``namespaces`` is the namespaces informer the api reads; ``store`` is the api's store, read when
    the informer lacks the pod's namespace.
    """

    def __init__(self, namespaces: Any, store: Store) -> None:
        self.namespaces = namespaces
        self.store = store

    async def _namespace(self, name: str) -> Obj:
        """The pod's namespace: the informer's copy, else a live read of the store.

        As Kubernetes' PodSecurity (pod-security-admission's namespaceGetter: the lister, then the
        client on NotFound only): a namespace the informer has not seen yet (just created, or created
        through another api replica) is read from the store, never taken for an unlabelled one, which
        would admit anything ("privileged") and fail open. A copy the informer does hold is used even
        if the store has a newer one: Kubernetes accepts that staleness for a label change (an
        ``enforce`` label tightened a moment ago may not apply to a pod created in the same moment),
        and checking the store on every pod would cost a read per write. A namespace missing from the
        store too is refused as the api's namespace check refuses it (it ran before this hook, so the
        namespace was deleted in between), and any other store error refuses the pod (the caller sees
        it): PodSecurity never admits a pod whose namespace it could not read.
        """
        namespace = self.namespaces.objects.get(name)
        if namespace is not None:
            return namespace
        try:
            return await self.store.get("namespaces", None, name)
        except NotFound:
            raise NotFound(f'namespaces "{name}" not found', details={"name": name}) from None

    async def admit(self, resource: str, obj: Obj, old: Obj | None) -> Obj:
        if resource == "namespaces":
            check_namespace_labels(obj)
            return obj
        if resource != "pods":
            return obj
        if old is not None and (old.get("spec") == obj.get("spec")):
            return obj  # a status or metadata write is not re-checked
        meta = obj.get("metadata") or {}
        level = level_of(await self._namespace(meta.get("namespace") or "default"))
        found = violations(level, obj)
        if found:
            raise Forbidden(
                f'pods "{meta.get("name")}" is forbidden: violates PodSecurity "{level}:latest": '
                + ", ".join(found)
            )
        return obj
