"""The pod network across the bed's three nodes, each a host with its own Docker engine.

What a user checks after `jetkube testbed up`: every node's engine holds only its own pods'
containers; a DaemonSet's pods take their addresses from their nodes' subnets; a pod on node1 and a
pod on node3 reach each other by IP, over TCP and UDP, each seeing the other's own pod IP (no NAT
between pods); a Service whose only backends are on node3 answers a pod on node1 by ClusterIP and
by DNS name (and the DNS gives node3's pod IPs for a headless Service); a NodePort on node2's
address reaches a pod that runs only on node1; and the seed's nginx Service answers wget from a
busybox pod on a node where no nginx pod runs. Every Node says its network is up
(NetworkUnavailable False), with the cluster CIDR the control plane publishes.
"""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cli.testbed import NODE_LABEL, NODES, Testbed, docker
from tests.testbed.helpers import bed_api, nodes_by_name, pods, poll, running
from tests.testbed_node_engines.podnet import (
    busybox_pod,
    cli,
    drop_namespace,
    echo_from,
    echo_pod,
    engine_containers,
    exec_in,
    in_subnet,
    make_namespace,
    nginx_pod,
    node_subnets,
    pod_ip,
    running_pods,
    wget_from,
)

pytestmark = [pytest.mark.testbed, pytest.mark.docker]

N1, N2, N3 = NODES["node1"], NODES["node2"], NODES["node3"]
EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "seed" / "examples"
NGINX_PAGE = "Welcome to nginx"


@pytest.mark.timeout(240)
async def test_each_engine_holds_its_own_pods_and_daemonset_pods_use_their_nodes_subnets(
    testbed: Testbed,
) -> None:
    ns = "podnet-engines"
    labels = {"app": "everywhere"}
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "everywhere"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}],
                },
            },
        },
    }
    async with bed_api() as api:
        await make_namespace(api, ns)
        await api.create("daemonsets", ds, namespace=ns)

        async def one_per_node() -> dict[str, str] | None:
            items = [p for p in await pods(api, ns, labels) if running(p) and p["status"].get("podIP")]
            by_node = {p["spec"]["nodeName"]: pod_ip(p) for p in items}
            return by_node if len(items) == 3 and set(by_node) == set(NODES.values()) else None

        ips = await poll(one_per_node, 120, "one Running DaemonSet pod with an IP on each node")
        subnets = await node_subnets(api)
        for node, ip in ips.items():
            assert in_subnet(ip, subnets[node]), (
                f"{node}'s DaemonSet pod has {ip}, not in its podCIDR {subnets[node]}"
            )
        assert len(set(subnets.values())) == 3, f"nodes share a subnet: {subnets}"

        # `docker exec nodeN-host docker ps`: only that node's containers, this test's pod among them
        for node in NODES.values():
            everything = await asyncio.to_thread(engine_containers, node, labelled=False)
            assert everything, f"{node}'s engine holds no container"
            strangers = [c for c in everything if c["node"] != node]
            assert not strangers, f"{node}'s engine holds other nodes' containers: {strangers}"
            mine = [c for c in everything if c["namespace"] == ns and c["type"] == "container"]
            assert len(mine) == 1, f"{node}'s engine: {len(mine)} containers of the DaemonSet, wanted 1"
        # and the machine's own engine runs no pod of the bed
        for node in NODES.values():
            assert not docker("ps", "-aq", "--filter", f"label={NODE_LABEL}={node}").split(), (
                f"the machine's engine holds containers of {node}"
            )
        await drop_namespace(api, ns)


@pytest.mark.timeout(240)
async def test_pods_on_node1_and_node3_reach_each_other_by_ip_tcp_and_udp_seeing_the_senders_ip(
    testbed: Testbed,
) -> None:
    ns = "podnet-p2p"
    async with bed_api() as api:
        await make_namespace(api, ns)
        await api.create("pods", echo_pod("a", N1), namespace=ns)
        await api.create("pods", echo_pod("b", N3), namespace=ns)
        got = await running_pods(api, ns, ["a", "b"])
        ips = {name: pod_ip(p) for name, p in got.items()}
        subnets = await node_subnets(api)
        assert in_subnet(ips["a"], subnets[N1]) and in_subnet(ips["b"], subnets[N3]), (ips, subnets)

        for src, dst in (("a", "b"), ("b", "a")):
            for proto in ("tcp", "udp"):
                want = f"{proto} from {ips[src]}"

                async def answered(
                    src: str = src, dst: str = dst, proto: str = proto, want: str = want
                ) -> str | None:
                    out = await echo_from(ns, src, proto, ips[dst])
                    return out if out == want else None

                await poll(
                    answered, 60, f"{src} -> {dst} ({ips[dst]}) over {proto}, seen as {ips[src]}", every=1.0
                )
        await drop_namespace(api, ns)


