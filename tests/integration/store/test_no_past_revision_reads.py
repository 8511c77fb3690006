"""Why a paged list cannot be served at the first page's revision (README, Honest limits).

kube-apiserver serves every page of a list at the first page's resourceVersion, from etcd's MVCC
history. nats-server (2.11+) can read "the last message of every key as of sequence R" (a batched
direct get with ``multi_last`` and ``up_to_seq``), but the state bucket keeps one message per key
(history 1): a key written again after R has lost its state at R, and such a read leaves it out
without any error. This test pins that down, so that a change of the bucket's history (which
would make the read possible for keys written fewer than ``history`` times since R) is noticed.
"""

from __future__ import annotations

import json
from typing import Any

from bus.connection import Bus
from bus.store import Store


def cm(name: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"v": value},
    }


async def _as_of(bus: Bus, store: Store, revision: int) -> dict[str, int]:
    """subject -> sequence of the last message of each configmap key at or before ``revision``."""
    inbox = bus.nc.new_inbox()
    sub = await bus.nc.subscribe(inbox)
    request = {"multi_last": [store.prefix + "configmaps.>"], "up_to_seq": revision}
    await bus.nc.publish(f"$JS.API.DIRECT.GET.{store.stream}", json.dumps(request).encode(), reply=inbox)
    got: dict[str, int] = {}
    try:
        while True:
            msg = await sub.next_msg(timeout=10)
            headers = msg.headers or {}
            if not msg.data and headers.get("Status"):
                break  # 204 EOB: the end of the batch
            got[headers["Nats-Subject"]] = int(headers["Nats-Sequence"])
    finally:
        await sub.unsubscribe()
    return got


async def test_a_key_written_after_r_is_missing_from_a_read_as_of_r(bus: Bus, store: Store) -> None:
    a = await store.create("configmaps", cm("a", "1"))
    await store.create("configmaps", cm("b", "1"))
    _, first_page = await store.list("configmaps", "default")  # the revision a first page carries
    assert set(await _as_of(bus, store, int(first_page))) == {
        store.prefix + "configmaps.default.a",
        store.prefix + "configmaps.default.b",
    }
    a["data"] = {"v": "2"}
    await store.update("configmaps", a)  # history 1: a's message at the first page's revision goes
    later = await _as_of(bus, store, int(first_page))
    assert set(later) == {store.prefix + "configmaps.default.b"}  # "a" existed then; it is lost
