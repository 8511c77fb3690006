"""Ingress and IngressClass: validation in kubectl's words, and the v1beta1 conversions."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.convert import convert
from schemas.decode import normalize
from schemas.errors import Invalid
from schemas.registry import lookup


def ingress(spec: dict[str, Any], api_version: str = "networking.k8s.io/v1") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "Ingress", "metadata": {"name": "web"}, "spec": spec}


def one_path(**path: Any) -> dict[str, Any]:
    item = {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "web", "port": {"number": 80}}},
    }
    item.update(path)
    return {"rules": [{"host": "a.example.com", "http": {"paths": [item]}}]}


def causes(obj: dict[str, Any]) -> list[str]:
    with pytest.raises(Invalid) as exc:
        normalize(obj)
    return [str(c) for c in exc.value.causes]


def test_names_and_scope() -> None:
    assert lookup("ing").plural == "ingresses"
    assert lookup("ingress").api_version == "networking.k8s.io/v1"
    assert lookup("ingresses.networking.k8s.io").kind == "Ingress"
    assert not lookup("ingressclasses").namespaced


def test_a_good_ingress_is_stored_as_written() -> None:
    obj = ingress(
        {**one_path(), "defaultBackend": {"service": {"name": "fallback", "port": {"name": "http"}}}}
    )
    out = normalize(obj)
    assert out["metadata"]["namespace"] == "default"
    assert out["spec"] == obj["spec"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            one_path(pathType="Foo"),
            'spec.rules[0].http.paths[0].pathType: Unsupported value: "Foo": supported values: '
            '"Exact", "ImplementationSpecific", "Prefix"',
        ),
        (
            one_path(pathType=None),
            "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified",
        ),
        (
            one_path(path="foo"),
            'spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path',
        ),
        (
            one_path(path="/a//b"),
            "spec.rules[0].http.paths[0].path: Invalid value: \"/a//b\": must not contain '//'",
        ),
        (
            one_path(backend={"service": {"name": "web"}}),
            "spec.rules[0].http.paths[0].backend: Required value: port name or number is required",
        ),
        (
            one_path(backend={"service": {"name": "web", "port": {"number": 70000}}}),
            "spec.rules[0].http.paths[0].backend.service.port.number: Invalid value: 70000: "
            "must be between 1 and 65535, inclusive",
        ),
        (
            one_path(backend={}),
            'spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend is required',
        ),
        ({}, "spec: Invalid value: []: either `defaultBackend` or `rules` must be specified"),
        (
            {"rules": [{"host": "10.0.0.1"}]},
            'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
        ),
        (
            {"rules": [{"host": "a.*.com"}]},
            'spec.rules[0].host: Invalid value: "a.*.com": a wildcard DNS-1123 subdomain must start with',
        ),
    ],
)
def test_bad_ingresses_name_the_field(spec: dict[str, Any], expected: str) -> None:
    if spec.get("rules") and spec["rules"][0].get("http"):
        item = spec["rules"][0]["http"]["paths"][0]
        for key in [k for k, v in item.items() if v is None]:
            del item[key]
    got = causes(ingress(spec))
    assert any(c.startswith(expected) for c in got), got


def test_a_wildcard_host_is_fine() -> None:
    spec = one_path()
    spec["rules"][0]["host"] = "*.example.com"
    assert normalize(ingress(spec))["spec"]["rules"][0]["host"] == "*.example.com"


def test_ingress_class_needs_a_domain_prefixed_controller() -> None:
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "jetkube"}}
    assert causes({**obj, "spec": {}}) == ["spec.controller: Required value"]
    assert causes({**obj, "spec": {"controller": "nginx"}}) == [
        'spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")'
    ]
    assert normalize({**obj, "spec": {"controller": "jetkube.io/ingress"}})["spec"]["controller"]


V1BETA1 = {
    "backend": {"serviceName": "fallback", "servicePort": 8080},
    "rules": [
        {
            "host": "a.example.com",
            "http": {
                "paths": [
                    {"path": "/api", "backend": {"serviceName": "api", "servicePort": "http"}},
                    {"path": "/", "pathType": "Prefix", "backend": {"serviceName": "web", "servicePort": 80}},
                ]
            },
        }
    ],
}
V1 = {
    "defaultBackend": {"service": {"name": "fallback", "port": {"number": 8080}}},
    "rules": [
        {
            "host": "a.example.com",
            "http": {
                "paths": [
                    {
                        "path": "/api",
                        "pathType": "ImplementationSpecific",
                        "backend": {"service": {"name": "api", "port": {"name": "http"}}},
                    },
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": "web", "port": {"number": 80}}},
                    },
                ]
            },
        }
    ],
}


@pytest.mark.parametrize("old", ["extensions/v1beta1", "networking.k8s.io/v1beta1"])
def test_v1beta1_converts_to_v1(old: str) -> None:
    out = normalize(ingress(V1BETA1, old))
    assert out["apiVersion"] == "networking.k8s.io/v1"
    assert out["spec"] == V1


@pytest.mark.parametrize("old", ["extensions/v1beta1", "networking.k8s.io/v1beta1"])
def test_v1_converts_back_to_v1beta1(old: str) -> None:
    down = convert(ingress(V1), old)
    assert down["apiVersion"] == old
    assert down["spec"]["backend"] == {"serviceName": "fallback", "servicePort": 8080}
    paths = down["spec"]["rules"][0]["http"]["paths"]
    assert paths[0]["backend"] == {"serviceName": "api", "servicePort": "http"}
    assert convert(down, "networking.k8s.io/v1")["spec"] == V1


def test_v1beta1_errors_name_the_v1_fields() -> None:
    bad = {"rules": [{"http": {"paths": [{"path": "/", "backend": {"serviceName": "web"}}]}}]}
    assert causes(ingress(bad, "extensions/v1beta1")) == [
        "spec.rules[0].http.paths[0].backend: Required value: port name or number is required"
    ]
