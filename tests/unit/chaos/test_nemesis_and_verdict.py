"""The nemesis's schedule and the chaos run's verdict, as tables (pure)."""

from __future__ import annotations

import itertools

from cli.chaos.history import Event
from cli.chaos.nemesis import MIN_HOLD, schedule
from cli.chaos.report import judge, text


def test_a_seed_gives_the_same_faults_one_at_a_time_all_healed_in_time() -> None:
    faults = schedule(7, 120)
    assert faults == schedule(7, 120) and faults != schedule(8, 120)
    assert len(faults) >= 3
    for a, b in itertools.pairwise(faults):
        assert a.at + a.hold < b.at  # never two at once
    assert faults[-1].at + faults[-1].hold <= 120
    assert all(f.hold >= MIN_HOLD.get(f.kind, 0) for f in faults)


def ev(p: int, type_: str, f: str, value=None, t: float = 0, applied=None, key: str = "c") -> Event:
    return Event(process=p, type=type_, f=f, value=value, time=t, applied=applied, key=key)


def increments(n: int, *, last_unknown: bool = False) -> list[Event]:
    out = []
    for i in range(n):
        out.append(ev(1, "invoke", "cas", [i, i + 1], t=2 * i))
        if last_unknown and i == n - 1:
            out.append(ev(1, "info", "cas", [i, i + 1], t=2 * i + 1))
        else:
            out.append(ev(1, "ok", "cas", [i, i + 1], t=2 * i + 1, applied=True))
    return out


def final_read(value: int, t: float = 100) -> list[Event]:
    return [ev(9, "invoke", "read", t=t), ev(9, "ok", "read", value, t=t + 1)]


def test_every_acknowledged_increment_in_the_final_value_passes() -> None:
    verdict = judge(increments(3) + final_read(3), [], {"c": 3}, convergence_s=4.0)
    assert verdict.ok and verdict.lost == 0 and verdict.acknowledged == {"c": 3}


def test_an_unknown_increment_may_or_may_not_have_landed() -> None:
    assert judge(increments(3, last_unknown=True) + final_read(2), [], {"c": 2}, 1.0).ok
    assert judge(increments(3, last_unknown=True) + final_read(3), [], {"c": 3}, 1.0).ok


def test_a_lost_acknowledged_write_fails_the_run() -> None:
    verdict = judge(increments(3) + final_read(2), [], {"c": 2}, convergence_s=4.0)
    assert not verdict.ok
    assert verdict.lost == 1 and not verdict.linearizable


def test_no_convergence_fails_the_run() -> None:
    assert not judge(increments(1) + final_read(1), [], {"c": 1}, convergence_s=None).ok


def test_over_replication_allows_a_scale_down_its_grace() -> None:
    from cli.chaos.replicas import over_replicated

    scales = [(0.0, 3), (10.0, 1)]
    samples = [(5.0, 3), (12.0, 3), (16.0, 1), (16.5, 2), (20.0, 4)]
    assert over_replicated(samples, scales, grace=5.0) == [(16.5, 2, 1), (20.0, 4, 1)]
    assert judge(increments(1) + final_read(1), [], {"c": 1}, 1.0, 5, [(16.5, 2, 1)]).ok is False


def test_a_surplus_of_pods_created_before_the_scale_down_is_late_not_over_replication() -> None:
    from cli.chaos.replicas import judge_samples

    scales = [(0.0, 3), (10.0, 1)]
    samples = [
        (16.0, 3, 4.0),  # three pods made while 3 were allowed, the scale-down not yet acted on: late
        (17.0, 3, 16.5),  # one of them made after the allowance fell to 1: over-replication
        (18.0, 2, 9.0),  # the surplus shrinks, still old pods: late
        (19.0, 2),  # no creation time: judged strictly
        (20.0, 1, 19.5),  # within the allowance
    ]
    over, late = judge_samples(samples, scales, grace=5.0)
    assert over == [(17.0, 3, 1), (19.0, 2, 1)]
    assert late == [(16.0, 3, 1), (18.0, 2, 1)]
    # a pod made at 12 s counts as made while 3 were allowed (the grace runs until 15 s)
    assert judge_samples([(16.0, 3, 12.0)], scales, grace=5.0) == ([], [(16.0, 3, 1)])
    # a replacement made after the allowance fell, keeping the count above it, is over-replication
    assert judge_samples([(16.0, 3, 15.5)], scales, grace=5.0) == ([(16.0, 3, 1)], [])
    verdict = judge(increments(1) + final_read(1), [], {"c": 1}, 1.0, 5, [], late_scale_downs=late)
    assert verdict.ok and "2 samples" in text(verdict, 1, 10, [])


