"""``jetkube up`` as a user starts it, as root on the real Docker engine, in each proxy mode (the
default iptables, and ``--proxy-mode userspace``): a Service's ClusterIP and NodePort answer from
the host with a pod's page, the rules are the mode's (DNAT per endpoint, or a REDIRECT to a relay),
and when ``up`` stops every chain it made is gone. Same xdist group as the other networking tests:
``up`` owns the host-wide names (chain ``JETKUBE-SERVICES``, the DNS at 10.96.0.10)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from cli.localcluster import LocalCluster
from tests.e2e.networking.conftest import _check_host
from tests.e2e.networking.helpers import http_get, httpd_deployment, ready_ips, service
from tests.waiting import wait_for

pytestmark = [pytest.mark.xdist_group("e2e-networking")]


def tables() -> str:
    return subprocess.run(["iptables-save"], capture_output=True, text=True).stdout


@pytest_asyncio.fixture(params=["iptables", "userspace"])
async def up(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[LocalCluster, str, str]]:
    _check_host()
    mode: str = request.param
    if ":JETKUBE-SERVICES " in tables():
        pytest.skip("another proxy on this host owns JETKUBE-SERVICES")
    node = f"e2e-up-{mode[:4]}-{uuid.uuid4().hex[:6]}"
    args = ("--node-name", node, "--ingress-port", "0", "--proxy-mode", mode)
    cluster = LocalCluster(tmp_path / "data", kubelet=True, networking=True, extra_args=args)
    try:
        await asyncio.to_thread(cluster.start)
        yield cluster, mode, node
    finally:
        await asyncio.to_thread(cluster.stop)
        await asyncio.to_thread(_remove_containers, node)


def _remove_containers(node: str) -> None:
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=io.jetkube.node={node}"], capture_output=True, text=True
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


async def test_up_serves_cluster_ip_and_node_port_then_removes_its_chains(
    up: tuple[LocalCluster, str, str],
) -> None:
    from actors.kubelet.process import host_ip
    from bus.client import ApiClient
    from bus.connection import Bus

    cluster, mode, _node = up
    bus = await Bus.connect(cluster.url, name="e2e-up-proxy")
    try:
        api = ApiClient(bus)
        await api.create("deployments", httpd_deployment("upweb", 2))
        await api.create(
            "services",
            service("upweb", {"app": "upweb"}, [{"port": 80, "targetPort": 8080}], type="NodePort"),
        )

        async def two_ready() -> set[str] | None:
            try:
                ips = ready_ips(await api.get("endpoints", "upweb", "default"))
            except Exception:  # not written yet
                return None
            return ips if len(ips) == 2 else None

        await wait_for(two_ready, 120, "two ready pods behind the Service")
        svc = await api.get("services", "upweb", "default")
        ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
        pods = {
            p["metadata"]["name"]
            for p in (await api.list("pods", "default"))["items"]
            if p["metadata"]["name"].startswith("upweb-")
        }

        async def answer(host: str, port: int) -> str | None:
            try:
                return (await http_get(host, port, timeout=3)).strip() or None
            except (OSError, TimeoutError):
                return None

        assert await wait_for(lambda: answer(ip, 80), 20, "the ClusterIP from the host") in pods
        assert await wait_for(lambda: answer(host_ip(), node_port), 20, "the NodePort") in pods
        rules = tables()
        if mode == "iptables":
            assert ":JETKUBE-NODEPORTS " in rules and "-j DNAT --to-destination" in rules
            assert f"--dport {node_port} -j JETKUBE-SVC-" in rules
        else:
            assert f"-d {ip}/32 -p tcp" in rules and "-j REDIRECT --to-ports" in rules
    finally:
        await bus.close()
    await asyncio.to_thread(cluster.stop)
    ours = ("SERVICES", "NODEPORTS", "POSTROUTING", "MARK-MASQ", "FORWARD", "SVC-", "SEP-")
    left = [
        line
        for line in tables().splitlines()
        if any(f":JETKUBE-{c}" in line or f"-j JETKUBE-{c}" in line for c in ours)
    ]
    assert not left, left  # (the test bed's own proxy, if up, owns JETKUBE-TESTBED: not ours)
