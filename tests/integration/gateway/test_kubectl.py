"""The real kubectl (/usr/bin/kubectl) against the gateway: the seed's examples verbatim, the
commands of the seed, errors as kubectl prints them, and a user without rights refused."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.integration.gateway.conftest import KUBECTL, VIEWER_TOKEN, Cluster
from tests.seedpaths import SEED_EXAMPLES
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio


async def test_the_seed_examples_through_create_get_describe_patch_replace_scale_delete(
    cluster: Cluster,
) -> None:
    deployment = str(SEED_EXAMPLES / "deployment-nginx-prestop.yaml")  # extensions/v1beta1, as written
    service = str(SEED_EXAMPLES / "service-nginx.yaml")
    pod = str(SEED_EXAMPLES / "pod-liveness-exec.yaml")
    assert (await cluster.ok("create", "-f", deployment)).strip() == "deployment.apps/nginx created"
    assert (await cluster.ok("create", "-f", service)).strip() == "service/nginx-service created"
    assert (await cluster.ok("create", "-f", pod)).strip() == "pod/liveness-exec created"

    again = await cluster.kubectl("create", "-f", service)
    assert again.code == 1
    assert "Error from server (AlreadyExists): error when creating" in again.err
    assert 'services "nginx-service" already exists' in again.err

    pods = (await cluster.ok("get", "pods")).splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods[1].split()[:4] == ["liveness-exec", "0/1", "Pending", "0"]
    wide = (await cluster.ok("get", "deploy", "-o", "wide")).splitlines()
    assert wide[0].split()[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert wide[1].split()[0] == "nginx" and "app=nginx" in wide[1]
    everything = await cluster.ok("get", "all")
    assert "pod/liveness-exec" in everything and "service/nginx-service" in everything
    assert "deployment.apps/nginx" in everything

    described = await cluster.ok("describe", "deployment", "nginx")
    assert "Selector:               app=nginx" in described

    await cluster.ok("patch", "svc", "nginx-service", "-p", '{"metadata":{"labels":{"tier":"web"}}}')
    assert (await cluster.json("get", "svc", "nginx-service"))["metadata"]["labels"] == {"tier": "web"}
    assert "service/nginx-service replaced" in await cluster.ok("replace", "-f", service)
    assert "labels" not in (await cluster.json("get", "svc", "nginx-service"))["metadata"]

    assert "deployment.apps/nginx scaled" in await cluster.ok("scale", "deployment", "nginx", "--replicas=3")
    assert (await cluster.json("get", "deployment", "nginx"))["spec"]["replicas"] == 3

    assert 'service "nginx-service" deleted' in await cluster.ok("delete", "-f", service)
    missing = await cluster.kubectl("get", "svc", "nginx-service")
    assert missing.code == 1
    assert missing.err.strip() == 'Error from server (NotFound): services "nginx-service" not found'


async def test_discovery_serves_every_registry_kind_with_short_names(cluster: Cluster) -> None:
    from schemas.registry import all_resources

    rows = [line.split() for line in (await cluster.ok("api-resources", "--no-headers")).splitlines()]
    names = {(r[0], r[-3]) for r in rows}
    for info in all_resources():
        assert (info.plural, info.api_version) in names, info.plural
    assert ["pods", "po", "v1", "true", "Pod"] in rows
    explained = await cluster.ok("explain", "pods.spec.containers")
    assert "FIELD: containers" in explained and "image" in explained


async def test_get_watch_prints_changes_as_they_happen(cluster: Cluster, api: object) -> None:
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "get",
        "configmaps",
        "-w",
        "--output-watch-events",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cluster.env,
    )
    try:
        from bus.client import ApiClient

        assert isinstance(api, ApiClient)
        seen: list[str] = []

        async def line_with(text: str) -> bool:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
            seen.append(line)
            return text in line

        for name in ("first", "second"):
            await api.create("configmaps", {"metadata": {"name": name, "namespace": "default"}, "data": {}})
            await wait_for(lambda n=name: line_with(n), 20, f"kubectl get -w printing {name}")
        assert any(line.split()[:2] == ["ADDED", "first"] for line in seen), seen
        assert cluster.gateway.rest.watching == 1
    finally:
        proc.kill()
        await proc.wait()

    async def released() -> bool:
        return cluster.gateway.rest.watching == 0

    await wait_for(released, 10, "the gateway to end the watch kubectl left")


async def test_a_viewer_reads_but_cannot_write_and_a_bad_token_is_unauthorized(cluster: Cluster) -> None:
    viewer = cluster.with_token(VIEWER_TOKEN)
    assert "default" in await viewer.ok("get", "namespaces")
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n"
    refused = await viewer.kubectl("create", "-f", "-", stdin=manifest)
    assert refused.code == 1
    assert refused.err.strip() == (
        'Error from server (Forbidden): error when creating "STDIN": configmaps is forbidden: User "viewer" '
        'cannot create resource "configmaps" in API group "" in the namespace "default"'
    )
    assert json.loads(await cluster.ok("get", "configmaps", "-o", "json"))["items"] == []
    bad = await cluster.with_token("wrong").kubectl("get", "pods")
    assert bad.code == 1 and "Unauthorized" in bad.err


async def test_typed_commands_send_protobuf_and_are_understood(cluster: Cluster) -> None:
    """create namespace/deployment/configmap/secret, run and auth can-i use kubectl's typed
    clients, which send Kubernetes protobuf."""
    assert (await cluster.ok("create", "namespace", "team")).strip() == "namespace/team created"
    await cluster.ok(
        "create", "deployment", "web", "--image=nginx", "--replicas=2", "--port=80", "-n", "team"
    )
    deployment = await cluster.json("get", "deployment", "web", "-n", "team")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["ports"][0]["containerPort"]) == ("nginx", 80)
    await cluster.ok("create", "secret", "generic", "creds", "--from-literal=password=s3cret")
    assert (await cluster.ok("get", "secret", "creds", "-o", "jsonpath={.data.password}")) == "czNjcmV0"
    await cluster.ok("run", "one", "--image=busybox", "--labels=app=one")
    assert (await cluster.json("get", "pod", "one"))["metadata"]["labels"] == {"app": "one"}

    assert (await cluster.ok("auth", "can-i", "create", "pods")).strip() == "yes"
    as_viewer = await cluster.kubectl("auth", "can-i", "create", "pods", "--as", "viewer")
    assert (as_viewer.code, as_viewer.out.strip()) == (1, "no")
    assert (await cluster.ok("auth", "can-i", "list", "pods", "--as", "viewer")).strip() == "yes"


async def test_the_seeds_node_maintenance_patch_cordon_and_drain(cluster: Cluster, api: object) -> None:
    from bus.client import ApiClient

    assert isinstance(api, ApiClient)
    await api.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    pod = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]},
    }
    await api.create("pods", pod)
    await cluster.ok("patch", "nodes", "n1", "-p", '{"spec":{"unschedulable":true}}')
    assert (await api.get("nodes", "n1"))["spec"]["unschedulable"] is True
    assert (await cluster.ok("uncordon", "n1")).strip() == "node/n1 uncordoned"
    drained = await cluster.ok("drain", "n1", "--force", "--grace-period=0", "--timeout=20s")
    assert "pod/p evicted" in drained and "node/n1 drained" in drained  # through pods/eviction
    assert (await api.list("pods", "default"))["items"] == []
    assert "SchedulingDisabled" in await cluster.ok("get", "nodes")


async def test_get_pages_with_limit_and_continue(cluster: Cluster, api: object) -> None:
    from bus.client import ApiClient

    assert isinstance(api, ApiClient)
    for i in range(5):
        await api.create("configmaps", {"metadata": {"name": f"cm{i}", "namespace": "default"}})
    names = (await cluster.ok("get", "configmaps", "--chunk-size=2", "-o", "name")).split()
    assert names == [f"configmap/cm{i}" for i in range(5)]


async def test_apply_client_side_and_server_side(cluster: Cluster) -> None:
    service = str(SEED_EXAMPLES / "service-nginx.yaml")
    job = str(SEED_EXAMPLES / "job-pi.yaml")
    assert (await cluster.ok("apply", "-f", job)).strip() == "job.batch/pi created"
    assert (await cluster.ok("apply", "-f", job)).strip() == "job.batch/pi unchanged"
    assert (
        await cluster.ok("apply", "--server-side", "-f", service)
    ).strip() == "service/nginx-service serverside-applied"
    changed = (SEED_EXAMPLES / "service-nginx.yaml").read_text().replace("port: 8000", "port: 8001")
    await cluster.ok("apply", "--server-side", "-f", "-", stdin=changed)
    ports = (await cluster.json("get", "svc", "nginx-service"))["spec"]["ports"]
    assert [p["port"] for p in ports] == [8001]  # the port this manager applied before is gone


async def test_server_dry_runs_and_diff_change_nothing(cluster: Cluster) -> None:
    service = SEED_EXAMPLES / "service-nginx.yaml"
    await cluster.ok("apply", "-f", str(service))  # diff's patch is apply's three-way one
    before = await cluster.json("get", "svc", "nginx-service")
    dry = await cluster.ok(
        "patch", "svc", "nginx-service", "-p", '{"metadata":{"labels":{"a":"b"}}}', "--dry-run=server"
    )
    assert dry.strip() == "service/nginx-service patched"  # sent with dryRun=All: nothing written
    changed = service.read_text().replace("port: 8000", "port: 8001")
    diff = await cluster.kubectl("diff", "-f", "-", stdin=changed)
    assert diff.code == 1, diff.err  # kubectl diff: 1 when there are differences
    assert "-  - port: 8000" in diff.out and "+  - port: 8001" in diff.out
    assert await cluster.json("get", "svc", "nginx-service") == before
