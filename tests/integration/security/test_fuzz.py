"""A property-based fuzz run of the api over authenticated NATS (hypothesis), bounded in time.

Three senders, each on its own authenticated connection and the subjects NATS lets it use: the
control plane on the trusted ``jetkube.api.<verb>``, and ``admin`` (system:masters) and ``bob`` (no
RBAC grant) on their own ``jetkube.api.u.<user>.<verb>``. They send random manifests (some valid,
most not), deletes of what exists and of what does not, random bytes, and msgpack values that are
not maps. A model records what the successful creates and deletes did; every failed or garbage
request must get a 4xx error and leave the bucket's revision where it was. At the end the store
holds exactly the model: the same objects at the same resourceVersions, no key more or less in
the whole bucket, and the api still answers a valid request.

The run stops drawing new work after ``JETKUBE_FUZZ_SECONDS`` (20 by default) of wall-clock time.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

# Imported here, not lazily by hypothesis mid-test: pytest rewrites it on import, and CPython 3.11's
# parser failed once doing that from deep in the fuzz run ("AST constructor recursion depth mismatch").
import hypothesis.internal.conjecture.optimiser  # noqa: F401
import msgpack
import nats.errors
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bus.auth import ADMIN, CONTROLPLANE, api_subject
from bus.codec import decode, encode
from bus.connection import Bus
from bus.keys import object_key
from bus.store import Store
from tests.integration.security.conftest import SecureCluster

BUDGET = float(os.environ.get("JETKUBE_FUZZ_SECONDS", "20"))
KINDS = {
    "Pod": "pods",
    "ConfigMap": "configmaps",
    "Deployment": "deployments",
    "Job": "jobs",
    "Service": "services",
}
KINDS_LISTED = tuple(KINDS.values())
RESOURCES = (*KINDS.values(), "widgets")  # "widgets": a resource the api does not know
GARBAGE_VERBS = ("create", "get", "list", "update", "patch", "delete", "watch")
BOB = "bob"  # a user no RBAC rule grants anything beyond discovery
SENDERS = (CONTROLPLANE, ADMIN, BOB)
NAMESPACES = ("default", "kube-system", "no-such-ns")

Key = tuple[str, str | None, str]  # (resource, namespace, name)
T = TypeVar("T")


def subject(sender: str, verb: str) -> str:
    """The subject a sender's connection may publish its api requests on."""
    return f"jetkube.api.{verb}" if sender == CONTROLPLANE else api_subject(sender, verb)


# ------------------------------------------------------------------ strategies

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=12))
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
# Few short names, so creates collide (AlreadyExists).
short_name = st.from_regex(r"[a-h]([a-h0-9-]{0,4}[a-h0-9])?", fullmatch=True)
random_manifest = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(["v1", "apps/v1", "batch/v1", "v2", ""]),
        "kind": st.sampled_from([*KINDS, "Widget"]),
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
valid_configmap = st.builds(
    lambda name, data: {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data},
    short_name,
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9._-]{0,6}", fullmatch=True), st.text(max_size=20), max_size=3
    ),
)
valid_pod = st.builds(
    lambda name, image: {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": image}]},
    },
    short_name,
    st.sampled_from(["busybox", "nginx:1.27", "registry.local/app@sha256:" + "a" * 64]),
)
manifests = st.one_of(valid_configmap, valid_pod, random_manifest)

msgpack_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=8)),
)
not_a_map = st.recursive(
    msgpack_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
).filter(lambda v: not isinstance(v, dict))
senders = st.sampled_from(SENDERS)
# a manifest, sent as the resource its kind names (None) or as any resource, to a namespace
create = st.tuples(
    st.just("create"),
    senders,
    manifests,
    st.one_of(st.none(), st.sampled_from(RESOURCES)),
    st.sampled_from(NAMESPACES),
)
by_op = {
    "create": create,
    # an object the run created (picked by index when sent) or, with None, one that does not exist
    "delete": st.tuples(st.just("delete"), senders, st.one_of(st.none(), st.integers(0, 1_000))),
    "bytes": st.tuples(st.just("bytes"), senders, st.sampled_from(GARBAGE_VERBS), st.binary(max_size=300)),
    "msgpack": st.tuples(st.just("msgpack"), senders, st.sampled_from(GARBAGE_VERBS), not_a_map),
}
# Weighted (most creates fail): objects accumulate for the final comparison instead of each one
# being deleted soon after its create.
request = st.sampled_from(["create"] * 4 + ["delete"] + ["bytes", "msgpack"] * 2).flatmap(by_op.__getitem__)
GONE: Key = ("configmaps", "default", "gone")


