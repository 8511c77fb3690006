"""Hole 1: a small patch may not make the api do unbounded work (CVE-2019-1002100).

A JSON patch's ``copy`` doubles what it copies: k copies of ``/data`` into itself make 2^k nodes.
The api bounds the operations of a JSON patch (10,000, as kube-apiserver) and the bytes its copies
produce, counted while applying; strategic and merge patches are applied in linear time. Every
user is bound, a kubelet patching its own Node included. The positive controls: ordinary patches
of each type still apply."""

from __future__ import annotations

import pytest

from actors.api.limits import MAX_OBJECT_BYTES
from schemas.errors import RequestEntityTooLarge
from tests.integration.security.conftest import SecureCluster


def copy_bomb(k: int, path: str = "/data") -> list[dict]:
    """A map added under ``path``, copied k times into itself, then removed again: the final
    object is what it was (small), but applying it made 2^k copies of the 64-byte value."""
    bomb = f"{path}/bomb"
    ops = [{"op": "add", "path": bomb, "value": {"x": "b" * 64}}]
    ops += [{"op": "copy", "from": bomb, "path": f"{bomb}/c{i}"} for i in range(k)]
    return [*ops, {"op": "remove", "path": bomb}]


async def test_json_patch_copies_are_bounded_while_applying(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bomb"}, "data": {"k": "v"}}
    before = await admin.create("configmaps", cm, "default")

    # 2^17 copies of the 64-byte value: far over the copy budget, though the end result is small
    with pytest.raises(RequestEntityTooLarge, match="copy"):
        await admin.patch("configmaps", "bomb", copy_bomb(17), "json", "default")
    after = await admin.get("configmaps", "bomb", "default")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

    # more operations than kube-apiserver allows
    many = [{"op": "test", "path": "/data/k", "value": "v"}] * 10_001
    with pytest.raises(RequestEntityTooLarge, match="10000"):
        await admin.patch("configmaps", "bomb", many, "json", "default")

    # positive control: a few copies are fine
    ok = await admin.patch(
        "configmaps", "bomb", [{"op": "copy", "from": "/data/k", "path": "/data/k2"}], "json", "default"
    )
    assert ok["data"] == {"k": "v", "k2": "v"}


async def test_a_kubelet_patching_its_own_node_is_bound_too(secure: SecureCluster) -> None:
    kubelet = await secure.client("node-n1")
    await kubelet.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    with pytest.raises(RequestEntityTooLarge, match="copy"):
        await kubelet.patch("nodes", "n1", copy_bomb(17, "/metadata"), "json")
    node = await kubelet.patch("nodes", "n1", {"metadata": {"labels": {"zone": "a"}}}, "strategic")
    assert node["metadata"]["labels"]["zone"] == "a"


async def test_strategic_and_merge_patches_of_many_elements_apply(secure: SecureCluster) -> None:
    """A keyed list of thousands of elements merges in linear time (once quadratic), and the
    produced object is still held to the 1.5 MiB limit."""
    admin = await secure.client("admin")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "wide"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    await admin.create("pods", pod, "default")
    env = [{"name": f"E{i}", "value": "v"} for i in range(5000)]
    patched = await admin.patch(
        "pods", "wide", {"spec": {"containers": [{"name": "c", "env": env}]}}, "strategic", "default"
    )
    assert len(patched["spec"]["containers"][0]["env"]) == 5000
    big = {"metadata": {"annotations": {"x": "y" * (MAX_OBJECT_BYTES + 10)}}}
    with pytest.raises(RequestEntityTooLarge):
        await admin.patch("pods", "wide", big, "merge", "default")
