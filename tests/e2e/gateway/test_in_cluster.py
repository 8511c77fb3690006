"""In-cluster clients end to end: a pod on the real Docker engine reads the API with the token the
kubelet mounted, through ``KUBERNETES_SERVICE_HOST``/``PORT`` (the ``default/kubernetes`` Service,
the service proxy, the gateway), trusting ``ca.crt``; RBAC decides what that ServiceAccount may do.
Then a kopf operator (PyPI ``kopf``, image images/kopf.py) runs in a pod as its own ServiceAccount
and reconciles a CRD of this test's own.

One in-process cluster: embedded NATS, the whole control plane (with the serviceaccount
controller), the HTTPS gateway publishing the in-cluster Service, the service proxy on the host's
nat table (a chain named for this run), the cluster DNS and one kubelet. The service range is not
the default one, so its ClusterIPs cannot collide with another cluster's on this host.
"""

from __future__ import annotations

import asyncio
import json
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
from tests.integration.gateway.conftest import HAVE_KUBECTL, Cluster
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="module")

PYTHON_IMAGE = "jetkube/testbed-base:bookworm"  # Debian's python3 (images/testbed/recipes.py)
SERVICE_RANGE = "10.213.0.0/16"
DNS_IP = "10.213.0.10"
NS = "robots"

# What a client library does in a pod (client-go's rest.InClusterConfig): the env for the address,
# the mounted token and CA. Each second it prints one JSON line of what the API answered.
PROBE = r"""
import json, os, ssl, time, urllib.request, urllib.error
d = "/var/run/secrets/kubernetes.io/serviceaccount"
host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
ctx = ssl.create_default_context(cafile=d + "/ca.crt")
ns = open(d + "/namespace").read()
def code(path):
    req = urllib.request.Request(f"https://{host}:{port}{path}")
    req.add_header("Authorization", "Bearer " + open(d + "/token").read())
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception as e:
        return type(e).__name__
while True:
    print(json.dumps({"ns": ns, "host": host, "pods": code(f"/api/v1/namespaces/{ns}/pods"),
                      "secrets": code(f"/api/v1/namespaces/{ns}/secrets")}), flush=True)
    time.sleep(1)
"""


@dataclass
class InCluster:
    api: Any
    kubectl: Cluster
    node: str


def _have_image(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def _check_host() -> None:
    if shutil.which("docker") is None and not os.path.exists("/var/run/docker.sock"):
        pytest.skip("no Docker engine")
    if shutil.which("iptables") is None or os.geteuid() != 0:
        pytest.skip("the service proxy needs iptables and root")
    if not HAVE_KUBECTL:
        pytest.skip("no kubectl on this machine")
    from images.build import ensure_images

    ensure_images(["pause"])
    if not _have_image(PYTHON_IMAGE):
        pytest.skip(f"no {PYTHON_IMAGE} image (python images/build.py --only testbed-base)")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InCluster]:
    _check_host()
    from actors.controlplane import ControlPlaneSettings, start_control_plane
    from actors.dns.process import start_dns
    from actors.gateway.server import Gateway
    from actors.kubelet.process import host_ip, start_kubelet
    from actors.kubelet.runtime import DockerRuntime
    from actors.proxy.process import start_proxy
    from actors.runtime.supervisor import Supervisor
    from bus.client import ApiClient
    from bus.connection import Bus
    from bus.embedded import EmbeddedNats, free_port
    from bus.store import Store
    from cli.kubeconfig import write_kubeconfig

    tmp: Path = tmp_path_factory.mktemp("incluster")
    server = EmbeddedNats(data_dir=tmp / "nats", port=free_port())
    server.start()
    node = f"e2e-{RUN_ID}-sa"
    chain = f"JKSA-{RUN_ID}"
    sup = Supervisor("incluster")
    bus = await Bus.connect(server.url, name="incluster-test")
    runtime = await DockerRuntime.connect(state_dir=tmp / "rt")
    try:
        store = await Store.open(bus)
        start_control_plane(
            sup, bus, store, ControlPlaneSettings(retry_period=0.5, service_cluster_ip_range=SERVICE_RANGE)
        )
        api = ApiClient(bus)
        gateway = Gateway(
            bus, pki_dir=tmp / "pki", tokens={}, host="0.0.0.0", port=0, in_cluster_address=host_ip()
        )
        url = await gateway.bind()
        gateway.start(sup)
        start_proxy(sup, bus, chain=chain)
        dns = start_dns(sup, bus, cluster_ip=DNS_IP, reregister_every=5)  # kubernetes.default.svc
        assert await start_kubelet(
            sup,
            bus,
            node_name=node,
            state_dir=str(tmp / "kubelet"),
            heartbeat_interval=2,
            resync_period=2,
            cluster_dns=[DNS_IP],
        ), "no Docker engine"
        home = tmp / "home"
        home.mkdir()
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(tmp / "kubeconfig")}
        os.environ["KUBECONFIG"], old = env["KUBECONFIG"], os.environ.get("KUBECONFIG")
        try:
            write_kubeconfig("incluster", url, tmp / "pki")
        finally:
            if old is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = old

        async def node_ready() -> bool:
            try:
                n = await api.get("nodes", node)
            except JetkubeError:
                return False
            return any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in n.get("status", {}).get("conditions") or []
            )

        await wait_for(node_ready, 60, "the node Ready")
        await dns.ready()
        yield InCluster(api, Cluster(url, env, tmp / "pki", gateway), node)
    finally:
        await sup.stop()
        await asyncio.gather(*(runtime.remove(c.id) for c in await runtime.list(node)))
        await runtime.close()
        await bus.close()
        await server.astop()


