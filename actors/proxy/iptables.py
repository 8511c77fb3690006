"""The proxy's chains in the host's tables: set up, rewritten atomically, torn down.

Userspace mode (:class:`NatChain`): one nat chain of REDIRECTs. Iptables mode (:class:`IptablesTables`):
the nat and filter chains of actors/proxy/rules.py, and the host settings they need.

:meth:`NatChain.setup` creates the chain (empty: whatever a crashed proxy left is flushed) and
inserts one jump at the top of PREROUTING and of OUTPUT; :meth:`NatChain.write` replaces the whole
chain with ``iptables-restore --noflush``; :meth:`NatChain.teardown` removes the jumps and the chain.

The backend is the one Docker uses: ``iptables`` (nft) unless only ``iptables-legacy`` holds
Docker's nat rules (:func:`detect_backend`), so our jump and Docker's rules sit in the same table
and their order is what we set. A missing or failing iptables raises ProxyError with its stderr.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import structlog

from actors.proxy.rules import ChainNames, chains_of, removal
from schemas.errors import JetkubeError

log = structlog.get_logger(__name__)

DEFAULT_CHAIN = "JETKUBE-SERVICES"
HOOKS = ("PREROUTING", "OUTPUT")


class ProxyError(JetkubeError):
    code = 500
    reason = "ProxyError"


async def _run(argv: list[str], stdin: str | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    text = (out if proc.returncode == 0 else err or out).decode(errors="replace")
    text = "\n".join(line for line in text.splitlines() if "iptables-legacy tables present" not in line)
    return proc.returncode or 0, text.strip()


async def detect_backend() -> str:
    """``iptables-legacy`` when Docker's rules live only there, else ``iptables``."""
    if shutil.which("iptables") is None:
        raise ProxyError("iptables is not installed: the service proxy needs it (apt-get install iptables)")
    if shutil.which("iptables-legacy"):
        _, nft = await _run(["iptables", "-t", "nat", "-S"])
        _, legacy = await _run(["iptables-legacy", "-t", "nat", "-S"])
        if "DOCKER" in legacy and "DOCKER" not in nft:
            return "iptables-legacy"
    return "iptables"


class NatChain:
    def __init__(self, chain: str = DEFAULT_CHAIN, backend: str | None = None) -> None:
        if not chain or len(chain) > 28:
            raise ProxyError(f"chain name {chain!r}: must be 1-28 characters")
        self.chain = chain
        self.backend = backend
        self._lock = asyncio.Lock()

    async def _cmd(self, *args: str, check: bool = True) -> int:
        assert self.backend is not None
        rc, text = await _run([self.backend, "-w", "5", "-t", "nat", *args])
        if rc != 0 and check:
            raise ProxyError(f"{self.backend} -t nat {' '.join(args)}: {text or f'exit {rc}'}")
        return rc

    async def setup(self) -> None:
        self.backend = self.backend or await detect_backend()
        await self.write("")
        for hook in HOOKS:
            if await self._cmd("-C", hook, "-j", self.chain, check=False) != 0:
                await self._cmd("-I", hook, "1", "-j", self.chain)
        log.info("proxy.chain_ready", chain=self.chain, backend=self.backend)

    async def ensure_hooks(self) -> None:
        """Put back a jump someone removed (an admin's ``iptables -F``), at the top again."""
        for hook in HOOKS:
            if await self._cmd("-C", hook, "-j", self.chain, check=False) != 0:
                log.warning("proxy.jump_restored", hook=hook, chain=self.chain)
                await self._cmd("-I", hook, "1", "-j", self.chain)

    async def write(self, rules: str) -> None:
        """Replace the chain with ``rules`` (plan.nat_rules' text; "" empties it)."""
        self.backend = self.backend or await detect_backend()
        text = rules or f"*nat\n:{self.chain} - [0:0]\nCOMMIT\n"
        async with self._lock:
            rc, err = await _run([f"{self.backend}-restore", "-w", "5", "--noflush"], stdin=text)
        if rc != 0:
            raise ProxyError(f"{self.backend}-restore: {err or f'exit {rc}'}")

    async def teardown(self) -> None:
        if self.backend is None:
            return
        for hook in HOOKS:
            for _ in range(10):  # every copy of the jump
                if await self._cmd("-D", hook, "-j", self.chain, check=False) != 0:
                    break
        await self._cmd("-F", self.chain, check=False)
        await self._cmd("-X", self.chain, check=False)
        log.info("proxy.chain_removed", chain=self.chain)

    async def rules(self) -> list[str]:
        """The chain's rules as ``-S`` prints them (for tests and debugging)."""
        assert self.backend is not None
        _rc, text = await _run([self.backend, "-t", "nat", "-S", self.chain])
        return [line for line in text.splitlines() if line.startswith("-A ")]


# --------------------------------------------------------------------------- the iptables mode

