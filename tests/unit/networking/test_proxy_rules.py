"""The iptables mode's ruleset as a pure function of Service ports and ready backends: the chain
names, a rule per endpoint with the right probability, NodePorts, masquerade marks, affinity,
rejects for ports without endpoints, stale chains deleted, and the UDP conntrack flushes."""

from __future__ import annotations

import pytest

from actors.proxy.plan import Backend, ServicePort, ServicePortName
from actors.proxy.rules import chain_names, chains_of, removal, ruleset, udp_conntrack_deletes

NAMES = chain_names("JETKUBE-SERVICES")
WEB = ServicePort(ServicePortName("ns", "web", "http"), "10.96.0.20", 80, "TCP")
DNS = ServicePort(ServicePortName("ns", "dns", ""), "10.96.0.10", 53, "UDP", node_port=30053)
A, B, C = ("172.17.0.2", 8080), ("172.17.0.3", 8080), ("172.17.0.4", 8080)


def rules_of(text: str, chain: str, table: str = "nat") -> list[str]:
    section = text.split(f"*{table}\n", 1)[1].split("COMMIT", 1)[0]
    return [line for line in section.splitlines() if line.startswith(f"-A {chain} ")]


@pytest.mark.parametrize(
    ("top", "prefix"),
    [("JETKUBE-SERVICES", "JETKUBE"), ("JETKUBE-TESTBED", None), ("JK-abc123", None), ("X-SERVICES", "X")],
)
def test_chain_names(top: str, prefix: str | None) -> None:
    names = chain_names(top)
    assert names.top == top
    if prefix:
        assert names.prefix == prefix
    else:
        assert names.prefix.startswith("JK") and len(names.prefix) == 6
        assert names.prefix != chain_names(top + "x").prefix
    svc = names.svc(WEB)
    assert svc.startswith(f"{names.prefix}-SVC-") and len(svc) <= 28
    assert names.sep(WEB, A) != names.sep(WEB, B) and len(names.sep(WEB, A)) <= 28
    assert names.svc(WEB) != names.svc(DNS)


def test_chain_name_too_long() -> None:
    with pytest.raises(ValueError, match="1-28"):
        chain_names("X" * 29)


@pytest.mark.parametrize(
    ("backends", "chances"),
    [
        ([A], [None]),
        ([A, B], ["0.5000000000", None]),
        ([A, B, C], ["0.3333333333", "0.5000000000", None]),
    ],
)
def test_one_rule_per_endpoint_with_probability_one_over_the_rest(
    backends: list[Backend], chances: list[str | None]
) -> None:
    text = ruleset(NAMES, {WEB: backends})
    svc = NAMES.svc(WEB)
    rules = rules_of(text, svc)
    assert len(rules) == len(backends)
    for rule, be, chance in zip(rules, backends, chances, strict=True):
        assert rule.endswith(f"-j {NAMES.sep(WEB, be)}")
        if chance is None:
            assert "statistic" not in rule
        else:
            assert f"-m statistic --mode random --probability {chance} " in rule
    for be in backends:
        sep = rules_of(text, NAMES.sep(WEB, be))
        assert sep[0].endswith(f"-s {be[0]}/32 -j JETKUBE-MARK-MASQ")  # hairpin
        assert sep[1].endswith(f"-p tcp -m tcp -j DNAT --to-destination {be[0]}:{be[1]}")


def test_cluster_ip_rules_and_the_nodeports_jump_last() -> None:
    text = ruleset(NAMES, {WEB: [A], DNS: [("172.17.0.9", 53)]}, cluster_cidr="10.244.0.0/16")
    top = rules_of(text, "JETKUBE-SERVICES")
    assert top[0] == (
        '-A JETKUBE-SERVICES -m comment --comment "ns/dns UDP cluster IP" -d 10.96.0.10/32 -p udp -m udp '
        "--dport 53 ! -s 10.244.0.0/16 -j JETKUBE-MARK-MASQ"
    )
    assert top[1].endswith(f"-d 10.96.0.10/32 -p udp -m udp --dport 53 -j {NAMES.svc(DNS)}")
    assert top[3].endswith(f"-d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j {NAMES.svc(WEB)}")
    assert top[-1].endswith("-m addrtype --dst-type LOCAL -j JETKUBE-NODEPORTS")
    assert rules_of(text, "JETKUBE-NODEPORTS") == [
        f'-A JETKUBE-NODEPORTS -m comment --comment "ns/dns UDP" -p udp -m udp --dport 30053 -j {j}'
        for j in ("JETKUBE-MARK-MASQ", NAMES.svc(DNS))
    ]
    assert rules_of(text, "JETKUBE-POSTROUTING") == [
        '-A JETKUBE-POSTROUTING -m comment --comment "jetkube service traffic requiring SNAT" '
        "-m mark --mark 0x4000/0x4000 -j MASQUERADE"
    ]
    assert rules_of(text, "JETKUBE-MARK-MASQ") == ["-A JETKUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"]
    # no cluster CIDR: no "from outside" mark; no node ports: no NodePort rules
    bare = ruleset(NAMES, {WEB: [A], DNS: [("172.17.0.9", 53)]}, node_ports=False)
    assert not any("! -s" in r for r in rules_of(bare, "JETKUBE-SERVICES"))
    assert rules_of(bare, "JETKUBE-NODEPORTS") == []


