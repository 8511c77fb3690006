"""The pod network's view of its own Node as tables: the NetworkUnavailable condition patch, when a
changed subnet moves the host, and the cluster CIDR the control plane publishes."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from actors.flannel import condition, plan
from actors.nodeipam import clusterconfig
from actors.nodeipam.pool import parse_pool

NOW = "2026-12-07T05:00:00Z"
EARLIER = "2026-12-07T04:00:00Z"


def node(conditions: list[dict[str, Any]] | None = None, cidr: str | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": "n1"},
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {},
        "status": {"conditions": conditions or [{"type": "Ready", "status": "True"}]},
    }


def net(status: str, reason: str, message: str, since: str = EARLIER) -> dict[str, Any]:
    return {
        "type": "NetworkUnavailable",
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": since,
        "lastTransitionTime": since,
    }


def test_flannel_up_is_flannels_own_words_as_a_strategic_patch_of_the_status() -> None:
    patch = condition.condition_patch(node(), condition.UP, NOW)
    assert patch == {
        "status": {
            "conditions": [
                {
                    "type": "NetworkUnavailable",
                    "status": "False",
                    "reason": "FlannelIsUp",
                    "message": "Flannel is running on this node",
                    "lastHeartbeatTime": NOW,
                    "lastTransitionTime": NOW,
                }
            ]
        }
    }


@pytest.mark.parametrize(
    ("have", "want", "patched", "transition"),
    [
        ("registered without a route", condition.UP, True, NOW),  # True -> False: a transition
        ("up already", condition.UP, False, None),
        ("up already", condition.NO_POD_CIDR, True, NOW),
        ("registered without a route", condition.NO_POD_CIDR, True, EARLIER),  # True -> True: kept
        ("registered without a route", condition.setup_failed("ip: boom"), True, EARLIER),
    ],
)
def test_the_condition_is_patched_only_when_it_says_something_else(
    have: str, want: condition.NetworkState, patched: bool, transition: str | None
) -> None:
    existing = {
        "registered without a route": net("True", "NoRouteCreated", "Node created without a route"),
        "up already": net("False", "FlannelIsUp", "Flannel is running on this node"),
    }[have]
    patch = condition.condition_patch(node([{"type": "Ready", "status": "True"}, existing]), want, NOW)
    assert (patch is not None) is patched
    if patch is not None:
        [cond] = patch["status"]["conditions"]
        assert (cond["status"], cond["reason"], cond["message"]) == (want.status, want.reason, want.message)
        assert cond["lastTransitionTime"] == transition and cond["lastHeartbeatTime"] == NOW


def test_no_node_no_patch() -> None:
    assert condition.condition_patch(None, condition.UP, NOW) is None


S1, S2 = ipaddress.IPv4Network("10.244.1.0/24"), ipaddress.IPv4Network("10.244.7.0/24")


@pytest.mark.parametrize(
    ("current", "the_node", "moved"),
    [
        (S1, node(cidr="10.244.1.0/24"), None),  # the same subnet: nothing to do
        (S1, node(cidr="10.244.7.0/24"), S2),  # deleted and registered again: a new subnet
        (S1, None, None),  # deleted, not registered again yet: keep what runs
        (S1, node(), None),  # registered again, no subnet yet: keep until there is one
        (None, node(cidr="10.244.7.0/24"), None),  # never set up: setup() does it
    ],
)
def test_the_host_moves_only_to_another_allocated_subnet(
    current: ipaddress.IPv4Network | None, the_node: dict | None, moved: ipaddress.IPv4Network | None
) -> None:
    assert plan.moved_subnet(current, the_node) == moved


POOL = parse_pool("10.244.0.0/16", 24)


def test_the_ipam_publishes_its_pool_and_keeps_what_else_the_configmap_says() -> None:
    verb, cm = clusterconfig.publish(None, POOL) or ("", {})
    assert verb == "create"
    assert cm["metadata"]["namespace"] == "kube-system" and cm["metadata"]["name"] == "jetkube-cluster-config"
    assert cm["data"] == {"clusterCIDR": "10.244.0.0/16", "nodeCIDRMaskSize": "24"}
    stored = {**cm, "metadata": {**cm["metadata"], "resourceVersion": "9"}}
    assert clusterconfig.publish(stored, POOL) is None
    edited = {**stored, "data": {"clusterCIDR": "10.0.0.0/8", "note": "mine"}}
    verb, fixed = clusterconfig.publish(edited, POOL) or ("", {})
    assert verb == "update" and fixed["metadata"]["resourceVersion"] == "9"  # compare-and-set
    assert fixed["data"] == {"clusterCIDR": "10.244.0.0/16", "nodeCIDRMaskSize": "24", "note": "mine"}


@pytest.mark.parametrize(
    ("cm", "cidr", "problem"),
    [
        ({"data": {"clusterCIDR": "10.244.0.0/16"}}, "10.244.0.0/16", ""),
        (None, None, "kube-system/jetkube-cluster-config not found: give the kubelet --cluster-cidr"),
        ({"data": {}}, None, "data.clusterCIDR: Required value"),
        ({"data": {"clusterCIDR": "10.244.0.1/16"}}, None, 'clusterCIDR: Invalid value: "10.244.0.1/16"'),
        ({"data": {"clusterCIDR": "fd00::/64"}}, None, "must be an IPv4 CIDR"),
    ],
)
def test_the_kubelet_reads_the_published_cluster_cidr(
    cm: dict | None, cidr: str | None, problem: str
) -> None:
    got, why = clusterconfig.cluster_cidr_of(cm)
    assert (str(got) if got else None) == cidr
    assert problem in why and bool(why) == bool(problem)
