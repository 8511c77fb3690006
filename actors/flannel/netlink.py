"""One host's network, changed with ``ip``, ``bridge`` and ``iptables`` (the agent's only I/O).

:class:`Host` runs every command on this host, or, given ``netns``, inside that network namespace
(``ip netns exec``): the data-path tests run one agent per namespace, as if each were a machine.
Reads use the tools' JSON output (``ip -j``); writes are idempotent (``replace``, ``-C`` before
``-A``), so an agent restarted over a configured host changes nothing. A failing command raises
:class:`NetworkCommandError` with the command and its stderr.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from actors.flannel.plan import Changes, Fdb, Neigh, Route, State
from schemas.errors import JetkubeError

log = structlog.get_logger(__name__)


class NetworkCommandError(JetkubeError):
    """``ip``/``bridge``/``iptables`` refused a change (the message has the command and its error)."""

    code = 500
    reason = "NetworkCommandError"


@dataclass(frozen=True)
class Interface:
    name: str
    ip: str
    mtu: int
    mac: str = ""


class Host:
    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns
        self.commands = 0

    def _argv(self, argv: Sequence[str]) -> list[str]:
        if not self.netns:
            return list(argv)
        if argv[0] in ("ip", "bridge"):  # they enter the namespace themselves: one exec, no remount
            return [argv[0], "-n", self.netns, *argv[1:]]
        return ["ip", "netns", "exec", self.netns, *argv]

    async def run(self, *argv: str, check: bool = True, stdin: str | None = None) -> tuple[int, str, str]:
        self.commands += 1
        proc = await asyncio.create_subprocess_exec(
            *self._argv(argv),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
        rc = proc.returncode or 0
        if check and rc != 0:
            raise NetworkCommandError(f"{' '.join(argv)}: {err.decode().strip() or f'exit {rc}'}")
        return rc, out.decode(), err.decode()

    async def json(self, *argv: str) -> list[dict[str, Any]]:
        _, out, _ = await self.run(*argv)
        data = json.loads(out or "[]")
        return data if isinstance(data, list) else []

    # ------------------------------------------------------------------ interfaces

    async def default_iface(self) -> str:
        for r in await self.json("ip", "-j", "route", "show", "default"):
            if r.get("dev"):
                return str(r["dev"])
        raise NetworkCommandError("no default route: give --flannel-iface")

    async def interface(self, name: str) -> Interface:
        links = await self.json("ip", "-j", "addr", "show", "dev", name)
        if not links:
            raise NetworkCommandError(f"no interface {name!r}")
        link = links[0]
        ips = [
            a["local"] for a in link.get("addr_info") or () if a.get("family") == "inet" and a.get("local")
        ]
        if not ips:
            raise NetworkCommandError(f"interface {name!r} has no IPv4 address")
        return Interface(name, str(ips[0]), int(link.get("mtu") or 1500), str(link.get("address") or ""))

    async def ensure_forwarding(self) -> None:
        """net.ipv4.ip_forward = 1 (a container's /proc/sys is read-only: set it with compose's
        ``sysctls`` or on the host, or the error below says so)."""
        if self.netns:
            _, out, _ = await self.run("sysctl", "-n", "net.ipv4.ip_forward")
            if out.strip() != "1":
                await self.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
            return
        path = Path("/proc/sys/net/ipv4/ip_forward")
        if (await asyncio.to_thread(path.read_text)).strip() == "1":
            return
        try:
            await asyncio.to_thread(path.write_text, "1\n")
        except OSError as exc:
            raise NetworkCommandError(
                f"net.ipv4.ip_forward is 0 and cannot be set ({exc.strerror}): set it to 1 on this host "
                "(in a container: sysctls net.ipv4.ip_forward=1)"
            ) from None

    async def ensure_vxlan(
        self, device: str, *, vni: int, port: int, local_ip: str, iface: str, address: str, mtu: int
    ) -> str:
        """The vxlan device up with ``address``/32; recreated if its VNI, port or local address
        differ. Returns its MAC (kept while the device lives, so a restarted agent keeps it)."""
        links = (
            await self.json("ip", "-j", "-d", "link", "show", "dev", device)
            if await self.exists(device)
            else []
        )
        if links:
            info = (links[0].get("linkinfo") or {}).get("info_data") or {}
            if info.get("id") != vni or info.get("port") != port or info.get("local") != local_ip:
                log.warning("flannel.vxlan_recreated", device=device, had=info)
                await self.run("ip", "link", "del", device)
                links = []
        if not links:
            await self.run(
                "ip",
                "link",
                "add",
                device,
                "type",
                "vxlan",
                "id",
                str(vni),
                "dstport",
                str(port),
                "local",
                local_ip,
                "dev",
                iface,
                "nolearning",
            )
        await self.run("ip", "link", "set", device, "mtu", str(mtu))
        for a in await self._addrs(device):
            if a != f"{address}/32":
                await self.run("ip", "addr", "del", a, "dev", device)
        await self.run("ip", "addr", "replace", f"{address}/32", "dev", device)
        await self.run("ip", "link", "set", device, "up")
        link = (await self.json("ip", "-j", "link", "show", "dev", device))[0]
        return str(link.get("address") or "").lower()

    async def exists(self, device: str) -> bool:
        rc, _, _ = await self.run("ip", "link", "show", "dev", device, check=False)
        return rc == 0

    async def _addrs(self, device: str) -> list[str]:
        links = await self.json("ip", "-j", "addr", "show", "dev", device)
        return [
            f"{a['local']}/{a['prefixlen']}"
            for link in links
            for a in link.get("addr_info") or ()
            if a.get("family") == "inet"
        ]

    async def delete_link(self, device: str) -> None:
        if await self.exists(device):
            await self.run("ip", "link", "del", device)

    # ------------------------------------------------------------------ routes, neighbours, fdb

    async def read(self, cluster: ipaddress.IPv4Network, vxlan_device: str | None) -> State:
        """The routes into ``cluster`` (all of them: the agent picks its own) and, with a vxlan
        device, its permanent neighbour and forwarding entries."""
        routes = set()
        for r in await self.json("ip", "-j", "route", "show", "root", str(cluster)):
            dst = str(r.get("dst") or "")
            if "/" not in dst:
                dst = f"{dst}/32"
            if not r.get("gateway"):
                continue  # connected routes (the pod bridge) are not ours
            routes.add(
                Route(dst, str(r["gateway"]), str(r.get("dev") or ""), "onlink" in (r.get("flags") or ()))
            )
        neighs: set[Neigh] = set()
        fdbs: set[Fdb] = set()
        if vxlan_device and await self.exists(vxlan_device):
            for n in await self.json("ip", "-j", "neigh", "show", "dev", vxlan_device):
                if n.get("lladdr") and "PERMANENT" in (n.get("state") or ()):
                    neighs.add(Neigh(str(n["dst"]), str(n["lladdr"]).lower(), vxlan_device))
            for f in await self.json("bridge", "-j", "fdb", "show", "dev", vxlan_device):
                if f.get("dst") and f.get("mac") and f["mac"] != "00:00:00:00:00:00":
                    fdbs.add(Fdb(str(f["mac"]).lower(), str(f["dst"]), vxlan_device))
        return State(frozenset(routes), frozenset(neighs), frozenset(fdbs))

    async def apply(self, ch: Changes) -> list[str]:
        """Make the changes: neighbours and fdb before routes (a route must not point at a VTEP
        the kernel cannot reach yet), removals of routes first. Returns the errors (one bad peer
        must not keep the others unrouted)."""
        errors: list[str] = []

        async def attempt(*argv: str) -> None:
            try:
                await self.run(*argv)
            except NetworkCommandError as exc:
                errors.append(exc.message)

        for r in ch.del_routes:
            await attempt("ip", "route", "del", r.dst, "via", r.via, "dev", r.dev)
        for n in ch.del_neighs:
            await attempt("ip", "neigh", "del", n.ip, "dev", n.dev)
        for f in ch.del_fdbs:
            await attempt("bridge", "fdb", "del", f.mac, "dev", f.dev, "dst", f.dst)
        for f in ch.add_fdbs:
            await attempt("bridge", "fdb", "replace", f.mac, "dev", f.dev, "dst", f.dst, "self", "permanent")
        for n in ch.add_neighs:
            await attempt("ip", "neigh", "replace", n.ip, "lladdr", n.mac, "dev", n.dev, "nud", "permanent")
        for r in ch.add_routes:
            extra = ["onlink"] if r.onlink else []
            await attempt("ip", "route", "replace", r.dst, "via", r.via, "dev", r.dev, *extra)
        return errors

    # ------------------------------------------------------------------ iptables

    async def ensure_chain(self, table: str, chain: str, rules: Iterable[Sequence[str]], hook: str) -> bool:
        """Chain ``chain`` in ``table`` holding exactly ``rules``, jumped to from the top of
        ``hook``. Returns whether anything was changed."""
        rules = [list(r) for r in rules]
        changed = False
        if (await self.run("iptables", "-w", "-t", table, "-S", chain, check=False))[0] != 0:
            await self.run("iptables", "-w", "-t", table, "-N", chain)
            changed = True
        _, listing, _ = await self.run("iptables", "-w", "-t", table, "-S", chain)
        present = sum(1 for line in listing.splitlines() if line.startswith("-A "))
        same = present == len(rules)
        for r in rules if same else ():
            check = ["-C", *r[1:]]
            if (await self.run("iptables", "-w", "-t", table, *check, check=False))[0] != 0:
                same = False
                break
        if not same:
            await self.run("iptables", "-w", "-t", table, "-F", chain)
            for r in rules:
                await self.run("iptables", "-w", "-t", table, *r)
            changed = True
        if (await self.run("iptables", "-w", "-t", table, "-C", hook, "-j", chain, check=False))[0] != 0:
            await self.run("iptables", "-w", "-t", table, "-I", hook, "1", "-j", chain)
            changed = True
        return changed

    async def remove_chain(self, table: str, chain: str, hook: str) -> None:
        while (await self.run("iptables", "-w", "-t", table, "-D", hook, "-j", chain, check=False))[0] == 0:
            pass
        await self.run("iptables", "-w", "-t", table, "-F", chain, check=False)
        await self.run("iptables", "-w", "-t", table, "-X", chain, check=False)
