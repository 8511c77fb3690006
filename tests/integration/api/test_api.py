"""The api actor over real NATS: every verb, graceful deletion, finalizers, status/spec separation,
patches, the seed's examples and its node patch, and bad input that changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bus.client import ApiClient
from bus.store import Store
from schemas.errors import AlreadyExists, BadRequest, Conflict, Forbidden, Invalid, NotFound
from schemas.registry import lookup

SEED = Path(__file__).resolve().parents[3].parent / "shared" / "seed" / "examples"


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec},
    }


def is_subset(small: Any, big: Any) -> bool:
    if isinstance(small, dict):
        return isinstance(big, dict) and all(k in big and is_subset(v, big[k]) for k, v in small.items())
    if isinstance(small, list):
        return isinstance(big, list) and len(small) == len(big) and all(map(is_subset, small, big))
    return small == big


def load(path: Path) -> dict[str, Any]:
    with path.open() as f:
        return yaml.safe_load(f)


def seed_examples() -> list[Path]:
    return sorted(p for p in SEED.glob("*.yaml"))


@pytest.mark.parametrize("path", seed_examples(), ids=lambda p: p.name)
async def test_every_seed_example_applies_and_reads_back_with_its_fields(api: ApiClient, path: Path) -> None:
    doc = load(path)
    info = lookup(doc["kind"])
    created = await api.create(info.plural, doc)
    got = await api.get(info.plural, doc["metadata"]["name"], created["metadata"].get("namespace"))
    written = {k: v for k, v in doc.items() if k not in ("apiVersion",)}
    assert is_subset(written, got), f"{path.name}: fields lost"
    assert got["metadata"]["uid"] and got["metadata"]["resourceVersion"]


async def test_old_deployment_version_is_stored_as_apps_v1_with_selector_from_labels(api: ApiClient) -> None:
    doc = load(SEED / "deployment-nginx-prestop.yaml")
    created = await api.create("deployments", doc)
    assert created["apiVersion"] == "apps/v1"
    assert created["spec"]["selector"] == {"matchLabels": {"app": "nginx"}}


async def test_crud_round_trip_and_kubernetes_errors(api: ApiClient) -> None:
    created = await api.create("pods", pod("a"))
    assert created["status"]["phase"] == "Pending"
    assert created["spec"]["restartPolicy"] == "Always"
    with pytest.raises(AlreadyExists, match='pods "a" already exists'):
        await api.create("pods", pod("a"))
    with pytest.raises(NotFound, match='pods "nope" not found') as err:
        await api.get("pods", "nope")
    assert err.value.cli_line() == 'Error from server (NotFound): pods "nope" not found'
    listing = await api.list("pods", "default")
    assert listing["kind"] == "PodList" and [p["metadata"]["name"] for p in listing["items"]] == ["a"]


async def test_generate_name(api: ApiClient) -> None:
    obj = pod("")
    obj["metadata"] = {"generateName": "web-"}
    created = await api.create("pods", obj)
    assert created["metadata"]["name"].startswith("web-") and len(created["metadata"]["name"]) == 9


async def test_namespace_must_exist(api: ApiClient) -> None:
    with pytest.raises(NotFound, match='namespaces "ghost" not found'):
        await api.create("pods", pod("a"), namespace="ghost")
    await api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ghost"}})
    created = await api.create("pods", pod("a"), namespace="ghost")
    assert created["metadata"]["namespace"] == "ghost"


async def test_default_namespaces_cannot_be_deleted(api: ApiClient) -> None:
    with pytest.raises(Forbidden, match="may not be deleted"):
        await api.delete("namespaces", "default")


async def test_update_is_compare_and_set(api: ApiClient) -> None:
    a = await api.create("pods", pod("a"))
    b = dict(a)
    a["metadata"]["labels"] = {"x": "1"}
    await api.update("pods", a)
    b["metadata"] = {**b["metadata"], "labels": {"x": "2"}}
    with pytest.raises(Conflict):
        await api.update("pods", b)
    assert (await api.get("pods", "a"))["metadata"]["labels"] == {"x": "1"}


async def test_status_and_spec_writes_are_separate(api: ApiClient) -> None:
    a = await api.create("pods", pod("a"))
    a["status"] = {"phase": "Running"}
    a["spec"]["activeDeadlineSeconds"] = 5
    after_status = await api.update_status("pods", a)
    assert after_status["status"]["phase"] == "Running"
    assert "activeDeadlineSeconds" not in after_status["spec"]
    after_status["status"] = {"phase": "Failed"}
    after_status["metadata"]["labels"] = {"k": "v"}
    after_spec = await api.update("pods", after_status)
    assert after_spec["status"]["phase"] == "Running"
    assert after_spec["metadata"]["labels"] == {"k": "v"}


async def test_a_write_that_changes_nothing_is_not_written(api: ApiClient, store: Store) -> None:
    a = await api.create("pods", pod("a"))
    before = await store.revision()
    again = await api.update("pods", a)
    assert again["metadata"]["resourceVersion"] == a["metadata"]["resourceVersion"]
    assert await store.revision() == before


async def test_seed_node_patch_cordons_and_generation_moves(api: ApiClient) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
    created = await api.create("nodes", node)
    patched = await api.patch("nodes", "n1", {"spec": {"unschedulable": True}}, "strategic")
    assert patched["spec"]["unschedulable"] is True
    assert patched["metadata"]["generation"] == created["metadata"]["generation"] + 1
    back = await api.patch("nodes", "n1", {"spec": {"unschedulable": False}}, "merge")
    assert back["spec"]["unschedulable"] is False


async def test_patch_types(api: ApiClient) -> None:
    await api.create("pods", pod("a"))
    p = await api.patch("pods", "a", {"metadata": {"labels": {"a": "1", "b": "2"}}}, "merge")
    assert p["metadata"]["labels"] == {"a": "1", "b": "2"}
    p = await api.patch("pods", "a", {"metadata": {"labels": {"a": None}}}, "merge")
    assert p["metadata"]["labels"] == {"b": "2"}
    p = await api.patch("pods", "a", [{"op": "replace", "path": "/metadata/labels/b", "value": "3"}], "json")
    assert p["metadata"]["labels"] == {"b": "3"}
    p = await api.patch(
        "pods", "a", {"spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}, "strategic"
    )
    assert [c["image"] for c in p["spec"]["containers"]] == ["busybox:1.36"]
    with pytest.raises(Invalid, match="image"):
        await api.patch("pods", "a", {"spec": {"containers": [{"name": "c", "image": ""}]}}, "strategic")


async def test_graceful_pod_deletion(api: ApiClient) -> None:
    await api.create("pods", pod("a", nodeName="n1", terminationGracePeriodSeconds=20))
    marked = await api.delete("pods", "a")
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 20
    assert (await api.get("pods", "a"))["metadata"]["deletionTimestamp"]
    shorter = await api.delete("pods", "a", grace_period_seconds=5)
    assert shorter["metadata"]["deletionGracePeriodSeconds"] == 5
    await api.delete("pods", "a", grace_period_seconds=0)  # what the kubelet does when done
    with pytest.raises(NotFound):
        await api.get("pods", "a")


async def test_unbound_pod_goes_at_once(api: ApiClient) -> None:
    await api.create("pods", pod("a"))
    await api.delete("pods", "a")
    with pytest.raises(NotFound):
        await api.get("pods", "a")


async def test_finalizers_hold_the_object_until_cleared(api: ApiClient) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "finalizers": ["example.com/hold"]},
        "data": {"k": "v"},
    }
    await api.create("configmaps", cm)
    marked = await api.delete("configmaps", "c")
    assert marked["metadata"]["deletionTimestamp"]
    still = await api.get("configmaps", "c")
    still["metadata"]["finalizers"] = []
    await api.update("configmaps", still)
    with pytest.raises(NotFound):
        await api.get("configmaps", "c")


async def test_propagation_policies_add_their_finalizers(api: ApiClient) -> None:
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "r"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    await api.create("replicasets", rs)
    fg = await api.delete("replicasets", "r", propagation_policy="Foreground")
    assert "foregroundDeletion" in fg["metadata"]["finalizers"]
    with pytest.raises(BadRequest, match="propagationPolicy"):
        await api.delete("replicasets", "r", propagation_policy="Sideways")


async def test_creating_in_a_terminating_namespace_is_refused(api: ApiClient) -> None:
    await api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}})
    ns = await api.delete("namespaces", "t")
    assert ns["status"]["phase"] == "Terminating"
    with pytest.raises(Forbidden, match="being terminated"):
        await api.create("pods", pod("a"), namespace="t")


async def test_node_pods_relay_gives_a_kubelet_only_its_pods(api: ApiClient) -> None:
    await api.create("pods", pod("mine-1", nodeName="n1"))
    await api.create("pods", pod("other", nodeName="n2"))
    seen: list[tuple[str, str]] = []

    async def follow() -> None:
        async with contextlib.aclosing(api.watch_node_pods("n1")) as events:
            async for ev in events:
                if ev.type == "BOOKMARK":
                    await api.create("pods", pod("mine-2", nodeName="n1"))
                    await api.create("pods", pod("other-2", nodeName="n2"))
                    await api.delete("pods", "mine-1", grace_period_seconds=0)
                    continue
                seen.append((ev.type, ev.object["metadata"]["name"]))
                if ev.type == "DELETED":
                    return

    await asyncio.wait_for(follow(), 10)
    assert ("ADDED", "mine-1") in seen and ("ADDED", "mine-2") in seen and ("DELETED", "mine-1") in seen
    assert all(name.startswith("mine") for _, name in seen)


async def test_bad_requests_change_nothing(api: ApiClient, store: Store) -> None:
    before = await store.revision()
    cases = [
        ("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {}}),
        (
            "pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "Bad_Name"},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        ),
        ("pods", {"apiVersion": "v9", "kind": "Pod", "metadata": {"name": "x"}}),
        ("pods", "not an object"),
        ("widgets", {"apiVersion": "v1", "kind": "Widget", "metadata": {"name": "x"}}),
    ]
    for resource, body in cases:
        with pytest.raises((BadRequest, Invalid)):
            await api.create(resource, body)  # type: ignore[arg-type]
    assert await store.revision() == before


async def test_watch_with_a_selector_sends_deleted_when_an_object_stops_matching(api: ApiClient) -> None:
    await api.create("pods", {**pod("a"), "metadata": {"name": "a", "labels": {"app": "web"}}})
    seen: list[tuple[str, str]] = []

    async def follow() -> None:
        async with contextlib.aclosing(api.watch("pods", "default", label_selector="app=web")) as events:
            async for ev in events:
                if ev.type == "BOOKMARK":
                    await api.patch("pods", "a", {"metadata": {"labels": {"app": "db"}}}, "merge")
                    await api.patch("pods", "a", {"metadata": {"labels": {"app": "web"}}}, "merge")
                    await api.delete("pods", "a")
                    continue
                seen.append((ev.type, ev.object["metadata"]["labels"]["app"]))
                if len(seen) == 4:
                    return

    await asyncio.wait_for(follow(), 10)
    assert seen == [("ADDED", "web"), ("DELETED", "db"), ("ADDED", "web"), ("DELETED", "web")]
