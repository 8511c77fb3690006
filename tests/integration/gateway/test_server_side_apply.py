"""Server-side apply with the real kubectl (/usr/bin/kubectl) and the Python ``kubernetes`` client
against the gateway: managedFields, conflicts between managers worded as kube-apiserver words them,
``--force-conflicts``, ``kubectl scale`` then apply, fields dropped from the configuration."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.integration.gateway.conftest import KUBECTL, Cluster

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
    # --dry-run=server: checked, answered, not written
    dry = await cluster.ok(
        "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=deployment(image="busybox:9")
    )
    assert dry.strip() == "deployment.apps/web serverside-applied (server dry run)"
    assert (await cluster.json("get", "deploy", "web"))["spec"]["template"]["spec"]["containers"][0][
        "image"
    ] == "busybox:1.37"


async def test_a_second_manager_conflicts_then_forces(cluster: Cluster) -> None:
    await cluster.ok("apply", "--server-side", "-f", "-", stdin=deployment(replicas=2))
    other = deployment(replicas=5)
    run = await cluster.kubectl("apply", "--server-side", "--field-manager=other", "-f", "-", stdin=other)
    assert run.code != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' in run.err, run.err
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


async def test_python_client_apply_patch_yaml_and_user_agent_manager(cluster: Cluster) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes.client.exceptions import ApiException

    api_client = kubernetes.config.new_client_from_config(config_file=cluster.env["KUBECONFIG"])
    core = kubernetes.client.CoreV1Api(api_client)
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg"},
        "data": {"a": "1", "b": "2"},
    }

    def apply(body: dict, manager: str, force: bool | None = None) -> Any:
        return core.patch_namespaced_config_map(
            "cfg",
            "default",
            body,
            field_manager=manager,
            force=force,
            _content_type="application/apply-patch+yaml",
        )

    created = await asyncio.to_thread(apply, config, "py")
    assert created.data == {"a": "1", "b": "2"}
    (entry,) = created.metadata.managed_fields
    assert (entry.manager, entry.operation, entry.fields_type) == ("py", "Apply", "FieldsV1")
    assert entry.fields_v1 == {"f:data": {"f:a": {}, "f:b": {}}}
    # dropping b removes it
    after = await asyncio.to_thread(apply, {**config, "data": {"a": "1"}}, "py")
    assert after.data == {"a": "1"}
    with pytest.raises(ApiException) as conflict:
        await asyncio.to_thread(apply, {**config, "data": {"a": "9"}}, "other")
    assert conflict.value.status == 409
    status = json.loads(conflict.value.body)
    assert status["reason"] == "Conflict"
    assert status["details"]["causes"] == [
        {"type": "FieldManagerConflict", "message": 'conflict with "py"', "field": ".data.a"}
    ]
    forced = await asyncio.to_thread(apply, {**config, "data": {"a": "9"}}, "other", True)
    assert forced.data == {"a": "9"}
    # a write that names no manager is recorded under the User-Agent's first word
    patched = await asyncio.to_thread(
        core.patch_namespaced_config_map, "cfg", "default", {"data": {"c": "3"}}
    )
    managers = {(e.manager, e.operation) for e in patched.metadata.managed_fields}
    assert ("OpenAPI-Generator", "Update") in managers, managers


async def test_kubectl_commands_record_their_managers_and_other_writes_still_work(
    cluster: Cluster, api: Any
) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m, labels: {a: b}}\ndata: {k: v}\n"
    await cluster.ok("create", "-f", "-", stdin=cm)
    watch = await asyncio.create_subprocess_exec(
        KUBECTL,
        *("get", "configmap", "m", "--watch", "-o", "json", "--show-managed-fields"),
        env=cluster.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await cluster.ok("patch", "configmap", "m", "-p", '{"data":{"p":"1"}}')  # strategic merge
        await cluster.ok("label", "configmap", "m", "x=y")
        obj = await cluster.json("get", "configmap", "m", "--show-managed-fields")
        assert obj["data"] == {"k": "v", "p": "1"} and obj["metadata"]["labels"] == {"a": "b", "x": "y"}
        by = {e["manager"]: e for e in obj["metadata"]["managedFields"]}
        assert set(by) == {"kubectl-create", "kubectl-patch", "kubectl-label"}
        assert by["kubectl-patch"]["fieldsV1"] == {"f:data": {"f:p": {}}}
        assert by["kubectl-label"]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:x": {}}}}
        assert all(e["operation"] == "Update" for e in by.values())
        # the watch (gateway's chunked JSON) carries the entries to kubectl
        seen = b""
        async with asyncio.timeout(30):
            while b'"kubectl-label"' not in seen:
                assert watch.stdout is not None
                seen += await watch.stdout.read(65536) or b""
        # jetkube's own api client (NATS) records the fixed default manager
        await api.patch("configmaps", "m", {"data": {"n": "1"}}, "merge", "default")
        current = await api.get("configmaps", "m", "default")
        assert "jetkube" in {e["manager"] for e in current["metadata"]["managedFields"]}
    finally:
        watch.terminate()
        await watch.wait()


async def test_the_old_apply_annotation_is_migrated_once(cluster: Cluster, api: Any) -> None:
    applied = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "old"},
        "data": {"a": "1", "b": "2"},
    }
    legacy = {
        **applied,
        "metadata": {"name": "old", "annotations": {"apply.jetkube.io/kubectl": json.dumps(applied)}},
    }
    await api.create("configmaps", legacy, "default")
    # as an object written before managedFields existed: none at all
    cleared = await api.get("configmaps", "old", "default")
    cleared["metadata"]["managedFields"] = [{}]  # Kubernetes' way to strip them
    cleared = await api.update("configmaps", cleared, "default")
    assert "managedFields" not in cleared["metadata"]
    dropped = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: old}\ndata: {a: '1'}\n"
    await cluster.ok("apply", "--server-side", "-f", "-", stdin=dropped)
    obj = await cluster.json("get", "configmap", "old", "--show-managed-fields")
    assert obj["data"] == {"a": "1"}  # b was in the old annotation's applied set: removed
    assert "annotations" not in obj["metadata"]
    assert [(e["manager"], e["operation"]) for e in obj["metadata"]["managedFields"]] == [
        ("kubectl", "Apply")
    ]


async def test_client_side_apply_then_server_side_apply_upgrades_without_conflict(cluster: Cluster) -> None:
    """kubectl (1.26+) moves kubectl-client-side-apply's fields to its Apply entry with a JSON patch
    of managedFields before a server-side apply; the api takes managedFields a client sends."""
    await cluster.ok("apply", "-f", "-", stdin=deployment(replicas=2))
    before = entries(await cluster.json("get", "deploy", "web", "--show-managed-fields"))
    assert ("kubectl-client-side-apply", "Update") in before
    run = await cluster.kubectl("apply", "--server-side", "-f", "-", stdin=deployment(replicas=3))
    assert run.code == 0, run.err
    obj = await cluster.json("get", "deploy", "web", "--show-managed-fields")
    assert obj["spec"]["replicas"] == 3
    owners = entries(obj)
    assert "f:replicas" in owners[("kubectl", "Apply")]["fieldsV1"]["f:spec"]
