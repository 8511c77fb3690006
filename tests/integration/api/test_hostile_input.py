"""Hostile input on the api's subjects: each request gets a clear error (or is dropped), the actor
keeps serving, and the state bucket holds exactly what valid requests put there."""

from __future__ import annotations

import os
from typing import Any

# Imported here, not lazily by hypothesis mid-test: pytest rewrites it on import, and CPython 3.11's
# parser failed once doing that from deep in the fuzz run ("AST constructor recursion depth mismatch").
import hypothesis.internal.conjecture.optimiser  # noqa: F401
import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bus.client import ApiClient
from bus.codec import decode, encode
from bus.connection import Bus
from bus.store import Store
from schemas.errors import BadRequest, Conflict, Invalid, JetkubeError, RequestEntityTooLarge


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


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=12))
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
manifest = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(["v1", "apps/v1", "batch/v1", "v2", ""]),
        "kind": st.sampled_from(["Pod", "ConfigMap", "Deployment", "Job", "Service", "Widget"]),
        "metadata": st.one_of(
            st.fixed_dictionaries({"name": st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)}), json_value
        ),
    },
    optional={
        "spec": json_value,
        "data": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
        "status": json_value,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(docs=st.lists(manifest, min_size=1, max_size=5))
async def test_fuzzed_manifests_leave_only_what_valid_requests_wrote(
    api: ApiClient, store: Store, docs: list[dict[str, Any]]
) -> None:
    for doc in docs:
        before = await store.revision()
        try:
            created = await api.create(doc["kind"].lower() + "s", doc)
        except (Invalid, BadRequest, JetkubeError):
            assert await store.revision() == before
            continue
        assert int(created["metadata"]["resourceVersion"]) == await store.revision()
        plural = created["kind"].lower() + "s"
        await api.delete(plural, created["metadata"]["name"], created["metadata"].get("namespace"))
