"""The real ``kubectl port-forward`` (SPDY over WebSocket) through the gateway to a busybox pod
that a real kubelet runs on the local Docker engine: a pod's three ports at once, a Service's port,
two connections open together, a 1.3 MB body whole, 3 MiB echoed back (both ways at once), a port
nothing listens on (the kubelet's error, printed by kubectl, which then stops as against
Kubernetes), an unknown pod (NotFound) and a user without ``create pods/portforward`` (403)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bus.connection import Bus
from bus.store import Store
from tests.e2e.ingress.cluster import busybox_pod, service, small_cluster
from tests.integration.gateway.conftest import KUBECTL, VIEWER_TOKEN, Cluster
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio

BIG = "".join(f"{i}\n" for i in range(1, 200001))
POD = "web-1"


def two_port_pod(node: str) -> dict[str, Any]:
    script = [
        "mkdir -p /www /alt",
        f"echo {POD} > /www/index.html",
        "echo second-port > /alt/index.html",
        "seq 1 200000 > /www/big",
        "httpd -p 8081 -h /alt",
        "(nc -ll -p 9000 -e cat &)",  # an echo server: what comes in goes back, until eof
        "exec httpd -f -p 80 -h /www",
    ]
    ports = [{"name": "http", "containerPort": 80}, {"name": "alt", "containerPort": 8081}]
    return busybox_pod(POD, node, {"app": "web"}, script, ports)


@pytest.fixture
async def control_plane(
    bus: Bus, store: Store, runtime: Any, node_name: Any, tmp_path: Path
) -> AsyncIterator[str]:
    """Overrides the api-only fixture the gateway's ``cluster`` uses: the api, the endpoints
    controller and one real kubelet, running the httpd pod; yields the node's name."""
    from bus.client import ApiClient

    node = node_name("pf")
    async with small_cluster(bus, store, node, tmp_path / "kubelet") as api:
        await api.create("pods", two_port_pod(node))
        await api.create("services", service("web", {"app": "web"}, 8000, "http"))

        async def running() -> bool:
            pod = await ApiClient(bus).get("pods", POD, "default")
            return (pod.get("status") or {}).get("phase") == "Running"

        await wait_for(running, 60, what="the httpd pod running")
        yield node


async def http_get(port: int, path: str = "/") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()


async def echo(port: int, payload: bytes) -> bytes:
    """Send ``payload`` to the pod's echo server while reading its answer, then half-close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def send() -> None:
        writer.write(payload)
        await writer.drain()
        writer.write_eof()

    try:
        sending = asyncio.ensure_future(send())
        answer = await asyncio.wait_for(reader.read(), 60)
        await sending
        return answer
    finally:
        writer.close()


def body(response: bytes) -> str:
    head, _, rest = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], response[:200]
    return rest.decode()


class PortForward:
    """``kubectl port-forward`` as a subprocess; ``ports`` maps remote port -> local port."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.ports: dict[int, int] = {}
        self.lines: list[str] = []

    async def ready(self, count: int) -> None:
        assert self.proc.stdout is not None
        while len(self.ports) < count:
            line = (await asyncio.wait_for(self.proc.stdout.readline(), 60)).decode()
            if not line:
                assert self.proc.stderr is not None
                raise AssertionError(f"kubectl ended: {(await self.proc.stderr.read()).decode()}")
            self.lines.append(line)
            found = re.fullmatch(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)\n", line)
            if found:
                self.ports[int(found.group(2))] = int(found.group(1))

    async def stop(self) -> str:
        if self.proc.returncode is None:
            self.proc.terminate()
        _, err = await asyncio.wait_for(self.proc.communicate(), 30)
        return err.decode()


async def port_forward(cluster: Cluster, *args: str) -> PortForward:
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "port-forward",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cluster.env,
    )
    return PortForward(proc)


