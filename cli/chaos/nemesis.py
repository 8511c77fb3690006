"""The nemesis: a seeded schedule of faults (pure) and their effect on the test bed (docker).

Faults (each is caused, held for ``hold`` seconds, then healed):

* ``kill-nats``: ``docker kill -s KILL`` one NATS server, then start it again (its JetStream files
  stay; with ``sync_interval: always`` nothing acknowledged may be lost);
* ``pause-controlplane``: ``docker pause`` a control plane for longer than a lease (6 s in the bed),
  as a GC pause or a frozen VM would stop it, then unpause;
* ``partition-node``: disconnect a node's container from the bed's network, then reconnect it;
* ``restart-kubelet``: ``docker restart`` a node's container.

:func:`schedule` is the same for the same seed and duration, so a failing run can be replayed.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)

FAULT_KINDS = ("kill-nats", "pause-controlplane", "partition-node", "restart-kubelet")
TARGETS = {
    "kill-nats": ("nats1", "nats2", "nats3"),
    "pause-controlplane": ("controlplane1", "controlplane2"),
    "partition-node": ("node1", "node2", "node3"),
    "restart-kubelet": ("node1", "node2", "node3"),
}
MIN_HOLD = {"pause-controlplane": 8.0}  # longer than the bed's 6 s lease


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the start of the run
    kind: str
    target: str
    hold: float


def schedule(
    seed: int,
    duration: float,
    *,
    gap: tuple[float, float] = (4.0, 12.0),
    hold: tuple[float, float] = (3.0, 12.0),
    kinds: tuple[str, ...] = FAULT_KINDS,
) -> list[Fault]:
    """Faults one after another (never two at once), each healed before ``duration`` ends."""
    rng = random.Random(seed)
    faults: list[Fault] = []
    t = rng.uniform(*gap)
    while True:
        kind = rng.choice(kinds)
        held = max(rng.uniform(*hold), MIN_HOLD.get(kind, 0.0))
        if t + held > duration:
            return faults
        faults.append(Fault(round(t, 3), kind, rng.choice(TARGETS[kind]), round(held, 3)))
        t += held + rng.uniform(*gap)


class BedNemesis:
    """Causes and heals faults on the compose test bed (cli/testbed.py)."""

    def __init__(self) -> None:
        from cli.testbed import Testbed

        self.bed = Testbed.find()

    async def _docker(self, *args: str) -> None:
        from cli.testbed import docker

        await asyncio.get_running_loop().run_in_executor(None, lambda: docker(*args, check=False, timeout=60))

    async def cause(self, fault: Fault) -> None:
        cid = self.bed.container_id(fault.target)
        if fault.kind == "kill-nats":
            await self._docker("kill", "-s", "KILL", cid)
        elif fault.kind == "pause-controlplane":
            await self._docker("pause", cid)
        elif fault.kind == "partition-node":
            from cli.testbed import NETWORK

            await self._docker("network", "disconnect", NETWORK, cid)
        elif fault.kind == "restart-kubelet":
            await self._docker("restart", "-t", "2", cid)
        log.info("nemesis.caused", kind=fault.kind, target=fault.target)

    async def heal(self, fault: Fault) -> None:
        cid = self.bed.container_id(fault.target)
        if fault.kind == "kill-nats":
            await self._docker("start", cid)
        elif fault.kind == "pause-controlplane":
            await self._docker("unpause", cid)
        elif fault.kind == "partition-node":
            from cli.testbed import NETWORK

            await self._docker("network", "connect", "--alias", fault.target, NETWORK, cid)
        log.info("nemesis.healed", kind=fault.kind, target=fault.target)

    async def heal_all(self) -> None:
        """Whatever state a stopped run left: everything running, unpaused and connected."""
        for target in TARGETS["kill-nats"]:
            await self._docker("start", self.bed.container_id(target))
        for target in TARGETS["pause-controlplane"]:
            await self._docker("unpause", self.bed.container_id(target))
        from cli.testbed import NETWORK

        for target in TARGETS["partition-node"]:
            await self._docker(
                "network", "connect", "--alias", target, NETWORK, self.bed.container_id(target)
            )
