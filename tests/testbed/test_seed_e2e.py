"""The seed, end to end, on the test bed: scripts/seed-e2e applies every example of
../shared/seed/examples/, checks each reaches the state the seed describes, runs the seed's
node-maintenance procedure on one node, and deletes what it applied."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from cli.testbed import SERVER, Testbed
from tests.testbed.helpers import wait_bed_whole

pytestmark = [pytest.mark.testbed, pytest.mark.docker]

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO.parent / "shared" / "seed" / "examples"


# Once (a fresh-clone run on 2026-11-29, under the whole suite's load) wget from a pod to
# nginx-service failed for 200 s while every other check passed, and the bed's proxy and DNS
# survived a NATS server killed, the whole bed restarted and a new Service afterwards when tried
# by hand. The check now prints wget's and nslookup's words; until they name the cause, a failure
# is retried once.
@pytest.mark.flaky(reruns=1)
@pytest.mark.timeout(300)
def test_seed_examples_and_node_maintenance(testbed: Testbed) -> None:
    if not EXAMPLES.is_dir():
        pytest.skip(f"no seed examples at {EXAMPLES}")
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "seed-e2e"), "--server", SERVER, "--timeout", "150"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    print(proc.stdout)
    assert proc.returncode == 0, (
        f"seed-e2e failed:\n{proc.stdout}\n{proc.stderr[-2000:]}\n{_proxy_state(testbed)}"
    )
    assert "FAIL" not in proc.stdout
    asyncio.run(wait_bed_whole(testbed))


def _proxy_state(testbed: Testbed) -> str:
    """What the bed's service proxy last said and the nat chain it wrote: for a failed check."""
    cid = testbed.container_id("proxy")
    logs = subprocess.run(
        ["docker", "logs", "--tail", "40", cid], capture_output=True, text=True, check=False
    )
    chain = subprocess.run(
        ["iptables", "-t", "nat", "-S", "JETKUBE-TESTBED"], capture_output=True, text=True, check=False
    )
    return f"proxy log (last 40 lines):\n{logs.stdout}{logs.stderr}\nnat chain:\n{chain.stdout}{chain.stderr}"