def test_affinity_checks_recent_clients_first_and_sets_them() -> None:
    sticky = ServicePort(WEB.id, WEB.cluster_ip, 80, "TCP", affinity_timeout=600.0)
    text = ruleset(NAMES, {sticky: [A, B]})
    svc = NAMES.svc(sticky)
    rules = rules_of(text, svc)
    assert [r.split(" -m recent ", 1)[1] for r in rules[:2]] == [
        f"--name {NAMES.sep(sticky, be)} --rcheck --seconds 600 --reap -j {NAMES.sep(sticky, be)}"
        for be in (A, B)
    ]
    assert "statistic" in rules[2] and rules[3].endswith(f"-j {NAMES.sep(sticky, B)}")
    assert (
        f"-m recent --name {NAMES.sep(sticky, A)} --set -m tcp -j DNAT"
        in rules_of(text, NAMES.sep(sticky, A))[1]
    )


def test_no_endpoints_rejects_in_the_filter_table() -> None:
    np = ServicePort(WEB.id, WEB.cluster_ip, 80, "TCP", node_port=30080)
    text = ruleset(NAMES, {np: []})
    assert rules_of(text, "JETKUBE-SERVICES", "filter") == [
        '-A JETKUBE-SERVICES -m comment --comment "ns/web:http has no endpoints" -d 10.96.0.20/32 -p tcp '
        "-m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable",
        '-A JETKUBE-SERVICES -m comment --comment "ns/web:http has no endpoints" '
        "-m addrtype --dst-type LOCAL -p tcp -m tcp --dport 30080 "
        "-j REJECT --reject-with icmp-port-unreachable",
    ]
    assert NAMES.svc(np) not in text  # no nat chain for it
    assert "NODEPORTS -m" not in text.replace("-j JETKUBE-NODEPORTS", "")
    assert len(rules_of(text, "JETKUBE-FORWARD", "filter")) == 2


def test_stale_chains_are_deleted_and_live_ones_kept() -> None:
    first = ruleset(NAMES, {WEB: [A, B]})
    existing = chains_of(first, NAMES)
    assert existing == {NAMES.svc(WEB), NAMES.sep(WEB, A), NAMES.sep(WEB, B)}
    second = ruleset(NAMES, {WEB: [A]}, stale=existing)
    assert f"-X {NAMES.sep(WEB, B)}" in second.splitlines()
    assert f":{NAMES.sep(WEB, B)} - [0:0]" in second.splitlines()  # declared (flushed) before deleted
    assert f"-X {NAMES.sep(WEB, A)}" not in second and f"-X {NAMES.svc(WEB)}" not in second
    assert chains_of("*nat\n:OTHER-SVC-X - [0:0]\n:KUBE-SEP-Y - [0:0]\n", NAMES) == set()


def test_removal_deletes_every_chain_of_the_proxy() -> None:
    text = removal(NAMES, {NAMES.svc(WEB), "OTHER-SVC-X"})
    assert "-X JETKUBE-SERVICES" in text and "-X JETKUBE-FORWARD" in text
    assert f"-X {NAMES.svc(WEB)}" in text and "OTHER" not in text
    assert text.index("*filter") < text.index("*nat")


UDP = ServicePort(ServicePortName("ns", "dns", "dns"), "10.96.0.10", 53, "UDP", node_port=30053)
E1, E2 = ("172.17.0.5", 53), ("172.17.0.6", 53)
VIP = ("--orig-dst", "10.96.0.10", "--orig-port-dst", "53")
REPLY5 = ("--reply-src", "172.17.0.5", "--reply-port-src", "53")
REPLY6 = ("--reply-src", "172.17.0.6", "--reply-port-src", "53")


@pytest.mark.parametrize(
    ("old", "new", "deletes"),
    [
        ({UDP: [E1, E2]}, {UDP: [E1, E2]}, []),
        (
            {UDP: [E1, E2]},
            {UDP: [E1]},
            [
                ("-D", "-p", "udp", *VIP, *REPLY6),
                ("-D", "-p", "udp", "--orig-port-dst", "30053", *REPLY6),
            ],
        ),
        (
            {UDP: [E1]},
            {},
            [
                ("-D", "-p", "udp", *VIP, *REPLY5),
                ("-D", "-p", "udp", "--orig-port-dst", "30053", *REPLY5),
            ],
        ),
        (  # same pod, new port
            {UDP: [E1]},
            {UDP: [("172.17.0.5", 54)]},
            [
                ("-D", "-p", "udp", *VIP, *REPLY5),
                ("-D", "-p", "udp", "--orig-port-dst", "30053", *REPLY5),
            ],
        ),
        ({UDP: []}, {UDP: [E1]}, [("-D", "-p", "udp", *VIP)]),  # rejected entries go
        ({}, {UDP: [E1]}, [("-D", "-p", "udp", *VIP)]),
        ({WEB: [A, B]}, {WEB: [A]}, []),  # TCP: connections end on their own
    ],
)
def test_udp_conntrack_deletes(
    old: dict[ServicePort, list[Backend]],
    new: dict[ServicePort, list[Backend]],
    deletes: list[tuple[str, ...]],
) -> None:
    assert udp_conntrack_deletes(old, new) == deletes


ROUTES = """default via 192.0.2.1 dev eth0
10.16.154.0/24 dev br-23e5 proto kernel scope link src 10.16.154.1
172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1
10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1
10.244.0.0/16 dev flannel.1 scope link
192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2
"""


@pytest.mark.parametrize(
    ("ips", "bridges"),
    [
        (["172.17.0.5"], {"docker0"}),
        (["172.17.0.5", "10.244.1.7"], {"docker0", "cni0"}),
        (["10.244.2.7"], set()),  # another node's pod: behind flannel.1, not a bridge of ours
        (["192.0.2.9", "not-an-ip"], set()),  # the host network
        ([], set()),
    ],
)
def test_hairpin_goes_to_the_bridges_that_hold_endpoints(ips: list[str], bridges: set[str]) -> None:
    from actors.proxy.hairpin import bridges_for

    assert bridges_for(ROUTES, ips, {"docker0", "cni0", "br-23e5"}) == bridges