async def _lines(c: InCluster, pod: str) -> list[dict[str, Any]]:
    run = await c.kubectl.kubectl("logs", "-n", NS, pod, "--tail=3")
    out = []
    for line in run.out.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


async def test_a_pod_reads_the_api_with_its_mounted_token_and_rbac_decides(cluster: InCluster) -> None:
    k = cluster.kubectl
    await k.ok("create", "namespace", NS)

    async def default_account() -> bool:
        return (await k.kubectl("get", "serviceaccount", "default", "-n", NS)).code == 0

    await wait_for(default_account, 30, "the default ServiceAccount of the new namespace")
    svc = await k.json("get", "service", "kubernetes", "-n", "default")
    assert svc["spec"]["clusterIP"] == "10.213.0.1"

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe", "namespace": NS},
        "spec": {
            "nodeName": cluster.node,
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "probe", "image": PYTHON_IMAGE, "command": ["python3", "-c", PROBE]}],
        },
    }
    await k.ok("apply", "-f", "-", stdin=json.dumps(pod))
    stored = await k.json("get", "pod", "probe", "-n", NS)
    assert stored["spec"]["serviceAccountName"] == "default"
    mounts = stored["spec"]["containers"][0]["volumeMounts"]
    assert [m["mountPath"] for m in mounts] == ["/var/run/secrets/kubernetes.io/serviceaccount"]

    async def answered(pods: Any, secrets: Any) -> bool:
        lines = await _lines(cluster, "probe")
        return bool(lines) and (lines[-1]["pods"], lines[-1]["secrets"]) == (pods, secrets)

    # authenticated (not 401) but allowed nothing yet
    await wait_for(lambda: answered(403, 403), 90, "the pod's requests refused by RBAC")
    line = (await _lines(cluster, "probe"))[-1]
    assert (line["ns"], line["host"]) == (NS, "10.213.0.1")

    await k.ok("create", "role", "pod-reader", "-n", NS, "--verb=get,list", "--resource=pods")
    await k.ok(
        "create",
        "rolebinding",
        "robots-read",
        "-n",
        NS,
        "--role=pod-reader",
        f"--serviceaccount={NS}:default",
    )
    await wait_for(lambda: answered(200, 403), 30, "pods allowed by the RoleBinding, secrets still refused")
    can = await k.kubectl(
        "auth", "can-i", "list", "secrets", "-n", NS, f"--as=system:serviceaccount:{NS}:default"
    )
    assert can.out.strip() == "no"

    # deleting the ServiceAccount revokes its tokens (they are bound to its uid)
    await k.ok("delete", "serviceaccount", "default", "-n", NS)
    await wait_for(lambda: answered(401, 401), 30, "the token refused once its ServiceAccount is gone")


async def test_automount_false_mounts_nothing_and_kubectl_create_token_works(cluster: InCluster) -> None:
    k = cluster.kubectl
    await k.ok("create", "namespace", "quiet")
    await wait_for(
        lambda: _ok(k.kubectl("get", "serviceaccount", "default", "-n", "quiet")),
        30,
        "the default ServiceAccount",
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "quiet", "namespace": "quiet"},
        "spec": {
            "automountServiceAccountToken": False,
            "nodeName": cluster.node,
            "containers": [{"name": "c", "image": PYTHON_IMAGE, "command": ["sleep", "1"]}],
        },
    }
    await k.ok("apply", "-f", "-", stdin=json.dumps(pod))
    stored = await k.json("get", "pod", "quiet", "-n", "quiet")
    assert not stored["spec"].get("volumes")
    assert not stored["spec"]["containers"][0].get("volumeMounts")

    token = (await k.ok("create", "token", "default", "-n", "quiet")).strip()
    as_sa = k.with_token(token)
    refused = await as_sa.kubectl("get", "pods", "-n", "quiet")
    assert refused.code == 1
    assert 'User "system:serviceaccount:quiet:default" cannot list resource "pods"' in refused.err


