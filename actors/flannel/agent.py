"""The network agent of one node (``jetkube kubelet --pod-network flannel``).

Lifecycle (:meth:`FlannelAgent.start` spawns two supervised tasks):

- ``flannel:<node>:nodes``: an informer over every Node; its handlers only wake the agent.
- ``flannel:<node>:agent``: learns the cluster CIDR (``--cluster-cidr``, else the control plane's
  ConfigMap ``kube-system/jetkube-cluster-config``, actors/nodeipam/clusterconfig.py), waits for
  the own Node's ``spec.podCIDR`` (allocated by the control plane's node IPAM), then sets the host
  up: IPv4 forwarding, the vxlan device (vxlan backend), the pods' bridge (``on_subnet``: the
  kubelet makes a Docker bridge network on the subnet), the masquerade and forward chains, and the
  Node's flannel annotations (backend type, VtepMAC, public IP; patched only when they differ).
  Then every change of any Node (and every ``resync_period`` seconds, to repair what someone else
  removed) it reads the host's routes, neighbour and fdb entries, diffs them with plan.desired()
  and applies the difference: a joining node is routed to as soon as its annotations arrive, a
  deleted node's entries go.

The Node's ``NetworkUnavailable`` condition (condition.py) says how far it got: True with
``NoClusterCIDR``, ``NoPodCIDR`` or ``FlannelSetupFailed`` while the host cannot be set up, False
(``FlannelIsUp``) once it is. It is checked against the Node on every pass and patched when it
differs, so a Node registered again (the kubelet creates it with ``NoRouteCreated``) is put right.

A Node deleted and registered again under a running agent gets a new subnet from the IPAM
(plan.moved_subnet): the agent sets the host up again on it (the vxlan device's address, the pods'
bridge through ``on_subnet``, the masquerade rules, the annotations on the new Node), and the
other nodes route the new subnet to it as soon as they see the annotations. The old subnet's pods
cannot stay on it: see the kubelet's ``on_subnet`` (actors/kubelet/process.py).

Restarting over a configured host changes nothing (the device and its MAC survive; ``replace`` and
``-C`` make every write idempotent). The agent never removes the own subnet's route (the bridge's).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from actors.flannel import condition, plan
from actors.flannel.netlink import Host, Interface, NetworkCommandError
from actors.nodeipam import clusterconfig
from actors.runtime.informer import Informer
from actors.runtime.supervisor import Supervisor
from schemas.errors import JetkubeError, NotFound
from schemas.status import now_rfc3339

log = structlog.get_logger(__name__)
ADDRESS_CHECK = 5.0  # seconds between reads of the interface's address (it may change under us)

Obj = dict[str, Any]
SubnetHook = Callable[[ipaddress.IPv4Network, int], Awaitable[None]]


@dataclass
class FlannelSettings:
    backend: plan.Backend = "vxlan"
    iface: str = ""  # "": the default route's interface
    cluster_cidr: str = ""  # "": the control plane's (clusterconfig.py), read at set-up
    vxlan_device: str = plan.VXLAN_DEVICE
    resync_period: float = 30.0
    masquerade: bool = True
    nat_chain: str = plan.NAT_CHAIN  # tests on a shared host name their own chains
    forward_chain: str = plan.FORWARD_CHAIN


class FlannelAgent:
    def __init__(
        self,
        api: Any,
        node_name: str,
        settings: FlannelSettings | None = None,
        host: Host | None = None,
        *,
        on_subnet: SubnetHook | None = None,
        nodes: Informer | None = None,
    ) -> None:
        self.api = api
        self.node_name = node_name
        self.settings = settings or FlannelSettings()
        if self.settings.backend not in plan.BACKENDS:
            raise JetkubeError(f"--flannel-backend: must be one of {', '.join(plan.BACKENDS)}")
        self.cluster: ipaddress.IPv4Network | None = (
            ipaddress.IPv4Network(self.settings.cluster_cidr) if self.settings.cluster_cidr else None
        )
        self.host = host or Host()
        self.on_subnet = on_subnet
        self.nodes = nodes or Informer(api, "nodes")
        self._own_nodes_informer = nodes is None
        self._wake = asyncio.Event()
        self.nodes.add_handler(
            on_add=lambda _n: self._wake.set(),
            on_update=lambda _o, _n: self._wake.set(),
            on_delete=lambda _n: self._wake.set(),
        )
        self.iface: Interface | None = None
        self.subnet: ipaddress.IPv4Network | None = None
        self.vtep_mac: str | None = None
        self.ready = asyncio.Event()  # set up, and routed to every peer known at that moment
        self.syncs = 0
        self.moves = 0  # set-ups on a changed subnet (a Node deleted and registered again)
        self.last_errors: list[str] = []
        self.reported_rv = 0  # resourceVersion of the Node our last condition patch returned
        self.published_rv = 0  # ... and our last annotations patch

    def start(self, sup: Supervisor) -> None:
        if self._own_nodes_informer:
            sup.spawn(f"flannel:{self.node_name}:nodes", self.nodes.run)
        sup.spawn(f"flannel:{self.node_name}:agent", self.run)

    # ------------------------------------------------------------------ set-up

    async def _pause(self, seconds: float = 5.0) -> bool:
        """Wait for a Node change or ``seconds``; True when the time ran out."""
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
            return False
        except TimeoutError:
            return True

    async def _wait_cluster(self) -> ipaddress.IPv4Network:
        """``--cluster-cidr``, else the control plane's published one (polled every 5 s)."""
        while self.cluster is None:
            try:
                cm = await self.api.get("configmaps", clusterconfig.NAME, clusterconfig.NAMESPACE)
            except NotFound:
                cm = None
            cluster, problem = clusterconfig.cluster_cidr_of(cm)
            if cluster is not None:
                self.cluster = cluster
                log.info("flannel.cluster_cidr", node=self.node_name, cluster=str(cluster), published=True)
                break
            await self.report(condition.no_cluster_cidr(problem))
            if await self._pause():
                log.info("flannel.waiting_for_cluster_cidr", node=self.node_name, problem=problem)
        return self.cluster

    async def _wait_subnet(self) -> ipaddress.IPv4Network:
        await self.nodes.wait_synced()
        cluster = await self._wait_cluster()
        while True:
            node = self.nodes.get(self.node_name)
            subnet = plan.node_subnet(node) if node else None
            if subnet is not None:
                if not subnet.subnet_of(cluster):
                    log.warning("flannel.subnet_outside_cluster", subnet=str(subnet), cluster=str(cluster))
                return subnet
            await self.report(condition.NO_POD_CIDR)
            if await self._pause():
                log.info("flannel.waiting_for_pod_cidr", node=self.node_name)

    async def setup(self) -> None:
        self.subnet = await self._wait_subnet()
        await self._configure()

    async def _configure(self) -> None:
        """Set the host up on ``self.subnet`` (again: every step is idempotent)."""
        s = self.settings
        iface_name = s.iface or await self.host.default_iface()
        self.iface = await self.host.interface(iface_name)
        await self.host.ensure_forwarding()
        mtu = plan.pod_mtu(s.backend, self.iface.mtu)
        if s.backend == "vxlan":
            await self._ensure_vtep(mtu)
        else:
            await self.host.delete_link(s.vxlan_device)  # switched from vxlan: its routes go with it
        await self._publish()  # first: the other nodes route to this one as soon as they see it
        if self.on_subnet is not None:
            await self.on_subnet(self.subnet, mtu)
        await self._ensure_rules()
        log.info(
            "flannel.ready",
            node=self.node_name,
            backend=s.backend,
            subnet=str(self.subnet),
            iface=self.iface.name,
            public_ip=self.iface.ip,
            mtu=mtu,
        )

    async def _move(self, subnet: ipaddress.IPv4Network) -> None:
        """The own Node came back with another subnet: set the host up again on it. The vxlan
        device takes the new address (the old one and its routes go), the kubelet's hook moves the
        pods' bridge, the masquerade rules name the new subnet, and the new Node gets its
        annotations, after which the other nodes route the new subnet here."""
        was = self.subnet
        log.warning("flannel.subnet_changed", node=self.node_name, was=str(was), now=str(subnet))
        self.subnet = subnet
        try:
            await self._configure()
        except BaseException:
            self.subnet = was  # the next pass tries the move again
            raise
        self.moves += 1

    async def report(self, want: condition.NetworkState) -> None:
        """Patch the Node's NetworkUnavailable condition when the cached Node says otherwise (and
        is not older than our last patch). A failed write is logged: the next pass tries again."""
        node = self.nodes.get(self.node_name)
        if node is None:
            return
        rv = int((node.get("metadata") or {}).get("resourceVersion") or 0)
        if rv < self.reported_rv:
            return  # the informer has not caught up with our own last patch
        patch = condition.condition_patch(node, want, now_rfc3339())
        if patch is None:
            return
        try:
            written = await self.api.patch(
                "nodes", self.node_name, patch, patch_type="strategic", subresource="status"
            )
        except NotFound:
            return  # deleted meanwhile; the kubelet registers it again
        except JetkubeError as exc:
            log.warning("flannel.condition_failed", node=self.node_name, error=exc.message)
            return
        self.reported_rv = int((written.get("metadata") or {}).get("resourceVersion") or 0)
        log.info(
            "flannel.condition",
            node=self.node_name,
            network_unavailable=want.status,
            reason=want.reason,
            message=want.message,
        )

    async def _ensure_vtep(self, mtu: int) -> None:
        assert self.iface is not None and self.subnet is not None
        s = self.settings
        self.vtep_mac = await self.host.ensure_vxlan(
            s.vxlan_device,
            vni=plan.VXLAN_VNI,
            port=plan.VXLAN_PORT,
            local_ip=self.iface.ip,
            iface=self.iface.name,
            address=str(self.subnet.network_address),
            mtu=mtu,
        )

    async def _follow_address(self) -> bool:
        """The interface between hosts looked up again: a host whose interface changed (its network
        reconnected: a new device, maybe a new address; a new DHCP lease) moves its vxlan endpoint
        onto it (the old device went with the old interface) and republishes its public-ip, so the
        other nodes route to where it is now. True when something changed."""
        assert self.iface is not None
        s = self.settings
        now = await self.host.interface(s.iface or await self.host.default_iface())
        moved = (now.name, now.ip) != (self.iface.name, self.iface.ip)
        lost = s.backend == "vxlan" and not await self.host.exists(s.vxlan_device)
        if not moved and not lost:
            return False
        log.warning(
            "flannel.interface_changed",
            node=self.node_name,
            was=f"{self.iface.name} {self.iface.ip}",
            now=f"{now.name} {now.ip}",
            vxlan_device_lost=lost,
        )
        self.iface = now
        if s.backend == "vxlan":
            await self._ensure_vtep(plan.pod_mtu(s.backend, now.mtu))
        await self._publish()
        return True

    async def _ensure_rules(self) -> None:
        assert self.subnet is not None and self.cluster is not None
        s = self.settings
        if s.masquerade:
            rules = plan.masquerade_rules(self.cluster, self.subnet, s.nat_chain)
            await self.host.ensure_chain("nat", s.nat_chain, rules, "POSTROUTING")
        rules = plan.forward_rules(self.cluster, s.forward_chain)
        await self.host.ensure_chain("filter", s.forward_chain, rules, "FORWARD")

    async def teardown(self) -> None:
        """Remove what the agent made on the host: its chains, and the vxlan device (its routes go
        with it) or the host-gw routes. The kubelet does not call it when it stops: pods keep their
        network while the kubelet restarts."""
        s = self.settings
        await self.host.remove_chain("nat", s.nat_chain, "POSTROUTING")
        await self.host.remove_chain("filter", s.forward_chain, "FORWARD")
        if s.backend == "vxlan":
            await self.host.delete_link(s.vxlan_device)
            return
        if self.cluster is None:
            return  # never set up: no routes of ours
        state = await self.host.read(self.cluster, None)
        mine = plan.managed_routes(state.routes, self.cluster, self.subnet).routes
        await self.host.apply(
            plan.Changes(del_routes=sorted(r for r in mine if r.dev == s.iface or not s.iface))
        )

    async def _publish(self) -> None:
        """The flannel annotations on the own Node, patched when the cached Node lacks them (and is
        not older than our last patch). Checked on every pass: a Node registered again gets them at
        once. A Node missing (deleted; its kubelet registers it again) is left for the next pass."""
        assert self.iface is not None
        want = plan.annotations(self.settings.backend, self.iface.ip, self.vtep_mac)
        node = self.nodes.get(self.node_name)
        if node is None:
            try:
                node = await self.api.get("nodes", self.node_name)
            except NotFound:
                return
        elif int((node.get("metadata") or {}).get("resourceVersion") or 0) < self.published_rv:
            return
        have = (node.get("metadata") or {}).get("annotations") or {}
        if all(have.get(k) == v for k, v in want.items()):
            return
        try:
            written = await self.api.patch("nodes", self.node_name, {"metadata": {"annotations": want}})
        except NotFound:
            return
        self.published_rv = int((written.get("metadata") or {}).get("resourceVersion") or 0)

    # ------------------------------------------------------------------ routes

    def desired(self) -> plan.State:
        assert self.iface is not None
        s = self.settings
        return plan.desired(
            s.backend,
            plan.peers(self.nodes.list(), self.node_name),
            iface=self.iface.name,
            device=s.vxlan_device,
            own=self.subnet,
        )

    async def sync(self, want: plan.State | None = None) -> plan.Changes:
        """Make the host's entries match the Nodes once; returns what was changed."""
        s = self.settings
        device = s.vxlan_device if s.backend == "vxlan" else None
        want = want if want is not None else self.desired()
        assert self.cluster is not None
        self.last_errors = []
        current = await self.host.read(self.cluster, device)
        have = plan.State(
            plan.managed_routes(current.routes, self.cluster, self.subnet).routes,
            current.neighs,
            current.fdbs,
        )
        changes = plan.diff(want, have)
        if changes:
            self.last_errors = await self.host.apply(changes)
            for err in self.last_errors:
                log.warning("flannel.apply_failed", node=self.node_name, error=err)
            log.info(
                "flannel.routes",
                node=self.node_name,
                added=[r.dst for r in changes.add_routes],
                removed=[r.dst for r in changes.del_routes],
            )
        self.syncs += 1
        return changes

    def _settled(self) -> condition.NetworkState:
        """UP only for the subnet the host is set up on: a Node registered again says nothing of
        its network until node IPAM gave it a subnet and this agent moved onto it (a pod started in
        between would take an address of the old bridge)."""
        node = self.nodes.get(self.node_name)
        current = plan.node_subnet(node) if node else None
        return condition.UP if current is not None and current == self.subnet else condition.NO_POD_CIDR

    async def run(self) -> None:
        try:
            await self.setup()
        except JetkubeError as exc:  # the supervisor starts run() again, with back-off
            await self.report(condition.setup_failed(exc.message))
            raise
        last_full = time.monotonic()
        applied: plan.State | None = None
        problem: condition.NetworkState | None = None  # a failed move, until one succeeds
        while True:
            self._wake.clear()
            try:
                moved = plan.moved_subnet(self.subnet, self.nodes.get(self.node_name))
                if moved is not None:
                    try:
                        await self._move(moved)
                        problem = None
                    except JetkubeError as exc:
                        problem = condition.setup_failed(exc.message)
                        await self.report(problem)
                        raise  # a command: retried on the next pass; else run() starts again
                    applied = None
                if await self._follow_address():
                    applied = None  # a recreated vxlan device took its routes with it
                want = self.desired()
                full = time.monotonic() - last_full >= self.settings.resync_period
                # most Node events are heartbeats: the host is read only when the peers changed
                # (or every resync_period, to repair what someone else removed)
                if want != applied or full:
                    await self.sync(want)
                    applied = want if not self.last_errors else None
                await self._publish()
                if full:
                    await self._ensure_rules()
                    last_full = time.monotonic()
            except NetworkCommandError as exc:
                applied = None
                log.warning("flannel.sync_failed", node=self.node_name, error=exc.message)
            await self.report(problem or self._settled())
            self.ready.set()
            try:
                await asyncio.wait_for(self._wake.wait(), min(self.settings.resync_period, ADDRESS_CHECK))
            except TimeoutError:
                pass
