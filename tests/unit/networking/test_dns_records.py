"""Cluster DNS answers from Services and Endpoints, and pods' DNS settings by dnsPolicy."""

from __future__ import annotations

from typing import Any

import pytest
from dnslib import QTYPE, RCODE

from actors.dns.podconfig import pod_dns
from actors.dns.records import resolve
from actors.kubelet.envvars import resolve_env, service_env
from actors.kubelet.types import DnsSettings

SERVICES: dict[tuple[str, str], dict[str, Any]] = {
    ("default", "web"): {
        "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}
    },
    ("default", "db"): {
        "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}
    },
    ("default", "ext"): {"spec": {"type": "ExternalName", "externalName": "example.com"}},
}
ENDPOINTS = {
    ("default", "db"): {
        "subsets": [
            {
                "addresses": [{"ip": "172.17.0.5", "hostname": "db-0"}, {"ip": "172.17.0.6"}],
                "notReadyAddresses": [{"ip": "172.17.0.7"}],
                "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}],
            }
        ]
    }
}


def ask(name: str, qtype: int = QTYPE.A) -> tuple[int, list[tuple[str, str]], list[str]] | None:
    ans = resolve(name, qtype, lambda ns, n: SERVICES.get((ns, n)), lambda ns, n: ENDPOINTS.get((ns, n)))
    if ans is None:
        return None
    return (
        ans.rcode,
        [(QTYPE[rr.rtype], str(rr.rdata)) for rr in ans.answers],
        [str(rr.rdata) for rr in ans.additional],
    )


@pytest.mark.parametrize(
    ("name", "qtype", "want"),
    [
        ("web.default.svc.cluster.local.", QTYPE.A, (RCODE.NOERROR, [("A", "10.96.0.20")], [])),
        ("WEB.Default.svc.cluster.local", QTYPE.A, (RCODE.NOERROR, [("A", "10.96.0.20")], [])),
        ("web.default.svc.cluster.local", QTYPE.AAAA, (RCODE.NOERROR, [], [])),
        ("nope.default.svc.cluster.local", QTYPE.A, (RCODE.NXDOMAIN, [], [])),
        ("web.other.svc.cluster.local", QTYPE.A, (RCODE.NXDOMAIN, [], [])),
        (
            "db.default.svc.cluster.local",
            QTYPE.A,
            (RCODE.NOERROR, [("A", "172.17.0.5"), ("A", "172.17.0.6")], []),
        ),
        ("db-0.db.default.svc.cluster.local", QTYPE.A, (RCODE.NOERROR, [("A", "172.17.0.5")], [])),
        ("172-17-0-6.db.default.svc.cluster.local", QTYPE.A, (RCODE.NOERROR, [("A", "172.17.0.6")], [])),
        ("172-17-0-7.db.default.svc.cluster.local", QTYPE.A, (RCODE.NXDOMAIN, [], [])),
        (
            "_http._tcp.web.default.svc.cluster.local",
            QTYPE.SRV,
            (RCODE.NOERROR, [("SRV", "0 100 80 web.default.svc.cluster.local.")], ["10.96.0.20"]),
        ),
        ("_http._udp.web.default.svc.cluster.local", QTYPE.SRV, (RCODE.NXDOMAIN, [], [])),
        (
            "_pg._tcp.db.default.svc.cluster.local",
            QTYPE.SRV,
            (
                RCODE.NOERROR,
                [
                    ("SRV", "0 50 5432 db-0.db.default.svc.cluster.local."),
                    ("SRV", "0 50 5432 172-17-0-6.db.default.svc.cluster.local."),
                ],
                ["172.17.0.5", "172.17.0.6"],
            ),
        ),
        ("ext.default.svc.cluster.local", QTYPE.A, (RCODE.NOERROR, [("CNAME", "example.com.")], [])),
        ("10-1-2-3.default.pod.cluster.local", QTYPE.A, (RCODE.NOERROR, [("A", "10.1.2.3")], [])),
        ("x.y.cluster.local", QTYPE.A, (RCODE.NXDOMAIN, [], [])),
    ],
)
def test_cluster_zone(name: str, qtype: int, want: Any) -> None:
    assert ask(name, qtype) == want


def test_other_names_are_forwarded() -> None:
    assert ask("example.com") is None
    assert ask("cluster.local.example.com") is None


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "team"}, "spec": spec}


def test_pod_dns_by_policy() -> None:
    cluster = DnsSettings(
        ("10.96.0.10",), ("team.svc.cluster.local", "svc.cluster.local", "cluster.local"), ("ndots:5",)
    )
    assert pod_dns(pod(), ["10.96.0.10"]) == cluster
    assert pod_dns(pod(dnsPolicy="ClusterFirst"), []) is None  # no cluster DNS: the node's
    assert pod_dns(pod(dnsPolicy="Default"), ["10.96.0.10"]) is None
    cfg = {
        "nameservers": ["1.2.3.4"],
        "searches": ["a.test"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
    }
    assert pod_dns(pod(dnsPolicy="None", dnsConfig=cfg), ["10.96.0.10"]) == DnsSettings(
        ("1.2.3.4",), ("a.test",), ("ndots:2", "edns0")
    )
    merged = pod_dns(pod(dnsConfig=cfg), ["10.96.0.10"])
    assert merged is not None
    assert merged.servers == ("10.96.0.10", "1.2.3.4")
    assert merged.options == ("ndots:2", "edns0")


def test_service_environment_variables() -> None:
    services = [
        {
            "metadata": {"name": "redis-master", "namespace": "team"},
            "spec": {
                "clusterIP": "10.96.0.11",
                "ports": [{"name": "redis", "port": 6379, "protocol": "TCP"}],
            },
        },
        {
            "metadata": {"name": "hl", "namespace": "team"},
            "spec": {"clusterIP": "None", "ports": [{"port": 1}]},
        },
        {
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]},
        },
        {
            "metadata": {"name": "other", "namespace": "default"},
            "spec": {"clusterIP": "10.96.0.12", "ports": [{"port": 1}]},
        },
    ]
    env = service_env(pod(), services)
    assert env["REDIS_MASTER_SERVICE_HOST"] == "10.96.0.11"
    assert env["REDIS_MASTER_SERVICE_PORT"] == "6379"
    assert env["REDIS_MASTER_SERVICE_PORT_REDIS"] == "6379"
    assert env["REDIS_MASTER_PORT"] == "tcp://10.96.0.11:6379"
    assert env["REDIS_MASTER_PORT_6379_TCP_ADDR"] == "10.96.0.11"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert not any(k.startswith(("HL_", "OTHER_")) for k in env)
    links_off = service_env(pod(enableServiceLinks=False), services)
    assert "REDIS_MASTER_SERVICE_HOST" not in links_off and "KUBERNETES_SERVICE_HOST" in links_off
    # the container's own env comes after and may use them
    c = {"env": [{"name": "URL", "value": "redis://$(REDIS_MASTER_SERVICE_HOST)"}]}
    out = dict(resolve_env(pod(), c, {}, base_env=env))
    assert out["URL"] == "redis://10.96.0.11"