# ------------------------------------------------------------------ the store as the test sees it


async def live(store: Store, resources: tuple[str, ...]) -> dict[Key, str]:
    """Every live object of these resources, as (resource, namespace, name) -> resourceVersion."""
    out: dict[Key, str] = {}
    for resource in resources:
        items, _ = await store.list(resource)
        for o in items:
            meta = o["metadata"]
            out[(resource, meta.get("namespace"), meta["name"])] = meta["resourceVersion"]
    return out


async def bucket_keys(store: Store) -> set[str]:
    """Every live key of the whole state bucket (deleted keys are left out)."""
    kv = await store.bus.js.key_value(store.bucket)
    return set(await kv.keys())


class Fuzz:
    """The senders' connections, the model of what valid requests did, and the running tallies."""

    def __init__(self, store: Store, buses: dict[str, Bus], model: dict[Key, str]) -> None:
        self.store = store
        self.buses = buses
        self.model = model  # (resource, namespace, name) -> resourceVersion, as the replies said
        self.baseline = set(model)  # what existed before the run: not the run's to delete
        self.tally: collections.Counter[str] = collections.Counter()

    async def send(self, sender: str, verb: str, data: bytes) -> dict[str, Any]:
        try:
            msg = await self.buses[sender].nc.request(subject(sender, verb), data, timeout=10)
        except nats.errors.TimeoutError:
            raise AssertionError(
                f"no reply on {subject(sender, verb)} in 10 s: the api stopped answering"
            ) from None
        reply = decode(msg.data)
        assert isinstance(reply, dict) and ("object" in reply) != ("error" in reply), reply
        return reply

    async def refused(self, sender: str, verb: str, data: bytes, what: str) -> int:
        """Send a request that must fail: a 4xx error (never a 500 or a silence), nothing written."""
        before = await self.store.revision()
        reply = await self.send(sender, verb, data)
        assert "error" in reply, f"{what} on {subject(sender, verb)} was accepted: {reply}"
        code = reply["error"].get("code")
        assert isinstance(code, int) and 400 <= code < 500, (what, subject(sender, verb), reply)
        assert await self.store.revision() == before, f"{what} on {subject(sender, verb)} wrote"
        self.tally[f"refused-{code}"] += 1
        return code

    async def create(self, sender: str, resource: str, ns: str, doc: dict[str, Any]) -> None:
        before = await self.store.revision()
        reply = await self.send(
            sender, "create", encode({"resource": resource, "namespace": ns, "body": doc})
        )
        if "error" in reply:
            code = reply["error"].get("code")
            assert isinstance(code, int) and 400 <= code < 500, reply
            assert await self.store.revision() == before, f"a refused create wrote: {reply}"
            if sender == BOB and resource in KINDS_LISTED:
                assert code == 403, reply  # authorization comes before validation
            self.tally[f"create-refused-{code}"] += 1
            return
        assert sender != BOB, f"bob (no RBAC grant) created {reply['object']['metadata']}"
        meta = reply["object"]["metadata"]
        key = (resource, meta.get("namespace"), meta["name"])
        assert key not in self.model, f"create answered for {key}, which already exists"
        assert int(meta["resourceVersion"]) == await self.store.revision() == before + 1
        self.model[key] = meta["resourceVersion"]
        self.tally["created"] += 1

    async def delete(self, sender: str, key: Key) -> None:
        resource, ns, name = key
        before = await self.store.revision()
        payload = {"resource": resource, "namespace": ns, "name": name}
        reply = await self.send(sender, "delete", encode(payload))
        if "error" in reply:
            code = reply["error"].get("code")
            if sender == BOB:
                assert code == 403, (key, reply)
            else:  # only what does not exist may fail to be deleted
                assert code == 404 and key not in self.model, (key, sender, reply)
            assert await self.store.revision() == before, f"a refused delete wrote: {reply}"
            self.tally[f"delete-refused-{code}"] += 1
            return
        assert sender != BOB and key in self.model, (key, sender, reply)
        meta = reply["object"]["metadata"]
        if meta.get("deletionTimestamp"):  # kept (finalizers, a graceful pod): still in the store
            self.model[key] = meta["resourceVersion"]
        else:
            del self.model[key]
        self.tally["deleted"] += 1


