"""A kubelet's identity (``system:node:<name>``) reaches only its own node's objects: its Node, the
pods bound to it, and the Secrets and ConfigMaps those pods use, over real NATS connections."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from actors.kubelet.static import StaticPods
from actors.kubelet.static_plan import mirror_pod, static_pod
from schemas.errors import Forbidden, NotFound
from tests.integration.security.conftest import SecureCluster, eventually


def pod(name: str, node: str, *, secret: str | None = None, configmap: str | None = None) -> dict:
    spec: dict = {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}
    if secret:
        spec["volumes"] = [{"name": "s", "secret": {"secretName": secret}}]
    if configmap:
        spec["containers"][0]["env"] = [
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": configmap, "key": "x"}}}
        ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def node(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


async def test_a_kubelet_touches_only_its_own_node_and_pods(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    kubelet = await secure.client("node-n1")
    await kubelet.create("nodes", node("n1"))  # a kubelet registers its own Node
    await admin.create("nodes", node("n2.example"))
    mine = await admin.create("pods", pod("mine", "n1"), "default")
    theirs = await admin.create("pods", pod("theirs", "n2.example"), "default")

    # its own Node: yes; another's: read only
    await kubelet.patch("nodes", "n1", {"metadata": {"labels": {"zone": "a"}}})
    assert (await kubelet.get("nodes", "n2.example"))["metadata"]["name"] == "n2.example"
    with pytest.raises(Forbidden, match='User "system:node:n1" cannot patch resource "nodes"'):
        await kubelet.patch("nodes", "n2.example", {"metadata": {"labels": {"zone": "evil"}}})
    with pytest.raises(Forbidden):
        await kubelet.create("nodes", node("n3"))

    # pods: status of its own pods only
    status = {**mine, "status": {**mine["status"], "phase": "Running"}}
    assert (await kubelet.update_status("pods", status))["status"]["phase"] == "Running"
    with pytest.raises(Forbidden, match="may only touch pods bound to it"):
        await kubelet.update_status("pods", {**theirs, "status": {**theirs["status"], "phase": "Failed"}})
    with pytest.raises(Forbidden, match="may only touch pods bound to it"):
        await kubelet.delete("pods", "theirs", "default", grace_period_seconds=0)
    with pytest.raises(Forbidden, match="may only write the status"):
        await kubelet.patch("pods", "mine", {"metadata": {"labels": {"x": "y"}}}, namespace="default")
    with pytest.raises(Forbidden):
        await kubelet.list("pods", "default")
    with pytest.raises(Forbidden, match=r'pods of node "n2\.example"'):
        await kubelet.pods_on_node("n2.example")
    assert [p["metadata"]["name"] for p in (await kubelet.pods_on_node("n1"))["items"]] == ["mine"]
    assert (await admin.get("pods", "theirs", "default"))["status"]["phase"] == "Pending"


async def test_a_kubelet_reads_only_the_secrets_and_configmaps_its_pods_use(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    for name in ("used", "other"):
        await admin.create(
            "secrets",
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": {"k": name}},
        )
        await admin.create(
            "configmaps",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"x": name}},
        )
    await admin.create("pods", pod("user", "n1", secret="used", configmap="used"), "default")
    await admin.create("pods", pod("elsewhere", "n2.example", secret="other", configmap="other"), "default")
    kubelet = await secure.client("node-n1")

    async def sees_used() -> bool:
        try:
            return (await kubelet.get("secrets", "used", "default"))["data"]["k"] == "dXNlZA=="
        except Forbidden:
            return False  # the relay has not indexed the pod yet

    await eventually(sees_used)
    assert (await kubelet.get("configmaps", "used", "default"))["data"] == {"x": "used"}
    for kind in ("secrets", "configmaps"):
        with pytest.raises(Forbidden, match="no pod bound to node 'n1' refers to it"):
            await kubelet.get(kind, "other", "default")
    with pytest.raises(Forbidden):
        await kubelet.list("secrets", "default")


async def test_a_kubelet_cannot_follow_another_nodes_pods(secure: SecureCluster) -> None:
    """NATS refuses the subscription to another node's relay subject: nothing arrives."""
    admin = await secure.client("admin")
    kubelet = await secure.bus_as("node-n1")
    got: list[bytes] = []

    async def on_msg(msg) -> None:  # type: ignore[no-untyped-def]
        got.append(msg.data)

    sub = await kubelet.nc.subscribe("jetkube.nodepods.n2.example", cb=on_msg)
    own = await kubelet.nc.subscribe("jetkube.nodepods.n1", cb=on_msg)
    await kubelet.nc.flush()
    await admin.create("pods", pod("spied", "n2.example"), "default")
    await admin.create("pods", pod("own", "n1"), "default")

    async def own_arrived() -> bool:
        return len(got) >= 1

    await eventually(own_arrived)
    await asyncio.sleep(0)
    assert all(b"spied" not in data for data in got)
    for s in (sub, own):
        with contextlib.suppress(Exception):
            await s.unsubscribe()


MIRROR = "kubernetes.io/config.mirror"


def mirror_of(name: str, namespace: str, node_uid: str, **spec: Any) -> dict:
    """The mirror pod the kubelet of n1 posts for a static pod (actors/kubelet/static_plan.py)."""
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec},
    }
    return mirror_pod(static_pod(manifest, "n1"), "n1", node_uid)


async def pods_of_n1(kubelet: Any) -> set[str]:
    return {p["metadata"]["name"] for p in (await kubelet.pods_on_node("n1"))["items"]}


