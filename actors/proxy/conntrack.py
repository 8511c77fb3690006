"""Flushing conntrack entries (Debian's ``conntrack`` tool), for the iptables mode's UDP Services.

A UDP "connection" lives in conntrack until it has been idle for the kernel's timeout, and every
datagram of it follows the DNAT chosen for its first one: after an endpoint leaves, a client that
keeps talking would keep reaching it. The proxy deletes those entries
(actors/proxy/rules.py's :func:`udp_conntrack_deletes` says which). Best effort: without the tool
the proxy logs it once and goes on (such clients move once they pause for the timeout).
"""

from __future__ import annotations

import asyncio
import shutil

import structlog

log = structlog.get_logger(__name__)


class Conntrack:
    def __init__(self, binary: str = "conntrack") -> None:
        self.binary = binary
        self._warned = False
        self.deleted = 0  # calls that deleted at least one entry (for tests)

    async def delete(self, args: tuple[str, ...]) -> None:
        path = shutil.which(self.binary)
        if path is None:
            if not self._warned:
                log.warning(
                    "proxy.no_conntrack",
                    hint="apt-get install conntrack: UDP clients of removed endpoints are not moved",
                )
                self._warned = True
            return
        proc = await asyncio.create_subprocess_exec(
            path, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _out, err = await proc.communicate()
        text = err.decode(errors="replace")
        if proc.returncode == 0 and "0 flow entries" not in text:
            self.deleted += 1
        elif proc.returncode not in (0, 1):  # 1: nothing matched
            log.warning("proxy.conntrack_failed", args=" ".join(args), error=text.strip())
