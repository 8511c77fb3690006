"""The proxy's two modes as a user checks them from pods and from the host (every test runs once
per mode, see conftest.py): a ClusterIP spreads new connections over every ready pod and stops
sending to a pod scaled away; ClientIP affinity keeps a client on one pod; a Service with no ready
endpoint refuses; a NodePort answers from a pod on the host's address; a pod reaches itself through
its own Service (hairpin: in iptables mode the proxy turns on its bridge port's hairpin mode, as
kubelet's hairpin-veth does). In iptables mode the proxy relays nothing itself: the kernel's rules
(one DNAT per endpoint) carry the traffic."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter

import pytest

from tests.e2e.networking.conftest import Net
from tests.e2e.networking.helpers import exec_in, get, http_get, httpd_deployment, jetkube, service
from tests.e2e.networking.test_services import client, endpoints_ready, proxy_has, wget
from tests.waiting import wait_for

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.xdist_group("e2e-networking")]


def nat_rules() -> str:
    return subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout


async def answers(net: Net, url: str, n: int) -> list[str]:
    out = []
    for _ in range(n):
        code, body = await wget(net, url)
        assert code == 0, body
        out.append(body.strip())
    return out


async def test_cluster_ip_spreads_over_pods_and_follows_a_scale_down(net: Net) -> None:
    await net.api.create("deployments", httpd_deployment("spread", 3))
    await net.api.create("services", service("spread", {"app": "spread"}, [{"port": 80, "targetPort": 8080}]))
    ips = await endpoints_ready(net, "spread", 3)
    await proxy_has(net, "spread", ips)
    if net.mode == "iptables":
        rules = nat_rules()
        assert all(f"--to-destination {ip}:8080" in rules for ip in ips), "a DNAT rule per endpoint"
        assert "--probability 0.33333" in rules and "--probability 0.5000" in rules
        assert not hasattr(net.proxy, "listeners")  # no relay: nothing goes through this process
    # 30 new connections over 3 pods: each pod gets some (a pod missing has odds of about 1e-5)
    counts = Counter(await answers(net, "http://spread/", 30))
    assert len(counts) == 3, counts

    code, _out, err = await jetkube(net.url, "scale", "deployment", "spread", "--replicas", "1")
    assert code == 0, err
    [left] = await endpoints_ready(net, "spread", 1)
    await proxy_has(net, "spread", {left})
    pods = (await net.api.list("pods", "default"))["items"]
    name = next(p["metadata"]["name"] for p in pods if (p.get("status") or {}).get("podIP") == left)
    assert set(await answers(net, "http://spread/", 8)) == {name}


async def test_client_ip_affinity_holds(net: Net) -> None:
    await net.api.create("deployments", httpd_deployment("aff", 3))
    await net.api.create(
        "services",
        service(
            "aff",
            {"app": "aff"},
            [{"port": 80, "targetPort": 8080}],
            sessionAffinity="ClientIP",
            sessionAffinityConfig={"clientIP": {"timeoutSeconds": 600}},
        ),
    )
    ips = await endpoints_ready(net, "aff", 3)
    await proxy_has(net, "aff", ips)
    if net.mode == "iptables":
        assert "--rcheck --seconds 600 --reap" in nat_rules()
    got = set(await answers(net, "http://aff/", 12))
    assert len(got) == 1, got  # 12 requests from one pod, 3 backends: one pod answers them all


async def test_service_without_ready_endpoints_refuses(net: Net) -> None:
    await net.api.create(
        "services",
        service("nobody", {"app": "nobody"}, [{"port": 80, "targetPort": 8080}], type="NodePort"),
    )

    async def allocated() -> dict | None:
        svc = await get(net.api, "services", "nobody")
        return svc if svc and svc["spec"].get("clusterIP") else None

    svc = await wait_for(allocated, 10, "a ClusterIP")
    ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]

    async def refused(host: str, port: int) -> bool:
        try:
            await http_get(host, port, timeout=3)
        except ConnectionRefusedError:
            return True
        except (OSError, TimeoutError):
            return False
        return False  # an answer

    if net.mode == "iptables":  # the REJECT rule: refused at once, from the host and from a pod
        await wait_for(lambda: refused(ip, 80), 10, "the ClusterIP to refuse")
        await wait_for(lambda: refused(net.host_ip, node_port), 10, "the NodePort to refuse")
        await client(net)
        code, out = await exec_in(net.runtime, net.node, "client", ["wget", "-qO-", f"http://{ip}/"])
        assert code != 0 and "refused" in out.lower(), out
    else:  # the relay accepts, finds no backend and closes: no answer either
        code, out = await wget(net, f"http://{ip}/")
        assert code != 0, out


async def test_node_port_from_a_pod_and_hairpin(net: Net) -> None:
    await net.api.create("deployments", httpd_deployment("hair", 1))
    await net.api.create(
        "services", service("hair", {"app": "hair"}, [{"port": 80, "targetPort": 8080}], type="NodePort")
    )
    [ip] = await endpoints_ready(net, "hair", 1)
    await proxy_has(net, "hair", {ip})
    pods = (await net.api.list("pods", "default"))["items"]
    name = next(p["metadata"]["name"] for p in pods if (p.get("status") or {}).get("podIP") == ip)
    node_port = (await net.api.get("services", "hair", "default"))["spec"]["ports"][0]["nodePort"]

    async def from_client() -> str | None:
        code, body = await wget(net, f"http://{net.host_ip}:{node_port}/")
        return body.strip() if code == 0 else None

    assert await wait_for(from_client, 10, "the NodePort from a pod") == name

    async def from_itself() -> str | None:  # the pod is its Service's only endpoint
        code, body = await exec_in(net.runtime, net.node, name, ["wget", "-qO-", "http://hair/"], "web")
        return body.strip() if code == 0 else None

    assert await wait_for(from_itself, 10, "the pod through its own Service") == name
    # and the node port from the host, on its own address and on loopback
    assert (await http_get(net.host_ip, node_port)).strip() == name
    assert (await asyncio.wait_for(http_get("127.0.0.1", node_port), 10)).strip() == name
