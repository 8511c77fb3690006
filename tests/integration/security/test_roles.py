"""Each role's allowed and denied operations, over real NATS connections with real credentials.

What NATS itself enforces (subjects a user may publish or subscribe to) and what the api enforces
(RBAC, the node authorizer) are both checked: a denied request changes nothing in the store.
"""

from __future__ import annotations

import asyncio

import nats
import nats.errors
import pytest
from nats.aio.client import Client as NATS

from bus.auth import api_subject, inbox_prefix
from bus.codec import decode, encode
from schemas.errors import Forbidden, JetkubeError
from tests.integration.security.conftest import SecureCluster, eventually


def cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}


async def _names(secure: SecureCluster, resource: str, ns: str | None = None) -> set[str]:
    items, _ = await secure.store.list(resource, ns)
    return {o["metadata"]["name"] for o in items}


async def test_a_wrong_password_is_refused_with_one_clear_line(secure: SecureCluster) -> None:
    from bus.connection import Bus

    with pytest.raises(Forbidden, match="refused the login of user viewer"):
        await Bus.connect(secure.url, user="viewer", password="not-the-password", connect_timeout=2)
    with pytest.raises(JetkubeError):
        await Bus.connect(secure.url, connect_timeout=2)  # no credentials at all


async def test_viewer_reads_through_the_api_and_may_not_write(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    await admin.create("configmaps", cm("shown", a="1"), "default")
    viewer = await secure.client("viewer")
    assert not viewer.bus.raw_reads
    assert (await viewer.get("configmaps", "shown", "default"))["data"] == {"a": "1"}
    assert "shown" in {o["metadata"]["name"] for o in (await viewer.list("configmaps", "default"))["items"]}
    with pytest.raises(Forbidden) as denied:
        await viewer.create("configmaps", cm("nope"), "default")
    assert denied.value.cli_line() == (
        'Error from server (Forbidden): configmaps is forbidden: User "viewer" cannot create resource '
        '"configmaps" in API group "" in the namespace "default"'
    )
    with pytest.raises(Forbidden, match='cannot delete resource "configmaps"'):
        await viewer.delete("configmaps", "shown", "default")
    with pytest.raises(Forbidden, match='User "viewer" cannot list resource "secrets"'):
        await viewer.list("secrets", "default")
    assert "nope" not in await _names(secure, "configmaps", "default")
    assert "shown" in await _names(secure, "configmaps", "default")


async def _raw_connection(secure: SecureCluster, user: str) -> tuple[NATS, list[str]]:
    """A plain nats-py connection as ``user`` whose error callback keeps what the server reports
    (a refused publish is an asynchronous ``-ERR 'Permissions Violation for Publish to ...'``;
    nats-py lower-cases the line and hands it to ``error_cb``, the connection stays up)."""
    errors: list[str] = []

    async def error_cb(err: Exception) -> None:
        errors.append(str(err))

    nc = await nats.connect(
        secure.url,
        user=user,
        password=secure.creds.users[user],
        inbox_prefix=inbox_prefix(user),  # the only inbox this user may subscribe to
        error_cb=error_cb,
        allow_reconnect=False,
        name=f"test-raw-{user}",
    )
    return nc, errors


def _violation(subject: str) -> str:
    return f'permissions violation for publish to "{subject}"'.lower()


async def test_nats_refuses_raw_writes_and_forged_subjects(secure: SecureCluster) -> None:
    """No one but the control plane writes the bucket or speaks on another user's api subjects:
    NATS itself refuses the publish (no JetStream ack, a Permissions Violation on the connection)."""
    raw_key = "$KV.jetkube.configmaps.default.forged"

    # The control: the same JetStream publish by the control plane reaches the bucket's stream and
    # is acked, so a missing ack below is the server's refusal, not a subject no stream takes.
    cp, cp_errors = await _raw_connection(secure, "controlplane")
    try:
        ack = await cp.jetstream(timeout=5).publish(raw_key, encode(cm("forged")))
        assert ack.stream == "KV_jetkube"
        stored = await secure.store.get("configmaps", "default", "forged")
        assert stored["metadata"]["resourceVersion"] == str(ack.seq)
        await secure.store.delete("configmaps", "default", "forged")
        assert cp_errors == []
    finally:
        await cp.close()
    before = await _names(secure, "configmaps", "default")
    revision = await secure.store.revision()

    async def attempt(user: str) -> None:
        nc, errors = await _raw_connection(secure, user)
        try:
            # Its own api subject answers: the silences below are refusals, not a dead api.
            reply = decode((await nc.request(api_subject(user, "version"), encode({}), timeout=5)).data)
            assert "gitVersion" in reply["object"], reply
            # Straight into the state bucket's stream: no PubAck ever comes.
            with pytest.raises(nats.errors.TimeoutError):
                await nc.jetstream(timeout=1).publish(raw_key, encode(cm(f"raw-{user}")))
            # The control plane's trusted subject, and other users' subjects: nobody receives it.
            others = ("jetkube.api.create", "jetkube.api.u.controlplane.create", "jetkube.api.u.admin.create")
            forged = [s for s in others if s != api_subject(user, "create")]
            body = {"resource": "configmaps", "namespace": "default", "body": cm(f"via-{user}")}
            for subject in forged:
                with pytest.raises(nats.errors.TimeoutError):
                    await nc.request(subject, encode(body), timeout=0.5)
            await nc.flush()  # the server's -ERR lines come before its PONG

            # NATS says why, on this connection, for each of them.
            async def all_reported() -> bool:
                return all(any(_violation(s) in e.lower() for e in errors) for s in [raw_key, *forged])

            await eventually(all_reported, timeout=5)
            assert not any(_violation(api_subject(user, "version")) in e.lower() for e in errors), errors
            assert nc.is_connected  # a refused publish does not cost the connection
        finally:
            await nc.close()

    await asyncio.gather(*(attempt(user) for user in ("viewer", "admin", "node-n1", "hollow-nodes", "bob")))
    assert await secure.store.revision() == revision
    assert await _names(secure, "configmaps", "default") == before


async def test_viewer_cannot_read_the_raw_bucket(secure: SecureCluster) -> None:
    from bus.store import Store

    admin = await secure.client("admin")
    await admin.create("configmaps", cm("raw", k="v"), "default")
    viewer_bus = await secure.bus_as("viewer")
    viewer_bus.js = viewer_bus.nc.jetstream(timeout=1.0)  # the server drops the request: no answer
    with pytest.raises(JetkubeError):
        async with asyncio.timeout(8):
            await Store(viewer_bus).list("configmaps")
    # admin may (the fast path of lists and watches)
    assert "raw" in {o["metadata"]["name"] for o in (await Store(admin.bus).list("configmaps"))[0]}


async def test_impersonation_is_for_admins_only(secure: SecureCluster) -> None:
    bob = await secure.client("bob", impersonate="admin")
    with pytest.raises(Forbidden, match='User "bob" cannot impersonate'):
        await bob.list("configmaps", "default")
    as_viewer = await secure.client("admin", impersonate="viewer")
    assert not as_viewer._raw("configmaps")
    with pytest.raises(Forbidden, match='User "viewer" cannot create'):
        await as_viewer.create("configmaps", cm("impersonated"), "default")
    assert (await as_viewer.can_i("list", "configmaps", "default"))["allowed"]


async def test_watch_through_the_api_streams_changes_and_stops_when_abandoned(secure: SecureCluster) -> None:
    import contextlib

    admin = await secure.client("admin")
    viewer = await secure.client("viewer")
    seen: list[tuple[str, str]] = []
    listed = asyncio.Event()

    async def follow() -> None:
        async with contextlib.aclosing(viewer.watch("configmaps", "default")) as events:
            async for ev in events:
                if ev.type == "BOOKMARK":
                    listed.set()
                else:
                    seen.append((ev.type, ev.object["metadata"]["name"]))

    task = asyncio.create_task(follow())
    await asyncio.wait_for(listed.wait(), 10)
    await admin.create("configmaps", cm("w1"), "default")
    await admin.patch("configmaps", "w1", {"data": {"x": "1"}}, namespace="default")
    await admin.delete("configmaps", "w1", "default")

    async def all_seen() -> bool:
        return ("DELETED", "w1") in seen

    await eventually(all_seen)
    assert [s for s in seen if s[1] == "w1"] == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    def pumps() -> int:
        return sum(1 for t in asyncio.all_tasks() if t.get_name().startswith("api-watch-_INBOX.viewer"))

    await admin.create("configmaps", cm("after"), "default")  # the next chunk finds nobody listening

    async def stopped() -> bool:
        return pumps() == 0

    await eventually(stopped, timeout=20)
