"""The dashboard in a real browser: what a user sees and clicks, against a real cluster.

A cluster (control plane, a kubelet on Docker, the dashboard), an RC of busybox pods applied with
the CLI, then headless Chromium: the Nodes, Workloads and Pods views render (screenshots that
decode, have the window's size and are not blank), the DOM shows the node Ready and the pods
Running; Scale to 3 is clicked and, without a reload, the store holds 3 replicas and the page shows
3 running pods; a pod deleted with its button is replaced; a pod's logs show its output.
"""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from PIL import Image

from tests.e2e.dashboard.browser import HEIGHT, WIDTH, Browser, Page
from tests.e2e.dashboard.conftest import Cluster
from tests.e2e.kubelet_services.helpers import jetkube
from tests.waiting import wait_for

RC_YAML = """\
apiVersion: v1
kind: ReplicationController
metadata:
  name: hello
  labels:
    app: hello
spec:
  replicas: 2
  selector:
    app: hello
  template:
    metadata:
      labels:
        app: hello
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: hello
        image: gcr.io/google_containers/busybox
        command: ["sh", "-c", "echo hello from $(hostname); trap 'exit 0' TERM; while true; do sleep 1; done"]
"""

RUNNING_PODS = (
    "[...document.querySelectorAll('[data-testid=pod-row][data-status=Running]')]"
    ".map(r => r.dataset.name).sort()"
)


async def eventually(cond: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
    return await wait_for(cond, timeout, what, interval=0.1)


def check_render(png: bytes, path: Path) -> None:
    """A real render: a PNG of the window's size, mostly page background but with plenty drawn."""
    path.write_bytes(png)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT), (image.format, image.size)
    pixels = image.convert("RGB")
    colors = pixels.getcolors(maxcolors=WIDTH * HEIGHT) or []
    background = max(colors)[1]
    drawn = sum(count for count, color in colors if color != background)
    assert background == (255, 255, 255), f"{path.name}: background {background}"
    assert drawn > 0.03 * WIDTH * HEIGHT, f"{path.name}: only {drawn} pixels drawn: blank?"
    assert len(colors) > 50, f"{path.name}: {len(colors)} colours: no text rendered?"
    header = pixels.getpixel((WIDTH - 5, 5))
    assert header == (0x1D, 0x2F, 0x4F), f"{path.name}: header colour {header}: stylesheet not applied?"


async def show(page: Page, view: str) -> None:
    """Click a tab, as a user switches views (no reload)."""
    await page.click(f'[data-testid="tab-{view}"]')
    await page.wait_for(f"!document.querySelector('[data-testid=view-{view}]').hidden", 5, f"the {view} view")


async def test_dashboard_shows_the_cluster_and_scales_an_rc(
    cluster: Cluster, nats_url: str, tmp_path: Path
) -> None:
    node, api = cluster.node, cluster.api
    manifest = tmp_path / "rc.yaml"
    manifest.write_text(RC_YAML)
    code, _out, err = await jetkube(nats_url, "apply", "-f", str(manifest))
    assert code == 0, err
    url = cluster.url + "?namespace=default"
    async with Browser.launch(tmp_path) as page:
        await page.goto(url + "#nodes")
        await page.wait_for("document.querySelector('[data-testid=live-status]').textContent === 'live'", 15)
        await page.wait_for(
            f"!!document.querySelector('[data-testid=node-row][data-name=\"{node}\"][data-status=Ready]')",
            30,
            f"node {node} Ready on the page",
        )
        check_render(await page.screenshot(), tmp_path / "nodes.png")

        await show(page, "pods")
        await page.wait_for(f"{RUNNING_PODS}.length === 2", 30, "2 pods Running on the page")
        check_render(await page.screenshot(), tmp_path / "pods.png")
        rows = await page.evaluate(
            "[...document.querySelectorAll('[data-testid=pod-row]')].map(r => r.innerText)"
        )
        assert all("Running" in r and node in r and "1/1" in r for r in rows), rows

        await show(page, "workloads")
        await page.wait_for(
            "!!document.querySelector('[data-testid=workload-row][data-name=hello][data-replicas=\"2\"]')",
            10,
        )
        check_render(await page.screenshot(), tmp_path / "workloads.png")

        # -- scale to 3 with the page's own controls; the page must follow without a reload
        await page.evaluate("window.__sameDocument = true")
        await page.type_into('[data-testid="scale-input"][data-key="default/hello"]', "3")
        await page.click('[data-testid="scale-button"][data-key="default/hello"]')

        async def scaled() -> bool:
            rc = await api.get("replicationcontrollers", "hello", "default")
            return rc["spec"]["replicas"] == 3

        await eventually(scaled, 10, "the RC to have 3 replicas in the store")
        await page.wait_for(
            "!!document.querySelector('[data-testid=workload-row][data-name=hello][data-replicas=\"3\"]')",
            10,
        )
        assert "scaled to 3" in await page.evaluate(
            "document.querySelector('[data-testid=message]').innerText"
        )
        await show(page, "pods")
        running = await page.wait_for(
            f"(() => {{ const r = {RUNNING_PODS}; return r.length === 3 ? r : null; }})()",
            30,
            "3 pods Running",
        )
        assert await page.evaluate("window.__sameDocument === true"), "the page reloaded"
        listed = await api.list("pods", "default", label_selector="app=hello")
        assert sorted(p["metadata"]["name"] for p in listed["items"]) == running

        # -- delete one pod with its button (a second click confirms): the RC replaces it
        victim = running[0]
        delete = f'[data-testid="delete-button"][data-key="default/{victim}"]'
        await page.click(delete)
        await page.wait_for(f"document.querySelector('{delete}').textContent === 'Confirm delete'", 5)
        await page.click(delete)
        replaced = await page.wait_for(
            f"(() => {{ const r = {RUNNING_PODS};"
            f" return r.length === 3 && !r.includes({json.dumps(victim)}) ? r : null; }})()",
            40,
            f"{victim} replaced by a new Running pod",
        )
        assert victim not in replaced

        async def victim_gone() -> bool:
            names = [p["metadata"]["name"] for p in (await api.list("pods", "default"))["items"]]
            return victim not in names

        await eventually(victim_gone, 20, f"{victim} to leave the store")

        # -- a pod's logs in the log pane
        target = replaced[0]
        await page.click(f'[data-testid="logs-button"][data-key="default/{target}"]')
        await page.wait_for(
            "document.querySelector('[data-testid=log-output]').dataset.loaded === 'true'", 60
        )
        text = await page.evaluate("document.querySelector('[data-testid=log-output]').textContent")
        assert f"hello from {target}" in text, text
        title = await page.evaluate("document.querySelector('[data-testid=log-title]').textContent")
        assert title == f"Logs: default/{target}"
        check_render(await page.screenshot(), tmp_path / "logs.png")
