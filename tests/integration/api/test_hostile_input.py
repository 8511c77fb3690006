"""Hostile input on the api's subjects: each request gets a clear error (or is dropped), the actor
keeps serving, and the state bucket holds exactly what valid requests put there.

The property-based run (hypothesis: random manifests, bytes and msgpack on the trusted and the
users' subjects, checked against a model of the store) is tests/integration/security/test_fuzz.py,
over authenticated NATS."""

from __future__ import annotations

import os
from typing import Any

import msgpack

from bus.client import ApiClient
from bus.codec import decode, encode
from bus.connection import Bus
from bus.store import Store
from schemas.errors import BadRequest, Conflict, RequestEntityTooLarge


async def raw(bus: Bus, verb: str, data: bytes) -> dict[str, Any]:
    msg = await bus.nc.request(f"jetkube.api.{verb}", data, timeout=10)
    return decode(msg.data)


def pod(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, **extra},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }


async def test_garbage_on_the_wire_gets_errors_and_changes_nothing(
    bus: Bus, api: ApiClient, store: Store
) -> None:
    before = await store.revision()
    cases = [
        os.urandom(64),
        b"\xc1",  # never-used msgpack byte
        encode([1, 2, 3]),  # not a map
        encode("a string"),
        msgpack.packb({"resource": "pods", "body": {"metadata": {"name": b"\xff\xfe"}}}, use_bin_type=False),
        encode({"resource": "pods", "body": "nope"}),
        encode({"resource": 7}),
        encode({"resource": "pods", "name": "*", "namespace": "default"}),
        encode({"resource": "pods", "name": "a", "namespace": "default.>"}),
    ]
    for data in cases:
        for verb in ("create", "get", "update", "delete"):
            reply = await raw(bus, verb, data)
            assert "error" in reply and reply["error"]["code"] in (400, 404, 405, 422), (data, verb, reply)
    # The actor still serves.
    assert (await api.get("namespaces", "default"))["metadata"]["name"] == "default"
    assert await store.revision() == before


async def test_an_object_over_one_and_a_half_megabytes_is_refused(api: ApiClient, store: Store) -> None:
    before = await store.revision()
    big = pod("big", annotations={"blob": "x" * 1_600_000})
    try:
        await api.create("pods", big)
    except RequestEntityTooLarge as err:
        assert "1.5 MiB" in str(err)
    else:
        raise AssertionError("a 1.6 MB object was accepted")
    assert await store.revision() == before


async def test_deep_nesting_is_refused(api: ApiClient, store: Store) -> None:
    before = await store.revision()
    deep: dict[str, Any] = {}
    cur = deep
    for _ in range(500):
        cur["x"] = {}
        cur = cur["x"]
    for call in (
        api.create("pods", {**pod("deep"), "extra": deep}),
        api.patch("namespaces", "default", {"metadata": {"annotations": deep}}, "merge"),
    ):
        try:
            await call
        except BadRequest as err:
            assert "nests deeper" in str(err)
        else:
            raise AssertionError("a 500-level object was accepted")
    assert await store.revision() == before


async def test_metadata_that_is_not_an_object_is_a_bad_request(api: ApiClient, store: Store) -> None:
    """Found by tests/integration/security/test_fuzz.py: it was a 500 (a TypeError in the api)."""
    await api.create("configmaps", {"metadata": {"name": "cm", "namespace": "default"}, "data": {}})
    before = await store.revision()
    for call in (
        api.create("pods", {**pod("m"), "metadata": [True, 1]}),
        api.create("configmaps", {"kind": "ConfigMap", "metadata": "cm"}, namespace="default"),
        api.patch("configmaps", "cm", {"metadata": 7}, "merge", namespace="default"),
    ):
        try:
            await call
        except BadRequest as err:
            assert str(err).startswith("metadata: Invalid value:") and "must be an object" in str(err), err
        else:
            raise AssertionError("metadata that is not an object was accepted")
    assert await store.revision() == before


async def test_a_forged_resource_version_is_a_conflict(api: ApiClient, store: Store) -> None:
    created = await api.create("pods", pod("a"))
    before = await store.revision()
    for forged in ("999999", "1", "0x10"):
        body = {
            **created,
            "metadata": {**created["metadata"], "resourceVersion": forged, "labels": {"f": "1"}},
        }
        try:
            await api.update("pods", body)
        except (Conflict, BadRequest):
            pass
        else:
            raise AssertionError(f"resourceVersion {forged} was accepted")
    assert await store.revision() == before
