"""What the scheduler needs to know about one pod, read once from its dict.

:func:`pod_info` turns a pod (plain API dict) into a frozen :class:`PodInfo`: resource requests
(cpu in millicores, memory in bytes, as Kubernetes computes them: the sum over containers, at least
the largest init container, plus overhead), the "non-zero" requests used for scoring (a container
without a request counts as 100m cpu and 200 MiB, as kube-scheduler does), host ports, the owning
controller's uid, and the label-based requirements frozen into hashable signatures.

Two pods with equal :attr:`PodInfo.class_key` are interchangeable for scheduling, which is what
lets :mod:`actors.scheduler.decide` evaluate 10,000 replicas of one controller once and then update
a few nodes per pod.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from actors.scheduler.interpod import InterPodTerms, pod_terms
from actors.scheduler.selectors import Expr, RequiredSig, Term, freeze_term
from actors.scheduler.spread import SpreadConstraint, spread_constraints
from schemas import quantity

try:  # the schemas helper, when present
    from schemas.affinity import effective_node_affinity as _effective_node_affinity
except ImportError:  # pragma: no cover - until schemas/affinity.py lands
    _effective_node_affinity = None

ALPHA_AFFINITY_ANNOTATION = "scheduler.alpha.kubernetes.io/affinity"
DEFAULT_MILLI_CPU = 100  # kube-scheduler's non-zero default for scoring
DEFAULT_MEMORY = 200 * 1024 * 1024

Toleration = tuple[str, str, str, str]  # key, operator, value, effect
HostPort = tuple[str, int, str]  # protocol, port, hostIP


@dataclass(frozen=True, slots=True)
class PodInfo:
    key: str  # namespace/name
    cpu: int  # millicores requested
    mem: int  # bytes requested
    nz_cpu: int  # non-zero requests (scoring)
    nz_mem: int
    ports: tuple[HostPort, ...]
    owner: str | None  # uid of the controller owner
    required: RequiredSig | None  # nodeSelector + required node affinity; None = any node
    tolerations: tuple[Toleration, ...]
    preferred: tuple[tuple[int, Term], ...]  # (weight, term)
    namespace: str = "default"
    labels: tuple[tuple[str, str], ...] = ()
    terms: InterPodTerms | None = None  # required inter-pod (anti-)affinity
    spread: tuple[SpreadConstraint, ...] = ()  # topology spread constraints that must hold
    soft_spread: tuple[SpreadConstraint, ...] = ()  # ScheduleAnyway: they only score

    @property
    def labels_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def class_key(self) -> tuple[Any, ...]:
        """Pods with equal keys get equal filter and score results on every node."""
        return (
            self.cpu,
            self.mem,
            self.nz_cpu,
            self.nz_mem,
            self.ports,
            self.owner,
            self.required,
            self.tolerations,
            self.preferred,
        )


# --- quantities -------------------------------------------------------------------------------

_cpu_cache: dict[Any, int] = {}
_mem_cache: dict[Any, int] = {}


def milli_cpu(value: Any) -> int:
    """Millicores, rounded up as Kubernetes' MilliValue; a malformed quantity counts as 0."""
    got = _cpu_cache.get(value)
    if got is None:
        try:
            got = quantity.cpu_millis(value)
        except (quantity.QuantityError, TypeError):
            got = 0
        if len(_cpu_cache) < 4096:
            _cpu_cache[value] = got
    return got


def bytes_of(value: Any) -> int:
    """A quantity as an integer (bytes, pods), rounded up; a malformed quantity counts as 0."""
    got = _mem_cache.get(value)
    if got is None:
        try:
            got = quantity.to_bytes(value)
        except (quantity.QuantityError, TypeError):
            got = 0
        if len(_mem_cache) < 4096:
            _mem_cache[value] = got
    return got


# --- requests ---------------------------------------------------------------------------------


def _container_requests(container: dict[str, Any]) -> tuple[int, int]:
    res = container.get("resources") or {}
    req = res.get("requests") or {}
    lim = res.get("limits") or {}
    cpu = req.get("cpu", lim.get("cpu"))  # requests default to limits (API defaulting)
    mem = req.get("memory", lim.get("memory"))
    return (milli_cpu(cpu) if cpu is not None else 0, bytes_of(mem) if mem is not None else 0)


