"""The Node, kubelet restarts (adoption), pods deleted while it was down, and the engine going away."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from pathlib import Path

import pytest

from tests.e2e.kubelet.kubelet_fixtures import KubeletHandle, cstatus, running, seed_example

BUSYBOX = "gcr.io/google_containers/busybox"


def ready_status(node: dict) -> dict:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


async def wait_node(k: KubeletHandle, cond, timeout: float = 20.0, what: str = "") -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            node = await k.api.get("nodes", k.node)
            if cond(node):
                return node
        except Exception:
            node = None
        if time.monotonic() > deadline:
            pytest.fail(f"node {k.node} never {what}: {node and node.get('status', {}).get('conditions')}")
        await asyncio.sleep(0.1)


async def resynced(k: KubeletHandle, key: str, timeout: float = 20.0) -> None:
    """Resync and wait for the pod's next sync to finish: the positive control of a check that the
    sync changed nothing (it ran, and what it would have changed is still as it was)."""
    before = k.kubelet.syncer.synced[key]
    k.kubelet.resync()
    deadline = time.monotonic() + timeout
    while k.kubelet.syncer.synced[key] <= before:
        assert time.monotonic() < deadline, f"{key} was not synced again within {timeout} s"
        await asyncio.sleep(0.05)


async def test_node_registers_and_heartbeats(kubelet: KubeletHandle) -> None:
    node = await wait_node(kubelet, lambda n: ready_status(n)["status"] == "True", what="Ready")
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == kubelet.node and labels["kubernetes.io/os"] == "linux"
    assert labels["kubernetes.io/arch"]
    st = node["status"]
    assert st["capacity"]["pods"] == "110" and int(st["capacity"]["cpu"]) >= 1
    assert st["capacity"]["memory"].endswith("Ki") and st["allocatable"] == st["capacity"]
    assert {a["type"] for a in st["addresses"]} == {"InternalIP", "Hostname"}
    assert st["nodeInfo"]["kubeletVersion"] == "jetkube-0.1.0"
    assert st["nodeInfo"]["containerRuntimeVersion"].startswith("docker://")
    # the heartbeat is the Lease kube-node-lease/<node>, renewed every interval (1 s here); the Node
    # status is not rewritten while nothing in it changes
    lease = await kubelet.api.get("leases", kubelet.node, "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == kubelet.node and lease["spec"]["leaseDurationSeconds"] == 40
    renewals = [lease["spec"]["renewTime"]]
    node_rv = (await kubelet.api.get("nodes", kubelet.node))["metadata"]["resourceVersion"]
    deadline = time.monotonic() + 10
    while len(set(renewals)) < 3:
        assert time.monotonic() < deadline, f"lease not renewed: {renewals}"
        await asyncio.sleep(0.2)
        renewals.append(
            (await kubelet.api.get("leases", kubelet.node, "kube-node-lease"))["spec"]["renewTime"]
        )
    assert (await kubelet.api.get("nodes", kubelet.node))["metadata"]["resourceVersion"] == node_rv
    # unschedulable is only a scheduling hint: running pods stay
    await kubelet.create(
        {
            "metadata": {"name": "stay"},
            "spec": {"containers": [{"name": "c", "image": BUSYBOX, "command": ["sleep", "3600"]}]},
        }
    )
    p = await kubelet.wait_pod("stay", running, what="Running")
    await kubelet.api.patch("nodes", kubelet.node, {"spec": {"unschedulable": True}})
    await resynced(kubelet, "default/stay")
    again = await kubelet.get("stay")
    assert cstatus(again, "c")["containerID"] == cstatus(p, "c")["containerID"] and running(again)


async def test_node_labels_flag(kubelet_factory) -> None:
    from actors.kubelet.node_status import parse_node_labels

    assert parse_node_labels("a=1, b=two,c=") == {"a": "1", "b": "two", "c": ""}


async def test_restarted_kubelet_adopts_without_duplicates(kubelet_factory) -> None:
    k1 = await kubelet_factory()
    await k1.create(
        {
            "metadata": {"name": "keep"},
            "spec": {
                "containers": [
                    {"name": "a", "image": BUSYBOX, "command": ["sleep", "3600"]},
                    {"name": "b", "image": BUSYBOX, "command": ["sleep", "3600"]},
                ]
            },
        }
    )
    await k1.create(
        {
            "metadata": {"name": "gone"},
            "spec": {"containers": [{"name": "c", "image": BUSYBOX, "command": ["sleep", "3600"]}]},
        }
    )
    before = await k1.wait_pod("keep", running, what="Running")
    await k1.wait_pod("gone", running, what="Running")
    ids = sorted(c.id for c in await k1.containers(None, type_=None) if c.pod_name == "keep")
    await k1.stop()  # the kubelet dies; its containers go on running
    # while it is down: "gone" is deleted for good (grace 0, as a user forcing it)
    await k1.api.delete("pods", "gone", "default", grace_period_seconds=0)
    k2 = await kubelet_factory(node=k1.node)
    deadline = time.monotonic() + 20
    while [c for c in await k2.containers(None, type_=None) if c.pod_name == "gone"]:
        assert time.monotonic() < deadline, "containers of the deleted pod were not cleaned up"
        await asyncio.sleep(0.1)
    await resynced(k2, "default/keep")
    after = await k2.wait_pod("keep", running, what="Running")
    assert sorted(c.id for c in await k2.containers(None, type_=None) if c.pod_name == "keep") == ids
    for name in ("a", "b"):
        assert cstatus(after, name)["containerID"] == cstatus(before, name)["containerID"]
        assert cstatus(after, name)["restartCount"] == 0
    assert after["status"]["podIP"] == before["status"]["podIP"]


async def test_killed_container_is_restarted_from_the_engine_event(kubelet: KubeletHandle) -> None:
    await kubelet.create(
        {
            "metadata": {"name": "victim"},
            "spec": {"containers": [{"name": "c", "image": BUSYBOX, "command": ["sleep", "3600"]}]},
        }
    )
    p = await kubelet.wait_pod("victim", running, what="Running")
    await kubelet.runtime.kill(cstatus(p, "c")["containerID"].removeprefix("docker://"))
    p = await kubelet.wait_pod(
        "victim", lambda p: cstatus(p, "c")["restartCount"] == 1 and running(p), timeout=10, what="restarted"
    )
    assert cstatus(p, "c")["lastState"]["terminated"]["exitCode"] == 137


class Relay:
    """A unix-socket proxy between a kubelet and the engine's socket that a test can cut."""

    def __init__(self, path: str, target: str = "/var/run/docker.sock") -> None:
        self.path = path
        self.target = target
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self.server = await asyncio.start_unix_server(self._client, self.path)

    async def _client(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            ur, uw = await asyncio.open_unix_connection(self.target)
        except OSError:
            w.close()
            return
        self.writers |= {w, uw}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(r, uw), pipe(ur, w))

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for w in list(self.writers):
            w.close()
        self.writers.clear()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