async def test_kubectl_port_forward_two_ports_a_service_and_concurrent_connections(
    cluster: Cluster, control_plane: str
) -> None:
    pf = await port_forward(cluster, f"pod/{POD}", ":80", ":8081", ":9000")
    try:
        await pf.ready(3)

        async def answers() -> bool:  # running, but httpd may not listen yet
            try:
                return body(await http_get(pf.ports[80])).strip() == POD
            except (AssertionError, OSError):
                return False

        await wait_for(answers, 30, what="httpd answering through kubectl port-forward")
        assert body(await http_get(pf.ports[8081])).strip() == "second-port"
        assert body(await http_get(pf.ports[80], "/big")) == BIG
        payload = os.urandom(3 * 1024 * 1024)  # both ways at once, past the gateway's 1 MiB inbox
        assert await echo(pf.ports[9000], payload) == payload

        # Two connections open at once: the second is answered while the first waits.
        first_r, first_w = await asyncio.open_connection("127.0.0.1", pf.ports[80])
        second_r, second_w = await asyncio.open_connection("127.0.0.1", pf.ports[8081])
        first_w.write(b"GET / HTTP/1.0\r\n")  # not finished yet
        await first_w.drain()
        second_w.write(b"GET / HTTP/1.0\r\n\r\n")
        await second_w.drain()
        assert body(await asyncio.wait_for(second_r.read(), 30)).strip() == "second-port"
        first_w.write(b"\r\n")
        await first_w.drain()
        assert body(await asyncio.wait_for(first_r.read(), 30)).strip() == POD
        first_w.close()
        second_w.close()
        many = await asyncio.gather(*(http_get(pf.ports[80]) for _ in range(4)))
        assert [body(r).strip() for r in many] == [POD] * 4
        assert pf.proc.returncode is None
    finally:
        err = await pf.stop()
    assert "error" not in err.lower(), err

    svc = await port_forward(cluster, "svc/web", ":8000")
    try:
        await svc.ready(1)
        assert list(svc.ports) == [80]  # Service port 8000 -> targetPort "http" -> container port 80
        assert body(await http_get(svc.ports[80])).strip() == POD
    finally:
        await svc.stop()


async def test_kubectl_port_forward_errors(cluster: Cluster, control_plane: str) -> None:
    pf = await port_forward(cluster, f"pod/{POD}", ":81")
    try:
        await pf.ready(1)
        assert await http_get(pf.ports[81]) == b""  # the connection closes, nothing comes back
        code = await asyncio.wait_for(pf.proc.wait(), 30)  # kubectl >= 1.29 stops on such an error
    finally:
        err = await pf.stop()
    assert code == 1, err
    kubelets_error = r"error forwarding port 81 to pod default/web-1: failed to connect to [\d.]+:81"
    assert re.search(kubelets_error, err), err
    assert "lost connection to pod" in err, err

    missing = await cluster.kubectl("port-forward", "pod/nope", "1234")
    assert missing.code == 1
    assert missing.err.strip() == 'Error from server (NotFound): pods "nope" not found'

    viewer = await cluster.with_token(VIEWER_TOKEN).kubectl("port-forward", f"pod/{POD}", ":80")
    assert viewer.code == 1
    assert 'User "viewer" cannot create resource "pods/portforward" in API group ""' in viewer.err, viewer.err


def role_binding(user: str, role: str) -> str:
    return (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
        f"metadata: {{name: {user}-{role}, namespace: default}}\n"
        f"subjects: [{{kind: User, apiGroup: rbac.authorization.k8s.io, name: {user}}}]\n"
        f"roleRef: {{kind: ClusterRole, apiGroup: rbac.authorization.k8s.io, name: {role}}}\n"
    )