def test_a_conflict_before_the_write_is_readable_fails_only_the_strict_model() -> None:
    # p3's cas lands (p1 gets a Conflict from it) but p1 still reads the old value afterwards
    events = [
        ev(1, "invoke", "read", t=0),
        ev(1, "ok", "read", 10, t=1),
        ev(3, "invoke", "cas", [10, 11], t=2),
        ev(1, "invoke", "cas", [10, 11], t=3),
        ev(1, "ok", "cas", [10, 11], t=4, applied=False),
        ev(1, "invoke", "read", t=5),
        ev(1, "ok", "read", 10, t=6),
        ev(3, "ok", "cas", [10, 11], t=7, applied=True),
    ]
    verdict = judge(
        [ev(9, "invoke", "write", 10, t=-2), ev(9, "ok", "write", 10, t=-1), *events], [], {}, 1.0
    )
    assert verdict.linearizable and not verdict.strict_linearizable


# --- pods bound once (cli/chaos/replicas.py rebound) ---------------------------------------------


def test_a_pod_seen_pending_then_bound_and_staying_there_is_bound_once() -> None:
    from cli.chaos.replicas import rebound

    history = [(0.0, "u1", "p1", ""), (0.5, "u1", "p1", "node-a"), (0.1, "u2", "p2", "node-b")]
    assert rebound(history) == []


def test_a_pod_seen_on_a_second_node_was_bound_twice() -> None:
    from cli.chaos.replicas import rebound

    history = [(0.0, "u1", "p1", ""), (1.0, "u1", "p1", "node-a"), (2.0, "u1", "p1", "node-b")]
    assert rebound(history) == [("p1", "u1", [(0.0, ""), (1.0, "node-a"), (2.0, "node-b")])]


def test_a_pod_unbound_after_its_bind_or_back_on_its_node_later_is_a_violation() -> None:
    from cli.chaos.replicas import rebound

    unbound = [(1.0, "u1", "p1", "node-a"), (2.0, "u1", "p1", "")]
    back = [(1.0, "u2", "p2", "node-a"), (2.0, "u2", "p2", "node-b"), (3.0, "u2", "p2", "node-a")]
    assert [name for name, _uid, _s in rebound(unbound + back)] == ["p1", "p2"]


def test_a_pod_made_again_under_its_name_is_another_pod() -> None:
    from cli.chaos.replicas import rebound

    history = [(1.0, "u1", "p1", "node-a"), (5.0, "u2", "p1", "node-b")]  # deleted, recreated elsewhere
    assert rebound(history) == []


def test_bindings_are_noted_only_when_a_pods_node_changes() -> None:
    from cli.chaos.replicas import Binding, note_bindings

    def pod(uid: str, node: str | None) -> dict:
        return {"metadata": {"uid": uid, "name": f"n-{uid}"}, "spec": {"nodeName": node} if node else {}}

    out: list[Binding] = []
    last: dict[str, str] = {}
    note_bindings(out, last, 1.0, [pod("u1", None), pod("u2", "a")])
    note_bindings(out, last, 2.0, [pod("u1", "b"), pod("u2", "a")])
    note_bindings(out, last, 3.0, [pod("u1", "b"), pod("u2", "c")])
    assert out == [
        (1.0, "u1", "n-u1", ""),
        (1.0, "u2", "n-u2", "a"),
        (2.0, "u1", "n-u1", "b"),
        (3.0, "u2", "n-u2", "c"),
    ]


def test_the_verdict_fails_on_a_pod_bound_twice_and_says_which() -> None:
    series = [(1.0, "node-a"), (2.0, "node-b")]
    verdict = judge(increments(2) + final_read(2), [], {"c": 2}, 3.0, rebound=[("p1", "u1", series)])
    assert not verdict.ok
    report = text(verdict, 1, 60, [])
    assert "left the node they were bound to: 1; p1 node-a at 1.0s -> node-b at 2.0s" in report
    assert judge(increments(2) + final_read(2), [], {"c": 2}, 3.0).ok