def run_on(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the test's event loop from hypothesis's thread, and wait for it."""
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)


async def test_fuzzed_requests_leave_exactly_what_valid_requests_wrote(secure: SecureCluster) -> None:
    loop = asyncio.get_running_loop()
    buses = {s: await secure.bus_as(s) for s in SENDERS}
    store = secure.store
    keys_before = await bucket_keys(store)
    fuzz = Fuzz(store, buses, await live(store, KINDS_LISTED))
    untouched = {k for k in keys_before if not k.startswith(tuple(f"{r}." for r in KINDS_LISTED))}
    started = time.monotonic()
    stop_at = started + BUDGET
    state: dict[str, Any] = {"examples": 0, "error": None}

    @settings(
        max_examples=1_000,  # on a slow machine the budget ends the run first
        deadline=timedelta(seconds=15),  # one example (at most 8 requests) answered in 15 s
        database=None,
        # Generation only: a failure is kept and raised after the run (below), not shrunk or
        # replayed by hypothesis, which would replay it against a store that has moved on.
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(requests=st.lists(request, min_size=1, max_size=8))
    def examples(requests: list[tuple[Any, ...]]) -> None:
        # Every draw is made before this line (hypothesis needs them independent of the store):
        # once the budget is spent, or a request failed, the remaining examples are not sent.
        if time.monotonic() > stop_at or state["error"] is not None:
            return
        state["examples"] += 1
        sent: list[str] = []
        try:
            for op, sender, *args in requests:
                fuzz.tally[f"{op}-by-{sender}"] += 1
                if op == "create":
                    doc, resource, ns = args
                    if resource is None:  # the resource the manifest's kind names
                        kind = doc.get("kind")
                        resource = KINDS.get(kind, "widgets") if isinstance(kind, str) else "widgets"
                    sent.append(f"{sender}: create {resource} in {ns}: {doc!r}")
                    run_on(loop, fuzz.create(sender, resource, ns, doc))
                elif op == "delete":
                    (pick,) = args
                    existing = sorted(set(fuzz.model) - fuzz.baseline)
                    key = existing[pick % len(existing)] if existing and pick is not None else GONE
                    sent.append(f"{sender}: delete {key}")
                    run_on(loop, fuzz.delete(sender, key))
                else:
                    verb, value = args
                    payload = value if op == "bytes" else encode(value)
                    sent.append(f"{sender}: {op} on {subject(sender, verb)}: {payload!r}")
                    run_on(loop, fuzz.refused(sender, verb, payload, op))
        except Exception as err:
            err.add_note(f"example {state['examples']}; its requests (the last one failed):")
            for line in sent:
                err.add_note(f"  {line[:400]}")
            state["error"] = err

    await asyncio.to_thread(examples)
    elapsed = time.monotonic() - started
    if state["error"] is not None:
        raise state["error"]

    # The api still serves: a valid create on a user's subject, a get on the trusted one; bob is
    # still refused.
    final = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after-fuzz"}, "data": {"k": "v"}}
    await fuzz.create(ADMIN, "configmaps", "default", final)
    assert ("configmaps", "default", "after-fuzz") in fuzz.model
    get = {"resource": "configmaps", "namespace": "default", "name": "after-fuzz"}
    got = await fuzz.send(CONTROLPLANE, "get", encode(get))
    assert got["object"]["data"] == {"k": "v"}
    assert await fuzz.refused(BOB, "create", encode({"resource": "configmaps", "body": final}), "bob") == 403

    # The store holds exactly what the valid requests wrote: the same objects at the same
    # resourceVersions, and no other key anywhere in the bucket came or went.
    assert await live(store, KINDS_LISTED) == fuzz.model
    expected_keys = untouched | {object_key(r, ns, name) for r, ns, name in fuzz.model}
    assert await bucket_keys(store) == expected_keys

    # Not a vacuous pass: the run did each kind of thing, on each sender's subject.
    t = fuzz.tally
    summary = f"{state['examples']} examples in {elapsed:.1f}s: {dict(sorted(t.items()))}"
    print(summary, f"; {len(fuzz.model) - len(fuzz.baseline)} objects left")
    assert state["examples"] >= 20, summary
    assert t["created"] >= 5 and t["deleted"] >= 1, summary
    for sender in SENDERS:
        for op in ("create", "delete", "bytes", "msgpack"):
            assert t[f"{op}-by-{sender}"] > 0, (sender, op, summary)