async def test_the_default_edit_role_may_port_forward_and_exec_view_may_not(
    cluster: Cluster, control_plane: str
) -> None:
    """As in Kubernetes, ``edit`` (and ``admin``) grant create on pods/portforward, pods/exec and
    pods/attach; ``view`` grants none of them (kubectl's ``--as``: the admin impersonates)."""
    await cluster.ok(
        "apply", "-f", "-", stdin=role_binding("eddie", "edit") + "---\n" + role_binding("vera", "view")
    )

    async def answer(user: str, verb: str, resource: str) -> str:
        run = await cluster.kubectl("auth", "can-i", verb, resource, f"--as={user}", "-n", "default")
        return run.out.strip()

    async def bound() -> bool:
        return await answer("eddie", "create", "pods/portforward") == "yes"

    await wait_for(bound, 30, what="the RoleBinding to edit in force")
    for verb, resource in (
        ("create", "pods/exec"),
        ("get", "pods/exec"),
        ("create", "pods/attach"),
        ("create", "pods/eviction"),
        ("get", "pods/log"),
        ("get", "secrets"),
    ):
        assert await answer("eddie", verb, resource) == "yes", (verb, resource)
    for verb, resource in (("create", "pods/portforward"), ("create", "pods/exec"), ("get", "secrets")):
        assert await answer("vera", verb, resource) == "no", (verb, resource)
    assert await answer("vera", "get", "pods/log") == "yes"
    assert await answer("eddie", "create", "endpoints") == "no"  # Kubernetes 1.22+: not edit's

    out = await cluster.ok("exec", "--as=eddie", POD, "--", "cat", "/www/index.html")
    assert out.strip() == POD
    pf = await port_forward(cluster, "--as=eddie", f"pod/{POD}", ":80")
    try:
        await pf.ready(1)

        async def answers() -> bool:
            try:
                return body(await http_get(pf.ports[80])).strip() == POD
            except (AssertionError, OSError):
                return False

        await wait_for(answers, 30, what="httpd answering through eddie's kubectl port-forward")
    finally:
        await pf.stop()

    refused = await cluster.kubectl("exec", "--as=vera", POD, "--", "true")
    assert refused.code == 1
    assert 'User "vera" cannot create resource "pods/exec"' in refused.err, refused.err
    refused = await cluster.kubectl("port-forward", "--as=vera", f"pod/{POD}", ":80")
    assert refused.code == 1
    assert 'User "vera" cannot create resource "pods/portforward"' in refused.err, refused.err


def python_client_port_forward(
    kubeconfig: str, requests: dict[int, bytes]
) -> dict[int, tuple[bytes, str | None]]:
    """The official Python client's port-forward (``v4.channel.k8s.io``), as its example does: one
    WebSocket for all of ``requests``' ports; send each request on ``pf.socket(port)``, read each
    to its end; return each port's answer and error."""
    import socket

    from kubernetes import client, config
    from kubernetes.stream import portforward

    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    ports = ",".join(str(p) for p in requests)
    pf = portforward(core.connect_get_namespaced_pod_portforward, POD, "default", ports=ports)
    out: dict[int, tuple[bytes, str | None]] = {}
    for port, request in requests.items():
        pf.socket(port).settimeout(30)
        pf.socket(port).sendall(request)
    for port in requests:
        sock, answer = pf.socket(port), b""
        while chunk := sock.recv(1024 * 1024):
            answer += chunk
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        out[port] = (answer, pf.error(port))
    return out


async def test_the_python_clients_port_forward(cluster: Cluster, control_plane: str) -> None:
    """``kubernetes.stream.portforward`` (v4.channel.k8s.io): one port, a 1.3 MB body, two ports on
    one WebSocket, and a port nothing listens on (the kubelet's error on its error channel)."""
    pytest.importorskip("kubernetes")
    kubeconfig = cluster.env["KUBECONFIG"]
    get = b"GET / HTTP/1.0\r\n\r\n"

    async def forward(requests: dict[int, bytes]) -> dict[int, tuple[bytes, str | None]]:
        return await asyncio.to_thread(python_client_port_forward, kubeconfig, requests)

    async def answers() -> bool:  # running, but httpd may not listen yet
        try:
            return body((await forward({80: get}))[80][0]).strip() == POD
        except (AssertionError, OSError):
            return False

    await wait_for(answers, 30, what="httpd answering through the Python client's port-forward")
    got, error = (await forward({80: b"GET /big HTTP/1.0\r\n\r\n"}))[80]
    assert body(got) == BIG and error is None
    both = await forward({80: get, 8081: get})
    assert body(both[80][0]).strip() == POD and body(both[8081][0]).strip() == "second-port"
    assert both[80][1] is None and both[8081][1] is None
    got, error = (await forward({81: get}))[81]
    assert got == b""
    assert error is not None and re.search(r"error forwarding port 81 to pod default/web-1", error), error
