"""Lists are paged as Kubernetes pages them (``limit``/``continue``), a page is never bigger than
a message may carry, and the client pages transparently."""

from __future__ import annotations

from typing import Any

import pytest

from bus.client import ApiClient
from schemas.errors import BadRequest, RequestEntityTooLarge


def cm(name: str, size: int = 10) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "x" * size}}


async def test_limit_and_continue_walk_every_item_once(api: ApiClient) -> None:
    for i in range(7):
        await api.create("configmaps", cm(f"c{i}"), "default")
    seen: list[str] = []
    request: dict[str, Any] = {"resource": "configmaps", "namespace": "default", "limit": 3}
    revisions = set()
    while True:
        got = await api.call("list", request)
        assert len(got["items"]) <= 3
        seen += [o["metadata"]["name"] for o in got["items"]]
        revisions.add(got["metadata"]["resourceVersion"])
        token = got["metadata"].get("continue")
        if not token:
            break
        request["continue"] = token
    assert seen == [f"c{i}" for i in range(7)]
    assert len(revisions) == 1  # every page carries the first page's revision
    with pytest.raises(BadRequest, match="continue"):
        await api.call("list", {"resource": "configmaps", "namespace": "default", "continue": "garbage"})
    with pytest.raises(BadRequest, match="limit"):
        await api.call("list", {"resource": "configmaps", "namespace": "default", "limit": "-1"})


async def test_a_list_over_the_message_limit_is_paged_not_built(api: ApiClient) -> None:
    budget = api.bus.nc.max_payload
    per = 1_000_000  # near the 1 MiB ConfigMap limit: a few of them never fit one message
    count = budget // per + 2
    for i in range(count):
        await api.create("configmaps", cm(f"big{i}", per), "default")
    with pytest.raises(RequestEntityTooLarge, match="limit and continue"):
        await api.call("list", {"resource": "configmaps", "namespace": "default"})
    # the client pages transparently (as jetkube get does through it)
    # (impersonating: reads go through the api, as every user's but the control plane's do)
    client = ApiClient(api.bus, timeout=30, impersonate="reader", impersonate_groups=["system:masters"])
    listed = await client.list("configmaps", "default")
    assert sorted(o["metadata"]["name"] for o in listed["items"]) == sorted(f"big{i}" for i in range(count))
    assert "continue" not in listed["metadata"]
