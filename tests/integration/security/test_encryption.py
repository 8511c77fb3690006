"""Secrets encrypted at rest: the raw stream of the state bucket never shows a Secret's plaintext,
before or after ``rotate-key``; clients read it decrypted through the api."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json

from actors.api.encryption import EncryptingStore, KeyRing, drop_retired_keys, rotate
from bus.auth import CONTROLPLANE
from bus.store import Store
from tests.integration.security.conftest import SecureCluster

PLAINTEXT = "correct-horse-battery-staple"


async def raw_stream_bytes(store: Store) -> bytes:
    """Every message still in the bucket's stream (all revisions, all keys), concatenated."""
    info = await store.js.stream_info(store.stream)
    out = []
    for seq in range(int(info.state.first_seq), int(info.state.last_seq) + 1):
        with contextlib.suppress(Exception):
            msg = await store.js.get_msg(store.stream, seq)
            out.append(msg.data or b"")
    return b"\n".join(out)


def leaks(raw: bytes) -> bool:
    encoded = base64.b64encode(PLAINTEXT.encode())
    return PLAINTEXT.encode() in raw or encoded in raw


def api_store(secure: SecureCluster) -> EncryptingStore:
    """The api actor's store: replica 1 of the control plane."""
    store = secure.actor.api.store  # type: ignore[attr-defined]
    assert isinstance(store, EncryptingStore)
    return store


