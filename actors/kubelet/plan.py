"""What the kubelet does to one pod next: Kubernetes' ``computePodActions``, as a pure function.

    actions = plan_pod(pod, observed, now)

``observed`` is what the runtime and the prober say (the sandbox, the newest instance of each
container, the crash-loop back-off entries, probe results); ``now`` is epoch seconds. The result
says, in the order the executor (sync.py) carries it out:

1. ``kill``: containers to stop, each with its grace period and whether its preStop hook runs
   (a pod being deleted: all of them, with the pod's grace; a failed liveness or startup probe:
   that container, "Container X failed liveness probe, will be restarted"; a sandbox to be
   replaced: every running container, as Kubernetes' KillPod);
2. ``create_sandbox`` (with its attempt) when there is none or it died; Kubernetes' two
   exceptions: restartPolicy Never with containers already created, and OnFailure with every
   container succeeded, get no new sandbox. ``stop_sandbox`` for a pod in a terminal phase;
3. init containers in order: the first one not succeeded is started (or restarted, unless the
   policy is Never) and nothing else is; a new sandbox starts them again from the first;
4. app containers, once every init container succeeded: a missing one is started, a dead one
   restarted by the restart policy and its exit code (Always: any; OnFailure: non-zero; Never:
   none), after the crash-loop back-off (``back_off``: CrashLoopBackOff, seconds left);
   ``start_existing`` for one created but never started (the kubelet stopped in between);
5. ``phase`` and ``conditions``: the pod's status as it stands before the actions (pod_status.py
   computes the same from what the runtime reports after them).

No I/O, no clock but ``now``: tested as tables in tests/unit/kubelet/test_kubelet_plan.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from actors.kubelet.pod_status import ContainerView, compute_status, is_exited, is_failed_start
from actors.kubelet.restart import CAP, INITIAL, Entry, crash_loop_message, remaining_of, should_restart
from actors.kubelet.types import ContainerState
from schemas.status import format_time

Obj = dict[str, Any]
TERMINAL = ("Succeeded", "Failed")
FAILED_START_EXIT = 128


@dataclass(frozen=True)
class Instance:
    """The newest instance of one container of the pod, as the runtime reports it."""

    id: str
    attempt: int
    state: ContainerState


@dataclass(frozen=True)
class Sandbox:
    id: str
    attempt: int
    running: bool


@dataclass
class Observed:
    sandbox: Sandbox | None = None
    containers: Mapping[str, Instance] = field(default_factory=dict)  # by container name
    backoff: Mapping[str, Entry] = field(default_factory=dict)  # crash-loop entries, by container name
    ready: frozenset[str] = frozenset()  # container ids whose readiness probe succeeds
    started: frozenset[str] = frozenset()  # container ids whose startup probe succeeded
    probe_failures: Mapping[str, str] = field(default_factory=dict)  # container id -> kill message
    backoff_cap: float = CAP


@dataclass(frozen=True)
class Kill:
    name: str
    id: str
    grace: float
    message: str = ""
    pre_stop: bool = True


@dataclass(frozen=True)
class Start:
    name: str
    attempt: int
    init: bool = False
    died_at: float | None = None  # the death this restart follows (the back-off is armed from it)


@dataclass(frozen=True)
class BackOff:
    name: str
    delay: float  # the back-off in force (the message's "back-off 20s")
    left: float  # seconds until the restart is allowed
    message: str = ""


@dataclass
class PodActions:
    kill: list[Kill] = field(default_factory=list)
    kill_sandbox: bool = False
    create_sandbox: bool = False
    sandbox_attempt: int = 0
    stop_sandbox: bool = False
    start_existing: list[tuple[str, str]] = field(default_factory=list)  # (container name, id)
    start: list[Start] = field(default_factory=list)
    back_off: list[BackOff] = field(default_factory=list)
    init_pending: bool = False
    _inputs: tuple[Obj, Observed, float] | None = field(default=None, repr=False, compare=False)
    _status: Obj | None = field(default=None, repr=False, compare=False)

    @property
    def phase(self) -> str:
        return str(self.status()["phase"])

    @property
    def conditions(self) -> list[Obj]:
        return list(self.status().get("conditions") or [])

    def status(self) -> Obj:
        """The pod's status as observed, back-offs as CrashLoopBackOff (computed when first asked:
        the executor does not need it, pod_status.py computes the written one after the actions)."""
        if self._status is None:
            assert self._inputs is not None
            self._status = _status_of(self, *self._inputs)
        return self._status

    @property
    def waiting(self) -> dict[str, tuple[str, str]]:
        return {b.name: ("CrashLoopBackOff", b.message) for b in self.back_off}


def grace_of(pod: Obj) -> float:
    """The seconds a container of the pod gets to stop: the deletion's grace, else the spec's (30)."""
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp") and meta.get("deletionGracePeriodSeconds") is not None:
        return float(meta["deletionGracePeriodSeconds"])
    g = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    return float(30 if g is None else g)


def ready_of(c: Obj, running: bool, probe_ready: bool, started: bool | None) -> bool:
    """Ready: running, its startup probe passed (if any) and its readiness probe succeeding (if any)."""
    if not running or started is False:
        return False
    return probe_ready if c.get("readinessProbe") else True


def exit_code_of(st: ContainerState) -> int:
    return FAILED_START_EXIT if is_failed_start(st) else int(st.exit_code or 0)


def succeeded(inst: Instance | None) -> bool:
    return (
        inst is not None
        and is_exited(inst.state)
        and not is_failed_start(inst.state)
        and inst.state.exit_code == 0
    )


def _died_at(st: ContainerState, now: float) -> float:
    t = st.finished_at or st.started_at or st.created_at
    return t.timestamp() if t is not None else now


def plan_pod(pod: Obj, observed: Observed, now: float) -> PodActions:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    policy = str(spec.get("restartPolicy") or "Always")
    inits: list[Obj] = list(spec.get("initContainers") or [])
    apps: list[Obj] = list(spec.get("containers") or [])
    cs = observed.containers
    out = PodActions()

    if meta.get("deletionTimestamp"):
        grace = grace_of(pod)
        out.kill = [
            Kill(c["name"], cs[c["name"]].id, grace)
            for c in [*inits, *apps]
            if c["name"] in cs and cs[c["name"]].state.running
        ]
        out.kill_sandbox = observed.sandbox is not None
        return _with_status(out, pod, observed, now)

    if (pod.get("status") or {}).get("phase") in TERMINAL:
        out.stop_sandbox = observed.sandbox is not None and observed.sandbox.running
        return _with_status(out, pod, observed, now)

    dying: dict[str, float] = {}  # containers killed by this plan -> when they die (now)
    sb = observed.sandbox
    if sb is None or not sb.running:
        running = [
            (c, cs[c["name"]]) for c in [*inits, *apps] if c["name"] in cs and cs[c["name"]].state.running
        ]
        if sb is not None:
            out.kill = [Kill(c["name"], i.id, grace_of(pod), "", True) for c, i in running]
            dying = {c["name"]: now for c, _ in running}
            out.kill_sandbox = True
        if sb is not None and policy == "Never" and cs:
            return _with_status(out, pod, observed, now)  # Kubernetes: no new sandbox for a Never pod
        to_start = [c for c in apps if not (policy == "OnFailure" and succeeded(cs.get(c["name"])))]
        if sb is not None and cs and not to_start:
            return _with_status(out, pod, observed, now)  # OnFailure and all succeeded: done
        out.create_sandbox = True
        out.sandbox_attempt = sb.attempt + 1 if sb is not None else 0
        if inits:
            _start_or_back_off(out, observed, inits[0], True, now, dying, pod)
            out.init_pending = True
        else:
            for c in to_start:
                _start_or_back_off(out, observed, c, False, now, dying, pod)
        return _with_status(out, pod, observed, now)

    # probe failures: kill now; the next sync restarts by the policy and the back-off
    for c in [*inits, *apps]:
        inst = cs.get(c["name"])
        if inst is not None and inst.state.running and inst.id in observed.probe_failures:
            out.kill.append(Kill(c["name"], inst.id, grace_of(pod), observed.probe_failures[inst.id]))
    killed = {k.name for k in out.kill}

    for c in inits:
        inst = cs.get(c["name"])
        if succeeded(inst):
            continue
        out.init_pending = True
        if inst is None:
            out.start.append(Start(c["name"], 0, init=True))
        elif inst.state.running or c["name"] in killed:
            pass  # wait for it to finish
        elif inst.state.status == "created" and not inst.state.error:
            out.start_existing.append((c["name"], inst.id))
        elif policy != "Never":
            _start_or_back_off(out, observed, c, True, now, dying, pod)
        break
    if out.init_pending:
        return _with_status(out, pod, observed, now)

    for c in apps:
        name = c["name"]
        inst = cs.get(name)
        if inst is None:
            out.start.append(Start(name, 0))
        elif inst.state.running or name in killed:
            continue
        elif inst.state.status == "created" and not inst.state.error:
            out.start_existing.append((name, inst.id))
        elif is_exited(inst.state) and should_restart(policy, exit_code_of(inst.state)):
            _start_or_back_off(out, observed, c, False, now, dying, pod)
    return _with_status(out, pod, observed, now)


def _start_or_back_off(
    out: PodActions, observed: Observed, c: Obj, init: bool, now: float, dying: Mapping[str, float], pod: Obj
) -> None:
    name = c["name"]
    inst = observed.containers.get(name)
    if inst is None:
        out.start.append(Start(name, 0, init=init))
        return
    died = dying.get(name)
    if died is None:
        died = _died_at(inst.state, now) if is_exited(inst.state) else now
    entry = observed.backoff.get(name)
    left = remaining_of(entry, died, now, observed.backoff_cap)
    if left > 0:
        delay = entry.backoff if entry is not None else INITIAL
        meta = pod.get("metadata") or {}
        msg = crash_loop_message(
            delay, name, str(meta.get("name")), str(meta.get("namespace") or "default"), str(meta.get("uid"))
        )
        out.back_off.append(BackOff(name, delay, left, msg))
        return
    out.start.append(Start(name, inst.attempt + 1, init=init, died_at=died))


def _with_status(out: PodActions, pod: Obj, observed: Observed, now: float) -> PodActions:
    out._inputs = (pod, observed, now)
    return out


def _status_of(out: PodActions, pod: Obj, observed: Observed, now: float) -> Obj:
    """The status of the pod as observed (the back-offs as CrashLoopBackOff)."""
    spec = pod.get("spec") or {}
    waiting = out.waiting

    def views(specs: list[Obj], default: tuple[str, str]) -> list[ContainerView]:
        vs: list[ContainerView] = []
        for c in specs:
            inst = observed.containers.get(c["name"])
            v = ContainerView(name=c["name"], image=str(c.get("image") or ""))
            if inst is not None:
                st = inst.state
                v.current = st
                v.restart_count = inst.attempt
                v.started = (inst.id in observed.started) if c.get("startupProbe") else None
                v.ready = ready_of(c, st.running, inst.id in observed.ready, v.started)
                if st.status == "created" and not st.error:
                    v.waiting = ("ContainerCreating", "")
            v.waiting = waiting.get(c["name"], v.waiting)
            if v.current is None and v.waiting is None:
                v.waiting = default
            vs.append(v)
        return vs

    init_views = views(list(spec.get("initContainers") or []), ("PodInitializing", ""))
    default = ("PodInitializing", "") if out.init_pending else ("ContainerCreating", "")
    app_views = views(list(spec.get("containers") or []), default)
    stamp = format_time(datetime.fromtimestamp(now, UTC))
    return compute_status(pod, init_views, app_views, pod_ip="", host_ip="", now=stamp)
