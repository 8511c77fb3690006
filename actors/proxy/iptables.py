"""The proxy's own chain in the host's nat table: set up, rewritten atomically, torn down.

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

import structlog

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
