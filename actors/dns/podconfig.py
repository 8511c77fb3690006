"""A pod's DNS settings by ``dnsPolicy``, as the kubelet gives them to the sandbox. No I/O.

- ``ClusterFirst`` (the default): the cluster DNS as nameserver, search ``<ns>.svc.<zone>
  svc.<zone> <zone>``, ``options ndots:5``; when the kubelet knows no cluster DNS it falls back
  to ``Default``, as Kubernetes does. ``ClusterFirstWithHostNet`` is the same;
- ``Default``: the node's resolver: None, and the engine copies the host's resolv.conf;
- ``None``: only what ``dnsConfig`` gives.

``dnsConfig`` (nameservers, searches, options) is merged in for every policy; options with a value
are written ``name:value``. Host-network pods keep the host's resolv.conf (the engine ignores DNS
settings there).
"""

from __future__ import annotations

from typing import Any

from actors.kubelet.types import DnsSettings

MAX_SEARCHES = 32


def _options(items: list[Any]) -> list[str]:
    out = []
    for o in items:
        name = str(o.get("name") or "")
        if not name:
            continue
        out.append(f"{name}:{o['value']}" if o.get("value") not in (None, "") else name)
    return out


def _uniq(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def pod_dns(pod: dict[str, Any], cluster_dns: list[str], domain: str = "cluster.local") -> DnsSettings | None:
    spec = pod.get("spec") or {}
    ns = str((pod.get("metadata") or {}).get("namespace") or "default")
    policy = str(spec.get("dnsPolicy") or "ClusterFirst")
    cfg = spec.get("dnsConfig") or {}
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet") and cluster_dns:
        servers = list(cluster_dns)
        searches = [f"{ns}.svc.{domain}", f"svc.{domain}", domain]
        options = ["ndots:5"]
    elif policy != "None" and not cfg:
        return None
    servers += [str(s) for s in cfg.get("nameservers") or []]
    searches += [str(s) for s in cfg.get("searches") or []]
    extra = _options(cfg.get("options") or [])
    names = {o.split(":", 1)[0] for o in extra}
    options = [o for o in options if o.split(":", 1)[0] not in names] + extra
    return DnsSettings(_uniq(servers), _uniq(searches)[:MAX_SEARCHES], _uniq(options))
