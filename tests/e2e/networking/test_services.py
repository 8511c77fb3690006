"""Services through the proxy and the cluster DNS, as a user checks them from inside pods and from
the host: the seed's nginx Service by name, spreading over ready pods; an unready pod left out; a
killed pod's connections moved; ClientIP affinity; NodePort; DNS names, SRV and headless records;
resolv.conf by dnsPolicy; the service environment variables; the seed's dns-proxy pod on port 53."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from dnslib import QTYPE, DNSRecord

from tests.e2e.networking.conftest import Net
from tests.e2e.networking.helpers import (
    container_id,
    exec_in,
    get,
    http_get,
    httpd_deployment,
    jetkube,
    pod,
    ready_ips,
    service,
)
from tests.seedpaths import SEED_EXAMPLES
from tests.waiting import wait_for

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.xdist_group("e2e-networking")]


async def running_pod(net: Net, name: str, timeout: float = 60) -> dict[str, Any]:
    async def up() -> dict[str, Any] | None:
        p = await get(net.api, "pods", name)
        conds = {c["type"]: c["status"] for c in (p or {}).get("status", {}).get("conditions") or []}
        return p if conds.get("Ready") == "True" else None

    return await wait_for(up, timeout, f"pod {name} Ready")


_client_lock = asyncio.Lock()


async def client(net: Net) -> str:
    """A busybox pod to run wget and nslookup from (made once per module)."""
    async with _client_lock:
        if await get(net.api, "pods", "client") is None:
            await net.api.create("pods", pod("client", "exec sleep 3600"))
        await running_pod(net, "client")
    return "client"


async def wget(net: Net, url: str) -> tuple[int, str]:
    return await exec_in(net.runtime, net.node, await client(net), ["wget", "-qO-", url])


async def endpoints_ready(net: Net, name: str, count: int) -> set[str]:
    async def check() -> set[str] | None:
        ips = ready_ips(await get(net.api, "endpoints", name))
        return ips if len(ips) == count else None

    return await wait_for(check, 60, f"{count} ready endpoints of {name}")


async def proxy_has(net: Net, name: str, ips: set[str], port: str = "") -> None:
    async def check() -> bool:
        return {ip for ip, _ in net.proxy.backends_of("default", name, port)} == ips

    await wait_for(check, 10, f"the proxy to use {sorted(ips)} for {name}")


async def test_seed_nginx_service_by_name_spreads_over_pods(net: Net) -> None:
    for f in ("deployment-nginx-prestop.yaml", "service-nginx.yaml"):
        code, _out, err = await jetkube(net.url, "apply", "-f", str(SEED_EXAMPLES / f))
        assert code == 0, err
    code, _out, err = await jetkube(net.url, "scale", "deployment", "nginx", "--replicas", "2")
    assert code == 0, err
    ips = await endpoints_ready(net, "nginx-service", 2)
    await proxy_has(net, "nginx-service", ips)
    for _ in range(6):
        code, body = await wget(net, "http://nginx-service:8000")
        assert code == 0, body
        assert "Welcome to nginx!" in body
    # each nginx logged some of the requests (access_log to stdout): the Service spread them
    pods = [
        p
        for p in (await net.api.list("pods", "default"))["items"]
        if p["metadata"]["name"].startswith("nginx-")
    ]
    for p in pods:
        cid = await container_id(net.runtime, net.node, p["metadata"]["name"], "nginx")
        assert cid
        lines = [line async for line in net.runtime.logs(cid)]
        assert any("GET / " in line for line in lines), f"{p['metadata']['name']} got no request"


async def test_unready_and_killed_endpoints(net: Net) -> None:
    await net.api.create("deployments", httpd_deployment("web", 2))
    await net.api.create(
        "services", service("web", {"app": "web"}, [{"name": "http", "port": 80, "targetPort": "http"}])
    )
    ips = await endpoints_ready(net, "web", 2)
    await proxy_has(net, "web", ips, "http")

    async def hosts(n: int) -> list[str]:
        out = []
        for _ in range(n):
            code, body = await wget(net, "http://web/")
            assert code == 0, body
            out.append(body.strip())
        return out

    names = set(await hosts(6))
    assert len(names) == 2, names  # round robin over both ready pods

    # one pod turns unready: it gets no new requests
    unready = sorted(names)[0]
    code, _ = await exec_in(net.runtime, net.node, unready, ["rm", "/tmp/ready"], "web")
    assert code == 0
    await endpoints_ready(net, "web", 1)
    assert set(await hosts(6)) == {sorted(names)[1]}
    await exec_in(net.runtime, net.node, unready, ["touch", "/tmp/ready"], "web")
    ips = await endpoints_ready(net, "web", 2)
    await proxy_has(net, "web", ips, "http")

    # a pod's container is killed: every new request still gets an answer: at once in userspace
    # mode (the relay skips it); in iptables mode once its Endpoints change (as with kube-proxy)
    cid = await container_id(net.runtime, net.node, sorted(names)[1], "web")
    assert cid
    await net.runtime.kill(cid)
    if net.mode == "userspace":
        answers = await hosts(6)
        assert all(answers), answers
        return

    async def all_answer() -> bool:
        for _ in range(6):
            code, body = await wget(net, "http://web/")
            if code != 0 or not body.strip():
                return False
        return True

    await wait_for(all_answer, 60, "every request answered after the kill")


async def test_session_affinity_and_node_port(net: Net) -> None:
    await net.api.create("deployments", httpd_deployment("sticky", 2))
    ports = [{"port": 80, "targetPort": 8080}]
    await net.api.create("services", service("sticky", {"app": "sticky"}, ports, sessionAffinity="ClientIP"))
    await net.api.create("services", service("sticky-np", {"app": "sticky"}, ports, type="NodePort"))
    ips = await endpoints_ready(net, "sticky", 2)
    await proxy_has(net, "sticky", ips)
    answers = set()
    for _ in range(5):
        code, body = await wget(net, "http://sticky/")
        assert code == 0, body
        answers.add(body.strip())
    assert len(answers) == 1, answers  # one client IP: one pod

    svc = await net.api.get("services", "sticky-np", "default")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    await endpoints_ready(net, "sticky-np", 2)
    await proxy_has(net, "sticky-np", ips)

    async def answers_on(host: str, port: int) -> str | None:
        try:
            return (await http_get(host, port)).strip() or None
        except OSError:
            return None

    seen = {await wait_for(lambda: answers_on(net.host_ip, node_port), 10, "the node port")}
    seen.add(await wait_for(lambda: answers_on("127.0.0.1", node_port), 10, "the node port on loopback"))
    # and the ClusterIP itself from the host (the OUTPUT rule)
    seen.add(
        await wait_for(lambda: answers_on(svc["spec"]["clusterIP"], 80), 10, "the ClusterIP from the host")
    )
    assert seen <= {p for p in answers} | set(await _pod_names(net, "sticky"))


async def _pod_names(net: Net, app: str) -> list[str]:
    return [
        p["metadata"]["name"]
        for p in (await net.api.list("pods", "default"))["items"]
        if (p["metadata"].get("labels") or {}).get("app") == app
    ]


async def test_dns_names_srv_headless_and_env(net: Net) -> None:
    await net.api.create("deployments", httpd_deployment("hl", 2))
    await net.api.create(
        "services",
        service("hl", {"app": "hl"}, [{"name": "http", "port": 8080}], clusterIP="None"),
    )
    await net.api.create(
        "services",
        service("named", {"app": "hl"}, [{"name": "web-port", "port": 81, "targetPort": "http"}]),
    )
    pod_ips = await endpoints_ready(net, "hl", 2)
    named = await net.api.get("services", "named", "default")
    ip = named["spec"]["clusterIP"]
    await client(net)

    async def lookup(*args: str) -> str:
        # busybox nslookup tries every search domain and exits 1 if any is NXDOMAIN: read its output
        _code, out = await exec_in(net.runtime, net.node, "client", ["nslookup", *args])
        return out

    assert ip in await lookup("named")
    assert ip in await lookup("named.default.svc.cluster.local")
    assert "10.96.0.10" in await lookup("kube-dns.kube-system.svc.cluster.local")
    # (busybox's nslookup applies search domains only to names without a dot: "kube-dns.default",
    # through the search list and ndots:5, is checked with glibc's resolver by the dns-proxy test)
    out = await lookup("hl.default.svc.cluster.local")
    assert pod_ips <= {w for w in out.replace("\n", " ").split() if w.count(".") == 3}, out
    out = await lookup("-type=srv", "_web-port._tcp.named.default.svc.cluster.local")
    assert "81" in out and "named.default.svc.cluster.local" in out, out

    # the same from the host, through the ClusterIP of kube-dns, over UDP and TCP
    q = DNSRecord.question("_http._tcp.hl.default.svc.cluster.local", "SRV")
    for tcp in (False, True):
        reply = DNSRecord.parse(await asyncio.to_thread(q.send, "10.96.0.10", 53, tcp, 5))
        assert {rr.rdata.port for rr in reply.rr if rr.rtype == QTYPE.SRV} == {8080}
        assert {str(rr.rdata) for rr in reply.ar if rr.rtype == QTYPE.A} == pod_ips

    # resolv.conf and the service variables of a pod made now
    await net.api.create("pods", pod("envcheck", "exec sleep 3600"))
    none_dns = pod(
        "dnsnone",
        "exec sleep 3600",
        dnsPolicy="None",
        dnsConfig={
            "nameservers": ["192.0.2.53"],
            "searches": ["example.test"],
            "options": [{"name": "ndots", "value": "2"}],
        },
    )
    await net.api.create("pods", none_dns)
    await running_pod(net, "envcheck")
    await running_pod(net, "dnsnone")
    _, resolv = await exec_in(net.runtime, net.node, "envcheck", ["cat", "/etc/resolv.conf"])
    assert "nameserver 10.96.0.10" in resolv
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
    assert "ndots:5" in resolv
    _, resolv = await exec_in(net.runtime, net.node, "dnsnone", ["cat", "/etc/resolv.conf"])
    assert "nameserver 192.0.2.53" in resolv and "10.96.0.10" not in resolv
    assert "search example.test" in resolv and "ndots:2" in resolv
    _, env = await exec_in(net.runtime, net.node, "envcheck", ["env"])
    lines = set(env.splitlines())
    assert f"NAMED_SERVICE_HOST={ip}" in lines
    assert "NAMED_SERVICE_PORT=81" in lines
    assert "NAMED_SERVICE_PORT_WEB_PORT=81" in lines
    assert f"NAMED_PORT=tcp://{ip}:81" in lines
    assert not any(line.startswith("HL_SERVICE_HOST") for line in lines)  # headless: none


async def test_seed_dns_proxy_pod_answers_on_port_53(net: Net) -> None:
    code, _out, err = await jetkube(net.url, "apply", "-f", str(SEED_EXAMPLES / "pod-dns-proxy.yaml"))
    assert code == 0, err
    # proxy-to-service resolves kube-dns.default when it starts and exits if that fails, so under
    # load it may go through a crash-loop back-off or two before it is Ready
    await running_pod(net, "dns-proxy", timeout=180)
    q = DNSRecord.question("kube-dns.kube-system.svc.cluster.local", "A")

    async def ask(tcp: bool) -> set[str] | None:
        try:
            raw = await asyncio.to_thread(q.send, net.host_ip, 53, tcp, 3)
        except (TimeoutError, OSError):
            return None
        return {str(rr.rdata) for rr in DNSRecord.parse(raw).rr if rr.rtype == QTYPE.A} or None

    assert await wait_for(lambda: ask(False), 30, "a UDP answer on the node's port 53") == {"10.96.0.10"}
    assert await wait_for(lambda: ask(True), 30, "a TCP answer on the node's port 53") == {"10.96.0.10"}