def pod_requests(spec: dict[str, Any]) -> tuple[int, int, int, int]:
    """(cpu millis, memory bytes, non-zero cpu, non-zero memory) as kube-scheduler computes them."""
    cpu = mem = nz_cpu = nz_mem = 0
    for c in spec.get("containers") or ():
        c_cpu, c_mem = _container_requests(c)
        cpu += c_cpu
        mem += c_mem
        nz_cpu += c_cpu or DEFAULT_MILLI_CPU
        nz_mem += c_mem or DEFAULT_MEMORY
    for c in spec.get("initContainers") or ():
        c_cpu, c_mem = _container_requests(c)
        cpu, mem = max(cpu, c_cpu), max(mem, c_mem)
        nz_cpu, nz_mem = max(nz_cpu, c_cpu or DEFAULT_MILLI_CPU), max(nz_mem, c_mem or DEFAULT_MEMORY)
    overhead = spec.get("overhead") or {}
    if overhead:
        o_cpu = milli_cpu(overhead.get("cpu", 0))
        o_mem = bytes_of(overhead.get("memory", 0))
        cpu, mem, nz_cpu, nz_mem = cpu + o_cpu, mem + o_mem, nz_cpu + o_cpu, nz_mem + o_mem
    return cpu, mem, nz_cpu, nz_mem


def host_ports(spec: dict[str, Any]) -> tuple[HostPort, ...]:
    out: list[HostPort] = []
    for c in spec.get("containers") or ():
        for p in c.get("ports") or ():
            port = p.get("hostPort")
            if port:
                out.append((str(p.get("protocol") or "TCP"), int(port), str(p.get("hostIP") or "0.0.0.0")))
    return tuple(sorted(set(out)))


def controller_uid(meta: dict[str, Any]) -> str | None:
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller"):
            return str(ref.get("uid") or f"{ref.get('kind')}/{ref.get('name')}")
    return None


# --- affinity ---------------------------------------------------------------------------------


def node_affinity(pod: dict[str, Any]) -> dict[str, Any]:
    """The pod's nodeAffinity: ``spec.affinity.nodeAffinity``, else the seed's alpha annotation."""
    if _effective_node_affinity is not None:
        got = _effective_node_affinity(pod)
        if hasattr(got, "model_dump"):
            got = got.model_dump(by_alias=True, exclude_none=True)
        return dict(got or {})
    spec = pod.get("spec") or {}
    na = (spec.get("affinity") or {}).get("nodeAffinity")
    if na:
        return na
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(ALPHA_AFFINITY_ANNOTATION)
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {}
        if isinstance(parsed, dict):
            return dict(parsed.get("nodeAffinity") or {})
    return {}


def _required(spec: dict[str, Any], affinity: dict[str, Any]) -> RequiredSig | None:
    selector = spec.get("nodeSelector") or {}
    sel: tuple[Expr, ...] = tuple((str(k), "In", (str(v),)) for k, v in sorted(selector.items()))
    req = affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    terms: tuple[Term, ...] | None = None
    if req is not None:
        terms = tuple(freeze_term(t) for t in (req.get("nodeSelectorTerms") or ()))
    if not sel and terms is None:
        return None
    return (sel, terms)


def _preferred(affinity: dict[str, Any]) -> tuple[tuple[int, Term], ...]:
    out = []
    for p in affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or ():
        weight = int(p.get("weight") or 0)
        if weight > 0:
            out.append((weight, freeze_term(p.get("preference") or {})))
    return tuple(out)


def _tolerations(spec: dict[str, Any]) -> tuple[Toleration, ...]:
    return tuple(
        (
            str(t.get("key") or ""),
            str(t.get("operator") or "Equal"),
            str(t.get("value") or ""),
            str(t.get("effect") or ""),
        )
        for t in spec.get("tolerations") or ()
    )


def pod_key(pod: dict[str, Any]) -> str:
    """``namespace/name``, as the informers key objects (``actors.runtime.cache.key_of``)."""
    meta = pod.get("metadata") or {}
    namespace = meta.get("namespace")
    name = meta.get("name", "")
    return f"{namespace}/{name}" if namespace else name


def pod_info(pod: dict[str, Any]) -> PodInfo:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    cpu, mem, nz_cpu, nz_mem = pod_requests(spec)
    affinity = node_affinity(pod)
    namespace = str(meta.get("namespace") or "default")
    spread = spec.get("topologySpreadConstraints")
    return PodInfo(
        key=pod_key(pod),
        cpu=cpu,
        mem=mem,
        nz_cpu=nz_cpu,
        nz_mem=nz_mem,
        ports=host_ports(spec),
        owner=controller_uid(meta),
        required=_required(spec, affinity) if (spec.get("nodeSelector") or affinity) else None,
        tolerations=_tolerations(spec),
        preferred=_preferred(affinity) if affinity else (),
        namespace=namespace,
        labels=tuple(sorted((str(k), str(v)) for k, v in (meta.get("labels") or {}).items())),
        terms=pod_terms(spec, namespace) if spec.get("affinity") else None,
        spread=spread_constraints(spec) if spread else (),
        soft_spread=spread_constraints(spec, "ScheduleAnyway") if spread else (),
    )