async def test_engine_going_away_and_coming_back(kubelet_factory, tmp_path: Path) -> None:
    sock = f"/tmp/jk-relay-{os.getpid()}-{id(tmp_path) % 10000}.sock"
    relay = Relay(sock)
    await relay.start()
    try:
        k = await kubelet_factory(docker_host=f"unix://{sock}", heartbeat=1.0)
        await k.create(
            {
                "metadata": {"name": "survivor"},
                "spec": {"containers": [{"name": "c", "image": BUSYBOX, "command": ["sleep", "3600"]}]},
            }
        )
        before = await k.wait_pod("survivor", running, what="Running")
        await wait_node(k, lambda n: ready_status(n)["status"] == "True", what="Ready")
        await relay.cut()
        node = await wait_node(k, lambda n: ready_status(n)["status"] == "False", timeout=15, what="NotReady")
        cond = ready_status(node)
        assert cond["reason"] == "KubeletNotReady" and sock in cond["message"]
        p = await k.get("survivor")
        assert running(p) and cstatus(p, "c")["containerID"] == cstatus(before, "c")["containerID"]
        await relay.start()
        await wait_node(k, lambda n: ready_status(n)["status"] == "True", timeout=15, what="Ready again")
        await resynced(k, "default/survivor")
        p = await k.get("survivor")
        assert running(p) and cstatus(p, "c")["containerID"] == cstatus(before, "c")["containerID"]
        assert cstatus(p, "c")["restartCount"] == 0
        # and it still works: a new pod starts
        await k.create(
            {
                "metadata": {"name": "after"},
                "spec": {"containers": [{"name": "c", "image": BUSYBOX, "command": ["sleep", "3600"]}]},
            }
        )
        await k.wait_pod("after", running, timeout=20, what="Running")
    finally:
        await relay.cut()


def port_free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


async def test_seed_dns_proxy_publishes_host_ports_tcp_and_udp(kubelet: KubeletHandle) -> None:
    manifest = seed_example("pod-dns-proxy.yaml")
    port = 53
    if not (port_free(53, socket.SOCK_STREAM) and port_free(53, socket.SOCK_DGRAM)):
        from tests.e2e.kubelet.kubelet_e2e_helpers import free_port

        port = free_port()
        for c in manifest["spec"]["containers"]:
            c["ports"][0]["hostPort"] = port
    await kubelet.create(manifest)
    p = await kubelet.wait_pod("dns-proxy", running, what="Running")
    sb = (await kubelet.containers("dns-proxy", type_="sandbox"))[0]
    raw = await kubelet.runtime.inspect_raw(sb.id)
    bindings = raw["HostConfig"]["PortBindings"]
    assert bindings["53/tcp"][0]["HostPort"] == str(port) and bindings["53/udp"][0]["HostPort"] == str(port)
    assert p["status"]["hostIP"]
    # the TCP port answers on the host (the proxy accepts, then fails to reach kube-dns: fine)
    _r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    w.close()
