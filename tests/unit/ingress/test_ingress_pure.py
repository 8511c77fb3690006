"""The ingress's other pure parts (forwarded headers, its status entry) and port-forward's port
specs and Service port mapping, as tables."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict

from actors.ingress.controller import desired_status
from actors.ingress.proxy import forwarded_headers
from cli.commands.port_forward import parse_port_spec, service_target
from schemas.errors import BadRequest


def test_forwarded_headers_drop_hop_by_hop_and_append_the_client() -> None:
    given = CIMultiDict(
        [
            ("Host", "a.example.com"),
            ("Connection", "keep-alive, X-Secret"),
            ("X-Secret", "1"),
            ("Keep-Alive", "timeout=5"),
            ("X-Forwarded-For", "1.2.3.4"),
            ("Accept", "text/html"),
        ]
    )
    out = forwarded_headers(given, "10.0.0.9", "a.example.com", 8080)
    assert out == {
        "Host": "a.example.com",
        "Accept": "text/html",
        "X-Forwarded-For": "1.2.3.4, 10.0.0.9",
        "X-Forwarded-Host": "a.example.com",
        "X-Forwarded-Port": "8080",
        "X-Forwarded-Proto": "http",
    }


ENTRY = {"ip": "10.0.0.1", "ports": [{"port": 8080, "protocol": "TCP"}]}


@pytest.mark.parametrize(
    ("status", "served", "expected"),
    [
        ({}, True, {"loadBalancer": {"ingress": [ENTRY]}}),
        ({"loadBalancer": {"ingress": [ENTRY]}}, True, None),  # already there: no write
        (
            {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}]}},
            True,
            {"loadBalancer": {"ingress": [ENTRY, {"ip": "10.0.0.2"}]}},  # another instance's kept
        ),
        (
            {"loadBalancer": {"ingress": [ENTRY, {"ip": "10.0.0.2"}]}},
            False,
            {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}]}},
        ),
        ({"loadBalancer": {"ingress": [ENTRY]}}, False, {"loadBalancer": {}}),
        ({}, False, None),
    ],
)
def test_desired_status(status: dict[str, Any], served: bool, expected: dict[str, Any] | None) -> None:
    assert desired_status({"status": status}, "10.0.0.1", 8080, served) == expected


@pytest.mark.parametrize(
    ("text", "local", "remote"),
    [("8080:80", 8080, 80), ("80", 80, 80), (":80", 0, 80), ("0:80", 0, 80), ("8080:http", 8080, "http")],
)
def test_port_specs(text: str, local: int, remote: int | str) -> None:
    spec = parse_port_spec(text)
    assert (spec.local, spec.remote) == (local, remote)


@pytest.mark.parametrize("text", ["8080:", "x:80", "70000", "http"])
def test_bad_port_specs(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_port_spec(text)


POD = {
    "metadata": {"name": "p"},
    "spec": {"containers": [{"ports": [{"name": "web", "containerPort": 8080}]}]},
}
SVC = {
    "metadata": {"name": "s"},
    "spec": {
        "ports": [
            {"name": "a", "port": 80, "targetPort": "web"},
            {"name": "b", "port": 81, "targetPort": 9090},
        ]
    },
}


def test_service_ports_map_to_the_pod_port() -> None:
    assert service_target(SVC, POD, 80) == 8080  # a named targetPort, from the pod's container ports
    assert service_target(SVC, POD, "b") == 9090
    with pytest.raises(BadRequest, match="Service s does not have a service port 82"):
        service_target(SVC, POD, 82)
