"""CustomResourceDefinitions: the CRD's own checks, and a custom object pruned, defaulted and
checked by its structural schema (pure tables)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas import crd, registry
from schemas.decode import normalize
from schemas.errors import Invalid

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1},
                "mode": {"type": "string", "enum": ["fast", "slow"], "default": "slow"},
                "port": {"x-kubernetes-int-or-string": True},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.toys.example.com"},
    "spec": {
        "group": "toys.example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": SCHEMA}}],
    },
}


@pytest.fixture
def widgets() -> Any:
    info = crd.register(CRD)
    yield info
    crd.unregister("widgets.toys.example.com")


def widget(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "toys.example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}


def test_unknown_fields_are_pruned_and_defaults_filled(widgets: Any) -> None:
    out = normalize(
        widget(size=2, bogus=1, free={"any": {"thing": 1}}, labels={"a": "b"}), default_namespace="x"
    )
    assert out["spec"] == {"size": 2, "mode": "slow", "free": {"any": {"thing": 1}}, "labels": {"a": "b"}}
    assert out["metadata"]["namespace"] == "x"
    assert registry.lookup("widgets.toys.example.com") is widgets
    assert registry.lookup("widget").kind == "Widget"


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        ({}, "spec.size", "Required value"),
        ({"size": 0}, "spec.size", "greater than or equal to 1"),
        ({"size": "2"}, "spec.size", "must be of type integer"),
        ({"size": 1, "mode": "warp"}, "spec.mode", 'supported values: "fast", "slow"'),
        ({"size": 1, "port": 1.5}, "spec.port", "integer or string"),
        ({"size": 1, "tags": ["a", "b", "c"]}, "spec.tags", "at most 2 items"),
        ({"size": 1, "tags": [1]}, "spec.tags[0]", "must be of type string"),
        ({"size": 1, "labels": {"a": 1}}, "spec.labels.a", "must be of type string"),
    ],
)
def test_the_schema_refuses_bad_values_naming_the_field(
    widgets: Any, spec: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(Invalid) as err:
        normalize(widget(**spec))
    causes = {c.field: c.message for c in err.value.causes}
    assert field in causes and words in causes[field], causes


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["metadata"].update(name="other.toys.example.com"), "metadata.name"),
        (lambda c: c["spec"].update(group="nodots"), "spec.group"),
        (lambda c: c["spec"].update(scope="Global"), "spec.scope"),
        (lambda c: c["spec"]["versions"][0].update(storage=False), "spec.versions"),
        (lambda c: c["spec"]["names"].update(plural="pods"), "spec.names.plural"),
        (lambda c: c["spec"]["names"].pop("kind"), "spec.names.kind"),
        (
            lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"].update(x={}),
            "spec.versions[0].schema.openAPIV3Schema.properties[x].type",
        ),
    ],
)
def test_a_bad_crd_is_refused_naming_the_field(change: Any, field: str) -> None:
    bad = copy.deepcopy(CRD)
    change(bad)
    with pytest.raises(Invalid) as err:
        normalize(bad)
    assert field in {c.field for c in err.value.causes}


def test_printer_columns_read_json_paths() -> None:
    obj = {"spec": {"a": [{"b": 3}]}, "status": {"ok": True}}
    assert crd.json_path(obj, ".spec.a[0].b") == 3
    assert crd.json_path(obj, ".status.ok") is True
    assert crd.json_path(obj, ".status.missing.deeper") is None
