"""What the node-engines bed's tests share: each node's own engine, the bed whole again, pods
pinned to nodes, a small TCP and UDP server that answers with the address it saw the client come
from, and `jetkube exec` against the bed.

The server and the client are perl one-liners in the ``perl`` image (Debian with perl): the server
answers ``tcp from <peer IP>`` on TCP 5000 and ``udp from <peer IP>`` on UDP 5001, so the receiver's
view of the sender is what the client prints. busybox's wget segfaults with ``-T`` on this machine
(busybox 1.35), so the HTTP clients here use wget without it, under ``timeout``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bus.client import ApiClient
from cli.testbed import NODE_LABEL, NODES, SERVER, Testbed
from tests.testbed.helpers import Obj, bed_api, poll, ready_nodes, running

REPO = Path(__file__).resolve().parents[2]
BED_SERVICES = 12  # compose.node-engines.yaml: 3 NATS, 2 control planes, the DNS, 3 hosts, 3 kubelets
SERVICE_OF = {node: service for service, node in NODES.items()}


def bed() -> Testbed:
    return Testbed.find(REPO / "compose.node-engines.yaml")


def engine_containers(node: str, *, running_only: bool = True, labelled: bool = True) -> list[Obj]:
    """The containers a node's own engine holds (``docker exec nodeN-host docker ps``): id, pod
    namespace/name/uid, type, node label, state. ``labelled=False``: every container of that engine."""
    b = bed()
    service = SERVICE_OF[node]
    args = ["ps", "-q", *(["--filter", f"label={NODE_LABEL}={node}"] if labelled else [])]
    if not running_only:
        args.insert(1, "-a")
    ids = b.node_docker(service, *args).split()
    if not ids:
        return []
    out = []
    for item in json.loads(b.node_docker(service, "inspect", *ids, check=False) or "[]"):
        labels = item["Config"].get("Labels") or {}
        out.append(
            {
                "id": item["Id"],
                "namespace": labels.get("io.jetkube.pod.namespace", ""),
                "pod": labels.get("io.jetkube.pod.name", ""),
                "type": labels.get("io.jetkube.type", ""),
                "node": labels.get(NODE_LABEL, ""),
                "running": bool(item["State"].get("Running")),
            }
        )
    return out


async def wait_bed_whole(testbed: Testbed, timeout: float = 120.0) -> None:
    """Every container of the bed running and the three nodes Ready."""

    async def whole() -> bool:
        states = {r["service"]: r["state"] for r in await asyncio.to_thread(testbed.containers)}
        if len(states) < BED_SERVICES or any(s != "running" for s in states.values()):
            return False
        async with bed_api() as api:
            return await ready_nodes(api) == set(NODES.values())

    await poll(whole, timeout, f"the bed whole again ({BED_SERVICES} containers running, 3 nodes Ready)")


TCP_PORT = 5000
UDP_PORT = 5001

ECHO_SERVER = r"""
use IO::Socket::INET;
$SIG{CHLD} = "IGNORE";
if (fork() == 0) {
    my $u = IO::Socket::INET->new(LocalPort => 5001, Proto => "udp") or die "udp: $!";
    while (1) {
        my $peer = $u->recv(my $buf, 1500);
        next unless defined $peer;
        my ($port, $addr) = sockaddr_in($peer);
        $u->send("udp from " . inet_ntoa($addr) . "\n", 0, $peer);
    }
}
my $t = IO::Socket::INET->new(LocalPort => 5000, Listen => 16, ReuseAddr => 1) or die "tcp: $!";
while (1) {
    my $c = $t->accept or next;
    print $c "tcp from " . $c->peerhost . "\n";
    close $c;
}
"""

ECHO_CLIENT = r"""
use IO::Socket::INET;
my ($proto, $ip, $port) = @ARGV;
alarm 4;
if ($proto eq "tcp") {
    my $s = IO::Socket::INET->new(PeerAddr => $ip, PeerPort => $port, Timeout => 3) or die "connect: $!\n";
    print scalar <$s>;
} else {
    my $s = IO::Socket::INET->new(PeerAddr => $ip, PeerPort => $port, Proto => "udp") or die "udp: $!\n";
    $s->send("hello");
    $s->recv(my $buf, 1500);
    print $buf;
}
"""


def echo_pod(name: str, node: str, labels: dict[str, str] | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "echo",
                    "image": "perl",
                    "command": ["perl", "-e", ECHO_SERVER],
                    "ports": [{"containerPort": TCP_PORT}, {"containerPort": UDP_PORT, "protocol": "UDP"}],
                }
            ],
        },
    }


def busybox_pod(name: str, node: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}],
        },
    }


def nginx_pod(name: str, node: str, labels: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]}],
        },
    }


async def cli(*args: str, check: bool = True, timeout: float = 30) -> str:
    """``jetkube --server <bed> ARGS``; its stdout (stderr too when it fails and ``check``)."""

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "--server", SERVER, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=REPO,
        )

    proc = await asyncio.to_thread(run)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"jetkube {' '.join(args[:4])}...: exit {proc.returncode}: {proc.stderr.strip()[-400:]}"
        )
    return proc.stdout


async def exec_in(namespace: str, pod: str, *command: str) -> tuple[int, str]:
    """`jetkube exec` in a pod: (exit code, stdout + stderr)."""

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "cli.main",
                "--server",
                SERVER,
                "exec",
                "-n",
                namespace,
                pod,
                "--",
                *command,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            cwd=REPO,
        )

    proc = await asyncio.to_thread(run)
    return proc.returncode, proc.stdout + proc.stderr


async def echo_from(namespace: str, client: str, proto: str, ip: str) -> str:
    """What the echo server at ``ip`` answered the client pod ('' when it did not)."""
    port = TCP_PORT if proto == "tcp" else UDP_PORT
    code, out = await exec_in(namespace, client, "perl", "-e", ECHO_CLIENT, proto, ip, str(port))
    return out.strip() if code == 0 else ""


async def reaches(namespace: str, client: str, ip: str, want_client_ip: str) -> bool:
    """Whether pod ``client`` reaches the echo server at ``ip`` over TCP and is seen there from
    ``want_client_ip`` (its own pod IP: no NAT between pods)."""
    return await echo_from(namespace, client, "tcp", ip) == f"tcp from {want_client_ip}"


async def wget_from(namespace: str, client: str, url: str) -> str:
    """The body busybox's wget fetched from ``url`` in the client pod ('' when it failed)."""
    code, out = await exec_in(namespace, client, "timeout", "5", "wget", "-qO-", url)
    return out if code == 0 else ""


