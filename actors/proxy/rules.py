"""Kubernetes 1.2's iptables proxier as pure functions: Service ports and their ready backends in,
an ``iptables-restore --noflush`` ruleset out. No I/O; tested as tables.

The chains (``P`` is the proxy's prefix, :func:`chain_names`; the default top chain
``JETKUBE-SERVICES`` gives ``JETKUBE``), as kube-proxy's ``KUBE-*`` chains:

nat table
- ``<top>`` (jumped to from PREROUTING and OUTPUT): per Service port, ``-d ClusterIP --dport port``
  to the port's chain (first marking it for masquerade when it comes from outside ``cluster_cidr``);
  last, every packet to a local address (``-m addrtype --dst-type LOCAL``) goes to ``P-NODEPORTS``;
- ``P-NODEPORTS``: per NodePort, mark for masquerade, then the port's chain;
- ``P-SVC-<hash>``, one per Service port: with ClientIP affinity first a ``-m recent --rcheck
  --seconds T --reap`` rule per endpoint (a client seen within T goes back to its endpoint), then one
  rule per endpoint in order, ``-m statistic --mode random --probability 1/n`` with n the endpoints
  left (the last one unconditional): each endpoint gets 1/N of the new connections;
- ``P-SEP-<hash>``, one per endpoint: mark for masquerade when the endpoint is the client itself
  (hairpin), then ``DNAT`` to ``ip:port`` (with ``-m recent --set`` under affinity);
- ``P-MARK-MASQ`` sets the mark ``0x4000/0x4000``; ``P-POSTROUTING`` (jumped to from POSTROUTING)
  masquerades marked packets.

filter table
- ``<top>`` (jumped to from INPUT, FORWARD and OUTPUT): a Service port with no ready endpoint is
  rejected (``icmp-port-unreachable``: the client's connect fails at once rather than timing out),
  on its ClusterIP and on its NodePort;
- ``P-FORWARD`` (jumped to from FORWARD): accepts marked (NodePort) traffic and the rest of
  DNATed connections, which a FORWARD policy of DROP (Docker's) would otherwise stop.

Chains of Service ports and endpoints that went away are declared (which flushes them) and deleted
in the same restore (:func:`ruleset`'s ``stale``). :func:`udp_conntrack_deletes` says which UDP
conntrack entries to flush after a change: UDP has no connection to end, so a client would keep
sending to a removed endpoint for as long as its conntrack entry lives.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from actors.proxy.plan import Backend, ServicePort

MASQ_MARK = "0x4000/0x4000"
MAX_CHAIN = 28  # iptables' limit on a chain name


def _hash(*parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.b32encode(digest).decode()[:16]


@dataclass(frozen=True)
class ChainNames:
    top: str  # the nat chain jumped to from PREROUTING/OUTPUT, and the filter chain of rejects
    prefix: str  # of every other chain this proxy owns

    @property
    def nodeports(self) -> str:
        return f"{self.prefix}-NODEPORTS"

    @property
    def postrouting(self) -> str:
        return f"{self.prefix}-POSTROUTING"

    @property
    def mark_masq(self) -> str:
        return f"{self.prefix}-MARK-MASQ"

    @property
    def forward(self) -> str:
        return f"{self.prefix}-FORWARD"

    def svc(self, sp: ServicePort) -> str:
        return f"{self.prefix}-SVC-{_hash(self.prefix, str(sp.id), sp.protocol)}"

    def sep(self, sp: ServicePort, backend: Backend) -> str:
        endpoint = f"{backend[0]}:{backend[1]}"
        return f"{self.prefix}-SEP-{_hash(self.prefix, str(sp.id), sp.protocol, endpoint)}"

    def is_per_service(self, chain: str) -> bool:
        """A chain of one Service port or endpoint of this proxy (for finding stale ones)."""
        return chain.startswith((f"{self.prefix}-SVC-", f"{self.prefix}-SEP-"))

    def fixed(self) -> dict[str, list[str]]:
        """The chains every ruleset declares, by table."""
        return {
            "nat": [self.top, self.nodeports, self.postrouting, self.mark_masq],
            "filter": [self.top, self.forward],
        }


def chain_names(top: str) -> ChainNames:
    """``JETKUBE-SERVICES`` -> prefix ``JETKUBE``; any other name (tests give each proxy its own)
    -> ``JK`` + 4 characters of its hash, so that two proxies on one host never share a chain."""
    if not top or len(top) > MAX_CHAIN:
        raise ValueError(f"chain name {top!r}: must be 1-{MAX_CHAIN} characters")
    stem = top.removesuffix("-SERVICES")
    prefix = stem if stem != top and len(stem) <= 7 else "JK" + _hash(top)[:4]
    return ChainNames(top, prefix)


def _sorted(ports: dict[ServicePort, list[Backend]]) -> list[ServicePort]:
    return sorted(ports, key=lambda sp: (str(sp.id), sp.protocol))


def _match(sp: ServicePort, port: int) -> str:
    proto = sp.protocol.lower()
    return f"-p {proto} -m {proto} --dport {port}"


def ruleset(
    names: ChainNames,
    ports: dict[ServicePort, list[Backend]],
    *,
    cluster_cidr: str = "",
    node_ports: bool = True,
    stale: Iterable[str] = (),
) -> str:
    """The whole ruleset, both tables, for ``iptables-restore --noflush``."""
    nat_chains = list(names.fixed()["nat"])
    nat: list[str] = []
    filt: list[str] = []
    nodeports: list[str] = []
    per: list[str] = []
    for sp in _sorted(ports):
        bes = ports[sp]
        comment = f'-m comment --comment "{sp.id}{"" if sp.protocol == "TCP" else " " + sp.protocol}'
        svc_match = f"-d {sp.cluster_ip}/32 {_match(sp, sp.port)}"
        np = sp.node_port if node_ports else None
        if not bes:
            filt.append(
                f'-A {names.top} {comment} has no endpoints" {svc_match} '
                "-j REJECT --reject-with icmp-port-unreachable"
            )
            if np:
                filt.append(
                    f'-A {names.top} {comment} has no endpoints" -m addrtype --dst-type LOCAL '
                    f"{_match(sp, np)} -j REJECT --reject-with icmp-port-unreachable"
                )
            continue
        svc = names.svc(sp)
        nat_chains.append(svc)
        if cluster_cidr:
            outside = f"! -s {cluster_cidr} -j {names.mark_masq}"
            nat.append(f'-A {names.top} {comment} cluster IP" {svc_match} {outside}')
        nat.append(f'-A {names.top} {comment} cluster IP" {svc_match} -j {svc}')
        if np:
            nodeports.append(f'-A {names.nodeports} {comment}" {_match(sp, np)} -j {names.mark_masq}')
            nodeports.append(f'-A {names.nodeports} {comment}" {_match(sp, np)} -j {svc}')
        seps = [names.sep(sp, be) for be in bes]
        nat_chains.extend(seps)
        timeout = int(sp.affinity_timeout) if sp.affinity_timeout is not None else None
        if timeout is not None:
            for sep in seps:
                seen = f"-m recent --name {sep} --rcheck --seconds {timeout} --reap"
                per.append(f'-A {svc} {comment}" {seen} -j {sep}')
        for i, sep in enumerate(seps):
            left = len(seps) - i
            chance = f"-m statistic --mode random --probability {1 / left:.10f} " if left > 1 else ""
            per.append(f'-A {svc} {comment}" {chance}-j {sep}')
        for sep, (ip, port) in zip(seps, bes, strict=True):
            proto = sp.protocol.lower()
            recent = f"-m recent --name {sep} --set " if timeout is not None else ""
            per.append(f'-A {sep} {comment}" -s {ip}/32 -j {names.mark_masq}')
            dnat = f"-m {proto} -j DNAT --to-destination {ip}:{port}"
            per.append(f'-A {sep} {comment}" -p {proto} {recent}{dnat}')
    nat.append(
        f'-A {names.top} -m comment --comment "jetkube service nodeports; the last rule of this chain" '
        f"-m addrtype --dst-type LOCAL -j {names.nodeports}"
    )
    gone = sorted(set(stale) - set(nat_chains))
    lines = ["*filter", *(f":{c} - [0:0]" for c in names.fixed()["filter"]), *filt]
    lines += [
        f'-A {names.forward} -m comment --comment "jetkube NodePort traffic" '
        f"-m mark --mark {MASQ_MARK} -j ACCEPT",
        f'-A {names.forward} -m comment --comment "jetkube service traffic, replies and the rest" '
        "-m conntrack --ctstate DNAT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "COMMIT",
        "*nat",
        *(f":{c} - [0:0]" for c in [*nat_chains, *gone]),
        f'-A {names.postrouting} -m comment --comment "jetkube service traffic requiring SNAT" '
        f"-m mark --mark {MASQ_MARK} -j MASQUERADE",
        f"-A {names.mark_masq} -j MARK --set-xmark {MASQ_MARK}",
        *nat,
        *nodeports,
        *per,
        *(f"-X {c}" for c in gone),
        "COMMIT",
    ]
    return "\n".join(lines) + "\n"


def removal(names: ChainNames, existing: Iterable[str]) -> str:
    """The restore input that empties and deletes every chain of this proxy (the jumps to them must
    be gone first)."""
    nat = sorted({*names.fixed()["nat"], *(c for c in existing if names.is_per_service(c))})
    filt = names.fixed()["filter"]
    lines = ["*filter", *(f":{c} - [0:0]" for c in filt), *(f"-X {c}" for c in filt), "COMMIT"]
    lines += ["*nat", *(f":{c} - [0:0]" for c in nat), *(f"-X {c}" for c in nat), "COMMIT"]
    return "\n".join(lines) + "\n"


def chains_of(text: str, names: ChainNames) -> set[str]:
    """This proxy's per-Service chains in ``iptables-save`` output (``:NAME - [0:0]`` lines)."""
    out = set()
    for line in text.splitlines():
        if line.startswith(":"):
            chain = line[1:].split(" ", 1)[0]
            if names.is_per_service(chain):
                out.add(chain)
    return out


