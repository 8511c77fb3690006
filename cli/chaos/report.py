"""The checker's verdict on a chaos run, as figures and a text report (pure: no I/O).

* **linearizable**: every counter's history, as a compare-and-set register (linearizable.py). The
  verdict counts a Conflict (a cas that did not apply) as changing nothing; the strict model, where
  a Conflict is also a read (the register held another value), is reported beside it: on a
  replicated stream the leader checks a compare-and-set against writes still in flight, so a
  Conflict can come before the write that caused it is readable (seen on the test bed);
* **acknowledged writes present**: a counter's final value F against its acknowledged increments A
  and unknown ones I: A <= F <= A + I (each increment raises it by exactly one). ``lost`` is A - F
  when positive, ``phantom`` F - (A + I) when positive (a write nobody made);
* **over-replication**: samples of an RC's running pods above its allowance with a pod created after
  the allowance fell below the count (replicas.py); samples above it only because a scale-down was
  not yet acted on are reported as late scale-downs, not a failure (convergence bounds them);
* **pods bound once**: no pod of the RC seen on a node other than the one it was first bound to, or
  unbound again (replicas.py ``rebound``): that would be two schedulers binding it;
* **convergence**: seconds from the last heal until every counter answered and every node was Ready.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cli.chaos.history import Event
from cli.chaos.linearizable import check_history
from cli.chaos.nemesis import Fault


@dataclass
class Verdict:
    operations: dict[str, int]
    linearizable: bool
    violations: list[str]
    acknowledged: dict[str, int]
    unknown: dict[str, int]
    final: dict[str, int | None]
    lost: int
    phantom: int
    faults: int
    convergence_s: float | None
    notes: list[str] = field(default_factory=list)
    strict_linearizable: bool = True
    strict_violations: list[str] = field(default_factory=list)
    replica_samples: int = 0
    over_replication: list[tuple[float, int, int]] = field(default_factory=list)  # (t, pods, allowed)
    late_scale_downs: list[tuple[float, int, int]] = field(default_factory=list)  # (t, pods, allowed)
    # pods seen leaving the node they were bound to: (name, uid, [(t, nodeName), ...])
    rebound: list[tuple[str, str, list[tuple[float, str]]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.linearizable
            and self.lost == 0
            and self.phantom == 0
            and self.convergence_s is not None
            and not self.over_replication
            and not self.rebound
        )


def judge(
    events: list[Event],
    faults: list[Fault],
    final: dict[str, int | None],
    convergence_s: float | None,
    replica_samples: int = 0,
    over_replication: list[tuple[float, int, int]] | None = None,
    *,
    late_scale_downs: list[tuple[float, int, int]] | None = None,
    rebound: list[tuple[str, str, list[tuple[float, str]]]] | None = None,
) -> Verdict:
    counts = Counter(f"{e.f}:{e.type}" for e in events if e.type != "invoke")
    strict = check_history(events, initial=0)
    result = check_history([_conflict_as_noop(e) for e in events], initial=0)
    acked: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    for e in events:
        if e.f == "cas" and e.type == "ok" and e.applied:
            acked[e.key] += 1
        elif e.f == "cas" and e.type == "info":
            unknown[e.key] += 1
    lost = phantom = 0
    notes = []
    for key, value in sorted(final.items()):
        if value is None:
            notes.append(f"{key}: no final read")
            continue
        lost += max(0, acked[key] - value)
        phantom += max(0, value - acked[key] - unknown[key])
    return Verdict(
        operations=dict(sorted(counts.items())),
        linearizable=result.linearizable,
        violations=_describe(result),
        strict_linearizable=strict.linearizable,
        strict_violations=_describe(strict),
        acknowledged=dict(acked),
        unknown=dict(unknown),
        final=final,
        lost=lost,
        phantom=phantom,
        faults=len(faults),
        convergence_s=convergence_s,
        notes=notes,
        replica_samples=replica_samples,
        over_replication=list(over_replication or []),
        late_scale_downs=list(late_scale_downs or []),
        rebound=list(rebound or []),
    )


def _conflict_as_noop(event: Event) -> Event:
    """A Conflict answer as an operation that changed nothing and observed nothing."""
    if event.f == "cas" and event.type == "ok" and event.applied is False:
        return event.model_copy(update={"type": "fail"})
    return event


def _describe(result: Any) -> list[str]:
    return [
        f"{k.key}: no order explains the history (search stuck at the {k.stuck_at.f} of process "
        f"{k.stuck_at.process}, event {k.stuck_at.index})"
        for k in result.violations
        if k.stuck_at is not None
    ]


def text(verdict: Verdict, seed: int, duration: float, faults: list[Fault]) -> str:
    lines = [
        f"chaos run: seed {seed}, {duration:g} s, {verdict.faults} faults",
        "faults: " + ", ".join(f"{f.kind} {f.target} at {f.at:.1f}s for {f.hold:.1f}s" for f in faults),
        "operations: " + ", ".join(f"{k} {v}" for k, v in verdict.operations.items()),
        f"linearizable: {'yes' if verdict.linearizable else 'NO'}"
        + ("" if verdict.linearizable else " — " + "; ".join(verdict.violations)),
        f"linearizable with Conflicts as reads too (strict): {'yes' if verdict.strict_linearizable else 'no'}"
        + ("" if verdict.strict_linearizable else " — " + "; ".join(verdict.strict_violations)),
    ]
    for key, value in sorted(verdict.final.items()):
        a, i = verdict.acknowledged.get(key, 0), verdict.unknown.get(key, 0)
        lines.append(f"  {key}: final {value}, acknowledged increments {a}, unknown {i}")
    lines += [
        f"acknowledged writes lost: {verdict.lost}",
        f"writes nobody made: {verdict.phantom}",
        f"over-replication: {len(verdict.over_replication)} of {verdict.replica_samples} samples"
        + "".join(f"; {n} pods at {t:.1f}s (allowed {a})" for t, n, a in verdict.over_replication[:5]),
        f"scale-downs not yet acted on (pods above the allowance, none created past it): "
        f"{len(verdict.late_scale_downs)} samples"
        + (f", the last at {verdict.late_scale_downs[-1][0]:.1f}s" if verdict.late_scale_downs else ""),
        f"pods that left the node they were bound to: {len(verdict.rebound)}"
        + "".join(
            f"; {name} " + " -> ".join(f"{node or 'unbound'} at {t:.1f}s" for t, node in series)
            for name, _uid, series in verdict.rebound[:5]
        ),
        "convergence after the last fault: "
        + ("not reached" if verdict.convergence_s is None else f"{verdict.convergence_s:.1f} s"),
        *verdict.notes,
        f"verdict: {'PASS' if verdict.ok else 'FAIL'}",
    ]
    return "\n".join(lines) + "\n"


def as_dict(verdict: Verdict) -> dict[str, Any]:
    return {**verdict.__dict__, "ok": verdict.ok}
