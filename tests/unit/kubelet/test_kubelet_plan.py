"""plan_pod as tables: restartPolicy x exit code x init-container state x probe state x sandbox,
the rows Kubernetes documents (pod lifecycle: restart policy, init containers, probes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from actors.kubelet.plan import Instance, Kill, Observed, Sandbox, Start, plan_pod
from actors.kubelet.restart import Entry
from actors.kubelet.types import ContainerState

NOW = 1_800_000_000.0


def _t(at: float | None) -> datetime | None:
    return datetime.fromtimestamp(at, UTC) if at is not None else None


def running(cid: str = "c1", attempt: int = 0) -> Instance:
    st = ContainerState(cid, cid, "running", True, None, False, _t(NOW - 60), None, "")
    return Instance(cid, attempt, st)


def exited(code: int, cid: str = "c1", attempt: int = 0, ago: float = 30.0) -> Instance:
    st = ContainerState(cid, cid, "exited", False, code, False, _t(NOW - 60), _t(NOW - ago), "")
    return Instance(cid, attempt, st)


def created(cid: str = "c1") -> Instance:
    return Instance(cid, 0, ContainerState(cid, cid, "created", False, None, False, None, None, ""))


def failed_start(cid: str = "c1") -> Instance:
    st = ContainerState(cid, cid, "created", False, 127, False, None, None, "exec: not found")
    return Instance(cid, 0, st)


def pod(
    policy: str = "Always", inits: int = 0, apps: int = 1, grace: int | None = None, **container: Any
) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "default", "uid": "u1"},
        "spec": {
            "restartPolicy": policy,
            **({"terminationGracePeriodSeconds": grace} if grace is not None else {}),
            "initContainers": [{"name": f"init{i}", "image": "busybox"} for i in range(inits)],
            "containers": [
                {"name": f"app{i}" if i else "app", "image": "busybox", **container} for i in range(apps)
            ],
        },
        "status": {"phase": "Pending"},
    }


SB = Sandbox("sb", 0, True)


def cond(actions: Any, type_: str) -> str:
    return next(c["status"] for c in actions.conditions if c["type"] == type_)


# ------------------------------------------------------------------ restartPolicy x exit code (app)


@pytest.mark.parametrize(
    ("policy", "inst", "restart", "phase"),
    [
        ("Always", exited(0), True, "Running"),
        ("Always", exited(1), True, "Running"),
        ("Always", exited(137), True, "Running"),
        ("OnFailure", exited(0), False, "Succeeded"),
        ("OnFailure", exited(1), True, "Running"),
        ("OnFailure", exited(137), True, "Running"),
        ("Never", exited(0), False, "Succeeded"),
        ("Never", exited(1), False, "Failed"),
        ("Never", exited(137), False, "Failed"),
        ("Always", failed_start(), True, "Running"),
        ("Never", failed_start(), False, "Failed"),
        ("Always", running(), False, "Running"),
        ("Never", running(), False, "Running"),
    ],
)
def test_restart_policy_by_exit_code(policy: str, inst: Instance, restart: bool, phase: str) -> None:
    a = plan_pod(pod(policy), Observed(SB, {"app": inst}), NOW)
    assert [s.name for s in a.start] == (["app"] if restart else [])
    if restart:
        assert a.start[0].attempt == inst.attempt + 1
    assert a.phase == phase
    assert not a.create_sandbox and not a.kill


def test_missing_container_is_started_at_attempt_zero() -> None:
    a = plan_pod(pod(), Observed(SB, {}), NOW)
    assert a.start == [Start("app", 0)]
    assert a.phase == "Pending"


def test_created_never_started_is_started_not_recreated() -> None:
    a = plan_pod(pod(), Observed(SB, {"app": created("x")}), NOW)
    assert a.start_existing == [("app", "x")] and a.start == []


# ------------------------------------------------------------------ crash-loop back-off


@pytest.mark.parametrize(
    ("entry", "ago", "left", "delay"),
    [
        (None, 1.0, 0.0, None),  # first death: at once
        (Entry(10.0, NOW - 3), 3.0, 7.0, 10.0),  # died 3 s ago, 10 s back-off: 7 s left
        (Entry(20.0, NOW - 25), 25.0, 0.0, None),  # back-off served
        (Entry(40.0, NOW - 5), 5.0, 35.0, 40.0),
        (Entry(300.0, NOW - 700), 1.0, 0.0, None),  # untouched for 2 x cap: forgotten
    ],
)
def test_crash_loop_back_off(entry: Entry | None, ago: float, left: float, delay: float | None) -> None:
    backoff = {"app": entry} if entry else {}
    a = plan_pod(pod("Always"), Observed(SB, {"app": exited(1, ago=ago, attempt=3)}, backoff), NOW)
    if delay is None:
        assert a.start == [Start("app", 4, died_at=NOW - ago)] and a.back_off == []
    else:
        assert a.start == []
        (b,) = a.back_off
        assert (b.name, b.delay, b.left) == ("app", delay, pytest.approx(left))
        assert b.message.startswith(
            f"back-off {int(delay)}s restarting failed container=app pod=p_default(u1)"
        )
        assert a.waiting["app"][0] == "CrashLoopBackOff"
        assert a.phase == "Running"


# ------------------------------------------------------------------ init containers


@pytest.mark.parametrize(
    ("policy", "observed", "starts", "phase", "initialized"),
    [
        ("Always", {}, [Start("init0", 0, init=True)], "Pending", "False"),
        ("Always", {"init0": running("i0")}, [], "Pending", "False"),
        ("Always", {"init0": exited(0, "i0")}, [Start("init1", 0, init=True)], "Pending", "False"),
        (
            "Always",
            {"init0": exited(0, "i0"), "init1": exited(0, "i1")},
            [Start("app", 0)],
            "Pending",
            "True",
        ),
        (
            "Always",
            {"init0": exited(1, "i0")},
            [Start("init0", 1, init=True, died_at=NOW - 30)],
            "Pending",
            "False",
        ),
        (
            "OnFailure",
            {"init0": exited(1, "i0")},
            [Start("init0", 1, init=True, died_at=NOW - 30)],
            "Pending",
            "False",
        ),
        ("Never", {"init0": exited(1, "i0")}, [], "Failed", "False"),
        ("Never", {"init0": exited(0, "i0"), "init1": exited(2, "i1")}, [], "Failed", "False"),
        ("Never", {"init0": exited(0, "i0")}, [Start("init1", 0, init=True)], "Pending", "False"),
    ],
)
def test_init_containers_in_order(
    policy: str, observed: dict[str, Instance], starts: list[Start], phase: str, initialized: str
) -> None:
    a = plan_pod(pod(policy, inits=2), Observed(SB, observed), NOW)
    assert a.start == starts
    assert a.phase == phase
    assert cond(a, "Initialized") == initialized
    assert a.init_pending == (initialized == "False")


def test_app_containers_wait_for_a_running_init_container() -> None:
    a = plan_pod(pod("Always", inits=1), Observed(SB, {"init0": running("i0")}), NOW)
    assert a.start == [] and a.init_pending


# ------------------------------------------------------------------ probes


@pytest.mark.parametrize(
    ("probe", "ready_ids", "ready", "phase"),
    [
        (None, frozenset(), "True", "Running"),  # no readiness probe: ready when running
        ({"exec": {"command": ["true"]}}, frozenset(), "False", "Running"),  # not yet succeeded
        ({"exec": {"command": ["true"]}}, frozenset({"c1"}), "True", "Running"),
    ],
)
def test_readiness_probe_state(probe: Any, ready_ids: frozenset[str], ready: str, phase: str) -> None:
    spec = {"readinessProbe": probe} if probe else {}
    a = plan_pod(pod("Always", **spec), Observed(SB, {"app": running()}, ready=ready_ids), NOW)
    assert (cond(a, "Ready"), cond(a, "ContainersReady"), a.phase) == (ready, ready, phase)
    assert a.start == [] and a.kill == []


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
def test_failed_liveness_probe_kills_the_container(policy: str) -> None:
    msg = "Container app failed liveness probe, will be restarted"
    p = pod(policy, livenessProbe={"exec": {"command": ["false"]}}, grace=5)
    a = plan_pod(p, Observed(SB, {"app": running()}, probe_failures={"c1": msg}), NOW)
    assert a.kill == [Kill("app", "c1", 5.0, msg)]
    assert a.start == []  # the restart, by the policy and the back-off, is the next sync's


def test_startup_probe_not_passed_is_not_started_nor_ready() -> None:
    p = pod("Always", startupProbe={"exec": {"command": ["true"]}})
    a = plan_pod(p, Observed(SB, {"app": running()}), NOW)
    assert cond(a, "Ready") == "False"
    a = plan_pod(p, Observed(SB, {"app": running()}, started=frozenset({"c1"})), NOW)
    assert cond(a, "Ready") == "True"


# ------------------------------------------------------------------ sandbox


def test_no_sandbox_creates_one_and_starts_containers() -> None:
    a = plan_pod(pod(), Observed(None, {}), NOW)
    assert a.create_sandbox and a.sandbox_attempt == 0 and a.start == [Start("app", 0)]


def test_dead_sandbox_kills_the_pod_and_starts_again_in_a_new_one() -> None:
    p = pod("Always", grace=7)
    a = plan_pod(p, Observed(Sandbox("sb", 2, False), {"app": running()}), NOW)
    assert a.kill == [Kill("app", "c1", 7.0)] and a.kill_sandbox
    assert a.create_sandbox and a.sandbox_attempt == 3
    assert a.start == [Start("app", 1, died_at=NOW)]


def test_dead_sandbox_restarts_init_containers_from_the_first() -> None:
    obs = {"init0": exited(0, "i0"), "app": running("a")}
    a = plan_pod(pod("Always", inits=1), Observed(Sandbox("sb", 0, False), obs), NOW)
    assert a.create_sandbox and a.start == [Start("init0", 1, init=True, died_at=NOW - 30)]


def test_dead_sandbox_of_a_never_pod_is_not_recreated() -> None:
    a = plan_pod(pod("Never"), Observed(Sandbox("sb", 0, False), {"app": exited(1)}), NOW)
    assert not a.create_sandbox and a.start == [] and a.phase == "Failed"


def test_dead_sandbox_of_an_onfailure_pod_that_succeeded_is_not_recreated() -> None:
    a = plan_pod(pod("OnFailure"), Observed(Sandbox("sb", 0, False), {"app": exited(0)}), NOW)
    assert not a.create_sandbox and a.start == [] and a.phase == "Succeeded"


def test_terminal_pod_stops_its_sandbox_and_starts_nothing() -> None:
    p = pod("Never")
    p["status"]["phase"] = "Failed"
    a = plan_pod(p, Observed(SB, {"app": exited(1)}), NOW)
    assert a.stop_sandbox and a.start == [] and a.kill == []


# ------------------------------------------------------------------ deletion


def test_deleting_pod_kills_running_containers_with_the_deletion_grace_and_prestop() -> None:
    p = pod("Always", inits=1, apps=2, grace=30)
    p["metadata"] |= {"deletionTimestamp": "2027-01-01T00:00:00Z", "deletionGracePeriodSeconds": 3}
    obs = {"init0": exited(0, "i0"), "app": running("a"), "app1": exited(1, "b")}
    a = plan_pod(p, Observed(SB, obs), NOW)
    assert a.kill == [Kill("app", "a", 3.0, "", True)]
    assert a.kill_sandbox and a.start == [] and not a.create_sandbox
