"""Static pods from manifests, and the mirror pods' plan, as tables."""

from __future__ import annotations

import pytest

from actors.kubelet.static_plan import (
    HASH_ANNOTATION,
    MIRROR_ANNOTATION,
    SOURCE_ANNOTATION,
    merge_files,
    mirror_pod,
    parse_manifest,
    plan_mirrors,
)
from schemas.errors import BadRequest, Invalid, JetkubeError

MANIFEST = """
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: c
    image: busybox
    command: [sleep, "1000"]
"""


def test_a_manifest_becomes_a_named_bound_hashed_static_pod() -> None:
    (pod,) = parse_manifest(MANIFEST, "Node1")
    meta = pod["metadata"]
    assert meta["name"] == "web-node1" and meta["namespace"] == "default"
    assert pod["spec"]["nodeName"] == "Node1"
    assert meta["annotations"][SOURCE_ANNOTATION] == "file"
    assert meta["uid"] == meta["annotations"][HASH_ANNOTATION] and len(meta["uid"]) == 32
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Always"  # defaulted


def test_the_hash_follows_the_content_and_the_node() -> None:
    h = parse_manifest(MANIFEST, "n1")[0]["metadata"]["uid"]
    assert parse_manifest(MANIFEST, "n1")[0]["metadata"]["uid"] == h
    assert parse_manifest(MANIFEST.replace('"1000"', '"2000"'), "n1")[0]["metadata"]["uid"] != h
    assert parse_manifest(MANIFEST, "n2")[0]["metadata"]["uid"] != h


def test_several_documents_json_and_empty_files() -> None:
    two = MANIFEST + "---\n" + MANIFEST.replace("name: web", "name: api")
    assert [p["metadata"]["name"] for p in parse_manifest(two, "n")] == ["web-n", "api-n"]
    as_json = (
        '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j","namespace":"kube-system"},'
        '"spec":{"containers":[{"name":"c","image":"busybox"}]}}'
    )
    (pod,) = parse_manifest(as_json, "n")
    assert (pod["metadata"]["namespace"], pod["metadata"]["name"]) == ("kube-system", "j-n")
    assert parse_manifest("", "n") == []


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("kind: Pod\napiVersion: v1\nmetadata: {name: x}\nspec: {containers: [{name: c}]}", Invalid),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}", BadRequest),
        ("a: [1, 2", BadRequest),
    ],
)
def test_bad_manifests_say_why(text: str, error: type[JetkubeError]) -> None:
    with pytest.raises(error):
        parse_manifest(text, "n")


def test_merge_keeps_the_first_file_of_a_name_and_records_problems() -> None:
    (web,) = parse_manifest(MANIFEST, "n")
    merged = merge_files([("a.yaml", [web]), ("b.yaml", [web]), ("c.yaml", BadRequest("nope"))])
    assert list(merged.pods) == ["default/web-n"]
    assert set(merged.problems) == {"b.yaml", "c.yaml"}


def _mirror(pod: dict, uid: str = "m1", **meta: object) -> dict:
    m = mirror_pod(pod, "n", "node-uid")
    m["metadata"].update({"uid": uid, "resourceVersion": "5", **meta})
    return m


def test_the_mirror_is_owned_by_the_node_and_marked() -> None:
    (pod,) = parse_manifest(MANIFEST, "n")
    m = mirror_pod(pod, "n", "node-uid")
    assert "uid" not in m["metadata"]
    assert m["metadata"]["annotations"][MIRROR_ANNOTATION] == pod["metadata"]["uid"]
    assert m["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "node-uid", "controller": True}
    ]


def _plan(static, mirrors, statuses=None, written=None):
    actions = plan_mirrors(static, mirrors, statuses or {}, written or {}, node_name="n", node_uid="node-uid")
    return [(a.verb, a.key) for a in actions]


def test_plan_mirrors_table() -> None:
    (pod,) = parse_manifest(MANIFEST, "n")
    (edited,) = parse_manifest(MANIFEST.replace('"1000"', '"2000"'), "n")
    key = "default/web-n"
    running = {"phase": "Running"}
    assert _plan({key: pod}, {}) == [("create", key)]
    assert _plan({key: pod}, {key: _mirror(pod)}) == []
    assert _plan({key: pod}, {key: _mirror(pod, deletionTimestamp="2024-01-01T00:00:00Z")}) == [
        ("delete", key)
    ]
    assert _plan({key: edited}, {key: _mirror(pod)}) == [("delete", key)]
    assert _plan({}, {key: _mirror(pod)}) == [("delete", key)]
    assert _plan({key: pod}, {key: _mirror(pod)}, {key: running}) == [("status", key)]
    # written already to this mirror: nothing; to an earlier mirror (recreated since): again
    assert _plan({key: pod}, {key: _mirror(pod)}, {key: running}, {key: ("m1", running)}) == []
    assert _plan({key: pod}, {key: _mirror(pod, uid="m2")}, {key: running}, {key: ("m1", running)}) == [
        ("status", key)
    ]
