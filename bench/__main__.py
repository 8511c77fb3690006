"""Every benchmark in one command: a table of (figure, value, target, command) and one JSON file.

    python -m bench [--size small|full] [--only api,scheduler,e2e,startup,fanout,rollout,docker,scale]

``--size full`` (the default) is the README's figures: 5,000 hollow nodes, 10,000 pods for the
scheduler and the end-to-end run, 100,000 pods for scale. ``--size small`` (100 nodes, 1,000 pods)
is what CI runs so the benchmark cannot rot; its figures are not the targets' conditions.
Results go to ``bench/results/all.json`` (``--json`` to change). No figure is pass/fail: the
targets are printed beside them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import RESULTS

ALL = ("api", "scheduler", "e2e", "startup", "fanout", "rollout", "docker", "scale", "network", "storage")


@dataclass(frozen=True)
class Size:
    name: str
    nodes: int
    sched_pods: int
    api_count: int
    e2e_pods: int
    churn_pods: int
    churn_rate: float
    replicas: int
    scale_pods: int


SIZES = {
    "small": Size("small", 100, 1_000, 1_000, 1_000, 500, 500.0, 10, 1_000),
    "full": Size("full", 5_000, 10_000, 4_000, 10_000, 5_000, 500.0, 100, 100_000),
}


def _cmd(name: str, size: Size) -> str:
    return f"python -m bench --size {size.name} --only {name}"


Row = tuple[str, str, str, str]


def run_api(size: Size) -> tuple[dict[str, Any], list[Row]]:
    import asyncio

    from bench.api import run
    from bench.common import cluster_process

    with cluster_process() as url:
        res = asyncio.run(run(url, size.api_count, [1, 32]))
    cmd = _cmd("api", size)
    rows: list[Row] = []
    for clients, target in ((1, "≥ 1,500/s"), (32, "≥ 4,000/s at p99 ≤ 20 ms")):
        a, r = res[f"api_{clients}"], res[f"raw_{clients}"]
        rows += [
            (f"api creates/s, {clients} client(s)", f"{a['per_s']:,.0f}", target, cmd),
            (
                f"api create p50 / p99, {clients} client(s)",
                f"{a['p50_ms']:.1f} / {a['p99_ms']:.1f} ms",
                "",
                cmd,
            ),
            (
                f"  raw KV creates/s, {clients} client(s) (limit)",
                f"{r['kv_create_per_s']:,.0f}",
                f"api = {a['per_s'] / r['kv_create_per_s']:.0%} of it",
                cmd,
            ),
            (
                f"  raw publish_async/s, {clients} client(s) (limit)",
                f"{r['publish_async_per_s']:,.0f}",
                f"api = {a['per_s'] / r['publish_async_per_s']:.0%} of it",
                cmd,
            ),
        ]
    return res, rows


def run_scheduler(size: Size) -> tuple[dict[str, Any], list[Row]]:
    import asyncio
    import tempfile

    from bench.scheduler import end_to_end, pure_rate
    from bus.embedded import EmbeddedNats, free_port

    res: dict[str, Any] = {}
    rows: list[Row] = []
    variants = (("basic", False, False), ("affinity", True, False), ("spread", False, True))
    for variant, affinity, spread in variants:
        args = argparse.Namespace(
            nodes=size.nodes,
            pods=size.sched_pods,
            affinity=affinity,
            spread=spread,
            inline=False,
            profile=None,
            no_scheduled_events=False,
            timeout=300.0,
            server_pid=None,
        )
        with tempfile.TemporaryDirectory(prefix="jetkube-bench-") as tmp:
            server = EmbeddedNats(data_dir=Path(tmp) / "nats", port=free_port())
            server.start()
            try:
                args.server_pid = server.process.pid if server.process else None
                out = asyncio.run(end_to_end(server.url, args))
            finally:
                server.stop()
        out["pure_decide_per_s"] = pure_rate(args)
        res[variant] = out
        label = {"basic": "", "affinity": ", required node affinity", "spread": ", spreading"}[variant]
        rows.append(
            (
                f"scheduler {size.nodes:,} nodes × {size.sched_pods:,} pods{label}: bound/s",
                f"{out['bind_rate']:,.0f}",
                "≥ 5,000/s",
                f"python bench/scheduler.py --nodes {size.nodes} --pods {size.sched_pods}"
                + (" --affinity" if affinity else "")
                + (" --spread" if spread else ""),
            )
        )
    return res, rows


def run_e2e(size: Size) -> tuple[dict[str, Any], list[Row]]:
    from bench.hollow import created_and_bound

    res = created_and_bound(size.nodes, size.e2e_pods)
    cmd = _cmd("e2e", size)
    return res, [
        (
            f"created and bound end to end (api, 32 clients, {size.nodes:,} hollow nodes), pods/s",
            f"{res['created_and_bound_per_s']:,.0f}",
            "≥ 1,500/s",
            cmd,
        ),
        ("  of which api creates/s alone", f"{res['created_per_s']:,.0f}", "", cmd),
    ]


def run_startup(size: Size, only: set[str]) -> tuple[dict[str, Any], list[Row]]:
    from bench.hollow import startup_fanout_rollout

    res = startup_fanout_rollout(size.nodes, size.churn_pods, size.churn_rate, size.replicas, only)
    rows: list[Row] = []
    if "startup" in res:
        s = res["startup"]
        rows.append(
            (
                f"hollow pod startup (create → Running, watched) p50 / p99 at {s['offered_per_s']:.0f}/s",
                f"{s['p50_ms']:.0f} / {s['p99_ms']:.0f} ms",
                "p99 ≤ 250 ms at 500/s",
                _cmd("startup", size),
            )
        )
        f = res["fanout"]["fanout"]
        rows.append(
            (
                f"watch fan-out, {f['nodes']:,} hollow kubelets: relay messages per pod run (min/median/max)",
                f"{f['messages_per_pod_min']:.1f} / {f['messages_per_pod_median']:.1f} / "
                f"{f['messages_per_pod_max']:.1f}",
                "∝ own pods; 0 without pods",
                _cmd("fanout", size),
            )
        )
        rows.append(
            (
                "  messages on a node without pods (max); of all messages",
                f"{f['max_messages_on_a_node_without_pods']}; {f['messages']:,} for {f['pods']:,} pods",
                "0",
                _cmd("fanout", size),
            )
        )
    if "rollout" in res:
        r = res["rollout"]
        rows.append(
            (
                f"{r['replicas']}-replica Deployment rolling to a new image on hollow nodes",
                f"{r['rollout_s']:.1f} s",
                "(figure; no target)",
                _cmd("rollout", size),
            )
        )
    return res, rows


def run_docker(size: Size) -> tuple[dict[str, Any], list[Row]]:
    import subprocess
    import sys

    script = Path(__file__).parent / "pod_startup.py"
    cmd = "python -m bench.pod_startup"
    if not script.exists():
        return {"skipped": "bench/pod_startup.py does not exist yet"}, [
            ("pod startup on Docker / docker CLI (p50)", "skipped", "≤ 1.25×", "(no bench/pod_startup.py)")
        ]
    args = [sys.executable, "-m", "bench.pod_startup"] + (["--pods", "3"] if size.name == "small" else [])
    started = time.time()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=1800, cwd=script.parent.parent)
    out: dict[str, Any] = {"returncode": proc.returncode, "tail": proc.stdout.splitlines()[-12:]}
    ratio = None
    result_file = RESULTS / "pod_startup.json"
    if proc.returncode == 0 and result_file.exists() and result_file.stat().st_mtime >= started:
        with contextlib.suppress(ValueError):
            data = json.loads(result_file.read_text())
            out["results"] = data
            ratio = next((v for k, v in _flatten(data) if "ratio" in k), None)
    value = "see output" if proc.returncode == 0 else "failed"
    if isinstance(ratio, int | float):
        value = f"{ratio:.2f}×"
    if proc.returncode != 0:
        out["stderr"] = proc.stderr.splitlines()[-12:]
    return out, [("pod startup on Docker / docker CLI (p50)", value, "≤ 1.25×", cmd)]


def run_storage(size: Size) -> tuple[dict[str, Any], list[Row]]:
    """bench.storage in a child process: a fresh local-path claim to Bound, its pod to Running."""
    import subprocess
    import sys

    args = [sys.executable, "-m", "bench.storage"] + (["--pods", "3"] if size.name == "small" else [])
    started = time.time()
    proc = subprocess.run(
        args, capture_output=True, text=True, timeout=1800, cwd=Path(__file__).parent.parent
    )
    out: dict[str, Any] = {"returncode": proc.returncode, "tail": proc.stdout.splitlines()[-6:]}
    result_file = RESULTS / "storage.json"
    value = "failed"
    if proc.returncode == 0 and result_file.exists() and result_file.stat().st_mtime >= started:
        data = json.loads(result_file.read_text())
        out["results"] = data
        value = (
            f"bound {data['claim_bound_p50_s'] * 1000:.0f} / {data['claim_bound_p99_s'] * 1000:.0f} ms, "
            f"running {data['pod_running_p50_s'] * 1000:.0f} / {data['pod_running_p99_s'] * 1000:.0f} ms"
        )
    else:
        out["stderr"] = proc.stderr.splitlines()[-12:]
    return out, [
        ("fresh local-path claim: Bound, pod Running (p50 / p99)", value, "—", "python -m bench.storage")
    ]


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        return [kv for k, v in data.items() for kv in _flatten(v, f"{prefix}.{k}")]
    return [(prefix, data)]


def run_scale(size: Size) -> tuple[dict[str, Any], list[Row]]:
    from bench.scale import scale

    res = scale(size.nodes, size.scale_pods)
    cmd = _cmd("scale", size)
    n = f"{size.nodes:,} nodes, {size.scale_pods:,} pods"
    return res, [
        (f"control-plane RSS at {n}", f"{res['rss_mb']:.0f} MB", "≤ 500 MB", cmd),
        (
            f"`jetkube get pods -A -o name` at {n}",
            _listed(res["cli_list_s"], res["cli_list_error"]),
            "(figure)",
            cmd,
        ),
        (
            "  client list (ApiClient.list, one api reply)",
            _listed(res["client_list_s"], res["client_list_error"]),
            "",
            cmd,
        ),
        ("  the same list read from JetStream (Store.list)", f"{res['store_list_s']:.2f} s", "", cmd),
        (f"restarted control plane re-synced at {n}", f"{res['resync_s']:.2f} s", "≤ 5 s", cmd),
        (
            "  api answers / relay complete / first bind",
            f"{res['resync_api_s']:.2f} / {res['resync_relay_s']:.2f} / {res['resync_bound_s']:.2f} s",
            "",
            cmd,
        ),
    ]


def _listed(seconds: float, error: str) -> str:
    return f"FAILS after {seconds:.0f} s: {error[:70]}" if error else f"{seconds:.2f} s"


def run_network(size: Size) -> tuple[dict[str, Any], list[Row]]:
    import asyncio

    from bench.network import check_host, run

    cmd = "python -m bench.network" if size.name == "full" else _cmd("network", size)
    why = check_host()
    if why:
        return {"skipped": why}, [("requests/s via ClusterIP / pod directly", "skipped", "", why)]
    from images.build import ensure_images

    ensure_images(["pause", "nginx"])
    small = size.name == "small"
    res = asyncio.run(run(2.0 if small else 5.0, 32, 50 if small else 200, 1 if small else 2))
    d, c, e = res["direct"], res["cluster_ip"], res["endpoint_change"]
    u = res["modes"].get("userspace")
    rows: list[Row] = [
        (
            "requests/s via ClusterIP / pod directly, iptables mode",
            f"{c['rps']:,.0f} / {d['rps']:,.0f} ({res['ratio']:.2f}×)",
            "≥ 0.9×",
            cmd,
        )
    ]
    if u:
        uc, ud = u["cluster_ip"], u["direct"]
        rows.append(
            (
                "requests/s via ClusterIP / pod directly, userspace mode",
                f"{uc['rps']:,.0f} / {ud['rps']:,.0f} ({u['ratio']:.2f}×)",
                "",
                cmd,
            )
        )
    return res, [
        *rows,
        (
            "endpoint change -> proxy acting (p50 / p99)",
            f"{e['update_to_proxy_p50_ms']:.1f} / {e['update_to_proxy_p99_ms']:.1f} ms",
            "≤ 2 s",
            cmd,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(ALL)}")
    parser.add_argument("--json", default=str(RESULTS / "all.json"))
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()} or set(ALL)
    unknown = only - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    size = SIZES[args.size]

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))

    started = time.strftime("%Y-%m-%d %H:%M")
    results: dict[str, Any] = {}
    rows: list[Row] = []
    steps: list[tuple[str, Any]] = [
        ("api", lambda: run_api(size)),
        ("scheduler", lambda: run_scheduler(size)),
        ("e2e", lambda: run_e2e(size)),
        ("startup", lambda: run_startup(size, only)),
        ("docker", lambda: run_docker(size)),
        ("scale", lambda: run_scale(size)),
        ("network", lambda: run_network(size)),
        ("storage", lambda: run_storage(size)),
    ]
    for name, step in steps:
        wanted = name in only or (name == "startup" and only & {"fanout", "rollout"})
        if not wanted:
            continue
        t0 = time.perf_counter()
        print(f"== {name} ...", flush=True)
        try:
            res, new_rows = step()
        except Exception as err:
            traceback.print_exc()
            res, new_rows = {"error": f"{type(err).__name__}: {err}"}, [(name, "FAILED", str(err)[:60], "")]
        res["seconds"] = round(time.perf_counter() - t0, 1)
        results[name] = res
        rows += new_rows
    load = os.getloadavg()
    table = [("figure", "value", "target", "command"), *rows]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    print()
    for r in table:
        print("  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)).rstrip())
    doc = {
        "date": started,
        "size": size.name,
        "cpus": os.cpu_count(),
        "loadavg_at_end": load,
        "table": [dict(zip(("figure", "value", "target", "command"), r, strict=True)) for r in rows],
        "results": results,
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str))
    print(f"\njson: {path}  (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")


if __name__ == "__main__":
    main()
