"""Fencing tokens: the elector's token expires by its own clock; the api refuses a stale one."""

from __future__ import annotations

from typing import Any

import pytest

from actors.api.fencing import fence_refusal, parse_token
from actors.runtime.fencing import Fence
from actors.runtime.leader import LeaderElector
from schemas.errors import BadRequest, LeaseLost
from tests.unit.runtime.fakes import LeaseView, MemoryLeases


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def elector(leases: MemoryLeases, identity: str, clock: Clock) -> LeaderElector:
    return LeaderElector(
        LeaseView(leases), "rc", identity, lease_duration=6, renew_deadline=4, retry_period=1, clock=clock
    )


async def test_the_token_lives_only_within_the_renew_deadline_of_the_last_renewal() -> None:
    clock, leases = Clock(), MemoryLeases()
    me = elector(leases, "cp1", clock)
    fence = Fence()
    assert fence.token() is None  # unbound: a controller outside a lease writes unfenced
    fence.bind(me)
    with pytest.raises(LeaseLost):
        fence.token()  # not leading yet
    assert await me._attempt()
    me._leading = True  # as run() does once acquired
    assert fence.token() == {"lease": "kube-system/rc", "holder": "cp1", "epoch": 0}
    clock.now += 3.9
    assert me.fence() is not None
    clock.now += 0.2  # frozen past the renew deadline: refuse before any renewal could run
    assert me.fence() is None
    with pytest.raises(LeaseLost, match="rc"):
        fence.token()
    assert await me._attempt()  # renewed: ours again
    assert me.fence() is not None


async def test_a_takeover_moves_the_epoch() -> None:
    clock, leases = Clock(), MemoryLeases()
    old, new = elector(leases, "cp1", clock), elector(leases, "cp2", clock)
    assert await old._attempt()
    assert not await new._attempt()  # held, not expired
    clock.now += 6.1
    assert await new._attempt()
    lease = leases.objects["rc"]
    new._leading = True
    token = new.fence()
    assert token is not None and token["epoch"] == 1
    # the old leader's token (epoch 0, cp1) is refused by the api; the new one passes
    assert "held by cp2" in (fence_refusal(lease, "cp1", 0) or "")
    assert fence_refusal(lease, "cp2", 1) is None
    assert "epoch" in (fence_refusal(lease, "cp2", 0) or "")
    assert fence_refusal(None, "cp2", 1) == "the lease does not exist"


@pytest.mark.parametrize(
    ("token", "field"),
    [
        (None, "fence"),
        ({"lease": "rc", "holder": "a", "epoch": 0}, "fence.lease"),
        ({"lease": "kube-system/rc", "holder": "", "epoch": 0}, "fence.holder"),
        ({"lease": "kube-system/rc", "holder": "a", "epoch": -1}, "fence.epoch"),
        ({"lease": "kube-system/rc", "holder": "a", "epoch": True}, "fence.epoch"),
    ],
)
def test_a_malformed_token_is_refused_naming_the_field(token: Any, field: str) -> None:
    with pytest.raises(BadRequest, match=field):
        parse_token(token)


def test_a_good_token_parses() -> None:
    assert parse_token({"lease": "kube-system/rc", "holder": "a", "epoch": 3}) == (
        "kube-system",
        "rc",
        "a",
        3,
    )
