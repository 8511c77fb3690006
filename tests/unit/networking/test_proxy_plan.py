"""The proxy's pure decisions: Service ports, ready backends, NAT rules, round robin and affinity."""

from __future__ import annotations

from typing import Any

from actors.proxy.balancer import LoadBalancer
from actors.proxy.plan import ServicePort, ServicePortName, backends, nat_rules, service_ports


def svc(**spec: Any) -> dict[str, Any]:
    base = {"clusterIP": "10.96.0.20", "type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP"}]}
    return {"metadata": {"name": "web", "namespace": "ns"}, "spec": {**base, **spec}}


def test_service_ports() -> None:
    [sp] = service_ports(svc())
    assert (str(sp.id), sp.cluster_ip, sp.port, sp.protocol, sp.node_port, sp.affinity_timeout) == (
        "ns/web",
        "10.96.0.20",
        80,
        "TCP",
        None,
        None,
    )
    ports = [
        {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053},
        {"name": "s", "port": 1, "protocol": "SCTP"},
    ]
    [udp] = service_ports(svc(ports=ports, type="NodePort", sessionAffinity="ClientIP"))
    assert (udp.id.port, udp.protocol, udp.node_port, udp.affinity_timeout) == ("dns", "UDP", 30053, 10800.0)
    assert service_ports(svc(clusterIP="None")) == []
    assert service_ports(svc(type="ExternalName", clusterIP="")) == []


def test_backends_are_ready_addresses_of_the_matching_port() -> None:
    ep = {
        "subsets": [
            {
                "addresses": [{"ip": "172.17.0.3"}, {"ip": "172.17.0.2"}],
                "notReadyAddresses": [{"ip": "172.17.0.9"}],
                "ports": [
                    {"name": "http", "port": 8080, "protocol": "TCP"},
                    {"name": "dns", "port": 53, "protocol": "UDP"},
                ],
            },
            {
                "addresses": [{"ip": "172.17.0.4"}],
                "ports": [{"name": "http", "port": 9090, "protocol": "TCP"}],
            },
        ]
    }
    assert backends(ep, "http", "TCP") == [("172.17.0.2", 8080), ("172.17.0.3", 8080), ("172.17.0.4", 9090)]
    assert backends(ep, "dns", "UDP") == [("172.17.0.2", 53), ("172.17.0.3", 53)]
    assert backends(ep, "dns", "TCP") == []
    assert backends(None, "", "TCP") == []


def test_nat_rules_redirect_each_cluster_ip_port() -> None:
    sp = ServicePort(ServicePortName("ns", "web", ""), "10.96.0.20", 80, "TCP")
    text = nat_rules("JK", {sp: 40000})
    assert text.splitlines() == [
        "*nat",
        ":JK - [0:0]",
        '-A JK -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -m comment --comment "ns/web cluster IP" '
        "-j REDIRECT --to-ports 40000",
        "COMMIT",
    ]
    assert nat_rules("JK", {}).splitlines() == ["*nat", ":JK - [0:0]", "COMMIT"]


A = ServicePortName("ns", "a", "")
B1, B2, B3 = ("10.0.0.1", 80), ("10.0.0.2", 80), ("10.0.0.3", 80)


def test_round_robin_and_exclusion() -> None:
    lb = LoadBalancer()
    assert lb.update(A, [B2, B1], None)
    assert not lb.update(A, [B1, B2], None)
    assert [lb.next(A, "c", 0) for _ in range(4)] == [B1, B2, B1, B2]
    assert lb.next(A, "c", 0, frozenset({B1})) == B2
    assert lb.next(A, "c", 0, frozenset({B1, B2})) is None
    lb.update(A, [], None)
    assert lb.next(A, "c", 0) is None
    assert lb.next(ServicePortName("x", "y", ""), "c", 0) is None


def test_client_ip_affinity_pins_until_idle_or_gone() -> None:
    lb = LoadBalancer()
    lb.update(A, [B1, B2, B3], 10.0)
    first = lb.next(A, "1.1.1.1", 0)
    assert [lb.next(A, "1.1.1.1", t) for t in (1, 5, 14)] == [first] * 3
    other = lb.next(A, "2.2.2.2", 14)
    assert other != first
    lb.update(A, [b for b in (B1, B2, B3) if b != other], 10.0)  # the pinned backend left
    assert lb.next(A, "2.2.2.2", 31) != other
    lb.forget(A, "1.1.1.1")
    assert lb.next(A, "1.1.1.1", 31, frozenset({first})) != first
