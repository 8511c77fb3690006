"""Where gets are read from: any replica (direct get) for a single-server bucket, the stream leader
for a replicated one (a follower may lag: a client could read older than its own acknowledged
write; the chaos run on the test bed found it). The api's encrypting store reads the same way."""

from __future__ import annotations

from pathlib import Path

from actors.api.encryption import EncryptingStore, KeyRing
from bus.connection import Bus
from bus.store import Store


async def test_a_single_server_bucket_reads_directly_and_the_api_store_follows(
    bus: Bus, tmp_path: Path
) -> None:
    store = await Store.open(bus)
    assert store.direct_reads  # one server: no replica can lag
    store.direct_reads = False  # as Store.open sets it for a replicated bucket
    api_store = EncryptingStore(store, KeyRing.load_or_create(tmp_path / "key.json"))
    assert api_store.direct_reads is False
    created = await api_store.create(
        "configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}},
    )
    got = await api_store.get("configmaps", "default", "a")  # through the leader's STREAM.MSG.GET
    assert got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
