"""schemas/patch.py: merge, json and strategic patches, and apply's three-way merge, as tables."""

from __future__ import annotations

import pytest

from schemas.errors import BadRequest
from schemas.patch import apply_patch, three_way_merge

POD = {
    "metadata": {"name": "p", "labels": {"a": "1"}, "finalizers": ["x"]},
    "spec": {
        "containers": [
            {
                "name": "a",
                "image": "busybox",
                "ports": [{"containerPort": 80}],
                "env": [{"name": "E", "value": "1"}],
            },
            {"name": "b", "image": "nginx"},
        ],
        "tolerations": [{"key": "t"}],
    },
}

CASES = [
    ("merge sets", {"spec": {"unschedulable": True}}, "merge", {"spec.unschedulable": True}),
    ("merge null deletes", {"metadata": {"labels": {"a": None}}}, "merge", {"metadata.labels": {}}),
    (
        "merge replaces lists",
        {"spec": {"containers": [{"name": "c"}]}},
        "merge",
        {"spec.containers": [{"name": "c"}]},
    ),
    (
        "strategic merges containers by name",
        {"spec": {"containers": [{"name": "b", "image": "nginx:2"}]}},
        "strategic",
        {"spec.containers.1.image": "nginx:2", "spec.containers.0.image": "busybox"},
    ),
    (
        "strategic appends a new container",
        {"spec": {"containers": [{"name": "c", "image": "x"}]}},
        "strategic",
        {"spec.containers.2.name": "c"},
    ),
    (
        "strategic $patch delete element",
        {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}},
        "strategic",
        {"spec.containers.0.name": "b"},
    ),
    (
        "strategic ports by containerPort",
        {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]}},
        "strategic",
        {"spec.containers.0.ports": [{"containerPort": 80, "name": "http"}]},
    ),
    (
        "strategic env by name",
        {"spec": {"containers": [{"name": "a", "env": [{"name": "F", "value": "2"}]}]}},
        "strategic",
        {"spec.containers.0.env": [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}]},
    ),
    (
        "strategic tolerations replace",
        {"spec": {"tolerations": [{"key": "u"}]}},
        "strategic",
        {"spec.tolerations": [{"key": "u"}]},
    ),
    (
        "strategic finalizers as set",
        {"metadata": {"finalizers": ["y", "x"]}},
        "strategic",
        {"metadata.finalizers": ["x", "y"]},
    ),
    (
        "strategic deleteFromPrimitiveList",
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}},
        "strategic",
        {"metadata.finalizers": []},
    ),
    (
        "strategic $patch replace map",
        {"spec": {"$patch": "replace", "x": 1}},
        "strategic",
        {"spec": {"x": 1}},
    ),
    (
        "strategic list $patch replace",
        {"spec": {"containers": [{"name": "z"}, {"$patch": "replace"}]}},
        "strategic",
        {"spec.containers": [{"name": "z"}]},
    ),
    (
        "strategic setElementOrder",
        {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}},
        "strategic",
        {"spec.containers.0.name": "b"},
    ),
    (
        "json patch",
        [{"op": "replace", "path": "/spec/containers/0/image", "value": "x"}],
        "json",
        {"spec.containers.0.image": "x"},
    ),
    ("seed node patch", '{"spec": {"unschedulable": true}}', "strategic", {"spec.unschedulable": True}),
]


def _at(obj, path: str):
    for part in path.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


@pytest.mark.parametrize(("name", "patch", "kind", "expect"), CASES, ids=[c[0] for c in CASES])
def test_apply_patch(name, patch, kind, expect):
    out = apply_patch(POD, patch, kind)
    for path, value in expect.items():
        assert _at(out, path) == value
    assert POD["spec"]["containers"][0]["image"] == "busybox"  # input untouched


BAD = [
    ("not json", "{nope", "merge", "not valid JSON"),
    ("unknown type", {}, "yaml", "unknown patch type"),
    ("merge of a list", [1], "merge", "must be a JSON object"),
    ("json of a map", {"op": "x"}, "json", "must be a JSON list"),
    ("json bad path", [{"op": "remove", "path": "/nope/x"}], "json", "cannot be applied"),
    ("json test fails", [{"op": "test", "path": "/metadata/name", "value": "q"}], "json", "test failed"),
    ("missing merge key", {"spec": {"containers": [{"image": "x"}]}}, "strategic", "merge key: name"),
    ("bad directive", {"spec": {"$patch": "explode"}}, "strategic", "unknown $patch directive"),
]


@pytest.mark.parametrize(("name", "patch", "kind", "message"), BAD, ids=[c[0] for c in BAD])
def test_bad_patches(name, patch, kind, message):
    with pytest.raises(BadRequest, match=message.replace("$", r"\$")):
        apply_patch(POD, patch, kind)


def c(name, image, **extra):
    return {"name": name, "image": image, **extra}


THREE_WAY = [
    ("nothing changed", {"a": 1}, {"a": 1}, {"a": 1, "status": {}}, {}),
    ("field removed from file", {"a": 1, "b": 2}, {"a": 1}, {"a": 1, "b": 2}, {"b": None}),
    ("field set by others kept", {"a": 1}, {"a": 1}, {"a": 1, "c": 3}, {}),
    ("field changed", {"a": 1}, {"a": 2}, {"a": 1}, {"a": 2}),
    ("live drifted back", {"a": 1}, {"a": 1}, {"a": 5}, {"a": 1}),
    (
        "container removed",
        {"spec": {"containers": [c("x", "i"), c("y", "j")]}},
        {"spec": {"containers": [c("x", "i")]}},
        {"spec": {"containers": [c("x", "i"), c("y", "j")]}},
        {"spec": {"containers": [{"name": "y", "$patch": "delete"}]}},
    ),
    (
        "container image changed, defaulted field kept",
        {"spec": {"containers": [c("x", "i")]}},
        {"spec": {"containers": [c("x", "k")]}},
        {"spec": {"containers": [c("x", "i", imagePullPolicy="Always")]}},
        {"spec": {"containers": [{"name": "x", "image": "k"}]}},
    ),
    (
        "label removed, others' label kept",
        {"metadata": {"labels": {"a": "1", "b": "2"}}},
        {"metadata": {"labels": {"a": "1"}}},
        {"metadata": {"labels": {"a": "1", "b": "2", "c": "3"}}},
        {"metadata": {"labels": {"b": None}}},
    ),
    ("list without key replaced", {"args": ["a"]}, {"args": ["b"]}, {"args": ["a"]}, {"args": ["b"]}),
    (
        "server defaults inside a keyless list",
        {"items": [{"path": "l"}]},
        {"items": [{"path": "l"}]},
        {"items": [{"path": "l", "mode": 420}]},
        {},
    ),
]


@pytest.mark.parametrize(("name", "last", "new", "live", "expect"), THREE_WAY, ids=[t[0] for t in THREE_WAY])
def test_three_way_merge(name, last, new, live, expect):
    patch = three_way_merge(last, new, live)
    assert patch == expect
    # applying the patch gives the new config's fields and keeps the others
    result = apply_patch(live, patch, "strategic")
    assert three_way_merge(new, new, result) == {}