async def running_pods(
    api: ApiClient, namespace: str, names: list[str], timeout: float = 90
) -> dict[str, Obj]:
    """Wait until every named pod is Running with an IP; name -> pod."""

    async def check() -> dict[str, Obj] | None:
        items = {p["metadata"]["name"]: p for p in (await api.list("pods", namespace=namespace))["items"]}
        ok = {
            n: items[n] for n in names if n in items and running(items[n]) and items[n]["status"].get("podIP")
        }
        return ok if len(ok) == len(names) else None

    return await poll(check, timeout, f"pods {names} Running with an IP")


def pod_ip(pod: Obj) -> str:
    return str(pod["status"]["podIP"])


def in_subnet(ip: str, cidr: str | None) -> bool:
    return bool(cidr) and ipaddress.ip_address(ip) in ipaddress.ip_network(str(cidr))


async def node_subnets(api: ApiClient) -> dict[str, Any]:
    """node name -> spec.podCIDR (None until the control plane gave it one)."""
    return {n["metadata"]["name"]: n["spec"].get("podCIDR") for n in (await api.list("nodes"))["items"]}


async def make_namespace(api: ApiClient, namespace: str) -> None:
    await api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


async def drop_namespace(api: ApiClient, namespace: str) -> None:
    await api.delete("namespaces", namespace)

    async def gone() -> bool:
        return namespace not in {n["metadata"]["name"] for n in (await api.list("namespaces"))["items"]}

    await poll(gone, 60, f"namespace {namespace} deleted")