async def test_a_kubelet_cannot_grant_itself_a_secret_by_creating_a_pod(secure: SecureCluster) -> None:
    """The audit's reproduction: node n1, refused Secret prod/db, creates a pod bound to itself that
    mounts it, then reads it. A node may create only mirror pods, which refer to no Secret and grant
    it nothing, as Kubernetes' NodeRestriction admission has it."""
    admin = await secure.client("admin")
    await admin.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}})
    await admin.create(
        "secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "stringData": {"password": "hunter2"},
        },
        "prod",
    )
    kubelet = await secure.client("node-n1")
    node_uid = (await kubelet.create("nodes", node("n1")))["metadata"]["uid"]
    with pytest.raises(Forbidden, match="no pod bound to node 'n1' refers to it"):
        await kubelet.get("secrets", "db", "prod")

    # a pod bound to itself, not a mirror: refused, naming the node, the pod and the rule
    steal = pod("steal", "n1", secret="db")
    with pytest.raises(Forbidden) as refused:
        await kubelet.create("pods", steal, "prod")
    assert str(refused.value.message) == (
        'pods is forbidden: User "system:node:n1" cannot create resource "pods" in API group "" '
        "in the namespace \"prod\": node 'n1' may only create mirror pods (annotation "
        "kubernetes.io/config.mirror), and pod prod/steal is not one"
    )
    # the same pod with the mirror annotation only: refused
    steal["metadata"]["annotations"] = {MIRROR: "x"}
    with pytest.raises(Forbidden, match="single owner reference set to itself, and pod prod/steal has 0"):
        await kubelet.create("pods", steal, "prod")
    # a mirror pod exactly as the kubelet makes it, naming the Secret: refused
    secret_volume = [{"name": "s", "secret": {"secretName": "db"}}]
    with pytest.raises(
        Forbidden,
        match=r"node 'n1' may not create pods that refer to secrets: mirror pod prod/steal-n1 refers to "
        r"secret 'db' \(spec\.volumes\[0\]\.secret\)",
    ):
        await kubelet.create("pods", mirror_of("steal", "prod", node_uid, volumes=secret_volume), "prod")
    with pytest.raises(Forbidden, match="may not create pods that refer to secrets"):
        env = [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]
        await kubelet.create(
            "pods",
            mirror_of("env", "prod", node_uid, containers=[{"name": "c", "image": "b", "env": env}]),
            "prod",
        )
    # a plain mirror pod: accepted
    created = await kubelet.create("pods", mirror_of("web", "prod", node_uid), "prod")
    assert created["metadata"]["annotations"][MIRROR] and created["spec"]["nodeName"] == "n1"

    # a mirror pod naming the Secret that got in some other way (here: an admin) grants nothing
    forged = mirror_of("forged", "prod", node_uid, volumes=secret_volume)
    await admin.create("pods", forged, "prod")

    async def relayed() -> bool:
        return {"web-n1", "forged-n1"} <= await pods_of_n1(kubelet)

    await eventually(relayed)  # the relay holds both: the api would count them now
    with pytest.raises(Forbidden, match=r"refers to it \(its mirror pods do not count\)"):
        await kubelet.get("secrets", "db", "prod")
    for name in ("steal", "steal-n1", "env-n1"):
        with pytest.raises(NotFound):
            await admin.get("pods", name, "prod")


async def test_rbac_granted_to_nodes_does_not_lift_the_mirror_pod_rule(secure: SecureCluster) -> None:
    """NodeRestriction is admission: it holds even when RBAC lets the group system:nodes create pods."""
    admin = await secure.client("admin")
    await admin.create(
        "clusterrolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "nodes-edit"},
            "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:nodes"}],
            "roleRef": {"kind": "ClusterRole", "apiGroup": "rbac.authorization.k8s.io", "name": "edit"},
        },
    )
    kubelet = await secure.client("node-n1")

    async def rbac_applies() -> bool:
        try:
            await kubelet.list("deployments", "default")
            return True
        except Forbidden:
            return False

    await eventually(rbac_applies)
    with pytest.raises(Forbidden, match="node 'n1' may only create mirror pods"):
        await kubelet.create("pods", pod("steal", "n1"), "default")


class _Host:
    """The kubelet side of StaticPods: takes the static pods, reports them running."""

    def __init__(self) -> None:
        self.pods: dict[str, dict] = {}

    def set_static_pods(self, pods: dict[str, dict]) -> None:
        self.pods = pods

    def pod_status(self, key: str) -> dict | None:
        return {"phase": "Running"} if key in self.pods else None


async def test_the_kubelets_static_pods_still_get_their_mirror_pods(
    secure: SecureCluster, tmp_path: Path
) -> None:
    """actors/kubelet/static.py, as node n1 over NATS: the mirror pod is created and its status written.

    A static pod that names a Secret gets no mirror (the api refuses it, as NodeRestriction does),
    and that refusal does not keep the static pods after it from theirs."""
    admin = await secure.client("admin")
    kubelet = await secure.client("node-n1")
    await kubelet.create("nodes", node("n1"))
    (tmp_path / "a-uses-secret.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a-uses-secret, namespace: default}\n"
        "spec:\n  containers: [{name: c, image: nginx}]\n  volumes: [{name: s, secret: {secretName: db}}]\n"
    )
    (tmp_path / "web.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\n"
        "spec:\n  hostNetwork: true\n  containers: [{name: c, image: nginx}]\n"
        "  volumes: [{name: h, hostPath: {path: /etc}}]\n"
    )
    static = StaticPods(tmp_path, "n1", _Host(), kubelet, poll=0.05, resync=0.1)
    task = asyncio.create_task(static.run())
    try:

        async def mirrored() -> bool:
            try:
                got = await admin.get("pods", "web-n1", "default")
            except NotFound:
                return False
            return MIRROR in got["metadata"]["annotations"] and got["status"].get("phase") == "Running"

        await eventually(mirrored)
        with pytest.raises(NotFound):
            await admin.get("pods", "a-uses-secret-n1", "default")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