async def second_replica(secure: SecureCluster) -> EncryptingStore:
    """Another api replica's store: its own connection, the same key file, loaded now."""
    bus = await secure.bus_as(CONTROLPLANE)
    return EncryptingStore(await Store.open(bus), KeyRing.load_or_create(secure.key_file))


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def a_secret(name: str, value: str = PLAINTEXT) -> dict[str, object]:
    """A Secret as the api stores it (``stringData`` already merged into ``data``)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"password": b64(value)},
    }


async def test_secret_plaintext_never_reaches_the_bucket_even_after_rotation(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"password": PLAINTEXT},
    }
    await admin.create("secrets", secret, "default")
    await admin.patch("secrets", "db", {"metadata": {"labels": {"tier": "db"}}}, namespace="default")
    expected = base64.b64encode(PLAINTEXT.encode()).decode()
    assert (await admin.get("secrets", "db", "default"))["data"] == {"password": expected}
    assert [s["data"] for s in (await admin.list("secrets", "default"))["items"]] == [{"password": expected}]

    raw = await secure.store.get("secrets", "default", "db")  # the bucket as any raw reader sees it
    # the whole object is sealed but for its structural metadata (labels too, as Kubernetes does)
    assert "data" not in raw and "labels" not in raw["metadata"] and raw["metadata"]["name"] == "db"
    first_key = raw["jetkubeEncrypted"]["keyId"]
    assert not leaks(await raw_stream_bytes(secure.store))

    result = await admin.call("rotatekey", {})
    # the key just retired stays in the file, read-only: a replica may have a write sealed with it
    # in flight; a later rotation drops it (after the grace period, if no Secret uses it)
    assert result["rewritten"] == 1 and result["droppedKeys"] == []
    assert result["retiredKeys"] == [first_key] and result["notRewritten"] == []
    rotated = await secure.store.get("secrets", "default", "db")
    assert rotated["jetkubeEncrypted"]["keyId"] == result["keyId"] != first_key
    on_disk = json.loads(secure.key_file.read_text())
    assert on_disk["primary"] == result["keyId"] and set(on_disk["keys"]) == {first_key, result["keyId"]}
    assert list(on_disk["retired"]) == [first_key]
    assert not leaks(await raw_stream_bytes(secure.store))
    assert (await admin.get("secrets", "db", "default"))["data"] == {"password": expected}

    again = await rotate(api_store(secure), grace=0)  # the grace period is over: the first key goes
    assert again["droppedKeys"] == [first_key] and again["retiredKeys"] == [result["keyId"]]
    on_disk = json.loads(secure.key_file.read_text())
    assert set(on_disk["keys"]) == {result["keyId"], again["keyId"]}
    assert (await admin.get("secrets", "db", "default"))["data"] == {"password": expected}
    assert not leaks(await raw_stream_bytes(secure.store))


async def test_rotation_is_for_admins_only(secure: SecureCluster) -> None:
    import pytest

    from schemas.errors import Forbidden

    viewer = await secure.client("viewer")
    with pytest.raises(Forbidden, match="system:masters only"):
        await viewer.call("rotatekey", {})


async def test_a_replica_that_did_not_rotate_writes_with_the_new_key(secure: SecureCluster) -> None:
    """Two api replicas share one key file; rotate-key runs on one. What the other writes next is
    sealed with a key in the file: both replicas and a restarted one read it."""
    admin = await secure.client("admin")
    expected = {"password": b64(PLAINTEXT)}
    await admin.create("secrets", a_secret("before"), "default")
    other = await second_replica(secure)  # holds the first key as its primary
    assert (await other.get("secrets", "default", "before"))["data"] == expected
    first_key = other.keyring.primary

    result = await admin.call("rotatekey", {})  # on replica 1
    new_key = result["keyId"]

    await other.create("secrets", a_secret("after"))  # on replica 2, which did not rotate
    before = await other.get("secrets", "default", "before")
    await other.update("secrets", {**before, "data": {"password": b64(PLAINTEXT + "-2")}})
    stored = await api_store(secure).stored_key_ids()
    assert stored == {"default/before": new_key, "default/after": new_key}
    assert other.keyring.primary == new_key and first_key in other.keyring.keys

    restarted = EncryptingStore(secure.store, KeyRing.load(secure.key_file))
    changed = {"password": b64(PLAINTEXT + "-2")}
    for reader in (api_store(secure), other, restarted):
        assert (await reader.get("secrets", "default", "after"))["data"] == expected
        assert (await reader.get("secrets", "default", "before"))["data"] == changed
    assert (await admin.get("secrets", "after", "default"))["data"] == expected
    on_disk = json.loads(secure.key_file.read_text())
    assert on_disk["primary"] == new_key and set(on_disk["keys"]) == {first_key, new_key}
    assert not leaks(await raw_stream_bytes(secure.store))


async def test_rotations_on_both_replicas_at_once_lose_no_key(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    for i in range(6):
        await admin.create("secrets", a_secret(f"s{i}"), "default")
    other = await second_replica(secure)
    one, two = await asyncio.gather(rotate(api_store(secure)), rotate(other))
    on_disk = json.loads(secure.key_file.read_text())
    assert {one["keyId"], two["keyId"]} <= set(on_disk["keys"]) and on_disk["primary"] in (
        one["keyId"],
        two["keyId"],
    )
    restarted = EncryptingStore(secure.store, KeyRing.load(secure.key_file))
    expected = {"password": b64(PLAINTEXT)}
    for i in range(6):
        assert (await restarted.get("secrets", "default", f"s{i}"))["data"] == expected
    assert set((await restarted.stored_key_ids()).values()) <= set(on_disk["keys"])
    assert not leaks(await raw_stream_bytes(secure.store))


async def test_no_key_a_stored_secret_uses_is_dropped(secure: SecureCluster) -> None:
    """A late write sealed with a retired key (a replica's create in flight during the rotation)
    keeps that key in the file; the next rotation re-writes it, and only then drops the key."""
    store = api_store(secure)
    await store.create("secrets", a_secret("db"))
    first = await rotate(store, grace=0)
    [old_key] = first["retiredKeys"]
    stale = KeyRing(keys={old_key: store.keyring.keys[old_key]}, primary=old_key)  # as it was before
    await secure.store.create("secrets", stale.seal(a_secret("late")))  # lands after the rotation
    assert (await store.stored_key_ids())["default/late"] == old_key

    assert (await drop_retired_keys(store, grace=0))[0] == []  # in use: kept
    assert old_key in json.loads(secure.key_file.read_text())["keys"]

    second = await rotate(store, grace=0)  # its pass re-writes "late", then the key goes
    assert second["droppedKeys"] == [old_key] and second["notRewritten"] == []
    assert (await store.stored_key_ids())["default/late"] == second["keyId"]
    assert (await drop_retired_keys(store, grace=3600))[0] == []  # retired too recently
    restarted = EncryptingStore(secure.store, KeyRing.load(secure.key_file))
    assert old_key not in restarted.keyring.keys
    for name in ("db", "late"):
        assert (await restarted.get("secrets", "default", name))["data"] == {"password": b64(PLAINTEXT)}
    assert not leaks(await raw_stream_bytes(secure.store))


async def test_a_deleted_secret_whose_key_was_dropped_still_replays(secure: SecureCluster) -> None:
    store = api_store(secure)
    await store.create("secrets", a_secret("gone"))
    await store.delete("secrets", "default", "gone")
    await rotate(store, grace=0)
    result = await rotate(store, grace=0)  # drops the key the tombstone was sealed with
    assert result["droppedKeys"]
    restarted = EncryptingStore(secure.store, KeyRing.load(secure.key_file))
    events = restarted.watch("secrets", "default", from_revision=0)
    try:
        async with asyncio.timeout(10):
            async for event in events:
                if event.type == "DELETED":
                    break
    finally:
        await events.aclose()
    assert event.object["metadata"]["name"] == "gone" and "data" not in event.object
    assert "jetkubeEncrypted" not in event.object
