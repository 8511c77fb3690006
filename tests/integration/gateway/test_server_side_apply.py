"""Server-side apply with the real kubectl (/usr/bin/kubectl) and the Python ``kubernetes`` client
against the gateway: managedFields, conflicts between managers worded as kube-apiserver words them,
``--force-conflicts``, ``kubectl scale`` then apply, fields dropped from the configuration."""

from __future__ import annotations

import pytest

from tests.integration.gateway.conftest import Cluster

pytestmark = pytest.mark.asyncio


def deployment(replicas: int = 2, image: str = "busybox:1.36", extra_env: bool = True) -> str:
    env = "\n        env:\n        - {name: A, value: a}" if extra_env else ""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {{app: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: c
        image: {image}
        command: [sleep, "3600"]
        ports:
        - containerPort: 80{env}
"""


def entries(obj: dict) -> dict[tuple[str, str], dict]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields") or []}


async def test_apply_creates_and_updates_with_managed_fields(cluster: Cluster) -> None:
    out = await cluster.ok("apply", "--server-side", "-f", "-", stdin=deployment())
    assert out.strip() == "deployment.apps/web serverside-applied"
    obj = await cluster.json("get", "deploy", "web", "--show-managed-fields")
    mine = entries(obj)[("kubectl", "Apply")]
    assert mine["apiVersion"] == "apps/v1" and mine["fieldsType"] == "FieldsV1" and mine["time"]
    fields = mine["fieldsV1"]
    assert fields["f:spec"]["f:replicas"] == {}
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}']
    assert container["."] == {} and container["f:image"] == {}
    assert 'k:{"containerPort":80}' in container["f:ports"]
    assert 'k:{"name":"A"}' in container["f:env"]
    # kubectl hides them unless asked
    assert "managedFields" not in (await cluster.json("get", "deploy", "web"))["metadata"]
    shown = await cluster.ok("get", "deploy", "web", "-o", "yaml", "--show-managed-fields")
    assert "managedFields:" in shown and "manager: kubectl" in shown
    # the env this manager applied before and drops now is removed; the image changes
    await cluster.ok(
        "apply", "--server-side", "-f", "-", stdin=deployment(image="busybox:1.37", extra_env=False)
    )
    obj = await cluster.json("get", "deploy", "web")
    c = obj["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "busybox:1.37" and "env" not in c
    assert obj["spec"]["replicas"] == 2


async def test_a_second_manager_conflicts_then_forces(cluster: Cluster) -> None:
    await cluster.ok("apply", "--server-side", "-f", "-", stdin=deployment(replicas=2))
    other = deployment(replicas=5)
    run = await cluster.kubectl("apply", "--server-side", "--field-manager=other", "-f", "-", stdin=other)
    assert run.code != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas' in run.err, (
        run.err
    )
    assert "--force-conflicts" in run.err  # kubectl's own advice after a conflict
    assert (await cluster.json("get", "deploy", "web"))["spec"]["replicas"] == 2
    # the same values as the first manager: shared ownership, no conflict
    same = await cluster.kubectl(
        "apply", "--server-side", "--field-manager=other", "-f", "-", stdin=deployment(replicas=2)
    )
    assert same.code == 0, same.err
    both = entries(await cluster.json("get", "deploy", "web", "--show-managed-fields"))
    assert "f:replicas" in both[("kubectl", "Apply")]["fieldsV1"]["f:spec"]
    assert "f:replicas" in both[("other", "Apply")]["fieldsV1"]["f:spec"]
    # forced: other takes .spec.replicas, kubectl loses it
    await cluster.ok(
        "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-", stdin=other
    )
    obj = await cluster.json("get", "deploy", "web", "--show-managed-fields")
    assert obj["spec"]["replicas"] == 5
    owners = entries(obj)
    assert "f:replicas" not in owners[("kubectl", "Apply")]["fieldsV1"]["f:spec"]
    assert "f:replicas" in owners[("other", "Apply")]["fieldsV1"]["f:spec"]


async def test_scale_then_apply(cluster: Cluster) -> None:
    await cluster.ok("apply", "--server-side", "-f", "-", stdin=deployment(replicas=2))
    await cluster.ok("scale", "deploy", "web", "--replicas=4")
    obj = await cluster.json("get", "deploy", "web", "--show-managed-fields")
    assert obj["spec"]["replicas"] == 4
    scalers = [e for e in obj["metadata"]["managedFields"] if e.get("subresource") == "scale"]
    assert scalers and scalers[0]["operation"] == "Update"
    assert "f:replicas" in scalers[0]["fieldsV1"]["f:spec"]
    run = await cluster.kubectl("apply", "--server-side", "-f", "-", stdin=deployment(replicas=2))
    assert run.code != 0
    assert f'conflict with "{scalers[0]["manager"]}" with subresource "scale" using apps/v1' in run.err, (
        run.err
    )
    assert ": .spec.replicas" in run.err
    # a configuration that leaves replicas out leaves the scaled count alone
    without = deployment().replace("  replicas: 2\n", "")
    await cluster.ok("apply", "--server-side", "-f", "-", stdin=without)
    assert (await cluster.json("get", "deploy", "web"))["spec"]["replicas"] == 4