IPTABLES_HOOKS = (  # (table, built-in chain, which of this proxy's chains it jumps to)
    ("nat", "PREROUTING", "top"),
    ("nat", "OUTPUT", "top"),
    ("nat", "POSTROUTING", "postrouting"),
    ("filter", "INPUT", "top"),
    ("filter", "FORWARD", "forward"),
    ("filter", "FORWARD", "top"),
    ("filter", "OUTPUT", "top"),
)
SYSCTLS = (
    # a NodePort on 127.0.0.1 is DNATed to a pod: the kernel must route a loopback source out
    ("/proc/sys/net/ipv4/conf/all/route_localnet", "1"),
    # bridged pod-to-pod replies must pass the nat table to be un-DNATed (when the module is there)
    ("/proc/sys/net/bridge/bridge-nf-call-iptables", "1"),
)


def apply_sysctls() -> list[str]:
    """Set the host settings the iptables mode needs; the ones that could not be set (a read-only
    /proc/sys in a container), as warnings: the rest of the proxy works without them."""
    problems = []
    for path, value in SYSCTLS:
        p = Path(path)
        if not p.exists():
            continue
        try:
            if p.read_text().strip() != value:
                p.write_text(value)
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
    return problems


class IptablesTables:
    """The chains of the iptables mode (actors/proxy/rules.py) in the host's nat and filter tables.

    :meth:`setup` removes what a crashed proxy of the same chain names left, creates the chains
    and inserts the jumps at the top of the built-in chains (:data:`IPTABLES_HOOKS`);
    :meth:`write` hands a whole ruleset to one ``iptables-restore --noflush`` (each table is
    replaced atomically); :meth:`teardown` removes the jumps, then every chain of this proxy."""

    def __init__(self, names: ChainNames, backend: str | None = None) -> None:
        self.names = names
        self.backend = backend
        self._lock = asyncio.Lock()

    async def _cmd(self, table: str, *args: str, check: bool = True) -> int:
        assert self.backend is not None
        rc, text = await _run([self.backend, "-w", "5", "-t", table, *args])
        if rc != 0 and check:
            raise ProxyError(f"{self.backend} -t {table} {' '.join(args)}: {text or f'exit {rc}'}")
        return rc

    def _hooks(self) -> list[tuple[str, str, str]]:
        n = self.names
        by_role = {"top": n.top, "postrouting": n.postrouting, "forward": n.forward}
        return [(table, hook, by_role[role]) for table, hook, role in IPTABLES_HOOKS]

    async def setup(self) -> None:
        self.backend = self.backend or await detect_backend()
        await self._unhook()
        await self.restore(removal(self.names, await self.existing()))  # a crashed proxy's leftovers
        await self.restore(self._empty())
        for table, hook, chain in reversed(self._hooks()):
            await self._cmd(table, "-I", hook, "1", "-j", chain)
        for problem in apply_sysctls():
            log.warning("proxy.sysctl_not_set", problem=problem)
        log.info("proxy.tables_ready", chain=self.names.top, prefix=self.names.prefix, backend=self.backend)

    async def ensure_hooks(self) -> None:
        """Put back a jump someone removed (an admin's ``iptables -F``), at the top again."""
        for table, hook, chain in self._hooks():
            if await self._cmd(table, "-C", hook, "-j", chain, check=False) != 0:
                log.warning("proxy.jump_restored", table=table, hook=hook, chain=chain)
                await self._cmd(table, "-I", hook, "1", "-j", chain)

    def _empty(self) -> str:
        lines = []
        for table, chains in self.names.fixed().items():
            lines += [f"*{table}", *(f":{c} - [0:0]" for c in chains), "COMMIT"]
        return "\n".join(lines) + "\n"

    async def existing(self) -> set[str]:
        """This proxy's per-Service chains now in the nat table."""
        assert self.backend is not None
        rc, text = await _run([f"{self.backend}-save", "-t", "nat"])
        if rc != 0:
            raise ProxyError(f"{self.backend}-save -t nat: {text or f'exit {rc}'}")
        return chains_of(text, self.names)

    async def restore(self, text: str) -> None:
        assert self.backend is not None
        async with self._lock:
            rc, err = await _run([f"{self.backend}-restore", "-w", "5", "--noflush"], stdin=text)
        if rc != 0:
            raise ProxyError(f"{self.backend}-restore: {err or f'exit {rc}'}")

    async def _unhook(self) -> None:
        for table, hook, chain in self._hooks():
            for _ in range(10):  # every copy of the jump
                if await self._cmd(table, "-D", hook, "-j", chain, check=False) != 0:
                    break

    async def teardown(self) -> None:
        if self.backend is None:
            return
        await self._unhook()
        try:
            await self.restore(removal(self.names, await self.existing()))
        except ProxyError as exc:
            log.error("proxy.teardown_failed", error=exc.message)
            return
        log.info("proxy.tables_removed", chain=self.names.top, prefix=self.names.prefix)
