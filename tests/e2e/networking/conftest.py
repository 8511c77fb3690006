"""One in-process cluster for the networking tests: embedded NATS, the whole control plane, one
kubelet (ClusterFirst pods get the cluster DNS), the service proxy and the cluster DNS, on the
host's Docker engine and nat table.

The cluster comes up once per proxy mode (``iptables``, the default, then ``userspace``): every
test of the module runs against both. The proxy's chains are named for this run (``JK-<run id>``)
and removed when the cluster stops; the fixture checks that none is left and that no container of
its node is left. The module runs on one xdist worker (group ``e2e-networking``): the DNS Service's
fixed ClusterIP is per host.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from schemas.errors import JetkubeError
from tests.e2e.conftest import RUN_ID
from tests.waiting import wait_for


@dataclass
class Net:
    url: str
    api: Any
    runtime: Any
    node: str
    host_ip: str
    proxy: Any
    dns: Any
    chain: str
    mode: str


def _chain_exists(chain: str) -> bool:
    return subprocess.run(["iptables", "-t", "nat", "-S", chain], capture_output=True).returncode == 0


def _chains_with(prefix: str) -> list[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.startswith(f":{prefix}-")]


def _check_host() -> None:
    if shutil.which("docker") is None and not os.path.exists("/var/run/docker.sock"):
        pytest.skip("no Docker engine")
    if shutil.which("iptables") is None or os.geteuid() != 0:
        pytest.skip("the service proxy needs iptables and root")
    from images.build import ensure_images

    ensure_images(["busybox", "pause", "nginx", "proxy"])


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["iptables", "userspace"])
async def net(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> AsyncIterator[Net]:
    _check_host()
    mode: str = request.param
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.dns.process import start_dns
    from actors.kubelet.process import host_ip, start_kubelet
    from actors.kubelet.runtime import DockerRuntime
    from actors.proxy.process import start_proxy
    from actors.runtime.supervisor import Supervisor
    from bus.client import ApiClient
    from bus.connection import Bus
    from bus.embedded import EmbeddedNats, free_port
    from bus.store import Store

    tmp: Path = tmp_path_factory.mktemp("net")
    server = EmbeddedNats(data_dir=tmp / "nats", port=free_port())
    server.start()
    node = f"e2e-{RUN_ID}-net-{mode[:4]}"
    chain = f"JK-{RUN_ID}-{mode[:1]}"
    sup = Supervisor("net")
    bus = await Bus.connect(server.url, name="net-test")
    runtime = await DockerRuntime.connect(state_dir=tmp / "rt")
    try:
        store = await Store.open(bus)
        start_control_plane(sup, bus, store, ControlPlaneSettings(retry_period=0.5))
        api = ApiClient(bus)
        proxy = start_proxy(sup, bus, chain=chain, mode=mode)
        dns = start_dns(sup, bus, reregister_every=5)
        kubelet = await start_kubelet(
            sup,
            bus,
            node_name=node,
            state_dir=str(tmp / "kubelet"),
            heartbeat_interval=2,
            resync_period=2,
            cluster_dns=["10.96.0.10"],
        )
        assert kubelet, "no Docker engine"

        async def node_ready() -> bool:
            try:
                n = await api.get("nodes", node)
            except JetkubeError:  # the api not serving yet, the node not registered yet
                return False
            conds = {c["type"]: c["status"] for c in n.get("status", {}).get("conditions") or []}
            return conds.get("Ready") == "True"

        await wait_for(node_ready, 60, "the node Ready")
        await dns.ready()
        yield Net(server.url, api, runtime, node, host_ip(), proxy, dns, chain, mode)
    finally:
        await sup.stop()
        left_chain = _chain_exists(chain)
        if mode == "iptables":
            from actors.proxy.rules import chain_names

            left_chain = left_chain or bool(_chains_with(chain_names(chain).prefix))
        await asyncio.gather(*(runtime.remove(c.id) for c in await runtime.list(node)))
        left = await runtime.list(node)
        await runtime.close()
        await bus.close()
        await server.astop()
        assert not left, "containers left behind"
        assert not left_chain, f"nat chain {chain} left behind"
