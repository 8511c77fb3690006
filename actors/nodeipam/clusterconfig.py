"""The cluster's pod network as the control plane publishes it: ConfigMap
``kube-system/jetkube-cluster-config``. No I/O.

The node IPAM controller (the one that cuts ``--cluster-cidr`` into the Nodes' ``spec.podCIDR``)
keeps it saying what it allocates from::

    data:
      clusterCIDR: 10.244.0.0/16
      nodeCIDRMaskSize: "24"

and puts it back if someone edits or deletes it. A kubelet started without ``--cluster-cidr`` (its
flannel agent: which traffic is pod-to-pod and is never masqueraded, which routes are its own)
reads ``clusterCIDR`` from here; the flag, when given, wins. Every node may ``get`` this one
ConfigMap (actors/api/authz/node.py). The role kubeadm's ``kubeadm-config`` and flannel's
``kube-flannel-cfg`` (``net-conf.json``'s ``Network``) play in Kubernetes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from actors.nodeipam.pool import Pool

Obj = Mapping[str, Any]
NAMESPACE = "kube-system"
NAME = "jetkube-cluster-config"
CLUSTER_CIDR = "clusterCIDR"
NODE_MASK = "nodeCIDRMaskSize"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "nodeipam-controller"


def data_of(pool: Pool) -> dict[str, str]:
    return {CLUSTER_CIDR: str(pool.network), NODE_MASK: str(pool.mask)}


def config_map(pool: Pool) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {MANAGED_BY: MANAGER}},
        "data": data_of(pool),
    }


def publish(current: Obj | None, pool: Pool) -> tuple[str, dict[str, Any]] | None:
    """``("create", cm)`` when there is none, ``("update", cm)`` (on the revision read) when its data
    differ from the pool's, None when it says the right thing. Other keys a user added are kept."""
    if current is None:
        return "create", config_map(pool)
    data = dict(current.get("data") or {})
    want = data_of(pool)
    if all(data.get(k) == v for k, v in want.items()):
        return None
    out = dict(current)
    out["data"] = {**data, **want}
    return "update", out


def cluster_cidr_of(cm: Obj | None) -> tuple[ipaddress.IPv4Network | None, str]:
    """(the published cluster CIDR, "") or (None, what is wrong, naming the object and field)."""
    where = f"configmap {NAMESPACE}/{NAME}"
    if cm is None:
        return None, (
            f"{where} not found: give the kubelet --cluster-cidr, or run the control plane's "
            "nodeipam controller, which publishes it"
        )
    text = str((cm.get("data") or {}).get(CLUSTER_CIDR) or "").strip()
    if not text:
        return None, f"{where}: data.{CLUSTER_CIDR}: Required value"
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        return None, f'{where}: data.{CLUSTER_CIDR}: Invalid value: "{text}": must be a valid CIDR ({exc})'
    if not isinstance(net, ipaddress.IPv4Network):
        return None, f'{where}: data.{CLUSTER_CIDR}: Invalid value: "{text}": must be an IPv4 CIDR'
    return net, ""
