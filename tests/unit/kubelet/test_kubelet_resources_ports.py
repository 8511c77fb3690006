from decimal import Decimal

import pytest

from actors.kubelet.ports import PortMapping, pod_port_mappings, port_config
from actors.kubelet.resources import (
    bytes_of,
    effective_security,
    host_config_resources,
    milli_cpu,
    parse_quantity,
    security_config,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100m", Decimal("0.1")),
        ("1", Decimal(1)),
        ("0.5", Decimal("0.5")),
        ("64Mi", Decimal(64 * 2**20)),
        ("1Gi", Decimal(2**30)),
        ("128M", Decimal(128 * 10**6)),
        ("1e3", Decimal(1000)),
        ("2k", Decimal(2000)),
        (2, Decimal(2)),
    ],
)
def test_parse_quantity(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("bad", ["", "abc", "1Qi", "--1", True])
def test_parse_quantity_rejects(bad):
    with pytest.raises(ValueError):
        parse_quantity(bad)


def test_milli_cpu_rounds_up():
    assert milli_cpu("0.1") == 100
    assert milli_cpu("1.0001") == 1001
    assert bytes_of("1.5Ki") == 1536


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (None, {"CpuShares": 2}),
        ({"requests": {"cpu": "250m"}}, {"CpuShares": 256}),
        ({"requests": {"cpu": "1m"}}, {"CpuShares": 2}),
        (
            {"limits": {"cpu": "500m", "memory": "64Mi"}},
            {"NanoCpus": 500_000_000, "Memory": 64 * 2**20, "MemorySwap": 64 * 2**20, "CpuShares": 512},
        ),
        (
            {"limits": {"cpu": "2"}, "requests": {"cpu": "1", "memory": "1Gi"}},
            {"NanoCpus": 2_000_000_000, "CpuShares": 1024},
        ),
    ],
)
def test_host_config_resources(resources, expected):
    assert host_config_resources(resources) == expected


def test_security_merges_pod_and_container_and_maps_to_docker():
    sc = effective_security({"runAsUser": 1000, "runAsGroup": 3000}, {"runAsUser": 2000, "privileged": True})
    config, host = security_config(
        {**sc, "readOnlyRootFilesystem": True, "capabilities": {"add": ["NET_ADMIN"]}}
    )
    assert config == {"User": "2000:3000"}
    assert host == {"Privileged": True, "ReadonlyRootfs": True, "CapAdd": ["NET_ADMIN"]}
    assert security_config(None) == ({}, {})


def test_pod_port_mappings_only_host_ports_and_both_protocols():
    pod = {
        "spec": {
            "containers": [
                {"name": "u", "ports": [{"containerPort": 53, "hostPort": 53, "protocol": "UDP"}]},
                {"name": "t", "ports": [{"containerPort": 53, "hostPort": 53}, {"containerPort": 80}]},
            ]
        }
    }
    maps = pod_port_mappings(pod)
    assert maps == [PortMapping(53, 53, "UDP"), PortMapping(53, 53, "TCP")]
    exposed, bindings = port_config(maps)
    assert exposed == {"53/udp": {}, "53/tcp": {}}
    assert bindings == {
        "53/udp": [{"HostIp": "", "HostPort": "53"}],
        "53/tcp": [{"HostIp": "", "HostPort": "53"}],
    }


def test_port_config_dedupes_and_keeps_host_ip():
    maps = [PortMapping(80, 8080, "TCP", "127.0.0.1"), PortMapping(80, 8080, "TCP", "127.0.0.1")]
    assert port_config(maps)[1] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}
