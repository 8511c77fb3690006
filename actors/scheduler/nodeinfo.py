"""The scheduler's node cache: every node's state in numpy arrays, updated incrementally.

Each node has a slot (an index into every array). Slots hold:

* what filters read: ``present`` (a Node object exists), ``unsched`` (``spec.unschedulable``),
  ``taintset`` (the id of its taint set, see :mod:`.taints`), label and name columns (see
  :mod:`.selectors`), and allocatable cpu (millicores), memory (bytes) and pods;
* what pods use: requested cpu/memory and pod count of the pods bound or assumed there, the
  "non-zero" requests used by scoring, host ports in use (sparse, by protocol and port), and per
  controller (owner uid) an array of its pod count per node (spreading).

Pods enter the cache two ways: :meth:`NodeCache.assume` when the scheduler has chosen a node (before
the bind is written, so the next decision already sees it), and :meth:`NodeCache.add_pod` from the
pod informer for every bound pod (which confirms an assumption, or accounts pods bound by someone
else). :meth:`NodeCache.forget` drops an assumption whose bind failed; :meth:`NodeCache.remove_pod`
releases a deleted pod; a pod that reaches Succeeded or Failed releases its node too. A pod bound to
a node the cache has not seen yet gets a "ghost" slot (not present, so never chosen) that becomes
the node's when its Node arrives.

Every change to a slot is appended to a change log (:meth:`changes_since`), which lets the decision
layer keep per-pod-class filter and score vectors and recompute only the slots that changed.
Growing the arrays starts a new epoch: everything derived must be recomputed.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog

from actors.scheduler.podinfo import HostPort, PodInfo, bytes_of, milli_cpu, pod_info, pod_key
from actors.scheduler.selectors import LabelColumns, RequiredSig, required_mask
from actors.scheduler.taints import TaintSets, node_taints

log = structlog.get_logger(__name__)

DEFAULT_MAX_PODS = 110
TERMINAL_PHASES = ("Succeeded", "Failed")
_LOG_LIMIT = 1 << 16
_MAX_MASKS = 256


@dataclass(slots=True)
class PodRecord:
    info: PodInfo
    idx: int
    assumed: bool


def node_allocatable(node: dict[str, Any]) -> tuple[float, float, float]:
    status = node.get("status") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    pods = alloc.get("pods")
    return (
        float(milli_cpu(alloc.get("cpu", 0))),
        float(bytes_of(alloc.get("memory", 0))),
        float(int(bytes_of(pods)) if pods is not None else DEFAULT_MAX_PODS),
    )


class NodeCache:
    """Node and pod accounting for scheduling decisions. Not thread-safe; no I/O."""

    _ARRAYS = (
        ("present", bool),
        ("unsched", bool),
        ("taintset", np.int32),
        ("alloc_cpu", np.float64),
        ("alloc_mem", np.float64),
        ("alloc_pods", np.float64),
        ("req_cpu", np.float64),
        ("req_mem", np.float64),
        ("nz_cpu", np.float64),
        ("nz_mem", np.float64),
        ("pod_count", np.float64),
    )

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        for name, dtype in self._ARRAYS:
            setattr(self, name, np.zeros(capacity, dtype=dtype))
        self.present: np.ndarray
        self.unsched: np.ndarray
        self.taintset: np.ndarray
        self.alloc_cpu: np.ndarray
        self.alloc_mem: np.ndarray
        self.alloc_pods: np.ndarray
        self.req_cpu: np.ndarray
        self.req_mem: np.ndarray
        self.nz_cpu: np.ndarray
        self.nz_mem: np.ndarray
        self.pod_count: np.ndarray
        self.names: list[str | None] = [None] * capacity
        self.index: dict[str, int] = {}
        self._free: list[int] = list(range(capacity - 1, -1, -1))
        self._node_state: list[tuple[Any, ...] | None] = [None] * capacity
        self._node_pods: list[set[str]] = [set() for _ in range(capacity)]
        self.labels = LabelColumns(capacity)
        self.fields = LabelColumns(capacity)  # metadata.name, for matchFields
        self.taints = TaintSets()
        self.pods: dict[str, PodRecord] = {}
        self.pods_by_namespace: dict[str, dict[str, PodRecord]] = {}  # for inter-pod affinity
        self.anti_affinity_pods: dict[str, PodRecord] = {}  # placed pods with anti-affinity terms
        self.scoring_pods: dict[str, PodRecord] = {}  # placed pods whose terms score others
        self.ports: dict[tuple[str, int], dict[int, Counter[str]]] = {}
        self.owners: dict[str, np.ndarray] = {}
        self._owner_totals: Counter[str] = Counter()
        self._masks: OrderedDict[RequiredSig, np.ndarray] = OrderedDict()
        self.num_nodes = 0
        self.epoch = 0
        self._changes: list[int] = []
        self._changes_base = 0

    # --- change log -----------------------------------------------------------------------------

    @property
    def position(self) -> int:
        return self._changes_base + len(self._changes)

    def changes_since(self, epoch: int, position: int) -> list[int] | None:
        """Slots changed since ``position`` of ``epoch``; None when everything must be recomputed."""
        if epoch != self.epoch or position < self._changes_base:
            return None
        return self._changes[position - self._changes_base :]

    def _mark(self, idx: int) -> None:
        self._changes.append(idx)
        if len(self._changes) > _LOG_LIMIT:
            self._new_epoch()

    def _new_epoch(self) -> None:
        self.epoch += 1
        self._changes_base += len(self._changes)
        self._changes = []

    # --- slots ----------------------------------------------------------------------------------

    def _grow(self) -> None:
        old, new = self.capacity, self.capacity * 2
        for name, dtype in self._ARRAYS:
            arr = np.zeros(new, dtype=dtype)
            arr[:old] = getattr(self, name)
            setattr(self, name, arr)
        for uid, counts in self.owners.items():
            arr = np.zeros(new, dtype=np.float64)
            arr[:old] = counts
            self.owners[uid] = arr
        self.names.extend([None] * (new - old))
        self._node_state.extend([None] * (new - old))
        self._node_pods.extend(set() for _ in range(new - old))
        self.labels.resize(new)
        self.fields.resize(new)
        self._free = list(range(new - 1, old - 1, -1)) + self._free
        self._masks.clear()
        self.capacity = new
        self._new_epoch()

    def _slot(self, name: str) -> int:
        idx = self.index.get(name)
        if idx is None:
            if not self._free:
                self._grow()
            idx = self._free.pop()
            self.index[name] = idx
            self.names[idx] = name
            self.fields.set(idx, {"metadata.name": name})
            self._update_masks(idx)
        return idx

    def _release_slot(self, idx: int) -> None:
        name = self.names[idx]
        if name is not None:
            del self.index[name]
        self.names[idx] = None
        self._node_state[idx] = None
        self.labels.clear(idx)
        self.fields.clear(idx)
        self._update_masks(idx)
        self.unsched[idx] = False
        self.taintset[idx] = 0
        self.alloc_cpu[idx] = self.alloc_mem[idx] = self.alloc_pods[idx] = 0.0
        self._free.append(idx)
        self._mark(idx)

    # --- nodes ----------------------------------------------------------------------------------

    def set_node(self, node: dict[str, Any]) -> bool:
        """Add or update a node; returns whether anything the scheduler reads changed."""
        name = str((node.get("metadata") or {}).get("name"))
        labels = dict((node.get("metadata") or {}).get("labels") or {})
        unsched = bool((node.get("spec") or {}).get("unschedulable"))
        taintset = self.taints.id_of(node_taints(node))
        alloc = node_allocatable(node)
        state = (labels, unsched, taintset, alloc)
        idx = self._slot(name)
        if self._node_state[idx] == state and self.present[idx]:
            return False
        old = self._node_state[idx]
        self._node_state[idx] = state
        if not self.present[idx]:
            self.present[idx] = True
            self.num_nodes += 1
        if old is None or old[0] != labels:
            self.labels.set(idx, labels)
            self._update_masks(idx)
        self.unsched[idx] = unsched
        self.taintset[idx] = taintset
        self.alloc_cpu[idx], self.alloc_mem[idx], self.alloc_pods[idx] = alloc
        self._mark(idx)
        return True

    def remove_node(self, name: str) -> bool:
        idx = self.index.get(name)
        if idx is None or not self.present[idx]:
            return False
        self.present[idx] = False
        self.num_nodes -= 1
        if self._node_pods[idx]:
            self._mark(idx)  # a ghost until its pods are gone
        else:
            self._release_slot(idx)
        return True

    def node_name(self, idx: int) -> str:
        name = self.names[idx]
        assert name is not None
        return name

    def has_node(self, name: str) -> bool:
        idx = self.index.get(name)
        return idx is not None and bool(self.present[idx])

    # --- label masks ----------------------------------------------------------------------------

    def required_mask(self, sig: RequiredSig) -> np.ndarray:
        """Nodes matching a nodeSelector/required-affinity signature, cached until labels change."""
        mask = self._masks.get(sig)
        if mask is None:
            mask = required_mask(self.labels, self.fields, sig, slice(None), self.capacity)
            self._masks[sig] = mask
            if len(self._masks) > _MAX_MASKS:
                self._masks.popitem(last=False)
        else:
            self._masks.move_to_end(sig)
        return mask

    def _update_masks(self, idx: int) -> None:
        if not self._masks:
            return
        at = np.array([idx])
        for sig, mask in self._masks.items():
            mask[idx] = required_mask(self.labels, self.fields, sig, at, 1)[0]

    # --- pods -----------------------------------------------------------------------------------

    def add_pod(self, pod: dict[str, Any]) -> None:
        """A pod as the informer sees it: bound pods count against their node, finished ones not."""
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            return  # pending: an assumption, if any, stands until the bind is confirmed or fails
        key = pod_key(pod)
        if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            self.remove_pod(key)
            return
        rec = self.pods.get(key)
        if rec is not None:
            if self.names[rec.idx] == node_name:
                rec.assumed = False
                return
            self._unaccount(rec)
        self._account(pod_info(pod), self._slot(node_name), assumed=False)

    def remove_pod(self, key: str) -> None:
        rec = self.pods.get(key)
        if rec is not None:
            self._unaccount(rec)

    def assume(self, info: PodInfo, node_name: str) -> None:
        rec = self.pods.get(info.key)
        if rec is not None:
            self._unaccount(rec)
        self._account(info, self._slot(node_name), assumed=True)

    def forget(self, key: str) -> None:
        rec = self.pods.get(key)
        if rec is not None and rec.assumed:
            self._unaccount(rec)

    def is_assumed(self, key: str) -> bool:
        rec = self.pods.get(key)
        return rec is not None and rec.assumed

    def pods_on(self, name: str) -> set[str]:
        idx = self.index.get(name)
        return set(self._node_pods[idx]) if idx is not None else set()

    def node_label(self, idx: int, key: str) -> str | None:
        """A present node's label ``key`` (None: absent, or no node in the slot)."""
        state = self._node_state[idx]
        if state is None or not self.present[idx]:
            return None
        value = state[0].get(key)
        return None if value is None else str(value)

    def _account(self, info: PodInfo, idx: int, *, assumed: bool) -> None:
        rec = self.pods[info.key] = PodRecord(info, idx, assumed)
        self.pods_by_namespace.setdefault(info.namespace, {})[info.key] = rec
        if info.terms is not None:
            if info.terms.anti:
                self.anti_affinity_pods[info.key] = rec
            if info.terms.scores:
                self.scoring_pods[info.key] = rec
        self._node_pods[idx].add(info.key)
        self._add_usage(info, idx, 1.0)

    def _unaccount(self, rec: PodRecord) -> None:
        del self.pods[rec.info.key]
        in_namespace = self.pods_by_namespace.get(rec.info.namespace)
        if in_namespace is not None:
            in_namespace.pop(rec.info.key, None)
            if not in_namespace:
                del self.pods_by_namespace[rec.info.namespace]
        self.anti_affinity_pods.pop(rec.info.key, None)
        self.scoring_pods.pop(rec.info.key, None)
        idx = rec.idx
        self._node_pods[idx].discard(rec.info.key)
        self._add_usage(rec.info, idx, -1.0)
        if not self.present[idx] and not self._node_pods[idx]:
            self._release_slot(idx)

    def _add_usage(self, info: PodInfo, idx: int, sign: float) -> None:
        self.req_cpu[idx] += sign * info.cpu
        self.req_mem[idx] += sign * info.mem
        self.nz_cpu[idx] += sign * info.nz_cpu
        self.nz_mem[idx] += sign * info.nz_mem
        self.pod_count[idx] += sign
        for port in info.ports:
            self._add_port(port, idx, int(sign))
        if info.owner is not None:
            self._add_owner(info.owner, idx, sign)
        self._mark(idx)

    def _add_port(self, port: HostPort, idx: int, delta: int) -> None:
        proto, number, ip = port
        nodes = self.ports.setdefault((proto, number), {})
        used = nodes.setdefault(idx, Counter())
        used[ip] += delta
        if used[ip] <= 0:
            del used[ip]
            if not used:
                del nodes[idx]
                if not nodes:
                    del self.ports[(proto, number)]

    def _add_owner(self, uid: str, idx: int, delta: float) -> None:
        counts = self.owners.get(uid)
        if counts is None:
            counts = self.owners[uid] = np.zeros(self.capacity, dtype=np.float64)
        counts[idx] += delta
        self._owner_totals[uid] += int(delta)
        if self._owner_totals[uid] <= 0:
            del self._owner_totals[uid]
            del self.owners[uid]

    def port_conflicts(self, ports: tuple[HostPort, ...]) -> list[int]:
        """Slots where one of ``ports`` is taken (Kubernetes' HostPortInfo.CheckConflict)."""
        out: set[int] = set()
        for proto, number, ip in ports:
            for idx, used in (self.ports.get((proto, number)) or {}).items():
                if ip == "0.0.0.0" or ip in used or "0.0.0.0" in used:
                    out.add(idx)
        return sorted(out)
