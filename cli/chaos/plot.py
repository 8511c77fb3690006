"""The timeline of a chaos run as a PNG, as Jepsen draws one: faults as shaded spans, every
compare-and-set and read as a point at its completion time and latency (ok, fail, unknown), and
the ReplicationController's running pods against what it was asked for.

``plot_timeline(out)`` reads the run's files (``history.jsonl``, ``faults.json``, ``replicas.json``)
and writes ``timeline.png`` beside them. matplotlib is optional (``pip install 'jetkube[plot]'``):
without it no PNG is written and the caller says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FAULT_COLOURS = {
    "kill-nats": "#d62728",
    "pause-controlplane": "#9467bd",
    "partition-node": "#ff7f0e",
    "restart-kubelet": "#8c564b",
}
RESULT_STYLE = {"ok": ("#2ca02c", "ok"), "fail": ("#1f77b4", "fail"), "info": ("#d62728", "unknown (info)")}


def operation_points(events: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """(completion time, latency in ms) of every operation, by its result type (pure)."""
    started: dict[int, float] = {}
    points: dict[str, list[tuple[float, float]]] = {k: [] for k in RESULT_STYLE}
    for e in events:
        if e["type"] == "invoke":
            started[e["process"]] = e["time"]
        elif e["process"] in started and e["type"] in points:
            t0 = started.pop(e["process"])
            points[e["type"]].append((e["time"], (e["time"] - t0) * 1000))
    return points


def plot_timeline(out: Path) -> Path | None:
    """Write ``out/timeline.png``; None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    events = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines() if line]
    faults = json.loads((out / "faults.json").read_text())
    replicas = json.loads((out / "replicas.json").read_text())
    fig, (ops, pods) = plt.subplots(2, 1, figsize=(14, 7), sharex=True, height_ratios=(3, 2))
    for ax in (ops, pods):
        for f in faults:
            ax.axvspan(f["at"], f["at"] + f["hold"], color=FAULT_COLOURS.get(f["kind"], "grey"), alpha=0.18)
    for kind, pts in operation_points(events).items():
        if pts:
            colour, label = RESULT_STYLE[kind]
            ops.scatter(*zip(*pts, strict=True), s=3, color=colour, label=f"{label} ({len(pts)})")
    ops.set_yscale("log")
    ops.set_ylabel("latency (ms)")
    ops.set_title(f"chaos run: {len(faults)} faults, {sum(e['type'] != 'invoke' for e in events)} operations")
    handles, labels = ops.get_legend_handles_labels()
    for kind, colour in FAULT_COLOURS.items():
        if any(f["kind"] == kind for f in faults):
            handles.append(plt.Rectangle((0, 0), 1, 1, color=colour, alpha=0.3))
            labels.append(kind)
    ops.legend(handles, labels, loc="upper right", fontsize=8, ncol=2)
    samples = replicas.get("samples") or []
    if samples:
        pods.plot(
            [s[0] for s in samples],
            [s[1] for s in samples],
            ".",
            ms=3,
            label=f"running RC pods (a sample every 100 ms when the api answers: {len(samples)})",
        )
    scales = replicas.get("scales") or []
    if scales:
        end = max([s[0] for s in samples] + [scales[-1][0]])
        xs = [t for t, _ in scales] + [end]
        pods.step(xs, [r for _, r in scales] + [scales[-1][1]], where="post", ls="--", label="replicas asked")
    pods.set_ylabel("pods")
    pods.set_xlabel("seconds since the start of the run")
    pods.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path = out / "timeline.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
