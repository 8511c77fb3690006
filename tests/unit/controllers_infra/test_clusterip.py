"""ClusterIP / NodePort allocation: services and used addresses in, filled spec or field errors out."""

from __future__ import annotations

import random
from typing import Any

import pytest

from actors.admission.clusterip import (
    NodePortRange,
    ServiceIPRange,
    allocate_service,
    ip_claim_key,
    used_addresses,
)
from schemas.errors import InternalError, Invalid


def svc(name: str = "web", namespace: str = "default", **spec: Any) -> dict[str, Any]:
    spec.setdefault("ports", [{"port": 80, "protocol": "TCP"}])
    return {"metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"}, "spec": spec}


def test_dynamic_ip_in_range_not_reserved() -> None:
    rng = random.Random(1)
    out = allocate_service(svc(), None, set(), set(), rng=rng)
    ip = out["spec"]["clusterIP"]
    assert ServiceIPRange().contains(ip)
    assert ip != "10.96.0.1"
    assert out["spec"]["clusterIPs"] == [ip]


def test_never_gives_a_used_ip_in_a_tiny_range() -> None:
    rng = random.Random(2)
    small = ServiceIPRange("10.0.0.0/29")  # hosts .1-.6, .1 reserved -> 5 usable
    used: set[str] = set()
    for i in range(5):
        out = allocate_service(svc(f"s{i}"), None, used, set(), ip_range=small, rng=rng)
        assert out["spec"]["clusterIP"] not in used
        used.add(out["spec"]["clusterIP"])
    assert used == {f"10.0.0.{i}" for i in range(2, 7)}
    with pytest.raises(InternalError, match="range is full"):
        allocate_service(svc("s6"), None, used, set(), ip_range=small, rng=rng)


def test_kubernetes_service_gets_first_ip() -> None:
    out = allocate_service(svc("kubernetes", ports=[{"port": 443}]), None, set(), set())
    assert out["spec"]["clusterIP"] == "10.96.0.1"


@pytest.mark.parametrize(
    ("requested", "used", "message"),
    [
        (
            "10.96.0.5",
            {"10.96.0.5"},
            'spec.clusterIP: Invalid value: "10.96.0.5": provided IP is already allocated',
        ),
        ("10.96.0.1", set(), 'spec.clusterIP: Invalid value: "10.96.0.1": provided IP is already allocated'),
        (
            "10.0.0.5",
            set(),
            'spec.clusterIP: Invalid value: "10.0.0.5": provided IP is not in the valid range. '
            "The range of valid IPs is 10.96.0.0/12",
        ),
        ("banana", set(), 'spec.clusterIP: Invalid value: "banana": must be a valid IP address'),
    ],
)
def test_requested_ip_refused(requested: str, used: set[str], message: str) -> None:
    with pytest.raises(Invalid) as info:
        allocate_service(svc(clusterIP=requested), None, used, set())
    assert str(info.value.causes[0]) == message
    assert info.value.message == f'Service "web" is invalid: {message}'


def test_requested_ip_free_is_kept() -> None:
    out = allocate_service(svc(clusterIP="10.96.0.5"), None, {"10.96.0.6"}, set())
    assert out["spec"]["clusterIP"] == "10.96.0.5"


@pytest.mark.parametrize("value", ["None"])
def test_headless(value: str) -> None:
    out = allocate_service(svc(clusterIP=value), None, set(), set())
    assert out["spec"]["clusterIP"] == "None"
    assert out["spec"]["clusterIPs"] == ["None"]


def test_headless_nodeport_refused() -> None:
    with pytest.raises(Invalid, match="may not be set to 'None' for NodePort services"):
        allocate_service(svc(clusterIP="None", type="NodePort"), None, set(), set())


def test_external_name_gets_no_ip() -> None:
    out = allocate_service(svc(type="ExternalName", externalName="x.example"), None, set(), set())
    assert "clusterIP" not in out["spec"]


def test_update_keeps_ip_and_refuses_change() -> None:
    old = allocate_service(svc(), None, set(), set(), rng=random.Random(3))
    ip = old["spec"]["clusterIP"]
    updated = svc()  # the user's update does not carry clusterIP
    assert allocate_service(updated, old, set(), set())["spec"]["clusterIP"] == ip
    with pytest.raises(Invalid, match="field is immutable"):
        allocate_service(svc(clusterIP="10.96.0.9"), old, set(), set())


def test_released_on_delete_by_construction() -> None:
    a = allocate_service(svc("a", clusterIP="10.96.0.5"), None, set(), set())
    ips, _ = used_addresses([a])
    with pytest.raises(Invalid):
        allocate_service(svc("b", clusterIP="10.96.0.5"), None, ips, set())
    ips, _ = used_addresses([])  # "a" deleted
    assert allocate_service(svc("b", clusterIP="10.96.0.5"), None, ips, set())["spec"]["clusterIP"]


def test_used_addresses_skips_self() -> None:
    a = svc("a", clusterIP="10.96.0.5", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    assert used_addresses([a]) == ({"10.96.0.5"}, {30080})
    assert used_addresses([a], skip_uid="uid-a") == (set(), set())


def test_node_port_allocated_and_checked() -> None:
    out = allocate_service(
        svc(type="NodePort", ports=[{"port": 80}, {"port": 443}]), None, set(), {30000}, rng=random.Random(4)
    )
    ports = [p["nodePort"] for p in out["spec"]["ports"]]
    assert all(NodePortRange().contains(p) for p in ports) and len(set(ports)) == 2 and 30000 not in ports
    with pytest.raises(Invalid) as info:
        allocate_service(svc(type="NodePort", ports=[{"port": 80, "nodePort": 30080}]), None, set(), {30080})
    assert (
        str(info.value.causes[0])
        == "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
    )
    with pytest.raises(Invalid) as info:
        allocate_service(svc(type="NodePort", ports=[{"port": 80, "nodePort": 80}]), None, set(), set())
    assert str(info.value.causes[0]) == (
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. "
        "The range of valid ports is 30000-32767"
    )


def test_node_port_same_number_tcp_and_udp_in_one_service() -> None:
    ports = [
        {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP", "nodePort": 30053},
    ]
    out = allocate_service(svc(type="NodePort", ports=ports), None, set(), set())
    assert [p["nodePort"] for p in out["spec"]["ports"]] == [30053, 30053]
    dup = [{"name": "a", "port": 1, "nodePort": 30053}, {"name": "b", "port": 2, "nodePort": 30053}]
    with pytest.raises(Invalid, match=r"spec.ports\[1\].nodePort"):
        allocate_service(svc(type="NodePort", ports=dup), None, set(), set())


def test_node_port_kept_on_update_and_dropped_for_cluster_ip() -> None:
    old = allocate_service(svc(type="NodePort", ports=[{"port": 80, "nodePort": 30080}]), None, set(), set())
    out = allocate_service(svc(type="NodePort", ports=[{"port": 80}]), old, set(), set())
    assert out["spec"]["ports"][0]["nodePort"] == 30080
    out = allocate_service(svc(type="ClusterIP", ports=[{"port": 80, "nodePort": 30080}]), old, set(), set())
    assert "nodePort" not in out["spec"]["ports"][0]


def test_input_not_modified_and_claim_key() -> None:
    s = svc()
    allocate_service(s, None, set(), set())
    assert "clusterIP" not in s["spec"]
    assert ip_claim_key("10.96.0.5") == "ipallocations._.10.96.0.5"
