"""One user flooding large lists cannot starve the nodes' Lease renewals (issue 15, API priority
and fairness): a real nats-server with auth, the control plane's api, a hollow fleet of a few
hundred nodes renewing their Leases through the api every 10 s, and the user ``viewer`` running
32 list loops over thousands of pods plus 20 slow watches. At the end every node must have
renewed within the node lifecycle's grace period (40 s), i.e. none would be marked NotReady.

No timing is asserted beyond that grace; the figures of the full size are bench/fairness.py's.
"""

from __future__ import annotations

import pytest

from bench.fairness import run

pytestmark = pytest.mark.xdist_group("heavy-fairness")


@pytest.mark.timeout(600)
async def test_every_lease_is_renewed_while_a_viewer_floods_lists() -> None:
    result = await run(nodes=300, pods=4000, seconds=50)
    assert result["viewer_lists"] > 0, result  # the flood was served, not just refused
    assert result["nodes_stale_over_40s"] == 0, result
