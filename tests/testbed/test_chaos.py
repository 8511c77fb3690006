"""The CI-length chaos run (cli/chaos): 90 s of faults and workload on the bed, judged by the checker.

The nemesis of seed 12 cuts a node off (twice), restarts a kubelet, pauses each control plane past
its lease (so the leading one is frozen at least once) and kills a NATS server, while four clients
increment counters by compare-and-set and an RC is scaled up and down. The verdict must be PASS:
every counter's history linearizable, no acknowledged increment lost and none invented, no
ReplicationController pod created past its replicas, and every counter readable and every node
Ready again after the last fault. The long run is a command: ``jetkube testbed chaos --seed N``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cli.chaos.nemesis import FAULT_KINDS, schedule
from cli.chaos.run import run_chaos
from cli.testbed import Testbed
from tests.testbed.helpers import wait_bed_whole

pytestmark = [pytest.mark.testbed, pytest.mark.docker]

SEED = 12
DURATION = 90.0


@pytest.mark.timeout(900)  # the bed coming up (a few minutes on a loaded machine), 90 s, convergence
def test_a_short_chaos_run_passes_the_checker(testbed: Testbed, tmp_path: Path) -> None:
    faults = schedule(SEED, DURATION)
    assert {f.kind for f in faults} == set(FAULT_KINDS)
    assert {f.target for f in faults if f.kind == "pause-controlplane"} == {"controlplane1", "controlplane2"}
    try:
        verdict, report = run_chaos(SEED, DURATION, tmp_path / "chaos")
        print(report)
        assert verdict.linearizable, report
        assert verdict.lost == 0 and verdict.phantom == 0, report
        assert not verdict.over_replication, report
        assert verdict.convergence_s is not None, report
        assert verdict.ok, report
    finally:
        asyncio.run(wait_bed_whole(testbed, timeout=180))
