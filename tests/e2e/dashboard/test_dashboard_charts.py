"""The dashboard's CPU and memory charts in a real browser, against a real cluster.

A cluster (control plane, a kubelet on Docker sampling every second, the dashboard with a metrics
history collected every second), a busybox pod that burns CPU, then headless Chromium: the node's
and the pod's charts have points, a screenshot shows the chart's line drawn inside its frame, and a
new sample appears on the page without a reload. An HPA on an RC shows its replica count beside its
metric in the Workloads view.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from PIL import Image

from actors.kubelet.runtime import DockerRuntime
from actors.runtime.supervisor import Supervisor
from bus.connection import Bus
from bus.store import Store
from tests.e2e.dashboard.browser import Browser, Page, chromium_path
from tests.e2e.dashboard.conftest import Cluster
from tests.e2e.kubelet_services.helpers import jetkube

BURNER_YAML = """\
apiVersion: v1
kind: ReplicationController
metadata:
  name: burner
spec:
  replicas: 1
  selector:
    app: burner
  template:
    metadata:
      labels:
        app: burner
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: gcr.io/google_containers/busybox
        command:
        - sh
        - -c
        - "trap 'exit 0' TERM; while :; do i=0; while [ $i -lt 9000 ]; do i=$((i+1)); done; sleep 0.1; done"
        resources:
          requests:
            cpu: 100m
"""
ACCENT = (0x2F, 0x5F, 0xB3)  # the CPU line's colour (style.css)


@pytest.fixture
async def charted(
    bus: Bus, store: Store, runtime: DockerRuntime, node_name: Callable[[str], str], tmp_path: Path
) -> AsyncIterator[Cluster]:
    if chromium_path() is None:
        pytest.skip("no chromium (apt-get install chromium)")
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.dashboard.server import Dashboard
    from actors.kubelet.process import start_kubelet
    from actors.metrics.collector import HistoryCollector
    from actors.metrics.history import History
    from bus.client import ApiClient

    node = node_name("chart")
    sup = Supervisor("dashboard-charts-e2e")
    try:
        history = History(window=3600, interval=1.0)
        start_control_plane(sup, bus, store, ControlPlaneSettings(metrics_history=history))
        kubelet = await start_kubelet(
            sup,
            bus,
            node_name=node,
            state_dir=str(tmp_path / "kstate"),
            heartbeat_interval=2,
            resync_period=2,
            stats_interval=1.0,
        )
        assert kubelet, "no Docker engine"
        collector = HistoryCollector(ApiClient(bus), bus, history)
        collector.start(sup)
        dash = Dashboard(ApiClient(bus), host="127.0.0.1", port=0, collector=collector)
        url = await dash.bind()
        dash.start(sup)
        yield Cluster(ApiClient(bus), node, url)
    finally:
        await sup.stop()


def points_of(testid: str, kind_row: str, name: str) -> str:
    return (
        f'Number(document.querySelector(\'[data-testid={kind_row}][data-name="{name}"] '
        f"[data-testid={testid}]')?.dataset.points || 0)"
    )


async def show(page: Page, view: str) -> None:
    await page.click(f'[data-testid="tab-{view}"]')
    await page.wait_for(f"!document.querySelector('[data-testid=view-{view}]').hidden", 5, f"the {view} view")


async def chart_has_line(page: Page, selector: str, path: Path, timeout: float = 20) -> None:
    """A screenshot, cropped to the chart's box: the CPU line's colour is drawn in it (screenshots
    taken again until it is, up to ``timeout`` seconds: a chart just shown may not be painted yet)."""

    def near(c: tuple[int, int, int]) -> bool:
        return all(abs(a - b) < 40 for a, b in zip(c, ACCENT, strict=True))

    deadline = time.monotonic() + timeout
    while True:
        box = await page.evaluate(
            f"(() => {{ const r = document.querySelector('{selector}').getBoundingClientRect();"
            " return [r.left, r.top, r.width, r.height]; })()"
        )
        png = await page.screenshot()
        await asyncio.to_thread(path.write_bytes, png)
        left, top, width, height = (round(v) for v in box)
        chart = Image.open(io.BytesIO(png)).convert("RGB").crop((left, top, left + width, top + height))
        colours = dict((c, n) for n, c in chart.getcolors(maxcolors=width * height) or [])
        drawn = sum(n for c, n in colours.items() if near(c))
        if drawn >= 10:
            return
        assert time.monotonic() < deadline, (
            f"{path.name}: only {drawn} pixels of the line's colour in the chart at {box}"
        )
        await asyncio.sleep(0.5)


async def test_charts_have_points_and_grow_live_and_hpa_shows_replicas(
    charted: Cluster, nats_url: str, tmp_path: Path
) -> None:
    node = charted.node
    manifest = tmp_path / "burner.yaml"
    manifest.write_text(BURNER_YAML)
    code, _out, err = await jetkube(nats_url, "apply", "-f", str(manifest))
    assert code == 0, err
    async with Browser.launch(tmp_path) as page:
        await page.goto(charted.url + "?namespace=default#nodes")
        await page.wait_for("document.querySelector('[data-testid=live-status]').textContent === 'live'", 15)
        node_points = points_of("chart-cpu", "node-row", node)
        await page.wait_for(f"{node_points} >= 3", 60, f"node {node}'s CPU chart with 3 points")
        await page.evaluate("window.__sameDocument = true")
        await chart_has_line(
            page,
            f'[data-testid=node-row][data-name="{node}"] [data-testid=chart-cpu]',
            tmp_path / "nodes.png",
        )
        seen = await page.evaluate(node_points)
        await page.wait_for(f"{node_points} > {seen}", 30, "a new sample on the node's chart")
        assert await page.evaluate("window.__sameDocument === true"), "the page reloaded"

        # -- the pod's charts
        await show(page, "pods")
        pod_row = "[data-testid=pod-row][data-status=Running]"
        await page.wait_for(
            f"!!document.querySelector('{pod_row} [data-testid=chart-cpu][data-points=\"3\"]')"
            f" || Number(document.querySelector('{pod_row} [data-testid=chart-cpu]')?.dataset.points"
            " || 0) >= 3",
            60,
            "the burner pod's CPU chart with 3 points",
        )
        await chart_has_line(page, f"{pod_row} [data-testid=chart-cpu]", tmp_path / "pods.png")
        memory = await page.evaluate(
            f"Number(document.querySelector('{pod_row} [data-testid=chart-memory]').dataset.points)"
        )
        assert memory >= 3

        # -- an HPA: its replica count beside its metric
        code, _out, err = await jetkube(
            nats_url, "autoscale", "rc/burner", "--min", "1", "--max", "3", "--cpu-percent", "50"
        )
        assert code == 0, err
        await show(page, "workloads")
        hpa = "[data-testid=workload-row][data-resource=horizontalpodautoscalers][data-name=burner]"
        await page.wait_for(f"!!document.querySelector('{hpa}')", 20, "the HPA in the Workloads view")
        headers = await page.evaluate(
            "[...document.querySelector('[data-testid=horizontalpodautoscalers-table]')"
            ".querySelectorAll('th')].map(th => th.textContent)"
        )
        assert headers[headers.index("TARGETS") + 1] == "REPLICAS", headers
        cells = await page.wait_for(
            f"(() => {{ const c = [...document.querySelectorAll('{hpa} td')].map(td => td.textContent);"
            " return c.some(t => /\\d+%\\/50%$/.test(t)) ? c : null; })()",
            60,
            "the HPA's TARGETS with a current figure",
        )
        assert cells[headers.index("REPLICAS")].isdigit(), cells