async def _ok(run: Any) -> bool:
    return (await run).code == 0


KOPF_IMAGE = "jetkube/kopf:1.45.2"  # images/kopf.py
OPERATOR = """
import kopf

@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_):
    settings.watching.server_timeout = 30
    settings.persistence.finalizer = "greetings.kopf.jetkube.io/finalizer"

@kopf.on.create("kopf.jetkube.io", "v1", "greetings")
@kopf.on.update("kopf.jetkube.io", "v1", "greetings")
def greet(spec, patch, **_):
    patch.status["message"] = "hello, " + spec.get("who", "nobody")

@kopf.on.delete("kopf.jetkube.io", "v1", "greetings")
def farewell(name, logger, **_):
    logger.info("farewell %s", name)
"""
GREETINGS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "greetings.kopf.jetkube.io"},
    "spec": {
        "group": "kopf.jetkube.io",
        "scope": "Namespaced",
        "names": {"plural": "greetings", "singular": "greeting", "kind": "Greeting"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {"who": {"type": "string"}}},
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    }
                },
            }
        ],
    },
}
OPERATOR_RBAC = [
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "greeter"},
        "rules": [
            {
                "apiGroups": ["kopf.jetkube.io"],
                "resources": ["greetings", "greetings/status"],
                "verbs": ["*"],
            },
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
            {
                "apiGroups": ["apiextensions.k8s.io"],
                "resources": ["customresourcedefinitions"],
                "verbs": ["get", "list", "watch"],
            },
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "greeter"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "greeter"},
        "subjects": [{"kind": "ServiceAccount", "name": "greeter", "namespace": "operators"}],
    },
]


async def test_a_kopf_operator_in_a_pod_reconciles_its_custom_resources(cluster: InCluster) -> None:
    if not _have_image(KOPF_IMAGE):
        pytest.skip(f"no {KOPF_IMAGE} image (python images/build.py --only kopf)")
    k = cluster.kubectl
    await k.ok("apply", "-f", "-", stdin=json.dumps(GREETINGS_CRD))
    await k.ok("create", "namespace", "operators")
    await k.ok("create", "serviceaccount", "greeter", "-n", "operators")
    for obj in OPERATOR_RBAC:
        await k.ok("apply", "-f", "-", stdin=json.dumps(obj))
    await k.ok("create", "configmap", "operator", "-n", "operators", f"--from-literal=operator.py={OPERATOR}")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "kopf", "namespace": "operators"},
        "spec": {
            "nodeName": cluster.node,
            "serviceAccountName": "greeter",
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "operator",
                    "image": KOPF_IMAGE,
                    "command": [
                        "python3",
                        "-m",
                        "kopf",
                        "run",
                        "--standalone",
                        "--namespace=operators",
                        "/op/operator.py",
                    ],
                    "volumeMounts": [{"name": "code", "mountPath": "/op"}],
                }
            ],
            "volumes": [{"name": "code", "configMap": {"name": "operator"}}],
        },
    }
    await k.ok("apply", "-f", "-", stdin=json.dumps(pod))
    greeting = {
        "apiVersion": "kopf.jetkube.io/v1",
        "kind": "Greeting",
        "metadata": {"name": "hi", "namespace": "operators"},
        "spec": {"who": "world"},
    }
    await k.ok("apply", "-f", "-", stdin=json.dumps(greeting))

    async def message(expected: str) -> bool:
        run = await k.kubectl("get", "greeting", "hi", "-n", "operators", "-o", "jsonpath={.status.message}")
        return run.out == expected

    try:
        await wait_for(lambda: message("hello, world"), 60, "kopf's status on the new Greeting")
        await k.ok(
            "patch", "greeting", "hi", "-n", "operators", "--type=merge", "-p", '{"spec":{"who":"jetkube"}}'
        )
        await wait_for(lambda: message("hello, jetkube"), 60, "kopf's status after the update")
        got = await k.json("get", "greeting", "hi", "-n", "operators")
        assert "greetings.kopf.jetkube.io/finalizer" in got["metadata"]["finalizers"]
        await k.ok("delete", "greeting", "hi", "-n", "operators", "--wait=false")

        async def gone() -> bool:
            return (await k.kubectl("get", "greeting", "hi", "-n", "operators")).code == 1

        await wait_for(gone, 60, "the Greeting gone once kopf removed its finalizer")
    except (AssertionError, pytest.fail.Exception):
        logs = await k.kubectl("logs", "kopf", "-n", "operators", "--tail=40")
        raise AssertionError(f"the operator's log:\n{logs.out}{logs.err}") from None