def udp_conntrack_deletes(
    old: dict[ServicePort, list[Backend]], new: dict[ServicePort, list[Backend]], *, node_ports: bool = True
) -> list[tuple[str, ...]]:
    """``conntrack`` argument lists that flush UDP entries gone stale with this change: the entries
    DNATed to an endpoint (ip:port) that left its Service port (by ClusterIP and by NodePort), and every entry
    to a Service port that had no endpoint (made while it was rejected) and now has some."""
    out: list[tuple[str, ...]] = []
    new_by = {(sp.id, sp.protocol): (sp, bes) for sp, bes in new.items() if sp.protocol == "UDP"}
    old_by = {(sp.id, sp.protocol): (sp, bes) for sp, bes in old.items() if sp.protocol == "UDP"}
    for key, (sp, bes) in sorted(old_by.items(), key=lambda kv: str(kv[0][0])):
        kept = set(new_by.get(key, (sp, []))[1])
        for ip, port in sorted(set(bes) - kept):
            to_vip = ("--orig-dst", sp.cluster_ip, "--orig-port-dst", str(sp.port))
            from_ep = ("--reply-src", ip, "--reply-port-src", str(port))  # the DNAT went to it
            out.append(("-D", "-p", "udp", *to_vip, *from_ep))
            if sp.node_port and node_ports:
                out.append(("-D", "-p", "udp", "--orig-port-dst", str(sp.node_port), *from_ep))
    for key, (sp, bes) in sorted(new_by.items(), key=lambda kv: str(kv[0][0])):
        if bes and not old_by.get(key, (sp, []))[1]:
            out.append(("-D", "-p", "udp", "--orig-dst", sp.cluster_ip, "--orig-port-dst", str(sp.port)))
    return out