@pytest.mark.timeout(240)
async def test_service_backed_only_on_node3_answers_a_pod_on_node1_by_clusterip_and_dns(
    testbed: Testbed,
) -> None:
    ns = "podnet-svc"
    labels = {"app": "far"}
    async with bed_api() as api:
        await make_namespace(api, ns)
        for name in ("far-1", "far-2"):
            await api.create("pods", nginx_pod(name, N3, labels), namespace=ns)
        await api.create("pods", busybox_pod("client", N1), namespace=ns)
        svc = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "far"},
            "spec": {"selector": labels, "ports": [{"port": 8000, "targetPort": 80}]},
        }
        headless = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "far-pods"},
            "spec": {"clusterIP": "None", "selector": labels, "ports": [{"port": 80}]},
        }
        await api.create("services", svc, namespace=ns)
        await api.create("services", headless, namespace=ns)
        got = await running_pods(api, ns, ["far-1", "far-2", "client"])
        backends = {pod_ip(got["far-1"]), pod_ip(got["far-2"])}
        cluster_ip = (await api.get("services", "far", namespace=ns))["spec"]["clusterIP"]

        for url in (
            f"http://{cluster_ip}:8000/",
            "http://far:8000/",
            f"http://far.{ns}.svc.cluster.local:8000/",
        ):

            async def fetched(url: str = url) -> str | None:
                page = await wget_from(ns, "client", url)
                return page if NGINX_PAGE in page else None

            await poll(fetched, 60, f"client on {N1}: wget {url} gets nginx's page from {N3}", every=1.0)

        async def resolved() -> str | None:
            code, out = await exec_in(ns, "client", "nslookup", f"far-pods.{ns}.svc.cluster.local")
            return out if code == 0 and all(ip in out for ip in backends) else None

        await poll(
            resolved, 60, f"client on {N1}: the headless Service resolves to {N3}'s pod IPs {backends}"
        )
        await drop_namespace(api, ns)


@pytest.mark.timeout(240)
async def test_nodeport_on_node2_reaches_a_pod_only_on_node1(testbed: Testbed) -> None:
    ns = "podnet-nodeport"
    labels = {"app": "only-on-node1"}
    async with bed_api() as api:
        await make_namespace(api, ns)
        await api.create("pods", nginx_pod("web", N1, labels), namespace=ns)
        svc = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"type": "NodePort", "selector": labels, "ports": [{"port": 8000, "targetPort": 80}]},
        }
        await api.create("services", svc, namespace=ns)
        await running_pods(api, ns, ["web"])
        node_port = (await api.get("services", "web", namespace=ns))["spec"]["ports"][0]["nodePort"]
        node2 = (await nodes_by_name(api))[N2]
        address = next(a["address"] for a in node2["status"]["addresses"] if a["type"] == "InternalIP")
        url = f"http://{address}:{node_port}/"

        def get() -> str:
            try:
                with urllib.request.urlopen(url, timeout=3) as resp:
                    return str(resp.read().decode(errors="replace"))
            except OSError:
                return ""

        async def answered() -> str | None:
            page = await asyncio.to_thread(get)
            return page if NGINX_PAGE in page else None

        await poll(answered, 60, f"GET {url} ({N2}'s address) answered by the pod on {N1}", every=1.0)
        await drop_namespace(api, ns)


@pytest.mark.timeout(300)
async def test_seed_nginx_service_answers_wget_from_a_busybox_pod_on_another_node(testbed: Testbed) -> None:
    if not EXAMPLES.is_dir():
        pytest.skip(f"no seed examples at {EXAMPLES}")
    ns = "podnet-seed"
    async with bed_api() as api:
        await make_namespace(api, ns)
        for example in ("deployment-nginx-prestop.yaml", "service-nginx.yaml"):
            await cli("apply", "-n", ns, "-f", str(EXAMPLES / example))

        async def nginx_nodes() -> set[str] | None:
            items = await pods(api, ns, {"app": "nginx"})
            return (
                {p["spec"]["nodeName"] for p in items} if items and all(running(p) for p in items) else None
            )

        busy = await poll(nginx_nodes, 120, "the seed's nginx pods Running")
        free = sorted(set(NODES.values()) - busy)
        assert free, f"nginx pods on every node: {busy}"
        await api.create("pods", busybox_pod("client", free[0]), namespace=ns)
        await running_pods(api, ns, ["client"])

        async def fetched() -> str | None:
            page = await wget_from(ns, "client", "http://nginx-service:8000")
            return page if "nginx" in page.lower() else None

        await poll(
            fetched, 60, f"busybox on {free[0]}: wget http://nginx-service:8000 (nginx on {busy})", every=1.0
        )
        await drop_namespace(api, ns)


@pytest.mark.timeout(120)
async def test_each_nodes_network_is_up_as_its_node_says(testbed: Testbed) -> None:
    """Each Node's NetworkUnavailable condition is False, in flannel's words, and it carries no
    network-unavailable taint; `jetkube describe node` shows the condition. The kubelets run without
    --cluster-cidr: the control plane publishes it, and that is the network their agents use."""
    async with bed_api() as api:
        cm = await api.get("configmaps", "jetkube-cluster-config", namespace="kube-system")
        assert cm["data"]["clusterCIDR"] == "10.244.0.0/16", cm["data"]

        async def all_up() -> dict[str, Any] | None:
            nodes = await nodes_by_name(api)
            conds = {
                name: next((c for c in n["status"]["conditions"] if c["type"] == "NetworkUnavailable"), {})
                for name, n in nodes.items()
            }
            up = all(
                (c.get("status"), c.get("reason"), c.get("message"))
                == ("False", "FlannelIsUp", "Flannel is running on this node")
                for c in conds.values()
            )
            return nodes if up and set(conds) >= set(NODES.values()) else None

        nodes = await poll(all_up, 60, "NetworkUnavailable False on every node")
        for name, node in nodes.items():
            taints = [t["key"] for t in node["spec"].get("taints") or ()]
            assert "node.kubernetes.io/network-unavailable" not in taints, (name, taints)
        shown = await cli("describe", "node", N1)
        line = next(ln for ln in shown.splitlines() if "NetworkUnavailable" in ln)
        assert "False" in line and "FlannelIsUp" in line and "Flannel is running on this node" in line, line
